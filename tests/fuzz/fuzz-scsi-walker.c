// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the virtio-scsi request walker and LUN decoding.  The
 * input picks the negotiated cdb_size and sense_size, how a chain's
 * readable and writable parts are cut into descriptors, and their bytes;
 * vscsi_split must accept exactly the chains that hold a header and a
 * response, and describe data parts that lie inside the chain's buffers.
 * Then the CDB it copied goes through the decoder.
 *
 *   make fuzz && build/fuzz/fuzz-scsi-walker [corpus dir] [-runs=N]
 */
#include "devices/scsi/scsi.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEGS 16

static size_t sum(const struct iovec *v, unsigned int n)
{
	size_t t = 0;

	for (unsigned int i = 0; i < n; i++)
		t += v[i].iov_len;
	return t;
}

/* every iovec of part lies inside one of the chain's buffers */
static void inside(const struct iovec *part, unsigned int n, const struct iovec *chain,
		   unsigned int m)
{
	for (unsigned int i = 0; i < n; i++) {
		const u8 *b = part[i].iov_base;
		bool ok = false;

		for (unsigned int j = 0; j < m && !ok; j++) {
			const u8 *c = chain[j].iov_base;

			ok = b >= c && b + part[i].iov_len <= c + chain[j].iov_len;
		}
		assert(ok);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct iovec iov[2 * MAX_SEGS] = { { 0 } }, store[2 * MAX_SEGS + 2];
	struct vscsi_split s;
	struct scsi_cdb c;
	unsigned int nout, nin, n = 0;
	u32 cdb_size, sense_size;
	u8 *buf;
	size_t off = 0, len;
	int ret;

	if (size < 4)
		return 0;
	cdb_size = data[0] < 200 ? data[0] : 0xffffffffu - data[0];	/* hostile sizes too */
	sense_size = data[1] < 200 ? data[1] : 0x10000u * data[1];
	nout = data[2] % MAX_SEGS;
	nin = data[3] % MAX_SEGS;
	data += 4;
	size -= 4;
	buf = malloc(size + 1);
	memcpy(buf, data, size);
	/* cut the rest into nout + nin segments, lengths from the bytes */
	for (unsigned int i = 0; i < nout + nin; i++) {
		len = off < size ? (buf[off] * 3u) % (size - off + 1) : 0;
		iov[n++] = (struct iovec){ buf + off, len };
		off += len;
	}
	ret = vscsi_split(iov, nout, nin, cdb_size, sense_size, store, &s);
	{
		size_t out = sum(iov, nout), in = sum(iov + nout, nin);
		bool fits = out >= VSCSI_REQ_HDR + (size_t)cdb_size &&
			    in >= VSCSI_RESP_HDR + (size_t)sense_size;

		assert(fits == (ret == 0));
		if (ret)
			goto out;
		assert(s.out_len + VSCSI_REQ_HDR + cdb_size == out);
		assert(s.in_len + s.resp_len == in);
		assert(sum(s.out, s.nout) == s.out_len);
		assert(sum(s.in, s.nin) == s.in_len);
		assert(sum(s.resp, s.nresp) == s.resp_len);
		assert(s.nout + s.nresp + s.nin <= nout + nin + 2);
		inside(s.out, s.nout, iov, nout);
		inside(s.resp, s.nresp, iov + nout, nin);
		inside(s.in, s.nin, iov + nout, nin);
		assert(s.cdb_len <= SCSI_CDB_MAX);
	}
	if (!scsi_cdb__decode(s.cdb, s.cdb_len, &c)) {
		assert(c.len <= s.cdb_len);
		assert(c.dir <= SCSI_DIR_OUT);
		(void)scsi_cdb__xfer_bytes(&c, 4096);
	}
	{
		u8 t;
		u16 l;

		if (!vscsi_lun_decode(s.lun, &t, &l))
			assert(l <= 0x3fff || l == 0xffff);
	}
out:
	free(buf);
	return 0;
}
