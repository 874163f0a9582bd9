// SPDX-License-Identifier: GPL-2.0
/*
 * The SCSI libFuzzer targets (tests/fuzz/fuzz-scsi-*.c) run as a unit test
 * with gcc on fixed pseudo-random inputs, so `make check` exercises them
 * without clang: the request walker on 200000 chains, every command of the
 * emulated disk and CD/DVD drive on 30000 CDBs (half of them with a known
 * opcode and random fields).  `make fuzz` builds the real fuzzers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_walker
#include "fuzz/fuzz-scsi-walker.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_cdb
#include "fuzz/fuzz-scsi-cdb.c"
#undef LLVMFuzzerTestOneInput

static u64 rng = 0x9e3779b97f4a7c15ULL;

static u32 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (u32)(rng >> 11);
}

static void test_walker(void **state __unused)
{
	u8 buf[1024];

	for (int i = 0; i < 200000; i++) {
		size_t n = rnd() % sizeof(buf);

		for (size_t k = 0; k < n; k++)
			buf[k] = rnd();
		if (n > 2 && (i & 1)) {
			buf[0] = 32;	/* the usual sizes half of the time */
			buf[1] = 96;
		}
		fuzz_walker(buf, n);
	}
}

static void test_cdb(void **state __unused)
{
	static const u8 ops[] = {
		0x00, 0x03, 0x08, 0x0a, 0x12, 0x15, 0x1a, 0x1b, 0x1d, 0x1e, 0x25, 0x28, 0x2a, 0x2e,
		0x2f, 0x35, 0x41, 0x42, 0x43, 0x46, 0x4a, 0x51, 0x52, 0x55, 0x5a, 0x88, 0x8a, 0x8e,
		0x8f, 0x91, 0x93, 0x9e, 0xa0, 0xa3, 0xa8, 0xaa, 0xad, 0xae, 0xaf, 0xbb, 0xbd, 0xb6,
	};
	u8 buf[34 + 4096];

	for (int i = 0; i < 30000; i++) {
		size_t n = 34 + rnd() % 4096;

		for (size_t k = 0; k < n; k++)
			buf[k] = rnd();
		buf[0] &= 0x0f;			/* data-in up to 64 KiB */
		if (i & 1) {
			buf[2 + 0] = ops[rnd() % sizeof(ops)];
			/* small LBAs and lengths, so that commands do work */
			if (rnd() & 1)
				memset(buf + 2 + 2, 0, 4);
			if (rnd() & 1)
				buf[2 + 1] &= 0x1f;
		}
		fuzz_cdb(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walker),
		cmocka_unit_test(test_cdb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
