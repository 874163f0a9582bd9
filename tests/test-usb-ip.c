// SPDX-License-Identifier: GPL-2.0
/*
 * USB/IP framing (devices/usb-ip.c) against the byte layouts of Linux's
 * Documentation/usb/usbip_protocol.rst: OP_REQ_IMPORT, OP_REP_IMPORT's
 * device, CMD_SUBMIT, CMD_UNLINK, RET_SUBMIT (what passes, what is refused),
 * URB status codes, the server option; and a connected device's receive
 * path fed replies in odd pieces (usb_ip__fuzz's entry returns 0 for a
 * well-formed stream, -1 for a broken one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/usb-ip.h"
#include "devices/usb.h"

#include <errno.h>
#include <string.h>

static void test_import(void **state __unused)
{
	u8 req[USBIP_OP_HDR + USBIP_BUSID_LEN], rep[USBIP_OP_HDR] = { 0x01, 0x11, 0x00, 0x03, 0, 0, 0, 1 };
	u8 udev[USBIP_UDEV_LEN] = { 0 };
	struct usbip_udev u;
	u32 st;

	usbip__op_request(req, USBIP_OP_REQ_IMPORT, "2-1.4");
	assert_memory_equal(req, ((u8[]){ 0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0, '2', '-', '1', '.', '4', 0 }), 14);
	assert_int_equal(usbip__parse_op_reply(rep, USBIP_OP_REP_IMPORT, &st), 0);
	assert_int_equal(st, 1);
	assert_int_equal(usbip__parse_op_reply(rep, USBIP_OP_REP_DEVLIST, &st), -1);
	strcpy((char *)udev, "/sys/devices/pci0000:00/0000:00:01.0/usb2/2-1");
	strcpy((char *)udev + 256, "2-1");
	udev[288 + 3] = 2;		/* busnum */
	udev[292 + 3] = 3;		/* devnum */
	udev[296 + 3] = 5;		/* super speed */
	udev[300] = 0x46; udev[301] = 0xf4; udev[302] = 0x00; udev[303] = 0x01;
	udev[311] = 1;			/* bNumInterfaces */
	assert_int_equal(usbip__parse_udev(udev, &u), 0);
	assert_string_equal(u.busid, "2-1");
	assert_int_equal(u.busnum, 2);
	assert_int_equal(u.devnum, 3);
	assert_int_equal(u.speed, 5);
	assert_int_equal(u.vendor, 0x46f4);
	assert_int_equal(u.product, 1);
	assert_int_equal(u.nr_ifaces, 1);
	udev[288] = 1;			/* busnum 2^24: no such bus */
	assert_int_equal(usbip__parse_udev(udev, &u), -1);
}

static void test_submit(void **state __unused)
{
	static const u8 setup[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };
	u8 h[USBIP_HDR];

	usbip__cmd_submit(h, 7, 0x00020003, true, 0, USBIP_URB_DIR_IN, 18, setup);
	assert_memory_equal(h, ((u8[]){ 0, 0, 0, 1, 0, 0, 0, 7, 0, 2, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0,
					0, 0, 2, 0, 0, 0, 0, 18, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
					0, 0, 0, 0 }), 40);
	assert_memory_equal(h + 40, setup, 8);
	usbip__cmd_unlink(h, 8, 0x00020003, 7);
	assert_int_equal(h[3], 2);
	assert_int_equal(h[7], 8);
	assert_int_equal(h[23], 7);
}

static void test_ret(void **state __unused)
{
	u8 h[USBIP_HDR] = { 0, 0, 0, 3, 0, 0, 0, 9 };
	struct usbip_ret r;

	h[20] = 0xff; h[21] = 0xff; h[22] = 0xff; h[23] = 0xe0;	/* -EPIPE */
	h[27] = 13;
	assert_int_equal(usbip__parse_ret(h, &r), 0);
	assert_int_equal(r.seq, 9);
	assert_int_equal(r.status, -EPIPE);
	assert_int_equal(r.actual, 13);
	assert_int_equal(usbip__status(r.status), USB_RET_STALL);
	assert_int_equal(usbip__status(0), USB_RET_SUCCESS);
	assert_int_equal(usbip__status(-ESHUTDOWN), USB_RET_NODEV);
	assert_int_equal(usbip__status(-ECONNRESET), USB_RET_CANCELLED);
	assert_int_equal(usbip__status((s32)0x80000000), USB_RET_IOERROR);
	/* a negative or huge length, iso packets, an unknown command */
	h[24] = 0x80;
	assert_int_equal(usbip__parse_ret(h, &r), -1);
	h[24] = 0x01;
	assert_int_equal(usbip__parse_ret(h, &r), -1);
	h[24] = 0;
	h[35] = 3;
	assert_int_equal(usbip__parse_ret(h, &r), -1);
	h[35] = 0;
	h[3] = 1;
	assert_int_equal(usbip__parse_ret(h, &r), -1);
}

static void test_server(void **state __unused)
{
	char host[64], port[8];

	assert_int_equal(usbip__parse_server("10.0.0.5", host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "10.0.0.5");
	assert_string_equal(port, "3240");
	assert_int_equal(usbip__parse_server("usbhost:4000", host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "usbhost");
	assert_string_equal(port, "4000");
	assert_int_equal(usbip__parse_server("[::1]:3240", host, sizeof(host), port, sizeof(port)), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(usbip__parse_server("::1", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(usbip__parse_server("h:0", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(usbip__parse_server("h:70000", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(usbip__parse_server(":3240", host, sizeof(host), port, sizeof(port)), -1);
	assert_int_equal(usbip__parse_server("", host, sizeof(host), port, sizeof(port)), -1);
}

/* replies for the fuzz entry's four packets: seq 1 OUT 13, 2 IN 113, 3 OUT 213, 4 IN 313 */
static size_t ret_submit(u8 *o, u32 seq, u32 actual, bool data)
{
	memset(o, 0, USBIP_HDR);
	o[3] = USBIP_RET_SUBMIT;
	o[7] = seq;
	o[26] = actual >> 8;
	o[27] = actual;
	if (data)
		memset(o + USBIP_HDR, 0xab, actual);
	return USBIP_HDR + (data ? actual : 0);
}

static void test_rx(void **state __unused)
{
	u8 s[4096];
	size_t n = 0;

	n += ret_submit(s + n, 2, 100, true);
	n += ret_submit(s + n, 1, 13, false);
	n += ret_submit(s + n, 4, 313, true);
	s[n] = 0;	/* the first byte also sets the fuzz entry's chunking */
	assert_int_equal(usb_ip__fuzz(s, n), 0);
	/* more IN data than the 113-byte buffer */
	n = ret_submit(s, 2, 114, true);
	assert_int_equal(usb_ip__fuzz(s, n), -1);
	/* a sequence number never sent */
	n = ret_submit(s, 77, 0, false);
	assert_int_equal(usb_ip__fuzz(s, n), -1);
	/* a command a client never gets */
	n = ret_submit(s, 1, 0, false);
	s[3] = USBIP_CMD_SUBMIT;
	assert_int_equal(usb_ip__fuzz(s, n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_submit),
		cmocka_unit_test(test_ret),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_rx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
