/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_PASSTHRU_H
#define DPVM_PASSTHRU_H

#include "devices/pci.h"
#include "vmm/vm.h"
#include "vmm/types.h"

#include <linux/vfio.h>

struct vm;
struct vfio_container;

/*
 * DirectPath I/O: a host PCI function assigned to the guest through VFIO.
 *
 * pci-passthrough.c reads top to bottom in power-on order (claim, IOMMU
 * group and container, DMA mapping of guest RAM, the device, its config
 * space, BARs and interrupts) and tears down in exactly the reverse order,
 * with a PCI function reset that clears pending DMA before guest RAM is
 * unmapped from the IOMMU and the group is detached.
 */
#define PASSTHRU_MAX_PER_VM	6	/* the seeds' DirectPath limit; see passthru.conf */
#define PASSTHRU_MAX_PER_HOST	8

/* one BAR's host side */
struct passthru_bar {
	u64 size;
	u64 region_offset;	/* of the VFIO region in the device fd */
	u32 region_flags;
	void *map;		/* mmap of the whole region, or NULL */
	/* mmap-able areas (sparse mmap), each a KVM slot when the BAR is mapped */
	unsigned int nr_areas;
	struct {
		u64 offset, size;
		int slot;
	} areas[8];
	bool trapped;		/* parts are trapped (MSI-X table, or not mmap-able) */
};

struct passthru_vector {
	int efd;		/* VFIO signals it */
	int gsi;		/* KVM MSI route, -1 if none */
	bool irqfd;		/* attached to KVM (unmasked) */
	bool polled;		/* watched by the main loop (masked) */
};

struct passthru_dev {
	struct pci_dev pci;
	struct vm *vm;
	char bdf[16];		/* 0000:03:00.0 */
	char *where;		/* the config entry, for messages */
	u16 vendor, device;
	bool rombar, allow_no_reset;
	int claim_fd;
	struct vfio_container *container;
	int group;		/* IOMMU group number */
	int fd;			/* VFIO device fd */
	struct vfio_device_info info;
	u64 cfg_offset;		/* config space region */
	u32 cfg_size;
	u8 virt[PCI_CFG_SIZE];	/* 1: byte of config space emulated by dpvm */
	struct passthru_bar bars[PCI_NR_BARS + 1];
	/* interrupts */
	int intx_efd, intx_resample_efd;
	bool intx_on;
	enum passthru_irq_mode { IRQ_NONE, IRQ_INTX, IRQ_MSI, IRQ_MSIX } irq_mode;
	struct passthru_vector *vec;	/* MSI or MSI-X vectors */
	unsigned int nr_vec;
	u8 pcie_cap;
	char reset_method[128];	/* from sysfs, for the log */
	struct vm_device vd;
	struct passthru_dev *next;	/* in the VM's list */
};

/* vfio.c: the container (one per VM) and IOMMU groups */
int vfio__group_attach(struct vm *vm, int group, struct vfio_container **out, int *group_fd);
int vfio__map_guest_ram(struct vm *vm, struct vfio_container *c);
void vfio__group_detach(struct vm *vm, struct vfio_container *c, int group);
int vfio__group_fd(struct vfio_container *c, int group);

/* vfio-pci.c: one assigned function */
int vfio_pci__open(struct passthru_dev *p);
int vfio_pci__setup_config(struct passthru_dev *p);
int vfio_pci__setup_bars(struct passthru_dev *p);
int vfio_pci__setup_irqs(struct passthru_dev *p);
void vfio_pci__irqs_off(struct passthru_dev *p);
int vfio_pci__reset(struct passthru_dev *p, const char *why);
void vfio_pci__close(struct passthru_dev *p);

/* the lifecycle refusal: 0 if op may proceed, else -1 with *err naming the device */
int passthru__refuse(struct vm *vm, const char *op, char **err);
unsigned int passthru__count(struct vm *vm);

#endif
