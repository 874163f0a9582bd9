// SPDX-License-Identifier: GPL-2.0
/*
 * Backing "remote-client": a device forwarded over the network by a client
 * with the usbredir protocol (the seeds' RemoteClientBackingInfo: the
 * device travels with the VM's remote console).  dpvm listens (loopback by
 * default, next to the VNC console) and is usbredir's "usb-guest" side; the
 * client is the "usb-host" side, e.g.
 *
 *   usbredirect --device 0781:5567 --to 127.0.0.1:7700
 *
 * The protocol is libusbredirparser's.  When the client announces its
 * device (device_connect) dpvm plugs it into a free port; when it says the
 * device is gone, or hangs up, dpvm unplugs it and waits for the next
 * client.  One client at a time.
 *
 *   control    -> control_packet (SET_CONFIGURATION and SET_INTERFACE as
 *                 set_configuration / set_alt_setting)
 *   bulk       -> bulk_packet (32-bit lengths when the client has the cap)
 *   interrupt  IN: start_interrupt_receiving once, then the client streams
 *                 reports that dpvm queues for the guest's polls; OUT:
 *                 interrupt_packet
 *   cancel     -> cancel_data_packet; the client answers with the packet
 *
 * Everything the peer sends is checked against what dpvm asked for: a
 * reply to an id dpvm does not have pending, a length beyond the guest's
 * buffer, a device_connect while one is plugged: logged, dropped, or the
 * connection closed.  The device's state lives with the client: the VM may
 * migrate (the client reconnects to the new host).
 */
#include "devices/usb-kind.h"
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vnc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <usbredirparser.h>

#define REDIR_VERSION		"dpvm usbredir"
#define REDIR_INTR_QUEUE	64	/* interrupt reports kept per endpoint */
#define REDIR_MAX_PENDING	1024

struct fuzz_in;

struct redir_params {
	struct vnc_listen listen;
	char listen_str[80];
};

enum pend_kind { PEND_DATA, PEND_CONFIG, PEND_ALT };

struct pend {
	u64 id;
	struct usb_packet *p;
	enum pend_kind kind;
	struct pend *next;
};

static void free_list(struct pend *x)
{
	while (x) {
		struct pend *n = x->next;

		free(x);
		x = n;
	}
}

struct intr_pkt {
	u8 data[1024];
	u32 len;
	int status;
};

struct redir {
	struct usb_dev dev;
	struct redir_params p;
	struct evloop *loop;
	int lfd, cfd, kick_fd;
	struct usbredirparser *parser;	/* while a client is connected */
	bool closing;
	pthread_mutex_t lock;	/* below; inner to the controller's lock */
	bool connected;		/* the client announced its device */
	struct pend *pending;
	unsigned int nr_pending;
	struct {
		bool started;
		struct intr_pkt q[REDIR_INTR_QUEUE];
		unsigned int head, count;
	} intr[16];
	u64 next_id;
	struct pend *done;	/* completed in a callback, handed to the controller after */
	char peer[64];
	u64 connects, packets, bad_replies;
	struct fuzz_in *fuzz;	/* usb_redir__fuzz's input */
};

static int status_of(u8 s)
{
	switch (s) {
	case usb_redir_success: return USB_RET_SUCCESS;
	case usb_redir_stall: return USB_RET_STALL;
	case usb_redir_babble: return USB_RET_BABBLE;
	case usb_redir_cancelled: return USB_RET_CANCELLED;
	default: return USB_RET_IOERROR;
	}
}

/* ---- the parser's callbacks (the redir thread) ---- */

static void r_log(void *priv, int level, const char *msg)
{
	struct redir *r = priv;

	if (level <= usbredirparser_warning)
		pr_warn_guest("%s: usbredir: %s", r->dev.id, msg);
	else
		pr_debug("%s: usbredir: %s", r->dev.id, msg);
}

static int r_read(void *priv, uint8_t *data, int count)
{
	struct redir *r = priv;
	ssize_t n = recv(r->cfd, data, count, MSG_DONTWAIT);
	int one = 1;

	if (n > 0) {
		/* ACK at once: a client that leaves Nagle on would otherwise wait
		 * for our delayed ACK before its next small reply */
		setsockopt(r->cfd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		return n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	r->closing = true;	/* EOF or an error */
	return -1;
}

static int r_write(void *priv, uint8_t *data, int count)
{
	struct redir *r = priv;
	ssize_t n = send(r->cfd, data, count, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	r->closing = true;
	return -1;
}

static void *r_alloc_lock(void)
{
	pthread_mutex_t *m = xzalloc(sizeof(*m));

	pthread_mutex_init(m, NULL);
	return m;
}

static void r_lock(void *l) { pthread_mutex_lock(l); }
static void r_unlock(void *l) { pthread_mutex_unlock(l); }

static void r_free_lock(void *l)
{
	pthread_mutex_destroy(l);
	free(l);
}

/* take the pending packet of id out of the table (r->lock held) */
static struct pend *take(struct redir *r, u64 id, enum pend_kind kind)
{
	for (struct pend **pp = &r->pending; *pp; pp = &(*pp)->next) {
		struct pend *x = *pp;

		if (x->id != id)
			continue;
		if (x->kind != kind)
			break;
		*pp = x->next;
		r->nr_pending--;
		return x;
	}
	r->bad_replies++;
	pr_warn_guest("%s: the usbredir client answered packet %llu, which dpvm did not send or "
		      "already has the answer of; dropped", r->dev.id, (unsigned long long)id);
	return NULL;
}

/* hand a finished packet to the controller once the callback returns */
static void finish(struct redir *r, struct pend *x)
{
	x->next = r->done;
	r->done = x;
}

static void r_hello(void *priv, struct usb_redir_hello_header *h)
{
	struct redir *r = priv;

	pr_info("%s: usbredir client %s: %.64s", r->dev.id, r->peer, h->version);
}

static enum usb_speed speed_of(u8 s)
{
	switch (s) {
	case usb_redir_speed_low: return USB_SPEED_LOW;
	case usb_redir_speed_full: return USB_SPEED_FULL;
	case usb_redir_speed_super: return USB_SPEED_SUPER;
	default: return USB_SPEED_HIGH;
	}
}

static void r_device_connect(void *priv, struct usb_redir_device_connect_header *h)
{
	struct redir *r = priv;

	pthread_mutex_lock(&r->lock);
	if (r->connected) {
		pthread_mutex_unlock(&r->lock);
		pr_warn_guest("%s: the usbredir client announced a second device; ignored", r->dev.id);
		return;
	}
	/* the speed decides the port: set before the main thread plugs it */
	r->dev.speed = speed_of(h->speed);
	r->dev.vendor = h->vendor_id;
	r->dev.product = h->product_id;
	r->connected = true;
	memset(r->intr, 0, sizeof(r->intr));
	pthread_mutex_unlock(&r->lock);
	pr_info("%s: the usbredir client %s offers %04x:%04x (class %02x, %s speed)", r->dev.id,
		r->peer, h->vendor_id, h->product_id, h->device_class,
		h->speed == usb_redir_speed_super ? "super" : h->speed == usb_redir_speed_high ? "high" :
		h->speed == usb_redir_speed_full ? "full" : "low");
	usb__plug(&r->dev);
}

/* every pending packet fails (NODEV); called with r->lock held */
static void fail_pending(struct redir *r)
{
	while (r->pending) {
		struct pend *x = r->pending;

		r->pending = x->next;
		if (x->p) {
			x->p->status = USB_RET_NODEV;
			x->p->actual = 0;
		}
		finish(r, x);
	}
	r->nr_pending = 0;
}

static void r_device_disconnect(void *priv)
{
	struct redir *r = priv;

	pthread_mutex_lock(&r->lock);
	r->connected = false;
	fail_pending(r);
	pthread_mutex_unlock(&r->lock);
	usb__unplug(&r->dev, "the usbredir client took the device away");
}

/* the answer to a set_configuration or set_alt_setting: a status, no data */
static void status_reply(struct redir *r, u64 id, enum pend_kind kind, u8 status)
{
	struct pend *x;

	pthread_mutex_lock(&r->lock);
	x = take(r, id, kind);
	if (x && x->p) {
		x->p->status = status_of(status);
		x->p->actual = 0;
	}
	if (x)
		finish(r, x);
	pthread_mutex_unlock(&r->lock);
}

static void r_configuration_status(void *priv, uint64_t id,
				   struct usb_redir_configuration_status_header *h)
{
	status_reply(priv, id, PEND_CONFIG, h->status);
}

static void r_alt_setting_status(void *priv, uint64_t id,
				 struct usb_redir_alt_setting_status_header *h)
{
	status_reply(priv, id, PEND_ALT, h->status);
}

/* a data reply: IN data into the guest's buffer (at most its length) */
static void data_reply(struct redir *r, u64 id, u8 status, u32 len, const u8 *data, int data_len)
{
	struct pend *x;

	pthread_mutex_lock(&r->lock);
	x = take(r, id, PEND_DATA);
	if (x && !x->p) {
		finish(r, x);	/* the answer to a cancelled packet */
	} else if (x) {
		struct usb_packet *p = x->p;

		p->status = status_of(status);
		if (p->in) {
			u32 n = (u32)MAX(data_len, 0);

			if (n > p->len) {
				pr_warn_guest("%s: the usbredir client sent %u bytes for a %u-byte buffer; "
					      "babble", r->dev.id, n, p->len);
				n = p->len;
				p->status = USB_RET_BABBLE;
			}
			if (n)
				memcpy(p->buf, data, n);
			p->actual = n;
		} else {
			p->actual = MIN(len, p->len);
		}
		r->packets++;
		finish(r, x);
	}
	pthread_mutex_unlock(&r->lock);
}

static void r_control_packet(void *priv, uint64_t id, struct usb_redir_control_packet_header *h,
			     uint8_t *data, int data_len)
{
	struct redir *r = priv;

	data_reply(r, id, h->status, h->length, data, data_len);
	usbredirparser_free_packet_data(r->parser, data);
}

static void r_bulk_packet(void *priv, uint64_t id, struct usb_redir_bulk_packet_header *h,
			  uint8_t *data, int data_len)
{
	struct redir *r = priv;

	data_reply(r, id, h->status, h->length | (u32)h->length_high << 16, data, data_len);
	usbredirparser_free_packet_data(r->parser, data);
}

static void r_interrupt_packet(void *priv, uint64_t id,
			       struct usb_redir_interrupt_packet_header *h, uint8_t *data,
			       int data_len)
{
	struct redir *r = priv;
	unsigned int ep = h->endpoint & 0xf;
	bool wake = false;

	if (!(h->endpoint & 0x80)) {
		/* an interrupt OUT's completion */
		data_reply(r, id, h->status, h->length, data, data_len);
		usbredirparser_free_packet_data(r->parser, data);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (r->intr[ep].started) {
		struct intr_pkt *q;

		if (r->intr[ep].count == REDIR_INTR_QUEUE) {
			/* the guest does not poll: the oldest report goes */
			r->intr[ep].head = (r->intr[ep].head + 1) % REDIR_INTR_QUEUE;
			r->intr[ep].count--;
		}
		q = &r->intr[ep].q[(r->intr[ep].head + r->intr[ep].count) % REDIR_INTR_QUEUE];
		q->len = MIN((u32)MAX(data_len, 0), (u32)sizeof(q->data));
		memcpy(q->data, data, q->len);
		q->status = status_of(h->status);
		r->intr[ep].count++;
		wake = true;
	}
	pthread_mutex_unlock(&r->lock);
	usbredirparser_free_packet_data(r->parser, data);
	if (wake)
		usb__wakeup(&r->dev, ep, true);
}

static void r_interrupt_receiving_status(void *priv, uint64_t id __unused,
					 struct usb_redir_interrupt_receiving_status_header *h)
{
	struct redir *r = priv;

	if (h->status != usb_redir_success) {
		pthread_mutex_lock(&r->lock);
		r->intr[h->endpoint & 0xf].started = false;
		pthread_mutex_unlock(&r->lock);
		pr_warn_guest("%s: the usbredir client cannot receive on interrupt endpoint %#x",
			      r->dev.id, h->endpoint);
	}
}

/* what a usb-guest never gets, or does not use: logged and dropped */
static void unexpected(struct redir *r, const char *what)
{
	pr_debug("%s: usbredir: ignored %s from the client", r->dev.id, what);
}

static void r_reset(void *priv) { unexpected(priv, "reset"); }
static void r_interface_info(void *priv, struct usb_redir_interface_info_header *h __unused)
{ unexpected(priv, "interface info"); }
static void r_ep_info(void *priv, struct usb_redir_ep_info_header *h __unused)
{ unexpected(priv, "endpoint info"); }
static void r_set_configuration(void *priv, uint64_t id __unused,
				struct usb_redir_set_configuration_header *h __unused)
{ unexpected(priv, "set_configuration"); }
static void r_get_configuration(void *priv, uint64_t id __unused)
{ unexpected(priv, "get_configuration"); }
static void r_set_alt_setting(void *priv, uint64_t id __unused,
			      struct usb_redir_set_alt_setting_header *h __unused)
{ unexpected(priv, "set_alt_setting"); }
static void r_get_alt_setting(void *priv, uint64_t id __unused,
			      struct usb_redir_get_alt_setting_header *h __unused)
{ unexpected(priv, "get_alt_setting"); }
static void r_start_iso(void *priv, uint64_t id __unused, struct usb_redir_start_iso_stream_header *h __unused)
{ unexpected(priv, "start_iso_stream"); }
static void r_stop_iso(void *priv, uint64_t id __unused, struct usb_redir_stop_iso_stream_header *h __unused)
{ unexpected(priv, "stop_iso_stream"); }
static void r_iso_status(void *priv, uint64_t id __unused, struct usb_redir_iso_stream_status_header *h __unused)
{ unexpected(priv, "iso_stream_status"); }
static void r_start_intr(void *priv, uint64_t id __unused,
			 struct usb_redir_start_interrupt_receiving_header *h __unused)
{ unexpected(priv, "start_interrupt_receiving"); }
static void r_stop_intr(void *priv, uint64_t id __unused,
			struct usb_redir_stop_interrupt_receiving_header *h __unused)
{ unexpected(priv, "stop_interrupt_receiving"); }
static void r_alloc_streams(void *priv, uint64_t id __unused,
			    struct usb_redir_alloc_bulk_streams_header *h __unused)
{ unexpected(priv, "alloc_bulk_streams"); }
static void r_free_streams(void *priv, uint64_t id __unused,
			   struct usb_redir_free_bulk_streams_header *h __unused)
{ unexpected(priv, "free_bulk_streams"); }
static void r_streams_status(void *priv, uint64_t id __unused,
			     struct usb_redir_bulk_streams_status_header *h __unused)
{ unexpected(priv, "bulk_streams_status"); }
static void r_cancel(void *priv, uint64_t id __unused) { unexpected(priv, "cancel_data_packet"); }
static void r_filter_reject(void *priv) { unexpected(priv, "filter_reject"); }
static void r_filter_filter(void *priv, struct usbredirfilter_rule *rules, int n __unused)
{
	unexpected(priv, "filter_filter");
	free(rules);
}
static void r_disconnect_ack(void *priv) { unexpected(priv, "device_disconnect_ack"); }
static void r_start_bulk_recv(void *priv, uint64_t id __unused,
			      struct usb_redir_start_bulk_receiving_header *h __unused)
{ unexpected(priv, "start_bulk_receiving"); }
static void r_stop_bulk_recv(void *priv, uint64_t id __unused,
			     struct usb_redir_stop_bulk_receiving_header *h __unused)
{ unexpected(priv, "stop_bulk_receiving"); }
static void r_bulk_recv_status(void *priv, uint64_t id __unused,
			       struct usb_redir_bulk_receiving_status_header *h __unused)
{ unexpected(priv, "bulk_receiving_status"); }

static void r_iso_packet(void *priv, uint64_t id __unused, struct usb_redir_iso_packet_header *h __unused,
			 uint8_t *data, int len __unused)
{
	struct redir *r = priv;

	unexpected(r, "an iso packet");
	usbredirparser_free_packet_data(r->parser, data);
}

static void r_buffered_bulk(void *priv, uint64_t id __unused,
			    struct usb_redir_buffered_bulk_packet_header *h __unused, uint8_t *data,
			    int len __unused)
{
	struct redir *r = priv;

	unexpected(r, "a buffered bulk packet");
	usbredirparser_free_packet_data(r->parser, data);
}

/* ---- the connection (the redir thread) ---- */

static void complete_done(struct redir *r)
{
	struct pend *list;

	pthread_mutex_lock(&r->lock);
	list = r->done;
	r->done = NULL;
	pthread_mutex_unlock(&r->lock);
	while (list) {
		struct pend *x = list;

		list = x->next;
		if (x->p)
			usb__complete(x->p);
		free(x);
	}
}

static void flush(struct redir *r)
{
	if (!r->parser)
		return;
	if (usbredirparser_has_data_to_write(r->parser))
		usbredirparser_do_write(r->parser);
	evloop__modify(r->loop, r->cfd, EPOLLIN |
		       (usbredirparser_has_data_to_write(r->parser) ? EPOLLOUT : 0));
}

static void hang_up(struct redir *r, const char *why)
{
	struct usbredirparser *parser = r->parser;
	bool had = false;

	evloop__del(r->loop, r->cfd);
	close(r->cfd);
	r->cfd = -1;
	pthread_mutex_lock(&r->lock);
	r->parser = NULL;
	had = r->connected;
	r->connected = false;
	fail_pending(r);
	pthread_mutex_unlock(&r->lock);
	complete_done(r);
	usbredirparser_destroy(parser);
	pr_info("%s: usbredir client %s %s", r->dev.id, r->peer, why);
	if (had)
		usb__unplug(&r->dev, "the usbredir client disconnected");
}

static void on_client(int fd __unused, u32 events, void *opaque)
{
	struct redir *r = opaque;

	if (events & EPOLLIN) {
		int ret = usbredirparser_do_read(r->parser);

		complete_done(r);
		if (ret == usbredirparser_read_parse_error) {
			pr_warn_guest("%s: the usbredir client %s sent a malformed packet; hanging up",
				      r->dev.id, r->peer);
			hang_up(r, "hung up on: malformed packet");
			return;
		}
	}
	if (r->closing || (events & (EPOLLHUP | EPOLLERR))) {
		hang_up(r, "disconnected");
		return;
	}
	flush(r);
}

static struct usbredirparser *new_parser(struct redir *r)
{
	struct usbredirparser *p = usbredirparser_create();
	uint32_t caps[USB_REDIR_CAPS_SIZE] = { 0 };

	if (!p)
		return NULL;
	p->priv = r;
	p->log_func = r_log;
	p->read_func = r_read;
	p->write_func = r_write;
	p->hello_func = r_hello;
	p->device_connect_func = r_device_connect;
	p->device_disconnect_func = r_device_disconnect;
	p->configuration_status_func = r_configuration_status;
	p->alt_setting_status_func = r_alt_setting_status;
	p->control_packet_func = r_control_packet;
	p->bulk_packet_func = r_bulk_packet;
	p->interrupt_packet_func = r_interrupt_packet;
	p->interrupt_receiving_status_func = r_interrupt_receiving_status;
	p->reset_func = r_reset;
	p->interface_info_func = r_interface_info;
	p->ep_info_func = r_ep_info;
	p->set_configuration_func = r_set_configuration;
	p->get_configuration_func = r_get_configuration;
	p->set_alt_setting_func = r_set_alt_setting;
	p->get_alt_setting_func = r_get_alt_setting;
	p->start_iso_stream_func = r_start_iso;
	p->stop_iso_stream_func = r_stop_iso;
	p->iso_stream_status_func = r_iso_status;
	p->start_interrupt_receiving_func = r_start_intr;
	p->stop_interrupt_receiving_func = r_stop_intr;
	p->alloc_bulk_streams_func = r_alloc_streams;
	p->free_bulk_streams_func = r_free_streams;
	p->bulk_streams_status_func = r_streams_status;
	p->cancel_data_packet_func = r_cancel;
	p->iso_packet_func = r_iso_packet;
	p->filter_reject_func = r_filter_reject;
	p->filter_filter_func = r_filter_filter;
	p->device_disconnect_ack_func = r_disconnect_ack;
	p->start_bulk_receiving_func = r_start_bulk_recv;
	p->stop_bulk_receiving_func = r_stop_bulk_recv;
	p->bulk_receiving_status_func = r_bulk_recv_status;
	p->buffered_bulk_packet_func = r_buffered_bulk;
	p->alloc_lock_func = r_alloc_lock;
	p->lock_func = r_lock;
	p->unlock_func = r_unlock;
	p->free_lock_func = r_free_lock;
	usbredirparser_caps_set_cap(caps, usb_redir_cap_connect_device_version);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_ep_info_max_packet_size);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_64bits_ids);
	usbredirparser_caps_set_cap(caps, usb_redir_cap_32bits_bulk_length);
	usbredirparser_init(p, REDIR_VERSION, caps, USB_REDIR_CAPS_SIZE, 0);
	return p;
}

static void on_listen(int fd, u32 events __unused, void *opaque)
{
	struct redir *r = opaque;
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int c = accept4(fd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK), one = 1;
	char host[64] = "?";

	if (c < 0)
		return;
	if (sa.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, host, sizeof(host));
	else if (sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, host, sizeof(host));
	if (r->cfd >= 0) {
		pr_warn("%s: usbredir client %s refused: %s is connected (one client at a time)",
			r->dev.id, host, r->peer);
		close(c);
		return;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r->cfd = c;
	r->closing = false;
	snprintf(r->peer, sizeof(r->peer), "%s", host);
	pthread_mutex_lock(&r->lock);
	r->parser = new_parser(r);
	pthread_mutex_unlock(&r->lock);
	if (!r->parser) {
		close(c);
		r->cfd = -1;
		return;
	}
	r->connects++;
	evloop__add(r->loop, c, EPOLLIN, on_client, r);
	pr_info("%s: usbredir client %s connected", r->dev.id, host);
	flush(r);	/* our hello */
}

static void on_kick(int fd, u32 events __unused, void *opaque)
{
	struct redir *r = opaque;
	u64 n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	flush(r);
}

static void kick(struct redir *r)
{
	u64 one = 1;

	if (write(r->kick_fd, &one, sizeof(one)) < 0)
		pr_debug("%s: kick: %s", r->dev.id, strerror(errno));
}

/* ---- the device (the controller's thread) ---- */

static int queue(struct redir *r, struct usb_packet *p, enum pend_kind kind, u64 *id)
{
	struct pend *x;

	if (r->nr_pending >= REDIR_MAX_PENDING)
		return -1;
	x = xzalloc(sizeof(*x));
	x->id = *id = ++r->next_id;
	x->p = p;
	x->kind = kind;
	x->next = r->pending;
	r->pending = x;
	r->nr_pending++;
	return 0;
}

static int redir_handle(struct usb_dev *d, struct usb_packet *p)
{
	struct redir *r = container_of(d, struct redir, dev);
	u8 epaddr = p->ep | (p->in ? 0x80 : 0);
	u64 id;
	int ret = USB_RET_ASYNC;

	pthread_mutex_lock(&r->lock);
	if (!r->connected || !r->parser) {
		pthread_mutex_unlock(&r->lock);
		return p->status = USB_RET_NODEV;
	}
	if (p->type == USB_XFER_INT && p->in) {
		unsigned int ep = p->ep & 0xf;

		if (!r->intr[ep].started) {
			struct usb_redir_start_interrupt_receiving_header h = { .endpoint = epaddr };

			r->intr[ep].started = true;
			usbredirparser_send_start_interrupt_receiving(r->parser, 0, &h);
			ret = USB_RET_NAK;
		} else if (!r->intr[ep].count) {
			ret = USB_RET_NAK;
		} else {
			struct intr_pkt *q = &r->intr[ep].q[r->intr[ep].head];

			r->intr[ep].head = (r->intr[ep].head + 1) % REDIR_INTR_QUEUE;
			r->intr[ep].count--;
			usb_packet__reply(p, q->data, MIN(q->len, p->len));
			ret = p->status = q->status;
		}
		pthread_mutex_unlock(&r->lock);
		if (ret == USB_RET_NAK)
			kick(r);
		return ret;
	}
	if (p->type == USB_XFER_ISO) {
		pthread_mutex_unlock(&r->lock);
		pr_warn_guest("%s: isochronous transfers are not forwarded over usbredir", d->id);
		return p->status = USB_RET_IOERROR;
	}
	if (p->type == USB_XFER_BULK && p->len > 0xffff &&
	    !usbredirparser_peer_has_cap(r->parser, usb_redir_cap_32bits_bulk_length)) {
		pthread_mutex_unlock(&r->lock);
		pr_warn_guest("%s: a %u-byte bulk transfer, the usbredir client takes at most 65535",
			      d->id, p->len);
		return p->status = USB_RET_IOERROR;
	}
	if (p->type == USB_XFER_CONTROL && p->setup.bmRequestType == 0 &&
	    p->setup.bRequest == USB_REQ_SET_CONFIGURATION) {
		struct usb_redir_set_configuration_header h = { .configuration = p->setup.wValue };

		if (queue(r, p, PEND_CONFIG, &id))
			goto busy;
		usbredirparser_send_set_configuration(r->parser, id, &h);
	} else if (p->type == USB_XFER_CONTROL && p->setup.bmRequestType == USB_RECIP_INTERFACE &&
		   p->setup.bRequest == USB_REQ_SET_INTERFACE) {
		struct usb_redir_set_alt_setting_header h = { .interface = p->setup.wIndex,
							       .alt = p->setup.wValue };

		if (queue(r, p, PEND_ALT, &id))
			goto busy;
		usbredirparser_send_set_alt_setting(r->parser, id, &h);
	} else if (p->type == USB_XFER_CONTROL) {
		struct usb_redir_control_packet_header h = {
			.endpoint = p->setup.bmRequestType & USB_DIR_IN,
			.request = p->setup.bRequest, .requesttype = p->setup.bmRequestType,
			.value = p->setup.wValue, .index = p->setup.wIndex,
			.length = MIN(p->setup.wLength, p->len),
		};

		if (queue(r, p, PEND_DATA, &id))
			goto busy;
		usbredirparser_send_control_packet(r->parser, id, &h, p->in ? NULL : p->buf,
						   p->in ? 0 : h.length);
	} else if (p->type == USB_XFER_BULK) {
		struct usb_redir_bulk_packet_header h = { .endpoint = epaddr, .length = p->len & 0xffff,
							  .length_high = p->len >> 16 };

		if (queue(r, p, PEND_DATA, &id))
			goto busy;
		usbredirparser_send_bulk_packet(r->parser, id, &h, p->in ? NULL : p->buf,
						p->in ? 0 : (int)p->len);
	} else {
		struct usb_redir_interrupt_packet_header h = { .endpoint = epaddr, .length = p->len };

		if (p->len > 0xffff || queue(r, p, PEND_DATA, &id))
			goto busy;
		usbredirparser_send_interrupt_packet(r->parser, id, &h, p->buf, p->len);
	}
	pthread_mutex_unlock(&r->lock);
	kick(r);
	return USB_RET_ASYNC;
busy:
	pthread_mutex_unlock(&r->lock);
	pr_warn_guest("%s: too many packets waiting for the usbredir client", d->id);
	return p->status = USB_RET_IOERROR;
}

static bool redir_cancel(struct usb_dev *d, struct usb_packet *p)
{
	struct redir *r = container_of(d, struct redir, dev);
	bool dropped = false;

	pthread_mutex_lock(&r->lock);
	for (struct pend *x = r->pending; x; x = x->next) {
		if (x->p != p)
			continue;
		if (r->parser && x->kind == PEND_DATA)
			usbredirparser_send_cancel_data_packet(r->parser, x->id);
		/* the entry stays for the client's answer, which no one waits
		 * for: a client that never answers cannot hold the endpoint */
		x->p = NULL;
		dropped = true;
	}
	pthread_mutex_unlock(&r->lock);
	if (dropped)
		kick(r);
	return dropped;
}

static void redir_reset(struct usb_dev *d)
{
	struct redir *r = container_of(d, struct redir, dev);

	pthread_mutex_lock(&r->lock);
	if (r->parser && r->connected)
		usbredirparser_send_reset(r->parser);
	for (unsigned int i = 0; i < 16; i++)
		r->intr[i].started = false, r->intr[i].count = 0;
	pthread_mutex_unlock(&r->lock);
	kick(r);
}

static void redir_status(struct usb_dev *d, json_object *o)
{
	struct redir *r = container_of(d, struct redir, dev);

	pthread_mutex_lock(&r->lock);
	json_object_object_add(o, "listen", json_object_new_string(r->p.listen_str));
	json_object_object_add(o, "client", json_object_new_string(r->parser ? r->peer : ""));
	json_object_object_add(o, "connects", json_object_new_int64(r->connects));
	json_object_object_add(o, "packets", json_object_new_int64(r->packets));
	json_object_object_add(o, "pending", json_object_new_int(r->nr_pending));
	json_object_object_add(o, "bad-replies", json_object_new_int64(r->bad_replies));
	pthread_mutex_unlock(&r->lock);
}

static void redir_destroy(struct usb_dev *d)
{
	struct redir *r = container_of(d, struct redir, dev);

	evloop__join(r->loop);
	if (r->parser)
		usbredirparser_destroy(r->parser);
	if (r->cfd >= 0)
		close(r->cfd);
	close(r->lfd);
	close(r->kick_fd);
	evloop__free(r->loop);
	/* the controller forgets the packets itself (xhci__forget) */
	free_list(r->pending);
	free_list(r->done);
	free(r->dev.id);
	free(r);
}

static const struct usb_dev_ops redir_ops = {
	.kind = "remote-client",
	.handle = redir_handle,
	.cancel = redir_cancel,
	.reset = redir_reset,
	.status = redir_status,
	.destroy = redir_destroy,
};

/* ---- the kind ---- */

static int redir_parse(json_object *b, void **priv, char **err)
{
	static const char *const keys[] = { "listen", NULL };
	struct redir_params *p = xzalloc(sizeof(*p));
	const char *listen;
	char msg[160];

	*priv = p;
	if (usb_opt_keys(b, keys, err) || usb_opt_string(b, "listen", true, &listen, err))
		return -1;
	if (vnc__parse_listen(listen, &p->listen, msg, sizeof(msg)))
		return usb_err(err, "listen: %s", msg);
	if (!p->listen.port)
		return usb_err(err, "listen: give a port, e.g. 127.0.0.1:7700");
	snprintf(p->listen_str, sizeof(p->listen_str), "%s", listen);
	return 0;
}

static int listen_on(const struct vnc_listen *l, char **err, const char *what)
{
	int fd, one = 1;

	if (l->ipv6) {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(l->port) };

		inet_pton(AF_INET6, l->addr6, &sa.sin6_addr);
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4))
			goto err;
	} else {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(l->port),
					  .sin_addr = l->addr };

		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4))
			goto err;
	}
	return fd;
err:
	usb_err(err, "cannot listen on %s: %s; pick a free port", what, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int redir_create(struct vm *vm __unused, const char *id, void *priv, struct usb_dev **out,
			char **err)
{
	struct redir_params *p = priv;
	struct redir *r = xzalloc(sizeof(*r));
	char tname[32];

	r->p = *p;
	r->cfd = -1;
	r->lfd = listen_on(&p->listen, err, p->listen_str);
	if (r->lfd < 0) {
		free(r);
		return -EADDRINUSE;
	}
	r->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	snprintf(tname, sizeof(tname), "usbredir-%s", id);
	r->loop = evloop__new(tname);
	if (r->kick_fd < 0 || !r->loop) {
		close(r->lfd);
		if (r->kick_fd >= 0)
			close(r->kick_fd);
		free(r);
		return usb_err(err, "cannot set up the usbredir listener"), -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->dev.ops = &redir_ops;
	r->dev.backing = "remote-client";
	r->dev.migratable = true;
	r->dev.persistent = true;
	r->dev.speed = USB_SPEED_HIGH;
	snprintf(r->dev.product_name, sizeof(r->dev.product_name), "usbredir client's device");
	evloop__add(r->loop, r->lfd, EPOLLIN, on_listen, r);
	evloop__add(r->loop, r->kick_fd, EPOLLIN, on_kick, r);
	r->dev.id = NULL;
	if (evloop__start(r->loop)) {
		evloop__free(r->loop);
		close(r->lfd);
		close(r->kick_fd);
		free(r);
		return usb_err(err, "cannot start the usbredir thread"), -ENOMEM;
	}
	pr_info("%s: waiting for a usbredir client on %s (usbredirect --device VID:PID --to %s)", id,
		p->listen_str, p->listen_str);
	*out = &r->dev;
	return 0;
}

static struct usb_kind redir_kind = {
	.name = "remote-client", .parse = redir_parse, .create = redir_create,
};
usb_kind(redir_kind);

/* ---- the fuzzer's entry: a client's byte stream into a connected device ---- */

struct fuzz_in {
	const u8 *data;
	size_t len, off;
};

static int fuzz_read(void *priv, uint8_t *data, int count)
{
	struct redir *r = priv;
	struct fuzz_in *in = r->fuzz;
	size_t n = MIN((size_t)count, in->len - in->off);

	if (!n)
		return -1;
	/* short reads, as TCP gives them */
	n = MIN(n, (size_t)(in->data[in->off] % 97 + 1));
	memcpy(data, in->data + in->off, n);
	in->off += n;
	return n;
}

static int fuzz_write(void *priv __unused, uint8_t *data __unused, int count)
{
	return count;
}

/*
 * A client's byte stream into a connected device with the n packets pk
 * in flight (ids 1..n, in order; a control SET_CONFIGURATION one waits for
 * configuration_status); afterwards each packet holds what the replies
 * gave it.  Returns 0, or -1 if the parser found a malformed packet.  For
 * the unit tests and the fuzzer.
 */
int usb_redir__feed(const u8 *data, size_t len, struct usb_packet *pk, unsigned int n,
		    struct usb_dev *info)
{
	struct redir *r = xzalloc(sizeof(*r));
	struct fuzz_in in = { data, len, 0 };
	int ret = 0;

	r->fuzz = &in;
	pthread_mutex_init(&r->lock, NULL);
	r->cfd = r->lfd = r->kick_fd = -1;
	r->dev.id = xstrdup("feed");
	r->parser = new_parser(r);
	r->parser->read_func = fuzz_read;
	r->parser->write_func = fuzz_write;
	for (unsigned int i = 0; i < n; i++) {
		bool cfg = pk[i].type == USB_XFER_CONTROL && pk[i].setup.bmRequestType == 0 &&
			   pk[i].setup.bRequest == USB_REQ_SET_CONFIGURATION;

		queue(r, &pk[i], cfg ? PEND_CONFIG : PEND_DATA, &(u64){ 0 });
	}
	r->intr[1].started = true;
	for (int k = 0; k < 10000; k++) {
		int rr = usbredirparser_do_read(r->parser);

		/* an IN reply never overruns its buffer */
		for (struct pend *x = r->done; x; x = x->next)
			if (x->p && x->p->actual > x->p->len)
				abort();
		if (rr == usbredirparser_read_parse_error)
			ret = -1;
		if (rr == usbredirparser_read_io_error || in.off >= len)
			break;
	}
	if (info)
		*info = r->dev;
	usbredirparser_destroy(r->parser);
	free_list(r->pending);
	free_list(r->done);
	free(r->dev.id);
	if (info)
		info->id = NULL;
	free(r);
	return ret;
}

int usb_redir__fuzz(const u8 *data, size_t len)
{
	struct usb_packet pk[4];
	u8 bufs[4][300];

	for (int i = 0; i < 4; i++) {
		memset(&pk[i], 0, sizeof(pk[i]));
		pk[i].buf = bufs[i];
		pk[i].len = 50 * i + 7;
		pk[i].in = i & 1;
		pk[i].type = i == 3 ? USB_XFER_CONTROL : USB_XFER_BULK;
	}
	pk[2].type = USB_XFER_CONTROL;
	pk[2].setup.bRequest = USB_REQ_SET_CONFIGURATION;
	return usb_redir__feed(data, len, pk, 4, NULL);
}
