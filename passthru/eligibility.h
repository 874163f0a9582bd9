/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_PASSTHRU_ELIGIBILITY_H
#define DPVM_PASSTHRU_ELIGIBILITY_H

/*
 * Why a host PCI function cannot be passed through to a VM.
 *
 * Two kinds of fact decide it: the function's own (sysfs.h) and the host's,
 * gathered once by host_facts__gather():
 *
 *   IOMMU            /sys/class/iommu/ has an entry (dmar0, ivhd0, ...)
 *   interrupt        /proc/interrupts: with remapping on, the kernel names the
 *   remapping        IO-APIC and MSI chips "IR-IO-APIC" and "IR-PCI-MSI"
 *                    (both Intel and AMD); without it "IO-APIC", "PCI-MSI".
 *                    This is what vfio_iommu_type1 itself depends on (the
 *                    IOMMU's IOMMU_CAP_INTR_REMAP is "remapping enabled"),
 *                    where the IOMMU's capability registers (Intel's ecap
 *                    bit 3, also read) only say the hardware could.  Its
 *                    allow_unsafe_interrupts=Y parameter lifts the need.
 *   host use         the root filesystem's disk (and /boot, /boot/efi, /usr),
 *                    through device-mapper and md slaves, names its
 *                    controller, or the USB controller when the path goes
 *                    through usbN; the boot VGA device, the serial console's
 *                    PCI UART and the framebuffer console's GPU are the
 *                    console; other mounted disks, active swap and network
 *                    interfaces that are up make a function in use.
 */
#include "passthru/sysfs.h"

#include <sys/types.h>

enum elig_reason {
	ELIG_NO_IOMMU,		/* no IOMMU group (or a no-IOMMU one) */
	ELIG_NO_IR,		/* no interrupt remapping, unsafe interrupts not allowed */
	ELIG_BRIDGE,		/* bridges stay with the host (vfio-pci refuses them) */
	ELIG_GROUP,		/* another group member is on a host driver */
	ELIG_BOOT_DISK,		/* the controller of the host's boot disk */
	ELIG_CONSOLE,		/* the host's console: boot VGA, serial console, fbcon */
	ELIG_BOOT_USB,		/* the USB controller the host boots from */
	ELIG_IN_USE,		/* a mounted disk, active swap or an up interface behind it */
	ELIG_NO_RESET,		/* no reset method: allowed only with allow-no-reset */
	NR_ELIG_REASONS
};

/* every reason but ELIG_NO_RESET keeps `dpvm host passthru enable` away */
#define ELIG_BLOCKING	(((1u << NR_ELIG_REASONS) - 1) & ~(1u << ELIG_NO_RESET))

enum ir_state { IR_UNKNOWN, IR_OFF, IR_ON };

struct host_use {
	char bdf[PCI_BDF_LEN];
	enum elig_reason why;	/* ELIG_BOOT_DISK, _CONSOLE, _BOOT_USB or _IN_USE */
	char what[160];		/* "/ is on sda2", "interface eth0 is up", ... */
};

struct host_facts {
	bool iommu;			/* an IOMMU is enabled */
	char iommu_name[64];		/* the first one: "dmar0" */
	enum ir_state ir;
	bool ir_capable;		/* Intel ecap says the hardware can remap */
	bool unsafe_interrupts;		/* vfio_iommu_type1 allow_unsafe_interrupts=Y */
	bool type1_loaded;		/* vfio_iommu_type1 is loaded */
	struct host_use *uses;
	unsigned int nr_uses;
};

int host_facts__gather(struct host_facts *f, const struct host_pci *h);
void host_facts__free(struct host_facts *f);

struct eligibility {
	unsigned int mask;				/* 1 << enum elig_reason */
	char brief[NR_ELIG_REASONS][128];		/* for `pci list` */
	char text[NR_ELIG_REASONS][400];		/* cause and fix, for errors */
};

/*
 * The reasons d cannot be passed through.  vfio[] lists the functions that
 * are about to be bound to vfio-pci with it (`enable BDF...`, `--group`):
 * group members among them do not make the group unviable.
 */
void eligibility__reasons(const struct host_pci *h, const struct host_pci_dev *d,
			const struct host_facts *f, char *const *vfio, unsigned int nr_vfio,
			struct eligibility *e);
/*
 * For a VM at power-on: can d be passed through now?  Gathers the host's
 * facts itself.  0 if so; else -1 and in why one sentence naming d, the
 * first reason and its fix.  A missing reset method counts unless
 * allow_no_reset.  (d's driver is the caller's business: vfio-pci.)
 */
int eligibility__check(const struct host_pci *h, const struct host_pci_dev *d,
		       bool allow_no_reset, char *why, size_t len);

/* the first blocking reason, or -1 */
int eligibility__first_blocking(const struct eligibility *e);
/* "no-iommu", "group-not-viable", ... for --json */
const char *eligibility__code(enum elig_reason r);
bool eligibility__driver_is_vfio(const char *driver);

/* can a secondary bus (or slot) reset reach d alone?  why not, in words */
bool eligibility__bus_reset(const struct host_pci *h, const struct host_pci_dev *d,
			    char *why, size_t len);

/*
 * A process with /dev/vfio/GROUP open (QEMU, another VMM): unbinding
 * vfio-pci would block until it lets go.  Returns its pid and fills comm,
 * or 0 when none does.
 */
pid_t host_facts__vfio_user(int group, char *comm, size_t len);

#endif
