// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what the VNC console parses from its user: the listen
 * address, the screen size, the password file's first line.  Any input:
 * no crash, and a success gives values in range.
 *
 * Input: one byte selecting the parser, then its text.
 */
#include "devices/display.h"
#include "vmm/vnc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	char err[160], pw[VNC_PASSWORD_MAX + 1], *s;
	struct vnc_listen l;
	unsigned int w, h;

	if (size < 1)
		return 0;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	switch (data[0] % 3) {
	case 0:
		if (!vnc__parse_listen(s, &l, err, sizeof(err)) && !l.port)
			abort();
		break;
	case 1:
		if (!vnc__parse_size(s, &w, &h, err, sizeof(err)) &&
		    (w < DISPLAY_MIN_WIDTH || w > DISPLAY_MAX_WIDTH || h < DISPLAY_MIN_HEIGHT ||
		     h > DISPLAY_MAX_HEIGHT || (u64)w * h * DISPLAY_BPP > DISPLAY_MAX_BYTES))
			abort();
		break;
	default:
		if (!vnc__parse_password((const char *)data + 1, size - 1, pw, err, sizeof(err)) &&
		    (!pw[0] || strlen(pw) > VNC_PASSWORD_MAX))
			abort();
		break;
	}
	free(s);
	return 0;
}
