// SPDX-License-Identifier: GPL-2.0
/*
 * Backing "remote-host": a device that stays attached to another machine,
 * which exports it with the standard USB/IP server (usbipd, with the
 * usbip-host driver); dpvm is the USB/IP client (the seeds'
 * RemoteHostBackingInfo).  The protocol is Linux's
 * Documentation/usb/usbip_protocol.rst, written here from that text:
 *
 *   OP_REQ_IMPORT busid        -> OP_REP_IMPORT status, struct usb_device
 *   USBIP_CMD_SUBMIT seq, ...  -> USBIP_RET_SUBMIT seq, status, data (IN)
 *   USBIP_CMD_UNLINK seq, seq2 -> USBIP_RET_UNLINK seq, status
 *   OP_REQ_DEVLIST             -> OP_REP_DEVLIST (to say what the server has
 *                                 when the import fails)
 *
 * All fields are big-endian.  The connection is made and kept by the
 * device's own thread: when it drops (the server went away, the network
 * broke) every packet in flight fails, the guest sees the device unplugged,
 * and dpvm reconnects every few seconds and plugs it in again when the
 * import succeeds: a disconnect and a re-attach, never a hang.  Whatever
 * the server sends is checked: an unknown command or sequence number, a
 * length beyond what was asked for, isochronous descriptors that were
 * never requested end the connection (and start the reconnecting).
 */
#include "devices/usb-ip.h"
#include "devices/usb-kind.h"
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define IP_CONNECT_TIMEOUT_MS	5000
#define IP_RETRY_MS		2000
#define IP_MAX_PENDING		1024

/* ---- framing (pure; unit-tested and fuzzed) ---- */

static void put16(u8 *p, u16 v) { p[0] = v >> 8; p[1] = v; }
static void put32(u8 *p, u32 v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static u16 get16(const u8 *p) { return (u16)p[0] << 8 | p[1]; }
static u32 get32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }

void usbip__op_request(u8 *out, u16 code, const char *busid)
{
	memset(out, 0, USBIP_OP_HDR + (busid ? USBIP_BUSID_LEN : 0));
	put16(out, USBIP_VERSION);
	put16(out + 2, code);
	if (busid)
		memcpy(out + USBIP_OP_HDR, busid, strnlen(busid, USBIP_BUSID_LEN - 1));
}

int usbip__parse_op_reply(const u8 *in, u16 want_code, u32 *status)
{
	if (get16(in + 2) != want_code)
		return -1;
	*status = get32(in + 4);
	return 0;
}

int usbip__parse_udev(const u8 *in, struct usbip_udev *u)
{
	memset(u, 0, sizeof(*u));
	memcpy(u->path, in, USBIP_PATH_LEN - 1);
	memcpy(u->busid, in + USBIP_PATH_LEN, USBIP_BUSID_LEN - 1);
	in += USBIP_PATH_LEN + USBIP_BUSID_LEN;
	u->busnum = get32(in);
	u->devnum = get32(in + 4);
	u->speed = get32(in + 8);
	u->vendor = get16(in + 12);
	u->product = get16(in + 14);
	u->bcd_device = get16(in + 16);
	u->dev_class = in[18];
	u->nr_configs = in[22];
	u->nr_ifaces = in[23];
	if (u->busnum > 0xffff || u->devnum > 0xffff)
		return -1;
	return 0;
}

void usbip__cmd_submit(u8 *out, u32 seq, u32 devid, bool in, u8 ep, u32 flags, u32 len,
		       const u8 *setup)
{
	memset(out, 0, USBIP_HDR);
	put32(out, USBIP_CMD_SUBMIT);
	put32(out + 4, seq);
	put32(out + 8, devid);
	put32(out + 12, in ? USBIP_DIR_IN : USBIP_DIR_OUT);
	put32(out + 16, ep);
	put32(out + 20, flags);
	put32(out + 24, len);
	put32(out + 28, 0);		/* start_frame */
	put32(out + 32, 0xffffffff);	/* number_of_packets: not isochronous */
	put32(out + 36, 0);		/* interval */
	if (setup)
		memcpy(out + 40, setup, 8);
}

void usbip__cmd_unlink(u8 *out, u32 seq, u32 devid, u32 victim)
{
	memset(out, 0, USBIP_HDR);
	put32(out, USBIP_CMD_UNLINK);
	put32(out + 4, seq);
	put32(out + 8, devid);
	put32(out + 20, victim);
}

int usbip__parse_ret(const u8 *in, struct usbip_ret *r)
{
	r->command = get32(in);
	r->seq = get32(in + 4);
	r->status = (s32)get32(in + 20);
	r->actual = (s32)get32(in + 24);
	r->nr_packets = (s32)get32(in + 32);
	if (r->command != USBIP_RET_SUBMIT && r->command != USBIP_RET_UNLINK)
		return -1;
	if (r->command == USBIP_RET_SUBMIT &&
	    (r->actual < 0 || (u32)r->actual > USBIP_MAX_LEN || (r->nr_packets != 0 && r->nr_packets != -1)))
		return -1;
	return 0;
}

/* a Linux URB status (negative errno) to a packet status */
int usbip__status(s32 st)
{
	switch (st) {
	case 0: return USB_RET_SUCCESS;
	case -EPIPE: return USB_RET_STALL;
	case -EOVERFLOW: return USB_RET_BABBLE;
	case -ECONNRESET: case -ENOENT: return USB_RET_CANCELLED;
	case -ESHUTDOWN: case -ENODEV: return USB_RET_NODEV;
	case -EREMOTEIO: return USB_RET_SUCCESS;	/* short, with URB_SHORT_NOT_OK: the data is there */
	default: return USB_RET_IOERROR;
	}
}

/* ---- the device ---- */

struct ip_params {
	char host[256];
	char port[8];
	char busid[USBIP_BUSID_LEN];
};

struct ip_pend {
	u32 seq;
	struct usb_packet *p;	/* NULL: a request whose answer nobody waits for */
	bool in;		/* data comes back with the answer */
	u32 len;		/* asked for */
	u32 victim;		/* an unlink: the seq it unlinks */
	bool unlinked;
	struct ip_pend *next;
};

struct ipdev {
	struct usb_dev dev;
	struct ip_params p;
	struct evloop *loop;
	int fd, kick_fd, timer_fd;
	pthread_mutex_t lock;	/* below; inner to the controller's lock */
	bool connected;		/* imported: packets go out */
	u32 devid, seq;
	struct ip_pend *pending;
	unsigned int nr_pending;
	u8 *out;		/* bytes to send */
	size_t out_len, out_cap;
	/* the receive state machine (the thread) */
	u8 hdr[USBIP_HDR];
	size_t hdr_got;
	struct usbip_ret ret;
	struct ip_pend *cur;	/* the RET_SUBMIT whose data comes */
	u32 data_got;
	struct ip_pend *done;	/* to hand to the controller after the read */
	u64 connects, submitted, completed, unlinks, errors;
	char last_error[400];
	struct usb_packet fuzz_pkt[4];	/* for usb_ip__fuzz */
	u8 fuzz_buf[4][512];
};

static void out_append(struct ipdev *r, const void *data, size_t len)
{
	if (r->out_len + len > r->out_cap) {
		r->out_cap = MAX(r->out_cap * 2, r->out_len + len + 4096);
		r->out = xrealloc(r->out, r->out_cap);
	}
	memcpy(r->out + r->out_len, data, len);
	r->out_len += len;
}

static void kick(struct ipdev *r)
{
	u64 one = 1;

	if (r->kick_fd >= 0 && write(r->kick_fd, &one, sizeof(one)) < 0)
		pr_debug("%s: kick: %s", r->dev.id, strerror(errno));
}

/* ---- receiving (the thread) ---- */

static struct ip_pend *take(struct ipdev *r, u32 seq)
{
	for (struct ip_pend **pp = &r->pending; *pp; pp = &(*pp)->next)
		if ((*pp)->seq == seq) {
			struct ip_pend *x = *pp;

			*pp = x->next;
			r->nr_pending--;
			return x;
		}
	return NULL;
}

static void finish(struct ipdev *r, struct ip_pend *x)
{
	x->next = r->done;
	r->done = x;
}

/* one complete header: look it up; -1 on a protocol error */
static int got_header(struct ipdev *r)
{
	struct usbip_ret *ret = &r->ret;
	struct ip_pend *x;

	if (usbip__parse_ret(r->hdr, ret)) {
		snprintf(r->last_error, sizeof(r->last_error),
			 "the server sent command %#x (actual %d, %d iso packets): not a reply dpvm "
			 "can take", ret->command, ret->actual, ret->nr_packets);
		return -1;
	}
	if (ret->command == USBIP_RET_UNLINK) {
		/* an unlink that worked (-ECONNRESET) means the URB's own
		 * RET_SUBMIT never comes; status 0: it came before */
		x = take(r, ret->seq);
		if (x && x->victim && ret->status) {
			struct ip_pend *v = take(r, x->victim);

			if (v)
				finish(r, v);
		}
		if (x)
			finish(r, x);
		r->cur = NULL;
		return 0;
	}
	x = take(r, ret->seq);
	if (!x) {
		snprintf(r->last_error, sizeof(r->last_error),
			 "the server answered sequence number %u, which dpvm has not sent", ret->seq);
		return -1;
	}
	if (x->in && (u32)ret->actual > x->len) {
		snprintf(r->last_error, sizeof(r->last_error),
			 "the server returned %d bytes for a %u-byte IN transfer", ret->actual, x->len);
		if (x->p)
			x->p->status = USB_RET_NODEV;
		finish(r, x);
		return -1;
	}
	if (x->p) {
		x->p->status = usbip__status(ret->status);
		x->p->actual = MIN((u32)ret->actual, x->p->len);
	}
	r->cur = x;
	r->data_got = 0;
	return 0;
}

/* feed received bytes; -1 if the stream is broken */
int usbip__rx(struct ipdev *r, const u8 *data, size_t len)
{
	while (len) {
		if (r->hdr_got < USBIP_HDR) {
			size_t n = MIN(len, USBIP_HDR - r->hdr_got);

			memcpy(r->hdr + r->hdr_got, data, n);
			r->hdr_got += n;
			data += n;
			len -= n;
			if (r->hdr_got < USBIP_HDR)
				return 0;
			if (got_header(r))
				return -1;
			/* data follows an IN RET_SUBMIT only */
			if (r->ret.command == USBIP_RET_SUBMIT && r->ret.actual && r->cur->in)
				continue;
			if (r->cur)
				finish(r, r->cur);
			r->cur = NULL;
			r->hdr_got = 0;
			continue;
		}
		/* the IN data of r->cur (p NULL: an unlinked one's, dropped) */
		{
			u32 want = (u32)r->ret.actual - r->data_got, n = MIN((u32)len, want);

			if (r->cur->p)
				memcpy(r->cur->p->buf + r->data_got, data, n);
			r->data_got += n;
			data += n;
			len -= n;
			if (r->data_got == (u32)r->ret.actual) {
				finish(r, r->cur);
				r->cur = NULL;
				r->hdr_got = 0;
			}
		}
	}
	return 0;
}

static void complete_done(struct ipdev *r)
{
	struct ip_pend *list;

	pthread_mutex_lock(&r->lock);
	list = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->lock);
	while (list) {
		struct ip_pend *x = list;

		list = x->next;
		if (x->p) {
			r->completed++;
			usb__complete(x->p);
		}
		free(x);
	}
}

/* ---- the connection (the thread) ---- */

static void fail_all(struct ipdev *r)
{
	while (r->pending) {
		struct ip_pend *x = r->pending;

		r->pending = x->next;
		if (x->p) {
			x->p->status = USB_RET_NODEV;
			x->p->actual = 0;
		}
		finish(r, x);
	}
	r->nr_pending = 0;
	if (r->cur) {
		if (r->cur->p)
			r->cur->p->status = USB_RET_NODEV;
		finish(r, r->cur);
		r->cur = NULL;
	}
}

static void arm_retry(struct ipdev *r, unsigned int ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (ms % 1000) * 1000000L } };

	timerfd_settime(r->timer_fd, 0, &its, NULL);
}

static void drop(struct ipdev *r, const char *why)
{
	bool was;

	if (r->fd >= 0) {
		evloop__del(r->loop, r->fd);
		close(r->fd);
		r->fd = -1;
	}
	pthread_mutex_lock(&r->lock);
	was = r->connected;
	r->connected = false;
	fail_all(r);
	r->out_len = 0;
	r->hdr_got = 0;
	pthread_mutex_unlock(&r->lock);
	complete_done(r);
	if (was) {
		pr_warn("%s: the USB/IP connection to %s:%s (%s) dropped: %s; reconnecting", r->dev.id,
			r->p.host, r->p.port, r->p.busid, why);
		usb__unplug(&r->dev, "the USB/IP connection dropped");
	}
	arm_retry(r, IP_RETRY_MS);
}

static void flush(struct ipdev *r)
{
	pthread_mutex_lock(&r->lock);
	while (r->fd >= 0 && r->out_len) {
		ssize_t n = send(r->fd, r->out, r->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			pthread_mutex_unlock(&r->lock);
			drop(r, strerror(errno));
			return;
		}
		memmove(r->out, r->out + n, r->out_len - n);
		r->out_len -= n;
	}
	if (r->fd >= 0)
		evloop__modify(r->loop, r->fd, EPOLLIN | (r->out_len ? EPOLLOUT : 0));
	pthread_mutex_unlock(&r->lock);
}

static void on_sock(int fd, u32 events, void *opaque)
{
	struct ipdev *r = opaque;
	u8 buf[65536];

	if (events & EPOLLIN) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		int bad;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop(r, n == 0 ? "the server closed it" : strerror(errno));
			return;
		}
		if (n > 0) {
			pthread_mutex_lock(&r->lock);
			bad = usbip__rx(r, buf, n);
			pthread_mutex_unlock(&r->lock);
			complete_done(r);
			if (bad) {
				r->errors++;
				pr_warn_guest("%s: USB/IP protocol error: %s", r->dev.id, r->last_error);
				drop(r, r->last_error);
				return;
			}
		}
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		drop(r, "the connection failed");
		return;
	}
	flush(r);
}

/* blocking helpers for the short handshake */
static int io_all(int fd, void *buf, size_t len, bool wr)
{
	size_t done = 0;

	while (done < len) {
		struct pollfd pfd = { .fd = fd, .events = wr ? POLLOUT : POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, IP_CONNECT_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = wr ? send(fd, (u8 *)buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT) :
			 recv(fd, (u8 *)buf + done, len - done, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		done += n;
	}
	return 0;
}

static int dial(const struct ip_params *p, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *a;
	int fd = -1, r, one = 1;

	r = getaddrinfo(p->host, p->port, &hints, &res);
	if (r) {
		snprintf(err, errlen, "%.64s: %s", p->host, gai_strerror(r));
		return -1;
	}
	for (a = res; a; a = a->ai_next) {
		struct pollfd pfd;

		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) && errno != EINPROGRESS)
			goto next;
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, IP_CONNECT_TIMEOUT_MS) == 1) {
			socklen_t l = sizeof(r);

			if (!getsockopt(fd, SOL_SOCKET, SO_ERROR, &r, &l) && !r)
				break;
			errno = r;
		} else {
			errno = ETIMEDOUT;
		}
next:
		snprintf(err, errlen, "%.64s:%s: %s", p->host, p->port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* what the server exports, for an error message */
static void devlist(struct ipdev *r, char *out, size_t len)
{
	u8 hdr[USBIP_OP_HDR], ndev[4], udev[USBIP_UDEV_LEN], iface[4];
	char err[160];
	int fd = dial(&r->p, err, sizeof(err));
	u32 n, st;
	size_t o = 0;

	out[0] = 0;
	if (fd < 0)
		return;
	usbip__op_request(hdr, USBIP_OP_REQ_DEVLIST, NULL);
	if (io_all(fd, hdr, USBIP_OP_HDR, true) || io_all(fd, hdr, USBIP_OP_HDR, false) ||
	    usbip__parse_op_reply(hdr, USBIP_OP_REP_DEVLIST, &st) || st ||
	    io_all(fd, ndev, 4, false))
		goto out;
	n = get32(ndev);
	for (u32 i = 0; i < n && i < 64; i++) {
		struct usbip_udev u;

		if (io_all(fd, udev, sizeof(udev), false) || usbip__parse_udev(udev, &u))
			break;
		o += snprintf(out + o, len > o ? len - o : 0, "%s%s (%04x:%04x)", i ? ", " : "",
			      u.busid, u.vendor, u.product);
		for (u32 j = 0; j < u.nr_ifaces; j++)
			if (io_all(fd, iface, 4, false))
				goto out;
		if (o >= len)
			break;
	}
out:
	close(fd);
}

static enum usb_speed speed_of(u32 s)
{
	switch (s) {
	case 1: return USB_SPEED_LOW;
	case 2: return USB_SPEED_FULL;
	case 3: case 4: return USB_SPEED_HIGH;
	default: return USB_SPEED_SUPER;
	}
}

static void try_connect(struct ipdev *r)
{
	u8 req[USBIP_OP_HDR + USBIP_BUSID_LEN], hdr[USBIP_OP_HDR], udev[USBIP_UDEV_LEN];
	struct usbip_udev u;
	char err[400];
	u32 st;
	int fd = dial(&r->p, err, sizeof(err)), ret;

	if (fd < 0)
		goto fail;
	usbip__op_request(req, USBIP_OP_REQ_IMPORT, r->p.busid);
	ret = io_all(fd, req, sizeof(req), true);
	if (!ret)
		ret = io_all(fd, hdr, sizeof(hdr), false);
	if (ret) {
		snprintf(err, sizeof(err), "the import request: %s", strerror(-ret));
		goto fail;
	}
	if (usbip__parse_op_reply(hdr, USBIP_OP_REP_IMPORT, &st)) {
		snprintf(err, sizeof(err), "the server's answer is not OP_REP_IMPORT");
		goto fail;
	}
	if (st) {
		char list[512];

		close(fd);
		fd = -1;
		devlist(r, list, sizeof(list));
		snprintf(err, sizeof(err), "the server does not export %s (it has: %.100s); run "
			 "`usbip bind -b %s` there", r->p.busid, list[0] ? list : "nothing", r->p.busid);
		goto fail;
	}
	if (io_all(fd, udev, sizeof(udev), false) || usbip__parse_udev(udev, &u)) {
		snprintf(err, sizeof(err), "the server's device description is cut short or invalid");
		goto fail;
	}
	pthread_mutex_lock(&r->lock);
	r->fd = fd;
	r->devid = u.busnum << 16 | u.devnum;
	r->hdr_got = 0;
	r->cur = NULL;
	r->connected = true;
	r->dev.speed = speed_of(u.speed);
	r->dev.vendor = u.vendor;
	r->dev.product = u.product;
	r->last_error[0] = 0;
	pthread_mutex_unlock(&r->lock);
	r->connects++;
	evloop__add(r->loop, fd, EPOLLIN, on_sock, r);
	pr_info("%s: imported %s (%04x:%04x) from the USB/IP server %s:%s", r->dev.id, r->p.busid,
		u.vendor, u.product, r->p.host, r->p.port);
	usb__plug(&r->dev);
	return;
fail:
	if (fd >= 0)
		close(fd);
	if (strcmp(err, r->last_error)) {
		pr_warn("%s: USB/IP import of %s from %s:%s failed: %s; retrying every %d s", r->dev.id,
			r->p.busid, r->p.host, r->p.port, err, IP_RETRY_MS / 1000);
		snprintf(r->last_error, sizeof(r->last_error), "%s", err);
	}
	arm_retry(r, IP_RETRY_MS);
}

static void on_timer(int fd, u32 events __unused, void *opaque)
{
	struct ipdev *r = opaque;
	u64 n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	if (r->fd < 0)
		try_connect(r);
}

static void on_kick(int fd, u32 events __unused, void *opaque)
{
	struct ipdev *r = opaque;
	u64 n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	flush(r);
}

/* ---- the device (the controller's thread) ---- */

static int ip_submit(struct ipdev *r, struct usb_packet *p, const u8 *setup, u32 len)
{
	u8 hdr[USBIP_HDR];
	struct ip_pend *x;
	bool in = p ? p->in : false;

	if (r->nr_pending >= IP_MAX_PENDING)
		return -1;
	x = xzalloc(sizeof(*x));
	x->seq = ++r->seq;
	x->p = p;
	x->in = in;
	x->len = len;
	x->next = r->pending;
	r->pending = x;
	r->nr_pending++;
	usbip__cmd_submit(hdr, x->seq, r->devid, in, p ? p->ep : 0,
			  in ? USBIP_URB_DIR_IN : 0, len, setup);
	out_append(r, hdr, sizeof(hdr));
	if (!in && len)
		out_append(r, p->buf, len);
	r->submitted++;
	return 0;
}

static int ip_handle(struct usb_dev *d, struct usb_packet *p)
{
	struct ipdev *r = container_of(d, struct ipdev, dev);
	u32 len = p->len;
	int ret;

	if (p->type == USB_XFER_ISO) {
		pr_warn_guest("%s: isochronous transfers are not forwarded over USB/IP", d->id);
		return p->status = USB_RET_IOERROR;
	}
	if (p->len > USBIP_MAX_LEN)
		return p->status = USB_RET_IOERROR;
	pthread_mutex_lock(&r->lock);
	if (!r->connected) {
		pthread_mutex_unlock(&r->lock);
		return p->status = USB_RET_NODEV;
	}
	if (p->type == USB_XFER_CONTROL)
		len = MIN((u32)p->setup.wLength, p->len);
	ret = ip_submit(r, p, p->type == USB_XFER_CONTROL ? (const u8 *)&p->setup : NULL, len);
	pthread_mutex_unlock(&r->lock);
	if (ret) {
		pr_warn_guest("%s: too many packets waiting for the USB/IP server", d->id);
		return p->status = USB_RET_IOERROR;
	}
	kick(r);
	return USB_RET_ASYNC;
}

static bool ip_cancel(struct usb_dev *d, struct usb_packet *p)
{
	struct ipdev *r = container_of(d, struct ipdev, dev);
	bool sent = false;

	pthread_mutex_lock(&r->lock);
	for (struct ip_pend *x = r->pending; x; x = x->next) {
		u8 hdr[USBIP_HDR];
		struct ip_pend *u;

		if (x->p != p || x->unlinked || !r->connected)
			continue;
		x->unlinked = true;
		/* the unlink's own answer is not waited for (p NULL) */
		u = xzalloc(sizeof(*u));
		u->seq = ++r->seq;
		u->victim = x->seq;
		u->next = r->pending;
		r->pending = u;
		r->nr_pending++;
		usbip__cmd_unlink(hdr, u->seq, r->devid, x->seq);
		out_append(r, hdr, sizeof(hdr));
		r->unlinks++;
		sent = true;
		/* whichever comes, RET_SUBMIT (it finished first) or RET_UNLINK,
		 * the controller has let go of the packet */
		x->p = NULL;
		break;
	}
	pthread_mutex_unlock(&r->lock);
	if (sent)
		kick(r);
	/* the packet will not be completed (the pending entry forgot it) */
	return sent;
}

static void ip_reset(struct usb_dev *d)
{
	struct ipdev *r = container_of(d, struct ipdev, dev);
	/* usbip-host resets the device on a hub's SET_FEATURE(PORT_RESET) */
	static const u8 setup[8] = { 0x23, USB_REQ_SET_FEATURE, 4, 0, 0, 0, 0, 0 };

	pthread_mutex_lock(&r->lock);
	if (r->connected)
		ip_submit(r, NULL, setup, 0);
	pthread_mutex_unlock(&r->lock);
	kick(r);
}

static void ip_status(struct usb_dev *d, json_object *o)
{
	struct ipdev *r = container_of(d, struct ipdev, dev);
	char server[300];

	snprintf(server, sizeof(server), "%s:%s", r->p.host, r->p.port);
	pthread_mutex_lock(&r->lock);
	json_object_object_add(o, "server", json_object_new_string(server));
	json_object_object_add(o, "busid", json_object_new_string(r->p.busid));
	json_object_object_add(o, "connected", json_object_new_boolean(r->connected));
	json_object_object_add(o, "connects", json_object_new_int64(r->connects));
	json_object_object_add(o, "submitted", json_object_new_int64(r->submitted));
	json_object_object_add(o, "in-flight", json_object_new_int(r->nr_pending));
	json_object_object_add(o, "unlinks", json_object_new_int64(r->unlinks));
	json_object_object_add(o, "protocol-errors", json_object_new_int64(r->errors));
	if (r->last_error[0])
		json_object_object_add(o, "last-error", json_object_new_string(r->last_error));
	pthread_mutex_unlock(&r->lock);
}

static void free_list(struct ip_pend *x)
{
	while (x) {
		struct ip_pend *n = x->next;

		free(x);
		x = n;
	}
}

static void ip_destroy(struct usb_dev *d)
{
	struct ipdev *r = container_of(d, struct ipdev, dev);

	if (r->loop) {
		evloop__join(r->loop);
		evloop__free(r->loop);
	}
	if (r->fd >= 0)
		close(r->fd);
	if (r->kick_fd >= 0)
		close(r->kick_fd);
	if (r->timer_fd >= 0)
		close(r->timer_fd);
	free_list(r->pending);
	free_list(r->done);
	free(r->cur);
	free(r->out);
	free(r->dev.id);
	free(r);
}

static const struct usb_dev_ops ip_ops = {
	.kind = "remote-host",
	.handle = ip_handle,
	.cancel = ip_cancel,
	.reset = ip_reset,
	.status = ip_status,
	.destroy = ip_destroy,
};

/* ---- the kind ---- */

int usbip__parse_server(const char *s, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon;

	if (!s || !*s)
		return -1;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end == s + 1 || (size_t)(end - s - 1) >= hlen)
			return -1;
		snprintf(host, hlen, "%.*s", (int)(end - s - 1), s + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return -1;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			return -1;	/* a bare IPv6 address: needs [] */
		if ((size_t)(colon ? colon - s : (long)strlen(s)) >= hlen || colon == s)
			return -1;
		snprintf(host, hlen, "%.*s", (int)(colon ? colon - s : (long)strlen(s)), s);
	}
	if (colon) {
		u64 v;

		if (parse_u64(colon + 1, 1, 65535, &v))
			return -1;
		snprintf(port, plen, "%llu", (unsigned long long)v);
	} else {
		snprintf(port, plen, "%d", USBIP_PORT);
	}
	return 0;
}

static int ip_parse(json_object *b, void **priv, char **err)
{
	static const char *const keys[] = { "server", "busid", NULL };
	struct ip_params *p = xzalloc(sizeof(*p));
	const char *server, *busid;

	*priv = p;
	if (usb_opt_keys(b, keys, err) || usb_opt_string(b, "server", true, &server, err) ||
	    usb_opt_string(b, "busid", true, &busid, err))
		return -1;
	if (usbip__parse_server(server, p->host, sizeof(p->host), p->port, sizeof(p->port)))
		return usb_err(err, "server '%s' is not HOST[:PORT] (IPv6 as [ADDR]:PORT); the port "
			       "is %d by default", server, USBIP_PORT);
	if (!*busid || strlen(busid) >= USBIP_BUSID_LEN || strspn(busid, "0123456789-.") != strlen(busid))
		return usb_err(err, "busid '%s' is not a USB bus id such as 1-1 or 3-2.4 (see "
			       "`usbip list -r HOST`)", busid);
	snprintf(p->busid, sizeof(p->busid), "%s", busid);
	return 0;
}

static int ip_create(struct vm *vm __unused, const char *id, void *priv, struct usb_dev **out,
		     char **err)
{
	struct ip_params *p = priv;
	struct ipdev *r = xzalloc(sizeof(*r));
	char tname[32];

	r->p = *p;
	r->fd = -1;
	pthread_mutex_init(&r->lock, NULL);
	r->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	snprintf(tname, sizeof(tname), "usbip-%s", id);
	r->loop = evloop__new(tname);
	if (r->kick_fd < 0 || r->timer_fd < 0 || !r->loop) {
		ip_destroy(&r->dev);
		return usb_err(err, "cannot set up the USB/IP client"), -ENOMEM;
	}
	r->dev.ops = &ip_ops;
	r->dev.backing = "remote-host";
	r->dev.migratable = true;
	r->dev.persistent = true;
	r->dev.speed = USB_SPEED_HIGH;
	snprintf(r->dev.product_name, sizeof(r->dev.product_name), "USB/IP %s", p->busid);
	evloop__add(r->loop, r->kick_fd, EPOLLIN, on_kick, r);
	evloop__add(r->loop, r->timer_fd, EPOLLIN, on_timer, r);
	if (evloop__start(r->loop)) {
		ip_destroy(&r->dev);
		return usb_err(err, "cannot start the USB/IP thread"), -ENOMEM;
	}
	/* the first connection, on the thread, right away */
	arm_retry(r, 1);
	*out = &r->dev;
	return 0;
}

static struct usb_kind ip_kind = {
	.name = "remote-host", .parse = ip_parse, .create = ip_create,
};
usb_kind(ip_kind);

/* ---- the fuzzer's entry: a connected device fed a byte stream ---- */

int usb_ip__fuzz(const u8 *data, size_t len)
{
	struct ipdev *r = xzalloc(sizeof(*r));
	int bad = 0;

	pthread_mutex_init(&r->lock, NULL);
	r->fd = r->kick_fd = r->timer_fd = -1;
	r->connected = true;
	r->dev.id = xstrdup("fuzz");
	/* four packets in flight: IN and OUT, seq 1..4 */
	for (int i = 0; i < 4; i++) {
		struct usb_packet *p = &r->fuzz_pkt[i];

		p->buf = r->fuzz_buf[i];
		p->len = i * 100 + 13;
		p->in = i & 1;
		ip_submit(r, p, NULL, p->len);
	}
	/* in chunks, as recv would give them */
	for (size_t off = 0; off < len && !bad;) {
		size_t n = MIN(len - off, (size_t)(data[off] % 64 + 1));

		bad = usbip__rx(r, data + off, n);
		off += n;
	}
	free_list(r->pending);
	free_list(r->done);
	free(r->cur);
	free(r->out);
	free(r->dev.id);
	free(r);
	return bad;
}
