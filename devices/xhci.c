// SPDX-License-Identifier: GPL-2.0
/*
 * The xHCI controller: registers, the command ring, slots and endpoints,
 * transfers, the event ring and interrupts, root hub ports.  See
 * devices/xhci.h for the layout and the limits.
 *
 * Threads: vCPUs run the MMIO handlers; a doorbell only marks what is to
 * be done and kicks the controller's I/O thread, which walks the rings and
 * talks to the devices.  Backings finish their packets from their own
 * threads with usb__complete().  x->lock protects all of the controller's
 * state; device ops are called with it held (they must not block, and must
 * not call usb__complete from inside handle).  Raising the interrupt takes
 * only the MSI-X or INTx locks, which are inner to x->lock.
 */
#include "devices/xhci.h"
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define XHCI_VENDOR		0x1b36	/* Red Hat, Inc.: QEMU's xHCI id, which guests know */
#define XHCI_DEVICE		0x000d
#define XHCI_CLASS		0x0c0330	/* serial bus, USB, xHCI */
#define XHCI_TDS_PER_RUN	64	/* TDs of one endpoint per pass, then yield */

static void ep_run(struct xhci *x, unsigned int slot_id, unsigned int dci);

/* ---- guest memory ---- */

static void *gpa(struct xhci *x, u64 addr, u64 len)
{
	return mem__gpa_to_hva(x->mem, addr, len);
}

/* ---- interrupts and events ---- */

static void intx_set(struct xhci *x, bool level)
{
	if (x->irq_hook) {
		x->irq_hook(x, level);
		return;
	}
	if (x->intx != level) {
		x->intx = level;
		pci__set_intx(&x->pci, level);
	}
}

static bool msix_on(struct xhci *x)
{
	return !x->irq_hook && x->pci.msix.table && pci__msix_enabled(&x->pci);
}

/* the INTx line follows IP while MSI-X is off */
static void intr_update(struct xhci *x)
{
	bool level = (x->intr.iman & IMAN_IP) && (x->intr.iman & IMAN_IE) &&
		     (x->usbcmd & USBCMD_INTE);

	if (!msix_on(x))
		intx_set(x, level);
}

/* events were added: interrupt unless the handler is still at work (EHB) */
static void intr_raise(struct xhci *x)
{
	if (x->intr.ehb)
		return;
	x->intr.ehb = true;
	x->intr.iman |= IMAN_IP;
	x->usbsts |= USBSTS_EINT;
	if (!(x->usbcmd & USBCMD_INTE) || !(x->intr.iman & IMAN_IE))
		return;
	if (msix_on(x)) {
		/* IP clears itself when the MSI-X message is sent (xHCI 5.5.2.1) */
		x->intr.iman &= ~IMAN_IP;
		pci__msix_notify(&x->pci, 0);
	} else if (x->irq_hook) {
		x->irq_hook(x, true);
	} else {
		intr_update(x);
	}
}

static u64 er_addr(const struct xhci_intr *ir, unsigned int seg, unsigned int idx)
{
	return ir->seg[seg].base + 16ULL * idx;
}

/* read the event ring segment table (ERSTSZ, ERSTBA written) */
static void er_setup(struct xhci *x)
{
	struct xhci_intr *ir = &x->intr;
	unsigned int n = ir->erstsz & 0xffff;

	ir->valid = false;
	ir->nr_seg = 0;
	ir->seg_idx = ir->idx = 0;
	ir->pcs = true;
	if (!n || !ir->erstba)
		return;
	if (n > XHCI_ERST_MAX) {
		pr_warn_guest("%s: the guest gave %u event ring segments, at most %d are supported",
			      x->name, n, XHCI_ERST_MAX);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		const u8 *e = gpa(x, (ir->erstba & ~0x3fULL) + 16ULL * i, 16);
		u64 base;
		u32 size;

		if (!e) {
			pr_warn_guest("%s: the event ring segment table at %#llx is not in guest RAM",
				      x->name, (unsigned long long)ir->erstba);
			return;
		}
		memcpy(&base, e, 8);
		memcpy(&size, e + 8, 4);
		size &= 0xffff;
		base &= ~0x3fULL;
		if (size < 16 || size > 4096 || !gpa(x, base, 16ULL * size)) {
			pr_warn_guest("%s: event ring segment %u (%#llx, %u TRBs) is not 16..4096 TRBs "
				      "of guest RAM", x->name, i, (unsigned long long)base, size);
			return;
		}
		ir->seg[i].base = base;
		ir->seg[i].size = size;
	}
	ir->nr_seg = n;
	ir->valid = true;
}

/* enqueue one event; false if there is no event ring or it is full */
static bool event(struct xhci *x, u64 param, u32 status, u32 control)
{
	struct xhci_intr *ir = &x->intr;
	unsigned int nseg = ir->seg_idx, nidx = ir->idx + 1;
	struct xhci_trb *t;

	if (!ir->valid || !(x->usbcmd & USBCMD_RS)) {
		x->stats.dropped_events++;
		return false;
	}
	if (nidx == ir->seg[nseg].size) {
		nidx = 0;
		nseg = (nseg + 1) % ir->nr_seg;
	}
	if (er_addr(ir, nseg, nidx) == (ir->erdp & ~0xfULL)) {
		x->stats.dropped_events++;
		pr_warn_guest("%s: the guest's event ring is full; an event is lost", x->name);
		return false;
	}
	t = gpa(x, er_addr(ir, ir->seg_idx, ir->idx), 16);
	if (!t) {		/* checked at setup; RAM does not move */
		x->stats.dropped_events++;
		return false;
	}
	t->param = param;
	t->status = status;
	control = (control & ~TRB_C) | (ir->pcs ? TRB_C : 0);
	__atomic_store_n(&t->control, control, __ATOMIC_RELEASE);
	if (nidx == 0 && nseg == 0)
		ir->pcs = !ir->pcs;
	ir->seg_idx = nseg;
	ir->idx = nidx;
	x->stats.events++;
	intr_raise(x);
	return true;
}

static void cmd_event(struct xhci *x, u64 trb_addr, u8 cc, u8 slot_id)
{
	event(x, trb_addr, (u32)cc << 24, TRB_EV_CMD_COMPLETION << TRB_TYPE_SHIFT | (u32)slot_id << 24);
}

static void port_event(struct xhci *x, unsigned int port)
{
	x->usbsts |= USBSTS_PCD;
	event(x, (u64)port << 24, (u32)CC_SUCCESS << 24, TRB_EV_PORT_STATUS << TRB_TYPE_SHIFT);
}

static void xfer_event(struct xhci *x, unsigned int slot_id, unsigned int dci, u64 ptr, u8 cc,
		       u32 residual, bool ed)
{
	event(x, ptr, (u32)cc << 24 | (residual & 0xffffff),
	      TRB_EV_TRANSFER << TRB_TYPE_SHIFT | (ed ? 1u << 2 : 0) | dci << 16 | slot_id << 24);
}

/* ---- ports ---- */

static u32 port_speed(enum usb_speed s)
{
	switch (s) {
	case USB_SPEED_LOW: return XHCI_SPEED_LOW;
	case USB_SPEED_FULL: return XHCI_SPEED_FULL;
	case USB_SPEED_HIGH: return XHCI_SPEED_HIGH;
	default: return XHCI_SPEED_SUPER;
	}
}

static void port_set_pls(struct xhci_port *p, u32 pls)
{
	p->portsc = (p->portsc & ~PORTSC_PLS_MASK) | pls << PORTSC_PLS_SHIFT;
}

/* the port's bits for what is plugged in now, with a connect change */
static void port_connect_state(struct xhci_port *p)
{
	p->portsc &= ~(PORTSC_CCS | PORTSC_PED | PORTSC_SPEED_MASK | PORTSC_PLS_MASK);
	p->portsc |= PORTSC_PP;
	if (p->dev) {
		p->portsc |= PORTSC_CCS | port_speed(p->dev->speed) << PORTSC_SPEED_SHIFT;
		if (p->usb3) {
			/* a SuperSpeed link trains by itself: enabled in U0 */
			p->portsc |= PORTSC_PED;
			port_set_pls(p, PLS_U0);
		} else {
			port_set_pls(p, PLS_POLLING);
		}
	} else {
		port_set_pls(p, PLS_RXDETECT);
	}
}

static void port_reset(struct xhci *x, unsigned int i, bool warm)
{
	struct xhci_port *p = &x->ports[i];

	p->portsc &= ~(PORTSC_PR | PORTSC_WPR);
	if (p->dev) {
		if (p->dev->ops->reset && !p->dev->gone)
			p->dev->ops->reset(p->dev);
		p->portsc |= PORTSC_PED;
		port_set_pls(p, PLS_U0);
	}
	p->portsc |= PORTSC_PRC | (warm && p->usb3 ? PORTSC_WRC : 0);
	port_event(x, i + 1);
}

static void port_write(struct xhci *x, unsigned int i, u32 val)
{
	struct xhci_port *p = &x->ports[i];
	u32 old = p->portsc;

	p->portsc &= ~(val & PORTSC_CHANGES);
	if (val & PORTSC_PED && !p->usb3)
		p->portsc &= ~PORTSC_PED;	/* write 1 to disable */
	p->portsc = (p->portsc & ~(PORTSC_WCE | PORTSC_WDE | PORTSC_WOE | PORTSC_PIC_MASK)) |
		    (val & (PORTSC_WCE | PORTSC_WDE | PORTSC_WOE | PORTSC_PIC_MASK));
	if (val & PORTSC_LWS && p->portsc & PORTSC_CCS) {
		u32 pls = (val & PORTSC_PLS_MASK) >> PORTSC_PLS_SHIFT;
		u32 cur = (old & PORTSC_PLS_MASK) >> PORTSC_PLS_SHIFT;

		switch (pls) {
		case PLS_U0:
			port_set_pls(p, PLS_U0);
			if (cur == PLS_U3 || cur == PLS_RESUME) {
				p->portsc |= PORTSC_PLC;
				port_event(x, i + 1);
			}
			break;
		case PLS_U3:
			port_set_pls(p, PLS_U3);
			break;
		case PLS_RESUME:
			if (!p->usb3)
				port_set_pls(p, PLS_RESUME);
			break;
		default:
			pr_debug("%s: port %u: link state %u written; ignored", x->name, i + 1, pls);
		}
	}
	if (val & PORTSC_PR)
		port_reset(x, i, false);
	else if (val & PORTSC_WPR && p->usb3)
		port_reset(x, i, true);
}

/* ---- slots and endpoints ---- */

static struct xhci_slot *slot_get(struct xhci *x, unsigned int id)
{
	return id >= 1 && id <= XHCI_MAX_SLOTS && x->slots[id].enabled ? &x->slots[id] : NULL;
}

static u32 *out_ctx(struct xhci *x, struct xhci_slot *s, unsigned int idx)
{
	return gpa(x, s->ctx + XHCI_CTX_SIZE * idx, XHCI_CTX_SIZE);
}

/* write the controller's view of endpoint dci into the output context */
static void ep_store(struct xhci *x, struct xhci_slot *s, unsigned int dci)
{
	struct xhci_ep *ep = &s->eps[dci];
	u32 *c = out_ctx(x, s, dci);
	u64 deq;

	if (!c)
		return;
	c[0] = (c[0] & ~7u) | ep->state;
	deq = ep->ring.deq | ep->ring.ccs;
	c[2] = (u32)deq;
	c[3] = deq >> 32;
}

static void slot_store(struct xhci *x, struct xhci_slot *s)
{
	u32 *c = out_ctx(x, s, 0);

	if (c)
		c[3] = (u32)s->state << 27 | s->addr;
}

/* the device's packet is no longer wanted: cancel it with the device */
static void ep_cancel(struct xhci *x, struct xhci_ep *ep)
{
	ep->nak = false;
	if (!ep->busy || ep->cancelled)
		return;
	ep->cancelled = true;
	if (ep->pkt.dev && !ep->pkt.dev->gone && ep->pkt.dev->ops->cancel &&
	    ep->pkt.dev->ops->cancel(ep->pkt.dev, &ep->pkt)) {
		/* dropped: it will never be completed */
		ep->busy = ep->cancelled = false;
	}
	(void)x;
}

static void ep_disable(struct xhci *x, struct xhci_slot *s, unsigned int dci)
{
	struct xhci_ep *ep = &s->eps[dci];

	ep_cancel(x, ep);
	ep->state = EP_STATE_DISABLED;
	x->db_pending[s - x->slots] &= ~(1u << dci);
}

/* set endpoint dci up from a 32-byte context; false if it is not valid */
static bool ep_enable(struct xhci *x, struct xhci_slot *s, unsigned int dci, const u32 *c)
{
	struct xhci_ep *ep = &s->eps[dci];
	u8 type = (c[1] >> 3) & 7;
	u64 deq = (u64)c[3] << 32 | c[2];
	bool in = dci & 1;

	if (type == EP_TYPE_INVALID || (dci == 1) != (type == EP_TYPE_CONTROL) ||
	    (dci != 1 && in != (type >= EP_TYPE_ISO_IN)) || ((c[0] >> 10) & 0x1f) /* streams */)
		return false;
	ep_cancel(x, ep);
	ep->type = type;
	ep->max_packet = c[1] >> 16;
	ep->ring.deq = deq & ~0xfULL;
	ep->ring.ccs = deq & 1;
	ep->state = EP_STATE_RUNNING;
	ep->nak = false;
	ep->slot_id = s - x->slots;
	ep->dci = dci;
	ep->x = x;
	return true;
}

static void slot_disable_eps(struct xhci *x, struct xhci_slot *s, unsigned int from)
{
	for (unsigned int dci = from; dci < XHCI_NR_EPS; dci++)
		if (s->eps[dci].state != EP_STATE_DISABLED || s->eps[dci].busy)
			ep_disable(x, s, dci);
}

/* ---- transfers ---- */

static u8 status_cc(int status)
{
	switch (status) {
	case USB_RET_SUCCESS: return CC_SUCCESS;
	case USB_RET_STALL: return CC_STALL;
	case USB_RET_BABBLE: return CC_BABBLE;
	default: return CC_USB_TRANSACTION_ERROR;
	}
}

static bool data_trb(u32 type)
{
	return type == TRB_NORMAL || type == TRB_DATA || type == TRB_ISOCH;
}

/*
 * The guest's buffers of a TD are copied into (OUT) or out of (IN) the
 * packet's contiguous buffer.  Immediate data (IDT) lives in the TRB.
 * Returns false if a buffer is not guest RAM.
 */
static bool td_copy(struct xhci *x, struct xhci_ep *ep, bool to_guest, u32 limit)
{
	u32 off = 0;

	for (unsigned int i = 0; i < ep->td_len && off < limit; i++) {
		const struct xhci_trb *t = &ep->td[i].trb;
		u32 len = TRB_LEN(t->status), n;

		if (!data_trb(TRB_TYPE(t->control)))
			continue;
		n = MIN(len, limit - off);
		if (t->control & TRB_IDT) {
			if (len > 8)
				return false;
			if (!to_guest)
				memcpy(ep->pkt.buf + off, &t->param, n);
		} else if (n) {
			u8 *h = gpa(x, t->param, n);

			if (!h)
				return false;
			if (to_guest)
				memcpy(h, ep->pkt.buf + off, n);
			else
				memcpy(ep->pkt.buf + off, h, n);
		}
		off += n;
	}
	return true;
}

/* the events of a finished TD (xHCI 4.10.1): IOC, and ISP on a short
 * packet; for a control TD the Status stage still reports after a short
 * Data stage.  An error ends the TD where the data stopped. */
static void td_events(struct xhci *x, struct xhci_ep *ep, u8 cc, u32 actual)
{
	unsigned int slot_id = ep->slot_id, dci = ep->dci;
	bool control = ep->type == EP_TYPE_CONTROL, short_seen = false;
	u32 left = actual, edtla = 0;
	int last_data = -1;

	for (unsigned int i = 0; i < ep->td_len; i++)
		if (data_trb(TRB_TYPE(ep->td[i].trb.control)))
			last_data = i;
	if (cc != CC_SUCCESS) {
		/* report at the TRB where the data stopped (the Status stage if none) */
		int at = ep->td_len - 1;

		for (unsigned int i = 0; i < ep->td_len; i++) {
			u32 len = TRB_LEN(ep->td[i].trb.status);

			if (!data_trb(TRB_TYPE(ep->td[i].trb.control)))
				continue;
			at = i;
			if (left < len || (int)i == last_data)
				break;
			left -= len;
		}
		if (control && last_data < 0)
			at = ep->td_len - 1;
		xfer_event(x, slot_id, dci, ep->td[at].addr, cc,
			   data_trb(TRB_TYPE(ep->td[at].trb.control)) ?
			   TRB_LEN(ep->td[at].trb.status) - MIN(left, TRB_LEN(ep->td[at].trb.status)) : 0,
			   false);
		return;
	}
	for (unsigned int i = 0; i < ep->td_len; i++) {
		const struct xhci_trb *t = &ep->td[i].trb;
		u32 type = TRB_TYPE(t->control), len = TRB_LEN(t->status), took;

		if (type == TRB_EVENT_DATA) {
			if (t->control & TRB_IOC)
				xfer_event(x, slot_id, dci, t->param,
					   short_seen ? CC_SHORT_PACKET : CC_SUCCESS, edtla, true);
			edtla = 0;
			if (short_seen && !control)
				return;
			continue;
		}
		if (!data_trb(type)) {
			if (t->control & TRB_IOC)	/* Setup, Status, No-op */
				xfer_event(x, slot_id, dci, ep->td[i].addr, CC_SUCCESS, 0, false);
			continue;
		}
		if (short_seen) {
			/* past a short packet: a normal TD reports at its IOC */
			if (t->control & TRB_IOC && !control) {
				xfer_event(x, slot_id, dci, ep->td[i].addr, CC_SHORT_PACKET, len, false);
				return;
			}
			continue;
		}
		took = MIN(len, left);
		left -= took;
		edtla += took;
		if (took < len) {
			short_seen = true;
			if (t->control & (TRB_ISP | TRB_IOC)) {
				xfer_event(x, slot_id, dci, ep->td[i].addr, CC_SHORT_PACKET, len - took,
					   false);
				if (!control)
					return;
			}
		} else if (t->control & TRB_IOC) {
			xfer_event(x, slot_id, dci, ep->td[i].addr, CC_SUCCESS, 0, false);
		}
	}
}

static bool ep_iso(const struct xhci_ep *ep)
{
	return ep->type == EP_TYPE_ISO_OUT || ep->type == EP_TYPE_ISO_IN;
}

/* the TD is done with status: data to the guest, events, ring advanced */
static void td_finish(struct xhci *x, struct xhci_slot *s, struct xhci_ep *ep, int status)
{
	struct usb_packet *p = &ep->pkt;
	u8 cc = status_cc(status);
	u32 actual = MIN(p->actual, p->len);

	if (p->in && actual && !td_copy(x, ep, true, actual))
		cc = CC_DATA_BUFFER_ERROR;
	if (p->in)
		x->stats.bytes_in += actual;
	else
		x->stats.bytes_out += actual;
	ep->ring = ep->td_end;
	if (cc != CC_SUCCESS && cc != CC_SHORT_PACKET) {
		x->stats.errors++;
		/* an isochronous endpoint never halts: the error is this TD's */
		if (!ep_iso(ep)) {
			ep->state = EP_STATE_HALTED;
			ep_store(x, s, ep->dci);
		}
	}
	td_events(x, ep, cc, actual);
	ep->td_len = 0;
}

/* a TD the controller itself refuses: report at bad, skip to after it */
static void td_reject(struct xhci *x, struct xhci_slot *s, struct xhci_ep *ep, u64 bad, u8 cc,
		      bool halt)
{
	x->stats.errors++;
	ep->td_len = 0;
	if (halt) {
		ep->state = EP_STATE_HALTED;
		ep_store(x, s, ep->dci);
	}
	xfer_event(x, s - x->slots, ep->dci, bad, cc, 0, false);
}

/* build and submit the packet for the TD in ep->td; true if the endpoint
 * may go on with the next TD */
static bool td_submit(struct xhci *x, struct xhci_slot *s, struct xhci_ep *ep)
{
	struct usb_packet *p = &ep->pkt;
	bool control = ep->type == EP_TYPE_CONTROL;
	bool iso = ep_iso(ep);
	bool has_data = false;
	u64 total = 0;
	int ret;

	memset(&p->setup, 0, sizeof(p->setup));
	if (control) {
		const struct xhci_trb *t = &ep->td[0].trb;

		if (TRB_TYPE(t->control) != TRB_SETUP || !(t->control & TRB_IDT) ||
		    TRB_LEN(t->status) != 8) {
			pr_warn_guest("%s: slot %u: a control TD does not start with an 8-byte "
				      "immediate Setup TRB; TRB error", x->name, ep->slot_id);
			ep->ring = ep->td_end;
			td_reject(x, s, ep, ep->td[0].addr, CC_TRB_ERROR, false);
			return true;
		}
		memcpy(&p->setup, &t->param, 8);
		p->in = p->setup.bmRequestType & USB_DIR_IN;
		p->type = USB_XFER_CONTROL;
	} else {
		p->in = ep->type >= EP_TYPE_ISO_IN;
		p->type = ep->type == EP_TYPE_BULK_IN || ep->type == EP_TYPE_BULK_OUT ? USB_XFER_BULK :
			  ep->type == EP_TYPE_INT_IN || ep->type == EP_TYPE_INT_OUT ? USB_XFER_INT :
			  USB_XFER_ISO;
	}
	for (unsigned int i = 0; i < ep->td_len; i++) {
		const struct xhci_trb *t = &ep->td[i].trb;
		u32 type = TRB_TYPE(t->control);

		/* an isochronous TD starts with an Isoch TRB, and only it has one */
		if ((type == TRB_ISOCH && (!iso || i)) || (iso && !i && type == TRB_NORMAL) ||
		    (!control && (type == TRB_SETUP || type == TRB_DATA || type == TRB_STATUS)) ||
		    (control && type == TRB_NORMAL && i == 1) ||
		    (data_trb(type) && t->control & TRB_IDT && (p->in || TRB_LEN(t->status) > 8))) {
			pr_warn_guest("%s: slot %u ep %u: TRB type %u is not valid here; TRB error",
				      x->name, ep->slot_id, ep->dci, type);
			ep->ring = ep->td_end;
			td_reject(x, s, ep, ep->td[i].addr, CC_TRB_ERROR, false);
			return true;
		}
		if (data_trb(type)) {
			total += TRB_LEN(t->status);
			has_data = true;
		}
	}
	if (!control && !has_data) {
		/* No-op TRBs only (Linux turns a cancelled TD into these): nothing
		 * for the device, the TRBs with IOC still report */
		ep->ring = ep->td_end;
		td_events(x, ep, CC_SUCCESS, 0);
		ep->td_len = 0;
		return true;
	}
	if (total > XHCI_TD_MAX_BYTES) {
		pr_warn_guest("%s: slot %u ep %u: a TD of %llu bytes (at most %u); TRB error", x->name,
			      ep->slot_id, ep->dci, (unsigned long long)total, XHCI_TD_MAX_BYTES);
		ep->ring = ep->td_end;
		td_reject(x, s, ep, ep->td[0].addr, CC_TRB_ERROR, false);
		return true;
	}
	if (total > ep->buf_cap) {
		free(ep->buf);
		ep->buf_cap = MAX((u32)total, 4096u);
		ep->buf = xzalloc(ep->buf_cap);
	}
	p->buf = ep->buf;
	p->len = total;
	p->actual = 0;
	p->status = USB_RET_SUCCESS;
	p->ep = ep->dci / 2;
	p->hc = ep;
	p->dev = s->dev;
	p->id = ++x->next_packet_id;
	if (!p->in && total && !td_copy(x, ep, false, total)) {
		ep->ring = ep->td_end;
		td_reject(x, s, ep, ep->td[0].addr, CC_DATA_BUFFER_ERROR, true);
		return false;
	}
	if (!s->dev || s->dev->gone) {
		p->status = USB_RET_NODEV;
		td_finish(x, s, ep, USB_RET_NODEV);
		return false;
	}
	x->stats.transfers++;
	ret = s->dev->ops->handle(s->dev, p);
	if (ret == USB_RET_NAK) {
		ep->nak = true;		/* the TD stays on the ring */
		return false;
	}
	if (ret == USB_RET_ASYNC) {
		ep->busy = true;
		ep->cancelled = false;
		return false;
	}
	td_finish(x, s, ep, ret);
	return ep->state == EP_STATE_RUNNING;
}

static void ep_run(struct xhci *x, unsigned int slot_id, unsigned int dci)
{
	struct xhci_slot *s = slot_get(x, slot_id);
	struct xhci_ep *ep;

	if (!s || dci < 1 || dci >= XHCI_NR_EPS)
		return;
	ep = &s->eps[dci];
	if (ep->state != EP_STATE_RUNNING || ep->busy || !(x->usbcmd & USBCMD_RS))
		return;
	if (!ep->td)
		ep->td = xzalloc(XHCI_TD_MAX_TRBS * sizeof(*ep->td));
	for (unsigned int n = 0; n < XHCI_TDS_PER_RUN; n++) {
		u64 bad = 0;
		int got;

		ep->td_end = ep->ring;
		got = xhci_ring__gather_td(x->mem, &ep->td_end, ep->type == EP_TYPE_CONTROL, ep->td,
					   XHCI_TD_MAX_TRBS, &bad);
		if (got == 0)
			return;
		if (got == XHCI_FETCH_FAULT || got == XHCI_FETCH_LOOP) {
			pr_warn_guest("%s: slot %u ep %u: the transfer ring at %#llx %s; endpoint halted",
				      x->name, slot_id, dci, (unsigned long long)bad,
				      got == XHCI_FETCH_LOOP ? "loops through link TRBs" :
				      "is not in guest RAM");
			td_reject(x, s, ep, ep->ring.deq, CC_TRB_ERROR, true);
			return;
		}
		if (got < 0) {
			struct xhci_td_trb one;

			pr_warn_guest("%s: slot %u ep %u: a transfer descriptor at %#llx is %s; TRB error",
				      x->name, slot_id, dci, (unsigned long long)bad,
				      got == XHCI_TD_TOO_LONG ? "longer than the controller takes" :
				      "malformed");
			/* skip one TRB and go on */
			if (xhci_ring__fetch(x->mem, &ep->ring, &one) != XHCI_FETCH_OK) {
				td_reject(x, s, ep, bad, CC_TRB_ERROR, true);
				return;
			}
			td_reject(x, s, ep, bad, CC_TRB_ERROR, false);
			continue;
		}
		ep->td_len = got;
		ep->nak = false;
		if (!td_submit(x, s, ep))
			return;
	}
	/* more may be waiting: come back after the other endpoints */
	x->db_pending[slot_id] |= 1u << dci;
	x->rerun = true;
}

/* ---- commands ---- */

/* the input context's control dwords and a context of it */
static const u32 *in_ctx(struct xhci *x, u64 addr, unsigned int idx)
{
	return gpa(x, addr + XHCI_CTX_SIZE * (idx + 1), XHCI_CTX_SIZE);
}

static u8 cmd_enable_slot(struct xhci *x, u8 *slot_out)
{
	unsigned int max = MIN((unsigned int)(x->config & 0xff), (unsigned int)XHCI_MAX_SLOTS);

	for (unsigned int i = 1; i <= max; i++) {
		struct xhci_slot *s = &x->slots[i];

		if (s->enabled)
			continue;
		slot_disable_eps(x, s, 1);
		s->enabled = true;
		s->state = SLOT_STATE_DISABLED;
		s->port = 0;
		s->addr = 0;
		s->dev = NULL;
		s->ctx = 0;
		*slot_out = i;
		return CC_SUCCESS;
	}
	return CC_NO_SLOTS;
}

static u8 cmd_disable_slot(struct xhci *x, struct xhci_slot *s)
{
	slot_disable_eps(x, s, 1);
	s->state = SLOT_STATE_DISABLED;
	slot_store(x, s);
	s->enabled = false;
	s->dev = NULL;
	return CC_SUCCESS;
}

static u8 cmd_address_device(struct xhci *x, struct xhci_slot *s, u64 input, bool bsr)
{
	const u32 *icc = gpa(x, input, XHCI_CTX_SIZE), *sc = in_ctx(x, input, 0),
		  *ep0 = in_ctx(x, input, 1);
	unsigned int id = s - x->slots, port;
	const u64 *dcbaa;
	u32 *out;

	if (!icc || !sc || !ep0)
		return CC_PARAMETER_ERROR;
	if ((icc[1] & 3) != 3 || icc[0])
		return CC_PARAMETER_ERROR;
	if (s->state > (bsr ? SLOT_STATE_DISABLED : SLOT_STATE_DEFAULT))
		return CC_CONTEXT_STATE_ERROR;
	port = (sc[1] >> 16) & 0xff;
	if (port < 1 || port > XHCI_NR_PORTS || (sc[0] & 0xfffff))
		return CC_PARAMETER_ERROR;	/* no hubs: the route string is 0 */
	if (!x->ports[port - 1].dev || !(x->ports[port - 1].portsc & PORTSC_PED))
		return CC_USB_TRANSACTION_ERROR;
	dcbaa = gpa(x, x->dcbaap + 8ULL * id, 8);
	if (!dcbaa)
		return CC_PARAMETER_ERROR;
	s->ctx = *dcbaa & ~0x3fULL;
	out = gpa(x, s->ctx, XHCI_CTX_SIZE * XHCI_NR_EPS);
	if (!out) {
		pr_warn_guest("%s: slot %u: the output device context at %#llx is not in guest RAM",
			      x->name, id, (unsigned long long)s->ctx);
		return CC_PARAMETER_ERROR;
	}
	if (!ep_enable(x, s, 1, ep0))
		return CC_PARAMETER_ERROR;
	s->port = port;
	s->dev = x->ports[port - 1].dev;
	s->addr = bsr ? 0 : id;
	s->state = bsr ? SLOT_STATE_DEFAULT : SLOT_STATE_ADDRESSED;
	memcpy(out, sc, XHCI_CTX_SIZE);
	memcpy(out + 8, ep0, XHCI_CTX_SIZE);
	/* one context entry (EP0) */
	out[0] = (out[0] & ~(0x1fu << 27)) | 1u << 27;
	slot_store(x, s);
	ep_store(x, s, 1);
	return CC_SUCCESS;
}

static u8 cmd_configure_ep(struct xhci *x, struct xhci_slot *s, u64 input, bool dc)
{
	const u32 *icc, *sc;
	u32 *out = out_ctx(x, s, 0);
	unsigned int last = 1;

	if (s->state != SLOT_STATE_ADDRESSED && s->state != SLOT_STATE_CONFIGURED)
		return CC_CONTEXT_STATE_ERROR;
	if (!out)
		return CC_PARAMETER_ERROR;
	if (dc) {
		slot_disable_eps(x, s, 2);
		for (unsigned int dci = 2; dci < XHCI_NR_EPS; dci++)
			ep_store(x, s, dci);
		s->state = SLOT_STATE_ADDRESSED;
		out[0] = (out[0] & ~(0x1fu << 27)) | 1u << 27;
		slot_store(x, s);
		return CC_SUCCESS;
	}
	icc = gpa(x, input, XHCI_CTX_SIZE);
	sc = in_ctx(x, input, 0);
	if (!icc || !sc)
		return CC_PARAMETER_ERROR;
	/* check every added context before changing anything */
	for (unsigned int dci = 2; dci < XHCI_NR_EPS; dci++) {
		const u32 *c = in_ctx(x, input, dci);
		u8 type;

		if (!(icc[1] & (1u << dci)))
			continue;
		if (!c)
			return CC_PARAMETER_ERROR;
		type = (c[1] >> 3) & 7;
		if (type == EP_TYPE_INVALID || type == EP_TYPE_CONTROL ||
		    ((dci & 1) != (type >= EP_TYPE_ISO_IN)) || ((c[0] >> 10) & 0x1f))
			return CC_PARAMETER_ERROR;
	}
	for (unsigned int dci = 2; dci < XHCI_NR_EPS; dci++) {
		if (icc[0] & (1u << dci)) {
			ep_disable(x, s, dci);
			ep_store(x, s, dci);
		}
		if (icc[1] & (1u << dci)) {
			const u32 *c = in_ctx(x, input, dci);
			u32 *o = out_ctx(x, s, dci);

			ep_enable(x, s, dci, c);
			if (o)
				memcpy(o, c, XHCI_CTX_SIZE);
			ep_store(x, s, dci);
		}
	}
	for (unsigned int dci = 1; dci < XHCI_NR_EPS; dci++)
		if (s->eps[dci].state != EP_STATE_DISABLED)
			last = dci;
	s->state = last > 1 ? SLOT_STATE_CONFIGURED : SLOT_STATE_ADDRESSED;
	if (icc[1] & 1) {
		/* the slot context: keep what the controller owns */
		out[0] = sc[0];
		out[1] = sc[1];
		out[2] = sc[2];
	}
	out[0] = (out[0] & ~(0x1fu << 27)) | last << 27;
	slot_store(x, s);
	return CC_SUCCESS;
}

static u8 cmd_evaluate_ctx(struct xhci *x, struct xhci_slot *s, u64 input)
{
	const u32 *icc = gpa(x, input, XHCI_CTX_SIZE), *sc = in_ctx(x, input, 0),
		  *ep0 = in_ctx(x, input, 1);
	u32 *out = out_ctx(x, s, 0), *oep0 = out_ctx(x, s, 1);

	if (s->state == SLOT_STATE_DISABLED)
		return CC_CONTEXT_STATE_ERROR;
	if (!icc || !sc || !ep0 || !out || !oep0)
		return CC_PARAMETER_ERROR;
	if (icc[1] & 1) {
		/* max exit latency, interrupter target */
		out[1] = (out[1] & ~0xffffu) | (sc[1] & 0xffff);
		out[2] = (out[2] & ~(0x3ffu << 22)) | (sc[2] & (0x3ffu << 22));
	}
	if (icc[1] & 2) {
		s->eps[1].max_packet = ep0[1] >> 16;
		oep0[1] = (oep0[1] & 0xffff) | (ep0[1] & 0xffff0000u);
	}
	return CC_SUCCESS;
}

static u8 cmd_reset_ep(struct xhci *x, struct xhci_slot *s, unsigned int dci)
{
	struct xhci_ep *ep;

	if (dci < 1 || dci >= XHCI_NR_EPS)
		return CC_TRB_ERROR;
	ep = &s->eps[dci];
	if (ep->state != EP_STATE_HALTED)
		return CC_CONTEXT_STATE_ERROR;
	ep->state = EP_STATE_STOPPED;
	ep_store(x, s, dci);
	return CC_SUCCESS;
}

static u8 cmd_stop_ep(struct xhci *x, struct xhci_slot *s, unsigned int dci)
{
	struct xhci_ep *ep;

	if (dci < 1 || dci >= XHCI_NR_EPS)
		return CC_TRB_ERROR;
	ep = &s->eps[dci];
	if (ep->state == EP_STATE_DISABLED)
		return CC_CONTEXT_STATE_ERROR;
	/* the TD in progress stays on the ring, at the dequeue pointer that
	 * the context shows; the guest moves past it with Set TR Dequeue */
	ep_cancel(x, ep);
	ep->td_len = 0;
	if (ep->state == EP_STATE_RUNNING)
		ep->state = EP_STATE_STOPPED;
	x->db_pending[s - x->slots] &= ~(1u << dci);
	ep_store(x, s, dci);
	return CC_SUCCESS;
}

static u8 cmd_set_tr_deq(struct xhci *x, struct xhci_slot *s, unsigned int dci, u64 ptr)
{
	struct xhci_ep *ep;

	if (dci < 1 || dci >= XHCI_NR_EPS)
		return CC_TRB_ERROR;
	ep = &s->eps[dci];
	if (ep->state != EP_STATE_STOPPED && ep->state != EP_STATE_ERROR)
		return CC_CONTEXT_STATE_ERROR;
	if (ptr & 0xe)		/* stream context type: no streams */
		return CC_INVALID_STREAM_TYPE;
	ep->ring.deq = ptr & ~0xfULL;
	ep->ring.ccs = ptr & 1;
	ep->nak = false;
	ep_store(x, s, dci);
	return CC_SUCCESS;
}

static u8 cmd_reset_device(struct xhci *x, struct xhci_slot *s)
{
	u32 *out = out_ctx(x, s, 0);

	if (s->state == SLOT_STATE_DISABLED || s->state == SLOT_STATE_DEFAULT)
		return CC_CONTEXT_STATE_ERROR;
	slot_disable_eps(x, s, 2);
	for (unsigned int dci = 2; dci < XHCI_NR_EPS; dci++)
		ep_store(x, s, dci);
	s->state = SLOT_STATE_DEFAULT;
	s->addr = 0;
	if (out)
		out[0] = (out[0] & ~(0x1fu << 27)) | 1u << 27;
	slot_store(x, s);
	return CC_SUCCESS;
}

static void run_command(struct xhci *x, const struct xhci_td_trb *c)
{
	const struct xhci_trb *t = &c->trb;
	u32 type = TRB_TYPE(t->control);
	u8 slot_id = TRB_SLOT(t->control), cc = CC_TRB_ERROR;
	struct xhci_slot *s = NULL;

	x->stats.commands++;
	if (type != TRB_CMD_ENABLE_SLOT && type != TRB_CMD_NOOP && type >= TRB_CMD_DISABLE_SLOT &&
	    type <= TRB_CMD_RESET_DEVICE) {
		s = slot_get(x, slot_id);
		if (!s) {
			cmd_event(x, c->addr, CC_SLOT_NOT_ENABLED, slot_id);
			return;
		}
	}
	switch (type) {
	case TRB_CMD_ENABLE_SLOT:
		slot_id = 0;
		cc = cmd_enable_slot(x, &slot_id);
		break;
	case TRB_CMD_DISABLE_SLOT:
		cc = cmd_disable_slot(x, s);
		break;
	case TRB_CMD_ADDRESS_DEVICE:
		cc = cmd_address_device(x, s, t->param & ~0xfULL, t->control & TRB_BSR);
		break;
	case TRB_CMD_CONFIGURE_EP:
		cc = cmd_configure_ep(x, s, t->param & ~0xfULL, t->control & TRB_DC);
		break;
	case TRB_CMD_EVALUATE_CTX:
		cc = cmd_evaluate_ctx(x, s, t->param & ~0xfULL);
		break;
	case TRB_CMD_RESET_EP:
		cc = cmd_reset_ep(x, s, TRB_EP(t->control));
		break;
	case TRB_CMD_STOP_EP:
		cc = cmd_stop_ep(x, s, TRB_EP(t->control));
		break;
	case TRB_CMD_SET_TR_DEQ:
		cc = cmd_set_tr_deq(x, s, TRB_EP(t->control), t->param);
		break;
	case TRB_CMD_RESET_DEVICE:
		cc = cmd_reset_device(x, s);
		break;
	case TRB_CMD_NOOP:
		cc = CC_SUCCESS;
		slot_id = 0;
		break;
	default:
		pr_debug("%s: command TRB type %u is not supported; TRB error", x->name, type);
		slot_id = 0;
		break;
	}
	cmd_event(x, c->addr, cc, slot_id);
}

static void run_commands(struct xhci *x)
{
	if (!x->cmd_running) {
		x->cmd_ring.deq = x->crcr & ~0x3fULL;
		x->cmd_ring.ccs = x->crcr & CRCR_RCS;
		x->cmd_running = true;
	}
	for (unsigned int n = 0; n < XHCI_CMDS_PER_KICK; n++) {
		struct xhci_td_trb c;
		enum xhci_fetch f = xhci_ring__fetch(x->mem, &x->cmd_ring, &c);

		if (f == XHCI_FETCH_EMPTY)
			return;
		if (f != XHCI_FETCH_OK) {
			pr_warn_guest("%s: the command ring at %#llx %s; it stops", x->name,
				      (unsigned long long)x->cmd_ring.deq,
				      f == XHCI_FETCH_LOOP ? "loops through link TRBs" :
				      "is not in guest RAM");
			x->cmd_running = false;
			cmd_event(x, x->cmd_ring.deq, CC_COMMAND_RING_STOPPED, 0);
			return;
		}
		run_command(x, &c);
	}
	x->db_pending[0] |= 1;
	x->rerun = true;
}

/* ---- reset ---- */

static void hc_reset(struct xhci *x)
{
	for (unsigned int i = 1; i <= XHCI_MAX_SLOTS; i++) {
		slot_disable_eps(x, &x->slots[i], 1);
		x->slots[i].enabled = false;
		x->slots[i].state = SLOT_STATE_DISABLED;
		x->slots[i].dev = NULL;
	}
	x->usbcmd = 0;
	x->usbsts = USBSTS_HCH;
	x->dnctrl = 0;
	x->config = 0;
	x->crcr = 0;
	x->dcbaap = 0;
	x->cmd_running = false;
	memset(x->db_pending, 0, sizeof(x->db_pending));
	memset(&x->intr, 0, sizeof(x->intr));
	x->intr.pcs = true;
	for (unsigned int i = 0; i < XHCI_NR_PORTS; i++) {
		struct xhci_port *p = &x->ports[i];

		p->portsc = 0;
		port_connect_state(p);
		if (p->dev)
			p->portsc |= PORTSC_CSC;
	}
	intx_set(x, false);
}

/* ---- registers ---- */

static u32 cap_read(struct xhci *x __unused, u32 off)
{
	switch (off) {
	case CAP_CAPLENGTH:
		return 0x0100u << 16 | XHCI_OFF_OPER;	/* HCIVERSION 1.0 in the upper half */
	case CAP_HCSPARAMS1:
		return (u32)XHCI_NR_PORTS << 24 | 1u << 8 | XHCI_MAX_SLOTS;
	case CAP_HCSPARAMS2:
		return 4u << 4;		/* ERST Max 2^4, IST 0, no scratchpad */
	case CAP_HCSPARAMS3:
		return 0;
	case CAP_HCCPARAMS1:
		/* AC64, 32-byte contexts, no port power control, no streams,
		 * extended capabilities at XHCI_OFF_XECP */
		return (u32)(XHCI_OFF_XECP / 4) << 16 | 1u;
	case CAP_DBOFF:
		return XHCI_OFF_DOORBELL;
	case CAP_RTSOFF:
		return XHCI_OFF_RUNTIME;
	case CAP_HCCPARAMS2:
		return 0;
	}
	return 0;
}

/* two Supported Protocol capabilities: USB 2.0 ports 1-4, USB 3.0 ports 5-8 */
static u32 xecp_read(u32 off)
{
	static const u32 caps[8] = {
		0x02000002 | (4u << 8),			/* ID 2, next in 4 dwords, USB 2.0 */
		0x20425355,				/* "USB " */
		1u | XHCI_NR_PORTS_USB2 << 8,		/* ports 1..4 */
		0,
		0x03000002,				/* ID 2, last, USB 3.0 */
		0x20425355,
		(XHCI_NR_PORTS_USB2 + 1) | XHCI_NR_PORTS_USB3 << 8,
		0,
	};

	return off / 4 < ARRAY_SIZE(caps) ? caps[off / 4] : 0;
}

static u32 oper_read(struct xhci *x, u32 off)
{
	if (off >= 0x400) {
		u32 i = (off - 0x400) / 0x10;

		if (i >= XHCI_NR_PORTS)
			return 0;
		return (off & 0xf) == 0 ? x->ports[i].portsc : 0;
	}
	switch (off) {
	case OP_USBCMD: return x->usbcmd;
	case OP_USBSTS: return x->usbsts;
	case OP_PAGESIZE: return 1;	/* 4 KiB */
	case OP_DNCTRL: return x->dnctrl;
	case OP_CRCR: return x->cmd_running ? CRCR_CRR : 0;
	case OP_CRCR + 4: return 0;
	case OP_DCBAAP: return (u32)x->dcbaap;
	case OP_DCBAAP + 4: return x->dcbaap >> 32;
	case OP_CONFIG: return x->config;
	}
	return 0;
}

static void usbcmd_write(struct xhci *x, u32 val)
{
	u32 old = x->usbcmd;

	if (val & USBCMD_HCRST) {
		hc_reset(x);
		return;
	}
	x->usbcmd = val & (USBCMD_RS | USBCMD_INTE | USBCMD_HSEE | USBCMD_EWE);
	if ((val & USBCMD_RS) && !(old & USBCMD_RS)) {
		x->usbsts &= ~USBSTS_HCH;
	} else if (!(val & USBCMD_RS) && (old & USBCMD_RS)) {
		x->usbsts |= USBSTS_HCH;
		x->cmd_running = false;
	}
	/* save/restore state: nothing to save, restore succeeds at once */
	if (val & USBCMD_CRS)
		x->usbsts &= ~USBSTS_SRE;
	intr_update(x);
}

static void crcr_write(struct xhci *x, bool high, u32 val)
{
	if (x->cmd_running) {
		/* only Command Stop and Command Abort while it runs */
		if (!high && (val & (CRCR_CS | CRCR_CA))) {
			x->cmd_running = false;
			x->crcr = x->cmd_ring.deq | x->cmd_ring.ccs;
			cmd_event(x, x->cmd_ring.deq, CC_COMMAND_RING_STOPPED, 0);
		}
		return;
	}
	if (high)
		x->crcr = (x->crcr & 0xffffffffULL) | (u64)val << 32;
	else
		x->crcr = (x->crcr & ~0xffffffffULL) | (val & ~0x3eu);
}

static void oper_write(struct xhci *x, u32 off, u32 val)
{
	if (off >= 0x400) {
		u32 i = (off - 0x400) / 0x10;

		if (i < XHCI_NR_PORTS && (off & 0xf) == 0)
			port_write(x, i, val);
		return;
	}
	switch (off) {
	case OP_USBCMD:
		usbcmd_write(x, val);
		break;
	case OP_USBSTS:
		x->usbsts &= ~(val & (USBSTS_HSE | USBSTS_EINT | USBSTS_PCD | USBSTS_SRE));
		break;
	case OP_DNCTRL:
		x->dnctrl = val & 0xffff;
		break;
	case OP_CRCR:
		crcr_write(x, false, val);
		break;
	case OP_CRCR + 4:
		crcr_write(x, true, val);
		break;
	case OP_DCBAAP:
		x->dcbaap = (x->dcbaap & ~0xffffffffULL) | (val & ~0x3fu);
		break;
	case OP_DCBAAP + 4:
		x->dcbaap = (x->dcbaap & 0xffffffffULL) | (u64)val << 32;
		break;
	case OP_CONFIG:
		x->config = val & 0x3ff;
		break;
	}
}

static u32 runtime_read(struct xhci *x, u32 off)
{
	struct xhci_intr *ir = &x->intr;

	if (off == 0)	/* MFINDEX: 125 us microframes */
		return (time_ns() / 125000) & 0x3fff;
	if (off < 0x20 || off >= 0x40)
		return 0;	/* one interrupter */
	switch (off - 0x20) {
	case IR_IMAN: return ir->iman;
	case IR_IMOD: return ir->imod;
	case IR_ERSTSZ: return ir->erstsz;
	case IR_ERSTBA: return (u32)ir->erstba;
	case IR_ERSTBA + 4: return ir->erstba >> 32;
	case IR_ERDP: return (u32)ir->erdp | (ir->ehb ? ERDP_EHB : 0);
	case IR_ERDP + 4: return ir->erdp >> 32;
	}
	return 0;
}

/* the guest moved its dequeue pointer: interrupt again if events wait */
static void erdp_written(struct xhci *x)
{
	struct xhci_intr *ir = &x->intr;

	if (ir->ehb || !ir->valid)
		return;
	if ((ir->erdp & ~0xfULL) != er_addr(ir, ir->seg_idx, ir->idx))
		intr_raise(x);
}

static void runtime_write(struct xhci *x, u32 off, u32 val)
{
	struct xhci_intr *ir = &x->intr;

	if (off < 0x20 || off >= 0x40)
		return;
	switch (off - 0x20) {
	case IR_IMAN:
		if (val & IMAN_IP)
			ir->iman &= ~IMAN_IP;
		ir->iman = (ir->iman & ~IMAN_IE) | (val & IMAN_IE);
		intr_update(x);
		break;
	case IR_IMOD:
		ir->imod = val;
		break;
	case IR_ERSTSZ:
		ir->erstsz = val & 0xffff;
		break;
	case IR_ERSTBA:
		ir->erstba = (ir->erstba & ~0xffffffffULL) | (val & ~0x3fu);
		er_setup(x);
		break;
	case IR_ERSTBA + 4:
		ir->erstba = (ir->erstba & 0xffffffffULL) | (u64)val << 32;
		er_setup(x);
		break;
	case IR_ERDP:
		ir->erdp = (ir->erdp & ~0xffffffffULL) | (val & ~0xfu);
		if (val & ERDP_EHB)
			ir->ehb = false;
		erdp_written(x);
		break;
	case IR_ERDP + 4:
		ir->erdp = (ir->erdp & 0xffffffffULL) | (u64)val << 32;
		erdp_written(x);
		break;
	}
}

static void kick(struct xhci *x)
{
	u64 one = 1;

	if (x->kick_fd >= 0 && write(x->kick_fd, &one, sizeof(one)) < 0)
		pr_debug("%s: kick: %s", x->name, strerror(errno));
}

static void doorbell_write(struct xhci *x, u32 db, u32 val)
{
	u32 target = val & 0xff;

	if (db > XHCI_MAX_SLOTS)
		return;
	if (db == 0) {
		if (target == 0)
			x->db_pending[0] |= 1;
	} else if (target >= 1 && target < XHCI_NR_EPS && !(val >> 16)) {
		struct xhci_ep *ep = &x->slots[db].eps[target];

		/* a doorbell restarts a stopped endpoint (xHCI 4.8.3) */
		if (x->slots[db].enabled && ep->state == EP_STATE_STOPPED) {
			ep->state = EP_STATE_RUNNING;
			ep_store(x, &x->slots[db], target);
		}
		x->db_pending[db] |= 1u << target;
		x->slots[db].eps[target].kicks++;
	} else {
		pr_debug("%s: doorbell %u: target %u stream %u ignored", x->name, db, target, val >> 16);
		return;
	}
	kick(x);
}

static u32 reg_read(struct xhci *x, u32 off)
{
	if (off < XHCI_OFF_OPER)
		return cap_read(x, off);
	if (off >= XHCI_OFF_XECP && off < XHCI_OFF_RUNTIME)
		return xecp_read(off - XHCI_OFF_XECP);
	if (off < XHCI_OFF_XECP)
		return oper_read(x, off - XHCI_OFF_OPER);
	if (off < XHCI_OFF_DOORBELL)
		return runtime_read(x, off - XHCI_OFF_RUNTIME);
	return 0;	/* doorbells read 0 */
}

static void reg_write(struct xhci *x, u32 off, u32 val)
{
	if (off < XHCI_OFF_OPER || (off >= XHCI_OFF_XECP && off < XHCI_OFF_RUNTIME))
		return;		/* read-only */
	if (off < XHCI_OFF_XECP)
		oper_write(x, off - XHCI_OFF_OPER, val);
	else if (off < XHCI_OFF_DOORBELL)
		runtime_write(x, off - XHCI_OFF_RUNTIME, val);
	else if (off < XHCI_OFF_MSIX_TABLE)
		doorbell_write(x, (off - XHCI_OFF_DOORBELL) / 4, val);
}

void xhci__mmio_read(struct xhci *x, u64 off, void *data, u32 len)
{
	u64 val;

	if (x->pci.msix.table && pci__msix_access(&x->pci, 0, off, data, len, false))
		return;
	if (off >= XHCI_BAR_SIZE || (len != 1 && len != 2 && len != 4 && len != 8)) {
		memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&x->lock);
	/* registers are dwords; narrower reads take their bytes of one */
	val = reg_read(x, off & ~3ULL);
	if (len == 8)
		val |= (u64)reg_read(x, (off & ~3ULL) + 4) << 32;
	pthread_mutex_unlock(&x->lock);
	val >>= 8 * (off & 3);
	memcpy(data, &val, len);
}

void xhci__mmio_write(struct xhci *x, u64 off, const void *data, u32 len)
{
	u64 val = 0;

	if (x->pci.msix.table && pci__msix_access(&x->pci, 0, off, (void *)data, len, true))
		return;
	if (off >= XHCI_BAR_SIZE || (off & 3) || (len != 4 && len != 8)) {
		pr_debug("%s: ignored %u-byte write at %#llx", x->name, len, (unsigned long long)off);
		return;
	}
	memcpy(&val, data, len);
	pthread_mutex_lock(&x->lock);
	reg_write(x, off, (u32)val);
	if (len == 8)
		reg_write(x, off + 4, val >> 32);
	pthread_mutex_unlock(&x->lock);
}

/* ---- the I/O thread ---- */

void xhci__process(struct xhci *x)
{
	unsigned int passes = 0;

	pthread_mutex_lock(&x->lock);
	do {
		x->rerun = false;
		if (x->db_pending[0] & 1) {
			x->db_pending[0] &= ~1u;
			if (x->usbcmd & USBCMD_RS)
				run_commands(x);
		}
		for (unsigned int s = 1; s <= XHCI_MAX_SLOTS; s++) {
			u32 pend = x->db_pending[s];

			x->db_pending[s] = 0;
			while (pend) {
				unsigned int dci = __builtin_ctz(pend);

				pend &= pend - 1;
				ep_run(x, s, dci);
			}
		}
	} while (x->rerun && !x->kick_fd_is_real && ++passes < 64);
	pthread_mutex_unlock(&x->lock);
	/* with a real thread, the rest waits for the next turn of the loop */
	if (x->rerun)
		kick(x);
}

static void io_kick(int fd, u32 events __unused, void *opaque)
{
	struct xhci *x = opaque;
	u64 n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	xhci__process(x);
}

/* ---- the device side (devices/usb.h) ---- */

void usb__complete(struct usb_packet *p)
{
	struct xhci_ep *ep = p->hc;
	struct xhci *x;
	struct xhci_slot *s;

	if (!ep)
		return;		/* never submitted by a controller (tests) */
	x = ep->x;
	pthread_mutex_lock(&x->lock);
	if (!ep->busy || &ep->pkt != p) {
		pthread_mutex_unlock(&x->lock);
		return;
	}
	ep->busy = false;
	s = &x->slots[ep->slot_id];
	if (ep->cancelled) {
		ep->cancelled = false;
	} else if (ep->state == EP_STATE_RUNNING && ep->td_len) {
		td_finish(x, s, ep, p->status);
	}
	if (ep->state == EP_STATE_RUNNING) {
		x->db_pending[ep->slot_id] |= 1u << ep->dci;
		pthread_mutex_unlock(&x->lock);
		kick(x);
		return;
	}
	pthread_mutex_unlock(&x->lock);
}

void usb__wakeup(struct usb_dev *d, u8 epnum, bool in)
{
	struct xhci *x = d->hc;
	unsigned int dci = epnum ? epnum * 2 + in : 1;
	bool kicked = false;

	if (!x || dci >= XHCI_NR_EPS)
		return;
	pthread_mutex_lock(&x->lock);
	for (unsigned int i = 1; i <= XHCI_MAX_SLOTS; i++) {
		struct xhci_slot *s = &x->slots[i];

		if (s->enabled && s->dev == d && s->eps[dci].nak) {
			s->eps[dci].nak = false;
			x->db_pending[i] |= 1u << dci;
			kicked = true;
		}
	}
	pthread_mutex_unlock(&x->lock);
	if (kicked)
		kick(x);
}

int xhci__attach(struct xhci *x, struct usb_dev *d)
{
	bool usb3 = d->speed == USB_SPEED_SUPER;
	int ret = -ENOSPC;

	pthread_mutex_lock(&x->lock);
	for (unsigned int i = 0; i < XHCI_NR_PORTS; i++) {
		struct xhci_port *p = &x->ports[i];

		if (p->usb3 != usb3 || p->dev)
			continue;
		p->dev = d;
		d->hc = x;
		d->port = i + 1;
		d->gone = false;
		port_connect_state(p);
		p->portsc |= PORTSC_CSC;
		if (x->usbcmd & USBCMD_RS)
			port_event(x, i + 1);
		ret = i + 1;
		break;
	}
	pthread_mutex_unlock(&x->lock);
	return ret;
}

void xhci__detach(struct xhci *x, struct usb_dev *d)
{
	pthread_mutex_lock(&x->lock);
	d->gone = true;
	for (unsigned int i = 1; i <= XHCI_MAX_SLOTS; i++) {
		struct xhci_slot *s = &x->slots[i];

		if (s->dev == d)
			s->dev = NULL;
		/* every packet d holds: from now on nothing looks at d (it is
		 * destroyed before xhci__forget) */
		for (unsigned int dci = 1; dci < XHCI_NR_EPS; dci++) {
			struct xhci_ep *ep = &s->eps[dci];

			if (ep->pkt.dev != d)
				continue;
			ep->nak = false;
			if (ep->busy)
				ep->cancelled = true;
		}
	}
	if (d->port) {
		struct xhci_port *p = &x->ports[d->port - 1];

		p->dev = NULL;
		port_connect_state(p);
		p->portsc |= PORTSC_CSC;
		port_event(x, d->port);
		d->port = 0;
	}
	pthread_mutex_unlock(&x->lock);
}

/* after the device was destroyed: nothing may point at it */
void xhci__forget(struct xhci *x, struct usb_dev *d)
{
	pthread_mutex_lock(&x->lock);
	for (unsigned int i = 1; i <= XHCI_MAX_SLOTS; i++)
		for (unsigned int dci = 1; dci < XHCI_NR_EPS; dci++) {
			struct xhci_ep *ep = &x->slots[i].eps[dci];

			if (ep->pkt.dev == d) {
				ep->busy = ep->cancelled = false;
				ep->pkt.dev = NULL;
			}
		}
	pthread_mutex_unlock(&x->lock);
}

json_object *xhci__status(struct xhci *x)
{
	json_object *o = json_object_new_object(), *ports = json_object_new_array();
	char pci[16];

	pthread_mutex_lock(&x->lock);
	snprintf(pci, sizeof(pci), "00:%02x.%x", x->pci.devfn >> 3, x->pci.devfn & 7);
	json_object_object_add(o, "name", json_object_new_string(x->name));
	json_object_object_add(o, "type", json_object_new_string("xhci"));
	json_object_object_add(o, "pci", json_object_new_string(pci));
	json_object_object_add(o, "running", json_object_new_boolean(x->usbcmd & USBCMD_RS));
	for (unsigned int i = 0; i < XHCI_NR_PORTS; i++) {
		json_object *p = json_object_new_object();

		json_object_object_add(p, "port", json_object_new_int(i + 1));
		json_object_object_add(p, "usb3", json_object_new_boolean(x->ports[i].usb3));
		json_object_object_add(p, "portsc", json_object_new_int64(x->ports[i].portsc));
		if (x->ports[i].dev)
			json_object_object_add(p, "device", json_object_new_string(x->ports[i].dev->id));
		json_object_array_add(ports, p);
	}
	json_object_object_add(o, "ports", ports);
	json_object_object_add(o, "commands", json_object_new_int64(x->stats.commands));
	json_object_object_add(o, "transfers", json_object_new_int64(x->stats.transfers));
	json_object_object_add(o, "events", json_object_new_int64(x->stats.events));
	json_object_object_add(o, "dropped-events", json_object_new_int64(x->stats.dropped_events));
	json_object_object_add(o, "errors", json_object_new_int64(x->stats.errors));
	json_object_object_add(o, "bytes-in", json_object_new_int64(x->stats.bytes_in));
	json_object_object_add(o, "bytes-out", json_object_new_int64(x->stats.bytes_out));
	pthread_mutex_unlock(&x->lock);
	return o;
}

/* ---- PCI ---- */

static void bar_read(void *dev, u64 off, void *data, u32 len) { xhci__mmio_read(dev, off, data, len); }
static void bar_write(void *dev, u64 off, const void *data, u32 len) { xhci__mmio_write(dev, off, data, len); }

static const struct trap_ops xhci_bar_ops = {
	.read = bar_read,
	.write = bar_write,
};

void xhci__init_state(struct xhci *x, struct guest_mem *mem)
{
	x->mem = mem;
	pthread_mutex_init(&x->lock, NULL);
	if (!x->name)
		x->name = xstrdup("xhci");
	x->kick_fd = -1;
	for (unsigned int i = 0; i < XHCI_NR_PORTS; i++)
		x->ports[i].usb3 = i >= XHCI_NR_PORTS_USB2;
	hc_reset(x);
}

static void xhci_vd_reset(struct vm_device *vd)
{
	struct xhci *x = container_of(vd, struct xhci, vd);

	pthread_mutex_lock(&x->lock);
	hc_reset(x);
	pthread_mutex_unlock(&x->lock);
}

static json_object *xhci_vd_status(struct vm_device *vd)
{
	return xhci__status(container_of(vd, struct xhci, vd));
}

int xhci__create(struct vm *vm, const char *name, struct xhci **out)
{
	struct xhci *x = xzalloc(sizeof(*x));
	struct pci_dev *d = &x->pci;
	char tname[32];
	int ret;

	x->vm = vm;
	x->name = xstrdup(name);
	xhci__init_state(x, &vm->mem);
	x->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->kick_fd < 0) {
		ret = -errno;
		goto err_free;
	}
	x->kick_fd_is_real = true;
	snprintf(tname, sizeof(tname), "io-%s", name);
	x->io = evloop__new(tname);
	if (!x->io) {
		ret = -ENOMEM;
		goto err_fd;
	}
	evloop__add(x->io, x->kick_fd, EPOLLIN, io_kick, x);

	d->name = x->name;
	d->priv = x;
	pci__init_header(d, XHCI_VENDOR, XHCI_DEVICE, XHCI_CLASS, 1, XHCI_VENDOR, XHCI_DEVICE, 1);
	d->cfg[0x60] = 0x30;	/* SBRN: USB 3.0 */
	d->cfg[0x61] = 0x20;	/* FLADJ: the default frame length */
	d->wmask[0x61] = 0x3f;
	pci__set_bar(d, 0, XHCI_BAR_SIZE, false, true, false, &xhci_bar_ops, x);
	ret = pci__msix_init(d, 1, 0, XHCI_OFF_MSIX_TABLE, XHCI_OFF_MSIX_PBA);
	if (ret)
		goto err_loop;
	ret = pci__register(vm, d);
	if (ret)
		goto err_loop;
	ret = evloop__start(x->io);
	if (ret)
		goto err_pci;
	x->vd.name = x->name;
	x->vd.reset = xhci_vd_reset;
	x->vd.status = xhci_vd_status;
	vm__add_device(vm, &x->vd);
	*out = x;
	return 0;

err_pci:
	pci__unregister(d);
err_loop:
	evloop__free(x->io);
err_fd:
	close(x->kick_fd);
err_free:
	free(x->name);
	free(x);
	return ret;
}

void xhci__destroy(struct xhci *x)
{
	if (x->vm)
		vm__remove_device(x->vm, &x->vd);
	if (x->io) {
		evloop__join(x->io);
		pci__unregister(&x->pci);
		evloop__free(x->io);
	}
	if (x->kick_fd >= 0)
		close(x->kick_fd);
	for (unsigned int i = 0; i <= XHCI_MAX_SLOTS; i++)
		for (unsigned int dci = 0; dci < XHCI_NR_EPS; dci++) {
			free(x->slots[i].eps[dci].td);
			free(x->slots[i].eps[dci].buf);
		}
	free(x->name);
	free(x);
}
