/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_VNC_H
#define DPVM_VNC_H

#include "vmm/types.h"

#include <netinet/in.h>
#include <stddef.h>

/*
 * The VNC console (vmm/vnc.c): the guest's screen (devices/display.c) and
 * its keyboard and pointer (vmm/input.c) for any number of VNC viewers, on
 * libvncserver, on a thread of its own that never blocks a vCPU.
 *
 *   --vnc ADDR:PORT[,size=WxH][,password-file=FILE]
 *   --vnc-password-file FILE
 *   {"type": "vnc", "listen": "127.0.0.1:5900", "width": 1024, "height": 768,
 *    "password-file": "FILE"}
 *
 * The parsing below is exported for the unit tests and the fuzzer.
 */
struct vnc_listen {
	bool ipv6;
	struct in_addr addr;	/* IPv4 */
	char addr6[64];		/* IPv6, as libvncserver takes it */
	u16 port;
};

/*
 * "127.0.0.1:5900", ":5900" or "5900" (loopback), "localhost:5900",
 * "0.0.0.0:5900" or "*:5900" (every IPv4 address), "[::1]:5900".
 * 0, or -1 with a message (naming the fix) in err.
 */
int vnc__parse_listen(const char *s, struct vnc_listen *out, char *err, size_t errlen);

/* "1024x768": 0, or -1 with a message in err */
int vnc__parse_size(const char *s, unsigned int *w, unsigned int *h, char *err, size_t errlen);

/*
 * Where the viewers' pointer events go: NULL (the default) is the input
 * layer, every consumer (the PS/2 mouse); --vnc-input usb sets it to the
 * USB tablet's (devices/usb-hid.c).
 */
struct input_source;
struct input_pointer;
extern void (*vnc__pointer_hook)(struct input_source *src, const struct input_pointer *p);

/* a VNC password file's first line: 0, or -1 with a message in err */
#define VNC_PASSWORD_MAX	8	/* VNC authentication uses 8 bytes */
int vnc__parse_password(const char *buf, size_t len, char *pw, char *err, size_t errlen);

#endif
