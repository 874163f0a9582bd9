// SPDX-License-Identifier: GPL-2.0
/*
 * The SCSI layer (devices/scsi/): CDB decoding for every opcode and length
 * form, sense building, the virtio-scsi request walker, the emulated SBC
 * disk on a real file (VPD pages, capacity, I/O, WRITE SAME, UNMAP, VERIFY,
 * mode pages, errors, a shrinking file, a write limit), the emulated MMC
 * drive (TOC, configuration, events, tray), SG_IO passthrough through a
 * fake device (status and sense unchanged, transport errors, EPERM), and
 * the worker pool (a stalled LUN does not stall another; cancel, reset).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/scsi/scsi.h"
#include "devices/virtqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <scsi/sg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

struct waiter {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool done;
};

static void done_cb(struct scsi_req *r)
{
	struct waiter *w = r->opaque;

	pthread_mutex_lock(&w->m);
	w->done = true;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

struct cmd {
	struct scsi_req r;
	struct iovec in, out;
	u8 data[1 << 16];
	struct waiter w;
};

static struct cmd *mk(const u8 *cdb, unsigned int len, size_t in_len, const void *out, size_t out_len)
{
	struct cmd *c = calloc(1, sizeof(*c));

	memcpy(c->r.cdb, cdb, len);
	c->r.cdb_len = 32;
	scsi_cdb__decode(c->r.cdb, c->r.cdb_len, &c->r.c);
	if (in_len) {
		c->in = (struct iovec){ c->data, in_len };
		c->r.in = &c->in;
		c->r.nin = 1;
		c->r.in_len = in_len;
	}
	if (out_len) {
		c->out = (struct iovec){ (void *)out, out_len };
		c->r.out = &c->out;
		c->r.nout = 1;
		c->r.out_len = out_len;
	}
	pthread_mutex_init(&c->w.m, NULL);
	pthread_cond_init(&c->w.c, NULL);
	c->r.done = done_cb;
	c->r.opaque = &c->w;
	return c;
}

static void wait_cmd(struct cmd *c)
{
	pthread_mutex_lock(&c->w.m);
	while (!c->w.done)
		pthread_cond_wait(&c->w.c, &c->w.m);
	pthread_mutex_unlock(&c->w.m);
}

/* run synchronously; returns the command (free it) */
static struct cmd *run(struct scsi_lun *l, const u8 *cdb, unsigned int len, size_t in_len,
		       const void *out, size_t out_len)
{
	struct cmd *c = mk(cdb, len, in_len, out, out_len);

	if (!scsi_lun__submit(l, &c->r))
		wait_cmd(c);
	return c;
}

static u32 sense_of(struct cmd *c)
{
	return c->r.status == SAM_STAT_CHECK_CONDITION ? scsi_sense__code(c->r.sense, c->r.sense_len)
						       : SC_NONE;
}

/* run and expect GOOD; returns the command */
static struct cmd *ok(struct scsi_lun *l, const u8 *cdb, unsigned int len, size_t in_len,
		      const void *out, size_t out_len)
{
	struct cmd *c = run(l, cdb, len, in_len, out, out_len);

	if (c->r.status != SAM_STAT_GOOD || c->r.response != SCSI_RESP_OK)
		fail_msg("opcode %#x: status %#x response %u sense %06x", cdb[0], c->r.status,
			 c->r.response, sense_of(c));
	return c;
}

static void expect_sense(struct scsi_lun *l, const u8 *cdb, unsigned int len, size_t in_len,
			 const void *out, size_t out_len, u32 sc)
{
	struct cmd *c = run(l, cdb, len, in_len, out, out_len);

	assert_int_equal(c->r.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(sense_of(c), sc);
	free(c);
}

static char tmpl[64];

static int tmpfile_of(size_t size)
{
	int fd;

	strcpy(tmpl, "/tmp/test-scsi.XXXXXX");
	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	unlink(tmpl);
	assert_int_equal(ftruncate(fd, size), 0);
	return fd;
}

static struct scsi_identity ident(void)
{
	struct scsi_identity id;

	scsi_ident__set(&id, "DPVM", "Virtual disk", "0001", "SER123", 0x5000c50000000001ULL);
	return id;
}

static bool no_aio;	/* reads and writes on the workers instead of io_uring */

static struct scsi_lun *disk(int fd, bool ro, u32 bs)
{
	struct sbc_params p = { .fd = fd, .path = "test.img", .readonly = ro, .block_size = bs,
				.workers = 2, .no_aio = no_aio };
	struct scsi_identity id = ident();
	struct scsi_lun *l = sbc__create(&p, &id, "d0", 0, 0, "disk");

	assert_non_null(l);
	return l;
}

/* ---- CDB decoding ---- */

static void test_cdb_lengths(void **state __unused)
{
	u8 c[16] = { 0 };

	for (unsigned int op = 0; op < 256; op++) {
		unsigned int want;

		c[0] = op;
		switch (op >> 5) {
		case 0: want = 6; break;
		case 1: case 2: want = 10; break;
		case 4: want = 16; break;
		case 5: want = 12; break;
		default: want = 0;
		}
		if (op == 0x7f)
			continue;
		assert_int_equal(scsi_cdb__len(c, 16), want);
	}
	/* variable length: 8 + additional length, a multiple of 4 */
	c[0] = 0x7f;
	c[7] = 24;
	assert_int_equal(scsi_cdb__len(c, 16), 32);
	c[7] = 25;
	assert_int_equal(scsi_cdb__len(c, 16), 0);
	assert_int_equal(scsi_cdb__len(c, 0), 0);
}

static void test_cdb_decode_rw(void **state __unused)
{
	struct scsi_cdb d;
	u8 r6[6] = { OP_READ_6, 0x1f, 0xff, 0xff, 0, 0 };
	u8 w6[6] = { OP_WRITE_6, 0x00, 0x00, 0x10, 8, 0 };
	u8 r10[10] = { OP_READ_10, 0x18, 0x12, 0x34, 0x56, 0x78, 0, 0x01, 0x00, 0 };
	u8 r12[12] = { OP_READ_12, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0 };
	u8 w16[16] = { OP_WRITE_16, 0x08, 0x01, 0, 0, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0 };
	u8 rp[10] = { OP_READ_10, 0x20 };

	assert_int_equal(scsi_cdb__decode(r6, 6, &d), 0);
	assert_true(d.known && d.rw);
	assert_int_equal(d.lba, 0x1fffff);
	assert_int_equal(d.nblocks, 256);	/* 0 means 256 in a 6-byte CDB */
	assert_int_equal(d.dir, SCSI_DIR_IN);
	assert_int_equal(scsi_cdb__xfer_bytes(&d, 512), 256 * 512);
	assert_int_equal(scsi_cdb__decode(w6, 6, &d), 0);
	assert_int_equal(d.lba, 0x10);
	assert_int_equal(d.nblocks, 8);
	assert_int_equal(d.dir, SCSI_DIR_OUT);
	assert_int_equal(scsi_cdb__decode(r10, 10, &d), 0);
	assert_int_equal(d.lba, 0x12345678);
	assert_int_equal(d.nblocks, 256);
	assert_true(d.dpo && d.fua);
	assert_int_equal(d.len, 10);
	assert_int_equal(scsi_cdb__decode(r12, 12, &d), 0);
	assert_int_equal(d.lba, 1);
	assert_int_equal(d.nblocks, 0x10000);
	assert_int_equal(scsi_cdb__decode(w16, 16, &d), 0);
	assert_int_equal(d.lba, 0x0100000000000002ULL);
	assert_int_equal(d.nblocks, 0x100);
	assert_true(d.fua);
	assert_int_equal(d.dir, SCSI_DIR_OUT);
	assert_int_equal(scsi_cdb__xfer_bytes(&d, 4096), 0x100ULL * 4096);
	assert_int_equal(scsi_cdb__decode(rp, 10, &d), 0);
	assert_int_equal(d.protect, 1);
	/* zero blocks: no data either way */
	r10[7] = r10[8] = 0;
	assert_int_equal(scsi_cdb__decode(r10, 10, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_NONE);
	/* the largest transfer does not overflow */
	memset(w16 + 10, 0xff, 4);
	assert_int_equal(scsi_cdb__decode(w16, 16, &d), 0);
	assert_int_equal(scsi_cdb__xfer_bytes(&d, 4096), 0xffffffffULL * 4096);
}

static void test_cdb_decode_other(void **state __unused)
{
	struct scsi_cdb d;
	u8 inq[6] = { OP_INQUIRY, 1, 0x83, 0x01, 0x00, 0 };
	u8 ms6[6] = { OP_MODE_SENSE_6, 0, 0x3f, 0, 0xc0, 0 };
	u8 ms10[10] = { OP_MODE_SENSE_10, 0, 0x08, 0, 0, 0, 0, 0x01, 0x02, 0 };
	u8 msel[6] = { OP_MODE_SELECT_6, 0x10, 0, 0, 24, 0 };
	u8 unmap[10] = { OP_UNMAP, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
	u8 rl[12] = { OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	u8 rc16[16] = { OP_SERVICE_ACTION_IN_16, SAI_READ_CAPACITY_16, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0, 32, 0, 0 };
	u8 v10[10] = { OP_VERIFY_10, 0x02, 0, 0, 0, 9, 0, 0, 4, 0 };
	u8 ws16[16] = { OP_WRITE_SAME_16, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0 };
	u8 ws10[10] = { OP_WRITE_SAME_10, 0x08, 0, 0, 0, 0, 0, 0, 16, 0 };
	u8 sync[10] = { OP_SYNCHRONIZE_CACHE_10, 0, 0, 0, 0, 1, 0, 0, 2, 0 };
	u8 tur[6] = { 0 };
	u8 vendor[10] = { 0xc5 };
	u8 toc[10] = { OP_READ_TOC, 2, 0, 0, 0, 0, 0, 0, 20, 0 };
	u8 mech[12] = { OP_MECHANISM_STATUS, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0 };

	assert_int_equal(scsi_cdb__decode(inq, 6, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_IN);
	assert_int_equal(d.xfer, 256);
	assert_false(d.in_blocks);
	assert_int_equal(scsi_cdb__decode(ms6, 6, &d), 0);
	assert_int_equal(d.xfer, 0xc0);
	assert_int_equal(scsi_cdb__decode(ms10, 10, &d), 0);
	assert_int_equal(d.xfer, 0x102);
	assert_int_equal(scsi_cdb__decode(msel, 6, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_OUT);
	assert_int_equal(d.xfer, 24);
	assert_int_equal(scsi_cdb__decode(unmap, 10, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_OUT);
	assert_int_equal(d.xfer, 24);
	assert_int_equal(scsi_cdb__decode(rl, 12, &d), 0);
	assert_int_equal(d.xfer, 256);
	assert_int_equal(scsi_cdb__decode(rc16, 16, &d), 0);
	assert_int_equal(d.sa, SAI_READ_CAPACITY_16);
	assert_int_equal(d.xfer, 32);
	/* VERIFY with BYTCHK=1: the blocks come out; BYTCHK=0: nothing; 3: one block */
	assert_int_equal(scsi_cdb__decode(v10, 10, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_OUT);
	assert_int_equal(d.xfer, 4);
	assert_true(d.in_blocks);
	v10[1] = 0;
	assert_int_equal(scsi_cdb__decode(v10, 10, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_NONE);
	v10[1] = 0x06;
	assert_int_equal(scsi_cdb__decode(v10, 10, &d), 0);
	assert_int_equal(d.xfer, 1);
	/* WRITE SAME: one block out, none with NDOB */
	assert_int_equal(scsi_cdb__decode(ws16, 16, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_NONE);
	assert_int_equal(d.nblocks, 16);
	assert_int_equal(scsi_cdb__decode(ws10, 10, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_OUT);
	assert_int_equal(d.xfer, 1);
	assert_true(d.in_blocks);
	assert_int_equal(scsi_cdb__decode(sync, 10, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_NONE);
	assert_int_equal(d.lba, 1);
	assert_int_equal(d.nblocks, 2);
	assert_int_equal(scsi_cdb__decode(tur, 6, &d), 0);
	assert_int_equal(d.dir, SCSI_DIR_NONE);
	assert_int_equal(scsi_cdb__decode(toc, 10, &d), 0);
	assert_int_equal(d.xfer, 20);
	assert_int_equal(scsi_cdb__decode(mech, 12, &d), 0);
	assert_int_equal(d.xfer, 8);
	/* vendor specific: length unknown */
	assert_int_equal(scsi_cdb__decode(vendor, 10, &d), -EINVAL);
	/* the CDB field is shorter than the opcode's CDB */
	assert_int_equal(scsi_cdb__decode(rc16, 12, &d), -EINVAL);
	assert_int_equal(scsi_cdb__decode(rc16, 0, &d), -EINVAL);
	/* an opcode the decoder does not know */
	tur[0] = 0x1c;	/* RECEIVE DIAGNOSTIC RESULTS */
	assert_int_equal(scsi_cdb__decode(tur, 6, &d), 0);
	assert_false(d.known);
}

/* ---- sense ---- */

static void test_sense(void **state __unused)
{
	u8 s[64];
	unsigned int n;
	char name[64];

	n = scsi_sense__build(s, sizeof(s), false, SC_READ_ERROR, true, 0x1234, SENSE_NO_FIELD, false);
	assert_int_equal(n, 18);
	assert_int_equal(s[0], 0xf0);	/* valid, current, fixed */
	assert_int_equal(s[2], SK_MEDIUM_ERROR);
	assert_int_equal(get_be32(s + 3), 0x1234);
	assert_int_equal(s[7], 10);
	assert_int_equal(s[12], 0x11);
	assert_int_equal(scsi_sense__code(s, n), SC_READ_ERROR);
	/* a field pointer: byte 2, bit 5 of the CDB */
	n = scsi_sense__build(s, sizeof(s), false, SC_INVALID_FIELD_CDB, false, 0, 2 << 3 | 5, true);
	assert_int_equal(s[0], 0x70);
	assert_int_equal(s[15], 0x80 | 0x40 | 0x08 | 5);
	assert_int_equal(get_be16(s + 16), 2);
	/* descriptor format with information and a field pointer */
	n = scsi_sense__build(s, sizeof(s), true, SC_LBA_OUT_OF_RANGE, true, 0x123456789aULL,
			      4 << 3 | 1, true);
	assert_int_equal(s[0], 0x72);
	assert_int_equal(s[1], SK_ILLEGAL_REQUEST);
	assert_int_equal(s[2], 0x21);
	assert_int_equal(s[7], n - 8);
	assert_int_equal(s[8], 0x00);
	assert_int_equal(get_be64(s + 12), 0x123456789aULL);
	assert_int_equal(s[20], 0x02);
	assert_int_equal(scsi_sense__code(s, n), SC_LBA_OUT_OF_RANGE);
	/* truncated to the buffer */
	assert_int_equal(scsi_sense__build(s, 8, false, SC_READ_ERROR, false, 0, SENSE_NO_FIELD, false), 8);
	assert_int_equal(scsi_sense__code(s, 0), SC_NONE);
	assert_string_equal(scsi_sense__name(SC_READ_ERROR, name, sizeof(name)), "MEDIUM ERROR (11/00)");
	assert_int_equal(scsi_errno_sense(EIO, false), SC_READ_ERROR);
	assert_int_equal(scsi_errno_sense(EIO, true), SC_WRITE_ERROR);
	assert_int_equal(scsi_errno_sense(ENOSPC, true), SC_SPACE_ALLOC_FAILED);
	assert_int_equal(scsi_errno_sense(EROFS, true), SC_WRITE_PROTECTED);
	assert_int_equal(scsi_errno_sense(EINVAL, true), SC_INTERNAL_FAILURE);
}

/* ---- the request walker ---- */

static void test_walker_split(void **state __unused)
{
	u8 out[19 + 32 + 100], in[12 + 96 + 200];
	struct iovec iov[8], store[10];
	struct vscsi_split s;
	const u32 cdb_size = 32, sense_size = 96;

	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = i;
	out[0] = 1;
	out[1] = 3;
	out[2] = 0x40;
	out[3] = 5;
	memset(out + 4, 0, 4);
	/* every split point of the readable part, and of the writable part */
	for (unsigned int cut = 1; cut < sizeof(out); cut += 7) {
		for (unsigned int wcut = 1; wcut < sizeof(in); wcut += 13) {
			iov[0] = (struct iovec){ out, cut };
			iov[1] = (struct iovec){ out + cut, sizeof(out) - cut };
			iov[2] = (struct iovec){ in, wcut };
			iov[3] = (struct iovec){ in + wcut, sizeof(in) - wcut };
			assert_int_equal(vscsi_split(iov, 2, 2, cdb_size, sense_size, store, &s), 0);
			assert_memory_equal(s.lun, out, 8);
			assert_int_equal(s.cdb_len, 32);
			assert_memory_equal(s.cdb, out + 19, 32);
			assert_int_equal(s.out_len, 100);
			assert_int_equal(s.resp_len, 12 + 96);
			assert_int_equal(s.in_len, 200);
			/* the data parts start right after the headers */
			assert_ptr_equal(s.out[0].iov_base, out + 51);
			assert_ptr_equal(s.resp[0].iov_base, in);
			assert_ptr_equal(s.in[0].iov_base, in + 108);
			{
				size_t t = 0;

				for (unsigned int i = 0; i < s.nout; i++)
					t += s.out[i].iov_len;
				assert_int_equal(t, 100);
				t = 0;
				for (unsigned int i = 0; i < s.nin; i++)
					t += s.in[i].iov_len;
				assert_int_equal(t, 200);
			}
		}
	}
	{
		u8 target;
		u16 lun;

		assert_int_equal(vscsi_lun_decode(s.lun, &target, &lun), 0);
		assert_int_equal(target, 3);
		assert_int_equal(lun, 5);
	}
}

static void test_walker_short(void **state __unused)
{
	u8 out[64] = { 1 }, in[256];
	struct iovec iov[4], store[6];
	struct vscsi_split s;
	u8 t;
	u16 l;

	/* the readable part is one byte short of header + CDB */
	iov[0] = (struct iovec){ out, 19 + 32 - 1 };
	iov[1] = (struct iovec){ in, sizeof(in) };
	assert_int_equal(vscsi_split(iov, 1, 1, 32, 96, store, &s), -EINVAL);
	/* no room for the response and sense */
	iov[0] = (struct iovec){ out, 19 + 32 };
	iov[1] = (struct iovec){ in, 12 + 96 - 1 };
	assert_int_equal(vscsi_split(iov, 1, 1, 32, 96, store, &s), -EINVAL);
	/* no writable part at all */
	assert_int_equal(vscsi_split(iov, 1, 0, 32, 96, store, &s), -EINVAL);
	/* exactly enough: no data either way */
	iov[1] = (struct iovec){ in, 12 + 96 };
	assert_int_equal(vscsi_split(iov, 1, 1, 32, 96, store, &s), 0);
	assert_int_equal(s.nout + s.nin, 0);
	assert_int_equal(s.out_len + s.in_len, 0);
	/* a huge CDB size is bounded by what the request holds */
	assert_int_equal(vscsi_split(iov, 1, 1, 0xffffffffu, 96, store, &s), -EINVAL);
	/* LUN addressing */
	{
		u8 lun[8] = { 1, 7, 0, 9 }, bad[8] = { 2, 0, 0, 0 }, flat[8] = { 1, 1, 0x41, 0x02 };
		u8 odd[8] = { 1, 1, 0x80, 0, 0, 0, 0, 0 }, tail[8] = { 1, 0, 0, 0, 0, 0, 0, 1 };

		assert_int_equal(vscsi_lun_decode(lun, &t, &l), 0);
		assert_int_equal(t, 7);
		assert_int_equal(l, 9);
		assert_int_equal(vscsi_lun_decode(bad, &t, &l), -1);
		assert_int_equal(vscsi_lun_decode(flat, &t, &l), 0);
		assert_int_equal(l, 0x102);
		assert_int_equal(vscsi_lun_decode(odd, &t, &l), 0);
		assert_int_equal(l, 0xffff);
		assert_int_equal(vscsi_lun_decode(tail, &t, &l), 0);
		assert_int_equal(l, 0xffff);
	}
}

/* ---- the emulated disk ---- */

static void test_sbc_inquiry(void **state __unused)
{
	int fd = tmpfile_of(8 << 20);
	struct scsi_lun *l = disk(fd, false, 512);
	u8 std[6] = { OP_INQUIRY, 0, 0, 0, 96, 0 };
	u8 vpd[6] = { OP_INQUIRY, 1, 0, 0, 255, 0 };
	struct cmd *c;

	c = ok(l, std, 6, 96, NULL, 0);
	assert_int_equal(c->r.in_done, 96);
	assert_int_equal(c->data[0], 0);		/* disk, qualifier 0 */
	assert_int_equal(c->data[2], 6);		/* SPC-4 */
	assert_int_equal(c->data[7] & 2, 2);	/* CMDQUE */
	assert_memory_equal(c->data + 8, "DPVM    Virtual disk    0001", 28);
	free(c);
	/* a short allocation length truncates */
	std[4] = 5;
	c = ok(l, std, 6, 5, NULL, 0);
	assert_int_equal(c->r.in_done, 5);
	free(c);
	/* page 0 lists 00 80 83 b0 b1 b2 */
	c = ok(l, vpd, 6, 255, NULL, 0);
	assert_int_equal(c->data[1], 0);
	assert_int_equal(get_be16(c->data + 2), 6);
	assert_memory_equal(c->data + 4, "\x00\x80\x83\xb0\xb1\xb2", 6);
	free(c);
	vpd[2] = 0x80;
	c = ok(l, vpd, 6, 255, NULL, 0);
	assert_int_equal(get_be16(c->data + 2), 6);
	assert_memory_equal(c->data + 4, "SER123", 6);
	free(c);
	vpd[2] = 0x83;
	c = ok(l, vpd, 6, 255, NULL, 0);
	assert_int_equal(c->data[4], 0x01);	/* binary */
	assert_int_equal(c->data[5], 0x03);	/* NAA, LUN */
	assert_int_equal(c->data[7], 8);
	assert_int_equal(get_be64(c->data + 8), 0x5000c50000000001ULL);
	assert_int_equal(c->data[17], 0x01);	/* T10 vendor id */
	assert_memory_equal(c->data + 20, "DPVM    SER123", 14);
	free(c);
	vpd[2] = 0xb0;
	c = ok(l, vpd, 6, 255, NULL, 0);
	assert_int_equal(get_be16(c->data + 2), 0x3c);
	assert_int_equal(get_be32(c->data + 8), (8 << 20) / 512);	/* max transfer */
	assert_true(get_be32(c->data + 20) > 0);			/* max unmap LBA count */
	assert_true(get_be64(c->data + 36) > 0);			/* max write same */
	free(c);
	vpd[2] = 0xb1;
	c = ok(l, vpd, 6, 255, NULL, 0);
	assert_int_equal(get_be16(c->data + 4), 1);			/* non-rotating */
	free(c);
	vpd[2] = 0xb2;
	c = ok(l, vpd, 6, 255, NULL, 0);
	assert_int_equal(c->data[5] & 0xe0, 0xe0);		/* LBPU, LBPWS, LBPWS10 */
	free(c);
	/* an unknown page, CMDDT, and a page code without EVPD */
	vpd[2] = 0x99;
	expect_sense(l, vpd, 6, 255, NULL, 0, SC_INVALID_FIELD_CDB);
	vpd[1] = 3;
	expect_sense(l, vpd, 6, 255, NULL, 0, SC_INVALID_FIELD_CDB);
	std[2] = 0x80;
	std[4] = 96;
	expect_sense(l, std, 6, 96, NULL, 0, SC_INVALID_FIELD_CDB);
	scsi_lun__destroy(l);
}

static void test_sbc_capacity(void **state __unused)
{
	int fd = tmpfile_of((8 << 20) + 100);	/* a partial block at the end is not visible */
	struct scsi_lun *l = disk(fd, false, 512), *l4;
	u8 rc10[10] = { OP_READ_CAPACITY_10 };
	u8 rc16[16] = { OP_SERVICE_ACTION_IN_16, SAI_READ_CAPACITY_16, 0, 0, 0, 0, 0, 0, 0, 0,
			0, 0, 0, 32, 0, 0 };
	struct cmd *c;

	c = ok(l, rc10, 10, 8, NULL, 0);
	assert_int_equal(get_be32(c->data), 16383);
	assert_int_equal(get_be32(c->data + 4), 512);
	free(c);
	c = ok(l, rc16, 16, 32, NULL, 0);
	assert_int_equal(get_be64(c->data), 16383);
	assert_int_equal(get_be32(c->data + 8), 512);
	assert_int_equal(c->data[13], 3);		/* 4 KiB physical blocks */
	assert_int_equal(c->data[14] & 0xc0, 0xc0);	/* LBPME, LBPRZ */
	free(c);
	/* an LBA without PMI */
	rc10[5] = 1;
	expect_sense(l, rc10, 10, 8, NULL, 0, SC_INVALID_FIELD_CDB);
	scsi_lun__destroy(l);
	l4 = disk(tmpfile_of(8 << 20), false, 4096);
	c = ok(l4, rc16, 16, 32, NULL, 0);
	assert_int_equal(get_be64(c->data), 2047);
	assert_int_equal(get_be32(c->data + 8), 4096);
	assert_int_equal(c->data[13], 0);
	free(c);
	scsi_lun__destroy(l4);
}

static void test_sbc_rw(void **state __unused)
{
	int fd = tmpfile_of(1 << 20);
	struct scsi_lun *l = disk(fd, false, 512);
	u8 w10[10] = { OP_WRITE_10, 0, 0, 0, 0, 10, 0, 0, 4, 0 };
	u8 r16[16] = { OP_READ_16, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 4, 0, 0 };
	u8 w6[6] = { OP_WRITE_6, 0, 0, 20, 1, 0 };
	u8 r12[12] = { OP_READ_12, 0, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0 };
	u8 buf[2048], file[2048];
	struct cmd *c;

	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = i * 7 + 3;
	c = ok(l, w10, 10, 0, buf, 2048);
	assert_int_equal(c->r.out_done, 2048);
	free(c);
	assert_int_equal(pread(fd, file, 2048, 10 * 512), 2048);
	assert_memory_equal(file, buf, 2048);
	c = ok(l, r16, 16, 2048, NULL, 0);
	assert_int_equal(c->r.in_done, 2048);
	assert_memory_equal(c->data, buf, 2048);
	free(c);
	c = ok(l, w6, 6, 0, buf + 512, 512);
	free(c);
	c = ok(l, r12, 12, 512, NULL, 0);
	assert_memory_equal(c->data, buf + 512, 512);
	free(c);
	/* the last block, then one past it */
	w10[5] = 0;
	put_be32(w10 + 2, 2047);
	put_be16(w10 + 7, 1);
	free(ok(l, w10, 10, 0, buf, 512));
	put_be32(w10 + 2, 2047);
	put_be16(w10 + 7, 2);
	expect_sense(l, w10, 10, 0, buf, 1024, SC_LBA_OUT_OF_RANGE);
	put_be32(w10 + 2, 0xffffffff);
	put_be16(w10 + 7, 0xffff);
	expect_sense(l, w10, 10, 0, buf, 512, SC_LBA_OUT_OF_RANGE);
	/* huge LBAs in READ 16 do not wrap */
	put_be64(r16 + 2, 0xffffffffffffffffULL);
	put_be32(r16 + 10, 2);
	expect_sense(l, r16, 16, 1024, NULL, 0, SC_LBA_OUT_OF_RANGE);
	/* RDPROTECT without protection information */
	r16[1] = 0x20;
	put_be64(r16 + 2, 0);
	expect_sense(l, r16, 16, 1024, NULL, 0, SC_INVALID_FIELD_CDB);
	/* zero blocks: nothing moves */
	r16[1] = 0;
	put_be32(r16 + 10, 0);
	c = ok(l, r16, 16, 0, NULL, 0);
	assert_int_equal(c->r.in_done, 0);
	free(c);
	/* an unknown opcode */
	{
		u8 bad[6] = { 0x1c };

		expect_sense(l, bad, 6, 0, NULL, 0, SC_INVALID_OPCODE);
	}
	scsi_lun__destroy(l);
}

static void test_sbc_readonly_and_stop(void **state __unused)
{
	int fd = tmpfile_of(1 << 20);
	struct scsi_lun *l = disk(fd, true, 512);
	u8 w10[10] = { OP_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	u8 ms6[6] = { OP_MODE_SENSE_6, 0x08, 0x08, 0, 0xff, 0 };
	u8 sss[6] = { OP_START_STOP_UNIT, 0, 0, 0, 0, 0 };
	u8 tur[6] = { 0 }, rs[6] = { OP_REQUEST_SENSE, 0, 0, 0, 18, 0 };
	u8 r10[10] = { OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	u8 buf[512] = { 1 };
	struct cmd *c;

	expect_sense(l, w10, 10, 0, buf, 512, SC_WRITE_PROTECTED);
	c = ok(l, ms6, 6, 255, NULL, 0);
	assert_int_equal(c->data[2] & 0x80, 0x80);	/* WP */
	assert_int_equal(c->data[3], 0);		/* DBD: no block descriptor */
	assert_int_equal(c->data[4], 0x08);		/* caching page */
	free(c);
	/* STOP: media access is NOT READY until START */
	free(ok(l, sss, 6, 0, NULL, 0));
	expect_sense(l, tur, 6, 0, NULL, 0, SC_NEEDS_START);
	expect_sense(l, r10, 10, 512, NULL, 0, SC_NEEDS_START);
	c = ok(l, rs, 6, 18, NULL, 0);
	assert_int_equal(scsi_sense__code(c->data, 18), SC_NEEDS_START);
	free(c);
	sss[4] = 1;
	free(ok(l, sss, 6, 0, NULL, 0));
	free(ok(l, tur, 6, 0, NULL, 0));
	/* LOEJ on a fixed disk */
	sss[4] = 2;
	expect_sense(l, sss, 6, 0, NULL, 0, SC_INVALID_FIELD_CDB);
	scsi_lun__destroy(l);
}

static void test_sbc_unit_attention(void **state __unused)
{
	struct scsi_lun *l = disk(tmpfile_of(1 << 20), false, 512);
	u8 tur[6] = { 0 }, inq[6] = { OP_INQUIRY, 0, 0, 0, 36, 0 };
	u8 rs[6] = { OP_REQUEST_SENSE, 1, 0, 0, 32, 0 };
	struct cmd *c;

	scsi_lun__add_ua(l, SC_POWER_ON_RESET);
	scsi_lun__add_ua(l, SC_CAPACITY_CHANGED);
	scsi_lun__add_ua(l, SC_CAPACITY_CHANGED);	/* a duplicate is dropped */
	/* INQUIRY is not stopped by a unit attention */
	free(ok(l, inq, 6, 36, NULL, 0));
	expect_sense(l, tur, 6, 0, NULL, 0, SC_POWER_ON_RESET);
	/* REQUEST SENSE reports (and clears) the next one, in descriptor format */
	c = ok(l, rs, 6, 32, NULL, 0);
	assert_int_equal(c->data[0], 0x72);
	assert_int_equal(scsi_sense__code(c->data, c->r.in_done), SC_CAPACITY_CHANGED);
	free(c);
	free(ok(l, tur, 6, 0, NULL, 0));
	/* LUN reset: the unit attention of a reset */
	scsi_lun__reset(l, SC_DEVICE_RESET);
	expect_sense(l, tur, 6, 0, NULL, 0, SC_DEVICE_RESET);
	scsi_lun__destroy(l);
}

static void test_sbc_write_same_unmap(void **state __unused)
{
	int fd = tmpfile_of(1 << 20);
	struct scsi_lun *l = disk(fd, false, 512);
	u8 ws10[10] = { OP_WRITE_SAME_10, 0, 0, 0, 0, 8, 0, 0, 4, 0 };
	u8 ws16[16] = { OP_WRITE_SAME_16, 0x09, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0 };
	u8 unmap[10] = { OP_UNMAP, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
	u8 block[512], param[24] = { 0 }, file[2048];
	struct stat st;

	memset(block, 0xab, sizeof(block));
	free(ok(l, ws10, 10, 0, block, 512));
	assert_int_equal(pread(fd, file, 2048, 8 * 512), 2048);
	for (unsigned int i = 0; i < 2048; i++)
		assert_int_equal(file[i], 0xab);
	/* WRITE SAME (16) with UNMAP and NDOB: the blocks read as zeros */
	free(ok(l, ws16, 16, 0, NULL, 0));
	assert_int_equal(pread(fd, file, 1024, 8 * 512), 1024);
	for (unsigned int i = 0; i < 1024; i++)
		assert_int_equal(file[i], 0);
	assert_int_equal(file[1024 - 1], 0);
	assert_int_equal(pread(fd, file, 512, 10 * 512), 512);
	assert_int_equal(file[0], 0xab);		/* beyond the range: untouched */
	/* zero blocks is not "to the end" (WSNZ) */
	ws10[8] = 0;
	expect_sense(l, ws10, 10, 0, block, 512, SC_INVALID_FIELD_CDB);
	/* UNMAP one range, check a second out of range fails the whole list */
	memset(file, 0x5a, 4096 > sizeof(file) ? sizeof(file) : 2048);
	assert_int_equal(pwrite(fd, file, 2048, 64 * 512), 2048);
	put_be16(param, 22);
	put_be16(param + 2, 16);
	put_be64(param + 8, 64);
	put_be32(param + 16, 4);
	free(ok(l, unmap, 10, 0, param, 24));
	assert_int_equal(pread(fd, file, 2048, 64 * 512), 2048);
	for (unsigned int i = 0; i < 2048; i++)
		assert_int_equal(file[i], 0);
	put_be64(param + 8, 2047);
	put_be32(param + 16, 2);
	expect_sense(l, unmap, 10, 0, param, 24, SC_LBA_OUT_OF_RANGE);
	/* a block descriptor length that is not a multiple of 16 */
	put_be16(param + 2, 15);
	expect_sense(l, unmap, 10, 0, param, 24, SC_PARAM_LIST_LENGTH);
	/* the file keeps its size */
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	scsi_lun__destroy(l);
}

static void test_sbc_verify(void **state __unused)
{
	int fd = tmpfile_of(1 << 20);
	struct scsi_lun *l = disk(fd, false, 512);
	u8 v10[10] = { OP_VERIFY_10, 0x02, 0, 0, 0, 4, 0, 0, 2, 0 };
	u8 data[1024];
	struct cmd *c;

	memset(data, 0x11, sizeof(data));
	assert_int_equal(pwrite(fd, data, 1024, 4 * 512), 1024);
	free(ok(l, v10, 10, 0, data, 1024));
	data[700] = 0x12;
	c = run(l, v10, 10, 0, data, 1024);
	assert_int_equal(sense_of(c), SC_MISCOMPARE);
	assert_int_equal(get_be32(c->r.sense + 3), 700);	/* offset of the first difference */
	free(c);
	/* BYTCHK 0: the medium only; BYTCHK 3: one block against each */
	v10[1] = 0;
	free(ok(l, v10, 10, 0, NULL, 0));
	v10[1] = 0x06;
	free(ok(l, v10, 10, 0, data, 512));
	v10[1] = 0x04;		/* BYTCHK 2: reserved */
	expect_sense(l, v10, 10, 0, data, 512, SC_INVALID_FIELD_CDB);
	scsi_lun__destroy(l);
}

static void test_sbc_mode_pages(void **state __unused)
{
	struct scsi_lun *l = disk(tmpfile_of(1 << 20), false, 512);
	u8 ms10[10] = { OP_MODE_SENSE_10, 0x10, 0x3f, 0, 0, 0, 0, 0, 255, 0 };
	u8 ms6[6] = { OP_MODE_SENSE_6, 0, 0x08, 0, 255, 0 };
	u8 msel[6] = { OP_MODE_SELECT_6, 0x10, 0, 0, 0, 0 };
	u8 param[4 + 8 + 20];
	struct cmd *c;
	unsigned int n;

	/* all pages with a long LBA block descriptor */
	c = ok(l, ms10, 10, 255, NULL, 0);
	n = get_be16(c->data) + 2;
	assert_int_equal(c->r.in_done, n);
	assert_int_equal(c->data[3] & 0x10, 0x10);	/* DPOFUA */
	assert_int_equal(c->data[4], 1);		/* LONGLBA */
	assert_int_equal(get_be16(c->data + 6), 16);
	assert_int_equal(get_be64(c->data + 8), 2048);
	assert_int_equal(get_be32(c->data + 8 + 12), 512);
	assert_int_equal(c->data[24], 0x01);
	assert_int_equal(c->data[36], 0x08);
	assert_int_equal(c->data[38] & 4, 4);		/* WCE */
	assert_int_equal(c->data[56], 0x0a);
	free(c);
	/* caching page with a block descriptor: clear WCE through MODE SELECT */
	c = ok(l, ms6, 6, 255, NULL, 0);
	assert_int_equal(c->data[3], 8);
	memcpy(param, c->data, sizeof(param));
	free(c);
	param[0] = 0;
	param[12 + 2] &= ~4;
	msel[4] = sizeof(param);
	free(ok(l, msel, 6, 0, param, sizeof(param)));
	c = ok(l, ms6, 6, 255, NULL, 0);
	assert_int_equal(c->data[12 + 2] & 4, 0);
	free(c);
	/* changing a bit that is not changeable */
	param[12 + 3] ^= 0x80;
	expect_sense(l, msel, 6, 0, param, sizeof(param), SC_INVALID_FIELD_PARAM);
	param[12 + 3] ^= 0x80;
	/* another block length */
	put_be24(param + 4 + 5, 4096);
	expect_sense(l, msel, 6, 0, param, sizeof(param), SC_INVALID_FIELD_PARAM);
	/* saved values, unknown pages, subpages */
	ms6[2] = 0xc8;
	expect_sense(l, ms6, 6, 255, NULL, 0, SC_SAVING_NOT_SUPPORTED);
	ms6[2] = 0x1c;
	expect_sense(l, ms6, 6, 255, NULL, 0, SC_INVALID_FIELD_CDB);
	ms6[2] = 0x08;
	ms6[3] = 1;
	expect_sense(l, ms6, 6, 255, NULL, 0, SC_INVALID_FIELD_CDB);
	/* MODE SELECT without PF, with SP */
	msel[1] = 0;
	expect_sense(l, msel, 6, 0, param, sizeof(param), SC_INVALID_FIELD_CDB);
	msel[1] = 0x11;
	expect_sense(l, msel, 6, 0, param, sizeof(param), SC_SAVING_NOT_SUPPORTED);
	scsi_lun__destroy(l);
}

static void test_sbc_rsoc(void **state __unused)
{
	struct scsi_lun *l = disk(tmpfile_of(1 << 20), false, 512);
	u8 all[12] = { OP_MAINTENANCE_IN, MI_REPORT_SUPPORTED_OPCODES, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0 };
	u8 one[12] = { OP_MAINTENANCE_IN, MI_REPORT_SUPPORTED_OPCODES, 1, OP_WRITE_SAME_16, 0, 0,
		       0, 0, 0, 64, 0, 0 };
	struct cmd *c;
	bool ws16 = false;

	c = ok(l, all, 12, 512, NULL, 0);
	for (unsigned int o = 4; o < 4 + get_be32(c->data); o += 8)
		ws16 |= c->data[o] == OP_WRITE_SAME_16 && get_be16(c->data + o + 6) == 16;
	assert_true(ws16);
	free(c);
	c = ok(l, one, 12, 64, NULL, 0);
	assert_int_equal(c->data[1] & 7, 3);
	assert_int_equal(get_be16(c->data + 2), 16);
	assert_int_equal(c->data[4], OP_WRITE_SAME_16);
	free(c);
	one[3] = 0x1c;
	c = ok(l, one, 12, 64, NULL, 0);
	assert_int_equal(c->data[1] & 7, 1);		/* not supported */
	free(c);
	scsi_lun__destroy(l);
}

static unsigned int changed_calls;
static u32 changed_sc;
static void on_changed(struct scsi_lun *l __unused, u32 sc) { changed_calls++; changed_sc = sc; }

static void test_sbc_shrinking_file(void **state __unused)
{
	int fd = tmpfile_of(1 << 20);
	struct scsi_lun *l = disk(fd, false, 512);
	u8 r10[10] = { OP_READ_10, 0, 0, 0, 0x07, 0xf0, 0, 0, 8, 0 };	/* LBA 2032 */
	u8 w10[10] = { OP_WRITE_10, 0, 0, 0, 0x07, 0xf0, 0, 0, 8, 0 };
	u8 rc10[10] = { OP_READ_CAPACITY_10 }, tur[6] = { 0 };
	u8 buf[4096] = { 0x33 };
	struct stat st;
	struct cmd *c;

	l->changed = on_changed;
	changed_calls = 0;
	free(ok(l, r10, 10, 4096, NULL, 0));
	/* the file loses its last 64 KiB behind the guest's back */
	assert_int_equal(ftruncate(fd, (1 << 20) - 65536), 0);
	expect_sense(l, r10, 10, 4096, NULL, 0, SC_LBA_OUT_OF_RANGE);
	assert_int_equal(changed_calls, 1);
	assert_int_equal(changed_sc, SC_CAPACITY_CHANGED);
	assert_int_equal(sbc__capacity(l), ((1 << 20) - 65536) / 512);
	/* the guest hears of it */
	expect_sense(l, tur, 6, 0, NULL, 0, SC_CAPACITY_CHANGED);
	/* a write there does not grow the file back */
	expect_sense(l, w10, 10, 0, buf, 4096, SC_LBA_OUT_OF_RANGE);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (1 << 20) - 65536);
	c = ok(l, rc10, 10, 8, NULL, 0);
	assert_int_equal(get_be32(c->data), ((1 << 20) - 65536) / 512 - 1);
	free(c);
	/* it grows again: READ CAPACITY sees it */
	assert_int_equal(ftruncate(fd, 2 << 20), 0);
	c = ok(l, rc10, 10, 8, NULL, 0);
	assert_int_equal(get_be32(c->data), (2 << 20) / 512 - 1);
	free(c);
	assert_int_equal(changed_calls, 2);
	scsi_lun__destroy(l);
}

static void test_sbc_write_limit(void **state __unused)
{
	int fd = tmpfile_of(1 << 20);
	struct scsi_lun *l = disk(fd, false, 512);
	u8 w10[10] = { OP_WRITE_10, 0, 0, 0, 0x04, 0x00, 0, 0, 1, 0 };	/* at 512 KiB */
	u8 buf[512] = { 0x44 };
	struct rlimit old, lim;
	struct cmd *c;

	/* writes past RLIMIT_FSIZE fail with EFBIG: the guest gets DATA
	 * PROTECT, SPACE ALLOCATION FAILED (as for ENOSPC), nothing crashes */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = (struct rlimit){ 256 << 10, old.rlim_max };	/* the soft limit only */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	c = run(l, w10, 10, 0, buf, 512);
	setrlimit(RLIMIT_FSIZE, &old);
	assert_int_equal(c->r.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(sense_of(c), SC_SPACE_ALLOC_FAILED);
	free(c);
	/* below the limit it works */
	w10[4] = 0;
	free(ok(l, w10, 10, 0, buf, 512));
	scsi_lun__destroy(l);
}

/* ---- the emulated CD/DVD drive ---- */

static char *iso_path(size_t size, u8 fill)
{
	static char paths[2][64];
	static int k;
	char *p = paths[k++ & 1];
	int fd;
	u8 buf[2048];

	strcpy(p, "/tmp/test-scsi-iso.XXXXXX");
	fd = mkstemp(p);
	assert_true(fd >= 0);
	for (size_t o = 0; o < size; o += sizeof(buf)) {
		memset(buf, fill + o / 2048, sizeof(buf));
		assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	}
	close(fd);
	return p;
}

static void test_mmc(void **state __unused)
{
	char *one = iso_path(64 * 2048, 1), *err = NULL;
	struct scsi_identity id;
	struct scsi_lun *l;
	u8 tur[6] = { 0 }, inq[6] = { OP_INQUIRY, 0, 0, 0, 36, 0 };
	u8 rc[10] = { OP_READ_CAPACITY_10 };
	u8 r10[10] = { OP_READ_10, 0, 0, 0, 0, 3, 0, 0, 2, 0 };
	u8 toc[10] = { OP_READ_TOC, 0, 0, 0, 0, 0, 0, 0, 100, 0 };
	u8 gc[10] = { OP_GET_CONFIGURATION, 0, 0, 0, 0, 0, 0, 0x01, 0, 0 };
	u8 gesn[10] = { OP_GET_EVENT_STATUS, 1, 0, 0, 0x10, 0, 0, 0, 8, 0 };
	u8 pa[6] = { OP_PREVENT_ALLOW, 0, 0, 0, 1, 0 };
	u8 eject[6] = { OP_START_STOP_UNIT, 0, 0, 0, 2, 0 }, load[6] = { OP_START_STOP_UNIT, 0, 0, 0, 3, 0 };
	u8 ms10[10] = { OP_MODE_SENSE_10, 0, 0x2a, 0, 0, 0, 0, 0, 64, 0 };
	u8 mech[12] = { OP_MECHANISM_STATUS, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0 };
	u8 w10[10] = { OP_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	u8 blk[2048] = { 0 };
	struct cmd *c;

	scsi_ident__set(&id, "DPVM", "Virtual CD/DVD", "0001", "CD1", 0x3000000000000001ULL);
	l = mmc__create(one, &id, "cd0", 1, 0, 2, &err);
	assert_non_null(l);
	c = ok(l, inq, 6, 36, NULL, 0);
	assert_int_equal(c->data[0], 5);
	assert_int_equal(c->data[1], 0x80);	/* removable */
	free(c);
	free(ok(l, tur, 6, 0, NULL, 0));
	c = ok(l, rc, 10, 8, NULL, 0);
	assert_int_equal(get_be32(c->data), 63);
	assert_int_equal(get_be32(c->data + 4), 2048);
	free(c);
	c = ok(l, r10, 10, 4096, NULL, 0);
	assert_int_equal(c->data[0], 1 + 3);
	assert_int_equal(c->data[2048], 1 + 4);
	free(c);
	/* TOC: track 1 at 0, lead-out at 64; in MSF: 00:02:00 and 00:02:64 */
	c = ok(l, toc, 10, 100, NULL, 0);
	assert_int_equal(get_be16(c->data), 18);
	assert_int_equal(c->data[6], 1);
	assert_int_equal(get_be32(c->data + 8), 0);
	assert_int_equal(c->data[14], 0xaa);
	assert_int_equal(get_be32(c->data + 16), 64);
	free(c);
	toc[1] = 2;
	c = ok(l, toc, 10, 100, NULL, 0);
	assert_memory_equal(c->data + 16, "\x00\x00\x02\x40", 4);
	free(c);
	toc[6] = 5;	/* no track 5 */
	expect_sense(l, toc, 10, 100, NULL, 0, SC_INVALID_FIELD_CDB);
	/* GET CONFIGURATION: the current profile is CD-ROM */
	c = ok(l, gc, 10, 256, NULL, 0);
	assert_int_equal(get_be16(c->data + 6), 0x0008);
	assert_int_equal(get_be16(c->data + 8), 0x0000);	/* profile list first */
	free(c);
	/* events: nothing yet */
	c = ok(l, gesn, 10, 8, NULL, 0);
	assert_int_equal(c->data[2], 4);
	assert_int_equal(c->data[4], 0);
	assert_int_equal(c->data[5], 2);			/* medium present */
	free(c);
	gesn[1] = 0;	/* asynchronous: not supported */
	expect_sense(l, gesn, 10, 8, NULL, 0, SC_INVALID_FIELD_CDB);
	gesn[1] = 1;
	c = ok(l, ms10, 10, 64, NULL, 0);
	assert_int_equal(c->data[8], 0x2a);
	assert_int_equal(c->data[8 + 6] & 0x08, 0x08);	/* can eject */
	free(c);
	expect_sense(l, w10, 10, 0, blk, 2048, SC_WRITE_PROTECTED);
	/* the guest locks the tray: neither it nor the host can eject */
	free(ok(l, pa, 6, 0, NULL, 0));
	expect_sense(l, eject, 6, 0, NULL, 0, SC_REMOVAL_PREVENTED);
	assert_int_equal(mmc__change(l, NULL, false, &err), -EBUSY);
	assert_non_null(strstr(err, "locked"));
	free(err);
	err = NULL;
	c = ok(l, gesn, 10, 8, NULL, 0);
	assert_int_equal(c->data[4], 1);			/* eject request */
	free(c);
	/* unlocked, the guest ejects: tray open, no medium */
	pa[4] = 0;
	free(ok(l, pa, 6, 0, NULL, 0));
	free(ok(l, eject, 6, 0, NULL, 0));
	expect_sense(l, tur, 6, 0, NULL, 0, SC_NO_MEDIUM_TRAY_OPEN);
	expect_sense(l, r10, 10, 4096, NULL, 0, SC_NO_MEDIUM_TRAY_OPEN);
	c = ok(l, mech, 12, 8, NULL, 0);
	assert_int_equal(c->data[1] & 0x10, 0x10);
	free(c);
	c = ok(l, gesn, 10, 8, NULL, 0);
	assert_int_equal(c->data[4], 3);			/* media removal */
	assert_int_equal(c->data[5], 1);			/* tray open, no medium */
	free(c);
	/* it loads again: a unit attention, then the medium */
	free(ok(l, load, 6, 0, NULL, 0));
	expect_sense(l, tur, 6, 0, NULL, 0, SC_MEDIUM_CHANGED);
	free(ok(l, tur, 6, 0, NULL, 0));
	/* the host ejects and inserts another (a DVD-sized one would be slow
	 * to make; a CD is enough) */
	assert_int_equal(mmc__change(l, NULL, false, &err), 0);
	expect_sense(l, tur, 6, 0, NULL, 0, SC_NO_MEDIUM_TRAY_OPEN);
	{
		char *two = iso_path(16 * 2048, 9);

		assert_int_equal(mmc__change(l, two, false, &err), 0);
		expect_sense(l, tur, 6, 0, NULL, 0, SC_MEDIUM_CHANGED);
		c = ok(l, gesn, 10, 8, NULL, 0);
		assert_int_equal(c->data[4], 2);		/* new media */
		free(c);
		c = ok(l, rc, 10, 8, NULL, 0);
		assert_int_equal(get_be32(c->data), 15);
		free(c);
		r10[5] = 0;
		r10[8] = 1;
		c = ok(l, r10, 10, 2048, NULL, 0);
		assert_int_equal(c->data[0], 9);
		free(c);
		unlink(two);
	}
	/* a file that is not there, and one too small */
	assert_true(mmc__change(l, "/nonexistent.iso", false, &err) < 0);
	assert_non_null(strstr(err, "/nonexistent.iso"));
	free(err);
	scsi_lun__destroy(l);
	unlink(one);
}

/* ---- SG_IO passthrough through a fake device ---- */

static int fake_mode;		/* 0 normal, 1 EPERM, 2 host status, 3 slow */
static unsigned int fake_calls;
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fake_cond = PTHREAD_COND_INITIALIZER;
static bool fake_release;

static int fake_ioctl(int fd __unused, unsigned long req, void *arg)
{
	struct sg_io_hdr *h = arg;
	u8 *cdb = h->cmdp;
	u8 buf[256] = { 0 };
	unsigned int n = 0;

	assert_int_equal(req, SG_IO);
	__atomic_fetch_add(&fake_calls, 1, __ATOMIC_RELAXED);
	if (fake_mode == 1 && cdb[0] != OP_INQUIRY) {
		errno = EPERM;
		return -1;
	}
	if (fake_mode == 3 && cdb[0] == OP_READ_10) {
		pthread_mutex_lock(&fake_lock);
		while (!fake_release)
			pthread_cond_wait(&fake_cond, &fake_lock);
		pthread_mutex_unlock(&fake_lock);
	}
	h->status = 0;
	h->host_status = 0;
	h->sb_len_wr = 0;
	h->resid = 0;
	if (fake_mode == 2 && cdb[0] != OP_INQUIRY) {
		h->host_status = 0x03;	/* DID_TIME_OUT */
		return 0;
	}
	if (cdb[0] == OP_INQUIRY && !(cdb[1] & 1)) {
		buf[0] = 0;
		buf[2] = 6;
		memcpy(buf + 8, "REALVEND", 8);
		memcpy(buf + 16, "Real LUN        ", 16);
		memcpy(buf + 32, "R001", 4);
		n = 96;
	} else if (cdb[0] == OP_INQUIRY && cdb[2] == 0x80) {
		buf[1] = 0x80;
		buf[3] = 11;
		memcpy(buf + 4, "  SN-REAL-1", 11);
		n = 15;
	} else if (cdb[0] == OP_INQUIRY && cdb[2] == 0x83) {
		buf[1] = 0x83;
		buf[3] = 12;
		buf[4] = 1;
		buf[5] = 3;
		buf[7] = 8;
		put_be64(buf + 8, 0x5000c500deadbeefULL);
		n = 16;
	} else if (cdb[0] == OP_READ_10) {
		/* a medium error, with the device's own sense */
		static const u8 s[18] = { 0xf0, 0, 3, 0, 0, 0x12, 0x34, 10, 0, 0, 0, 0, 0x11, 0 };

		h->status = SAM_STAT_CHECK_CONDITION;
		memcpy(h->sbp, s, 18);
		h->sb_len_wr = 18;
		h->resid = h->dxfer_len;
		return 0;
	} else if (cdb[0] == OP_WRITE_10) {
		h->resid = 512;		/* one block short */
		return 0;
	}
	if (h->dxfer_direction == SG_DXFER_FROM_DEV && n) {
		unsigned int len = n < h->dxfer_len ? n : h->dxfer_len;

		if (h->iovec_count)
			buf_to_iov(h->dxferp, h->iovec_count, 0, buf, len);
		else
			memcpy(h->dxferp, buf, len);
		h->resid = h->dxfer_len - len;
	}
	return 0;
}

static struct scsi_lun *fake_lun(void)
{
	struct sgio_params p = { .fd = -1, .path = "/dev/fake", .workers = 2 };
	char *err = NULL;
	struct scsi_lun *l;

	sgio_ioctl = fake_ioctl;
	fake_mode = 0;
	p.fd = open("/dev/null", O_RDONLY);
	l = sgio__create(&p, "rdm0", 1, 0, &err);
	assert_non_null(l);
	return l;
}

static void test_sgio_passthrough(void **state __unused)
{
	struct scsi_lun *l = fake_lun();
	u8 inq[6] = { OP_INQUIRY, 0, 0, 0, 96, 0 };
	u8 r10[10] = { OP_READ_10, 0, 0, 0, 0x12, 0x34, 0, 0, 1, 0 };
	u8 w10[10] = { OP_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 2, 0 };
	u8 data[1024] = { 0 };
	struct cmd *c;

	/* the identity as read at creation */
	assert_string_equal(l->ident.vendor, "REALVEND");
	assert_string_equal(l->ident.product, "Real LUN");
	assert_string_equal(l->ident.serial, "SN-REAL-1");
	assert_string_equal(l->ident.wwn, "5000c500deadbeef");
	/* data comes back through the guest's buffer */
	c = ok(l, inq, 6, 96, NULL, 0);
	assert_memory_equal(c->data + 8, "REALVEND", 8);
	assert_int_equal(c->r.in_done, 96);
	free(c);
	/* status and sense unchanged */
	c = run(l, r10, 10, 512, NULL, 0);
	assert_int_equal(c->r.status, SAM_STAT_CHECK_CONDITION);
	assert_int_equal(c->r.sense_len, 18);
	assert_int_equal(sense_of(c), SC_READ_ERROR);
	assert_int_equal(get_be32(c->r.sense + 3), 0x1234);
	assert_int_equal(c->r.in_done, 0);
	free(c);
	/* the residual */
	c = ok(l, w10, 10, 0, data, 1024);
	assert_int_equal(c->r.out_done, 512);
	free(c);
	/* a transport failure becomes a virtio response */
	fake_mode = 2;
	c = run(l, w10, 10, 0, data, 1024);
	assert_int_equal(c->r.response, SCSI_RESP_ABORTED);
	free(c);
	/* SG_IO refused: ILLEGAL REQUEST, ACCESS DENIED */
	fake_mode = 1;
	expect_sense(l, w10, 10, 0, data, 1024, SC_ACCESS_DENIED);
	fake_mode = 0;
	scsi_lun__destroy(l);
	sgio_ioctl = NULL;
}

/* a LUN stuck in SG_IO does not hold up another LUN */
static void test_slow_lun(void **state __unused)
{
	struct scsi_lun *slow = fake_lun(), *fast = disk(tmpfile_of(1 << 20), false, 512);
	u8 r10[10] = { OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct cmd *stuck[2], *c;

	fake_mode = 3;
	fake_release = false;
	/* both of the slow LUN's workers block */
	stuck[0] = mk(r10, 10, 512, NULL, 0);
	stuck[1] = mk(r10, 10, 512, NULL, 0);
	assert_false(scsi_lun__submit(slow, &stuck[0]->r));
	assert_false(scsi_lun__submit(slow, &stuck[1]->r));
	/* a third one queues behind them and can be cancelled */
	c = mk(r10, 10, 512, NULL, 0);
	c->r.tag = 77;
	assert_false(scsi_lun__submit(slow, &c->r));
	while (__atomic_load_n(&slow->running, __ATOMIC_ACQUIRE) < 2)
		usleep(1000);
	assert_true(scsi_lun__busy_tag(slow, 77));
	/* meanwhile the other LUN serves reads */
	for (int i = 0; i < 20; i++)
		free(ok(fast, r10, 10, 512, NULL, 0));
	assert_int_equal(scsi_lun__cancel(slow, NULL, NULL, SCSI_RESP_ABORTED), 1);
	wait_cmd(c);
	assert_int_equal(c->r.response, SCSI_RESP_ABORTED);
	free(c);
	pthread_mutex_lock(&fake_lock);
	fake_release = true;
	pthread_cond_broadcast(&fake_cond);
	pthread_mutex_unlock(&fake_lock);
	wait_cmd(stuck[0]);
	wait_cmd(stuck[1]);
	scsi_lun__drain(slow);
	assert_int_equal(slow->running + slow->queued, 0);
	free(stuck[0]);
	free(stuck[1]);
	fake_mode = 0;
	scsi_lun__destroy(slow);
	scsi_lun__destroy(fast);
	sgio_ioctl = NULL;
}

/* the same I/O tests with the worker threads doing the reads and writes */
static void test_sbc_workers(void **state)
{
	no_aio = true;
	test_sbc_rw(state);
	test_sbc_shrinking_file(state);
	test_sbc_write_limit(state);
	test_slow_lun(state);
	no_aio = false;
}

static void test_identity(void **state __unused)
{
	u64 w;
	struct scsi_identity id;

	assert_int_equal(scsi_parse_wwn("0x5000c500a1b2c3d4", &w), 0);
	assert_int_equal(w, 0x5000c500a1b2c3d4ULL);
	assert_int_equal(scsi_parse_wwn("3000000000000001", &w), 0);
	assert_int_equal(scsi_parse_wwn("0x6000c500a1b2c3d4", &w), -1);	/* NAA 6 is 16 bytes */
	assert_int_equal(scsi_parse_wwn("0x5000c500a1b2c3d", &w), -1);
	assert_int_equal(scsi_parse_wwn("0x5000c500a1b2c3d4a", &w), -1);
	assert_int_equal(scsi_parse_wwn("0x5000c500a1b2c3dz", &w), -1);
	/* derived names are stable, locally assigned (NAA 3) */
	assert_int_equal(scsi_wwn_derive("vm:disk0"), scsi_wwn_derive("vm:disk0"));
	assert_true(scsi_wwn_derive("vm:disk0") != scsi_wwn_derive("vm:disk1"));
	assert_int_equal(scsi_wwn_derive("x") >> 60, 3);
	scsi_ident__set(&id, "A", "B", "C", "S", 0);
	assert_string_equal(id.wwn, "");
	assert_int_equal(id.desig_len, 4 + 8 + 1);
	scsi_ident__set(&id, "A", "B", "C", "S", 0x5000000000000002ULL);
	scsi_ident__find_wwn(&id);
	assert_string_equal(id.wwn, "5000000000000002");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cdb_lengths),
		cmocka_unit_test(test_cdb_decode_rw),
		cmocka_unit_test(test_cdb_decode_other),
		cmocka_unit_test(test_sense),
		cmocka_unit_test(test_walker_split),
		cmocka_unit_test(test_walker_short),
		cmocka_unit_test(test_sbc_inquiry),
		cmocka_unit_test(test_sbc_capacity),
		cmocka_unit_test(test_sbc_rw),
		cmocka_unit_test(test_sbc_readonly_and_stop),
		cmocka_unit_test(test_sbc_unit_attention),
		cmocka_unit_test(test_sbc_write_same_unmap),
		cmocka_unit_test(test_sbc_verify),
		cmocka_unit_test(test_sbc_mode_pages),
		cmocka_unit_test(test_sbc_rsoc),
		cmocka_unit_test(test_sbc_shrinking_file),
		cmocka_unit_test(test_sbc_write_limit),
		cmocka_unit_test(test_mmc),
		cmocka_unit_test(test_sgio_passthrough),
		cmocka_unit_test(test_slow_lun),
		cmocka_unit_test(test_sbc_workers),
		cmocka_unit_test(test_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
