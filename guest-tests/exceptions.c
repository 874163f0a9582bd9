// SPDX-License-Identifier: GPL-2.0
/*
 * The runtime's exception and interrupt paths:
 *  - claimed exceptions resume after the faulting instruction: #UD (ud2),
 *    #DE (divide by zero), #GP with its error code (loading a selector past
 *    the GDT's end); a self-IPI reaches its handler;
 *  - unhandled=ud|gp|irq: an exception or interrupt nobody claimed is
 *    reported with its vector (and error code) and ends the program with
 *    EXIT_EXCEPTION (status 5).
 * (INT3 / INT n are not used: this host's KVM backend cannot emulate them
 * in protected mode.)
 */
#include "guest.h"

#define SELF_IPI_VECTOR	0x66
#define ICR_SELF	(1 << 18)

static volatile u32 hits[256], last_error;

/* the faulting instructions below are all 2 bytes long */
static void skip2(struct irq_frame *f)
{
	hits[f->vector]++;
	last_error = f->error;
	f->eip += 2;
}

static void ipi(struct irq_frame *f)
{
	hits[f->vector]++;
	lapic_eoi();
}

static void do_ud(void)
{
	asm volatile("ud2");
}

static void do_gp(void)
{
	asm volatile("mov %0, %%ds" : : "r"(0x18) : "memory");	/* 8e d8: past the GDT */
	asm volatile("mov %0, %%ds" : : "r"(0x10) : "memory");
}

static void do_ipi(void)
{
	u64 end = rdtsc() + us_to_tsc(100000);

	lapic_ipi(0, ICR_SELF | SELF_IPI_VECTOR);
	irq_enable();
	while (!hits[SELF_IPI_VECTOR] && rdtsc() < end)
		cpu_relax();
	irq_disable();
}

int main(void)
{
	char what[8];
	u32 q;

	lapic_enable();
	if (cmdline_str("unhandled", what, sizeof(what))) {
		printf("exceptions: an unhandled %s follows\n", what);
		if (!strcmp(what, "ud"))
			do_ud();
		else if (!strcmp(what, "gp"))
			do_gp();
		else if (!strcmp(what, "irq"))
			do_ipi();
		else
			return EXIT_USAGE;
		fail("the unhandled %s did not end the program", what);
	}

	set_handler(6, skip2);
	do_ud();
	check(hits[6] == 1, "ud2 raised #UD once and resumed (%u)", hits[6]);

	set_handler(0, skip2);
	asm volatile("xor %%edx, %%edx; divl %1" : "=a"(q) : "c"(0), "a"(1) : "edx");	/* f7 f1 */
	check(hits[0] == 1, "divide by zero raised #DE once and resumed (%u)", hits[0]);

	set_handler(13, skip2);
	do_gp();
	check(hits[13] == 1 && last_error == 0x18,
	      "a selector past the GDT raised #GP once with error code %#x (want 0x18)", last_error);

	set_handler(SELF_IPI_VECTOR, ipi);
	do_ipi();
	check(hits[SELF_IPI_VECTOR] == 1, "a self-IPI reached vector %#x (%u)", SELF_IPI_VECTOR,
	      hits[SELF_IPI_VECTOR]);
	(void)q;
	return 0;
}
