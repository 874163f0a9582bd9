// SPDX-License-Identifier: GPL-2.0
#include "devices/uart.h"
#include "vmm/console.h"
#include "vmm/irq.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <string.h>

/* register offsets (DLAB=0 / DLAB=1) */
#define UART_RX		0	/* in: receive buffer;  DLAB: divisor low */
#define UART_TX		0	/* out: transmit holding */
#define UART_IER	1	/* DLAB: divisor high */
#define UART_IIR	2	/* in */
#define UART_FCR	2	/* out */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IER_MSI		0x08

#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO_ON	0xc0

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_BI		0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
#define MSR_DELTA	0x0f

struct uart *com1;

void uart__init_regs(struct uart *u)
{
	memset(&u->r, 0, sizeof(u->r));
	u->r.lsr = LSR_THRE | LSR_TEMT;
	/* a modem is "connected": carrier, data set ready, clear to send */
	u->r.msr = MSR_DCD | MSR_DSR | MSR_CTS;
	u->r.mcr = MCR_OUT2;
	u->r.dll = 0x0c; /* 9600 baud */
}

static bool tx_room(struct uart *u)
{
	return (u->r.mcr & MCR_LOOP) || !u->tx_room || u->tx_room(u->opaque);
}

/* Recompute IIR and drive the interrupt line; called with the lock held. */
static void update_irq(struct uart *u)
{
	struct uart_regs *r = &u->r;
	u8 iir = IIR_NO_INT;
	bool level;

	if ((r->ier & IER_RLSI) && (r->lsr & (LSR_OE | LSR_BI)))
		iir = IIR_RLSI;
	else if ((r->ier & IER_RDI) && (r->lsr & LSR_DR))
		iir = IIR_RDI;
	else if ((r->ier & IER_THRI) && r->thri_pending)
		iir = IIR_THRI;
	else if ((r->ier & IER_MSI) && (r->msr & MSR_DELTA))
		iir = IIR_MSI;

	r->iir_fifo = (r->fcr & FCR_ENABLE ? IIR_FIFO_ON : 0) | iir;
	/* OUT2 gates the interrupt onto the ISA bus on PC serial ports */
	level = !(iir & IIR_NO_INT) && (r->mcr & MCR_OUT2);
	if (level != r->irq_level) {
		r->irq_level = level;
		if (u->set_irq)
			u->set_irq(u, level);
		else if (u->vm)
			irq__line(u->vm, u->irq, level);
	}
}

static void rx_clear(struct uart *u)
{
	u->r.rx_count = 0;
	u->r.rx_head = 0;
	u->r.lsr &= ~LSR_DR;
}

static void rx_put(struct uart *u, u8 c)
{
	struct uart_regs *r = &u->r;
	unsigned int cap = r->fcr & FCR_ENABLE ? UART_FIFO_SIZE : 1;

	if (r->rx_count >= cap) {
		r->lsr |= LSR_OE;
		return;
	}
	r->rx[(r->rx_head + r->rx_count) % UART_FIFO_SIZE] = c;
	r->rx_count++;
	r->lsr |= LSR_DR;
}

/* loopback: MCR outputs appear on the MSR inputs */
static void loop_msr(struct uart *u)
{
	struct uart_regs *r = &u->r;
	u8 old = r->msr, m = 0;

	if (r->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (r->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (r->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (r->mcr & MCR_OUT2)
		m |= MSR_DCD;
	if ((m ^ old) & MSR_CTS)
		m |= MSR_DCTS;
	if ((m ^ old) & MSR_DSR)
		m |= MSR_DDSR;
	if ((old & MSR_RI) && !(m & MSR_RI))
		m |= MSR_TERI;
	if ((m ^ old) & MSR_DCD)
		m |= MSR_DDCD;
	r->msr = m | (old & MSR_DELTA);
}

static void transmit(struct uart *u, u8 c)
{
	struct uart_regs *r = &u->r;

	if (r->mcr & MCR_LOOP) {
		rx_put(u, c);
	} else if (u->tx && !u->tx(u->opaque, c)) {
		/* the guest wrote while THRE was clear: the byte is lost, as on
		 * hardware; a guest that waits for THRE never gets here */
		pr_debug("COM1: transmit overrun");
	}
	if (tx_room(u)) {
		r->lsr |= LSR_THRE | LSR_TEMT;
		r->thri_pending = true;
	} else {
		r->lsr &= ~(LSR_THRE | LSR_TEMT);
		r->thri_pending = false;
	}
}

u8 uart__read(struct uart *u, unsigned int off)
{
	struct uart_regs *r = &u->r;
	bool want_rx = false;
	u8 v = 0;

	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_RX:
		if (r->lcr & LCR_DLAB) {
			v = r->dll;
			break;
		}
		if (r->rx_count) {
			v = r->rx[r->rx_head];
			r->rx_head = (r->rx_head + 1) % UART_FIFO_SIZE;
			if (--r->rx_count == 0)
				r->lsr &= ~LSR_DR;
			want_rx = !(r->mcr & MCR_LOOP);
		}
		break;
	case UART_IER:
		v = r->lcr & LCR_DLAB ? r->dlm : r->ier;
		break;
	case UART_IIR:
		v = r->iir_fifo;
		/* reading IIR acknowledges a THRE interrupt it reports */
		if ((v & 0x0f) == IIR_THRI)
			r->thri_pending = false;
		break;
	case UART_LCR:
		v = r->lcr;
		break;
	case UART_MCR:
		v = r->mcr;
		break;
	case UART_LSR:
		if (!(r->lsr & LSR_THRE) && tx_room(u)) {
			r->lsr |= LSR_THRE | LSR_TEMT;
			r->thri_pending = true;
		}
		v = r->lsr;
		r->lsr &= ~(LSR_OE | LSR_BI);
		break;
	case UART_MSR:
		v = r->msr;
		r->msr &= ~MSR_DELTA;
		break;
	case UART_SCR:
		v = r->scr;
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	/* outside the lock: the console may call back into us */
	if (want_rx && u->rx_wanted)
		u->rx_wanted(u->opaque);
	return v;
}

void uart__write(struct uart *u, unsigned int off, u8 val)
{
	struct uart_regs *r = &u->r;

	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_TX:
		if (r->lcr & LCR_DLAB)
			r->dll = val;
		else
			transmit(u, val);
		break;
	case UART_IER:
		if (r->lcr & LCR_DLAB) {
			r->dlm = val;
			break;
		}
		/* enabling THRI with the holding register empty raises it */
		if (!(r->ier & IER_THRI) && (val & IER_THRI) && (r->lsr & LSR_THRE))
			r->thri_pending = true;
		r->ier = val & 0x0f;
		break;
	case UART_FCR:
		if ((val ^ r->fcr) & FCR_ENABLE)
			rx_clear(u);
		if (val & FCR_CLEAR_RX)
			rx_clear(u);
		r->fcr = val & 0xc9; /* enable, DMA mode, trigger level */
		break;
	case UART_LCR:
		r->lcr = val;
		break;
	case UART_MCR:
		r->mcr = val & 0x1f;
		if (r->mcr & MCR_LOOP)
			loop_msr(u);
		else
			r->msr = (r->msr & MSR_DELTA) | MSR_DCD | MSR_DSR | MSR_CTS;
		break;
	case UART_LSR:
		break; /* read-only (factory test register) */
	case UART_MSR:
		break;
	case UART_SCR:
		r->scr = val;
		break;
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

unsigned int uart__rx_room(struct uart *u)
{
	unsigned int room;

	pthread_mutex_lock(&u->lock);
	room = (u->r.mcr & MCR_LOOP) ? 0 :
	       (u->r.fcr & FCR_ENABLE ? UART_FIFO_SIZE : 1) - u->r.rx_count;
	pthread_mutex_unlock(&u->lock);
	return room;
}

unsigned int uart__rx_push(struct uart *u, const u8 *buf, unsigned int len)
{
	unsigned int n = 0;

	pthread_mutex_lock(&u->lock);
	if (!(u->r.mcr & MCR_LOOP)) {
		unsigned int cap = u->r.fcr & FCR_ENABLE ? UART_FIFO_SIZE : 1;

		while (n < len && u->r.rx_count < cap)
			rx_put(u, buf[n++]);
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

void uart__tx_ready(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	if (!(u->r.lsr & LSR_THRE) && tx_room(u)) {
		u->r.lsr |= LSR_THRE | LSR_TEMT;
		u->r.thri_pending = true;
		update_irq(u);
	}
	pthread_mutex_unlock(&u->lock);
}

/* the registers are bytes; a wider access touches consecutive registers */
static void uart_io_read(void *dev, u64 off, void *data, u32 len)
{
	for (u32 i = 0; i < len; i++)
		((u8 *)data)[i] = uart__read(dev, off + i);
}

static void uart_io_write(void *dev, u64 off, const void *data, u32 len)
{
	for (u32 i = 0; i < len; i++)
		uart__write(dev, off + i, ((const u8 *)data)[i]);
}

static const struct trap_ops uart_ops = {
	.read = uart_io_read,
	.write = uart_io_write,
};

struct uart_dev {
	struct uart u;
	struct vm_device vd;
};

static void uart_reset(struct vm_device *vd)
{
	struct uart_dev *d = container_of(vd, struct uart_dev, vd);

	pthread_mutex_lock(&d->u.lock);
	uart__init_regs(&d->u);
	d->u.r.irq_level = true; /* force the line low below */
	update_irq(&d->u);
	pthread_mutex_unlock(&d->u.lock);
}

static int uart__dev_init(struct vm *vm)
{
	struct uart_dev *d = xzalloc(sizeof(*d));
	int ret;

	pthread_mutex_init(&d->u.lock, NULL);
	uart__init_regs(&d->u);
	d->u.vm = vm;
	d->u.irq = IRQ_COM1;
	ret = console__attach(vm, &d->u);
	if (ret)
		goto err_free;
	ret = bus__register(&vm->pio, PORT_COM1, 8, &uart_ops, &d->u, "COM1");
	if (ret) {
		pr_err("COM1: ports %#x-%#x are taken", PORT_COM1, PORT_COM1 + 7);
		goto err_detach;
	}
	d->vd.name = "COM1";
	d->vd.reset = uart_reset;
	vm__add_device(vm, &d->vd);
	com1 = &d->u;
	return 0;

err_detach:
	console__detach(vm);
err_free:
	free(d);
	return ret;
}

static void uart__dev_exit(struct vm *vm)
{
	struct uart_dev *d;

	if (!com1)
		return;
	d = container_of(com1, struct uart_dev, u);
	bus__unregister(&vm->pio, PORT_COM1, &d->u);
	vm__remove_device(vm, &d->vd);
	console__detach(vm);
	com1 = NULL;
	free(d);
}
vm_initcall(INIT_DEVICE, uart__dev_init, uart__dev_exit, NULL);
