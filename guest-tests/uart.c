// SPDX-License-Identifier: GPL-2.0
/*
 * COM1 as Linux's 8250 driver sees it, and its interrupt:
 *  - the probe (drivers/tty/serial/8250/8250_port.c autoconfig): the IER
 *    test, the loopback test (MSR 0x90 for MCR LOOP|OUT2|RTS), FIFO
 *    detection (IIR bits 7:6 = 11 with FIFOs on, no 64-byte FIFO bit after
 *    FCR=0xe7): a 16550A;
 *  - loopback: bytes written come back in order through the 16-byte FIFO,
 *    a 17th one sets overrun, MCR outputs appear on the MSR inputs;
 *  - the THRE interrupt through IOAPIC pin 4 (edge, to this CPU), gated by
 *    MCR OUT2, identified in IIR, acknowledged by reading IIR.
 */
#include "guest.h"

#define COM1		0x3f8
#define UART_RX		0
#define UART_TX		0
#define UART_IER	1
#define UART_IIR	2
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_THRI	0x02
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define IIR_NO_INT	0x01
#define IIR_ID		0x0e
#define IIR_THRI	0x02

#define COM1_PIN	4
#define COM1_VECTOR	0x34

static u8 in(unsigned int reg)
{
	return inb(COM1 + reg);
}

static void out(unsigned int reg, u8 v)
{
	outb(COM1 + reg, v);
}

static void probe(void)
{
	u8 ier, ier0, ierf, mcr, msr, iir;

	ier = in(UART_IER);
	out(UART_IER, 0);
	ier0 = in(UART_IER) & 0x0f;
	out(UART_IER, 0x0f);
	ierf = in(UART_IER) & 0x0f;
	out(UART_IER, ier);
	check(ier0 == 0 && ierf == 0x0f, "IER test: IER reads %#x after 0, %#x after 0x0f", ier0, ierf);

	mcr = in(UART_MCR);
	out(UART_MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);
	msr = in(UART_MSR) & 0xf0;
	out(UART_MCR, mcr);
	check(msr == 0x90, "loopback test: MSR status bits %#x for MCR LOOP|OUT2|RTS (want 0x90)", msr);

	/* LCR 0xbf selects a 16650's EFR; on a 16550A offset 2 is FCR */
	out(UART_LCR, 0xbf);
	out(UART_FCR, 0);
	out(UART_LCR, 0);
	out(UART_FCR, 0x01);
	iir = in(UART_IIR);
	check(iir >> 6 == 3, "FIFO detection: IIR %#x with FIFOs on: bits 7:6 = 3 (16550A)", iir);

	out(UART_FCR, 0xe7);
	iir = in(UART_IIR);
	check((iir & 0xc0) == 0xc0 && !(iir & 0x20),
	      "FCR=0xe7: IIR %#x: FIFOs on, no 64-byte FIFO (not a 16750)", iir);
	out(UART_LCR, 0x80);
	out(UART_FCR, 0x21);
	iir = in(UART_IIR);
	out(UART_LCR, 0x03);
	check(iir >> 5 != 7, "the 16750 test with DLAB set: IIR %#x lacks bit 5", iir);
	out(UART_FCR, 0x07);

	out(UART_SCR, 0xa5);
	check(in(UART_SCR) == 0xa5, "the scratch register keeps 0xa5");
}

/* nothing may be printed while loopback is on: it would loop back */
static void loopback(void)
{
	static const char msg[16] = "16550A loopback";
	char buf[sizeof(msg) + 1] = "";
	u8 msr_all, msr_none, lsr_full, lsr_after, extra = 0;
	unsigned int n = 0;

	out(UART_FCR, 0x07);
	out(UART_MCR, MCR_LOOP);
	msr_none = in(UART_MSR) & 0xf0;
	out(UART_MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2);
	msr_all = in(UART_MSR) & 0xf0;

	for (unsigned int i = 0; i < sizeof(msg); i++) {
		while (!(in(UART_LSR) & LSR_THRE))
			cpu_relax();
		out(UART_TX, msg[i]);
	}
	out(UART_TX, '!');	/* the FIFO is full: an overrun */
	lsr_full = in(UART_LSR);
	while ((in(UART_LSR) & LSR_DR) && n < sizeof(msg) + 4) {
		u8 c = in(UART_RX);

		if (n < sizeof(msg))
			buf[n] = c;
		else
			extra = c;
		n++;
	}
	lsr_after = in(UART_LSR);
	out(UART_MCR, MCR_DTR | MCR_RTS);

	check(msr_none == 0x00, "loopback with no outputs: MSR status bits %#x", msr_none);
	check(msr_all == 0xf0, "loopback with DTR, RTS, OUT1, OUT2: MSR status bits %#x (want 0xf0)",
	      msr_all);
	check(n == sizeof(msg) && !memcmp(buf, msg, sizeof(msg)),
	      "loopback returned %u byte(s) \"%s\" (want 16, \"%s\")%s", n, buf, msg,
	      extra ? " and more" : "");
	check(lsr_full & LSR_OE, "the 17th byte overran the FIFO (LSR %#x)", lsr_full);
	check(!(lsr_after & (LSR_OE | LSR_DR)), "LSR %#x after reading: no data, overrun cleared",
	      lsr_after);
}

static volatile u32 irq_count;
static volatile u8 irq_iir, irq_iir_after;

static void com1_irq(struct irq_frame *f)
{
	(void)f;
	irq_iir = in(UART_IIR);		/* reading it acknowledges THRE */
	irq_iir_after = in(UART_IIR);
	irq_count++;
	lapic_eoi();
}

/* wait up to ms for count to reach want, with interrupts on */
static u32 wait_irqs(u32 want, u32 ms)
{
	u64 end = rdtsc() + us_to_tsc(ms * 1000ULL);

	irq_enable();
	while (irq_count < want && rdtsc() < end)
		cpu_relax();
	irq_disable();
	return irq_count;
}

static void thre_interrupt(void)
{
	u32 gated, n, storm;

	lapic_enable();
	set_handler(COM1_VECTOR, com1_irq);
	ioapic_route(COM1_PIN, COM1_VECTOR, lapic_id(), 0);	/* edge, active high */

	/* OUT2 off: the UART has a THRE interrupt pending, the line stays low */
	out(UART_MCR, MCR_DTR | MCR_RTS);
	out(UART_IER, IER_THRI);
	gated = wait_irqs(1, 20);
	n = in(UART_IIR);	/* acknowledge, as the gate hid it */
	out(UART_IER, 0);
	check(gated == 0, "no interrupt while MCR OUT2 is off (%u seen)", gated);
	check((n & IIR_ID) == IIR_THRI, "yet IIR %#x identifies a THRE interrupt", n);

	/* OUT2 on, THRI enabled with the transmitter empty: one interrupt */
	out(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	out(UART_IER, IER_THRI);
	n = wait_irqs(1, 100);
	storm = wait_irqs(2, 20);	/* acknowledged: no second one */
	out(UART_IER, 0);
	out(UART_MCR, MCR_DTR | MCR_RTS);
	ioapic_mask(COM1_PIN);
	check(n == 1, "THRE interrupt through IOAPIC pin %u, vector %#x (%u seen)", COM1_PIN,
	      COM1_VECTOR, n);
	check((irq_iir & IIR_ID) == IIR_THRI, "the handler's IIR %#x identifies THRE", irq_iir);
	check(irq_iir_after & IIR_NO_INT, "IIR %#x after the read: no interrupt pending",
	      irq_iir_after);
	check(storm == 1, "no further interrupt once acknowledged (%u in all)", storm);
}

int main(void)
{
	probe();
	loopback();
	thre_interrupt();
	return 0;
}
