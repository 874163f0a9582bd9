/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_UART_H
#define DPVM_UART_H

#include "vmm/types.h"

#include <pthread.h>

/*
 * A 16550A UART (COM1: ports 0x3f8-0x3ff, IRQ 4), enough for Linux's 8250
 * driver to detect a 16550A, pass its scratch, IER and loopback tests, and
 * run an interactive console with the transmitter-empty interrupt.
 *
 * The guest-visible state is struct uart_regs, one plain struct.  Bytes the
 * guest sends go to the console; bytes from the console wait in the 16-byte
 * receive FIFO, and the console stops reading its input while the FIFO is
 * full, so typed input is never dropped.
 */
#define UART_FIFO_SIZE 16

struct uart_regs {
	u8 ier, iir_fifo, lcr, mcr, lsr, msr, scr, fcr;
	u8 dll, dlm;
	u8 rx[UART_FIFO_SIZE];
	u8 rx_head, rx_count;
	bool thri_pending;	/* THRE interrupt raised and not yet acknowledged */
	bool irq_level;
};

struct vm;
struct uart {
	struct uart_regs r;
	pthread_mutex_t lock;
	struct vm *vm;		/* NULL in unit tests */
	unsigned int irq;
	/* where transmitted bytes go, and how the receiver asks for more */
	bool (*tx)(void *opaque, u8 c);		/* false: no room now */
	bool (*tx_room)(void *opaque);
	void (*rx_wanted)(void *opaque);
	void *opaque;
	/* for tests: the interrupt line as last driven */
	void (*set_irq)(struct uart *u, int level);
};

void uart__init_regs(struct uart *u);
/* register access, offset 0..7 */
u8 uart__read(struct uart *u, unsigned int offset);
void uart__write(struct uart *u, unsigned int offset, u8 val);
/* console side */
unsigned int uart__rx_room(struct uart *u);
unsigned int uart__rx_push(struct uart *u, const u8 *buf, unsigned int len);
void uart__tx_ready(struct uart *u);

extern struct uart *com1;

#endif
