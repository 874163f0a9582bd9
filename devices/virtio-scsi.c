// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-scsi (virtio spec 5.6): one controller per VM, created with the
 * first SCSI entry of the configuration, with a LUN per entry:
 *
 *   scsi-disk   an emulated SBC-3 disk on a file or block device
 *   scsi-rdm    a host LUN: "physical" (SG_IO passthrough of every CDB) or
 *               "virtual" (data through the block layer, the real LUN's
 *               identity)
 *   scsi-cdrom  an emulated CD/DVD drive with an ISO image (or empty), or a
 *               host drive passed through with SG_IO
 *
 * Queues: 0 control (task management, asynchronous notification queries),
 * 1 events (parameter changes, media changes), 2.. one request queue per
 * vCPU.  The controller's I/O thread (the transport's) takes requests off
 * the queues, checks them and hands each to its LUN, which runs it on its
 * own worker threads (devices/scsi/lun.c); a worker completes it by
 * pushing the used buffer under the queue's lock and raising the
 * interrupt.  See docs/scsi.md.
 */
#include "devices/scsi/scsi.h"
#include "devices/virtio.h"
#include "vmm/api.h"
#include "vmm/config.h"
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define VIRTIO_ID_SCSI		8
#define PCI_CLASS_STORAGE_SCSI	0x010000

#define SCSI_F_INOUT		0
#define SCSI_F_HOTPLUG		1
#define SCSI_F_CHANGE		2

#define T_TMF			0
#define T_AN_QUERY		1
#define T_AN_SUBSCRIBE		2

#define TMF_ABORT_TASK		0
#define TMF_ABORT_TASK_SET	1
#define TMF_CLEAR_ACA		2
#define TMF_CLEAR_TASK_SET	3
#define TMF_I_T_NEXUS_RESET	4
#define TMF_LOGICAL_UNIT_RESET	5
#define TMF_QUERY_TASK		6
#define TMF_QUERY_TASK_SET	7

#define S_FUNCTION_COMPLETE	0
#define S_FUNCTION_SUCCEEDED	10
#define S_FUNCTION_REJECTED	11
#define S_INCORRECT_LUN		12

#define EVT_NO_EVENT		0
#define EVT_ASYNC_NOTIFY	2
#define EVT_PARAM_CHANGE	3
#define EVT_EVENTS_MISSED	0x80000000u
#define EVT_ASYNC_MEDIA_CHANGE	16	/* the notification class bit */

#define QUEUE_SIZE		256
#define CTRL_Q			0
#define EVENT_Q			1
#define FIRST_REQ_Q		2
#define MAX_REQ_QUEUES		16
#define MAX_LUNS		64
#define MAX_TMF_THREADS		16
#define KICKS_OFF_NS		1000000	/* 1 ms */
#define CDB_SIZE_DEFAULT	32
#define SENSE_SIZE_DEFAULT	96
#define CMD_PER_LUN		128
#define MAX_SECTORS_DEFAULT	16384	/* 8 MiB: the emulated disk's transfer limit */

struct vscsi_config {
	u32 num_queues;
	u32 seg_max;
	u32 max_sectors;
	u32 cmd_per_lun;
	u32 event_info_size;
	u32 sense_size;
	u32 cdb_size;
	u16 max_channel;
	u16 max_target;
	u32 max_lun;
} __packed;

struct vscsi;

/* a LUN as the controller knows it: the SCSI layer's LUN and its vm_device */
struct vscsi_lun {
	struct scsi_lun *l;
	struct vscsi *vs;
	struct vm_device vd;
	const char *type;		/* the config entry's type */
	const char *backing;		/* "file", "rdm", "host", "none" */
	const char *mode;		/* RDM mode or NULL */
};

struct vscsi {
	struct virtio_dev vdev;
	struct vm *vm;
	struct vscsi *next;		/* in the list of controllers (one per VM) */
	pthread_mutex_t lock;		/* the LUN table */
	struct vscsi_lun *luns[MAX_LUNS];
	unsigned int nr_luns;
	unsigned int refs;		/* attached config entries */
	struct vscsi_config cfg;	/* as the driver sees it (le32 on x86 = native) */
	struct virtio_dev_ops ops;
	struct virtq_elem elem;		/* the I/O thread's scratch */
	struct virtq_elem ev_elem;	/* the event queue's, under its lock */
	bool events_missed;		/* under the event queue's lock */
	u32 subscribed;			/* asynchronous notification classes */

	/* requests (and task management) taken off the queues and not yet
	 * completed; a reset waits for zero */
	pthread_mutex_t idle_lock;
	pthread_cond_t idle;
	unsigned int inflight;
	unsigned int tmf_threads;	/* running task management threads */
	/* command requests taken off each queue and not completed, under the
	 * queue's lock: while there are some, the queue's kicks stay off and
	 * completions look for new requests instead (fewer guest exits) */
	unsigned int qbusy[FIRST_REQ_Q + MAX_REQ_QUEUES];
	bool qforce[FIRST_REQ_Q + MAX_REQ_QUEUES];	/* turn kicks on at the next look */
	int timer_fd;			/* bounds how long kicks stay off */
	u64 requests, malformed, overruns, bad_target, tmfs, events;
};

/* a command request in flight */
struct vscsi_req {
	struct scsi_req sr;
	struct vscsi *vs;
	struct virtq *vq;
	u16 head;
	struct iovec *resp;
	unsigned int nresp;
	size_t resp_len, sense_size;
	struct iovec iov[];		/* data-out, response, data-in ranges */
};

static pthread_mutex_t controllers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vscsi *controllers;

static struct vscsi *to_vscsi(struct virtio_dev *v) { return container_of(v, struct vscsi, vdev); }

/* ---- in-flight accounting ---- */

static void get_inflight(struct vscsi *vs)
{
	pthread_mutex_lock(&vs->idle_lock);
	vs->inflight++;
	pthread_mutex_unlock(&vs->idle_lock);
}

static void put_inflight(struct vscsi *vs)
{
	pthread_mutex_lock(&vs->idle_lock);
	if (!--vs->inflight)
		pthread_cond_broadcast(&vs->idle);
	pthread_mutex_unlock(&vs->idle_lock);
}

static void wait_idle(struct vscsi *vs)
{
	pthread_mutex_lock(&vs->idle_lock);
	while (vs->inflight)
		pthread_cond_wait(&vs->idle, &vs->idle_lock);
	pthread_mutex_unlock(&vs->idle_lock);
}

/* push a used chain; with locked the caller holds vq->lock (the I/O thread
 * inside queue_notify).  A queue reset meanwhile drops it: the driver no
 * longer waits for it. */
static void push_used(struct vscsi *vs, struct virtq *vq, u16 head, u32 len, bool locked)
{
	if (!locked)
		pthread_mutex_lock(&vq->lock);
	if (vq->r.enable && vq->used) {
		virtq__push(vq, head, len);
		virtio__notify(&vs->vdev, vq);
	}
	if (!locked)
		pthread_mutex_unlock(&vq->lock);
}

/* push a command's chain; one fewer in flight on the queue.  A completion
 * from a LUN's thread wakes the I/O thread (as a kick would) when requests
 * are waiting in the ring, or when the queue goes idle so that it turns
 * kicks back on. */
static void push_cmd(struct vscsi *vs, struct virtq *vq, u16 head, u32 len, bool locked)
{
	bool wake = false;

	if (!locked)
		pthread_mutex_lock(&vq->lock);
	if (vq->r.enable && vq->used) {
		virtq__push(vq, head, len);
		virtio__notify(&vs->vdev, vq);
	}
	if (vs->qbusy[vq->index])
		vs->qbusy[vq->index]--;
	if (!locked && vq->avail)
		wake = !vs->qbusy[vq->index] ||
		       le16toh(__atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE)) != vq->last_avail;
	if (!locked)
		pthread_mutex_unlock(&vq->lock);
	if (wake) {
		u64 one = 1;

		if (write(vq->kick_fd, &one, sizeof(one)) < 0)
			pr_debug("%s: queue %u: cannot wake the I/O thread: %s", vs->vdev.name,
				 vq->index, strerror(errno));
	}
}

/* the kicks-off timer expired: every request queue looks again, kicks on */
static void kicks_timer(int fd, u32 events __unused, void *opaque)
{
	struct vscsi *vs = opaque;
	u64 n;
	u64 one = 1;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	for (unsigned int q = FIRST_REQ_Q; q < vs->ops.nr_queues; q++) {
		struct virtq *vq = &vs->vdev.vqs[q];
		bool idle;

		pthread_mutex_lock(&vq->lock);
		vs->qforce[q] = true;
		idle = !vq->r.enable;
		pthread_mutex_unlock(&vq->lock);
		if (!idle && write(vq->kick_fd, &one, sizeof(one)) < 0)
			pr_debug("%s: queue %u: cannot wake the I/O thread", vs->vdev.name, q);
	}
}

/* ---- LUN lookup ---- */

static struct vscsi_lun *find_lun(struct vscsi *vs, u8 target, u16 lun, bool *target_exists)
{
	struct vscsi_lun *found = NULL;

	*target_exists = false;
	pthread_mutex_lock(&vs->lock);
	for (unsigned int i = 0; i < vs->nr_luns; i++) {
		struct scsi_lun *l = vs->luns[i]->l;

		if (l->target != target)
			continue;
		*target_exists = true;
		if (l->lun == lun)
			found = vs->luns[i];
	}
	pthread_mutex_unlock(&vs->lock);
	return found;
}

/* ---- command requests ---- */

static void complete_cmd(struct vscsi_req *q, bool locked)
{
	struct scsi_req *r = &q->sr;
	u8 hdr[VSCSI_RESP_HDR] = { 0 };
	u32 sense_len = MIN((size_t)r->sense_len, q->sense_size), resid;

	if (r->in_len)
		resid = r->in_len - MIN(r->in_done, r->in_len);
	else
		resid = r->out_len - MIN(r->out_done, r->out_len);
	if (r->response != SCSI_RESP_OK) {
		sense_len = 0;
		resid = r->in_len ? r->in_len : r->out_len;
	}
	*(u32 *)hdr = htole32(sense_len);
	*(u32 *)(hdr + 4) = htole32(resid);
	hdr[10] = r->status;
	hdr[11] = r->response;
	buf_to_iov(q->resp, q->nresp, 0, hdr, sizeof(hdr));
	buf_to_iov(q->resp, q->nresp, VSCSI_RESP_HDR, r->sense, sense_len);
	push_cmd(q->vs, q->vq, q->head, q->resp_len + (r->response == SCSI_RESP_OK ? r->in_done : 0),
		 locked);
	put_inflight(q->vs);
	free(q);
}

static void cmd_done(struct scsi_req *r)
{
	complete_cmd(container_of(r, struct vscsi_req, sr), false);
}

/* INQUIRY, REPORT LUNS and REQUEST SENSE to a LUN that is not there, on a
 * target that is: the answers that let the initiator scan on */
static void no_such_lun(struct vscsi *vs, struct scsi_req *r)
{
	u8 buf[36] = { 0 };

	switch (r->cdb[0]) {
	case OP_INQUIRY:
		if (r->cdb[1] & 3) {
			scsi_req__check(r, SC_LUN_NOT_SUPPORTED);
			break;
		}
		buf[0] = 0x7f;		/* qualifier 3: no LUN here; type unknown */
		buf[2] = 0x06;
		buf[3] = 0x12;
		buf[4] = 31;
		scsi_req__data_in(r, buf, 36, r->c.xfer);
		break;
	case OP_REQUEST_SENSE: {
		unsigned int n = scsi_sense__build(buf, sizeof(buf), r->cdb[1] & 1,
						   SC_LUN_NOT_SUPPORTED, false, 0, SENSE_NO_FIELD,
						   false);

		scsi_req__data_in(r, buf, n, r->cdb[4]);
		break;
	}
	default:
		scsi_req__check(r, SC_LUN_NOT_SUPPORTED);
	}
	(void)vs;
}

static void report_luns(struct vscsi *vs, u8 target, struct scsi_req *r)
{
	u8 buf[8 + 8 * MAX_LUNS] = { 0 };
	unsigned int n = 8;
	u8 sel = r->cdb[2];

	if (sel != 0x00 && sel != 0x01 && sel != 0x02 && sel != 0x10 && sel != 0x11 && sel != 0x12) {
		scsi_req__bad_field(r, 2, -1);
		return;
	}
	if (r->c.xfer < 16) {
		scsi_req__bad_field(r, 6, -1);
		return;
	}
	pthread_mutex_lock(&vs->lock);
	for (unsigned int i = 0; i < vs->nr_luns && sel != 0x01; i++) {
		struct scsi_lun *l = vs->luns[i]->l;

		if (l->target != target)
			continue;
		if (l->lun < 256) {
			buf[n + 1] = l->lun;
		} else {
			buf[n] = 0x40 | (l->lun >> 8);
			buf[n + 1] = l->lun & 0xff;
		}
		n += 8;
	}
	pthread_mutex_unlock(&vs->lock);
	put_be32(buf, n - 8);
	scsi_req__data_in(r, buf, n, r->c.xfer);
}

/* a request whose buffers cannot hold its header or response */
static void malformed(struct vscsi *vs, struct virtq *vq, struct virtq_elem *e, const char *why)
{
	u8 hdr[VSCSI_RESP_HDR] = { 0 };
	u32 len = 0;

	vs->malformed++;
	pr_warn_guest("%s: queue %u: malformed request (%s); answered with a virtio error",
		      vs->vdev.name, vq->index, why);
	if (e->in_len >= VSCSI_RESP_HDR) {
		hdr[11] = SCSI_RESP_FAILURE;
		len = buf_to_iov(e->iov + e->nout, e->nin, 0, hdr, sizeof(hdr));
	}
	push_used(vs, vq, e->head, len, true);
}

static void cmd_request(struct vscsi *vs, struct virtq *vq, struct virtq_elem *e)
{
	u32 cdb_size = __atomic_load_n(&vs->cfg.cdb_size, __ATOMIC_RELAXED);
	u32 sense_size = __atomic_load_n(&vs->cfg.sense_size, __ATOMIC_RELAXED);
	unsigned int cap = e->nout + e->nin + 2;
	struct vscsi_req *q = xzalloc(sizeof(*q) + cap * sizeof(struct iovec));
	struct scsi_req *r = &q->sr;
	struct vscsi_split sp;
	struct vscsi_lun *vl;
	bool target_exists, inline_done = false, submitted = false;
	u8 target;
	u16 lun;

	vs->requests++;
	if (vscsi_split(e->iov, e->nout, e->nin, cdb_size, sense_size, q->iov, &sp)) {
		free(q);
		malformed(vs, vq, e, e->out_len < VSCSI_REQ_HDR + cdb_size ?
			  "the readable buffers are shorter than the header and CDB" :
			  "the writable buffers are shorter than the response and sense");
		return;
	}
	vs->qbusy[vq->index]++;
	q->vs = vs;
	q->vq = vq;
	q->head = e->head;
	q->resp = sp.resp;
	q->nresp = sp.nresp;
	q->resp_len = sp.resp_len;
	q->sense_size = MIN(sense_size, (u32)SCSI_SENSE_MAX);
	memcpy(r->cdb, sp.cdb, sp.cdb_len);
	r->cdb_len = sp.cdb_len;
	r->out = sp.out;
	r->nout = sp.nout;
	r->out_len = sp.out_len;
	r->in = sp.in;
	r->nin = sp.nin;
	r->in_len = sp.in_len;
	r->tag = sp.tag;
	r->done = cmd_done;
	r->opaque = q;
	r->status = SAM_STAT_GOOD;
	r->response = SCSI_RESP_OK;
	get_inflight(vs);

	vl = NULL;
	if (vscsi_lun_decode(sp.lun, &target, &lun) ||
	    (!(vl = find_lun(vs, target, lun, &target_exists)) && !target_exists)) {
		vs->bad_target++;
		r->response = SCSI_RESP_BAD_TARGET;
		complete_cmd(q, true);
		return;
	}
	if (scsi_cdb__decode(r->cdb, r->cdb_len, &r->c) &&
	    !(vl && vl->l->ops->passthrough && r->cdb_len && !scsi_cdb__len(r->cdb, r->cdb_len))) {
		/* the opcode's CDB is longer than the CDB field, or its length
		 * cannot be known: nothing can run it */
		pr_warn_guest("%s: opcode %#04x does not fit the %u-byte CDB field; the guest gets "
			      "ILLEGAL REQUEST", vs->vdev.name, r->cdb[0], r->cdb_len);
		scsi_req__check(r, SC_INVALID_OPCODE);
		complete_cmd(q, true);
		return;
	}
	if (r->cdb[0] == OP_REPORT_LUNS) {
		report_luns(vs, target, r);
		complete_cmd(q, true);
		return;
	}
	if (!vl) {
		no_such_lun(vs, r);
		complete_cmd(q, true);
		return;
	}
	/* the buffers must hold what the CDB asks for (virtio 5.6.6.1:
	 * VIRTIO_SCSI_S_OVERRUN); a passthrough LUN's block size is the
	 * device's business, so only byte counts are checked there */
	if (r->c.known && r->c.dir != SCSI_DIR_NONE &&
	    (!r->c.in_blocks || vl->l->block_size)) {
		u64 need = scsi_cdb__xfer_bytes(&r->c, vl->l->block_size);
		size_t have = r->c.dir == SCSI_DIR_IN ? r->in_len : r->out_len;

		if (need > have) {
			vs->overruns++;
			pr_warn_guest("%s: opcode %#04x wants %llu bytes of %s, the guest gave %zu; "
				      "answered with OVERRUN", vl->l->name, r->cdb[0],
				      (unsigned long long)need,
				      r->c.dir == SCSI_DIR_IN ? "data-in" : "data-out", have);
			r->response = SCSI_RESP_OVERRUN;
			complete_cmd(q, true);
			return;
		}
	}
	/* the LUN table's lock keeps the LUN from being removed between the
	 * lookup and the submission (lun_remove drains it after unlinking) */
	pthread_mutex_lock(&vs->lock);
	for (unsigned int i = 0; i < vs->nr_luns; i++) {
		if (vs->luns[i] == vl) {
			inline_done = scsi_lun__submit(vl->l, r);
			submitted = true;
			break;
		}
	}
	pthread_mutex_unlock(&vs->lock);
	if (!submitted)
		r->response = SCSI_RESP_BAD_TARGET;
	if (inline_done || !submitted)
		complete_cmd(q, true);
}

/* ---- task management ---- */

struct vscsi_tmf {
	struct vscsi *vs;
	struct virtq *vq;
	u16 head;
	u32 subtype;
	u64 tag;
	u8 target;
	struct scsi_lun *l;
	struct iovec resp[VIRTQ_MAX_SIZE];
	unsigned int nresp;
};

static bool match_tag(struct scsi_req *r, void *arg) { return r->tag == *(u64 *)arg; }

static void finish_tmf(struct vscsi_tmf *t, u8 response, bool locked)
{
	u32 len = buf_to_iov(t->resp, t->nresp, 0, &response, 1);

	push_used(t->vs, t->vq, t->head, len, locked);
	put_inflight(t->vs);
	free(t);
}

/* a task management function that waits for commands: on its own thread,
 * so the I/O thread (and every other LUN) goes on meanwhile */
static void *tmf_thread(void *arg)
{
	struct vscsi_tmf *t = arg;
	struct vscsi *vs = t->vs;

	switch (t->subtype) {
	case TMF_ABORT_TASK:
		scsi_lun__cancel(t->l, match_tag, &t->tag, SCSI_RESP_ABORTED);
		/* a running command cannot be stopped: wait for it */
		scsi_lun__drain(t->l);
		break;
	case TMF_ABORT_TASK_SET:
	case TMF_CLEAR_TASK_SET:
		scsi_lun__cancel(t->l, NULL, NULL, SCSI_RESP_ABORTED);
		scsi_lun__drain(t->l);
		break;
	case TMF_LOGICAL_UNIT_RESET:
		pr_info("%s: the guest reset LUN %u:%u", t->l->name, t->l->target, t->l->lun);
		scsi_lun__reset(t->l, SC_DEVICE_RESET);
		break;
	case TMF_I_T_NEXUS_RESET:
		pthread_mutex_lock(&vs->lock);
		for (unsigned int i = 0; i < vs->nr_luns; i++) {
			struct scsi_lun *l = vs->luns[i]->l;

			if (l->target != t->target)
				continue;
			pthread_mutex_unlock(&vs->lock);
			scsi_lun__reset(l, SC(SK_UNIT_ATTENTION, 0x29, 0x07));
			pthread_mutex_lock(&vs->lock);
		}
		pthread_mutex_unlock(&vs->lock);
		break;
	}
	__atomic_fetch_sub(&vs->tmf_threads, 1, __ATOMIC_RELAXED);
	finish_tmf(t, S_FUNCTION_COMPLETE, false);
	return NULL;
}

static void ctrl_tmf(struct vscsi *vs, struct virtq *vq, struct virtq_elem *e)
{
	u8 req[24];
	struct vscsi_tmf *t = xzalloc(sizeof(*t));
	struct vscsi_lun *vl;
	bool target_exists;
	u16 lun;
	pthread_t th;
	pthread_attr_t attr;

	vs->tmfs++;
	iov_to_buf(e->iov, e->nout, 0, req, sizeof(req));
	t->vs = vs;
	t->vq = vq;
	t->head = e->head;
	t->subtype = le32toh(*(u32 *)(req + 4));
	memcpy(&t->tag, req + 16, 8);
	t->tag = le64toh(t->tag);
	t->nresp = scsi_iov_range(e->iov + e->nout, e->nin, 0, 1, t->resp, VIRTQ_MAX_SIZE);
	get_inflight(vs);
	if (vscsi_lun_decode(req + 8, &t->target, &lun)) {
		finish_tmf(t, SCSI_RESP_BAD_TARGET, true);
		return;
	}
	vl = find_lun(vs, t->target, lun, &target_exists);
	if (!target_exists) {
		finish_tmf(t, SCSI_RESP_BAD_TARGET, true);
		return;
	}
	if (!vl && t->subtype != TMF_I_T_NEXUS_RESET) {
		finish_tmf(t, S_INCORRECT_LUN, true);
		return;
	}
	t->l = vl ? vl->l : NULL;
	switch (t->subtype) {
	case TMF_QUERY_TASK:
		finish_tmf(t, scsi_lun__busy_tag(t->l, t->tag) ? S_FUNCTION_SUCCEEDED :
			   S_FUNCTION_COMPLETE, true);
		return;
	case TMF_QUERY_TASK_SET:
		pthread_mutex_lock(&t->l->qlock);
		lun = t->l->queued || t->l->running;
		pthread_mutex_unlock(&t->l->qlock);
		finish_tmf(t, lun ? S_FUNCTION_SUCCEEDED : S_FUNCTION_COMPLETE, true);
		return;
	case TMF_ABORT_TASK:
	case TMF_ABORT_TASK_SET:
	case TMF_CLEAR_TASK_SET:
	case TMF_LOGICAL_UNIT_RESET:
	case TMF_I_T_NEXUS_RESET:
		break;
	default:	/* CLEAR ACA (no ACA here) and unknown functions */
		finish_tmf(t, S_FUNCTION_REJECTED, true);
		return;
	}
	/* a guest cannot make dpvm start threads without bound */
	if (__atomic_add_fetch(&vs->tmf_threads, 1, __ATOMIC_RELAXED) > MAX_TMF_THREADS) {
		__atomic_fetch_sub(&vs->tmf_threads, 1, __ATOMIC_RELAXED);
		pr_warn_guest("%s: more than %d task management functions at once; rejected",
			      vs->vdev.name, MAX_TMF_THREADS);
		finish_tmf(t, S_FUNCTION_REJECTED, true);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, tmf_thread, t)) {
		__atomic_fetch_sub(&vs->tmf_threads, 1, __ATOMIC_RELAXED);
		pr_warn("%s: no thread for a task management function; rejected", vs->vdev.name);
		finish_tmf(t, S_FUNCTION_REJECTED, true);
	}
	pthread_attr_destroy(&attr);
}

static void ctrl_an(struct vscsi *vs, struct virtq *vq, struct virtq_elem *e, u32 type)
{
	u8 req[16], resp[5] = { 0 };
	struct vscsi_lun *vl;
	bool target_exists;
	u32 want, actual = 0;
	u8 target;
	u16 lun;

	iov_to_buf(e->iov, e->nout, 0, req, sizeof(req));
	want = le32toh(*(u32 *)(req + 12));
	if (vscsi_lun_decode(req + 4, &target, &lun) ||
	    (!(vl = find_lun(vs, target, lun, &target_exists)) && !target_exists)) {
		resp[4] = SCSI_RESP_BAD_TARGET;
	} else if (!vl) {
		resp[4] = S_INCORRECT_LUN;
	} else {
		if (mmc__is_cdrom(vl->l) || sgio__is_cdrom(vl->l))
			actual = want & EVT_ASYNC_MEDIA_CHANGE;
		if (type == T_AN_SUBSCRIBE)
			__atomic_or_fetch(&vs->subscribed, actual, __ATOMIC_RELAXED);
		*(u32 *)resp = htole32(actual);
		resp[4] = SCSI_RESP_OK;
	}
	push_used(vs, vq, e->head, buf_to_iov(e->iov + e->nout, e->nin, 0, resp, 5), true);
}

static void ctrl_request(struct vscsi *vs, struct virtq *vq, struct virtq_elem *e)
{
	u32 type = 0;

	iov_to_buf(e->iov, e->nout, 0, &type, 4);
	type = le32toh(type);
	if (e->out_len < 4 || !e->in_len) {
		malformed(vs, vq, e, "a control request without type or response");
		return;
	}
	if (type == T_TMF && e->out_len >= 24) {
		ctrl_tmf(vs, vq, e);
	} else if ((type == T_AN_QUERY || type == T_AN_SUBSCRIBE) && e->out_len >= 16 &&
		   e->in_len >= 5) {
		ctrl_an(vs, vq, e, type);
	} else {
		vs->malformed++;
		pr_warn_guest("%s: control request of type %u with %zu/%zu bytes; rejected",
			      vs->vdev.name, type, e->out_len, e->in_len);
		push_used(vs, vq, e->head, 0, true);
	}
}

/* ---- events ---- */

/* under the event queue's lock: deliver one event, or remember it was missed */
static void event_push_locked(struct vscsi *vs, struct virtq *vq, u32 event, const u8 *lun,
			      u32 reason)
{
	u8 ev[16] = { 0 };
	int ret;

	if (!vq->r.enable || !vq->used)
		return;		/* no driver: nothing to tell */
	ret = virtq__pop(vq, &vs->vm->mem, &vs->ev_elem);
	if (ret <= 0) {
		vs->events_missed = true;
		return;
	}
	if (vs->events_missed) {
		event |= EVT_EVENTS_MISSED;
		vs->events_missed = false;
	}
	*(u32 *)ev = htole32(event);
	if (lun)
		memcpy(ev + 4, lun, 8);
	*(u32 *)(ev + 12) = htole32(reason);
	vs->events++;
	push_used(vs, vq, vs->ev_elem.head,
		  buf_to_iov(vs->ev_elem.iov + vs->ev_elem.nout, vs->ev_elem.nin, 0, ev, 16), true);
}

static void lun_changed(struct scsi_lun *l, u32 sc)
{
	struct vscsi *vs = l->owner;
	struct virtq *vq = &vs->vdev.vqs[EVENT_Q];
	/* the encoding of REPORT LUNS (flat space only from 256 on): Linux
	 * looks the LUN up from these bytes as they are */
	u8 lun[8] = { 1, l->target, l->lun >= 256 ? 0x40 | (l->lun >> 8) : 0, l->lun & 0xff };
	bool broken;

	pthread_mutex_lock(&vq->lock);
	if (sc == SC_MEDIUM_CHANGED) {
		if (__atomic_load_n(&vs->subscribed, __ATOMIC_RELAXED) & EVT_ASYNC_MEDIA_CHANGE)
			event_push_locked(vs, vq, EVT_ASYNC_NOTIFY, lun, EVT_ASYNC_MEDIA_CHANGE);
	} else if (virtio__has_feature(&vs->vdev, SCSI_F_CHANGE)) {
		event_push_locked(vs, vq, EVT_PARAM_CHANGE, lun, SC_ASC(sc) | SC_ASCQ(sc) << 8);
	}
	broken = vq->broken;
	pthread_mutex_unlock(&vq->lock);
	if (broken)
		virtio__set_needs_reset(&vs->vdev);
}

/* ---- queues ---- */

static void vscsi_queue_notify(struct virtio_dev *v, struct virtq *vq)
{
	struct vscsi *vs = to_vscsi(v);
	int ret;

	if (vq->index == EVENT_Q) {
		/* buffers for events: report what was missed meanwhile */
		if (vs->events_missed)
			event_push_locked(vs, vq, EVT_NO_EVENT, NULL, 0);
		return;
	}
	for (;;) {
		virtq__set_notify(vq, false);
		while ((ret = virtq__pop(vq, &v->vm->mem, &vs->elem)) > 0) {
			if (vq->index == CTRL_Q)
				ctrl_request(vs, vq, &vs->elem);
			else
				cmd_request(vs, vq, &vs->elem);
		}
		if (ret < 0)
			return;
		/* commands in flight: their completions look for more.  A
		 * LUN that stalls must not hold up the others' requests, so
		 * kicks come back on after KICKS_OFF_NS at the latest */
		if (vq->index != CTRL_Q && vs->qbusy[vq->index] && !vs->qforce[vq->index]) {
			struct itimerspec t = { .it_value = { .tv_nsec = KICKS_OFF_NS } };

			if (vs->timer_fd < 0 || timerfd_settime(vs->timer_fd, 0, &t, NULL) < 0)
				vs->qforce[vq->index] = true;	/* no timer: kicks on */
			else
				return;
		}
		vs->qforce[vq->index] = false;
		virtq__set_notify(vq, true);
		if (!virtq__pop(vq, &v->vm->mem, &vs->elem))
			return;
		vq->last_avail--;	/* peeked: put it back and loop */
	}
}

static void vscsi_config_read(struct virtio_dev *v, u32 off, void *data, u32 len)
{
	struct vscsi *vs = to_vscsi(v);

	memcpy(data, (u8 *)&vs->cfg + off, len);
}

static void vscsi_config_write(struct virtio_dev *v, u32 off, const void *data, u32 len)
{
	struct vscsi *vs = to_vscsi(v);
	u32 val = 0;

	/* only sense_size and cdb_size are the driver's to write */
	if (len != 4 || (off != offsetof(struct vscsi_config, sense_size) &&
			 off != offsetof(struct vscsi_config, cdb_size)))
		return;
	memcpy(&val, data, 4);
	val = le32toh(val);
	if (off == offsetof(struct vscsi_config, sense_size))
		__atomic_store_n(&vs->cfg.sense_size, htole32(MIN(val, (u32)SCSI_SENSE_MAX)),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vs->cfg.cdb_size, htole32(MIN(val, (u32)SCSI_CDB_MAX)),
				 __ATOMIC_RELAXED);
}

/* Device reset (by the driver, or the VM's): the transport has stopped the
 * queues; commands still running on LUN workers finish (their completions
 * are dropped), and nothing of the old session survives. */
static void vscsi_reset(struct virtio_dev *v)
{
	struct vscsi *vs = to_vscsi(v);

	pthread_mutex_lock(&vs->lock);
	for (unsigned int i = 0; i < vs->nr_luns; i++) {
		struct scsi_lun *l = vs->luns[i]->l;

		pthread_mutex_unlock(&vs->lock);
		scsi_lun__reset(l, 0);
		pthread_mutex_lock(&vs->lock);
	}
	pthread_mutex_unlock(&vs->lock);
	wait_idle(vs);
	memset(vs->qbusy, 0, sizeof(vs->qbusy));
	memset(vs->qforce, 0, sizeof(vs->qforce));
	pthread_mutex_lock(&vs->vdev.vqs[EVENT_Q].lock);
	vs->events_missed = false;
	pthread_mutex_unlock(&vs->vdev.vqs[EVENT_Q].lock);
	vs->subscribed = 0;
	vs->cfg.sense_size = htole32(SENSE_SIZE_DEFAULT);
	vs->cfg.cdb_size = htole32(CDB_SIZE_DEFAULT);
}

static json_object *vscsi_status(struct virtio_dev *v)
{
	struct vscsi *vs = to_vscsi(v);
	json_object *o = json_object_new_object();

	json_object_object_add(o, "luns", json_object_new_int(vs->nr_luns));
	json_object_object_add(o, "request-queues", json_object_new_int(le32toh(vs->cfg.num_queues)));
	json_object_object_add(o, "requests", json_object_new_int64(vs->requests));
	json_object_object_add(o, "malformed", json_object_new_int64(vs->malformed));
	json_object_object_add(o, "overruns", json_object_new_int64(vs->overruns));
	json_object_object_add(o, "bad-target", json_object_new_int64(vs->bad_target));
	json_object_object_add(o, "task-management", json_object_new_int64(vs->tmfs));
	json_object_object_add(o, "events", json_object_new_int64(vs->events));
	return o;
}

/* ---- the controller's life ---- */

static struct vscsi *find_controller(struct vm *vm)
{
	struct vscsi *vs;

	pthread_mutex_lock(&controllers_lock);
	for (vs = controllers; vs && vs->vm != vm; vs = vs->next)
		;
	pthread_mutex_unlock(&controllers_lock);
	return vs;
}

struct scsi_entry;
static void entry_address(struct device_config *dc, int *target, u32 *max_sectors, u32 *max_segs);

static struct vscsi *get_controller(struct vm *vm)
{
	struct vscsi *vs = find_controller(vm);
	unsigned int maxt = 0, nq;
	u32 max_sectors = MAX_SECTORS_DEFAULT, seg_max = QUEUE_SIZE - 2;
	int ret;

	if (vs)
		return vs;
	vs = xzalloc(sizeof(*vs));
	vs->vm = vm;
	pthread_mutex_init(&vs->lock, NULL);
	pthread_mutex_init(&vs->idle_lock, NULL);
	pthread_cond_init(&vs->idle, NULL);
	/* every SCSI entry of the configuration: the highest target, the
	 * smallest transfer limit of a passthrough LUN */
	for (unsigned int i = 0; i < vm->cfg->nr_devices; i++) {
		int t = -1;

		entry_address(&vm->cfg->devices[i], &t, &max_sectors, &seg_max);
		if (t > (int)maxt)
			maxt = t;
	}
	nq = MAX(1u, MIN(vm->cfg->nr_cpus, (unsigned int)MAX_REQ_QUEUES));
	vs->cfg = (struct vscsi_config){
		.num_queues = htole32(nq),
		.seg_max = htole32(seg_max),
		.max_sectors = htole32(max_sectors),
		.cmd_per_lun = htole32(CMD_PER_LUN),
		.event_info_size = htole32(16),
		.sense_size = htole32(SENSE_SIZE_DEFAULT),
		.cdb_size = htole32(CDB_SIZE_DEFAULT),
		.max_channel = 0,
		.max_target = htole16(maxt),
		.max_lun = htole32(16383),
	};
	vs->ops = (struct virtio_dev_ops){
		.name = "virtio-scsi",
		.device_id = VIRTIO_ID_SCSI,
		.class_code = PCI_CLASS_STORAGE_SCSI,
		/* HOTPLUG too: Linux gives the event queue buffers only with
		 * it (no hotplug event is sent yet: LUNs are fixed at power-on) */
		.features = 1ULL << SCSI_F_CHANGE | 1ULL << SCSI_F_HOTPLUG,
		.nr_queues = FIRST_REQ_Q + nq,
		.queue_size = QUEUE_SIZE,
		.config_size = sizeof(struct vscsi_config),
		.config_read = vscsi_config_read,
		.config_write = vscsi_config_write,
		.queue_notify = vscsi_queue_notify,
		.reset = vscsi_reset,
		.status = vscsi_status,
	};
	ret = virtio__init(vm, &vs->vdev, &vs->ops, "virtio-scsi", vs);
	if (ret) {
		pr_err("virtio-scsi: cannot create the controller: %s", strerror(-ret));
		free(vs);
		return NULL;
	}
	vs->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vs->timer_fd >= 0 && evloop__add(vs->vdev.io, vs->timer_fd, EPOLLIN, kicks_timer, vs)) {
		close(vs->timer_fd);
		vs->timer_fd = -1;
	}
	pthread_mutex_lock(&controllers_lock);
	vs->next = controllers;
	controllers = vs;
	pthread_mutex_unlock(&controllers_lock);
	return vs;
}

static void put_controller(struct vscsi *vs)
{
	struct vscsi **pp;

	if (--vs->refs)
		return;
	wait_idle(vs);
	virtio__exit(&vs->vdev);
	if (vs->timer_fd >= 0)
		close(vs->timer_fd);
	pthread_mutex_lock(&controllers_lock);
	for (pp = &controllers; *pp; pp = &(*pp)->next) {
		if (*pp == vs) {
			*pp = vs->next;
			break;
		}
	}
	pthread_mutex_unlock(&controllers_lock);
	free(vs);
}

static json_object *lun_status(struct vm_device *vd)
{
	struct vscsi_lun *vl = container_of(vd, struct vscsi_lun, vd);
	struct scsi_lun *l = vl->l;
	json_object *o = json_object_new_object(), *id = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(l->name));
	json_object_object_add(o, "type", json_object_new_string(vl->type));
	json_object_object_add(o, "controller", json_object_new_string(vl->vs->vdev.name));
	json_object_object_add(o, "target", json_object_new_int(l->target));
	json_object_object_add(o, "lun", json_object_new_int(l->lun));
	json_object_object_add(o, "backing", json_object_new_string(vl->backing));
	if (vl->mode)
		json_object_object_add(o, "mode", json_object_new_string(vl->mode));
	json_object_object_add(o, "kind", json_object_new_string(l->ops->kind));
	scsi_ident__status(&l->ident, id);
	json_object_object_add(o, "identity", id);
	if (l->ops->status)
		l->ops->status(l, o);
	pthread_mutex_lock(&l->lock);
	json_object_object_add(o, "commands", json_object_new_int64(l->nr_cmds));
	json_object_object_add(o, "reads", json_object_new_int64(l->nr_reads));
	json_object_object_add(o, "writes", json_object_new_int64(l->nr_writes));
	json_object_object_add(o, "bytes-read", json_object_new_int64(l->bytes_read));
	json_object_object_add(o, "bytes-written", json_object_new_int64(l->bytes_written));
	json_object_object_add(o, "errors", json_object_new_int64(l->nr_errors));
	pthread_mutex_unlock(&l->lock);
	return o;
}

/* VM reset: the controller's own reset (the transport's) drains every LUN;
 * here only the LUN's state goes back to power-on */
static void lun_vd_reset(struct vm_device *vd)
{
	struct vscsi_lun *vl = container_of(vd, struct vscsi_lun, vd);

	scsi_lun__drain(vl->l);
	if (vl->l->ops->reset)
		vl->l->ops->reset(vl->l);
	scsi_lun__clear_ua(vl->l);
}

static void lun_remove(struct vm_device *vd)
{
	struct vscsi_lun *vl = container_of(vd, struct vscsi_lun, vd);
	struct vscsi *vs = vl->vs;

	vm__remove_device(vs->vm, &vl->vd);
	pthread_mutex_lock(&vs->lock);
	for (unsigned int i = 0; i < vs->nr_luns; i++) {
		if (vs->luns[i] == vl) {
			vs->luns[i] = vs->luns[--vs->nr_luns];
			break;
		}
	}
	pthread_mutex_unlock(&vs->lock);
	/* no new command can reach it; finish what it has */
	scsi_lun__cancel(vl->l, NULL, NULL, SCSI_RESP_ABORTED);
	scsi_lun__drain(vl->l);
	scsi_lun__destroy(vl->l);
	free(vl);
	put_controller(vs);
}

static int attach_lun(struct vm *vm, struct device_config *dc, struct scsi_lun *l,
		      const char *backing, const char *mode)
{
	struct vscsi *vs = get_controller(vm);
	struct vscsi_lun *vl;

	if (!vs) {
		scsi_lun__destroy(l);
		return -ENODEV;
	}
	if (vs->nr_luns >= MAX_LUNS) {
		pr_err("%s: a controller has at most %d LUNs", dc->where, MAX_LUNS);
		scsi_lun__destroy(l);
		if (!vs->refs)
			put_controller((vs->refs++, vs));
		return -ENOSPC;
	}
	vl = xzalloc(sizeof(*vl));
	vl->l = l;
	vl->vs = vs;
	vl->type = dc->type;
	vl->backing = backing;
	vl->mode = mode;
	l->owner = vs;
	l->changed = lun_changed;
	pthread_mutex_lock(&vs->lock);
	vs->luns[vs->nr_luns++] = vl;
	vs->refs++;
	pthread_mutex_unlock(&vs->lock);
	vl->vd.name = l->name;
	vl->vd.status = lun_status;
	vl->vd.reset = lun_vd_reset;
	vl->vd.remove = lun_remove;
	vm__add_device(vm, &vl->vd);
	dc->vd = &vl->vd;
	return 0;
}

/* ---- configuration: scsi-disk, scsi-rdm, scsi-cdrom ---- */

enum entry_kind { E_DISK, E_RDM_PHYSICAL, E_RDM_VIRTUAL, E_CD_ISO, E_CD_HOST, E_CD_EMPTY };

struct scsi_entry {
	enum entry_kind kind;
	char *path;			/* what the user gave */
	char *node;			/* the device node used for data or SG_IO */
	int fd;				/* opened and locked at validation */
	int target, lun;
	bool readonly, direct, rotational;
	u32 block_size;
	unsigned int workers;
	unsigned int timeout_ms;
	u32 max_sectors;		/* of a host LUN, 0 if not one */
	u32 max_segments;		/* of its host queue, 0 if not known */
	dev_t dev;			/* the backing, to catch one attached twice */
	ino_t ino;
	struct scsi_identity ident;
	char sysdev[PATH_MAX];		/* the SCSI device in sysfs, for duplicates */
};

static bool is_scsi_type(const char *type)
{
	return !strcmp(type, "scsi-disk") || !strcmp(type, "scsi-rdm") || !strcmp(type, "scsi-cdrom");
}

static void entry_address(struct device_config *dc, int *target, u32 *max_sectors, u32 *max_segs)
{
	struct scsi_entry *e = dc->priv;

	if (!is_scsi_type(dc->type) || !e)
		return;
	*target = e->target;
	if (e->max_sectors && e->max_sectors < *max_sectors)
		*max_sectors = e->max_sectors;
	if (e->max_segments && e->max_segments < *max_segs)
		*max_segs = e->max_segments;
}

/* the host queue's max_segments of a SCSI device (sysfs dir), 0 if unknown */
static u32 host_max_segments(const char *sysdev)
{
	char path[PATH_MAX + 160], *line = NULL;
	struct dirent *de;
	size_t cap = 0;
	u32 v = 0;
	DIR *d;
	FILE *f;

	snprintf(path, sizeof(path), "%s/block", sysdev);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && de->d_name[0] == '.')
		;
	if (de) {
		snprintf(path, sizeof(path), "%s/block/%.64s/queue/max_segments", sysdev, de->d_name);
		f = fopen(path, "re");
		if (f) {
			if (getline(&line, &cap, f) > 0)
				v = strtoul(line, NULL, 10);
			fclose(f);
		}
	}
	closedir(d);
	free(line);
	return v;
}

static int get_uint(json_object *obj, const char *key, const char *where, u64 min, u64 max,
		    bool *given, u64 *out)
{
	json_object *v;

	*given = false;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		s64 n = json_object_get_int64(v);

		if (n >= 0 && (u64)n >= min && (u64)n <= max) {
			*out = n;
			*given = true;
			return 0;
		}
	} else if (json_object_is_type(v, json_type_string)) {
		if (!parse_u64(json_object_get_string(v), min, max, out)) {
			*given = true;
			return 0;
		}
	}
	pr_err("%s.%s: '%s' is not a number from %llu to %llu", where, key,
	       json_object_get_string(v), (unsigned long long)min, (unsigned long long)max);
	return -1;
}

/* the SCSI device (sysfs) behind a node, to catch one LUN attached twice */
static void sysfs_device(const struct stat *st, char *out)
{
	char link[128];

	snprintf(link, sizeof(link), "/sys/dev/%s/%u:%u/device", S_ISCHR(st->st_mode) ? "char" : "block",
		 major(st->st_rdev), minor(st->st_rdev));
	if (!realpath(link, out))
		out[0] = 0;
}

/* the block device of an sg node (virtual mode needs one for data) */
static int sg_to_block(const struct stat *st, char *out, size_t len)
{
	char dir[160];
	DIR *d;
	size_t n;
	struct dirent *de;
	int ret = -1;

	snprintf(dir, sizeof(dir), "/sys/dev/char/%u:%u/device/block", major(st->st_rdev),
		 minor(st->st_rdev));
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		n = strnlen(de->d_name, sizeof(de->d_name));
		if (n + 6 > len)
			break;
		memcpy(out, "/dev/", 5);
		memcpy(out + 5, de->d_name, n + 1);
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

static int open_node(struct device_config *dc, struct scsi_entry *e, const char *path, int flags,
		     bool exclusive)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0) {
		pr_err("%s: %s: %s; %s", dc->where, path, strerror(errno),
		       errno == EACCES || errno == EPERM ? "run dpvm as root (or give it the device)" :
		       errno == EROFS ? "attach it read-only" : "check the device path");
		return -1;
	}
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		pr_err("%s: %s is in use by another program (locked); stop it first", dc->where, path);
		close(fd);
		return -1;
	}
	e->fd = fd;
	return 0;
}

static const char *const common_keys[] = { "type", "id", "backing", "target", "lun", "serial",
					   "wwn", "workers", "block-size", "rotational", NULL };
static const char *const rdm_keys[] = { "type", "id", "backing", "target", "lun", "workers", NULL };

static int validate_backing(struct device_config *dc, struct scsi_entry *e, json_object *b,
			    const char *where)
{
	static const char *const file_keys[] = { "type", "path", "readonly", "direct", NULL };
	static const char *const rdm_bkeys[] = { "type", "mode", "device", "readonly", "direct",
						 "timeout-ms", NULL };
	static const char *const host_keys[] = { "type", "device", "timeout-ms", NULL };
	const char *btype = NULL, *path = NULL, *mode = NULL;
	bool given;
	u64 v;
	struct stat st;

	if (b && !json_object_is_type(b, json_type_object)) {
		pr_err("%s: expected an object such as {\"type\": \"file\", \"path\": FILE}", where);
		return -1;
	}
	if (b && config__get_string(b, "type", where, false, &btype))
		return -1;
	if (!strcmp(dc->type, "scsi-disk")) {
		if (!b) {
			pr_err("%s.backing: missing; give {\"type\": \"file\", \"path\": FILE}", dc->where);
			return -1;
		}
		if (btype && strcmp(btype, "file")) {
			pr_err("%s.type: '%s' is not a scsi-disk backing; use \"file\" (a file or block "
			       "device), or a scsi-rdm entry for a host LUN", where, btype);
			return -1;
		}
		if (config__check_keys(b, where, file_keys) ||
		    config__get_string(b, "path", where, true, &path) ||
		    config__get_bool(b, "readonly", where, &e->readonly) ||
		    config__get_bool(b, "direct", where, &e->direct))
			return -1;
		e->kind = E_DISK;
	} else if (!strcmp(dc->type, "scsi-rdm")) {
		if (!b) {
			pr_err("%s.backing: missing; give {\"type\": \"rdm\", \"mode\": \"physical\", "
			       "\"device\": \"/dev/sgN\"}", dc->where);
			return -1;
		}
		if (btype && strcmp(btype, "rdm")) {
			pr_err("%s.type: '%s' is not a scsi-rdm backing; use \"rdm\"", where, btype);
			return -1;
		}
		if (config__check_keys(b, where, rdm_bkeys) ||
		    config__get_string(b, "device", where, true, &path) ||
		    config__get_string(b, "mode", where, false, &mode) ||
		    config__get_bool(b, "readonly", where, &e->readonly))
			return -1;
		if (!mode || !strcmp(mode, "physical")) {
			e->kind = E_RDM_PHYSICAL;
			if (json_object_object_get_ex(b, "readonly", NULL) ||
			    json_object_object_get_ex(b, "direct", NULL)) {
				pr_err("%s: readonly and direct are for virtual mode; in physical mode "
				       "the guest's commands reach the LUN as they are", where);
				return -1;
			}
		} else if (!strcmp(mode, "virtual")) {
			e->kind = E_RDM_VIRTUAL;
			e->direct = true;	/* a LUN other hosts may see: no host cache */
			if (config__get_bool(b, "direct", where, &e->direct))
				return -1;
		} else {
			pr_err("%s.mode: '%s' is not an RDM mode; use \"physical\" or \"virtual\"",
			       where, mode);
			return -1;
		}
		if (get_uint(b, "timeout-ms", where, 100, 3600000, &given, &v))
			return -1;
		e->timeout_ms = given ? v : 0;
	} else {	/* scsi-cdrom */
		if (!b || json_object_is_type(b, json_type_null)) {
			e->kind = E_CD_EMPTY;
		} else if (!btype || !strcmp(btype, "file")) {
			if (config__check_keys(b, where, file_keys) ||
			    config__get_string(b, "path", where, true, &path))
				return -1;
			if (json_object_object_get_ex(b, "readonly", NULL) ||
			    json_object_object_get_ex(b, "direct", NULL)) {
				pr_err("%s: a CD/DVD image is always read-only; drop readonly/direct", where);
				return -1;
			}
			e->kind = E_CD_ISO;
		} else if (!strcmp(btype, "host")) {
			if (config__check_keys(b, where, host_keys) ||
			    config__get_string(b, "device", where, true, &path) ||
			    get_uint(b, "timeout-ms", where, 100, 3600000, &given, &v))
				return -1;
			e->timeout_ms = given ? v : 0;
			e->kind = E_CD_HOST;
		} else {
			pr_err("%s.type: '%s' is not a scsi-cdrom backing; use \"file\" (an ISO image) "
			       "or \"host\" (a host drive, /dev/srN)", where, btype);
			return -1;
		}
	}
	e->path = path ? xstrdup(path) : NULL;
	if (e->kind == E_CD_EMPTY)
		return 0;
	if (stat(path, &st) < 0) {
		pr_err("%s: %s: %s; check the path", dc->where, path, strerror(errno));
		return -1;
	}
	switch (e->kind) {
	case E_DISK:
	case E_CD_ISO:
		if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
			pr_err("%s: %s: not a regular file or block device; give %s", dc->where, path,
			       e->kind == E_DISK ? "a disk image" : "an ISO image");
			return -1;
		}
		/* the same image twice in this VM, writable either time (flock
		 * would call it "in use"); read-only twice is harmless */
		for (struct device_config *o = dc - dc->index; o < dc; o++) {
			struct scsi_entry *oe = o->priv;
			bool ro = e->readonly || e->kind == E_CD_ISO;

			if (is_scsi_type(o->type) && oe && oe->fd >= 0 && oe->dev == st.st_dev &&
			    oe->ino == st.st_ino &&
			    (!ro || !(oe->readonly || oe->kind == E_CD_ISO))) {
				pr_err("%s: %s is already attached by %s; give each writable disk once",
				       dc->where, path, o->where);
				return -1;
			}
		}
		e->dev = st.st_dev;
		e->ino = st.st_ino;
		if (open_node(dc, e, path, (e->readonly || e->kind == E_CD_ISO ? O_RDONLY : O_RDWR) |
			      (e->direct ? O_DIRECT : 0), !e->readonly && e->kind == E_DISK))
			return -1;
		e->node = xstrdup(path);
		break;
	case E_RDM_PHYSICAL:
	case E_RDM_VIRTUAL:
	case E_CD_HOST: {
		char msg[200], blk[64];
		u8 type;

		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
			pr_err("%s: %s: not a device node; give a host LUN (/dev/sgN, /dev/sdX or "
			       "/dev/disk/by-id/...)%s", dc->where, path,
			       e->kind == E_CD_HOST ? " or drive (/dev/srN)" : "");
			return -1;
		}
		sysfs_device(&st, e->sysdev);
		if (e->kind == E_RDM_VIRTUAL && S_ISCHR(st.st_mode)) {
			/* an sg node: the data goes through its block device */
			if (sg_to_block(&st, blk, sizeof(blk))) {
				pr_err("%s: %s has no block device; virtual mode reads and writes "
				       "through one (give /dev/sdX), or use physical mode", dc->where, path);
				return -1;
			}
			e->node = xstrdup(blk);
		} else {
			e->node = xstrdup(path);
		}
		if (open_node(dc, e, e->node,
			      e->kind == E_CD_HOST ? (S_ISCHR(st.st_mode) ? O_RDWR : O_RDONLY) | O_NONBLOCK :
			      e->kind == E_RDM_VIRTUAL ? (e->readonly ? O_RDONLY : O_RDWR) |
							 (e->direct ? O_DIRECT : 0) :
			      O_RDWR | O_NONBLOCK, e->kind != E_CD_HOST))
			return -1;
		if (sgio__read_identity(e->fd, &e->ident, &type, msg, sizeof(msg))) {
			pr_err("%s: %s: %s", dc->where, e->node, msg);
			return -1;
		}
		if (e->kind == E_CD_HOST && type != 0x05) {
			pr_err("%s: %s is a SCSI device of type %#x, not a CD/DVD drive; use scsi-rdm",
			       dc->where, path, type);
			return -1;
		}
		if (e->kind == E_RDM_VIRTUAL && type != 0x00) {
			pr_err("%s: %s is a SCSI device of type %#x, not a disk; virtual mode emulates "
			       "a disk, use physical mode", dc->where, path, type);
			return -1;
		}
		if (e->kind != E_RDM_VIRTUAL) {
			int ms = 0;

			/* the host queue's transfer limit: bytes from sg, sectors
			 * (an unsigned short) from a block device */
			if (!ioctl(e->fd, BLKSECTGET, &ms) && ms > 0)
				e->max_sectors = S_ISCHR(st.st_mode) ? (u32)ms / 512 : (u32)ms;
			/* a guest request with more segments than the host
			 * queue takes would be copied through a bounce buffer */
			if (e->sysdev[0])
				e->max_segments = host_max_segments(e->sysdev);
		}
		break;
	}
	default:
		break;
	}
	return 0;
}

static int scsi_validate(struct device_config *dc)
{
	struct scsi_entry *e = xzalloc(sizeof(*e));
	const char *serial = NULL, *wwn_s = NULL;
	json_object *b = NULL;
	char where[256];
	bool given, tgiven, lgiven;
	u64 v, t = 0, lu = 0, wwn = 0;
	bool is_rdm = !strcmp(dc->type, "scsi-rdm");

	e->fd = -1;
	dc->priv = e;
	if (config__check_keys(dc->obj, dc->where, is_rdm ? rdm_keys : common_keys))
		return -1;
	json_object_object_get_ex(dc->obj, "backing", &b);
	snprintf(where, sizeof(where), "%s.backing", dc->where);
	if (get_uint(dc->obj, "target", dc->where, 0, 255, &tgiven, &t) ||
	    get_uint(dc->obj, "lun", dc->where, 0, 16383, &lgiven, &lu) ||
	    get_uint(dc->obj, "workers", dc->where, 1, SCSI_MAX_WORKERS, &given, &v))
		return -1;
	e->workers = given ? v : is_rdm ? 8 : 4;
	if (!strcmp(dc->type, "scsi-cdrom"))
		e->workers = given ? v : 2;
	if (get_uint(dc->obj, "block-size", dc->where, 512, 4096, &given, &v))
		return -1;
	if (given && v != 512 && v != 4096) {
		pr_err("%s.block-size: %llu; use 512 or 4096", dc->where, (unsigned long long)v);
		return -1;
	}
	if (given && strcmp(dc->type, "scsi-disk")) {
		pr_err("%s.block-size: only a scsi-disk has a choice of block size", dc->where);
		return -1;
	}
	e->block_size = given ? v : 512;
	if (config__get_bool(dc->obj, "rotational", dc->where, &e->rotational) ||
	    config__get_string(dc->obj, "serial", dc->where, false, &serial) ||
	    config__get_string(dc->obj, "wwn", dc->where, false, &wwn_s))
		return -1;
	if (serial && (strlen(serial) > 64 || !*serial)) {
		pr_err("%s.serial: '%s' must be 1 to 64 characters", dc->where, serial);
		return -1;
	}
	for (const char *c = serial; c && *c; c++) {
		if (*c < 0x21 || *c > 0x7e) {
			pr_err("%s.serial: '%s' has a character that is not printable ASCII", dc->where,
			       serial);
			return -1;
		}
	}
	if (wwn_s && scsi_parse_wwn(wwn_s, &wwn)) {
		pr_err("%s.wwn: '%s' is not a WWN; give 16 hex digits of an NAA 2, 3 or 5 name, "
		       "e.g. 0x5000c500a1b2c3d4", dc->where, wwn_s);
		return -1;
	}
	/* the address: given, or the lowest target whose LUN 0 is free */
	if (!tgiven) {
		for (t = 0; t < 256; t++) {
			bool used = false;

			for (struct device_config *o = dc - dc->index; o < dc && !used; o++) {
				struct scsi_entry *oe = o->priv;

				used = is_scsi_type(o->type) && oe && oe->target == (int)t &&
				       oe->lun == (int)(lgiven ? lu : 0);
			}
			if (!used)
				break;
		}
		if (t == 256) {
			pr_err("%s: no free target; give \"target\" and \"lun\"", dc->where);
			return -1;
		}
	}
	for (struct device_config *o = dc - dc->index; o < dc; o++) {
		struct scsi_entry *oe = o->priv;

		if (is_scsi_type(o->type) && oe && oe->target == (int)t && oe->lun == (int)lu) {
			pr_err("%s: target %llu lun %llu is already %s's; give another \"target\" or "
			       "\"lun\"", dc->where, (unsigned long long)t, (unsigned long long)lu,
			       o->where);
			return -1;
		}
	}
	e->target = t;
	e->lun = lu;
	if (validate_backing(dc, e, b, where))
		return -1;
	/* one host LUN twice (say as /dev/sg1 and /dev/sdb) */
	for (struct device_config *o = dc - dc->index; o < dc && e->sysdev[0]; o++) {
		struct scsi_entry *oe = o->priv;

		if (is_scsi_type(o->type) && oe && !strcmp(oe->sysdev, e->sysdev)) {
			pr_err("%s: %s is the same LUN as %s of %s; attach a LUN once", dc->where,
			       e->path, oe->path, o->where);
			return -1;
		}
	}
	if (e->kind == E_RDM_PHYSICAL || e->kind == E_CD_HOST) {
		if (serial || wwn_s) {
			pr_err("%s: serial and wwn come from the host LUN in %s; drop them", dc->where,
			       e->kind == E_CD_HOST ? "a host drive" : "physical mode");
			return -1;
		}
	} else if (e->kind != E_RDM_VIRTUAL) {
		/* an emulated LUN: the given identity, or one derived from the
		 * entry, stable across runs */
		char seed[PATH_MAX + 64], ser[24];
		u64 w;

		snprintf(seed, sizeof(seed), "%s:%s", dc->id, e->path ? e->path : "");
		w = wwn ? wwn : scsi_wwn_derive(seed);
		snprintf(ser, sizeof(ser), "DPVM%012llx", (unsigned long long)(w & 0xffffffffffffULL));
		scsi_ident__set(&e->ident, "DPVM", e->kind == E_DISK ? "Virtual disk" : "Virtual CD/DVD",
				"0001", serial ? serial : ser, w);
	}
	return 0;
}

static void scsi_release(struct device_config *dc)
{
	struct scsi_entry *e = dc->priv;

	if (!e)
		return;
	if (e->fd >= 0)
		close(e->fd);
	free(e->path);
	free(e->node);
}

static int scsi_create(struct vm *vm, struct device_config *dc)
{
	struct scsi_entry *e = dc->priv;
	struct scsi_lun *l = NULL;
	char *err = NULL;
	int fd = -1;

	if (e->fd >= 0) {
		fd = dup(e->fd);	/* the config keeps its own until it is freed */
		if (fd < 0) {
			pr_err("%s: %s: %s", dc->where, e->path, strerror(errno));
			return -errno;
		}
	}
	switch (e->kind) {
	case E_DISK:
	case E_RDM_VIRTUAL: {
		struct sbc_params p = {
			.fd = fd, .path = e->node, .readonly = e->readonly, .direct = e->direct,
			.rotational = e->rotational, .block_size = e->block_size,
			.workers = e->workers,
		};

		l = sbc__create(&p, &e->ident, dc->id, e->target, e->lun,
				e->kind == E_DISK ? "disk" : "rdm-virtual");
		break;
	}
	case E_RDM_PHYSICAL:
	case E_CD_HOST: {
		struct sgio_params p = {
			.fd = fd, .path = e->node, .timeout_ms = e->timeout_ms, .workers = e->workers,
			.cdrom = e->kind == E_CD_HOST,
		};

		l = sgio__create(&p, dc->id, e->target, e->lun, &err);
		break;
	}
	case E_CD_ISO:
	case E_CD_EMPTY:
		if (fd >= 0)
			close(fd);	/* mmc opens the image itself (insert reuses that) */
		l = mmc__create(e->path, &e->ident, dc->id, e->target, e->lun, e->workers, &err);
		break;
	}
	if (!l) {
		pr_err("%s: %s", dc->where, err ? err : "cannot create the LUN");
		free(err);
		return -EINVAL;
	}
	return attach_lun(vm, dc, l, e->kind == E_DISK || e->kind == E_CD_ISO ? "file" :
			  e->kind == E_CD_HOST ? "host" : e->kind == E_CD_EMPTY ? "none" : "rdm",
			  e->kind == E_RDM_PHYSICAL ? "physical" : e->kind == E_RDM_VIRTUAL ? "virtual" :
			  NULL);
}

/*
 * --scsi KIND[,PATH][,KEY=VALUE...]:
 *   disk,FILE[,ro][,direct][,serial=S][,wwn=W][,block-size=4096]
 *   rdm,DEVICE[,mode=physical|virtual][,ro][,timeout-ms=N]
 *   cdrom[,FILE]   cdrom,host=/dev/srN
 * and for all: target=T, lun=L, id=ID, workers=N
 */
static json_object *scsi_from_flag(const char *value, const char *where)
{
	json_object *o = json_object_new_object(), *b = json_object_new_object();
	char *dup = xstrdup(value), *save = NULL, *tok, *kind;
	const char *pathkey;
	bool have_path = false;

	kind = strtok_r(dup, ",", &save);
	if (!kind || (strcmp(kind, "disk") && strcmp(kind, "rdm") && strcmp(kind, "cdrom"))) {
		pr_err("%s %s: start with the kind: disk,FILE or rdm,DEVICE or cdrom[,FILE]", where, value);
		goto err;
	}
	json_object_object_add(o, "type", json_object_new_string(
		!strcmp(kind, "disk") ? "scsi-disk" : !strcmp(kind, "rdm") ? "scsi-rdm" : "scsi-cdrom"));
	json_object_object_add(b, "type", json_object_new_string(!strcmp(kind, "rdm") ? "rdm" : "file"));
	pathkey = !strcmp(kind, "rdm") ? "device" : "path";
	while ((tok = strtok_r(NULL, ",", &save))) {
		char *eq = strchr(tok, '=');

		if (!eq && !have_path && strcmp(tok, "ro") && strcmp(tok, "direct")) {
			json_object_object_add(b, pathkey, json_object_new_string(tok));
			have_path = true;
		} else if (!strcmp(tok, "ro")) {
			json_object_object_add(b, "readonly", json_object_new_boolean(true));
		} else if (!strcmp(tok, "direct")) {
			json_object_object_add(b, "direct", json_object_new_boolean(true));
		} else if (eq && (!strncmp(tok, "mode=", 5) || !strncmp(tok, "timeout-ms=", 11))) {
			*eq = 0;
			json_object_object_add(b, tok, json_object_new_string(eq + 1));
		} else if (eq && !strncmp(tok, "host=", 5) && !strcmp(kind, "cdrom")) {
			json_object_object_add(b, "type", json_object_new_string("host"));
			json_object_object_add(b, "device", json_object_new_string(eq + 1));
			have_path = true;
		} else if (eq && (!strncmp(tok, "serial=", 7) || !strncmp(tok, "wwn=", 4) ||
				  !strncmp(tok, "id=", 3) || !strncmp(tok, "target=", 7) ||
				  !strncmp(tok, "lun=", 4) || !strncmp(tok, "workers=", 8) ||
				  !strncmp(tok, "block-size=", 11))) {
			*eq = 0;
			json_object_object_add(o, tok, json_object_new_string(eq + 1));
		} else {
			pr_err("%s %s: unknown option '%s'; see 'dpvm run --help' and docs/scsi.md",
			       where, value, tok);
			goto err;
		}
	}
	if (!have_path && strcmp(kind, "cdrom")) {
		pr_err("%s %s: no %s given; use %s", where, value, pathkey,
		       !strcmp(kind, "disk") ? "disk,FILE" : "rdm,DEVICE");
		goto err;
	}
	if (!have_path) {
		json_object_put(b);
		b = NULL;
	}
	if (b)
		json_object_object_add(o, "backing", b);
	free(dup);
	return o;
err:
	json_object_put(o);
	json_object_put(b);
	free(dup);
	return NULL;
}

static struct device_type scsi_disk_type = {
	.name = "scsi-disk",
	.validate = scsi_validate,
	.create = scsi_create,
	.release = scsi_release,
	.flag = "scsi",
	.flag_arg = "KIND,PATH",
	.flag_help = "a SCSI LUN: disk,FILE[,ro] | rdm,DEVICE[,mode=virtual] | "
		     "cdrom[,ISO] | cdrom,host=/dev/srN (see docs/scsi.md)",
	.from_flag = scsi_from_flag,
};
device_type_register(scsi_disk_type);

static struct device_type scsi_rdm_type = {
	.name = "scsi-rdm",
	.validate = scsi_validate,
	.create = scsi_create,
	.release = scsi_release,
};
device_type_register(scsi_rdm_type);

static struct device_type scsi_cdrom_type = {
	.name = "scsi-cdrom",
	.validate = scsi_validate,
	.create = scsi_create,
	.release = scsi_release,
};
device_type_register(scsi_cdrom_type);

/* ---- `cdrom insert FILE` / `cdrom eject [force]` ---- */

static int cmd_cdrom(struct vm *vm, json_object *args, json_object **ret, char **err)
{
	struct vscsi *vs = find_controller(vm);
	json_object *words = NULL, *idv = NULL;
	const char *verb = NULL, *file = NULL, *id = NULL;
	struct vscsi_lun *drive = NULL;
	unsigned int ndrives = 0, nwords = 0;
	bool force = false;
	int rc;

	if (args) {
		json_object_object_get_ex(args, "args", &words);
		if (json_object_object_get_ex(args, "id", &idv))
			id = json_object_get_string(idv);
		if (json_object_object_get_ex(args, "file", &idv))
			file = json_object_get_string(idv);
		if (json_object_object_get_ex(args, "force", &idv))
			force = json_object_get_boolean(idv);
	}
	if (words && json_object_is_type(words, json_type_array))
		nwords = json_object_array_length(words);
	if (nwords >= 1)
		verb = json_object_get_string(json_object_array_get_idx(words, 0));
	if (verb && !strcmp(verb, "insert") && nwords >= 2)
		file = json_object_get_string(json_object_array_get_idx(words, 1));
	if (verb && !strcmp(verb, "eject") && nwords >= 2)
		force = !strcmp(json_object_get_string(json_object_array_get_idx(words, 1)), "force");
	if (!verb || (strcmp(verb, "insert") && strcmp(verb, "eject")) ||
	    (!strcmp(verb, "insert") && (!file || nwords > 2)) ||
	    (!strcmp(verb, "eject") && nwords > 2) ||
	    (!strcmp(verb, "eject") && nwords == 2 && !force))
		return api__error(err, "usage: cdrom insert FILE [id=ID] | cdrom eject [force] [id=ID]");
	if (!vs)
		return api__error(err, "this VM has no SCSI CD/DVD drive (add one with --scsi cdrom)");
	pthread_mutex_lock(&vs->lock);
	for (unsigned int i = 0; i < vs->nr_luns; i++) {
		struct scsi_lun *l = vs->luns[i]->l;

		if (!mmc__is_cdrom(l) && !sgio__is_cdrom(l))
			continue;
		ndrives++;
		if (!id || !strcmp(id, l->name))
			drive = drive ? drive : vs->luns[i];
	}
	pthread_mutex_unlock(&vs->lock);
	if (!drive)
		return id ? api__error(err, "no CD/DVD drive with id '%s'; see 'status'", id) :
			    api__error(err, "this VM has no SCSI CD/DVD drive (add one with --scsi cdrom)");
	if (!id && ndrives > 1)
		return api__error(err, "this VM has %u CD/DVD drives; say which with id=ID", ndrives);
	if (sgio__is_cdrom(drive->l)) {
		if (file)
			return api__error(err, "%s is a host drive: put the disc in the drive itself",
					  drive->l->name);
		rc = sgio__eject(drive->l, force, err);
	} else {
		rc = mmc__change(drive->l, file, force, err);
	}
	if (rc) {
		if (!*err)
			api__error(err, "%s: %s", drive->l->name, strerror(-rc));
		return -1;
	}
	*ret = lun_status(&drive->vd);
	return 0;
}

static struct api_command cdrom_cmd = {
	.name = "cdrom",
	.args_help = "insert FILE | eject [force] [id=ID]",
	.help = "change the medium of a SCSI CD/DVD drive",
	.handler = cmd_cdrom,
};
api_command(cdrom_cmd);
