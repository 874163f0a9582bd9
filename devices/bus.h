/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_BUS_H
#define DPVM_BUS_H

#include "vmm/types.h"

#include <pthread.h>

/*
 * Trap buses: the guest's port I/O space and its MMIO space.
 *
 * A device registers the ranges it emulates with one call, bus__register(),
 * giving a table of ops.  When a vCPU exits with KVM_EXIT_IO or
 * KVM_EXIT_MMIO, vcpu.c calls bus__access(), which finds the range and calls
 * the device's read or write op with the offset into the range: three hops
 * from the exit to the device.
 *
 * Ranges never overlap (an overlapping registration is refused), so the
 * "interval tree" is an array sorted by base and searched by bisection: the
 * degenerate case of an interval tree for disjoint intervals, and the
 * fastest one for the tens of ranges a VM has.
 *
 * Handlers run without the bus lock held, so a handler may register or
 * unregister ranges (a PCI BAR moving on a config write).  A device may be
 * freed only while all vCPUs are paused (vm__pause), which is how hot-remove
 * works; until then, a handler can still be running after unregistering.
 */
struct trap_ops {
	/* offset is relative to the registered base; len is 1, 2, 4 or 8 */
	void (*read)(void *dev, u64 offset, void *data, u32 len);
	void (*write)(void *dev, u64 offset, const void *data, u32 len);
};

struct trap {
	u64 base;
	u64 len;
	const struct trap_ops *ops;
	void *dev;
	const char *name;
	u64 hits;		/* accesses so far, for `ctl status` */
};

struct bus {
	const char *name; /* "pio" or "mmio", for messages */
	pthread_rwlock_t lock;
	struct trap *traps;
	unsigned int nr, cap;
	u64 unclaimed;		/* accesses no range claimed */
};

void bus__init(struct bus *bus, const char *name);
void bus__exit(struct bus *bus);

/* 0, -EINVAL for an empty or wrapping range, -EBUSY if it overlaps */
int bus__register(struct bus *bus, u64 base, u64 len,
		  const struct trap_ops *ops, void *dev, const char *name);
/* 0, or -ENOENT if no range starts at base owned by dev */
int bus__unregister(struct bus *bus, u64 base, void *dev);

/*
 * Dispatch one access.  Returns true if a device claimed it; an unclaimed
 * read fills data with all-ones, an unclaimed write is dropped.
 */
bool bus__access(struct bus *bus, u64 addr, void *data, u32 len, bool write);

/* the range containing addr, copied out; false if none */
bool bus__find(struct bus *bus, u64 addr, struct trap *out);

/* a copy of every range with its hit count (caller frees); the count */
unsigned int bus__snapshot(struct bus *bus, struct trap **out);

#endif
