// SPDX-License-Identifier: GPL-2.0
/*
 * An emulated MMC CD/DVD drive with an ISO image as its medium (`scsi-cdrom`
 * with a file backing, or none: an empty drive).
 *
 * Commands: INQUIRY (VPD 0x00, 0x80, 0x83), TEST UNIT READY, REQUEST SENSE,
 * READ CAPACITY, READ (10)/(12) (and (6)/(16)), READ TOC/PMA/ATIP (formats
 * 0, 1, 2), GET CONFIGURATION, GET EVENT STATUS NOTIFICATION (polled, media
 * class), MECHANISM STATUS, PREVENT ALLOW MEDIUM REMOVAL, START STOP UNIT
 * (eject and load), MODE SENSE (6)/(10) (capabilities page 0x2A), READ DISC
 * INFORMATION, READ TRACK INFORMATION, READ DVD STRUCTURE (physical format),
 * SET CD SPEED, SET STREAMING.
 *
 * The tray: `dpvm ctl NAME cdrom insert FILE` puts a medium in and closes
 * it (the guest sees a NEW MEDIA event and NOT READY TO READY CHANGE);
 * `cdrom eject` takes the medium out, unless the guest locked the tray with
 * PREVENT ALLOW MEDIUM REMOVAL (then the guest is sent an eject request,
 * and `eject force` overrides).  A guest's own eject (START STOP UNIT,
 * LOEJ) opens the tray with the medium in it; a load closes it again.
 */
#include "devices/scsi/scsi.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CD_BLOCK		2048
#define CD_MAX_BYTES		(900ULL << 20)	/* larger media are DVDs */
#define PROFILE_CDROM		0x0008
#define PROFILE_DVDROM		0x0010

enum media_event { EV_NONE = 0, EV_EJECT_REQUEST = 1, EV_NEW_MEDIA = 2, EV_MEDIA_REMOVAL = 3 };

struct mmc {
	struct scsi_lun l;		/* first: scsi_lun__destroy frees it */
	pthread_rwlock_t medium;	/* readers: I/O on fd; writer: insert/eject */
	int fd;				/* -1: no medium */
	char *path;
	u64 nblocks;
	bool dvd;
	bool tray_open;
	bool locked;			/* PREVENT ALLOW MEDIUM REMOVAL */
	u8 event;			/* pending GESN media event */
	u64 changes;
};

static struct mmc *to_mmc(struct scsi_lun *l) { return container_of(l, struct mmc, l); }

/* medium present? (call with the rwlock held, either way) */
static bool present(struct mmc *m) { return m->fd >= 0 && !m->tray_open; }

static u32 no_medium(struct mmc *m)
{
	return m->tray_open ? SC_NO_MEDIUM_TRAY_OPEN : SC_NO_MEDIUM_TRAY_CLOSED;
}

static bool check_medium(struct mmc *m, struct scsi_req *r)
{
	if (present(m))
		return true;
	scsi_req__check(r, no_medium(m));
	return false;
}

static void lba_to_msf(u32 lba, u8 *p)
{
	lba += 150;
	p[0] = 0;
	p[1] = lba / (75 * 60);
	p[2] = (lba / 75) % 60;
	p[3] = lba % 75;
}

static void put_addr(u8 *p, u32 lba, bool msf)
{
	if (msf)
		lba_to_msf(lba, p);
	else
		put_be32(p, lba);
}

static void do_read(struct mmc *m, struct scsi_req *r)
{
	const struct scsi_cdb *c = &r->c;
	int ret;

	if (!check_medium(m, r))
		return;
	if (c->lba > m->nblocks || c->nblocks > m->nblocks - c->lba) {
		scsi_req__check(r, SC_LBA_OUT_OF_RANGE);
		return;
	}
	if (!c->nblocks)
		return;
	ret = scsi_file_rw(m->fd, false, r->in, r->nin, 0, (u64)c->nblocks * CD_BLOCK,
			   c->lba * CD_BLOCK, 0);
	if (ret == SCSI_RW_EOF) {
		pr_warn_guest("%s: %s ended before block %llu: it shrank", m->l.name, m->path,
			      (unsigned long long)(c->lba + c->nblocks));
		scsi_req__check(r, SC_LBA_OUT_OF_RANGE);
		return;
	}
	if (ret) {
		pr_warn_guest("%s: %s: read at block %llu failed: %s; the guest gets MEDIUM ERROR",
			      m->l.name, m->path, (unsigned long long)c->lba, strerror(-ret));
		scsi_req__check_info(r, scsi_errno_sense(-ret, false), c->lba);
		return;
	}
	r->in_done = (u64)c->nblocks * CD_BLOCK;
	pthread_mutex_lock(&m->l.lock);
	m->l.nr_reads++;
	m->l.bytes_read += r->in_done;
	pthread_mutex_unlock(&m->l.lock);
}

static void do_inquiry(struct mmc *m, struct scsi_req *r)
{
	u8 buf[512] = { 0 };
	unsigned int n = 0;

	if (r->cdb[1] & 0x02) {
		scsi_req__bad_field(r, 1, 1);
		return;
	}
	if (!(r->cdb[1] & 1)) {
		if (r->cdb[2]) {
			scsi_req__bad_field(r, 2, -1);
			return;
		}
		n = scsi_inquiry_std(&m->l, buf, 0x05, true);
		buf[2] = 0x05;	/* SPC-3, as MMC drives report */
	} else if (r->cdb[2] == 0x00) {
		unsigned int k = 0;

		buf[4 + k++] = 0x00;
		if (m->l.ident.serial[0])
			buf[4 + k++] = 0x80;
		buf[4 + k++] = 0x83;
		buf[0] = 0x05;
		put_be16(buf + 2, k);
		n = 4 + k;
	} else if (r->cdb[2] == 0x80) {
		n = scsi_vpd_serial(&m->l, buf, 0x05);
	} else if (r->cdb[2] == 0x83) {
		n = scsi_vpd_devid(&m->l, buf, 0x05);
	}
	if (!n) {
		scsi_req__bad_field(r, 2, -1);
		return;
	}
	scsi_req__data_in(r, buf, n, r->c.xfer);
}

static void do_read_toc(struct mmc *m, struct scsi_req *r)
{
	bool msf = r->cdb[1] & 0x02;
	u8 format = r->cdb[2] & 0x0f, track = r->cdb[6];
	u8 buf[64] = { 0 };
	unsigned int n = 4;

	if (!check_medium(m, r))
		return;
	/* the old place of the format: the top bits of the CONTROL byte */
	if (!format && (r->cdb[9] >> 6))
		format = r->cdb[9] >> 6;
	switch (format) {
	case 0:		/* TOC: track 1 (data) and the lead-out */
		if (track > 1 && track != 0xaa) {
			scsi_req__bad_field(r, 6, -1);
			return;
		}
		buf[2] = 1;
		buf[3] = 1;
		if (track <= 1) {
			buf[n + 1] = 0x14;	/* ADR 1, data track */
			buf[n + 2] = 1;
			put_addr(buf + n + 4, 0, msf);
			n += 8;
		}
		buf[n + 1] = 0x14;
		buf[n + 2] = 0xaa;
		put_addr(buf + n + 4, m->nblocks, msf);
		n += 8;
		break;
	case 1:		/* session information: one session, track 1 at 0 */
		buf[2] = 1;
		buf[3] = 1;
		buf[n + 1] = 0x14;
		buf[n + 2] = 1;
		put_addr(buf + n + 4, 0, msf);
		n += 8;
		break;
	case 2: {	/* raw TOC: points A0, A1, A2 and track 1 */
		static const u8 points[] = { 0xa0, 0xa1, 0xa2, 0x01 };

		buf[2] = 1;
		buf[3] = 1;
		for (unsigned int i = 0; i < sizeof(points); i++, n += 11) {
			u8 *d = buf + n;

			d[0] = 1;		/* session */
			d[1] = 0x14;
			d[3] = points[i];
			if (points[i] == 0xa0 || points[i] == 0xa1) {
				d[8] = 1;	/* first / last track */
			} else if (points[i] == 0xa2) {
				u8 a[4];

				lba_to_msf(m->nblocks, a);
				memcpy(d + 8, a + 1, 3);
			} else {
				d[9] = 2;	/* track 1 at 00:02:00 */
			}
		}
		break;
	}
	default:
		scsi_req__bad_field(r, 2, -1);
		return;
	}
	put_be16(buf, n - 2);
	scsi_req__data_in(r, buf, n, r->c.xfer);
}

/* one feature descriptor: code, version, current, then len bytes of data */
static unsigned int feature(u8 *p, u16 code, u8 version, bool current, const u8 *data, u8 len)
{
	put_be16(p, code);
	p[2] = version << 2 | 0x02 /* persistent */ | (current ? 1 : 0);
	if (code >= 0x0010)
		p[2] &= ~0x02;	/* medium-dependent features are not persistent */
	p[3] = len;
	memcpy(p + 4, data, len);
	return 4 + len;
}

static void do_get_configuration(struct mmc *m, struct scsi_req *r)
{
	u8 rt = r->cdb[1] & 3;
	u16 start = get_be16(r->cdb + 2);
	bool med = present(m);
	u16 profile = med ? (m->dvd ? PROFILE_DVDROM : PROFILE_CDROM) : 0;
	u8 buf[256] = { 0 };
	unsigned int n = 8;
	struct {
		u16 code;
		u8 version;
		bool current;
		u8 len;
		u8 data[8];
	} f[] = {
		{ 0x0000, 0, true, 8, { PROFILE_DVDROM >> 8, PROFILE_DVDROM & 0xff,
					profile == PROFILE_DVDROM, 0,
					PROFILE_CDROM >> 8, PROFILE_CDROM & 0xff,
					profile == PROFILE_CDROM, 0 } },
		{ 0x0001, 0, true, 4, { 0, 0, 0, 1 } },		/* core: SCSI */
		{ 0x0002, 0, true, 4, { 0 } },			/* morphing: polled events */
		{ 0x0003, 0, true, 4, { 0x29 } },		/* removable: tray, eject, lock */
		{ 0x0010, 0, med, 8, { 0, 0, CD_BLOCK >> 8, 0, 0, m->dvd ? 16 : 1, 0, 0 } },
		{ 0x001e, 0, med && !m->dvd, 4, { 0 } },		/* CD read */
		{ 0x001f, 0, med && m->dvd, 4, { 0 } },		/* DVD read */
	};

	if (rt == 3) {
		scsi_req__bad_field(r, 1, 0);
		return;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(f); i++) {
		if (f[i].code < start || (rt == 1 && !f[i].current) || (rt == 2 && f[i].code != start))
			continue;
		n += feature(buf + n, f[i].code, f[i].version, f[i].current, f[i].data, f[i].len);
	}
	put_be32(buf, n - 4);
	put_be16(buf + 6, profile);
	scsi_req__data_in(r, buf, n, r->c.xfer);
}

static void do_gesn(struct mmc *m, struct scsi_req *r)
{
	u8 buf[8] = { 0 };
	unsigned int n;

	if (!(r->cdb[1] & 1)) {		/* asynchronous operation is not supported */
		scsi_req__bad_field(r, 1, 0);
		return;
	}
	buf[3] = 0x10;			/* supported: media */
	if (r->cdb[4] & 0x10) {
		pthread_mutex_lock(&m->l.lock);
		buf[4] = m->event;
		m->event = EV_NONE;
		pthread_mutex_unlock(&m->l.lock);
		buf[2] = 4;		/* class: media */
		buf[5] = (present(m) ? 0x02 : 0) | (m->tray_open ? 0x01 : 0);
		put_be16(buf, 6);
		n = 8;
	} else {
		buf[2] = 0x80;		/* NEA: no class asked for is supported */
		put_be16(buf, 2);
		n = 4;
	}
	scsi_req__data_in(r, buf, n, r->c.xfer);
}

static unsigned int caps_page(struct mmc *m, u8 *p)
{
	memset(p, 0, 22);
	p[0] = 0x2a;
	p[1] = 0x14;
	p[2] = 0x0b;			/* reads CD-R, CD-RW, DVD-ROM */
	p[4] = 0x71;			/* audio play, composite, mode 2 form 1/2 */
	p[5] = 0x00;
	p[6] = 0x29 | (m->locked ? 0x02 : 0);	/* tray, eject, lock (state) */
	put_be16(p + 8, 706 * 4);	/* max read speed (KB/s, obsolete) */
	put_be16(p + 10, 0);
	put_be16(p + 12, 512);		/* buffer size */
	put_be16(p + 14, 706 * 4);	/* current read speed */
	return 22;
}

static void do_mode_sense(struct mmc *m, struct scsi_req *r)
{
	bool ten = r->cdb[0] == OP_MODE_SENSE_10;
	u8 pc = r->cdb[2] >> 6, page = r->cdb[2] & 0x3f;
	u8 buf[128] = { 0 };
	unsigned int hl = ten ? 8 : 4, n = hl;

	if (pc == 3) {
		scsi_req__check(r, SC_SAVING_NOT_SUPPORTED);
		return;
	}
	if (r->cdb[3]) {
		scsi_req__bad_field(r, 3, -1);
		return;
	}
	if (page == 0x01 || page == 0x3f) {	/* read error recovery */
		buf[n] = 0x01;
		buf[n + 1] = 0x0a;
		n += 12;
	}
	if (page == 0x2a || page == 0x3f) {
		n += caps_page(m, buf + n);
		if (pc == 1)			/* nothing is changeable */
			memset(buf + n - 20, 0, 20);
	}
	if (n == hl) {
		scsi_req__bad_field(r, 2, -1);
		return;
	}
	if (ten)
		put_be16(buf, n - 2);
	else
		buf[0] = n - 1;
	scsi_req__data_in(r, buf, n, r->c.xfer);
}

static void do_disc_info(struct mmc *m, struct scsi_req *r)
{
	u8 buf[34] = { 0 };

	if (r->cdb[1] & 7) {
		scsi_req__bad_field(r, 1, 0);
		return;
	}
	if (!check_medium(m, r))
		return;
	put_be16(buf, 32);
	buf[2] = 0x0e;		/* last session complete, disc complete */
	buf[3] = 1;		/* first track */
	buf[4] = 1;		/* sessions */
	buf[5] = 1;
	buf[6] = 1;
	buf[7] = 0x20;		/* unrestricted use */
	put_be32(buf + 16, 0xffffffff);
	put_be32(buf + 20, 0xffffffff);
	scsi_req__data_in(r, buf, sizeof(buf), r->c.xfer);
}

static void do_track_info(struct mmc *m, struct scsi_req *r)
{
	u8 type = r->cdb[1] & 3, buf[36] = { 0 };
	u32 addr = get_be32(r->cdb + 2);

	if (!check_medium(m, r))
		return;
	if ((type == 0 && addr >= m->nblocks) || (type == 1 && addr != 1) ||
	    (type == 2 && addr != 1) || type == 3) {
		scsi_req__bad_field(r, type == 3 ? 1 : 2, -1);
		return;
	}
	put_be16(buf, 34);
	buf[2] = 1;		/* track */
	buf[3] = 1;		/* session */
	buf[5] = 0x04;		/* data track, uninterrupted */
	buf[6] = 0x01;		/* data mode 1 */
	put_be32(buf + 8, 0);
	put_be32(buf + 24, m->nblocks);
	scsi_req__data_in(r, buf, sizeof(buf), r->c.xfer);
}

static void do_dvd_structure(struct mmc *m, struct scsi_req *r)
{
	u8 buf[4 + 17] = { 0 };

	if (!check_medium(m, r))
		return;
	if (!m->dvd) {
		scsi_req__check(r, SC_INCOMPATIBLE_MEDIUM);
		return;
	}
	if (r->cdb[7] != 0) {	/* physical format information only */
		scsi_req__bad_field(r, 7, -1);
		return;
	}
	put_be16(buf, sizeof(buf) - 2);
	buf[4] = 0x01;		/* DVD-ROM, part version 1 */
	buf[5] = 0x02;		/* 120 mm, 10.08 Mbit/s */
	buf[6] = 0x01;		/* one layer, embossed */
	buf[7] = 0x10;
	put_be32(buf + 8, 0x030000);
	put_be32(buf + 12, 0x030000 + m->nblocks - 1);
	scsi_req__data_in(r, buf, sizeof(buf), r->c.xfer);
}

static void set_event(struct mmc *m, u8 ev)
{
	pthread_mutex_lock(&m->l.lock);
	m->event = ev;
	pthread_mutex_unlock(&m->l.lock);
}

static void do_start_stop(struct mmc *m, struct scsi_req *r)
{
	bool loej = r->cdb[4] & 0x02, start = r->cdb[4] & 0x01;

	if ((r->cdb[4] >> 4) || !loej)
		return;		/* power conditions, spin up/down: nothing to do */
	pthread_rwlock_wrlock(&m->medium);
	if (!start) {
		if (m->locked) {
			pthread_rwlock_unlock(&m->medium);
			scsi_req__check(r, SC_REMOVAL_PREVENTED);
			return;
		}
		if (!m->tray_open) {
			if (present(m))
				set_event(m, EV_MEDIA_REMOVAL);
			m->tray_open = true;
			m->changes++;
		}
	} else if (m->tray_open) {
		m->tray_open = false;
		if (m->fd >= 0) {
			set_event(m, EV_NEW_MEDIA);
			scsi_lun__add_ua(&m->l, SC_MEDIUM_CHANGED);
		}
		m->changes++;
	}
	pthread_rwlock_unlock(&m->medium);
	if (m->l.changed)
		m->l.changed(&m->l, SC_MEDIUM_CHANGED);
}

static void mmc_execute(struct scsi_lun *l, struct scsi_req *r)
{
	struct mmc *m = to_mmc(l);

	if (r->cdb[0] == OP_START_STOP_UNIT) {
		do_start_stop(m, r);
		return;
	}
	pthread_rwlock_rdlock(&m->medium);
	switch (r->cdb[0]) {
	case OP_TEST_UNIT_READY:
		check_medium(m, r);
		break;
	case OP_REQUEST_SENSE:
		scsi_request_sense(l, r, present(m) ? SC_NONE : no_medium(m));
		break;
	case OP_INQUIRY:
		do_inquiry(m, r);
		break;
	case OP_READ_CAPACITY_10: {
		u8 buf[8];

		if (!check_medium(m, r))
			break;
		put_be32(buf, m->nblocks ? m->nblocks - 1 : 0);
		put_be32(buf + 4, CD_BLOCK);
		scsi_req__data_in(r, buf, 8, 8);
		break;
	}
	case OP_READ_6: case OP_READ_10: case OP_READ_12: case OP_READ_16:
		do_read(m, r);
		break;
	case OP_READ_TOC:
		do_read_toc(m, r);
		break;
	case OP_GET_CONFIGURATION:
		do_get_configuration(m, r);
		break;
	case OP_GET_EVENT_STATUS:
		do_gesn(m, r);
		break;
	case OP_MECHANISM_STATUS: {
		u8 buf[8] = { 0 };

		buf[1] = m->tray_open ? 0x10 : 0;
		scsi_req__data_in(r, buf, 8, r->c.xfer);
		break;
	}
	case OP_PREVENT_ALLOW:
		pthread_mutex_lock(&l->lock);
		m->locked = r->cdb[4] & 1;
		pthread_mutex_unlock(&l->lock);
		break;
	case OP_MODE_SENSE_6: case OP_MODE_SENSE_10:
		do_mode_sense(m, r);
		break;
	case OP_MODE_SELECT_6: case OP_MODE_SELECT_10:
		if (!(r->cdb[1] & 0x10))
			scsi_req__bad_field(r, 1, 4);
		else
			r->out_done = r->c.xfer;	/* nothing is changeable: accepted as is */
		break;
	case OP_READ_DISC_INFO:
		do_disc_info(m, r);
		break;
	case OP_READ_TRACK_INFO:
		do_track_info(m, r);
		break;
	case OP_READ_DVD_STRUCTURE:
		do_dvd_structure(m, r);
		break;
	case OP_SET_CD_SPEED:
	case OP_SET_STREAMING:
		r->out_done = r->c.xfer;
		break;
	case OP_WRITE_6: case OP_WRITE_10: case OP_WRITE_12: case OP_WRITE_16:
		if (check_medium(m, r))
			scsi_req__check(r, SC_WRITE_PROTECTED);
		break;
	default:
		scsi_req__check(r, SC_INVALID_OPCODE);
	}
	pthread_rwlock_unlock(&m->medium);
}

static bool mmc_is_inline(struct scsi_lun *l __unused, const struct scsi_req *r)
{
	switch (r->cdb[0]) {
	case OP_READ_6: case OP_READ_10: case OP_READ_12: case OP_READ_16:
		return false;
	}
	return true;
}

static bool mmc_ua_exempt(const struct scsi_req *r)
{
	return r->cdb[0] == OP_GET_CONFIGURATION || r->cdb[0] == OP_GET_EVENT_STATUS;
}

static void mmc_reset(struct scsi_lun *l)
{
	struct mmc *m = to_mmc(l);

	pthread_mutex_lock(&l->lock);
	m->locked = false;
	pthread_mutex_unlock(&l->lock);
}

static void mmc_status(struct scsi_lun *l, json_object *o)
{
	struct mmc *m = to_mmc(l);

	pthread_rwlock_rdlock(&m->medium);
	json_object_object_add(o, "medium", m->fd >= 0 ? json_object_new_string(m->path) : NULL);
	json_object_object_add(o, "tray", json_object_new_string(m->tray_open ? "open" : "closed"));
	json_object_object_add(o, "locked", json_object_new_boolean(m->locked));
	json_object_object_add(o, "blocks", json_object_new_int64(m->fd >= 0 ? m->nblocks : 0));
	json_object_object_add(o, "profile", json_object_new_string(
		!present(m) ? "none" : m->dvd ? "DVD-ROM" : "CD-ROM"));
	json_object_object_add(o, "media-changes", json_object_new_int64(m->changes));
	pthread_rwlock_unlock(&m->medium);
}

static void mmc_destroy(struct scsi_lun *l)
{
	struct mmc *m = to_mmc(l);

	if (m->fd >= 0)
		close(m->fd);
	free(m->path);
	pthread_rwlock_destroy(&m->medium);
}

static const struct scsi_lun_ops mmc_ops = {
	.kind = "cdrom",
	.execute = mmc_execute,
	.is_inline = mmc_is_inline,
	.ua_exempt = mmc_ua_exempt,
	.reset = mmc_reset,
	.status = mmc_status,
	.destroy = mmc_destroy,
};

bool mmc__is_cdrom(struct scsi_lun *l) { return l->ops == &mmc_ops; }

/* open an image: a regular file or block device with at least one block */
static int open_image(const char *path, int *fd, u64 *blocks, char **err)
{
	struct stat st;
	u64 size = 0;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;

		scsi_err(err, "%s: %s; give the path of an ISO image", path, strerror(e));
		return -e;
	}
	if (fstat(*fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		scsi_err(err, "%s: not a regular file or block device; give an ISO image", path);
		close(*fd);
		return -EINVAL;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(*fd, BLKGETSIZE64, &size) < 0)
			size = 0;
	} else {
		size = st.st_size;
	}
	if (size < CD_BLOCK) {
		scsi_err(err, "%s: %llu bytes is smaller than one 2048-byte block; give an ISO image",
			 path, (unsigned long long)size);
		close(*fd);
		return -EINVAL;
	}
	if (size % CD_BLOCK)
		pr_warn("%s: not a whole number of 2048-byte blocks; the last %llu bytes are not visible",
			path, (unsigned long long)(size % CD_BLOCK));
	*blocks = size / CD_BLOCK;
	return 0;
}

int mmc__change(struct scsi_lun *l, const char *path, bool force, char **err)
{
	struct mmc *m = to_mmc(l);
	int fd = -1, ret;
	u64 blocks = 0;

	if (path) {
		ret = open_image(path, &fd, &blocks, err);
		if (ret)
			return ret;
	}
	pthread_rwlock_wrlock(&m->medium);
	if (m->locked && present(m) && !force) {
		pthread_rwlock_unlock(&m->medium);
		if (fd >= 0)
			close(fd);
		set_event(m, EV_EJECT_REQUEST);
		if (l->changed)
			l->changed(l, SC_MEDIUM_CHANGED);
		scsi_err(err, "%s: the guest has locked the tray (PREVENT ALLOW MEDIUM REMOVAL); it was "
			 "asked to eject: retry, or use 'cdrom %s force'", l->name,
			 path ? "insert FILE" : "eject");
		return -EBUSY;
	}
	if (m->fd >= 0)
		close(m->fd);
	free(m->path);
	m->fd = fd;
	m->path = path ? xstrdup(path) : NULL;
	m->nblocks = blocks;
	m->dvd = blocks * CD_BLOCK > CD_MAX_BYTES;
	m->locked = false;
	m->changes++;
	if (path) {
		m->tray_open = false;
		set_event(m, EV_NEW_MEDIA);
		scsi_lun__add_ua(l, SC_MEDIUM_CHANGED);
	} else {
		m->tray_open = true;
		set_event(m, EV_MEDIA_REMOVAL);
	}
	pthread_rwlock_unlock(&m->medium);
	if (path)
		pr_info("%s: medium %s inserted", l->name, path);
	else
		pr_info("%s: medium ejected", l->name);
	if (l->changed)
		l->changed(l, SC_MEDIUM_CHANGED);
	return 0;
}

struct scsi_lun *mmc__create(const char *path, const struct scsi_identity *id, const char *name,
			     u8 target, u16 lun, unsigned int workers, char **err)
{
	struct mmc *m = xzalloc(sizeof(*m));

	scsi_lun__init(&m->l, &mmc_ops, name, target, lun);
	pthread_rwlock_init(&m->medium, NULL);
	m->l.ident = *id;
	m->l.block_size = CD_BLOCK;
	m->fd = -1;
	if (path) {
		if (open_image(path, &m->fd, &m->nblocks, err)) {
			scsi_lun__destroy(&m->l);
			return NULL;
		}
		m->path = xstrdup(path);
		m->dvd = m->nblocks * CD_BLOCK > CD_MAX_BYTES;
	}
	if (scsi_lun__start(&m->l, workers)) {
		scsi_lun__destroy(&m->l);
		return NULL;
	}
	return &m->l;
}
