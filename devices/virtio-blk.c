// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio spec 5.2) backed by a file or a block device.
 *
 *   --disk FILE[,ro][,serial=S]
 *   {"type": "virtio-blk", "backing": {"type": "file", "path": "root.img",
 *    "readonly": false}, "serial": "..."}
 *
 * Requests are served on the device's I/O thread.  The image is locked
 * (flock: exclusive when writable, shared when read-only) so two VMs never
 * write the same disk.
 */
#include "devices/virtio.h"
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define VIRTIO_ID_BLOCK		2
#define PCI_CLASS_STORAGE_SCSI	0x010000

#define BLK_F_SEG_MAX		2
#define BLK_F_RO		5
#define BLK_F_BLK_SIZE		6
#define BLK_F_FLUSH		9
#define BLK_F_DISCARD		13
#define BLK_F_WRITE_ZEROES	14

#define BLK_T_IN		0
#define BLK_T_OUT		1
#define BLK_T_FLUSH		4
#define BLK_T_GET_ID		8
#define BLK_T_DISCARD		11
#define BLK_T_WRITE_ZEROES	13

#define BLK_S_OK		0
#define BLK_S_IOERR		1
#define BLK_S_UNSUPP		2

#define SECTOR			512ULL
#define QUEUE_SIZE		256
#define SEG_MAX			(QUEUE_SIZE - 2)
#define ID_BYTES		20
#define MAX_DISCARD_SECTORS	(1U << 22)	/* 2 GiB per segment */
#define WRITE_ZEROES_MAY_UNMAP	1

struct blk_req_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
};

struct blk_discard {
	u64 sector;
	u32 num_sectors;
	u32 flags;
};

/* the device configuration (5.2.4), as much of it as we offer */
struct blk_config {
	u64 capacity;
	u32 size_max;
	u32 seg_max;
	struct { u16 cylinders; u8 heads; u8 sectors; } geometry;
	u32 blk_size;
	struct { u8 physical_block_exp, alignment_offset; u16 min_io_size; u32 opt_io_size; } topology;
	u8 writeback;
	u8 unused0[3];
	u32 max_discard_sectors;
	u32 max_discard_seg;
	u32 discard_sector_alignment;
	u32 max_write_zeroes_sectors;
	u32 max_write_zeroes_seg;
	u8 write_zeroes_may_unmap;
	u8 unused1[3];
} __packed;

struct blk_params {		/* parsed configuration */
	char *path;
	char *serial;
	bool readonly;
	int fd;			/* opened and locked at validation, used by create */
	dev_t dev;
	ino_t ino;
};

struct virtio_blk {
	struct virtio_dev vdev;
	struct blk_params *p;
	int fd;
	u64 size;		/* bytes */
	bool is_blockdev;
	struct blk_config cfg;
	struct virtq_elem elem;
	u64 reads, writes, flushes, errors;
};

/* ---- configuration ---- */

static int blk_validate(struct device_config *dc)
{
	static const char *const keys[] = { "type", "id", "backing", "serial", NULL };
	static const char *const bkeys[] = { "type", "path", "readonly", NULL };
	struct blk_params *p = xzalloc(sizeof(*p));
	struct device_type *self = device_type__find("virtio-blk");
	json_object *backing;
	const char *path, *btype, *serial;
	char where[256];
	struct stat st;
	int fd;

	p->fd = -1;
	dc->priv = p;
	if (config__check_keys(dc->obj, dc->where, keys))
		return -1;
	if (!json_object_object_get_ex(dc->obj, "backing", &backing)) {
		pr_err("%s.backing: missing; give {\"type\": \"file\", \"path\": FILE}", dc->where);
		return -1;
	}
	snprintf(where, sizeof(where), "%s.backing", dc->where);
	if (config__check_keys(backing, where, bkeys) ||
	    config__get_string(backing, "type", where, false, &btype) ||
	    config__get_string(backing, "path", where, true, &path) ||
	    config__get_bool(backing, "readonly", where, &p->readonly) ||
	    config__get_string(dc->obj, "serial", dc->where, false, &serial))
		return -1;
	if (btype && strcmp(btype, "file")) {
		pr_err("%s.type: '%s' is not a virtio-blk backing; use \"file\" (a file or block device)",
		       where, btype);
		return -1;
	}
	if (serial && strlen(serial) > ID_BYTES) {
		pr_err("%s.serial: '%s' is longer than %d bytes", dc->where, serial, ID_BYTES);
		return -1;
	}
	fd = open(path, (p->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		pr_err("%s: %s: %s; %s", dc->where, path, strerror(errno),
		       errno == EACCES || errno == EROFS ? "attach it read-only (ro)" :
		       "check the path of the disk image");
		return -1;
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		pr_err("%s: %s: not a regular file or block device; give a disk image", dc->where, path);
		close(fd);
		return -1;
	}
	/* the same image twice in this VM, writable either time: say so (flock
	 * would call it "in use"); read-only twice is harmless */
	for (struct device_config *o = dc - dc->index; o < dc; o++) {
		struct blk_params *op = o->priv;

		if (device_type__find(o->type) == self && op && op->fd >= 0 &&
		    op->dev == st.st_dev && op->ino == st.st_ino && (!p->readonly || !op->readonly)) {
			pr_err("%s: %s is already attached by %s; give each writable disk once",
			       dc->where, path, o->where);
			close(fd);
			return -1;
		}
	}
	/* keep the image open and locked from now on, so nothing can take it
	 * between this check and power-on */
	if (flock(fd, (p->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		pr_err("%s: %s is in use by another program (locked); stop it or attach the disk read-only",
		       dc->where, path);
		close(fd);
		return -1;
	}
	p->fd = fd;
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	p->path = xstrdup(path);
	p->serial = serial ? xstrdup(serial) : NULL;
	return 0;
}

/* --disk FILE[,ro][,serial=S][,id=ID] */
static json_object *blk_from_flag(const char *value, const char *where)
{
	static const struct flag_opt opts[] = {
		{ "ro", "backing.readonly", FLAG_TRUE },
		{ "serial", "serial", FLAG_STRING },
		{ "id", "id", FLAG_STRING },
		{ NULL },
	};

	return config__flag_entry("virtio-blk", value, where, "backing.path", opts, NULL,
				  "FILE[,ro][,serial=S][,id=ID]");
}

/* ---- requests ---- */

static u8 errno_status(int err)
{
	return err == -EOPNOTSUPP ? BLK_S_UNSUPP : BLK_S_IOERR;
}

static int blk_discard(struct virtio_blk *b, struct virtq_elem *e, bool zeroes)
{
	size_t len = e->out_len - sizeof(struct blk_req_hdr);
	struct blk_discard seg;

	if (!len || len % sizeof(seg))
		return -EINVAL;
	for (size_t off = 0; off < len; off += sizeof(seg)) {
		u64 start, n;
		int mode;

		iov_to_buf(e->iov, e->nout, sizeof(struct blk_req_hdr) + off, &seg, sizeof(seg));
		start = le64toh(seg.sector);
		n = le32toh(seg.num_sectors);
		if (n > MAX_DISCARD_SECTORS || start > b->size / SECTOR ||
		    n > b->size / SECTOR - start || (le32toh(seg.flags) & ~WRITE_ZEROES_MAY_UNMAP))
			return -EINVAL;
		if (zeroes && !(le32toh(seg.flags) & WRITE_ZEROES_MAY_UNMAP))
			mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		else
			mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		if (b->is_blockdev) {
			u64 range[2] = { start * SECTOR, n * SECTOR };

			if (ioctl(b->fd, zeroes ? BLKZEROOUT : BLKDISCARD, range) < 0 && zeroes)
				return -errno;
			continue; /* a discard a device refuses is only a hint */
		}
		if (fallocate(b->fd, mode, start * SECTOR, n * SECTOR) < 0 &&
		    (zeroes || errno != EOPNOTSUPP))
			return -errno;
	}
	return 0;
}

/* Serve one request; returns bytes written to the guest (incl. status). */
static u32 blk_request(struct virtio_blk *b, struct virtq_elem *e)
{
	struct blk_req_hdr h;
	u8 status = BLK_S_OK;
	struct iovec *data;
	unsigned int ndata;
	size_t dlen;
	u32 written = 1;
	int ret = 0;

	/* at least the header out and the status byte in */
	if (e->out_len < sizeof(h) || !e->nin || e->iov[e->nout + e->nin - 1].iov_len < 1) {
		pr_warn_guest("%s: request without header or status byte; dropped", b->vdev.name);
		return 0;
	}
	iov_to_buf(e->iov, e->nout, 0, &h, sizeof(h));
	h.type = le32toh(h.type);
	h.sector = le64toh(h.sector);

	/* the status byte is the last byte of the last writable buffer */
	e->iov[e->nout + e->nin - 1].iov_len--;
	data = &e->iov[h.type == BLK_T_OUT ? 0 : e->nout];
	ndata = h.type == BLK_T_OUT ? e->nout : e->nin;
	dlen = h.type == BLK_T_OUT ? e->out_len - sizeof(h) : e->in_len - 1;

	switch (h.type) {
	case BLK_T_IN:
	case BLK_T_OUT: {
		/* skip the 16-byte header in the readable buffers */
		struct iovec local[VIRTQ_MAX_SIZE];
		unsigned int n = 0;
		size_t skip = h.type == BLK_T_OUT ? sizeof(h) : 0;

		if (h.type == BLK_T_OUT && b->p->readonly) {
			status = BLK_S_IOERR;
			break;
		}
		if (dlen % SECTOR || h.sector > b->size / SECTOR ||
		    dlen / SECTOR > b->size / SECTOR - h.sector) {
			pr_warn_guest("%s: %s of %zu bytes at sector %llu is beyond the disk",
				      b->vdev.name, h.type == BLK_T_IN ? "read" : "write", dlen,
				      (unsigned long long)h.sector);
			status = BLK_S_IOERR;
			break;
		}
		for (unsigned int i = 0; i < ndata; i++) {
			if (skip >= data[i].iov_len) {
				skip -= data[i].iov_len;
				continue;
			}
			local[n].iov_base = (u8 *)data[i].iov_base + skip;
			local[n].iov_len = data[i].iov_len - skip;
			skip = 0;
			if (local[n].iov_len)
				n++;
		}
		ret = rw_all_iov(b->fd, h.type == BLK_T_OUT, local, n, h.sector * SECTOR, 0);
		if (ret == -ERANGE)
			ret = -EIO;	/* the backing shrank under us */
		if (!ret && h.type == BLK_T_IN)
			written += dlen;
		if (h.type == BLK_T_IN)
			b->reads++;
		else
			b->writes++;
		break;
	}
	case BLK_T_FLUSH:
		b->flushes++;
		if (!b->p->readonly && fdatasync(b->fd) < 0)
			ret = -errno;
		break;
	case BLK_T_GET_ID: {
		char id[ID_BYTES] = { 0 };

		/* the serial, or the image's file name; not NUL-terminated if 20 long */
		const char *src = b->p->serial;
		char *dup = xstrdup(b->p->path);

		if (!src)
			src = basename(dup);
		memcpy(id, src, MIN(strlen(src), sizeof(id)));
		free(dup);
		written += buf_to_iov(data, ndata, 0, id, MIN(dlen, sizeof(id)));
		break;
	}
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		if (b->p->readonly)
			status = BLK_S_IOERR;
		else
			ret = blk_discard(b, e, h.type == BLK_T_WRITE_ZEROES);
		break;
	default:
		status = BLK_S_UNSUPP;
	}
	if (ret) {
		pr_warn_guest("%s: %s: I/O error on the backing: %s", b->vdev.name, b->p->path,
			      strerror(-ret));
		status = errno_status(ret);
		b->errors++;
	}
	e->iov[e->nout + e->nin - 1].iov_len++;
	buf_to_iov(&e->iov[e->nout + e->nin - 1], 1, e->iov[e->nout + e->nin - 1].iov_len - 1,
		   &status, 1);
	return written;
}

static void blk_queue_notify(struct virtio_dev *v, struct virtq *vq)
{
	struct virtio_blk *b = container_of(v, struct virtio_blk, vdev);
	int ret;

	for (;;) {
		virtq__set_notify(vq, false);
		while ((ret = virtq__pop(vq, &v->vm->mem, &b->elem)) > 0) {
			u32 len = blk_request(b, &b->elem);

			virtq__push(vq, b->elem.head, len);
			virtio__notify(v, vq);
		}
		if (ret < 0)
			return;
		/* re-enable kicks, then look again: closes the race with the driver */
		virtq__set_notify(vq, true);
		if (!virtq__pop(vq, &v->vm->mem, &b->elem))
			return;
		vq->last_avail--; /* peeked: put it back and loop */
	}
}

static void blk_config_read(struct virtio_dev *v, u32 off, void *data, u32 len)
{
	struct virtio_blk *b = container_of(v, struct virtio_blk, vdev);

	memcpy(data, (u8 *)&b->cfg + off, len);
}

static void blk_config_write(struct virtio_dev *v, u32 off, const void *data, u32 len)
{
	struct virtio_blk *b = container_of(v, struct virtio_blk, vdev);

	/* only the writeback byte is writable, and we are always write-through
	 * plus flush, so it is ignored */
	(void)b; (void)off; (void)data; (void)len;
}

static json_object *blk_status(struct virtio_dev *v)
{
	struct virtio_blk *b = container_of(v, struct virtio_blk, vdev);
	json_object *o = json_object_new_object();

	json_object_object_add(o, "path", json_object_new_string(b->p->path));
	json_object_object_add(o, "readonly", json_object_new_boolean(b->p->readonly));
	json_object_object_add(o, "size", json_object_new_int64(b->size));
	json_object_object_add(o, "reads", json_object_new_int64(b->reads));
	json_object_object_add(o, "writes", json_object_new_int64(b->writes));
	json_object_object_add(o, "errors", json_object_new_int64(b->errors));
	return o;
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.class_code = PCI_CLASS_STORAGE_SCSI,
	.features = (1ULL << BLK_F_SEG_MAX) | (1ULL << BLK_F_BLK_SIZE) | (1ULL << BLK_F_FLUSH) |
		    (1ULL << BLK_F_DISCARD) | (1ULL << BLK_F_WRITE_ZEROES),
	.nr_queues = 1,
	.queue_size = QUEUE_SIZE,
	.config_size = sizeof(struct blk_config),
	.config_read = blk_config_read,
	.config_write = blk_config_write,
	.queue_notify = blk_queue_notify,
	.status = blk_status,
};

static void blk_remove(struct vm_device *vd)
{
	struct virtio_blk *b = container_of(vd, struct virtio_blk, vdev.vd);

	virtio__exit(&b->vdev);
	close(b->fd);
	free(b);
}

static void blk_release(struct device_config *dc)
{
	struct blk_params *p = dc->priv;

	if (p) {
		free(p->path);
		free(p->serial);
		if (p->fd >= 0)
			close(p->fd);
	}
}

static int blk_create(struct vm *vm, struct device_config *dc)
{
	struct blk_params *p = dc->priv;
	struct virtio_blk *b = xzalloc(sizeof(*b));
	struct stat st;
	int ret;

	b->p = p;
	b->fd = dup(p->fd);	/* the config keeps its own until it is freed */
	if (b->fd < 0) {
		ret = -errno;
		pr_err("%s: %s: %s", dc->where, p->path, strerror(errno));
		goto err_free;
	}
	fstat(b->fd, &st);
	b->is_blockdev = S_ISBLK(st.st_mode);
	if (b->is_blockdev) {
		if (ioctl(b->fd, BLKGETSIZE64, &b->size) < 0)
			b->size = 0;
	} else {
		b->size = st.st_size;
	}
	if (b->size % SECTOR)
		pr_warn("%s: %s is not a whole number of 512-byte sectors; the last %llu bytes are not visible",
			dc->where, p->path, (unsigned long long)(b->size % SECTOR));

	b->cfg.capacity = htole64(b->size / SECTOR);
	b->cfg.seg_max = htole32(SEG_MAX);
	b->cfg.blk_size = htole32(SECTOR);
	b->cfg.max_discard_sectors = htole32(MAX_DISCARD_SECTORS);
	b->cfg.max_discard_seg = htole32(1);
	b->cfg.discard_sector_alignment = htole32(8);
	b->cfg.max_write_zeroes_sectors = htole32(MAX_DISCARD_SECTORS);
	b->cfg.max_write_zeroes_seg = htole32(1);
	b->cfg.write_zeroes_may_unmap = 1;

	ret = virtio__init(vm, &b->vdev, &blk_ops, dc->id, b);
	if (ret)
		goto err_close;
	/* read-only: say so, and offer nothing that writes */
	if (p->readonly)
		b->vdev.features = (b->vdev.features & ~((1ULL << BLK_F_DISCARD) |
							 (1ULL << BLK_F_WRITE_ZEROES))) |
				   (1ULL << BLK_F_RO);
	b->vdev.vd.remove = blk_remove;
	dc->vd = &b->vdev.vd;
	return 0;

err_close:
	close(b->fd);
err_free:
	free(b);
	return ret;
}

static struct device_type virtio_blk_type = {
	.name = "virtio-blk",
	.validate = blk_validate,
	.create = blk_create,
	.release = blk_release,
	.flag = "disk",
	.flag_arg = "FILE[,ro]",
	.flag_help = "a virtio-blk disk (file or block device); ro: read-only",
	.from_flag = blk_from_flag,
};
device_type_register(virtio_blk_type);
