// SPDX-License-Identifier: GPL-2.0
/*
 * USB mass storage (Bulk-Only Transport over the SCSI disk emulation), fed
 * packets directly as the controller would: descriptors, GET MAX LUN, the
 * CBW / data / CSW cycle for INQUIRY, READ CAPACITY, WRITE and READ (the
 * data lands in the file), a failed command's sense through REQUEST SENSE,
 * and hostile hosts: a bad CBW (halts until the Bulk-Only reset), transfer
 * lengths that disagree with the command (phase error), data where a CBW
 * belongs, a CBW asking for more than the limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/usb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCKS		2048	/* 1 MiB */

static struct usb_dev *d;
static char path[64];
static u8 buf[65536];
static u32 tag;

static int setup(void **state __unused)
{
	char *err = NULL;
	int fd;

	snprintf(path, sizeof(path), "/tmp/dpvm-msd-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, BLOCKS * 512), 0);
	close(fd);
	d = usb_storage__new(path, false, &err);
	assert_non_null(d);
	d->id = strdup("msd");
	return 0;
}

static int teardown(void **state __unused)
{
	d->ops->destroy(d);
	unlink(path);
	return 0;
}

/* one packet; waits while the device NAKs (the LUN works on a thread) */
static int xfer(u8 ep, bool in, enum usb_xfer type, void *data, u32 len, u32 *actual)
{
	struct usb_packet p = { .dev = d, .ep = ep, .in = in, .type = type, .buf = data, .len = len };
	int r;

	for (int i = 0; i < 5000; i++) {
		r = d->ops->handle(d, &p);
		if (r != USB_RET_NAK)
			break;
		usleep(1000);
	}
	if (actual)
		*actual = p.actual;
	return r;
}

static int ctrl(u8 rt, u8 req, u16 val, u16 idx, u16 len, u32 *actual)
{
	struct usb_packet p = { .dev = d, .ep = 0, .in = rt & USB_DIR_IN, .type = USB_XFER_CONTROL,
				.buf = buf, .len = len };

	p.setup = (struct usb_setup){ rt, req, val, idx, len };
	d->ops->handle(d, &p);
	if (actual)
		*actual = p.actual;
	return p.status;
}

static void cbw(u32 len, bool in, const u8 *cdb, u8 cdblen)
{
	u8 c[31] = { 'U', 'S', 'B', 'C' };

	tag++;
	memcpy(c + 4, &tag, 4);
	memcpy(c + 8, &len, 4);
	c[12] = in ? 0x80 : 0;
	c[14] = cdblen;
	memcpy(c + 15, cdb, cdblen);
	assert_int_equal(xfer(2, false, USB_XFER_BULK, c, 31, NULL), USB_RET_SUCCESS);
}

/* read the CSW: its status; *residue */
static u8 csw(u32 *residue)
{
	u8 s[13];
	u32 got, t;

	assert_int_equal(xfer(1, true, USB_XFER_BULK, s, 13, &got), USB_RET_SUCCESS);
	assert_int_equal(got, 13);
	assert_memory_equal(s, "USBS", 4);
	memcpy(&t, s + 4, 4);
	assert_int_equal(t, tag);
	if (residue)
		memcpy(residue, s + 8, 4);
	return s[12];
}

static void test_descriptors(void **state __unused)
{
	u32 got;

	assert_int_equal(ctrl(0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_DEVICE << 8, 0, 18, &got), 0);
	assert_int_equal(got, 18);
	assert_int_equal(buf[8] | buf[9] << 8, 0x1209);
	assert_int_equal(buf[2] | buf[3] << 8, 0x0300);	/* SuperSpeed */
	assert_int_equal(buf[7], 9);
	assert_int_equal(ctrl(0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_CONFIG << 8, 0, 255, &got), 0);
	assert_int_equal(got, 44);
	assert_int_equal(buf[9 + 5], 8);	/* mass storage */
	assert_int_equal(buf[9 + 7], 0x50);	/* bulk-only */
	assert_int_equal(buf[18 + 4] | buf[18 + 5] << 8, 1024);
	assert_int_equal(buf[25 + 1], USB_DT_SS_EP_COMP);
	assert_int_equal(ctrl(0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_BOS << 8, 0, 255, &got), 0);
	assert_int_equal(got, 22);
	assert_int_equal(buf[4], 2);		/* two capabilities */
	/* the serial: at least 12 characters (BOT 4.1.1) */
	assert_int_equal(ctrl(0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_STRING << 8 | 3, 0x409, 255, &got), 0);
	assert_true(got >= 2 + 2 * 12);
	assert_int_equal(ctrl(0xa1, 0xfe, 0, 0, 1, &got), 0);
	assert_int_equal(got, 1);
	assert_int_equal(buf[0], 0);
	assert_int_equal(ctrl(0, USB_REQ_SET_CONFIGURATION, 1, 0, 0, NULL), 0);
	assert_int_equal(ctrl(0, USB_REQ_SET_CONFIGURATION, 7, 0, 0, NULL), USB_RET_STALL);
}

static void test_read_write(void **state __unused)
{
	static const u8 inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
	static const u8 capacity[10] = { 0x25 };
	u8 w10[10] = { 0x2a, 0, 0, 0, 0, 5, 0, 0, 16, 0 };	/* LBA 5, 16 blocks */
	u8 r10[10] = { 0x28, 0, 0, 0, 0, 5, 0, 0, 16, 0 };
	u8 data[8192], back[8192], file[8192];
	u32 got, res;
	FILE *f;

	cbw(36, true, inquiry, 6);
	assert_int_equal(xfer(1, true, USB_XFER_BULK, buf, 36, &got), USB_RET_SUCCESS);
	assert_int_equal(got, 36);
	assert_memory_equal(buf + 8, "DPVM", 4);
	assert_int_equal(csw(&res), 0);
	assert_int_equal(res, 0);

	cbw(8, true, capacity, 10);
	assert_int_equal(xfer(1, true, USB_XFER_BULK, buf, 8, &got), USB_RET_SUCCESS);
	assert_int_equal((u32)(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3]), BLOCKS - 1);
	assert_int_equal(csw(NULL), 0);

	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = i * 7 + 3;
	cbw(sizeof(data), false, w10, 10);
	/* the data in two pieces */
	assert_int_equal(xfer(2, false, USB_XFER_BULK, data, 3000, NULL), USB_RET_SUCCESS);
	assert_int_equal(xfer(2, false, USB_XFER_BULK, data + 3000, sizeof(data) - 3000, NULL),
			 USB_RET_SUCCESS);
	assert_int_equal(csw(&res), 0);
	assert_int_equal(res, 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 5 * 512, SEEK_SET);
	assert_int_equal(fread(file, 1, sizeof(file), f), sizeof(file));
	fclose(f);
	assert_memory_equal(file, data, sizeof(data));

	cbw(sizeof(back), true, r10, 10);
	assert_int_equal(xfer(1, true, USB_XFER_BULK, back, sizeof(back), &got), USB_RET_SUCCESS);
	assert_int_equal(got, sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(csw(NULL), 0);
}

static void test_sense(void **state __unused)
{
	u8 r10[10] = { 0x28, 0, 0, 0, 0x10, 0, 0, 0, 1, 0 };	/* LBA 4096: past the end */
	static const u8 rs[6] = { 0x03, 0, 0, 0, 18, 0 };
	u32 got, res;

	cbw(512, true, r10, 10);
	/* no data: the IN phase ends short, the CSW says failed with the residue */
	assert_int_equal(xfer(1, true, USB_XFER_BULK, buf, 13, &got), USB_RET_SUCCESS);
	assert_true(got == 0 || got == 13);
	if (got == 0)
		assert_int_equal(csw(&res), 1);
	else
		memcpy(&res, buf + 8, 4);
	assert_int_equal(res, 512);
	cbw(18, true, rs, 6);
	assert_int_equal(xfer(1, true, USB_XFER_BULK, buf, 18, &got), USB_RET_SUCCESS);
	assert_int_equal(got, 18);
	assert_int_equal(buf[2] & 0xf, 0x5);	/* ILLEGAL REQUEST */
	assert_int_equal(buf[12], 0x21);	/* LBA out of range */
	assert_int_equal(csw(NULL), 0);
}

static void test_hostile(void **state __unused)
{
	u8 junk[31] = { 'X' }, r10[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
	u32 got;

	/* a bad CBW: both endpoints halt, and stay halted until the reset */
	assert_int_equal(xfer(2, false, USB_XFER_BULK, junk, 31, NULL), USB_RET_STALL);
	assert_int_equal(xfer(1, true, USB_XFER_BULK, buf, 13, NULL), USB_RET_STALL);
	assert_int_equal(ctrl(0x02, USB_REQ_CLEAR_FEATURE, 0, 0x81, 0, NULL), 0);
	assert_int_equal(xfer(1, true, USB_XFER_BULK, buf, 13, NULL), USB_RET_STALL);
	assert_int_equal(ctrl(0x21, 0xff, 0, 0, 0, NULL), 0);
	assert_int_equal(ctrl(0x02, USB_REQ_CLEAR_FEATURE, 0, 0x81, 0, NULL), 0);
	assert_int_equal(ctrl(0x02, USB_REQ_CLEAR_FEATURE, 0, 0x02, 0, NULL), 0);
	/* a short CBW */
	assert_int_equal(xfer(2, false, USB_XFER_BULK, junk, 7, NULL), USB_RET_STALL);
	assert_int_equal(ctrl(0x21, 0xff, 0, 0, 0, NULL), 0);
	assert_int_equal(ctrl(0x02, USB_REQ_CLEAR_FEATURE, 0, 0x81, 0, NULL), 0);
	assert_int_equal(ctrl(0x02, USB_REQ_CLEAR_FEATURE, 0, 0x02, 0, NULL), 0);

	/* READ of 8 blocks with room for 512 bytes: phase error */
	cbw(512, true, r10, 10);
	assert_int_equal(csw(NULL), 2);
	/* READ with an OUT CBW: phase error */
	cbw(4096, false, r10, 10);
	assert_int_equal(csw(NULL), 2);
	/* more than the limit */
	cbw(0x7fffffff, true, r10, 10);
	assert_int_equal(csw(NULL), 2);
	/* data on OUT while the status is due: stall */
	cbw(4096, true, r10, 10);
	assert_int_equal(xfer(2, false, USB_XFER_BULK, buf, 512, NULL), USB_RET_STALL);
	assert_int_equal(xfer(1, true, USB_XFER_BULK, buf, 4096, &got), USB_RET_SUCCESS);
	assert_int_equal(csw(NULL), 0);
	/* the OUT endpoint stays halted until the host clears it */
	assert_int_equal(xfer(2, false, USB_XFER_BULK, buf, 31, NULL), USB_RET_STALL);
	assert_int_equal(ctrl(0x02, USB_REQ_CLEAR_FEATURE, 0, 0x02, 0, NULL), 0);
	/* wrong endpoints and types */
	assert_int_equal(xfer(3, true, USB_XFER_BULK, buf, 13, NULL), USB_RET_STALL);
	assert_int_equal(xfer(1, true, USB_XFER_INT, buf, 13, NULL), USB_RET_STALL);
	/* an unknown class request */
	assert_int_equal(ctrl(0xa1, 0x42, 0, 0, 4, NULL), USB_RET_STALL);
	/* a port reset in the middle of a command: the device starts over */
	cbw(4096, true, r10, 10);
	d->ops->reset(d);
	assert_int_equal(ctrl(0, USB_REQ_SET_CONFIGURATION, 1, 0, 0, NULL), 0);
	cbw(4096, true, r10, 10);
	assert_int_equal(xfer(1, true, USB_XFER_BULK, buf, 4096, &got), USB_RET_SUCCESS);
	assert_int_equal(got, 4096);
	assert_int_equal(csw(NULL), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_descriptors),
		T(test_read_write),
		T(test_sense),
		T(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
