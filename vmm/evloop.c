// SPDX-License-Identifier: GPL-2.0
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ev_entry {
	int fd;
	ev_handler_t fn;
	void *opaque;
	struct ev_entry *next;
};

struct evloop {
	char name[16];
	int epfd;
	int wake_fd;
	volatile bool stop;
	pthread_t thread;
	bool threaded;
	pthread_mutex_t lock;
	struct ev_entry *entries;
	/* entries removed while the loop may still hold pointers to them are
	 * freed when the loop is freed: removal is rare (hot-unplug, client
	 * disconnects), and this keeps a handler from running on freed memory */
	struct ev_entry *graveyard;
};

struct evloop *evloop__new(const char *name)
{
	struct evloop *loop = xzalloc(sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	snprintf(loop->name, sizeof(loop->name), "%s", name);
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->wake_fd < 0) {
		pr_err("event loop %s: %s", name, strerror(errno));
		evloop__free(loop);
		return NULL;
	}
	ev.data.ptr = NULL; /* NULL marks the wake fd */
	epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev);
	return loop;
}

static void free_list(struct ev_entry *e)
{
	while (e) {
		struct ev_entry *n = e->next;

		free(e);
		e = n;
	}
}

void evloop__free(struct evloop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	free_list(loop->entries);
	free_list(loop->graveyard);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

int evloop__add(struct evloop *loop, int fd, u32 events, ev_handler_t fn, void *opaque)
{
	struct ev_entry *e = xzalloc(sizeof(*e));
	struct epoll_event ev = { .events = events, .data.ptr = e };

	e->fd = fd;
	e->fn = fn;
	e->opaque = opaque;
	pthread_mutex_lock(&loop->lock);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		pthread_mutex_unlock(&loop->lock);
		free(e);
		return err;
	}
	e->next = loop->entries;
	loop->entries = e;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

static struct ev_entry **find(struct evloop *loop, int fd)
{
	struct ev_entry **pp;

	for (pp = &loop->entries; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd)
			return pp;
	return NULL;
}

int evloop__modify(struct evloop *loop, int fd, u32 events)
{
	struct ev_entry **pp;
	int ret = -ENOENT;

	pthread_mutex_lock(&loop->lock);
	pp = find(loop, fd);
	if (pp) {
		struct epoll_event ev = { .events = events, .data.ptr = *pp };

		ret = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int evloop__del(struct evloop *loop, int fd)
{
	struct ev_entry **pp, *e;

	pthread_mutex_lock(&loop->lock);
	pp = find(loop, fd);
	if (!pp) {
		pthread_mutex_unlock(&loop->lock);
		return -ENOENT;
	}
	e = *pp;
	*pp = e->next;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* a pending event in the current batch may still name e: mark it dead */
	e->fn = NULL;
	e->next = loop->graveyard;
	loop->graveyard = e;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

int evloop__run(struct evloop *loop)
{
	struct epoll_event evs[32];

	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, evs, ARRAY_SIZE(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("event loop %s: epoll_wait: %s", loop->name, strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n && !loop->stop; i++) {
			struct ev_entry *e = evs[i].data.ptr;
			ev_handler_t fn;

			if (!e) {
				u64 v;

				if (read(loop->wake_fd, &v, sizeof(v)) < 0)
					continue;
				continue;
			}
			fn = __atomic_load_n(&e->fn, __ATOMIC_ACQUIRE);
			if (fn)
				fn(e->fd, evs[i].events, e->opaque);
		}
	}
	return 0;
}

void evloop__stop(struct evloop *loop)
{
	u64 one = 1;

	loop->stop = true;
	if (write(loop->wake_fd, &one, sizeof(one)) < 0)
		return;
}

static void *evloop_thread(void *arg)
{
	struct evloop *loop = arg;
	pthread_setname_np(pthread_self(), loop->name);
	evloop__run(loop);
	return NULL;
}

int evloop__start(struct evloop *loop)
{
	int ret = pthread_create(&loop->thread, NULL, evloop_thread, loop);

	if (ret)
		return -ret;
	loop->threaded = true;
	return 0;
}

void evloop__join(struct evloop *loop)
{
	if (!loop->threaded)
		return;
	evloop__stop(loop);
	pthread_join(loop->thread, NULL);
	loop->threaded = false;
}
