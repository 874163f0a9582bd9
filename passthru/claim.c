// SPDX-License-Identifier: GPL-2.0
/* Host-wide claims on passthrough devices: flock'd files (see claim.h). */
#include "passthru/claim.h"
#include "passthru/conf.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

const char *claim__dir(char *buf, size_t len)
{
	const char *run = getenv("DPVM_RUN_DIR");

	snprintf(buf, len, "%s/passthru", run && *run ? run : "/run/dpvm");
	return buf;
}

static int mkdir_p(const char *dir)
{
	char *dup = xstrdup(dir);
	int ret = 0;

	for (char *p = dup + 1; ; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		*p = 0;
		if (mkdir(dup, 0755) < 0 && errno != EEXIST) {
			ret = -errno;
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(dup);
	return ret;
}

static int flock_retry(int fd, int op)
{
	int r;

	do
		r = flock(fd, op);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/* the host lock: exclusive to claim, shared to look; -errno if unavailable */
static int host_lock(const char *dir, int op)
{
	char path[PATH_MAX];
	int fd, ret;

	sysfs__fmt(path, sizeof(path), "%s/.lock", dir);
	fd = open(path, (op == LOCK_EX ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return -errno;
	ret = flock_retry(fd, op);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static void host_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* the name and pid in a claim file, made printable */
static void read_holder(int fd, char *vm, size_t len, pid_t *pid)
{
	char buf[CLAIM_NAME_MAX + 32], *nl;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = 0;
	nl = strchr(buf, '\n');
	if (pid)
		*pid = nl ? (pid_t)strtol(nl + 1, NULL, 10) : 0;
	if (nl)
		*nl = 0;
	for (char *p = buf; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
	snprintf(vm, len, "%s", buf[0] ? buf : "?");
}

/* 1 and the holder if the file DIR/NAME is locked, 0 if not, -errno */
static int probe(const char *dir, const char *name, char *vm, size_t len, pid_t *pid)
{
	char path[PATH_MAX];
	int fd, ret;

	sysfs__fmt(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ret = flock(fd, LOCK_SH | LOCK_NB);
	if (ret < 0 && errno == EWOULDBLOCK) {
		if (vm)
			read_holder(fd, vm, len, pid);
		ret = 1;
	} else {
		ret = ret < 0 ? -errno : 0;
	}
	close(fd);	/* drops our shared lock, if we got it */
	return ret;
}

static int count_in(const char *dir)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		char bdf[PCI_BDF_LEN];

		if (e->d_name[0] == '.' || pci_bdf__parse(e->d_name, bdf) || strcmp(bdf, e->d_name))
			continue;
		if (probe(dir, e->d_name, NULL, 0, NULL) == 1)
			n++;
	}
	closedir(d);
	return n;
}

static bool valid_name(const char *vm)
{
	size_t n = vm ? strlen(vm) : 0;

	if (!n || n > CLAIM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)vm[i]))
			return false;
	return true;
}

int claim__acquire(const char *bdf, const char *vm, int *fd, char *holder, size_t len)
{
	char dir[PATH_MAX - 32], path[PATH_MAX], canon[PCI_BDF_LEN], buf[CLAIM_NAME_MAX + 32];
	int lock, f, ret, n;

	*fd = -1;
	if (holder && len)
		holder[0] = 0;
	if (!bdf || pci_bdf__parse(bdf, canon) || strcmp(canon, bdf) || !valid_name(vm))
		return -EINVAL;
	claim__dir(dir, sizeof(dir));
	ret = mkdir_p(dir);
	lock = ret ? ret : host_lock(dir, LOCK_EX);
	if (lock < 0)
		return lock;
	sysfs__fmt(path, sizeof(path), "%s/%s", dir, bdf);
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (f < 0) {
		ret = -errno;
		goto out;
	}
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (ret == -EBUSY && holder && len)
			read_holder(f, holder, len, NULL);
		close(f);
		goto out;
	}
	n = snprintf(buf, sizeof(buf), "%s\n%d\n", vm, (int)getpid());
	if (ftruncate(f, 0) < 0 || pwrite(f, buf, n, 0) != n)
		pr_debug("%s: could not record the VM's name in %s: %s", bdf, path, strerror(errno));
	*fd = f;
	ret = 0;
out:
	host_unlock(lock);
	return ret;
}

int claim__check_host_limit(const char *bdf)
{
	struct passthru_conf conf;
	int n;

	passthru_conf__load_limits(&conf);	/* defaults if it is malformed */
	n = claim__count();
	if (n < 0) {
		char dir[PATH_MAX];

		pr_err("%s: cannot count the host's passthrough claims in %s: %s", bdf,
		       claim__dir(dir, sizeof(dir)), strerror(-n));
		return n;
	}
	if ((unsigned int)n > conf.max_per_host) {
		pr_err("%s: the host already has %d passthrough devices in use by VMs, its limit "
		       "(max-per-host in %s); power off a VM that has one, or raise the limit",
		       bdf, n - 1, passthru_conf__path());
		return -EUSERS;
	}
	return 0;
}

void claim__release(const char *bdf, int fd)
{
	char dir[PATH_MAX];
	int lock;

	if (fd < 0)
		return;
	/* under the host lock, so no one reads the emptied file while it is ours */
	lock = host_lock(claim__dir(dir, sizeof(dir)), LOCK_EX);
	if (ftruncate(fd, 0) < 0)
		pr_debug("%s: could not empty its claim file: %s", bdf, strerror(errno));
	close(fd);
	host_unlock(lock);
}

int claim__holder(const char *bdf, char *vm, size_t len, pid_t *pid)
{
	char dir[PATH_MAX - 32], canon[PCI_BDF_LEN];
	int lock, ret;

	if (pci_bdf__parse(bdf, canon))
		return -EINVAL;
	claim__dir(dir, sizeof(dir));
	/* no host lock (nothing claimed yet, or no right to it): look anyway */
	lock = host_lock(dir, LOCK_SH);
	ret = probe(dir, canon, vm, len, pid);
	host_unlock(lock);
	return ret;
}

int claim__count(void)
{
	char dir[PATH_MAX - 32];
	int lock, n;

	claim__dir(dir, sizeof(dir));
	lock = host_lock(dir, LOCK_SH);
	n = count_in(dir);
	host_unlock(lock);
	return n;
}
