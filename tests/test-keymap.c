// SPDX-License-Identifier: GPL-2.0
/*
 * Key translation: every key of a 105-key (ISO) PC keyboard, from its X11
 * keysym and its QEMU name to its key code, and from the key code to its
 * make and break codes in scan code sets 1, 2 and 3.  The expected bytes
 * are written out here from the scan code charts, independently of the
 * table in vmm/keymap.c; and every set 2 sequence, put through the 8042's
 * translation, must give the set 1 sequence.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "vmm/keymap.h"

#include <linux/input-event-codes.h>
#include <rfb/keysym.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the console's libFuzzer targets, run here on fixed pseudo-random inputs */
#define LLVMFuzzerTestOneInput fuzz_keymap
#include "fuzz/fuzz-keymap.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_vnc_options
#include "fuzz/fuzz-vnc-options.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ctl_input
#include "fuzz/fuzz-ctl-input.c"
#undef LLVMFuzzerTestOneInput

struct expect_key {
	u32 keysym;		/* 0: no US keysym gives this key */
	const char *name;	/* QEMU's name */
	unsigned int key;
	const char *s1_make, *s1_break, *s2_make, *s2_break;
	u8 s3;
};

static const struct expect_key layout105[] = {
	/* function row */
	{ XK_Escape, "esc", KEY_ESC, "01", "81", "76", "f0 76", 0x08 },
	{ XK_F1, "f1", KEY_F1, "3b", "bb", "05", "f0 05", 0x07 },
	{ XK_F2, "f2", KEY_F2, "3c", "bc", "06", "f0 06", 0x0f },
	{ XK_F3, "f3", KEY_F3, "3d", "bd", "04", "f0 04", 0x17 },
	{ XK_F4, "f4", KEY_F4, "3e", "be", "0c", "f0 0c", 0x1f },
	{ XK_F5, "f5", KEY_F5, "3f", "bf", "03", "f0 03", 0x27 },
	{ XK_F6, "f6", KEY_F6, "40", "c0", "0b", "f0 0b", 0x2f },
	{ XK_F7, "f7", KEY_F7, "41", "c1", "83", "f0 83", 0x37 },
	{ XK_F8, "f8", KEY_F8, "42", "c2", "0a", "f0 0a", 0x3f },
	{ XK_F9, "f9", KEY_F9, "43", "c3", "01", "f0 01", 0x47 },
	{ XK_F10, "f10", KEY_F10, "44", "c4", "09", "f0 09", 0x4f },
	{ XK_F11, "f11", KEY_F11, "57", "d7", "78", "f0 78", 0x56 },
	{ XK_F12, "f12", KEY_F12, "58", "d8", "07", "f0 07", 0x5e },
	{ XK_Print, "print", KEY_SYSRQ, "e0 2a e0 37", "e0 b7 e0 aa",
	  "e0 12 e0 7c", "e0 f0 7c e0 f0 12", 0x57 },
	{ XK_Scroll_Lock, "scroll_lock", KEY_SCROLLLOCK, "46", "c6", "7e", "f0 7e", 0x5f },
	{ XK_Pause, "pause", KEY_PAUSE, "e1 1d 45 e1 9d c5", "", "e1 14 77 e1 f0 14 f0 77", "",
	  0x62 },
	/* number row */
	{ XK_grave, "grave_accent", KEY_GRAVE, "29", "a9", "0e", "f0 0e", 0x0e },
	{ XK_1, "1", KEY_1, "02", "82", "16", "f0 16", 0x16 },
	{ XK_2, "2", KEY_2, "03", "83", "1e", "f0 1e", 0x1e },
	{ XK_3, "3", KEY_3, "04", "84", "26", "f0 26", 0x26 },
	{ XK_4, "4", KEY_4, "05", "85", "25", "f0 25", 0x25 },
	{ XK_5, "5", KEY_5, "06", "86", "2e", "f0 2e", 0x2e },
	{ XK_6, "6", KEY_6, "07", "87", "36", "f0 36", 0x36 },
	{ XK_7, "7", KEY_7, "08", "88", "3d", "f0 3d", 0x3d },
	{ XK_8, "8", KEY_8, "09", "89", "3e", "f0 3e", 0x3e },
	{ XK_9, "9", KEY_9, "0a", "8a", "46", "f0 46", 0x46 },
	{ XK_0, "0", KEY_0, "0b", "8b", "45", "f0 45", 0x45 },
	{ XK_minus, "minus", KEY_MINUS, "0c", "8c", "4e", "f0 4e", 0x4e },
	{ XK_equal, "equal", KEY_EQUAL, "0d", "8d", "55", "f0 55", 0x55 },
	{ XK_BackSpace, "backspace", KEY_BACKSPACE, "0e", "8e", "66", "f0 66", 0x66 },
	/* top letter row */
	{ XK_Tab, "tab", KEY_TAB, "0f", "8f", "0d", "f0 0d", 0x0d },
	{ XK_q, "q", KEY_Q, "10", "90", "15", "f0 15", 0x15 },
	{ XK_w, "w", KEY_W, "11", "91", "1d", "f0 1d", 0x1d },
	{ XK_e, "e", KEY_E, "12", "92", "24", "f0 24", 0x24 },
	{ XK_r, "r", KEY_R, "13", "93", "2d", "f0 2d", 0x2d },
	{ XK_t, "t", KEY_T, "14", "94", "2c", "f0 2c", 0x2c },
	{ XK_y, "y", KEY_Y, "15", "95", "35", "f0 35", 0x35 },
	{ XK_u, "u", KEY_U, "16", "96", "3c", "f0 3c", 0x3c },
	{ XK_i, "i", KEY_I, "17", "97", "43", "f0 43", 0x43 },
	{ XK_o, "o", KEY_O, "18", "98", "44", "f0 44", 0x44 },
	{ XK_p, "p", KEY_P, "19", "99", "4d", "f0 4d", 0x4d },
	{ XK_bracketleft, "bracket_left", KEY_LEFTBRACE, "1a", "9a", "54", "f0 54", 0x54 },
	{ XK_bracketright, "bracket_right", KEY_RIGHTBRACE, "1b", "9b", "5b", "f0 5b", 0x5b },
	{ XK_Return, "ret", KEY_ENTER, "1c", "9c", "5a", "f0 5a", 0x5a },
	/* home row; on ISO the key left of Enter (# ~) sends backslash's codes */
	{ XK_Caps_Lock, "caps_lock", KEY_CAPSLOCK, "3a", "ba", "58", "f0 58", 0x14 },
	{ XK_a, "a", KEY_A, "1e", "9e", "1c", "f0 1c", 0x1c },
	{ XK_s, "s", KEY_S, "1f", "9f", "1b", "f0 1b", 0x1b },
	{ XK_d, "d", KEY_D, "20", "a0", "23", "f0 23", 0x23 },
	{ XK_f, "f", KEY_F, "21", "a1", "2b", "f0 2b", 0x2b },
	{ XK_g, "g", KEY_G, "22", "a2", "34", "f0 34", 0x34 },
	{ XK_h, "h", KEY_H, "23", "a3", "33", "f0 33", 0x33 },
	{ XK_j, "j", KEY_J, "24", "a4", "3b", "f0 3b", 0x3b },
	{ XK_k, "k", KEY_K, "25", "a5", "42", "f0 42", 0x42 },
	{ XK_l, "l", KEY_L, "26", "a6", "4b", "f0 4b", 0x4b },
	{ XK_semicolon, "semicolon", KEY_SEMICOLON, "27", "a7", "4c", "f0 4c", 0x4c },
	{ XK_apostrophe, "apostrophe", KEY_APOSTROPHE, "28", "a8", "52", "f0 52", 0x52 },
	{ XK_backslash, "backslash", KEY_BACKSLASH, "2b", "ab", "5d", "f0 5d", 0x5c },
	/* bottom letter row, with the ISO 102nd key (< > |) */
	{ XK_Shift_L, "shift", KEY_LEFTSHIFT, "2a", "aa", "12", "f0 12", 0x12 },
	{ 0, "less", KEY_102ND, "56", "d6", "61", "f0 61", 0x13 },
	{ XK_z, "z", KEY_Z, "2c", "ac", "1a", "f0 1a", 0x1a },
	{ XK_x, "x", KEY_X, "2d", "ad", "22", "f0 22", 0x22 },
	{ XK_c, "c", KEY_C, "2e", "ae", "21", "f0 21", 0x21 },
	{ XK_v, "v", KEY_V, "2f", "af", "2a", "f0 2a", 0x2a },
	{ XK_b, "b", KEY_B, "30", "b0", "32", "f0 32", 0x32 },
	{ XK_n, "n", KEY_N, "31", "b1", "31", "f0 31", 0x31 },
	{ XK_m, "m", KEY_M, "32", "b2", "3a", "f0 3a", 0x3a },
	{ XK_comma, "comma", KEY_COMMA, "33", "b3", "41", "f0 41", 0x41 },
	{ XK_period, "dot", KEY_DOT, "34", "b4", "49", "f0 49", 0x49 },
	{ XK_slash, "slash", KEY_SLASH, "35", "b5", "4a", "f0 4a", 0x4a },
	{ XK_Shift_R, "shift_r", KEY_RIGHTSHIFT, "36", "b6", "59", "f0 59", 0x59 },
	/* space row */
	{ XK_Control_L, "ctrl", KEY_LEFTCTRL, "1d", "9d", "14", "f0 14", 0x11 },
	{ XK_Super_L, "meta_l", KEY_LEFTMETA, "e0 5b", "e0 db", "e0 1f", "e0 f0 1f", 0x8b },
	{ XK_Alt_L, "alt", KEY_LEFTALT, "38", "b8", "11", "f0 11", 0x19 },
	{ XK_space, "spc", KEY_SPACE, "39", "b9", "29", "f0 29", 0x29 },
	{ XK_ISO_Level3_Shift, "alt_r", KEY_RIGHTALT, "e0 38", "e0 b8", "e0 11", "e0 f0 11", 0x39 },
	{ XK_Super_R, "meta_r", KEY_RIGHTMETA, "e0 5c", "e0 dc", "e0 27", "e0 f0 27", 0x8c },
	{ XK_Menu, "compose", KEY_COMPOSE, "e0 5d", "e0 dd", "e0 2f", "e0 f0 2f", 0x8d },
	{ XK_Control_R, "ctrl_r", KEY_RIGHTCTRL, "e0 1d", "e0 9d", "e0 14", "e0 f0 14", 0x58 },
	/* editing and arrows */
	{ XK_Insert, "insert", KEY_INSERT, "e0 52", "e0 d2", "e0 70", "e0 f0 70", 0x67 },
	{ XK_Home, "home", KEY_HOME, "e0 47", "e0 c7", "e0 6c", "e0 f0 6c", 0x6e },
	{ XK_Page_Up, "pgup", KEY_PAGEUP, "e0 49", "e0 c9", "e0 7d", "e0 f0 7d", 0x6f },
	{ XK_Delete, "delete", KEY_DELETE, "e0 53", "e0 d3", "e0 71", "e0 f0 71", 0x64 },
	{ XK_End, "end", KEY_END, "e0 4f", "e0 cf", "e0 69", "e0 f0 69", 0x65 },
	{ XK_Page_Down, "pgdn", KEY_PAGEDOWN, "e0 51", "e0 d1", "e0 7a", "e0 f0 7a", 0x6d },
	{ XK_Up, "up", KEY_UP, "e0 48", "e0 c8", "e0 75", "e0 f0 75", 0x63 },
	{ XK_Left, "left", KEY_LEFT, "e0 4b", "e0 cb", "e0 6b", "e0 f0 6b", 0x61 },
	{ XK_Down, "down", KEY_DOWN, "e0 50", "e0 d0", "e0 72", "e0 f0 72", 0x60 },
	{ XK_Right, "right", KEY_RIGHT, "e0 4d", "e0 cd", "e0 74", "e0 f0 74", 0x6a },
	/* keypad */
	{ XK_Num_Lock, "num_lock", KEY_NUMLOCK, "45", "c5", "77", "f0 77", 0x76 },
	{ XK_KP_Divide, "kp_divide", KEY_KPSLASH, "e0 35", "e0 b5", "e0 4a", "e0 f0 4a", 0x77 },
	{ XK_KP_Multiply, "kp_multiply", KEY_KPASTERISK, "37", "b7", "7c", "f0 7c", 0x7e },
	{ XK_KP_Subtract, "kp_subtract", KEY_KPMINUS, "4a", "ca", "7b", "f0 7b", 0x84 },
	{ XK_KP_7, "kp_7", KEY_KP7, "47", "c7", "6c", "f0 6c", 0x6c },
	{ XK_KP_8, "kp_8", KEY_KP8, "48", "c8", "75", "f0 75", 0x75 },
	{ XK_KP_9, "kp_9", KEY_KP9, "49", "c9", "7d", "f0 7d", 0x7d },
	{ XK_KP_Add, "kp_add", KEY_KPPLUS, "4e", "ce", "79", "f0 79", 0x7c },
	{ XK_KP_4, "kp_4", KEY_KP4, "4b", "cb", "6b", "f0 6b", 0x6b },
	{ XK_KP_5, "kp_5", KEY_KP5, "4c", "cc", "73", "f0 73", 0x73 },
	{ XK_KP_6, "kp_6", KEY_KP6, "4d", "cd", "74", "f0 74", 0x74 },
	{ XK_KP_1, "kp_1", KEY_KP1, "4f", "cf", "69", "f0 69", 0x69 },
	{ XK_KP_2, "kp_2", KEY_KP2, "50", "d0", "72", "f0 72", 0x72 },
	{ XK_KP_3, "kp_3", KEY_KP3, "51", "d1", "7a", "f0 7a", 0x7a },
	{ XK_KP_Enter, "kp_enter", KEY_KPENTER, "e0 1c", "e0 9c", "e0 5a", "e0 f0 5a", 0x79 },
	{ XK_KP_0, "kp_0", KEY_KP0, "52", "d2", "70", "f0 70", 0x70 },
	{ XK_KP_Decimal, "kp_decimal", KEY_KPDOT, "53", "d3", "71", "f0 71", 0x71 },
};

/* "e0 1c" -> bytes */
static unsigned int parse_hex(const char *s, u8 *out)
{
	unsigned int n = 0;

	while (*s) {
		char *end;

		out[n++] = strtoul(s, &end, 16);
		assert_true(end != s);
		s = end;
		while (*s == ' ')
			s++;
	}
	return n;
}

static void check_seq(const struct expect_key *k, unsigned int set, bool down, const char *want)
{
	u8 exp[16], got[KEYMAP_MAX_SEQ];
	unsigned int n = parse_hex(want, exp), m = keymap__scancode(k->key, set, down, 0, got);

	if (n != m || memcmp(exp, got, n)) {
		char buf[64] = "";

		for (unsigned int i = 0; i < m; i++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%02x ", got[i]);
		fail_msg("%s (%u) set %u %s: want '%s', got '%s'", k->name, k->key, set,
			 down ? "make" : "break", want, buf);
	}
}

static void test_layout105(void **state __unused)
{
	unsigned int keysyms = 0;

	assert_int_equal(ARRAY_SIZE(layout105), 105);
	for (unsigned int i = 0; i < ARRAY_SIZE(layout105); i++) {
		const struct expect_key *k = &layout105[i];
		char s3[8];

		/* no key twice */
		for (unsigned int j = 0; j < i; j++)
			assert_int_not_equal(layout105[j].key, k->key);
		if (k->keysym) {
			if (keymap__from_keysym(k->keysym) != k->key)
				fail_msg("keysym %#x: key %u, want %u (%s)", k->keysym,
					 keymap__from_keysym(k->keysym), k->key, k->name);
			keysyms++;
		}
		assert_int_equal(keymap__from_name(k->name, strlen(k->name)), k->key);
		assert_string_equal(keymap__name(k->key), k->name);
		check_seq(k, 1, true, k->s1_make);
		check_seq(k, 1, false, k->s1_break);
		check_seq(k, 2, true, k->s2_make);
		check_seq(k, 2, false, k->s2_break);
		snprintf(s3, sizeof(s3), "%02x", k->s3);
		check_seq(k, 3, true, s3);
		snprintf(s3, sizeof(s3), "f0 %02x", k->s3);
		check_seq(k, 3, false, s3);
	}
	/* the 102nd key has no US keysym; every other key has one */
	assert_int_equal(keysyms, 104);
}

/* the 8042 with translation on: F0 is swallowed and sets bit 7 of the next */
static unsigned int translate(const u8 *in, unsigned int n, u8 *out)
{
	unsigned int m = 0;
	bool f0 = false;

	for (unsigned int i = 0; i < n; i++) {
		if (in[i] == 0xf0) {
			f0 = true;
			continue;
		}
		out[m++] = keymap__xlate(in[i]) | (f0 ? 0x80 : 0);
		f0 = false;
	}
	return m;
}

static void test_translation(void **state __unused)
{
	static const unsigned int mods[] = {
		0, KEYMAP_MOD_SHIFT, KEYMAP_MOD_CTRL, KEYMAP_MOD_ALT,
		KEYMAP_MOD_SHIFT | KEYMAP_MOD_CTRL | KEYMAP_MOD_ALT,
	};

	/* every key in the table, in every modifier state, make and break */
	for (unsigned int i = 0; i < keymap__nr_keys(); i++) {
		unsigned int key = keymap__key_at(i);

		for (unsigned int m = 0; m < ARRAY_SIZE(mods); m++) {
			for (int down = 0; down < 2; down++) {
				u8 s1[KEYMAP_MAX_SEQ], s2[KEYMAP_MAX_SEQ], t[KEYMAP_MAX_SEQ];
				unsigned int n1 = keymap__scancode(key, 1, down, mods[m], s1);
				unsigned int n2 = keymap__scancode(key, 2, down, mods[m], s2);
				unsigned int nt = translate(s2, n2, t);

				if (nt != n1 || memcmp(t, s1, n1))
					fail_msg("key %u (%s) mods %#x %s: set 2 translated differs from set 1",
						 key, keymap__name(key), mods[m], down ? "make" : "break");
			}
		}
	}
	/* the scan code set numbers and the overrun code, as a set 2 keyboard
	 * answers through a translating 8042 */
	assert_int_equal(keymap__xlate(0x01), 0x43);
	assert_int_equal(keymap__xlate(0x02), 0x41);
	assert_int_equal(keymap__xlate(0x03), 0x3f);
	assert_int_equal(keymap__xlate(0x00), 0xff);
	assert_int_equal(keymap__xlate(0x83), 0x41);
	/* responses pass */
	assert_int_equal(keymap__xlate(0xfa), 0xfa);
	assert_int_equal(keymap__xlate(0xaa), 0xaa);
	assert_int_equal(keymap__xlate(0xab), 0xab);
	assert_int_equal(keymap__xlate(0xee), 0xee);
	assert_int_equal(keymap__xlate(0xfe), 0xfe);
	assert_int_equal(keymap__xlate(0xe0), 0xe0);
	assert_int_equal(keymap__xlate(0xe1), 0xe1);
}

static void test_modifier_variants(void **state __unused)
{
	u8 b[KEYMAP_MAX_SEQ];

	/* Ctrl+Pause is Break: an E0 key with make and break */
	assert_int_equal(keymap__scancode(KEY_PAUSE, 1, true, KEYMAP_MOD_CTRL, b), 2);
	assert_memory_equal(b, "\xe0\x46", 2);
	assert_int_equal(keymap__scancode(KEY_PAUSE, 1, false, KEYMAP_MOD_CTRL, b), 2);
	assert_memory_equal(b, "\xe0\xc6", 2);
	assert_int_equal(keymap__scancode(KEY_PAUSE, 2, true, KEYMAP_MOD_CTRL, b), 2);
	assert_memory_equal(b, "\xe0\x7e", 2);
	/* Alt+Print Screen is SysRq */
	assert_int_equal(keymap__scancode(KEY_SYSRQ, 1, true, KEYMAP_MOD_ALT, b), 1);
	assert_int_equal(b[0], 0x54);
	assert_int_equal(keymap__scancode(KEY_SYSRQ, 2, false, KEYMAP_MOD_ALT, b), 2);
	assert_memory_equal(b, "\xf0\x84", 2);
	/* Shift+Print Screen: no fake shift */
	assert_int_equal(keymap__scancode(KEY_SYSRQ, 1, true, KEYMAP_MOD_SHIFT, b), 2);
	assert_memory_equal(b, "\xe0\x37", 2);
	/* set 3 has no modifier variants */
	assert_int_equal(keymap__scancode(KEY_PAUSE, 3, false, KEYMAP_MOD_CTRL, b), 2);
	assert_memory_equal(b, "\xf0\x62", 2);
	/* bad input */
	assert_int_equal(keymap__scancode(0, 2, true, 0, b), 0);
	assert_int_equal(keymap__scancode(KEY_A, 0, true, 0, b), 0);
	assert_int_equal(keymap__scancode(KEY_A, 4, true, 0, b), 0);
	assert_int_equal(keymap__scancode(99999, 1, true, 0, b), 0);
	assert_int_equal(keymap__scancode(KEY_POWER, 3, true, 0, b), 0);	/* no set 3 code */
	assert_int_equal(keymap__scancode(KEY_POWER, 1, true, 0, b), 2);
	assert_memory_equal(b, "\xe0\x5e", 2);
}

static void test_keysyms(void **state __unused)
{
	/* shifted symbols are their key (the viewer sends Shift itself) */
	assert_int_equal(keymap__from_keysym(XK_A), KEY_A);
	assert_int_equal(keymap__from_keysym(XK_exclam), KEY_1);
	assert_int_equal(keymap__from_keysym(XK_at), KEY_2);
	assert_int_equal(keymap__from_keysym(XK_underscore), KEY_MINUS);
	assert_int_equal(keymap__from_keysym(XK_braceleft), KEY_LEFTBRACE);
	assert_int_equal(keymap__from_keysym(XK_bar), KEY_BACKSLASH);
	assert_int_equal(keymap__from_keysym(XK_asciitilde), KEY_GRAVE);
	assert_int_equal(keymap__from_keysym(XK_less), KEY_COMMA);
	assert_int_equal(keymap__from_keysym(XK_question), KEY_SLASH);
	assert_int_equal(keymap__from_keysym(XK_ISO_Left_Tab), KEY_TAB);
	assert_int_equal(keymap__from_keysym(XK_Alt_R), KEY_RIGHTALT);
	assert_int_equal(keymap__from_keysym(XK_Meta_L), KEY_LEFTMETA);
	assert_int_equal(keymap__from_keysym(XK_KP_Home), KEY_KP7);
	assert_int_equal(keymap__from_keysym(XK_KP_Insert), KEY_KP0);
	assert_int_equal(keymap__from_keysym(XK_KP_Delete), KEY_KPDOT);
	assert_int_equal(keymap__from_keysym(XK_Sys_Req), KEY_SYSRQ);
	/* unknown keysyms: none */
	assert_int_equal(keymap__from_keysym(0), 0);
	assert_int_equal(keymap__from_keysym(XK_eacute), 0);
	assert_int_equal(keymap__from_keysym(0x20ac), 0);	/* EuroSign */
	assert_int_equal(keymap__from_keysym(0x1000263a), 0);	/* Unicode keysym */
	assert_int_equal(keymap__from_keysym(0xffffffff), 0);
	assert_int_equal(keymap__from_keysym(XK_dead_acute), 0);
	assert_int_equal(keymap__from_keysym(0xff00), 0);
}

static void test_chars(void **state __unused)
{
	unsigned int key;
	bool shift;

	/* every printable ASCII character can be typed */
	for (int c = 0x20; c < 0x7f; c++)
		assert_true(keymap__from_char(c, &key, &shift));
	assert_true(keymap__from_char('A', &key, &shift));
	assert_int_equal(key, KEY_A);
	assert_true(shift);
	assert_true(keymap__from_char('a', &key, &shift));
	assert_false(shift);
	assert_true(keymap__from_char('"', &key, &shift));
	assert_int_equal(key, KEY_APOSTROPHE);
	assert_true(shift);
	assert_true(keymap__from_char('\n', &key, &shift));
	assert_int_equal(key, KEY_ENTER);
	assert_true(keymap__from_char('\t', &key, &shift));
	assert_int_equal(key, KEY_TAB);
	assert_false(keymap__from_char(0x7f, &key, &shift));
	assert_false(keymap__from_char(0xe9, &key, &shift));
	assert_false(keymap__from_char(0, &key, &shift));
	assert_false(keymap__from_char(-1, &key, &shift));
	assert_false(keymap__from_char(0x1b, &key, &shift));
}

static void test_combos(void **state __unused)
{
	unsigned int keys[4];
	const char *bad;
	size_t badlen;

	assert_int_equal(keymap__parse_combo("ctrl-alt-delete", keys, 4, &bad, &badlen), 3);
	assert_int_equal(keys[0], KEY_LEFTCTRL);
	assert_int_equal(keys[1], KEY_LEFTALT);
	assert_int_equal(keys[2], KEY_DELETE);
	assert_int_equal(keymap__parse_combo("shift-a", keys, 4, &bad, &badlen), 2);
	assert_int_equal(keymap__parse_combo("ctrl--", keys, 4, &bad, &badlen), 2);
	assert_int_equal(keys[1], KEY_MINUS);
	assert_int_equal(keymap__parse_combo("altgr-sysrq", keys, 4, &bad, &badlen), 2);
	assert_int_equal(keys[0], KEY_RIGHTALT);
	assert_int_equal(keys[1], KEY_SYSRQ);
	assert_int_equal(keymap__parse_combo("ctrl-nosuch-a", keys, 4, &bad, &badlen), -1);
	assert_int_equal(badlen, 6);
	assert_memory_equal(bad, "nosuch", 6);
	assert_int_equal(keymap__parse_combo("", keys, 4, &bad, &badlen), -1);
	assert_int_equal(keymap__parse_combo("a-b-c-d-e", keys, 4, &bad, &badlen), -1);
	assert_int_equal(badlen, 0);
	/* a trailing '-' is an empty word; the minus key is "minus" or "-" */
	assert_int_equal(keymap__parse_combo("a-", keys, 4, &bad, &badlen), -1);
	assert_int_equal(keymap__parse_combo("-", keys, 4, &bad, &badlen), 1);
	assert_int_equal(keys[0], KEY_MINUS);
	/* a name is matched whole, never by prefix */
	assert_int_equal(keymap__parse_combo("ctr", keys, 4, &bad, &badlen), -1);
	assert_int_equal(keymap__from_name("ctrlx", 4), KEY_LEFTCTRL);
	assert_int_equal(keymap__from_name("ctrlx", 5), 0);
}

static u64 rng = 0x9e3779b97f4a7c15ULL;

static u32 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (u32)(rng >> 11);
}

/* tests/fuzz/fuzz-{keymap,vnc-options,ctl-input}.c on fixed pseudo-random
 * inputs, half of them built from likely words (make fuzz builds the real
 * fuzzers) */
static void test_fuzz_inputs(void **state __unused)
{
	static const char *const words[] = {
		"ctrl", "alt", "-", "delete", "kp_add", "shift", "127.0.0.1", ":", "5900", "[::1]",
		"x", "1024", "768", "\\n", "{\"text\": ", "\"", "}", "[", "]", "\"keys\": ",
		"\"hold-ms\": ", "99999", "\n", "=", "\xc3\xa9",
	};
	u8 buf[256];

	for (int i = 0; i < 30000; i++) {
		size_t n = 1 + rnd() % (sizeof(buf) - 1);

		if (i & 1) {
			size_t len = 1;

			buf[0] = rnd();
			while (len < 200) {
				const char *w = words[rnd() % ARRAY_SIZE(words)];

				memcpy(buf + len, w, strlen(w));
				len += strlen(w);
			}
			n = 1 + rnd() % len;
		} else {
			for (size_t k = 0; k < n; k++)
				buf[k] = rnd();
		}
		fuzz_keymap(buf, n);
		fuzz_vnc_options(buf, n);
		fuzz_ctl_input(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout105),
		cmocka_unit_test(test_translation),
		cmocka_unit_test(test_modifier_variants),
		cmocka_unit_test(test_keysyms),
		cmocka_unit_test(test_chars),
		cmocka_unit_test(test_combos),
		cmocka_unit_test(test_fuzz_inputs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
