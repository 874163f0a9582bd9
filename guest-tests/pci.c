// SPDX-License-Identifier: GPL-2.0
/*
 * PCI configuration space as a guest OS finds it:
 *  - the host bridge at 00:00.0, read the same through ports 0xcf8/0xcfc
 *    (32, 16 and 8 bits) and through ECAM; absent functions and buses read
 *    all-ones; the CF8 address register reads back; read-only registers
 *    ignore writes;
 *  - every function on the bus: ids and class the same both ways, a sane
 *    capability list, BARs placed inside dpvm's windows, aligned to their
 *    size, and still in place after sizing.
 * expect=VVVV:DDDD (repeatable as expect2=) requires such a function.
 */
#include "guest.h"

#define HOST_BRIDGE	0x1b36	/* Red Hat */
#define HOST_BRIDGE_DEV	0x0008	/* PCIe host bridge */

static bool in_window(u64 addr, u64 size, bool io)
{
	if (io)
		return addr >= 0xc000 && addr + size <= 0x10000;
	if (addr >= 0xc0000000 && addr + size <= 0xe0000000)
		return true;
	return addr >= 0x100000000ULL;	/* the 64-bit window, above RAM */
}

static unsigned int nr_funcs;
static u32 ids[32];

static bool visit(u16 bdf, void *arg)
{
	u32 id = pci_read32(bdf, PCI_VENDOR_ID), class = pci_read32(bdf, PCI_CLASS_REV) >> 8;
	u8 hdr = pci_read8(bdf, PCI_HEADER_TYPE) & 0x7f;

	(void)arg;
	printf("pci: %02x:%02x.%u %04x:%04x class %06x header %u\n", PCI_BUS(bdf), PCI_DEV(bdf),
	       PCI_FN(bdf), id & 0xffff, id >> 16, class, hdr);
	if (nr_funcs < ARRAY_SIZE(ids))
		ids[nr_funcs] = id;
	nr_funcs++;
	check(pci_ecam_read32(bdf, PCI_VENDOR_ID) == id &&
	      pci_ecam_read32(bdf, PCI_CLASS_REV) >> 8 == class,
	      "%02x.%u: ECAM agrees on ids and class", PCI_DEV(bdf), PCI_FN(bdf));

	if (pci_read16(bdf, PCI_STATUS) & PCI_STATUS_CAP_LIST) {
		u8 pos = pci_read8(bdf, PCI_CAP_PTR) & 0xfc;
		unsigned int n = 0;

		while (pos >= 0x40 && n < 48) {
			printf("pci:   capability %#x at %#x\n", pci_read8(bdf, pos), pos);
			pos = pci_read8(bdf, pos + 1) & 0xfc;
			n++;
		}
		check(pos == 0, "%02x.%u: the capability list ends (%u entries)", PCI_DEV(bdf),
		      PCI_FN(bdf), n);
	}
	if (hdr != 0)
		return false;
	for (unsigned int bar = 0; bar < 6; bar++) {
		u32 raw = pci_read32(bdf, PCI_BAR0 + 4 * bar);
		bool io = pci_bar_is_io(bdf, bar), is64 = !io && (raw & 6) == 4;
		u64 addr = pci_bar_addr(bdf, bar), size = pci_bar_size(bdf, bar);

		if (!size)
			continue;
		printf("pci:   BAR%u %s%s at %#llx, %llu bytes\n", bar, io ? "I/O" : "memory",
		       is64 ? " (64-bit)" : "", addr, size);
		check(!(size & (size - 1)) && !(addr & (size - 1)) && in_window(addr, size, io),
		      "%02x.%u: BAR%u is a power of two, aligned, inside dpvm's %s window",
		      PCI_DEV(bdf), PCI_FN(bdf), bar, io ? "I/O" : "MMIO");
		check(pci_bar_addr(bdf, bar) == addr, "%02x.%u: BAR%u keeps its address after sizing",
		      PCI_DEV(bdf), PCI_FN(bdf), bar);
		if (is64)
			bar++;
	}
	return false;
}

static void want(const char *key)
{
	char s[16];
	u32 v, d;
	bool found = false;

	if (!cmdline_str(key, s, sizeof(s)))
		return;
	if (strlen(s) != 9 || s[4] != ':') {
		printf("FAIL: %s=%s: give VVVV:DDDD in hex\n", key, s);
		exit_test(EXIT_USAGE);
	}
	v = d = 0;
	for (unsigned int i = 0; i < 9; i++) {
		char c = s[i];
		u32 x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;

		if (i == 4)
			continue;
		if (x > 15) {
			printf("FAIL: %s=%s: give VVVV:DDDD in lower-case hex\n", key, s);
			exit_test(EXIT_USAGE);
		}
		if (i < 4)
			v = v << 4 | x;
		else
			d = d << 4 | x;
	}
	for (unsigned int i = 0; i < nr_funcs && i < ARRAY_SIZE(ids); i++)
		if (ids[i] == (d << 16 | v))
			found = true;
	check(found, "a %04x:%04x function is present", v, d);
}

int main(void)
{
	u16 host = PCI_BDF(0, 0, 0), absent = PCI_BDF(0, 31, 7);
	u32 id, cf8;
	u16 cmd;

	id = pci_read32(host, PCI_VENDOR_ID);
	check(id == (HOST_BRIDGE_DEV << 16 | HOST_BRIDGE),
	      "00:00.0 is the host bridge %04x:%04x (read %04x:%04x)", HOST_BRIDGE,
	      HOST_BRIDGE_DEV, id & 0xffff, id >> 16);
	check(pci_read16(host, PCI_DEVICE_ID) == id >> 16 && pci_read8(host, 1) == ((id >> 8) & 0xff),
	      "16- and 8-bit reads at 0xcfe and 0xcfd agree with the 32-bit one");
	check(pci_read32(host, PCI_CLASS_REV) >> 16 == 0x0600, "its class is host bridge (0x0600)");
	check(pci_ecam_read32(host, PCI_VENDOR_ID) == id, "ECAM at %#x reads the same ids",
	      pci_ecam_base);

	outl(0xcf8, 0x80000010);
	cf8 = inl(0xcf8);
	check(cf8 == 0x80000010, "the CF8 address register reads back (%#x)", cf8);
	check(pci_read32(absent, PCI_VENDOR_ID) == 0xffffffff &&
	      pci_ecam_read32(absent, PCI_VENDOR_ID) == 0xffffffff,
	      "an absent function (00:1f.7) reads all-ones both ways");
	check(pci_ecam_read32(PCI_BDF(1, 0, 0), PCI_VENDOR_ID) == 0xffffffff &&
	      pci_read32(PCI_BDF(1, 0, 0), PCI_VENDOR_ID) == 0xffffffff,
	      "bus 1 is empty");

	pci_write32(host, PCI_VENDOR_ID, 0);
	check(pci_read32(host, PCI_VENDOR_ID) == id, "the ids ignore writes");
	cmd = pci_read16(host, PCI_COMMAND);
	pci_write16(host, PCI_COMMAND, cmd | PCI_COMMAND_MASTER);
	check(pci_read16(host, PCI_COMMAND) & PCI_COMMAND_MASTER, "the command register takes bus master");
	pci_write16(host, PCI_COMMAND, cmd);

	pci_scan(visit, NULL);
	check(nr_funcs >= 1, "%u function(s) found", nr_funcs);
	want("expect");
	want("expect2");
	return 0;
}
