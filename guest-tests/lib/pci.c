// SPDX-License-Identifier: GPL-2.0
/* PCI configuration space, lookup, capabilities and BARs (see pci.h). */
#include "guest.h"

#define PCI_CONFIG_ADDR	0xcf8
#define PCI_CONFIG_DATA	0xcfc

u32 pci_ecam_base = PCI_ECAM_DEFAULT;

static void select(u16 bdf, u16 off)
{
	outl(PCI_CONFIG_ADDR, 0x80000000 | (u32)bdf << 8 | (off & 0xfc));
}

u32 pci_read32(u16 bdf, u16 off)
{
	select(bdf, off);
	return inl(PCI_CONFIG_DATA);
}

u16 pci_read16(u16 bdf, u16 off)
{
	select(bdf, off);
	return inw(PCI_CONFIG_DATA + (off & 2));
}

u8 pci_read8(u16 bdf, u16 off)
{
	select(bdf, off);
	return inb(PCI_CONFIG_DATA + (off & 3));
}

void pci_write32(u16 bdf, u16 off, u32 v)
{
	select(bdf, off);
	outl(PCI_CONFIG_DATA, v);
}

void pci_write16(u16 bdf, u16 off, u16 v)
{
	select(bdf, off);
	outw(PCI_CONFIG_DATA + (off & 2), v);
}

void pci_write8(u16 bdf, u16 off, u8 v)
{
	select(bdf, off);
	outb(PCI_CONFIG_DATA + (off & 3), v);
}

static bool scan_bus(unsigned int bus, unsigned int depth,
		     bool (*fn)(u16 bdf, void *arg), void *arg)
{
	for (unsigned int dev = 0; dev < 32; dev++) {
		for (unsigned int f = 0; f < 8; f++) {
			u16 bdf = PCI_BDF(bus, dev, f);
			u8 hdr;

			if (pci_read16(bdf, PCI_VENDOR_ID) == 0xffff) {
				if (f == 0)
					break;
				continue;
			}
			if (fn(bdf, arg))
				return true;
			hdr = pci_read8(bdf, PCI_HEADER_TYPE);
			if ((hdr & 0x7f) == 1 && depth < 8) {
				u8 sec = pci_read8(bdf, PCI_SECONDARY_BUS);

				if (sec > bus && scan_bus(sec, depth + 1, fn, arg))
					return true;
			}
			if (f == 0 && !(hdr & 0x80))
				break;	/* single-function device */
		}
	}
	return false;
}

bool pci_scan(bool (*fn)(u16 bdf, void *arg), void *arg)
{
	return scan_bus(0, 0, fn, arg);
}

struct find_arg {
	u16 vendor, device, bdf;
};

static bool match(u16 bdf, void *arg)
{
	struct find_arg *a = arg;

	if (pci_read16(bdf, PCI_VENDOR_ID) != a->vendor ||
	    pci_read16(bdf, PCI_DEVICE_ID) != a->device)
		return false;
	a->bdf = bdf;
	return true;
}

bool pci_find(u16 vendor, u16 device, u16 *bdf)
{
	struct find_arg a = { vendor, device, 0 };

	if (!pci_scan(match, &a))
		return false;
	*bdf = a.bdf;
	return true;
}

u8 pci_find_cap(u16 bdf, u8 id)
{
	u8 pos;

	if (!(pci_read16(bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = pci_read8(bdf, PCI_CAP_PTR) & 0xfc;
	/* at most 48 capabilities fit: a longer chain is a loop */
	for (unsigned int i = 0; pos >= 0x40 && i < 48; i++) {
		if (pci_read8(bdf, pos) == id)
			return pos;
		pos = pci_read8(bdf, pos + 1) & 0xfc;
	}
	return 0;
}

bool pci_bar_is_io(u16 bdf, unsigned int bar)
{
	return pci_read32(bdf, PCI_BAR0 + 4 * bar) & 1;
}

static bool bar_is_64(u32 v)
{
	return !(v & 1) && (v & 6) == 4;
}

u64 pci_bar_addr(u16 bdf, unsigned int bar)
{
	u32 lo = pci_read32(bdf, PCI_BAR0 + 4 * bar);

	if (lo & 1)
		return lo & ~3u;
	if (bar_is_64(lo) && bar < 5)
		return (lo & ~0xfu) | (u64)pci_read32(bdf, PCI_BAR0 + 4 * (bar + 1)) << 32;
	return lo & ~0xfu;
}

u64 pci_bar_size(u16 bdf, unsigned int bar)
{
	u16 off = PCI_BAR0 + 4 * bar, cmd = pci_read16(bdf, PCI_COMMAND);
	u32 lo = pci_read32(bdf, off), hi = 0, szlo, szhi = 0xffffffff;
	bool is64 = bar_is_64(lo) && bar < 5;
	u64 mask;

	pci_write16(bdf, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	pci_write32(bdf, off, 0xffffffff);
	szlo = pci_read32(bdf, off);
	pci_write32(bdf, off, lo);
	if (is64) {
		hi = pci_read32(bdf, off + 4);
		pci_write32(bdf, off + 4, 0xffffffff);
		szhi = pci_read32(bdf, off + 4);
		pci_write32(bdf, off + 4, hi);
	}
	pci_write16(bdf, PCI_COMMAND, cmd);

	if (lo & 1) {
		mask = szlo & ~3u;
		return mask ? (~(mask | 0xffff0000u) + 1) & 0xffff : 0;	/* 16-bit I/O */
	}
	mask = (szlo & ~0xfu) | (is64 ? (u64)szhi << 32 : 0);
	if (!mask)
		return 0;	/* not implemented */
	if (!is64)
		mask |= 0xffffffff00000000ULL;
	return ~mask + 1;
}
