// SPDX-License-Identifier: GPL-2.0
/*
 * Emulated USB mass storage: the Bulk-Only Transport (USB Mass Storage
 * Class, Bulk-Only Transport 1.0) over the SCSI layer's disk emulation
 * (devices/scsi/sbc.c), backed by a file or block device.  A SuperSpeed
 * device (or high speed with speed=high) with one interface (class 8, SCSI
 * transparent, BOT), bulk IN 0x81 and bulk OUT 0x02.
 *
 *   CBW (31 bytes, OUT) -> data (IN or OUT, dCBWDataTransferLength) -> CSW (13 bytes, IN)
 *
 * The command runs on the LUN's workers; until it is done, IN packets are
 * NAKed and the controller waits for usb__wakeup.  BOT has no autosense:
 * the sense of a failed command is kept for the REQUEST SENSE that follows.
 * Whatever the guest sends that does not fit (a bad CBW, a transfer length
 * that does not match the command, data where none belongs) stalls the
 * endpoints or ends in a phase error, which the guest recovers from with a
 * Bulk-Only Mass Storage Reset.
 */
#include "devices/scsi/scsi.h"
#include "devices/usb-kind.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSD_VENDOR		0x1209	/* pid.codes */
#define MSD_PRODUCT		0x0003	/* a test product id */
#define MSD_MAX_XFER		(16u << 20)
#define CBW_SIG			0x43425355	/* "USBC" */
#define CSW_SIG			0x53425355	/* "USBS" */
#define CBW_LEN			31
#define CSW_LEN			13
#define CSW_PASSED		0
#define CSW_FAILED		1
#define CSW_PHASE_ERROR		2
#define BOT_RESET		0xff
#define BOT_GET_MAX_LUN		0xfe
#define EP_IN			1
#define EP_OUT			2

/* high speed (USB 2.0 ports): 512-byte bulk packets */
static const u8 msd_device[18] = {
	18, USB_DT_DEVICE, 0x00, 0x02, 0, 0, 0, 64,
	MSD_VENDOR & 0xff, MSD_VENDOR >> 8, MSD_PRODUCT & 0xff, MSD_PRODUCT >> 8,
	0x00, 0x01, 1, 2, 3, 1,
};

static const u8 msd_config[32] = {
	9, USB_DT_CONFIG, 32, 0, 1, 1, 0, 0x80, 250,
	9, USB_DT_INTERFACE, 0, 0, 2, 8, 6, 0x50, 0,
	7, USB_DT_ENDPOINT, USB_DIR_IN | EP_IN, 2, 0x00, 0x02, 0,
	7, USB_DT_ENDPOINT, EP_OUT, 2, 0x00, 0x02, 0,
};

/*
 * SuperSpeed (USB 3 ports, the default): 1024-byte bulk packets in bursts
 * of 16, a BOS with the USB 2.0 extension and SuperSpeed capabilities.
 * Linux's usb-storage gives a SuperSpeed device 1 MiB commands (2048
 * sectors) where a high-speed one gets 120 KiB: 8 times fewer transfers,
 * and every transfer costs guest exits.
 */
static const u8 msd_ss_device[18] = {
	18, USB_DT_DEVICE, 0x00, 0x03, 0, 0, 0, 9,	/* bMaxPacketSize0 2^9 */
	MSD_VENDOR & 0xff, MSD_VENDOR >> 8, MSD_PRODUCT & 0xff, MSD_PRODUCT >> 8,
	0x00, 0x01, 1, 2, 3, 1,
};

static const u8 msd_ss_config[44] = {
	9, USB_DT_CONFIG, 44, 0, 1, 1, 0, 0x80, 112,	/* 896 mA in 8 mA units */
	9, USB_DT_INTERFACE, 0, 0, 2, 8, 6, 0x50, 0,
	7, USB_DT_ENDPOINT, USB_DIR_IN | EP_IN, 2, 0x00, 0x04, 0,
	6, USB_DT_SS_EP_COMP, 15, 0, 0, 0,		/* bMaxBurst 15: 16 packets */
	7, USB_DT_ENDPOINT, EP_OUT, 2, 0x00, 0x04, 0,
	6, USB_DT_SS_EP_COMP, 15, 0, 0, 0,
};

static const u8 msd_bos[22] = {
	5, USB_DT_BOS, 22, 0, 2,
	7, 0x10, 2, 0, 0, 0, 0,				/* USB 2.0 extension */
	10, 0x10, 3, 0, 0x0e, 0, 1, 10, 0xff, 0x07,	/* SuperSpeed: FS/HS/SS, U1 10 us, U2 2047 us */
};

static const char *const msd_strings[] = { "dpvm", "dpvm USB Storage" };

enum msd_state { MSD_CBW, MSD_DATA_OUT, MSD_BUSY, MSD_DATA_IN, MSD_CSW, MSD_RESET_NEEDED };

struct msd_cmd {
	struct scsi_req r;
	struct iovec iov;
	u8 *buf;
	u32 len;		/* dCBWDataTransferLength */
	u32 tag;
	bool in;
	u64 gen;
	struct msd *m;
};

struct msd_params {
	char *path;
	bool readonly;
	bool high_speed;	/* a USB 2.0 device instead of SuperSpeed */
	char *serial;
};

struct msd {
	struct usb_dev dev;
	struct usb_desc desc;
	struct scsi_lun *lun;
	char serial[32];
	pthread_mutex_t lock;	/* below; inner to the controller's lock */
	struct usb_std std;
	enum msd_state state;
	struct msd_cmd *cmd;	/* the command in progress */
	u32 done;		/* data bytes moved so far */
	u8 csw_status;
	u64 gen;		/* bumps on reset: a late completion is dropped */
	u8 sense[SCSI_SENSE_MAX];	/* for the next REQUEST SENSE */
	unsigned int sense_len;
	u64 commands, errors, phase_errors, bytes_read, bytes_written;
};

static void put_le32(u8 *p, u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static u32 get_le32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static void cmd_free(struct msd_cmd *c)
{
	if (c) {
		free(c->buf);
		free(c);
	}
}

/* halt both bulk endpoints until a Bulk-Only reset (invalid CBW, BOT 6.6.1) */
static void need_reset(struct msd *m)
{
	m->state = MSD_RESET_NEEDED;
	m->std.halted[0x10 | EP_IN] = true;
	m->std.halted[EP_OUT] = true;
}

/* the command ended: data-in or straight to the status */
static void cmd_finished(struct msd *m, struct msd_cmd *c)
{
	struct scsi_req *r = &c->r;

	if (r->response != SCSI_RESP_OK) {
		m->csw_status = CSW_FAILED;
		m->errors++;
	} else if (r->status == SAM_STAT_GOOD || r->status == SAM_STAT_CONDITION_MET) {
		m->csw_status = CSW_PASSED;
	} else {
		m->csw_status = CSW_FAILED;
		m->errors++;
		if (r->status == SAM_STAT_CHECK_CONDITION && r->sense_len) {
			m->sense_len = MIN(r->sense_len, (unsigned int)SCSI_SENSE_MAX);
			memcpy(m->sense, r->sense, m->sense_len);
		}
	}
	if (c->in) {
		m->bytes_read += r->in_done;
		m->done = 0;
		m->state = r->in_done ? MSD_DATA_IN : MSD_CSW;
		/* the data the command produced; the rest of dCBWDataTransferLength is residue */
		c->iov.iov_len = r->in_done;
	} else {
		m->bytes_written += r->out_done;
		m->state = MSD_CSW;
	}
}

static void scsi_done(struct scsi_req *r)
{
	struct msd_cmd *c = r->opaque;
	struct msd *m = c->m;
	bool wake = false;

	pthread_mutex_lock(&m->lock);
	if (c->gen == m->gen && m->cmd == c && m->state == MSD_BUSY) {
		cmd_finished(m, c);
		wake = true;
	} else if (m->cmd != c) {
		cmd_free(c);	/* abandoned by a reset */
	}
	pthread_mutex_unlock(&m->lock);
	if (wake)
		usb__wakeup(&m->dev, EP_IN, true);
}

/* REQUEST SENSE right after a failed command: its sense (no autosense in BOT) */
static bool request_sense(struct msd *m, struct msd_cmd *c)
{
	if (c->r.cdb[0] != OP_REQUEST_SENSE || !m->sense_len)
		return false;
	scsi_req__good(&c->r);
	scsi_req__data_in(&c->r, m->sense, m->sense_len, c->r.cdb[4]);
	m->sense_len = 0;
	return true;
}

/* run the command (data-out collected, or none) */
static void cmd_start(struct msd *m, struct msd_cmd *c)
{
	struct scsi_req *r = &c->r;

	m->commands++;
	m->state = MSD_BUSY;
	if (c->in) {
		r->in = &c->iov;
		r->nin = c->len ? 1 : 0;
		r->in_len = c->len;
	} else {
		r->out = &c->iov;
		r->nout = c->len ? 1 : 0;
		r->out_len = c->len;
	}
	r->done = scsi_done;
	r->opaque = c;
	if (request_sense(m, c)) {
		cmd_finished(m, c);
		return;
	}
	if (r->cdb[0] != OP_REQUEST_SENSE)
		m->sense_len = 0;
	if (r->cdb[0] == OP_REPORT_LUNS) {
		u8 luns[16] = { 0, 0, 0, 8 };

		scsi_req__good(r);
		scsi_req__data_in(r, luns, sizeof(luns), get_be32(r->cdb + 6));
		cmd_finished(m, c);
		return;
	}
	/* the lock is dropped: a worker's completion takes it */
	pthread_mutex_unlock(&m->lock);
	if (scsi_lun__submit(m->lun, r)) {
		pthread_mutex_lock(&m->lock);
		if (m->cmd == c && m->state == MSD_BUSY)
			cmd_finished(m, c);
		return;
	}
	pthread_mutex_lock(&m->lock);
}

static void phase_error(struct msd *m)
{
	m->phase_errors++;
	m->csw_status = CSW_PHASE_ERROR;
	m->state = MSD_CSW;
}

static int on_cbw(struct msd *m, struct usb_packet *p)
{
	const u8 *b = p->buf;
	struct msd_cmd *c;
	u8 cblen;

	if (p->len != CBW_LEN || get_le32(b) != CBW_SIG || (b[13] & 0x0f) != 0 ||
	    (cblen = b[14] & 0x1f) < 1 || cblen > 16) {
		pr_warn_guest("%s: not a valid CBW (%u bytes, signature %#x); the endpoints halt until a "
			      "Bulk-Only reset", m->dev.id, p->len, p->len >= 4 ? get_le32(b) : 0);
		need_reset(m);
		return p->status = USB_RET_STALL;
	}
	c = xzalloc(sizeof(*c));
	c->m = m;
	c->tag = get_le32(b + 4);
	c->len = get_le32(b + 8);
	c->in = b[12] & 0x80;
	c->gen = m->gen;
	memcpy(c->r.cdb, b + 15, cblen);
	c->r.cdb_len = cblen;
	cmd_free(m->cmd);
	m->cmd = c;
	m->done = 0;
	p->actual = CBW_LEN;
	p->status = USB_RET_SUCCESS;
	if (c->len > MSD_MAX_XFER) {
		pr_warn_guest("%s: a CBW asks for %u bytes (at most %u); phase error", m->dev.id, c->len,
			      MSD_MAX_XFER);
		c->len = 0;
		phase_error(m);
		return p->status;
	}
	if (scsi_cdb__decode(c->r.cdb, cblen, &c->r.c)) {
		scsi_req__check(&c->r, SC_INVALID_OPCODE);
		c->len = 0;
		cmd_finished(m, c);
		return p->status;
	}
	if (c->r.c.known && c->r.c.dir != SCSI_DIR_NONE) {
		u64 need = scsi_cdb__xfer_bytes(&c->r.c, m->lun->block_size);

		/* the host expects no data, less of a read or write, or the other
		 * direction (BOT 6.7 cases 2, 3, 7, 8, 10, 13); an allocation
		 * length beyond dCBWDataTransferLength is only cut short */
		if ((need && !c->len) || (c->r.c.rw && need > c->len) ||
		    (need && (c->r.c.dir == SCSI_DIR_IN) != c->in)) {
			c->len = 0;
			phase_error(m);
			return p->status;
		}
	}
	c->buf = c->len ? xzalloc(c->len) : NULL;
	c->iov.iov_base = c->buf;
	c->iov.iov_len = c->len;
	if (!c->in && c->len) {
		m->state = MSD_DATA_OUT;
		return p->status;
	}
	cmd_start(m, c);
	return p->status;
}

static int on_bulk_out(struct msd *m, struct usb_packet *p)
{
	struct msd_cmd *c = m->cmd;
	u32 n;

	switch (m->state) {
	case MSD_CBW:
		return on_cbw(m, p);
	case MSD_DATA_OUT:
		n = MIN(p->len, c->len - m->done);
		memcpy(c->buf + m->done, p->buf, n);
		m->done += n;
		p->actual = n;
		p->status = USB_RET_SUCCESS;
		if (n < p->len) {
			/* more than dCBWDataTransferLength: babble */
			p->status = USB_RET_BABBLE;
		}
		if (m->done == c->len)
			cmd_start(m, c);
		return p->status;
	case MSD_BUSY:
		return USB_RET_NAK;
	default:
		/* data or a CBW while the host should read the status */
		m->std.halted[EP_OUT] = true;
		return p->status = USB_RET_STALL;
	}
}

static void send_csw(struct msd *m, struct usb_packet *p)
{
	struct msd_cmd *c = m->cmd;
	u8 csw[CSW_LEN];
	u32 moved = c ? (c->in ? m->done : c->r.out_done) : 0;

	put_le32(csw, CSW_SIG);
	put_le32(csw + 4, c ? c->tag : 0);
	put_le32(csw + 8, c && c->len > moved ? c->len - moved : 0);
	csw[12] = m->csw_status;
	usb_packet__reply(p, csw, sizeof(csw));
	cmd_free(c);
	m->cmd = NULL;
	m->state = MSD_CBW;
}

static int on_bulk_in(struct msd *m, struct usb_packet *p)
{
	struct msd_cmd *c = m->cmd;
	u32 n;

	switch (m->state) {
	case MSD_BUSY:
		return USB_RET_NAK;
	case MSD_DATA_IN:
		n = MIN(p->len, (u32)c->iov.iov_len - m->done);
		memcpy(p->buf, c->buf + m->done, n);
		m->done += n;
		p->actual = n;
		p->status = USB_RET_SUCCESS;
		if (m->done == c->iov.iov_len)
			m->state = MSD_CSW;
		return p->status;
	case MSD_CSW:
		if (p->len < CSW_LEN) {
			/* a phase's data the device has no more of: zero bytes */
			p->actual = 0;
			return p->status = USB_RET_SUCCESS;
		}
		send_csw(m, p);
		return p->status;
	default:
		m->std.halted[0x10 | EP_IN] = true;
		return p->status = USB_RET_STALL;
	}
}

static void bot_reset(struct msd *m)
{
	m->gen++;
	if (m->state != MSD_BUSY)
		cmd_free(m->cmd);
	/* a command still on a worker frees itself when it ends */
	m->cmd = NULL;
	m->state = MSD_CBW;
	m->done = 0;
}

static int msd_handle(struct usb_dev *d, struct usb_packet *p)
{
	struct msd *m = container_of(d, struct msd, dev);
	const struct usb_setup *s = &p->setup;
	int ret;

	pthread_mutex_lock(&m->lock);
	if (p->ep == 0) {
		bool was_halted = m->std.halted[0x10 | EP_IN] || m->std.halted[EP_OUT];

		if (usb_desc__handle_std(&m->desc, &m->std, p)) {
			ret = p->status;
			/* after an invalid CBW, clearing the halts alone does not
			 * recover: BOT 5.3.4 wants the reset first */
			if (m->state == MSD_RESET_NEEDED && was_halted && s->bRequest == USB_REQ_CLEAR_FEATURE)
				m->std.halted[s->wIndex & USB_DIR_IN ? 0x10 | EP_IN : EP_OUT] = true;
		} else if (s->bmRequestType == (USB_TYPE_CLASS | USB_RECIP_INTERFACE) &&
			   s->bRequest == BOT_RESET) {
			bot_reset(m);
			p->actual = 0;
			ret = p->status = USB_RET_SUCCESS;
		} else if (s->bmRequestType == (USB_DIR_IN | USB_TYPE_CLASS | USB_RECIP_INTERFACE) &&
			   s->bRequest == BOT_GET_MAX_LUN) {
			u8 zero = 0;

			usb_packet__reply(p, &zero, 1);
			ret = p->status;
		} else {
			ret = p->status = USB_RET_STALL;
		}
	} else if (p->type != USB_XFER_BULK ||
		   (p->in ? p->ep != EP_IN : p->ep != EP_OUT)) {
		ret = p->status = USB_RET_STALL;
	} else if (m->std.halted[p->in ? 0x10 | EP_IN : EP_OUT]) {
		ret = p->status = USB_RET_STALL;
	} else {
		ret = p->in ? on_bulk_in(m, p) : on_bulk_out(m, p);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static void msd_reset(struct usb_dev *d)
{
	struct msd *m = container_of(d, struct msd, dev);

	pthread_mutex_lock(&m->lock);
	bot_reset(m);
	memset(&m->std, 0, sizeof(m->std));
	m->sense_len = 0;
	pthread_mutex_unlock(&m->lock);
}

static void msd_status(struct usb_dev *d, json_object *o)
{
	struct msd *m = container_of(d, struct msd, dev);

	pthread_mutex_lock(&m->lock);
	json_object_object_add(o, "commands", json_object_new_int64(m->commands));
	json_object_object_add(o, "errors", json_object_new_int64(m->errors));
	json_object_object_add(o, "phase-errors", json_object_new_int64(m->phase_errors));
	json_object_object_add(o, "bytes-read", json_object_new_int64(m->bytes_read));
	json_object_object_add(o, "bytes-written", json_object_new_int64(m->bytes_written));
	json_object_object_add(o, "serial", json_object_new_string(m->serial));
	pthread_mutex_unlock(&m->lock);
}

static void msd_destroy(struct usb_dev *d)
{
	struct msd *m = container_of(d, struct msd, dev);

	scsi_lun__drain(m->lun);
	scsi_lun__destroy(m->lun);
	pthread_mutex_lock(&m->lock);
	cmd_free(m->cmd);
	m->cmd = NULL;
	pthread_mutex_unlock(&m->lock);
	free(m->dev.id);
	free(m);
}

static const struct usb_dev_ops msd_ops = {
	.kind = "storage",
	.handle = msd_handle,
	.reset = msd_reset,
	.status = msd_status,
	.destroy = msd_destroy,
};

/* ---- the kind ---- */

static int msd_parse(json_object *b, void **priv, char **err)
{
	static const char *const keys[] = { "path", "readonly", "ro", "serial", "speed", NULL };
	struct msd_params *p = xzalloc(sizeof(*p));
	const char *path, *serial, *speed;
	bool ro = false;

	*priv = p;
	if (usb_opt_keys(b, keys, err) || usb_opt_string(b, "path", true, &path, err) ||
	    usb_opt_bool(b, "readonly", &p->readonly, err) || usb_opt_bool(b, "ro", &ro, err) ||
	    usb_opt_string(b, "serial", false, &serial, err) ||
	    usb_opt_string(b, "speed", false, &speed, err))
		return -1;
	if (speed && strcmp(speed, "super") && strcmp(speed, "high"))
		return usb_err(err, "speed '%s' is not super (a USB 3 port, the default) or high (USB 2)",
			       speed);
	p->high_speed = speed && !strcmp(speed, "high");
	p->readonly |= ro;
	if (serial && (strlen(serial) < 12 || strlen(serial) > 20))
		return usb_err(err, "serial '%s' must have 12 to 20 characters (BOT 4.1.1)", serial);
	if (access(path, p->readonly ? R_OK : R_OK | W_OK))
		return usb_err(err, "path '%s': %s; give a disk image or block device dpvm can %s",
			       path, strerror(errno), p->readonly ? "read" : "read and write");
	p->path = xstrdup(path);
	p->serial = serial ? xstrdup(serial) : NULL;
	return 0;
}

static void msd_release(void *priv)
{
	struct msd_params *p = priv;

	free(p->path);
	free(p->serial);
}

static int msd_create(struct vm *vm __unused, const char *id, void *priv, struct usb_dev **out,
		      char **err)
{
	struct msd_params *p = priv;
	struct msd *m = xzalloc(sizeof(*m));
	struct scsi_identity ident = { 0 };
	char seed[PATH_MAX + 64];
	struct sbc_params sp;
	u64 wwn;
	int fd;

	fd = open(p->path, (p->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		free(m);
		return usb_err(err, "%s: %s", p->path, strerror(e)), -e;
	}
	snprintf(seed, sizeof(seed), "usb:%s:%s", id, p->path);
	wwn = scsi_wwn_derive(seed);
	snprintf(m->serial, sizeof(m->serial), "%s",
		 p->serial ? p->serial : "");
	if (!p->serial)
		snprintf(m->serial, sizeof(m->serial), "DPVM%012llX",
			 (unsigned long long)(wwn & 0xffffffffffffULL));
	scsi_ident__set(&ident, "DPVM", "USB disk", "0001", m->serial, wwn);
	sp = (struct sbc_params){ .fd = fd, .path = p->path, .readonly = p->readonly,
				  .block_size = 512, .workers = 2 };
	m->lun = sbc__create(&sp, &ident, id, 0, 0, "disk");
	if (!m->lun) {
		close(fd);
		free(m);
		return usb_err(err, "%s: cannot set up the disk emulation", p->path), -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->dev.ops = &msd_ops;
	m->dev.backing = "emulated";
	m->dev.migratable = true;
	m->dev.speed = p->high_speed ? USB_SPEED_HIGH : USB_SPEED_SUPER;
	m->dev.vendor = MSD_VENDOR;
	m->dev.product = MSD_PRODUCT;
	snprintf(m->dev.product_name, sizeof(m->dev.product_name), "dpvm USB Storage");
	m->desc = (struct usb_desc){
		.device = p->high_speed ? msd_device : msd_ss_device,
		.config = p->high_speed ? msd_config : msd_ss_config,
		.bos = p->high_speed ? NULL : msd_bos,
		.strings = msd_strings, .nr_strings = ARRAY_SIZE(msd_strings),
		.serial = m->serial, .serial_index = 3,
	};
	*out = &m->dev;
	return 0;
}

static struct usb_kind storage_kind = {
	.name = "storage", .parse = msd_parse, .create = msd_create, .release = msd_release,
};
usb_kind(storage_kind);

/* for tests: a device on an open fd */
struct usb_dev *usb_storage__new(const char *path, bool readonly, char **err)
{
	struct msd_params p = { .path = (char *)path, .readonly = readonly };
	struct usb_dev *d = NULL;

	if (msd_create(NULL, "msd", &p, &d, err))
		return NULL;
	return d;
}
