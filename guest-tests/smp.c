// SPDX-License-Identifier: GPL-2.0
/*
 * SMP start-up: start every vCPU (cpus=N on the command line, default 1)
 * with INIT-SIPI-SIPI; each AP checks in with its LAPIC id, checks that
 * CPUID agrees, and adds to a shared counter with locked instructions.
 */
#include "guest.h"

#define ADDS_PER_CPU	1000

static volatile u32 counter;
static volatile u32 apic_seen[MAX_CPUS];
static volatile u32 cpuid_id[MAX_CPUS];

static u32 cpuid_apic_id(void)
{
	u32 a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

static void ap(u32 apic_id)
{
	printf("AP with LAPIC id %u checked in\n", apic_id);
	if (apic_id < MAX_CPUS) {
		cpuid_id[apic_id] = cpuid_apic_id();
		for (unsigned int i = 0; i < ADDS_PER_CPU; i++)
			__atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&apic_seen[apic_id], 1, __ATOMIC_SEQ_CST);
	}
}

int main(void)
{
	u32 n = cmdline_uint("cpus", 1), timeout_ms = cmdline_uint("timeout_ms", 2000);
	u32 self = lapic_id(), started;
	u64 deadline;

	if (n < 1 || n > MAX_CPUS) {
		printf("FAIL: cpus=%u: give 1..%u\n", n, MAX_CPUS);
		return EXIT_USAGE;
	}
	printf("smp: starting %u CPU(s); the boot CPU has LAPIC id %u\n", n, self);
	check(self == 0, "the boot CPU's LAPIC id is 0 (it is %u)", self);
	check(cpuid_apic_id() == self, "CPUID.1 EBX[31:24] on the boot CPU is its LAPIC id");

	started = smp_start(n, ap, timeout_ms);
	check(started == n - 1, "%u of %u AP(s) arrived within %u ms each", started, n - 1,
	      timeout_ms);

	/* the APs that arrived finish their additions */
	deadline = rdtsc() + us_to_tsc((u64)timeout_ms * 1000);
	for (u32 id = 1; id < n; id++)
		while (smp_arrived(id) && !apic_seen[id] && rdtsc() < deadline)
			cpu_relax();
	for (u32 id = 0; id < n; id++) {
		if (id == self)
			continue;
		if (!check(apic_seen[id], "the CPU with LAPIC id %u ran its function", id))
			continue;
		check(cpuid_id[id] == id, "CPUID.1 on LAPIC id %u reports APIC id %u", id,
		      cpuid_id[id]);
	}
	check(counter == (n - 1) * ADDS_PER_CPU, "the APs' locked additions total %u (want %u)",
	      counter, (n - 1) * ADDS_PER_CPU);
	check(smp_nr_online == n, "%u CPU(s) online", smp_nr_online);
	return 0;
}
