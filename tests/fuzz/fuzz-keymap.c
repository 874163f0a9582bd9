// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: key translation.  Any keysym, key code, set and
 * modifier state: at most KEYMAP_MAX_SEQ bytes, and a key's set 2 codes
 * translated by the 8042 give its set 1 codes; any string as a key name or
 * a combination; any byte as a character to type.
 *
 * Input: 4 bytes of keysym, 2 of key code, 1 of set and modifiers, then a
 * string.
 */
#include "vmm/keymap.h"

#include <stdlib.h>
#include <string.h>

static unsigned int xlate_seq(const u8 *in, unsigned int n, u8 *out)
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

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u8 s1[KEYMAP_MAX_SEQ], s2[KEYMAP_MAX_SEQ], s3[KEYMAP_MAX_SEQ], t[KEYMAP_MAX_SEQ];
	unsigned int keys[8], key, mods, n1, n2, nt;
	const char *bad;
	size_t badlen;
	char *str;
	u32 keysym;
	bool shift;

	if (size < 7)
		return 0;
	keysym = data[0] | data[1] << 8 | data[2] << 16 | (u32)data[3] << 24;
	key = keymap__from_keysym(keysym);
	if (key && !keymap__name(key))
		abort();	/* every key a keysym gives is in the table */
	key = data[4] | data[5] << 8;
	mods = data[6] & 7;
	for (int down = 0; down < 2; down++) {
		n1 = keymap__scancode(key, 1, down, mods, s1);
		n2 = keymap__scancode(key, 2, down, mods, s2);
		if (keymap__scancode(key, 3, down, mods, s3) > 2 || n1 > KEYMAP_MAX_SEQ ||
		    n2 > KEYMAP_MAX_SEQ)
			abort();
		nt = xlate_seq(s2, n2, t);
		if (nt != n1 || memcmp(t, s1, n1))
			abort();
		keymap__scancode(key, data[6] >> 3, down, mods, s3);
	}
	/* the rest as a string: a name, a combination, characters */
	str = malloc(size - 7 + 1);
	memcpy(str, data + 7, size - 7);
	str[size - 7] = 0;
	key = keymap__from_name(str, strlen(str));
	if (key && !keymap__name(key))
		abort();	/* a name (or alias) is of a key in the table */
	int n = keymap__parse_combo(str, keys, 8, &bad, &badlen);
	if (n > 8 || (n < 0 && (bad < str || bad + badlen > str + strlen(str))))
		abort();
	for (size_t i = 7; i < size; i++)
		if (keymap__from_char(data[i], &key, &shift) && !keymap__name(key))
			abort();
	free(str);
	return 0;
}
