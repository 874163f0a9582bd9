// SPDX-License-Identifier: GPL-2.0
/*
 * An emulated SBC-3 direct-access block device on a file or a host block
 * device: the backing of `scsi-disk` and of `scsi-rdm` in virtual
 * compatibility mode (which shows the real LUN's identity instead of
 * dpvm's).
 *
 * Commands: INQUIRY (VPD 0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2), READ CAPACITY
 * (10)/(16), READ/WRITE (6)/(10)/(12)/(16), WRITE AND VERIFY, VERIFY,
 * WRITE SAME (10)/(16), UNMAP, SYNCHRONIZE CACHE, MODE SENSE/SELECT (6)/(10)
 * (read-write error recovery, caching and control pages), TEST UNIT READY,
 * REQUEST SENSE, START STOP UNIT, REPORT SUPPORTED OPERATION CODES,
 * RESERVE/RELEASE (6), SEND DIAGNOSTIC (self-test).  REPORT LUNS is the
 * controller's.
 *
 * Errors are sense data: ILLEGAL REQUEST (bad opcode, field or LBA), MEDIUM
 * ERROR for EIO from the backing (with the LBA), DATA PROTECT on a
 * read-only disk or for ENOSPC, NOT READY after a STOP.  A backing file that
 * shrinks or grows changes the capacity: the guest gets CAPACITY DATA HAS
 * CHANGED, and no write lands past the file's end.
 */
#include "devices/scsi/scsi.h"
#include "devices/virtqueue.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_XFER_BYTES		(8ULL << 20)	/* per READ/WRITE: VPD B0 says so */
#define MAX_WS_BLOCKS		(1U << 22)	/* WRITE SAME */
#define MAX_UNMAP_BLOCKS	(1U << 22)
#define MAX_UNMAP_DESCS		64
#define CHUNK			(1U << 20)	/* scratch buffer for VERIFY and WRITE SAME */
#define AIO_ENTRIES		128		/* reads and writes in flight per LUN */

struct sbc {
	struct scsi_lun l;		/* first: scsi_lun__destroy frees it */
	const char *kind;
	int fd;
	char *path;
	bool readonly;
	bool direct;
	bool blockdev;
	bool rotational;
	u32 bs;
	u32 phys_exp;			/* logical blocks per physical block, log2 */
	u64 nblocks;			/* atomic: the capacity the guest was told */
	bool wce;			/* write cache enabled (MODE SELECT can clear it) */
	bool stopped;			/* START STOP UNIT with START=0 */
	struct scsi_aio *aio;		/* io_uring for reads and writes, or NULL */
};

/* a read or write in flight on the ring */
struct sbc_aio {
	struct scsi_aio_op op;
	struct sbc *s;
	struct scsi_req *r;
	bool write;
	int flags;
	u64 off;
	size_t left;
	unsigned int n;
	struct iovec iov[];
};

static struct sbc *to_sbc(struct scsi_lun *l) { return container_of(l, struct sbc, l); }
static u64 cap(struct sbc *s) { return __atomic_load_n(&s->nblocks, __ATOMIC_ACQUIRE); }

/* ---- I/O helpers (shared with mmc.c) ---- */

u32 scsi_errno_sense(int err, bool write)
{
	switch (err) {
	/* the block layer gives ENODATA for a medium error, EILSEQ for protection information */
	case EIO: case ENXIO: case EBADMSG: case ENODATA: case EREMOTEIO: case EILSEQ:
		return write ? SC_WRITE_ERROR : SC_READ_ERROR;
	case ENOSPC: case EDQUOT: case EFBIG:
		return SC_SPACE_ALLOC_FAILED;
	case EROFS: case EPERM: case EACCES:
		return SC_WRITE_PROTECTED;
	default:
		return SC_INTERNAL_FAILURE;
	}
}

static bool iov_aligned(const struct iovec *iov, unsigned int n, size_t a)
{
	for (unsigned int i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (a - 1))
			return false;
	return true;
}

int scsi_file_rw(int fd, bool write, const struct iovec *iov, unsigned int n, size_t skip,
		 size_t len, u64 off, int flags)
{
	struct iovec local[VIRTQ_MAX_SIZE];
	unsigned int k = scsi_iov_range(iov, n, skip, len, local, ARRAY_SIZE(local));

	return rw_all_iov(fd, write, local, k, off, flags);
}

/* I/O through an aligned bounce buffer, for O_DIRECT with guest buffers that
 * are not aligned */
static int rw_bounce(int fd, bool write, const struct iovec *iov, unsigned int n, size_t skip,
		     size_t len, u64 off, int flags)
{
	size_t done = 0;
	u8 *buf = aligned_alloc(4096, CHUNK);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (done < len && !ret) {
		size_t l = MIN(len - done, (size_t)CHUNK);
		struct iovec b = { buf, l };

		if (write)
			iov_to_buf(iov, n, skip + done, buf, l);
		ret = rw_all_iov(fd, write, &b, 1, off + done, flags);
		if (!ret && !write)
			buf_to_iov(iov, n, skip + done, buf, l);
		done += l;
	}
	free(buf);
	return ret;
}

static int sbc_rw(struct sbc *s, bool write, const struct iovec *iov, unsigned int n,
		  size_t skip, size_t len, u64 off, bool fua)
{
	int flags = write && (fua || !__atomic_load_n(&s->wce, __ATOMIC_RELAXED)) ? RWF_DSYNC : 0;
	struct iovec local[VIRTQ_MAX_SIZE];
	unsigned int k = scsi_iov_range(iov, n, skip, len, local, ARRAY_SIZE(local));

	if (s->direct && !iov_aligned(local, k, s->bs < 4096 ? 512 : 4096))
		return rw_bounce(s->fd, write, iov, n, skip, len, off, flags);
	return rw_all_iov(s->fd, write, local, k, off, flags);
}

/* the backing's size in blocks now */
static u64 backing_blocks(struct sbc *s)
{
	struct stat st;
	u64 size = 0;

	if (s->blockdev) {
		if (ioctl(s->fd, BLKGETSIZE64, &size) < 0)
			return cap(s);
	} else {
		if (fstat(s->fd, &st) < 0)
			return cap(s);
		size = st.st_size;
	}
	return size / s->bs;
}

/* re-read the size; if it changed, tell the guest (unit attention and the
 * controller's event).  Returns the current number of blocks. */
static u64 recheck_capacity(struct sbc *s)
{
	u64 now = backing_blocks(s), old = cap(s);

	if (now != old && __atomic_compare_exchange_n(&s->nblocks, &old, now, false,
						      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pr_warn("%s: %s changed size: %llu -> %llu blocks of %u bytes; the guest is told",
			s->l.name, s->path, (unsigned long long)old, (unsigned long long)now, s->bs);
		scsi_lun__add_ua(&s->l, SC_CAPACITY_CHANGED);
		if (s->l.changed)
			s->l.changed(&s->l, SC_CAPACITY_CHANGED);
	}
	return now;
}

u64 sbc__capacity(struct scsi_lun *l) { return cap(to_sbc(l)); }

static void io_error(struct sbc *s, struct scsi_req *r, int err, bool write, u64 lba)
{
	u32 sc = scsi_errno_sense(-err, write);
	char name[64];

	pr_warn_guest("%s: %s: %s of %u blocks at LBA %llu failed: %s; the guest gets %s",
		      s->l.name, s->path, write ? "write" : "read", r->c.nblocks,
		      (unsigned long long)lba, strerror(-err), scsi_sense__name(sc, name, sizeof(name)));
	if (SC_KEY(sc) == SK_MEDIUM_ERROR)
		scsi_req__check_info(r, sc, lba);
	else
		scsi_req__check(r, sc);
}

/* common checks of a block command's range; false if r is already answered */
static bool check_range(struct sbc *s, struct scsi_req *r, u64 lba, u64 n)
{
	u64 c = cap(s);

	if (lba > c || n > c - lba) {
		scsi_req__check(r, SC_LBA_OUT_OF_RANGE);
		return false;
	}
	return true;
}

static bool check_ready(struct sbc *s, struct scsi_req *r)
{
	if (__atomic_load_n(&s->stopped, __ATOMIC_RELAXED)) {
		scsi_req__check(r, SC_NEEDS_START);
		return false;
	}
	return true;
}

/* ---- READ / WRITE / VERIFY ---- */

static void do_read_write(struct sbc *s, struct scsi_req *r, bool write)
{
	const struct scsi_cdb *c = &r->c;
	u64 len = (u64)c->nblocks * s->bs;
	int ret;

	if (c->protect) {
		scsi_req__bad_field(r, 1, 7);
		return;
	}
	if (!check_ready(s, r) || !check_range(s, r, c->lba, c->nblocks))
		return;
	if (write && s->readonly) {
		scsi_req__check(r, SC_WRITE_PROTECTED);
		return;
	}
	if (!c->nblocks)
		return;
	if (len > MAX_XFER_BYTES) {
		scsi_req__bad_field(r, c->len == 6 ? 4 : c->len == 16 ? 10 : c->len == 12 ? 6 : 7, -1);
		return;
	}
	if (write && !s->blockdev) {
		/* never write past the file's end: a file that shrank is not
		 * grown back by a write the guest aimed inside the old size */
		if (recheck_capacity(s) < c->lba + c->nblocks) {
			scsi_req__check(r, SC_LBA_OUT_OF_RANGE);
			return;
		}
	}
	ret = write ? sbc_rw(s, true, r->out, r->nout, 0, len, c->lba * s->bs, c->fua) :
		      sbc_rw(s, false, r->in, r->nin, 0, len, c->lba * s->bs, false);
	if (ret == SCSI_RW_EOF) {
		/* the file ended inside the disk: it shrank */
		recheck_capacity(s);
		scsi_req__check(r, SC_LBA_OUT_OF_RANGE);
		return;
	}
	if (ret) {
		io_error(s, r, ret, write, c->lba);
		return;
	}
	if (write) {
		r->out_done = len;
	} else {
		r->in_done = len;
	}
	pthread_mutex_lock(&s->l.lock);
	if (write) {
		s->l.nr_writes++;
		s->l.bytes_written += len;
	} else {
		s->l.nr_reads++;
		s->l.bytes_read += len;
	}
	pthread_mutex_unlock(&s->l.lock);
}

/* the asynchronous form of do_read_write: only a command that passes every
 * check is taken; anything else (an error to report, a misaligned buffer
 * with O_DIRECT, a full ring) runs on a worker as before */
static void sbc_aio_done(struct scsi_aio_op *aop, int res);

static bool sbc_submit(struct scsi_lun *l, struct scsi_req *r)
{
	struct sbc *s = to_sbc(l);
	const struct scsi_cdb *c = &r->c;
	u64 len = (u64)c->nblocks * s->bs;
	struct sbc_aio *op;
	bool write;

	switch (r->cdb[0]) {
	case OP_READ_6: case OP_READ_10: case OP_READ_12: case OP_READ_16:
		write = false;
		break;
	case OP_WRITE_6: case OP_WRITE_10: case OP_WRITE_12: case OP_WRITE_16:
		write = true;
		break;
	default:
		return false;
	}
	if (!s->aio || c->protect || !c->nblocks || len > MAX_XFER_BYTES ||
	    __atomic_load_n(&s->stopped, __ATOMIC_RELAXED) || (write && s->readonly) ||
	    c->lba > cap(s) || c->nblocks > cap(s) - c->lba)
		return false;
	if (write && !s->blockdev && recheck_capacity(s) < c->lba + c->nblocks)
		return false;
	op = malloc(sizeof(*op) + (write ? r->nout : r->nin) * sizeof(struct iovec));
	if (!op)
		return false;
	op->n = scsi_iov_range(write ? r->out : r->in, write ? r->nout : r->nin, 0, len, op->iov,
			       write ? r->nout : r->nin);
	if (s->direct && !iov_aligned(op->iov, op->n, s->bs < 4096 ? 512 : 4096)) {
		free(op);
		return false;
	}
	op->op.done = sbc_aio_done;
	op->s = s;
	op->r = r;
	op->write = write;
	op->flags = write && (c->fua || !__atomic_load_n(&s->wce, __ATOMIC_RELAXED)) ? RWF_DSYNC : 0;
	op->off = c->lba * s->bs;
	op->left = len;
	if (scsi_aio__rw(s->aio, s->fd, write, op->iov, op->n, op->off, op->flags, &op->op)) {
		free(op);
		return false;
	}
	return true;
}

static void sbc_aio_done(struct scsi_aio_op *aop, int res)
{
	struct sbc_aio *op = container_of(aop, struct sbc_aio, op);
	struct sbc *s = op->s;
	struct scsi_req *r = op->r;
	const struct scsi_cdb *c = &r->c;
	u64 len = (u64)c->nblocks * s->bs;

	if (res > 0 && (size_t)res < op->left) {
		/* a short transfer: the rest, from where it stopped */
		struct iovec *v = op->iov;
		size_t k = res;

		op->off += res;
		op->left -= res;
		while (k && k >= v->iov_len) {
			k -= v->iov_len;
			v++;
			op->n--;
		}
		v->iov_base = (u8 *)v->iov_base + k;
		v->iov_len -= k;
		memmove(op->iov, v, op->n * sizeof(*v));
		if (!scsi_aio__rw(s->aio, s->fd, op->write, op->iov, op->n, op->off, op->flags, &op->op))
			return;
		res = rw_all_iov(s->fd, op->write, op->iov, op->n, op->off, op->flags);
		res = res ? res : (int)op->left;
	}
	if (res == 0 || res == SCSI_RW_EOF) {
		/* the file ended inside the disk: it shrank */
		recheck_capacity(s);
		scsi_req__check(r, SC_LBA_OUT_OF_RANGE);
	} else if (res < 0) {
		io_error(s, r, res, op->write, c->lba);
	} else {
		if (op->write)
			r->out_done = len;
		else
			r->in_done = len;
		pthread_mutex_lock(&s->l.lock);
		if (op->write) {
			s->l.nr_writes++;
			s->l.bytes_written += len;
		} else {
			s->l.nr_reads++;
			s->l.bytes_read += len;
		}
		pthread_mutex_unlock(&s->l.lock);
	}
	free(op);
	scsi_lun__async_done(&s->l, r);
}

static void do_verify(struct sbc *s, struct scsi_req *r)
{
	const struct scsi_cdb *c = &r->c;
	u8 bytchk = (r->cdb[1] >> 1) & 3;
	u8 *buf, *cmp = NULL;
	u64 done = 0, total = (u64)c->nblocks * s->bs;
	int ret = 0;

	if (c->protect) {
		scsi_req__bad_field(r, 1, 7);
		return;
	}
	if (bytchk == 2) {
		scsi_req__bad_field(r, 1, 2);
		return;
	}
	if (!check_ready(s, r) || !check_range(s, r, c->lba, c->nblocks) || !c->nblocks)
		return;
	buf = aligned_alloc(4096, CHUNK);
	if (bytchk == 3) {
		cmp = xzalloc(s->bs);
		scsi_req__data_out(r, cmp, s->bs);
	}
	while (done < total) {
		u64 l = MIN(total - done, (u64)CHUNK);
		struct iovec v = { buf, l };

		ret = rw_all_iov(s->fd, false, &v, 1, c->lba * s->bs + done, 0);
		if (ret)
			break;
		for (u64 o = 0; bytchk && o < l; o += s->bs) {
			u8 want[4096];
			const u8 *w = cmp;

			if (bytchk == 1) {
				iov_to_buf(r->out, r->nout, done + o, want, s->bs);
				w = want;
			}
			if (memcmp(buf + o, w, s->bs)) {
				u64 off = done + o;

				for (u32 i = 0; i < s->bs; i++) {
					if (buf[o + i] != w[i]) {
						off += i;
						break;
					}
				}
				r->out_done = bytchk == 1 ? total : s->bs;
				scsi_req__check_info(r, SC_MISCOMPARE, off);
				free(buf);
				free(cmp);
				return;
			}
		}
		done += l;
	}
	free(buf);
	free(cmp);
	if (ret == SCSI_RW_EOF) {
		recheck_capacity(s);
		scsi_req__check(r, SC_LBA_OUT_OF_RANGE);
	} else if (ret) {
		io_error(s, r, ret, false, c->lba + done / s->bs);
	} else {
		r->out_done = bytchk == 1 ? total : bytchk == 3 ? s->bs : 0;
	}
}

/* ---- WRITE SAME, UNMAP, SYNCHRONIZE CACHE ---- */

static bool all_zero(const u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* deallocate (unmap) or zero a range; falls back to writing zeros */
static int zero_range(struct sbc *s, u64 off, u64 len, bool unmap)
{
	if (s->blockdev) {
		u64 range[2] = { off, len };

		if (!ioctl(s->fd, unmap ? BLKDISCARD : BLKZEROOUT, range))
			return 0;
		if (unmap)
			return 0;	/* a discard the device refuses is only a hint */
		return -errno;
	}
	if (!fallocate(s->fd, (unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) |
			      FALLOC_FL_KEEP_SIZE, off, len))
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	if (unmap)
		return 0;
	return 1;	/* write zeros instead */
}

static void do_write_same(struct sbc *s, struct scsi_req *r)
{
	const struct scsi_cdb *c = &r->c;
	bool unmap = r->cdb[1] & 0x08, anchor = r->cdb[1] & 0x10;
	bool ndob = c->opcode == OP_WRITE_SAME_16 && (r->cdb[1] & 1);
	u64 off = c->lba * s->bs, len = (u64)c->nblocks * s->bs, done = 0;
	u8 *block, *buf;
	int ret = 1;

	if (c->protect) {
		scsi_req__bad_field(r, 1, 7);
		return;
	}
	if (anchor) {
		scsi_req__bad_field(r, 1, 4);
		return;
	}
	if (!c->nblocks || c->nblocks > MAX_WS_BLOCKS) {
		/* WSNZ is set in VPD B0: zero blocks is not "to the end" */
		scsi_req__bad_field(r, c->opcode == OP_WRITE_SAME_16 ? 10 : 7, -1);
		return;
	}
	if (!check_ready(s, r) || !check_range(s, r, c->lba, c->nblocks))
		return;
	if (s->readonly) {
		scsi_req__check(r, SC_WRITE_PROTECTED);
		return;
	}
	if (!s->blockdev && recheck_capacity(s) < c->lba + c->nblocks) {
		scsi_req__check(r, SC_LBA_OUT_OF_RANGE);
		return;
	}
	block = xzalloc(s->bs);
	if (!ndob)
		scsi_req__data_out(r, block, s->bs);
	if (all_zero(block, s->bs))
		ret = zero_range(s, off, len, unmap);
	if (ret > 0) {
		/* write the block over the range, CHUNK bytes at a time */
		size_t bl = MIN(len, (u64)CHUNK);

		buf = aligned_alloc(4096, ALIGN_UP(bl, 4096));
		for (size_t o = 0; o < bl; o += s->bs)
			memcpy(buf + o, block, s->bs);
		ret = 0;
		while (done < len && !ret) {
			struct iovec v = { buf, MIN(len - done, (u64)bl) };

			ret = rw_all_iov(s->fd, true, &v, 1, off + done, s->wce ? 0 : RWF_DSYNC);
			done += v.iov_len;
		}
		free(buf);
	}
	free(block);
	if (ret)
		io_error(s, r, ret, true, c->lba);
}

static void do_unmap(struct sbc *s, struct scsi_req *r)
{
	u8 hdr[8], d[16];
	size_t plen = r->c.xfer, bdl;

	if (r->cdb[1] & 1) {	/* ANCHOR */
		scsi_req__bad_field(r, 1, 0);
		return;
	}
	if (s->readonly) {
		scsi_req__check(r, SC_WRITE_PROTECTED);
		return;
	}
	if (!plen)
		return;
	if (plen < 8) {
		scsi_req__check(r, SC_PARAM_LIST_LENGTH);
		return;
	}
	scsi_req__data_out(r, hdr, 8);
	bdl = get_be16(hdr + 2);
	if (bdl % 16 || bdl > plen - 8) {
		scsi_req__check(r, SC_PARAM_LIST_LENGTH);
		return;
	}
	if (bdl / 16 > MAX_UNMAP_DESCS) {
		scsi_req__bad_param(r, 2, -1);
		return;
	}
	/* check every descriptor before unmapping anything */
	for (size_t o = 8; o < 8 + bdl; o += 16) {
		u64 lba;
		u32 n;

		iov_to_buf(r->out, r->nout, o, d, 16);
		lba = get_be64(d);
		n = get_be32(d + 8);
		if (n > MAX_UNMAP_BLOCKS) {
			scsi_req__bad_param(r, o + 8, -1);
			return;
		}
		if (!check_range(s, r, lba, n))
			return;
	}
	for (size_t o = 8; o < 8 + bdl; o += 16) {
		int ret;

		iov_to_buf(r->out, r->nout, o, d, 16);
		if (!get_be32(d + 8))
			continue;
		ret = zero_range(s, get_be64(d) * s->bs, (u64)get_be32(d + 8) * s->bs, true);
		if (ret < 0) {
			io_error(s, r, ret, true, get_be64(d));
			return;
		}
	}
	r->out_done = 8 + bdl;
}

static void do_sync(struct sbc *s, struct scsi_req *r)
{
	u64 lba = r->c.lba, n = r->c.nblocks;

	if (!check_ready(s, r))
		return;
	if (lba > cap(s) || (n && n > cap(s) - lba)) {
		scsi_req__check(r, SC_LBA_OUT_OF_RANGE);
		return;
	}
	if (!s->readonly && fdatasync(s->fd) < 0)
		io_error(s, r, -errno, true, lba);
}

/* ---- INQUIRY ---- */

static void do_inquiry(struct sbc *s, struct scsi_req *r)
{
	u8 buf[512];
	unsigned int n = 0;
	size_t alloc = get_be16(r->cdb + 3);
	u8 page = r->cdb[2];

	memset(buf, 0, sizeof(buf));
	if (r->cdb[1] & 0x02) {		/* CMDDT */
		scsi_req__bad_field(r, 1, 1);
		return;
	}
	if (!(r->cdb[1] & 1)) {
		if (page) {
			scsi_req__bad_field(r, 2, -1);
			return;
		}
		n = scsi_inquiry_std(&s->l, buf, 0x00, false);
		scsi_req__data_in(r, buf, n, alloc);
		return;
	}
	switch (page) {
	case 0x00: {
		static const u8 pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
		unsigned int k = 0;

		for (unsigned int i = 0; i < sizeof(pages); i++)
			if (pages[i] != 0x80 || s->l.ident.serial[0])
				buf[4 + k++] = pages[i];
		buf[1] = 0x00;
		put_be16(buf + 2, k);
		n = 4 + k;
		break;
	}
	case 0x80:
		n = scsi_vpd_serial(&s->l, buf, 0x00);
		break;
	case 0x83:
		n = scsi_vpd_devid(&s->l, buf, 0x00);
		break;
	case 0xb0: {	/* block limits */
		u32 gran = s->bs < 4096 ? 4096 / s->bs : 1;

		buf[1] = 0xb0;
		put_be16(buf + 2, 0x3c);
		buf[4] = 0x01;	/* WSNZ */
		put_be16(buf + 6, 1u << s->phys_exp);
		put_be32(buf + 8, MAX_XFER_BYTES / s->bs);
		put_be32(buf + 12, MAX_XFER_BYTES / s->bs);
		if (!s->readonly) {
			put_be32(buf + 20, MAX_UNMAP_BLOCKS);
			put_be32(buf + 24, MAX_UNMAP_DESCS);
			put_be32(buf + 28, gran);
			put_be64(buf + 36, MAX_WS_BLOCKS);
		}
		n = 4 + 0x3c;
		break;
	}
	case 0xb1:	/* block device characteristics */
		buf[1] = 0xb1;
		put_be16(buf + 2, 0x3c);
		put_be16(buf + 4, s->rotational ? 0 : 1);	/* 1: non-rotating */
		n = 4 + 0x3c;
		break;
	case 0xb2:	/* logical block provisioning */
		buf[1] = 0xb2;
		put_be16(buf + 2, 4);
		if (!s->readonly) {
			/* LBPU, LBPWS, LBPWS10; unmapped blocks read as zeros
			 * (LBPRZ) for files; thin provisioning */
			buf[5] = 0xe0 | (s->blockdev ? 0 : 0x04);
			buf[6] = 0x02;
		}
		n = 8;
		break;
	default:
		scsi_req__bad_field(r, 2, -1);
		return;
	}
	if (!n) {
		scsi_req__bad_field(r, 2, -1);
		return;
	}
	scsi_req__data_in(r, buf, n, alloc);
}

/* ---- READ CAPACITY ---- */

static void do_read_capacity(struct sbc *s, struct scsi_req *r, bool sixteen)
{
	u64 blocks = recheck_capacity(s);
	u64 last = blocks ? blocks - 1 : 0;
	u8 buf[32] = { 0 };

	if (!sixteen) {
		/* PMI is obsolete: the LBA field must be zero without it */
		if (!(r->cdb[8] & 1) && get_be32(r->cdb + 2)) {
			scsi_req__bad_field(r, 2, -1);
			return;
		}
		put_be32(buf, last > 0xffffffffULL ? 0xffffffff : (u32)last);
		put_be32(buf + 4, s->bs);
		scsi_req__data_in(r, buf, 8, 8);
		return;
	}
	put_be64(buf, last);
	put_be32(buf + 8, s->bs);
	buf[13] = s->phys_exp;
	if (!s->readonly)
		buf[14] = 0x80 | (s->blockdev ? 0 : 0x40);	/* LBPME, LBPRZ */
	scsi_req__data_in(r, buf, 32, r->c.xfer);
}

/* ---- MODE SENSE / MODE SELECT ---- */

enum { PC_CURRENT, PC_CHANGEABLE, PC_DEFAULT, PC_SAVED };

/* page into p; returns its length (0 if not supported) */
static unsigned int mode_page(struct sbc *s, u8 page, int pc, u8 *p)
{
	switch (page) {
	case 0x01:	/* read-write error recovery */
		p[0] = 0x01;
		p[1] = 0x0a;
		if (pc != PC_CHANGEABLE)
			p[2] = 0x80;	/* AWRE */
		return 12;
	case 0x08:	/* caching */
		p[0] = 0x08;
		p[1] = 0x12;
		if (pc == PC_CHANGEABLE)
			p[2] = 0x04;
		else if (pc == PC_DEFAULT || __atomic_load_n(&s->wce, __ATOMIC_RELAXED))
			p[2] = 0x04;	/* WCE */
		return 20;
	case 0x0a:	/* control */
		p[0] = 0x0a;
		p[1] = 0x0a;
		if (pc != PC_CHANGEABLE) {
			p[3] = 0x10;	/* QUEUE ALGORITHM MODIFIER 1: unrestricted */
			put_be16(p + 8, 0xffff);	/* busy timeout: unlimited */
		}
		return 12;
	}
	return 0;
}

static void do_mode_sense(struct sbc *s, struct scsi_req *r)
{
	bool ten = r->cdb[0] == OP_MODE_SENSE_10;
	bool dbd = r->cdb[1] & 0x08, llbaa = ten && (r->cdb[1] & 0x10);
	int pc = r->cdb[2] >> 6;
	u8 page = r->cdb[2] & 0x3f, sub = r->cdb[3];
	u8 buf[256] = { 0 };
	unsigned int hl = ten ? 8 : 4, bdl = dbd ? 0 : llbaa ? 16 : 8, n;
	u64 blocks = cap(s);

	if (pc == PC_SAVED) {
		scsi_req__check(r, SC_SAVING_NOT_SUPPORTED);
		return;
	}
	if (sub && sub != 0xff) {
		scsi_req__bad_field(r, 3, -1);
		return;
	}
	n = hl + bdl;
	if (page == 0x3f) {
		static const u8 all[] = { 0x01, 0x08, 0x0a };

		for (unsigned int i = 0; i < sizeof(all); i++)
			n += mode_page(s, all[i], pc, buf + n);
	} else {
		unsigned int l = mode_page(s, page, pc, buf + n);

		if (!l || sub == 0xff) {
			scsi_req__bad_field(r, 2, -1);
			return;
		}
		n += l;
	}
	/* the header: device-specific parameter WP and DPOFUA */
	if (ten) {
		put_be16(buf, n - 2);
		buf[3] = (s->readonly ? 0x80 : 0) | 0x10;
		buf[4] = llbaa ? 1 : 0;
		put_be16(buf + 6, bdl);
	} else {
		buf[0] = n - 1;
		buf[2] = (s->readonly ? 0x80 : 0) | 0x10;
		buf[3] = bdl;
	}
	if (bdl == 8) {
		put_be32(buf + hl, blocks > 0xffffffffULL ? 0xffffffff : (u32)blocks);
		put_be24(buf + hl + 5, s->bs);
	} else if (bdl == 16) {
		put_be64(buf + hl, blocks);
		put_be32(buf + hl + 12, s->bs);
	}
	scsi_req__data_in(r, buf, n, r->c.xfer);
}

static void do_mode_select(struct sbc *s, struct scsi_req *r)
{
	bool ten = r->cdb[0] == OP_MODE_SELECT_10;
	size_t plen = r->c.xfer, hl = ten ? 8 : 4, bdl, o;
	u8 buf[256];

	if (!(r->cdb[1] & 0x10)) {	/* PF: pages in the standard format */
		scsi_req__bad_field(r, 1, 4);
		return;
	}
	if (r->cdb[1] & 0x01) {		/* SP: nothing can be saved */
		scsi_req__check(r, SC_SAVING_NOT_SUPPORTED);
		return;
	}
	if (!plen)
		return;
	if (plen > sizeof(buf) || plen < hl) {
		scsi_req__check(r, SC_PARAM_LIST_LENGTH);
		return;
	}
	scsi_req__data_out(r, buf, plen);
	bdl = ten ? get_be16(buf + 6) : buf[3];
	if (bdl > plen - hl || (bdl && bdl != 8 && bdl != 16)) {
		scsi_req__bad_param(r, ten ? 6 : 3, -1);
		return;
	}
	if (bdl) {
		u32 blen = bdl == 8 ? get_be24(buf + hl + 5) : get_be32(buf + hl + 12);

		if (blen != s->bs) {
			scsi_req__bad_param(r, hl + (bdl == 8 ? 5 : 12), -1);
			return;
		}
	}
	/* check every page first, then apply */
	for (int apply = 0; apply < 2; apply++) {
		for (o = hl + bdl; o + 2 <= plen;) {
			u8 code = buf[o] & 0x3f, cur[32] = { 0 }, chg[32] = { 0 };
			unsigned int len, pl;

			if (buf[o] & 0x40) {	/* SPF: no subpages here */
				scsi_req__bad_param(r, o, 6);
				return;
			}
			pl = buf[o + 1] + 2;
			len = mode_page(s, code, PC_CURRENT, cur);
			mode_page(s, code, PC_CHANGEABLE, chg);
			if (!len) {
				scsi_req__bad_param(r, o, -1);
				return;
			}
			if (pl != len || o + pl > plen) {
				scsi_req__bad_param(r, o + 1, -1);
				return;
			}
			for (unsigned int i = 2; i < len && !apply; i++) {
				if ((buf[o + i] ^ cur[i]) & ~chg[i]) {
					scsi_req__bad_param(r, o + i, -1);
					return;
				}
			}
			if (apply && code == 0x08)
				__atomic_store_n(&s->wce, !!(buf[o + 2] & 0x04), __ATOMIC_RELAXED);
			o += pl;
		}
	}
	r->out_done = plen;
}

/* ---- REPORT SUPPORTED OPERATION CODES ---- */

struct opinfo { u8 op; u16 sa; bool has_sa; u8 len; };

static const struct opinfo sbc_ops[] = {
	{ OP_TEST_UNIT_READY, 0, false, 6 }, { OP_REQUEST_SENSE, 0, false, 6 },
	{ OP_READ_6, 0, false, 6 }, { OP_WRITE_6, 0, false, 6 },
	{ OP_INQUIRY, 0, false, 6 }, { OP_MODE_SELECT_6, 0, false, 6 },
	{ OP_RESERVE_6, 0, false, 6 }, { OP_RELEASE_6, 0, false, 6 },
	{ OP_MODE_SENSE_6, 0, false, 6 }, { OP_START_STOP_UNIT, 0, false, 6 },
	{ OP_SEND_DIAGNOSTIC, 0, false, 6 },
	{ OP_READ_CAPACITY_10, 0, false, 10 }, { OP_READ_10, 0, false, 10 },
	{ OP_WRITE_10, 0, false, 10 }, { OP_WRITE_VERIFY_10, 0, false, 10 },
	{ OP_VERIFY_10, 0, false, 10 }, { OP_SYNCHRONIZE_CACHE_10, 0, false, 10 },
	{ OP_WRITE_SAME_10, 0, false, 10 }, { OP_UNMAP, 0, false, 10 },
	{ OP_MODE_SELECT_10, 0, false, 10 }, { OP_MODE_SENSE_10, 0, false, 10 },
	{ OP_READ_16, 0, false, 16 }, { OP_WRITE_16, 0, false, 16 },
	{ OP_WRITE_VERIFY_16, 0, false, 16 }, { OP_VERIFY_16, 0, false, 16 },
	{ OP_SYNCHRONIZE_CACHE_16, 0, false, 16 }, { OP_WRITE_SAME_16, 0, false, 16 },
	{ OP_SERVICE_ACTION_IN_16, SAI_READ_CAPACITY_16, true, 16 },
	{ OP_REPORT_LUNS, 0, false, 12 },
	{ OP_MAINTENANCE_IN, MI_REPORT_SUPPORTED_OPCODES, true, 12 },
	{ OP_READ_12, 0, false, 12 }, { OP_WRITE_12, 0, false, 12 },
	{ OP_WRITE_VERIFY_12, 0, false, 12 }, { OP_VERIFY_12, 0, false, 12 },
};

static void do_rsoc(struct scsi_req *r, const struct opinfo *ops, unsigned int nops)
{
	u8 opts = r->cdb[2] & 7, op = r->cdb[3];
	u16 sa = get_be16(r->cdb + 4);
	u8 buf[8 + 8 * 64] = { 0 };
	unsigned int n;

	if (r->cdb[2] & 0x80) {		/* RCTD: no timeout descriptors */
		scsi_req__bad_field(r, 2, 7);
		return;
	}
	if (opts == 0) {
		n = 4;
		for (unsigned int i = 0; i < nops && n + 8 <= sizeof(buf); i++, n += 8) {
			buf[n] = ops[i].op;
			put_be16(buf + n + 2, ops[i].sa);
			buf[n + 5] = ops[i].has_sa ? 1 : 0;
			put_be16(buf + n + 6, ops[i].len);
		}
		put_be32(buf, n - 4);
		scsi_req__data_in(r, buf, n, r->c.xfer);
		return;
	}
	if (opts != 1 && opts != 2) {
		scsi_req__bad_field(r, 2, 0);
		return;
	}
	buf[1] = 1;	/* not supported, unless found */
	n = 4;
	for (unsigned int i = 0; i < nops; i++) {
		if (ops[i].op != op)
			continue;
		if (opts == 1 && ops[i].has_sa) {
			/* the opcode has service actions: ask with one */
			scsi_req__bad_field(r, 2, 0);
			return;
		}
		if (opts == 2 && (!ops[i].has_sa || ops[i].sa != sa))
			continue;
		buf[1] = 3;
		put_be16(buf + 2, ops[i].len);
		memset(buf + 4, 0xff, ops[i].len);
		buf[4] = op;
		if (ops[i].has_sa) {
			buf[5] = 0xe0 | (ops[i].sa & 0x1f);
		}
		n = 4 + ops[i].len;
		break;
	}
	scsi_req__data_in(r, buf, n, r->c.xfer);
}

/* ---- dispatch ---- */

static void sbc_execute(struct scsi_lun *l, struct scsi_req *r)
{
	struct sbc *s = to_sbc(l);

	switch (r->cdb[0]) {
	case OP_TEST_UNIT_READY:
		check_ready(s, r);
		break;
	case OP_REQUEST_SENSE:
		scsi_request_sense(l, r, __atomic_load_n(&s->stopped, __ATOMIC_RELAXED) ?
				   SC_NEEDS_START : SC_NONE);
		break;
	case OP_INQUIRY:
		do_inquiry(s, r);
		break;
	case OP_READ_CAPACITY_10:
		do_read_capacity(s, r, false);
		break;
	case OP_SERVICE_ACTION_IN_16:
		if (r->c.sa == SAI_READ_CAPACITY_16)
			do_read_capacity(s, r, true);
		else
			scsi_req__bad_field(r, 1, -1);
		break;
	case OP_READ_6: case OP_READ_10: case OP_READ_12: case OP_READ_16:
		do_read_write(s, r, false);
		break;
	case OP_WRITE_6: case OP_WRITE_10: case OP_WRITE_12: case OP_WRITE_16:
	case OP_WRITE_VERIFY_10: case OP_WRITE_VERIFY_12: case OP_WRITE_VERIFY_16:
		do_read_write(s, r, true);
		break;
	case OP_VERIFY_10: case OP_VERIFY_12: case OP_VERIFY_16:
		do_verify(s, r);
		break;
	case OP_WRITE_SAME_10: case OP_WRITE_SAME_16:
		do_write_same(s, r);
		break;
	case OP_UNMAP:
		do_unmap(s, r);
		break;
	case OP_SYNCHRONIZE_CACHE_10: case OP_SYNCHRONIZE_CACHE_16:
		do_sync(s, r);
		break;
	case OP_MODE_SENSE_6: case OP_MODE_SENSE_10:
		do_mode_sense(s, r);
		break;
	case OP_MODE_SELECT_6: case OP_MODE_SELECT_10:
		do_mode_select(s, r);
		break;
	case OP_START_STOP_UNIT:
		if (r->cdb[4] & 0x02) {		/* LOEJ: nothing to eject */
			scsi_req__bad_field(r, 4, 1);
			break;
		}
		if (!(r->cdb[4] >> 4))		/* POWER CONDITION 0: START decides */
			__atomic_store_n(&s->stopped, !(r->cdb[4] & 1), __ATOMIC_RELAXED);
		break;
	case OP_RESERVE_6:
	case OP_RELEASE_6:
		break;	/* one initiator */
	case OP_SEND_DIAGNOSTIC:
		if (!(r->cdb[1] & 0x04))	/* only the default self-test */
			scsi_req__bad_field(r, 1, 2);
		break;
	case OP_MAINTENANCE_IN:
		if (r->c.sa == MI_REPORT_SUPPORTED_OPCODES)
			do_rsoc(r, sbc_ops, ARRAY_SIZE(sbc_ops));
		else
			scsi_req__bad_field(r, 1, -1);
		break;
	default:
		scsi_req__check(r, SC_INVALID_OPCODE);
	}
}

static bool sbc_is_inline(struct scsi_lun *l __unused, const struct scsi_req *r)
{
	switch (r->cdb[0]) {
	case OP_READ_6: case OP_READ_10: case OP_READ_12: case OP_READ_16:
	case OP_WRITE_6: case OP_WRITE_10: case OP_WRITE_12: case OP_WRITE_16:
	case OP_WRITE_VERIFY_10: case OP_WRITE_VERIFY_12: case OP_WRITE_VERIFY_16:
	case OP_VERIFY_10: case OP_VERIFY_12: case OP_VERIFY_16:
	case OP_WRITE_SAME_10: case OP_WRITE_SAME_16:
	case OP_UNMAP:
	case OP_SYNCHRONIZE_CACHE_10: case OP_SYNCHRONIZE_CACHE_16:
		return false;
	}
	return true;
}

static void sbc_reset(struct scsi_lun *l)
{
	struct sbc *s = to_sbc(l);

	__atomic_store_n(&s->wce, true, __ATOMIC_RELAXED);
	__atomic_store_n(&s->stopped, false, __ATOMIC_RELAXED);
}

static void sbc_status(struct scsi_lun *l, json_object *o)
{
	struct sbc *s = to_sbc(l);

	json_object_object_add(o, "path", json_object_new_string(s->path));
	json_object_object_add(o, "readonly", json_object_new_boolean(s->readonly));
	json_object_object_add(o, "direct", json_object_new_boolean(s->direct));
	json_object_object_add(o, "block-size", json_object_new_int(s->bs));
	json_object_object_add(o, "blocks", json_object_new_int64(cap(s)));
	json_object_object_add(o, "write-cache", json_object_new_boolean(s->wce));
}

static void sbc_destroy(struct scsi_lun *l)
{
	struct sbc *s = to_sbc(l);

	scsi_aio__free(s->aio);
	close(s->fd);
	free(s->path);
}

static const struct scsi_lun_ops sbc_ops_disk = {
	.kind = "disk",
	.execute = sbc_execute,
	.submit = sbc_submit,
	.is_inline = sbc_is_inline,
	.reset = sbc_reset,
	.status = sbc_status,
	.destroy = sbc_destroy,
};

static const struct scsi_lun_ops sbc_ops_vrdm = {
	.kind = "rdm-virtual",
	.execute = sbc_execute,
	.submit = sbc_submit,
	.is_inline = sbc_is_inline,
	.reset = sbc_reset,
	.status = sbc_status,
	.destroy = sbc_destroy,
};

struct scsi_lun *sbc__create(const struct sbc_params *p, const struct scsi_identity *id,
			     const char *name, u8 target, u16 lun, const char *kind)
{
	struct sbc *s = xzalloc(sizeof(*s));
	struct stat st;
	u32 phys = 4096;

	scsi_lun__init(&s->l, kind && !strcmp(kind, "rdm-virtual") ? &sbc_ops_vrdm : &sbc_ops_disk,
		       name, target, lun);
	s->l.ident = *id;
	s->fd = p->fd;
	s->path = xstrdup(p->path);
	s->readonly = p->readonly;
	s->direct = p->direct;
	s->rotational = p->rotational;
	s->bs = p->block_size ? p->block_size : 512;
	s->wce = true;
	s->l.block_size = s->bs;
	if (!fstat(s->fd, &st) && S_ISBLK(st.st_mode)) {
		int v;

		s->blockdev = true;
		if (!ioctl(s->fd, BLKPBSZGET, &v) && v > 0)
			phys = v;
	}
	phys = MAX(phys, s->bs);
	while ((s->bs << s->phys_exp) < phys && s->phys_exp < 15)
		s->phys_exp++;
	s->nblocks = backing_blocks(s);
	if (!p->no_aio)
		s->aio = scsi_aio__new(AIO_ENTRIES, name);
	if (scsi_lun__start(&s->l, p->workers)) {
		s->l.ops = &sbc_ops_disk;
		scsi_lun__destroy(&s->l);
		return NULL;
	}
	return &s->l;
}
