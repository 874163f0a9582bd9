/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_MEMORY_H
#define DPVM_MEMORY_H

#include "vmm/types.h"

/*
 * Guest RAM is one memfd (hugetlbfs-backed with --hugepages), mapped once
 * and split into at most two KVM memory slots: below the 32-bit PCI hole
 * and above 4 GiB.
 */
struct mem_region {
	u64 gpa;
	u64 size;
	u8 *hva;
	unsigned int slot;
};

#define MEM_MAX_REGIONS 2

struct guest_mem {
	int fd;
	u8 *base;
	u64 size;
	u64 page_size;
	bool hugepages;
	bool locked;		/* populated and mlock'ed (--mem-reserve full) */
	struct mem_region regions[MEM_MAX_REGIONS];
	unsigned int nr_regions;
	unsigned int next_slot;	/* first free KVM slot after RAM */
	u64 ram_top;		/* highest RAM gpa + 1 */
	u64 mmio64_base, mmio64_size;
};

struct vm;

/* lay out the regions for size bytes (no allocation; unit-tested) */
void mem__layout(struct guest_mem *mem, u64 size, unsigned int phys_bits);

/*
 * Host pointer for [gpa, gpa+len) if the whole range is guest RAM in one
 * region, else NULL.  Every guest-supplied address goes through this.
 */
static inline void *mem__gpa_to_hva(const struct guest_mem *mem, u64 gpa, u64 len)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

/* copy to/from guest RAM; -EFAULT if the range is not all RAM */
int mem__write(const struct guest_mem *mem, u64 gpa, const void *src, u64 len);
int mem__read(const struct guest_mem *mem, u64 gpa, void *dst, u64 len);

/* whether this process may lock memory beyond RLIMIT_MEMLOCK */
bool mem__has_cap_ipc_lock(void);

/* check before creating anything that the host can give this much memory */
int mem__check_host(u64 size, bool hugepages, bool reserve_full);

/* a free KVM slot number for a device region (passthrough BARs) */
int mem__alloc_slot(struct vm *vm);
/* (re)define KVM slot `slot`; flags: KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES;
 * size 0 deletes it */
int mem__set_slot(struct vm *vm, unsigned int slot, u64 gpa, u64 size, void *hva,
		  u32 flags);

#endif
