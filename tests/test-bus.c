// SPDX-License-Identifier: GPL-2.0
/* Trap buses: registration, overlap refusal, lookup and dispatch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct bus bus;

/* a device that records its accesses */
struct fake_dev {
	int id;
	u64 last_off;
	u32 last_len;
	u64 last_write;
	unsigned int reads, writes;
};

static void fake_read(void *dev, u64 off, void *data, u32 len)
{
	struct fake_dev *d = dev;

	d->reads++;
	d->last_off = off;
	d->last_len = len;
	memset(data, d->id, len);
}

static void fake_write(void *dev, u64 off, const void *data, u32 len)
{
	struct fake_dev *d = dev;

	d->writes++;
	d->last_off = off;
	d->last_len = len;
	d->last_write = 0;
	memcpy(&d->last_write, data, len);
}

static const struct trap_ops ops = { .read = fake_read, .write = fake_write };
static const struct trap_ops write_only_ops = { .write = fake_write };

static struct fake_dev devs[8] = {
	{ .id = 0x10 }, { .id = 0x11 }, { .id = 0x12 }, { .id = 0x13 },
	{ .id = 0x14 }, { .id = 0x15 }, { .id = 0x16 }, { .id = 0x17 },
};

static int setup(void **state __unused)
{
	bus__init(&bus, "test");
	for (unsigned int i = 0; i < 8; i++) {
		int id = devs[i].id;

		memset(&devs[i], 0, sizeof(devs[i]));
		devs[i].id = id;
	}
	return 0;
}

static int teardown(void **state __unused)
{
	bus__exit(&bus);
	return 0;
}

static int reg(u64 base, u64 len, int dev)
{
	return bus__register(&bus, base, len, &ops, &devs[dev], "dev");
}

/* the dev that claims addr, -1 if none */
static int owner(u64 addr)
{
	struct trap t;

	if (!bus__find(&bus, addr, &t))
		return -1;
	return (struct fake_dev *)t.dev - devs;
}

static void test_register_and_find(void **state __unused)
{
	struct trap t;

	assert_int_equal(reg(0x3f8, 8, 0), 0);
	assert_int_equal(reg(0x70, 2, 1), 0);
	assert_int_equal(reg(0xcf8, 4, 2), 0);
	assert_int_equal(bus.nr, 3);
	/* lookup at both edges of each range, and just outside */
	assert_int_equal(owner(0x3f7), -1);
	assert_int_equal(owner(0x3f8), 0);
	assert_int_equal(owner(0x3ff), 0);
	assert_int_equal(owner(0x400), -1);
	assert_int_equal(owner(0x6f), -1);
	assert_int_equal(owner(0x70), 1);
	assert_int_equal(owner(0x71), 1);
	assert_int_equal(owner(0x72), -1);
	assert_int_equal(owner(0xcfb), 2);
	assert_int_equal(owner(0xcfc), -1);
	assert_int_equal(owner(0), -1);
	assert_int_equal(owner(~0ULL), -1);
	assert_true(bus__find(&bus, 0x3fa, &t));
	assert_int_equal(t.base, 0x3f8);
	assert_int_equal(t.len, 8);
	assert_ptr_equal(t.ops, &ops);
	assert_string_equal(t.name, "dev");
	/* kept sorted by base whatever the registration order */
	for (unsigned int i = 1; i < bus.nr; i++)
		assert_true(bus.traps[i - 1].base < bus.traps[i].base);
}

static void test_overlaps_refused(void **state __unused)
{
	/* [0x100, 0x110) */
	assert_int_equal(reg(0x100, 0x10, 0), 0);
	assert_int_equal(reg(0x100, 0x10, 1), -EBUSY);	/* the same range */
	assert_int_equal(reg(0x100, 1, 1), -EBUSY);	/* the same base */
	assert_int_equal(reg(0x104, 4, 1), -EBUSY);	/* inside */
	assert_int_equal(reg(0xf8, 0x10, 1), -EBUSY);	/* straddling the start */
	assert_int_equal(reg(0x10f, 0x10, 1), -EBUSY);	/* straddling the end */
	assert_int_equal(reg(0xf0, 0x40, 1), -EBUSY);	/* enclosing */
	assert_int_equal(reg(0x0, ~0ULL, 1), -EBUSY);	/* enclosing everything */
	assert_int_equal(bus.nr, 1);
	/* adjacent on both sides is fine */
	assert_int_equal(reg(0xf0, 0x10, 1), 0);
	assert_int_equal(reg(0x110, 0x10, 2), 0);
	/* and now a gap-filler between two neighbours overlaps both */
	assert_int_equal(reg(0xff, 0x12, 3), -EBUSY);
	assert_int_equal(owner(0xff), 1);
	assert_int_equal(owner(0x100), 0);
	assert_int_equal(owner(0x10f), 0);
	assert_int_equal(owner(0x110), 2);
	assert_int_equal(bus.nr, 3);
}

static void test_bad_ranges(void **state __unused)
{
	assert_int_equal(reg(0x100, 0, 0), -EINVAL);		/* empty */
	assert_int_equal(reg(~0ULL, 2, 0), -EINVAL);		/* wraps */
	assert_int_equal(reg(~0ULL - 0xf, 0x20, 0), -EINVAL);
	assert_int_equal(reg(2, ~0ULL, 0), -EINVAL);
	assert_int_equal(bus.nr, 0);
	/* ending exactly at the top of the space does not wrap */
	assert_int_equal(reg(1, ~0ULL, 0), 0);
	assert_int_equal(owner(0), -1);
	assert_int_equal(owner(1), 0);
	assert_int_equal(owner(~0ULL), 0);
	assert_int_equal(bus__unregister(&bus, 1, &devs[0]), 0);
	assert_int_equal(reg(~0ULL, 1, 0), 0);
	assert_int_equal(owner(~0ULL), 0);
	assert_int_equal(reg(~0ULL - 0xfff, 0x1000, 1), -EBUSY);
}

static void test_top_of_space(void **state __unused)
{
	/* a range that ends at 2^64: what follows it must still be refused */
	assert_int_equal(reg(0xfffffffffffff000ULL, 0x1000, 0), 0);
	assert_int_equal(reg(0xfffffffffffff800ULL, 0x10, 1), -EBUSY);
	assert_int_equal(reg(0xffffffffffffffffULL, 1, 1), -EBUSY);
	assert_int_equal(owner(0xfffffffffffff800ULL), 0);
	assert_int_equal(owner(~0ULL), 0);
	assert_int_equal(reg(0xffffffffffffe000ULL, 0x1000, 1), 0);
	assert_int_equal(bus.nr, 2);
}

static void test_unregister(void **state __unused)
{
	assert_int_equal(reg(0x10, 0x10, 0), 0);
	assert_int_equal(reg(0x20, 0x10, 1), 0);
	assert_int_equal(reg(0x30, 0x10, 2), 0);
	/* only by its base and its owner */
	assert_int_equal(bus__unregister(&bus, 0x20, &devs[0]), -ENOENT);
	assert_int_equal(bus__unregister(&bus, 0x21, &devs[1]), -ENOENT);
	assert_int_equal(bus__unregister(&bus, 0x40, &devs[1]), -ENOENT);
	assert_int_equal(bus__unregister(&bus, 0x20, &devs[1]), 0);
	assert_int_equal(bus__unregister(&bus, 0x20, &devs[1]), -ENOENT);
	assert_int_equal(owner(0x20), -1);
	assert_int_equal(owner(0x1f), 0);
	assert_int_equal(owner(0x30), 2);
	/* the hole can be refilled, differently */
	assert_int_equal(reg(0x28, 0x8, 3), 0);
	assert_int_equal(owner(0x27), -1);
	assert_int_equal(owner(0x28), 3);
	assert_int_equal(bus__unregister(&bus, 0x10, &devs[0]), 0);
	assert_int_equal(bus__unregister(&bus, 0x30, &devs[2]), 0);
	assert_int_equal(bus__unregister(&bus, 0x28, &devs[3]), 0);
	assert_int_equal(bus.nr, 0);
	assert_int_equal(owner(0x28), -1);
	assert_int_equal(bus__unregister(&bus, 0x28, &devs[3]), -ENOENT);
}

static void test_dispatch(void **state __unused)
{
	u64 v = 0;
	u8 b[8];

	assert_int_equal(reg(0x1000, 0x100, 0), 0);
	assert_int_equal(reg(0x1100, 0x100, 1), 0);
	/* offsets are relative to the base; the right device gets it */
	v = 0x1122334455667788ULL;
	assert_true(bus__access(&bus, 0x1010, &v, 8, true));
	assert_int_equal(devs[0].writes, 1);
	assert_int_equal(devs[0].last_off, 0x10);
	assert_int_equal(devs[0].last_len, 8);
	assert_int_equal(devs[0].last_write, 0x1122334455667788ULL);
	assert_true(bus__access(&bus, 0x11fc, b, 4, false));
	assert_int_equal(devs[1].reads, 1);
	assert_int_equal(devs[1].last_off, 0xfc);
	assert_int_equal(b[0], 0x11);
	/* the last byte of a range */
	assert_true(bus__access(&bus, 0x10ff, b, 1, false));
	assert_int_equal(devs[0].last_off, 0xff);
	/* accesses straddling the end of a range are nobody's, even into a
	 * neighbour: reads are all-ones, writes are dropped */
	memset(b, 0, sizeof(b));
	assert_false(bus__access(&bus, 0x10fe, b, 4, false));
	for (int i = 0; i < 4; i++)
		assert_int_equal(b[i], 0xff);
	assert_false(bus__access(&bus, 0x11fd, b, 4, true));
	assert_false(bus__access(&bus, 0x11f9, b, 8, false));
	assert_int_equal(devs[0].reads, 1);
	assert_int_equal(devs[0].writes, 1);
	assert_int_equal(devs[1].reads, 1);
	assert_int_equal(devs[1].writes, 0);
	/* unclaimed addresses */
	v = 0;
	assert_false(bus__access(&bus, 0xfff, &v, 2, false));
	assert_int_equal(v, 0xffff);
	assert_false(bus__access(&bus, 0x1200, &v, 8, false));
	assert_int_equal(v, ~0ULL);
	assert_false(bus__access(&bus, ~0ULL, &v, 1, true));
}

static void test_write_only_device(void **state __unused)
{
	u32 v = 0;

	assert_int_equal(bus__register(&bus, 0xf4, 4, &write_only_ops, &devs[0], "w"), 0);
	/* a device without a read op is claimed but reads all-ones */
	assert_true(bus__access(&bus, 0xf4, &v, 4, false));
	assert_int_equal(v, 0xffffffff);
	v = 7;
	assert_true(bus__access(&bus, 0xf4, &v, 1, true));
	assert_int_equal(devs[0].last_write, 7);
}

/* reentrancy: a handler may change the bus (a BAR moving) */
static void move_read(void *dev, u64 off __unused, void *data, u32 len)
{
	struct fake_dev *d = dev;

	bus__unregister(&bus, 0x500, d);
	assert_int_equal(bus__register(&bus, 0x600, 0x10, &ops, d, "moved"), 0);
	memset(data, 0x5a, len);
}

static const struct trap_ops move_ops = { .read = move_read };

static void test_handler_changes_bus(void **state __unused)
{
	u8 b;

	assert_int_equal(bus__register(&bus, 0x500, 0x10, &move_ops, &devs[0], "mover"), 0);
	assert_true(bus__access(&bus, 0x500, &b, 1, false));
	assert_int_equal(b, 0x5a);
	assert_int_equal(owner(0x500), -1);
	assert_int_equal(owner(0x600), 0);
}

/* bisection against a linear scan, with hundreds of random ranges */
struct ref {
	u64 base, len;
	int dev;
	bool live;
};

static int ref_owner(const struct ref *r, unsigned int n, u64 addr)
{
	for (unsigned int i = 0; i < n; i++)
		if (r[i].live && addr >= r[i].base && addr - r[i].base < r[i].len)
			return r[i].dev;
	return -1;
}

static bool ref_overlaps(const struct ref *r, unsigned int n, u64 base, u64 len)
{
	for (unsigned int i = 0; i < n; i++)
		if (r[i].live && base < r[i].base + r[i].len && r[i].base < base + len)
			return true;
	return false;
}

static void test_many_ranges(void **state __unused)
{
	enum { N = 600 };
	static struct ref ref[N];
	unsigned int n = 0, live = 0;

	srand(42);
	for (int round = 0; round < 4000; round++) {
		u64 base = (u64)(rand() % 0x10000) * 4, len = 1 + rand() % 64;
		int op = rand() % 4;

		if (op < 3 && n < N) {
			bool clash = ref_overlaps(ref, n, base, len);
			int dev = n % 8;
			int ret = reg(base, len, dev);

			assert_int_equal(ret, clash ? -EBUSY : 0);
			if (!ret) {
				ref[n++] = (struct ref){ base, len, dev, true };
				live++;
			}
		} else if (n) {
			struct ref *r = &ref[rand() % n];

			assert_int_equal(bus__unregister(&bus, r->base, &devs[r->dev]),
					 r->live ? 0 : -ENOENT);
			if (r->live)
				live--;
			r->live = false;
		}
		assert_int_equal(bus.nr, live);
		/* probe edges of random ranges and random addresses */
		for (int k = 0; k < 20; k++) {
			u64 a = k < 10 ? (u64)(rand() % 0x40100) :
				n ? ref[rand() % n].base + (rand() % 3 ? 0 : ref[rand() % n].len) - (k & 1) : 0;

			assert_int_equal(owner(a), ref_owner(ref, n, a));
		}
	}
	for (unsigned int i = 1; i < bus.nr; i++)
		assert_true(bus.traps[i - 1].base + bus.traps[i - 1].len <= bus.traps[i].base);
	/* every address of the populated space, once */
	for (u64 a = 0; a < 0x40100; a += 1 + (a & 3))
		assert_int_equal(owner(a), ref_owner(ref, n, a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_and_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlaps_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_top_of_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_only_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_changes_bus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_ranges, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
