// SPDX-License-Identifier: GPL-2.0
/*
 * MC146818-compatible CMOS RTC: index port 0x70 (bit 7 masks NMI), data
 * port 0x71, 128 bytes of CMOS with the clock in registers 0-9 and the
 * century at 0x32, and IRQ 8 for periodic, alarm and update-ended interrupts.
 * See devices/rtc.h for the model.
 */
#include "devices/rtc.h"
#include "vmm/evloop.h"
#include "vmm/irq.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC		1000000000LL
#define SEC_PER_DAY		86400LL
#define DIVIDER_HZ		32768LL	/* the time base behind every rate */
#define UIP_TICKS		8	/* UIP rises 244 us (8 ticks) before an update */
#define RTC_C_FLAGS		(RTC_C_PF | RTC_C_AF | RTC_C_UF)
#define ALARM_ANY		(-1)
#define ALARM_NEVER		(-2)

/* a time on the guest's clock */
struct gtime {
	s64 sec;
	u32 nsec;
};

static s64 floor_div(s64 a, s64 b)
{
	s64 q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

static s64 floor_mod(s64 a, s64 b)
{
	return a - floor_div(a, b) * b;
}

/*
 * Days between 1970-01-01 and a date of the proleptic Gregorian calendar,
 * counting in 400-year eras (146097 days) of years that start on March 1st,
 * so that the leap day is the last day of its year.
 */
s64 rtc__days_from_civil(s64 y, unsigned int m, unsigned int d)
{
	s64 era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;				/* 0..399 */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;	/* 0..365 */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* 0..146096 */
	return era * 146097 + doe - 719468;		/* 719468: 0000-03-01 to 1970-01-01 */
}

void rtc__civil_from_days(s64 days, s64 *y, unsigned int *m, unsigned int *d)
{
	s64 z = days + 719468, era, doe, yoe, doy, mp;

	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/* ---- register formats: BCD or binary, 12- or 24-hour (register B) ---- */

static bool binary(const struct rtc_regs *r)
{
	return r->cmos[RTC_REG_B] & RTC_B_DM_BINARY;
}

static u8 enc(const struct rtc_regs *r, unsigned int v)
{
	return binary(r) ? v : ((v / 10) << 4) | (v % 10);
}

static unsigned int dec(const struct rtc_regs *r, u8 b)
{
	return binary(r) ? b : (b >> 4) * 10 + (b & 0x0f);
}

static u8 enc_hour(const struct rtc_regs *r, unsigned int h)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return enc(r, h);
	/* 12-hour: 12, 1..11 with bit 7 for PM */
	return enc(r, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static unsigned int dec_hour(const struct rtc_regs *r, u8 b)
{
	unsigned int h;

	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return MIN(dec(r, b), 23U);
	h = MIN(MAX(dec(r, b & 0x7f), 1U), 12U);
	return h % 12 + (b & 0x80 ? 12 : 0);
}

/* the clock bytes (0-9 and the century) for a guest time */
static void time_to_bytes(const struct rtc_regs *r, s64 sec, u8 *cmos)
{
	s64 days = floor_div(sec, SEC_PER_DAY), tod = sec - days * SEC_PER_DAY, y;
	unsigned int m, d;

	rtc__civil_from_days(days, &y, &m, &d);
	y = floor_mod(y, 10000);	/* four BCD digits */
	cmos[RTC_SECONDS] = enc(r, tod % 60);
	cmos[RTC_MINUTES] = enc(r, tod / 60 % 60);
	cmos[RTC_HOURS] = enc_hour(r, tod / 3600);
	cmos[RTC_DAY_OF_WEEK] = enc(r, floor_mod(days + 4, 7) + 1); /* 1970-01-01: Thu; Sun = 1 */
	cmos[RTC_DAY_OF_MONTH] = enc(r, d);
	cmos[RTC_MONTH] = enc(r, m);
	cmos[RTC_YEAR] = enc(r, y % 100);
	cmos[RTC_CENTURY] = enc(r, y / 100);
}

/*
 * The guest time the clock bytes say.  Whatever the guest wrote, the result
 * is a real date: out-of-range fields are clamped (a day past the end of its
 * month rolls into the next); the day of the week is ignored, it follows
 * from the date.
 */
static s64 bytes_to_time(const struct rtc_regs *r, const u8 *cmos)
{
	unsigned int s = MIN(dec(r, cmos[RTC_SECONDS]), 59U);
	unsigned int mi = MIN(dec(r, cmos[RTC_MINUTES]), 59U);
	unsigned int h = dec_hour(r, cmos[RTC_HOURS]);
	unsigned int d = MIN(MAX(dec(r, cmos[RTC_DAY_OF_MONTH]), 1U), 31U);
	unsigned int mo = MIN(MAX(dec(r, cmos[RTC_MONTH]), 1U), 12U);
	unsigned int y = MIN(dec(r, cmos[RTC_YEAR]), 99U);
	unsigned int c = MIN(dec(r, cmos[RTC_CENTURY]), 99U);

	return rtc__days_from_civil(c * 100 + y, mo, d) * SEC_PER_DAY + h * 3600 + mi * 60 + s;
}

static bool is_clock_byte(unsigned int idx)
{
	return (idx <= RTC_YEAR && !(idx <= RTC_HOURS_ALARM && (idx & 1))) ||
	       idx == RTC_CENTURY;
}

/* ---- the clock ---- */

static u64 host_now(struct rtc *rtc)
{
	struct timespec ts;

	if (rtc->clock)
		return rtc->clock(rtc);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * (u64)NSEC_PER_SEC + ts.tv_nsec;
}

static struct gtime guest_time(const struct rtc_regs *r, u64 host)
{
	struct gtime g = {
		.sec = (s64)(host / NSEC_PER_SEC) + r->offset_sec,
		.nsec = host % NSEC_PER_SEC + r->offset_nsec,
	};

	if (g.nsec >= NSEC_PER_SEC) {
		g.nsec -= NSEC_PER_SEC;
		g.sec++;
	}
	return g;
}

/* make the guest clock read g at host time host */
static void set_guest_time(struct rtc_regs *r, u64 host, struct gtime g)
{
	s64 nsec = (s64)g.nsec - (s64)(host % NSEC_PER_SEC);

	r->offset_sec = g.sec - (s64)(host / NSEC_PER_SEC);
	if (nsec < 0) {
		nsec += NSEC_PER_SEC;
		r->offset_sec--;
	}
	r->offset_nsec = nsec;
	r->seen_sec = g.sec;
	r->seen_nsec = g.nsec;
}

static int gtime_cmp(struct gtime a, struct gtime b)
{
	if (a.sec != b.sec)
		return a.sec < b.sec ? -1 : 1;
	return a.nsec < b.nsec ? -1 : a.nsec > b.nsec;
}

/* the divider chain runs unless both reset bits are set */
static bool divider_running(const struct rtc_regs *r)
{
	return (r->cmos[RTC_REG_A] & RTC_A_DV_RESET) != RTC_A_DV_RESET;
}

/* the clock counts (and updates happen) when running and not being set */
static bool ticking(const struct rtc_regs *r)
{
	return divider_running(r) && !(r->cmos[RTC_REG_B] & RTC_B_SET);
}

/* 32768 Hz ticks since the epoch of the guest clock */
static s64 ticks(struct gtime g)
{
	return g.sec * DIVIDER_HZ + (s64)g.nsec * DIVIDER_HZ / NSEC_PER_SEC;
}

/* ticks per periodic interrupt, 0 for none; RS 1 and 2 repeat 8 and 9 */
static s64 periodic_ticks(const struct rtc_regs *r)
{
	unsigned int rs = r->cmos[RTC_REG_A] & RTC_A_RS_MASK;

	if (!rs || !divider_running(r))
		return 0;
	return 1LL << (rs <= 2 ? rs + 6 : rs - 1);
}

/* the guest time at which tick count t begins */
static struct gtime tick_time(s64 t)
{
	s64 sec = floor_div(t, DIVIDER_HZ), sub = t - sec * DIVIDER_HZ;

	/* rounded up, so that ticks() of the result is t */
	return (struct gtime){ sec, (sub * NSEC_PER_SEC + DIVIDER_HZ - 1) / DIVIDER_HZ };
}

/*
 * An alarm byte as the value it matches: 0.. for one value, ALARM_ANY for a
 * don't-care byte, ALARM_NEVER for a byte no time has in this format.
 */
static int alarm_target(const struct rtc_regs *r, u8 a, unsigned int limit, bool hour)
{
	if ((a & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE)
		return ALARM_ANY;
	for (unsigned int v = 0; v < limit; v++)
		if ((hour ? enc_hour(r, v) : enc(r, v)) == a)
			return v;
	return ALARM_NEVER;
}

/* the first second after `after` (within a day) that the alarm matches */
static bool next_alarm(const struct rtc_regs *r, s64 after, s64 *out)
{
	int ts = alarm_target(r, r->cmos[RTC_SECONDS_ALARM], 60, false);
	int tm = alarm_target(r, r->cmos[RTC_MINUTES_ALARM], 60, false);
	int th = alarm_target(r, r->cmos[RTC_HOURS_ALARM], 24, true);
	s64 t = after + 1;

	if (ts == ALARM_NEVER || tm == ALARM_NEVER || th == ALARM_NEVER)
		return false;
	/* minute by minute: a day and a bit covers every pattern */
	for (unsigned int i = 0; i <= 24 * 60 + 1; i++) {
		s64 tod = floor_mod(t, SEC_PER_DAY);
		int h = tod / 3600, m = tod / 60 % 60, s = tod % 60;

		if ((th == ALARM_ANY || th == h) && (tm == ALARM_ANY || tm == m)) {
			if (ts == ALARM_ANY) {
				*out = t;
				return true;
			}
			if (ts >= s) {
				*out = t + (ts - s);
				return true;
			}
		}
		t += 60 - s;
	}
	return false;
}

/* Set the flags of every event between the last look and now. */
static void catch_up(struct rtc *rtc, struct gtime now)
{
	struct rtc_regs *r = &rtc->r;
	struct gtime seen = { r->seen_sec, r->seen_nsec };
	s64 period = periodic_ticks(r), alarm;

	if (!divider_running(r) || gtime_cmp(now, seen) <= 0)
		goto out;	/* stopped, or the host clock went back */
	if (period && floor_div(ticks(now), period) != floor_div(ticks(seen), period))
		r->cmos[RTC_REG_C] |= RTC_C_PF;
	if (ticking(r) && now.sec != seen.sec) {
		r->cmos[RTC_REG_C] |= RTC_C_UF;
		if (next_alarm(r, seen.sec, &alarm) && alarm <= now.sec)
			r->cmos[RTC_REG_C] |= RTC_C_AF;
	}
out:
	r->seen_sec = now.sec;
	r->seen_nsec = now.nsec;
}

static u8 irqf(const struct rtc_regs *r)
{
	return r->cmos[RTC_REG_C] & r->cmos[RTC_REG_B] & RTC_C_FLAGS ? RTC_C_IRQF : 0;
}

/* IRQF drives the interrupt line: high from an enabled event to the read of C */
static void update_irq(struct rtc *rtc)
{
	bool level = irqf(&rtc->r);

	if (level == rtc->r.irq_level)
		return;
	rtc->r.irq_level = level;
	if (rtc->set_irq)
		rtc->set_irq(rtc, level);
	else if (rtc->vm)
		irq__line(rtc->vm, rtc->irq, level);
}

/*
 * Arm the timer for the next event that would raise IRQF.  With IRQF set
 * already, nothing can change until the guest reads C: no timer.
 */
static void rearm(struct rtc *rtc, u64 host, struct gtime now)
{
	struct rtc_regs *r = &rtc->r;
	u8 en = r->cmos[RTC_REG_B];
	struct gtime next = { INT64_MAX, 0 }, t;
	s64 period = periodic_ticks(r), alarm;
	u64 deadline = 0;

	if (!rtc->set_timer)
		return;
	if (!irqf(r)) {
		if ((en & RTC_B_PIE) && period) {
			t = tick_time((floor_div(ticks(now), period) + 1) * period);
			if (gtime_cmp(t, next) < 0)
				next = t;
		}
		if ((en & RTC_B_UIE) && ticking(r)) {
			t = (struct gtime){ now.sec + 1, 0 };
			if (gtime_cmp(t, next) < 0)
				next = t;
		}
		if ((en & RTC_B_AIE) && ticking(r) && next_alarm(r, now.sec, &alarm)) {
			t = (struct gtime){ alarm, 0 };
			if (gtime_cmp(t, next) < 0)
				next = t;
		}
	}
	if (next.sec != INT64_MAX) {
		/* next is after now, and at most a day and a bit away */
		s64 delta = (next.sec - now.sec) * NSEC_PER_SEC + next.nsec - (s64)now.nsec;

		deadline = host + delta;
	}
	rtc->set_timer(rtc, deadline);
}

/* ---- register access ---- */

void rtc__init_regs(struct rtc *rtc)
{
	struct rtc_regs *r = &rtc->r;
	u64 host = host_now(rtc);

	memset(r, 0, sizeof(*r));
	r->cmos[RTC_REG_A] = RTC_A_DV_32KHZ | 0x06;	/* 1024 Hz */
	r->cmos[RTC_REG_B] = RTC_B_24H;			/* BCD, 24-hour */
	r->cmos[RTC_REG_D] = RTC_D_VRT;
	/* the host's UTC time, as if the battery had kept it */
	set_guest_time(r, host, guest_time(r, host));
	time_to_bytes(r, guest_time(r, host).sec, r->cmos);
}

void rtc__reset(struct rtc *rtc)
{
	struct rtc_regs *r = &rtc->r;
	u64 host;

	pthread_mutex_lock(&rtc->lock);
	host = host_now(rtc);
	catch_up(rtc, guest_time(r, host));
	r->cmos[RTC_REG_B] &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
	r->cmos[RTC_REG_C] = 0;
	update_irq(rtc);
	rearm(rtc, host, guest_time(r, host));
	pthread_mutex_unlock(&rtc->lock);
}

static u8 data_read(struct rtc *rtc, u64 host, struct gtime now)
{
	struct rtc_regs *r = &rtc->r;
	unsigned int idx = r->index;
	u8 bytes[RTC_CMOS_SIZE], v;

	switch (idx) {
	case RTC_REG_A:
		v = r->cmos[RTC_REG_A] & ~RTC_A_UIP;
		if (ticking(r) && floor_mod(ticks(now), DIVIDER_HZ) >= DIVIDER_HZ - UIP_TICKS)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		v = r->cmos[RTC_REG_C] | irqf(r);
		r->cmos[RTC_REG_C] = 0;
		update_irq(rtc);
		rearm(rtc, host, now);
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	}
	if (is_clock_byte(idx) && ticking(r)) {
		time_to_bytes(r, now.sec, bytes);
		return bytes[idx];
	}
	return r->cmos[idx];
}

/*
 * The clock starts counting from its bytes.  After SET, the divider never
 * stopped: the next update comes at its next second boundary.  A divider
 * leaving reset makes the first update come half a second later, as on the
 * chip (hwclock allows for that).
 */
static void clock_start(struct rtc *rtc, u64 host, struct gtime now, bool from_divider_reset)
{
	struct rtc_regs *r = &rtc->r;
	struct gtime g = {
		.sec = bytes_to_time(r, r->cmos),
		.nsec = from_divider_reset ? NSEC_PER_SEC / 2 : now.nsec,
	};

	set_guest_time(r, host, g);
}

static void data_write(struct rtc *rtc, u64 host, struct gtime now, u8 val)
{
	struct rtc_regs *r = &rtc->r;
	unsigned int idx = r->index;
	bool was_ticking = ticking(r), was_running = divider_running(r);

	switch (idx) {
	case RTC_REG_A:
		r->cmos[RTC_REG_A] = val & ~RTC_A_UIP;
		break;
	case RTC_REG_B:
		/* setting SET aborts updates and clears UIE */
		if (val & RTC_B_SET)
			val &= ~RTC_B_UIE;
		r->cmos[RTC_REG_B] = val;
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		return;		/* read-only */
	default:
		if (is_clock_byte(idx) && was_ticking) {
			/* a write while counting: the clock goes on from the new value */
			struct gtime g = now;

			time_to_bytes(r, now.sec, r->cmos);
			r->cmos[idx] = val;
			g.sec = bytes_to_time(r, r->cmos);
			set_guest_time(r, host, g);
		} else {
			r->cmos[idx] = val;
		}
		break;
	}
	if (was_ticking && !ticking(r)) {
		/* stopped: the bytes hold the time from now on, for the guest to set */
		time_to_bytes(r, now.sec, r->cmos);
	} else if (!was_ticking && ticking(r)) {
		clock_start(rtc, host, now, !was_running);
	} else if (!was_running && divider_running(r)) {
		/* periodic ticks resume from here, not from when they stopped */
		r->seen_sec = now.sec;
		r->seen_nsec = now.nsec;
	}
}

u8 rtc__read(struct rtc *rtc, unsigned int offset)
{
	struct gtime now;
	u64 host;
	u8 v;

	if (offset != 1)
		return 0xff;	/* the index port is write-only */
	pthread_mutex_lock(&rtc->lock);
	host = host_now(rtc);
	now = guest_time(&rtc->r, host);
	catch_up(rtc, now);
	update_irq(rtc);
	v = data_read(rtc, host, now);
	pthread_mutex_unlock(&rtc->lock);
	return v;
}

void rtc__write(struct rtc *rtc, unsigned int offset, u8 val)
{
	struct rtc_regs *r = &rtc->r;
	struct gtime now;
	u64 host;

	pthread_mutex_lock(&rtc->lock);
	if (offset == 0) {
		r->index = val & 0x7f;
		r->nmi_masked = val & 0x80;
		pthread_mutex_unlock(&rtc->lock);
		return;
	}
	host = host_now(rtc);
	now = guest_time(r, host);
	catch_up(rtc, now);
	data_write(rtc, host, now, val);
	update_irq(rtc);
	rearm(rtc, host, guest_time(r, host));
	pthread_mutex_unlock(&rtc->lock);
}

void rtc__tick(struct rtc *rtc)
{
	struct gtime now;
	u64 host;

	pthread_mutex_lock(&rtc->lock);
	host = host_now(rtc);
	now = guest_time(&rtc->r, host);
	catch_up(rtc, now);
	update_irq(rtc);
	rearm(rtc, host, now);
	pthread_mutex_unlock(&rtc->lock);
}

/* ---- the device in a VM ---- */

struct rtc_dev {
	struct rtc rtc;
	struct vm_device vd;
	int tfd;		/* CLOCK_REALTIME timerfd on the main loop */
	u64 armed;		/* its deadline, 0 if disarmed */
};

static struct rtc_dev *rtc_dev;

/* the ports are bytes; a word access at 0x70 is the index, then the data
 * (the bus gives us nothing wider: it would run past 0x71) */
static void rtc_io_read(void *dev, u64 off, void *data, u32 len)
{
	for (u32 i = 0; i < len; i++)
		((u8 *)data)[i] = rtc__read(dev, off + i);
}

static void rtc_io_write(void *dev, u64 off, const void *data, u32 len)
{
	for (u32 i = 0; i < len; i++)
		rtc__write(dev, off + i, ((const u8 *)data)[i]);
}

static const struct trap_ops rtc_ops = {
	.read = rtc_io_read,
	.write = rtc_io_write,
};

/* called with the RTC lock held */
static void rtc_set_timer(struct rtc *rtc, u64 host_ns)
{
	struct rtc_dev *d = container_of(rtc, struct rtc_dev, rtc);
	struct itimerspec its = {
		.it_value.tv_sec = host_ns / NSEC_PER_SEC,
		.it_value.tv_nsec = host_ns % NSEC_PER_SEC,
	};

	if (host_ns == d->armed)
		return;
	/* absolute on the wall clock the RTC follows; a step of that clock
	 * cancels the timer (the read fails with ECANCELED) and we re-arm */
	if (timerfd_settime(d->tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0) {
		pr_warn_guest("RTC: timerfd_settime: %s", strerror(errno));
		d->armed = 0;
		return;
	}
	d->armed = host_ns;
}

static void rtc_timer_event(int fd, u32 events __unused, void *opaque)
{
	struct rtc_dev *d = opaque;
	u64 n;

	if (read(fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return;
	/* expired, or canceled by a clock step: either way, look again */
	pthread_mutex_lock(&d->rtc.lock);
	d->armed = 0;
	pthread_mutex_unlock(&d->rtc.lock);
	rtc__tick(&d->rtc);
}

static void rtc_dev_reset(struct vm_device *vd)
{
	rtc__reset(&container_of(vd, struct rtc_dev, vd)->rtc);
}

static int rtc__dev_init(struct vm *vm)
{
	struct rtc_dev *d = xzalloc(sizeof(*d));
	int ret;

	pthread_mutex_init(&d->rtc.lock, NULL);
	d->rtc.vm = vm;
	d->rtc.irq = IRQ_RTC;
	d->rtc.set_timer = rtc_set_timer;
	d->tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->tfd < 0) {
		ret = -errno;
		pr_err("RTC: timerfd_create: %s", strerror(errno));
		goto err_free;
	}
	rtc__init_regs(&d->rtc);
	ret = evloop__add(vm->loop, d->tfd, EPOLLIN, rtc_timer_event, d);
	if (ret) {
		pr_err("RTC: cannot watch its timer: %s", strerror(-ret));
		goto err_close;
	}
	ret = bus__register(&vm->pio, PORT_RTC, 2, &rtc_ops, &d->rtc, "rtc");
	if (ret) {
		pr_err("RTC: ports %#x-%#x are taken", PORT_RTC, PORT_RTC + 1);
		goto err_del;
	}
	d->vd.name = "rtc";
	d->vd.reset = rtc_dev_reset;
	vm__add_device(vm, &d->vd);
	rtc_dev = d;
	return 0;

err_del:
	evloop__del(vm->loop, d->tfd);
err_close:
	close(d->tfd);
err_free:
	pthread_mutex_destroy(&d->rtc.lock);
	free(d);
	return ret;
}

static void rtc__dev_exit(struct vm *vm)
{
	struct rtc_dev *d = rtc_dev;

	if (!d)
		return;
	bus__unregister(&vm->pio, PORT_RTC, &d->rtc);
	vm__remove_device(vm, &d->vd);
	evloop__del(vm->loop, d->tfd);
	close(d->tfd);
	pthread_mutex_destroy(&d->rtc.lock);
	free(d);
	rtc_dev = NULL;
}
vm_initcall(INIT_DEVICE, rtc__dev_init, rtc__dev_exit, NULL);
