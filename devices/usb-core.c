// SPDX-License-Identifier: GPL-2.0
/*
 * Virtual USB: the pieces every device shares (devices/usb.h).
 *
 *   - standard requests answered from descriptors, for emulated devices
 *   - the VM's xHCI controller, created when the configuration has a USB
 *     entry, and the devices plugged into it
 *   - configuration: the device types usb-controller, usb-keyboard,
 *     usb-tablet, usb-storage, usb-host, usb-remote-host, usb-remote-client
 *     (each with a "backing" object where it has one) and the --usb flag
 *   - `dpvm ctl NAME usb list | attach KIND [KEY=VALUE...] | detach ID`
 *   - each device's facts in `ctl status`, and a lifecycle blocker for the
 *     backings that cannot move with the VM (a device of this host)
 */
#include "devices/usb-kind.h"
#include "devices/xhci.h"
#include "vmm/api.h"
#include "vmm/config.h"
#include "vmm/evloop.h"
#include "vmm/lifecycle.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define USB_MAX_DEVICES		XHCI_NR_PORTS

/* ---- standard requests ---- */

void usb_packet__reply(struct usb_packet *p, const void *data, size_t len)
{
	size_t n = MIN(len, (size_t)p->len);

	if (n)
		memcpy(p->buf, data, n);
	p->actual = n;
	p->status = USB_RET_SUCCESS;
}

unsigned int usb_desc__string(const char *s, u8 *buf, unsigned int len)
{
	unsigned int n = 2;

	for (; *s && n + 2 <= len && n + 2 <= 254; s++) {
		buf[n++] = (u8)*s;
		buf[n++] = 0;
	}
	buf[0] = n;
	buf[1] = USB_DT_STRING;
	return n;
}

static unsigned int ep_index(u16 wIndex)
{
	return (wIndex & 0xf) | ((wIndex & USB_DIR_IN) ? 0x10 : 0);
}

bool usb_desc__handle_std(const struct usb_desc *desc, struct usb_std *std, struct usb_packet *p)
{
	const struct usb_setup *s = &p->setup;
	u8 type = s->bmRequestType & USB_TYPE_MASK, recip = s->bmRequestType & USB_RECIP_MASK;
	u8 buf[256];
	u8 cfgval = desc->config[5];

	if (type != USB_TYPE_STANDARD)
		return false;
	p->actual = 0;
	p->status = USB_RET_SUCCESS;
	switch (s->bRequest) {
	case USB_REQ_GET_DESCRIPTOR: {
		u8 dt = s->wValue >> 8, idx = s->wValue & 0xff;

		if (!(s->bmRequestType & USB_DIR_IN) || recip != USB_RECIP_DEVICE)
			return false;	/* HID's class descriptors go to the device */
		switch (dt) {
		case USB_DT_DEVICE:
			usb_packet__reply(p, desc->device, desc->device[0]);
			return true;
		case USB_DT_CONFIG:
			if (idx != 0)
				break;
			usb_packet__reply(p, desc->config, desc->config[2] | desc->config[3] << 8);
			return true;
		case USB_DT_BOS:
			if (!desc->bos)
				break;
			usb_packet__reply(p, desc->bos, desc->bos[2] | desc->bos[3] << 8);
			return true;
		case USB_DT_STRING:
			if (idx == 0) {
				static const u8 langs[4] = { 4, USB_DT_STRING, 0x09, 0x04 };

				usb_packet__reply(p, langs, sizeof(langs));
				return true;
			}
			if (desc->serial && idx == desc->serial_index) {
				usb_packet__reply(p, buf, usb_desc__string(desc->serial, buf, sizeof(buf)));
				return true;
			}
			if (idx > desc->nr_strings || !desc->strings[idx - 1])
				break;
			usb_packet__reply(p, buf, usb_desc__string(desc->strings[idx - 1], buf, sizeof(buf)));
			return true;
		}
		p->status = USB_RET_STALL;
		return true;
	}
	case USB_REQ_SET_ADDRESS:
		return true;	/* the controller did it */
	case USB_REQ_GET_CONFIGURATION:
		usb_packet__reply(p, &std->config, 1);
		return true;
	case USB_REQ_SET_CONFIGURATION:
		if ((s->wValue & 0xff) != 0 && (s->wValue & 0xff) != cfgval) {
			p->status = USB_RET_STALL;
			return true;
		}
		std->config = s->wValue & 0xff;
		memset(std->alt, 0, sizeof(std->alt));
		memset(std->halted, 0, sizeof(std->halted));
		return true;
	case USB_REQ_GET_INTERFACE:
		if (!std->config || s->wIndex >= ARRAY_SIZE(std->alt)) {
			p->status = USB_RET_STALL;
			return true;
		}
		usb_packet__reply(p, &std->alt[s->wIndex], 1);
		return true;
	case USB_REQ_SET_INTERFACE:
		/* every interface has one alternate setting */
		if (!std->config || s->wValue != 0 || s->wIndex >= ARRAY_SIZE(std->alt))
			p->status = USB_RET_STALL;
		return true;
	case USB_REQ_GET_STATUS: {
		u8 st[2] = { 0, 0 };

		if (recip == USB_RECIP_DEVICE)
			st[0] = (desc->config[7] & 0x40 ? 1 : 0) | (std->remote_wakeup ? 2 : 0);
		else if (recip == USB_RECIP_ENDPOINT)
			st[0] = std->halted[ep_index(s->wIndex)];
		usb_packet__reply(p, st, 2);
		return true;
	}
	case USB_REQ_CLEAR_FEATURE:
	case USB_REQ_SET_FEATURE: {
		bool set = s->bRequest == USB_REQ_SET_FEATURE;

		if (recip == USB_RECIP_DEVICE && s->wValue == USB_FEATURE_REMOTE_WAKEUP)
			std->remote_wakeup = set;
		else if (recip == USB_RECIP_ENDPOINT && s->wValue == USB_FEATURE_ENDPOINT_HALT)
			std->halted[ep_index(s->wIndex)] = set;
		/* U1/U2 enables, function suspend: accepted, nothing to do */
		return true;
	}
	case USB_REQ_SET_SEL:
	case USB_REQ_SET_ISOCH_DELAY:
		return true;
	}
	return false;
}

/* ---- device kinds ---- */

static struct usb_kind *kinds;

void usb_kind__register(struct usb_kind *k)
{
	k->next = kinds;
	kinds = k;
}

static struct usb_kind *kind_find(const char *name)
{
	for (struct usb_kind *k = kinds; k; k = k->next)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

int usb_err(char **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return -1;
}

/* ---- the VM's devices ---- */

struct usb_entry {
	struct vm_device vd;
	struct usb_dev *dev;
	struct usb_kind *kind;
	void *priv;
	char *id;
	bool from_config;
	bool unplugged;		/* the backing went away; the entry waits for removal */
	/* a persistent device: what its backing wants, and when it last said so */
	bool want_present;
	unsigned int gen, done_gen;
	char why[128];
	struct usb_entry *next;
};

static struct {
	pthread_mutex_t lock;	/* the list; taken outside the controller's lock */
	struct vm *vm;
	struct xhci *x;
	struct usb_entry *entries;
	int unplug_fd;		/* eventfd: usb__unplug asks the main thread */
} usb = { .lock = PTHREAD_MUTEX_INITIALIZER, .unplug_fd = -1 };

struct xhci *usb__controller(struct vm *vm __unused)
{
	return usb.x;
}

static json_object *entry_json(struct usb_entry *e)
{
	json_object *o = json_object_new_object();
	struct usb_dev *d = e->dev;
	static const char *const speeds[] = { "low", "full", "high", "super" };
	char buf[16];

	json_object_object_add(o, "name", json_object_new_string(e->id));
	json_object_object_add(o, "type", json_object_new_string("usb"));
	json_object_object_add(o, "kind", json_object_new_string(e->kind->name));
	if (!d) {
		json_object_object_add(o, "state", json_object_new_string("unplugged"));
		json_object_object_add(o, "reason", json_object_new_string(e->why));
		return o;
	}
	json_object_object_add(o, "state", json_object_new_string(
		d->port ? "plugged" : d->persistent ? "waiting for its peer" : "unplugged"));
	json_object_object_add(o, "backing", json_object_new_string(d->backing));
	json_object_object_add(o, "migratable", json_object_new_boolean(d->migratable));
	json_object_object_add(o, "port", json_object_new_int(d->port));
	json_object_object_add(o, "speed", json_object_new_string(speeds[d->speed & 3]));
	snprintf(buf, sizeof(buf), "%04x:%04x", d->vendor, d->product);
	json_object_object_add(o, "id", json_object_new_string(buf));
	if (d->product_name[0])
		json_object_object_add(o, "product", json_object_new_string(d->product_name));
	if (d->ops->status)
		d->ops->status(d, o);
	return o;
}

static json_object *entry_status(struct vm_device *vd)
{
	return entry_json(container_of(vd, struct usb_entry, vd));
}

/* unplug from the guest, destroy the device; the entry stays */
static void entry_unplug(struct usb_entry *e)
{
	struct usb_dev *d = e->dev;

	if (!d)
		return;
	xhci__detach(usb.x, d);
	e->dev = NULL;
	d->ops->destroy(d);
	xhci__forget(usb.x, d);
}

static void entry_free(struct usb_entry *e)
{
	entry_unplug(e);
	if (e->kind->release && e->priv)
		e->kind->release(e->priv);
	free(e->priv);
	free(e->id);
	free(e);
}

static void entry_remove(struct vm_device *vd)
{
	struct usb_entry *e = container_of(vd, struct usb_entry, vd);

	pthread_mutex_lock(&usb.lock);
	for (struct usb_entry **pp = &usb.entries; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	pthread_mutex_unlock(&usb.lock);
	vm__remove_device(usb.vm, &e->vd);
	entry_free(e);
}

/* create the device of an entry and plug it in; -errno with *err */
static int entry_create(struct vm *vm, struct usb_kind *k, const char *id, void *priv,
			bool from_config, struct usb_entry **out, char **err)
{
	struct usb_entry *e;
	struct usb_dev *d = NULL;
	int ret;

	if (!usb.x)
		return usb_err(err, "there is no USB controller; start the VM with --usb controller "
			       "(or any --usb device)"), -ENODEV;
	ret = k->create(vm, id, priv, &d, err);
	if (ret)
		return ret;
	d->id = xstrdup(id);
	ret = d->persistent ? 0 : xhci__attach(usb.x, d);
	if (ret < 0) {
		usb_err(err, "%s: no free %s port on the USB controller (%d USB 2 and %d USB 3 ports); "
			"detach a device first", id, d->speed == USB_SPEED_SUPER ? "USB 3" : "USB 2",
			XHCI_NR_PORTS_USB2, XHCI_NR_PORTS_USB3);
		d->ops->destroy(d);
		return ret;
	}
	e = xzalloc(sizeof(*e));
	e->dev = d;
	e->kind = k;
	e->priv = priv;
	e->id = xstrdup(id);
	e->from_config = from_config;
	e->vd.name = e->id;
	e->vd.status = entry_status;
	e->vd.remove = entry_remove;
	pthread_mutex_lock(&usb.lock);
	e->next = usb.entries;
	usb.entries = e;
	/* a peer that was quicker than this entry */
	if (d->persistent && d->want_present) {
		u64 one = 1;

		e->want_present = true;
		e->gen++;
		if (usb.unplug_fd >= 0 && write(usb.unplug_fd, &one, sizeof(one)) < 0)
			pr_debug("usb: plug: %s", strerror(errno));
	}
	pthread_mutex_unlock(&usb.lock);
	vm__add_device(vm, &e->vd);
	if (d->port)
		pr_info("usb: %s (%s, %04x:%04x) plugged into port %d", id, k->name, d->vendor,
			d->product, d->port);
	*out = e;
	return 0;
}

/* the backing went away: the main thread unplugs it (usb__unplug) */
void usb__unplug(struct usb_dev *d, const char *why)
{
	u64 one = 1;

	pthread_mutex_lock(&usb.lock);
	d->want_present = false;
	for (struct usb_entry *e = usb.entries; e; e = e->next) {
		if (e->dev != d)
			continue;
		snprintf(e->why, sizeof(e->why), "%s", why);
		if (d->persistent) {
			e->want_present = false;
			e->gen++;
		} else {
			e->unplugged = true;
		}
	}
	pthread_mutex_unlock(&usb.lock);
	if (usb.unplug_fd >= 0 && write(usb.unplug_fd, &one, sizeof(one)) < 0)
		pr_debug("usb: unplug: %s", strerror(errno));
}

void usb__plug(struct usb_dev *d)
{
	u64 one = 1;

	pthread_mutex_lock(&usb.lock);
	d->want_present = true;
	for (struct usb_entry *e = usb.entries; e; e = e->next)
		if (e->dev == d) {
			e->want_present = true;
			e->gen++;
		}
	pthread_mutex_unlock(&usb.lock);
	if (usb.unplug_fd >= 0 && write(usb.unplug_fd, &one, sizeof(one)) < 0)
		pr_debug("usb: plug: %s", strerror(errno));
}

/* a persistent device's backing changed its mind: unplug, then plug if it
 * is there (a quick disconnect and reconnect is both, in that order) */
static void persistent_update(struct usb_entry *e)
{
	struct usb_dev *d = e->dev;
	bool want;
	int port;

	pthread_mutex_lock(&usb.lock);
	want = e->want_present;
	e->done_gen = e->gen;
	pthread_mutex_unlock(&usb.lock);
	if (d->port) {
		pr_warn("usb: %s (%04x:%04x) unplugged from the guest: %s", e->id, d->vendor, d->product,
			e->why);
		xhci__detach(usb.x, d);
	}
	if (!want)
		return;
	port = xhci__attach(usb.x, d);
	if (port < 0)
		pr_warn("usb: %s: no free %s port for the device its peer offers; detach a device",
			e->id, d->speed == USB_SPEED_SUPER ? "USB 3" : "USB 2");
	else
		pr_info("usb: %s (%s, %04x:%04x) plugged into port %d", e->id, e->kind->name, d->vendor,
			d->product, port);
}

static void unplug_pending(int fd, u32 events __unused, void *opaque __unused)
{
	u64 n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	for (;;) {
		struct usb_entry *e = NULL;

		pthread_mutex_lock(&usb.lock);
		for (e = usb.entries; e; e = e->next)
			if (e->dev && (e->unplugged || e->gen != e->done_gen))
				break;
		pthread_mutex_unlock(&usb.lock);
		if (!e)
			return;
		if (e->unplugged) {
			pr_warn("usb: %s unplugged from the guest: %s", e->id, e->why);
			entry_unplug(e);
		} else {
			persistent_update(e);
		}
	}
}

/* ---- configuration ---- */

struct usb_config {
	struct usb_kind *kind;
	void *priv;
};

static int usb_validate(struct device_config *dc)
{
	static const char *const keys[] = { "type", "id", "backing", NULL };
	struct usb_config *c = xzalloc(sizeof(*c));
	json_object *backing = NULL;
	char *err = NULL;

	dc->priv = c;
	if (config__check_keys(dc->obj, dc->where, keys))
		return -1;
	c->kind = kind_find(dc->type + 4);
	if (!c->kind) {
		pr_err("%s: USB device kind '%s' is not built into this dpvm", dc->where, dc->type + 4);
		return -1;
	}
	json_object_object_get_ex(dc->obj, "backing", &backing);
	if (backing && !json_object_is_type(backing, json_type_object)) {
		pr_err("%s.backing: expected an object, e.g. {\"path\": \"disk.img\"}", dc->where);
		return -1;
	}
	if (c->kind->parse(backing, &c->priv, &err)) {
		/* a flag's options are the backing; a config entry names the key */
		pr_err("%s%s: %s", dc->where, dc->where[0] == '-' ? "" : ".backing",
		       err ? err : "invalid");
		free(err);
		return -1;
	}
	return 0;
}

static void usb_release(struct device_config *dc)
{
	struct usb_config *c = dc->priv;

	if (c && c->priv) {
		if (c->kind->release)
			c->kind->release(c->priv);
		free(c->priv);
		c->priv = NULL;
	}
}

static int usb_create(struct vm *vm, struct device_config *dc)
{
	struct usb_config *c = dc->priv;
	struct usb_entry *e;
	char *err = NULL;
	int ret;

	ret = entry_create(vm, c->kind, dc->id, c->priv, true, &e, &err);
	if (ret) {
		pr_err("%s: %s", dc->where, err ? err : strerror(-ret));
		free(err);
		return ret;
	}
	c->priv = NULL;		/* the entry owns it now */
	dc->vd = &e->vd;
	return 0;
}

static int controller_validate(struct device_config *dc)
{
	static const char *const keys[] = { "type", "id", NULL };

	for (struct device_config *o = dc - dc->index; o < dc; o++)
		if (!strcmp(o->type, "usb-controller")) {
			pr_err("%s: a second USB controller (%s has one); one is enough", dc->where,
			       o->where);
			return -1;
		}
	return config__check_keys(dc->obj, dc->where, keys);
}

/* the controller is created by usb__init (below) */
static int controller_create(struct vm *vm __unused, struct device_config *dc __unused)
{
	return 0;
}

/*
 * --usb KIND[,KEY=VALUE...]: KIND is controller, keyboard, tablet, storage,
 * host, remote-host or remote-client; id=ID names the device, a bare word
 * such as "ro" is KEY=true, the rest goes into the backing.
 */
static json_object *usb_from_flag(const char *value, const char *where)
{
	json_object *o = json_object_new_object(), *b = json_object_new_object();
	char *dup = xstrdup(value), *save = NULL, *tok, type[64];

	tok = strtok_r(dup, ",", &save);
	if (!tok || !*tok) {
		pr_err("%s: give a device kind, e.g. --usb keyboard, --usb storage,path=disk.img", where);
		goto err;
	}
	if (strcmp(tok, "controller") && !kind_find(tok)) {
		pr_err("%s %s: '%s' is not a USB device kind; use controller, keyboard, tablet, "
		       "storage, host, remote-host or remote-client", where, value, tok);
		goto err;
	}
	snprintf(type, sizeof(type), "usb-%s", tok);
	json_object_object_add(o, "type", json_object_new_string(type));
	for (tok = strtok_r(NULL, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == tok) {
			pr_err("%s %s: '%s' has no key; give KEY=VALUE", where, value, tok);
			goto err;
		}
		if (!eq) {
			json_object_object_add(b, tok, json_object_new_boolean(true));
			continue;
		}
		*eq = 0;
		json_object_object_add(!strcmp(tok, "id") ? o : b, tok, json_object_new_string(eq + 1));
	}
	if (json_object_object_length(b))
		json_object_object_add(o, "backing", b);
	else
		json_object_put(b);
	free(dup);
	return o;
err:
	free(dup);
	json_object_put(b);
	json_object_put(o);
	return NULL;
}

static struct device_type controller_type = {
	.name = "usb-controller",
	.validate = controller_validate,
	.create = controller_create,
	.flag = "usb",
	.flag_arg = "KIND[,KEY=VALUE...]",
	.flag_help = "a USB device on the xHCI controller: controller, keyboard, tablet, "
		     "storage,path=FILE[,ro], host,device=VID:PID|path=BUS-PORT, "
		     "remote-client,listen=ADDR:PORT, remote-host,server=HOST[:PORT],busid=B "
		     "(docs/usb.md)",
	.from_flag = usb_from_flag,
};
device_type_register(controller_type);

#define USB_DEVICE_TYPE(var, tname)					\
	static struct device_type var = {				\
		.name = tname, .validate = usb_validate,		\
		.create = usb_create, .release = usb_release,		\
	};								\
	device_type_register(var)

USB_DEVICE_TYPE(usb_keyboard_type, "usb-keyboard");
USB_DEVICE_TYPE(usb_tablet_type, "usb-tablet");
USB_DEVICE_TYPE(usb_storage_type, "usb-storage");
USB_DEVICE_TYPE(usb_host_type, "usb-host");
USB_DEVICE_TYPE(usb_remote_host_type, "usb-remote-host");
USB_DEVICE_TYPE(usb_remote_client_type, "usb-remote-client");

/* ---- the controller's life ---- */

static int usb__init(struct vm *vm)
{
	struct vm_config *cfg = vm->cfg;
	bool want = false;
	int ret;

	for (unsigned int i = 0; i < cfg->nr_devices; i++)
		want |= !strncmp(cfg->devices[i].type, "usb-", 4);
	usb.vm = vm;
	if (!want)
		return 0;
	ret = xhci__create(vm, "xhci", &usb.x);
	if (ret) {
		pr_err("usb: cannot create the xHCI controller: %s", strerror(-ret));
		return ret;
	}
	usb.unplug_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (usb.unplug_fd >= 0)
		evloop__add(vm->loop, usb.unplug_fd, EPOLLIN, unplug_pending, NULL);
	return 0;
}

static void usb__exit(struct vm *vm)
{
	/* what `ctl usb attach` added; the config's entries are gone already */
	for (;;) {
		struct usb_entry *e;

		pthread_mutex_lock(&usb.lock);
		e = usb.entries;
		if (e)
			usb.entries = e->next;
		pthread_mutex_unlock(&usb.lock);
		if (!e)
			break;
		vm__remove_device(vm, &e->vd);
		entry_free(e);
	}
	if (usb.unplug_fd >= 0) {
		evloop__del(vm->loop, usb.unplug_fd);
		close(usb.unplug_fd);
		usb.unplug_fd = -1;
	}
	if (usb.x) {
		xhci__destroy(usb.x);
		usb.x = NULL;
	}
	usb.vm = NULL;
}
/* registered before vmm/devices.c (link order), so it runs before the
 * config's devices are created and exits after they are removed */
vm_initcall(INIT_DEVICE, usb__init, usb__exit, NULL);

/* ---- management commands ---- */

static int cmd_usb_list(json_object **ret)
{
	json_object *o = json_object_new_object(), *devs = json_object_new_array();

	if (!usb.x) {
		json_object_object_add(o, "controller", NULL);
	} else {
		json_object_object_add(o, "controller", xhci__status(usb.x));
	}
	pthread_mutex_lock(&usb.lock);
	for (struct usb_entry *e = usb.entries; e; e = e->next)
		json_object_array_add(devs, entry_json(e));
	pthread_mutex_unlock(&usb.lock);
	json_object_object_add(o, "devices", devs);
	*ret = o;
	return 0;
}

static struct usb_entry *entry_find(const char *id)
{
	struct usb_entry *e;

	pthread_mutex_lock(&usb.lock);
	for (e = usb.entries; e; e = e->next)
		if (!strcmp(e->id, id))
			break;
	pthread_mutex_unlock(&usb.lock);
	return e;
}

static int cmd_usb_attach(struct vm *vm, json_object *args, json_object *words, json_object **ret,
			  char **err)
{
	json_object *backing = json_object_new_object();
	const char *kname, *id = NULL;
	struct usb_kind *k;
	struct usb_entry *e;
	char idbuf[32], *perr = NULL;
	void *priv = NULL;
	int r;

	if (json_object_array_length(words) != 2) {
		json_object_put(backing);
		return api__error(err, "usb attach: give one kind (keyboard, tablet, storage, host, "
				  "remote-host, remote-client) and KEY=VALUE options, e.g. "
				  "usb attach storage path=/var/lib/d.img");
	}
	kname = json_object_get_string(json_object_array_get_idx(words, 1));
	k = kind_find(kname);
	if (!k) {
		json_object_put(backing);
		return api__error(err, "usb attach: '%s' is not a USB device kind; use keyboard, tablet, "
				  "storage, host, remote-host or remote-client", kname);
	}
	json_object_object_foreach(args, key, val) {
		if (!strcmp(key, "args"))
			continue;
		if (!strcmp(key, "id")) {
			id = json_object_get_string(val);
			continue;
		}
		json_object_object_add(backing, key, json_object_get(val));
	}
	if (id && entry_find(id)) {
		json_object_put(backing);
		return api__error(err, "usb attach: id '%s' is taken; give another id=", id);
	}
	for (unsigned int i = 0; !id && i < 1000; i++) {
		snprintf(idbuf, sizeof(idbuf), "usb-%s%u", kname, i);
		if (!entry_find(idbuf))
			id = idbuf;
	}
	for (unsigned int i = 0; id && i < vm->cfg->nr_devices; i++)
		if (!strcmp(vm->cfg->devices[i].id, id)) {
			json_object_put(backing);
			return api__error(err, "usb attach: id '%s' is a configured device's; give "
					  "another id=", id);
		}
	r = k->parse(backing, &priv, &perr);
	json_object_put(backing);
	if (r) {
		api__error(err, "usb attach %s: %s", kname, perr ? perr : "invalid options");
		free(perr);
		if (priv && k->release)
			k->release(priv);
		free(priv);
		return -1;
	}
	r = entry_create(vm, k, id, priv, false, &e, &perr);
	if (r) {
		api__error(err, "usb attach %s: %s", kname, perr ? perr : strerror(-r));
		free(perr);
		if (priv && k->release)
			k->release(priv);
		free(priv);
		return -1;
	}
	*ret = entry_json(e);
	return 0;
}

static int cmd_usb_detach(struct vm *vm __unused, json_object *words, json_object **ret, char **err)
{
	struct usb_entry *e;
	const char *id;

	if (json_object_array_length(words) != 2)
		return api__error(err, "usb detach: give the device's id (see usb list)");
	id = json_object_get_string(json_object_array_get_idx(words, 1));
	e = entry_find(id);
	if (!e)
		return api__error(err, "usb detach: no USB device '%s'; see `usb list`", id);
	if (e->from_config) {
		/* the config entry stays (a reboot does not bring it back): unplug only */
		entry_unplug(e);
		snprintf(e->why, sizeof(e->why), "detached with `ctl usb detach`");
	} else {
		entry_remove(&e->vd);
	}
	*ret = json_object_new_object();
	json_object_object_add(*ret, "detached", json_object_new_string(id));
	return 0;
}

static int cmd_usb(struct vm *vm, json_object *args, json_object **ret, char **err)
{
	json_object *words = NULL;
	const char *sub;

	if (args && json_object_object_get_ex(args, "args", &words) &&
	    !json_object_is_type(words, json_type_array))
		words = NULL;
	if (!words || !json_object_array_length(words))
		return api__error(err, "usb: give list, attach KIND [KEY=VALUE...] or detach ID");
	sub = json_object_get_string(json_object_array_get_idx(words, 0));
	if (!strcmp(sub, "list"))
		return cmd_usb_list(ret);
	if (!strcmp(sub, "attach"))
		return cmd_usb_attach(vm, args, words, ret, err);
	if (!strcmp(sub, "detach"))
		return cmd_usb_detach(vm, words, ret, err);
	return api__error(err, "usb: unknown subcommand '%s'; use list, attach or detach", sub);
}

static struct api_command usb_cmd = {
	.name = "usb",
	.args_help = "list | attach KIND [KEY=VALUE...] | detach ID",
	.help = "the VM's USB devices: list them, plug one in, unplug one (docs/usb.md)",
	.handler = cmd_usb,
};
api_command(usb_cmd);

/* ---- lifecycle: a device of this host cannot move with the VM ---- */

static int usb_refuse(struct vm *vm __unused, const char *op, char **err)
{
	int r = 0;

	pthread_mutex_lock(&usb.lock);
	for (struct usb_entry *e = usb.entries; e && !r; e = e->next) {
		if (!e->dev || e->dev->migratable)
			continue;
		r = api__error(err, "%s is refused: USB device %s (%04x:%04x, backing %s) is a device "
			       "of this host, passed through; detach it first (dpvm ctl NAME usb detach "
			       "%s) or use a remote-host or remote-client backing", op, e->id,
			       e->dev->vendor, e->dev->product, e->dev->backing, e->id);
	}
	pthread_mutex_unlock(&usb.lock);
	return r;
}

static struct lifecycle_blocker usb_blocker = {
	.name = "usb",
	.refuse = usb_refuse,
};
lifecycle_blocker(usb_blocker);

/* ---- option helpers (devices/usb-kind.h) ---- */

int usb_opt_string(json_object *o, const char *key, bool required, const char **out, char **err)
{
	json_object *v;

	*out = NULL;
	if (!o || !json_object_object_get_ex(o, key, &v)) {
		if (required)
			return usb_err(err, "'%s' is missing", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int))
		return usb_err(err, "'%s' must be a string", key);
	*out = json_object_get_string(v);
	return 0;
}

int usb_opt_bool(json_object *o, const char *key, bool *out, char **err)
{
	json_object *v;
	const char *s;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		*out = json_object_get_boolean(v);
		return 0;
	}
	s = json_object_get_string(v);
	if (!strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return usb_err(err, "'%s' must be true or false, not '%s'", key, s);
}

int usb_opt_keys(json_object *o, const char *const *allowed, char **err)
{
	if (!o)
		return 0;
	json_object_object_foreach(o, k, v) {
		bool ok = false;

		(void)v;
		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(k, *a);
		if (!ok) {
			char list[256] = "";

			for (const char *const *a = allowed; *a; a++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 a == allowed ? "" : ", ", *a);
			return usb_err(err, "unknown option '%s'; the options are: %s", k,
				       *list ? list : "(none)");
		}
	}
	return 0;
}
