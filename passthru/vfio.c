// SPDX-License-Identifier: GPL-2.0
/*
 * The VFIO container of a VM and its IOMMU groups (the legacy type1
 * interface, which Debian 12's kernel has).  All groups of a VM share one
 * container, so guest RAM is mapped into the IOMMU once: at IOVA = guest
 * physical address, exactly the RAM regions, after they are populated and
 * locked and before the first guest instruction.  The container also
 * registers each group with KVM's VFIO device (coherent DMA, interrupt
 * bypass).
 */
#include "passthru/passthru.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_GROUPS	16
#define MAP_CHUNK	(1ULL << 30)	/* map in 1 GiB steps, for the progress line */

struct vfio_group {
	int num;
	int fd;
	unsigned int users;
};

struct vfio_container {
	int fd;
	int kvm_dev_fd;		/* KVM_DEV_TYPE_VFIO */
	bool iommu_set;
	bool mapped;
	struct vfio_group groups[MAX_GROUPS];
	unsigned int nr_groups;
};

/* one VM per process, so one container */
static struct vfio_container *the_container;

static int container_open(struct vfio_container **out)
{
	struct vfio_container *c;
	int fd;

	if (the_container) {
		*out = the_container;
		return 0;
	}
	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		pr_err("/dev/vfio/vfio: %s; load the vfio-pci module (modprobe vfio-pci) on a host with an IOMMU",
		       strerror(err));
		return -err;
	}
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		pr_err("/dev/vfio/vfio speaks an unknown VFIO API version; this kernel is not supported");
		close(fd);
		return -ENOTSUP;
	}
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1) {
		pr_err("VFIO has no type1v2 IOMMU backend: is the IOMMU enabled (intel_iommu=on / amd_iommu=on)?");
		close(fd);
		return -ENOTSUP;
	}
	c = xzalloc(sizeof(*c));
	c->fd = fd;
	c->kvm_dev_fd = -1;
	the_container = c;
	*out = c;
	return 0;
}

static void container_close(struct vfio_container *c)
{
	if (c->kvm_dev_fd >= 0)
		close(c->kvm_dev_fd);
	close(c->fd);
	free(c);
	the_container = NULL;
}

static struct vfio_group *find_group(struct vfio_container *c, int num)
{
	for (unsigned int i = 0; i < c->nr_groups; i++)
		if (c->groups[i].num == num)
			return &c->groups[i];
	return NULL;
}

int vfio__group_fd(struct vfio_container *c, int group)
{
	struct vfio_group *g = find_group(c, group);

	return g ? g->fd : -1;
}

static int kvm_vfio_group(struct vm *vm, struct vfio_container *c, int group_fd, bool add)
{
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_GROUP,
		.attr = add ? KVM_DEV_VFIO_GROUP_ADD : KVM_DEV_VFIO_GROUP_DEL,
		.addr = (u64)(uintptr_t)&group_fd,
	};

	if (c->kvm_dev_fd < 0) {
		struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
		int ret = vm__ioctl(vm, KVM_CREATE_DEVICE, &cd);

		if (ret) {
			pr_err("KVM cannot create its VFIO device: %s", strerror(-ret));
			return ret;
		}
		c->kvm_dev_fd = cd.fd;
	}
	if (ioctl(c->kvm_dev_fd, KVM_SET_DEVICE_ATTR, &attr) < 0) {
		int err = errno;

		if (add)
			pr_err("KVM refused IOMMU group %d: %s", group_fd, strerror(err));
		return -err;
	}
	return 0;
}

/* Open the group, check it is viable, put it in the VM's container. */
int vfio__group_attach(struct vm *vm, int num, struct vfio_container **out, int *group_fd)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_container *c = NULL;
	struct vfio_group *g;
	char path[64];
	int ret, fd;

	ret = container_open(&c);
	if (ret)
		return ret;
	g = find_group(c, num);
	if (g) {
		g->users++;
		*out = c;
		*group_fd = g->fd;
		return 0;
	}
	if (c->nr_groups == MAX_GROUPS) {
		pr_err("IOMMU group %d: a VM can use at most %d groups", num, MAX_GROUPS);
		ret = -ENOSPC;
		goto err_container;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", num);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (errno == EBUSY)
			pr_err("IOMMU group %d (%s) is in use by another process; stop the VM that has it",
			       num, path);
		else
			pr_err("IOMMU group %d: %s: %s; bind the device to vfio-pci (dpvm host passthru enable)",
			       num, path, strerror(errno));
		goto err_container;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0 || !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		pr_err("IOMMU group %d is not viable: every device in it must be bound to vfio-pci "
		       "or to no driver; see 'dpvm host pci list'", num);
		ret = -EPERM;
		goto err_close;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &c->fd) < 0) {
		ret = -errno;
		pr_err("IOMMU group %d: cannot join the VM's VFIO container: %s", num, strerror(errno));
		goto err_close;
	}
	if (!c->iommu_set) {
		if (ioctl(c->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
			ret = -errno;
			pr_err("IOMMU group %d: VFIO_SET_IOMMU failed: %s%s", num, strerror(errno),
			       errno == EPERM ? "; the IOMMU has no interrupt remapping (or load "
			       "vfio_iommu_type1 with allow_unsafe_interrupts=1)" : "");
			goto err_unset;
		}
		c->iommu_set = true;
	}
	ret = kvm_vfio_group(vm, c, fd, true);
	if (ret)
		goto err_unset;

	g = &c->groups[c->nr_groups++];
	*g = (struct vfio_group){ .num = num, .fd = fd, .users = 1 };
	*out = c;
	*group_fd = fd;
	return 0;

err_unset:
	ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
err_close:
	close(fd);
err_container:
	if (!c->nr_groups)
		container_close(c);
	return ret;
}

/*
 * Map every guest RAM region for DMA, IOVA = guest physical.  VFIO pins the
 * pages; the memory is already populated and locked (--mem-reserve full),
 * so this only builds the IOMMU page tables.
 */
int vfio__map_guest_ram(struct vm *vm, struct vfio_container *c)
{
	const struct guest_mem *mem = &vm->mem;
	bool progress = mem->size > GIB && isatty(STDERR_FILENO);
	u64 t0 = time_ns(), done = 0;
	char a[32];
	double secs;

	if (c->mapped)
		return 0;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];

		for (u64 off = 0; off < r->size; off += MAP_CHUNK) {
			struct vfio_iommu_type1_dma_map map = {
				.argsz = sizeof(map),
				.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
				.vaddr = (u64)(uintptr_t)(r->hva + off),
				.iova = r->gpa + off,
				.size = MIN(MAP_CHUNK, r->size - off),
			};

			if (ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &map) < 0) {
				int err = errno;

				if (progress)
					fputc('\n', stderr);
				pr_err("mapping guest RAM for DMA failed at %#llx: %s%s",
				       (unsigned long long)map.iova, strerror(err),
				       err == ENOMEM ? "; raise RLIMIT_MEMLOCK (pinned pages count "
				       "against it) or run with CAP_IPC_LOCK" : "");
				/* undo what was mapped */
				struct vfio_iommu_type1_dma_unmap un = {
					.argsz = sizeof(un), .iova = 0, .size = ~0ULL,
				};
				for (unsigned int j = 0; j <= i; j++) {
					un.iova = mem->regions[j].gpa;
					un.size = j < i ? mem->regions[j].size : off;
					if (un.size)
						ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &un);
				}
				return -err;
			}
			done += map.size;
			if (progress)
				fprintf(stderr, "\rdpvm: mapping guest RAM for DMA: %3llu%%",
					(unsigned long long)(done * 100 / mem->size));
		}
	}
	secs = (time_ns() - t0) / 1e9;
	if (progress)
		fputc('\n', stderr);
	pr_info("pinned and mapped %s of guest RAM for DMA in %.3f s (%.1f GiB/s)",
		fmt_size(done, a, sizeof(a)), secs, secs > 0 ? done / (secs * GIB) : 0.0);
	c->mapped = true;
	return 0;
}

static void unmap_guest_ram(struct vm *vm, struct vfio_container *c)
{
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		struct vfio_iommu_type1_dma_unmap un = {
			.argsz = sizeof(un),
			.iova = vm->mem.regions[i].gpa,
			.size = vm->mem.regions[i].size,
		};

		if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &un) < 0)
			pr_warn("unmapping guest RAM at %#llx from the IOMMU failed: %s",
				(unsigned long long)un.iova, strerror(errno));
	}
	c->mapped = false;
}

/*
 * The reverse of attach.  The caller has reset every device of the group
 * (no DMA in flight).  When the last group leaves, guest RAM is unmapped
 * from the IOMMU before the group is detached from the container.
 */
void vfio__group_detach(struct vm *vm, struct vfio_container *c, int num)
{
	struct vfio_group *g = find_group(c, num);

	if (!g || --g->users)
		return;
	if (c->nr_groups == 1 && c->mapped)
		unmap_guest_ram(vm, c);
	kvm_vfio_group(vm, c, g->fd, false);
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	close(g->fd);
	*g = c->groups[--c->nr_groups];
	if (!c->nr_groups)
		container_close(c);
}
