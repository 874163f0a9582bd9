// SPDX-License-Identifier: GPL-2.0
/*
 * Trapped port I/O round trips: a tight loop of accesses to one port, each
 * a VM exit to the VMM and back, timed with the TSC (calibrated on PIT
 * channel 2, which works under dpvm, QEMU and on PCs).
 *
 *   port=0x3ff   the port (default: the COM1 scratch register, trapped by
 *                dpvm and QEMU alike)
 *   op=rw        outb then inb of the value just written (checked when the
 *                port is the scratch register); op=in: inb only (e.g. a
 *                status-read loop on 0x64); op=out: outb only
 *   iters=N      loop iterations (default 100000)
 *
 * The last line is machine-readable:
 *   RESULT portio port=0x3ff op=rw iters=N round_trips=M cycles_per_trip=C
 *          ns_per_trip=T round_trips_per_sec=R tsc_khz=K
 */
#include "guest.h"

#define COM1_SCR	0x3ff

int main(void)
{
	u32 port = cmdline_uint("port", COM1_SCR), iters = cmdline_uint("iters", 100000);
	u32 trips, bad = 0;
	char op[8] = "rw";
	u64 t0, cycles;

	cmdline_str("op", op, sizeof(op));
	if (port > 0xffff || !iters || iters > 0x7fffffff ||
	    (strcmp(op, "rw") && strcmp(op, "in") && strcmp(op, "out"))) {
		printf("FAIL: give port=0..0xffff, iters=1..2^31-1, op=rw|in|out\n");
		return EXIT_USAGE;
	}
	printf("portio: %u iterations of op=%s on port %#x, TSC %u kHz\n", iters, op, port, tsc_khz);

	for (u32 i = 0; i < 100; i++)	/* warm up */
		inb(port);

	t0 = rdtsc();
	if (!strcmp(op, "rw")) {
		for (u32 i = 0; i < iters; i++) {
			outb(port, i);
			if (inb(port) != (u8)i)
				bad++;
		}
		trips = 2 * iters;
	} else if (!strcmp(op, "in")) {
		for (u32 i = 0; i < iters; i++)
			inb(port);
		trips = iters;
	} else {
		for (u32 i = 0; i < iters; i++)
			outb(port, i);
		trips = iters;
	}
	cycles = rdtsc() - t0;

	if (!strcmp(op, "rw") && port == COM1_SCR)
		check(!bad, "the scratch register read back every value written (%u wrong)", bad);
	printf("RESULT portio port=%#x op=%s iters=%u round_trips=%u cycles_per_trip=%llu "
	       "ns_per_trip=%llu round_trips_per_sec=%llu tsc_khz=%u\n",
	       port, op, iters, trips, cycles / trips, cycles * 1000000ULL / tsc_khz / trips,
	       (u64)trips * tsc_khz * 1000ULL / (cycles ? cycles : 1), tsc_khz);
	return 0;
}
