// SPDX-License-Identifier: GPL-2.0
/*
 * Trapped accesses nobody claims, and the simplest claimed one:
 *  - reads of an unclaimed port return all-ones at every size; writes
 *    there are dropped without harm;
 *  - reads of unclaimed MMIO (above RAM, and in the unused gap between the
 *    ECAM window and the IOAPIC) return all-ones; writes are dropped;
 *  - the COM1 scratch register keeps what is written to it;
 *  - rep outsb / rep insb on trapped ports move every byte, in order.
 */
#include "guest.h"

#define UNCLAIMED_PORT	0x2f8		/* COM2: dpvm has none */
#define COM1		0x3f8
#define UART_RX		0
#define UART_FCR	2
#define UART_MCR	4
#define UART_LSR	5
#define UART_SCR	7
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define GAP_MMIO	0xfe000000	/* after ECAM (0xf0000000), before the IOAPIC */

static void unclaimed_ports(void)
{
	u8 b;
	u16 w;
	u32 l;

	b = inb(UNCLAIMED_PORT);
	w = inw(UNCLAIMED_PORT);
	l = inl(UNCLAIMED_PORT);
	check(b == 0xff, "inb from unclaimed port %#x reads %#x", UNCLAIMED_PORT, b);
	check(w == 0xffff, "inw from unclaimed port %#x reads %#x", UNCLAIMED_PORT, w);
	check(l == 0xffffffff, "inl from unclaimed port %#x reads %#x", UNCLAIMED_PORT, l);

	outb(UNCLAIMED_PORT, 0x12);
	outw(UNCLAIMED_PORT, 0x1234);
	outl(UNCLAIMED_PORT, 0x12345678);
	outb(0x80, 0x42);	/* a POST code, as firmware writes */
	l = inl(UNCLAIMED_PORT);
	check(l == 0xffffffff, "writes to port %#x are dropped (then reads %#x)",
	      UNCLAIMED_PORT, l);
}

static void unclaimed_mmio(const char *what, u32 addr)
{
	u8 b = mmio_read8(addr);
	u16 w = mmio_read16(addr + 2);
	u32 l = mmio_read32(addr + 4);

	check(b == 0xff && w == 0xffff && l == 0xffffffff,
	      "unclaimed MMIO %#x (%s) reads %#x / %#x / %#x at 8 / 16 / 32 bits",
	      addr, what, b, w, l);
	mmio_write8(addr, 0);
	mmio_write16(addr + 2, 0);
	mmio_write32(addr + 4, 0);
	l = mmio_read32(addr + 4);
	check(l == 0xffffffff, "writes to MMIO %#x are dropped (then reads %#x)", addr, l);
}

static void scratch(void)
{
	static const u8 pat[] = { 0x00, 0x55, 0xaa, 0xff, 0x5a };
	bool ok = true;

	for (unsigned int i = 0; i < ARRAY_SIZE(pat); i++) {
		outb(COM1 + UART_SCR, pat[i]);
		if (inb(COM1 + UART_SCR) != pat[i])
			ok = false;
	}
	check(ok, "the COM1 scratch register keeps 0x00, 0x55, 0xaa, 0xff, 0x5a");
}

static void rep_string(void)
{
	static const u8 msg[16] = "rep outsb 0123\n";
	u8 buf[4096];
	bool all_ones = true, fifo_ok, fifo_empty;
	unsigned int n;

	/* to the scratch register: the last byte stays; reads repeat it */
	outsb(COM1 + UART_SCR, msg, 3);
	memset(buf, 0, 8);
	insb(COM1 + UART_SCR, buf, 8);
	buf[8] = 0;
	check(!memcmp(buf, "pppppppp", 8),
	      "rep outsb \"rep\" then rep insb x8 on the COM1 scratch register reads \"%s\"", buf);

	/* through the UART's loopback FIFO: every byte, in order (no output
	 * until loopback is off: it would loop back too) */
	outb(COM1 + UART_MCR, MCR_LOOP);
	outb(COM1 + UART_FCR, 0x07);	/* FIFOs on and cleared */
	outsb(COM1 + UART_RX, msg, sizeof(msg));
	memset(buf, 0, sizeof(msg));
	insb(COM1 + UART_RX, buf, sizeof(msg));
	fifo_ok = !memcmp(buf, msg, sizeof(msg));
	fifo_empty = !(inb(COM1 + UART_LSR) & LSR_DR);
	outb(COM1 + UART_MCR, 0x03);
	check(fifo_ok, "16 bytes rep outsb / rep insb through the loopback FIFO");
	check(fifo_empty, "the loopback FIFO is empty afterwards");

	/* a long rep insb from an unclaimed port: more than one exit's worth */
	memset(buf, 0, sizeof(buf));
	insb(UNCLAIMED_PORT, buf, sizeof(buf));
	for (n = 0; n < sizeof(buf); n++)
		if (buf[n] != 0xff)
			all_ones = false;
	check(all_ones, "rep insb of %u bytes from unclaimed port %#x reads all-ones",
	      (unsigned int)sizeof(buf), UNCLAIMED_PORT);
	outsb(UNCLAIMED_PORT, buf, sizeof(buf));
}

int main(void)
{
	unclaimed_ports();
	if (boot.ram_top && boot.ram_top + 0x1000000 < 0xc0000000)
		unclaimed_mmio("above RAM", boot.ram_top + 0x1000000);
	unclaimed_mmio("gap below the IOAPIC", GAP_MMIO);
	scratch();
	rep_string();
	return 0;
}
