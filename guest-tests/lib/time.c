// SPDX-License-Identifier: GPL-2.0
/*
 * The TSC, calibrated against PIT channel 2: gate it through port 0x61
 * (bit 0), count down in mode 0 and watch its output (bit 5).  This
 * works on real PCs, under QEMU, and on KVM's in-kernel PIT (whose port
 * 0x61 dpvm enables with KVM_PIT_SPEAKER_DUMMY).
 */
#include "guest.h"

#define PIT_HZ		1193182ULL
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PORT_61		0x61
#define CAL_MS		25
#define CAL_GOOD	3	/* runs to take the median of */
#define CAL_TRIES	20

u32 tsc_khz;

/*
 * TSC cycles for one CAL_MS count-down of PIT channel 2, and how uncertain
 * that is: the start lies between the TSC reads around the write that
 * loads the counter, the end between the last two polls.  A vCPU the host
 * preempted meanwhile shows as a large uncertainty.
 */
static u64 pit_count_down(u64 *uncertainty)
{
	u32 latch = PIT_HZ * CAL_MS / 1000;
	u64 s0, s1, prev, t;
	u32 spins = 0;

	outb(PORT_61, (inb(PORT_61) & ~0x02) | 0x01);	/* gate on, speaker off */
	outb(PIT_CMD, 0xb0);	/* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2, latch & 0xff);
	s0 = rdtsc();
	outb(PIT_CH2, latch >> 8);	/* counting starts */
	s1 = rdtsc();
	prev = t = s1;
	for (;;) {
		u64 before = rdtsc();

		if (inb(PORT_61) & 0x20) {
			t = rdtsc();
			break;
		}
		prev = before;
		if (++spins > 100000000)
			fail("PIT channel 2 never reached terminal count (port 0x61 bit 5)");
	}
	*uncertainty = (s1 - s0) + (t - prev);
	return (prev + t) / 2 - (s0 + s1) / 2;
}

void tsc_calibrate(void)
{
	u64 good[CAL_GOOD], v, unc;
	unsigned int n = 0, tries;

	for (tries = 0; tries < CAL_TRIES && n < CAL_GOOD; tries++) {
		v = pit_count_down(&unc);
		if (unc > v / 100)
			continue;	/* more than 1% uncertain */
		good[n++] = v;
	}
	if (!n) {
		printf("tsc_calibrate: every run was disturbed; using the last\n");
		good[n++] = v;
	}
	/* the median of up to three */
	if (n == 3) {
		u64 a = good[0], b = good[1], c = good[2];

		v = a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
	} else {
		v = good[0];
	}
	tsc_khz = v * PIT_HZ / ((PIT_HZ * CAL_MS / 1000) * 1000ULL);
	if (!tsc_khz)
		fail("TSC calibration: the TSC did not advance in %u ms", CAL_MS);
}

/* the runtime calibrates before main() */
u64 us_to_tsc(u64 us)
{
	return us * tsc_khz / 1000;
}

u64 tsc_to_us(u64 cycles)
{
	return cycles * 1000 / tsc_khz;
}

void udelay(u32 us)
{
	u64 end = rdtsc() + us_to_tsc(us);

	while (rdtsc() < end)
		cpu_relax();
}
