// SPDX-License-Identifier: GPL-2.0
#include "devices/virtqueue.h"
#include "vmm/log.h"
#include "vmm/memory.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#define AVAIL_F_NO_INTERRUPT	1
#define USED_F_NO_NOTIFY	1

/* ring layouts (2.7.6, 2.7.8) */
static u64 avail_size(u16 n) { return 4 + 2ULL * n + 2; }
static u64 used_size(u16 n) { return 4 + 8ULL * n + 2; }

int virtq__enable(struct virtq *vq, const struct guest_mem *mem, bool event_idx)
{
	u16 n = vq->r.size;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	vq->desc = mem__gpa_to_hva(mem, vq->r.desc, 16ULL * n);
	vq->avail = mem__gpa_to_hva(mem, vq->r.driver, avail_size(n));
	vq->used = mem__gpa_to_hva(mem, vq->r.device, used_size(n));
	/* the alignments the spec requires of the driver */
	if (!vq->desc || !vq->avail || !vq->used || (vq->r.desc & 15) ||
	    (vq->r.driver & 1) || (vq->r.device & 3)) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EFAULT;
	}
	vq->event_idx = event_idx;
	vq->last_avail = 0;
	vq->used_idx = le16toh(__atomic_load_n((u16 *)(vq->used + 2), __ATOMIC_ACQUIRE));
	vq->signalled_valid = false;
	vq->broken = false;
	return 0;
}

void virtq__reset(struct virtq *vq)
{
	vq->r = (struct virtq_regs){ .size = vq->r.size, .msix_vector = 0xffff };
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->last_avail = vq->used_idx = 0;
	vq->signalled_valid = false;
	vq->broken = false;
}

static u16 avail_idx(struct virtq *vq)
{
	return le16toh(__atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE));
}

/* read a descriptor once into local memory: the guest may change it */
static struct virtq_desc read_desc(const struct virtq_desc *table, u16 i)
{
	struct virtq_desc d;

	memcpy(&d, &table[i], sizeof(d));
	d.addr = le64toh(d.addr);
	d.len = le32toh(d.len);
	d.flags = le16toh(d.flags);
	d.next = le16toh(d.next);
	return d;
}

static int bad_chain(struct virtq *vq, const char *why)
{
	pr_warn_guest("virtqueue %u: malformed descriptor chain: %s; the device needs a reset",
		      vq->index, why);
	vq->broken = true;
	return -EINVAL;
}

int virtq__pop(struct virtq *vq, const struct guest_mem *mem, struct virtq_elem *e)
{
	const struct virtq_desc *table = vq->desc;
	unsigned int max = vq->r.size, seen = 0, n = 0;
	struct virtq_desc d;
	u16 idx, head, i;
	bool indirect = false;

	if (!vq->desc || vq->broken)
		return 0;
	idx = avail_idx(vq);
	if (idx == vq->last_avail)
		return 0;
	if ((u16)(idx - vq->last_avail) > vq->r.size)
		return bad_chain(vq, "the available index ran ahead of the queue size");
	head = le16toh(vq->avail[2 + vq->last_avail % vq->r.size]);
	if (head >= vq->r.size)
		return bad_chain(vq, "head index out of range");
	vq->last_avail++;

	e->head = head;
	e->nout = e->nin = 0;
	e->out_len = e->in_len = 0;
	i = head;
	for (;;) {
		d = read_desc(table, i);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return bad_chain(vq, "nested indirect table");
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return bad_chain(vq, "indirect descriptor with NEXT");
			if (!d.len || d.len % 16 || d.len / 16 > VIRTQ_MAX_SIZE)
				return bad_chain(vq, "bad indirect table length");
			table = mem__gpa_to_hva(mem, d.addr, d.len);
			if (!table)
				return bad_chain(vq, "indirect table outside guest RAM");
			indirect = true;
			max = d.len / 16;
			seen = 0;
			i = 0;
			continue;
		}
		if (++seen > max || n >= VIRTQ_MAX_SIZE)
			return bad_chain(vq, "the chain loops or is longer than the queue");
		if (d.len) {
			void *p = mem__gpa_to_hva(mem, d.addr, d.len);

			if (!p)
				return bad_chain(vq, "buffer outside guest RAM");
			if (d.flags & VIRTQ_DESC_F_WRITE) {
				e->nin++;
				e->in_len += d.len;
			} else {
				if (e->nin)
					return bad_chain(vq, "a readable buffer after a writable one");
				e->nout++;
				e->out_len += d.len;
			}
			e->iov[n].iov_base = p;
			e->iov[n].iov_len = d.len;
			n++;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= max)
			return bad_chain(vq, "next index out of range");
		i = d.next;
	}
	return 1;
}

void virtq__push(struct virtq *vq, u16 head, u32 len)
{
	u8 *slot = vq->used + 4 + 8 * (vq->used_idx % vq->r.size);
	u32 id = htole32(head), l = htole32(len);

	memcpy(slot, &id, 4);
	memcpy(slot + 4, &l, 4);
	vq->used_idx++;
	/* the entry must be visible before the index that publishes it */
	__atomic_store_n((u16 *)(vq->used + 2), htole16(vq->used_idx), __ATOMIC_RELEASE);
}

bool virtq__needs_interrupt(struct virtq *vq)
{
	u16 old = vq->signalled_used, new = vq->used_idx, event;
	bool valid = vq->signalled_valid;

	/* the used index must be visible before we read the driver's flags */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = new;
	vq->signalled_valid = true;
	if (!vq->event_idx)
		return !(le16toh(__atomic_load_n(&vq->avail[0], __ATOMIC_RELAXED)) &
			 AVAIL_F_NO_INTERRUPT);
	event = le16toh(__atomic_load_n(&vq->avail[2 + vq->r.size], __ATOMIC_RELAXED));
	/* vring_need_event(): did new pass event since old? */
	return !valid || (u16)(new - event - 1) < (u16)(new - old);
}

void virtq__set_notify(struct virtq *vq, bool enable)
{
	if (!vq->used)
		return;
	if (vq->event_idx) {
		/* avail_event: kick us when the driver passes this index */
		if (enable)
			__atomic_store_n((u16 *)(vq->used + 4 + 8 * vq->r.size),
					 htole16(avail_idx(vq)), __ATOMIC_RELAXED);
	} else {
		u16 flags = enable ? 0 : USED_F_NO_NOTIFY;

		__atomic_store_n((u16 *)vq->used, htole16(flags), __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* copy between len bytes of buf and the iovec range starting skip bytes in */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t skip, void *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		u8 *p = (u8 *)iov[i].iov_base + skip;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l = MIN(l - skip, len - done);
		if (to_iov)
			memcpy(p, (u8 *)buf + done, l);
		else
			memcpy((u8 *)buf + done, p, l);
		done += l;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t buf_to_iov(const struct iovec *iov, unsigned int n, size_t skip, const void *buf, size_t len)
{
	return iov_copy(iov, n, skip, (void *)buf, len, true);
}
