// SPDX-License-Identifier: GPL-2.0
/* The host's PCI functions from sysfs (see sysfs.h for what is read where). */
#include "passthru/sysfs.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *sysfs__root(void)
{
	const char *r = getenv("DPVM_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

const char *procfs__root(void)
{
	const char *r = getenv("DPVM_PROC_ROOT");

	return r && *r ? r : "/proc";
}

/* ---- addresses ---- */

static int hex_field(const char **p, unsigned int min_digits, unsigned int max_digits,
		     unsigned long *out)
{
	unsigned int n = 0;
	unsigned long v = 0;

	while (isxdigit((unsigned char)(*p)[n]) && n < max_digits) {
		char c = tolower((unsigned char)(*p)[n]);

		v = v * 16 + (isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
		n++;
	}
	if (n < min_digits || isxdigit((unsigned char)(*p)[n]))
		return -1;
	*p += n;
	*out = v;
	return 0;
}

int pci_bdf__parse(const char *s, char bdf[PCI_BDF_LEN])
{
	unsigned long dom = 0, bus, dev, fn;
	const char *p = s;
	int colons = 0;

	if (!s)
		return -EINVAL;
	for (const char *q = s; *q; q++)
		colons += *q == ':';
	if (colons == 2) {
		if (hex_field(&p, 4, 8, &dom) || *p++ != ':')
			return -EINVAL;
	} else if (colons != 1) {
		return -EINVAL;
	}
	if (hex_field(&p, 2, 2, &bus) || *p++ != ':' ||
	    hex_field(&p, 2, 2, &dev) || *p++ != '.' ||
	    !isdigit((unsigned char)*p) || p[1])
		return -EINVAL;
	fn = *p - '0';
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(bdf, PCI_BDF_LEN, "%04lx:%02lx:%02lx.%lu", dom, bus, dev, fn);
	return 0;
}

const char *pci_bdf__short(const char *bdf)
{
	return strncmp(bdf, "0000:", 5) ? bdf : bdf + 5;
}

/* ---- small file helpers ---- */

int sysfs__fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sysfs__read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	for (size_t l = strlen(buf); l && isspace((unsigned char)buf[l - 1]); l--)
		buf[l - 1] = 0;
	return 0;
}

int sysfs__write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(val);
	ssize_t n;

	if (fd < 0)
		return -errno;
	/* one write(2): sysfs stores take the whole value at once */
	do
		n = write(fd, val, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (close(fd) < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int read_hex(const char *dir, const char *attr, u64 *out)
{
	char path[PATH_MAX], buf[64], *end;
	int ret;

	sysfs__fmt(path, sizeof(path), "%s/%s", dir, attr);
	ret = sysfs__read_str(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*out = strtoull(buf, &end, 16);
	return errno || end == buf || *end ? -EINVAL : 0;
}

/* the last component of a symlink's target, "" if there is no link */
static void link_name(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	buf[0] = 0;
	if (n <= 0)
		return;
	target[n] = 0;
	base = strrchr(target, '/');
	snprintf(buf, len, "%s", base ? base + 1 : target);
}

void sysfs__path_pci(const char *path, char bdf[PCI_BDF_LEN])
{
	char *dup = xstrdup(path), *save = NULL;

	bdf[0] = 0;
	for (char *c = strtok_r(dup, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		char tmp[PCI_BDF_LEN];

		/* only full-form names: "00:1f.2" alone could be a SCSI or ACPI name */
		if (strchr(c, ':') != strrchr(c, ':') && !pci_bdf__parse(c, tmp))
			snprintf(bdf, PCI_BDF_LEN, "%s", tmp);
	}
	free(dup);
}

/* ---- one function ---- */

static unsigned int reset_bits(const char *methods)
{
	static const struct { const char *name; unsigned int bit; } names[] = {
		{ "flr", PCI_RESET_FLR }, { "af_flr", PCI_RESET_AF_FLR },
		{ "pm", PCI_RESET_PM }, { "bus", PCI_RESET_BUS },
	};
	char *dup = xstrdup(methods), *save = NULL;
	unsigned int bits = 0;

	for (char *w = strtok_r(dup, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		unsigned int bit = PCI_RESET_OTHER;

		for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcmp(w, names[i].name))
				bit = names[i].bit;
		bits |= bit;
	}
	free(dup);
	return bits;
}

static void read_bars(const char *dir, struct host_pci_dev *d)
{
	char path[PATH_MAX];
	char line[256];
	FILE *f;

	sysfs__fmt(path, sizeof(path), "%s/resource", dir);
	f = fopen(path, "re");
	if (!f)
		return;
	for (unsigned int i = 0; i < PCI_NR_BARS && fgets(line, sizeof(line), f); i++) {
		unsigned long long start, end, flags;

		if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3)
			continue;
		if (!(flags & (HOST_RES_IO | HOST_RES_MEM)) || end < start || (!start && !end))
			continue;
		d->bars[i].start = start;
		d->bars[i].size = end - start + 1;
		d->bars[i].flags = flags;
	}
	fclose(f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void read_group(struct host_pci_dev *d)
{
	char path[PATH_MAX], name[64];
	struct dirent *e;
	DIR *dir;

	sysfs__fmt(path, sizeof(path), "%s/kernel/iommu_groups/%d/name", sysfs__root(), d->group);
	if (!sysfs__read_str(path, name, sizeof(name)) && !strcmp(name, "vfio-noiommu"))
		d->noiommu_group = true;
	sysfs__fmt(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices", sysfs__root(), d->group);
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char bdf[PCI_BDF_LEN];

		if (strchr(e->d_name, ':') == strrchr(e->d_name, ':') ||
		    pci_bdf__parse(e->d_name, bdf))
			continue;
		d->members = xrealloc(d->members, (d->nr_members + 1) * sizeof(*d->members));
		d->members[d->nr_members++] = xstrdup(bdf);
	}
	closedir(dir);
	if (d->nr_members)
		qsort(d->members, d->nr_members, sizeof(*d->members), cmp_str);
}

static int read_dev(const char *bdf, struct host_pci_dev *d)
{
	char dir[PATH_MAX], path[PATH_MAX], buf[PATH_MAX];
	u64 v;
	int ret;

	memset(d, 0, sizeof(*d));
	d->group = -1;
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	sscanf(bdf, "%x:%hhx:%hhx.%hhu", &d->domain, &d->bus, &d->slot, &d->fn);
	sysfs__fmt(dir, sizeof(dir), "%s/bus/pci/devices/%s", sysfs__root(), bdf);

	ret = read_hex(dir, "vendor", &v);
	if (ret)
		return ret;
	d->vendor = v;
	if (!read_hex(dir, "device", &v))
		d->device = v;
	if (!read_hex(dir, "subsystem_vendor", &v))
		d->subsys_vendor = v;
	if (!read_hex(dir, "subsystem_device", &v))
		d->subsys_device = v;
	if (!read_hex(dir, "class", &v))
		d->class = v & 0xffffff;

	/* the header type: config byte 0x0e (readable by anyone), else the class */
	sysfs__fmt(path, sizeof(path), "%s/config", dir);
	{
		u8 cfg[16];
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? pread(fd, cfg, sizeof(cfg), 0) : -1;

		if (fd >= 0)
			close(fd);
		if (n == (ssize_t)sizeof(cfg))
			d->header_type = cfg[0x0e] & 0x7f;
		else if ((d->class >> 8) == 0x0604 || (d->class >> 8) == 0x0609)
			d->header_type = 1;
		else if ((d->class >> 8) == 0x0607)
			d->header_type = 2;
	}

	sysfs__fmt(path, sizeof(path), "%s/driver", dir);
	link_name(path, d->driver, sizeof(d->driver));
	sysfs__fmt(path, sizeof(path), "%s/driver_override", dir);
	if (sysfs__read_str(path, d->override, sizeof(d->override)) ||
	    !strcmp(d->override, "(null)"))
		d->override[0] = 0;

	sysfs__fmt(path, sizeof(path), "%s/iommu_group", dir);
	link_name(path, buf, sizeof(buf));
	if (buf[0]) {
		char *end;
		long g = strtol(buf, &end, 10);

		if (!*end && g >= 0 && g < INT_MAX)
			d->group = g;
	}
	if (d->group >= 0)
		read_group(d);

	sysfs__fmt(path, sizeof(path), "%s/reset_method", dir);
	if (!sysfs__read_str(path, d->reset_methods, sizeof(d->reset_methods)))
		d->resets = reset_bits(d->reset_methods);
	sysfs__fmt(path, sizeof(path), "%s/reset", dir);
	d->has_reset = !access(path, F_OK);

	sysfs__fmt(path, sizeof(path), "%s/boot_vga", dir);
	if (!sysfs__read_str(path, buf, sizeof(buf)))
		d->boot_vga = !strcmp(buf, "1");

	read_bars(dir, d);

	if (realpath(dir, buf)) {
		char *slash;

		d->path = xstrdup(buf);
		slash = strrchr(buf, '/');
		if (slash) {
			*slash = 0;
			slash = strrchr(buf, '/');
			if (slash && pci_bdf__parse(slash + 1, d->parent))
				d->parent[0] = 0;
		}
	} else {
		d->path = xstrdup(dir);
	}
	return 0;
}

static void free_dev(struct host_pci_dev *d)
{
	for (unsigned int i = 0; i < d->nr_members; i++)
		free(d->members[i]);
	free(d->members);
	free(d->path);
}

static int cmp_dev(const void *a, const void *b)
{
	const struct host_pci_dev *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	return strcmp(x->bdf, y->bdf);
}

int host_pci__scan(struct host_pci *h)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	memset(h, 0, sizeof(*h));
	sysfs__fmt(path, sizeof(path), "%s/bus/pci/devices", sysfs__root());
	dir = opendir(path);
	if (!dir) {
		int err = -errno;

		pr_err("%s: cannot list the host's PCI functions: %s; is sysfs mounted?",
		       path, strerror(errno));
		return err;
	}
	while ((e = readdir(dir))) {
		char bdf[PCI_BDF_LEN];
		struct host_pci_dev d;

		if (strchr(e->d_name, ':') == strrchr(e->d_name, ':') ||
		    pci_bdf__parse(e->d_name, bdf) || strcmp(bdf, e->d_name))
			continue;
		if (read_dev(bdf, &d)) {
			free_dev(&d);
			continue;	/* removed while we looked */
		}
		h->devs = xrealloc(h->devs, (h->nr + 1) * sizeof(*h->devs));
		h->devs[h->nr++] = d;
	}
	closedir(dir);
	if (h->nr)
		qsort(h->devs, h->nr, sizeof(*h->devs), cmp_dev);
	return 0;
}

void host_pci__free(struct host_pci *h)
{
	for (unsigned int i = 0; i < h->nr; i++)
		free_dev(&h->devs[i]);
	free(h->devs);
	memset(h, 0, sizeof(*h));
}

struct host_pci_dev *host_pci__find(const struct host_pci *h, const char *bdf)
{
	for (unsigned int i = 0; i < h->nr; i++)
		if (!strcmp(h->devs[i].bdf, bdf))
			return &h->devs[i];
	return NULL;
}

bool host_pci__is_bridge(const struct host_pci_dev *d)
{
	return d->header_type == 1 || d->header_type == 2 || (d->class >> 16) == 0x06;
}

/* ---- class names (PCI Code and Assignment Specification, the common ones) ---- */

static const struct { u16 code; const char *name; } class_names[] = {
	{ 0x0000, "Non-VGA unclassified device" }, { 0x0001, "VGA compatible unclassified device" },
	{ 0x0100, "SCSI storage controller" }, { 0x0101, "IDE interface" },
	{ 0x0104, "RAID bus controller" }, { 0x0105, "ATA controller" },
	{ 0x0106, "SATA controller" }, { 0x0107, "Serial Attached SCSI controller" },
	{ 0x0108, "Non-Volatile memory controller" },
	{ 0x0200, "Ethernet controller" }, { 0x0207, "InfiniBand controller" },
	{ 0x0280, "Network controller" },
	{ 0x0300, "VGA compatible controller" }, { 0x0302, "3D controller" },
	{ 0x0380, "Display controller" },
	{ 0x0400, "Multimedia video controller" }, { 0x0401, "Multimedia audio controller" },
	{ 0x0403, "Audio device" },
	{ 0x0500, "RAM memory" },
	{ 0x0600, "Host bridge" }, { 0x0601, "ISA bridge" }, { 0x0604, "PCI bridge" },
	{ 0x0607, "CardBus bridge" }, { 0x0609, "Semi-transparent PCI bridge" },
	{ 0x0700, "Serial controller" }, { 0x0780, "Communication controller" },
	{ 0x0800, "PIC" }, { 0x0805, "SD Host controller" }, { 0x0806, "IOMMU" },
	{ 0x0880, "System peripheral" },
	{ 0x0c03, "USB controller" }, { 0x0c05, "SMBus" }, { 0x0c0b, "Thunderbolt" },
	{ 0x1000, "Network and computing encryption device" },
	{ 0x1180, "Signal processing controller" },
	{ 0x1200, "Processing accelerator" },
};

static const char *const base_names[] = {
	[0x00] = "Unclassified device", [0x01] = "Mass storage controller",
	[0x02] = "Network controller", [0x03] = "Display controller",
	[0x04] = "Multimedia controller", [0x05] = "Memory controller",
	[0x06] = "Bridge", [0x07] = "Communication controller",
	[0x08] = "Generic system peripheral", [0x09] = "Input device controller",
	[0x0a] = "Docking station", [0x0b] = "Processor",
	[0x0c] = "Serial bus controller", [0x0d] = "Wireless controller",
	[0x0e] = "Intelligent controller", [0x0f] = "Satellite communications controller",
	[0x10] = "Encryption controller", [0x11] = "Signal processing controller",
	[0x12] = "Processing accelerators", [0x13] = "Non-Essential Instrumentation",
};

const char *pci_class__name(u32 class)
{
	u16 code = class >> 8;
	u8 base = class >> 16;

	for (unsigned int i = 0; i < ARRAY_SIZE(class_names); i++)
		if (class_names[i].code == code)
			return class_names[i].name;
	if (base < ARRAY_SIZE(base_names) && base_names[base])
		return base_names[base];
	if (base == 0xff)
		return "Unassigned class";
	return "Unknown class";
}

/* ---- driver binding ---- */

int host_pci__driver(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX];

	sysfs__fmt(path, sizeof(path), "%s/bus/pci/devices/%s", sysfs__root(), bdf);
	if (access(path, F_OK))
		return -errno;
	sysfs__fmt(path, sizeof(path), "%s/bus/pci/devices/%s/driver", sysfs__root(), bdf);
	link_name(path, buf, len);
	return 0;
}

bool host_pci__driver_loaded(const char *driver)
{
	char path[PATH_MAX];

	sysfs__fmt(path, sizeof(path), "%s/bus/pci/drivers/%s", sysfs__root(), driver);
	return !access(path, F_OK);
}

int host_pci__set_override(const char *bdf, const char *driver)
{
	char path[PATH_MAX];

	sysfs__fmt(path, sizeof(path), "%s/bus/pci/devices/%s/driver_override", sysfs__root(), bdf);
	/* a lone newline clears it: an empty write never reaches the kernel */
	return sysfs__write(path, driver && *driver ? driver : "\n");
}

int host_pci__unbind(const char *bdf)
{
	char drv[PCI_DRIVER_LEN], path[PATH_MAX];
	int ret = host_pci__driver(bdf, drv, sizeof(drv));

	if (ret || !drv[0])
		return ret;
	sysfs__fmt(path, sizeof(path), "%s/bus/pci/drivers/%s/unbind", sysfs__root(), drv);
	return sysfs__write(path, bdf);
}

int host_pci__probe(const char *bdf)
{
	char path[PATH_MAX];

	sysfs__fmt(path, sizeof(path), "%s/bus/pci/drivers_probe", sysfs__root());
	return sysfs__write(path, bdf);
}

int host_pci__bind(const char *bdf, const char *driver)
{
	char path[PATH_MAX];

	sysfs__fmt(path, sizeof(path), "%s/bus/pci/drivers/%s/bind", sysfs__root(), driver);
	return sysfs__write(path, bdf);
}
