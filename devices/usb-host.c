// SPDX-License-Identifier: GPL-2.0
/*
 * Backing "host": a USB device of this host passed through to the guest
 * with libusb-1.0 (the seeds' USBBackingInfo).  The device is chosen by
 * vendor:product ("device": "0781:5567") or by its place on the host's
 * buses ("path": "1-2.3", as /sys/bus/usb/devices names it).
 *
 *   - on attach, every interface of the active configuration is claimed;
 *     libusb detaches the host's drivers from them (auto-detach) and gives
 *     them back when the interfaces are released: on detach, on power-off
 *     and at exit
 *   - the guest's packets become libusb transfers (control, bulk,
 *     interrupt, and isochronous: one packet per TD, sent as soon as the
 *     guest queues it), submitted asynchronously and completed by one
 *     event thread shared by every host device; SET_CONFIGURATION, SET_INTERFACE
 *     and CLEAR_FEATURE(ENDPOINT_HALT) go through the calls the kernel
 *     wants for them; a port reset from the guest resets the device once
 *     the guest has used it (not the resets of its first enumeration)
 *   - the host unplugging the device (a transfer ends with NO_DEVICE, or
 *     the device is gone from sysfs) unplugs it from the guest
 *   - the device's state is in the device: the VM cannot migrate with it
 *     (the lifecycle blocker in usb-core.c refuses, naming it)
 */
#include "devices/usb-kind.h"
#include "passthru/sysfs.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <json-c/json.h>
#include <libusb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOST_CONTROL_TIMEOUT_MS	5000
#define HOST_DESTROY_WAIT_MS	5000
#define HOST_MAX_INTERFACES	32

struct host_params {
	bool by_path;
	u16 vendor, product;
	char path[32];		/* "1-2.3" */
};

struct host_xfer {
	struct libusb_transfer *t;
	struct usb_packet *p;
	struct host_dev *h;
	u8 *ctrl;		/* setup + data of a control transfer */
	struct host_xfer *next;
};

struct host_dev {
	struct usb_dev dev;
	libusb_device *ldev;
	libusb_device_handle *handle;
	char path[32];
	u8 bus, addr;
	pthread_mutex_t lock;	/* below; inner to the controller's lock */
	pthread_cond_t idle;
	struct host_xfer *xfers;	/* in flight */
	u8 config;		/* the active configuration value */
	u8 nr_ifaces;
	bool claimed[HOST_MAX_INTERFACES];
	bool gone;
	/* the guest did more than read descriptors since the claim (or the
	 * last reset): only then does a port reset reach the device */
	bool touched;
	u64 submitted, completed, errors;
	struct host_dev *next;
};

/* ---- the shared libusb context and its event thread ---- */

static struct {
	pthread_mutex_t lock;
	libusb_context *ctx;
	pthread_t thread;
	unsigned int users;
	bool stop;
	struct host_dev *devs;	/* for the gone-from-the-host check */
} lu = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* the device left the host's sysfs, or its address there changed (it
 * re-enumerated): why, in why; false if it is still the one dpvm claimed */
static bool sysfs_gone(struct host_dev *h, char *why, size_t len)
{
	char path[256], buf[16] = "";
	FILE *f;
	unsigned int n = 0;

	snprintf(path, sizeof(path), "%s/bus/usb/devices/%s/devnum", sysfs__root(), h->path);
	f = fopen(path, "r");
	if (!f) {
		snprintf(why, len, "the host unplugged it (%s is gone)", h->path);
		return true;
	}
	if (fgets(buf, sizeof(buf), f))
		n = strtoul(buf, NULL, 10);
	fclose(f);
	if (n == h->addr)
		return false;
	snprintf(why, len, "the host unplugged it (%s is now address %u, was %u)", h->path, n,
		 h->addr);
	return true;
}

static void *event_thread(void *arg __unused)
{
	for (;;) {
		struct timeval tv = { 1, 0 };

		pthread_mutex_lock(&lu.lock);
		if (lu.stop) {
			pthread_mutex_unlock(&lu.lock);
			return NULL;
		}
		/* devices the host took away: their transfers may never fail */
		for (struct host_dev *h = lu.devs; h; h = h->next) {
			char why[128];

			if (!h->gone && sysfs_gone(h, why, sizeof(why))) {
				h->gone = true;
				usb__unplug(&h->dev, why);
			}
		}
		pthread_mutex_unlock(&lu.lock);
		libusb_handle_events_timeout_completed(lu.ctx, &tv, NULL);
	}
}

static int lu_get(char **err)
{
	int r;

	pthread_mutex_lock(&lu.lock);
	if (lu.users++) {
		pthread_mutex_unlock(&lu.lock);
		return 0;
	}
	r = libusb_init(&lu.ctx);
	if (r) {
		lu.users = 0;
		pthread_mutex_unlock(&lu.lock);
		return usb_err(err, "libusb cannot start: %s", libusb_strerror(r));
	}
	lu.stop = false;
	if (pthread_create(&lu.thread, NULL, event_thread, NULL)) {
		libusb_exit(lu.ctx);
		lu.ctx = NULL;
		lu.users = 0;
		pthread_mutex_unlock(&lu.lock);
		return usb_err(err, "cannot start the libusb event thread");
	}
	pthread_mutex_unlock(&lu.lock);
	return 0;
}

static void lu_put(void)
{
	pthread_mutex_lock(&lu.lock);
	if (--lu.users) {
		pthread_mutex_unlock(&lu.lock);
		return;
	}
	lu.stop = true;
	pthread_mutex_unlock(&lu.lock);
	libusb_interrupt_event_handler(lu.ctx);
	pthread_join(lu.thread, NULL);
	libusb_exit(lu.ctx);
	lu.ctx = NULL;
}

/* ---- interfaces ---- */

static void release_all(struct host_dev *h)
{
	for (unsigned int i = 0; i < HOST_MAX_INTERFACES; i++)
		if (h->claimed[i]) {
			libusb_release_interface(h->handle, i);
			h->claimed[i] = false;
		}
}

/* claim every interface of the active configuration (detaching host drivers) */
static int claim_all(struct host_dev *h, char **err)
{
	struct libusb_config_descriptor *cfg;
	int r;

	r = libusb_get_active_config_descriptor(h->ldev, &cfg);
	if (r) {
		h->config = 0;
		h->nr_ifaces = 0;
		return 0;	/* unconfigured: nothing to claim */
	}
	h->config = cfg->bConfigurationValue;
	h->nr_ifaces = MIN(cfg->bNumInterfaces, (u8)HOST_MAX_INTERFACES);
	libusb_free_config_descriptor(cfg);
	for (unsigned int i = 0; i < h->nr_ifaces; i++) {
		r = libusb_claim_interface(h->handle, i);
		if (r) {
			release_all(h);
			return usb_err(err, "%s: cannot claim interface %u: %s; another program has it "
				       "(stop it), or dpvm may not detach its driver (run as root)",
				       h->path, i, libusb_strerror(r));
		}
		h->claimed[i] = true;
	}
	return 0;
}

/* ---- transfers ---- */

static int status_of(enum libusb_transfer_status s)
{
	switch (s) {
	case LIBUSB_TRANSFER_COMPLETED: return USB_RET_SUCCESS;
	case LIBUSB_TRANSFER_STALL: return USB_RET_STALL;
	case LIBUSB_TRANSFER_NO_DEVICE: return USB_RET_NODEV;
	case LIBUSB_TRANSFER_OVERFLOW: return USB_RET_BABBLE;
	case LIBUSB_TRANSFER_CANCELLED: return USB_RET_CANCELLED;
	default: return USB_RET_IOERROR;
	}
}

static void xfer_done(struct libusb_transfer *t)
{
	struct host_xfer *x = t->user_data;
	struct host_dev *h = x->h;
	struct usb_packet *p = x->p;
	bool nodev = t->status == LIBUSB_TRANSFER_NO_DEVICE;

	p->status = status_of(t->status);
	if (x->ctrl) {
		p->actual = MIN((u32)MAX(t->actual_length, 0), p->len);
		if (p->in && p->actual)
			memcpy(p->buf, x->ctrl + LIBUSB_CONTROL_SETUP_SIZE, p->actual);
	} else if (t->type == LIBUSB_TRANSFER_TYPE_ISOCHRONOUS) {
		/* one packet (one TD): its own status and length count */
		if (t->status == LIBUSB_TRANSFER_COMPLETED)
			p->status = status_of(t->iso_packet_desc[0].status);
		p->actual = MIN(t->iso_packet_desc[0].actual_length, p->len);
	} else {
		p->actual = MIN((u32)MAX(t->actual_length, 0), p->len);
	}
	pthread_mutex_lock(&h->lock);
	for (struct host_xfer **pp = &h->xfers; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	h->completed++;
	if (p->status && p->status != USB_RET_CANCELLED && p->status != USB_RET_STALL)
		h->errors++;
	if (!h->xfers)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	free(x->ctrl);
	libusb_free_transfer(t);
	free(x);
	usb__complete(p);
	if (nodev && !h->gone) {
		h->gone = true;
		usb__unplug(&h->dev, "the host unplugged it (a transfer found no device)");
	}
}

static int submit(struct host_dev *h, struct usb_packet *p)
{
	struct host_xfer *x = xzalloc(sizeof(*x));
	/* an isochronous TD is one packet of one service interval */
	struct libusb_transfer *t = libusb_alloc_transfer(p->type == USB_XFER_ISO ? 1 : 0);
	u8 ep = p->ep | (p->in ? LIBUSB_ENDPOINT_IN : 0);
	int r;

	if (!t) {
		free(x);
		return p->status = USB_RET_IOERROR;
	}
	x->t = t;
	x->p = p;
	x->h = h;
	switch (p->type) {
	case USB_XFER_CONTROL:
		x->ctrl = xzalloc(LIBUSB_CONTROL_SETUP_SIZE + p->len);
		libusb_fill_control_setup(x->ctrl, p->setup.bmRequestType, p->setup.bRequest,
					  p->setup.wValue, p->setup.wIndex, MIN(p->setup.wLength, p->len));
		if (!p->in && p->len)
			memcpy(x->ctrl + LIBUSB_CONTROL_SETUP_SIZE, p->buf, MIN(p->setup.wLength, p->len));
		libusb_fill_control_transfer(t, h->handle, x->ctrl, xfer_done, x,
					     HOST_CONTROL_TIMEOUT_MS);
		break;
	case USB_XFER_BULK:
		libusb_fill_bulk_transfer(t, h->handle, ep, p->buf, p->len, xfer_done, x, 0);
		break;
	case USB_XFER_INT:
		libusb_fill_interrupt_transfer(t, h->handle, ep, p->buf, p->len, xfer_done, x, 0);
		break;
	case USB_XFER_ISO:
		libusb_fill_iso_transfer(t, h->handle, ep, p->buf, p->len, 1, xfer_done, x, 0);
		libusb_set_iso_packet_lengths(t, p->len);
		break;
	}
	pthread_mutex_lock(&h->lock);
	r = libusb_submit_transfer(t);
	if (r) {
		pthread_mutex_unlock(&h->lock);
		free(x->ctrl);
		libusb_free_transfer(t);
		free(x);
		if (r == LIBUSB_ERROR_NO_DEVICE && !h->gone) {
			h->gone = true;
			usb__unplug(&h->dev, "the host unplugged it (libusb: no device)");
			return p->status = USB_RET_NODEV;
		}
		pr_warn_guest("%s: libusb refused a transfer on endpoint %#x: %s", h->dev.id, ep,
			      libusb_strerror(r));
		return p->status = r == LIBUSB_ERROR_PIPE ? USB_RET_STALL : USB_RET_IOERROR;
	}
	x->next = h->xfers;
	h->xfers = x;
	h->submitted++;
	pthread_mutex_unlock(&h->lock);
	return USB_RET_ASYNC;
}

/* the standard requests the kernel must see as calls, not raw control transfers */
static bool special_control(struct host_dev *h, struct usb_packet *p)
{
	const struct usb_setup *s = &p->setup;
	int r;

	p->actual = 0;
	if (s->bmRequestType == 0 && s->bRequest == USB_REQ_SET_CONFIGURATION) {
		char *err = NULL;

		if ((s->wValue & 0xff) == h->config && h->config) {
			p->status = USB_RET_SUCCESS;
			return true;
		}
		release_all(h);
		r = libusb_set_configuration(h->handle, s->wValue & 0xff);
		if (!r && claim_all(h, &err)) {
			pr_warn("%s: %s", h->dev.id, err);
			free(err);
		}
		p->status = r ? USB_RET_STALL : USB_RET_SUCCESS;
		return true;
	}
	if (s->bmRequestType == USB_RECIP_INTERFACE && s->bRequest == USB_REQ_SET_INTERFACE) {
		r = libusb_set_interface_alt_setting(h->handle, s->wIndex & 0xff, s->wValue & 0xff);
		p->status = r ? USB_RET_STALL : USB_RET_SUCCESS;
		return true;
	}
	if (s->bmRequestType == USB_RECIP_ENDPOINT && s->bRequest == USB_REQ_CLEAR_FEATURE &&
	    s->wValue == USB_FEATURE_ENDPOINT_HALT) {
		r = libusb_clear_halt(h->handle, s->wIndex & 0xff);
		p->status = r ? USB_RET_STALL : USB_RET_SUCCESS;
		return true;
	}
	if (s->bRequest == USB_REQ_SET_ADDRESS && s->bmRequestType == 0) {
		p->status = USB_RET_SUCCESS;	/* the host's stack addressed it */
		return true;
	}
	return false;
}

static int host_handle(struct usb_dev *d, struct usb_packet *p)
{
	struct host_dev *h = container_of(d, struct host_dev, dev);

	if (h->gone)
		return p->status = USB_RET_NODEV;
	if (p->ep || (p->setup.bmRequestType & USB_TYPE_MASK) != USB_TYPE_STANDARD ||
	    (p->setup.bRequest != USB_REQ_GET_DESCRIPTOR && p->setup.bRequest != USB_REQ_GET_STATUS))
		h->touched = true;
	if (p->ep == 0 && special_control(h, p))
		return p->status;
	return submit(h, p);
}

static bool host_cancel(struct usb_dev *d, struct usb_packet *p)
{
	struct host_dev *h = container_of(d, struct host_dev, dev);

	pthread_mutex_lock(&h->lock);
	for (struct host_xfer *x = h->xfers; x; x = x->next)
		if (x->p == p)
			libusb_cancel_transfer(x->t);
	pthread_mutex_unlock(&h->lock);
	return false;	/* xfer_done completes it as cancelled */
}

static void cancel_all(struct host_dev *h)
{
	struct timespec ts;

	pthread_mutex_lock(&h->lock);
	for (struct host_xfer *x = h->xfers; x; x = x->next)
		libusb_cancel_transfer(x->t);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += HOST_DESTROY_WAIT_MS / 1000;
	while (h->xfers)
		if (pthread_cond_timedwait(&h->idle, &h->lock, &ts)) {
			pr_warn("%s: transfers did not end within %d s of being cancelled", h->dev.id,
				HOST_DESTROY_WAIT_MS / 1000);
			break;
		}
	pthread_mutex_unlock(&h->lock);
}

static void host_reset(struct usb_dev *d)
{
	struct host_dev *h = container_of(d, struct host_dev, dev);
	int r;

	/* a device just claimed is as the host left it: the reset of the
	 * guest's enumeration would only make the host enumerate it again if
	 * it answered late (as QEMU's usb-host, which passes only the resets
	 * of a device the guest has used) */
	if (h->gone || !h->touched)
		return;
	h->touched = false;
	r = libusb_reset_device(h->handle);
	if (r == LIBUSB_ERROR_NOT_FOUND || r == LIBUSB_ERROR_NO_DEVICE) {
		h->gone = true;
		usb__unplug(&h->dev, "it re-enumerated on the host after a reset");
	} else if (r) {
		pr_debug("%s: reset: %s", d->id, libusb_strerror(r));
	}
}

static void host_status(struct usb_dev *d, json_object *o)
{
	struct host_dev *h = container_of(d, struct host_dev, dev);
	char buf[16];

	json_object_object_add(o, "host-path", json_object_new_string(h->path));
	snprintf(buf, sizeof(buf), "%03u/%03u", h->bus, h->addr);
	json_object_object_add(o, "host-address", json_object_new_string(buf));
	pthread_mutex_lock(&h->lock);
	json_object_object_add(o, "transfers", json_object_new_int64(h->submitted));
	json_object_object_add(o, "in-flight", json_object_new_int64(h->submitted - h->completed));
	json_object_object_add(o, "errors", json_object_new_int64(h->errors));
	pthread_mutex_unlock(&h->lock);
}

static void host_destroy(struct usb_dev *d)
{
	struct host_dev *h = container_of(d, struct host_dev, dev);

	pthread_mutex_lock(&lu.lock);
	for (struct host_dev **pp = &lu.devs; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	pthread_mutex_unlock(&lu.lock);
	cancel_all(h);
	/* giving the interfaces back reattaches the host's drivers */
	release_all(h);
	libusb_close(h->handle);
	libusb_unref_device(h->ldev);
	pr_info("%s: %s (%04x:%04x) given back to the host", d->id ? d->id : "usb-host", h->path,
		d->vendor, d->product);
	lu_put();
	free(h->dev.id);
	free(h);
}

static const struct usb_dev_ops host_ops = {
	.kind = "host",
	.handle = host_handle,
	.cancel = host_cancel,
	.reset = host_reset,
	.status = host_status,
	.destroy = host_destroy,
};

/* ---- finding the device ---- */

/* "1-2.3" for a libusb device */
static void dev_path(libusb_device *dev, char *out, size_t len)
{
	u8 ports[8];
	int n = libusb_get_port_numbers(dev, ports, sizeof(ports));
	size_t o;

	o = snprintf(out, len, "%u", libusb_get_bus_number(dev));
	if (n <= 0) {
		snprintf(out + o, len - o, "-0");
		return;
	}
	for (int i = 0; i < n && o < len; i++)
		o += snprintf(out + o, len - o, "%c%u", i ? '.' : '-', ports[i]);
}

static enum usb_speed speed_of(int s)
{
	switch (s) {
	case LIBUSB_SPEED_LOW: return USB_SPEED_LOW;
	case LIBUSB_SPEED_FULL: return USB_SPEED_FULL;
	case LIBUSB_SPEED_HIGH: return USB_SPEED_HIGH;
	default: return USB_SPEED_SUPER;
	}
}

int usb_host__parse_id(const char *s, u16 *vendor, u16 *product)
{
	unsigned int v, p;
	int n = 0;

	if (sscanf(s, "%4x:%4x%n", &v, &p, &n) != 2 || s[n] || strlen(s) != 9)
		return -1;
	*vendor = v;
	*product = p;
	return 0;
}

int usb_host__parse_path(const char *s)
{
	const char *c = s;

	if (!*c || strlen(s) >= 32)
		return -1;
	if (*c < '1' || *c > '9')
		return -1;
	while (*c >= '0' && *c <= '9')
		c++;
	if (*c++ != '-')
		return -1;
	for (;;) {
		if (*c < '1' || *c > '9')
			return -1;
		while (*c >= '0' && *c <= '9')
			c++;
		if (!*c)
			return 0;
		if (*c++ != '.')
			return -1;
	}
}

static int host_parse(json_object *b, void **priv, char **err)
{
	static const char *const keys[] = { "device", "path", NULL };
	struct host_params *p = xzalloc(sizeof(*p));
	const char *id, *path;

	*priv = p;
	if (usb_opt_keys(b, keys, err) || usb_opt_string(b, "device", false, &id, err) ||
	    usb_opt_string(b, "path", false, &path, err))
		return -1;
	if (!id == !path)
		return usb_err(err, "give the host device either as device=VENDOR:PRODUCT (e.g. "
			       "0781:5567) or as path=BUS-PORT[.PORT...] (e.g. 1-2.3); see "
			       "`dpvm host usb list`");
	if (id && usb_host__parse_id(id, &p->vendor, &p->product))
		return usb_err(err, "device '%s' is not VENDOR:PRODUCT in hex, e.g. 0781:5567", id);
	if (path) {
		if (usb_host__parse_path(path))
			return usb_err(err, "path '%s' is not BUS-PORT[.PORT...], e.g. 1-2 or 3-1.4", path);
		p->by_path = true;
		snprintf(p->path, sizeof(p->path), "%s", path);
	}
	return 0;
}

static int host_create(struct vm *vm __unused, const char *id, void *priv, struct usb_dev **out,
		       char **err)
{
	struct host_params *p = priv;
	struct host_dev *h;
	libusb_device **list, *found = NULL;
	struct libusb_device_descriptor dd;
	char path[32], want[48];
	ssize_t n;
	int r;

	if (lu_get(err))
		return -ENODEV;
	n = libusb_get_device_list(lu.ctx, &list);
	for (ssize_t i = 0; i < n && !found; i++) {
		if (libusb_get_device_descriptor(list[i], &dd) || dd.bDeviceClass == LIBUSB_CLASS_HUB)
			continue;
		dev_path(list[i], path, sizeof(path));
		if (p->by_path ? !strcmp(path, p->path) :
		    dd.idVendor == p->vendor && dd.idProduct == p->product)
			found = libusb_ref_device(list[i]);
	}
	if (n >= 0)
		libusb_free_device_list(list, 1);
	if (p->by_path)
		snprintf(want, sizeof(want), "at %s", p->path);
	else
		snprintf(want, sizeof(want), "%04x:%04x", p->vendor, p->product);
	if (!found) {
		lu_put();
		return usb_err(err, "no USB device %s on this host; see `dpvm host usb list`", want),
		       -ENODEV;
	}
	h = xzalloc(sizeof(*h));
	h->ldev = found;
	dev_path(found, h->path, sizeof(h->path));
	h->bus = libusb_get_bus_number(found);
	h->addr = libusb_get_device_address(found);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);
	libusb_get_device_descriptor(found, &dd);
	r = libusb_open(found, &h->handle);
	if (r) {
		usb_err(err, "cannot open USB device %s (%s): %s%s", want, h->path, libusb_strerror(r),
			r == LIBUSB_ERROR_ACCESS ? "; run dpvm as root or give it /dev/bus/usb access" : "");
		goto err_free;
	}
	libusb_set_auto_detach_kernel_driver(h->handle, 1);
	if (claim_all(h, err))
		goto err_close;
	h->dev.ops = &host_ops;
	h->dev.backing = "host";
	h->dev.migratable = false;
	h->dev.speed = speed_of(libusb_get_device_speed(found));
	h->dev.vendor = dd.idVendor;
	h->dev.product = dd.idProduct;
	{
		char name[256];
		int l = dd.iProduct ? libusb_get_string_descriptor_ascii(h->handle, dd.iProduct,
									(u8 *)name, sizeof(name)) : 0;

		if (l > 0)
			snprintf(h->dev.product_name, sizeof(h->dev.product_name), "%.*s", l, name);
	}
	pthread_mutex_lock(&lu.lock);
	h->next = lu.devs;
	lu.devs = h;
	pthread_mutex_unlock(&lu.lock);
	pr_info("%s: host USB device %04x:%04x at %s (bus %u address %u) claimed", id, dd.idVendor,
		dd.idProduct, h->path, h->bus, h->addr);
	*out = &h->dev;
	return 0;

err_close:
	libusb_close(h->handle);
err_free:
	libusb_unref_device(found);
	free(h);
	lu_put();
	return -EIO;
}

static struct usb_kind host_kind = {
	.name = "host", .parse = host_parse, .create = host_create,
};
usb_kind(host_kind);
