// SPDX-License-Identifier: GPL-2.0
/*
 * One assigned PCI function: its VFIO device fd, a virtualised config space
 * in front of the real one, BARs mapped into the guest, and interrupts
 * routed from VFIO's eventfds straight into KVM.
 *
 * Config space: dpvm emulates the BARs and the ROM BAR (the guest's
 * addresses are not the host's), the capability pointers (the list is
 * filtered to PM, MSI, MSI-X and PCI Express; extended capabilities to AER
 * and the serial number), the interrupt line, the multifunction bit, and the
 * MSI and MSI-X capabilities (their messages become KVM routes).  Every
 * other byte is read from and written to the device.
 */
#include "passthru/passthru.h"
#include "vmm/evloop.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PCI_SLOT(devfn)	(((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)	((devfn) & 7)

/* ---- device fd and regions ---- */

static int region_info(struct passthru_dev *p, u32 index, struct vfio_region_info **out)
{
	struct vfio_region_info *ri = xzalloc(sizeof(*ri));

	ri->argsz = sizeof(*ri);
	ri->index = index;
	if (ioctl(p->fd, VFIO_DEVICE_GET_REGION_INFO, ri) < 0) {
		free(ri);
		return -errno;
	}
	if (ri->argsz > sizeof(*ri)) {	/* there are capabilities: ask again */
		u32 sz = ri->argsz;

		ri = xrealloc(ri, sz);
		memset(ri, 0, sz);
		ri->argsz = sz;
		ri->index = index;
		if (ioctl(p->fd, VFIO_DEVICE_GET_REGION_INFO, ri) < 0) {
			free(ri);
			return -errno;
		}
	}
	*out = ri;
	return 0;
}

static const struct vfio_info_cap_header *region_cap(const struct vfio_region_info *ri, u16 id)
{
	u32 off;

	if (!(ri->flags & VFIO_REGION_INFO_FLAG_CAPS) || ri->argsz <= sizeof(*ri))
		return NULL;
	for (off = ri->cap_offset; off && off + sizeof(struct vfio_info_cap_header) <= ri->argsz;) {
		const struct vfio_info_cap_header *h = (const void *)((const u8 *)ri + off);

		if (h->id == id)
			return h;
		if (h->next <= off)
			break;	/* a loop would be a kernel bug; do not follow it */
		off = h->next;
	}
	return NULL;
}

int vfio_pci__open(struct passthru_dev *p)
{
	int group_fd = vfio__group_fd(p->container, p->group);
	struct vfio_region_info *ri;
	int ret;

	p->fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, p->bdf);
	if (p->fd < 0) {
		ret = -errno;
		pr_err("%s: VFIO cannot open the device: %s", p->bdf, strerror(errno));
		return ret;
	}
	p->info.argsz = sizeof(p->info);
	if (ioctl(p->fd, VFIO_DEVICE_GET_INFO, &p->info) < 0 ||
	    !(p->info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    p->info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		pr_err("%s: not a VFIO PCI device", p->bdf);
		ret = -EINVAL;
		goto err_close;
	}
	ret = region_info(p, VFIO_PCI_CONFIG_REGION_INDEX, &ri);
	if (ret) {
		pr_err("%s: no config space region: %s", p->bdf, strerror(-ret));
		goto err_close;
	}
	p->cfg_offset = ri->offset;
	p->cfg_size = MIN(ri->size, (u64)PCI_CFG_SIZE);
	free(ri);
	return 0;

err_close:
	close(p->fd);
	p->fd = -1;
	return ret;
}

void vfio_pci__close(struct passthru_dev *p)
{
	for (int i = 0; i <= PCI_ROM_BAR; i++) {
		struct passthru_bar *b = &p->bars[i];

		for (unsigned int a = 0; a < b->nr_areas; a++)
			if (b->map)
				munmap((u8 *)b->map + b->areas[a].offset, b->areas[a].size);
		b->map = NULL;
	}
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* ---- config space ---- */

static int dev_cfg_read(struct passthru_dev *p, u32 off, void *buf, u32 len)
{
	if (off >= p->cfg_size) {
		memset(buf, 0xff, len);
		return 0;
	}
	len = MIN(len, p->cfg_size - off);
	return pread(p->fd, buf, len, p->cfg_offset + off) == (ssize_t)len ? 0 : -EIO;
}

static void dev_cfg_write(struct passthru_dev *p, u32 off, const void *buf, u32 len)
{
	if (off + len > p->cfg_size)
		return;
	if (pwrite(p->fd, buf, len, p->cfg_offset + off) != (ssize_t)len)
		pr_warn_guest("%s: config write at %#x failed: %s", p->bdf, off, strerror(errno));
}

static void set_virt(struct passthru_dev *p, u32 off, u32 len)
{
	memset(p->virt + off, 1, len);
}

static bool keep_cap(u8 id)
{
	return id == PCI_CAP_ID_PM || id == PCI_CAP_ID_MSI || id == PCI_CAP_ID_MSIX ||
	       id == PCI_CAP_ID_EXP;
}

static bool keep_ext_cap(u16 id)
{
	return id == PCI_EXT_CAP_ID_ERR || id == PCI_EXT_CAP_ID_DSN;
}

/* Relink the standard capability list to the ones we keep. */
static int filter_caps(struct passthru_dev *p)
{
	struct pci_dev *d = &p->pci;
	u8 *prev = &d->cfg[PCI_CAPABILITY_LIST];
	u8 pos = d->cfg[PCI_CAPABILITY_LIST] & ~3;
	unsigned int guard = 0;

	set_virt(p, PCI_CAPABILITY_LIST, 1);
	*prev = 0;
	if (!(pci__cfg16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		pos = 0;
	while (pos >= 0x40 && guard++ < 48) {
		u8 id = d->cfg[pos], next = d->cfg[pos + 1] & ~3;

		if (keep_cap(id)) {
			*prev = pos;
			prev = &d->cfg[pos + 1];
			*prev = 0;
			set_virt(p, pos + 1, 1);
			if (id == PCI_CAP_ID_EXP)
				p->pcie_cap = pos;
			if (id == PCI_CAP_ID_MSI) {
				u16 flags = pci__cfg16(d, pos + PCI_MSI_FLAGS);
				/* 10 bytes, +4 for a 64-bit address, +10 for mask and pending */
				u32 size = 10 + (flags & PCI_MSI_FLAGS_64BIT ? 4 : 0) +
					   (flags & PCI_MSI_FLAGS_MASKBIT ? 10 : 0);

				pci__msi_setup(d, pos, flags);
				set_virt(p, pos, MIN(size, 0x100u - pos));
			}
			if (id == PCI_CAP_ID_MSIX) {
				u16 flags = pci__cfg16(d, pos + PCI_MSIX_FLAGS);
				u32 table = pci__cfg32(d, pos + PCI_MSIX_TABLE);
				u32 pba = pci__cfg32(d, pos + PCI_MSIX_PBA);
				int ret;

				if ((table & PCI_MSIX_TABLE_BIR) != (pba & PCI_MSIX_PBA_BIR))
					pr_debug("%s: MSI-X table and PBA in different BARs", p->bdf);
				ret = pci__msix_setup(d, pos, (flags & PCI_MSIX_FLAGS_QSIZE) + 1,
						      table & PCI_MSIX_TABLE_BIR,
						      table & PCI_MSIX_TABLE_OFFSET,
						      pba & PCI_MSIX_PBA_OFFSET);
				if (ret) {
					pr_err("%s: unusable MSI-X capability", p->bdf);
					return ret;
				}
				set_virt(p, pos, PCI_CAP_MSIX_SIZEOF);
			}
		}
		pos = next;
	}
	/* Status.CapList follows our list */
	if (d->cfg[PCI_CAPABILITY_LIST])
		d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	else
		d->cfg[PCI_STATUS] &= ~PCI_STATUS_CAP_LIST;
	return 0;
}

static void filter_ext_caps(struct passthru_dev *p)
{
	struct pci_dev *d = &p->pci;
	u32 pos = 0x100, first = 0, guard = 0;
	u32 *prev_hdr = NULL;

	if (p->cfg_size <= 0x100)
		return;
	/* the header at 0x100 is always ours: it starts the (filtered) list */
	while (pos >= 0x100 && pos < p->cfg_size && guard++ < 64) {
		u32 hdr = pci__cfg32(d, pos);
		u32 next = (hdr >> 20) & ~3u;

		if (!hdr || hdr == ~0U)
			break;
		if (keep_ext_cap(hdr & 0xffff)) {
			if (!first)
				first = pos;
			if (prev_hdr)
				*prev_hdr = (*prev_hdr & 0x000fffff) | (pos << 20);
			prev_hdr = (u32 *)(d->cfg + pos);
			*prev_hdr &= 0x000fffff;
			set_virt(p, pos, 4);
		}
		pos = next;
	}
	set_virt(p, 0x100, 4);
	if (first != 0x100) {
		/* a null capability at 0x100 that points at the first one kept */
		u32 hdr = first << 20;

		memcpy(d->cfg + 0x100, &hdr, 4);
	}
}

/*
 * Reads: emulated bytes from our copy, the rest from the device.  The
 * Interrupt status bit and the rest of Status come from the device, the
 * capability-list bit from our list.
 */
static bool passthru_cfg_read(struct pci_dev *d, u32 off, u32 len, u32 *val)
{
	struct passthru_dev *p = d->priv;
	u8 dev[4];
	u32 v = 0;

	if (dev_cfg_read(p, off, dev, len))
		memset(dev, 0xff, len);
	for (u32 i = 0; i < len; i++) {
		u32 o = off + i;
		u8 b = p->virt[o] ? d->cfg[o] : dev[i];

		if (o == PCI_STATUS)
			b = (dev[i] & ~PCI_STATUS_CAP_LIST) | (d->cfg[o] & PCI_STATUS_CAP_LIST);
		v |= (u32)b << (8 * i);
	}
	*val = v;
	return true;
}

/*
 * Writes: the core has applied them to our copy (emulated bytes through
 * their write masks, the rest raw); forward the non-emulated bytes, and the
 * command register, whose decode and bus-master bits the device needs.
 */
static void passthru_cfg_write(struct pci_dev *d, u32 off, u32 len)
{
	struct passthru_dev *p = d->priv;

	for (u32 i = 0; i < len;) {
		u32 o = off + i, n = 0;

		while (i + n < len && (!p->virt[o + n] || o + n == PCI_COMMAND ||
				       o + n == PCI_COMMAND + 1))
			n++;
		if (n) {
			dev_cfg_write(p, o, d->cfg + o, n);
			i += n;
		} else {
			i++;
		}
	}
}

int vfio_pci__setup_config(struct passthru_dev *p)
{
	struct pci_dev *d = &p->pci;
	int ret;

	ret = dev_cfg_read(p, 0, d->cfg, p->cfg_size);
	if (ret) {
		pr_err("%s: reading its config space failed", p->bdf);
		return ret;
	}
	if (pci__cfg16(d, PCI_VENDOR_ID) == 0xffff) {
		pr_err("%s: the device does not answer config reads (is it powered down?)", p->bdf);
		return -EIO;
	}
	if ((d->cfg[PCI_HEADER_TYPE] & 0x7f) != PCI_HEADER_TYPE_NORMAL) {
		pr_err("%s: a bridge cannot be passed through; pass the devices behind it", p->bdf);
		return -EINVAL;
	}
	p->vendor = pci__cfg16(d, PCI_VENDOR_ID);
	p->device = pci__cfg16(d, PCI_DEVICE_ID);

	/* emulated bytes get their own write masks below; the rest are written
	 * raw into our copy and forwarded (see the end) */
	memset(d->wmask, 0, sizeof(d->wmask));
	memset(d->w1cmask, 0, sizeof(d->w1cmask));
	/* the emulated header fields */
	set_virt(p, PCI_COMMAND, 2);
	d->wmask[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				PCI_COMMAND_PARITY;
	d->wmask[PCI_COMMAND + 1] = (PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE) >> 8;
	d->cfg[PCI_COMMAND] = d->cfg[PCI_COMMAND + 1] = 0;
	set_virt(p, PCI_BASE_ADDRESS_0, 24);
	memset(d->cfg + PCI_BASE_ADDRESS_0, 0, 24);
	set_virt(p, PCI_ROM_ADDRESS, 4);
	memset(d->cfg + PCI_ROM_ADDRESS, 0, 4);
	set_virt(p, PCI_INTERRUPT_LINE, 1);
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	set_virt(p, PCI_HEADER_TYPE, 1);

	ret = filter_caps(p);
	if (ret)
		return ret;
	filter_ext_caps(p);
	for (u32 o = 0; o < PCI_CFG_SIZE; o++)
		if (!p->virt[o])
			d->wmask[o] = 0xff;
	d->next_cap = 0;	/* nothing may add capabilities after us */
	return 0;
}

/* ---- BARs ---- */

static void bar_access(struct passthru_dev *p, int bar, u64 off, void *data, u32 len, bool write)
{
	struct passthru_bar *b = &p->bars[bar];
	ssize_t n;

	if (pci__msix_access(&p->pci, bar, off, data, len, write))
		return;
	if (off + len > b->size) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	n = write ? pwrite(p->fd, data, len, b->region_offset + off) :
		    pread(p->fd, data, len, b->region_offset + off);
	if (n != (ssize_t)len) {
		if (!write)
			memset(data, 0xff, len);
		pr_warn_guest("%s: BAR %d %s at %#llx failed", p->bdf, bar,
			      write ? "write" : "read", (unsigned long long)off);
	}
}

#define BAR_OPS(n)								\
static void bar##n##_read(void *dev, u64 off, void *data, u32 len)		\
{ bar_access(dev, n, off, data, len, false); }					\
static void bar##n##_write(void *dev, u64 off, const void *data, u32 len)	\
{ bar_access(dev, n, off, (void *)data, len, true); }
BAR_OPS(0) BAR_OPS(1) BAR_OPS(2) BAR_OPS(3) BAR_OPS(4) BAR_OPS(5)
#undef BAR_OPS

static void bar6_read(void *dev, u64 off, void *data, u32 len)
{
	bar_access(dev, PCI_ROM_BAR, off, data, len, false);
}

static const struct trap_ops bar_ops[PCI_NR_BARS + 1] = {
	{ bar0_read, bar0_write }, { bar1_read, bar1_write }, { bar2_read, bar2_write },
	{ bar3_read, bar3_write }, { bar4_read, bar4_write }, { bar5_read, bar5_write },
	{ bar6_read, NULL },	/* the ROM is read-only */
};

/* map the BAR at addr: its mmap-able areas as KVM slots, the rest trapped */
static int passthru_bar_activate(struct pci_dev *d, int bar, u64 addr)
{
	struct passthru_dev *p = d->priv;
	struct passthru_bar *b = &p->bars[bar];
	int ret = 0;

	for (unsigned int a = 0; a < b->nr_areas && b->map; a++) {
		ret = mem__set_slot(p->vm, b->areas[a].slot, addr + b->areas[a].offset,
				    b->areas[a].size, (u8 *)b->map + b->areas[a].offset, 0);
		if (ret) {
			pr_warn_guest("%s: BAR %d at %#llx cannot be mapped (%s); it overlaps RAM or another BAR",
				      p->bdf, bar, (unsigned long long)addr, strerror(-ret));
			while (a--)
				mem__set_slot(p->vm, b->areas[a].slot, addr + b->areas[a].offset,
					      0, NULL, 0);
			return ret;
		}
	}
	/* accesses to the slots never exit; everything else comes here */
	ret = bus__register(d->bars[bar].io ? &p->vm->pio : &p->vm->mmio, addr, b->size,
			    &bar_ops[bar], p, p->bdf);
	if (ret) {
		for (unsigned int a = 0; a < b->nr_areas && b->map; a++)
			mem__set_slot(p->vm, b->areas[a].slot, addr + b->areas[a].offset, 0, NULL, 0);
	}
	return ret;
}

static void passthru_bar_deactivate(struct pci_dev *d, int bar, u64 addr)
{
	struct passthru_dev *p = d->priv;
	struct passthru_bar *b = &p->bars[bar];

	bus__unregister(d->bars[bar].io ? &p->vm->pio : &p->vm->mmio, addr, p);
	for (unsigned int a = 0; a < b->nr_areas && b->map; a++)
		mem__set_slot(p->vm, b->areas[a].slot, addr + b->areas[a].offset, 0, NULL, 0);
}

/* the mmap-able areas of a region: sparse areas if the kernel lists them */
static void mmap_areas(struct passthru_dev *p, struct passthru_bar *b,
		       const struct vfio_region_info *ri)
{
	const struct vfio_info_cap_header *h = region_cap(ri, VFIO_REGION_INFO_CAP_SPARSE_MMAP);

	b->nr_areas = 0;
	if (!(ri->flags & VFIO_REGION_INFO_FLAG_MMAP) || ri->size < 4096)
		return;
	if (!h) {
		b->areas[0].offset = 0;
		b->areas[0].size = ri->size;
		b->nr_areas = 1;
	} else {
		const struct vfio_region_info_cap_sparse_mmap *sp = (const void *)h;

		for (u32 i = 0; i < sp->nr_areas && b->nr_areas < ARRAY_SIZE(b->areas); i++) {
			u64 off = sp->areas[i].offset, size = sp->areas[i].size;

			if (!size || off + size > ri->size || (off | size) & 4095)
				continue;
			b->areas[b->nr_areas].offset = off;
			b->areas[b->nr_areas].size = size;
			b->nr_areas++;
		}
	}
	/* never map the MSI-X table or PBA pages: they are emulated */
	if (p->pci.msix.nr && p->pci.msix.bar == (int)(b - p->bars)) {
		u64 lo = ALIGN_DOWN(MIN(p->pci.msix.table_off, p->pci.msix.pba_off), 4096);
		u64 hi = ALIGN_UP(MAX(p->pci.msix.table_off + p->pci.msix.nr * 16ULL,
				      p->pci.msix.pba_off + ALIGN_UP(p->pci.msix.nr, 64) / 8), 4096);
		unsigned int n = 0;

		for (unsigned int i = 0; i < b->nr_areas; i++) {
			u64 s = b->areas[i].offset, e = s + b->areas[i].size;

			if (e <= lo || s >= hi) {
				b->areas[n++] = b->areas[i];
				continue;
			}
			if (s < lo && n < ARRAY_SIZE(b->areas)) {
				b->areas[n].offset = s;
				b->areas[n++].size = lo - s;
			}
			if (e > hi && n < ARRAY_SIZE(b->areas)) {
				b->areas[n].offset = hi;
				b->areas[n++].size = e - hi;
			}
		}
		b->nr_areas = n;
	}
	b->trapped = true;
	if (b->nr_areas == 1 && b->areas[0].offset == 0 && b->areas[0].size == ri->size)
		b->trapped = false;
}

int vfio_pci__setup_bars(struct passthru_dev *p)
{
	struct pci_dev *d = &p->pci;
	u8 raw[24];
	int ret;

	ret = dev_cfg_read(p, PCI_BASE_ADDRESS_0, raw, sizeof(raw));
	if (ret)
		return ret;
	for (int i = 0; i <= PCI_ROM_BAR; i++) {
		u32 index = i == PCI_ROM_BAR ? VFIO_PCI_ROM_REGION_INDEX : VFIO_PCI_BAR0_REGION_INDEX + i;
		struct passthru_bar *b = &p->bars[i];
		struct vfio_region_info *ri;
		u32 reg = 0;
		bool io, is64 = false, prefetch = false;

		if (i == PCI_ROM_BAR && !p->rombar)
			continue;
		if (region_info(p, index, &ri))
			continue;
		if (!ri->size) {
			free(ri);
			continue;
		}
		if (i < PCI_NR_BARS)
			memcpy(&reg, raw + 4 * i, 4);
		io = i < PCI_NR_BARS && (reg & PCI_BASE_ADDRESS_SPACE_IO);
		if (!io && i < PCI_NR_BARS) {
			is64 = (reg & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
			prefetch = reg & PCI_BASE_ADDRESS_MEM_PREFETCH;
		}
		if (ri->size & (ri->size - 1)) {
			pr_err("%s: BAR %d has a size that is not a power of two (%#llx)", p->bdf, i,
			       (unsigned long long)ri->size);
			free(ri);
			return -EINVAL;
		}
		b->size = ri->size;
		b->region_offset = ri->offset;
		b->region_flags = ri->flags;
		pci__set_bar(d, i, ri->size, io, is64, prefetch, NULL, NULL);
		/* the BAR is what the device has, even if smaller than a page */
		d->bars[i].size = MAX(ri->size, d->bars[i].size);
		d->bars[i].high = is64;		/* 64-bit BARs go above 4 GiB */
		if (!io && i != PCI_ROM_BAR) {
			mmap_areas(p, b, ri);
			if (b->nr_areas) {
				b->map = mmap(NULL, ri->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
					      -1, 0);
				for (unsigned int a = 0; b->map != MAP_FAILED && a < b->nr_areas; a++) {
					void *m = mmap((u8 *)b->map + b->areas[a].offset,
						       b->areas[a].size, PROT_READ | PROT_WRITE,
						       MAP_SHARED | MAP_FIXED, p->fd,
						       ri->offset + b->areas[a].offset);

					if (m == MAP_FAILED) {
						pr_debug("%s: BAR %d area %u not mmap-able: %s; trapping it",
							 p->bdf, i, a, strerror(errno));
						b->nr_areas = a;
						b->trapped = true;
						break;
					}
					b->areas[a].slot = mem__alloc_slot(p->vm);
				}
				if (b->map == MAP_FAILED) {
					b->map = NULL;
					b->nr_areas = 0;
				}
			}
		}
		pr_debug("%s: BAR %d: %s%s%s %#llx bytes, %u mmap'ed area(s)%s", p->bdf, i,
			 io ? "I/O" : "memory", is64 ? " 64-bit" : "", prefetch ? " prefetchable" : "",
			 (unsigned long long)ri->size, b->nr_areas, b->trapped ? ", trapped parts" : "");
		free(ri);
		if (is64)
			i++;
	}
	return 0;
}

/* ---- interrupts ---- */

static int set_irqs(struct passthru_dev *p, u32 index, u32 action, const int *fds, u32 count)
{
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int);
	struct vfio_irq_set *s = xzalloc(sz);
	int ret;

	s->argsz = sz;
	s->flags = action | (fds ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	s->index = index;
	s->start = 0;
	s->count = count;
	if (fds)
		memcpy(s->data, fds, count * sizeof(int));
	ret = ioctl(p->fd, VFIO_DEVICE_SET_IRQS, s) < 0 ? -errno : 0;
	free(s);
	return ret;
}

static int intx_on(struct passthru_dev *p)
{
	int ret;

	if (!p->pci.gsi || p->intx_efd < 0 || p->intx_on)
		return 0;
	ret = set_irqs(p, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, &p->intx_efd, 1);
	if (!ret)
		ret = set_irqs(p, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK,
			       &p->intx_resample_efd, 1);
	if (!ret)
		ret = irq__add_irqfd(p->vm, p->intx_efd, p->pci.gsi, p->intx_resample_efd);
	if (ret) {
		pr_warn("%s: INTx setup failed: %s", p->bdf, strerror(-ret));
		set_irqs(p, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
		return ret;
	}
	p->intx_on = true;
	p->irq_mode = IRQ_INTX;
	return 0;
}

static void intx_off(struct passthru_dev *p)
{
	if (!p->intx_on)
		return;
	irq__del_irqfd(p->vm, p->intx_efd, p->pci.gsi);
	set_irqs(p, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	p->intx_on = false;
	p->irq_mode = IRQ_NONE;
}

/* A masked vector's eventfd, watched here: it fired, so it is pending. */
static void masked_vector_fired(int fd, u32 events __unused, void *opaque)
{
	struct passthru_dev *p = opaque;
	u64 n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	for (unsigned int v = 0; v < p->nr_vec; v++) {
		if (p->vec[v].efd != fd)
			continue;
		if (p->irq_mode == IRQ_MSIX) {
			pthread_mutex_lock(&p->pci.msix.lock);
			p->pci.msix.pba[v / 64] |= 1ULL << (v % 64);
			pthread_mutex_unlock(&p->pci.msix.lock);
		} else {
			pthread_mutex_lock(&p->pci.lock);
			pci__msi_set_pending(&p->pci, v, true);
			pthread_mutex_unlock(&p->pci.lock);
		}
	}
}

/*
 * Bring vector v in line with its message and mask: unmasked vectors are
 * KVM irqfds on their own MSI route (VFIO -> KVM, no exit to dpvm); masked
 * ones are watched by the main loop, which sets their pending bit.
 * Returns true if the vector was pending and has just been unmasked.
 */
static bool vector_update(struct passthru_dev *p, unsigned int v, u64 addr, u32 data, bool masked)
{
	struct passthru_vector *pv = &p->vec[v];

	if (pv->gsi < 0) {
		pv->gsi = irq__add_msi_route(p->vm, addr, data);
		if (pv->gsi < 0)
			return false;
	} else {
		irq__update_msi_route(p->vm, pv->gsi, addr, data);
	}
	if (masked) {
		if (pv->irqfd) {
			irq__del_irqfd(p->vm, pv->efd, pv->gsi);
			pv->irqfd = false;
		}
		if (!pv->polled && !evloop__add(p->vm->loop, pv->efd, EPOLLIN, masked_vector_fired, p))
			pv->polled = true;
		return false;
	}
	if (pv->polled) {
		evloop__del(p->vm->loop, pv->efd);
		pv->polled = false;
	}
	if (!pv->irqfd && !irq__add_irqfd(p->vm, pv->efd, pv->gsi, -1))
		pv->irqfd = true;
	return true;
}

static void vectors_free(struct passthru_dev *p)
{
	for (unsigned int v = 0; v < p->nr_vec; v++) {
		struct passthru_vector *pv = &p->vec[v];

		if (pv->irqfd)
			irq__del_irqfd(p->vm, pv->efd, pv->gsi);
		if (pv->polled)
			evloop__del(p->vm->loop, pv->efd);
		if (pv->gsi >= 0)
			irq__del_msi_route(p->vm, pv->gsi);
		close(pv->efd);
	}
	free(p->vec);
	p->vec = NULL;
	p->nr_vec = 0;
}

static int vectors_alloc(struct passthru_dev *p, unsigned int n)
{
	p->vec = xzalloc(n * sizeof(*p->vec));
	for (unsigned int v = 0; v < n; v++) {
		p->vec[v].gsi = -1;
		p->vec[v].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->vec[v].efd < 0) {
			p->nr_vec = v;
			vectors_free(p);
			return -errno;
		}
	}
	p->nr_vec = n;
	return 0;
}

/* switch VFIO's interrupt type: INTx, MSI or MSI-X with n vectors */
static int irq_mode(struct passthru_dev *p, enum passthru_irq_mode mode, unsigned int n)
{
	u32 index = mode == IRQ_MSI ? VFIO_PCI_MSI_IRQ_INDEX : VFIO_PCI_MSIX_IRQ_INDEX;
	int *fds, ret;

	if (p->irq_mode == mode && p->nr_vec == n)
		return 0;
	/* leave the current mode */
	if (p->irq_mode == IRQ_INTX)
		intx_off(p);
	if (p->irq_mode == IRQ_MSI || p->irq_mode == IRQ_MSIX) {
		set_irqs(p, p->irq_mode == IRQ_MSI ? VFIO_PCI_MSI_IRQ_INDEX : VFIO_PCI_MSIX_IRQ_INDEX,
			 VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
		vectors_free(p);
	}
	p->irq_mode = IRQ_NONE;
	if (mode == IRQ_INTX)
		return intx_on(p);
	if (mode == IRQ_NONE)
		return 0;

	ret = vectors_alloc(p, n);
	if (ret)
		return ret;
	fds = xzalloc(n * sizeof(int));
	for (unsigned int v = 0; v < n; v++)
		fds[v] = p->vec[v].efd;
	ret = set_irqs(p, index, VFIO_IRQ_SET_ACTION_TRIGGER, fds, n);
	free(fds);
	if (ret) {
		pr_warn_guest("%s: enabling %s with %u vectors failed: %s", p->bdf,
			      mode == IRQ_MSI ? "MSI" : "MSI-X", n, strerror(-ret));
		vectors_free(p);
		return ret;
	}
	p->irq_mode = mode;
	return 0;
}

/* msix.lock held */
static void passthru_msix_changed(struct pci_dev *d, int vector)
{
	struct passthru_dev *p = d->priv;
	struct pci_msix *m = &d->msix;

	if (!pci__msix_enabled(d)) {
		if (p->irq_mode == IRQ_MSIX)
			irq_mode(p, d->gsi ? IRQ_INTX : IRQ_NONE, 0);
		return;
	}
	if (p->irq_mode != IRQ_MSIX && irq_mode(p, IRQ_MSIX, m->nr))
		return;
	for (unsigned int v = vector < 0 ? 0 : vector; v < (vector < 0 ? m->nr : (u32)vector + 1); v++) {
		u64 addr;
		u32 data;
		bool masked;

		pci__msix_vector(d, v, &addr, &data, &masked);
		if (vector_update(p, v, addr, data, masked) &&
		    (m->pba[v / 64] & (1ULL << (v % 64)))) {
			m->pba[v / 64] &= ~(1ULL << (v % 64));
			irq__signal_msi(p->vm, addr, data);
		}
	}
}

/* dev->lock held */
static void passthru_msi_changed(struct pci_dev *d)
{
	struct passthru_dev *p = d->priv;
	u64 addr;
	u32 data, mask;
	unsigned int n = pci__msi_state(d, &addr, &data, &mask);

	if (!n) {
		if (p->irq_mode == IRQ_MSI)
			irq_mode(p, d->gsi ? IRQ_INTX : IRQ_NONE, 0);
		return;
	}
	if (irq_mode(p, IRQ_MSI, n))
		return;
	for (unsigned int v = 0; v < n; v++) {
		u32 vdata = (data & ~(n - 1)) | v;

		/* pending and now unmasked: deliver it */
		if (vector_update(p, v, addr, vdata, mask & (1U << v)) &&
		    (pci__msi_pending(d) & (1U << v))) {
			pci__msi_set_pending(d, v, false);
			irq__signal_msi(p->vm, addr, vdata);
		}
	}
}

int vfio_pci__setup_irqs(struct passthru_dev *p)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_INTX_IRQ_INDEX };

	p->intx_efd = p->intx_resample_efd = -1;
	if (!p->pci.cfg[PCI_INTERRUPT_PIN] || ioctl(p->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 ||
	    !ii.count)
		return 0;
	p->intx_efd = eventfd(0, EFD_CLOEXEC);
	p->intx_resample_efd = eventfd(0, EFD_CLOEXEC);
	if (p->intx_efd < 0 || p->intx_resample_efd < 0)
		return -errno;
	return intx_on(p);
}

void vfio_pci__irqs_off(struct passthru_dev *p)
{
	irq_mode(p, IRQ_NONE, 0);
	if (p->intx_efd >= 0)
		close(p->intx_efd);
	if (p->intx_resample_efd >= 0)
		close(p->intx_resample_efd);
	p->intx_efd = p->intx_resample_efd = -1;
}

/* ---- reset ---- */

static int hot_reset(struct passthru_dev *p)
{
	struct vfio_pci_hot_reset_info *info;
	struct vfio_pci_hot_reset *r;
	size_t sz = sizeof(*info) + 32 * sizeof(struct vfio_pci_dependent_device);
	int ret, nfds = 0, fds[32];

	info = xzalloc(sz);
	info->argsz = sz;
	if (ioctl(p->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) < 0) {
		ret = -errno;
		pr_debug("%s: VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: %s", p->bdf, strerror(errno));
		free(info);
		return ret;
	}
	/* a bus reset hits every function on the bus: we must own them all */
	for (u32 i = 0; i < info->count; i++) {
		int fd = vfio__group_fd(p->container, info->devices[i].group_id);
		bool dup = false;

		if (fd < 0) {
			pr_warn("%s: a bus reset would also reset %04x:%02x:%02x.%x (IOMMU group %u), "
				"which this VM does not own", p->bdf, info->devices[i].segment,
				info->devices[i].bus, PCI_SLOT(info->devices[i].devfn),
				PCI_FUNC(info->devices[i].devfn), info->devices[i].group_id);
			free(info);
			return -EPERM;
		}
		for (int j = 0; j < nfds; j++)
			dup |= fds[j] == fd;
		if (!dup && nfds < 32)
			fds[nfds++] = fd;
	}
	free(info);
	r = xzalloc(sizeof(*r) + nfds * sizeof(int));
	r->argsz = sizeof(*r) + nfds * sizeof(int);
	r->count = nfds;
	memcpy(r->group_fds, fds, nfds * sizeof(int));
	ret = ioctl(p->fd, VFIO_DEVICE_PCI_HOT_RESET, r) < 0 ? -errno : 0;
	if (ret)
		pr_debug("%s: VFIO_DEVICE_PCI_HOT_RESET with %d group(s): %s", p->bdf, nfds,
			 strerror(-ret));
	free(r);
	return ret;
}

/*
 * A PCI function reset: it stops the device and clears any DMA it has in
 * flight.  Called before guest RAM leaves the IOMMU, at every stop.
 *
 * The choice, as QEMU makes it: FLR when the function has it; else a bus
 * reset when every function it would hit belongs to this VM (a PM reset
 * D3hot -> D0 is often not a full reset); else whatever the kernel has.
 */
int vfio_pci__reset(struct passthru_dev *p, const char *why)
{
	bool flr = strstr(p->reset_method, "flr") != NULL;
	bool can_kernel = p->info.flags & VFIO_DEVICE_FLAGS_RESET;
	int ret = -ENOTTY;

	if (p->fd < 0)
		return 0;
	if (flr && can_kernel && !ioctl(p->fd, VFIO_DEVICE_RESET)) {
		pr_info("%s: function level reset (FLR) at %s", p->bdf, why);
		return 0;
	}
	ret = hot_reset(p);
	if (!ret) {
		pr_info("%s: secondary bus reset at %s", p->bdf, why);
		return 0;
	}
	pr_debug("%s: no bus reset: %s", p->bdf, strerror(-ret));
	if (can_kernel && !ioctl(p->fd, VFIO_DEVICE_RESET)) {
		pr_info("%s: reset by the kernel (methods: %s) at %s", p->bdf,
			p->reset_method[0] ? p->reset_method : "?", why);
		return 0;
	}
	if (can_kernel)
		ret = -errno;
	if (p->allow_no_reset) {
		pr_warn("%s: no reset method (allow-no-reset); the device may still hold state at %s",
			p->bdf, why);
		return 0;
	}
	pr_err("%s: the reset at %s failed: %s", p->bdf, why, strerror(-ret));
	return ret;
}

static void passthru_reset(struct pci_dev *d)
{
	struct passthru_dev *p = d->priv;

	/* guest reboot: interrupts off, reset the function, INTx back on */
	irq_mode(p, IRQ_NONE, 0);
	vfio_pci__reset(p, "guest reset");
	intx_on(p);
	/* the command register as the guest's firmware leaves it */
	dev_cfg_write(p, PCI_COMMAND, d->cfg + PCI_COMMAND, 2);
}

const struct pci_dev_ops passthru_pci_ops = {
	.cfg_read = passthru_cfg_read,
	.cfg_write = passthru_cfg_write,
	.bar_activate = passthru_bar_activate,
	.bar_deactivate = passthru_bar_deactivate,
	.reset = passthru_reset,
	.msix_changed = passthru_msix_changed,
	.msi_changed = passthru_msi_changed,
};
