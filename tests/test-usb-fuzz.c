// SPDX-License-Identifier: GPL-2.0
/*
 * The USB libFuzzer targets (tests/fuzz/fuzz-usb-*.c) run as a unit test
 * with gcc on fixed pseudo-random inputs, so `make check` exercises them
 * without clang: the xHCI controller under a hostile guest (RAM, registers,
 * doorbells and input events mixed, half of the runs seeded with valid
 * command TRBs), a USB/IP server's replies, and a usbredir client's packets
 * (half of the runs start with a valid hello).  `make fuzz` builds the
 * real fuzzers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_xhci
#include "fuzz/fuzz-usb-xhci.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_ip
#include "fuzz/fuzz-usb-ip.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_redir
#include "fuzz/fuzz-usb-redir.c"
#undef LLVMFuzzerTestOneInput

#include <usbredirproto.h>

static u64 rng = 0x2545f4914f6cdd1dULL;

static u32 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (u32)(rng >> 11);
}

static void fill(u8 *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = rnd();
}

static void test_xhci(void **state __unused)
{
	static u8 buf[4096];

	for (int i = 0; i < 3000; i++) {
		size_t n = rnd() % sizeof(buf), o = 0;

		fill(buf, n);
		/* half the runs write valid-looking TRBs (with the cycle bit set) into
		 * the command ring at 0x2000 and ring doorbell 0 */
		while ((i & 1) && o + 24 < n) {
			u32 a = (0x2000 - 0x1000) / 16 + (o / 24) % 15;
			u32 ctl = (9 + rnd() % 15) << 10 | 1;

			buf[o] = 0 | (15 << 3);		/* 16 bytes of RAM at a*16 */
			memcpy(buf + o + 1, &a, 2);
			memcpy(buf + o + 1 + 6 + 12, &ctl, 4);
			o += 1 + 6 + 16;
			if (o + 7 < n) {
				buf[o] = 4;		/* doorbell 0, target 0 */
				memset(buf + o + 1, 0, 6);
				o += 7;
			}
		}
		fuzz_xhci(buf, n);
	}
}

static void test_ip(void **state __unused)
{
	static u8 buf[8192];

	for (int i = 0; i < 100000; i++) {
		size_t n = rnd() % sizeof(buf);

		fill(buf, n);
		/* some runs are RET_SUBMITs for the packets in flight */
		for (size_t o = 0; (i & 1) && o + 48 <= n; o += 48 + (rnd() % 64)) {
			u32 seq = 1 + rnd() % 5;

			memset(buf + o, 0, 48);
			buf[o + 3] = 3 + (rnd() & 1);
			buf[o + 7] = seq;
			buf[o + 27] = rnd() % 120;
			buf[o + 32] = buf[o + 33] = buf[o + 34] = buf[o + 35] = rnd() & 1 ? 0xff : 0;
		}
		fuzz_ip(buf, n);
	}
}

static void test_redir(void **state __unused)
{
	static u8 buf[4096];

	for (int i = 0; i < 30000; i++) {
		size_t n = rnd() % sizeof(buf);

		fill(buf, n);
		if ((i & 1) && n > 80) {
			/* a hello (type 0, 64-byte version, no caps), then garbage */
			u32 type = usb_redir_hello, len = 64;

			memcpy(buf, &type, 4);
			memcpy(buf + 4, &len, 4);
			memset(buf + 8, 0, 4 + 64);
			memcpy(buf + 12, "fuzz", 4);
		}
		fuzz_redir(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xhci),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_redir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
