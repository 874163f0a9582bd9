// SPDX-License-Identifier: GPL-2.0
#include "vmm/memory.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void mem__layout(struct guest_mem *mem, u64 size, unsigned int phys_bits)
{
	u64 low = MIN(size, LOW_RAM_END);
	u64 top, limit;

	mem->size = size;
	mem->nr_regions = 0;
	mem->regions[mem->nr_regions++] = (struct mem_region){
		.gpa = 0, .size = low, .slot = 0,
	};
	top = low;
	if (size > low) {
		mem->regions[mem->nr_regions++] = (struct mem_region){
			.gpa = HIGH_RAM_START, .size = size - low, .slot = 1,
		};
		top = HIGH_RAM_START + size - low;
	}
	mem->ram_top = top;
	mem->next_slot = mem->nr_regions;

	/* the 64-bit window starts above RAM and 4 GiB, and must stay
	 * addressable by the guest's physical address width */
	mem->mmio64_base = ALIGN_UP(MAX(top, HIGH_RAM_START), MMIO64_ALIGN);
	limit = phys_bits >= 64 ? ~0ULL : (1ULL << phys_bits);
	if (limit > mem->mmio64_base)
		mem->mmio64_size = MIN(MMIO64_MAX_SIZE, limit - mem->mmio64_base);
	else
		mem->mmio64_size = 0;
}

int mem__write(const struct guest_mem *mem, u64 gpa, const void *src, u64 len)
{
	void *p = mem__gpa_to_hva(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int mem__read(const struct guest_mem *mem, u64 gpa, void *dst, u64 len)
{
	void *p = mem__gpa_to_hva(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

static u64 meminfo_kib(const char *key)
{
	char line[256];
	u64 v = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(key);

		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* CAP_IPC_LOCK (bit 14) lifts RLIMIT_MEMLOCK for mlock() and VFIO's pinning */
bool mem__has_cap_ipc_lock(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & (1ULL << 14);
}

int mem__check_host(u64 size, bool hugepages, bool reserve_full)
{
	char a[32], b[32];
	u64 total = meminfo_kib("MemTotal") * KIB;

	if (hugepages) {
		u64 free_pages = 0;
		u64 need = ALIGN_UP(size, 2 * MIB) / (2 * MIB);
		FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "re");

		if (f) {
			if (fscanf(f, "%llu", (unsigned long long *)&free_pages) != 1)
				free_pages = 0;
			fclose(f);
		}
		if (free_pages < need) {
			pr_err("--hugepages: the host has %llu free 2 MiB huge pages, the VM needs %llu; "
			       "add some with 'echo %llu > /proc/sys/vm/nr_hugepages' or drop --hugepages",
			       (unsigned long long)free_pages, (unsigned long long)need,
			       (unsigned long long)(need - free_pages + meminfo_kib("HugePages_Total")));
			return -1;
		}
		return 0;
	}
	if (total && size > total) {
		pr_err("--mem %s: the host has only %s of RAM; give the VM less",
		       fmt_size(size, a, sizeof(a)), fmt_size(total, b, sizeof(b)));
		return -1;
	}
	if (reserve_full) {
		u64 avail = meminfo_kib("MemAvailable") * KIB;
		struct rlimit rl;

		if (avail && size > avail) {
			pr_err("--mem-reserve full: %s cannot be reserved, the host has %s available; "
			       "give the VM less or free host memory",
			       fmt_size(size, a, sizeof(a)), fmt_size(avail, b, sizeof(b)));
			return -1;
		}
		if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur < size && !mem__has_cap_ipc_lock()) {
			pr_err("--mem-reserve full: RLIMIT_MEMLOCK is %s but %s must be locked; "
			       "raise it with 'ulimit -l %llu' (or LimitMEMLOCK= in a unit) or run with CAP_IPC_LOCK",
			       fmt_size(rl.rlim_cur, a, sizeof(a)), fmt_size(size, b, sizeof(b)),
			       (unsigned long long)(ALIGN_UP(size, KIB) / KIB));
			return -1;
		}
	}
	return 0;
}

/* Populate and lock all guest RAM, with a progress line for big VMs. */
static int mem__reserve(struct guest_mem *mem)
{
	const u64 chunk = 256 * MIB;
	bool progress = mem->size > GIB && isatty(STDERR_FILENO);
	u64 t0 = time_ns(), done;
	char a[32];

	for (done = 0; done < mem->size; done += chunk) {
		u64 n = MIN(chunk, mem->size - done);

		if (madvise(mem->base + done, n, MADV_POPULATE_WRITE) < 0 &&
		    errno != EINVAL) {
			pr_err("--mem-reserve full: populating guest RAM failed at %s: %s; "
			       "free host memory or give the VM less",
			       fmt_size(done, a, sizeof(a)), strerror(errno));
			return -errno;
		}
		if (progress)
			fprintf(stderr, "\rdpvm: reserving guest memory: %3llu%%",
				(unsigned long long)((done + n) * 100 / mem->size));
	}
	if (mlock(mem->base, mem->size) < 0) {
		int err = errno;

		if (progress)
			fputc('\n', stderr);
		pr_err("--mem-reserve full: locking %s of guest RAM failed: %s; "
		       "raise RLIMIT_MEMLOCK ('ulimit -l unlimited') or free host memory",
		       fmt_size(mem->size, a, sizeof(a)), strerror(err));
		return -err;
	}
	if (progress)
		fprintf(stderr, "\rdpvm: reserved %s of guest memory in %.1f s\n",
			fmt_size(mem->size, a, sizeof(a)), (time_ns() - t0) / 1e9);
	mem->locked = true;
	return 0;
}

int mem__set_slot(struct vm *vm, unsigned int slot, u64 gpa, u64 size, void *hva,
		  u32 flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (u64)(uintptr_t)hva,
	};

	return vm__ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

int mem__alloc_slot(struct vm *vm)
{
	return vm->mem.next_slot++;
}

/*
 * Guest RAM is shared memory (a memfd), which gets transparent huge pages
 * only if the host allows them for shmem; Debian's default is "never", and
 * then every guest page costs a TLB miss and a page fault of its own (a
 * nested Linux boot takes about 1.7 times as long).  Say so at debug level
 * (docs/performance.md tells users) and how to fix it.
 */
static void warn_no_shmem_thp(u64 size)
{
	char buf[128] = "";
	FILE *f;

	if (size < 256 * MIB)
		return;
	f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");
	if (!f)
		return;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	if (strstr(buf, "[never]") || strstr(buf, "[deny]"))
		pr_debug("guest RAM gets no huge pages: this host gives shared memory none "
			"(transparent_hugepage/shmem_enabled is never); for speed use --hugepages "
			"or 'echo advise > /sys/kernel/mm/transparent_hugepage/shmem_enabled'");
}

static int mem__init(struct vm *vm)
{
	struct guest_mem *mem = &vm->mem;
	struct vm_config *cfg = vm->cfg;
	unsigned int flags = MFD_CLOEXEC;
	char a[32];
	int ret;

	mem__layout(mem, cfg->mem_size, vm->phys_bits);
	mem->hugepages = cfg->hugepages;
	mem->page_size = cfg->hugepages ? 2 * MIB : (u64)sysconf(_SC_PAGESIZE);
	if (cfg->hugepages)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;

	mem->fd = memfd_create("dpvm-ram", flags);
	if (mem->fd < 0) {
		ret = -errno;
		pr_err("guest RAM: memfd_create failed: %s", strerror(errno));
		return ret;
	}
	if (ftruncate(mem->fd, ALIGN_UP(cfg->mem_size, mem->page_size)) < 0) {
		ret = -errno;
		pr_err("guest RAM: sizing %s failed: %s", fmt_size(cfg->mem_size, a, sizeof(a)),
		       strerror(errno));
		goto err_close;
	}
	mem->base = mmap(NULL, cfg->mem_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_NORESERVE, mem->fd, 0);
	if (mem->base == MAP_FAILED) {
		ret = -errno;
		mem->base = NULL;
		pr_err("guest RAM: mapping %s failed: %s%s", fmt_size(cfg->mem_size, a, sizeof(a)),
		       strerror(errno), cfg->hugepages ? "; is the huge page pool large enough?" : "");
		goto err_close;
	}
	/* guest RAM is never in a core dump or inherited across fork */
	madvise(mem->base, cfg->mem_size, MADV_DONTDUMP);
	madvise(mem->base, cfg->mem_size, MADV_DONTFORK);
	if (!cfg->hugepages) {
		madvise(mem->base, cfg->mem_size, MADV_HUGEPAGE);
		warn_no_shmem_thp(cfg->mem_size);
	}

	u64 off = 0;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		struct mem_region *r = &mem->regions[i];

		r->hva = mem->base + off;
		off += r->size;
	}

	if (cfg->mem_reserve == MEM_RESERVE_FULL) {
		ret = mem__reserve(mem);
		if (ret)
			goto err_unmap;
	}

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		struct mem_region *r = &mem->regions[i];

		ret = mem__set_slot(vm, r->slot, r->gpa, r->size, r->hva, 0);
		if (ret) {
			pr_err("guest RAM: KVM_SET_USER_MEMORY_REGION failed: %s", strerror(-ret));
			goto err_unmap;
		}
	}
	return 0;

err_unmap:
	munmap(mem->base, cfg->mem_size);
	mem->base = NULL;
err_close:
	close(mem->fd);
	mem->fd = -1;
	return ret;
}

static void mem__exit(struct vm *vm)
{
	struct guest_mem *mem = &vm->mem;

	if (mem->base) {
		if (mem->locked)
			munlock(mem->base, mem->size);
		munmap(mem->base, mem->size);
		mem->base = NULL;
	}
	if (mem->fd >= 0)
		close(mem->fd);
	mem->fd = -1;
}
vm_initcall(INIT_CORE, mem__init, mem__exit, NULL);
