// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the 8042 controller, keyboard and mouse under any
 * sequence of port accesses (what a hostile guest can do) mixed with key
 * and pointer events (what viewers and scripts can do).  The queues must
 * stay within their bounds, the scan code set valid, and the interrupt
 * fz_lines as last driven must match the state.
 *
 * Input: a sequence of (op, value) byte pairs.
 */
#include "devices/i8042.h"
#include "vmm/keymap.h"

#include <stdlib.h>
#include <string.h>

static int fz_lines[16];
static unsigned int fz_resets;

static void fz_set_irq(struct i8042 *s __unused, unsigned int irq, int level)
{
	if (irq != IRQ_I8042_KBD && irq != IRQ_I8042_AUX)
		abort();
	if (fz_lines[irq] == level)	/* only changes are driven */
		abort();
	fz_lines[irq] = level;
}

static void fz_do_reset(struct i8042 *s __unused)
{
	fz_resets++;
}

static void fz_check(const struct i8042 *s)
{
	const struct i8042_regs *r = &s->r;

	if (r->kbd.reply.count > I8042_REPLY_SIZE || r->mouse.reply.count > I8042_REPLY_SIZE ||
	    r->kbd.data.count > I8042_QUEUE_SIZE || r->mouse.data.count > I8042_QUEUE_SIZE ||
	    r->cq_count > I8042_CTRL_QUEUE_SIZE || r->kbd.set < 1 || r->kbd.set > 3 ||
	    (r->mouse.id != 0 && r->mouse.id != 3 && r->mouse.id != 4))
		abort();
	if (fz_lines[IRQ_I8042_KBD] != (r->obuf_full && !r->obuf_aux && (r->ctr & I8042_CTR_KBDINT)))
		abort();
	if (fz_lines[IRQ_I8042_AUX] != (r->obuf_full && r->obuf_aux && (r->ctr & I8042_CTR_AUXINT)))
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct i8042 s;
	static bool init;

	if (!init) {
		pthread_mutex_init(&s.lock, NULL);
		s.set_irq = fz_set_irq;
		s.reset = fz_do_reset;
		init = true;
	}
	memset(fz_lines, 0, sizeof(fz_lines));
	s.r.irq_kbd = s.r.irq_aux = false;
	i8042__init_regs(&s);
	for (size_t i = 0; i + 1 < size; i += 2) {
		u8 op = data[i], v = data[i + 1];

		switch (op % 8) {
		case 0:
			i8042__write(&s, PORT_I8042_DATA, v);
			break;
		case 1:
			i8042__write(&s, PORT_I8042_CMD, v);
			break;
		case 2:
		case 3:
			i8042__read(&s, PORT_I8042_DATA);
			break;
		case 4:
			i8042__read(&s, PORT_I8042_CMD);
			break;
		case 5:
			i8042__key(&s, keymap__key_at(v % keymap__nr_keys()), op & 0x80);
			break;
		case 6:
			i8042__key(&s, v | ((op & 0x30) << 4), op & 0x80);	/* any code < 1024 */
			break;
		default:
			i8042__mouse(&s, (s8)v * (op >> 3), (s8)(v ^ op) * 3, (op >> 6) - 2, op & 0x1f);
			break;
		}
		fz_check(&s);
	}
	return 0;
}
