// SPDX-License-Identifier: GPL-2.0
/*
 * The xHCI controller driven like a guest driver drives it, on a fake guest
 * RAM: ring walking (links, cycle bits, wrap, loops, rings outside RAM),
 * enumeration of the emulated keyboard and tablet (port change, reset,
 * Enable Slot, Address Device, descriptors, Configure Endpoint), HID
 * reports through an interrupt endpoint (NAK, then the key arrives),
 * context updates, Stop Endpoint / Set TR Dequeue, and hostile input:
 * TRBs and contexts that lie, a full event ring, TDs that never end;
 * isochronous TDs and No-op TDs on a device that records its packets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/xhci.h"
#include "vmm/input.h"

#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>

#define RAM		(1 << 20)
#define DCBAA		0x1000
#define CMD_RING	0x2000
#define ERST		0x3000
#define EV_RING		0x4000
#define EV_SIZE		32
#define OUT_CTX		0x5000
#define IN_CTX		0x6000
#define EP0_RING	0x7000
#define EP1_RING	0x8000
#define DATA		0x10000

static struct guest_mem mem;
static struct xhci *x;
static unsigned int ev_idx, cmd_idx, ep0_idx, ep1_idx;
static bool ev_ccs, cmd_pcs, ep0_pcs, ep1_pcs;
static unsigned int irqs;

static u8 *ram(u64 a) { return mem.regions[0].hva + a; }
static struct xhci_trb *trb_at(u64 a) { return (void *)ram(a); }

static void w32(u32 off, u32 v) { xhci__mmio_write(x, off, &v, 4); }
static void w64(u32 off, u64 v) { xhci__mmio_write(x, off, &v, 8); }
static u32 r32(u32 off)
{
	u32 v;

	xhci__mmio_read(x, off, &v, 4);
	return v;
}

static void irq_hook(struct xhci *xx __unused, bool level)
{
	irqs += level;
}

static int setup(void **state __unused)
{
	memset(&mem, 0, sizeof(mem));
	mem.nr_regions = 1;
	mem.regions[0] = (struct mem_region){ .gpa = 0, .size = RAM, .hva = calloc(1, RAM) };
	x = calloc(1, sizeof(*x));
	x->irq_hook = irq_hook;
	xhci__init_state(x, &mem);
	ev_idx = cmd_idx = ep0_idx = ep1_idx = 0;
	ev_ccs = cmd_pcs = ep0_pcs = ep1_pcs = true;
	irqs = 0;
	return 0;
}

static int teardown(void **state __unused)
{
	xhci__destroy(x);
	free(mem.regions[0].hva);
	return 0;
}

/* a driver's start: rings, event ring, run */
static void start(void)
{
	struct xhci_trb *link;

	w32(XHCI_OFF_OPER + OP_USBCMD, USBCMD_HCRST);
	assert_true(r32(XHCI_OFF_OPER + OP_USBSTS) & USBSTS_HCH);
	w32(XHCI_OFF_OPER + OP_CONFIG, XHCI_MAX_SLOTS);
	w64(XHCI_OFF_OPER + OP_DCBAAP, DCBAA);
	w64(XHCI_OFF_OPER + OP_CRCR, CMD_RING | 1);
	/* the command ring: 15 TRBs and a link back with toggle */
	link = trb_at(CMD_RING + 15 * 16);
	link->param = CMD_RING;
	link->control = TRB_LINK << TRB_TYPE_SHIFT | TRB_TC;
	memcpy(ram(ERST), &(u64){ EV_RING }, 8);
	memcpy(ram(ERST + 8), &(u32){ EV_SIZE }, 4);
	w32(XHCI_OFF_RUNTIME + 0x20 + IR_ERSTSZ, 1);
	w64(XHCI_OFF_RUNTIME + 0x20 + IR_ERSTBA, ERST);
	w64(XHCI_OFF_RUNTIME + 0x20 + IR_ERDP, EV_RING);
	w32(XHCI_OFF_RUNTIME + 0x20 + IR_IMAN, IMAN_IE);
	w32(XHCI_OFF_OPER + OP_USBCMD, USBCMD_RS | USBCMD_INTE);
	assert_false(r32(XHCI_OFF_OPER + OP_USBSTS) & USBSTS_HCH);
}

/* the next event, or false */
static bool next_event(struct xhci_trb *out)
{
	struct xhci_trb *t = trb_at(EV_RING + 16 * ev_idx);

	if (!!(t->control & TRB_C) != ev_ccs)
		return false;
	*out = *t;
	if (++ev_idx == EV_SIZE) {
		ev_idx = 0;
		ev_ccs = !ev_ccs;
	}
	w64(XHCI_OFF_RUNTIME + 0x20 + IR_ERDP, (EV_RING + 16 * ev_idx) | ERDP_EHB);
	return true;
}

static void put_trb(u64 ring, unsigned int *idx, bool *pcs, u64 param, u32 status, u32 control)
{
	struct xhci_trb *t = trb_at(ring + 16 * *idx);

	t->param = param;
	t->status = status;
	t->control = (control & ~TRB_C) | (*pcs ? TRB_C : 0);
	(*idx)++;
	if (ring == CMD_RING && *idx == 15) {
		struct xhci_trb *link = trb_at(CMD_RING + 15 * 16);

		link->control = (link->control & ~TRB_C) | (*pcs ? TRB_C : 0);
		*idx = 0;
		*pcs = !*pcs;
	}
}

/* run one command, return its completion code; *slot the slot id */
static u8 command(u64 param, u32 control, u8 *slot)
{
	struct xhci_trb ev;

	put_trb(CMD_RING, &cmd_idx, &cmd_pcs, param, 0, control);
	w32(XHCI_OFF_DOORBELL, 0);
	xhci__process(x);
	for (;;) {
		assert_true(next_event(&ev));
		if (TRB_TYPE(ev.control) == TRB_EV_CMD_COMPLETION)
			break;
	}
	if (slot)
		*slot = TRB_SLOT(ev.control);
	return ev.status >> 24;
}

static void ctx_clear(void)
{
	memset(ram(IN_CTX), 0, 33 * 32);
}

static u32 *ictx(unsigned int idx) { return (u32 *)ram(IN_CTX + 32 * (idx + 1)); }
static u32 *icc(void) { return (u32 *)ram(IN_CTX); }
static u32 *octx(unsigned int idx) { return (u32 *)ram(OUT_CTX + 32 * idx); }

/* plug, reset the port, enable a slot and address the device on port */
static u8 enumerate(struct usb_dev *d, unsigned int want_port)
{
	struct xhci_trb ev;
	u8 slot = 0;
	int port = xhci__attach(x, d);
	u32 ps;

	assert_int_equal(port, want_port);
	ps = r32(XHCI_OFF_PORTS + 0x10 * (port - 1));
	assert_true(ps & PORTSC_CCS);
	assert_true(ps & PORTSC_CSC);
	assert_true(next_event(&ev));
	assert_int_equal(TRB_TYPE(ev.control), TRB_EV_PORT_STATUS);
	assert_int_equal(ev.param >> 24, port);
	/* clear CSC, reset */
	w32(XHCI_OFF_PORTS + 0x10 * (port - 1), PORTSC_PP | PORTSC_CSC);
	w32(XHCI_OFF_PORTS + 0x10 * (port - 1), PORTSC_PP | PORTSC_PR);
	ps = r32(XHCI_OFF_PORTS + 0x10 * (port - 1));
	assert_true(ps & PORTSC_PED);
	assert_true(ps & PORTSC_PRC);
	assert_int_equal((ps & PORTSC_SPEED_MASK) >> PORTSC_SPEED_SHIFT, XHCI_SPEED_FULL);
	assert_true(next_event(&ev));
	assert_int_equal(TRB_TYPE(ev.control), TRB_EV_PORT_STATUS);

	assert_int_equal(command(0, TRB_CMD_ENABLE_SLOT << TRB_TYPE_SHIFT, &slot), CC_SUCCESS);
	assert_int_equal(slot, 1);
	memcpy(ram(DCBAA + 8 * slot), &(u64){ OUT_CTX }, 8);
	ctx_clear();
	icc()[1] = 3;
	ictx(0)[0] = 1u << 27 | XHCI_SPEED_FULL << 20;
	ictx(0)[1] = (u32)port << 16;
	ictx(1)[1] = 64u << 16 | EP_TYPE_CONTROL << 3 | 3 << 1;
	ictx(1)[2] = EP0_RING | 1;
	assert_int_equal(command(IN_CTX, TRB_CMD_ADDRESS_DEVICE << TRB_TYPE_SHIFT | (u32)slot << 24,
				 NULL), CC_SUCCESS);
	assert_int_equal(octx(0)[3] >> 27, SLOT_STATE_ADDRESSED);
	assert_int_equal(octx(0)[3] & 0xff, slot);
	assert_int_equal(octx(1)[0] & 7, EP_STATE_RUNNING);
	return slot;
}

/* a control transfer on EP0: returns the completion code of its last event, *len the bytes */
static u8 control(u8 slot, u8 rt, u8 req, u16 val, u16 idx, u16 len, u64 buf, u32 *got)
{
	struct xhci_trb ev;
	u64 setup = rt | (u64)req << 8 | (u64)val << 16 | (u64)idx << 32 | (u64)len << 48;
	bool in = rt & USB_DIR_IN;
	u32 residual = 0;
	u8 cc = 0;

	put_trb(EP0_RING, &ep0_idx, &ep0_pcs, setup, 8,
		TRB_SETUP << TRB_TYPE_SHIFT | TRB_IDT | (len ? (in ? 3u : 2u) << 16 : 0));
	if (len)
		put_trb(EP0_RING, &ep0_idx, &ep0_pcs, buf, len,
			TRB_DATA << TRB_TYPE_SHIFT | (in ? TRB_DIR_IN | TRB_ISP : 0));
	put_trb(EP0_RING, &ep0_idx, &ep0_pcs, 0, 0,
		TRB_STATUS << TRB_TYPE_SHIFT | TRB_IOC | (in && len ? 0 : TRB_DIR_IN));
	w32(XHCI_OFF_DOORBELL + 4 * slot, 1);
	xhci__process(x);
	while (next_event(&ev)) {
		assert_int_equal(TRB_TYPE(ev.control), TRB_EV_TRANSFER);
		cc = ev.status >> 24;
		if (cc == CC_SHORT_PACKET)
			residual = ev.status & 0xffffff;
		if (cc != CC_SUCCESS && cc != CC_SHORT_PACKET)
			break;
	}
	if (got)
		*got = len - residual;
	return cc == CC_SHORT_PACKET ? CC_SUCCESS : cc;
}

static void configure_int_in(u8 slot, unsigned int dci, u64 ring)
{
	ctx_clear();
	icc()[1] = 1 | 1u << dci;
	ictx(0)[0] = (u32)dci << 27;
	ictx(0)[1] = 1u << 16;
	ictx(dci)[1] = 8u << 16 | EP_TYPE_INT_IN << 3 | 3 << 1;
	ictx(dci)[2] = ring | 1;
	assert_int_equal(command(IN_CTX, TRB_CMD_CONFIGURE_EP << TRB_TYPE_SHIFT | (u32)slot << 24,
				 NULL), CC_SUCCESS);
	assert_int_equal(octx(0)[3] >> 27, SLOT_STATE_CONFIGURED);
	assert_int_equal(octx(dci)[0] & 7, EP_STATE_RUNNING);
	assert_int_equal(octx(0)[0] >> 27, dci);
}

/* ---- the ring walker ---- */

static void test_ring_walk(void **state __unused)
{
	struct xhci_ring r = { .deq = 0x2000, .ccs = true };
	struct xhci_td_trb t, td[8];
	u64 bad;

	/* two TRBs, a link with toggle back to the start */
	*trb_at(0x2000) = (struct xhci_trb){ 1, 0, TRB_NORMAL << TRB_TYPE_SHIFT | TRB_C };
	*trb_at(0x2010) = (struct xhci_trb){ 2, 0, TRB_NORMAL << TRB_TYPE_SHIFT | TRB_C };
	*trb_at(0x2020) = (struct xhci_trb){ 0x2000, 0, TRB_LINK << TRB_TYPE_SHIFT | TRB_TC | TRB_C };
	assert_int_equal(xhci_ring__fetch(&mem, &r, &t), XHCI_FETCH_OK);
	assert_int_equal(t.trb.param, 1);
	assert_int_equal(t.addr, 0x2000);
	assert_int_equal(xhci_ring__fetch(&mem, &r, &t), XHCI_FETCH_OK);
	assert_int_equal(t.trb.param, 2);
	/* through the link: the cycle toggled, the old TRBs are not new */
	assert_int_equal(xhci_ring__fetch(&mem, &r, &t), XHCI_FETCH_EMPTY);
	assert_int_equal(r.deq, 0x2000);
	assert_false(r.ccs);
	/* the guest writes with the new cycle (0) */
	trb_at(0x2000)->control = TRB_NORMAL << TRB_TYPE_SHIFT;
	assert_int_equal(xhci_ring__fetch(&mem, &r, &t), XHCI_FETCH_OK);

	/* a link to itself: a loop */
	r = (struct xhci_ring){ .deq = 0x3000, .ccs = true };
	*trb_at(0x3000) = (struct xhci_trb){ 0x3000, 0, TRB_LINK << TRB_TYPE_SHIFT | TRB_C };
	assert_int_equal(xhci_ring__fetch(&mem, &r, &t), XHCI_FETCH_LOOP);
	/* a link out of RAM, and a misaligned one */
	*trb_at(0x3000) = (struct xhci_trb){ RAM + 0x1000, 0, TRB_LINK << TRB_TYPE_SHIFT | TRB_C };
	r = (struct xhci_ring){ .deq = 0x3000, .ccs = true };
	assert_int_equal(xhci_ring__fetch(&mem, &r, &t), XHCI_FETCH_FAULT);
	r = (struct xhci_ring){ .deq = RAM - 8, .ccs = true };
	assert_int_equal(xhci_ring__fetch(&mem, &r, &t), XHCI_FETCH_FAULT);
	r = (struct xhci_ring){ .deq = ~0ULL - 15, .ccs = true };
	assert_int_equal(xhci_ring__fetch(&mem, &r, &t), XHCI_FETCH_FAULT);

	/* a chained TD across a link; and an unfinished one */
	memset(ram(0x4000), 0, 0x100);
	*trb_at(0x4000) = (struct xhci_trb){ 0, 10, TRB_NORMAL << TRB_TYPE_SHIFT | TRB_CH | TRB_C };
	*trb_at(0x4010) = (struct xhci_trb){ 0x4100, 0, TRB_LINK << TRB_TYPE_SHIFT | TRB_CH | TRB_C };
	*trb_at(0x4100) = (struct xhci_trb){ 0, 20, TRB_NORMAL << TRB_TYPE_SHIFT | TRB_CH | TRB_C };
	r = (struct xhci_ring){ .deq = 0x4000, .ccs = true };
	assert_int_equal(xhci_ring__gather_td(&mem, &r, false, td, 8, &bad), 0);
	assert_int_equal(r.deq, 0x4000);	/* unchanged: wait for the rest */
	*trb_at(0x4110) = (struct xhci_trb){ 0, 30, TRB_NORMAL << TRB_TYPE_SHIFT | TRB_IOC | TRB_C };
	assert_int_equal(xhci_ring__gather_td(&mem, &r, false, td, 8, &bad), 3);
	assert_int_equal(td[1].addr, 0x4100);
	assert_int_equal(r.deq, 0x4120);
	/* a TD that never ends (chain bits around a ring) is too long */
	*trb_at(0x5000) = (struct xhci_trb){ 0, 1, TRB_NORMAL << TRB_TYPE_SHIFT | TRB_CH | TRB_C };
	*trb_at(0x5010) = (struct xhci_trb){ 0x5000, 0, TRB_LINK << TRB_TYPE_SHIFT | TRB_CH | TRB_C };
	r = (struct xhci_ring){ .deq = 0x5000, .ccs = true };
	assert_int_equal(xhci_ring__gather_td(&mem, &r, false, td, 8, &bad), XHCI_TD_TOO_LONG);
	assert_int_equal(r.deq, 0x5000);
	/* a control TD with a second Setup before its Status */
	*trb_at(0x6000) = (struct xhci_trb){ 0, 8, TRB_SETUP << TRB_TYPE_SHIFT | TRB_IDT | TRB_C };
	*trb_at(0x6010) = (struct xhci_trb){ 0, 8, TRB_SETUP << TRB_TYPE_SHIFT | TRB_IDT | TRB_C };
	r = (struct xhci_ring){ .deq = 0x6000, .ccs = true };
	assert_int_equal(xhci_ring__gather_td(&mem, &r, true, td, 8, &bad), XHCI_TD_MALFORMED);
	assert_int_equal(bad, 0x6010);
}

/* ---- the keyboard, end to end ---- */

static void test_keyboard(void **state __unused)
{
	struct hid *h = usb_kbd__new();
	struct usb_dev *d = usb_hid__dev(h);
	struct xhci_trb ev;
	u8 slot, *buf = ram(DATA);
	u32 got;

	d->id = strdup("kbd");
	start();
	slot = enumerate(d, 1);
	/* the device descriptor, first 8 bytes then all 18 */
	assert_int_equal(control(slot, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_DEVICE << 8, 0, 8, DATA,
				 &got), CC_SUCCESS);
	assert_int_equal(got, 8);
	assert_int_equal(buf[7], 64);
	assert_int_equal(control(slot, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_DEVICE << 8, 0, 64, DATA,
				 &got), CC_SUCCESS);
	assert_int_equal(got, 18);	/* a short packet: 18 of 64 */
	assert_int_equal(buf[8] | buf[9] << 8, 0x1209);
	/* the configuration: interface class HID, boot keyboard */
	assert_int_equal(control(slot, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_CONFIG << 8, 0, 255, DATA,
				 &got), CC_SUCCESS);
	assert_int_equal(got, 34);
	assert_int_equal(buf[9 + 5], 3);
	assert_int_equal(buf[9 + 7], 1);
	/* a string */
	assert_int_equal(control(slot, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_STRING << 8 | 2, 0x409,
				 255, DATA, &got), CC_SUCCESS);
	assert_int_equal(buf[0], got);
	assert_int_equal(buf[2], 'd');
	/* an unknown descriptor stalls and halts EP0 */
	assert_int_equal(control(slot, 0x80, USB_REQ_GET_DESCRIPTOR, 0x4200, 0, 8, DATA, NULL),
			 CC_STALL);
	assert_int_equal(octx(1)[0] & 7, EP_STATE_HALTED);
	assert_int_equal(command(0, TRB_CMD_RESET_EP << TRB_TYPE_SHIFT | 1u << 16 | (u32)slot << 24,
				 NULL), CC_SUCCESS);
	assert_int_equal(octx(1)[0] & 7, EP_STATE_STOPPED);
	/* the guest moves past the failed TD and goes on */
	assert_int_equal(command((EP0_RING + 16 * ep0_idx) | ep0_pcs,
				 TRB_CMD_SET_TR_DEQ << TRB_TYPE_SHIFT | 1u << 16 | (u32)slot << 24, NULL),
			 CC_SUCCESS);
	configure_int_in(slot, 3, EP1_RING);
	assert_int_equal(control(slot, 0, USB_REQ_SET_CONFIGURATION, 1, 0, 0, 0, NULL), CC_SUCCESS);
	/* the report descriptor (interface recipient) */
	assert_int_equal(control(slot, 0x81, USB_REQ_GET_DESCRIPTOR, USB_DT_REPORT << 8, 0, 255,
				 DATA, &got), CC_SUCCESS);
	assert_true(got > 40);
	assert_int_equal(buf[0], 0x05);

	/* an interrupt TD with no key pressed: NAK, no event */
	memset(ram(DATA + 0x100), 0xee, 8);
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA + 0x100, 8,
		TRB_NORMAL << TRB_TYPE_SHIFT | TRB_IOC | TRB_ISP);
	w32(XHCI_OFF_DOORBELL + 4 * slot, 3);
	xhci__process(x);
	assert_false(next_event(&ev));
	/* Shift+A: the keyboard's state comes as a report */
	assert_true(usb_kbd__key(h, KEY_LEFTSHIFT, true));
	xhci__process(x);
	assert_true(next_event(&ev));
	assert_int_equal(TRB_TYPE(ev.control), TRB_EV_TRANSFER);
	assert_int_equal(ev.status >> 24, CC_SUCCESS);
	assert_int_equal(TRB_EP(ev.control), 3);
	assert_int_equal(ev.param, EP1_RING);
	assert_memory_equal(ram(DATA + 0x100), ((u8[8]){ 0x02, 0, 0, 0, 0, 0, 0, 0 }), 8);
	/* two more events queued before the guest polls again: both arrive */
	assert_true(usb_kbd__key(h, KEY_A, true));
	assert_true(usb_kbd__key(h, KEY_A, false));
	for (int i = 0; i < 2; i++)
		put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA + 0x110 + 8 * i, 8,
			TRB_NORMAL << TRB_TYPE_SHIFT | TRB_IOC | TRB_ISP);
	w32(XHCI_OFF_DOORBELL + 4 * slot, 3);
	xhci__process(x);
	assert_true(next_event(&ev));
	assert_true(next_event(&ev));
	assert_memory_equal(ram(DATA + 0x110), ((u8[8]){ 0x02, 0, 0x04, 0, 0, 0, 0, 0 }), 8);
	assert_memory_equal(ram(DATA + 0x118), ((u8[8]){ 0x02, 0, 0, 0, 0, 0, 0, 0 }), 8);
	assert_true(irqs > 0);

	/* the guest stops the endpoint with a TD waiting (NAK) and moves on */
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA + 0x200, 8,
		TRB_NORMAL << TRB_TYPE_SHIFT | TRB_IOC | TRB_ISP);
	w32(XHCI_OFF_DOORBELL + 4 * slot, 3);
	xhci__process(x);
	assert_int_equal(command(0, TRB_CMD_STOP_EP << TRB_TYPE_SHIFT | 3u << 16 | (u32)slot << 24,
				 NULL), CC_SUCCESS);
	assert_int_equal(octx(3)[0] & 7, EP_STATE_STOPPED);
	/* the context shows the TD that did not complete */
	assert_int_equal(octx(3)[2] & ~0xfu, EP1_RING + 16 * (ep1_idx - 1));
	assert_int_equal(command((EP1_RING + 16 * ep1_idx) | ep1_pcs,
				 TRB_CMD_SET_TR_DEQ << TRB_TYPE_SHIFT | 3u << 16 | (u32)slot << 24, NULL),
			 CC_SUCCESS);
	/* Set TR Dequeue on a running endpoint is a context state error */
	w32(XHCI_OFF_DOORBELL + 4 * slot, 3);
	xhci__process(x);
	assert_int_equal(command(EP1_RING | 1,
				 TRB_CMD_SET_TR_DEQ << TRB_TYPE_SHIFT | 3u << 16 | (u32)slot << 24, NULL),
			 CC_CONTEXT_STATE_ERROR);

	/* unplug: a port change, the slot's transfers fail */
	xhci__detach(x, d);
	assert_false(r32(XHCI_OFF_PORTS) & PORTSC_CCS);
	assert_true(r32(XHCI_OFF_PORTS) & PORTSC_CSC);
	assert_true(next_event(&ev));
	assert_int_equal(TRB_TYPE(ev.control), TRB_EV_PORT_STATUS);
	assert_int_equal(control(slot, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_DEVICE << 8, 0, 8, DATA,
				 NULL), CC_USB_TRANSACTION_ERROR);
	assert_int_equal(command(0, TRB_CMD_DISABLE_SLOT << TRB_TYPE_SHIFT | (u32)slot << 24, NULL),
			 CC_SUCCESS);
	d->ops->destroy(d);
	xhci__forget(x, d);
}

/* ---- the tablet ---- */

static void test_tablet(void **state __unused)
{
	struct hid *h = usb_tablet__new();
	struct usb_dev *d = usb_hid__dev(h);
	struct input_pointer p = { .absolute = true, .x = 1023, .y = 0, .width = 1024,
				   .height = 768, .buttons = INPUT_BTN_LEFT, .wheel = 1 };
	struct xhci_trb ev;
	u8 slot, *r = ram(DATA + 0x300);

	d->id = strdup("tab");
	start();
	slot = enumerate(d, 1);
	configure_int_in(slot, 3, EP1_RING);
	assert_int_equal(control(slot, 0, USB_REQ_SET_CONFIGURATION, 1, 0, 0, 0, NULL), CC_SUCCESS);
	usb_tablet__pointer(h, &p);
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA + 0x300, 8,
		TRB_NORMAL << TRB_TYPE_SHIFT | TRB_IOC | TRB_ISP);
	w32(XHCI_OFF_DOORBELL + 4 * slot, 3);
	xhci__process(x);
	assert_true(next_event(&ev));
	/* 6 of 8 bytes: a short packet, reported through ISP */
	assert_int_equal(ev.status >> 24, CC_SHORT_PACKET);
	assert_int_equal(ev.status & 0xffffff, 2);
	assert_int_equal(r[0], 1);
	assert_int_equal(r[1] | r[2] << 8, 32767);
	assert_int_equal(r[3] | r[4] << 8, 0);
	assert_int_equal((s8)r[5], 1);
	xhci__detach(x, d);
	d->ops->destroy(d);
	xhci__forget(x, d);
}

/* ---- hostile guests ---- */

static void test_hostile(void **state __unused)
{
	struct hid *h = usb_kbd__new();
	struct usb_dev *d = usb_hid__dev(h);
	struct xhci_trb ev;
	u8 slot;

	d->id = strdup("kbd");
	start();
	slot = enumerate(d, 1);
	/* commands for slots that do not exist, and unknown commands */
	assert_int_equal(command(0, TRB_CMD_CONFIGURE_EP << TRB_TYPE_SHIFT | 9u << 24, NULL),
			 CC_SLOT_NOT_ENABLED);
	assert_int_equal(command(0, TRB_CMD_CONFIGURE_EP << TRB_TYPE_SHIFT | 200u << 24, NULL),
			 CC_SLOT_NOT_ENABLED);
	assert_int_equal(command(0, 63u << TRB_TYPE_SHIFT, NULL), CC_TRB_ERROR);
	/* an input context outside RAM; an endpoint context that lies */
	assert_int_equal(command(RAM - 16, TRB_CMD_CONFIGURE_EP << TRB_TYPE_SHIFT | (u32)slot << 24,
				 NULL), CC_PARAMETER_ERROR);
	ctx_clear();
	icc()[1] = 1 | 1u << 3;
	ictx(3)[1] = EP_TYPE_BULK_OUT << 3;	/* an OUT type on an IN index */
	assert_int_equal(command(IN_CTX, TRB_CMD_CONFIGURE_EP << TRB_TYPE_SHIFT | (u32)slot << 24,
				 NULL), CC_PARAMETER_ERROR);
	ictx(3)[1] = EP_TYPE_INT_IN << 3;
	ictx(3)[0] = 3u << 10;			/* streams */
	assert_int_equal(command(IN_CTX, TRB_CMD_CONFIGURE_EP << TRB_TYPE_SHIFT | (u32)slot << 24,
				 NULL), CC_PARAMETER_ERROR);
	/* addressing a slot again, a port number out of range */
	ctx_clear();
	icc()[1] = 3;
	ictx(0)[1] = 77u << 16;
	ictx(1)[1] = EP_TYPE_CONTROL << 3;
	assert_int_equal(command(IN_CTX, TRB_CMD_ADDRESS_DEVICE << TRB_TYPE_SHIFT | (u32)slot << 24,
				 NULL), CC_CONTEXT_STATE_ERROR);

	/* a transfer ring outside RAM: TRB error, the endpoint halts */
	ctx_clear();
	icc()[1] = 1 | 1u << 3;
	ictx(0)[0] = 3u << 27;
	ictx(3)[1] = 8u << 16 | EP_TYPE_INT_IN << 3;
	ictx(3)[2] = (RAM + 0x10000) | 1;
	assert_int_equal(command(IN_CTX, TRB_CMD_CONFIGURE_EP << TRB_TYPE_SHIFT | (u32)slot << 24,
				 NULL), CC_SUCCESS);
	w32(XHCI_OFF_DOORBELL + 4 * slot, 3);
	xhci__process(x);
	assert_true(next_event(&ev));
	assert_int_equal(ev.status >> 24, CC_TRB_ERROR);
	assert_int_equal(octx(3)[0] & 7, EP_STATE_HALTED);
	/* ringing again does nothing until the guest resets it */
	w32(XHCI_OFF_DOORBELL + 4 * slot, 3);
	xhci__process(x);
	assert_false(next_event(&ev));

	/* a looping ring: reset the endpoint, point it at a link to itself */
	assert_int_equal(command(0, TRB_CMD_RESET_EP << TRB_TYPE_SHIFT | 3u << 16 | (u32)slot << 24,
				 NULL), CC_SUCCESS);
	*trb_at(EP1_RING) = (struct xhci_trb){ EP1_RING, 0, TRB_LINK << TRB_TYPE_SHIFT | TRB_C };
	assert_int_equal(command(EP1_RING | 1, TRB_CMD_SET_TR_DEQ << TRB_TYPE_SHIFT | 3u << 16 |
				 (u32)slot << 24, NULL), CC_SUCCESS);
	w32(XHCI_OFF_DOORBELL + 4 * slot, 3);
	xhci__process(x);
	assert_true(next_event(&ev));
	assert_int_equal(ev.status >> 24, CC_TRB_ERROR);

	/* a buffer outside RAM: the TD fails, the endpoint halts */
	assert_int_equal(command(0, TRB_CMD_RESET_EP << TRB_TYPE_SHIFT | 3u << 16 | (u32)slot << 24,
				 NULL), CC_SUCCESS);
	memset(ram(EP1_RING), 0, 64);
	assert_int_equal(command(EP1_RING | 1, TRB_CMD_SET_TR_DEQ << TRB_TYPE_SHIFT | 3u << 16 |
				 (u32)slot << 24, NULL), CC_SUCCESS);
	assert_int_equal(control(slot, 0, USB_REQ_SET_CONFIGURATION, 1, 0, 0, 0, NULL), CC_SUCCESS);
	usb_kbd__key(h, KEY_B, true);
	ep1_idx = 0;
	ep1_pcs = true;
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, RAM - 4, 8, TRB_NORMAL << TRB_TYPE_SHIFT | TRB_IOC);
	w32(XHCI_OFF_DOORBELL + 4 * slot, 3);
	xhci__process(x);
	assert_true(next_event(&ev));
	assert_int_equal(ev.status >> 24, CC_DATA_BUFFER_ERROR);

	/* a control TD that does not start with Setup, and a Setup that is not 8 bytes */
	put_trb(EP0_RING, &ep0_idx, &ep0_pcs, 0, 0, TRB_STATUS << TRB_TYPE_SHIFT | TRB_IOC);
	w32(XHCI_OFF_DOORBELL + 4 * slot, 1);
	xhci__process(x);
	assert_true(next_event(&ev));
	assert_int_equal(ev.status >> 24, CC_TRB_ERROR);
	put_trb(EP0_RING, &ep0_idx, &ep0_pcs, 0, 7, TRB_SETUP << TRB_TYPE_SHIFT | TRB_IDT);
	put_trb(EP0_RING, &ep0_idx, &ep0_pcs, 0, 0, TRB_STATUS << TRB_TYPE_SHIFT | TRB_IOC);
	w32(XHCI_OFF_DOORBELL + 4 * slot, 1);
	xhci__process(x);
	assert_true(next_event(&ev));
	assert_int_equal(ev.status >> 24, CC_TRB_ERROR);
	/* a data buffer that runs out of RAM where the data lands: an error,
	 * and EP0 halts; where only the unused rest is outside, it is fine */
	assert_int_equal(control(slot, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_DEVICE << 8, 0, 0xffff,
				 RAM - 0x100, NULL), CC_SUCCESS);
	assert_int_equal(control(slot, 0x80, USB_REQ_GET_DESCRIPTOR, USB_DT_DEVICE << 8, 0, 64,
				 RAM - 8, NULL), CC_DATA_BUFFER_ERROR);
	assert_int_equal(octx(1)[0] & 7, EP_STATE_HALTED);

	/* bytes, odd offsets and widths on the BAR: ignored, no crash */
	for (u32 off = 0; off < XHCI_BAR_SIZE; off += 0x7f) {
		u64 v = ~0ULL;

		xhci__mmio_read(x, off, &v, 1);
		xhci__mmio_read(x, off, &v, 8);
		xhci__mmio_write(x, off, &v, 2);
	}
	xhci__detach(x, d);
	d->ops->destroy(d);
	xhci__forget(x, d);
}

/* the event ring fills: events are dropped, nothing is overwritten */
static void test_event_ring_full(void **state __unused)
{
	struct xhci_trb ev;
	unsigned int n = 0;

	start();
	/* 40 no-ops, the guest reads none: 31 fit (one slot stays free) */
	for (int i = 0; i < 40; i++) {
		put_trb(CMD_RING, &cmd_idx, &cmd_pcs, 0, 0, TRB_CMD_NOOP << TRB_TYPE_SHIFT);
		w32(XHCI_OFF_DOORBELL, 0);
		xhci__process(x);
	}
	while (next_event(&ev))
		n++;
	assert_int_equal(n, EV_SIZE - 1);
	assert_true(x->stats.dropped_events >= 9);
	/* and it works again once read */
	assert_int_equal(command(0, TRB_CMD_NOOP << TRB_TYPE_SHIFT, NULL), CC_SUCCESS);
}

/* ---- isochronous TDs and No-op TDs, on a device that records what it gets ---- */

static struct {
	unsigned int calls;
	enum usb_xfer type;
	bool in;
	u32 len;
	int answer;
} rec;

static int rec_handle(struct usb_dev *d __unused, struct usb_packet *p)
{
	rec.calls++;
	rec.type = p->type;
	rec.in = p->in;
	rec.len = p->len;
	if (rec.answer == USB_RET_SUCCESS && p->in) {
		memset(p->buf, 0x5a, p->len);
		p->actual = p->len - 2;		/* a short packet */
	}
	return p->status = rec.answer;
}

static void rec_destroy(struct usb_dev *d)
{
	free(d->id);
	free(d);
}

static const struct usb_dev_ops rec_ops = {
	.kind = "recorder",
	.handle = rec_handle,
	.destroy = rec_destroy,
};

/* the first event after a doorbell on dci: its completion code */
static u8 ring_and_wait(u8 slot, unsigned int dci, struct xhci_trb *ev)
{
	w32(XHCI_OFF_DOORBELL + 4 * slot, dci);
	xhci__process(x);
	assert_true(next_event(ev));
	assert_int_equal(TRB_TYPE(ev->control), TRB_EV_TRANSFER);
	return ev->status >> 24;
}

static void test_isochronous(void **state __unused)
{
	struct usb_dev *d = calloc(1, sizeof(*d));
	struct xhci_trb ev;
	unsigned int calls;
	u8 slot;

	d->ops = &rec_ops;
	d->id = strdup("rec");
	d->backing = "emulated";
	d->speed = USB_SPEED_FULL;
	memset(&rec, 0, sizeof(rec));
	start();
	slot = enumerate(d, 1);
	/* EP1 IN, isochronous, 192-byte packets (CErr 0, as for any isoch endpoint) */
	ctx_clear();
	icc()[1] = 1 | 1u << 3;
	ictx(0)[0] = 3u << 27;
	ictx(0)[1] = 1u << 16;
	ictx(3)[1] = 192u << 16 | EP_TYPE_ISO_IN << 3;
	ictx(3)[2] = EP1_RING | 1;
	assert_int_equal(command(IN_CTX, TRB_CMD_CONFIGURE_EP << TRB_TYPE_SHIFT | (u32)slot << 24,
				 NULL), CC_SUCCESS);

	/* an Isoch TRB (start ASAP) reaches the device as one isochronous IN packet */
	memset(ram(DATA), 0, 256);
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA, 192,
		TRB_ISOCH << TRB_TYPE_SHIFT | TRB_IOC | TRB_ISP | 1u << 31 /* SIA */);
	assert_int_equal(ring_and_wait(slot, 3, &ev), CC_SHORT_PACKET);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.type, USB_XFER_ISO);
	assert_true(rec.in);
	assert_int_equal(rec.len, 192);
	assert_int_equal(ev.status & 0xffffff, 2);	/* residue */
	assert_int_equal(ram(DATA)[189], 0x5a);
	assert_int_equal(ram(DATA)[190], 0);

	/* an Isoch TRB chained to a Normal TRB is one TD, one packet */
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA, 100, TRB_ISOCH << TRB_TYPE_SHIFT | TRB_CH);
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA + 100, 92, TRB_NORMAL << TRB_TYPE_SHIFT | TRB_IOC);
	assert_int_equal(ring_and_wait(slot, 3, &ev), CC_SHORT_PACKET);
	assert_int_equal(rec.calls, 2);
	assert_int_equal(rec.len, 192);

	/* a transaction error ends that TD only: an isochronous endpoint never halts */
	rec.answer = USB_RET_IOERROR;
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA, 192, TRB_ISOCH << TRB_TYPE_SHIFT | TRB_IOC);
	assert_int_equal(ring_and_wait(slot, 3, &ev), CC_USB_TRANSACTION_ERROR);
	assert_int_equal(octx(3)[0] & 7, EP_STATE_RUNNING);
	rec.answer = USB_RET_SUCCESS;
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA, 192, TRB_ISOCH << TRB_TYPE_SHIFT | TRB_IOC);
	assert_int_equal(ring_and_wait(slot, 3, &ev), CC_SHORT_PACKET);
	assert_int_equal(rec.calls, 4);

	/* a TD of No-op TRBs (a cancelled TD, as Linux leaves it) never reaches the device */
	calls = rec.calls;
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, 0, 0, TRB_NOOP << TRB_TYPE_SHIFT | TRB_CH);
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, 0, 0, TRB_NOOP << TRB_TYPE_SHIFT | TRB_IOC);
	assert_int_equal(ring_and_wait(slot, 3, &ev), CC_SUCCESS);
	assert_int_equal(ev.param, EP1_RING + 16 * (ep1_idx - 1));
	assert_int_equal(rec.calls, calls);

	/* an isochronous TD must start with an Isoch TRB: a Normal TRB is a TRB error */
	put_trb(EP1_RING, &ep1_idx, &ep1_pcs, DATA, 192, TRB_NORMAL << TRB_TYPE_SHIFT | TRB_IOC);
	assert_int_equal(ring_and_wait(slot, 3, &ev), CC_TRB_ERROR);
	assert_int_equal(rec.calls, calls);

	/* an Isoch TRB on EP0 (a control endpoint) is a TRB error too */
	put_trb(EP0_RING, &ep0_idx, &ep0_pcs, DATA, 8, TRB_ISOCH << TRB_TYPE_SHIFT | TRB_IOC);
	assert_int_not_equal(ring_and_wait(slot, 1, &ev), CC_SUCCESS);
	assert_int_equal(rec.calls, calls);

	xhci__detach(x, d);
	d->ops->destroy(d);
	xhci__forget(x, d);
}

/* the HID usage table: letters, digits, modifiers */
static void test_usage(void **state __unused)
{
	assert_int_equal(usb_hid__usage(KEY_A), 0x04);
	assert_int_equal(usb_hid__usage(KEY_Z), 0x1d);
	assert_int_equal(usb_hid__usage(KEY_1), 0x1e);
	assert_int_equal(usb_hid__usage(KEY_0), 0x27);
	assert_int_equal(usb_hid__usage(KEY_ENTER), 0x28);
	assert_int_equal(usb_hid__usage(KEY_LEFTCTRL), 0xe0);
	assert_int_equal(usb_hid__usage(KEY_RIGHTMETA), 0xe7);
	assert_int_equal(usb_hid__usage(KEY_KPENTER), 0x58);
	assert_int_equal(usb_hid__usage(KEY_MAX + 100), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ring_walk),
		T(test_keyboard),
		T(test_tablet),
		T(test_hostile),
		T(test_event_ring_full),
		T(test_isochronous),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
