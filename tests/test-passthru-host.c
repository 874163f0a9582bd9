// SPDX-License-Identifier: GPL-2.0
/*
 * The host side of passthrough on a fake sysfs and procfs tree built in a
 * temporary directory (DPVM_SYSFS_ROOT, DPVM_PROC_ROOT): PCI addresses, what
 * sysfs.c reads, every reason of eligibility.c, the configuration file
 * (round trip, malformed lines with their numbers), host-wide claims (a
 * second VM is refused naming the first; a dead holder frees its claim; the
 * count and the host limit), and `dpvm host` itself: `pci list --json`
 * against the tree, and enable/check refusals that change nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "passthru/claim.h"
#include "passthru/conf.h"
#include "passthru/eligibility.h"
#include "passthru/sysfs.h"
#include "vmm/log.h"
#include "vmm/main.h"
#include "vmm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char top[64];		/* the temporary directory */
static char sys[128], proc[128], run[128];

/* ---- building the fake tree ---- */

static void mkdirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(buf, 0755);
		*p = '/';
	}
	mkdir(buf, 0755);
}

static void put(const char *base, const char *rel, const char *text)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	mkdirs(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void putf(const char *base, const char *rel, const char *fmt, ...) __printf(3, 4);
static void putf(const char *base, const char *rel, const char *fmt, ...)
{
	char text[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	put(base, rel, text);
}

/* a symlink ROOT/rel -> ROOT/target (absolute, inside the tree) */
static void link_in(const char *rel, const char *target)
{
	char path[PATH_MAX], to[PATH_MAX], dir[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", sys, rel);
	snprintf(to, sizeof(to), "%s/%s", sys, target);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = 0;
	mkdirs(dir);
	unlink(path);
	if (symlink(to, path))
		fail_msg("symlink %s -> %s: %s", path, to, strerror(errno));
}

struct fdev {
	const char *bdf, *under;	/* under: its parent's path below devices/ */
	unsigned int vendor, device, class, hdr;
	int group;			/* -1: none */
	const char *driver, *reset_method;
	bool reset_file, boot_vga;
	const char *resource;		/* lines of `resource`, or NULL */
};

static char devpath[64][512];
static unsigned int nr_devpath;

static const char *dev_dir(const char *bdf)
{
	for (unsigned int i = 0; i < nr_devpath; i++)
		if (strstr(devpath[i], bdf) && !strcmp(strrchr(devpath[i], '/') + 1, bdf))
			return devpath[i];
	fail_msg("no fake device %s", bdf);
	return NULL;
}

static void add_dev(const struct fdev *d)
{
	char rel[512], p[PATH_MAX];
	unsigned char cfg[64] = { 0 };
	int fd;

	snprintf(rel, sizeof(rel), "devices/%s/%s", d->under, d->bdf);
	snprintf(devpath[nr_devpath++], sizeof(devpath[0]), "%s", rel);
	snprintf(p, sizeof(p), "%s/vendor", rel);
	putf(sys, p, "0x%04x\n", d->vendor);
	snprintf(p, sizeof(p), "%s/device", rel);
	putf(sys, p, "0x%04x\n", d->device);
	snprintf(p, sizeof(p), "%s/subsystem_vendor", rel);
	putf(sys, p, "0x%04x\n", 0x1af4);
	snprintf(p, sizeof(p), "%s/subsystem_device", rel);
	putf(sys, p, "0x%04x\n", 0x1100);
	snprintf(p, sizeof(p), "%s/class", rel);
	putf(sys, p, "0x%06x\n", d->class);
	snprintf(p, sizeof(p), "%s/driver_override", rel);
	put(sys, p, "(null)\n");
	snprintf(p, sizeof(p), "%s/modalias", rel);
	put(sys, p, "pci:v0000XXXX\n");
	cfg[0x0e] = d->hdr;
	snprintf(p, sizeof(p), "%s/%s/config", sys, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, cfg, sizeof(cfg)), (ssize_t)sizeof(cfg));
	close(fd);
	if (d->resource) {
		snprintf(p, sizeof(p), "%s/resource", rel);
		put(sys, p, d->resource);
	}
	if (d->reset_method) {
		snprintf(p, sizeof(p), "%s/reset_method", rel);
		putf(sys, p, "%s\n", d->reset_method);
	}
	if (d->reset_file) {
		snprintf(p, sizeof(p), "%s/reset", rel);
		put(sys, p, "");
	}
	if (d->boot_vga) {
		snprintf(p, sizeof(p), "%s/boot_vga", rel);
		put(sys, p, "1\n");
	}
	snprintf(p, sizeof(p), "bus/pci/devices/%s", d->bdf);
	link_in(p, rel);
	if (d->driver) {
		char drv[256];

		snprintf(drv, sizeof(drv), "bus/pci/drivers/%s/bind", d->driver);
		put(sys, drv, "");
		snprintf(drv, sizeof(drv), "bus/pci/drivers/%s/unbind", d->driver);
		put(sys, drv, "");
		snprintf(drv, sizeof(drv), "bus/pci/drivers/%s", d->driver);
		snprintf(p, sizeof(p), "%s/driver", rel);
		link_in(p, drv);
	}
	if (d->group >= 0) {
		char g[128];

		snprintf(g, sizeof(g), "kernel/iommu_groups/%d", d->group);
		snprintf(p, sizeof(p), "%s/iommu_group", rel);
		link_in(p, g);
		snprintf(p, sizeof(p), "kernel/iommu_groups/%d/devices/%s", d->group, d->bdf);
		link_in(p, rel);
	}
}

/* a block device below a PCI function, by device number and class name */
static void add_block(const char *majmin, const char *name, const char *path)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "%s/dev", path);
	putf(sys, rel, "%s\n", majmin);
	snprintf(rel, sizeof(rel), "dev/block/%s", majmin);
	link_in(rel, path);
	snprintf(rel, sizeof(rel), "class/block/%s", name);
	link_in(rel, path);
}

#define ROOT_BUS "pci0000:00"
#define RP_1C	 ROOT_BUS "/0000:00:1c.0"
#define RP_1D	 ROOT_BUS "/0000:00:1d.0"
#define RP_1B	 ROOT_BUS "/0000:00:1b.0"

static const struct fdev fake_devs[] = {
	/* host bridge, alone in group 0 */
	{ "0000:00:00.0", ROOT_BUS, 0x8086, 0x29c0, 0x060000, 0, 0, NULL, NULL, false, false, NULL },
	/* the boot VGA device, on the root bus, with FLR */
	{ "0000:00:02.0", ROOT_BUS, 0x1234, 0x1111, 0x030000, 0, 1, "bochs-drm", "flr", true, true,
	  "0x00000000fd000000 0x00000000fdffffff 0x0000000000042208\n"
	  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	  "0x00000000febf0000 0x00000000febf0fff 0x0000000000040200\n"
	  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	  "0x00000000000c0000 0x00000000000dffff 0x0000000000000212\n" },
	/* no reset method at all, on the root bus */
	{ "0000:00:05.0", ROOT_BUS, 0x1234, 0x11e8, 0x00ff00, 0, 2, NULL, NULL, false, false,
	  "0x00000000fea00000 0x00000000feafffff 0x0000000000040200\n" },
	/* behind the IOMMU's back: no group */
	{ "0000:00:06.0", ROOT_BUS, 0x1b36, 0x0005, 0x00ff00, 0, -1, NULL, "flr", true, false, NULL },
	/* the USB controller the host boots from */
	{ "0000:00:14.0", ROOT_BUS, 0x8086, 0xa36d, 0x0c0330, 0, 3, "xhci_hcd", "flr", true, false,
	  NULL },
	/* a PCI serial card: the serial console ttyS4 */
	{ "0000:00:16.3", ROOT_BUS, 0x8086, 0xa363, 0x070002, 0, 4, "serial", "pm", true, false,
	  NULL },
	/* the root ports */
	{ "0000:00:1b.0", ROOT_BUS, 0x8086, 0xa340, 0x060400, 1, 11, "pcieport", NULL, false, false,
	  NULL },
	{ "0000:00:1c.0", ROOT_BUS, 0x8086, 0xa338, 0x060400, 1, 5, "pcieport", NULL, false, false,
	  NULL },
	{ "0000:00:1d.0", ROOT_BUS, 0x8086, 0xa339, 0x060400, 1, 7, "pcieport", NULL, false, false,
	  NULL },
	/* the SATA controller of the root filesystem */
	{ "0000:00:1f.2", ROOT_BUS, 0x8086, 0x2922, 0x010601, 0, 10, "ahci", NULL, true, false,
	  NULL },
	/* a NIC with its interface up, alone behind 00:1c.0 (bus reset) */
	{ "0000:01:00.0", RP_1C, 0x8086, 0x10d3, 0x020000, 0, 6, "e1000e", "flr bus", true, false,
	  "0x00000000fe800000 0x00000000fe81ffff 0x0000000000040200\n"
	  "0x00000000fe820000 0x00000000fe83ffff 0x0000000000040200\n"
	  "0x000000000000c000 0x000000000000c01f 0x0000000000040101\n"
	  "0x00000000fe840000 0x00000000fe843fff 0x0000000000040200\n" },
	/* an NVMe disk with /home mounted, behind 00:1b.0 */
	{ "0000:02:00.0", RP_1B, 0x144d, 0xa808, 0x010802, 0, 12, "nvme", "flr bus", true, false,
	  NULL },
	/* a GPU and its audio function in group 7 with their root port */
	{ "0000:03:00.0", RP_1D, 0x10de, 0x1b80, 0x030000, 0, 7, "nouveau", NULL, false, false,
	  "0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200\n"
	  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
	  "0x0000000c00000000 0x0000000dffffffff 0x000000000014220c\n" },
	{ "0000:03:00.1", RP_1D, 0x10de, 0x10f0, 0x040300, 0, 7, "snd_hda_intel", "flr", true, false,
	  NULL },
	/* fine: alone, unbound, FLR */
	{ "0000:04:00.0", ROOT_BUS "/0000:00:1e.0", 0x1af4, 0x1041, 0x020000, 0, 8, NULL, "flr",
	  true, false, NULL },
	/* in a VFIO no-IOMMU group */
	{ "0000:00:07.0", ROOT_BUS, 0x1af4, 0x1042, 0x010000, 0, 9, NULL, "flr", true, false, NULL },
};

static void write_interrupts(bool ir)
{
	putf(proc, "interrupts",
	     "           CPU0\n"
	     "  0:         45   %sIO-APIC   2-edge      timer\n"
	     "  4:       1024   %sIO-APIC   4-edge      ttyS0\n"
	     " 24:       9000   %sPCI-MSI 512000-edge      ahci[0000:00:1f.2]\n"
	     "NMI:          0   Non-maskable interrupts\n", ir ? "IR-" : "", ir ? "IR-" : "",
	     ir ? "IR-" : "");
}

static int group_setup(void **state __unused)
{
	char p[PATH_MAX];

	snprintf(top, sizeof(top), "/tmp/dpvm-pthost.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(sys, sizeof(sys), "%s/sys", top);
	snprintf(proc, sizeof(proc), "%s/proc", top);
	snprintf(run, sizeof(run), "%s/run", top);
	mkdirs(sys);
	mkdirs(proc);
	setenv("DPVM_SYSFS_ROOT", sys, 1);
	setenv("DPVM_PROC_ROOT", proc, 1);
	setenv("DPVM_RUN_DIR", run, 1);
	snprintf(p, sizeof(p), "%s/passthru.conf", top);
	setenv("DPVM_PASSTHRU_CONF", p, 1);

	for (unsigned int i = 0; i < ARRAY_SIZE(fake_devs); i++)
		add_dev(&fake_devs[i]);
	put(sys, "kernel/iommu_groups/9/name", "vfio-noiommu\n");
	put(sys, "class/iommu/dmar0/intel-iommu/ecap", "f0207ae\n");
	put(sys, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n");
	put(sys, "bus/pci/drivers_probe", "");
	write_interrupts(true);

	/* / on sda1 (SATA), /boot on sdb1 (USB), /home on nvme0n1p1, swap none */
	add_block("8:1", "sda1", ROOT_BUS "/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1");
	add_block("8:17", "sdb1", ROOT_BUS "/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/"
		  "6:0:0:0/block/sdb/sdb1");
	add_block("259:1", "nvme0n1p1", RP_1B "/0000:02:00.0/nvme/nvme0/nvme0n1/nvme0n1p1");
	put(proc, "self/mountinfo",
	    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	    "23 22 0:21 / /proc rw shared:2 - proc proc rw\n"
	    "24 22 8:17 / /boot rw shared:3 - vfat /dev/sdb1 rw\n"
	    "25 22 259:1 / /home rw shared:4 - ext4 /dev/nvme0n1p1 rw\n");
	put(proc, "swaps", "Filename\tType\tSize\tUsed\tPriority\n");

	/* eth0 up on 01:00.0 */
	put(sys, "devices/" RP_1C "/0000:01:00.0/net/eth0/flags", "0x1003\n");
	link_in("class/net/eth0", "devices/" RP_1C "/0000:01:00.0/net/eth0");
	put(sys, "devices/virtual/net/lo/flags", "0x9\n");
	link_in("class/net/lo", "devices/virtual/net/lo");

	/* consoles: tty0 (fbcon on the GPU) and the PCI UART's ttyS4 */
	put(sys, "class/tty/console/active", "tty0 ttyS4\n");
	put(sys, "devices/" ROOT_BUS "/0000:00:16.3/0000:00:16.3:0/tty/ttyS4/dev", "4:68\n");
	link_in("class/tty/ttyS4", "devices/" ROOT_BUS "/0000:00:16.3/0000:00:16.3:0/tty/ttyS4");
	link_in("class/tty/ttyS4/device", "devices/" ROOT_BUS "/0000:00:16.3/0000:00:16.3:0");
	put(sys, "devices/" ROOT_BUS "/0000:00:02.0/graphics/fb0/dev", "29:0\n");
	link_in("class/graphics/fb0", "devices/" ROOT_BUS "/0000:00:02.0/graphics/fb0");
	link_in("class/graphics/fb0/device", "devices/" ROOT_BUS "/0000:00:02.0");
	return 0;
}

static int group_teardown(void **state __unused)
{
	char cmd[PATH_MAX];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) ? -1 : 0;
}

/* ---- stdout/stderr capture ---- */

static int saved[3] = { -1, -1, -1 }, capfd[3] = { -1, -1, -1 };
static char outbuf[1 << 18], errbuf[8192];

static void cap_start(void)
{
	fflush(stdout);
	for (int fd = 1; fd <= 2; fd++) {
		capfd[fd] = memfd_create("cap", MFD_CLOEXEC);
		assert_true(capfd[fd] >= 0);
		saved[fd] = dup(fd);
		dup2(capfd[fd], fd);
	}
}

static void cap_end(void)
{
	fflush(stdout);
	for (int fd = 1; fd <= 2; fd++) {
		char *buf = fd == 1 ? outbuf : errbuf;
		size_t size = fd == 1 ? sizeof(outbuf) : sizeof(errbuf);
		ssize_t n;

		dup2(saved[fd], fd);
		close(saved[fd]);
		lseek(capfd[fd], 0, SEEK_SET);
		n = read(capfd[fd], buf, size - 1);
		buf[n < 0 ? 0 : n] = 0;
		close(capfd[fd]);
	}
}

static int host_cmd(const char *first, ...)
{
	const struct dpvm_command *c = dpvm_command__find("host");
	char *argv[16];
	int argc = 0, ret;
	va_list ap;

	assert_non_null(c);
	argv[argc++] = "host";
	va_start(ap, first);
	for (const char *a = first; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	cap_start();
	ret = c->main(argc, argv);
	cap_end();
	return ret;
}

/* exactly one "dpvm: " line on stderr, containing both needles */
static void assert_one_line(const char *out, const char *n1, const char *n2)
{
	if (strncmp(out, "dpvm: ", 6) || !strchr(out, '\n') || strchr(out, '\n')[1] ||
	    (n1 && !strstr(out, n1)) || (n2 && !strstr(out, n2)))
		fail_msg("expected one line naming '%s' and '%s', got:\n%s", n1 ? n1 : "",
			 n2 ? n2 : "", out);
}

/* ---- PCI addresses ---- */

static void test_bdf(void **state __unused)
{
	static const struct { const char *in, *out; } good[] = {
		{ "0000:03:00.0", "0000:03:00.0" }, { "03:00.0", "0000:03:00.0" },
		{ "0000:AB:1F.7", "0000:ab:1f.7" }, { "10000:00:02.0", "10000:00:02.0" },
		{ "ff:1f.7", "0000:ff:1f.7" },
	};
	static const char *const bad[] = {
		"", "3:00.0", "03:0.0", "03:00", "03:00.8", "03:20.0", "0000:03:00.0.1",
		"000:03:00.0", "0000:03:00.0 ", "g0:00.0", "0000-03:00.0", "03:00.00", "x",
		"0000:0000:03:00.0", "03:00.-1", ":03:00.0",
	};
	char bdf[PCI_BDF_LEN];

	for (unsigned int i = 0; i < ARRAY_SIZE(good); i++) {
		if (pci_bdf__parse(good[i].in, bdf))
			fail_msg("'%s' was refused", good[i].in);
		assert_string_equal(bdf, good[i].out);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		if (!pci_bdf__parse(bad[i], bdf))
			fail_msg("'%s' was accepted as %s", bad[i], bdf);
	assert_string_equal(pci_bdf__short("0000:03:00.0"), "03:00.0");
	assert_string_equal(pci_bdf__short("0001:03:00.0"), "0001:03:00.0");
}

/* ---- what sysfs.c reads ---- */

static void test_scan(void **state __unused)
{
	struct host_pci h;
	const struct host_pci_dev *d;

	assert_int_equal(host_pci__scan(&h), 0);
	assert_int_equal(h.nr, ARRAY_SIZE(fake_devs));
	/* sorted by address */
	for (unsigned int i = 1; i < h.nr; i++)
		assert_true(strcmp(h.devs[i - 1].bdf, h.devs[i].bdf) < 0);

	d = host_pci__find(&h, "0000:01:00.0");
	assert_non_null(d);
	assert_int_equal(d->vendor, 0x8086);
	assert_int_equal(d->device, 0x10d3);
	assert_int_equal(d->subsys_vendor, 0x1af4);
	assert_int_equal(d->subsys_device, 0x1100);
	assert_int_equal(d->class, 0x020000);
	assert_string_equal(pci_class__name(d->class), "Ethernet controller");
	assert_int_equal(d->group, 6);
	assert_string_equal(d->driver, "e1000e");
	assert_string_equal(d->override, "");
	assert_int_equal(d->resets, PCI_RESET_FLR | PCI_RESET_BUS);
	assert_true(d->has_reset);
	assert_string_equal(d->parent, "0000:00:1c.0");
	assert_false(host_pci__is_bridge(d));
	assert_int_equal(d->bars[0].size, 128 * 1024);
	assert_int_equal(d->bars[1].size, 128 * 1024);
	assert_int_equal(d->bars[2].size, 32);
	assert_true(d->bars[2].flags & HOST_RES_IO);
	assert_int_equal(d->bars[3].size, 16 * 1024);
	assert_int_equal(d->bars[4].size, 0);
	assert_int_equal(d->nr_members, 1);

	d = host_pci__find(&h, "0000:03:00.0");
	assert_int_equal(d->nr_members, 3);	/* with 00:1d.0 and 03:00.1 */
	assert_string_equal(d->members[0], "0000:00:1d.0");
	assert_string_equal(d->members[1], "0000:03:00.0");
	assert_string_equal(d->members[2], "0000:03:00.1");
	assert_int_equal(d->resets, 0);
	assert_false(d->has_reset);
	assert_int_equal(d->bars[2].size, 8ULL << 30);
	assert_true(d->bars[2].flags & HOST_RES_MEM_64);
	assert_true(d->bars[2].flags & HOST_RES_PREFETCH);

	d = host_pci__find(&h, "0000:00:1d.0");
	assert_int_equal(d->header_type, 1);
	assert_true(host_pci__is_bridge(d));
	assert_string_equal(pci_class__name(d->class), "PCI bridge");
	assert_string_equal(d->parent, "");
	assert_true(host_pci__is_bridge(host_pci__find(&h, "0000:00:00.0")));

	d = host_pci__find(&h, "0000:00:02.0");
	assert_true(d->boot_vga);
	assert_int_equal(d->bars[PCI_BAR_ROM].size, 128 * 1024);
	assert_int_equal(d->bars[0].size, 16 << 20);
	assert_true(d->bars[0].flags & HOST_RES_PREFETCH);

	d = host_pci__find(&h, "0000:00:06.0");
	assert_int_equal(d->group, -1);
	assert_int_equal(d->nr_members, 0);
	assert_true(host_pci__find(&h, "0000:00:07.0")->noiommu_group);
	assert_string_equal(pci_class__name(0x00ff00), "Unclassified device");
	assert_string_equal(pci_class__name(0xff0000), "Unassigned class");
	assert_null(host_pci__find(&h, "0000:09:00.0"));
	host_pci__free(&h);
}

/* ---- eligibility ---- */

static unsigned int reasons_of(const struct host_pci *h, const struct host_facts *f,
			       const char *bdf, struct eligibility *e)
{
	eligibility__reasons(h, host_pci__find(h, bdf), f, NULL, 0, e);
	return e->mask;
}

#define R(x) (1u << (x))

static void test_facts(void **state __unused)
{
	struct host_pci h;
	struct host_facts f;

	assert_int_equal(host_pci__scan(&h), 0);
	host_facts__gather(&f, &h);
	assert_true(f.iommu);
	assert_string_equal(f.iommu_name, "dmar0");
	assert_int_equal(f.ir, IR_ON);
	assert_true(f.ir_capable);
	assert_false(f.unsafe_interrupts);
	assert_true(f.type1_loaded);

	write_interrupts(false);
	host_facts__free(&f);
	host_facts__gather(&f, &h);
	assert_int_equal(f.ir, IR_OFF);
	put(proc, "interrupts", "           CPU0\nNMI:  0  Non-maskable interrupts\n");
	host_facts__free(&f);
	host_facts__gather(&f, &h);
	assert_int_equal(f.ir, IR_UNKNOWN);
	write_interrupts(true);
	host_facts__free(&f);
	host_pci__free(&h);
}

static void test_reasons(void **state __unused)
{
	struct host_pci h;
	struct host_facts f;
	struct eligibility e;
	char *both[] = { "0000:03:00.0", "0000:03:00.1" };

	assert_int_equal(host_pci__scan(&h), 0);
	host_facts__gather(&f, &h);

	/* eligible: nothing at all */
	assert_int_equal(reasons_of(&h, &f, "0000:04:00.0", &e), 0);
	assert_int_equal(eligibility__first_blocking(&e), -1);

	assert_int_equal(reasons_of(&h, &f, "0000:00:06.0", &e), R(ELIG_NO_IOMMU));
	assert_non_null(strstr(e.text[ELIG_NO_IOMMU], "in no IOMMU group"));
	assert_int_equal(reasons_of(&h, &f, "0000:00:07.0", &e), R(ELIG_NO_IOMMU));
	assert_non_null(strstr(e.text[ELIG_NO_IOMMU], "no-IOMMU group"));

	/* bridges: the host bridge and a root port */
	assert_int_equal(reasons_of(&h, &f, "0000:00:00.0", &e), R(ELIG_BRIDGE));
	assert_non_null(strstr(e.brief[ELIG_BRIDGE], "Host bridge"));
	assert_int_equal(reasons_of(&h, &f, "0000:00:1d.0", &e) & R(ELIG_BRIDGE), R(ELIG_BRIDGE));

	/* not viable: 03:00.1 on snd_hda_intel; the root port on pcieport is fine */
	reasons_of(&h, &f, "0000:03:00.0", &e);
	assert_true(e.mask & R(ELIG_GROUP));
	assert_string_equal(e.text[ELIG_GROUP], "IOMMU group 7 is not viable: 0000:03:00.1 is "
			    "bound to snd_hda_intel; pass it through too (enable --group) or unbind it");
	assert_int_equal(eligibility__first_blocking(&e), ELIG_GROUP);
	/* ... and its reset: none, and no bus reset on a shared bus */
	assert_true(e.mask & R(ELIG_NO_RESET));
	assert_non_null(strstr(e.text[ELIG_NO_RESET], "bus 0000:03 is shared with 03:00.1"));
	/* viable when both go to vfio-pci together (enable --group) */
	eligibility__reasons(&h, host_pci__find(&h, "0000:03:00.0"), &f, both, 2, &e);
	assert_int_equal(e.mask, R(ELIG_NO_RESET));
	assert_int_equal(eligibility__first_blocking(&e), -1);

	/* host use */
	reasons_of(&h, &f, "0000:00:1f.2", &e);
	assert_int_equal(e.mask, R(ELIG_BOOT_DISK));
	assert_non_null(strstr(e.text[ELIG_BOOT_DISK], "/ is mounted from sda1"));
	reasons_of(&h, &f, "0000:00:14.0", &e);
	assert_int_equal(e.mask, R(ELIG_BOOT_USB));
	assert_non_null(strstr(e.text[ELIG_BOOT_USB], "/boot is mounted from sdb1"));
	reasons_of(&h, &f, "0000:00:02.0", &e);
	assert_int_equal(e.mask, R(ELIG_CONSOLE));
	assert_non_null(strstr(e.text[ELIG_CONSOLE], "boot VGA"));
	reasons_of(&h, &f, "0000:00:16.3", &e);
	assert_int_equal(e.mask, R(ELIG_CONSOLE));
	assert_non_null(strstr(e.text[ELIG_CONSOLE], "serial console ttyS4"));
	reasons_of(&h, &f, "0000:01:00.0", &e);
	assert_int_equal(e.mask, R(ELIG_IN_USE));
	assert_non_null(strstr(e.text[ELIG_IN_USE], "network interface eth0 is up"));
	reasons_of(&h, &f, "0000:02:00.0", &e);
	assert_int_equal(e.mask, R(ELIG_IN_USE));
	assert_non_null(strstr(e.text[ELIG_IN_USE], "/home is mounted from nvme0n1p1"));

	/* no reset, on a root bus */
	reasons_of(&h, &f, "0000:00:05.0", &e);
	assert_int_equal(e.mask, R(ELIG_NO_RESET));
	assert_non_null(strstr(e.text[ELIG_NO_RESET], "0000:00 is a root bus"));
	assert_int_equal(eligibility__first_blocking(&e), -1);

	/* no interrupt remapping: refused, unless allow_unsafe_interrupts=Y */
	host_facts__free(&f);
	write_interrupts(false);
	host_facts__gather(&f, &h);
	assert_int_equal(reasons_of(&h, &f, "0000:04:00.0", &e), R(ELIG_NO_IR));
	assert_non_null(strstr(e.text[ELIG_NO_IR], "allow_unsafe_interrupts=1"));
	host_facts__free(&f);
	put(sys, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n");
	host_facts__gather(&f, &h);
	assert_int_equal(reasons_of(&h, &f, "0000:04:00.0", &e), 0);
	put(sys, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n");
	write_interrupts(true);

	/* the VM side's check: no reset counts unless allowed */
	{
		char why[512];

		assert_int_equal(eligibility__check(&h, host_pci__find(&h, "0000:04:00.0"), false,
						    why, sizeof(why)), 0);
		assert_int_equal(eligibility__check(&h, host_pci__find(&h, "0000:00:05.0"), false,
						    why, sizeof(why)), -1);
		assert_non_null(strstr(why, "0000:00:05.0 cannot be passed through"));
		assert_non_null(strstr(why, "allow-no-reset"));
		assert_int_equal(eligibility__check(&h, host_pci__find(&h, "0000:00:05.0"), true,
						    why, sizeof(why)), 0);
		assert_int_equal(eligibility__check(&h, host_pci__find(&h, "0000:03:00.0"), true,
						    why, sizeof(why)), -1);
		assert_non_null(strstr(why, "IOMMU group 7 is not viable"));
	}
	host_facts__free(&f);
	host_pci__free(&h);
}

static void test_vfio_user(void **state __unused)
{
	char comm[64], target[PATH_MAX];

	assert_int_equal(host_facts__vfio_user(8, comm, sizeof(comm)), 0);
	put(proc, "4242/comm", "qemu-system-x86\n");
	snprintf(target, sizeof(target), "%s/4242/fd", proc);
	mkdirs(target);
	snprintf(target, sizeof(target), "%s/4242/fd/7", proc);
	assert_int_equal(symlink("/dev/vfio/8", target), 0);
	assert_int_equal(host_facts__vfio_user(8, comm, sizeof(comm)), 4242);
	assert_string_equal(comm, "qemu-system-x86");
	assert_int_equal(host_facts__vfio_user(7, comm, sizeof(comm)), 0);
	unlink(target);
}

/* ---- the configuration file ---- */

static const char *conf_file(const char *name, const char *text)
{
	static char path[4][PATH_MAX];
	static unsigned int n;
	char *p = path[n++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", top, name);
	put(top, name, text);
	return p;
}

static void test_conf_roundtrip(void **state __unused)
{
	struct passthru_conf c, d;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/etc/dpvm/new.conf", top);
	/* missing: empty, the defaults */
	assert_int_equal(passthru_conf__load(&c, path), 0);
	assert_int_equal(c.nr, 0);
	assert_int_equal(c.max_per_host, 8);
	assert_int_equal(c.max_per_vm, 6);

	passthru_conf__set(&c, "0000:01:00.0", 0x8086, 0x10d3, "e1000e");
	passthru_conf__set(&c, "0000:00:05.0", 0x1234, 0x11e8, "");
	passthru_conf__set(&c, "0000:01:00.0", 0x8086, 0x10d3, "igb");	/* replaces */
	c.max_per_host = 3;
	assert_int_equal(c.nr, 2);
	assert_int_equal(passthru_conf__save(&c), 0);	/* creates etc/dpvm */

	assert_int_equal(passthru_conf__load(&d, path), 0);
	assert_int_equal(d.nr, 2);
	assert_int_equal(d.max_per_host, 3);
	assert_int_equal(d.max_per_vm, 6);
	assert_string_equal(d.devs[0].bdf, "0000:01:00.0");
	assert_int_equal(d.devs[0].vendor, 0x8086);
	assert_int_equal(d.devs[0].device, 0x10d3);
	assert_string_equal(d.devs[0].driver, "igb");
	assert_string_equal(d.devs[1].bdf, "0000:00:05.0");
	assert_string_equal(d.devs[1].driver, "");
	assert_non_null(passthru_conf__find(&d, "0000:00:05.0"));
	assert_int_equal(passthru_conf__remove(&d, "0000:01:00.0"), 0);
	assert_int_equal(passthru_conf__remove(&d, "0000:01:00.0"), -ENOENT);
	assert_int_equal(d.nr, 1);
	assert_string_equal(d.devs[0].bdf, "0000:00:05.0");
	passthru_conf__free(&c);
	passthru_conf__free(&d);

	/* hand-written, with comments, blanks and spacing */
	assert_int_equal(passthru_conf__load(&c, conf_file("hand.conf",
		"# devices for VMs\n\n"
		"   /device/0000:03:00.0/owner   =   \"passthru\"   \n"
		"/device/0000:03:00.0/id=\"10DE:1b80\"\n"
		"\t/passthru/max-per-vm = \"2\"\n")), 0);
	assert_int_equal(c.nr, 1);
	assert_int_equal(c.devs[0].vendor, 0x10de);
	assert_string_equal(c.devs[0].driver, "");
	assert_int_equal(c.max_per_vm, 2);
	passthru_conf__free(&c);

	/* the limits alone, from $DPVM_PASSTHRU_CONF */
	put(top, "passthru.conf", "/passthru/max-per-host = \"5\"\n"
	    "/device/0000:04:00.0/owner = \"passthru\"\n/device/0000:04:00.0/id = \"1af4:1041\"\n");
	assert_int_equal(passthru_conf__load_limits(&c), 0);
	assert_int_equal(c.max_per_host, 5);
	assert_int_equal(c.nr, 0);
	assert_null(c.devs);
	unlink(getenv("DPVM_PASSTHRU_CONF"));
}

static void test_conf_errors(void **state __unused)
{
	static const struct { const char *text, *n1, *n2; } bad[] = {
		{ "# ok\n/device/0000:03:00.0/owner passthru\n", ":2:", "not a setting" },
		{ "\n\n/device/0000:03:00.0/owner = passthru\n", ":3:", "double quotes" },
		{ "/device/0000:03:00.0/owner = \"passthru\n", ":1:", "double quotes" },
		{ "/device/0000:03:00.0/owner = \"vmkernel\"\n", ":1:", "owner \"vmkernel\"" },
		{ "/device/03:00.0/owner = \"passthru\"\n", ":1:", "not a full PCI address" },
		{ "/device/0000:03:00.0/colour = \"red\"\n", ":1:", "unknown field 'colour'" },
		{ "/devices/0000:03:00.0/owner = \"passthru\"\n", ":1:", "unknown key" },
		{ "/device/0000:03:00.0/owner = \"passthru\"\n/device/0000:03:00.0/id = \"8086-10d3\"\n",
		  ":2:", "not VENDOR:DEVICE" },
		{ "/device/0000:03:00.0/owner = \"passthru\"\n/device/0000:03:00.0/owner = \"passthru\"\n",
		  ":2:", "set twice" },
		{ "/device/0000:03:00.0/owner = \"passthru\"\n", ":1:", "has no id line" },
		{ "\n/device/0000:03:00.0/id = \"8086:10d3\"\n", ":2:", "has no owner line" },
		{ "/passthru/max-per-host = \"0\"\n", ":1:", "from 1 to 256" },
		{ "/passthru/max-per-vm = \"33\"\n", ":1:", "from 1 to 32" },
		{ "/passthru/max-per-vm = \"2\"\n/passthru/max-per-vm = \"3\"\n", ":2:",
		  "first on line 1" },
		{ "/device/0000:03:00.0/host-driver = \"a/b\"\n", ":1:", "not a driver name" },
		{ "/device/0000:03:00.0/id = \"8086:10d3\x01\"\n", ":1:", "control character" },
	};
	struct passthru_conf c;

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *path = conf_file("bad.conf", bad[i].text);
		int ret;

		cap_start();
		ret = passthru_conf__load(&c, path);
		cap_end();
		if (ret != -EINVAL)
			fail_msg("case %u was accepted: %s", i, bad[i].text);
		assert_one_line(errbuf, bad[i].n1, bad[i].n2);
		assert_non_null(strstr(errbuf, path));
		assert_int_equal(c.nr, 0);
		assert_int_equal(c.max_per_host, 8);
	}
	/* a file with a NUL byte, and an unreadable path */
	{
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/nul.conf", top);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_int_equal(write(fd, "a\0b\n", 4), 4);
		close(fd);
		cap_start();
		assert_int_equal(passthru_conf__load(&c, path), -EINVAL);
		cap_end();
		assert_one_line(errbuf, "nul.conf", "NUL");
		cap_start();
		assert_int_equal(passthru_conf__load(&c, top), -EISDIR);
		cap_end();
		assert_one_line(errbuf, top, "cannot read");
	}
}

/* ---- claims ---- */

static void test_claims(void **state __unused)
{
	char holder[CLAIM_NAME_MAX + 1];
	int a = -1, b = -1, c = -1;
	pid_t pid;

	assert_int_equal(claim__count(), 0);	/* no directory yet */
	assert_int_equal(claim__holder("0000:01:00.0", holder, sizeof(holder), NULL), 0);
	assert_int_equal(claim__acquire("0000:01:00.0", "web", &a, holder, sizeof(holder)), 0);
	assert_true(a >= 0);
	assert_int_equal(claim__count(), 1);

	/* a second VM asking: refused, naming the first */
	assert_int_equal(claim__acquire("0000:01:00.0", "db", &b, holder, sizeof(holder)), -EBUSY);
	assert_int_equal(b, -1);
	assert_string_equal(holder, "web");
	assert_int_equal(claim__holder("0000:01:00.0", holder, sizeof(holder), &pid), 1);
	assert_string_equal(holder, "web");
	assert_int_equal(pid, getpid());
	/* another device is free */
	assert_int_equal(claim__acquire("0000:04:00.0", "db", &b, holder, sizeof(holder)), 0);
	assert_int_equal(claim__count(), 2);

	/* released: free again, and claimable */
	claim__release("0000:01:00.0", a);
	claim__release("0000:01:00.0", -1);	/* nothing */
	assert_int_equal(claim__holder("0000:01:00.0", holder, sizeof(holder), NULL), 0);
	assert_int_equal(claim__count(), 1);
	assert_int_equal(claim__acquire("0000:01:00.0", "db", &c, holder, sizeof(holder)), 0);
	claim__release("0000:01:00.0", c);
	claim__release("0000:04:00.0", b);
	assert_int_equal(claim__count(), 0);

	/* bad input */
	assert_int_equal(claim__acquire("03:00.0", "x", &a, holder, sizeof(holder)), -EINVAL);
	assert_int_equal(claim__acquire("0000:03:00.0", "", &a, holder, sizeof(holder)), -EINVAL);
	assert_int_equal(claim__acquire("0000:03:00.0", "a\nb", &a, holder, sizeof(holder)), -EINVAL);
	assert_int_equal(claim__acquire("0000:03:00.0", NULL, &a, holder, sizeof(holder)), -EINVAL);
}

static void test_claim_dead_holder(void **state __unused)
{
	char holder[CLAIM_NAME_MAX + 1];
	int p[2], st, fd = -1;
	pid_t child, pid = 0;
	char c;

	/* a child that claims and exits without releasing: the claim is gone */
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		int cfd;

		_exit(claim__acquire("0000:03:00.0", "crashed", &cfd, NULL, 0) ? 1 : 0);
	}
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(claim__holder("0000:03:00.0", holder, sizeof(holder), NULL), 0);
	assert_int_equal(claim__count(), 0);

	/* a child that holds it: refused with its name and pid; killed: free */
	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		int cfd;

		close(p[0]);
		c = claim__acquire("0000:03:00.0", "vm-child", &cfd, NULL, 0) ? 'n' : 'y';
		if (write(p[1], &c, 1) != 1)
			_exit(2);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(c, 'y');
	assert_int_equal(claim__acquire("0000:03:00.0", "web", &fd, holder, sizeof(holder)), -EBUSY);
	assert_string_equal(holder, "vm-child");
	assert_int_equal(claim__holder("0000:03:00.0", holder, sizeof(holder), &pid), 1);
	assert_int_equal(pid, child);
	assert_int_equal(claim__count(), 1);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(claim__acquire("0000:03:00.0", "web", &fd, holder, sizeof(holder)), 0);
	claim__release("0000:03:00.0", fd);
}

static void test_claim_limit(void **state __unused)
{
	const char *bdfs[] = { "0000:01:00.0", "0000:02:00.0", "0000:04:00.0" };
	char holder[CLAIM_NAME_MAX + 1];
	int fds[3];

	put(top, "passthru.conf", "/passthru/max-per-host = \"2\"\n");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(claim__acquire(bdfs[i], "vm", &fds[i], holder, sizeof(holder)), 0);
		assert_int_equal(claim__check_host_limit(bdfs[i]), 0);
	}
	assert_int_equal(claim__acquire(bdfs[2], "vm3", &fds[2], holder, sizeof(holder)), 0);
	cap_start();
	assert_int_equal(claim__check_host_limit(bdfs[2]), -EUSERS);
	cap_end();
	assert_one_line(errbuf, "0000:04:00.0: the host already has 2 passthrough devices",
			"max-per-host");
	claim__release(bdfs[2], fds[2]);
	assert_int_equal(claim__count(), 2);
	/* one powered off: the third fits */
	claim__release(bdfs[0], fds[0]);
	assert_int_equal(claim__acquire(bdfs[2], "vm3", &fds[2], holder, sizeof(holder)), 0);
	assert_int_equal(claim__check_host_limit(bdfs[2]), 0);
	claim__release(bdfs[1], fds[1]);
	claim__release(bdfs[2], fds[2]);
	assert_int_equal(claim__count(), 0);
	unlink(getenv("DPVM_PASSTHRU_CONF"));
}

/* ---- `dpvm host` on the fake tree ---- */

static json_object *find_json(json_object *arr, const char *bdf)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;

		if (json_object_object_get_ex(o, "bdf", &v) &&
		    !strcmp(json_object_get_string(v), bdf))
			return o;
	}
	fail_msg("%s is not in the list", bdf);
	return NULL;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

/* the reason codes of one function, "a,b,c" */
static const char *codes(json_object *o)
{
	static char buf[256];
	json_object *r;

	buf[0] = 0;
	assert_true(json_object_object_get_ex(o, "reasons", &r));
	for (size_t i = 0; i < json_object_array_length(r); i++) {
		size_t l = strlen(buf);

		snprintf(buf + l, sizeof(buf) - l, "%s%s", l ? "," : "",
			 jstr(json_object_array_get_idx(r, i), "code"));
	}
	return buf;
}

static void test_list_json(void **state __unused)
{
	json_object *arr, *o, *v;
	int fd = -1;
	char holder[64];

	put(top, "passthru.conf", "/device/0000:00:05.0/owner = \"passthru\"\n"
	    "/device/0000:00:05.0/id = \"1234:11e8\"\n/device/0000:00:05.0/host-driver = \"\"\n");
	assert_int_equal(claim__acquire("0000:00:05.0", "edu-vm", &fd, holder, sizeof(holder)), 0);
	assert_int_equal(host_cmd("pci", "list", "--json", NULL), 0);
	claim__release("0000:00:05.0", fd);
	assert_string_equal(errbuf, "");
	arr = json_tokener_parse(outbuf);
	assert_non_null(arr);
	assert_int_equal(json_object_array_length(arr), ARRAY_SIZE(fake_devs));

	o = find_json(arr, "0000:01:00.0");
	assert_string_equal(jstr(o, "id"), "8086:10d3");
	assert_string_equal(jstr(o, "subsystem"), "1af4:1100");
	assert_string_equal(jstr(o, "class"), "0x020000");
	assert_string_equal(jstr(o, "class_name"), "Ethernet controller");
	assert_string_equal(jstr(o, "driver"), "e1000e");
	assert_true(json_object_object_get_ex(o, "iommu_group", &v));
	assert_int_equal(json_object_get_int(v), 6);
	assert_string_equal(codes(o), "in-use");
	assert_true(json_object_object_get_ex(o, "eligible", &v));
	assert_false(json_object_get_boolean(v));

	o = find_json(arr, "0000:03:00.0");
	assert_true(json_object_object_get_ex(o, "group_others", &v));
	assert_int_equal(json_object_array_length(v), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "0000:00:1d.0");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 1)), "0000:03:00.1");
	assert_string_equal(codes(o), "group-not-viable,no-reset");

	assert_string_equal(codes(find_json(arr, "0000:00:00.0")), "bridge");
	assert_string_equal(codes(find_json(arr, "0000:00:06.0")), "no-iommu");
	assert_string_equal(codes(find_json(arr, "0000:00:1f.2")), "boot-disk");
	assert_string_equal(codes(find_json(arr, "0000:00:14.0")), "boot-usb");
	assert_string_equal(codes(find_json(arr, "0000:00:02.0")), "console");
	assert_string_equal(codes(find_json(arr, "0000:04:00.0")), "");
	o = find_json(arr, "0000:04:00.0");
	assert_true(json_object_object_get_ex(o, "eligible", &v));
	assert_true(json_object_get_boolean(v));
	assert_null(jstr(o, "driver"));

	/* the enabled, claimed one */
	o = find_json(arr, "0000:00:05.0");
	assert_string_equal(codes(o), "no-reset");
	assert_true(json_object_object_get_ex(o, "eligible", &v));
	assert_true(json_object_get_boolean(v));	/* no reset does not block */
	assert_true(json_object_object_get_ex(o, "passthru", &v));
	assert_string_equal(jstr(v, "vm"), "edu-vm");
	assert_string_equal(jstr(v, "host_driver"), "");
	json_object_put(arr);

	/* --id and the table */
	assert_int_equal(host_cmd("pci", "list", "--id", "10DE:1B80", NULL), 0);
	assert_non_null(strstr(outbuf, "BDF "));
	assert_non_null(strstr(outbuf, "0000:03:00.0  10de:1b80"));
	assert_non_null(strstr(outbuf, "group 7 not viable: 03:00.1 is on snd_hda_intel"));
	assert_null(strstr(outbuf, "0000:03:00.1"));
	assert_int_equal(strchr(strchr(outbuf, '\n') + 1, '\n')[1], 0);	/* two lines */
	assert_int_equal(host_cmd("pci", "list", "--id", "10de:0000", NULL), 1);
	assert_one_line(errbuf, "10de:0000", "no PCI function");
	assert_int_equal(host_cmd("pci", "list", "--id", "10de", NULL), 2);
	assert_one_line(errbuf, "--id 10de", "VENDOR:DEVICE");
	unlink(getenv("DPVM_PASSTHRU_CONF"));
}

/* the driver bindings and driver_overrides of the tree, to compare */
static void snapshot(char *buf, size_t len)
{
	struct host_pci h;
	size_t l = 0;

	assert_int_equal(host_pci__scan(&h), 0);
	/* the override as sysfs.c reads it: "(null)" (the kernel's) and "" are unset */
	for (unsigned int i = 0; i < h.nr; i++)
		l += snprintf(buf + l, len - l, "%s=%s/%s ", h.devs[i].bdf, h.devs[i].driver,
			      h.devs[i].override);
	host_pci__free(&h);
}

static void refused(int want, const char *n1, const char *n2, ...)
{
	char before[4096], after[4096], conf[PATH_MAX];
	const char *args[12] = { NULL };
	int n = 0, ret;
	va_list ap;

	va_start(ap, n2);
	for (const char *a = va_arg(ap, const char *); a && n < 11; a = va_arg(ap, const char *))
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	snapshot(before, sizeof(before));
	ret = host_cmd(args[0], args[1], args[2], args[3], args[4], args[5], args[6], NULL);
	snapshot(after, sizeof(after));
	if (ret != want)
		fail_msg("'%s %s %s' exited %d, expected %d; stderr:\n%s", args[0], args[1], args[2],
			 ret, want, errbuf);
	assert_one_line(errbuf, n1, n2);
	assert_string_equal(before, after);
	snprintf(conf, sizeof(conf), "%s/passthru.conf", top);
	assert_int_equal(access(conf, F_OK), -1);	/* never written */
}

static void test_host_refusals(void **state __unused)
{
	unlink(getenv("DPVM_PASSTHRU_CONF"));
	refused(2, "3:00.0", "not a PCI address", "passthru", "enable", "3:00.0", NULL);
	refused(2, "0000:09:00.0", "no such PCI function", "passthru", "enable", "09:00.0", NULL);
	refused(1, "0000:03:00.0: cannot be passed through: IOMMU group 7 is not viable: "
		"0000:03:00.1 is bound to snd_hda_intel", "pass it through too",
		"passthru", "enable", "0000:03:00.0", NULL);
	refused(1, "0000:00:1f.2", "boot disk controller (/ is mounted from sda1)",
		"passthru", "enable", "00:1f.2", NULL);
	refused(1, "0000:00:14.0", "USB controller the host boots from",
		"passthru", "enable", "00:14.0", NULL);
	refused(1, "0000:00:02.0", "console (the boot VGA device)",
		"passthru", "enable", "00:02.0", NULL);
	refused(1, "0000:01:00.0", "network interface eth0 is up",
		"passthru", "enable", "01:00.0", NULL);
	refused(1, "0000:00:1c.0", "bridge", "passthru", "enable", "00:1c.0", NULL);
	refused(1, "0000:00:06.0", "no IOMMU group", "passthru", "enable", "00:06.0", NULL);
	refused(1, "0000:00:06.0: --group: it is in no IOMMU group", "does not translate",
		"passthru", "enable", "--group", "00:06.0", NULL);
	/* --group takes 03:00.1 along (not the bridge): eligible, but no vfio-pci here */
	refused(1, "vfio-pci is not loaded", "modprobe vfio-pci",
		"passthru", "enable", "--group", "03:00.0", NULL);
	refused(1, "0000:04:00.0", "not enabled for passthrough", "passthru", "disable",
		"04:00.0", NULL);
	refused(2, "passthru apply", "takes no device", "passthru", "apply", "04:00.0", NULL);
	refused(2, "unknown option '--force'", NULL, "passthru", "enable", "--force", "04:00.0",
		NULL);
	refused(2, "--mem 1Q", "not a memory size", "passthru", "check", "--mem", "1Q", "04:00.0",
		NULL);
	refused(2, "one device at a time", NULL, "passthru", "check", "04:00.0", "00:05.0", NULL);
	refused(2, "unknown command 'frob'", NULL, "frob", NULL);
}

static void test_enable_rollback(void **state __unused)
{
	char before[4096], after[4096], p[PATH_MAX], ov[64];

	/*
	 * vfio-pci is "loaded" but no kernel reacts to the fake tree: the probe
	 * never binds, so enable must undo its driver_override and unbinding
	 * and leave the configuration unwritten.
	 */
	put(sys, "bus/pci/drivers/vfio-pci/bind", "");
	snapshot(before, sizeof(before));
	assert_int_equal(host_cmd("passthru", "enable", "04:00.0", NULL), 1);
	snapshot(after, sizeof(after));
	assert_non_null(strstr(errbuf, "0000:04:00.0: vfio-pci did not take it"));
	assert_string_equal(before, after);
	sysfs__fmt(p, sizeof(p), "%s/%s/driver_override", sys, dev_dir("0000:04:00.0"));
	assert_int_equal(sysfs__read_str(p, ov, sizeof(ov)), 0);
	assert_string_equal(ov, "");	/* cleared again (it was "(null)") */
	snprintf(p, sizeof(p), "%s/passthru.conf", top);
	assert_int_equal(access(p, F_OK), -1);
	/* the probe was asked for */
	snprintf(p, sizeof(p), "%s/bus/pci/drivers_probe", sys);
	assert_int_equal(sysfs__read_str(p, ov, sizeof(ov)), 0);
	assert_string_equal(ov, "0000:04:00.0");

	/* apply: the recorded device is tried and reported, absent and changed ones too */
	put(top, "passthru.conf",
	    "/device/0000:04:00.0/owner = \"passthru\"\n/device/0000:04:00.0/id = \"1af4:1041\"\n"
	    "/device/0000:0a:00.0/owner = \"passthru\"\n/device/0000:0a:00.0/id = \"8086:10d3\"\n"
	    "/device/0000:00:05.0/owner = \"passthru\"\n/device/0000:00:05.0/id = \"8086:1533\"\n");
	assert_int_equal(host_cmd("passthru", "apply", NULL), 1);
	assert_non_null(strstr(errbuf, "0000:04:00.0: vfio-pci did not take it"));
	assert_non_null(strstr(errbuf, "0000:0a:00.0 (8086:10d3 in "));
	assert_non_null(strstr(errbuf, "no such PCI function now"));
	assert_non_null(strstr(errbuf, "records 8086:1533 but the slot now holds 1234:11e8"));
	assert_non_null(strstr(outbuf, "applied 0 of 3 devices"));
	snapshot(after, sizeof(after));
	assert_string_equal(before, after);
	unlink(getenv("DPVM_PASSTHRU_CONF"));
	{
		char cmd[PATH_MAX + 64];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s/bus/pci/drivers/vfio-pci'", sys);
		assert_int_equal(system(cmd), 0);
	}
}

static char *slurp(const char *path)
{
	void *buf = NULL;
	size_t len;

	if (read_file(path, 1 << 20, &buf, &len))
		return xstrdup("(none)");
	return buf;
}

static void test_disable(void **state __unused)
{
	const char *conf = getenv("DPVM_PASSTHRU_CONF");
	char holder[64], *before, *after;
	int fd;

	put(top, "passthru.conf",
	    "/device/0000:00:05.0/owner = \"passthru\"\n/device/0000:00:05.0/id = \"1234:11e8\"\n"
	    "/device/0000:0a:00.0/owner = \"passthru\"\n/device/0000:0a:00.0/id = \"8086:10d3\"\n"
	    "/device/0000:0a:00.0/host-driver = \"e1000e\"\n");
	/* claimed by a VM: refused, naming it; nothing changes */
	assert_int_equal(claim__acquire("0000:00:05.0", "edu-vm", &fd, holder, sizeof(holder)), 0);
	before = slurp(conf);
	assert_int_equal(host_cmd("passthru", "disable", "00:05.0", NULL), 1);
	assert_one_line(errbuf, "0000:00:05.0: in use by VM 'edu-vm'", "dpvm ctl edu-vm quit");
	after = slurp(conf);
	assert_string_equal(before, after);
	free(after);
	/* the whole command is refused: the absent one's record stays too */
	assert_int_equal(host_cmd("passthru", "disable", "0a:00.0", "00:05.0", NULL), 1);
	after = slurp(conf);
	assert_string_equal(before, after);
	free(after);
	free(before);
	claim__release("0000:00:05.0", fd);

	/* a function that is gone: its record is dropped, the others kept */
	assert_int_equal(host_cmd("passthru", "disable", "0000:0a:00.0", NULL), 0);
	assert_string_equal(errbuf, "");
	assert_string_equal(outbuf, "0000:0a:00.0: not on this host; its record is dropped\n");
	after = slurp(conf);
	assert_null(strstr(after, "0a:00.0"));
	assert_non_null(strstr(after, "/device/0000:00:05.0/id = \"1234:11e8\""));
	free(after);
	/* recorded but not bound (no apply since a reboot): the record goes */
	assert_int_equal(host_cmd("passthru", "disable", "00:05.0", NULL), 0);
	after = slurp(conf);
	assert_null(strstr(after, "/device/"));
	assert_non_null(strstr(after, "/passthru/max-per-host = \"8\""));
	free(after);
	/* an absent function without a record is still an error */
	assert_int_equal(host_cmd("passthru", "disable", "0a:00.0", NULL), 2);
	assert_one_line(errbuf, "0000:0a:00.0", "no such PCI function");
	unlink(conf);
}

static void test_check(void **state __unused)
{
	/* no reset: a warning, and passable with allow-no-reset */
	assert_int_equal(host_cmd("passthru", "check", "--mem", "16K", "00:05.0", NULL), 0);
	assert_non_null(strstr(outbuf, "\nok    IOMMU              group 2 (dmar0)\n"));
	assert_non_null(strstr(outbuf, "\nok    interrupt-remap    on"));
	assert_non_null(strstr(outbuf, "\nwarn  reset              none: no FLR, no PM reset, no bus reset"));
	assert_non_null(strstr(outbuf, "\nwarn  bus-reset          not possible: 0000:00 is a root bus"));
	assert_non_null(strstr(outbuf, "\nok    group              viable: alone in IOMMU group 2\n"));
	assert_non_null(strstr(outbuf, "\nwarn  driver             no driver; `dpvm host passthru enable 0000:00:05.0`"));
	assert_non_null(strstr(outbuf, "BAR0 mem32 1 MiB: fit"));
	assert_non_null(strstr(outbuf, "verdict: 0000:00:05.0 can be passed through after "
			       "`dpvm host passthru enable 0000:00:05.0`, with allow-no-reset\n"));
	/* FLR and a bus reset for the NIC; it is in use, so it fails */
	assert_int_equal(host_cmd("passthru", "check", "--mem", "16K", "01:00.0", NULL), 1);
	assert_non_null(strstr(outbuf, "\nok    reset              flr bus"));
	assert_non_null(strstr(outbuf, "\nok    bus-reset          possible"));
	assert_non_null(strstr(outbuf, "\nfail  host-use           it is in use by the host: network "
			       "interface eth0 is up"));
	assert_non_null(strstr(outbuf, "verdict: 0000:01:00.0 cannot be passed through (host-use:"));
	/* the GPU: group not viable, an 8 GiB 64-bit BAR that fits */
	assert_int_equal(host_cmd("passthru", "check", "03:00.0", "--mem", "16K", NULL), 1);
	assert_non_null(strstr(outbuf, "\nfail  group              IOMMU group 7 is not viable"));
	assert_non_null(strstr(outbuf, "BAR2 mem64 8 GiB"));
	assert_non_null(strstr(outbuf, "\nok    memlock            "));
	/* no IR: a failure */
	write_interrupts(false);
	assert_int_equal(host_cmd("passthru", "check", "--mem=16K", "04:00.0", NULL), 1);
	assert_non_null(strstr(outbuf, "\nfail  interrupt-remap    off"));
	write_interrupts(true);
	assert_int_equal(host_cmd("passthru", "check", "04:00.0", "--mem", "16K", NULL), 0);
	assert_non_null(strstr(outbuf, "\nok    reset              flr"));
	assert_non_null(strstr(outbuf, "verdict: 0000:04:00.0 can be passed through after"));
}

/*
 * memlock, as a process without CAP_IPC_LOCK and a 64 KiB RLIMIT_MEMLOCK:
 * below the memory size fails, below twice the size warns (mlock and VFIO
 * pins both count), else passes.  In a child: dropping the capability and
 * lowering the limit are for good.
 */
static int memlock_child(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	struct rlimit rl;
	static const struct { const char *mem, *want; int status; } cases[] = {
		{ "1M", "\nfail  memlock            RLIMIT_MEMLOCK is 64 KiB, but VFIO pins all 1 MiB", 1 },
		{ "48K", "\nwarn  memlock            RLIMIT_MEMLOCK is 64 KiB: enough to pin 48 KiB", 0 },
		{ "16K", "\nok    memlock            RLIMIT_MEMLOCK 64 KiB covers 16 KiB", 0 },
	};

	if (syscall(SYS_capget, &hdr, data))
		return 10;
	data[0].effective &= ~(1u << CAP_IPC_LOCK);
	if (syscall(SYS_capset, &hdr, data) || getrlimit(RLIMIT_MEMLOCK, &rl))
		return 11;
	rl.rlim_cur = 64 * 1024;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
		return 77;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return 12;
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		int st = host_cmd("passthru", "check", "--mem", cases[i].mem, "04:00.0", NULL);

		if (st != cases[i].status || !strstr(outbuf, cases[i].want)) {
			fprintf(stderr, "--mem %s: exit %d, expected %d and '%s' in:\n%s\n",
				cases[i].mem, st, cases[i].status, cases[i].want + 1, outbuf);
			return 13 + i;
		}
	}
	return 0;
}

static void test_memlock(void **state __unused)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (!pid)
		_exit(memlock_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bdf),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_facts),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_vfio_user),
		cmocka_unit_test(test_conf_roundtrip),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_claim_dead_holder),
		cmocka_unit_test(test_claim_limit),
		cmocka_unit_test(test_list_json),
		cmocka_unit_test(test_host_refusals),
		cmocka_unit_test(test_enable_rollback),
		cmocka_unit_test(test_disable),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_memlock),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
