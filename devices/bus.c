// SPDX-License-Identifier: GPL-2.0
#include "devices/bus.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <errno.h>
#include <string.h>

void bus__init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus__exit(struct bus *bus)
{
	free(bus->traps);
	bus->traps = NULL;
	bus->nr = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* index of the first trap whose base is > addr */
static unsigned int upper_bound(const struct bus *bus, u64 addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (bus->traps[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus__register(struct bus *bus, u64 base, u64 len,
		  const struct trap_ops *ops, void *dev, const char *name)
{
	unsigned int i;
	int ret = 0;

	if (!len || base + len - 1 < base)
		return -EINVAL;

	pthread_rwlock_wrlock(&bus->lock);
	i = upper_bound(bus, base);
	/* the previous range must end before base, the next start after;
	 * (base - prev.base, not prev.base + prev.len: a range may end at 2^64) */
	if (i > 0 && base - bus->traps[i - 1].base < bus->traps[i - 1].len) {
		pr_debug("%s %#llx+%#llx (%s) overlaps %s", bus->name,
			 (unsigned long long)base, (unsigned long long)len,
			 name, bus->traps[i - 1].name);
		ret = -EBUSY;
		goto out;
	}
	if (i < bus->nr && bus->traps[i].base <= base + len - 1) {
		pr_debug("%s %#llx+%#llx (%s) overlaps %s", bus->name,
			 (unsigned long long)base, (unsigned long long)len,
			 name, bus->traps[i].name);
		ret = -EBUSY;
		goto out;
	}
	if (bus->nr == bus->cap) {
		bus->cap = bus->cap ? bus->cap * 2 : 16;
		bus->traps = xrealloc(bus->traps, bus->cap * sizeof(*bus->traps));
	}
	memmove(&bus->traps[i + 1], &bus->traps[i],
		(bus->nr - i) * sizeof(*bus->traps));
	bus->traps[i] = (struct trap){ base, len, ops, dev, name };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus__unregister(struct bus *bus, u64 base, void *dev)
{
	unsigned int i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = upper_bound(bus, base);
	if (i > 0 && bus->traps[i - 1].base == base && bus->traps[i - 1].dev == dev) {
		i--;
		memmove(&bus->traps[i], &bus->traps[i + 1],
			(bus->nr - i - 1) * sizeof(*bus->traps));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* the range holding addr, counted as a hit; false if none */
static bool lookup(struct bus *bus, u64 addr, struct trap *out, bool count)
{
	bool found = false;
	unsigned int i;

	pthread_rwlock_rdlock(&bus->lock);
	i = upper_bound(bus, addr);
	if (i > 0 && addr - bus->traps[i - 1].base < bus->traps[i - 1].len) {
		if (count)
			__atomic_fetch_add(&bus->traps[i - 1].hits, 1, __ATOMIC_RELAXED);
		*out = bus->traps[i - 1];
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	return found;
}

bool bus__find(struct bus *bus, u64 addr, struct trap *out)
{
	return lookup(bus, addr, out, false);
}

unsigned int bus__snapshot(struct bus *bus, struct trap **out)
{
	unsigned int n;

	pthread_rwlock_rdlock(&bus->lock);
	n = bus->nr;
	*out = xzalloc((n ? n : 1) * sizeof(**out));
	memcpy(*out, bus->traps, n * sizeof(**out));
	pthread_rwlock_unlock(&bus->lock);
	return n;
}

bool bus__access(struct bus *bus, u64 addr, void *data, u32 len, bool write)
{
	struct trap t;

	/* the whole access must fall inside one range */
	if (!lookup(bus, addr, &t, true) || addr - t.base + len > t.len) {
		__atomic_fetch_add(&bus->unclaimed, 1, __ATOMIC_RELAXED);
		if (!write)
			memset(data, 0xff, len);
		pr_debug("unclaimed %s %s %#llx len %u", bus->name,
			 write ? "write" : "read", (unsigned long long)addr, len);
		return false;
	}
	if (write) {
		if (t.ops->write)
			t.ops->write(t.dev, addr - t.base, data, len);
	} else {
		if (t.ops->read)
			t.ops->read(t.dev, addr - t.base, data, len);
		else
			memset(data, 0xff, len);
	}
	return true;
}
