// SPDX-License-Identifier: GPL-2.0
/*
 * Key codes (Linux KEY_*) to PC scan codes, and X11 keysyms, QEMU key names
 * and ASCII characters to key codes.  See vmm/keymap.h.
 *
 * Scan code sets (IBM PC AT and PS/2 keyboard references):
 *   set 1  XT codes: make = code, break = code | 0x80; E0-prefixed keys
 *          repeat the prefix on break.
 *   set 2  AT codes: break = F0 code; E0 keys break as E0 F0 code.  The
 *          default; the 8042 translates it to set 1 for the guest.
 *   set 3  one byte per key, break = F0 code; no prefixes.
 * Pause has no break code in sets 1 and 2; Print Screen sends a fake
 * Shift around its code in sets 1 and 2.  With Ctrl, Pause is Break
 * (E0 46 / E0 7E); with Alt, Print Screen is SysRq (54 / 84); with Shift or
 * Ctrl, Print Screen drops the fake Shift.
 */
#include "vmm/keymap.h"

#include <linux/input-event-codes.h>
#include <rfb/keysym.h>
#include <string.h>

#define E0	0x100	/* set 1/2 code with an E0 prefix */

struct key_entry {
	u16 key;
	u16 set1;
	u16 set2;
	u8 set3;
	const char *name;	/* QEMU's name (QKeyCode) */
};

/* the 105 keys of an ISO PC keyboard, in rows, then extra keys */
static const struct key_entry keys[] = {
	{ KEY_ESC,		0x01,		0x76,		0x08, "esc" },
	{ KEY_F1,		0x3b,		0x05,		0x07, "f1" },
	{ KEY_F2,		0x3c,		0x06,		0x0f, "f2" },
	{ KEY_F3,		0x3d,		0x04,		0x17, "f3" },
	{ KEY_F4,		0x3e,		0x0c,		0x1f, "f4" },
	{ KEY_F5,		0x3f,		0x03,		0x27, "f5" },
	{ KEY_F6,		0x40,		0x0b,		0x2f, "f6" },
	{ KEY_F7,		0x41,		0x83,		0x37, "f7" },
	{ KEY_F8,		0x42,		0x0a,		0x3f, "f8" },
	{ KEY_F9,		0x43,		0x01,		0x47, "f9" },
	{ KEY_F10,		0x44,		0x09,		0x4f, "f10" },
	{ KEY_F11,		0x57,		0x78,		0x56, "f11" },
	{ KEY_F12,		0x58,		0x07,		0x5e, "f12" },
	{ KEY_SYSRQ,		E0 | 0x37,	E0 | 0x7c,	0x57, "print" },
	{ KEY_SCROLLLOCK,	0x46,		0x7e,		0x5f, "scroll_lock" },
	{ KEY_PAUSE,		0,		0,		0x62, "pause" },

	{ KEY_GRAVE,		0x29,		0x0e,		0x0e, "grave_accent" },
	{ KEY_1,		0x02,		0x16,		0x16, "1" },
	{ KEY_2,		0x03,		0x1e,		0x1e, "2" },
	{ KEY_3,		0x04,		0x26,		0x26, "3" },
	{ KEY_4,		0x05,		0x25,		0x25, "4" },
	{ KEY_5,		0x06,		0x2e,		0x2e, "5" },
	{ KEY_6,		0x07,		0x36,		0x36, "6" },
	{ KEY_7,		0x08,		0x3d,		0x3d, "7" },
	{ KEY_8,		0x09,		0x3e,		0x3e, "8" },
	{ KEY_9,		0x0a,		0x46,		0x46, "9" },
	{ KEY_0,		0x0b,		0x45,		0x45, "0" },
	{ KEY_MINUS,		0x0c,		0x4e,		0x4e, "minus" },
	{ KEY_EQUAL,		0x0d,		0x55,		0x55, "equal" },
	{ KEY_BACKSPACE,	0x0e,		0x66,		0x66, "backspace" },

	{ KEY_TAB,		0x0f,		0x0d,		0x0d, "tab" },
	{ KEY_Q,		0x10,		0x15,		0x15, "q" },
	{ KEY_W,		0x11,		0x1d,		0x1d, "w" },
	{ KEY_E,		0x12,		0x24,		0x24, "e" },
	{ KEY_R,		0x13,		0x2d,		0x2d, "r" },
	{ KEY_T,		0x14,		0x2c,		0x2c, "t" },
	{ KEY_Y,		0x15,		0x35,		0x35, "y" },
	{ KEY_U,		0x16,		0x3c,		0x3c, "u" },
	{ KEY_I,		0x17,		0x43,		0x43, "i" },
	{ KEY_O,		0x18,		0x44,		0x44, "o" },
	{ KEY_P,		0x19,		0x4d,		0x4d, "p" },
	{ KEY_LEFTBRACE,	0x1a,		0x54,		0x54, "bracket_left" },
	{ KEY_RIGHTBRACE,	0x1b,		0x5b,		0x5b, "bracket_right" },
	{ KEY_ENTER,		0x1c,		0x5a,		0x5a, "ret" },

	{ KEY_CAPSLOCK,		0x3a,		0x58,		0x14, "caps_lock" },
	{ KEY_A,		0x1e,		0x1c,		0x1c, "a" },
	{ KEY_S,		0x1f,		0x1b,		0x1b, "s" },
	{ KEY_D,		0x20,		0x23,		0x23, "d" },
	{ KEY_F,		0x21,		0x2b,		0x2b, "f" },
	{ KEY_G,		0x22,		0x34,		0x34, "g" },
	{ KEY_H,		0x23,		0x33,		0x33, "h" },
	{ KEY_J,		0x24,		0x3b,		0x3b, "j" },
	{ KEY_K,		0x25,		0x42,		0x42, "k" },
	{ KEY_L,		0x26,		0x4b,		0x4b, "l" },
	{ KEY_SEMICOLON,	0x27,		0x4c,		0x4c, "semicolon" },
	{ KEY_APOSTROPHE,	0x28,		0x52,		0x52, "apostrophe" },
	/* US backslash, and the ISO key left of Enter (# ~): same code */
	{ KEY_BACKSLASH,	0x2b,		0x5d,		0x5c, "backslash" },

	{ KEY_LEFTSHIFT,	0x2a,		0x12,		0x12, "shift" },
	{ KEY_102ND,		0x56,		0x61,		0x13, "less" },
	{ KEY_Z,		0x2c,		0x1a,		0x1a, "z" },
	{ KEY_X,		0x2d,		0x22,		0x22, "x" },
	{ KEY_C,		0x2e,		0x21,		0x21, "c" },
	{ KEY_V,		0x2f,		0x2a,		0x2a, "v" },
	{ KEY_B,		0x30,		0x32,		0x32, "b" },
	{ KEY_N,		0x31,		0x31,		0x31, "n" },
	{ KEY_M,		0x32,		0x3a,		0x3a, "m" },
	{ KEY_COMMA,		0x33,		0x41,		0x41, "comma" },
	{ KEY_DOT,		0x34,		0x49,		0x49, "dot" },
	{ KEY_SLASH,		0x35,		0x4a,		0x4a, "slash" },
	{ KEY_RIGHTSHIFT,	0x36,		0x59,		0x59, "shift_r" },

	{ KEY_LEFTCTRL,		0x1d,		0x14,		0x11, "ctrl" },
	{ KEY_LEFTMETA,		E0 | 0x5b,	E0 | 0x1f,	0x8b, "meta_l" },
	{ KEY_LEFTALT,		0x38,		0x11,		0x19, "alt" },
	{ KEY_SPACE,		0x39,		0x29,		0x29, "spc" },
	{ KEY_RIGHTALT,		E0 | 0x38,	E0 | 0x11,	0x39, "alt_r" },
	{ KEY_RIGHTMETA,	E0 | 0x5c,	E0 | 0x27,	0x8c, "meta_r" },
	{ KEY_COMPOSE,		E0 | 0x5d,	E0 | 0x2f,	0x8d, "compose" },
	{ KEY_RIGHTCTRL,	E0 | 0x1d,	E0 | 0x14,	0x58, "ctrl_r" },

	{ KEY_INSERT,		E0 | 0x52,	E0 | 0x70,	0x67, "insert" },
	{ KEY_HOME,		E0 | 0x47,	E0 | 0x6c,	0x6e, "home" },
	{ KEY_PAGEUP,		E0 | 0x49,	E0 | 0x7d,	0x6f, "pgup" },
	{ KEY_DELETE,		E0 | 0x53,	E0 | 0x71,	0x64, "delete" },
	{ KEY_END,		E0 | 0x4f,	E0 | 0x69,	0x65, "end" },
	{ KEY_PAGEDOWN,		E0 | 0x51,	E0 | 0x7a,	0x6d, "pgdn" },
	{ KEY_UP,		E0 | 0x48,	E0 | 0x75,	0x63, "up" },
	{ KEY_LEFT,		E0 | 0x4b,	E0 | 0x6b,	0x61, "left" },
	{ KEY_DOWN,		E0 | 0x50,	E0 | 0x72,	0x60, "down" },
	{ KEY_RIGHT,		E0 | 0x4d,	E0 | 0x74,	0x6a, "right" },

	{ KEY_NUMLOCK,		0x45,		0x77,		0x76, "num_lock" },
	{ KEY_KPSLASH,		E0 | 0x35,	E0 | 0x4a,	0x77, "kp_divide" },
	{ KEY_KPASTERISK,	0x37,		0x7c,		0x7e, "kp_multiply" },
	{ KEY_KPMINUS,		0x4a,		0x7b,		0x84, "kp_subtract" },
	{ KEY_KP7,		0x47,		0x6c,		0x6c, "kp_7" },
	{ KEY_KP8,		0x48,		0x75,		0x75, "kp_8" },
	{ KEY_KP9,		0x49,		0x7d,		0x7d, "kp_9" },
	{ KEY_KPPLUS,		0x4e,		0x79,		0x7c, "kp_add" },
	{ KEY_KP4,		0x4b,		0x6b,		0x6b, "kp_4" },
	{ KEY_KP5,		0x4c,		0x73,		0x73, "kp_5" },
	{ KEY_KP6,		0x4d,		0x74,		0x74, "kp_6" },
	{ KEY_KP1,		0x4f,		0x69,		0x69, "kp_1" },
	{ KEY_KP2,		0x50,		0x72,		0x72, "kp_2" },
	{ KEY_KP3,		0x51,		0x7a,		0x7a, "kp_3" },
	{ KEY_KPENTER,		E0 | 0x1c,	E0 | 0x5a,	0x79, "kp_enter" },
	{ KEY_KP0,		0x52,		0x70,		0x70, "kp_0" },
	{ KEY_KPDOT,		0x53,		0x71,		0x71, "kp_decimal" },

	/* beyond the 105: ACPI and multimedia keys (sets 1 and 2 only) */
	{ KEY_POWER,		E0 | 0x5e,	E0 | 0x37,	0, "power" },
	{ KEY_SLEEP,		E0 | 0x5f,	E0 | 0x3f,	0, "sleep" },
	{ KEY_WAKEUP,		E0 | 0x63,	E0 | 0x5e,	0, "wake" },
	{ KEY_MUTE,		E0 | 0x20,	E0 | 0x23,	0, "audiomute" },
	{ KEY_VOLUMEDOWN,	E0 | 0x2e,	E0 | 0x21,	0, "volumedown" },
	{ KEY_VOLUMEUP,		E0 | 0x30,	E0 | 0x32,	0, "volumeup" },
};

/* other names QEMU accepts for the same keys */
static const struct {
	const char *name;
	u16 key;
} aliases[] = {
	{ "sysrq", KEY_SYSRQ },
	{ "altgr", KEY_RIGHTALT },
	{ "altgr_r", KEY_RIGHTALT },
	{ "menu", KEY_COMPOSE },	/* the 105-key keyboard's Application key */
	{ "asterisk", KEY_KPASTERISK },
	{ "return", KEY_ENTER },
	{ "enter", KEY_ENTER },
	{ "escape", KEY_ESC },
	{ "space", KEY_SPACE },
	{ "del", KEY_DELETE },
	{ "ins", KEY_INSERT },
	{ "control", KEY_LEFTCTRL },
	{ "pageup", KEY_PAGEUP },
	{ "pagedown", KEY_PAGEDOWN },
	{ "win", KEY_LEFTMETA },
};

static const struct key_entry *key_index[KEY_MAX + 1];
/* the 8042's translation, from the same table (see build_xlate) */
static u8 xlate_table[256];

static const struct key_entry *find_key(unsigned int key)
{
	return key <= KEY_MAX ? key_index[key] : NULL;
}

static unsigned int put(u8 *out, unsigned int n, u8 b)
{
	if (n < KEYMAP_MAX_SEQ)
		out[n++] = b;
	return n;
}

/* a set 1 or set 2 code (with E0 flag) as make or break bytes */
static unsigned int code12(unsigned int set, u16 code, bool down, u8 *out, unsigned int n)
{
	if (code & E0)
		n = put(out, n, 0xe0);
	if (set == 1)
		return put(out, n, (code & 0x7f) | (down ? 0 : 0x80));
	if (!down)
		n = put(out, n, 0xf0);
	return put(out, n, code & 0xff);
}

unsigned int keymap__scancode(unsigned int key, unsigned int set, bool down,
			      unsigned int mods, u8 *out)
{
	const struct key_entry *k = find_key(key);
	unsigned int n = 0;

	if (!k || set < 1 || set > 3)
		return 0;
	if (set == 3) {
		if (!k->set3)
			return 0;
		if (!down)
			n = put(out, n, 0xf0);
		return put(out, n, k->set3);
	}

	if (key == KEY_PAUSE) {
		if (mods & KEYMAP_MOD_CTRL)	/* Break: an E0 key, make and break */
			return code12(set, E0 | (set == 1 ? 0x46 : 0x7e), down, out, 0);
		if (!down)
			return 0;
		if (set == 1) {
			static const u8 s1[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };

			memcpy(out, s1, sizeof(s1));
			return sizeof(s1);
		} else {
			static const u8 s2[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };

			memcpy(out, s2, sizeof(s2));
			return sizeof(s2);
		}
	}
	if (key == KEY_SYSRQ) {
		u16 lshift = set == 1 ? 0x2a : 0x12;

		if (mods & KEYMAP_MOD_ALT)	/* SysRq: its own plain code */
			return code12(set, set == 1 ? 0x54 : 0x84, down, out, 0);
		if (mods & (KEYMAP_MOD_SHIFT | KEYMAP_MOD_CTRL))
			return code12(set, set == 1 ? k->set1 : k->set2, down, out, 0);
		/* a fake Left Shift goes down before and up after the key */
		if (down) {
			n = code12(set, E0 | lshift, true, out, 0);
			return code12(set, set == 1 ? k->set1 : k->set2, true, out, n);
		}
		n = code12(set, set == 1 ? k->set1 : k->set2, false, out, 0);
		return code12(set, E0 | lshift, false, out, n);
	}
	return code12(set, set == 1 ? k->set1 : k->set2, down, out, 0);
}

unsigned int keymap__modifier(unsigned int key)
{
	switch (key) {
	case KEY_LEFTSHIFT:
	case KEY_RIGHTSHIFT:
		return KEYMAP_MOD_SHIFT;
	case KEY_LEFTCTRL:
	case KEY_RIGHTCTRL:
		return KEYMAP_MOD_CTRL;
	case KEY_LEFTALT:
	case KEY_RIGHTALT:
		return KEYMAP_MOD_ALT;
	}
	return 0;
}

/* ASCII 0x20..0x7e on a US layout: the key and whether Shift is held */
static const struct {
	u16 key;
	bool shift;
} ascii[0x5f] = {
	[' ' - 0x20] = { KEY_SPACE, false },
	['!' - 0x20] = { KEY_1, true },
	['"' - 0x20] = { KEY_APOSTROPHE, true },
	['#' - 0x20] = { KEY_3, true },
	['$' - 0x20] = { KEY_4, true },
	['%' - 0x20] = { KEY_5, true },
	['&' - 0x20] = { KEY_7, true },
	['\'' - 0x20] = { KEY_APOSTROPHE, false },
	['(' - 0x20] = { KEY_9, true },
	[')' - 0x20] = { KEY_0, true },
	['*' - 0x20] = { KEY_8, true },
	['+' - 0x20] = { KEY_EQUAL, true },
	[',' - 0x20] = { KEY_COMMA, false },
	['-' - 0x20] = { KEY_MINUS, false },
	['.' - 0x20] = { KEY_DOT, false },
	['/' - 0x20] = { KEY_SLASH, false },
	['0' - 0x20] = { KEY_0, false },
	['1' - 0x20] = { KEY_1, false },
	['2' - 0x20] = { KEY_2, false },
	['3' - 0x20] = { KEY_3, false },
	['4' - 0x20] = { KEY_4, false },
	['5' - 0x20] = { KEY_5, false },
	['6' - 0x20] = { KEY_6, false },
	['7' - 0x20] = { KEY_7, false },
	['8' - 0x20] = { KEY_8, false },
	['9' - 0x20] = { KEY_9, false },
	[':' - 0x20] = { KEY_SEMICOLON, true },
	[';' - 0x20] = { KEY_SEMICOLON, false },
	['<' - 0x20] = { KEY_COMMA, true },
	['=' - 0x20] = { KEY_EQUAL, false },
	['>' - 0x20] = { KEY_DOT, true },
	['?' - 0x20] = { KEY_SLASH, true },
	['@' - 0x20] = { KEY_2, true },
	['[' - 0x20] = { KEY_LEFTBRACE, false },
	['\\' - 0x20] = { KEY_BACKSLASH, false },
	[']' - 0x20] = { KEY_RIGHTBRACE, false },
	['^' - 0x20] = { KEY_6, true },
	['_' - 0x20] = { KEY_MINUS, true },
	['`' - 0x20] = { KEY_GRAVE, false },
	['{' - 0x20] = { KEY_LEFTBRACE, true },
	['|' - 0x20] = { KEY_BACKSLASH, true },
	['}' - 0x20] = { KEY_RIGHTBRACE, true },
	['~' - 0x20] = { KEY_GRAVE, true },
};

/* the letters, in alphabetical order */
static const u16 letters[26] = {
	KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F, KEY_G, KEY_H, KEY_I, KEY_J, KEY_K, KEY_L,
	KEY_M, KEY_N, KEY_O, KEY_P, KEY_Q, KEY_R, KEY_S, KEY_T, KEY_U, KEY_V, KEY_W, KEY_X,
	KEY_Y, KEY_Z,
};

bool keymap__from_char(int c, unsigned int *key, bool *shift)
{
	if (c >= 'a' && c <= 'z') {
		*key = letters[c - 'a'];
		*shift = false;
		return true;
	}
	if (c >= 'A' && c <= 'Z') {
		*key = letters[c - 'A'];
		*shift = true;
		return true;
	}
	if (c == '\n' || c == '\r') {
		*key = KEY_ENTER;
		*shift = false;
		return true;
	}
	if (c == '\t') {
		*key = KEY_TAB;
		*shift = false;
		return true;
	}
	if (c < 0x20 || c > 0x7e || !ascii[c - 0x20].key)
		return false;
	*key = ascii[c - 0x20].key;
	*shift = ascii[c - 0x20].shift;
	return true;
}

/* keysyms that are not printable Latin-1 characters */
static const struct {
	u16 keysym;
	u16 key;
} special_keysyms[] = {
	{ XK_BackSpace, KEY_BACKSPACE },
	{ XK_Tab, KEY_TAB },
	{ XK_ISO_Left_Tab, KEY_TAB },	/* Shift+Tab */
	{ XK_Linefeed, KEY_ENTER },
	{ XK_Return, KEY_ENTER },
	{ XK_Pause, KEY_PAUSE },
	{ XK_Break, KEY_PAUSE },
	{ XK_Scroll_Lock, KEY_SCROLLLOCK },
	{ XK_Sys_Req, KEY_SYSRQ },
	{ XK_Print, KEY_SYSRQ },
	{ XK_Escape, KEY_ESC },
	{ XK_Delete, KEY_DELETE },
	{ XK_Home, KEY_HOME },
	{ XK_Left, KEY_LEFT },
	{ XK_Up, KEY_UP },
	{ XK_Right, KEY_RIGHT },
	{ XK_Down, KEY_DOWN },
	{ XK_Page_Up, KEY_PAGEUP },
	{ XK_Page_Down, KEY_PAGEDOWN },
	{ XK_End, KEY_END },
	{ XK_Begin, KEY_KP5 },
	{ XK_Insert, KEY_INSERT },
	{ XK_Menu, KEY_COMPOSE },
	{ XK_Num_Lock, KEY_NUMLOCK },
	{ XK_KP_Enter, KEY_KPENTER },
	{ XK_KP_Home, KEY_KP7 },
	{ XK_KP_Left, KEY_KP4 },
	{ XK_KP_Up, KEY_KP8 },
	{ XK_KP_Right, KEY_KP6 },
	{ XK_KP_Down, KEY_KP2 },
	{ XK_KP_Page_Up, KEY_KP9 },
	{ XK_KP_Page_Down, KEY_KP3 },
	{ XK_KP_End, KEY_KP1 },
	{ XK_KP_Begin, KEY_KP5 },
	{ XK_KP_Insert, KEY_KP0 },
	{ XK_KP_Delete, KEY_KPDOT },
	{ XK_KP_Multiply, KEY_KPASTERISK },
	{ XK_KP_Add, KEY_KPPLUS },
	{ XK_KP_Separator, KEY_KPDOT },
	{ XK_KP_Subtract, KEY_KPMINUS },
	{ XK_KP_Decimal, KEY_KPDOT },
	{ XK_KP_Divide, KEY_KPSLASH },
	{ XK_KP_0, KEY_KP0 },
	{ XK_KP_1, KEY_KP1 },
	{ XK_KP_2, KEY_KP2 },
	{ XK_KP_3, KEY_KP3 },
	{ XK_KP_4, KEY_KP4 },
	{ XK_KP_5, KEY_KP5 },
	{ XK_KP_6, KEY_KP6 },
	{ XK_KP_7, KEY_KP7 },
	{ XK_KP_8, KEY_KP8 },
	{ XK_KP_9, KEY_KP9 },
	{ XK_F1, KEY_F1 },
	{ XK_F2, KEY_F2 },
	{ XK_F3, KEY_F3 },
	{ XK_F4, KEY_F4 },
	{ XK_F5, KEY_F5 },
	{ XK_F6, KEY_F6 },
	{ XK_F7, KEY_F7 },
	{ XK_F8, KEY_F8 },
	{ XK_F9, KEY_F9 },
	{ XK_F10, KEY_F10 },
	{ XK_F11, KEY_F11 },
	{ XK_F12, KEY_F12 },
	{ XK_Shift_L, KEY_LEFTSHIFT },
	{ XK_Shift_R, KEY_RIGHTSHIFT },
	{ XK_Control_L, KEY_LEFTCTRL },
	{ XK_Control_R, KEY_RIGHTCTRL },
	{ XK_Caps_Lock, KEY_CAPSLOCK },
	{ XK_Shift_Lock, KEY_CAPSLOCK },
	{ XK_Meta_L, KEY_LEFTMETA },
	{ XK_Meta_R, KEY_RIGHTMETA },
	{ XK_Alt_L, KEY_LEFTALT },
	{ XK_Alt_R, KEY_RIGHTALT },
	{ XK_Super_L, KEY_LEFTMETA },
	{ XK_Super_R, KEY_RIGHTMETA },
	{ XK_Hyper_L, KEY_LEFTMETA },
	{ XK_Hyper_R, KEY_RIGHTMETA },
	{ XK_ISO_Level3_Shift, KEY_RIGHTALT },	/* AltGr */
	{ XK_Mode_switch, KEY_RIGHTALT },
};

unsigned int keymap__from_keysym(u32 keysym)
{
	bool shift;
	unsigned int key;

	/* Latin-1 printable characters are keysyms of the same value */
	if (keysym >= 0x20 && keysym <= 0x7e)
		return keymap__from_char(keysym, &key, &shift) ? key : 0;
	if ((keysym & 0xff00) != 0xff00 && (keysym & 0xff00) != 0xfe00)
		return 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(special_keysyms); i++)
		if (special_keysyms[i].keysym == keysym)
			return special_keysyms[i].key;
	return 0;
}

unsigned int keymap__from_name(const char *name, size_t len)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(keys); i++)
		if (strlen(keys[i].name) == len && !strncmp(keys[i].name, name, len))
			return keys[i].key;
	for (unsigned int i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strlen(aliases[i].name) == len && !strncmp(aliases[i].name, name, len))
			return aliases[i].key;
	return 0;
}

const char *keymap__name(unsigned int key)
{
	const struct key_entry *k = find_key(key);

	return k ? k->name : NULL;
}

int keymap__parse_combo(const char *s, unsigned int *keys_out, unsigned int max,
			const char **bad, size_t *badlen)
{
	unsigned int n = 0;

	for (;;) {
		size_t len = strcspn(s, "-");
		unsigned int key;

		/* "-" alone as a word: the minus key (as in "ctrl--") */
		if (!len && *s == '-' && (s[1] == '-' || !s[1]))
			len = 1;
		key = len ? (len == 1 && *s == '-' ? KEY_MINUS : keymap__from_name(s, len)) : 0;
		if (!key || n >= max) {
			*bad = s;
			*badlen = key ? 0 : len;
			return -1;
		}
		keys_out[n++] = key;
		s += len;
		if (!*s)
			return n;
		s++;	/* the '-' between words */
	}
}

/*
 * Built from the key table: each key's set 2 code translates to its set 1
 * code; an E0 key's second byte too (E0 itself passes unchanged).
 */
static void __attribute__((constructor)) keymap__build(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(keys); i++)
		key_index[keys[i].key] = &keys[i];
	for (unsigned int i = 0; i < 256; i++)
		xlate_table[i] = i;
	for (unsigned int i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].set2)
			xlate_table[keys[i].set2 & 0xff] = keys[i].set1 & 0x7f;
	/* what a set 2 keyboard sends that is no key's code of its own: the
	 * overrun code, a scan code set number (the reply to F0 00), and
	 * SysRq (Alt+Print Screen) */
	xlate_table[0x00] = 0xff;
	xlate_table[0x02] = 0x41;
	xlate_table[0x84] = 0x54;
}

u8 keymap__xlate(u8 code)
{
	return xlate_table[code];
}

unsigned int keymap__nr_keys(void)
{
	return ARRAY_SIZE(keys);
}

unsigned int keymap__key_at(unsigned int i)
{
	return i < ARRAY_SIZE(keys) ? keys[i].key : 0;
}
