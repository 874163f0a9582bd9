// SPDX-License-Identifier: GPL-2.0
#include "vmm/util.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
	pr_err("out of host memory; free memory on the host or give the VM less");
	abort();
}

void *xzalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

int parse_u64(const char *s, u64 min, u64 max, u64 *out)
{
	bool hex = false;
	char *end;
	unsigned long long v;

	/* decimal, or hex after 0x: a leading 0 is not octal ("010" is ten) */
	if (!s)
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		hex = true;
	}
	/* digits only: no sign, no blanks, no second 0x */
	if (!*s || strspn(s, hex ? "0123456789abcdefABCDEF" : "0123456789") != strlen(s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, hex ? 16 : 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_size(const char *s, u64 *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case '\0': break;
	default: return -1;
	}
	/* accept "512MiB" and "512MB" as the same thing as "512M" */
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end)
		return -1;
	if (shift && v > (~0ULL >> shift))
		return -1;
	*out = (u64)v << shift;
	return 0;
}

const char *fmt_size(u64 b, char *buf, size_t len)
{
	if (b >= GIB && !(b % (GIB / 4)))
		snprintf(buf, len, "%g GiB", (double)b / GIB);
	else if (b >= MIB && !(b % (MIB / 4)))
		snprintf(buf, len, "%g MiB", (double)b / MIB);
	else if (b >= KIB && !(b % KIB))
		snprintf(buf, len, "%llu KiB", (unsigned long long)(b / KIB));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)b);
	return buf;
}

int read_file(const char *path, size_t max, void **bufp, size_t *lenp)
{
	struct stat st;
	size_t len = 0, cap;
	char *buf;
	int fd, ret;

	/* non-blocking open: a FIFO nobody writes to must not hang us (its
	 * read then sees end of file); the reads below block */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || fcntl(fd, F_SETFL, 0) < 0) {
		ret = -errno;
		goto err_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto err_close;
	}
	if ((u64)st.st_size > max) {
		ret = -EFBIG;
		goto err_close;
	}
	/* to the end, not st_size: a pipe (--config <(...)) has no size */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	buf = xzalloc(cap + 1);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap > max) {
				free(buf);
				ret = -EFBIG;
				goto err_close;
			}
			cap = MIN(cap * 2, max + 1);
			buf = xrealloc(buf, cap + 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			free(buf);
			goto err_close;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (len > max) {
		free(buf);
		ret = -EFBIG;
		goto err_close;
	}
	buf[len] = 0;
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;

err_close:
	close(fd);
	return ret;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

int rw_all_iov(int fd, bool write, struct iovec *iov, unsigned int n, u64 off, int flags)
{
	while (n) {
		unsigned int cnt = MIN(n, (unsigned int)IOV_MAX);
		ssize_t r = write ? pwritev2(fd, iov, cnt, off, flags) : preadv(fd, iov, cnt, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ERANGE;
		off += r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			n--;
		}
		if (n && r) {
			/* a short transfer inside a segment: advance it */
			iov->iov_base = (u8 *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return 0;
}

u64 time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
