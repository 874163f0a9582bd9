/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI configuration space: mechanism #1 (ports 0xcf8/0xcfc, the first 256
 * bytes) and ECAM (MMIO, all 4 KiB), device lookup, capabilities and BARs.
 * A bdf is bus << 8 | device << 3 | function.
 */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include "io.h"

#define PCI_BDF(b, d, f)	((u16)((b) << 8 | (d) << 3 | (f)))
#define PCI_BUS(bdf)		((bdf) >> 8)
#define PCI_DEV(bdf)		(((bdf) >> 3) & 0x1f)
#define PCI_FN(bdf)		((bdf) & 7)

#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_IO		(1 << 0)
#define  PCI_COMMAND_MEMORY	(1 << 1)
#define  PCI_COMMAND_MASTER	(1 << 2)
#define  PCI_COMMAND_INTX_OFF	(1 << 10)
#define PCI_STATUS		0x06
#define  PCI_STATUS_CAP_LIST	(1 << 4)
#define PCI_CLASS_REV		0x08
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SECONDARY_BUS	0x19	/* type 1 headers */
#define PCI_SUBSYS_ID		0x2e
#define PCI_CAP_PTR		0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_CAP_MSI		0x05
#define PCI_CAP_VENDOR		0x09
#define PCI_CAP_MSIX		0x11

#define PCI_MSIX_CTRL		2	/* from the capability */
#define  PCI_MSIX_ENABLE	(1 << 15)
#define  PCI_MSIX_MASKALL	(1 << 14)
#define PCI_MSIX_TABLE		4
#define PCI_MSIX_PBA		8

/* mechanism #1; off < 256 */
u32 pci_read32(u16 bdf, u16 off);
u16 pci_read16(u16 bdf, u16 off);
u8 pci_read8(u16 bdf, u16 off);
void pci_write32(u16 bdf, u16 off, u32 v);
void pci_write16(u16 bdf, u16 off, u16 v);
void pci_write8(u16 bdf, u16 off, u8 v);

/* ECAM; off < 4096 */
#define PCI_ECAM_DEFAULT	0xe0000000
extern u32 pci_ecam_base;
static inline u32 pci_ecam_addr(u16 bdf, u16 off)
{
	return pci_ecam_base + ((u32)bdf << 12) + (off & 0xfff);
}
static inline u32 pci_ecam_read32(u16 bdf, u16 off)
{
	return mmio_read32(pci_ecam_addr(bdf, off));
}
static inline void pci_ecam_write32(u16 bdf, u16 off, u32 v)
{
	mmio_write32(pci_ecam_addr(bdf, off), v);
}

/* call fn for every function present (bus 0 and buses behind bridges);
 * fn returns true to stop; returns true if stopped */
bool pci_scan(bool (*fn)(u16 bdf, void *arg), void *arg);
/* the first function with this vendor:device; false if none */
bool pci_find(u16 vendor, u16 device, u16 *bdf);
/* offset of the first capability with this id, 0 if none */
u8 pci_find_cap(u16 bdf, u8 id);
/* BAR n's address (64-bit BARs combined) and size (probed, decode off
 * meanwhile); an I/O BAR's address is a port */
u64 pci_bar_addr(u16 bdf, unsigned int bar);
u64 pci_bar_size(u16 bdf, unsigned int bar);
bool pci_bar_is_io(u16 bdf, unsigned int bar);

#endif
