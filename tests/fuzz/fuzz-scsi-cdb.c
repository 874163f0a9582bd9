// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the CDB decoder, and every command of the emulated
 * disk and CD/DVD drive with hostile CDBs and parameter data.  The input
 * is a CDB (its first 32 bytes), then data-out; the data-in buffer size
 * comes from the input too.  Each command runs against a 1 MiB disk and a
 * 64 KiB "ISO" in memfds, as the controller would run it (checking the
 * buffers against the decoded transfer first).  Nothing may crash, hang,
 * write outside its buffers or the backing's size, or produce more sense
 * or data than there is room for.
 *
 *   make fuzz && build/fuzz/fuzz-scsi-cdb [corpus dir] [-runs=N]
 */
#include "devices/scsi/scsi.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DISK_SIZE	(1 << 20)
#define ISO_SIZE	(64 << 10)

static struct scsi_lun *luns[2];
static int disk_fd;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool done;

static void done_cb(struct scsi_req *r __unused)
{
	pthread_mutex_lock(&m);
	done = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&m);
}

static void setup(void)
{
	struct scsi_identity id;
	struct sbc_params p = { .path = "fuzz-disk", .block_size = 512, .workers = 1 };
	char path[64];
	int iso;

	disk_fd = memfd_create("fuzz-disk", 0);
	assert(disk_fd >= 0 && !ftruncate(disk_fd, DISK_SIZE));
	p.fd = dup(disk_fd);
	scsi_ident__set(&id, "DPVM", "Fuzz disk", "0001", "FUZZ1", 0x3000000000000001ULL);
	luns[0] = sbc__create(&p, &id, "fuzz-disk", 0, 0, "disk");
	iso = memfd_create("fuzz-iso", 0);
	assert(iso >= 0 && !ftruncate(iso, ISO_SIZE));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", iso);
	luns[1] = mmc__create(path, &id, "fuzz-cd", 1, 0, 1, NULL);
	assert(luns[0] && luns[1]);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static bool ready;
	struct scsi_req *r;
	struct iovec in, out;
	size_t in_len, out_len;
	u8 *inbuf, *outbuf;
	struct stat st;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 34)
		return 0;
	r = calloc(1, sizeof(*r));
	memcpy(r->cdb, data + 2, 32);
	r->cdb_len = 32;
	in_len = (data[0] << 8 | data[1]) * 16u;	/* up to 1 MiB */
	out_len = size - 34;
	inbuf = malloc(in_len + 1);
	outbuf = malloc(out_len + 1);
	memcpy(outbuf, data + 34, out_len);
	in = (struct iovec){ inbuf, in_len };
	out = (struct iovec){ outbuf, out_len };
	r->in = &in;
	r->nin = in_len ? 1 : 0;
	r->in_len = in_len;
	r->out = &out;
	r->nout = out_len ? 1 : 0;
	r->out_len = out_len;
	r->done = done_cb;
	for (unsigned int k = 0; k < 2; k++) {
		struct scsi_lun *l = luns[(data[2] & 1) ^ k];

		if (scsi_cdb__decode(r->cdb, r->cdb_len, &r->c))
			continue;
		/* the controller's check: the buffers hold the transfer */
		if (r->c.known && r->c.dir != SCSI_DIR_NONE &&
		    scsi_cdb__xfer_bytes(&r->c, l->block_size) >
		    (r->c.dir == SCSI_DIR_IN ? in_len : out_len))
			continue;
		done = false;
		if (!scsi_lun__submit(l, r)) {
			pthread_mutex_lock(&m);
			while (!done)
				pthread_cond_wait(&cv, &m);
			pthread_mutex_unlock(&m);
		}
		assert(r->in_done <= in_len);
		assert(r->out_done <= out_len);
		assert(r->sense_len <= sizeof(r->sense));
		assert(r->status == SAM_STAT_GOOD || r->status == SAM_STAT_CHECK_CONDITION);
		if (r->status == SAM_STAT_CHECK_CONDITION)
			assert(r->sense_len >= 8);
	}
	/* the disk never grows */
	assert(!fstat(disk_fd, &st) && st.st_size == DISK_SIZE);
	free(inbuf);
	free(outbuf);
	free(r);
	return 0;
}
