/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_UTIL_H
#define DPVM_UTIL_H

#include "vmm/types.h"

#include <stdlib.h>

/* Memory allocation that cannot fail silently: out of memory on the host is
 * not something a VMM can recover from in the middle of device emulation. */
void *xzalloc(size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

/* "512M", "2G", "65536", "64K": bytes; -1 on malformed or overflowing input */
int parse_size(const char *s, u64 *out);
/* decimal or 0x-prefixed integer with bounds; -1 if malformed or out of range */
int parse_u64(const char *s, u64 min, u64 max, u64 *out);
/* "1.5 GiB" style for messages */
const char *fmt_size(u64 bytes, char *buf, size_t len);

/* read a whole file, at most max bytes; -errno on failure, -EFBIG if larger */
int read_file(const char *path, size_t max, void **buf, size_t *len);
/* write all of buf, retrying on EINTR and short writes */
int write_all(int fd, const void *buf, size_t len);
struct iovec;
/* read or write all of iov[0..n) at off (pwritev2 with flags for writes),
 * retrying on EINTR and short transfers; iov is consumed.  0, -errno, or
 * -ERANGE if the file ends first (not -ENODATA: the block layer returns that
 * for a medium error) */
int rw_all_iov(int fd, bool write, struct iovec *iov, unsigned int n, u64 off, int flags);

u64 time_ns(void);

#endif
