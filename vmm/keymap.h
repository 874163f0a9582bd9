/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_KEYMAP_H
#define DPVM_KEYMAP_H

#include "vmm/types.h"

#include <stddef.h>

/*
 * Key codes and their translations.  dpvm's one key code is Linux's KEY_*
 * (linux/input-event-codes.h): every producer (the VNC console's X11
 * keysyms, `ctl sendkey` with QEMU's key names, `ctl type` with text)
 * turns its input into these, and every consumer (the PS/2 keyboard now,
 * a USB HID keyboard later) turns them into what its wire carries: for the
 * PS/2 keyboard, scan code sets 1, 2 and 3.
 *
 * The table covers every key of a 105-key (ISO) PC keyboard, plus a few
 * common extra keys (power, sleep, wake, mute, volume).  Everything here
 * is pure table lookup: no state, no allocation, callable from any thread.
 */
#define KEYMAP_MAX_SEQ		8	/* the longest scan code sequence (Pause) */

/* modifier state, for the keys whose codes depend on it (PrtSc, Pause) */
#define KEYMAP_MOD_SHIFT	0x1
#define KEYMAP_MOD_CTRL		0x2
#define KEYMAP_MOD_ALT		0x4

/*
 * The bytes the keyboard sends for key going down (make) or up (break) in
 * scan code set 1, 2 or 3, into out[KEYMAP_MAX_SEQ]; returns how many (0:
 * the key has no code in that set, or, for Pause, no break code).
 */
unsigned int keymap__scancode(unsigned int key, unsigned int set, bool down,
			      unsigned int mods, u8 *out);

/* the modifier bit a key is (left or right), or 0 */
unsigned int keymap__modifier(unsigned int key);

/* the key of an X11 keysym, on a US layout; 0 if none */
unsigned int keymap__from_keysym(u32 keysym);

/* the key of a QEMU key name ("ctrl", "alt", "delete", "kp_add", ...); 0 if none */
unsigned int keymap__from_name(const char *name, size_t len);

/* the key's QEMU name, or NULL if it has none */
const char *keymap__name(unsigned int key);

/* the key (and Shift) that types an ASCII character on a US layout */
bool keymap__from_char(int c, unsigned int *key, bool *shift);

/*
 * "ctrl-alt-delete": the keys of a combination, in order; returns how many,
 * or -1 with *bad and *badlen naming the word that is not a key name (or
 * *badlen 0 if there are more than max keys or an empty word).
 */
int keymap__parse_combo(const char *s, unsigned int *keys, unsigned int max,
			const char **bad, size_t *badlen);

/*
 * The 8042 controller's translation of a byte from the keyboard (set 2) into
 * set 1; the controller sets 0x80 itself on the byte after an 0xf0.  Bytes
 * outside the table (responses such as 0xfa, 0xaa, 0xee) pass unchanged.
 */
u8 keymap__xlate(u8 code);

/* every key in the table, for tests and the fuzzer: count and the n-th */
unsigned int keymap__nr_keys(void);
unsigned int keymap__key_at(unsigned int i);

#endif
