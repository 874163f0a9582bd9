/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_RTC_H
#define DPVM_RTC_H

#include "vmm/types.h"

#include <pthread.h>

/*
 * An MC146818-compatible CMOS real-time clock (ports 0x70/0x71, IRQ 8), as
 * Linux's rtc-cmos driver (ACPI PNP0B00) and its boot-time clock read use it.
 *
 * The clock is the host's wall clock plus an offset the guest changes by
 * setting the time.  The time registers are computed when read, so they are
 * always consistent; UIP is set only in the 244 us before each update, as on
 * the chip, so a guest that waits for it waits at most that long.
 *
 * Interrupt flags (register C) are computed lazily from the clock: between
 * two looks, every periodic tick, update and alarm match that happened sets
 * its flag.  A timer (a timerfd on the main event loop) is armed only for the
 * next event that is enabled in register B and would raise IRQF; while IRQF
 * is already set, or nothing is enabled, no timer runs.
 *
 * All guest-visible state is struct rtc_regs, one plain struct.  The register
 * logic (rtc__read, rtc__write, rtc__tick) needs no VM: unit tests give their
 * own clock, interrupt and timer hooks.
 */
#define RTC_CMOS_SIZE		128

/* CMOS indexes */
#define RTC_SECONDS		0x00
#define RTC_SECONDS_ALARM	0x01
#define RTC_MINUTES		0x02
#define RTC_MINUTES_ALARM	0x03
#define RTC_HOURS		0x04
#define RTC_HOURS_ALARM		0x05
#define RTC_DAY_OF_WEEK		0x06
#define RTC_DAY_OF_MONTH	0x07
#define RTC_MONTH		0x08
#define RTC_YEAR		0x09
#define RTC_REG_A		0x0a
#define RTC_REG_B		0x0b
#define RTC_REG_C		0x0c
#define RTC_REG_D		0x0d
#define RTC_CENTURY		0x32	/* the FADT's CENTURY field points here */

/* register A */
#define RTC_A_UIP		0x80	/* update in progress (read-only) */
#define RTC_A_DV_MASK		0x70	/* divider: 010 runs at 32.768 kHz, 11x resets */
#define RTC_A_DV_32KHZ		0x20
#define RTC_A_DV_RESET		0x60	/* both bits: the divider chain is held in reset */
#define RTC_A_RS_MASK		0x0f	/* periodic rate select */
/* register B */
#define RTC_B_SET		0x80	/* updates inhibited: the guest is setting the time */
#define RTC_B_PIE		0x40
#define RTC_B_AIE		0x20
#define RTC_B_UIE		0x10
#define RTC_B_SQWE		0x08
#define RTC_B_DM_BINARY		0x04
#define RTC_B_24H		0x02
#define RTC_B_DSE		0x01
/* register C (read-only; cleared by reading it) */
#define RTC_C_IRQF		0x80
#define RTC_C_PF		0x40
#define RTC_C_AF		0x20
#define RTC_C_UF		0x10
/* register D */
#define RTC_D_VRT		0x80	/* the battery is good */

/* an alarm byte with both top bits set matches any value */
#define RTC_ALARM_DONT_CARE	0xc0

struct rtc_regs {
	/* registers 0x00-0x0d and battery-backed RAM; the time bytes 0-9
	 * and the century hold the guest's values only while the clock is
	 * stopped (SET, or the divider in reset): else they are computed */
	u8 cmos[RTC_CMOS_SIZE];
	u8 index;		/* last index written to port 0x70 */
	bool nmi_masked;	/* bit 7 of that write */
	/* guest time = host wall clock + offset; 0 <= offset_nsec < 1e9 */
	s64 offset_sec;
	u32 offset_nsec;
	/* events up to this guest time have set their flags */
	s64 seen_sec;
	u32 seen_nsec;
	bool irq_level;
};

struct vm;
struct rtc {
	struct rtc_regs r;
	pthread_mutex_t lock;
	struct vm *vm;		/* NULL in unit tests */
	unsigned int irq;
	/* the host's wall clock in ns since the Unix epoch; NULL: CLOCK_REALTIME */
	u64 (*clock)(struct rtc *rtc);
	/* tests: the interrupt line as driven (else irq__line on vm) */
	void (*set_irq)(struct rtc *rtc, int level);
	/* arm the timer at a host wall-clock time in ns, or disarm it (0) */
	void (*set_timer)(struct rtc *rtc, u64 host_ns);
	void *opaque;
};

/* power-on state: the host's time, 24-hour BCD, 1024 Hz rate selected */
void rtc__init_regs(struct rtc *rtc);
/* chip reset (RESET pin): interrupt enables and flags cleared, time kept */
void rtc__reset(struct rtc *rtc);
/* port access: offset 0 is the index port (0x70), 1 the data port (0x71) */
u8 rtc__read(struct rtc *rtc, unsigned int offset);
void rtc__write(struct rtc *rtc, unsigned int offset, u8 val);
/* the timer expired (or the host clock was set): raise due flags, re-arm */
void rtc__tick(struct rtc *rtc);

/* calendar helpers, exported for tests: days since 1970-01-01 */
s64 rtc__days_from_civil(s64 y, unsigned int m, unsigned int d);
void rtc__civil_from_days(s64 days, s64 *y, unsigned int *m, unsigned int *d);

#endif
