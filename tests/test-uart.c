// SPDX-License-Identifier: GPL-2.0
/* The 16550A UART's register logic, without a VM: what Linux's 8250 driver sees. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/uart.h"

#include <string.h>

/* offsets */
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, EFR = 2,
       LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

/* IIR values (low nibble) */
#define IIR_NONE	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06

static struct uart u;
static u8 txbuf[4096];
static unsigned int ntx;
static bool room = true;	/* the console takes bytes */
static unsigned int rx_wanted;
static int line = -1;		/* the interrupt line as last driven */
static unsigned int edges;	/* 0 -> 1 transitions */

static bool fake_tx(void *opaque __unused, u8 c)
{
	if (!room)
		return false;
	assert_true(ntx < sizeof(txbuf));
	txbuf[ntx++] = c;
	return true;
}

static bool fake_tx_room(void *opaque __unused)
{
	return room;
}

static void fake_rx_wanted(void *opaque __unused)
{
	rx_wanted++;
}

static void fake_set_irq(struct uart *uart __unused, int level)
{
	assert_int_not_equal(level, line); /* only changes are driven */
	edges += level && line == 0;
	line = level;
}

static int setup(void **state __unused)
{
	memset(&u, 0, sizeof(u));
	pthread_mutex_init(&u.lock, NULL);
	uart__init_regs(&u);
	u.tx = fake_tx;
	u.tx_room = fake_tx_room;
	u.rx_wanted = fake_rx_wanted;
	u.set_irq = fake_set_irq;
	ntx = 0;
	room = true;
	rx_wanted = 0;
	line = 0;
	edges = 0;
	return 0;
}

static int teardown(void **state __unused)
{
	pthread_mutex_destroy(&u.lock);
	return 0;
}

static u8 in(unsigned int off)
{
	return uart__read(&u, off);
}

static void out(unsigned int off, u8 v)
{
	uart__write(&u, off, v);
}

static void push(const char *s)
{
	assert_int_equal(uart__rx_push(&u, (const u8 *)s, strlen(s)), strlen(s));
}

/* ---- registers ---- */

static void test_reset_state(void **state __unused)
{
	assert_int_equal(in(IER), 0);
	assert_int_equal(in(IIR), IIR_NONE);	/* no FIFO, no interrupt */
	assert_int_equal(in(LCR), 0);
	assert_int_equal(in(LSR), 0x60);	/* THRE | TEMT */
	assert_int_equal(in(MSR) & 0xf0, 0xb0);	/* DCD | DSR | CTS: a modem is there */
	assert_int_equal(line, 0);
}

static void test_scratch_and_lcr(void **state __unused)
{
	for (unsigned int v = 0; v < 256; v++) {
		out(SCR, v);
		assert_int_equal(in(SCR), v);
	}
	out(LCR, 0x1b);
	assert_int_equal(in(LCR), 0x1b);
	out(LCR, 0x03);
	assert_int_equal(in(LCR), 0x03);
	/* LSR and MSR are read-only */
	out(LSR, 0x00);
	assert_int_equal(in(LSR), 0x60);
	out(MSR, 0x00);
	assert_int_equal(in(MSR) & 0xf0, 0xb0);
}

static void test_dlab(void **state __unused)
{
	/* with DLAB, offsets 0 and 1 are the divisor latch */
	out(IER, 0x05);
	out(LCR, 0x80 | 0x03);
	out(DLL, 0x01);
	out(DLM, 0x02);
	assert_int_equal(in(DLL), 0x01);
	assert_int_equal(in(DLM), 0x02);
	assert_int_equal(ntx, 0);		/* nothing transmitted */
	out(LCR, 0x03);
	assert_int_equal(in(IER), 0x05);	/* IER untouched */
	out(THR, 'x');
	assert_int_equal(ntx, 1);
	out(LCR, 0x83);
	assert_int_equal(in(DLL), 0x01);	/* divisor untouched */
	assert_int_equal(in(DLM), 0x02);
	/* reading RBR with DLAB does not consume received data */
	push("a");
	assert_int_equal(in(DLL), 0x01);
	out(LCR, 0x03);
	assert_int_equal(in(RBR), 'a');
}

static void test_ier_bits(void **state __unused)
{
	/* the top nibble of IER reads back as 0 (no UUE, no sleep mode) */
	out(IER, 0xff);
	assert_int_equal(in(IER), 0x0f);
	out(IER, 0x40);
	assert_int_equal(in(IER), 0x00);
}

/* ---- transmit and THRE ---- */

static void test_transmit(void **state __unused)
{
	const char *msg = "hello, world\n";

	for (const char *p = msg; *p; p++) {
		/* a polling driver waits for THRE */
		assert_true(in(LSR) & 0x20);
		out(THR, *p);
	}
	assert_int_equal(ntx, strlen(msg));
	assert_memory_equal(txbuf, msg, strlen(msg));
	assert_int_equal(line, 0);		/* no interrupts enabled */
}

static void test_thre_interrupt(void **state __unused)
{
	out(MCR, 0x08);		/* OUT2 */
	/* enabling ETBEI with the THR empty raises it at once */
	out(IER, 0x02);
	assert_int_equal(line, 1);
	/* reading IIR that reports it acknowledges it */
	assert_int_equal(in(IIR), IIR_THRI);
	assert_int_equal(line, 0);
	assert_int_equal(in(IIR), IIR_NONE);
	/* a write to THR: the byte goes out at once, THR is empty again */
	out(THR, 'a');
	assert_int_equal(line, 1);
	assert_int_equal(in(IIR), IIR_THRI);
	assert_int_equal(line, 0);
	/* re-enabling ETBEI re-raises it (Linux's UART_BUG_THRE test) */
	out(IER, 0x00);
	out(IER, 0x02);
	assert_int_equal(in(IIR), IIR_THRI);
	/* setting ETBEI again while set does not */
	out(IER, 0x02);
	assert_int_equal(in(IIR), IIR_NONE);
	/* disabling ETBEI hides a pending one and drops the line */
	out(THR, 'b');
	assert_int_equal(line, 1);
	out(IER, 0x00);
	assert_int_equal(line, 0);
	assert_int_equal(in(IIR), IIR_NONE);
}

static void test_thre_backpressure(void **state __unused)
{
	out(MCR, 0x08);
	out(IER, 0x02);
	assert_int_equal(in(IIR), IIR_THRI);
	/* the console is full: a THR write acknowledges THRE and it stays clear */
	out(THR, 'a');
	assert_int_equal(line, 1);
	room = false;
	out(THR, 'b');
	assert_int_equal(line, 0);
	assert_int_equal(in(LSR) & 0x60, 0);
	assert_int_equal(in(IIR), IIR_NONE);
	/* a byte written while THRE is clear is lost, as on the chip */
	out(THR, 'c');
	assert_int_equal(ntx, 1);
	/* the console drains: THRE and the interrupt come back */
	room = true;
	uart__tx_ready(&u);
	assert_int_equal(line, 1);
	assert_int_equal(in(LSR) & 0x60, 0x60);
	assert_int_equal(in(IIR), IIR_THRI);
	assert_int_equal(edges, 3);
	/* a polling guest sees THRE come back through LSR alone */
	room = false;
	out(THR, 'd');
	assert_int_equal(in(LSR) & 0x20, 0);
	room = true;
	assert_int_equal(in(LSR) & 0x20, 0x20);
}

/* ---- receive, FIFO, overrun ---- */

static void test_receive(void **state __unused)
{
	out(MCR, 0x08);
	out(IER, 0x01);		/* ERBFI */
	assert_int_equal(uart__rx_room(&u), 1);	/* no FIFO: one holding byte */
	push("x");
	assert_int_equal(line, 1);
	assert_int_equal(in(IIR), IIR_RDI);
	assert_int_equal(in(LSR) & 0x01, 0x01);
	assert_int_equal(uart__rx_room(&u), 0);
	assert_int_equal(in(RBR), 'x');
	assert_int_equal(rx_wanted, 1);		/* the console may send more */
	assert_int_equal(line, 0);
	assert_int_equal(in(LSR) & 0x01, 0);
	assert_int_equal(in(IIR), IIR_NONE);
	/* RBR with nothing received: no new data, no callback */
	in(RBR);
	assert_int_equal(rx_wanted, 1);
}

static void test_fifo(void **state __unused)
{
	char buf[UART_FIFO_SIZE + 1];

	out(FCR, 0x01);
	assert_int_equal(in(IIR), 0xc0 | IIR_NONE);
	assert_int_equal(uart__rx_room(&u), UART_FIFO_SIZE);
	/* the console pushes no more than fits */
	memset(buf, 'q', sizeof(buf));
	assert_int_equal(uart__rx_push(&u, (u8 *)"0123456789abcdefXYZ", 19), UART_FIFO_SIZE);
	assert_int_equal(uart__rx_room(&u), 0);
	for (unsigned int i = 0; i < UART_FIFO_SIZE; i++)
		buf[i] = in(RBR);
	assert_memory_equal(buf, "0123456789abcdef", UART_FIFO_SIZE);
	assert_int_equal(in(LSR) & 0x03, 0);	/* empty, no overrun */
	/* clearing the receive FIFO drops what is in it */
	push("abc");
	out(FCR, 0x03);
	assert_int_equal(in(LSR) & 0x01, 0);
	assert_int_equal(in(IIR), 0xc0 | IIR_NONE);
	/* so does turning the FIFO off */
	push("abc");
	out(FCR, 0x00);
	assert_int_equal(in(LSR) & 0x01, 0);
	assert_int_equal(in(IIR), IIR_NONE);
	assert_int_equal(uart__rx_room(&u), 1);
	/* trigger level and the transmit clear bit do not disturb anything */
	out(FCR, 0xc7);
	assert_int_equal(in(IIR), 0xc0 | IIR_NONE);
	assert_int_equal(in(LSR), 0x60);
	/* the classic detection: FCR 0xe7 (enable, clear both, 64-byte, trigger
	 * 14), then IIR bits 7:6 = 11 is a 16550A, bit 5 would be a 16750 */
	out(FCR, 0xe7);
	assert_int_equal(in(IIR) & 0xc0, 0xc0);
	assert_int_equal(in(IIR) & 0x20, 0);
	/* with DLAB too (the TI16750 only shows it then) */
	out(LCR, 0x80);
	out(FCR, 0xe7);
	assert_int_equal(in(IIR) & 0xe0, 0xc0);
	out(LCR, 0x03);
}

static void test_overrun(void **state __unused)
{
	out(MCR, 0x08 | 0x10);	/* loopback drives the receiver from THR */
	out(IER, 0x05);		/* ERBFI | ELSI */
	out(THR, '1');
	out(THR, '2');		/* no FIFO: the holding register overruns */
	assert_int_equal(in(IIR), IIR_RLSI);	/* line status outranks data */
	assert_int_equal(in(LSR) & 0x03, 0x03);	/* DR | OE; reading clears OE */
	assert_int_equal(in(IIR), IIR_RDI);
	assert_int_equal(in(LSR) & 0x03, 0x01);
	assert_int_equal(in(RBR), '1');		/* the first byte survives */
	assert_int_equal(in(IIR), IIR_NONE);
	/* with the FIFO, the 17th byte overruns */
	out(FCR, 0x01);
	for (int i = 0; i < UART_FIFO_SIZE + 1; i++)
		out(THR, 'A' + i);
	assert_int_equal(in(LSR) & 0x03, 0x03);
	for (int i = 0; i < UART_FIFO_SIZE; i++)
		assert_int_equal(in(RBR), 'A' + i);
	assert_int_equal(in(LSR) & 0x03, 0);
	assert_int_equal(ntx, 0);	/* nothing reached the console */
}

/* ---- priorities ---- */

static void test_iir_priorities(void **state __unused)
{
	out(MCR, 0x08 | 0x10);	/* OUT2, loopback */
	out(IER, 0x0f);
	/* all four sources at once: overrun, data, THRE, a modem line change */
	out(THR, '1');
	out(THR, '2');
	out(MCR, 0x08 | 0x10 | 0x02);	/* RTS -> CTS changes: DCTS */
	assert_int_equal(line, 1);
	assert_int_equal(in(IIR), IIR_RLSI);
	in(LSR);
	assert_int_equal(in(IIR), IIR_RDI);
	in(RBR);
	assert_int_equal(in(IIR), IIR_THRI);	/* acknowledged by this read */
	assert_int_equal(in(IIR), IIR_MSI);
	/* DCTS (and DDSR from entering loopback), cleared by the read */
	assert_int_equal(in(MSR) & 0x0f, 0x03);
	assert_int_equal(in(IIR), IIR_NONE);
	assert_int_equal(line, 0);
	/* a masked source does not show */
	out(IER, 0x0e);
	out(THR, '3');
	assert_int_equal(in(IIR), IIR_THRI);
	assert_int_equal(in(IIR), IIR_NONE);
	assert_int_equal(in(LSR) & 0x01, 0x01);	/* the data is there all the same */
}

static void test_out2_gates_line(void **state __unused)
{
	/* on a PC the interrupt reaches the PIC only with OUT2 set */
	out(MCR, 0x00);
	out(IER, 0x02);
	assert_int_equal(line, 0);
	assert_int_equal(in(IIR) & 0x0f, IIR_THRI);	/* pending all the same */
	out(THR, 'a');
	assert_int_equal(line, 0);
	out(MCR, 0x08);
	assert_int_equal(line, 1);
	out(MCR, 0x00);
	assert_int_equal(line, 0);
}

/* ---- loopback ---- */

static void test_loopback(void **state __unused)
{
	u8 msr;

	out(MCR, 0x10);
	/* MCR outputs appear on MSR inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
	assert_int_equal(in(MSR) & 0xf0, 0x00);
	out(MCR, 0x10 | 0x02);
	assert_int_equal(in(MSR) & 0xf0, 0x10);
	out(MCR, 0x10 | 0x01);
	msr = in(MSR);
	assert_int_equal(msr & 0xf0, 0x20);
	assert_int_equal(msr & 0x03, 0x03);	/* CTS fell, DSR rose */
	out(MCR, 0x10 | 0x04);
	assert_int_equal(in(MSR) & 0xf0, 0x40);
	out(MCR, 0x10 | 0x08);
	msr = in(MSR);
	assert_int_equal(msr & 0xf0, 0x80);
	assert_int_equal(msr & 0x0c, 0x0c);	/* RI trailing edge, DCD changed */
	assert_int_equal(in(MSR) & 0x0f, 0);	/* deltas cleared by reading */
	out(MCR, 0x10 | 0x0f);
	assert_int_equal(in(MSR) & 0xf0, 0xf0);
	/* TX goes to RX, not to the console; console input is refused */
	out(THR, 'L');
	assert_int_equal(ntx, 0);
	assert_int_equal(uart__rx_room(&u), 0);
	assert_int_equal(uart__rx_push(&u, (const u8 *)"z", 1), 0);
	assert_int_equal(in(LSR) & 0x61, 0x61);
	assert_int_equal(in(RBR), 'L');
	assert_int_equal(rx_wanted, 0);
	/* out of loopback the modem lines are the "connected" ones again */
	out(MCR, 0x0b);
	assert_int_equal(in(MSR) & 0xf0, 0xb0);
	out(THR, 'T');
	assert_int_equal(ntx, 1);
}

/*
 * The probe Linux's 8250 driver runs (autoconfig, autoconfig_16550a,
 * size_fifo and the THRE checks of serial8250_do_startup), step by step,
 * with the decisions it takes: the port must come out as a plain 16550A
 * with working THRE interrupts.
 */
static void test_linux_8250_probe(void **state __unused)
{
	u8 scratch, scratch2, scratch3, save_mcr, save_lcr, status1, status2, iir1, iir, lsr;
	unsigned int count;

	/* the IER existence test */
	scratch = in(IER);
	out(IER, 0);
	scratch2 = in(IER) & 0x0f;
	out(IER, 0x0f);
	scratch3 = in(IER) & 0x0f;
	out(IER, scratch);
	assert_int_equal(scratch2, 0);
	assert_int_equal(scratch3, 0x0f);

	/* the loopback test: LOOP | OUT2 | RTS must read DCD | CTS */
	save_mcr = in(MCR);
	save_lcr = in(LCR);
	out(MCR, 0x10 | 0x0a);
	status1 = in(MSR) & 0xf0;
	out(MCR, save_mcr);
	assert_int_equal(status1, 0x90);

	/* clear the EFR (if any) behind LCR 0xbf, then the FIFO type */
	out(LCR, 0xbf);
	out(EFR, 0);
	out(LCR, 0);
	out(FCR, 0x01);
	scratch = in(IIR) >> 6;
	assert_int_equal(scratch, 3);		/* 16550A: FIFOs enabled */

	/* autoconfig_16550a: EFRv1 behind DLAB must not read 0 */
	out(LCR, 0x80);
	assert_int_not_equal(in(EFR), 0);
	/* EFRv2 behind 0xbf must not read 0 either (else: a 16650) */
	out(LCR, 0xbf);
	assert_int_not_equal(in(EFR), 0);

	/* National SuperIO: EXCR1 behind LCR 0xe0 must not follow MCR's LOOP bit */
	out(LCR, 0);
	status1 = in(MCR);
	out(LCR, 0xe0);
	status2 = in(2);
	if (!((status2 ^ status1) & 0x10)) {
		out(LCR, 0);
		out(MCR, status1 ^ 0x10);
		out(LCR, 0xe0);
		status2 = in(2);
		out(LCR, 0);
		out(MCR, status1);
		assert_int_equal((status2 ^ status1) & 0x10, 0);
	}

	/* TI16750: no 64-byte FIFO bit, with or without DLAB */
	out(LCR, 0);
	out(FCR, 0x01 | 0x20);
	status1 = in(IIR) & (0x20 | 0xc0);
	out(FCR, 0x01);
	out(LCR, 0x80);
	out(FCR, 0x01 | 0x20);
	status2 = in(IIR) & (0x20 | 0xc0);
	out(FCR, 0x01);
	out(LCR, 0);
	assert_int_equal(status1, 0xc0);
	assert_int_equal(status2, 0xc0);

	/* XScale: IER bit 6 (UUE) must not stick */
	scratch = in(IER);
	out(IER, scratch & ~0x40);
	if (!(in(IER) & 0x40)) {
		out(IER, scratch | 0x40);
		assert_int_equal(in(IER) & 0x40, 0);
	}
	out(IER, scratch);

	/* size_fifo: loopback at full speed, count what the FIFO held */
	save_lcr = in(LCR);
	out(LCR, 0);
	scratch = in(FCR);		/* reads IIR */
	save_mcr = in(MCR);
	out(FCR, 0x07);
	out(MCR, 0x10);
	out(LCR, 0x80);
	out(DLL, 1);
	out(DLM, 0);
	out(LCR, 0x03);
	for (count = 0; count < 256; count++)
		out(THR, count);
	for (count = 0; (in(LSR) & 0x01) && count < 256; count++)
		in(RBR);
	out(FCR, scratch);
	out(MCR, save_mcr);
	out(LCR, 0x80);
	out(DLL, 0x0c);
	out(DLM, 0);
	out(LCR, save_lcr);
	assert_int_equal(count, UART_FIFO_SIZE);	/* a 16550A, not a U6 (64) */
	assert_int_equal(ntx, 0);

	/* reset: FIFOs cleared and off, RX drained, IER cleared */
	out(FCR, 0x01);
	out(FCR, 0x07);
	out(FCR, 0);
	in(RBR);
	out(IER, 0);

	/* serial8250_do_startup: clear, then LSR must not be 0xff */
	out(FCR, 0x01);
	out(FCR, 0x07);
	out(FCR, 0);
	in(LSR);
	in(RBR);
	in(IIR);
	in(MSR);
	assert_int_not_equal(in(LSR), 0xff);
	out(LCR, 0x03);
	out(MCR, 0x0b);		/* DTR | RTS | OUT2 */

	/* UART_BUG_THRE: THRE must be re-asserted when ETBEI is re-enabled */
	while (!(in(LSR) & 0x20))
		;
	out(IER, 0x02);
	iir1 = in(IIR);
	out(IER, 0);
	out(IER, 0x02);
	iir = in(IIR);
	out(IER, 0);
	assert_false(!(iir1 & 0x01) && (iir & 0x01));
	assert_int_equal(iir & 0x0f, IIR_THRI);

	/* UART_BUG_TXEN: enabling ETBEI with TEMT must show an interrupt */
	out(IER, 0x02);
	lsr = in(LSR);
	iir = in(IIR);
	out(IER, 0);
	assert_false((lsr & 0x40) && (iir & 0x01));

	/* then the port runs: FIFO on, RX and THRE interrupts */
	out(FCR, 0xc1);
	out(IER, 0x05);
	out(IER, 0x07);
	assert_int_equal(line, 1);
	assert_int_equal(in(IIR), 0xc0 | IIR_THRI);
	out(THR, 'o');
	out(THR, 'k');
	assert_int_equal(ntx, 2);
	assert_memory_equal(txbuf, "ok", 2);
}

/* hostile access patterns never break the FIFO bookkeeping */
static void test_fuzz(void **state __unused)
{
	unsigned int seed = 99;

	for (int i = 0; i < 200000; i++) {
		unsigned int r = (seed = seed * 1103515245 + 12345) >> 8;
		unsigned int off = r % 8;
		u8 v = r >> 3;

		switch ((r >> 11) % 5) {
		case 0: case 1:
			out(off, v);
			break;
		case 2: case 3:
			in(off);
			break;
		default:
			room = r & 0x100000;
			if (r & 0x200000)
				uart__tx_ready(&u);
			else
				uart__rx_push(&u, (const u8 *)"0123456789abcdefghij", r % 21);
			break;
		}
		assert_true(u.r.rx_count <= UART_FIFO_SIZE);
		assert_true(u.r.rx_head < UART_FIFO_SIZE);
		assert_int_equal(!!(u.r.lsr & 0x01), u.r.rx_count > 0);
		assert_int_equal(line, u.r.irq_level);
		if (ntx > 2048)
			ntx = 0;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_and_lcr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ier_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iir_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out2_gates_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_8250_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
