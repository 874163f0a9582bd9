// SPDX-License-Identifier: GPL-2.0
/* Why a host PCI function cannot be passed through (see eligibility.h). */
#include "passthru/eligibility.h"
#include "vmm/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- interrupt remapping and the IOMMU ---- */

static void read_ir(struct host_facts *f)
{
	char path[PATH_MAX], line[1024];
	bool ir = false, plain = false;
	FILE *fp;

	sysfs__fmt(path, sizeof(path), "%s/interrupts", procfs__root());
	fp = fopen(path, "re");
	if (fp) {
		while (fgets(line, sizeof(line), fp)) {
			char *save = NULL;

			for (char *w = strtok_r(line, " \t\n", &save); w;
			     w = strtok_r(NULL, " \t\n", &save)) {
				if (!strncmp(w, "IR-", 3))
					ir = true;
				else if (!strcmp(w, "IO-APIC") || !strncmp(w, "PCI-MSI", 7))
					plain = true;
			}
		}
		fclose(fp);
	}
	f->ir = ir ? IR_ON : plain ? IR_OFF : IR_UNKNOWN;

	sysfs__fmt(path, sizeof(path), "%s/module/vfio_iommu_type1", sysfs__root());
	f->type1_loaded = !access(path, F_OK);
	sysfs__fmt(path, sizeof(path),
		 "%s/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", sysfs__root());
	if (!sysfs__read_str(path, line, sizeof(line)))
		f->unsafe_interrupts = line[0] == 'Y' || line[0] == 'y' || line[0] == '1';
}

static void read_iommus(struct host_facts *f)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	sysfs__fmt(path, sizeof(path), "%s/class/iommu", sysfs__root());
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char cap[64];
		u64 ecap;

		if (e->d_name[0] == '.')
			continue;
		if (!f->iommu || strcmp(e->d_name, f->iommu_name) < 0)
			sysfs__fmt(f->iommu_name, sizeof(f->iommu_name), "%s", e->d_name);
		f->iommu = true;
		/* Intel VT-d: extended capability register, bit 3 = IR */
		sysfs__fmt(path, sizeof(path), "%s/class/iommu/%s/intel-iommu/ecap",
			 sysfs__root(), e->d_name);
		if (!sysfs__read_str(path, cap, sizeof(cap)) &&
		    sscanf(cap, "%llx", (unsigned long long *)&ecap) == 1 && (ecap & 8))
			f->ir_capable = true;
	}
	closedir(dir);
}

/* ---- host use ---- */

static void add_use(struct host_facts *f, const char *bdf, enum elig_reason why,
		    const char *what)
{
	for (unsigned int i = 0; i < f->nr_uses; i++)
		if (!strcmp(f->uses[i].bdf, bdf) && f->uses[i].why == why)
			return;
	f->uses = xrealloc(f->uses, (f->nr_uses + 1) * sizeof(*f->uses));
	memset(&f->uses[f->nr_uses], 0, sizeof(*f->uses));
	snprintf(f->uses[f->nr_uses].bdf, PCI_BDF_LEN, "%s", bdf);
	f->uses[f->nr_uses].why = why;
	sysfs__fmt(f->uses[f->nr_uses].what, sizeof(f->uses->what), "%s", what);
	f->nr_uses++;
}

/* Is there a usbN component after the PCI function's in this path? */
static bool via_usb(const char *path, const char *bdf)
{
	const char *p = strstr(path, bdf);

	if (!p)
		return false;
	for (p = strchr(p, '/'); p; p = strchr(p + 1, '/'))
		if (!strncmp(p, "/usb", 4) && isdigit((unsigned char)p[4]))
			return true;
	return false;
}

/*
 * A block device (a name in /sys/class/block) and what it sits on: the
 * PCI function nearest to it, or for dm/md devices, their slaves'.
 */
static void block_uses(struct host_facts *f, const char *name, const char *what,
		       bool boot, int depth)
{
	char path[PATH_MAX], real[PATH_MAX], bdf[PCI_BDF_LEN];
	struct dirent *e;
	DIR *dir;

	if (depth > 8 || strchr(name, '/'))
		return;
	sysfs__fmt(path, sizeof(path), "%s/class/block/%s", sysfs__root(), name);
	if (!realpath(path, real))
		return;
	sysfs__path_pci(real, bdf);
	if (bdf[0]) {
		enum elig_reason why = ELIG_IN_USE;

		if (boot)
			why = via_usb(real, bdf) ? ELIG_BOOT_USB : ELIG_BOOT_DISK;
		add_use(f, bdf, why, what);
		return;
	}
	sysfs__fmt(path, sizeof(path), "%s/class/block/%s/slaves", sysfs__root(), name);
	dir = opendir(path);
	if (!dir) {
		/* a partition's slaves are its disk's */
		sysfs__fmt(path, sizeof(path), "%s/..", real);
		if (realpath(path, real) && strcmp(strrchr(real, '/') + 1, name))
			block_uses(f, strrchr(real, '/') + 1, what, boot, depth + 1);
		return;
	}
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			block_uses(f, e->d_name, what, boot, depth + 1);
	closedir(dir);
}

/* the name in /sys/class/block of the block device MAJ:MIN */
static bool block_name(const char *majmin, char *name, size_t len)
{
	char path[PATH_MAX], real[PATH_MAX];

	sysfs__fmt(path, sizeof(path), "%s/dev/block/%s", sysfs__root(), majmin);
	if (!realpath(path, real))
		return false;
	snprintf(name, len, "%s", strrchr(real, '/') + 1);
	return true;
}

static bool is_boot_mount(const char *mnt)
{
	return !strcmp(mnt, "/") || !strcmp(mnt, "/boot") || !strcmp(mnt, "/boot/efi") ||
	       !strcmp(mnt, "/usr");
}

static void read_mounts(struct host_facts *f)
{
	char path[PATH_MAX], line[4096];
	FILE *fp;

	/* mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
	sysfs__fmt(path, sizeof(path), "%s/self/mountinfo", procfs__root());
	fp = fopen(path, "re");
	if (fp) {
		while (fgets(line, sizeof(line), fp)) {
			char majmin[32], mnt[1024], name[256], what[160], src[1024], dev[PATH_MAX];
			const char *sep = strstr(line, " - ");
			unsigned int maj = 0;

			if (sscanf(line, "%*s %*s %31s %*s %1023s", majmin, mnt) != 2)
				continue;
			if (sscanf(majmin, "%u:", &maj) == 1 && maj &&
			    block_name(majmin, name, sizeof(name))) {
				/* the device number names the block device */
			} else if (sep && sscanf(sep, " - %*s %1023s", src) == 1 &&
				   !strncmp(src, "/dev/", 5)) {
				/* btrfs and others report an anonymous device
				 * number: the mount source names the device
				 * (/dev/mapper/x is a link to /dev/dm-N) */
				const char *base = realpath(src, dev) ? dev : src;

				snprintf(name, sizeof(name), "%s", strrchr(base, '/') + 1);
			} else {
				continue;
			}
			sysfs__fmt(what, sizeof(what), "%s is mounted from %s", mnt, name);
			block_uses(f, name, what, is_boot_mount(mnt), 0);
		}
		fclose(fp);
	}

	/* swaps: FILENAME TYPE ...; a swap file is on a mounted filesystem */
	sysfs__fmt(path, sizeof(path), "%s/swaps", procfs__root());
	fp = fopen(path, "re");
	if (fp) {
		while (fgets(line, sizeof(line), fp)) {
			char file[1024], type[32], what[160];

			if (sscanf(line, "%1023s %31s", file, type) != 2 ||
			    strcmp(type, "partition") || strncmp(file, "/dev/", 5))
				continue;
			sysfs__fmt(what, sizeof(what), "%s is active swap", file + 5);
			block_uses(f, strrchr(file, '/') + 1, what, false, 0);
		}
		fclose(fp);
	}
}

static void read_netdevs(struct host_facts *f)
{
	char path[PATH_MAX], real[PATH_MAX], buf[64];
	struct dirent *e;
	DIR *dir;

	sysfs__fmt(path, sizeof(path), "%s/class/net", sysfs__root());
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char bdf[PCI_BDF_LEN], what[160];
		unsigned long flags;

		if (e->d_name[0] == '.')
			continue;
		sysfs__fmt(path, sizeof(path), "%s/class/net/%s", sysfs__root(), e->d_name);
		if (!realpath(path, real))
			continue;
		sysfs__path_pci(real, bdf);
		sysfs__fmt(path, sizeof(path), "%s/class/net/%s/flags", sysfs__root(), e->d_name);
		if (!bdf[0] || sysfs__read_str(path, buf, sizeof(buf)))
			continue;
		flags = strtoul(buf, NULL, 16);
		if (!(flags & 1))	/* IFF_UP */
			continue;
		sysfs__fmt(what, sizeof(what), "network interface %s is up", e->d_name);
		add_use(f, bdf, ELIG_IN_USE, what);
	}
	closedir(dir);
}

static void read_consoles(struct host_facts *f, const struct host_pci *h)
{
	char path[PATH_MAX], real[PATH_MAX], active[256], *save = NULL;
	bool vt = false;

	for (unsigned int i = 0; i < h->nr; i++)
		if (h->devs[i].boot_vga)
			add_use(f, h->devs[i].bdf, ELIG_CONSOLE, "the boot VGA device");

	sysfs__fmt(path, sizeof(path), "%s/class/tty/console/active", sysfs__root());
	if (sysfs__read_str(path, active, sizeof(active)))
		return;
	for (char *w = strtok_r(active, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char bdf[PCI_BDF_LEN], what[160];

		if (!strncmp(w, "tty", 3) && (!w[3] || isdigit((unsigned char)w[3])))
			vt = true;
		if (strchr(w, '/') || w[0] == '.')
			continue;
		sysfs__fmt(path, sizeof(path), "%s/class/tty/%s/device", sysfs__root(), w);
		if (!realpath(path, real))
			continue;
		sysfs__path_pci(real, bdf);
		sysfs__fmt(what, sizeof(what), "the serial console %s", w);
		if (bdf[0])
			add_use(f, bdf, ELIG_CONSOLE, what);
	}
	/* the virtual terminals draw on a framebuffer: its GPU is the console */
	sysfs__fmt(path, sizeof(path), "%s/class/graphics/fb0/device", sysfs__root());
	if (vt && realpath(path, real)) {
		char bdf[PCI_BDF_LEN];

		sysfs__path_pci(real, bdf);
		if (bdf[0])
			add_use(f, bdf, ELIG_CONSOLE, "the framebuffer console fb0");
	}
}

int host_facts__gather(struct host_facts *f, const struct host_pci *h)
{
	memset(f, 0, sizeof(*f));
	read_iommus(f);
	read_ir(f);
	read_mounts(f);
	read_netdevs(f);
	read_consoles(f, h);
	return 0;
}

void host_facts__free(struct host_facts *f)
{
	free(f->uses);
	memset(f, 0, sizeof(*f));
}

pid_t host_facts__vfio_user(int group, char *comm, size_t len)
{
	char path[PATH_MAX], want[64], target[PATH_MAX];
	struct dirent *p;
	pid_t found = 0;
	DIR *proc;

	sysfs__fmt(want, sizeof(want), "/dev/vfio/%d", group);
	proc = opendir(procfs__root());
	if (!proc)
		return 0;
	while (!found && (p = readdir(proc))) {
		struct dirent *fd;
		DIR *fds;
		char *end;
		long pid = strtol(p->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		sysfs__fmt(path, sizeof(path), "%s/%ld/fd", procfs__root(), pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fd = readdir(fds))) {
			ssize_t n;

			if (fd->d_name[0] == '.')
				continue;
			sysfs__fmt(path, sizeof(path), "%s/%ld/fd/%s", procfs__root(), pid, fd->d_name);
			n = readlink(path, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = 0;
			if (!strcmp(target, want)) {
				found = pid;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
	if (found) {
		sysfs__fmt(path, sizeof(path), "%s/%d/comm", procfs__root(), found);
		if (sysfs__read_str(path, comm, len))
			sysfs__fmt(comm, len, "?");
	}
	return found;
}

/* ---- the reasons ---- */

bool eligibility__driver_is_vfio(const char *driver)
{
	/* vfio-pci and its variant drivers (mlx5_vfio_pci, ...) */
	return !strcmp(driver, "vfio-pci") || strstr(driver, "vfio") != NULL;
}

static bool in_list(const char *bdf, char *const *list, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		if (!strcmp(list[i], bdf))
			return true;
	return false;
}

/*
 * A group member that keeps the group from being given to user space: the
 * kernel (6.1's DMA ownership) accepts members that are unbound or whose
 * driver manages no DMA of its own: vfio-pci (and variants), pci-stub, and
 * pcieport on PCIe ports.
 */
static bool member_ok(const struct host_pci_dev *m)
{
	if (!m->driver[0] || eligibility__driver_is_vfio(m->driver) ||
	    !strcmp(m->driver, "pci-stub"))
		return true;
	return host_pci__is_bridge(m) && !strcmp(m->driver, "pcieport");
}

bool eligibility__bus_reset(const struct host_pci *h, const struct host_pci_dev *d,
			    char *why, size_t len)
{
	char others[160] = "";
	unsigned int n = 0;

	if (d->resets & PCI_RESET_BUS) {
		sysfs__fmt(why, len, "the kernel can reset bus %04x:%02x (behind %s) for it alone",
			 d->domain, d->bus, d->parent[0] ? d->parent : "?");
		return true;
	}
	if (!d->parent[0]) {
		sysfs__fmt(why, len, "%04x:%02x is a root bus, which has no bridge to reset it",
			 d->domain, d->bus);
		return false;
	}
	for (unsigned int i = 0; i < h->nr; i++) {
		const struct host_pci_dev *o = &h->devs[i];
		size_t l = strlen(others);

		if (o == d || o->domain != d->domain || o->bus != d->bus)
			continue;
		if (n++ < 4)
			sysfs__fmt(others + l, sizeof(others) - l, "%s%s", l ? ", " : "",
				 pci_bdf__short(o->bdf));
	}
	if (n) {
		sysfs__fmt(why, len, "bus %04x:%02x is shared with %s%s: a hot reset needs all of them in one VM",
			 d->domain, d->bus, others, n > 4 ? ", ..." : "");
		return false;
	}
	sysfs__fmt(why, len, "the bridge %s above it cannot reset its bus", d->parent);
	return false;
}

static void set(struct eligibility *e, enum elig_reason r, const char *brief, const char *text)
{
	if (e->mask & (1u << r))
		return;
	e->mask |= 1u << r;
	sysfs__fmt(e->brief[r], sizeof(e->brief[r]), "%s", brief);
	sysfs__fmt(e->text[r], sizeof(e->text[r]), "%s", text);
}

void eligibility__reasons(const struct host_pci *h, const struct host_pci_dev *d,
			const struct host_facts *f, char *const *vfio, unsigned int nr_vfio,
			struct eligibility *e)
{
	char brief[128], text[400], why[200];

	memset(e, 0, sizeof(*e));

	if (d->group < 0 || d->noiommu_group) {
		if (!f->iommu)
			set(e, ELIG_NO_IOMMU, "no IOMMU",
			    "the host has no IOMMU enabled, so a VM's DMA could reach all host memory; "
			    "turn on VT-d or AMD-Vi in the firmware and boot with intel_iommu=on "
			    "(or amd_iommu=on)");
		else if (d->noiommu_group)
			set(e, ELIG_NO_IOMMU, "no-IOMMU group",
			    "it is in a VFIO no-IOMMU group, which isolates nothing; "
			    "put it behind the host's IOMMU");
		else
			set(e, ELIG_NO_IOMMU, "not behind the IOMMU",
			    "it is in no IOMMU group: the host's IOMMU does not translate its DMA; "
			    "check the firmware's DMAR/IVRS tables or use another slot");
	} else if (f->ir == IR_OFF && !f->unsafe_interrupts) {
		set(e, ELIG_NO_IR, "no interrupt remapping",
		    "the host has no interrupt remapping, so vfio_iommu_type1 refuses the device "
		    "(a VM could forge MSIs); enable it (intremap=on, x2APIC in the firmware) or, "
		    "trusting the guest, load vfio_iommu_type1 with allow_unsafe_interrupts=1");
	}

	if (host_pci__is_bridge(d)) {
		sysfs__fmt(brief, sizeof(brief), "a bridge (%s)", pci_class__name(d->class));
		sysfs__fmt(text, sizeof(text), "it is a bridge (%s), which stays with the host; "
			 "pass through the devices behind it", pci_class__name(d->class));
		set(e, ELIG_BRIDGE, brief, text);
	}

	for (unsigned int i = 0; i < d->nr_members; i++) {
		const struct host_pci_dev *m = host_pci__find(h, d->members[i]);

		if (!m || m == d || member_ok(m) || in_list(m->bdf, vfio, nr_vfio))
			continue;
		sysfs__fmt(brief, sizeof(brief), "group %d not viable: %s is on %s", d->group,
			 pci_bdf__short(m->bdf), m->driver);
		sysfs__fmt(text, sizeof(text), "IOMMU group %d is not viable: %s is bound to %s; "
			 "pass it through too (enable --group) or unbind it", d->group, m->bdf,
			 m->driver);
		set(e, ELIG_GROUP, brief, text);
		break;
	}

	for (unsigned int i = 0; i < f->nr_uses; i++) {
		const struct host_use *u = &f->uses[i];

		if (strcmp(u->bdf, d->bdf))
			continue;
		switch (u->why) {
		case ELIG_BOOT_DISK:
			sysfs__fmt(brief, sizeof(brief), "the host's boot disk (%s)", u->what);
			sysfs__fmt(text, sizeof(text), "it is the host's boot disk controller (%s); "
				 "the host cannot give it away", u->what);
			break;
		case ELIG_BOOT_USB:
			sysfs__fmt(brief, sizeof(brief), "the USB controller the host boots from (%s)",
				 u->what);
			sysfs__fmt(text, sizeof(text), "it is the USB controller the host boots from "
				 "(%s); the host cannot give it away (pass through another USB controller)",
				 u->what);
			break;
		case ELIG_CONSOLE:
			sysfs__fmt(brief, sizeof(brief), "the host's console (%s)", u->what);
			sysfs__fmt(text, sizeof(text), "it is the host's console (%s); move the console "
				 "elsewhere (console=, another GPU) first", u->what);
			break;
		default:
			sysfs__fmt(brief, sizeof(brief), "in use by the host (%s)", u->what);
			sysfs__fmt(text, sizeof(text), "it is in use by the host: %s; stop using it "
				 "(umount, swapoff, ip link set DEV down) first", u->what);
			break;
		}
		set(e, u->why, brief, text);
	}

	if (!d->resets && !d->has_reset && !host_pci__is_bridge(d)) {
		eligibility__bus_reset(h, d, why, sizeof(why));
		sysfs__fmt(text, sizeof(text), "it has no reset method (no FLR, no PM reset, no bus "
			 "reset: %s); a VM needs allow-no-reset for it, and it keeps its state "
			 "from one VM to the next", why);
		set(e, ELIG_NO_RESET, "no reset method", text);
	}
}

int eligibility__check(const struct host_pci *h, const struct host_pci_dev *d,
		       bool allow_no_reset, char *why, size_t len)
{
	struct host_facts f;
	struct eligibility e;
	int r;

	host_facts__gather(&f, h);
	eligibility__reasons(h, d, &f, NULL, 0, &e);
	host_facts__free(&f);
	r = eligibility__first_blocking(&e);
	if (r >= 0) {
		sysfs__fmt(why, len, "%s cannot be passed through: %s", d->bdf, e.text[r]);
		return -1;
	}
	if (!allow_no_reset && (e.mask & (1u << ELIG_NO_RESET))) {
		sysfs__fmt(why, len, "%s cannot be passed through: %s; add allow-no-reset to "
			     "accept that", d->bdf, e.text[ELIG_NO_RESET]);
		return -1;
	}
	return 0;
}

int eligibility__first_blocking(const struct eligibility *e)
{
	for (int r = 0; r < NR_ELIG_REASONS; r++)
		if ((e->mask & ELIG_BLOCKING) & (1u << r))
			return r;
	return -1;
}

const char *eligibility__code(enum elig_reason r)
{
	static const char *const codes[] = {
		[ELIG_NO_IOMMU] = "no-iommu", [ELIG_NO_IR] = "no-interrupt-remapping",
		[ELIG_BRIDGE] = "bridge", [ELIG_GROUP] = "group-not-viable",
		[ELIG_BOOT_DISK] = "boot-disk", [ELIG_CONSOLE] = "console",
		[ELIG_BOOT_USB] = "boot-usb", [ELIG_IN_USE] = "in-use",
		[ELIG_NO_RESET] = "no-reset",
	};

	return (unsigned int)r < ARRAY_SIZE(codes) ? codes[r] : "?";
}
