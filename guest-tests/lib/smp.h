/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Starting the other vCPUs: INIT-SIPI-SIPI to each, a real-mode trampoline
 * copied to AP_TRAMPOLINE (below 1 MiB) that enters 32-bit protected mode
 * with the runtime's GDT, a stack of its own, and a C function.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#define MAX_CPUS	64
#define AP_STACK_SIZE	8192
#define AP_TRAMPOLINE	0x10000		/* SIPI vector 0x10 */

#ifndef __ASSEMBLER__
#include "io.h"

/*
 * Start the CPUs with APIC ids 1..n-1 (dpvm and QEMU number vCPUs so) one
 * at a time; each runs fn(its APIC id) with interrupts off, then halts.
 * Waits at most timeout_ms for each; returns how many arrived.
 */
unsigned int smp_start(unsigned int n, void (*fn)(u32 apic_id), u32 timeout_ms);
/* whether the CPU with this APIC id has checked in */
bool smp_arrived(u32 apic_id);
extern volatile u32 smp_nr_online;	/* the boot CPU included */
#endif

#endif
