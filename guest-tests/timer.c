// SPDX-License-Identifier: GPL-2.0
/*
 * Timer interrupts, counted against the TSC (itself calibrated on PIT
 * channel 2):
 *  - PIT channel 0, mode 2 at 1 kHz, through IOAPIC pin 0 (dpvm routes
 *    GSI 0 to pin 0; QEMU uses pin 2: give pit_pin=2 there);
 *  - the LAPIC timer, calibrated against the TSC, one-shot (exactly one
 *    interrupt) and periodic at 1 kHz.
 * Counts must be within a quarter and one and a half times the expected
 * number: a vCPU the (busy) host does not run meanwhile loses LAPIC ticks,
 * while a wrong route or rate is off by far more.
 */
#include "guest.h"

#define PIT_HZ		1193182
#define PIT_CH0		0x40
#define PIT_CMD		0x43
#define PIT_VECTOR	0x30
#define LAPIC_VECTOR	0x31
#define RATE_HZ		1000
#define RUN_MS		200

static volatile u32 pit_ticks, lapic_ticks;

static void pit_irq(struct irq_frame *f)
{
	(void)f;
	pit_ticks++;
	lapic_eoi();
}

static void lapic_irq(struct irq_frame *f)
{
	(void)f;
	lapic_ticks++;
	lapic_eoi();
}

static void run_for_ms(u32 ms)
{
	u64 end = rdtsc() + us_to_tsc(ms * 1000ULL);

	irq_enable();
	while (rdtsc() < end)
		cpu_relax();
	irq_disable();
}

static bool in_range(u32 n, u32 want)
{
	return n >= want / 4 && n <= want + want / 2;
}

static void pit(void)
{
	u32 pin = cmdline_uint("pit_pin", 0), div = PIT_HZ / RATE_HZ, want = RUN_MS * RATE_HZ / 1000;
	u32 n, after;

	set_handler(PIT_VECTOR, pit_irq);
	ioapic_route(pin, PIT_VECTOR, lapic_id(), 0);	/* ISA: edge, active high */
	outb(PIT_CMD, 0x34);	/* channel 0, lobyte/hibyte, mode 2, binary */
	outb(PIT_CH0, div & 0xff);
	outb(PIT_CH0, div >> 8);
	run_for_ms(RUN_MS);
	n = pit_ticks;
	ioapic_mask(pin);
	run_for_ms(5);		/* one may already sit in the LAPIC */
	after = pit_ticks;
	run_for_ms(20);
	after = pit_ticks - after;
	outb(PIT_CMD, 0x30);	/* channel 0 to mode 0, never loaded: quiet */
	check(in_range(n, want), "PIT channel 0 at %u Hz through IOAPIC pin %u: %u interrupts in %u ms (want ~%u)",
	      RATE_HZ, pin, n, RUN_MS, want);
	check(after == 0, "none in 20 ms once the pin is masked (%u)", after);
}

static void lapic_timer(void)
{
	u32 per_ms, n, want = RUN_MS * RATE_HZ / 1000;
	u64 t0;

	set_handler(LAPIC_VECTOR, lapic_irq);
	lapic_write(LAPIC_TIMER_DIV, 0x3);	/* divide by 16 */

	/* calibrate: count down from the top for 10 ms, masked */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LAPIC_VECTOR);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
	t0 = rdtsc();
	udelay(10000);
	per_ms = (0xffffffff - lapic_read(LAPIC_TIMER_CUR)) * 1000ULL / tsc_to_us(rdtsc() - t0);
	lapic_write(LAPIC_TIMER_INIT, 0);
	printf("LAPIC timer: %u ticks per ms (divide by 16)\n", per_ms);
	if (!check(per_ms > 0, "the LAPIC timer counts down"))
		return;

	/* one-shot, 5 ms: exactly one interrupt */
	lapic_write(LAPIC_LVT_TIMER, LAPIC_VECTOR);
	lapic_write(LAPIC_TIMER_INIT, per_ms * 5);
	run_for_ms(30);
	n = lapic_ticks;
	check(n == 1, "LAPIC timer one-shot (5 ms): %u interrupt(s) in 30 ms (want 1)", n);

	/* periodic at 1 kHz */
	lapic_ticks = 0;
	lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | LAPIC_VECTOR);
	lapic_write(LAPIC_TIMER_INIT, per_ms * 1000 / RATE_HZ);
	run_for_ms(RUN_MS);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LAPIC_VECTOR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	n = lapic_ticks;
	check(in_range(n, want), "LAPIC timer periodic at %u Hz: %u interrupts in %u ms (want ~%u)",
	      RATE_HZ, n, RUN_MS, want);
}

int main(void)
{
	printf("TSC: %u kHz (calibrated on PIT channel 2)\n", tsc_khz);
	lapic_enable();
	pit();
	lapic_timer();
	return 0;
}
