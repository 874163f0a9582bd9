// SPDX-License-Identifier: GPL-2.0
/*
 * The split virtqueue walker against hostile rings: chains, indirect tables,
 * loops, buffers outside RAM, ordering, and interrupt suppression.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/virtqueue.h"
#include "vmm/memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RAM	(1 << 20)
#define QSZ	8
#define DESC	0x1000
#define AVAIL	0x2000
#define USED	0x3000
#define IND	0x4000
#define DATA	0x10000

static struct guest_mem mem;
static struct virtq vq;
static struct virtq_elem elem;

static struct virtq_desc *desc(unsigned int i) { return (void *)(mem.regions[0].hva + DESC + 16 * i); }
static u16 *avail(void) { return (void *)(mem.regions[0].hva + AVAIL); }
static u16 *used16(void) { return (void *)(mem.regions[0].hva + USED); }

static int setup(void **state __unused)
{
	memset(&mem, 0, sizeof(mem));
	mem.nr_regions = 1;
	mem.regions[0] = (struct mem_region){ .gpa = 0, .size = RAM, .hva = calloc(1, RAM) };
	memset(&vq, 0, sizeof(vq));
	vq.r = (struct virtq_regs){ .size = QSZ, .desc = DESC, .driver = AVAIL, .device = USED };
	assert_int_equal(virtq__enable(&vq, &mem, false), 0);
	return 0;
}

static int teardown(void **state __unused)
{
	free(mem.regions[0].hva);
	return 0;
}

static void set_desc(unsigned int i, u64 addr, u32 len, u16 flags, u16 next)
{
	*desc(i) = (struct virtq_desc){ addr, len, flags, next };
}

static void offer(u16 head)
{
	u16 idx = avail()[1];

	avail()[2 + idx % QSZ] = head;
	avail()[1] = idx + 1;
}

static void test_enable_checks(void **state __unused)
{
	struct virtq q = { .r = { .size = QSZ, .desc = DESC, .driver = AVAIL, .device = USED } };

	q.r.size = 6;		/* not a power of two */
	assert_int_equal(virtq__enable(&q, &mem, false), -EINVAL);
	q.r.size = 2048;	/* too big */
	assert_int_equal(virtq__enable(&q, &mem, false), -EINVAL);
	q.r.size = QSZ;
	q.r.desc = RAM - 16;	/* table runs off the end of RAM */
	assert_int_equal(virtq__enable(&q, &mem, false), -EFAULT);
	q.r.desc = DESC + 8;	/* misaligned */
	assert_int_equal(virtq__enable(&q, &mem, false), -EFAULT);
	q.r.desc = DESC;
	q.r.device = USED + 2;
	assert_int_equal(virtq__enable(&q, &mem, false), -EFAULT);
}

static void test_chain(void **state __unused)
{
	char buf[32];

	memcpy(mem.regions[0].hva + DATA, "header..", 8);
	set_desc(0, DATA, 8, VIRTQ_DESC_F_NEXT, 3);
	set_desc(3, DATA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	set_desc(5, DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(virtq__pop(&vq, &mem, &elem), 0);	/* nothing offered yet */
	offer(0);
	assert_int_equal(virtq__pop(&vq, &mem, &elem), 1);
	assert_int_equal(elem.head, 0);
	assert_int_equal(elem.nout, 1);
	assert_int_equal(elem.nin, 2);
	assert_int_equal(elem.out_len, 8);
	assert_int_equal(elem.in_len, 513);
	assert_int_equal(iov_to_buf(elem.iov, elem.nout, 0, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "header..", 8);
	assert_int_equal(buf_to_iov(elem.iov + elem.nout, elem.nin, 510, "xyz", 3), 3);
	assert_memory_equal(mem.regions[0].hva + DATA + 0x100 + 510, "xy", 2);
	assert_int_equal(mem.regions[0].hva[DATA + 0x400], 'z');
	assert_int_equal(virtq__pop(&vq, &mem, &elem), 0);

	virtq__push(&vq, 0, 513);
	assert_int_equal(used16()[1], 1);
	assert_int_equal(*(u32 *)(mem.regions[0].hva + USED + 4), 0);
	assert_int_equal(*(u32 *)(mem.regions[0].hva + USED + 8), 513);
}

static void test_indirect(void **state __unused)
{
	struct virtq_desc *t = (void *)(mem.regions[0].hva + IND);

	t[0] = (struct virtq_desc){ DATA, 16, VIRTQ_DESC_F_NEXT, 1 };
	t[1] = (struct virtq_desc){ DATA + 0x1000, 4096, VIRTQ_DESC_F_NEXT, 2 };
	t[2] = (struct virtq_desc){ DATA + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0 };
	set_desc(2, IND, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(2);
	assert_int_equal(virtq__pop(&vq, &mem, &elem), 1);
	assert_int_equal(elem.head, 2);
	assert_int_equal(elem.nout, 2);
	assert_int_equal(elem.nin, 1);
	assert_int_equal(elem.out_len, 16 + 4096);
}

static void expect_broken(void)
{
	assert_int_equal(virtq__pop(&vq, &mem, &elem), -EINVAL);
	assert_true(vq.broken);
	/* a broken queue yields nothing until reset */
	assert_int_equal(virtq__pop(&vq, &mem, &elem), 0);
}

static void test_loop(void **state __unused)
{
	set_desc(0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	expect_broken();
}

static void test_outside_ram(void **state __unused)
{
	set_desc(0, RAM - 4, 8, 0, 0);
	offer(0);
	expect_broken();
}

static void test_huge_len(void **state __unused)
{
	set_desc(0, DATA, 0xffffffff, 0, 0);
	offer(0);
	expect_broken();
}

static void test_bad_head(void **state __unused)
{
	offer(QSZ);
	expect_broken();
}

static void test_next_out_of_range(void **state __unused)
{
	set_desc(0, DATA, 8, VIRTQ_DESC_F_NEXT, QSZ + 3);
	offer(0);
	expect_broken();
}

static void test_readable_after_writable(void **state __unused)
{
	set_desc(0, DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, DATA, 8, 0, 0);
	offer(0);
	expect_broken();
}

static void test_nested_indirect(void **state __unused)
{
	struct virtq_desc *t = (void *)(mem.regions[0].hva + IND);

	t[0] = (struct virtq_desc){ IND, 16, VIRTQ_DESC_F_INDIRECT, 0 };
	set_desc(0, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken();
}

static void test_indirect_bad_len(void **state __unused)
{
	set_desc(0, IND, 24, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken();
}

static void test_indirect_loop(void **state __unused)
{
	struct virtq_desc *t = (void *)(mem.regions[0].hva + IND);

	t[0] = (struct virtq_desc){ DATA, 8, VIRTQ_DESC_F_NEXT, 1 };
	t[1] = (struct virtq_desc){ DATA, 8, VIRTQ_DESC_F_NEXT, 0 };
	set_desc(0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_broken();
}

static void test_avail_runs_ahead(void **state __unused)
{
	avail()[1] = QSZ + 1;
	expect_broken();
}

static void test_interrupt_suppression(void **state __unused)
{
	set_desc(0, DATA, 8, 0, 0);
	/* flags mode: NO_INTERRUPT suppresses */
	offer(0);
	assert_int_equal(virtq__pop(&vq, &mem, &elem), 1);
	virtq__push(&vq, 0, 0);
	assert_true(virtq__needs_interrupt(&vq));
	avail()[0] = 1;
	offer(0);
	virtq__pop(&vq, &mem, &elem);
	virtq__push(&vq, 0, 0);
	assert_false(virtq__needs_interrupt(&vq));

	/* event index mode: interrupt only when used passes used_event */
	avail()[0] = 0;
	vq.event_idx = true;
	vq.signalled_valid = false;
	avail()[2 + QSZ] = 3;		/* used_event: interrupt after entry 3 */
	offer(0);
	virtq__pop(&vq, &mem, &elem);
	virtq__push(&vq, 0, 0);		/* used_idx 3 */
	assert_true(virtq__needs_interrupt(&vq));	/* first one is always sent */
	offer(0);
	virtq__pop(&vq, &mem, &elem);
	virtq__push(&vq, 0, 0);		/* used_idx 4: crosses event 3 */
	assert_true(virtq__needs_interrupt(&vq));
	offer(0);
	virtq__pop(&vq, &mem, &elem);
	virtq__push(&vq, 0, 0);		/* used_idx 5: event still 3 */
	assert_false(virtq__needs_interrupt(&vq));
	avail()[2 + QSZ] = 5;
	offer(0);
	virtq__pop(&vq, &mem, &elem);
	virtq__push(&vq, 0, 0);		/* used_idx 6: crosses 5 */
	assert_true(virtq__needs_interrupt(&vq));
}

static void test_reset(void **state __unused)
{
	vq.broken = true;
	vq.r.msix_vector = 3;
	virtq__reset(&vq);
	assert_false(vq.broken);
	assert_int_equal(vq.r.size, QSZ);
	assert_int_equal(vq.r.msix_vector, 0xffff);
	assert_null(vq.desc);
	assert_int_equal(virtq__pop(&vq, &mem, &elem), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_enable_checks), T(test_chain), T(test_indirect), T(test_loop),
		T(test_outside_ram), T(test_huge_len), T(test_bad_head),
		T(test_next_out_of_range), T(test_readable_after_writable),
		T(test_nested_indirect), T(test_indirect_bad_len), T(test_indirect_loop),
		T(test_avail_runs_ahead), T(test_interrupt_suppression), T(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
