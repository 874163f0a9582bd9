/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_PASSTHRU_SYSFS_H
#define DPVM_PASSTHRU_SYSFS_H

/*
 * The host's PCI functions as sysfs shows them, and the few sysfs writes that
 * move a function between drivers.
 *
 * Every path is under the sysfs root, "/sys" unless $DPVM_SYSFS_ROOT names
 * another directory, and /proc is "/proc" unless $DPVM_PROC_ROOT does: the
 * unit tests build a fake tree in a temporary directory and point both there.
 *
 * What is read, per function (/sys/bus/pci/devices/BDF/...):
 *   vendor device subsystem_vendor subsystem_device class   the ids
 *   config (byte 0x0e)                 the header type (bridges are type 1/2)
 *   driver -> .../drivers/NAME         the bound driver, if any
 *   driver_override                    the driver the next probe must use
 *   iommu_group -> .../iommu_groups/N  the group; its devices/ are the members
 *   reset_method                       the reset methods the kernel will try,
 *                                      in order ("flr bus"); absent when the
 *                                      kernel has none, or is older than 5.15
 *                                      (then only `reset` tells that one exists)
 *   resource                           the BARs (lines 0-5) and the ROM (line 6)
 *   boot_vga                           1 on the VGA device the firmware used
 *   the directory's real path          the upstream bridge (its parent), and
 *                                      what hangs below it (disks, NICs)
 */
#include "vmm/types.h"

/* "0000:03:00.0" with room for the 5-digit domains of VMD */
#define PCI_BDF_LEN	16
#define PCI_DRIVER_LEN	64

/*
 * "0000:03:00.0" or "03:00.0" (domain 0), hex digits in either case, to the
 * canonical lower-case full form.  Returns 0, or -EINVAL if s is not a PCI
 * address (two-digit bus and device, device < 0x20, function 0-7).
 */
int pci_bdf__parse(const char *s, char bdf[PCI_BDF_LEN]);
/* the short form for tables: "03:00.0" in domain 0, else the full form */
const char *pci_bdf__short(const char *bdf);

/* the reset methods of reset_method, as bits */
enum {
	PCI_RESET_FLR		= 1 << 0,	/* "flr": PCIe function level reset */
	PCI_RESET_AF_FLR	= 1 << 1,	/* "af_flr": conventional PCI AF FLR */
	PCI_RESET_PM		= 1 << 2,	/* "pm": D3hot -> D0 with No_Soft_Reset clear */
	PCI_RESET_BUS		= 1 << 3,	/* "bus": secondary bus / slot reset */
	PCI_RESET_OTHER		= 1 << 4,	/* "device_specific", "acpi", "cxl_bus" */
};

enum { PCI_BAR_ROM = 6, PCI_NR_BARS = 7 };

/* IORESOURCE_* flags of the `resource` file */
#define HOST_RES_IO		0x00000100ULL
#define HOST_RES_MEM		0x00000200ULL
#define HOST_RES_PREFETCH	0x00002000ULL
#define HOST_RES_MEM_64		0x00100000ULL

struct host_bar {
	u64 start, size, flags;	/* size 0: the BAR is not implemented */
};

struct host_pci_dev {
	char bdf[PCI_BDF_LEN];
	u32 domain;
	u8 bus, slot, fn;
	u16 vendor, device, subsys_vendor, subsys_device;
	u32 class;			/* 24 bits: base, sub, prog-if */
	u8 header_type;			/* 0 normal, 1 PCI bridge, 2 CardBus */
	int group;			/* IOMMU group, -1 if none */
	bool noiommu_group;		/* a VFIO no-IOMMU group: no isolation */
	char driver[PCI_DRIVER_LEN];	/* "" when unbound */
	char override[PCI_DRIVER_LEN];	/* driver_override, "" when unset */
	unsigned int resets;		/* PCI_RESET_* from reset_method */
	char reset_methods[128];	/* reset_method as read, "" if none */
	bool has_reset;			/* the `reset` file exists */
	bool boot_vga;
	struct host_bar bars[PCI_NR_BARS];
	char parent[PCI_BDF_LEN];	/* the upstream bridge, "" on a root bus */
	char *path;			/* real path of its sysfs directory */
	char **members;			/* its IOMMU group's PCI functions, itself too */
	unsigned int nr_members;
};

/* every PCI function of the host, sorted by address */
struct host_pci {
	struct host_pci_dev *devs;
	unsigned int nr;
};

const char *sysfs__root(void);
const char *procfs__root(void);

/* Scan every function; -errno (and a message) if sysfs cannot be read. */
int host_pci__scan(struct host_pci *h);
void host_pci__free(struct host_pci *h);
struct host_pci_dev *host_pci__find(const struct host_pci *h, const char *bdf);
/* type-1/2 header or a bridge class (0x06xx): stays with the host */
bool host_pci__is_bridge(const struct host_pci_dev *d);
/* "Ethernet controller", "VGA compatible controller", ... */
const char *pci_class__name(u32 class);

/* the current driver of bdf into buf ("" if none); -errno if bdf is gone */
int host_pci__driver(const char *bdf, char *buf, size_t len);
bool host_pci__driver_loaded(const char *driver);

/*
 * The writes that move a function between drivers.  Each returns 0 or
 * -errno; none prints.  driver NULL or "" clears driver_override.
 */
int host_pci__set_override(const char *bdf, const char *driver);
int host_pci__unbind(const char *bdf);			/* from its driver, if any */
int host_pci__probe(const char *bdf);			/* /sys/bus/pci/drivers_probe */
int host_pci__bind(const char *bdf, const char *driver); /* drivers/DRIVER/bind */

/* small helpers shared with eligibility.c and host.c */
/* snprintf for paths and messages: 0, or -ENAMETOOLONG when cut short */
int sysfs__fmt(char *buf, size_t len, const char *fmt, ...) __printf(3, 4);
int sysfs__read_str(const char *path, char *buf, size_t len);	/* one line, trimmed */
int sysfs__write(const char *path, const char *val);
/* the PCI function nearest to the end of a sysfs device path, "" if none */
void sysfs__path_pci(const char *path, char bdf[PCI_BDF_LEN]);

#endif
