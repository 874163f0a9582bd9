/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_XHCI_H
#define DPVM_XHCI_H

/*
 * An xHCI (USB 3) host controller on PCI (devices/xhci.c), written from
 * the eXtensible Host Controller Interface specification, revision 1.2.
 *
 * BAR 0 (64-bit, 16 KiB):
 *   0x0000  capability registers
 *   0x0040  operational registers; ports at 0x0440 + 0x10 * (n - 1)
 *   0x0800  extended capabilities: two Supported Protocol capabilities
 *   0x1000  runtime registers: MFINDEX, interrupter 0 at 0x1020
 *   0x2000  doorbells: 0 the command ring, 1..XHCI_MAX_SLOTS the slots
 *   0x3000  MSI-X table, 0x3800 PBA
 *
 * Root hub ports 1..4 are USB 2.0 (low, full and high speed devices),
 * ports 5..8 USB 3 (SuperSpeed).  One interrupter, one MSI-X vector (INTx
 * without MSI-X).  No streams, no isochronous transfers.
 *
 * Everything the guest writes in memory is read once into a local copy
 * through mem__gpa_to_hva and checked: rings that leave guest RAM, link
 * TRBs that loop, transfer descriptors longer than XHCI_TD_MAX_TRBS TRBs
 * or XHCI_TD_MAX_BYTES bytes, contexts with impossible values.  The guest
 * gets a completion code; dpvm logs (rate-limited) and carries on.
 */
#include "devices/pci.h"
#include "devices/usb.h"
#include "vmm/memory.h"
#include "vmm/types.h"
#include "vmm/vm.h"

#include <pthread.h>

#define XHCI_MAX_SLOTS		16
#define XHCI_NR_PORTS_USB2	4
#define XHCI_NR_PORTS_USB3	4
#define XHCI_NR_PORTS		(XHCI_NR_PORTS_USB2 + XHCI_NR_PORTS_USB3)
#define XHCI_NR_EPS		32	/* device context index 1..31 */
#define XHCI_TD_MAX_TRBS	1024
#define XHCI_TD_MAX_BYTES	(8u << 20)
#define XHCI_MAX_LINKS		16	/* link TRBs in a row before the ring is called a loop */
#define XHCI_ERST_MAX		16	/* event ring segments */
#define XHCI_CMDS_PER_KICK	256	/* commands run per doorbell before yielding */

/* BAR layout */
#define XHCI_BAR_SIZE		0x4000
#define XHCI_OFF_CAP		0x0000
#define XHCI_OFF_OPER		0x0040
#define XHCI_OFF_PORTS		(XHCI_OFF_OPER + 0x400)
#define XHCI_OFF_XECP		0x0800
#define XHCI_OFF_RUNTIME	0x1000
#define XHCI_OFF_DOORBELL	0x2000
#define XHCI_OFF_MSIX_TABLE	0x3000
#define XHCI_OFF_MSIX_PBA	0x3800

/* capability registers */
#define CAP_CAPLENGTH		0x00
#define CAP_HCIVERSION		0x02
#define CAP_HCSPARAMS1		0x04
#define CAP_HCSPARAMS2		0x08
#define CAP_HCSPARAMS3		0x0c
#define CAP_HCCPARAMS1		0x10
#define CAP_DBOFF		0x14
#define CAP_RTSOFF		0x18
#define CAP_HCCPARAMS2		0x1c

/* operational registers (offsets from XHCI_OFF_OPER) */
#define OP_USBCMD		0x00
#define OP_USBSTS		0x04
#define OP_PAGESIZE		0x08
#define OP_DNCTRL		0x14
#define OP_CRCR			0x18
#define OP_DCBAAP		0x30
#define OP_CONFIG		0x38

#define USBCMD_RS		(1u << 0)
#define USBCMD_HCRST		(1u << 1)
#define USBCMD_INTE		(1u << 2)
#define USBCMD_HSEE		(1u << 3)
#define USBCMD_LHCRST		(1u << 7)
#define USBCMD_CSS		(1u << 8)
#define USBCMD_CRS		(1u << 9)
#define USBCMD_EWE		(1u << 10)

#define USBSTS_HCH		(1u << 0)
#define USBSTS_HSE		(1u << 2)
#define USBSTS_EINT		(1u << 3)
#define USBSTS_PCD		(1u << 4)
#define USBSTS_SSS		(1u << 8)
#define USBSTS_RSS		(1u << 9)
#define USBSTS_SRE		(1u << 10)
#define USBSTS_CNR		(1u << 11)
#define USBSTS_HCE		(1u << 12)

#define CRCR_RCS		(1ull << 0)
#define CRCR_CS			(1ull << 1)
#define CRCR_CA			(1ull << 2)
#define CRCR_CRR		(1ull << 3)

/* port registers */
#define PORTSC_CCS		(1u << 0)
#define PORTSC_PED		(1u << 1)
#define PORTSC_OCA		(1u << 3)
#define PORTSC_PR		(1u << 4)
#define PORTSC_PLS_SHIFT	5
#define PORTSC_PLS_MASK		(0xfu << 5)
#define PORTSC_PP		(1u << 9)
#define PORTSC_SPEED_SHIFT	10
#define PORTSC_SPEED_MASK	(0xfu << 10)
#define PORTSC_PIC_MASK		(3u << 14)
#define PORTSC_LWS		(1u << 16)
#define PORTSC_CSC		(1u << 17)
#define PORTSC_PEC		(1u << 18)
#define PORTSC_WRC		(1u << 19)
#define PORTSC_OCC		(1u << 20)
#define PORTSC_PRC		(1u << 21)
#define PORTSC_PLC		(1u << 22)
#define PORTSC_CEC		(1u << 23)
#define PORTSC_CAS		(1u << 24)
#define PORTSC_WCE		(1u << 25)
#define PORTSC_WDE		(1u << 26)
#define PORTSC_WOE		(1u << 27)
#define PORTSC_DR		(1u << 30)
#define PORTSC_WPR		(1u << 31)
#define PORTSC_CHANGES		(PORTSC_CSC | PORTSC_PEC | PORTSC_WRC | PORTSC_OCC | \
				 PORTSC_PRC | PORTSC_PLC | PORTSC_CEC)

#define PLS_U0			0
#define PLS_U3			3
#define PLS_DISABLED		4
#define PLS_RXDETECT		5
#define PLS_POLLING		7
#define PLS_RESUME		15

/* port speed ids (the default Protocol Speed IDs) */
#define XHCI_SPEED_FULL		1
#define XHCI_SPEED_LOW		2
#define XHCI_SPEED_HIGH		3
#define XHCI_SPEED_SUPER	4

/* runtime: interrupter registers (offsets from XHCI_OFF_RUNTIME + 0x20) */
#define IR_IMAN			0x00
#define IR_IMOD			0x04
#define IR_ERSTSZ		0x08
#define IR_ERSTBA		0x10
#define IR_ERDP			0x18
#define IMAN_IP			(1u << 0)
#define IMAN_IE			(1u << 1)
#define ERDP_EHB		(1ull << 3)

/* TRBs */
struct xhci_trb {
	u64 param;
	u32 status;
	u32 control;
};
_Static_assert(sizeof(struct xhci_trb) == 16, "a TRB is 16 bytes");

#define TRB_C			(1u << 0)
#define TRB_TC			(1u << 1)	/* link: toggle cycle */
#define TRB_ENT			(1u << 1)
#define TRB_ISP			(1u << 2)
#define TRB_NS			(1u << 3)
#define TRB_CH			(1u << 4)
#define TRB_IOC			(1u << 5)
#define TRB_IDT			(1u << 6)
#define TRB_BEI			(1u << 9)
#define TRB_TYPE_SHIFT		10
#define TRB_TYPE(c)		(((c) >> 10) & 0x3f)
#define TRB_DIR_IN		(1u << 16)	/* data and status stage */
#define TRB_TRT(c)		(((c) >> 16) & 3)	/* setup stage: 0 none, 2 OUT, 3 IN */
#define TRB_LEN(s)		((s) & 0x1ffff)
#define TRB_SLOT(c)		((c) >> 24)
#define TRB_EP(c)		(((c) >> 16) & 0x1f)
#define TRB_BSR			(1u << 9)	/* address device: block SET_ADDRESS */
#define TRB_DC			(1u << 9)	/* configure endpoint: deconfigure */

enum {
	TRB_NORMAL = 1, TRB_SETUP = 2, TRB_DATA = 3, TRB_STATUS = 4, TRB_ISOCH = 5,
	TRB_LINK = 6, TRB_EVENT_DATA = 7, TRB_NOOP = 8,
	TRB_CMD_ENABLE_SLOT = 9, TRB_CMD_DISABLE_SLOT = 10, TRB_CMD_ADDRESS_DEVICE = 11,
	TRB_CMD_CONFIGURE_EP = 12, TRB_CMD_EVALUATE_CTX = 13, TRB_CMD_RESET_EP = 14,
	TRB_CMD_STOP_EP = 15, TRB_CMD_SET_TR_DEQ = 16, TRB_CMD_RESET_DEVICE = 17,
	TRB_CMD_FORCE_EVENT = 18, TRB_CMD_NEGOTIATE_BW = 19, TRB_CMD_SET_LT = 20,
	TRB_CMD_GET_BW = 21, TRB_CMD_FORCE_HEADER = 22, TRB_CMD_NOOP = 23,
	TRB_EV_TRANSFER = 32, TRB_EV_CMD_COMPLETION = 33, TRB_EV_PORT_STATUS = 34,
	TRB_EV_HOST_CONTROLLER = 37,
};

/* completion codes */
enum {
	CC_INVALID = 0, CC_SUCCESS = 1, CC_DATA_BUFFER_ERROR = 2, CC_BABBLE = 3,
	CC_USB_TRANSACTION_ERROR = 4, CC_TRB_ERROR = 5, CC_STALL = 6, CC_RESOURCE_ERROR = 7,
	CC_BANDWIDTH_ERROR = 8, CC_NO_SLOTS = 9, CC_INVALID_STREAM_TYPE = 10,
	CC_SLOT_NOT_ENABLED = 11, CC_EP_NOT_ENABLED = 12, CC_SHORT_PACKET = 13,
	CC_RING_UNDERRUN = 14, CC_RING_OVERRUN = 15, CC_PARAMETER_ERROR = 17,
	CC_CONTEXT_STATE_ERROR = 19, CC_EVENT_RING_FULL = 21, CC_INCOMPATIBLE_DEVICE = 22,
	CC_COMMAND_RING_STOPPED = 24, CC_COMMAND_ABORTED = 25, CC_STOPPED = 26,
};

/* contexts (32-byte, HCCPARAMS1.CSZ = 0) */
#define XHCI_CTX_SIZE		32
#define SLOT_STATE_DISABLED	0
#define SLOT_STATE_DEFAULT	1
#define SLOT_STATE_ADDRESSED	2
#define SLOT_STATE_CONFIGURED	3
#define EP_STATE_DISABLED	0
#define EP_STATE_RUNNING	1
#define EP_STATE_HALTED		2
#define EP_STATE_STOPPED	3
#define EP_STATE_ERROR		4
enum {
	EP_TYPE_INVALID = 0, EP_TYPE_ISO_OUT = 1, EP_TYPE_BULK_OUT = 2, EP_TYPE_INT_OUT = 3,
	EP_TYPE_CONTROL = 4, EP_TYPE_ISO_IN = 5, EP_TYPE_BULK_IN = 6, EP_TYPE_INT_IN = 7,
};

/* ---- the ring walker (pure: guest memory in, TRBs out; unit-tested) ---- */

struct xhci_ring {
	u64 deq;		/* the next TRB to look at */
	bool ccs;		/* consumer cycle state */
};

/* one TRB as it was read, and where */
struct xhci_td_trb {
	u64 addr;
	struct xhci_trb trb;
};

enum xhci_fetch {
	XHCI_FETCH_OK = 1,
	XHCI_FETCH_EMPTY = 0,		/* the cycle bit says the guest has not written it */
	XHCI_FETCH_FAULT = -1,		/* the ring left guest RAM or is misaligned */
	XHCI_FETCH_LOOP = -2,		/* link TRBs in a row: a loop */
};

/* the next TRB of a ring, following link TRBs (and toggling the cycle
 * state on TC); advances r past it */
enum xhci_fetch xhci_ring__fetch(const struct guest_mem *mem, struct xhci_ring *r,
				 struct xhci_td_trb *out);

/*
 * Gather one transfer descriptor at r: TRBs up to one without the chain
 * bit (for a control endpoint: a Setup TRB through its Status TRB).
 * Returns the number of TRBs in td[0..max), advancing r past them; 0 if the
 * ring holds no complete TD yet (r unchanged); a negative enum xhci_fetch,
 * or -3 if the TD is longer than max TRBs or malformed (*bad is the TRB's
 * address to report, r unchanged).
 */
#define XHCI_TD_TOO_LONG	(-3)
#define XHCI_TD_MALFORMED	(-4)
int xhci_ring__gather_td(const struct guest_mem *mem, struct xhci_ring *r, bool control,
			 struct xhci_td_trb *td, unsigned int max, u64 *bad);

/* ---- the controller ---- */

struct xhci_ep {
	u8 state;		/* EP_STATE_* as the guest sees it */
	u8 type;		/* EP_TYPE_* */
	u16 max_packet;
	struct xhci_ring ring;
	/* a TD the device has (USB_RET_ASYNC) or NAKed */
	bool busy;		/* a packet is with the device */
	bool cancelled;		/* ... and the guest stopped the endpoint meanwhile */
	bool nak;		/* the device said NAK: wait for usb__wakeup */
	struct usb_packet pkt;
	struct xhci_td_trb *td;	/* XHCI_TD_MAX_TRBS, allocated on first use */
	unsigned int td_len;
	struct xhci_ring td_end;	/* the ring after the TD */
	u8 *buf;		/* the packet's buffer */
	u32 buf_cap;
	u64 kicks;
	/* where this endpoint is, for completions */
	struct xhci *x;
	u8 slot_id, dci;
};

struct xhci_slot {
	bool enabled;
	u8 state;		/* SLOT_STATE_* */
	u8 port;		/* root hub port, 1-based; 0: none */
	u8 addr;
	struct usb_dev *dev;
	u64 ctx;		/* output device context (from the DCBAA) */
	struct xhci_ep eps[XHCI_NR_EPS];
};

struct xhci_port {
	u32 portsc;
	struct usb_dev *dev;
	bool usb3;
};

struct xhci_intr {
	u32 iman, imod, erstsz;
	u64 erstba, erdp;
	/* the event ring as the controller produces into it */
	struct {
		u64 base;
		u32 size;	/* TRBs */
	} seg[XHCI_ERST_MAX];
	unsigned int nr_seg;
	unsigned int seg_idx, idx;	/* enqueue position */
	bool pcs;		/* producer cycle state */
	bool ehb;		/* event handler busy */
	bool valid;		/* the ERST was read and is usable */
};

struct xhci_stats {
	u64 commands, transfers, events, dropped_events, errors, bytes_in, bytes_out;
};

struct xhci {
	struct pci_dev pci;
	struct vm *vm;
	struct guest_mem *mem;
	char *name;
	pthread_mutex_t lock;	/* everything below */

	u32 usbcmd, usbsts, dnctrl, config;
	u64 crcr, dcbaap;
	struct xhci_ring cmd_ring;
	bool cmd_running;
	struct xhci_intr intr;
	struct xhci_port ports[XHCI_NR_PORTS];
	struct xhci_slot slots[XHCI_MAX_SLOTS + 1];	/* 1-based */
	u64 next_packet_id;
	struct xhci_stats stats;

	/* the I/O thread and what it has to do */
	struct evloop *io;
	int kick_fd;
	bool kick_fd_is_real;
	u32 db_pending[XHCI_MAX_SLOTS + 1];	/* bit n: doorbell for endpoint n; [0] bit 0: commands */
	bool rerun;		/* work was left for another pass */
	bool intx;
	/* for unit tests without a VM: called instead of MSI-X/INTx */
	void (*irq_hook)(struct xhci *x, bool level);
	struct vm_device vd;
};

/* a controller for vm (PCI, BAR, MSI-X, I/O thread) */
int xhci__create(struct vm *vm, const char *name, struct xhci **out);
void xhci__destroy(struct xhci *x);
/* initialise the state only (unit tests: no PCI, no thread); mem is RAM */
void xhci__init_state(struct xhci *x, struct guest_mem *mem);

/* MMIO, as the BAR's trap calls it */
void xhci__mmio_read(struct xhci *x, u64 off, void *data, u32 len);
void xhci__mmio_write(struct xhci *x, u64 off, const void *data, u32 len);
/* run what the doorbells and completions asked for (the I/O thread; tests) */
void xhci__process(struct xhci *x);

/* plug a device into a free root port of its speed: the port number, or
 * -ENOSPC; unplug it (it stays allocated: the caller destroys it) */
int xhci__attach(struct xhci *x, struct usb_dev *d);
void xhci__detach(struct xhci *x, struct usb_dev *d);
/* after d was destroyed: drop every reference to it */
void xhci__forget(struct xhci *x, struct usb_dev *d);
/* `ctl usb list` rows */
struct json_object *xhci__status(struct xhci *x);

#endif
