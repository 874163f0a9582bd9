// SPDX-License-Identifier: GPL-2.0
/*
 * The 8042 controller, PS/2 keyboard and mouse, without a VM: driven by the
 * exact port sequences Linux's i8042, atkbd, libps2 and psmouse drivers
 * issue at probe (drivers/input/serio/i8042.c i8042_controller_init,
 * i8042_check_aux, i8042_set_mux_mode, i8042_enable_*_port;
 * drivers/input/keyboard/atkbd.c atkbd_probe, atkbd_reset_state,
 * atkbd_activate, atkbd_select_set; drivers/input/mouse/psmouse-base.c
 * psmouse_probe, psmouse_reset, the IntelliMouse knocks), then typing,
 * queue overflow and hostile port traffic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/i8042.h"
#include "vmm/keymap.h"

#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>

/* the libFuzzer target, run here on fixed pseudo-random inputs */
#define LLVMFuzzerTestOneInput fuzz_i8042
#include "fuzz/fuzz-i8042.c"
#undef LLVMFuzzerTestOneInput

#define DATA	PORT_I8042_DATA
#define CMDP	PORT_I8042_CMD

static struct i8042 s;
static int line[16];		/* the interrupt lines as last driven */
static unsigned int edges[16];	/* 0 -> 1 transitions */
static unsigned int resets;
static int leds_seen = -1;

static void fake_set_irq(struct i8042 *dev __unused, unsigned int irq, int level)
{
	assert_true(irq == IRQ_I8042_KBD || irq == IRQ_I8042_AUX);
	assert_int_not_equal(level, line[irq]);	/* only changes are driven */
	edges[irq] += level && !line[irq];
	line[irq] = level;
}

static void fake_reset(struct i8042 *dev __unused)
{
	resets++;
}

static void fake_leds(struct i8042 *dev __unused, u8 leds)
{
	leds_seen = leds;
}

static int setup(void **state __unused)
{
	memset(&s, 0, sizeof(s));
	memset(line, 0, sizeof(line));
	memset(edges, 0, sizeof(edges));
	resets = 0;
	leds_seen = -1;
	pthread_mutex_init(&s.lock, NULL);
	s.set_irq = fake_set_irq;
	s.reset = fake_reset;
	s.leds_changed = fake_leds;
	i8042__init_regs(&s);
	return 0;
}

static int teardown(void **state __unused)
{
	pthread_mutex_destroy(&s.lock);
	return 0;
}

static u8 status(void)
{
	return i8042__read(&s, CMDP);
}

static void cmd(u8 c)
{
	/* the driver waits for IBF clear before every write */
	assert_int_equal(status() & I8042_STR_IBF, 0);
	i8042__write(&s, CMDP, c);
}

static void data(u8 b)
{
	assert_int_equal(status() & I8042_STR_IBF, 0);
	i8042__write(&s, DATA, b);
}

/* one byte from the output buffer; aux: from the mouse side or not */
static u8 rd(bool aux)
{
	u8 st = status();

	assert_true(st & I8042_STR_OBF);
	assert_int_equal(!!(st & I8042_STR_AUXDATA), aux);
	return i8042__read(&s, DATA);
}

#define expect(aux, ...) do {						\
		static const u8 want[] = { __VA_ARGS__ };		\
		for (unsigned int i_ = 0; i_ < sizeof(want); i_++)	\
			assert_int_equal(rd(aux), want[i_]);		\
		assert_int_equal(status() & I8042_STR_OBF, 0);		\
	} while (0)

/* i8042_flush(): read while OBF, at most I8042_BUFFER_SIZE (16) bytes */
static unsigned int flush(void)
{
	unsigned int n = 0;

	while ((status() & I8042_STR_OBF) && n < 16) {
		i8042__read(&s, DATA);
		n++;
	}
	return n;
}

/* i8042_command(&param, I8042_CMD_CTL_RCTR) */
static u8 read_ctr(void)
{
	cmd(0x20);
	return rd(false);
}

static void write_ctr(u8 v)
{
	cmd(0x60);
	data(v);
}

/* I8042_CMD_AUX_LOOP: the byte must come back from the aux side */
static u8 aux_loop(u8 v)
{
	cmd(0xd3);
	data(v);
	return rd(true);
}

/* an aux device command through 0xD4 (i8042_aux_write) */
static void aux(u8 v)
{
	cmd(0xd4);
	data(v);
}

/*
 * Linux's controller probe with default options on x86 (i8042_probe):
 * i8042_controller_check, i8042_controller_init, i8042_setup_aux
 * (i8042_check_aux, i8042_check_mux), i8042_setup_kbd.  Leaves the
 * controller as Linux runs it: both ports enabled with interrupts,
 * translation on.  Returns Linux's copy of the command byte.
 */
static u8 linux_i8042_probe(void)
{
	u8 ctr[2], c;
	unsigned int n = 0;

	/* i8042_controller_check: nothing pending at power-on */
	assert_int_equal(flush(), 0);
	/* i8042_controller_selftest (done at probe with i8042.reset, and at
	 * shutdown): 0xAA -> 0x55 */
	cmd(0xaa);
	expect(false, 0x55);

	/* i8042_controller_init: a stable read of the CTR */
	do {
		assert_true(n < 10);
		ctr[n++ % 2] = read_ctr();
	} while (n < 2 || ctr[0] != ctr[1]);
	c = ctr[0];
	assert_int_equal(c, I8042_CTR_POWERON);
	c |= I8042_CTR_KBDDIS;
	c &= ~I8042_CTR_KBDINT;
	/* keylock: STR bit 4 set means not locked (else "Warning: Keylock active") */
	assert_true(status() & I8042_STR_UNLOCKED);
	/* translation on: i8042_direct stays off, "AT Translated Set 2 keyboard" */
	assert_true(c & I8042_CTR_XLATE);
	write_ctr(c);
	assert_int_equal(flush(), 0);

	/* i8042_check_aux: loopback, toggling, the IRQ test */
	assert_int_equal(flush(), 0);
	assert_int_equal(aux_loop(0x5a), 0x5a);
	cmd(0xa7);				/* i8042_toggle_aux(0) */
	assert_true(read_ctr() & I8042_CTR_AUXDIS);
	cmd(0xa8);				/* i8042_toggle_aux(1) */
	assert_false(read_ctr() & I8042_CTR_AUXDIS);
	c &= ~I8042_CTR_AUXDIS;			/* i8042_enable_aux_port */
	c |= I8042_CTR_AUXINT;
	write_ctr(c);
	edges[IRQ_I8042_AUX] = 0;
	cmd(0xd3);				/* AUX_LOOP & 0xf0ff: no read back */
	data(0xa5);
	assert_int_equal(edges[IRQ_I8042_AUX], 1);	/* i8042_aux_test_irq runs */
	assert_int_equal(line[IRQ_I8042_KBD], 0);
	assert_int_equal(rd(true), 0xa5);
	assert_int_equal(line[IRQ_I8042_AUX], 0);
	c |= I8042_CTR_AUXDIS;			/* "Disable the interface" */
	c &= ~I8042_CTR_AUXINT;
	write_ctr(c);

	/* i8042_check_mux -> i8042_set_mux_mode(true): 0xa4 comes back
	 * unchanged, so there is no active multiplexer */
	assert_int_equal(flush(), 0);
	assert_int_equal(aux_loop(0xf0), 0xf0);
	assert_int_equal(aux_loop(0x56), 0x56);
	assert_int_equal(aux_loop(0xa4), 0xa4);

	/* i8042_setup_aux -> i8042_enable_aux_port, i8042_setup_kbd ->
	 * i8042_enable_kbd_port */
	c &= ~I8042_CTR_AUXDIS;
	c |= I8042_CTR_AUXINT;
	write_ctr(c);
	c &= ~I8042_CTR_KBDDIS;
	c |= I8042_CTR_KBDINT;
	write_ctr(c);
	assert_int_equal(read_ctr(), c);
	return c;
}

/* a keyboard command as libps2 sends it: the byte, then ACK by IRQ 1 */
static void kbd(u8 v)
{
	unsigned int e = edges[IRQ_I8042_KBD];

	data(v);
	assert_int_equal(edges[IRQ_I8042_KBD], e + 1);
}

/* atkbd_connect with a translating controller: atkbd_probe (GETID,
 * deactivate), atkbd_select_set (translated: 2, no commands),
 * atkbd_reset_state (LEDs off, fastest repeat), atkbd_activate */
static void linux_atkbd_probe(void)
{
	kbd(0xf2);				/* ATKBD_CMD_GETID */
	expect(false, 0xfa, 0xab, 0x41);	/* 0x83 translated */
	kbd(0xf5);				/* ATKBD_CMD_RESET_DIS */
	expect(false, 0xfa);
	kbd(0xed);				/* ATKBD_CMD_SETLEDS, 0 */
	expect(false, 0xfa);
	kbd(0x00);
	expect(false, 0xfa);
	kbd(0xf3);				/* ATKBD_CMD_SETREP, 0 */
	expect(false, 0xfa);
	kbd(0x00);
	expect(false, 0xfa);
	kbd(0xf4);				/* ATKBD_CMD_ENABLE */
	expect(false, 0xfa);
}

static void test_power_on(void **state __unused)
{
	u8 st = status();

	assert_int_equal(st, I8042_STR_SYS | I8042_STR_CMD | I8042_STR_UNLOCKED);
	assert_int_equal(read_ctr(), I8042_CTR_POWERON);
	assert_int_equal(line[IRQ_I8042_KBD], 0);
	assert_int_equal(line[IRQ_I8042_AUX], 0);
	/* the status byte's bit 3 follows the last port written */
	write_ctr(I8042_CTR_POWERON);
	assert_int_equal(status() & I8042_STR_CMD, 0);
	cmd(0xae);
	assert_int_equal(status() & I8042_STR_CMD, I8042_STR_CMD);
}

static void test_linux_probe_translated(void **state __unused)
{
	linux_i8042_probe();
	linux_atkbd_probe();
	assert_int_equal(s.r.kbd.set, 2);
	assert_true(s.r.kbd.scanning);

	/* typing: 'a' and Up arrow arrive as set 1, one IRQ 1 per byte */
	edges[IRQ_I8042_KBD] = 0;
	assert_true(i8042__key(&s, KEY_A, true));
	assert_true(line[IRQ_I8042_KBD]);
	expect(false, 0x1e);
	assert_true(i8042__key(&s, KEY_A, false));
	expect(false, 0x9e);
	assert_true(i8042__key(&s, KEY_UP, true));
	assert_true(i8042__key(&s, KEY_UP, false));
	expect(false, 0xe0, 0x48, 0xe0, 0xc8);
	assert_int_equal(edges[IRQ_I8042_KBD], 6);
	assert_int_equal(line[IRQ_I8042_KBD], 0);

	/* Pause: set 2's E1 14 77 E1 F0 14 F0 77 becomes set 1's sequence */
	assert_true(i8042__key(&s, KEY_PAUSE, true));
	assert_true(i8042__key(&s, KEY_PAUSE, false));
	expect(false, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
	/* a scan-set query answers in translation: 2 reads as 0x41 */
	kbd(0xf0);
	expect(false, 0xfa);
	kbd(0x00);
	expect(false, 0xfa, 0x41);
	/* the controller's shutdown path restores the command byte */
	write_ctr(I8042_CTR_POWERON);
	assert_int_equal(read_ctr(), I8042_CTR_POWERON);
}

static void test_linux_probe_direct_set3(void **state __unused)
{
	u8 c;

	/* i8042.direct: translation off; atkbd.set=3 */
	c = linux_i8042_probe() & ~I8042_CTR_XLATE;
	write_ctr(c);
	kbd(0xf2);
	expect(false, 0xfa, 0xab, 0x83);
	kbd(0xf5);
	expect(false, 0xfa);
	/* atkbd_select_set(3): OK_GETID (0xe8) is no keyboard command */
	kbd(0xe8);
	expect(false, 0xfe);
	kbd(0xf0);				/* ATKBD_CMD_SSCANSET 3 */
	expect(false, 0xfa);
	kbd(0x03);
	expect(false, 0xfa);
	kbd(0xf0);				/* ATKBD_CMD_GSCANSET */
	expect(false, 0xfa);
	kbd(0x00);
	expect(false, 0xfa, 0x03);
	kbd(0xfa);				/* ATKBD_CMD_SETALL_MBR */
	expect(false, 0xfa);
	kbd(0xf4);
	expect(false, 0xfa);
	assert_int_equal(s.r.kbd.set, 3);
	assert_true(i8042__key(&s, KEY_A, true));
	assert_true(i8042__key(&s, KEY_A, false));
	assert_true(i8042__key(&s, KEY_RIGHTCTRL, true));
	assert_true(i8042__key(&s, KEY_RIGHTCTRL, false));
	expect(false, 0x1c, 0xf0, 0x1c, 0x58, 0xf0, 0x58);
	/* raw set 2 */
	kbd(0xf0);
	expect(false, 0xfa);
	kbd(0x02);
	expect(false, 0xfa);
	assert_true(i8042__key(&s, KEY_KPENTER, true));
	assert_true(i8042__key(&s, KEY_KPENTER, false));
	expect(false, 0xe0, 0x5a, 0xe0, 0xf0, 0x5a);
	/* raw set 1 */
	kbd(0xf0);
	expect(false, 0xfa);
	kbd(0x01);
	expect(false, 0xfa);
	assert_true(i8042__key(&s, KEY_DELETE, true));
	assert_true(i8042__key(&s, KEY_DELETE, false));
	expect(false, 0xe0, 0x53, 0xe0, 0xd3);
	/* a set that does not exist */
	kbd(0xf0);
	expect(false, 0xfa);
	kbd(0x04);
	expect(false, 0xfe);
	assert_int_equal(s.r.kbd.set, 1);
}

static void test_psmouse_probe(void **state __unused)
{
	u8 st;

	linux_i8042_probe();
	/* psmouse_probe: GETID, then RESET_DIS */
	aux(0xf2);
	expect(true, 0xfa, 0x00);
	aux(0xf6);
	expect(true, 0xfa);
	/* psmouse_reset */
	aux(0xff);
	expect(true, 0xfa, 0xaa, 0x00);
	/* the Synaptics/ALPS style status query after E8 00 x4, E9: no
	 * signature (byte 2 is our resolution, 0) */
	for (int i = 0; i < 4; i++) {
		aux(0xe8);
		expect(true, 0xfa);
		aux(0x00);
		expect(true, 0xfa);
	}
	aux(0xe9);
	expect(true, 0xfa, 0x00, 0x00, 0x64);
	/* an unknown command (TrackPoint's read id) is refused */
	aux(0xe1);
	expect(true, 0xfe);
	/* intellimouse_detect: rates 200, 100, 80, then GETID -> 3 */
	static const u8 knock[] = { 200, 100, 80 };
	for (unsigned int i = 0; i < 3; i++) {
		aux(0xf3);
		expect(true, 0xfa);
		aux(knock[i]);
		expect(true, 0xfa);
	}
	aux(0xf2);
	expect(true, 0xfa, 0x03);
	/* set rate 100, resolution 3 (8 counts/mm), scaling 1:1, enable */
	aux(0xf3);
	expect(true, 0xfa);
	aux(100);
	expect(true, 0xfa);
	aux(0xe8);
	expect(true, 0xfa);
	aux(0x03);
	expect(true, 0xfa);
	aux(0xe6);
	expect(true, 0xfa);
	aux(0xf4);
	expect(true, 0xfa);
	aux(0xe9);
	expect(true, 0xfa, 0x20, 0x03, 0x64);

	/* movement: 4-byte packets with the wheel, by IRQ 12 */
	edges[IRQ_I8042_AUX] = 0;
	assert_true(i8042__mouse(&s, 5, -3, 1, I8042_BTN_LEFT));
	expect(true, 0x09 | 0x20, 0x05, 0xfd, 0x01);
	assert_int_equal(edges[IRQ_I8042_AUX], 4);
	/* a long move is split; sign bits and buttons in every packet */
	assert_true(i8042__mouse(&s, -300, 0, 0, I8042_BTN_RIGHT));
	expect(true, 0x0a | 0x10, 0x00, 0x00, 0x00, 0x0a | 0x10, 0xd4, 0x00, 0x00);
	/* buttons alone */
	assert_true(i8042__mouse(&s, 0, 0, 0, 0));
	expect(true, 0x08, 0x00, 0x00, 0x00);
	/* no change, no packet */
	assert_true(i8042__mouse(&s, 0, 0, 0, 0));
	assert_int_equal(status() & I8042_STR_OBF, 0);

	/* remote mode: nothing streams; read data gives the movement */
	aux(0xf0);
	expect(true, 0xfa);
	assert_true(i8042__mouse(&s, 7, 2, 0, 0));
	assert_int_equal(status() & I8042_STR_OBF, 0);
	aux(0xeb);
	expect(true, 0xfa, 0x08, 0x07, 0x02, 0x00);
	/* wrap mode echoes all but reset and reset-wrap */
	aux(0xee);
	expect(true, 0xfa);
	aux(0x42);
	expect(true, 0x42);
	aux(0xec);
	expect(true, 0xfa);
	st = status();
	assert_int_equal(st & I8042_STR_OBF, 0);
}

static void test_keyboard_commands(void **state __unused)
{
	linux_i8042_probe();
	linux_atkbd_probe();
	kbd(0xee);
	expect(false, 0xee);
	kbd(0xf2);
	expect(false, 0xfa, 0xab, 0x41);
	kbd(0xfe);				/* resend: the last byte again */
	expect(false, 0x41);
	/* Caps Lock's LED, as atkbd_set_leds sends it */
	kbd(0xed);
	expect(false, 0xfa);
	kbd(0x04);
	expect(false, 0xfa);
	assert_int_equal(leds_seen, I8042_LED_CAPS);
	assert_int_equal(i8042__leds(&s), I8042_LED_CAPS);
	/* typematic */
	kbd(0xf3);
	expect(false, 0xfa);
	kbd(0x20);
	expect(false, 0xfa);
	assert_int_equal(s.r.kbd.typematic, 0x20);
	/* not commands */
	kbd(0x42);
	expect(false, 0xfe);
	kbd(0xe8);
	expect(false, 0xfe);
	/* reset: ACK, then BAT; LEDs off */
	kbd(0xff);
	expect(false, 0xfa, 0xaa);
	assert_int_equal(leds_seen, 0);
	assert_int_equal(s.r.kbd.typematic, 0x2b);
	/* a disabled keyboard does not scan */
	kbd(0xf5);
	expect(false, 0xfa);
	assert_true(i8042__key(&s, KEY_B, true));
	assert_true(i8042__key(&s, KEY_B, false));
	assert_int_equal(status() & I8042_STR_OBF, 0);
	kbd(0xf4);
	expect(false, 0xfa);
	assert_true(i8042__key(&s, KEY_B, true));
	expect(false, 0x30);
	/* a release of a key that is not down is not sent */
	assert_true(i8042__key(&s, KEY_C, false));
	assert_int_equal(status() & I8042_STR_OBF, 0);
	assert_true(i8042__key(&s, KEY_B, false));
	expect(false, 0xb0);
	/* set 3 key types: a list of keys until the next command */
	kbd(0xfb);
	expect(false, 0xfa);
	kbd(0x1c);
	expect(false, 0xfa);
	kbd(0x1b);
	expect(false, 0xfa);
	kbd(0xf4);
	expect(false, 0xfa);
}

/* the keyboard holds scan codes back while a command waits for its argument,
 * and its replies go before the scan codes already queued */
static void test_reply_priority(void **state __unused)
{
	linux_i8042_probe();
	linux_atkbd_probe();
	/* the guest has not read yet: 'q' down is in the output buffer, its
	 * release queued behind it */
	assert_true(i8042__key(&s, KEY_Q, true));
	assert_true(i8042__key(&s, KEY_Q, false));
	data(0xed);				/* LEDs: the ACK goes first */
	assert_int_equal(rd(false), 0x10);	/* already in the buffer */
	assert_int_equal(rd(false), 0xfa);
	assert_int_equal(status() & I8042_STR_OBF, 0);	/* 0x90 held back */
	kbd(0x02);
	expect(false, 0xfa, 0x90);
	assert_int_equal(leds_seen, I8042_LED_NUM);
	/* a command byte where the argument was due starts a new command */
	kbd(0xed);
	expect(false, 0xfa);
	kbd(0xee);
	expect(false, 0xee);
	assert_int_equal(s.r.kbd.leds, I8042_LED_NUM);
}

static void test_modifier_variants(void **state __unused)
{
	linux_i8042_probe();
	linux_atkbd_probe();
	/* Print Screen with fake shifts; with Alt it is SysRq (0x84 -> 0x54) */
	assert_true(i8042__key(&s, KEY_SYSRQ, true));
	assert_true(i8042__key(&s, KEY_SYSRQ, false));
	expect(false, 0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa);
	assert_true(i8042__key(&s, KEY_LEFTALT, true));
	assert_true(i8042__key(&s, KEY_SYSRQ, true));
	assert_true(i8042__key(&s, KEY_SYSRQ, false));
	assert_true(i8042__key(&s, KEY_LEFTALT, false));
	expect(false, 0x38, 0x54, 0xd4, 0xb8);
	/* Ctrl+Pause is Break */
	assert_true(i8042__key(&s, KEY_RIGHTCTRL, true));
	assert_true(i8042__key(&s, KEY_PAUSE, true));
	assert_true(i8042__key(&s, KEY_PAUSE, false));
	assert_true(i8042__key(&s, KEY_RIGHTCTRL, false));
	expect(false, 0xe0, 0x1d, 0xe0, 0x46, 0xe0, 0xc6, 0xe0, 0x9d);
	/* one Ctrl released while the other is held: still Ctrl */
	assert_true(i8042__key(&s, KEY_LEFTCTRL, true));
	assert_true(i8042__key(&s, KEY_RIGHTCTRL, true));
	assert_true(i8042__key(&s, KEY_RIGHTCTRL, false));
	assert_int_equal(s.r.kbd.mods, KEYMAP_MOD_CTRL);
	assert_true(i8042__key(&s, KEY_LEFTCTRL, false));
	assert_int_equal(s.r.kbd.mods, 0);
	flush();
}

static void test_controller_commands(void **state __unused)
{
	cmd(0xa4);				/* password installed? no */
	expect(false, 0xf1);
	cmd(0xa9);
	expect(false, 0x00);
	cmd(0xab);
	expect(false, 0x00);
	cmd(0xe0);
	expect(false, 0x00);
	cmd(0xc0);
	expect(false, 0x80);
	/* RAM bytes */
	cmd(0x61);
	data(0x5c);
	cmd(0x21);
	expect(false, 0x5c);
	/* output port: A20 and the reset line */
	cmd(0xd0);
	expect(false, I8042_OUT_RESET | I8042_OUT_A20);
	cmd(0xdd);
	cmd(0xd0);
	expect(false, I8042_OUT_RESET);
	cmd(0xdf);
	cmd(0xd1);
	data(I8042_OUT_RESET | I8042_OUT_A20);
	assert_int_equal(resets, 0);
	cmd(0xd1);
	data(I8042_OUT_A20);			/* reset line low */
	assert_int_equal(resets, 1);
	cmd(0xff);				/* pulse nothing */
	assert_int_equal(resets, 1);
	cmd(0xfe);				/* pulse the reset line */
	assert_int_equal(resets, 2);
	/* the password load swallows bytes up to a 0 */
	cmd(0xa5);
	data('p');
	data('w');
	data(0);
	assert_int_equal(s.r.pending, 0);
	cmd(0xa6);
	/* write the keyboard's output buffer: IRQ 1, not aux */
	cmd(0xd2);
	data(0x77);
	assert_int_equal(line[IRQ_I8042_KBD], 1);
	expect(false, 0x77);
	assert_int_equal(line[IRQ_I8042_KBD], 0);
	/* disabling the keyboard interface holds its bytes back */
	cmd(0xad);
	assert_true(read_ctr() & I8042_CTR_KBDDIS);
	assert_true(i8042__key(&s, KEY_X, true));
	assert_int_equal(status() & I8042_STR_OBF, 0);
	cmd(0xae);
	expect(false, 0x2d);
	/* the interrupt follows the command byte's enable bit */
	assert_true(i8042__key(&s, KEY_X, false));
	assert_int_equal(line[IRQ_I8042_KBD], 1);
	write_ctr(I8042_CTR_POWERON & ~I8042_CTR_KBDINT);
	assert_int_equal(line[IRQ_I8042_KBD], 0);
	write_ctr(I8042_CTR_POWERON);
	assert_int_equal(line[IRQ_I8042_KBD], 1);
	expect(false, 0xad);
	/* an unknown controller command changes nothing */
	cmd(0xb7);
	assert_int_equal(status() & I8042_STR_OBF, 0);
	assert_int_equal(read_ctr(), I8042_CTR_POWERON);
	/* reading an empty buffer gives its last byte again */
	assert_int_equal(i8042__read(&s, DATA), I8042_CTR_POWERON);
}

static void test_overflow(void **state __unused)
{
	unsigned int accepted = 0, dropped = 0, n = 0, i, ff;
	u8 got[2 * I8042_QUEUE_SIZE];

	linux_i8042_probe();
	linux_atkbd_probe();
	/* the guest reads nothing: 'z' make is 1 byte of set 2, its break 2 */
	for (i = 0; i < 400; i++) {
		if (i8042__key(&s, KEY_Z, !(i & 1)))
			accepted++;
		else
			dropped++;
	}
	assert_true(dropped > 0);
	assert_int_equal(s.kbd_overruns, dropped);
	assert_true(s.r.kbd.data.count <= I8042_QUEUE_SIZE);
	assert_true(s.r.kbd.data.count >= I8042_QUEUE_SIZE - 2);
	/* the guest reads it all: whole make/break codes in order, then the
	 * overrun code (set 2's 0x00, translated 0xff) */
	while ((status() & I8042_STR_OBF) && n < sizeof(got))
		got[n++] = i8042__read(&s, DATA);
	for (ff = 0; ff < n && got[ff] != 0xff; ff++)
		assert_int_equal(got[ff], ff & 1 ? 0xac : 0x2c);
	assert_int_equal(ff, accepted);
	assert_true(ff < n);
	/* the release dropped after the last accepted press follows it, so
	 * no key stays down in the guest */
	if (accepted & 1) {
		assert_int_equal(n, ff + 2);
		assert_int_equal(got[ff + 1], 0xac);
	} else {
		assert_int_equal(n, ff + 1);
	}
	assert_int_equal(s.r.kbd.data.count, 0);
	/* then the keyboard takes keys again */
	assert_true(i8042__key(&s, KEY_Z, true));
	expect(false, 0x2c);

	/* the mouse: whole packets or none */
	aux(0xf4);
	expect(true, 0xfa);
	dropped = 0;
	for (i = 0; i < 200; i++)
		dropped += !i8042__mouse(&s, 1, 1, 0, i & 1);
	assert_true(dropped > 0);
	assert_int_equal(s.mouse_overruns, dropped);
	assert_true(s.r.mouse.data.count % 3 == 2);	/* one byte is in the buffer */
	assert_true(s.r.mouse.data.count <= I8042_QUEUE_SIZE);
}

/* a guest that writes anything to the ports, never reading: bounded state */
static void test_hostile_guest(void **state __unused)
{
	unsigned int seed = 12345;

	for (unsigned int i = 0; i < 200000; i++) {
		u8 v;

		seed = seed * 1103515245 + 12345;
		v = seed >> 16;
		switch ((seed >> 8) % 5) {
		case 0:
			i8042__write(&s, CMDP, v);
			break;
		case 1:
		case 2:
			i8042__write(&s, DATA, v);
			break;
		case 3:
			i8042__read(&s, (v & 1) ? CMDP : DATA);
			break;
		default:
			i8042__key(&s, keymap__key_at(v % keymap__nr_keys()), v & 0x80);
			i8042__mouse(&s, (int)(v * 997) - 100000, v, v & 3, v);
			break;
		}
		assert_true(s.r.kbd.reply.count <= I8042_REPLY_SIZE);
		assert_true(s.r.mouse.reply.count <= I8042_REPLY_SIZE);
		assert_true(s.r.cq_count <= I8042_CTRL_QUEUE_SIZE);
		assert_true(s.r.kbd.data.count <= I8042_QUEUE_SIZE);
		assert_true(s.r.mouse.data.count <= I8042_QUEUE_SIZE);
		assert_true(s.r.kbd.set >= 1 && s.r.kbd.set <= 3);
	}
	/* a guest that floods commands without reading: replies dropped, counted */
	i8042__init_regs(&s);
	for (unsigned int i = 0; i < 1000; i++)
		i8042__write(&s, CMDP, 0x20);
	assert_int_equal(s.r.cq_count, I8042_CTRL_QUEUE_SIZE);
	assert_true(s.guest_errors >= 1000 - I8042_CTRL_QUEUE_SIZE - 1);
}

/* tests/fuzz/fuzz-i8042.c on 20000 fixed pseudo-random inputs (make fuzz
 * builds the real fuzzer) */
static void test_fuzz_inputs(void **state __unused)
{
	u64 rng = 0x9e3779b97f4a7c15ULL;
	u8 buf[1024];

	for (int i = 0; i < 20000; i++) {
		size_t n;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		n = rng % sizeof(buf);
		for (size_t k = 0; k < n; k++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			buf[k] = rng >> 24;
		}
		fuzz_i8042(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_power_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_probe_translated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_probe_direct_set3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_psmouse_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyboard_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modifier_variants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_controller_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_guest, setup, teardown),
		cmocka_unit_test(test_fuzz_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
