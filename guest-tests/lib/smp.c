// SPDX-License-Identifier: GPL-2.0
/* AP start-up: see smp.h and trampoline.S. */
#include "guest.h"

volatile u32 smp_nr_online = 1;
static volatile u8 arrived[256];
static void (*volatile ap_fn)(u32 apic_id);
extern const char ap_trampoline[], ap_trampoline_end[];

void ap_main(void) __noreturn;

/* called by ap_entry32 on the AP's own stack */
void ap_main(void)
{
	void (*fn)(u32) = ap_fn;
	u32 id;

	idt_load();
	lapic_enable();
	id = lapic_id();
	__atomic_add_fetch(&smp_nr_online, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&arrived[id & 0xff], 1, __ATOMIC_SEQ_CST);
	if (fn)
		fn(id);
	for (;;) {
		irq_disable();
		halt();
	}
}

bool smp_arrived(u32 apic_id)
{
	return apic_id < 256 && __atomic_load_n(&arrived[apic_id], __ATOMIC_SEQ_CST);
}

static bool wait_arrival(u32 id, u64 deadline)
{
	while (!smp_arrived(id))
		if (rdtsc() > deadline)
			return false;
	return true;
}

unsigned int smp_start(unsigned int n, void (*fn)(u32 apic_id), u32 timeout_ms)
{
	u32 self, sipi = ICR_STARTUP | (AP_TRAMPOLINE >> 12);
	unsigned int started = 0;

	if (n > MAX_CPUS) {
		printf("FAIL: smp_start: %u CPUs; the runtime has stacks for %u\n", n, MAX_CPUS);
		exit_test(EXIT_USAGE);
	}
	memcpy((void *)AP_TRAMPOLINE, ap_trampoline, ap_trampoline_end - ap_trampoline);
	ap_fn = fn;
	lapic_enable();
	self = lapic_id();
	arrived[self] = 1;

	for (u32 id = 0; id < n; id++) {
		u64 deadline;

		if (id == self)
			continue;
		/* INIT, 10 ms, SIPI, 200 us, and a second SIPI if needed */
		if (!lapic_ipi(id, ICR_INIT | ICR_ASSERT))
			printf("smp: the INIT IPI to APIC %u stayed pending\n", id);
		udelay(10000);
		lapic_ipi(id, sipi);
		udelay(200);
		if (!smp_arrived(id))
			lapic_ipi(id, sipi);
		deadline = rdtsc() + us_to_tsc((u64)timeout_ms * 1000);
		if (wait_arrival(id, deadline))
			started++;
	}
	return started;
}
