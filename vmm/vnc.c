// SPDX-License-Identifier: GPL-2.0
/*
 * The VNC console; see vmm/vnc.h.  libvncserver speaks RFB; this file gives
 * it the guest's framebuffer (rows the guest changed, from the display's
 * dirty log), turns viewers' key and pointer events into input events, and
 * bounds what viewers can cost: 16 viewers at most, 5 s for a viewer that
 * stops reading, cut text ignored (libvncserver refuses more than 1 MiB),
 * and a pause after repeated wrong passwords.
 *
 * Every viewer shares the one screen; input from any of them reaches the
 * guest; keys a viewer holds are released when it goes away.  The server
 * starts listening only after every device exists (INIT_LATE), so the
 * password is in place before the first viewer can connect.
 */
#include "devices/display.h"
#include "vmm/config.h"
#include "vmm/input.h"
#include "vmm/keymap.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"
#include "vmm/vnc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <rfb/rfb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define VNC_MAX_CLIENTS		16
#define VNC_CLIENT_WAIT_MS	5000	/* a viewer that reads nothing this long is dropped */
#define VNC_POLL_US		10000	/* input is looked at this often */
#define VNC_FRAME_NS		(33 * 1000000ULL)	/* the screen, at most 30 times a second */
#define VNC_AUTH_FAILURES	5	/* wrong passwords in a row, then a pause */
#define VNC_AUTH_PAUSE_NS	(10 * 1000000000ULL)

/* ---- parsing ---- */

static int errf(char *err, size_t errlen, const char *fmt, ...) __printf(3, 4);
static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int vnc__parse_listen(const char *s, struct vnc_listen *out, char *err, size_t errlen)
{
	const char *colon, *port;
	char host[64];
	size_t hlen;
	u64 p;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return errf(err, errlen, "no address; give ADDR:PORT, e.g. 127.0.0.1:5900");
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return errf(err, errlen, "'%.64s' is not [IPv6]:PORT; e.g. [::1]:5900", s);
		hlen = end - s - 1;
		if (hlen >= sizeof(out->addr6))
			return errf(err, errlen, "the IPv6 address is too long");
		memcpy(host, s + 1, hlen);
		host[hlen] = 0;
		{
			struct in6_addr a6;

			if (inet_pton(AF_INET6, host, &a6) != 1)
				return errf(err, errlen, "'%s' is not an IPv6 address; e.g. [::1]:5900", host);
		}
		out->ipv6 = true;
		memcpy(out->addr6, host, hlen + 1);
		port = end + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			hlen = 0;
			port = s;
		} else {
			hlen = colon - s;
			port = colon + 1;
		}
		if (hlen >= sizeof(host))
			return errf(err, errlen, "the address is too long; give ADDR:PORT, e.g. 127.0.0.1:5900");
		memcpy(host, s, hlen);
		host[hlen] = 0;
		if (!hlen || !strcmp(host, "localhost")) {
			out->addr.s_addr = htonl(INADDR_LOOPBACK);
		} else if (!strcmp(host, "*")) {
			out->addr.s_addr = htonl(INADDR_ANY);
		} else if (inet_pton(AF_INET, host, &out->addr) != 1) {
			return errf(err, errlen, "'%s' is not an IPv4 address, [IPv6] address, localhost "
				    "or *; e.g. 127.0.0.1:5900", host);
		}
	}
	if (!*port || parse_u64(port, 1, 65535, &p))
		return errf(err, errlen, "'%.16s' is not a TCP port (1-65535); e.g. 127.0.0.1:5900", port);
	out->port = p;
	return 0;
}

int vnc__parse_size(const char *s, unsigned int *w, unsigned int *h, char *err, size_t errlen)
{
	const char *x = s ? strchr(s, 'x') : NULL;
	char buf[16];
	u64 a, b;

	if (!x || (size_t)(x - s) >= sizeof(buf))
		return errf(err, errlen, "'%.32s' is not WIDTHxHEIGHT; e.g. 1024x768", s ? s : "");
	memcpy(buf, s, x - s);
	buf[x - s] = 0;
	if (parse_u64(buf, DISPLAY_MIN_WIDTH, DISPLAY_MAX_WIDTH, &a) ||
	    parse_u64(x + 1, DISPLAY_MIN_HEIGHT, DISPLAY_MAX_HEIGHT, &b))
		return errf(err, errlen, "'%.32s' is not a screen size from %dx%d to %dx%d", s,
			    DISPLAY_MIN_WIDTH, DISPLAY_MIN_HEIGHT, DISPLAY_MAX_WIDTH, DISPLAY_MAX_HEIGHT);
	if ((u64)a * b * DISPLAY_BPP > DISPLAY_MAX_BYTES)
		return errf(err, errlen, "%llux%llu needs more than %llu MiB of framebuffer",
			    (unsigned long long)a, (unsigned long long)b, DISPLAY_MAX_BYTES >> 20);
	*w = a;
	*h = b;
	return 0;
}

int vnc__parse_password(const char *buf, size_t len, char *pw, char *err, size_t errlen)
{
	size_t n = 0;

	while (n < len && buf[n] != '\n' && buf[n] != '\r')
		n++;
	if (!n)
		return errf(err, errlen, "the first line is empty; write the password on it");
	if (memchr(buf, 0, n))
		return errf(err, errlen, "the password has a NUL byte");
	if (n > VNC_PASSWORD_MAX)
		return errf(err, errlen, "the password has %zu characters; VNC authentication uses "
			    "at most %d, so the rest would be ignored: shorten it", n, VNC_PASSWORD_MAX);
	memcpy(pw, buf, n);
	pw[n] = 0;
	return 0;
}

/* ---- configuration ---- */

struct vnc_params {
	struct vnc_listen listen;
	char listen_str[80];
	unsigned int width, height;
	char password[VNC_PASSWORD_MAX + 1];	/* "" for none */
	char *password_file;
};

/* a password read from a file; its where names the file for messages */
static int read_password(const char *path, const char *where, char *pw)
{
	char msg[160];
	struct stat st;
	void *buf;
	size_t len;
	int ret;

	ret = read_file(path, 4096, &buf, &len);
	if (ret) {
		pr_err("%s: %s: %s; give a file whose first line is the password", where, path,
		       ret == -EFBIG ? "larger than 4 KiB" : strerror(-ret));
		return -1;
	}
	ret = vnc__parse_password(buf, len, pw, msg, sizeof(msg));
	memset(buf, 0, len);
	free(buf);
	if (ret) {
		pr_err("%s: %s: %s", where, path, msg);
		return -1;
	}
	if (!stat(path, &st) && (st.st_mode & 077))
		pr_warn("%s: %s can be read by other users; chmod 600 it", where, path);
	return 0;
}

static struct device_config *earlier_of_type(struct device_config *dc, const char *type)
{
	for (struct device_config *o = dc - dc->index; o < dc; o++)
		if (!strcmp(o->type, type))
			return o;
	return NULL;
}

static int vnc_validate(struct device_config *dc)
{
	static const char *const keys[] = { "type", "id", "listen", "width", "height",
					    "password-file", NULL };
	struct vnc_params *p = xzalloc(sizeof(*p));
	const char *listen = NULL, *pwfile = NULL;
	struct device_config *o;
	json_object *v;
	char msg[160], where[200];

	dc->priv = p;
	p->width = DISPLAY_DEFAULT_WIDTH;
	p->height = DISPLAY_DEFAULT_HEIGHT;
	if (config__check_keys(dc->obj, dc->where, keys) ||
	    config__get_string(dc->obj, "listen", dc->where, false, &listen) ||
	    config__get_string(dc->obj, "password-file", dc->where, false, &pwfile))
		return -1;
	o = earlier_of_type(dc, "vnc");
	if (o) {
		pr_err("%s: a second VNC console; %s has one already (one per VM, any number of viewers)",
		       dc->where, o->where);
		return -1;
	}
	if (!listen)
		listen = "127.0.0.1:5900";
	if (vnc__parse_listen(listen, &p->listen, msg, sizeof(msg))) {
		pr_err("%s.listen: %s", dc->where, msg);
		return -1;
	}
	snprintf(p->listen_str, sizeof(p->listen_str), "%s", listen);
	for (int i = 0; i < 2; i++) {
		const char *k = i ? "height" : "width";
		unsigned int lo = i ? DISPLAY_MIN_HEIGHT : DISPLAY_MIN_WIDTH;
		unsigned int hi = i ? DISPLAY_MAX_HEIGHT : DISPLAY_MAX_WIDTH;
		u64 val;

		if (!json_object_object_get_ex(dc->obj, k, &v))
			continue;
		if (parse_u64(json_object_get_string(v), lo, hi, &val)) {
			pr_err("%s.%s: '%s' is not %u to %u pixels", dc->where, k,
			       json_object_get_string(v), lo, hi);
			return -1;
		}
		*(i ? &p->height : &p->width) = val;
	}
	if ((u64)p->width * p->height * DISPLAY_BPP > DISPLAY_MAX_BYTES) {
		pr_err("%s: %ux%u needs more than %llu MiB of framebuffer; make it smaller", dc->where,
		       p->width, p->height, DISPLAY_MAX_BYTES >> 20);
		return -1;
	}
	if (pwfile) {
		snprintf(where, sizeof(where), "%s.password-file", dc->where);
		if (read_password(pwfile, where, p->password))
			return -1;
		p->password_file = xstrdup(pwfile);
	}
	/* a --vnc-password-file given before --vnc */
	o = earlier_of_type(dc, "vnc-password");
	if (o && o->priv) {
		struct vnc_params *op = o->priv;

		if (pwfile) {
			pr_err("%s: the password is given twice (also by %s); give it once", dc->where,
			       o->where);
			return -1;
		}
		memcpy(p->password, op->password, sizeof(p->password));
		p->password_file = xstrdup(op->password_file);
	}
	return 0;
}

static void vnc_release(struct device_config *dc)
{
	struct vnc_params *p = dc->priv;

	if (p) {
		memset(p->password, 0, sizeof(p->password));
		free(p->password_file);
	}
}

/* --vnc ADDR:PORT[,size=WxH][,password-file=FILE] */
/* size=WxH: two keys from one option */
static int vnc_flag_option(json_object *o, const char *opt, char *err, size_t len)
{
	unsigned int w, h;

	if (strncmp(opt, "size=", 5))
		return 1;
	if (vnc__parse_size(opt + 5, &w, &h, err, len))
		return -1;
	json_object_object_add(o, "width", json_object_new_int(w));
	json_object_object_add(o, "height", json_object_new_int(h));
	return 0;
}

static json_object *vnc_from_flag(const char *value, const char *where)
{
	static const struct flag_opt opts[] = {
		{ "password-file", "password-file", FLAG_STRING },
		{ NULL },
	};

	return config__flag_entry("vnc", value, where, "listen", opts, vnc_flag_option,
				  "ADDR:PORT[,size=WxH][,password-file=FILE]");
}

static int vnc_password_validate(struct device_config *dc)
{
	static const char *const keys[] = { "type", "id", "path", NULL };
	struct vnc_params *p = xzalloc(sizeof(*p));
	struct device_config *o;
	const char *path;
	char where[200];

	dc->priv = p;
	if (config__check_keys(dc->obj, dc->where, keys) ||
	    config__get_string(dc->obj, "path", dc->where, true, &path))
		return -1;
	o = earlier_of_type(dc, "vnc-password");
	if (o) {
		pr_err("%s: a second VNC password (the first is %s); give one", dc->where, o->where);
		return -1;
	}
	snprintf(where, sizeof(where), "%s", dc->where);
	if (read_password(path, where, p->password))
		return -1;
	p->password_file = xstrdup(path);
	/* --vnc given before: it takes the password now */
	o = earlier_of_type(dc, "vnc");
	if (o && o->priv) {
		struct vnc_params *op = o->priv;

		if (op->password[0]) {
			pr_err("%s: the password is given twice (also by %s); give it once", dc->where,
			       o->where);
			return -1;
		}
		memcpy(op->password, p->password, sizeof(op->password));
		op->password_file = xstrdup(path);
	}
	return 0;
}

static json_object *vnc_password_from_flag(const char *value, const char *where __unused)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "type", json_object_new_string("vnc-password"));
	json_object_object_add(o, "path", json_object_new_string(value));
	return o;
}

/* ---- the server ---- */

struct vnc_client {
	struct input_source src;
	int buttons;		/* the RFB button mask as last seen */
	char host[64];
};

struct vnc {
	struct vm *vm;
	struct vnc_params *p;
	struct display *display;
	rfbScreenInfoPtr screen;
	char *passwords[2];	/* for rfbCheckPasswordByList */
	char name[80];
	pthread_t thread;
	bool running, stop;
	struct vm_device vd;
	/* on the VNC thread only, except the counters read by status */
	unsigned int nr_clients;
	unsigned int auth_failures;
	u64 auth_pause_until;
	u64 clients_total, refused, unknown_keysyms, frames;
};

static struct vnc *the_vnc;

static void vnc_log(enum log_level lvl, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	if (lvl == LOG_DEBUG)
		pr_debug("vnc: %s", buf);
	else
		pr_warn_guest("vnc: %s", buf);
}

static void rfb_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnc_log(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* while the server starts, its errors become our one line */
static bool rfb_starting;

static void rfb_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* libvncserver's errors are about one viewer's connection */
	vnc_log(rfb_starting || log_level >= LOG_DEBUG ? LOG_DEBUG : LOG_WARN, fmt, ap);
	va_end(ap);
}

static void on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc_client *c = cl->clientData;
	unsigned int key = keymap__from_keysym(keysym);

	if (!c)
		return;
	if (!key) {
		the_vnc->unknown_keysyms++;
		if (down)
			pr_warn_guest("vnc: %s: keysym %#x is no key of a US keyboard; ignored",
				      c->host, (unsigned int)keysym);
		return;
	}
	input__key(&c->src, key, down);
}

void (*vnc__pointer_hook)(struct input_source *src, const struct input_pointer *p);

static void on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
	struct vnc_client *c = cl->clientData;
	struct display *d = the_vnc->display;
	struct input_pointer p = {
		.absolute = true,
		.x = MIN(MAX(x, 0), (int)d->width - 1),
		.y = MIN(MAX(y, 0), (int)d->height - 1),
		.width = d->width,
		.height = d->height,
	};
	int pressed;

	if (!c)
		return;
	pressed = mask & ~c->buttons;
	/* RFB: 1 left, 2 middle, 4 right, 8/16 a wheel step up/down */
	if (mask & 1)
		p.buttons |= INPUT_BTN_LEFT;
	if (mask & 2)
		p.buttons |= INPUT_BTN_MIDDLE;
	if (mask & 4)
		p.buttons |= INPUT_BTN_RIGHT;
	p.wheel = !!(pressed & 8) - !!(pressed & 16);
	c->buttons = mask;
	if (vnc__pointer_hook)
		vnc__pointer_hook(&c->src, &p);
	else
		input__pointer(&c->src, &p);
}

static void on_cut_text(char *str __unused, int len, rfbClientPtr cl)
{
	pr_debug("vnc: %s sent %d bytes of clipboard text; dpvm has no clipboard", cl->host, len);
}

static rfbBool check_password(rfbClientPtr cl, const char *response, int len)
{
	struct vnc *v = the_vnc;
	rfbBool ok = rfbCheckPasswordByList(cl, response, len);

	if (ok) {
		v->auth_failures = 0;
		return TRUE;
	}
	v->auth_failures++;
	pr_warn("vnc: %s gave a wrong password", cl->host);
	if (v->auth_failures >= VNC_AUTH_FAILURES) {
		v->auth_pause_until = time_ns() + VNC_AUTH_PAUSE_NS;
		v->auth_failures = 0;
		pr_warn("vnc: %d wrong passwords in a row; no new viewers for %llu s", VNC_AUTH_FAILURES,
			VNC_AUTH_PAUSE_NS / 1000000000ULL);
	}
	return FALSE;
}

static void client_gone(rfbClientPtr cl)
{
	struct vnc_client *c = cl->clientData;

	if (!c)
		return;
	/* keys and buttons this viewer held go up */
	input__release_all(&c->src);
	the_vnc->nr_clients--;
	pr_info("vnc: viewer %s left (%u connected)", c->host, the_vnc->nr_clients);
	cl->clientData = NULL;
	free(c);
}

static enum rfbNewClientAction new_client(rfbClientPtr cl)
{
	struct vnc *v = the_vnc;
	struct vnc_client *c;

	if (v->nr_clients >= VNC_MAX_CLIENTS) {
		v->refused++;
		pr_warn_guest("vnc: %s refused: %d viewers are connected already", cl->host,
			      VNC_MAX_CLIENTS);
		return RFB_CLIENT_REFUSE;
	}
	if (time_ns() < v->auth_pause_until) {
		v->refused++;
		pr_warn_guest("vnc: %s refused: pausing after wrong passwords", cl->host);
		return RFB_CLIENT_REFUSE;
	}
	c = xzalloc(sizeof(*c));
	snprintf(c->host, sizeof(c->host), "%s", cl->host ? cl->host : "?");
	c->src.name = c->host;
	cl->clientData = c;
	cl->clientGoneHook = client_gone;
	v->nr_clients++;
	v->clients_total++;
	pr_info("vnc: viewer %s connected (%u connected)", c->host, v->nr_clients);
	return RFB_CLIENT_ACCEPT;
}

static void mark_rows(void *opaque, unsigned int y0, unsigned int y1)
{
	struct vnc *v = opaque;

	rfbMarkRectAsModified(v->screen, 0, y0, v->display->width, y1);
}

static void *vnc_thread(void *arg)
{
	struct vnc *v = arg;
	u64 next = 0;

	while (!__atomic_load_n(&v->stop, __ATOMIC_ACQUIRE)) {
		u64 now;

		rfbProcessEvents(v->screen, VNC_POLL_US);
		now = time_ns();
		if (now >= next) {
			/* nobody watching: the log keeps accumulating, read it anyway */
			if (display__changed(v->display, mark_rows, v))
				v->frames++;
			next = now + VNC_FRAME_NS;
		}
	}
	return NULL;
}

static int vnc_start(struct vnc *v)
{
	struct vnc_params *p = v->p;
	rfbScreenInfoPtr s;
	int argc = 1, err;
	char *argv[] = { "dpvm", NULL };

	rfbLog = rfb_log;
	rfbErr = rfb_err;
	s = rfbGetScreen(&argc, argv, v->display->width, v->display->height, 8, 3, DISPLAY_BPP);
	if (!s) {
		pr_err("vnc: cannot set up the VNC server (out of memory)");
		return -ENOMEM;
	}
	v->screen = s;
	s->frameBuffer = (char *)v->display->fb;
	s->paddedWidthInBytes = v->display->stride;
	/* XRGB8888, as the guest draws it */
	s->serverFormat.redShift = 16;
	s->serverFormat.greenShift = 8;
	s->serverFormat.blueShift = 0;
	s->serverFormat.redMax = s->serverFormat.greenMax = s->serverFormat.blueMax = 255;
	s->serverFormat.bigEndian = FALSE;
	s->serverFormat.trueColour = TRUE;
	/* no cursor of libvncserver's: it would draw it into the guest's memory */
	s->cursor = NULL;
	snprintf(v->name, sizeof(v->name), "dpvm %s", v->vm->name ? v->vm->name : "");
	s->desktopName = v->name;
	s->alwaysShared = TRUE;
	s->neverShared = FALSE;
	s->dontDisconnect = TRUE;
	s->maxClientWait = VNC_CLIENT_WAIT_MS;
	s->kbdAddEvent = on_key;
	s->ptrAddEvent = on_pointer;
	s->setXCutText = on_cut_text;
	s->newClientHook = new_client;
	s->autoPort = FALSE;
	s->httpDir = NULL;
	if (p->listen.ipv6) {
		s->port = 0;
		s->ipv6port = p->listen.port;
		s->listen6Interface = p->listen.addr6;
	} else {
		s->port = p->listen.port;
		s->ipv6port = 0;
		s->listenInterface = p->listen.addr.s_addr;
	}
	if (p->password[0]) {
		v->passwords[0] = p->password;
		v->passwords[1] = NULL;
		s->authPasswdData = v->passwords;
		s->passwordCheck = check_password;
	}
	errno = 0;
	rfb_starting = true;
	rfbInitServer(s);
	err = errno;
	rfb_starting = false;
	if ((p->listen.ipv6 ? s->listen6Sock : s->listenSock) == RFB_INVALID_SOCKET) {
		pr_err("--vnc %s: cannot listen: %s; pick a free port or another address",
		       p->listen_str, err ? strerror(err) : "unknown error");
		rfbScreenCleanup(s);
		v->screen = NULL;
		return err ? -err : -EADDRNOTAVAIL;
	}
	v->stop = false;
	if (pthread_create(&v->thread, NULL, vnc_thread, v)) {
		err = errno;
		pr_err("vnc: cannot start its thread: %s", strerror(err));
		rfbShutdownServer(s, TRUE);
		rfbScreenCleanup(s);
		v->screen = NULL;
		return -err;
	}
	v->running = true;
	pr_info("vnc: the console is on %s%s (%ux%u)", p->listen_str,
		p->password[0] ? ", with a password" : "", v->display->width, v->display->height);
	return 0;
}

static void vnc_stop(struct vnc *v)
{
	if (v->running) {
		__atomic_store_n(&v->stop, true, __ATOMIC_RELEASE);
		pthread_join(v->thread, NULL);
		v->running = false;
	}
	if (v->screen) {
		rfbShutdownServer(v->screen, TRUE);
		rfbScreenCleanup(v->screen);
		v->screen = NULL;
	}
}

static void vnc_reset(struct vm_device *vd)
{
	struct vnc *v = container_of(vd, struct vnc, vd);

	display__reset(v->display);
}

static json_object *vnc_status(struct vm_device *vd)
{
	struct vnc *v = container_of(vd, struct vnc, vd);
	json_object *o = json_object_new_object(), *leds = json_object_new_object();
	u32 l = input__leds();
	char addr[32];

	json_object_object_add(o, "listen", json_object_new_string(v->p->listen_str));
	json_object_object_add(o, "password", json_object_new_boolean(v->p->password[0]));
	json_object_object_add(o, "viewers", json_object_new_int(__atomic_load_n(&v->nr_clients,
							__ATOMIC_RELAXED)));
	json_object_object_add(o, "viewers-total", json_object_new_int64(v->clients_total));
	json_object_object_add(o, "refused", json_object_new_int64(v->refused));
	json_object_object_add(o, "width", json_object_new_int(v->display->width));
	json_object_object_add(o, "height", json_object_new_int(v->display->height));
	snprintf(addr, sizeof(addr), "%#llx", (unsigned long long)v->display->gpa);
	json_object_object_add(o, "framebuffer", json_object_new_string(addr));
	json_object_object_add(o, "dirty-log", json_object_new_boolean(v->display->dirty_log));
	json_object_object_add(o, "updates", json_object_new_int64(v->frames));
	json_object_object_add(leds, "caps-lock", json_object_new_boolean(l & INPUT_LED_CAPS));
	json_object_object_add(leds, "num-lock", json_object_new_boolean(l & INPUT_LED_NUM));
	json_object_object_add(leds, "scroll-lock", json_object_new_boolean(l & INPUT_LED_SCROLL));
	json_object_object_add(o, "keyboard-leds", leds);
	json_object_object_add(o, "input-queued", json_object_new_int(input__pending()));
	return o;
}

static void vnc_remove(struct vm_device *vd)
{
	struct vnc *v = container_of(vd, struct vnc, vd);

	vnc_stop(v);
	vm__remove_device(v->vm, &v->vd);
	display__destroy(v->display);
	if (the_vnc == v)
		the_vnc = NULL;
	free(v);
}

static int vnc_create(struct vm *vm, struct device_config *dc)
{
	struct vnc_params *p = dc->priv;
	struct vnc *v = xzalloc(sizeof(*v));
	int ret;

	v->vm = vm;
	v->p = p;
	ret = display__create(vm, p->width, p->height, &v->display);
	if (ret) {
		free(v);
		return ret;
	}
	v->vd.name = "vnc";
	v->vd.reset = vnc_reset;
	v->vd.status = vnc_status;
	v->vd.remove = vnc_remove;
	vm__add_device(vm, &v->vd);
	dc->vd = &v->vd;
	the_vnc = v;
	return 0;
}

static int vnc_password_create(struct vm *vm, struct device_config *dc)
{
	struct device_config *o = dc - dc->index;
	struct vm_config *cfg = vm->cfg;

	/* a --vnc after the password took it at validation; one before
	 * did too; with no --vnc at all, the password protects nothing */
	for (unsigned int i = 0; i < cfg->nr_devices; i++)
		if (!strcmp(o[i].type, "vnc"))
			return 0;
	pr_err("%s: there is no VNC console to protect; add --vnc ADDR:PORT", dc->where);
	return -EINVAL;
}

static struct device_type vnc_type = {
	.name = "vnc",
	.validate = vnc_validate,
	.create = vnc_create,
	.release = vnc_release,
	.flag = "vnc",
	.flag_arg = "ADDR:PORT[,size=WxH]",
	/* the option is wider than run's help column: the text on its own lines */
	.flag_help = "a VNC console with the guest's screen, keyboard and mouse "
		     "(ADDR 127.0.0.1 if empty; size 1024x768)",
	.from_flag = vnc_from_flag,
};
device_type_register(vnc_type);

static struct device_type vnc_password_type = {
	.name = "vnc-password",
	.validate = vnc_password_validate,
	.create = vnc_password_create,
	.release = vnc_release,
	.flag = "vnc-password-file",
	.flag_arg = "FILE",
	.flag_help = "the --vnc console's password: FILE's first line (at most 8 characters)",
	.from_flag = vnc_password_from_flag,
};
device_type_register(vnc_password_type);

/* listening starts once every device exists, so the password is set */
static int vnc__late_init(struct vm *vm __unused)
{
	return the_vnc ? vnc_start(the_vnc) : 0;
}

static void vnc__late_exit(struct vm *vm __unused)
{
	if (the_vnc)
		vnc_stop(the_vnc);
}
vm_initcall(INIT_LATE, vnc__late_init, vnc__late_exit, NULL);
