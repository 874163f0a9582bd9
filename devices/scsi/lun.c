// SPDX-License-Identifier: GPL-2.0
/*
 * A logical unit: its worker threads, unit attentions and identity.
 *
 * Each LUN has its own small pool of worker threads and its own queue, so a
 * backing that blocks (a slow disk, a LUN that times out in SG_IO) stalls
 * only that LUN: never a vCPU, the controller's I/O thread or another LUN.
 * Commands that need no backing I/O (INQUIRY, READ CAPACITY, ...) run at
 * once on the submitting thread.  Commands are SIMPLE tasks: they may run
 * and complete in any order, as SAM allows.
 */
#include "devices/scsi/scsi.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void scsi_lun__init(struct scsi_lun *l, const struct scsi_lun_ops *ops, const char *name,
		    u8 target, u16 lun)
{
	l->ops = ops;
	l->name = xstrdup(name);
	l->target = target;
	l->lun = lun;
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->qlock, NULL);
	pthread_cond_init(&l->qcond, NULL);
	pthread_cond_init(&l->idle, NULL);
	l->tail = &l->head;
}

static void count(struct scsi_lun *l, const struct scsi_req *r)
{
	pthread_mutex_lock(&l->lock);
	if (r->status != SAM_STAT_GOOD || r->response != SCSI_RESP_OK)
		l->nr_errors++;
	pthread_mutex_unlock(&l->lock);
}

int scsi_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}

void scsi_lun__count(struct scsi_lun *l, const struct scsi_req *r) { count(l, r); }

static void *worker(void *arg)
{
	struct scsi_lun *l = arg;

	pthread_mutex_lock(&l->qlock);
	for (;;) {
		struct scsi_req *r;

		while (!l->head && !l->stop)
			pthread_cond_wait(&l->qcond, &l->qlock);
		if (!l->head)
			break;
		r = l->head;
		l->head = r->next;
		if (!l->head)
			l->tail = &l->head;
		l->queued--;
		l->running++;
		r->started = true;
		pthread_mutex_unlock(&l->qlock);

		l->ops->execute(l, r);
		count(l, r);
		r->done(r);	/* r may be gone after this */

		pthread_mutex_lock(&l->qlock);
		l->running--;
		if (!l->running && !l->queued)
			pthread_cond_broadcast(&l->idle);
	}
	pthread_mutex_unlock(&l->qlock);
	return NULL;
}

int scsi_lun__start(struct scsi_lun *l, unsigned int nr_workers)
{
	char tname[16];

	l->nr_workers = MAX(1u, MIN(nr_workers, (unsigned int)SCSI_MAX_WORKERS));
	for (unsigned int i = 0; i < l->nr_workers; i++) {
		int ret = pthread_create(&l->workers[i], NULL, worker, l);

		if (ret) {
			pr_err("%s: cannot start a worker thread: %s", l->name, strerror(ret));
			return -ret;
		}
		snprintf(tname, sizeof(tname), "scsi-%.6s-%u", l->name, i);
		pthread_setname_np(l->workers[i], tname);
		l->nr_started++;
	}
	return 0;
}

void scsi_lun__destroy(struct scsi_lun *l)
{
	pthread_mutex_lock(&l->qlock);
	l->stop = true;
	pthread_cond_broadcast(&l->qcond);
	pthread_mutex_unlock(&l->qlock);
	for (unsigned int i = 0; i < l->nr_started; i++)
		pthread_join(l->workers[i], NULL);
	if (l->ops->destroy)
		l->ops->destroy(l);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->qlock);
	pthread_cond_destroy(&l->qcond);
	pthread_cond_destroy(&l->idle);
	free(l->name);
	free(l);
}

static bool ua_exempt(struct scsi_lun *l, const struct scsi_req *r)
{
	switch (r->cdb[0]) {
	case OP_INQUIRY:
	case OP_REPORT_LUNS:
	case OP_REQUEST_SENSE:	/* it reports the unit attention */
		return true;
	}
	return l->ops->ua_exempt && l->ops->ua_exempt(r);
}

bool scsi_lun__submit(struct scsi_lun *l, struct scsi_req *r)
{
	r->lun = l;
	r->status = SAM_STAT_GOOD;
	r->response = SCSI_RESP_OK;
	r->sense_len = 0;
	r->in_done = r->out_done = 0;
	r->started = false;
	r->next = NULL;

	pthread_mutex_lock(&l->lock);
	l->nr_cmds++;
	if (l->nr_ua && !ua_exempt(l, r)) {
		u32 sc = l->ua[0];

		memmove(l->ua, l->ua + 1, --l->nr_ua * sizeof(l->ua[0]));
		pthread_mutex_unlock(&l->lock);
		scsi_req__check(r, sc);
		return true;
	}
	pthread_mutex_unlock(&l->lock);

	if (l->ops->submit) {
		/* counted as running from before it can complete */
		pthread_mutex_lock(&l->qlock);
		l->running++;
		r->started = true;
		pthread_mutex_unlock(&l->qlock);
		if (l->ops->submit(l, r))
			return false;
		pthread_mutex_lock(&l->qlock);
		l->running--;
		r->started = false;
		if (!l->running && !l->queued)
			pthread_cond_broadcast(&l->idle);
		pthread_mutex_unlock(&l->qlock);
	}
	if (l->ops->is_inline && l->ops->is_inline(l, r)) {
		l->ops->execute(l, r);
		count(l, r);
		return true;
	}
	pthread_mutex_lock(&l->qlock);
	*l->tail = r;
	l->tail = &r->next;
	l->queued++;
	pthread_cond_signal(&l->qcond);
	pthread_mutex_unlock(&l->qlock);
	return false;
}

void scsi_lun__async_done(struct scsi_lun *l, struct scsi_req *r)
{
	count(l, r);
	r->done(r);	/* r may be gone after this */
	pthread_mutex_lock(&l->qlock);
	l->running--;
	if (!l->running && !l->queued)
		pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->qlock);
}

void scsi_lun__drain(struct scsi_lun *l)
{
	pthread_mutex_lock(&l->qlock);
	while (l->running || l->queued)
		pthread_cond_wait(&l->idle, &l->qlock);
	pthread_mutex_unlock(&l->qlock);
}

unsigned int scsi_lun__cancel(struct scsi_lun *l, bool (*match)(struct scsi_req *, void *),
			      void *arg, u8 response)
{
	struct scsi_req *gone = NULL, **pp, *r;
	unsigned int n = 0;

	pthread_mutex_lock(&l->qlock);
	for (pp = &l->head; (r = *pp);) {
		if (match && !match(r, arg)) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->next = gone;
		gone = r;
		l->queued--;
		n++;
	}
	/* the tail is the last link left */
	l->tail = &l->head;
	while (*l->tail)
		l->tail = &(*l->tail)->next;
	if (!l->running && !l->queued)
		pthread_cond_broadcast(&l->idle);
	pthread_mutex_unlock(&l->qlock);

	while ((r = gone)) {
		gone = r->next;
		r->status = SAM_STAT_GOOD;
		r->response = response;
		r->sense_len = 0;
		r->in_done = r->out_done = 0;
		r->done(r);
	}
	return n;
}

bool scsi_lun__busy_tag(struct scsi_lun *l, u64 tag)
{
	bool busy = false;

	/* queued requests are listed; running ones are not, so count: the
	 * caller waits for the LUN to be idle when this says "maybe" */
	pthread_mutex_lock(&l->qlock);
	for (struct scsi_req *r = l->head; r; r = r->next)
		busy |= r->tag == tag;
	busy |= l->running > 0;
	pthread_mutex_unlock(&l->qlock);
	return busy;
}

void scsi_lun__add_ua(struct scsi_lun *l, u32 sc)
{
	pthread_mutex_lock(&l->lock);
	for (unsigned int i = 0; i < l->nr_ua; i++) {
		if (l->ua[i] == sc) {
			pthread_mutex_unlock(&l->lock);
			return;
		}
	}
	if (l->nr_ua < ARRAY_SIZE(l->ua))
		l->ua[l->nr_ua++] = sc;
	pthread_mutex_unlock(&l->lock);
}

void scsi_lun__clear_ua(struct scsi_lun *l)
{
	pthread_mutex_lock(&l->lock);
	l->nr_ua = 0;
	pthread_mutex_unlock(&l->lock);
}

void scsi_lun__reset(struct scsi_lun *l, u32 ua)
{
	scsi_lun__cancel(l, NULL, NULL, SCSI_RESP_RESET);
	scsi_lun__drain(l);
	if (l->ops->reset)
		l->ops->reset(l);
	if (ua && !l->ops->passthrough) {
		scsi_lun__clear_ua(l);
		scsi_lun__add_ua(l, ua);
	}
}

/* ---- INQUIRY, VPD, REQUEST SENSE ---- */

static void pad(u8 *dst, const char *src, size_t n)
{
	size_t l = strnlen(src, n);

	memcpy(dst, src, l);
	memset(dst + l, ' ', n - l);
}

unsigned int scsi_inquiry_std(const struct scsi_lun *l, u8 *buf, u8 type, bool removable)
{
	memset(buf, 0, 96);
	buf[0] = type;
	buf[1] = removable ? 0x80 : 0;
	buf[2] = 0x06;		/* SPC-4 */
	buf[3] = 0x12;		/* HISUP, response data format 2 */
	buf[4] = 96 - 5;
	buf[7] = 0x02;		/* CMDQUE */
	pad(buf + 8, l->ident.vendor, 8);
	pad(buf + 16, l->ident.product, 16);
	pad(buf + 32, l->ident.revision, 4);
	/* version descriptors: SAM-5, SPC-4, and SBC-3 or MMC-6 */
	put_be16(buf + 58, 0x00a0);
	put_be16(buf + 60, 0x0460);
	put_be16(buf + 62, type == 5 ? 0x0580 : 0x04c0);
	return 96;
}

unsigned int scsi_vpd_serial(const struct scsi_lun *l, u8 *buf, u8 type)
{
	size_t n = strlen(l->ident.serial);

	if (!n)
		return 0;
	buf[0] = type;
	buf[1] = 0x80;
	put_be16(buf + 2, n);
	memcpy(buf + 4, l->ident.serial, n);
	return 4 + n;
}

unsigned int scsi_vpd_devid(const struct scsi_lun *l, u8 *buf, u8 type)
{
	buf[0] = type;
	buf[1] = 0x83;
	put_be16(buf + 2, l->ident.desig_len);
	memcpy(buf + 4, l->ident.desig, l->ident.desig_len);
	return 4 + l->ident.desig_len;
}

void scsi_request_sense(struct scsi_lun *l, struct scsi_req *r, u32 state)
{
	bool desc = r->cdb[1] & 1;
	u32 sc = state;
	u8 buf[32];
	unsigned int n;

	pthread_mutex_lock(&l->lock);
	if (l->nr_ua) {
		sc = l->ua[0];
		memmove(l->ua, l->ua + 1, --l->nr_ua * sizeof(l->ua[0]));
	}
	pthread_mutex_unlock(&l->lock);
	n = scsi_sense__build(buf, sizeof(buf), desc, sc, false, 0, SENSE_NO_FIELD, false);
	scsi_req__good(r);
	scsi_req__data_in(r, buf, n, r->cdb[4]);
}

/* ---- identity ---- */

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void scsi_ident__set(struct scsi_identity *id, const char *vendor, const char *product,
		     const char *revision, const char *serial, u64 wwn)
{
	u8 *d;
	size_t sl;

	memset(id, 0, sizeof(*id));
	copy_str(id->vendor, sizeof(id->vendor), vendor);
	copy_str(id->product, sizeof(id->product), product);
	copy_str(id->revision, sizeof(id->revision), revision);
	copy_str(id->serial, sizeof(id->serial), serial);
	d = id->desig;
	if (wwn) {
		/* NAA, binary, associated with the LUN */
		d[0] = 0x01;
		d[1] = 0x03;
		d[3] = 8;
		put_be64(d + 4, wwn);
		d += 12;
		snprintf(id->wwn, sizeof(id->wwn), "%016llx", (unsigned long long)wwn);
	}
	/* T10 vendor id: vendor (8, padded) + serial, ASCII */
	sl = strlen(id->serial);
	d[0] = 0x02;
	d[1] = 0x01;
	d[3] = 8 + sl;
	pad(d + 4, id->vendor, 8);
	memcpy(d + 12, id->serial, sl);
	d += 12 + sl;
	id->desig_len = d - id->desig;
}

int scsi_parse_wwn(const char *s, u64 *out)
{
	u64 v = 0;
	int n = 0;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	for (; *s; s++, n++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		if (n >= 16)
			return -1;
		v = v << 4 | d;
	}
	/* the 8-byte NAA formats: 2 (IEEE extended), 3 (locally assigned), 5 (IEEE registered) */
	if (n != 16 || (v >> 60 != 2 && v >> 60 != 3 && v >> 60 != 5))
		return -1;
	*out = v;
	return 0;
}

u64 scsi_wwn_derive(const char *seed)
{
	u64 h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *seed; seed++) {
		h ^= (u8)*seed;
		h *= 0x100000001b3ULL;
	}
	return (h & 0x0fffffffffffffffULL) | 0x3000000000000000ULL;
}

void scsi_ident__find_wwn(struct scsi_identity *id)
{
	const u8 *d = id->desig, *end = id->desig + id->desig_len;
	const u8 *eui = NULL;

	id->wwn[0] = 0;
	while (d + 4 <= end && d + 4 + d[3] <= end) {
		u8 type = d[1] & 0xf, assoc = (d[1] >> 4) & 3, len = d[3];

		if (assoc == 0 && type == 3 && (len == 8 || len == 16)) {
			for (unsigned int i = 0; i < len; i++)
				snprintf(id->wwn + 2 * i, sizeof(id->wwn) - 2 * i, "%02x", d[4 + i]);
			return;
		}
		if (assoc == 0 && type == 2 && len == 8 && !eui)
			eui = d;
		d += 4 + len;
	}
	if (eui) {
		strcpy(id->wwn, "eui.");
		for (unsigned int i = 0; i < 8; i++)
			snprintf(id->wwn + 4 + 2 * i, sizeof(id->wwn) - 4 - 2 * i, "%02x", eui[4 + i]);
	}
}

void scsi_ident__status(const struct scsi_identity *id, struct json_object *o)
{
	json_object_object_add(o, "vendor", json_object_new_string(id->vendor));
	json_object_object_add(o, "product", json_object_new_string(id->product));
	json_object_object_add(o, "revision", json_object_new_string(id->revision));
	json_object_object_add(o, "serial", json_object_new_string(id->serial));
	json_object_object_add(o, "wwn", json_object_new_string(id->wwn));
}
