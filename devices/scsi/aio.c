// SPDX-License-Identifier: GPL-2.0
/*
 * Asynchronous reads and writes through io_uring (liburing), for the data
 * path of the emulated disks.  The controller's I/O thread queues a
 * request's readv/writev on the LUN's ring and goes on; one reaper thread
 * per LUN waits for completions and finishes every request that completed
 * in one wake-up.  Compared with a worker thread per blocking request, a
 * burst of requests costs one submission and one wake-up instead of two
 * thread switches per request, and the device still works on many at once.
 * A slow LUN holds up only its own reaper.
 */
#include "devices/scsi/scsi.h"
#include "vmm/log.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scsi_aio {
	struct io_uring ring;
	pthread_mutex_t sq_lock;	/* submitters: the I/O thread, the reaper (resubmits) */
	pthread_t reaper;
	unsigned int inflight;		/* under sq_lock */
	unsigned int entries;
};

static void *reaper(void *arg)
{
	struct scsi_aio *a = arg;
	struct io_uring_cqe *cqe;

	for (;;) {
		int ret = io_uring_wait_cqe(&a->ring, &cqe);

		if (ret == -EINTR)
			continue;
		if (ret) {
			pr_err("scsi: io_uring wait failed: %s; the LUN's I/O stops", strerror(-ret));
			return NULL;
		}
		do {
			struct scsi_aio_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&a->ring, cqe);
			if (!op)
				return NULL;	/* the stop marker */
			pthread_mutex_lock(&a->sq_lock);
			a->inflight--;
			pthread_mutex_unlock(&a->sq_lock);
			op->done(op, res);
		} while (!io_uring_peek_cqe(&a->ring, &cqe));
	}
}

struct scsi_aio *scsi_aio__new(unsigned int entries, const char *name)
{
	struct scsi_aio *a = calloc(1, sizeof(*a));
	char tname[16];
	int ret;

	if (!a)
		return NULL;
	ret = io_uring_queue_init(entries, &a->ring, 0);
	if (ret) {
		pr_debug("%s: no io_uring (%s): requests go to worker threads", name, strerror(-ret));
		free(a);
		return NULL;
	}
	a->entries = entries;
	pthread_mutex_init(&a->sq_lock, NULL);
	if (pthread_create(&a->reaper, NULL, reaper, a)) {
		io_uring_queue_exit(&a->ring);
		free(a);
		return NULL;
	}
	snprintf(tname, sizeof(tname), "aio-%.11s", name);
	pthread_setname_np(a->reaper, tname);
	return a;
}

int scsi_aio__rw(struct scsi_aio *a, int fd, bool write, const struct iovec *iov, unsigned int n,
		 u64 off, int rw_flags, struct scsi_aio_op *op)
{
	struct io_uring_sqe *sqe;
	int ret;

	pthread_mutex_lock(&a->sq_lock);
	/* the completion queue holds twice the entries: never more in flight */
	if (a->inflight >= a->entries || !(sqe = io_uring_get_sqe(&a->ring))) {
		pthread_mutex_unlock(&a->sq_lock);
		return -EAGAIN;
	}
	if (write)
		io_uring_prep_writev(sqe, fd, iov, n, off);
	else
		io_uring_prep_readv(sqe, fd, iov, n, off);
	sqe->rw_flags = rw_flags;
	io_uring_sqe_set_data(sqe, op);
	ret = io_uring_submit(&a->ring);
	if (ret >= 0)
		a->inflight++;
	pthread_mutex_unlock(&a->sq_lock);
	return ret < 0 ? ret : 0;
}

void scsi_aio__free(struct scsi_aio *a)
{
	struct io_uring_sqe *sqe;

	if (!a)
		return;
	/* a NOP without data stops the reaper, after everything queued before it */
	for (;;) {
		pthread_mutex_lock(&a->sq_lock);
		sqe = io_uring_get_sqe(&a->ring);
		if (sqe) {
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data(sqe, NULL);
			io_uring_submit(&a->ring);
		}
		pthread_mutex_unlock(&a->sq_lock);
		if (sqe)
			break;
		sched_yield();
	}
	pthread_join(a->reaper, NULL);
	io_uring_queue_exit(&a->ring);
	pthread_mutex_destroy(&a->sq_lock);
	free(a);
}
