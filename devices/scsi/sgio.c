// SPDX-License-Identifier: GPL-2.0
/*
 * SG_IO passthrough: `scsi-rdm` in physical compatibility mode and
 * `scsi-cdrom` on a host drive.  Every CDB goes to the host LUN with the
 * guest's buffers as the scatter-gather list (an sg_io_hdr with an iovec
 * array pointing into guest RAM, no copy); status, sense and residual come
 * back unchanged.  Only REPORT LUNS is answered by dpvm (the controller
 * does it), so the guest sees the LUN's real vendor, product, serial, WWN,
 * VPD pages, mode pages and errors.
 *
 * Transport failures (the host adapter's status) become virtio-scsi
 * response codes; SG_IO refused by the kernel (EPERM: a command the block
 * layer's filter does not allow without CAP_SYS_RAWIO) becomes CHECK
 * CONDITION, ILLEGAL REQUEST, ACCESS DENIED - NO ACCESS RIGHTS, and is
 * logged once with the fix.
 *
 * On an sg node, commands are queued without waiting (sg's write()) and a
 * reaper thread reads their completions, so the device gets many at once
 * without a thread per command; on a block device node, or when the sg
 * queue is full, a worker thread waits in SG_IO.
 *
 * Also here: reading a real LUN's identity (standard INQUIRY, VPD 0x80 and
 * 0x83) for virtual compatibility mode and for `ctl status`.
 */
#include "devices/scsi/scsi.h"
#include "devices/virtqueue.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/fs.h>
#include <poll.h>
#include <scsi/sg.h>
#include <sys/eventfd.h>
#include <sys/sysmacros.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS	60000
#define SCSI_GENERIC_MAJOR	21

static int real_ioctl(int fd, unsigned long req, void *arg) { return ioctl(fd, req, arg); }
int (*sgio_ioctl)(int fd, unsigned long req, void *arg) = real_ioctl;

struct sgio {
	struct scsi_lun l;		/* first: scsi_lun__destroy frees it */
	int fd;
	char *path;
	unsigned int timeout_ms;
	bool cdrom;
	u8 type;			/* the peripheral device type */
	u64 refused, transport_errors;
	/* an sg node takes commands asynchronously (write, then read the
	 * completion): the reaper thread reads them; -1 if not an sg node */
	int stop_fd;
	pthread_t reaper;
	u64 async_cmds;
};

/* a command queued on the sg node */
struct sg_op {
	struct sg_io_hdr h;
	struct scsi_req *r;
	enum scsi_dir dir;
	size_t len;
	struct iovec iov[];
};

static struct sgio *to_sgio(struct scsi_lun *l) { return container_of(l, struct sgio, l); }

/* host adapter status (SCSI midlayer's DID_*) to a virtio-scsi response */
static u8 host_status_response(u16 host)
{
	switch (host) {
	case 0x00: return SCSI_RESP_OK;
	case 0x01: case 0x04: return SCSI_RESP_BAD_TARGET;	/* NO_CONNECT, BAD_TARGET */
	case 0x02: case 0x0b: return SCSI_RESP_BUSY;		/* BUS_BUSY, SOFT_ERROR */
	case 0x03: case 0x05: return SCSI_RESP_ABORTED;		/* TIME_OUT, ABORT */
	case 0x08: return SCSI_RESP_RESET;
	case 0x0e: case 0x0f: case 0x13: return SCSI_RESP_TRANSPORT_FAILURE;
	case 0x10: return SCSI_RESP_TARGET_FAILURE;
	case 0x11: return SCSI_RESP_NEXUS_FAILURE;
	default: return SCSI_RESP_FAILURE;
	}
}

int sgio__command(int fd, const u8 *cdb, unsigned int cdb_len, enum scsi_dir dir,
		  void *buf, unsigned int len, unsigned int timeout_ms, u8 *status,
		  u8 *sense, unsigned int *sense_len, unsigned int *resid)
{
	struct sg_io_hdr h = {
		.interface_id = 'S',
		.cmd_len = cdb_len,
		.cmdp = (u8 *)cdb,
		.dxfer_direction = dir == SCSI_DIR_IN ? SG_DXFER_FROM_DEV :
				   dir == SCSI_DIR_OUT ? SG_DXFER_TO_DEV : SG_DXFER_NONE,
		.dxferp = len ? buf : NULL,
		.dxfer_len = len,
		.sbp = sense,
		.mx_sb_len = sense ? SCSI_SENSE_MAX : 0,
		.timeout = timeout_ms,
	};

	if (sgio_ioctl(fd, SG_IO, &h) < 0)
		return -errno;
	*status = h.host_status ? 0xff : h.status;
	if (sense_len)
		*sense_len = h.sb_len_wr;
	if (resid)
		*resid = h.resid > 0 ? (unsigned int)h.resid : 0;
	return 0;
}

/* adjacent guest buffers (guest RAM is contiguous in our address space)
 * merged: fewer segments for the host's queue limits */
static unsigned int merge_iov(const struct iovec *src, unsigned int n, struct iovec *dst)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (!src[i].iov_len)
			continue;
		if (k && (u8 *)dst[k - 1].iov_base + dst[k - 1].iov_len == src[i].iov_base) {
			dst[k - 1].iov_len += src[i].iov_len;
			continue;
		}
		dst[k++] = src[i];
	}
	return k;
}

static void refused(struct sgio *s, struct scsi_req *r, int err)
{
	s->refused++;
	pr_warn_guest("%s: %s: SG_IO refused opcode %#04x: %s; the guest gets ILLEGAL REQUEST "
		      "(ACCESS DENIED). The host kernel filters this command for a process "
		      "without CAP_SYS_RAWIO: run dpvm as root with that capability, or use "
		      "virtual compatibility mode", s->l.name, s->path, r->cdb[0], strerror(err));
	scsi_req__check(r, SC_ACCESS_DENIED);
}

/* the outcome of one SG_IO (ret: 0 or -errno of the call itself) */
static void finish(struct sgio *s, struct scsi_req *r, const struct sg_io_hdr *h, int ret,
		   enum scsi_dir dir, size_t len, const u8 *bounce)
{
	struct scsi_lun *l = &s->l;

	if (ret == -EPERM || ret == -EACCES) {
		refused(s, r, -ret);
		return;
	}
	if (ret) {
		s->transport_errors++;
		pr_warn_guest("%s: %s: SG_IO failed for opcode %#04x: %s; the guest gets a %s",
			      l->name, s->path, r->cdb[0], strerror(-ret),
			      ret == -ENODEV || ret == -ENXIO ? "bad target" : "failure");
		r->response = ret == -ENODEV || ret == -ENXIO ? SCSI_RESP_BAD_TARGET :
			      SCSI_RESP_FAILURE;
		return;
	}
	if (h->host_status) {
		s->transport_errors++;
		r->response = host_status_response(h->host_status);
		r->status = SAM_STAT_GOOD;
		r->sense_len = 0;
		pr_warn_guest("%s: %s: host adapter status %#x for opcode %#04x", l->name, s->path,
			      h->host_status, r->cdb[0]);
	} else {
		r->status = h->status;
		r->sense_len = MIN((unsigned int)h->sb_len_wr, (unsigned int)sizeof(r->sense));
	}
	if (r->response == SCSI_RESP_OK) {
		size_t moved = len - MIN((size_t)(h->resid > 0 ? h->resid : 0), len);

		if (dir == SCSI_DIR_IN) {
			if (bounce)
				buf_to_iov(r->in, r->nin, 0, bounce, moved);
			r->in_done = moved;
		} else if (dir == SCSI_DIR_OUT) {
			r->out_done = moved;
		}
		pthread_mutex_lock(&l->lock);
		if (dir == SCSI_DIR_IN) {
			l->nr_reads++;
			l->bytes_read += moved;
		} else if (dir == SCSI_DIR_OUT) {
			l->nr_writes++;
			l->bytes_written += moved;
		}
		pthread_mutex_unlock(&l->lock);
	}
}

/* the sg_io_hdr for a request: false if it cannot go (answered) */
static bool prepare(struct sgio *s, struct scsi_req *r, struct sg_io_hdr *h, struct iovec *iov,
		    enum scsi_dir *dirp, size_t *lenp)
{
	enum scsi_dir dir;
	unsigned int n = 0;
	size_t len = 0;

	/* the direction: the CDB's if known, else the buffers the guest gave */
	if (!r->c.known && r->out_len && r->in_len) {
		pr_warn_guest("%s: opcode %#04x with data both ways: SG_IO has no bidirectional "
			      "transfers; the guest gets ILLEGAL REQUEST", s->l.name, r->cdb[0]);
		scsi_req__check(r, SC_INVALID_OPCODE);
		return false;
	}
	dir = r->c.known ? r->c.dir : r->out_len ? SCSI_DIR_OUT : r->in_len ? SCSI_DIR_IN :
	      SCSI_DIR_NONE;
	if (dir == SCSI_DIR_IN) {
		n = merge_iov(r->in, r->nin, iov);
		len = r->in_len;
	} else if (dir == SCSI_DIR_OUT) {
		n = merge_iov(r->out, r->nout, iov);
		len = r->out_len;
	}
	memset(h, 0, sizeof(*h));
	h->interface_id = 'S';
	/* the CDB's own length; a vendor-specific one goes out as 16 bytes,
	 * as a SAS initiator sends it */
	h->cmd_len = r->c.len ? r->c.len : MIN(16u, r->cdb_len);
	h->cmdp = r->cdb;
	h->dxfer_direction = dir == SCSI_DIR_IN ? SG_DXFER_FROM_DEV :
			     dir == SCSI_DIR_OUT ? SG_DXFER_TO_DEV : SG_DXFER_NONE;
	h->sbp = r->sense;
	h->mx_sb_len = sizeof(r->sense);
	h->timeout = s->timeout_ms;
	h->dxfer_len = len;
	if (n == 1) {
		h->dxferp = iov[0].iov_base;
	} else if (n > 1) {
		h->iovec_count = n;
		h->dxferp = iov;
	}
	*dirp = dir;
	*lenp = len;
	return true;
}

static void sgio_execute(struct scsi_lun *l, struct scsi_req *r)
{
	struct sgio *s = to_sgio(l);
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct sg_io_hdr h;
	enum scsi_dir dir;
	size_t len;
	u8 *bounce = NULL;
	int ret;

	if (!prepare(s, r, &h, iov, &dir, &len))
		return;
	for (int attempt = 0;; attempt++) {
		ret = sgio_ioctl(s->fd, SG_IO, &h) < 0 ? -errno : 0;
		if (ret == -EINTR)
			continue;
		/* the host queue could not map so many segments: one flat buffer */
		if ((ret == -EINVAL || ret == -ENOMEM) && h.iovec_count > 1 && !attempt && len) {
			bounce = aligned_alloc(4096, ALIGN_UP(len, 4096));
			if (!bounce)
				break;
			if (dir == SCSI_DIR_OUT)
				iov_to_buf(r->out, r->nout, 0, bounce, len);
			h.iovec_count = 0;
			h.dxferp = bounce;
			continue;
		}
		break;
	}
	finish(s, r, &h, ret, dir, len, bounce);
	free(bounce);
}

/* queue the command on the sg node without waiting (sg's v3 write()); false
 * (the usual SG_IO on a worker) if the node is not an sg one, its queue is
 * full (EDOM), or the write is refused: the worker then reports why */
static bool sgio_submit(struct scsi_lun *l, struct scsi_req *r)
{
	struct sgio *s = to_sgio(l);
	unsigned int max = MAX(MAX(r->nin, r->nout), 1u);
	struct sg_op *op;
	ssize_t w;

	if (s->stop_fd < 0 || (!r->c.known && r->out_len && r->in_len))
		return false;
	op = malloc(sizeof(*op) + max * sizeof(struct iovec));
	if (!op)
		return false;
	op->r = r;
	if (!prepare(s, r, &op->h, op->iov, &op->dir, &op->len)) {
		free(op);
		return false;
	}
	op->h.usr_ptr = op;
	do
		w = write(s->fd, &op->h, sizeof(op->h));
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof(op->h)) {
		free(op);
		return false;
	}
	return true;
}

static void *sg_reaper(void *arg)
{
	struct sgio *s = arg;
	struct pollfd p[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = s->stop_fd, .events = POLLIN } };

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("%s: poll on %s failed: %s; the LUN's commands stop", s->l.name, s->path,
			       strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		for (;;) {
			struct sg_io_hdr h = { .interface_id = 'S', .pack_id = -1 };
			struct sg_op *op;
			struct scsi_req *r;
			ssize_t n = read(s->fd, &h, sizeof(h));

			if (n < 0 && errno == EINTR)
				continue;
			if (n != (ssize_t)sizeof(h))
				break;	/* EAGAIN: none done yet */
			op = h.usr_ptr;
			r = op->r;
			finish(s, r, &h, 0, op->dir, op->len, NULL);
			free(op);
			__atomic_fetch_add(&s->async_cmds, 1, __ATOMIC_RELAXED);
			scsi_lun__async_done(&s->l, r);
		}
	}
}

static bool sgio_is_inline(struct scsi_lun *l __unused, const struct scsi_req *r __unused)
{
	return false;	/* every command waits for the device */
}

static void sgio_status(struct scsi_lun *l, json_object *o)
{
	struct sgio *s = to_sgio(l);

	json_object_object_add(o, "device", json_object_new_string(s->path));
	json_object_object_add(o, "timeout-ms", json_object_new_int(s->timeout_ms));
	json_object_object_add(o, "refused", json_object_new_int64(s->refused));
	json_object_object_add(o, "transport-errors", json_object_new_int64(s->transport_errors));
	json_object_object_add(o, "async", json_object_new_boolean(s->stop_fd >= 0));
}

static void sgio_destroy(struct scsi_lun *l)
{
	struct sgio *s = to_sgio(l);

	if (s->stop_fd >= 0) {
		u64 one = 1;

		if (write(s->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(s->reaper, NULL);
		close(s->stop_fd);
	}
	close(s->fd);
	free(s->path);
}

static const struct scsi_lun_ops sgio_rdm_ops = {
	.kind = "rdm-physical",
	.execute = sgio_execute,
	.submit = sgio_submit,
	.is_inline = sgio_is_inline,
	.status = sgio_status,
	.destroy = sgio_destroy,
	.passthrough = true,
};

static const struct scsi_lun_ops sgio_cd_ops = {
	.kind = "cdrom-passthrough",
	.execute = sgio_execute,
	.submit = sgio_submit,
	.is_inline = sgio_is_inline,
	.status = sgio_status,
	.destroy = sgio_destroy,
	.passthrough = true,
};

bool sgio__is_cdrom(struct scsi_lun *l) { return l->ops == &sgio_cd_ops; }

static void trim(char *dst, const u8 *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
	while (n && (dst[n - 1] == ' ' || !dst[n - 1]))
		dst[--n] = 0;
	for (size_t i = 0; i < n; i++)
		if (dst[i] < 0x20 || dst[i] > 0x7e)
			dst[i] = '?';
}

static int inquiry(int fd, bool evpd, u8 page, u8 *buf, unsigned int len, u8 *status,
		   unsigned int *got)
{
	u8 cdb[6] = { OP_INQUIRY, evpd ? 1 : 0, page, len >> 8, len & 0xff, 0 };
	u8 sense[SCSI_SENSE_MAX];
	unsigned int sl, resid = 0;
	int ret;

	memset(buf, 0, len);
	ret = sgio__command(fd, cdb, 6, SCSI_DIR_IN, buf, len, 10000, status, sense, &sl, &resid);
	*got = len - MIN(resid, len);
	return ret;
}

int sgio__read_identity(int fd, struct scsi_identity *id, u8 *type, char *err, size_t errlen)
{
	u8 buf[260], st;
	unsigned int got;
	int ret;

	memset(id, 0, sizeof(*id));
	ret = inquiry(fd, false, 0, buf, 96, &st, &got);
	if (ret) {
		snprintf(err, errlen, "%s", ret == -ENOTTY || ret == -EINVAL ?
			 "it does not take SCSI commands (SG_IO); give a SCSI LUN: /dev/sgN, /dev/sdX or /dev/srN" :
			 ret == -EPERM || ret == -EACCES ?
			 "SG_IO was refused; run dpvm as root (CAP_SYS_RAWIO)" : strerror(-ret));
		return ret;
	}
	if (st != SAM_STAT_GOOD || got < 36) {
		snprintf(err, errlen, "INQUIRY failed (status %#x); the LUN does not answer", st);
		return -EIO;
	}
	if (buf[0] >> 5) {
		snprintf(err, errlen, "no logical unit there (peripheral qualifier %d)", buf[0] >> 5);
		return -ENODEV;
	}
	*type = buf[0] & 0x1f;
	trim(id->vendor, buf + 8, 8);
	trim(id->product, buf + 16, 16);
	trim(id->revision, buf + 32, 4);
	if (!inquiry(fd, true, 0x80, buf, 255, &st, &got) && st == SAM_STAT_GOOD && got >= 4 &&
	    buf[1] == 0x80) {
		unsigned int n = MIN((unsigned int)get_be16(buf + 2), got - 4);

		n = MIN(n, (unsigned int)sizeof(id->serial) - 1);
		trim(id->serial, buf + 4, n);
		/* serial numbers are often padded on the left too */
		memmove(id->serial, id->serial + strspn(id->serial, " "),
			strlen(id->serial) - strspn(id->serial, " ") + 1);
	}
	if (!inquiry(fd, true, 0x83, buf, 255, &st, &got) && st == SAM_STAT_GOOD && got >= 4 &&
	    buf[1] == 0x83) {
		unsigned int n = MIN((unsigned int)get_be16(buf + 2), got - 4), o = 0;

		/* whole descriptors only */
		while (o + 4 <= n && o + 4 + buf[4 + o + 3] <= n &&
		       o + 4 + buf[4 + o + 3] <= sizeof(id->desig))
			o += 4 + buf[4 + o + 3];
		memcpy(id->desig, buf + 4, o);
		id->desig_len = o;
	}
	scsi_ident__find_wwn(id);
	return 0;
}

struct scsi_lun *sgio__create(const struct sgio_params *p, const char *name, u8 target,
			      u16 lun, char **err)
{
	struct sgio *s = xzalloc(sizeof(*s));
	char msg[200];

	scsi_lun__init(&s->l, p->cdrom ? &sgio_cd_ops : &sgio_rdm_ops, name, target, lun);
	s->fd = p->fd;
	s->path = xstrdup(p->path);
	s->cdrom = p->cdrom;
	s->timeout_ms = p->timeout_ms ? p->timeout_ms : DEFAULT_TIMEOUT_MS;
	s->stop_fd = -1;
	if (sgio__read_identity(s->fd, &s->l.ident, &s->type, msg, sizeof(msg))) {
		scsi_err(err, "%s: %s", p->path, msg);
		scsi_lun__destroy(&s->l);
		return NULL;
	}
	if (p->cdrom && s->type != 0x05) {
		scsi_err(err, "%s: a SCSI device of type %#x, not a CD/DVD drive (5); use scsi-rdm for it",
			 p->path, s->type);
		scsi_lun__destroy(&s->l);
		return NULL;
	}
	if (scsi_lun__start(&s->l, p->workers)) {
		scsi_lun__destroy(&s->l);
		return NULL;
	}
	/* an sg node (char major 21) opened non-blocking: commands go
	 * asynchronously, read back by a reaper thread */
	{
		struct stat st;
		int fl = fcntl(s->fd, F_GETFL);

		if (!fstat(s->fd, &st) && S_ISCHR(st.st_mode) && major(st.st_rdev) == SCSI_GENERIC_MAJOR &&
		    fl >= 0 && (fl & O_NONBLOCK) && sgio_ioctl == real_ioctl) {
			s->stop_fd = eventfd(0, EFD_CLOEXEC);
			if (s->stop_fd >= 0 && pthread_create(&s->reaper, NULL, sg_reaper, s)) {
				close(s->stop_fd);
				s->stop_fd = -1;
			}
		}
	}
	return &s->l;
}

int sgio__eject(struct scsi_lun *l, bool force, char **err)
{
	struct sgio *s = to_sgio(l);
	u8 allow[6] = { OP_PREVENT_ALLOW, 0, 0, 0, 0, 0 };
	u8 eject[6] = { OP_START_STOP_UNIT, 0, 0, 0, 0x02, 0 };
	u8 sense[SCSI_SENSE_MAX], st;
	unsigned int sl = 0;
	char name[64];
	int ret;

	if (force)
		sgio__command(s->fd, allow, 6, SCSI_DIR_NONE, NULL, 0, s->timeout_ms, &st, sense,
			      &sl, NULL);
	ret = sgio__command(s->fd, eject, 6, SCSI_DIR_NONE, NULL, 0, s->timeout_ms, &st, sense,
			    &sl, NULL);
	if (ret)
		return scsi_err(err, "%s: %s: SG_IO: %s", l->name, s->path, strerror(-ret)), ret;
	if (st != SAM_STAT_GOOD)
		return scsi_err(err, "%s: %s: the drive refused to eject: %s%s", l->name, s->path,
				scsi_sense__name(scsi_sense__code(sense, sl), name, sizeof(name)),
				force ? "" : "; use 'cdrom eject force' if the guest locked it"), -EIO;
	return 0;
}
