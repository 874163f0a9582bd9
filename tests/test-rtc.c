// SPDX-License-Identifier: GPL-2.0
/* The CMOS RTC's register logic, on a fake host clock, without a VM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/rtc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS	1000000000ULL
#define MS	1000000ULL
#define US	1000ULL

static u64 fake_ns;		/* the host wall clock */
static int irq_level;
static unsigned int irq_raises;
static u64 timer_ns;		/* armed deadline, 0 if none */
static unsigned int timer_calls;
static struct rtc rtc;

static u64 fake_clock(struct rtc *r __unused)
{
	return fake_ns;
}

static void fake_irq(struct rtc *r __unused, int level)
{
	assert_int_not_equal(level, irq_level); /* only changes are driven */
	irq_level = level;
	irq_raises += level;
}

static void fake_timer(struct rtc *r __unused, u64 ns)
{
	timer_ns = ns;
	timer_calls++;
}

static u64 utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
		.tm_hour = h, .tm_min = mi, .tm_sec = s,
	};

	return (u64)timegm(&tm) * NS;
}

static int setup_at(u64 ns)
{
	memset(&rtc, 0, sizeof(rtc));
	pthread_mutex_init(&rtc.lock, NULL);
	rtc.clock = fake_clock;
	rtc.set_irq = fake_irq;
	rtc.set_timer = fake_timer;
	fake_ns = ns;
	irq_level = 0;
	irq_raises = 0;
	timer_ns = 0;
	timer_calls = 0;
	rtc__init_regs(&rtc);
	return 0;
}

/* 2024-02-28 23:59:58.250 UTC, a Wednesday, two seconds before a leap day */
static int setup(void **state __unused)
{
	return setup_at(utc(2024, 2, 28, 23, 59, 58) + 250 * MS);
}

static int teardown(void **state __unused)
{
	pthread_mutex_destroy(&rtc.lock);
	return 0;
}

static u8 rd(u8 idx)
{
	rtc__write(&rtc, 0, idx);
	return rtc__read(&rtc, 1);
}

static void wr(u8 idx, u8 val)
{
	rtc__write(&rtc, 0, idx);
	rtc__write(&rtc, 1, val);
}

/* advance the host clock; a due timer fires, as the main loop would */
static void advance(u64 ns)
{
	u64 end = fake_ns + ns;

	while (timer_ns && timer_ns <= end) {
		fake_ns = timer_ns;
		timer_ns = 0;
		rtc__tick(&rtc);
	}
	fake_ns = end;
}

struct rtc_time {
	u8 s, mi, h, wday, d, mo, y, c;
};

/* no periodic flags (rate select 0), and an alarm that never matches
 * (power-on has 00:00:00), in the way of the flags a test looks at */
static void quiet(void)
{
	wr(RTC_REG_A, RTC_A_DV_32KHZ);
	wr(RTC_SECONDS_ALARM, 0x60);
}

static struct rtc_time read_time(void)
{
	return (struct rtc_time){
		rd(RTC_SECONDS), rd(RTC_MINUTES), rd(RTC_HOURS), rd(RTC_DAY_OF_WEEK),
		rd(RTC_DAY_OF_MONTH), rd(RTC_MONTH), rd(RTC_YEAR), rd(RTC_CENTURY),
	};
}

static void assert_time(u8 c, u8 y, u8 mo, u8 d, u8 h, u8 mi, u8 s, u8 wday)
{
	struct rtc_time t = read_time();

	assert_int_equal(t.c, c);
	assert_int_equal(t.y, y);
	assert_int_equal(t.mo, mo);
	assert_int_equal(t.d, d);
	assert_int_equal(t.h, h);
	assert_int_equal(t.mi, mi);
	assert_int_equal(t.s, s);
	assert_int_equal(t.wday, wday);
}

/* ---- calendar ---- */

static void test_calendar(void **state __unused)
{
	s64 y;
	unsigned int m, d;

	assert_int_equal(rtc__days_from_civil(1970, 1, 1), 0);
	assert_int_equal(rtc__days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(rtc__days_from_civil(1969, 12, 31), -1);
	assert_int_equal(rtc__days_from_civil(1900, 3, 1), -25508);
	/* against the C library, every day of 1800..2400 (leap rules included) */
	for (s64 day = -62091; day < 157101; day++) {
		time_t t = day * 86400;
		struct tm tm;

		gmtime_r(&t, &tm);
		rtc__civil_from_days(day, &y, &m, &d);
		assert_int_equal(y, tm.tm_year + 1900);
		assert_int_equal(m, tm.tm_mon + 1);
		assert_int_equal(d, tm.tm_mday);
		assert_int_equal(rtc__days_from_civil(y, m, d), day);
	}
	/* the ends of what the registers can say */
	rtc__civil_from_days(rtc__days_from_civil(0, 1, 1), &y, &m, &d);
	assert_true(y == 0 && m == 1 && d == 1);
	rtc__civil_from_days(rtc__days_from_civil(9999, 12, 31) + 1, &y, &m, &d);
	assert_true(y == 10000 && m == 1 && d == 1);
}

/* ---- power-on state and plain registers ---- */

static void test_power_on(void **state __unused)
{
	assert_int_equal(rd(RTC_REG_A), 0x26);	/* 32.768 kHz divider, 1024 Hz rate */
	assert_int_equal(rd(RTC_REG_B), RTC_B_24H);
	assert_int_equal(rd(RTC_REG_C), 0);
	assert_int_equal(rd(RTC_REG_D), RTC_D_VRT);
	/* the host's UTC time in BCD; 2024-02-28 is a Wednesday (Sunday = 1) */
	assert_time(0x20, 0x24, 0x02, 0x28, 0x23, 0x59, 0x58, 4);
	assert_int_equal(irq_level, 0);
	assert_int_equal(timer_ns, 0);	/* nothing enabled: no timer */
}

static void test_index_port(void **state __unused)
{
	/* bit 7 masks NMI and is not part of the index */
	rtc__write(&rtc, 0, 0x80 | 0x40);
	rtc__write(&rtc, 1, 0x5a);
	assert_true(rtc.r.nmi_masked);
	assert_int_equal(rtc.r.index, 0x40);
	rtc__write(&rtc, 0, 0x40);
	assert_false(rtc.r.nmi_masked);
	assert_int_equal(rtc__read(&rtc, 1), 0x5a);
	/* the index port is write-only */
	assert_int_equal(rtc__read(&rtc, 0), 0xff);
	/* reads of the data port do not move the index */
	assert_int_equal(rtc__read(&rtc, 1), 0x5a);
}

static void test_ram(void **state __unused)
{
	/* every byte from 0x0e up is plain RAM (the century excepted) */
	for (unsigned int i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			wr(i, i ^ 0xa5);
	for (unsigned int i = 0x0e; i < RTC_CMOS_SIZE; i++)
		if (i != RTC_CENTURY)
			assert_int_equal(rd(i), i ^ 0xa5);
	/* the alarm bytes are plain storage too */
	wr(RTC_SECONDS_ALARM, 0x12);
	wr(RTC_MINUTES_ALARM, 0x34);
	wr(RTC_HOURS_ALARM, 0x56);
	assert_int_equal(rd(RTC_SECONDS_ALARM), 0x12);
	assert_int_equal(rd(RTC_MINUTES_ALARM), 0x34);
	assert_int_equal(rd(RTC_HOURS_ALARM), 0x56);
}

static void test_readonly_bits(void **state __unused)
{
	wr(RTC_REG_D, 0x00);
	assert_int_equal(rd(RTC_REG_D), RTC_D_VRT);
	wr(RTC_REG_C, 0xff);
	assert_int_equal(rd(RTC_REG_C), 0);
	assert_int_equal(irq_level, 0);
	/* UIP cannot be written */
	wr(RTC_REG_A, 0xa6);
	assert_int_equal(rd(RTC_REG_A), 0x26);
}

/* ---- the clock ---- */

static void test_counting(void **state __unused)
{
	/* into the leap day, then to March, across a second boundary each time */
	advance(2 * NS);
	assert_time(0x20, 0x24, 0x02, 0x29, 0x00, 0x00, 0x00, 5);
	advance(86400 * NS);
	assert_time(0x20, 0x24, 0x03, 0x01, 0x00, 0x00, 0x00, 6);
	/* nothing changes inside a second (we are at .250) */
	advance(700 * MS);
	assert_int_equal(rd(RTC_SECONDS), 0x00);
	advance(50 * MS);
	assert_int_equal(rd(RTC_SECONDS), 0x01);
}

static void test_century_rollover(void **state __unused)
{
	setup_at(utc(1999, 12, 31, 23, 59, 59));
	assert_time(0x19, 0x99, 0x12, 0x31, 0x23, 0x59, 0x59, 6);
	advance(NS);
	assert_time(0x20, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 7);
}

static void test_binary_and_12_hour(void **state __unused)
{
	setup_at(utc(2023, 7, 9, 0, 30, 5));	/* a Sunday, half past midnight */
	wr(RTC_REG_B, RTC_B_DM_BINARY | RTC_B_24H);
	assert_time(20, 23, 7, 9, 0, 30, 5, 1);
	wr(RTC_REG_B, RTC_B_DM_BINARY);		/* 12-hour binary */
	assert_int_equal(rd(RTC_HOURS), 12);	/* 12 AM */
	wr(RTC_REG_B, 0);			/* 12-hour BCD */
	assert_int_equal(rd(RTC_HOURS), 0x12);
	advance(12 * 3600 * NS);		/* 12:30 PM */
	assert_int_equal(rd(RTC_HOURS), 0x80 | 0x12);
	advance(11 * 3600 * NS);		/* 11:30 PM */
	assert_int_equal(rd(RTC_HOURS), 0x80 | 0x11);
	wr(RTC_REG_B, RTC_B_DM_BINARY);
	assert_int_equal(rd(RTC_HOURS), 0x80 | 11);
	advance(3600 * NS);			/* 12:30 AM on Monday */
	assert_int_equal(rd(RTC_HOURS), 12);
	assert_int_equal(rd(RTC_DAY_OF_WEEK), 2);
	wr(RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(RTC_HOURS), 0x00);
}

/* Linux's mc146818_set_time: SET, divider reset, the bytes, then both back */
static void linux_set_time(u8 c, u8 y, u8 mo, u8 d, u8 h, u8 mi, u8 s)
{
	u8 b = rd(RTC_REG_B), a = rd(RTC_REG_A);

	wr(RTC_REG_B, b | RTC_B_SET);
	wr(RTC_REG_A, a | 0x70);
	wr(RTC_YEAR, y);
	wr(RTC_MONTH, mo);
	wr(RTC_DAY_OF_MONTH, d);
	wr(RTC_HOURS, h);
	wr(RTC_MINUTES, mi);
	wr(RTC_SECONDS, s);
	wr(RTC_CENTURY, c);
	wr(RTC_REG_B, b);
	wr(RTC_REG_A, a);
}

static void test_set_time(void **state __unused)
{
	wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	/* while SET, the clock stands still and shows what is written */
	advance(5 * NS);
	assert_time(0x20, 0x24, 0x02, 0x28, 0x23, 0x59, 0x58, 4);
	assert_int_equal(rd(RTC_REG_A) & RTC_A_UIP, 0);
	wr(RTC_YEAR, 0x31);
	wr(RTC_MONTH, 0x12);
	wr(RTC_DAY_OF_MONTH, 0x31);
	wr(RTC_HOURS, 0x23);
	wr(RTC_MINUTES, 0x59);
	wr(RTC_SECONDS, 0x59);
	wr(RTC_CENTURY, 0x20);
	advance(3 * NS);
	assert_int_equal(rd(RTC_SECONDS), 0x59);
	assert_int_equal(rd(RTC_YEAR), 0x31);
	/* clearing SET starts it from there; the divider kept its phase (.250) */
	wr(RTC_REG_B, RTC_B_24H);
	assert_time(0x20, 0x31, 0x12, 0x31, 0x23, 0x59, 0x59, 4);
	advance(749 * MS);
	assert_int_equal(rd(RTC_SECONDS), 0x59);
	advance(1 * MS);
	/* 2032-01-01 is a Thursday */
	assert_time(0x20, 0x32, 0x01, 0x01, 0x00, 0x00, 0x00, 5);
}

static void test_set_time_linux(void **state __unused)
{
	linux_set_time(0x20, 0x25, 0x06, 0x15, 0x12, 0x00, 0x00);
	assert_time(0x20, 0x25, 0x06, 0x15, 0x12, 0x00, 0x00, 1);
	/* out of divider reset the first update is half a second away */
	advance(499 * MS);
	assert_int_equal(rd(RTC_SECONDS), 0x00);
	advance(1 * MS);
	assert_int_equal(rd(RTC_SECONDS), 0x01);
	advance(NS);
	assert_int_equal(rd(RTC_SECONDS), 0x02);
	/* the new time survives a reset; only the offset from the host moved */
	rtc__reset(&rtc);
	assert_int_equal(rd(RTC_MINUTES), 0x00);
	assert_int_equal(rd(RTC_YEAR), 0x25);
}

static void test_set_time_binary_12h(void **state __unused)
{
	wr(RTC_REG_B, RTC_B_DM_BINARY);		/* binary, 12-hour */
	linux_set_time(19, 99, 12, 31, 0x80 | 11, 59, 59);	/* 11:59:59 PM */
	advance(500 * MS);
	assert_time(20, 0, 1, 1, 12, 0, 0, 7);	/* 12 AM, Saturday 2000-01-01 */
	wr(RTC_REG_B, RTC_B_24H);
	assert_time(0x20, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 7);
}

static void test_write_while_running(void **state __unused)
{
	/* without SET the clock goes on from the written value */
	wr(RTC_MINUTES, 0x10);
	assert_time(0x20, 0x24, 0x02, 0x28, 0x23, 0x10, 0x58, 4);
	advance(750 * MS);	/* the phase is kept: the update comes at .000 */
	assert_int_equal(rd(RTC_SECONDS), 0x59);
	wr(RTC_MINUTES, 0x59);
	wr(RTC_YEAR, 0x23);
	assert_time(0x20, 0x23, 0x02, 0x28, 0x23, 0x59, 0x59, 3);
	advance(NS);		/* 2023 has no leap day */
	assert_time(0x20, 0x23, 0x03, 0x01, 0x00, 0x00, 0x00, 4);
}

static void test_hostile_time(void **state __unused)
{
	static const u8 junk[] = { 0x00, 0x3f, 0x7f, 0x99, 0xaa, 0xff };

	/* whatever the guest writes, the clock then holds a real date */
	for (unsigned int i = 0; i < sizeof(junk); i++) {
		for (unsigned int fmt = 0; fmt < 4; fmt++) {
			u8 b = (fmt & 1 ? RTC_B_DM_BINARY : 0) | (fmt & 2 ? RTC_B_24H : 0);
			struct rtc_time t;

			wr(RTC_REG_B, b | RTC_B_SET);
			for (u8 idx = 0; idx <= RTC_YEAR; idx++)
				if (!(idx & 1) || idx > RTC_HOURS_ALARM)
					wr(idx, junk[i]);
			wr(RTC_CENTURY, junk[i]);
			wr(RTC_REG_B, b | RTC_B_24H | RTC_B_DM_BINARY);
			t = read_time();
			assert_in_range(t.s, 0, 59);
			assert_in_range(t.mi, 0, 59);
			assert_in_range(t.h, 0, 23);
			assert_in_range(t.wday, 1, 7);
			assert_in_range(t.d, 1, 31);
			assert_in_range(t.mo, 1, 12);
			assert_in_range(t.y, 0, 99);
			assert_in_range(t.c, 0, 99);
			advance(1234 * MS);
		}
	}
	/* the year after 9999 is 0000 */
	wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	wr(RTC_CENTURY, 0x99);
	wr(RTC_YEAR, 0x99);
	wr(RTC_MONTH, 0x12);
	wr(RTC_DAY_OF_MONTH, 0x31);
	wr(RTC_HOURS, 0x23);
	wr(RTC_MINUTES, 0x59);
	wr(RTC_SECONDS, 0x59);
	wr(RTC_REG_B, RTC_B_24H);
	advance(NS);
	assert_int_equal(rd(RTC_CENTURY), 0x00);
	assert_int_equal(rd(RTC_YEAR), 0x00);
	assert_int_equal(rd(RTC_MONTH), 0x01);
}

/* ---- update in progress ---- */

static void test_uip(void **state __unused)
{
	unsigned int polls = 0;

	/* .250: no update for a long while */
	assert_int_equal(rd(RTC_REG_A) & RTC_A_UIP, 0);
	advance(749 * MS + 755 * US);	/* 244 us (8 ticks of 32768 Hz) before */
	assert_int_equal(rd(RTC_REG_A) & RTC_A_UIP, 0);
	advance(1 * US);
	assert_int_equal(rd(RTC_REG_A) & RTC_A_UIP, RTC_A_UIP);
	assert_int_equal(rd(RTC_SECONDS), 0x58);
	/* a guest polling for the end of it, 20 us a poll, waits 244 us */
	while (rd(RTC_REG_A) & RTC_A_UIP) {
		polls++;
		assert_true(polls <= 13);
		advance(20 * US);
	}
	assert_int_equal(rd(RTC_SECONDS), 0x59);
	/* while stopped there is no update, so no UIP */
	advance(NS - 100 * US);
	assert_int_equal(rd(RTC_REG_A) & RTC_A_UIP, RTC_A_UIP);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	assert_int_equal(rd(RTC_REG_A) & RTC_A_UIP, 0);
	wr(RTC_REG_B, RTC_B_24H);
	wr(RTC_REG_A, 0x70 | 0x06);
	assert_int_equal(rd(RTC_REG_A), 0x76);
}

/* ---- interrupt flags and the line ---- */

static void test_update_flag_without_irq(void **state __unused)
{
	quiet();
	/* UF is set by every update, enabled or not; no interrupt */
	assert_int_equal(rd(RTC_REG_C), 0);
	advance(NS);
	assert_int_equal(rd(RTC_REG_C), RTC_C_UF);
	assert_int_equal(rd(RTC_REG_C), 0);	/* cleared by the read */
	assert_int_equal(irq_raises, 0);
	assert_int_equal(timer_ns, 0);
	/* enabling UIE with UF pending interrupts at once */
	advance(NS);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_int_equal(irq_level, 0);
	/* disabling the source drops IRQF and the line */
	advance(NS);
	assert_int_equal(irq_level, 1);
	wr(RTC_REG_B, RTC_B_24H);
	assert_int_equal(irq_level, 0);
	assert_int_equal(rd(RTC_REG_C), RTC_C_UF);
}

static void test_update_interrupt(void **state __unused)
{
	u64 start = fake_ns;

	quiet();
	wr(RTC_REG_C, 0);
	rd(RTC_REG_C);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	/* armed for the next second boundary, 750 ms away */
	assert_int_equal(timer_ns, start + 750 * MS);
	advance(749 * MS);
	assert_int_equal(irq_level, 0);
	advance(1 * MS);
	assert_int_equal(irq_level, 1);
	assert_int_equal(irq_raises, 1);
	/* while IRQF is set nothing more can happen: no timer */
	assert_int_equal(timer_ns, 0);
	advance(3 * NS);
	assert_int_equal(irq_raises, 1);
	/* the handler reads C: acknowledged, and the next second is armed */
	assert_int_equal(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_int_equal(irq_level, 0);
	assert_int_equal(timer_ns, start + 4 * NS + 750 * MS);
	for (int i = 0; i < 10; i++) {
		advance(NS);
		assert_int_equal(irq_level, 1);
		assert_int_equal(rd(RTC_REG_C) & (RTC_C_IRQF | RTC_C_UF), RTC_C_IRQF | RTC_C_UF);
	}
	assert_int_equal(irq_raises, 11);
	/* SET clears UIE */
	wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_SET);
	assert_int_equal(rd(RTC_REG_B), RTC_B_24H | RTC_B_SET);
	assert_int_equal(timer_ns, 0);
}

static void test_periodic(void **state __unused)
{
	static const struct { u8 rs; u64 hz; } rates[] = {
		{ 1, 256 }, { 2, 128 }, { 3, 8192 }, { 6, 1024 }, { 8, 256 },
		{ 13, 8 }, { 15, 2 },
	};

	for (unsigned int i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		u64 base = utc(2024, 1, 1, 0, 0, 0);
		unsigned int n = 0;

		setup_at(base + 1);
		wr(RTC_REG_A, 0x20 | rates[i].rs);
		rd(RTC_REG_C);
		wr(RTC_REG_B, RTC_B_24H | RTC_B_PIE);
		/* the first tick is one period after the second boundary */
		assert_int_equal(timer_ns, base + (NS + rates[i].hz - 1) / rates[i].hz);
		/* a guest acknowledging each interrupt gets the rate exactly */
		while (timer_ns <= base + NS) {
			advance(timer_ns - fake_ns);
			assert_int_equal(irq_level, 1);
			/* (UF too, at the second boundary) */
			assert_int_equal(rd(RTC_REG_C) & ~RTC_C_UF, RTC_C_IRQF | RTC_C_PF);
			n++;
		}
		assert_int_equal(n, rates[i].hz);
	}
	/* RS = 0: no periodic interrupt, no flag, no timer */
	setup(NULL);
	wr(RTC_REG_A, 0x20);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	assert_int_equal(timer_ns, 0);
	advance(10 * MS);
	assert_int_equal(rd(RTC_REG_C) & RTC_C_PF, 0);
	/* PF is set without PIE, and while SET (the divider runs) */
	wr(RTC_REG_A, 0x26);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	rd(RTC_REG_C);
	advance(2 * MS);
	assert_int_equal(rd(RTC_REG_C), RTC_C_PF);
	assert_int_equal(irq_raises, 0);
	/* with the divider in reset there are no ticks */
	wr(RTC_REG_A, 0x76);
	rd(RTC_REG_C);
	advance(20 * MS);
	assert_int_equal(rd(RTC_REG_C), 0);
}

static void set_alarm(u8 h, u8 m, u8 s)
{
	wr(RTC_HOURS_ALARM, h);
	wr(RTC_MINUTES_ALARM, m);
	wr(RTC_SECONDS_ALARM, s);
}

static void test_alarm(void **state __unused)
{
	u64 base = utc(2024, 2, 28, 0, 0, 0);

	quiet();
	rd(RTC_REG_C);
	/* 23:59:58.250 now; an alarm at 00:00:30 is tomorrow */
	set_alarm(0x00, 0x00, 0x30);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	assert_int_equal(timer_ns, base + 86400 * NS + 30 * NS);
	advance(31 * NS);
	assert_int_equal(irq_level, 0);
	advance(1 * NS);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	assert_int_equal(irq_level, 0);
	/* next match: the same time tomorrow */
	assert_int_equal(timer_ns, base + 2 * 86400 * NS + 30 * NS);

	/* don't-care seconds: every second of 00:01 */
	set_alarm(0x00, 0x01, 0xc0);
	assert_int_equal(timer_ns, base + 86400 * NS + 60 * NS);
	advance(timer_ns - fake_ns);
	for (int i = 0; i < 60; i++) {
		assert_int_equal(irq_level, 1);
		assert_int_equal(rd(RTC_REG_C) & RTC_C_AF, RTC_C_AF);
		advance(NS);
	}
	/* 00:02:00 does not match */
	assert_int_equal(irq_level, 0);
	assert_int_equal(timer_ns, base + 2 * 86400 * NS + 60 * NS);

	/* every value of 0xc0..0xff is don't-care; hours and minutes too */
	set_alarm(0xff, 0xd5, 0x10);
	assert_int_equal(timer_ns, base + 86400 * NS + 2 * 60 * NS + 10 * NS);
	set_alarm(0xc1, 0x30, 0xc0);
	assert_int_equal(timer_ns, base + 86400 * NS + 30 * 60 * NS);
	set_alarm(0x05, 0xc0, 0x00);
	assert_int_equal(timer_ns, base + 86400 * NS + 5 * 3600 * NS);

	/* an alarm no time can match arms nothing, and never flags */
	set_alarm(0x00, 0x00, 0x60);
	assert_int_equal(timer_ns, 0);
	set_alarm(0x24, 0xc0, 0xc0);
	assert_int_equal(timer_ns, 0);
	set_alarm(0x00, 0x0a, 0x00);	/* not BCD */
	assert_int_equal(timer_ns, 0);
	wr(RTC_REG_B, RTC_B_24H);
	rd(RTC_REG_C);
	advance(2 * 86400 * NS);
	assert_int_equal(rd(RTC_REG_C) & RTC_C_AF, 0);
}

static void test_alarm_flag_and_formats(void **state __unused)
{
	/* AF is set without AIE, and found even when no one looked for hours */
	set_alarm(0x03, 0x00, 0x00);
	rd(RTC_REG_C);
	advance(2 * 3600 * NS);
	assert_int_equal(rd(RTC_REG_C) & RTC_C_AF, 0);
	advance(2 * 3600 * NS);
	assert_int_equal(rd(RTC_REG_C) & RTC_C_AF, RTC_C_AF);
	assert_int_equal(irq_raises, 0);

	/* 12-hour binary: 1:02:03 PM is 0x81, 2, 3 */
	setup_at(utc(2024, 5, 5, 13, 0, 0));
	wr(RTC_REG_B, RTC_B_DM_BINARY | RTC_B_AIE);
	set_alarm(0x81, 2, 3);
	assert_int_equal(timer_ns, utc(2024, 5, 5, 13, 2, 3));
	set_alarm(0x01, 2, 3);		/* 1:02:03 AM: tomorrow */
	assert_int_equal(timer_ns, utc(2024, 5, 6, 1, 2, 3));
	set_alarm(12, 0, 0);		/* 12 AM is midnight */
	assert_int_equal(timer_ns, utc(2024, 5, 6, 0, 0, 0));
	advance(timer_ns - fake_ns);
	assert_int_equal(irq_level, 1);
}

/* what rtc-cmos does for `hwclock -r`: RTC_UIE_ON is an alarm 1 s ahead */
static void test_linux_alarm_sequence(void **state __unused)
{
	u8 b, c;

	/* cmos_irq_disable at probe, then cmos_set_alarm + cmos_irq_enable(AIE) */
	b = rd(RTC_REG_B);
	wr(RTC_REG_B, b & ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE));
	rd(RTC_REG_C);
	advance(3 * NS);	/* 00:00:01.250 */
	set_alarm(0x00, 0x00, 0x02);
	c = rd(RTC_REG_C);	/* flush stale flags before enabling */
	assert_int_equal(c & RTC_C_IRQF, 0);
	wr(RTC_REG_B, rd(RTC_REG_B) | RTC_B_AIE);
	assert_int_equal(irq_level, 0);
	advance(750 * MS);
	assert_int_equal(irq_level, 1);
	/* cmos_interrupt: read C, then drop AIE (alarms are one-shot) */
	c = rd(RTC_REG_C);
	assert_int_equal(c & (RTC_C_IRQF | RTC_C_AF), RTC_C_IRQF | RTC_C_AF);
	wr(RTC_REG_B, rd(RTC_REG_B) & ~RTC_B_AIE);
	assert_int_equal(irq_level, 0);
	assert_int_equal(timer_ns, 0);
}

static void test_host_clock_steps(void **state __unused)
{
	quiet();
	rd(RTC_REG_C);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	advance(NS);
	assert_int_equal(irq_level, 1);
	rd(RTC_REG_C);
	/* the host clock goes back an hour: the guest's clock follows, and
	 * update interrupts keep coming (not an hour later) */
	fake_ns -= 3600 * NS;
	rtc__tick(&rtc);	/* the canceled timerfd */
	assert_int_equal(rd(RTC_HOURS), 0x22);
	advance(NS);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	/* and forward a day: one update flag, the timer for the next second */
	fake_ns += 86400 * NS;
	rtc__tick(&rtc);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_true(timer_ns > fake_ns && timer_ns <= fake_ns + NS);
}

static void test_reset(void **state __unused)
{
	wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_PIE | RTC_B_AIE | RTC_B_SQWE);
	wr(0x40, 0x77);
	advance(NS);
	assert_int_equal(irq_level, 1);
	rtc__reset(&rtc);
	assert_int_equal(irq_level, 0);
	assert_int_equal(rd(RTC_REG_B), RTC_B_24H);
	assert_int_equal(rd(RTC_REG_C), 0);
	assert_int_equal(timer_ns, 0);
	/* the battery-backed parts stay */
	assert_int_equal(rd(0x40), 0x77);
	assert_int_equal(rd(RTC_SECONDS), 0x59);
}

/* random accesses with a random clock never break the invariants */
static void test_fuzz(void **state __unused)
{
	srand(1234);
	for (int i = 0; i < 200000; i++) {
		int op = rand() % 8;
		u8 idx = rand() % 0x100, val = rand();

		if (op < 3) {
			rtc__write(&rtc, 0, idx);
			rtc__read(&rtc, 1);
		} else if (op < 5) {
			/* favour the interesting registers */
			wr(rand() % 2 ? idx & 0x0f : idx, val);
		} else if (op == 5) {
			advance((u64)rand() % (2 * NS));
		} else if (op == 6) {
			rtc__tick(&rtc);
		} else {
			u8 c = rd(RTC_REG_C);

			assert_int_equal(c & 0x0f, 0);
			assert_int_equal(irq_level, 0);
		}
		/* the line is IRQF, and the timer is never in the past */
		assert_int_equal(irq_level, rtc.r.irq_level);
		assert_true(timer_ns == 0 || timer_ns > fake_ns - 1);
		assert_true(rtc.r.offset_nsec < NS);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calendar),
		cmocka_unit_test_setup_teardown(test_power_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_century_rollover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_and_12_hour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_time_linux, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_time_binary_12h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_flag_without_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm_flag_and_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_alarm_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_clock_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
