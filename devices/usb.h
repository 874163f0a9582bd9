/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_USB_H
#define DPVM_USB_H

/*
 * Virtual USB: the device model between the xHCI controller
 * (devices/xhci.c) and what stands behind a device:
 *
 *   usb-core.c     descriptors and standard requests for emulated devices,
 *                  the config entries (usb-* types, --usb), `ctl usb ...`,
 *                  the lifecycle blocker
 *   usb-hid.c      an emulated HID keyboard and tablet (vmm/input.h)
 *   usb-storage.c  emulated mass storage: bulk-only transport over the SCSI
 *                  layer's disk emulation (devices/scsi/)
 *   usb-host.c     backing "host": a device of this host, through libusb
 *   usb-redir.c    backing "remote-client": a device a usbredir client
 *                  forwards to dpvm (usbredirect --to HOST:PORT)
 *   usb-ip.c       backing "remote-host": a device a USB/IP server exports
 *
 * The controller turns a transfer descriptor into one usb_packet with one
 * contiguous buffer (a control transfer's setup packet, data stage and
 * status stage are one packet), and hands it to the device's handle op.  A
 * device answers at once (emulated devices), says NAK (no data yet: the
 * controller tries again after usb__wakeup), or takes it (USB_RET_ASYNC)
 * and finishes it later from any thread with usb__complete().
 */
#include "vmm/types.h"

#include <pthread.h>

struct json_object;
struct vm;
struct xhci;
struct usb_dev;

enum usb_speed {
	USB_SPEED_LOW,
	USB_SPEED_FULL,
	USB_SPEED_HIGH,
	USB_SPEED_SUPER,
};

enum usb_xfer {
	USB_XFER_CONTROL = 0,
	USB_XFER_ISO = 1,
	USB_XFER_BULK = 2,
	USB_XFER_INT = 3,
};

/* packet status */
#define USB_RET_SUCCESS		0
#define USB_RET_NODEV		(-1)	/* the device is gone */
#define USB_RET_NAK		(-2)	/* no data now; usb__wakeup later */
#define USB_RET_STALL		(-3)	/* the endpoint halted (or a control request refused) */
#define USB_RET_BABBLE		(-4)	/* more data than the buffer */
#define USB_RET_IOERROR		(-5)	/* a transaction error */
#define USB_RET_ASYNC		(-6)	/* taken: usb__complete follows */
#define USB_RET_CANCELLED	(-7)

/* standard requests (USB 2.0 9.4) */
#define USB_DIR_IN		0x80
#define USB_TYPE_MASK		0x60
#define USB_TYPE_STANDARD	0x00
#define USB_TYPE_CLASS		0x20
#define USB_RECIP_MASK		0x1f
#define USB_RECIP_DEVICE	0x00
#define USB_RECIP_INTERFACE	0x01
#define USB_RECIP_ENDPOINT	0x02

#define USB_REQ_GET_STATUS	0x00
#define USB_REQ_CLEAR_FEATURE	0x01
#define USB_REQ_SET_FEATURE	0x03
#define USB_REQ_SET_ADDRESS	0x05
#define USB_REQ_GET_DESCRIPTOR	0x06
#define USB_REQ_SET_DESCRIPTOR	0x07
#define USB_REQ_GET_CONFIGURATION 0x08
#define USB_REQ_SET_CONFIGURATION 0x09
#define USB_REQ_GET_INTERFACE	0x0a
#define USB_REQ_SET_INTERFACE	0x0b
#define USB_REQ_SET_SEL		0x30
#define USB_REQ_SET_ISOCH_DELAY	0x31

#define USB_DT_DEVICE		0x01
#define USB_DT_CONFIG		0x02
#define USB_DT_STRING		0x03
#define USB_DT_INTERFACE	0x04
#define USB_DT_ENDPOINT		0x05
#define USB_DT_DEVICE_QUALIFIER	0x06
#define USB_DT_OTHER_SPEED	0x07
#define USB_DT_BOS		0x0f
#define USB_DT_HID		0x21
#define USB_DT_REPORT		0x22
#define USB_DT_SS_EP_COMP	0x30

#define USB_FEATURE_ENDPOINT_HALT 0
#define USB_FEATURE_REMOTE_WAKEUP 1

struct usb_setup {
	u8 bmRequestType;
	u8 bRequest;
	u16 wValue;
	u16 wIndex;
	u16 wLength;
} __packed;

struct usb_packet {
	struct usb_dev *dev;
	u8 ep;			/* endpoint number, 0..15 */
	bool in;		/* device to host */
	enum usb_xfer type;
	struct usb_setup setup;	/* control transfers */
	u8 *buf;		/* len bytes: data to send (OUT), or room (IN) */
	u32 len;
	u32 actual;		/* bytes moved */
	int status;		/* USB_RET_* */
	u64 id;			/* unique per controller, for backings' wire protocols */
	void *hc;		/* the controller's */
};

struct usb_dev_ops {
	const char *kind;	/* "keyboard", "tablet", "storage", "host", "remote-client", "remote-host" */
	/* finish p (set p->status, p->actual) and return p->status, or return
	 * USB_RET_ASYNC and call usb__complete(p) later (any thread) */
	int (*handle)(struct usb_dev *d, struct usb_packet *p);
	/* an async packet the guest no longer wants: complete it soon
	 * (USB_RET_CANCELLED), or drop it and return true if it will never
	 * be completed; optional for synchronous devices */
	bool (*cancel)(struct usb_dev *d, struct usb_packet *p);
	/* a port reset: back to the default state (address 0, unconfigured) */
	void (*reset)(struct usb_dev *d);
	/* facts for `ctl status` / `ctl usb list`; optional */
	void (*status)(struct usb_dev *d, struct json_object *o);
	/* stop, complete or drop every async packet, free d; the device is
	 * already unplugged */
	void (*destroy)(struct usb_dev *d);
};

struct usb_dev {
	const struct usb_dev_ops *ops;
	char *id;		/* the config entry's id */
	const char *backing;	/* "emulated", "host", "remote-host", "remote-client" */
	bool migratable;
	/* a network backing: the device comes and goes with its peer
	 * (usb__plug, usb__unplug) and the usb_dev stays; absent at first */
	bool persistent;
	bool want_present;	/* the last usb__plug/usb__unplug of a persistent device */
	enum usb_speed speed;
	u16 vendor, product;
	char product_name[64];
	/* the controller's, under its lock */
	struct xhci *hc;
	int port;		/* 1-based root hub port, 0 if not attached */
	bool gone;		/* unplugged: packets fail with USB_RET_NODEV */
	struct usb_dev *next;
};

/* ---- the controller's side, for devices (devices/xhci.c) ---- */

/* data arrived for endpoint ep (in: direction): retry what was NAKed */
void usb__wakeup(struct usb_dev *d, u8 ep, bool in);
/* an async packet is done (any thread) */
void usb__complete(struct usb_packet *p);
/* the backing went away (host unplug, peer gone): unplug d from the guest,
 * from the main thread soon after (any thread may call); a persistent
 * device stays for usb__plug, any other is destroyed */
void usb__unplug(struct usb_dev *d, const char *why);
/* a persistent device's peer has it (again): plug it in (any thread) */
void usb__plug(struct usb_dev *d);

/* ---- descriptors and standard requests for emulated devices (usb-core.c) ---- */

struct usb_desc {
	const u8 *device;	/* 18 bytes */
	const u8 *config;	/* wTotalLength bytes */
	const u8 *bos;		/* SuperSpeed devices; NULL otherwise */
	const char *const *strings;	/* index 1.. (0 is the language list) */
	unsigned int nr_strings;
	const char *serial;	/* overrides the string at serial_index */
	u8 serial_index;
};

/* the emulated device's standard state */
struct usb_std {
	u8 config;		/* the configuration value set, 0: not configured */
	u8 alt[8];		/* per interface */
	bool remote_wakeup;
	bool halted[32];	/* per endpoint address index: (ep & 15) | (in << 4) */
};

/* Answer the standard requests of a control packet from desc and std:
 * returns true if it was one (p->status and p->actual set). */
bool usb_desc__handle_std(const struct usb_desc *desc, struct usb_std *std, struct usb_packet *p);
/* copy at most p->len bytes of data to an IN packet; success */
void usb_packet__reply(struct usb_packet *p, const void *data, size_t len);
/* a string descriptor for s (ASCII) into buf; its length */
unsigned int usb_desc__string(const char *s, u8 *buf, unsigned int len);

/* ---- the emulated HID devices (usb-hid.c), for tests ---- */

struct hid;
struct input_pointer;
struct hid *usb_kbd__new(void);
struct hid *usb_tablet__new(void);
struct usb_dev *usb_hid__dev(struct hid *h);
bool usb_kbd__key(struct hid *h, unsigned int key, bool down);
void usb_tablet__pointer(struct hid *h, const struct input_pointer *p);
/* the HID usage of a Linux key code (KEY_*), 0 if none */
u8 usb_hid__usage(unsigned int key);

/* emulated mass storage on a file (usb-storage.c), for tests */
struct usb_dev *usb_storage__new(const char *path, bool readonly, char **err);

/* a usbredir client's bytes into a device with packets pk[0..n) in flight
 * (ids 1..n); *info gets the device as the client described it; for tests
 * (usb-redir.c) */
int usb_redir__feed(const u8 *data, size_t len, struct usb_packet *pk, unsigned int n,
		    struct usb_dev *info);
/* the fuzzer's entry: the same with four packets */
int usb_redir__fuzz(const u8 *data, size_t len);

/* `dpvm host usb list` (usb-hostlist.c); argv[0] is "usb" */
int usb_host__main(int argc, char **argv);

/* ---- registration of the devices a VM has (usb-core.c) ---- */

/* the VM's controller, created by the first USB device (or --usb) */
struct xhci *usb__controller(struct vm *vm);

/* plug d into the controller; -errno (no free port of its speed) */
int usb__attach(struct vm *vm, struct usb_dev *d);
/* unplug and destroy */
void usb__detach(struct usb_dev *d);

#endif
