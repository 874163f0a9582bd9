// SPDX-License-Identifier: GPL-2.0
/*
 * The TSC, calibrated against PIT channel 2: gate it through port 0x61
 * (bit 0), count down once in mode 0 and watch its output (bit 5).  This
 * works on real PCs, under QEMU, and on KVM's in-kernel PIT (whose port
 * 0x61 dpvm enables with KVM_PIT_SPEAKER_DUMMY).
 */
#include "guest.h"

#define PIT_HZ		1193182ULL
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PORT_61		0x61
#define CAL_MS		50

u32 tsc_khz;

void tsc_calibrate(void)
{
	u32 latch = PIT_HZ * CAL_MS / 1000;
	u64 t0, t1;
	u32 spins = 0;

	outb(PORT_61, (inb(PORT_61) & ~0x02) | 0x01);	/* gate on, speaker off */
	outb(PIT_CMD, 0xb0);	/* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2, latch & 0xff);
	outb(PIT_CH2, latch >> 8);
	t0 = rdtsc();
	while (!(inb(PORT_61) & 0x20)) {
		if (++spins > 100000000)
			fail("PIT channel 2 never reached terminal count (port 0x61 bit 5)");
	}
	t1 = rdtsc();
	tsc_khz = (t1 - t0) * PIT_HZ / (latch * 1000ULL);
	if (!tsc_khz)
		fail("TSC calibration: the TSC did not advance in %u ms", CAL_MS);
}

u64 us_to_tsc(u64 us)
{
	if (!tsc_khz)
		tsc_calibrate();
	return us * tsc_khz / 1000;
}

u64 tsc_to_us(u64 cycles)
{
	if (!tsc_khz)
		tsc_calibrate();
	return cycles * 1000 / tsc_khz;
}

void udelay(u32 us)
{
	u64 end = rdtsc() + us_to_tsc(us);

	while (rdtsc() < end)
		cpu_relax();
}
