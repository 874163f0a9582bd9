/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_INPUT_H
#define DPVM_INPUT_H

#include "vmm/types.h"

#include <stddef.h>

/*
 * The input layer: what a person (or a script) does with a keyboard and a
 * pointer, between the producers (the VNC console; `dpvm ctl NAME sendkey`
 * and `type`) and the consumers, the emulated devices that deliver it to
 * the guest (the PS/2 keyboard and mouse of the i8042 now; a USB HID
 * keyboard or tablet can register the same way).
 *
 * Keys are Linux KEY_* codes (see vmm/keymap.h).  Every event goes to every
 * registered consumer.  Producers call in from their own threads; consumers
 * must not block (the i8042 only queues bytes).  The keyboard LEDs the
 * guest set are kept here for producers and `ctl status` to show.
 *
 * Scripted input (sendkey, type) is queued and fed by a thread of this
 * layer at the pace the consumers take it, so a long text never overflows
 * a device's queue; a guest that stops reading its keyboard for 5 s has
 * the rest of the queue dropped, with a message.
 */
#define INPUT_LED_SCROLL	0x1
#define INPUT_LED_NUM		0x2
#define INPUT_LED_CAPS		0x4

#define INPUT_BTN_LEFT		0x01
#define INPUT_BTN_RIGHT		0x02
#define INPUT_BTN_MIDDLE	0x04
#define INPUT_BTN_SIDE		0x08
#define INPUT_BTN_EXTRA		0x10

struct input_pointer {
	bool absolute;
	int x, y;		/* absolute: the position on a width x height screen */
	unsigned int width, height;
	int dx, dy;		/* relative: the movement (y grows downwards) */
	int wheel;		/* wheel steps: +1 is a step up (away from the user) */
	u32 buttons;		/* INPUT_BTN_* held now */
};

struct input_consumer {
	const char *name;
	/* a key went down or up; false if the device dropped it (queue full) */
	bool (*key)(void *opaque, unsigned int key, bool down);
	void (*pointer)(void *opaque, const struct input_pointer *p);
	/* how many bytes of key data the device can take now; optional */
	unsigned int (*key_room)(void *opaque);
	void *opaque;
	struct input_consumer *next;
};

void input__register(struct input_consumer *c);
void input__unregister(struct input_consumer *c);

/*
 * A producer: it remembers the keys it holds down, so that they can be
 * released when it goes away (a VNC viewer that disconnects with Shift
 * held must not leave Shift held in the guest).
 */
#define INPUT_NR_KEYS		768	/* KEY_MAX + 1 */
struct input_source {
	const char *name;
	u8 held[INPUT_NR_KEYS / 8];
	u32 buttons;
};

void input__key(struct input_source *src, unsigned int key, bool down);
void input__pointer(struct input_source *src, const struct input_pointer *p);
void input__release_all(struct input_source *src);

/* the guest's keyboard LEDs (INPUT_LED_*); set by the keyboard device */
u32 input__leds(void);
void input__set_leds(u32 leds);

/*
 * Scripted input.  text: ASCII typed on a US layout ('\n' is Enter, '\t'
 * Tab).  keys: pressed in order, held for hold_ms, released in reverse.
 * 0, or -1 with *err set (one line, naming the problem and the fix).
 */
int input__type(const char *text, size_t len, char **err);
int input__sendkey(const unsigned int *keys, unsigned int n, unsigned int hold_ms, char **err);
/* events queued and not yet delivered */
unsigned int input__pending(void);
/* wait until the queue is empty or timeout_ms passed; true if empty */
bool input__drain(unsigned int timeout_ms);
/* drop queued scripted input (on guest reset) */
void input__flush(void);

#endif
