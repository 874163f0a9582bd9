// SPDX-License-Identifier: GPL-2.0
/*
 * The 8042 keyboard controller with a PS/2 keyboard and mouse; see
 * devices/i8042.h.  References: the IBM PS/2 keyboard controller and
 * keyboard/auxiliary device technical references (command sets, status and
 * command-byte bits, scan code sets), and how Linux's i8042, atkbd, libps2
 * and psmouse drivers probe and use them.
 */
#include "devices/i8042.h"
#include "vmm/input.h"
#include "vmm/irq.h"
#include "vmm/keymap.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <json-c/json.h>
#include <linux/input-event-codes.h>
#include <string.h>

/* controller commands (port 0x64) */
#define CMD_READ_RAM		0x20	/* 0x20-0x3f: RAM byte n; 0x20 is the command byte */
#define CMD_WRITE_RAM		0x60	/* 0x60-0x7f */
#define CMD_PWD_TEST		0xa4
#define CMD_PWD_LOAD		0xa5
#define CMD_PWD_ENABLE		0xa6
#define CMD_AUX_DISABLE		0xa7
#define CMD_AUX_ENABLE		0xa8
#define CMD_AUX_TEST		0xa9
#define CMD_SELF_TEST		0xaa
#define CMD_KBD_TEST		0xab
#define CMD_DIAG_DUMP		0xac
#define CMD_KBD_DISABLE		0xad
#define CMD_KBD_ENABLE		0xae
#define CMD_READ_INPUT		0xc0
#define CMD_POLL_INPUT_LO	0xc1
#define CMD_POLL_INPUT_HI	0xc2
#define CMD_READ_OUTPUT		0xd0
#define CMD_WRITE_OUTPUT	0xd1
#define CMD_WRITE_KBD_OBUF	0xd2
#define CMD_WRITE_AUX_OBUF	0xd3
#define CMD_WRITE_AUX		0xd4
#define CMD_A20_OFF		0xdd
#define CMD_A20_ON		0xdf
#define CMD_READ_TEST		0xe0
#define CMD_PULSE		0xf0	/* 0xf0-0xff: pulse output port bits 0-3 low */

#define SELF_TEST_OK		0x55
#define PWD_NOT_INSTALLED	0xf1

/* keyboard and mouse replies */
#define PS2_ACK			0xfa
#define PS2_NAK			0xfe	/* "resend" */
#define PS2_BAT_OK		0xaa
#define PS2_ECHO		0xee

/* keyboard commands */
#define KBD_SET_LEDS		0xed
#define KBD_ECHO		0xee
#define KBD_SCANCODE_SET	0xf0
#define KBD_GET_ID		0xf2
#define KBD_TYPEMATIC		0xf3
#define KBD_ENABLE		0xf4
#define KBD_DEFAULT_DISABLE	0xf5
#define KBD_SET_DEFAULT		0xf6
#define KBD_ALL_TYPEMATIC	0xf7	/* 0xf7-0xfa: set 3, all keys */
#define KBD_ALL_MAKE_BREAK	0xf8
#define KBD_ALL_MAKE		0xf9
#define KBD_ALL_TMB		0xfa
#define KBD_KEY_TYPEMATIC	0xfb	/* 0xfb-0xfd: set 3, listed keys */
#define KBD_KEY_MAKE_BREAK	0xfc
#define KBD_KEY_MAKE		0xfd
#define KBD_RESEND		0xfe
#define KBD_RESET		0xff
#define KBD_ID0			0xab
#define KBD_ID1			0x83
#define KBD_TYPEMATIC_DEFAULT	0x2b	/* 10.9 characters/s after 500 ms */

/* mouse commands */
#define AUX_SCALE11		0xe6
#define AUX_SCALE21		0xe7
#define AUX_SET_RES		0xe8
#define AUX_STATUS		0xe9
#define AUX_STREAM		0xea
#define AUX_READ_DATA		0xeb
#define AUX_RESET_WRAP		0xec
#define AUX_WRAP		0xee
#define AUX_REMOTE		0xf0
#define AUX_GET_ID		0xf2
#define AUX_SET_RATE		0xf3
#define AUX_ENABLE		0xf4
#define AUX_DISABLE		0xf5
#define AUX_SET_DEFAULT		0xf6
#define AUX_RESEND		0xfe
#define AUX_RESET		0xff

/* ---- queues ---- */

static unsigned int fifo_room(const struct i8042_fifo *f)
{
	return I8042_QUEUE_SIZE - f->count;
}

static void fifo_put(struct i8042_fifo *f, u8 b)
{
	if (f->count < I8042_QUEUE_SIZE)
		f->buf[(f->head + f->count++) % I8042_QUEUE_SIZE] = b;
}

static u8 fifo_get(struct i8042_fifo *f)
{
	u8 b = f->buf[f->head];

	f->head = (f->head + 1) % I8042_QUEUE_SIZE;
	f->count--;
	return b;
}

static void fifo_clear(struct i8042_fifo *f)
{
	f->head = f->count = 0;
}

static void reply_put(struct i8042 *s, struct i8042_reply *q, u8 b)
{
	if (q->count >= I8042_REPLY_SIZE) {
		/* only a guest that sends commands and never reads gets here */
		s->guest_errors++;
		return;
	}
	q->buf[(q->head + q->count++) % I8042_REPLY_SIZE] = b;
}

static u8 reply_get(struct i8042_reply *q)
{
	u8 b = q->buf[q->head];

	q->head = (q->head + 1) % I8042_REPLY_SIZE;
	q->count--;
	return b;
}

static void ctrl_put(struct i8042 *s, u8 b, bool aux)
{
	struct i8042_regs *r = &s->r;

	if (r->cq_count >= I8042_CTRL_QUEUE_SIZE) {
		s->guest_errors++;
		pr_warn_guest("i8042: the guest sends controller commands without reading the "
			      "answers; answer %#x dropped", b);
		return;
	}
	r->cq[(r->cq_head + r->cq_count) % I8042_CTRL_QUEUE_SIZE] = b;
	r->cq_aux[(r->cq_head + r->cq_count) % I8042_CTRL_QUEUE_SIZE] = aux;
	r->cq_count++;
}

/* ---- interrupt lines and the output buffer ---- */

static void set_line(struct i8042 *s, unsigned int irq, bool *cur, bool level)
{
	if (*cur == level)
		return;
	*cur = level;
	if (s->set_irq)
		s->set_irq(s, irq, level);
	else if (s->vm)
		irq__line(s->vm, irq, level);
}

static void update_irq(struct i8042 *s)
{
	struct i8042_regs *r = &s->r;

	set_line(s, IRQ_I8042_KBD, &r->irq_kbd,
		 r->obuf_full && !r->obuf_aux && (r->ctr & I8042_CTR_KBDINT));
	set_line(s, IRQ_I8042_AUX, &r->irq_aux,
		 r->obuf_full && r->obuf_aux && (r->ctr & I8042_CTR_AUXINT));
}

static bool kbd_has_data(const struct i8042_kbd_regs *k)
{
	return k->reply.count || (!k->pending && k->scanning && k->data.count);
}

static bool mouse_has_data(const struct i8042_mouse_regs *m)
{
	return m->reply.count || (!m->pending && m->data.count);
}

static bool key_held(const struct i8042_kbd_regs *k, unsigned int key)
{
	return key < 8 * sizeof(k->held) && (k->held[key / 8] & (1u << (key % 8)));
}

/*
 * After an overrun has been read, the releases that were dropped are sent,
 * so that no key stays down in the guest.  (A release of a key the guest
 * never saw pressed is ignored by its input layer.)
 */
static void kbd_send_lost_breaks(struct i8042_kbd_regs *k)
{
	for (unsigned int key = 0; key < 8 * sizeof(k->lost_break); key++) {
		u8 seq[KEYMAP_MAX_SEQ];
		unsigned int n;

		if (!(k->lost_break[key / 8] & (1u << (key % 8))))
			continue;
		k->lost_break[key / 8] &= ~(1u << (key % 8));
		if (key_held(k, key))
			continue;
		n = keymap__scancode(key, k->set, false, k->mods, seq);
		if (fifo_room(&k->data) < n)
			break;
		for (unsigned int i = 0; i < n; i++)
			fifo_put(&k->data, seq[i]);
	}
}

/* the next byte from the keyboard, as the wire carries it */
static u8 kbd_next(struct i8042_kbd_regs *k)
{
	u8 b = k->reply.count ? reply_get(&k->reply) : fifo_get(&k->data);

	k->last = b;
	if (!k->data.count && k->overrun) {
		k->overrun = false;
		kbd_send_lost_breaks(k);
	}
	return b;
}

/*
 * Move the next byte into the empty output buffer: controller answers
 * first, then the keyboard's (translated if the command byte says so), then
 * the mouse's.  A disabled interface holds its device's bytes back.
 */
static void fill_obuf(struct i8042 *s)
{
	struct i8042_regs *r = &s->r;

	while (!r->obuf_full) {
		if (r->cq_count) {
			r->obuf = r->cq[r->cq_head];
			r->obuf_aux = r->cq_aux[r->cq_head];
			r->cq_head = (r->cq_head + 1) % I8042_CTRL_QUEUE_SIZE;
			r->cq_count--;
			r->obuf_full = true;
		} else if (!(r->ctr & I8042_CTR_KBDDIS) && kbd_has_data(&r->kbd)) {
			u8 b = kbd_next(&r->kbd);

			if (r->ctr & I8042_CTR_XLATE) {
				if (b == 0xf0) {
					r->xlate_f0 = true;
					continue;
				}
				b = keymap__xlate(b) | (r->xlate_f0 ? 0x80 : 0);
				r->xlate_f0 = false;
			}
			r->obuf = b;
			r->obuf_aux = false;
			r->obuf_full = true;
		} else if (!(r->ctr & I8042_CTR_AUXDIS) && mouse_has_data(&r->mouse)) {
			struct i8042_mouse_regs *m = &r->mouse;

			r->obuf = m->last = m->reply.count ? reply_get(&m->reply) : fifo_get(&m->data);
			r->obuf_aux = true;
			r->obuf_full = true;
		} else {
			break;
		}
	}
	update_irq(s);
}

/* ---- keyboard ---- */

static void kbd_defaults(struct i8042_kbd_regs *k)
{
	k->typematic = KBD_TYPEMATIC_DEFAULT;
	fifo_clear(&k->data);
	k->overrun = false;
	memset(k->lost_break, 0, sizeof(k->lost_break));
}

static void kbd_reset(struct i8042_kbd_regs *k)
{
	kbd_defaults(k);
	k->reply.head = k->reply.count = 0;
	k->pending = 0;
	k->set = 2;
	k->scanning = true;
}

static void set_leds(struct i8042 *s, u8 leds)
{
	leds &= I8042_LED_SCROLL | I8042_LED_NUM | I8042_LED_CAPS;
	if (leds == s->r.kbd.leds)
		return;
	s->r.kbd.leds = leds;
	if (s->leds_changed)
		s->leds_changed(s, leds);
}

/* the argument of a command that takes one; false if val is a new command */
static bool kbd_argument(struct i8042 *s, u8 val)
{
	struct i8042_kbd_regs *k = &s->r.kbd;

	/* every argument is below 0xed: a command byte starts a new command */
	if (val >= KBD_SET_LEDS) {
		k->pending = 0;
		return false;
	}
	switch (k->pending) {
	case KBD_SET_LEDS:
		set_leds(s, val);
		k->pending = 0;
		break;
	case KBD_TYPEMATIC:
		k->typematic = val & 0x7f;
		k->pending = 0;
		break;
	case KBD_SCANCODE_SET:
		k->pending = 0;
		if (val == 0) {
			reply_put(s, &k->reply, PS2_ACK);
			reply_put(s, &k->reply, k->set);
			return true;
		}
		if (val > 3) {
			reply_put(s, &k->reply, PS2_NAK);
			return true;
		}
		k->set = val;
		/* codes queued in the old set would mean other keys */
		fifo_clear(&k->data);
		k->overrun = false;
		memset(k->lost_break, 0, sizeof(k->lost_break));
		break;
	default:	/* 0xfb-0xfd: a list of set 3 keys, until the next command */
		break;
	}
	reply_put(s, &k->reply, PS2_ACK);
	return true;
}

static void kbd_write(struct i8042 *s, u8 val)
{
	struct i8042_kbd_regs *k = &s->r.kbd;

	if (k->pending && kbd_argument(s, val))
		return;

	switch (val) {
	case KBD_SET_LEDS:
	case KBD_TYPEMATIC:
	case KBD_SCANCODE_SET:
	case KBD_KEY_TYPEMATIC:
	case KBD_KEY_MAKE_BREAK:
	case KBD_KEY_MAKE:
		reply_put(s, &k->reply, PS2_ACK);
		k->pending = val;
		break;
	case KBD_ECHO:
		reply_put(s, &k->reply, PS2_ECHO);
		break;
	case KBD_GET_ID:
		reply_put(s, &k->reply, PS2_ACK);
		reply_put(s, &k->reply, KBD_ID0);
		reply_put(s, &k->reply, KBD_ID1);
		break;
	case KBD_ENABLE:
		fifo_clear(&k->data);
		k->overrun = false;
		memset(k->lost_break, 0, sizeof(k->lost_break));
		k->scanning = true;
		reply_put(s, &k->reply, PS2_ACK);
		break;
	case KBD_DEFAULT_DISABLE:
		kbd_defaults(k);
		k->scanning = false;
		reply_put(s, &k->reply, PS2_ACK);
		break;
	case KBD_SET_DEFAULT:
		kbd_defaults(k);
		k->scanning = true;
		reply_put(s, &k->reply, PS2_ACK);
		break;
	case KBD_ALL_TYPEMATIC:
	case KBD_ALL_MAKE_BREAK:
	case KBD_ALL_MAKE:
	case KBD_ALL_TMB:
		reply_put(s, &k->reply, PS2_ACK);
		break;
	case KBD_RESEND:
		reply_put(s, &k->reply, k->last);
		break;
	case KBD_RESET:
		set_leds(s, 0);
		kbd_reset(k);
		reply_put(s, &k->reply, PS2_ACK);
		reply_put(s, &k->reply, PS2_BAT_OK);
		break;
	default:
		pr_debug("i8042: keyboard command %#x is not one; answered with NAK", val);
		reply_put(s, &k->reply, PS2_NAK);
		break;
	}
}

static void key_set_held(struct i8042_kbd_regs *k, unsigned int key, bool down)
{
	unsigned int mod = keymap__modifier(key);

	if (key >= 8 * sizeof(k->held))
		return;
	if (down)
		k->held[key / 8] |= 1u << (key % 8);
	else
		k->held[key / 8] &= ~(1u << (key % 8));
	if (!mod)
		return;
	/* a modifier counts while either of its keys is held */
	k->mods &= ~mod;
	if ((mod == KEYMAP_MOD_SHIFT && (key_held(k, KEY_LEFTSHIFT) || key_held(k, KEY_RIGHTSHIFT))) ||
	    (mod == KEYMAP_MOD_CTRL && (key_held(k, KEY_LEFTCTRL) || key_held(k, KEY_RIGHTCTRL))) ||
	    (mod == KEYMAP_MOD_ALT && (key_held(k, KEY_LEFTALT) || key_held(k, KEY_RIGHTALT))))
		k->mods |= mod;
}

bool i8042__key(struct i8042 *s, unsigned int key, bool down)
{
	struct i8042_kbd_regs *k = &s->r.kbd;
	u8 seq[KEYMAP_MAX_SEQ];
	unsigned int n;
	bool ok = true;

	pthread_mutex_lock(&s->lock);
	/* a release of a key that is not down would only confuse the guest */
	if (!down && !key_held(k, key))
		goto out;
	/* the codes depend on the modifiers held before this key changes */
	n = keymap__scancode(key, k->set, down, k->mods, seq);
	key_set_held(k, key, down);
	if (!k->scanning || !n)
		goto out;
	/* whole sequences only, and room for the overrun code after them;
	 * after an overrun, nothing until the guest has read the queue empty */
	if (fifo_room(&k->data) < n + 1 || k->overrun) {
		s->kbd_overruns++;
		if (!down && key < 8 * sizeof(k->lost_break))
			k->lost_break[key / 8] |= 1u << (key % 8);
		if (!k->overrun && fifo_room(&k->data)) {
			fifo_put(&k->data, k->set == 1 ? 0xff : 0x00);
			k->overrun = true;
		}
		ok = false;
		goto out;
	}
	for (unsigned int i = 0; i < n; i++)
		fifo_put(&k->data, seq[i]);
	fill_obuf(s);
out:
	pthread_mutex_unlock(&s->lock);
	return ok;
}

u8 i8042__leds(struct i8042 *s)
{
	u8 leds;

	pthread_mutex_lock(&s->lock);
	leds = s->r.kbd.leds;
	pthread_mutex_unlock(&s->lock);
	return leds;
}

/* ---- mouse ---- */

static void mouse_defaults(struct i8042_mouse_regs *m)
{
	m->rate = 100;
	m->resolution = 2;	/* 4 counts/mm */
	m->scaling21 = false;
	m->reporting = false;
	m->remote = false;
	m->dx = m->dy = m->dz = 0;
	fifo_clear(&m->data);
}

static void mouse_reset(struct i8042_mouse_regs *m)
{
	mouse_defaults(m);
	m->reply.head = m->reply.count = 0;
	m->pending = 0;
	m->wrap = false;
	m->id = 0;
	memset(m->knock, 0, sizeof(m->knock));
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* 2:1 scaling, as the PS/2 mouse applies it in stream mode */
static int scale21(int d)
{
	static const int t[6] = { 0, 1, 1, 3, 6, 9 };
	int a = d < 0 ? -d : d;

	a = a < 6 ? t[a] : 2 * a;
	return d < 0 ? -a : a;
}

static unsigned int packet_size(const struct i8042_mouse_regs *m)
{
	return m->id ? 4 : 3;
}

/* one packet of the movement in m->dx/dy/dz (what fits), consuming it */
static unsigned int mouse_packet(struct i8042_mouse_regs *m, u8 *p, bool scale)
{
	int dx = clamp(m->dx, -256, 255), dy = clamp(m->dy, -256, 255);
	int dz = clamp(m->dz, m->id == 4 ? -8 : -128, m->id == 4 ? 7 : 127);
	int sx = scale ? clamp(scale21(dx), -256, 255) : dx;
	int sy = scale ? clamp(scale21(dy), -256, 255) : dy;

	m->dx -= dx;
	m->dy -= dy;
	p[0] = 0x08 | (m->buttons & 7) | (sx < 0 ? 0x10 : 0) | (sy < 0 ? 0x20 : 0);
	p[1] = sx & 0xff;
	p[2] = sy & 0xff;
	if (!m->id)
		return 3;
	m->dz -= dz;
	if (m->id == 3)
		p[3] = dz & 0xff;
	else
		p[3] = (dz & 0x0f) | (m->buttons & I8042_BTN_SIDE ? 0x10 : 0) |
		       (m->buttons & I8042_BTN_EXTRA ? 0x20 : 0);
	return 4;
}

static void mouse_reply_packet(struct i8042 *s)
{
	struct i8042_mouse_regs *m = &s->r.mouse;
	u8 p[4];
	unsigned int n = mouse_packet(m, p, false);

	for (unsigned int i = 0; i < n; i++)
		reply_put(s, &m->reply, p[i]);
}

static void mouse_status(struct i8042 *s)
{
	struct i8042_mouse_regs *m = &s->r.mouse;
	u8 st = (m->remote ? 0x40 : 0) | (m->reporting ? 0x20 : 0) | (m->scaling21 ? 0x10 : 0) |
		(m->buttons & I8042_BTN_LEFT ? 0x04 : 0) | (m->buttons & I8042_BTN_MIDDLE ? 0x02 : 0) |
		(m->buttons & I8042_BTN_RIGHT ? 0x01 : 0);

	reply_put(s, &m->reply, PS2_ACK);
	reply_put(s, &m->reply, st);
	reply_put(s, &m->reply, m->resolution);
	reply_put(s, &m->reply, m->rate);
}

static void mouse_set_rate(struct i8042_mouse_regs *m, u8 rate)
{
	m->rate = rate;
	m->knock[0] = m->knock[1];
	m->knock[1] = m->knock[2];
	m->knock[2] = rate;
	/* IntelliMouse: 200, 100, 80; then Explorer: 200, 200, 80 */
	if (m->knock[0] == 200 && m->knock[1] == 100 && m->knock[2] == 80 && m->id == 0)
		m->id = 3;
	else if (m->knock[0] == 200 && m->knock[1] == 200 && m->knock[2] == 80 && m->id == 3)
		m->id = 4;
}

static void mouse_write(struct i8042 *s, u8 val)
{
	struct i8042_mouse_regs *m = &s->r.mouse;

	if (m->wrap && val != AUX_RESET && val != AUX_RESET_WRAP) {
		reply_put(s, &m->reply, val);
		return;
	}
	if (m->pending) {
		u8 cmd = m->pending;

		m->pending = 0;
		if (cmd == AUX_SET_RATE && val < 0xe6) {
			mouse_set_rate(m, val);
			reply_put(s, &m->reply, PS2_ACK);
			return;
		}
		if (cmd == AUX_SET_RES && val < 0xe6) {
			m->resolution = val & 3;
			reply_put(s, &m->reply, PS2_ACK);
			return;
		}
		/* a command byte where an argument was due: a new command */
	}
	switch (val) {
	case AUX_SCALE11:
	case AUX_SCALE21:
		m->scaling21 = val == AUX_SCALE21;
		reply_put(s, &m->reply, PS2_ACK);
		break;
	case AUX_SET_RES:
	case AUX_SET_RATE:
		m->pending = val;
		reply_put(s, &m->reply, PS2_ACK);
		break;
	case AUX_STATUS:
		mouse_status(s);
		break;
	case AUX_STREAM:
		m->remote = false;
		m->dx = m->dy = m->dz = 0;
		reply_put(s, &m->reply, PS2_ACK);
		break;
	case AUX_READ_DATA:
		reply_put(s, &m->reply, PS2_ACK);
		mouse_reply_packet(s);
		break;
	case AUX_RESET_WRAP:
		m->wrap = false;
		reply_put(s, &m->reply, PS2_ACK);
		break;
	case AUX_WRAP:
		m->wrap = true;
		reply_put(s, &m->reply, PS2_ACK);
		break;
	case AUX_REMOTE:
		m->remote = true;
		fifo_clear(&m->data);
		reply_put(s, &m->reply, PS2_ACK);
		break;
	case AUX_GET_ID:
		reply_put(s, &m->reply, PS2_ACK);
		reply_put(s, &m->reply, m->id);
		break;
	case AUX_ENABLE:
		m->reporting = true;
		m->dx = m->dy = m->dz = 0;
		fifo_clear(&m->data);
		reply_put(s, &m->reply, PS2_ACK);
		break;
	case AUX_DISABLE:
		m->reporting = false;
		fifo_clear(&m->data);
		reply_put(s, &m->reply, PS2_ACK);
		break;
	case AUX_SET_DEFAULT:
		mouse_defaults(m);
		reply_put(s, &m->reply, PS2_ACK);
		break;
	case AUX_RESEND:
		reply_put(s, &m->reply, m->last);
		break;
	case AUX_RESET:
		mouse_reset(m);
		reply_put(s, &m->reply, PS2_ACK);
		reply_put(s, &m->reply, PS2_BAT_OK);
		reply_put(s, &m->reply, 0x00);	/* its id */
		break;
	default:
		pr_debug("i8042: mouse command %#x is not one; answered with NAK", val);
		reply_put(s, &m->reply, PS2_NAK);
		break;
	}
}

bool i8042__mouse(struct i8042 *s, int dx, int dy, int dz, u8 buttons)
{
	struct i8042_mouse_regs *m = &s->r.mouse;
	bool ok = true;

	pthread_mutex_lock(&s->lock);
	/* accumulate (bounded: the remote mode's counters saturate) */
	m->dx = clamp(m->dx + clamp(dx, -65536, 65536), -65536, 65536);
	m->dy = clamp(m->dy + clamp(dy, -65536, 65536), -65536, 65536);
	m->dz = clamp(m->dz + clamp(dz, -65536, 65536), -65536, 65536);
	if (!m->id)
		m->dz = 0;
	if (!m->reporting || m->remote) {
		m->buttons = buttons;
		if (!m->reporting)
			m->dx = m->dy = m->dz = 0;
		goto out;
	}
	if (buttons == m->buttons && !m->dx && !m->dy && !m->dz)
		goto out;
	m->buttons = buttons;
	/* as many packets as the movement needs, each sent whole */
	do {
		u8 p[4];
		unsigned int n;

		if (fifo_room(&m->data) < packet_size(m)) {
			s->mouse_overruns++;
			m->dx = m->dy = m->dz = 0;
			ok = false;
			break;
		}
		n = mouse_packet(m, p, m->scaling21);
		for (unsigned int i = 0; i < n; i++)
			fifo_put(&m->data, p[i]);
	} while (m->dx || m->dy || m->dz);
	fill_obuf(s);
out:
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* ---- controller ---- */

void i8042__init_regs(struct i8042 *s)
{
	struct i8042_regs *r = &s->r;
	bool irq_kbd = r->irq_kbd, irq_aux = r->irq_aux;

	memset(r, 0, sizeof(*r));
	r->irq_kbd = irq_kbd;
	r->irq_aux = irq_aux;
	r->ctr = I8042_CTR_POWERON;
	r->status = I8042_STR_SYS | I8042_STR_CMD;
	r->outport = I8042_OUT_RESET | I8042_OUT_A20;
	kbd_reset(&r->kbd);
	mouse_reset(&r->mouse);
	update_irq(s);
}

static u8 read_status(struct i8042 *s)
{
	struct i8042_regs *r = &s->r;

	return (r->status & (I8042_STR_SYS | I8042_STR_CMD)) | I8042_STR_UNLOCKED |
	       (r->obuf_full ? I8042_STR_OBF : 0) |
	       (r->obuf_full && r->obuf_aux ? I8042_STR_AUXDATA : 0);
}

static u8 read_outport(struct i8042 *s)
{
	struct i8042_regs *r = &s->r;

	/* bits 4/5 are the interrupt request outputs */
	return (r->outport & 0x0f) | (r->irq_kbd ? 0x10 : 0) | (r->irq_aux ? 0x20 : 0);
}

static void request_reset(struct i8042 *s, const char *why)
{
	static unsigned int logged;

	/* a reset is worth a line; a guest resetting in a loop gets 16 */
	if (__atomic_fetch_add(&logged, 1, __ATOMIC_RELAXED) < 16)
		pr_info("i8042: the guest pulsed the reset line (%s)", why);
	if (s->reset)
		s->reset(s);
	else if (s->vm)
		vm__request_reset(s->vm, "i8042 reset line");
}

static void write_outport(struct i8042 *s, u8 val)
{
	s->r.outport = val & 0x0f;
	if (!(val & I8042_OUT_RESET)) {
		s->r.outport |= I8042_OUT_RESET;
		request_reset(s, "output port write");
	}
}

static void controller_command(struct i8042 *s, u8 cmd)
{
	struct i8042_regs *r = &s->r;

	r->pending = 0;
	if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + 0x20) {
		ctrl_put(s, cmd == CMD_READ_RAM ? r->ctr : r->ram[cmd & 0x1f], false);
		return;
	}
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) {
		r->pending = cmd;
		return;
	}
	if (cmd >= CMD_PULSE) {
		/* pulse the output port bits that are 0 in the low nibble */
		if (!(cmd & 1))
			request_reset(s, cmd == 0xfe ? "command 0xfe" : "a pulse command");
		return;
	}
	switch (cmd) {
	case CMD_PWD_TEST:
		ctrl_put(s, PWD_NOT_INSTALLED, false);
		break;
	case CMD_PWD_LOAD:
		r->pending = cmd;	/* bytes until a 0 */
		break;
	case CMD_PWD_ENABLE:
		break;			/* no password is installed */
	case CMD_AUX_DISABLE:
		r->ctr |= I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		r->ctr &= ~I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		ctrl_put(s, 0x00, false);	/* no clock or data line stuck */
		break;
	case CMD_SELF_TEST:
		r->status |= I8042_STR_SYS;
		ctrl_put(s, SELF_TEST_OK, false);
		break;
	case CMD_DIAG_DUMP:
		break;
	case CMD_KBD_DISABLE:
		r->ctr |= I8042_CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		r->ctr &= ~I8042_CTR_KBDDIS;
		break;
	case CMD_READ_INPUT:
		ctrl_put(s, 0x80, false);	/* bit 7: keyboard not inhibited */
		break;
	case CMD_POLL_INPUT_LO:
	case CMD_POLL_INPUT_HI:
		break;
	case CMD_READ_OUTPUT:
		ctrl_put(s, read_outport(s), false);
		break;
	case CMD_WRITE_OUTPUT:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		r->pending = cmd;
		break;
	case CMD_A20_OFF:
		r->outport &= ~I8042_OUT_A20;
		break;
	case CMD_A20_ON:
		r->outport |= I8042_OUT_A20;
		break;
	case CMD_READ_TEST:
		ctrl_put(s, 0x00, false);
		break;
	default:
		s->guest_errors++;
		pr_debug("i8042: controller command %#x is not one; ignored", cmd);
		break;
	}
}

static void data_write(struct i8042 *s, u8 val)
{
	struct i8042_regs *r = &s->r;
	u8 cmd = r->pending;

	if (cmd != CMD_PWD_LOAD)
		r->pending = 0;
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) {
		if (cmd == CMD_WRITE_RAM) {
			r->ctr = val;
			/* the system flag of the status follows the command byte's */
			r->status = (r->status & ~I8042_STR_SYS) | (val & I8042_CTR_SYS);
		} else {
			r->ram[cmd & 0x1f] = val;
		}
		return;
	}
	switch (cmd) {
	case CMD_PWD_LOAD:
		if (!val)
			r->pending = 0;
		return;
	case CMD_WRITE_OUTPUT:
		write_outport(s, val);
		return;
	case CMD_WRITE_KBD_OBUF:
		ctrl_put(s, val, false);
		return;
	case CMD_WRITE_AUX_OBUF:
		ctrl_put(s, val, true);
		return;
	case CMD_WRITE_AUX:
		mouse_write(s, val);
		return;
	}
	/* to the keyboard; sending to it enables its interface */
	r->ctr &= ~I8042_CTR_KBDDIS;
	kbd_write(s, val);
}

u8 i8042__read(struct i8042 *s, u16 port)
{
	struct i8042_regs *r = &s->r;
	u8 v;

	pthread_mutex_lock(&s->lock);
	if (port == PORT_I8042_CMD) {
		v = read_status(s);
	} else {
		/* an empty buffer reads as its last byte, as on the chip */
		v = r->obuf;
		if (r->obuf_full) {
			r->obuf_full = false;
			/* the line drops even if the next byte follows at once:
			 * each byte is an edge, and ISA interrupts are edges */
			update_irq(s);
			fill_obuf(s);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return v;
}

void i8042__write(struct i8042 *s, u16 port, u8 val)
{
	pthread_mutex_lock(&s->lock);
	if (port == PORT_I8042_CMD) {
		s->r.status |= I8042_STR_CMD;
		controller_command(s, val);
	} else {
		s->r.status &= ~I8042_STR_CMD;
		data_write(s, val);
	}
	/* the command byte may have enabled an interface or its interrupt */
	fill_obuf(s);
	pthread_mutex_unlock(&s->lock);
}

/* ---- the device in a VM ---- */

struct i8042_dev {
	struct i8042 s;
	struct vm_device vd;
	struct input_consumer ic;
	struct vm *vm;
	/* the pointer's last absolute position, for relative PS/2 motion */
	int last_x, last_y;
	bool have_last;
};

static struct i8042_dev *the_i8042;

/*
 * Two one-byte ranges, so that 0x61 (KVM's PC speaker port) stays free.
 * The registers are bytes: the bytes of a wider access above the first
 * read as all-ones and are dropped on writes.
 */
static void port_read(struct i8042_dev *d, u16 port, void *data, u32 len)
{
	memset(data, 0xff, len);
	((u8 *)data)[0] = i8042__read(&d->s, port);
}

static void data_io_read(void *dev, u64 off __unused, void *data, u32 len)
{
	port_read(dev, PORT_I8042_DATA, data, len);
}

static void data_io_write(void *dev, u64 off __unused, const void *data, u32 len __unused)
{
	i8042__write(&((struct i8042_dev *)dev)->s, PORT_I8042_DATA, *(const u8 *)data);
}

static void cmd_io_read(void *dev, u64 off __unused, void *data, u32 len)
{
	port_read(dev, PORT_I8042_CMD, data, len);
}

static void cmd_io_write(void *dev, u64 off __unused, const void *data, u32 len __unused)
{
	i8042__write(&((struct i8042_dev *)dev)->s, PORT_I8042_CMD, *(const u8 *)data);
}

static const struct trap_ops i8042_data_ops = {
	.read = data_io_read,
	.write = data_io_write,
};

static const struct trap_ops i8042_cmd_ops = {
	.read = cmd_io_read,
	.write = cmd_io_write,
};

static void dev_leds_changed(struct i8042 *s __unused, u8 leds)
{
	u32 l = 0;

	if (leds & I8042_LED_SCROLL)
		l |= INPUT_LED_SCROLL;
	if (leds & I8042_LED_NUM)
		l |= INPUT_LED_NUM;
	if (leds & I8042_LED_CAPS)
		l |= INPUT_LED_CAPS;
	input__set_leds(l);
}

static bool consume_key(void *opaque, unsigned int key, bool down)
{
	struct i8042_dev *d = opaque;

	return i8042__key(&d->s, key, down);
}

static void consume_pointer(void *opaque, const struct input_pointer *p)
{
	struct i8042_dev *d = opaque;
	int dx = p->dx, dy = p->dy;
	u8 b = 0;

	if (p->absolute) {
		if (d->have_last) {
			dx = p->x - d->last_x;
			dy = p->y - d->last_y;
		} else {
			dx = dy = 0;
		}
		d->last_x = p->x;
		d->last_y = p->y;
		d->have_last = true;
	}
	if (p->buttons & INPUT_BTN_LEFT)
		b |= I8042_BTN_LEFT;
	if (p->buttons & INPUT_BTN_RIGHT)
		b |= I8042_BTN_RIGHT;
	if (p->buttons & INPUT_BTN_MIDDLE)
		b |= I8042_BTN_MIDDLE;
	if (p->buttons & INPUT_BTN_SIDE)
		b |= I8042_BTN_SIDE;
	if (p->buttons & INPUT_BTN_EXTRA)
		b |= I8042_BTN_EXTRA;
	/* screen y grows downwards, PS/2 y upwards; a wheel step up is -1 */
	i8042__mouse(&d->s, dx, -dy, -p->wheel, b);
}

static unsigned int consume_room(void *opaque)
{
	struct i8042_dev *d = opaque;
	unsigned int room;

	pthread_mutex_lock(&d->s.lock);
	room = d->s.r.kbd.scanning ? fifo_room(&d->s.r.kbd.data) : I8042_QUEUE_SIZE;
	pthread_mutex_unlock(&d->s.lock);
	return room;
}

static void dev_reset(struct vm_device *vd)
{
	struct i8042_dev *d = container_of(vd, struct i8042_dev, vd);

	pthread_mutex_lock(&d->s.lock);
	i8042__init_regs(&d->s);
	pthread_mutex_unlock(&d->s.lock);
	d->have_last = false;
	input__set_leds(0);
}

static json_object *dev_status(struct vm_device *vd)
{
	struct i8042_dev *d = container_of(vd, struct i8042_dev, vd);
	struct i8042_regs *r = &d->s.r;
	json_object *o = json_object_new_object(), *k = json_object_new_object();
	json_object *m = json_object_new_object(), *leds = json_object_new_object();

	pthread_mutex_lock(&d->s.lock);
	json_object_object_add(leds, "caps-lock", json_object_new_boolean(r->kbd.leds & I8042_LED_CAPS));
	json_object_object_add(leds, "num-lock", json_object_new_boolean(r->kbd.leds & I8042_LED_NUM));
	json_object_object_add(leds, "scroll-lock",
			       json_object_new_boolean(r->kbd.leds & I8042_LED_SCROLL));
	json_object_object_add(k, "leds", leds);
	json_object_object_add(k, "scancode-set", json_object_new_int(r->kbd.set));
	json_object_object_add(k, "translated", json_object_new_boolean(r->ctr & I8042_CTR_XLATE));
	json_object_object_add(k, "scanning", json_object_new_boolean(r->kbd.scanning));
	json_object_object_add(k, "enabled", json_object_new_boolean(!(r->ctr & I8042_CTR_KBDDIS)));
	json_object_object_add(k, "queued", json_object_new_int(r->kbd.data.count));
	json_object_object_add(k, "overruns", json_object_new_int64(d->s.kbd_overruns));
	json_object_object_add(m, "id", json_object_new_int(r->mouse.id));
	json_object_object_add(m, "reporting", json_object_new_boolean(r->mouse.reporting));
	json_object_object_add(m, "enabled", json_object_new_boolean(!(r->ctr & I8042_CTR_AUXDIS)));
	json_object_object_add(m, "queued", json_object_new_int(r->mouse.data.count));
	json_object_object_add(m, "overruns", json_object_new_int64(d->s.mouse_overruns));
	json_object_object_add(o, "command-byte", json_object_new_int(r->ctr));
	pthread_mutex_unlock(&d->s.lock);
	json_object_object_add(o, "keyboard", k);
	json_object_object_add(o, "mouse", m);
	return o;
}

static int i8042__dev_init(struct vm *vm)
{
	struct i8042_dev *d = xzalloc(sizeof(*d));
	int ret;

	pthread_mutex_init(&d->s.lock, NULL);
	d->vm = d->s.vm = vm;
	d->s.leds_changed = dev_leds_changed;
	i8042__init_regs(&d->s);
	ret = bus__register(&vm->pio, PORT_I8042_DATA, 1, &i8042_data_ops, d, "i8042 data");
	if (ret) {
		pr_err("i8042: port %#x is taken", PORT_I8042_DATA);
		goto err_free;
	}
	ret = bus__register(&vm->pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, d, "i8042 command");
	if (ret) {
		pr_err("i8042: port %#x is taken", PORT_I8042_CMD);
		goto err_unreg;
	}
	d->ic = (struct input_consumer){
		.name = "PS/2 keyboard and mouse (i8042)",
		.key = consume_key,
		.pointer = consume_pointer,
		.key_room = consume_room,
		.opaque = d,
	};
	input__register(&d->ic);
	d->vd.name = "i8042";
	d->vd.reset = dev_reset;
	d->vd.status = dev_status;
	vm__add_device(vm, &d->vd);
	the_i8042 = d;
	return 0;

err_unreg:
	bus__unregister(&vm->pio, PORT_I8042_DATA, d);
err_free:
	pthread_mutex_destroy(&d->s.lock);
	free(d);
	return ret;
}

static void i8042__dev_exit(struct vm *vm)
{
	struct i8042_dev *d = the_i8042;

	if (!d)
		return;
	input__unregister(&d->ic);
	bus__unregister(&vm->pio, PORT_I8042_CMD, d);
	bus__unregister(&vm->pio, PORT_I8042_DATA, d);
	vm__remove_device(vm, &d->vd);
	input__set_leds(0);
	the_i8042 = NULL;
	pthread_mutex_destroy(&d->s.lock);
	free(d);
}
vm_initcall(INIT_DEVICE, i8042__dev_init, i8042__dev_exit, NULL);
