// SPDX-License-Identifier: GPL-2.0
/*
 * The remote-client backing's side of usbredir (devices/usb-redir.c): a
 * client's byte stream, built here byte by byte from the protocol's layout
 * (usbredirproto.h: 12-byte headers with 32-bit ids when the caps do not
 * say otherwise), goes through libusbredirparser into dpvm's callbacks:
 * the device the client announces, replies that complete the packets in
 * flight (bulk IN data, an OUT's length, a control transfer's data,
 * configuration_status, a stall), replies that must not (an id never
 * sent, more data than the buffer), and a device_disconnect that fails
 * what is still in flight.  And a garbage length is a parse error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/usb.h"

#include <string.h>
#include <usbredirproto.h>

static u8 s[4096];
static size_t n;

static void put(const void *p, size_t len)
{
	memcpy(s + n, p, len);
	n += len;
}

static void hdr(u32 type, u32 len, u32 id)
{
	put(&type, 4);
	put(&len, 4);
	put(&id, 4);
}

static void bulk(u32 id, u8 ep, u8 status, u16 len, const u8 *data, u16 dlen)
{
	u32 stream = 0;

	hdr(usb_redir_bulk_packet, 8 + dlen, id);
	put(&ep, 1);
	put(&status, 1);
	put(&len, 2);
	put(&stream, 4);
	if (dlen)
		put(data, dlen);
}

static void test_stream(void **state __unused)
{
	u8 b[8][64], data[64], version[64] = "test client 1.0", c[8];
	struct usb_packet pk[8];
	struct usb_dev info;
	u32 caps = 0;
	u16 v;

	memset(pk, 0, sizeof(pk));
	for (int i = 0; i < 8; i++) {
		pk[i].buf = b[i];
		pk[i].len = 64;
		pk[i].type = USB_XFER_BULK;
	}
	pk[0].in = false;				/* id 1: bulk OUT 40 */
	pk[1].in = true;				/* id 2: bulk IN */
	pk[2].type = USB_XFER_CONTROL;			/* id 3: SET_CONFIGURATION */
	pk[2].setup.bRequest = USB_REQ_SET_CONFIGURATION;
	pk[3].type = USB_XFER_CONTROL;			/* id 4: GET_DESCRIPTOR */
	pk[3].in = true;
	pk[3].setup = (struct usb_setup){ 0x80, USB_REQ_GET_DESCRIPTOR, 0x100, 0, 18 };
	pk[4].in = true;				/* id 5: 10-byte buffer, 20 sent */
	pk[4].len = 10;
	pk[5].in = true;				/* id 6: stalls */
	pk[6].in = true;				/* id 7: never answered */
	pk[6].status = 12345;
	for (int i = 0; i < 64; i++)
		data[i] = i * 3;

	n = 0;
	hdr(usb_redir_hello, 64 + 4, 0);
	put(version, 64);
	put(&caps, 4);
	hdr(usb_redir_device_connect, 8, 0);
	c[0] = usb_redir_speed_super; c[1] = 0; c[2] = 0; c[3] = 0;
	v = 0x46f4; memcpy(c + 4, &v, 2);
	v = 0x0001; memcpy(c + 6, &v, 2);
	put(c, 8);
	bulk(2, 0x81, usb_redir_success, 33, data, 33);
	bulk(1, 0x02, usb_redir_success, 40, NULL, 0);
	hdr(usb_redir_configuration_status, 2, 3);
	put((u8[]){ usb_redir_success, 1 }, 2);
	hdr(usb_redir_control_packet, 10 + 18, 4);
	put((u8[]){ 0x80, 6, 0x80, usb_redir_success, 0x00, 0x01, 0, 0, 18, 0 }, 10);
	put(data, 18);
	bulk(99, 0x81, usb_redir_success, 5, data, 5);	/* never sent: dropped */
	bulk(5, 0x81, usb_redir_success, 20, data, 20);	/* more than the buffer */
	bulk(6, 0x81, usb_redir_stall, 0, NULL, 0);
	bulk(2, 0x81, usb_redir_success, 1, data, 1);	/* id 2 again: dropped */
	hdr(usb_redir_device_disconnect, 0, 0);

	assert_int_equal(usb_redir__feed(s, n, pk, 7, &info), 0);
	assert_int_equal(info.vendor, 0x46f4);
	assert_int_equal(info.product, 1);
	assert_int_equal(info.speed, USB_SPEED_SUPER);
	assert_int_equal(pk[0].status, USB_RET_SUCCESS);
	assert_int_equal(pk[0].actual, 40);
	assert_int_equal(pk[1].status, USB_RET_SUCCESS);
	assert_int_equal(pk[1].actual, 33);
	assert_memory_equal(b[1], data, 33);
	assert_int_equal(pk[2].status, USB_RET_SUCCESS);
	assert_int_equal(pk[3].status, USB_RET_SUCCESS);
	assert_int_equal(pk[3].actual, 18);
	assert_memory_equal(b[3], data, 18);
	assert_int_equal(pk[4].status, USB_RET_BABBLE);
	assert_int_equal(pk[4].actual, 10);
	assert_int_equal(pk[5].status, USB_RET_STALL);
	assert_int_equal(pk[6].status, USB_RET_NODEV);	/* the device went */
}

static void test_garbage(void **state __unused)
{
	u8 version[64] = "x";
	u32 caps = 0;
	struct usb_packet pk = { .buf = (u8[8]){ 0 }, .len = 8, .in = true, .type = USB_XFER_BULK };

	n = 0;
	hdr(usb_redir_hello, 64 + 4, 0);
	put(version, 64);
	put(&caps, 4);
	/* a bulk packet whose header says 3 bytes: shorter than its own header */
	hdr(usb_redir_bulk_packet, 3, 1);
	put((u8[]){ 0x81, 0, 0 }, 3);
	assert_int_equal(usb_redir__feed(s, n, &pk, 1, NULL), -1);
	assert_int_equal(pk.actual, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
