/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_USB_KIND_H
#define DPVM_USB_KIND_H

/*
 * A kind of USB device (keyboard, tablet, storage) or backing (host,
 * remote-host, remote-client): how its "backing" options are checked and
 * how a device is made from them.  Each kind's file registers one; the
 * config entries (usb-KIND), --usb KIND,... and `ctl usb attach KIND ...`
 * all go through the same two functions (devices/usb-core.c).
 */
#include "devices/usb.h"

struct json_object;
struct vm;

struct usb_kind {
	const char *name;
	/* check the options (backing may be NULL: none given); fill *priv
	 * (malloc'ed; freed by the caller after release); -1 with *err */
	int (*parse)(struct json_object *backing, void **priv, char **err);
	/* make the device (not yet plugged in); -errno with *err */
	int (*create)(struct vm *vm, const char *id, void *priv, struct usb_dev **out, char **err);
	/* free what parse put in priv besides priv itself; optional */
	void (*release)(void *priv);
	struct usb_kind *next;
};

void usb_kind__register(struct usb_kind *k);

#define usb_kind(k)							\
	static void __attribute__((constructor)) __usb_kind_##k(void)	\
	{								\
		usb_kind__register(&k);					\
	}

/* set *err to a formatted message (if err); returns -1 */
int usb_err(char **err, const char *fmt, ...) __printf(2, 3);

/* option helpers for parse: a string or a boolean; -1 with *err naming key */
int usb_opt_string(struct json_object *o, const char *key, bool required, const char **out,
		   char **err);
int usb_opt_bool(struct json_object *o, const char *key, bool *out, char **err);
/* only these keys; -1 with *err naming the stray one */
int usb_opt_keys(struct json_object *o, const char *const *allowed, char **err);

#endif
