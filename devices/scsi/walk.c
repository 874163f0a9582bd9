// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-scsi request walker (virtio spec 5.6.6): a command chain is
 * the request header and CDB, then data-out, in the readable buffers; the
 * response header and sense, then data-in, in the writable ones.  The
 * guest may split any of them across descriptors at any byte, so the
 * header is gathered by copying and the data parts are described by
 * sub-ranges of the guest's buffers (no copy).
 */
#include "devices/scsi/scsi.h"
#include "devices/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

unsigned int scsi_iov_range(const struct iovec *src, unsigned int n, size_t skip, size_t len,
			    struct iovec *dst, unsigned int max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len && k < max; i++) {
		size_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		dst[k].iov_base = (u8 *)src[i].iov_base + skip;
		dst[k].iov_len = MIN(l - skip, len);
		len -= dst[k].iov_len;
		skip = 0;
		k++;
	}
	return k;
}

static size_t total(const struct iovec *iov, unsigned int n)
{
	size_t t = 0;

	for (unsigned int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

int vscsi_split(const struct iovec *iov, unsigned int nout, unsigned int nin, u32 cdb_size,
		u32 sense_size, struct iovec *store, struct vscsi_split *s)
{
	size_t out_total = total(iov, nout), in_total = total(iov + nout, nin);
	size_t hdr = VSCSI_REQ_HDR + (size_t)cdb_size;
	u8 h[VSCSI_REQ_HDR];
	unsigned int cap = nout + nin + 2, k = 0;

	memset(s, 0, sizeof(*s));
	s->resp_len = VSCSI_RESP_HDR + (size_t)sense_size;
	if (out_total < hdr || in_total < s->resp_len)
		return -EINVAL;
	iov_to_buf(iov, nout, 0, h, sizeof(h));
	memcpy(s->lun, h, 8);
	memcpy(&s->tag, h + 8, 8);
	s->tag = le64toh(s->tag);
	s->task_attr = h[16];
	s->cdb_len = MIN(cdb_size, (u32)SCSI_CDB_MAX);
	iov_to_buf(iov, nout, VSCSI_REQ_HDR, s->cdb, s->cdb_len);

	s->out = store;
	s->out_len = out_total - hdr;
	s->nout = scsi_iov_range(iov, nout, hdr, s->out_len, store, cap);
	k = s->nout;
	s->resp = store + k;
	s->nresp = scsi_iov_range(iov + nout, nin, 0, s->resp_len, store + k, cap - k);
	k += s->nresp;
	s->in = store + k;
	s->in_len = in_total - s->resp_len;
	s->nin = scsi_iov_range(iov + nout, nin, s->resp_len, s->in_len, store + k, cap - k);
	return 0;
}

int vscsi_lun_decode(const u8 *lun, u8 *target, u16 *lu)
{
	u8 method = lun[2] >> 6;

	if (lun[0] != 1)
		return -1;
	*target = lun[1];
	if (method == 0 && lun[2] == 0)
		*lu = lun[3];				/* peripheral, bus 0 */
	else if (method == 1)
		*lu = (u16)(lun[2] & 0x3f) << 8 | lun[3];	/* flat space */
	else
		*lu = 0xffff;				/* not a LUN we can have */
	if (lun[4] || lun[5] || lun[6] || lun[7])
		*lu = 0xffff;
	return 0;
}
