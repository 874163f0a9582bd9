/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_EVLOOP_H
#define DPVM_EVLOOP_H

#include "vmm/types.h"

#include <pthread.h>

/*
 * An epoll event loop.  The main thread runs one (console, management API,
 * signals, requests from vCPUs); devices that do blocking I/O run their own
 * in a thread (evloop__start) so a slow backing never stalls a vCPU or the
 * console.
 *
 * Handlers run on the loop's thread.  Adding and removing fds is safe from
 * any thread; removing from another thread while the handler may be running
 * is not, so a device removes its fds from its own loop or after stopping it.
 */
struct evloop;

typedef void (*ev_handler_t)(int fd, u32 events, void *opaque);

struct evloop *evloop__new(const char *name);
void evloop__free(struct evloop *loop);

/* events: EPOLLIN/EPOLLOUT/...; one registration per fd */
int evloop__add(struct evloop *loop, int fd, u32 events, ev_handler_t fn, void *opaque);
int evloop__modify(struct evloop *loop, int fd, u32 events);
int evloop__del(struct evloop *loop, int fd);

/* run until evloop__stop(); returns 0 */
int evloop__run(struct evloop *loop);
void evloop__stop(struct evloop *loop);

/* run the loop in a new thread, and stop and join it */
int evloop__start(struct evloop *loop);
void evloop__join(struct evloop *loop);

#endif
