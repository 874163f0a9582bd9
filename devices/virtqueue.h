/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_VIRTQUEUE_H
#define DPVM_VIRTQUEUE_H

#include "vmm/types.h"

#include <pthread.h>
#include <sys/uio.h>

struct guest_mem;

/*
 * A split virtqueue (virtio 1.x, 2.7), walked defensively: every descriptor
 * is checked against guest RAM, chains may not loop or exceed the queue
 * size, indirect tables may not nest, and device-readable buffers must come
 * before device-writable ones.  A malformed chain is an error the device
 * reports (NEEDS_RESET), never a crash.
 */
#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_MAX_SIZE		1024

struct virtq_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

/* the guest-visible configuration of one queue (common config fields) */
struct virtq_regs {
	u16 size;
	u16 msix_vector;
	u16 enable;
	u64 desc, driver, device;
};

struct virtq {
	struct virtq_regs r;
	/* host views of the rings, set when the queue is enabled */
	struct virtq_desc *desc;
	u16 *avail;		/* flags, idx, ring[size], used_event */
	u8 *used;		/* flags, idx, {id, len}[size], avail_event */
	u16 last_avail;		/* next avail entry to consume */
	u16 used_idx;		/* our copy of used->idx */
	u16 signalled_used;	/* used_idx at the last interrupt */
	bool signalled_valid;
	bool event_idx;
	bool broken;		/* a malformed chain was seen: stop until reset */
	pthread_mutex_t lock;	/* held by whoever processes the queue */
	int kick_fd;		/* eventfd: ioeventfd on the notify address */
	unsigned int index;
	void *owner;		/* the device */
};

struct virtq_elem {
	u16 head;
	unsigned int nout, nin;	/* iov[0..nout) readable, iov[nout..nout+nin) writable */
	size_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* validate and map the rings; -EFAULT if they are not guest RAM */
int virtq__enable(struct virtq *vq, const struct guest_mem *mem, bool event_idx);
void virtq__reset(struct virtq *vq);

/* take the next available chain: 1 taken, 0 none, -EINVAL malformed (logged) */
int virtq__pop(struct virtq *vq, const struct guest_mem *mem, struct virtq_elem *e);
/* return a chain with len bytes written to its writable buffers */
void virtq__push(struct virtq *vq, u16 head, u32 len);
/* after pushes: does the driver want an interrupt? (EVENT_IDX or flags) */
bool virtq__needs_interrupt(struct virtq *vq);
/* ask for (or suppress) kicks while the device is busy */
void virtq__set_notify(struct virtq *vq, bool enable);

/* copy between an iovec range and a flat buffer; bytes copied */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len);
size_t buf_to_iov(const struct iovec *iov, unsigned int n, size_t skip, const void *buf, size_t len);

#endif
