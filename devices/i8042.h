/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_I8042_H
#define DPVM_I8042_H

#include "vmm/layout.h"
#include "vmm/types.h"

#include <pthread.h>

/*
 * The 8042 keyboard controller (ports 0x60/0x64, IRQ 1 and 12) with a PS/2
 * keyboard on its first port and a PS/2 mouse on its second (aux) port, as
 * a PC's firmware leaves them: the controller translating set 2 to set 1,
 * the keyboard scanning in set 2, the mouse reset and not reporting.
 * Linux's i8042, atkbd and psmouse drivers use it with their default
 * options.
 *
 * Controller: command byte (read/write, translation honoured), self-test
 * (0xAA -> 0x55), interface tests, enable/disable of either interface,
 * output port (A20; the reset line: 0xFE or a write with bit 0 clear
 * resets the VM), writes to either output buffer (0xD2, 0xD3: the loopback
 * Linux's aux probe uses), 0xD4 to the mouse, password test, test inputs.
 * Keyboard: reset (0xFF -> ACK, 0xAA), LEDs, scan code set 1/2/3 (get and
 * set), typematic, enable/disable, echo, identify (0xAB 0x83), resend, the
 * set 3 key-type commands; anything else is answered with NAK (0xFE).
 * Mouse: reset, identify (0, or 3/4 after the IntelliMouse rate knocks),
 * stream and remote mode, wrap mode, sample rate, resolution, scaling,
 * status request, read data.
 *
 * Every device holds its replies in a small queue that is sent before its
 * data, and holds data back while a command waits for its argument, as a
 * real keyboard does; key and mouse data wait in bounded queues (a key's
 * scan codes are queued whole or not at all; a full keyboard queue ends
 * with the set's overrun code).  The guest reads one byte at a time
 * through the single output buffer.
 *
 * All guest-visible state is struct i8042_regs, one plain struct.  The
 * register logic (i8042__read, i8042__write, i8042__key, i8042__mouse)
 * needs no VM: unit tests give their own interrupt and reset hooks.
 * One lock serialises vCPU threads (port I/O) and the console's thread
 * (input); nothing under it blocks.
 */

/* status register (port 0x64, read) */
#define I8042_STR_OBF		0x01	/* output buffer full */
#define I8042_STR_IBF		0x02	/* input buffer full (never: writes complete at once) */
#define I8042_STR_SYS		0x04	/* system flag: self-test passed */
#define I8042_STR_CMD		0x08	/* last write was to port 0x64 */
#define I8042_STR_UNLOCKED	0x10	/* keyboard not inhibited by the keylock */
#define I8042_STR_AUXDATA	0x20	/* the output buffer holds mouse data */

/* controller command byte */
#define I8042_CTR_KBDINT	0x01
#define I8042_CTR_AUXINT	0x02
#define I8042_CTR_SYS		0x04
#define I8042_CTR_KBDDIS	0x10
#define I8042_CTR_AUXDIS	0x20
#define I8042_CTR_XLATE		0x40

/* what a firmware leaves: translating, keyboard on with its interrupt, mouse off */
#define I8042_CTR_POWERON	(I8042_CTR_XLATE | I8042_CTR_AUXDIS | I8042_CTR_SYS | \
				 I8042_CTR_KBDINT)

/* output port (0xD0/0xD1) */
#define I8042_OUT_RESET		0x01	/* 0: the CPU's reset line is asserted */
#define I8042_OUT_A20		0x02

/* keyboard LEDs, as in the set-LEDs command */
#define I8042_LED_SCROLL	0x01
#define I8042_LED_NUM		0x02
#define I8042_LED_CAPS		0x04

/* mouse buttons (i8042__mouse) */
#define I8042_BTN_LEFT		0x01
#define I8042_BTN_RIGHT		0x02
#define I8042_BTN_MIDDLE	0x04
#define I8042_BTN_SIDE		0x08	/* button 4 (IntelliMouse Explorer) */
#define I8042_BTN_EXTRA		0x10	/* button 5 */

#define I8042_QUEUE_SIZE	256	/* bytes of key or mouse data a device holds */
#define I8042_REPLY_SIZE	8	/* bytes of command replies */
#define I8042_CTRL_QUEUE_SIZE	16	/* controller replies and D2/D3 bytes waiting */

struct i8042_fifo {
	u8 buf[I8042_QUEUE_SIZE];
	u16 head, count;
};

struct i8042_reply {
	u8 buf[I8042_REPLY_SIZE];
	u8 head, count;
};

struct i8042_kbd_regs {
	struct i8042_fifo data;		/* scan codes */
	struct i8042_reply reply;	/* ACKs and answers, sent first */
	u8 pending;		/* command waiting for its argument, or 0 */
	u8 last;		/* last byte sent, for resend (0xFE) */
	u8 set;			/* scan code set, 1..3 */
	u8 leds;		/* I8042_LED_* */
	u8 typematic;
	bool scanning;		/* enabled (0xF4), not disabled (0xF5) */
	bool overrun;		/* the queue ends with an overrun code */
	u8 mods;		/* KEYMAP_MOD_* held, for Print Screen and Pause */
	u8 held[96];		/* bitmap of the keys held down (key codes < 768) */
	u8 lost_break[96];	/* releases dropped by an overrun, sent after it */
};

struct i8042_mouse_regs {
	struct i8042_fifo data;		/* movement packets */
	struct i8042_reply reply;
	u8 pending;
	u8 last;
	u8 id;			/* 0, 3 (wheel) or 4 (wheel and 5 buttons) */
	u8 rate, resolution;
	u8 knock[3];		/* the last sample rates set, for the id knocks */
	bool scaling21, reporting, remote, wrap;
	u8 buttons;		/* I8042_BTN_* as last reported */
	s32 dx, dy, dz;		/* movement not yet sent (remote mode) */
};

struct i8042_regs {
	u8 ctr;			/* command byte (RAM byte 0) */
	u8 ram[32];		/* controller RAM, bytes 1..31 */
	u8 status;		/* I8042_STR_SYS | _CMD (the rest is computed) */
	u8 outport;		/* I8042_OUT_* */
	u8 pending;		/* controller command waiting for a data byte, or 0 */
	u8 obuf;		/* output buffer */
	bool obuf_full, obuf_aux;
	bool xlate_f0;		/* translation: an 0xF0 was swallowed */
	/* controller replies and D2/D3 bytes, before the devices' data */
	u8 cq[I8042_CTRL_QUEUE_SIZE];
	u8 cq_aux[I8042_CTRL_QUEUE_SIZE];
	u8 cq_head, cq_count;
	bool irq_kbd, irq_aux;	/* the lines as driven */
	struct i8042_kbd_regs kbd;
	struct i8042_mouse_regs mouse;
};

struct vm;
struct i8042 {
	struct i8042_regs r;
	pthread_mutex_t lock;
	struct vm *vm;		/* NULL in unit tests */
	/* tests: the lines and the reset request (else irq__line and
	 * vm__request_reset on vm) */
	void (*set_irq)(struct i8042 *s, unsigned int irq, int level);
	void (*reset)(struct i8042 *s);
	/* the keyboard's LEDs changed (called with the lock held; must not block) */
	void (*leds_changed)(struct i8042 *s, u8 leds);
	void *opaque;
	/* counters, for `ctl status` and tests */
	u64 kbd_overruns, mouse_overruns, guest_errors;
};

/* power-on state; also the state after a VM reset */
void i8042__init_regs(struct i8042 *s);
/* port access: port is PORT_I8042_DATA or PORT_I8042_CMD */
u8 i8042__read(struct i8042 *s, u16 port);
void i8042__write(struct i8042 *s, u16 port, u8 val);

/* console side, from any thread */
/* a key (Linux KEY_*) went down or up; false if it was dropped (queue full) */
bool i8042__key(struct i8042 *s, unsigned int key, bool down);
/* relative movement (dy > 0 is up, as PS/2 counts it), wheel (dz > 0 is
 * towards the user) and the buttons now held; false if dropped */
bool i8042__mouse(struct i8042 *s, int dx, int dy, int dz, u8 buttons);
u8 i8042__leds(struct i8042 *s);

#endif
