// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest: pseudo-random writes and reads of every width to every
 * emulated device (port ranges, PCI config space of every function through
 * 0xCF8/0xCFC and ECAM, every BAR, moving BARs around) and to unclaimed
 * space.  dpvm must survive it: the program ends by putting COM1 back in
 * order and reporting, so a PASS means dpvm is still serving the guest.
 *
 *   seed=N      the generator's seed (default 1)
 *   rounds=N    accesses per target (default 2000)
 *
 * Left alone, because they end or reset the VM by design (that is their
 * job, not a crash): the exit port, pvpanic, the ACPI sleep-control and
 * reset registers, and the 8042's reset and output-port commands.
 */
#include "guest.h"
#include "io.h"
#include "pci.h"

static u32 rng_state;

static u32 rnd(void)
{
	/* xorshift32 */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static bool overlaps(u16 port, unsigned int len, u16 lo, u16 hi)
{
	return port <= hi && port + len - 1 >= lo;
}

/* a write of len bytes at port that would end or reset the VM */
static bool forbidden_port(u16 port, unsigned int len, u32 v)
{
	return overlaps(port, len, EXIT_PORT, EXIT_PORT + 3) ||
	       overlaps(port, len, 0x505, 0x505) ||		/* pvpanic */
	       overlaps(port, len, 0x604, 0x605) ||		/* PM1 control (S5) */
	       overlaps(port, len, 0x60c, 0x60c) ||		/* ACPI reset */
	       overlaps(port, len, 0xcf8, 0xcff) ||		/* PCI config: separately */
	       (port == 0x64 && ((v & 0xf0) == 0xf0 || (v & 0xff) == 0xd1 ||
				 (v & 0xff) == 0xfe));		/* 8042 reset, output port */
}

static void poke_port(u16 port)
{
	u32 v = rnd(), op = rnd() % 6;

	if (op < 3 && forbidden_port(port, 1u << op, v))
		return;
	switch (op) {
	case 0: outb(port, v); break;
	case 1: outw(port, v); break;
	case 2: outl(port, v); break;
	case 3: (void)inb(port); break;
	case 4: (void)inw(port); break;
	default: (void)inl(port); break;
	}
}

static void poke_mmio(u32 base, u32 size)
{
	u32 off = (rnd() % size) & ~3u, v = rnd();

	switch (rnd() % 6) {
	case 0: mmio_write8(base + off, v); break;
	case 1: mmio_write16(base + (off & ~1u), v); break;
	case 2: mmio_write32(base + off, v); break;
	case 3: (void)mmio_read8(base + off); break;
	case 4: (void)mmio_read16(base + (off & ~1u)); break;
	default: (void)mmio_read32(base + off); break;
	}
}

struct fn_list {
	u16 bdf[64];
	unsigned int n;
};

static bool collect(u16 bdf, void *arg)
{
	struct fn_list *l = arg;

	if (l->n < 64)
		l->bdf[l->n++] = bdf;
	return false;	/* pci_scan stops at true: go on */
}

/* hit each BAR while it is where the firmware put it */
static void poke_bars(u16 bdf, u32 rounds)
{
	for (unsigned int b = 0; b < 6; b++) {
		u64 addr = pci_bar_addr(bdf, b), size = pci_bar_size(bdf, b);

		if (!size || addr >= 0x100000000ULL)
			continue;
		for (u32 i = 0; i < rounds; i++) {
			if (pci_bar_is_io(bdf, b))
				poke_port(addr + rnd() % size);
			else
				poke_mmio(addr, size > 0x100000 ? 0x100000 : size);
		}
	}
}

static void poke_config(u16 bdf, u32 rounds)
{
	for (u32 i = 0; i < rounds; i++) {
		u16 off = rnd() % 4096;
		u32 v = rnd();

		switch (rnd() % 6) {
		case 0: pci_write8(bdf, off & 0xff, v); break;
		case 1: pci_write16(bdf, off & 0xfe, v); break;
		case 2: pci_write32(bdf, off & 0xfc, v); break;
		case 3: pci_ecam_write32(bdf, off & ~3u, v); break;
		case 4: (void)pci_read32(bdf, off & 0xfc); break;
		default: (void)pci_ecam_read32(bdf, off & ~3u); break;
		}
	}
}

int main(void)
{
	u32 rounds = cmdline_uint("rounds", 2000);
	struct fn_list fns = { .n = 0 };
	static const u16 ranges[][2] = {
		{ 0x60, 1 }, { 0x64, 1 }, { 0x70, 2 }, { 0x3f8, 8 }, { 0x600, 0x14 },
		{ 0x2f8, 8 }, { 0x80, 16 }, { 0xc000, 0x100 },
	};

	rng_state = cmdline_uint("seed", 1) | 1;
	printf("garbage: seed %u, %u accesses per target\n", rng_state, rounds);
	pci_scan(collect, &fns);
	printf("garbage: %u PCI functions\n", fns.n);

	for (unsigned int r = 0; r < ARRAY_SIZE(ranges); r++)
		for (u32 i = 0; i < rounds; i++)
			poke_port(ranges[r][0] + rnd() % ranges[r][1]);
	for (unsigned int f = 0; f < fns.n; f++)
		poke_bars(fns.bdf[f], rounds / 4);
	/* then config space, which moves BARs, switches decoding, enables MSI-X */
	for (unsigned int f = 0; f < fns.n; f++)
		poke_config(fns.bdf[f], rounds);
	/* whatever the BARs are now, in the 32-bit window and around it */
	for (u32 i = 0; i < rounds; i++)
		poke_mmio(0xc0000000, 0x30000000);
	/* unclaimed space */
	for (u32 i = 0; i < rounds; i++)
		poke_port(rnd());

	/* COM1 as the runtime wants it, then the verdict */
	outb(0x3f8 + 3, 0x80);	/* DLAB */
	outb(0x3f8 + 0, 1);
	outb(0x3f8 + 1, 0);
	outb(0x3f8 + 3, 0x03);	/* 8N1 */
	outb(0x3f8 + 1, 0);	/* no interrupts */
	outb(0x3f8 + 2, 0x07);	/* FIFOs on and cleared */
	outb(0x3f8 + 4, 0x0b);	/* DTR, RTS, OUT2; no loopback */
	/* a newline first: the garbage sent to COM1 ended mid-line */
	printf("\ngarbage: done, dpvm still serves the guest\n");
	return 0;
}
