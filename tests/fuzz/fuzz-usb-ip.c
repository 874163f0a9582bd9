// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a USB/IP server's byte stream (devices/usb-ip.c): the
 * replies a connected client reads while four transfers are in flight,
 * cut into pieces as recv gives them; and the import reply and device
 * description parsers on the same bytes.  A reply may complete a transfer
 * only with what fits its buffer; anything else ends the connection
 * (usbip__rx returns -1), never a crash or a leak.
 *
 *   make fuzz && build/fuzz/fuzz-usb-ip [corpus dir] [-runs=N]
 */
#include "devices/usb-ip.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct usbip_udev u;
	struct usbip_ret r;
	u32 st;
	char host[64], port[8], s[80];

	usb_ip__fuzz(data, size);
	if (size >= USBIP_OP_HDR)
		usbip__parse_op_reply(data, USBIP_OP_REP_IMPORT, &st);
	if (size >= USBIP_UDEV_LEN)
		usbip__parse_udev(data, &u);
	if (size >= USBIP_HDR)
		usbip__parse_ret(data, &r);
	memcpy(s, data, MIN(size, sizeof(s) - 1));
	s[MIN(size, sizeof(s) - 1)] = 0;
	usbip__parse_server(s, host, sizeof(host), port, sizeof(port));
	return 0;
}
