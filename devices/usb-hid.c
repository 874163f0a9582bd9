// SPDX-License-Identifier: GPL-2.0
/*
 * Emulated USB HID devices (HID 1.11): a keyboard (boot protocol reports,
 * so firmware and any HID driver take it) and a tablet (an absolute
 * pointer: buttons, X and Y from 0 to 32767, a wheel).  Both are full-speed
 * devices with one interrupt IN endpoint.
 *
 * The keyboard is an input consumer (vmm/input.h): every key from the VNC
 * console, `ctl sendkey` and `ctl type` becomes a report, queued so that a
 * press and release between two polls are both seen; the guest's LED
 * output report sets the LEDs that `ctl status` shows.  The tablet takes
 * the VNC viewers' pointer when dpvm runs with --vnc-input usb.
 *
 * With no report queued, the interrupt endpoint answers NAK and the
 * controller waits for usb__wakeup: no polling.
 */
#include "devices/usb-kind.h"
#include "vmm/config.h"
#include "vmm/input.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"
#include "vmm/vnc.h"

#include <json-c/json.h>
#include <linux/input-event-codes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define HID_VENDOR		0x1209	/* pid.codes */
#define HID_PRODUCT_KBD		0x0001	/* its test product ids */
#define HID_PRODUCT_TABLET	0x0002
#define HID_QUEUE		64	/* reports */
#define HID_REPORT_MAX		8
#define TABLET_MAX		32767

/* class requests */
#define HID_GET_REPORT		0x01
#define HID_GET_IDLE		0x02
#define HID_GET_PROTOCOL	0x03
#define HID_SET_REPORT		0x09
#define HID_SET_IDLE		0x0a
#define HID_SET_PROTOCOL	0x0b

/* ---- descriptors ---- */

static const u8 kbd_report_desc[] = {
	0x05, 0x01,		/* Usage Page (Generic Desktop) */
	0x09, 0x06,		/* Usage (Keyboard) */
	0xa1, 0x01,		/* Collection (Application) */
	0x05, 0x07,		/*   Usage Page (Keyboard/Keypad) */
	0x19, 0xe0, 0x29, 0xe7,	/*   Usage 224..231: the modifiers */
	0x15, 0x00, 0x25, 0x01,	/*   Logical 0..1 */
	0x75, 0x01, 0x95, 0x08,	/*   8 x 1 bit */
	0x81, 0x02,		/*   Input (Data, Variable, Absolute) */
	0x75, 0x08, 0x95, 0x01,	/*   1 x 8 bits */
	0x81, 0x01,		/*   Input (Constant): reserved */
	0x05, 0x08,		/*   Usage Page (LEDs) */
	0x19, 0x01, 0x29, 0x05,	/*   Num, Caps, Scroll, Compose, Kana */
	0x75, 0x01, 0x95, 0x05,	/*   5 x 1 bit */
	0x91, 0x02,		/*   Output (Data, Variable, Absolute) */
	0x75, 0x03, 0x95, 0x01,	/*   1 x 3 bits */
	0x91, 0x01,		/*   Output (Constant) */
	0x05, 0x07,		/*   Usage Page (Keyboard/Keypad) */
	0x19, 0x00, 0x2a, 0xff, 0x00,	/* Usage 0..255 */
	0x15, 0x00, 0x26, 0xff, 0x00,	/* Logical 0..255 */
	0x75, 0x08, 0x95, 0x06,	/*   6 x 8 bits */
	0x81, 0x00,		/*   Input (Data, Array) */
	0xc0,			/* End Collection */
};

static const u8 tablet_report_desc[] = {
	0x05, 0x01,		/* Usage Page (Generic Desktop) */
	0x09, 0x02,		/* Usage (Mouse) */
	0xa1, 0x01,		/* Collection (Application) */
	0x09, 0x01,		/*   Usage (Pointer) */
	0xa1, 0x00,		/*   Collection (Physical) */
	0x05, 0x09,		/*     Usage Page (Button) */
	0x19, 0x01, 0x29, 0x05,	/*     Buttons 1..5 */
	0x15, 0x00, 0x25, 0x01,	/*     Logical 0..1 */
	0x75, 0x01, 0x95, 0x05,	/*     5 x 1 bit */
	0x81, 0x02,		/*     Input (Data, Variable, Absolute) */
	0x75, 0x03, 0x95, 0x01,	/*     1 x 3 bits */
	0x81, 0x01,		/*     Input (Constant) */
	0x05, 0x01,		/*     Usage Page (Generic Desktop) */
	0x09, 0x30, 0x09, 0x31,	/*     Usage X, Y */
	0x15, 0x00, 0x26, 0xff, 0x7f,	/* Logical 0..32767 */
	0x35, 0x00, 0x46, 0xff, 0x7f,	/* Physical 0..32767 */
	0x75, 0x10, 0x95, 0x02,	/*     2 x 16 bits */
	0x81, 0x02,		/*     Input (Data, Variable, Absolute) */
	0x09, 0x38,		/*     Usage (Wheel) */
	0x15, 0x81, 0x25, 0x7f,	/*     Logical -127..127 */
	0x35, 0x00, 0x45, 0x00,	/*     Physical 0..0 */
	0x75, 0x08, 0x95, 0x01,	/*     1 x 8 bits */
	0x81, 0x06,		/*     Input (Data, Variable, Relative) */
	0xc0,			/*   End Collection */
	0xc0,			/* End Collection */
};

#define DEVICE_DESC(product)						\
	{ 18, USB_DT_DEVICE, 0x00, 0x02, 0, 0, 0, 64,			\
	  HID_VENDOR & 0xff, HID_VENDOR >> 8, (product) & 0xff, (product) >> 8, \
	  0x00, 0x01, 1, 2, 3, 1 }

#define CONFIG_DESC(proto, subclass, rdlen)				\
	{ 9, USB_DT_CONFIG, 34, 0, 1, 1, 0, 0xa0, 50,			\
	  9, USB_DT_INTERFACE, 0, 0, 1, 3, (subclass), (proto), 0,	\
	  9, USB_DT_HID, 0x11, 0x01, 0, 1, USB_DT_REPORT, (rdlen) & 0xff, (rdlen) >> 8, \
	  7, USB_DT_ENDPOINT, 0x81, 3, 8, 0, 10 }

static const u8 kbd_device[18] = DEVICE_DESC(HID_PRODUCT_KBD);
static const u8 tablet_device[18] = DEVICE_DESC(HID_PRODUCT_TABLET);
static const u8 kbd_config[34] = CONFIG_DESC(1, 1, sizeof(kbd_report_desc));
static const u8 tablet_config[34] = CONFIG_DESC(0, 0, sizeof(tablet_report_desc));

static const char *const kbd_strings[] = { "dpvm", "dpvm USB Keyboard", "1" };
static const char *const tablet_strings[] = { "dpvm", "dpvm USB Tablet", "1" };

static const struct usb_desc kbd_desc = {
	.device = kbd_device, .config = kbd_config,
	.strings = kbd_strings, .nr_strings = ARRAY_SIZE(kbd_strings),
};
static const struct usb_desc tablet_desc = {
	.device = tablet_device, .config = tablet_config,
	.strings = tablet_strings, .nr_strings = ARRAY_SIZE(tablet_strings),
};

/* ---- Linux key codes to HID usages (HID Usage Tables, page 7) ---- */

static const u8 key_usage[KEY_MAX + 1] = {
	[KEY_A] = 0x04, [KEY_B] = 0x05, [KEY_C] = 0x06, [KEY_D] = 0x07, [KEY_E] = 0x08,
	[KEY_F] = 0x09, [KEY_G] = 0x0a, [KEY_H] = 0x0b, [KEY_I] = 0x0c, [KEY_J] = 0x0d,
	[KEY_K] = 0x0e, [KEY_L] = 0x0f, [KEY_M] = 0x10, [KEY_N] = 0x11, [KEY_O] = 0x12,
	[KEY_P] = 0x13, [KEY_Q] = 0x14, [KEY_R] = 0x15, [KEY_S] = 0x16, [KEY_T] = 0x17,
	[KEY_U] = 0x18, [KEY_V] = 0x19, [KEY_W] = 0x1a, [KEY_X] = 0x1b, [KEY_Y] = 0x1c,
	[KEY_Z] = 0x1d,
	[KEY_1] = 0x1e, [KEY_2] = 0x1f, [KEY_3] = 0x20, [KEY_4] = 0x21, [KEY_5] = 0x22,
	[KEY_6] = 0x23, [KEY_7] = 0x24, [KEY_8] = 0x25, [KEY_9] = 0x26, [KEY_0] = 0x27,
	[KEY_ENTER] = 0x28, [KEY_ESC] = 0x29, [KEY_BACKSPACE] = 0x2a, [KEY_TAB] = 0x2b,
	[KEY_SPACE] = 0x2c, [KEY_MINUS] = 0x2d, [KEY_EQUAL] = 0x2e, [KEY_LEFTBRACE] = 0x2f,
	[KEY_RIGHTBRACE] = 0x30, [KEY_BACKSLASH] = 0x31, [KEY_SEMICOLON] = 0x33,
	[KEY_APOSTROPHE] = 0x34, [KEY_GRAVE] = 0x35, [KEY_COMMA] = 0x36, [KEY_DOT] = 0x37,
	[KEY_SLASH] = 0x38, [KEY_CAPSLOCK] = 0x39,
	[KEY_F1] = 0x3a, [KEY_F2] = 0x3b, [KEY_F3] = 0x3c, [KEY_F4] = 0x3d, [KEY_F5] = 0x3e,
	[KEY_F6] = 0x3f, [KEY_F7] = 0x40, [KEY_F8] = 0x41, [KEY_F9] = 0x42, [KEY_F10] = 0x43,
	[KEY_F11] = 0x44, [KEY_F12] = 0x45,
	[KEY_SYSRQ] = 0x46, [KEY_SCROLLLOCK] = 0x47, [KEY_PAUSE] = 0x48, [KEY_INSERT] = 0x49,
	[KEY_HOME] = 0x4a, [KEY_PAGEUP] = 0x4b, [KEY_DELETE] = 0x4c, [KEY_END] = 0x4d,
	[KEY_PAGEDOWN] = 0x4e, [KEY_RIGHT] = 0x4f, [KEY_LEFT] = 0x50, [KEY_DOWN] = 0x51,
	[KEY_UP] = 0x52, [KEY_NUMLOCK] = 0x53, [KEY_KPSLASH] = 0x54, [KEY_KPASTERISK] = 0x55,
	[KEY_KPMINUS] = 0x56, [KEY_KPPLUS] = 0x57, [KEY_KPENTER] = 0x58,
	[KEY_KP1] = 0x59, [KEY_KP2] = 0x5a, [KEY_KP3] = 0x5b, [KEY_KP4] = 0x5c, [KEY_KP5] = 0x5d,
	[KEY_KP6] = 0x5e, [KEY_KP7] = 0x5f, [KEY_KP8] = 0x60, [KEY_KP9] = 0x61, [KEY_KP0] = 0x62,
	[KEY_KPDOT] = 0x63, [KEY_102ND] = 0x64, [KEY_COMPOSE] = 0x65, [KEY_POWER] = 0x66,
	[KEY_KPEQUAL] = 0x67,
	[KEY_F13] = 0x68, [KEY_F14] = 0x69, [KEY_F15] = 0x6a, [KEY_F16] = 0x6b,
	[KEY_F17] = 0x6c, [KEY_F18] = 0x6d, [KEY_F19] = 0x6e, [KEY_F20] = 0x6f,
	[KEY_F21] = 0x70, [KEY_F22] = 0x71, [KEY_F23] = 0x72, [KEY_F24] = 0x73,
	[KEY_MUTE] = 0x7f, [KEY_VOLUMEUP] = 0x80, [KEY_VOLUMEDOWN] = 0x81,
	[KEY_KPCOMMA] = 0x85, [KEY_RO] = 0x87, [KEY_KATAKANAHIRAGANA] = 0x88, [KEY_YEN] = 0x89,
	[KEY_HENKAN] = 0x8a, [KEY_MUHENKAN] = 0x8b, [KEY_HANGEUL] = 0x90, [KEY_HANJA] = 0x91,
	[KEY_LEFTCTRL] = 0xe0, [KEY_LEFTSHIFT] = 0xe1, [KEY_LEFTALT] = 0xe2,
	[KEY_LEFTMETA] = 0xe3, [KEY_RIGHTCTRL] = 0xe4, [KEY_RIGHTSHIFT] = 0xe5,
	[KEY_RIGHTALT] = 0xe6, [KEY_RIGHTMETA] = 0xe7,
};

u8 usb_hid__usage(unsigned int key)
{
	return key <= KEY_MAX ? key_usage[key] : 0;
}

/* ---- the devices ---- */

struct hid {
	struct usb_dev dev;
	const struct usb_desc *desc;
	const u8 *report_desc;
	unsigned int report_desc_len;
	bool keyboard;
	pthread_mutex_t lock;	/* below; inner to the controller's lock */
	struct usb_std std;
	u8 protocol;		/* 0 boot, 1 report */
	u8 idle;
	u8 leds;
	/* the current state */
	u8 mods, keys[6];
	unsigned int nkeys;
	u8 buttons;
	u16 x, y;
	/* reports not yet read by the guest, and when each was queued */
	u8 q[HID_QUEUE][HID_REPORT_MAX];
	u64 qt[HID_QUEUE];
	unsigned int head, count;
	/* from queued to read by the guest's interrupt transfer */
	u64 lat_n, lat_sum_ns, lat_max_ns;
	unsigned int report_len;
	u64 reports, dropped;
	struct input_consumer consumer;
	struct hid *next_tablet;
};

static pthread_mutex_t tablets_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hid *tablets;

/* the current state as a report, into r; its length */
static unsigned int hid_report(struct hid *h, u8 *r, int wheel)
{
	if (h->keyboard) {
		memset(r, 0, 8);
		r[0] = h->mods;
		if (h->nkeys > 6)
			memset(r + 2, 0x01, 6);	/* ErrorRollOver */
		else
			memcpy(r + 2, h->keys, h->nkeys);
		return 8;
	}
	r[0] = h->buttons;
	r[1] = h->x;
	r[2] = h->x >> 8;
	r[3] = h->y;
	r[4] = h->y >> 8;
	r[5] = (u8)(s8)MAX(MIN(wheel, 127), -127);
	return 6;
}

/* queue the current state; called with h->lock held; false if full */
static bool hid_push(struct hid *h, int wheel)
{
	if (h->count == HID_QUEUE) {
		if (h->keyboard) {
			h->dropped++;
			return false;
		}
		/* a pointer keeps its latest position: replace the newest */
		h->count--;
	}
	h->report_len = hid_report(h, h->q[(h->head + h->count) % HID_QUEUE], wheel);
	h->qt[(h->head + h->count) % HID_QUEUE] = time_ns();
	h->count++;
	h->reports++;
	return true;
}

static int hid_handle_control(struct hid *h, struct usb_packet *p)
{
	const struct usb_setup *s = &p->setup;

	if (usb_desc__handle_std(h->desc, &h->std, p))
		return p->status;
	if (s->bmRequestType == (USB_DIR_IN | USB_RECIP_INTERFACE) &&
	    s->bRequest == USB_REQ_GET_DESCRIPTOR) {
		if (s->wValue >> 8 == USB_DT_REPORT) {
			usb_packet__reply(p, h->report_desc, h->report_desc_len);
			return p->status;
		}
		if (s->wValue >> 8 == USB_DT_HID) {
			usb_packet__reply(p, h->desc->config + 18, 9);
			return p->status;
		}
		return p->status = USB_RET_STALL;
	}
	if ((s->bmRequestType & USB_TYPE_MASK) != USB_TYPE_CLASS)
		return p->status = USB_RET_STALL;
	p->status = USB_RET_SUCCESS;
	p->actual = 0;
	switch (s->bRequest) {
	case HID_GET_REPORT: {
		u8 r[HID_REPORT_MAX];

		usb_packet__reply(p, r, hid_report(h, r, 0));
		break;
	}
	case HID_SET_REPORT:
		if (h->keyboard && p->len >= 1) {
			u32 leds = 0;

			h->leds = p->buf[0];
			if (h->leds & 1)
				leds |= INPUT_LED_NUM;
			if (h->leds & 2)
				leds |= INPUT_LED_CAPS;
			if (h->leds & 4)
				leds |= INPUT_LED_SCROLL;
			input__set_leds(leds);
			p->actual = 1;
		}
		break;
	case HID_GET_IDLE:
		usb_packet__reply(p, &h->idle, 1);
		break;
	case HID_SET_IDLE:
		h->idle = s->wValue >> 8;
		break;
	case HID_GET_PROTOCOL:
		usb_packet__reply(p, &h->protocol, 1);
		break;
	case HID_SET_PROTOCOL:
		h->protocol = s->wValue & 1;
		break;
	default:
		p->status = USB_RET_STALL;
	}
	return p->status;
}

static int hid_handle(struct usb_dev *d, struct usb_packet *p)
{
	struct hid *h = container_of(d, struct hid, dev);
	int ret;

	pthread_mutex_lock(&h->lock);
	if (p->ep == 0) {
		ret = hid_handle_control(h, p);
	} else if (p->ep == 1 && p->in && p->type == USB_XFER_INT) {
		if (h->std.halted[0x11]) {
			ret = p->status = USB_RET_STALL;
		} else if (!h->count) {
			ret = USB_RET_NAK;
		} else {
			u64 lat = time_ns() - h->qt[h->head];

			usb_packet__reply(p, h->q[h->head], h->report_len);
			h->lat_n++;
			h->lat_sum_ns += lat;
			h->lat_max_ns = MAX(h->lat_max_ns, lat);
			h->head = (h->head + 1) % HID_QUEUE;
			h->count--;
			ret = p->status;
		}
	} else {
		ret = p->status = USB_RET_STALL;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static void hid_reset(struct usb_dev *d)
{
	struct hid *h = container_of(d, struct hid, dev);

	pthread_mutex_lock(&h->lock);
	memset(&h->std, 0, sizeof(h->std));
	h->protocol = 1;
	h->idle = 0;
	h->head = h->count = 0;
	pthread_mutex_unlock(&h->lock);
}

static void hid_status(struct usb_dev *d, json_object *o)
{
	struct hid *h = container_of(d, struct hid, dev);

	pthread_mutex_lock(&h->lock);
	json_object_object_add(o, "configured", json_object_new_boolean(h->std.config));
	json_object_object_add(o, "reports", json_object_new_int64(h->reports));
	json_object_object_add(o, "queued", json_object_new_int(h->count));
	json_object_object_add(o, "dropped", json_object_new_int64(h->dropped));
	json_object_object_add(o, "reports-read", json_object_new_int64(h->lat_n));
	json_object_object_add(o, "latency-us-avg",
			       json_object_new_int64(h->lat_n ? h->lat_sum_ns / h->lat_n / 1000 : 0));
	json_object_object_add(o, "latency-us-max", json_object_new_int64(h->lat_max_ns / 1000));
	pthread_mutex_unlock(&h->lock);
}

static void hid_destroy(struct usb_dev *d)
{
	struct hid *h = container_of(d, struct hid, dev);

	if (h->keyboard) {
		input__unregister(&h->consumer);
	} else {
		pthread_mutex_lock(&tablets_lock);
		for (struct hid **pp = &tablets; *pp; pp = &(*pp)->next_tablet)
			if (*pp == h) {
				*pp = h->next_tablet;
				break;
			}
		pthread_mutex_unlock(&tablets_lock);
	}
	free(h->dev.id);
	free(h);
}

static const struct usb_dev_ops kbd_ops = {
	.kind = "keyboard",
	.handle = hid_handle,
	.reset = hid_reset,
	.status = hid_status,
	.destroy = hid_destroy,
};

static const struct usb_dev_ops tablet_ops = {
	.kind = "tablet",
	.handle = hid_handle,
	.reset = hid_reset,
	.status = hid_status,
	.destroy = hid_destroy,
};

/* ---- input ---- */

/* a key from the input layer (any thread, under the consumers' lock) */
bool usb_kbd__key(struct hid *h, unsigned int key, bool down)
{
	u8 u = usb_hid__usage(key);
	bool ok = true, changed = false, push;

	if (!u)
		return true;	/* no such key on a USB keyboard: nothing to send */
	pthread_mutex_lock(&h->lock);
	if (u >= 0xe0) {
		u8 bit = 1u << (u - 0xe0);

		changed = !!(h->mods & bit) != down;
		h->mods = down ? h->mods | bit : h->mods & ~bit;
	} else {
		unsigned int i;

		for (i = 0; i < h->nkeys && i < 6 && h->keys[i] != u; i++)
			;
		if (down && (i == h->nkeys || i == 6)) {
			if (h->nkeys < 6)
				h->keys[h->nkeys] = u;
			h->nkeys++;
			changed = true;
		} else if (!down && i < h->nkeys && i < 6) {
			memmove(h->keys + i, h->keys + i + 1, MIN(h->nkeys, 6u) - i - 1);
			h->nkeys--;
			changed = true;
		} else if (!down && h->nkeys > 6) {
			h->nkeys--;	/* one of the keys past six went up */
			changed = true;
		}
	}
	/* a keyboard nobody configured drops keys silently (the PS/2 one has them) */
	push = changed && h->std.config;
	if (push)
		ok = hid_push(h, 0);
	pthread_mutex_unlock(&h->lock);
	if (push)
		usb__wakeup(&h->dev, 1, true);
	return ok;
}

static bool kbd_consume_key(void *opaque, unsigned int key, bool down)
{
	return usb_kbd__key(opaque, key, down);
}

static unsigned int kbd_key_room(void *opaque)
{
	struct hid *h = opaque;
	unsigned int room;

	pthread_mutex_lock(&h->lock);
	room = h->std.config ? HID_QUEUE - h->count : HID_QUEUE;
	pthread_mutex_unlock(&h->lock);
	return room;
}

void usb_tablet__pointer(struct hid *h, const struct input_pointer *p)
{
	u8 b = 0;
	bool push;

	if (!p->absolute || !p->width || !p->height)
		return;		/* a tablet only knows where the pointer is */
	if (p->buttons & INPUT_BTN_LEFT)
		b |= 1;
	if (p->buttons & INPUT_BTN_RIGHT)
		b |= 2;
	if (p->buttons & INPUT_BTN_MIDDLE)
		b |= 4;
	if (p->buttons & INPUT_BTN_SIDE)
		b |= 8;
	if (p->buttons & INPUT_BTN_EXTRA)
		b |= 16;
	pthread_mutex_lock(&h->lock);
	h->buttons = b;
	h->x = p->width > 1 ? (u64)MIN(MAX(p->x, 0), (int)p->width - 1) * TABLET_MAX / (p->width - 1) : 0;
	h->y = p->height > 1 ? (u64)MIN(MAX(p->y, 0), (int)p->height - 1) * TABLET_MAX / (p->height - 1) : 0;
	push = h->std.config;
	if (push)
		hid_push(h, p->wheel);
	pthread_mutex_unlock(&h->lock);
	if (push)
		usb__wakeup(&h->dev, 1, true);
}

/* the VNC console's pointer, with --vnc-input usb */
static void tablet_pointer_hook(struct input_source *src, const struct input_pointer *p)
{
	src->buttons = p->buttons;
	pthread_mutex_lock(&tablets_lock);
	if (!tablets)
		pr_warn_guest("vnc-input usb: there is no USB tablet; the pointer event is dropped");
	for (struct hid *h = tablets; h; h = h->next_tablet)
		usb_tablet__pointer(h, p);
	pthread_mutex_unlock(&tablets_lock);
}

/* ---- kinds ---- */

static int hid_parse(json_object *backing, void **priv, char **err)
{
	static const char *const none[] = { NULL };

	*priv = NULL;
	if (usb_opt_keys(backing, none, err))
		return -1;
	*priv = xzalloc(1);
	return 0;
}

static struct hid *hid_new(const struct usb_dev_ops *ops, const struct usb_desc *desc,
			   const u8 *rd, unsigned int rdlen, u16 product, const char *name)
{
	struct hid *h = xzalloc(sizeof(*h));

	h->dev.ops = ops;
	h->dev.backing = "emulated";
	h->dev.migratable = true;
	h->dev.speed = USB_SPEED_FULL;
	h->dev.vendor = HID_VENDOR;
	h->dev.product = product;
	snprintf(h->dev.product_name, sizeof(h->dev.product_name), "%s", name);
	h->desc = desc;
	h->report_desc = rd;
	h->report_desc_len = rdlen;
	h->protocol = 1;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

struct hid *usb_kbd__new(void)
{
	struct hid *h = hid_new(&kbd_ops, &kbd_desc, kbd_report_desc, sizeof(kbd_report_desc),
				HID_PRODUCT_KBD, "dpvm USB Keyboard");

	h->keyboard = true;
	h->report_len = 8;
	return h;
}

struct hid *usb_tablet__new(void)
{
	struct hid *h = hid_new(&tablet_ops, &tablet_desc, tablet_report_desc,
				sizeof(tablet_report_desc), HID_PRODUCT_TABLET, "dpvm USB Tablet");

	h->report_len = 6;
	return h;
}

struct usb_dev *usb_hid__dev(struct hid *h)
{
	return &h->dev;
}

static int kbd_create(struct vm *vm __unused, const char *id, void *priv __unused,
		      struct usb_dev **out, char **err __unused)
{
	struct hid *h = usb_kbd__new();

	h->consumer.name = id;
	h->consumer.key = kbd_consume_key;
	h->consumer.key_room = kbd_key_room;
	h->consumer.opaque = h;
	input__register(&h->consumer);
	*out = &h->dev;
	return 0;
}

static int tablet_create(struct vm *vm __unused, const char *id __unused, void *priv __unused,
			 struct usb_dev **out, char **err __unused)
{
	struct hid *h = usb_tablet__new();

	pthread_mutex_lock(&tablets_lock);
	h->next_tablet = tablets;
	tablets = h;
	pthread_mutex_unlock(&tablets_lock);
	*out = &h->dev;
	return 0;
}

static struct usb_kind keyboard_kind = {
	.name = "keyboard", .parse = hid_parse, .create = kbd_create,
};
usb_kind(keyboard_kind);

static struct usb_kind tablet_kind = {
	.name = "tablet", .parse = hid_parse, .create = tablet_create,
};
usb_kind(tablet_kind);

/* ---- --vnc-input usb|ps2 ---- */

static int vnc_input_validate(struct device_config *dc)
{
	static const char *const keys[] = { "type", "id", "pointer", NULL };
	const char *v;

	if (config__check_keys(dc->obj, dc->where, keys) ||
	    config__get_string(dc->obj, "pointer", dc->where, true, &v))
		return -1;
	if (strcmp(v, "usb") && strcmp(v, "ps2")) {
		pr_err("%s.pointer: '%s' is not usb or ps2", dc->where, v);
		return -1;
	}
	dc->priv = xzalloc(sizeof(bool));
	*(bool *)dc->priv = !strcmp(v, "usb");
	return 0;
}

static int vnc_input_finalize(struct vm_config *cfg, struct device_config *dc)
{
	bool vnc = false, tablet = false;

	if (!*(bool *)dc->priv)
		return 0;
	for (unsigned int i = 0; i < cfg->nr_devices; i++) {
		vnc |= !strcmp(cfg->devices[i].type, "vnc");
		tablet |= !strcmp(cfg->devices[i].type, "usb-tablet");
	}
	if (!vnc || !tablet) {
		pr_err("%s: --vnc-input usb routes the VNC pointer to a USB tablet; add %s",
		       dc->where, !vnc ? "--vnc ADDR:PORT" : "--usb tablet");
		return -1;
	}
	return 0;
}

static int vnc_input_create(struct vm *vm __unused, struct device_config *dc)
{
	vnc__pointer_hook = *(bool *)dc->priv ? tablet_pointer_hook : NULL;
	return 0;
}

static json_object *vnc_input_from_flag(const char *value, const char *where __unused)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("vnc-input"));
	json_object_object_add(o, "pointer", json_object_new_string(value));
	return o;
}

static struct device_type vnc_input_type = {
	.name = "vnc-input",
	.validate = vnc_input_validate,
	.finalize = vnc_input_finalize,
	.create = vnc_input_create,
	.flag = "vnc-input",
	.flag_arg = "usb|ps2",
	.flag_help = "where the VNC console's pointer goes: the PS/2 mouse (default) or a USB "
		     "tablet (--usb tablet)",
	.from_flag = vnc_input_from_flag,
};
device_type_register(vnc_input_type);
