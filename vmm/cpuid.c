// SPDX-License-Identifier: GPL-2.0
/*
 * CPUID for each vCPU: what KVM supports, with a coherent topology of one
 * socket with n cores of one thread each, and APIC id == vCPU index.
 */
#include "vmm/util.h"
#include "vmm/vcpu.h"

#include <string.h>

#define CPUID_1_ECX_HYPERVISOR	(1U << 31)
#define CPUID_1_EDX_HTT		(1U << 28)
#define CPUID_80000001_ECX_CMP_LEGACY (1U << 1)

static unsigned int bits_for(unsigned int n)
{
	unsigned int b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

struct kvm_cpuid2 *cpuid__for_vcpu(const struct kvm_cpuid2 *sup,
				   unsigned int id, unsigned int n)
{
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = xzalloc(sz);
	unsigned int core_bits = bits_for(n);

	memcpy(c, sup, sz);
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0x0000ffff) | (id << 24) |
				 ((1U << core_bits) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (n > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 0x4: {
			/* deterministic cache parameters: which cores share a cache */
			unsigned int level = (e->eax >> 5) & 7;
			unsigned int sharing = level >= 3 ? (1U << core_bits) - 1 : 0;

			if (!(e->eax & 0x1f))
				break; /* no more caches */
			e->eax = (e->eax & 0x3fff) | (sharing << 14) |
				 (((1U << core_bits) - 1) << 26);
			break;
		}
		case 0xb:
		case 0x1f:
			/* extended topology: SMT level (1 thread), then cores */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1 << 8) | 0;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = n;
				e->ecx = (2 << 8) | 1;
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000001:
			if (n > 1)
				e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
			else
				e->ecx &= ~CPUID_80000001_ECX_CMP_LEGACY;
			break;
		case 0x80000008:
			/* AMD: NC (cores - 1) and ApicIdCoreIdSize */
			e->ecx = (e->ecx & ~0xf0ffU) | (core_bits << 12) | (n - 1);
			break;
		case 0x8000001e:
			/* AMD extended APIC id; one thread per core, one node */
			e->eax = id;
			e->ebx = id & 0xff;
			e->ecx = 0;
			break;
		}
	}
	return c;
}
