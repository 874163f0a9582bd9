// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the xHCI controller against a hostile guest.  A small
 * guest RAM is set up as a driver would (DCBAA, command ring, event ring,
 * running), with an emulated keyboard and tablet plugged in; then the
 * input's bytes are the guest: writes into RAM (rings, TRBs, contexts),
 * register writes and reads at any offset, doorbells, key and pointer
 * events, and the controller's processing in between.  Nothing may crash,
 * leak or touch memory outside the guest's RAM (ASan watches the rest).
 *
 *   make fuzz && build/fuzz/fuzz-usb-xhci [corpus dir] [-runs=N]
 */
#include "devices/xhci.h"
#include "vmm/input.h"

#include <linux/input-event-codes.h>
#include <stdlib.h>
#include <string.h>

#define FZ_RAM		(64 * 1024)

static void w32(struct xhci *x, u32 off, u32 v) { xhci__mmio_write(x, off, &v, 4); }

static void fz_irq(struct xhci *x __unused, bool level __unused) {}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct guest_mem mem = { 0 };
	struct xhci *x = calloc(1, sizeof(*x));
	struct hid *kbd = usb_kbd__new(), *tab = usb_tablet__new();
	struct usb_dev *dk = usb_hid__dev(kbd), *dt = usb_hid__dev(tab);
	u8 *ram = calloc(1, FZ_RAM);
	size_t off = 0;

	mem.nr_regions = 1;
	mem.regions[0] = (struct mem_region){ .gpa = 0x1000, .size = FZ_RAM, .hva = ram };
	x->irq_hook = fz_irq;
	xhci__init_state(x, &mem);
	dk->id = strdup("kbd");
	dt->id = strdup("tab");
	xhci__attach(x, dk);
	xhci__attach(x, dt);
	/* a driver's start: DCBAA 0x1000, command ring 0x2000, ERST 0x3000,
	 * event ring 0x3100 (16 TRBs) */
	memcpy(ram + 0x2000, &(u64){ 0x3100 }, 8);
	memcpy(ram + 0x2008, &(u32){ 16 }, 4);
	w32(x, XHCI_OFF_OPER + OP_CONFIG, XHCI_MAX_SLOTS);
	w32(x, XHCI_OFF_OPER + OP_DCBAAP, 0x1000);
	w32(x, XHCI_OFF_OPER + OP_CRCR, 0x2000 | 1);
	w32(x, XHCI_OFF_RUNTIME + 0x20 + IR_ERSTSZ, 1);
	w32(x, XHCI_OFF_RUNTIME + 0x20 + IR_ERSTBA, 0x3000);
	w32(x, XHCI_OFF_RUNTIME + 0x20 + IR_ERDP, 0x3100);
	w32(x, XHCI_OFF_RUNTIME + 0x20 + IR_IMAN, IMAN_IE);
	w32(x, XHCI_OFF_OPER + OP_USBCMD, USBCMD_RS | USBCMD_INTE);

	while (off < size) {
		u8 op = data[off++];
		u32 a = 0, v = 0;

		if (off + 6 <= size) {
			memcpy(&a, data + off, 2);
			memcpy(&v, data + off + 2, 4);
		}
		switch (op % 8) {
		case 0: case 1: {	/* guest RAM: a run of bytes */
			u32 n = MIN((u32)(op >> 3) + 1, (u32)(size - off));
			u32 at = (a * 16) % FZ_RAM;

			n = MIN(n, FZ_RAM - at);
			memcpy(ram + at, data + off, n);
			off += n;
			continue;
		}
		case 2: {		/* a register write, 4 or 8 bytes */
			u64 v64 = (u64)v << 32 | v;

			xhci__mmio_write(x, a % XHCI_BAR_SIZE, &v64, op & 0x80 ? 8 : 4);
			break;
		}
		case 3: {		/* a register read, any width */
			u64 r;

			xhci__mmio_read(x, a % XHCI_BAR_SIZE, &r, 1u << (op >> 6));
			break;
		}
		case 4:			/* a doorbell */
			w32(x, XHCI_OFF_DOORBELL + 4 * (a % (XHCI_MAX_SLOTS + 2)), v);
			break;
		case 5:			/* a port register */
			w32(x, XHCI_OFF_PORTS + 0x10 * (a % XHCI_NR_PORTS), v);
			break;
		case 6:
			usb_kbd__key(kbd, v % 256, a & 1);
			usb_tablet__pointer(tab, &(struct input_pointer){ .absolute = true,
				.x = (int)v, .y = (int)a, .width = 1024, .height = 768, .buttons = op >> 4 });
			break;
		case 7:
			break;
		}
		off += 6;
		xhci__process(x);
	}
	xhci__process(x);
	xhci__detach(x, dk);
	xhci__detach(x, dt);
	dk->ops->destroy(dk);
	dt->ops->destroy(dt);
	xhci__forget(x, dk);
	xhci__forget(x, dt);
	xhci__destroy(x);
	free(ram);
	return 0;
}
