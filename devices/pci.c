// SPDX-License-Identifier: GPL-2.0
#include "devices/pci.h"
#include "vmm/acpi.h"
#include "vmm/irq.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CF8_ENABLE	(1U << 31)
#define PCI_HOST_VENDOR	0x1b36	/* Red Hat, Inc. */
#define PCI_HOST_DEVICE	0x0008	/* PCIe host bridge */
#define PCI_CLASS_BRIDGE_HOST	0x0600

struct pci_host {
	struct vm *vm;
	pthread_mutex_t lock;	/* slots[], cf8 */
	u32 cf8;
	struct pci_dev *devs[256];	/* by devfn, bus 0 */
	struct pci_window io, mem32, mem64;
	struct pci_dev bridge;
	struct vm_device vd;
};

/* ---- config space helpers ---- */

static void set8(u8 *p, u32 off, u8 v) { p[off] = v; }
static void set16(u8 *p, u32 off, u16 v) { p[off] = v; p[off + 1] = v >> 8; }
static void set32(u8 *p, u32 off, u32 v) { set16(p, off, v); set16(p, off + 2, v >> 16); }

void pci__init_header(struct pci_dev *d, u16 vendor, u16 device, u32 class_code,
		      u8 revision, u16 subsys_vendor, u16 subsys_id, u8 int_pin)
{
	set16(d->cfg, PCI_VENDOR_ID, vendor);
	set16(d->cfg, PCI_DEVICE_ID, device);
	set8(d->cfg, PCI_REVISION_ID, revision);
	set8(d->cfg, PCI_CLASS_PROG, class_code & 0xff);
	set16(d->cfg, PCI_CLASS_DEVICE, class_code >> 8);
	set8(d->cfg, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL);
	set16(d->cfg, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	set16(d->cfg, PCI_SUBSYSTEM_ID, subsys_id);
	set8(d->cfg, PCI_INTERRUPT_PIN, int_pin);
	/* what the guest may change in the header */
	set16(d->wmask, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
	      PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
	      PCI_COMMAND_INTX_DISABLE);
	set16(d->w1cmask, PCI_STATUS, PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
	      PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |
	      PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY);
	set8(d->wmask, PCI_CACHE_LINE_SIZE, 0xff);
	set8(d->wmask, PCI_LATENCY_TIMER, 0xff);
	set8(d->wmask, PCI_INTERRUPT_LINE, 0xff);
	d->next_cap = 0x40;
	d->next_ext_cap = 0x100;
}

void pci__set_bar(struct pci_dev *d, int bar, u64 size, bool io, bool is64,
		  bool prefetch, const struct trap_ops *ops, void *opaque)
{
	struct pci_bar *b = &d->bars[bar];
	u32 reg = bar == PCI_ROM_BAR ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * bar;
	u64 mask;

	/* BARs are at least 16 bytes (memory) or 4 (I/O); we round to a page
	 * for memory so that a BAR never shares a page with another */
	if (!io && size < 4096)
		size = 4096;
	while (size & (size - 1))
		size += size & -size;
	b->size = size;
	b->io = io;
	b->is64 = is64 && !io && bar != PCI_ROM_BAR;
	b->prefetch = prefetch;
	b->ops = ops;
	b->opaque = opaque;
	mask = ~(size - 1);

	if (bar == PCI_ROM_BAR) {
		set32(d->wmask, reg, (u32)(mask & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE);
		return;
	}
	if (io) {
		set32(d->cfg, reg, PCI_BASE_ADDRESS_SPACE_IO);
		set32(d->wmask, reg, (u32)mask & PCI_BASE_ADDRESS_IO_MASK);
		return;
	}
	set32(d->cfg, reg, (b->is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
	      (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0));
	set32(d->wmask, reg, (u32)mask & PCI_BASE_ADDRESS_MEM_MASK);
	if (b->is64)
		set32(d->wmask, reg + 4, mask >> 32);
}

u8 pci__add_cap(struct pci_dev *d, u8 id, u8 size)
{
	u8 off = d->next_cap, prev;

	if (off + size > 0x100)
		return 0;
	set8(d->cfg, off, id);
	set8(d->cfg, off + 1, 0);
	/* append to the list */
	if (!(pci__cfg16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
		set8(d->cfg, PCI_CAPABILITY_LIST, off);
		set16(d->cfg, PCI_STATUS, pci__cfg16(d, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	} else {
		prev = d->cfg[PCI_CAPABILITY_LIST];
		while (d->cfg[prev + 1])
			prev = d->cfg[prev + 1];
		set8(d->cfg, prev + 1, off);
	}
	d->next_cap = ALIGN_UP(off + size, 4);
	return off;
}

u16 pci__add_ext_cap(struct pci_dev *d, u16 id, u8 version, u16 size)
{
	u16 off = d->next_ext_cap;

	if (off + size > PCI_CFG_SIZE)
		return 0;
	set32(d->cfg, off, id | ((u32)version << 16));
	if (off != 0x100) {
		u16 prev = 0x100;

		while (pci__cfg32(d, prev) >> 20)
			prev = pci__cfg32(d, prev) >> 20;
		set32(d->cfg, prev, pci__cfg32(d, prev) | ((u32)off << 20));
	}
	d->next_ext_cap = ALIGN_UP(off + size, 4);
	return off;
}

/* ---- BAR decode ---- */

static u64 bar_addr(const struct pci_dev *d, int bar)
{
	const struct pci_bar *b = &d->bars[bar];
	u32 reg = bar == PCI_ROM_BAR ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * bar;
	u64 lo = pci__cfg32(d, reg);

	if (bar == PCI_ROM_BAR)
		return lo & PCI_ROM_ADDRESS_MASK;
	if (b->io)
		return lo & PCI_BASE_ADDRESS_IO_MASK;
	lo &= PCI_BASE_ADDRESS_MEM_MASK;
	if (b->is64)
		lo |= (u64)pci__cfg32(d, reg + 4) << 32;
	return lo;
}

static bool bar_decodes(const struct pci_dev *d, int bar)
{
	const struct pci_bar *b = &d->bars[bar];
	u16 cmd = pci__cfg16(d, PCI_COMMAND);
	u64 addr = bar_addr(d, bar);

	if (!b->size)
		return false;
	if (bar == PCI_ROM_BAR && !(pci__cfg32(d, PCI_ROM_ADDRESS) & PCI_ROM_ADDRESS_ENABLE))
		return false;
	if (!(cmd & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return false;
	/* an unprogrammed BAR, or one that wraps, decodes nothing */
	return addr && addr + b->size - 1 > addr;
}

static int bar_activate(struct pci_dev *d, int bar, u64 addr)
{
	struct pci_bar *b = &d->bars[bar];

	if (d->ops && d->ops->bar_activate)
		return d->ops->bar_activate(d, bar, addr);
	if (!b->ops)
		return 0;
	return bus__register(b->io ? &d->vm->pio : &d->vm->mmio, addr, b->size,
			     b->ops, b->opaque, d->name);
}

static void bar_deactivate(struct pci_dev *d, int bar, u64 addr)
{
	struct pci_bar *b = &d->bars[bar];

	if (d->ops && d->ops->bar_deactivate) {
		d->ops->bar_deactivate(d, bar, addr);
		return;
	}
	if (b->ops)
		bus__unregister(b->io ? &d->vm->pio : &d->vm->mmio, addr, b->opaque);
}

/* Bring every BAR's mapping in line with config space; dev->lock held. */
static void update_bars(struct pci_dev *d)
{
	for (int i = 0; i <= PCI_ROM_BAR; i++) {
		struct pci_bar *b = &d->bars[i];
		bool on = d->vm && bar_decodes(d, i);
		u64 addr = bar_addr(d, i);

		if (b->active && (!on || addr != b->addr)) {
			bar_deactivate(d, i, b->addr);
			b->active = false;
		}
		if (on && !b->active) {
			int ret = bar_activate(d, i, addr);

			if (ret) {
				pr_warn_guest("%s: BAR %d at %#llx overlaps another device; "
					      "it stays unmapped until moved", d->name, i,
					      (unsigned long long)addr);
				continue;
			}
			b->addr = addr;
			b->active = true;
		}
		if (b->is64)
			i++;
	}
}

/* ---- config cycles ---- */

static void msix_cfg_written(struct pci_dev *d);
static void msi_cfg_written(struct pci_dev *d, u32 off, u32 len);

u32 pci__cfg_read(struct pci_dev *d, u32 off, u32 len)
{
	u32 v = 0;

	if (off + len > PCI_CFG_SIZE)
		return ~0U;
	pthread_mutex_lock(&d->lock);
	if (!d->ops || !d->ops->cfg_read || !d->ops->cfg_read(d, off, len, &v)) {
		v = 0;
		for (u32 i = 0; i < len; i++)
			v |= (u32)d->cfg[off + i] << (8 * i);
		/* Status.Interrupt follows the pin as the device drives it */
		if (off <= PCI_STATUS && off + len > PCI_STATUS) {
			u32 bit = PCI_STATUS_INTERRUPT << (8 * (PCI_STATUS - off));

			if (__atomic_load_n(&d->intx_level, __ATOMIC_ACQUIRE))
				v |= bit;
			else
				v &= ~bit;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return v;
}

void pci__cfg_write(struct pci_dev *d, u32 off, u32 len, u32 val)
{
	bool bars = false;

	if (off + len > PCI_CFG_SIZE)
		return;
	pthread_mutex_lock(&d->lock);
	for (u32 i = 0; i < len; i++) {
		u32 o = off + i;
		u8 b = val >> (8 * i);
		u8 wm = d->wmask[o], w1c = d->w1cmask[o];

		d->cfg[o] = (d->cfg[o] & ~wm) | (b & wm);
		d->cfg[o] &= ~(b & w1c);
		if (o == PCI_COMMAND || o == PCI_COMMAND + 1 ||
		    (o >= PCI_BASE_ADDRESS_0 && o < PCI_BASE_ADDRESS_5 + 4) ||
		    (o >= PCI_ROM_ADDRESS && o < PCI_ROM_ADDRESS + 4))
			bars = true;
	}
	if (bars)
		update_bars(d);
	if (off <= PCI_COMMAND + 1 && off + len > PCI_COMMAND + 1 && d->vm && d->gsi) {
		/* INTx Disable may have changed while the pin is asserted */
		pthread_mutex_lock(&d->intx_lock);
		if (d->intx_level)
			irq__line(d->vm, d->gsi,
				  !(pci__cfg16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE));
		pthread_mutex_unlock(&d->intx_lock);
	}
	if (d->msix.nr && off < d->msix.cap + 4u && off + len > d->msix.cap + 2u)
		msix_cfg_written(d);
	if (d->msi_cap && off < d->msi_cap + 24u && off + len > d->msi_cap)
		msi_cfg_written(d, off, len);
	if (d->ops && d->ops->cfg_write)
		d->ops->cfg_write(d, off, len);
	pthread_mutex_unlock(&d->lock);
}

/* ---- INTx ---- */

/* Callable from any thread holding any device lock: takes only intx_lock. */
void pci__set_intx(struct pci_dev *d, bool level)
{
	pthread_mutex_lock(&d->intx_lock);
	__atomic_store_n(&d->intx_level, level, __ATOMIC_RELEASE);
	if (d->vm && d->gsi)
		irq__line(d->vm, d->gsi,
			  level && !(__atomic_load_n(&d->cfg[PCI_COMMAND + 1], __ATOMIC_RELAXED) &
				     (PCI_COMMAND_INTX_DISABLE >> 8)));
	pthread_mutex_unlock(&d->intx_lock);
}

/* ---- MSI-X ---- */

#define MSIX_CTRL_MASKED	1

int pci__msix_init(struct pci_dev *d, u16 nr, int bar, u32 table_off, u32 pba_off)
{
	u8 cap = pci__add_cap(d, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);

	if (!cap)
		return -ENOSPC;
	return pci__msix_setup(d, cap, nr, bar, table_off, pba_off);
}

int pci__msix_setup(struct pci_dev *d, u8 cap, u16 nr, int bar, u32 table_off, u32 pba_off)
{
	struct pci_msix *m = &d->msix;

	if (!nr || nr > 2048 || bar < 0 || bar >= PCI_NR_BARS)
		return -EINVAL;
	pthread_mutex_init(&m->lock, NULL);
	m->nr = nr;
	m->cap = cap;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	m->table = xzalloc(nr * sizeof(*m->table));
	m->pba = xzalloc(ALIGN_UP(nr, 64) / 8);
	m->gsi = xzalloc(nr * sizeof(int));
	m->fd = xzalloc(nr * sizeof(int));
	for (u16 i = 0; i < nr; i++) {
		m->table[i].ctrl = MSIX_CTRL_MASKED;
		m->gsi[i] = -1;
		m->fd[i] = -1;
	}
	set16(d->cfg, cap + PCI_MSIX_FLAGS, nr - 1);
	d->cfg[cap] = PCI_CAP_ID_MSIX;
	set16(d->wmask, cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	set32(d->cfg, cap + PCI_MSIX_TABLE, table_off | bar);
	set32(d->cfg, cap + PCI_MSIX_PBA, pba_off | bar);
	return 0;
}

bool pci__msix_enabled(struct pci_dev *d)
{
	return d->msix.nr && (pci__cfg16(d, d->msix.cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE);
}

static bool msix_masked(struct pci_dev *d, u16 v)
{
	u16 flags = pci__cfg16(d, d->msix.cap + PCI_MSIX_FLAGS);

	return (flags & PCI_MSIX_FLAGS_MASKALL) || (d->msix.table[v].ctrl & MSIX_CTRL_MASKED);
}

/* send vector v now; msix.lock held */
static void msix_fire(struct pci_dev *d, u16 v)
{
	struct pci_msix *m = &d->msix;
	struct pci_msix_entry *e = &m->table[v];
	u64 addr = ((u64)e->addr_hi << 32) | e->addr_lo;
	u64 one = 1;

	if (!d->vm)
		return;
	if (m->gsi[v] < 0) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		int gsi = fd < 0 ? -1 : irq__add_msi_route(d->vm, addr, e->data);

		if (gsi < 0 || irq__add_irqfd(d->vm, fd, gsi, -1)) {
			/* no route: deliver this one directly */
			if (gsi >= 0)
				irq__del_msi_route(d->vm, gsi);
			if (fd >= 0)
				close(fd);
			irq__signal_msi(d->vm, addr, e->data);
			return;
		}
		m->gsi[v] = gsi;
		m->fd[v] = fd;
	}
	if (write(m->fd[v], &one, sizeof(one)) < 0)
		irq__signal_msi(d->vm, addr, e->data);
}

bool pci__msix_notify(struct pci_dev *d, u16 v)
{
	struct pci_msix *m = &d->msix;

	if (!pci__msix_enabled(d) || v >= m->nr)
		return false;
	pthread_mutex_lock(&m->lock);
	if (msix_masked(d, v))
		m->pba[v / 64] |= 1ULL << (v % 64);
	else
		msix_fire(d, v);
	pthread_mutex_unlock(&m->lock);
	return true;
}

/* deliver what became unmasked; msix.lock held */
static void msix_deliver_pending(struct pci_dev *d)
{
	struct pci_msix *m = &d->msix;

	if (!pci__msix_enabled(d))
		return;
	for (u16 v = 0; v < m->nr; v++) {
		if ((m->pba[v / 64] & (1ULL << (v % 64))) && !msix_masked(d, v)) {
			m->pba[v / 64] &= ~(1ULL << (v % 64));
			msix_fire(d, v);
		}
	}
}

static void msix_cfg_written(struct pci_dev *d)
{
	pthread_mutex_lock(&d->msix.lock);
	if (d->ops && d->ops->msix_changed)
		d->ops->msix_changed(d, -1);
	else
		msix_deliver_pending(d);
	pthread_mutex_unlock(&d->msix.lock);
}

void pci__msix_vector(struct pci_dev *d, u16 v, u64 *addr, u32 *data, bool *masked)
{
	const struct pci_msix_entry *e = &d->msix.table[v];

	*addr = ((u64)e->addr_hi << 32) | e->addr_lo;
	*data = e->data;
	*masked = msix_masked(d, v);
}

bool pci__msix_access(struct pci_dev *d, int bar, u64 off, void *data, u32 len, bool write)
{
	struct pci_msix *m = &d->msix;
	u64 tsize = m->nr * 16ULL, psize = ALIGN_UP(m->nr, 64) / 8;

	if (!m->nr || bar != m->bar)
		return false;
	if (off >= m->table_off && off < m->table_off + tsize) {
		u64 o = off - m->table_off;
		u16 v = o / 16;

		/* 4- or 8-byte aligned accesses inside one entry (PCI spec) */
		if ((len != 4 && len != 8) || (o & (len - 1))) {
			if (!write)
				memset(data, 0xff, len);
			return true;
		}
		pthread_mutex_lock(&m->lock);
		for (u32 done = 0; done < len; done += 4) {
			u32 *reg = (u32 *)&m->table[v] + ((o + done) % 16) / 4;

			if (!write) {
				memcpy((u8 *)data + done, reg, 4);
				continue;
			}
			memcpy(reg, (u8 *)data + done, 4);
			if (reg == &m->table[v].ctrl)
				m->table[v].ctrl &= MSIX_CTRL_MASKED;
			else if (m->gsi[v] >= 0)
				irq__update_msi_route(d->vm, m->gsi[v],
						      ((u64)m->table[v].addr_hi << 32) |
						      m->table[v].addr_lo, m->table[v].data);
		}
		if (write && d->ops && d->ops->msix_changed)
			d->ops->msix_changed(d, v);
		else if (write)
			msix_deliver_pending(d);
		pthread_mutex_unlock(&m->lock);
		return true;
	}
	if (off >= m->pba_off && off < m->pba_off + psize) {
		if (!write) {
			u64 o = off - m->pba_off;

			pthread_mutex_lock(&m->lock);
			memset(data, 0, len);
			memcpy(data, (u8 *)m->pba + o, MIN((u64)len, psize - o));
			pthread_mutex_unlock(&m->lock);
		}
		return true;
	}
	return false;
}

static void msix_reset(struct pci_dev *d)
{
	struct pci_msix *m = &d->msix;

	if (!m->nr)
		return;
	pthread_mutex_lock(&m->lock);
	for (u16 v = 0; v < m->nr; v++)
		m->table[v] = (struct pci_msix_entry){ .ctrl = MSIX_CTRL_MASKED };
	memset(m->pba, 0, ALIGN_UP(m->nr, 64) / 8);
	pthread_mutex_unlock(&m->lock);
}

static void msix_free(struct pci_dev *d)
{
	struct pci_msix *m = &d->msix;

	for (u16 v = 0; v < m->nr; v++) {
		if (m->gsi[v] >= 0) {
			irq__del_irqfd(d->vm, m->fd[v], m->gsi[v]);
			irq__del_msi_route(d->vm, m->gsi[v]);
			close(m->fd[v]);
		}
	}
	free(m->table);
	free(m->pba);
	free(m->gsi);
	free(m->fd);
	memset(m, 0, sizeof(*m));
}

/* ---- MSI: 32- or 64-bit address, with or without per-vector masking ---- */

struct msi_layout {
	u8 addr_hi, data, mask, pending, size;	/* offsets; 0: absent */
};

static struct msi_layout msi_layout(u16 flags)
{
	bool is64 = flags & PCI_MSI_FLAGS_64BIT, maskbit = flags & PCI_MSI_FLAGS_MASKBIT;
	struct msi_layout l = { .addr_hi = is64 ? 8 : 0, .data = is64 ? 12 : 8 };

	l.size = l.data + 4;
	if (maskbit) {
		l.mask = l.data + 4;
		l.pending = l.data + 8;
		l.size = l.data + 12;
	}
	return l;
}

static u32 msi_mask(const struct pci_dev *d, const struct msi_layout *l)
{
	return l->mask ? pci__cfg32(d, d->msi_cap + l->mask) : 0;
}

void pci__msi_setup(struct pci_dev *d, u8 cap, u16 flags)
{
	struct msi_layout l = msi_layout(flags);
	unsigned int mmc = (flags & PCI_MSI_FLAGS_QMASK) >> 1;

	set16(d->cfg, cap + PCI_MSI_FLAGS, flags & (PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT |
						  PCI_MSI_FLAGS_QMASK));
	set16(d->wmask, cap + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	set32(d->wmask, cap + PCI_MSI_ADDRESS_LO, 0xfffffffc);
	if (l.addr_hi)
		set32(d->wmask, cap + l.addr_hi, 0xffffffff);
	set16(d->wmask, cap + l.data, 0xffff);
	if (l.mask)
		set32(d->wmask, cap + l.mask, mmc >= 5 ? ~0U : (1U << (1 << mmc)) - 1);
	d->msi_cap = cap;
}

u8 pci__msi_init(struct pci_dev *d, unsigned int log2_vectors)
{
	u16 flags = PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (log2_vectors << 1);
	u8 cap;

	if (log2_vectors > 5)
		return 0;
	cap = pci__add_cap(d, PCI_CAP_ID_MSI, msi_layout(flags).size);
	if (cap)
		pci__msi_setup(d, cap, flags);
	return cap;
}

unsigned int pci__msi_state(struct pci_dev *d, u64 *addr, u32 *data, u32 *mask)
{
	u8 c = d->msi_cap;
	u16 flags;
	struct msi_layout l;

	if (!c)
		return 0;
	flags = pci__cfg16(d, c + PCI_MSI_FLAGS);
	l = msi_layout(flags);
	*addr = pci__cfg32(d, c + PCI_MSI_ADDRESS_LO);
	if (l.addr_hi)
		*addr |= (u64)pci__cfg32(d, c + l.addr_hi) << 32;
	*data = pci__cfg16(d, c + l.data);
	*mask = msi_mask(d, &l);
	return flags & PCI_MSI_FLAGS_ENABLE ? 1U << ((flags & PCI_MSI_FLAGS_QSIZE) >> 4) : 0;
}

u32 pci__msi_pending(struct pci_dev *d)
{
	struct msi_layout l = msi_layout(pci__cfg16(d, d->msi_cap + PCI_MSI_FLAGS));

	return l.pending ? pci__cfg32(d, d->msi_cap + l.pending) : 0;
}

void pci__msi_set_pending(struct pci_dev *d, unsigned int v, bool pending)
{
	struct msi_layout l = msi_layout(pci__cfg16(d, d->msi_cap + PCI_MSI_FLAGS));
	u32 bits;

	if (!l.pending)
		return;
	bits = pci__cfg32(d, d->msi_cap + l.pending);
	bits = pending ? bits | (1U << v) : bits & ~(1U << v);
	set32(d->cfg, d->msi_cap + l.pending, bits);
}

/* send vector v if MSI is on and v unmasked, else mark it pending; lock held */
static bool msi_send(struct pci_dev *d, unsigned int v)
{
	u64 addr;
	u32 data, mask;
	unsigned int nvec = pci__msi_state(d, &addr, &data, &mask);

	if (v >= nvec)
		return false;
	if (mask & (1U << v)) {
		pci__msi_set_pending(d, v, true);
		return true;
	}
	/* multiple-message MSI: the vector is in the low bits of the data */
	data = (data & ~(nvec - 1)) | v;
	if (d->vm)
		irq__signal_msi(d->vm, addr, data);
	return true;
}

bool pci__msi_notify(struct pci_dev *d, unsigned int v)
{
	bool ret;

	if (!d->msi_cap || v >= 32)
		return false;
	pthread_mutex_lock(&d->lock);
	ret = msi_send(d, v);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static void msi_cfg_written(struct pci_dev *d, u32 off __unused, u32 len __unused)
{
	struct msi_layout l = msi_layout(pci__cfg16(d, d->msi_cap + PCI_MSI_FLAGS));
	u32 pending, mask;

	if (d->ops && d->ops->msi_changed) {
		d->ops->msi_changed(d);
		return;
	}
	if (!l.pending)
		return;
	pending = pci__cfg32(d, d->msi_cap + l.pending);
	mask = msi_mask(d, &l);
	for (unsigned int v = 0; v < 32; v++) {
		if ((pending & (1U << v)) && !(mask & (1U << v))) {
			pci__msi_set_pending(d, v, false);
			msi_send(d, v);
		}
	}
}

/* ---- BAR placement ---- */

int pci__alloc(struct pci_window *w, u64 size, u64 *addr)
{
	u64 a = ALIGN_UP(w->next, size);

	if (a < w->next || a + size > w->base + w->size || a + size < a)
		return -ENOSPC;
	*addr = a;
	w->next = a + size;
	return 0;
}

static int place_bars(struct pci_host *h, struct pci_dev *d)
{
	char buf[32];

	for (int i = 0; i <= PCI_ROM_BAR; i++) {
		struct pci_bar *b = &d->bars[i];
		u32 reg = i == PCI_ROM_BAR ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * i;
		struct pci_window *w;
		u64 addr;

		if (!b->size)
			continue;
		/* big 64-bit BARs go above 4 GiB; so does anything marked high */
		if (b->is64 && (b->high || b->size >= 256 * MIB) && h->mem64.size)
			w = &h->mem64;
		else
			w = b->io ? &h->io : &h->mem32;
		if (pci__alloc(w, b->size, &addr)) {
			pr_err("%s: no room for BAR %d (%s) in the %s window; "
			       "give the VM less memory or fewer devices", d->name, i,
			       fmt_size(b->size, buf, sizeof(buf)),
			       w == &h->io ? "I/O" : w == &h->mem32 ? "32-bit MMIO" : "64-bit MMIO");
			return -ENOSPC;
		}
		set32(d->cfg, reg, (pci__cfg32(d, reg) & ~d->wmask[reg] & 0xf) | (u32)addr);
		if (b->is64)
			set32(d->cfg, reg + 4, addr >> 32);
		if (b->is64)
			i++;
	}
	return 0;
}

/* ---- registration ---- */

bool pci__slot_used(struct vm *vm, u8 devfn)
{
	bool used;

	pthread_mutex_lock(&vm->pci->lock);
	used = vm->pci->devs[devfn] != NULL;
	pthread_mutex_unlock(&vm->pci->lock);
	return used;
}

int pci__register(struct vm *vm, struct pci_dev *d)
{
	struct pci_host *h = vm->pci;
	unsigned int slot;
	u16 cmd = 0;
	int ret;

	pthread_mutex_lock(&h->lock);
	if (!d->devfn) {
		for (slot = 1; slot < PCI_MAX_SLOTS && h->devs[PCI_DEVFN(slot, 0)]; slot++)
			;
		if (slot == PCI_MAX_SLOTS) {
			pthread_mutex_unlock(&h->lock);
			pr_err("%s: all %d PCI slots are in use", d->name, PCI_MAX_SLOTS - 1);
			return -ENOSPC;
		}
		d->devfn = PCI_DEVFN(slot, 0);
	} else if (h->devs[d->devfn]) {
		pthread_mutex_unlock(&h->lock);
		pr_err("%s: PCI slot %02x.%x is taken by %s", d->name, d->devfn >> 3,
		       d->devfn & 7, h->devs[d->devfn]->name);
		return -EBUSY;
	}
	d->vm = vm;
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->intx_lock, NULL);
	ret = place_bars(h, d);
	if (ret) {
		pthread_mutex_unlock(&h->lock);
		return ret;
	}
	if (d->cfg[PCI_INTERRUPT_PIN]) {
		d->gsi = acpi__pci_intx_gsi(d->devfn >> 3, d->cfg[PCI_INTERRUPT_PIN] - 1);
		d->cfg[PCI_INTERRUPT_LINE] = d->gsi;
	}
	/* as firmware leaves it: BARs placed and decoding */
	for (int i = 0; i <= PCI_ROM_BAR; i++)
		if (d->bars[i].size && i != PCI_ROM_BAR)
			cmd |= d->bars[i].io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	set16(d->cfg, PCI_COMMAND, cmd);
	memcpy(d->reset_cfg, d->cfg, sizeof(d->cfg));
	h->devs[d->devfn] = d;
	d->registered = true;
	pthread_mutex_unlock(&h->lock);

	pthread_mutex_lock(&d->lock);
	update_bars(d);
	pthread_mutex_unlock(&d->lock);
	pr_debug("PCI %02x.%x: %s", d->devfn >> 3, d->devfn & 7, d->name);
	return 0;
}

void pci__unregister(struct pci_dev *d)
{
	struct pci_host *h;

	if (!d->registered)
		return;
	h = d->vm->pci;
	pthread_mutex_lock(&d->lock);
	for (int i = 0; i <= PCI_ROM_BAR; i++) {
		if (d->bars[i].active)
			bar_deactivate(d, i, d->bars[i].addr);
		d->bars[i].active = false;
	}
	pthread_mutex_unlock(&d->lock);
	pci__set_intx(d, false);
	msix_free(d);
	pthread_mutex_lock(&h->lock);
	h->devs[d->devfn] = NULL;
	pthread_mutex_unlock(&h->lock);
	d->registered = false;
}

static void pci_dev_reset(struct pci_dev *d)
{
	pthread_mutex_lock(&d->lock);
	memcpy(d->cfg, d->reset_cfg, sizeof(d->cfg));
	update_bars(d);
	pci__set_intx(d, false);
	msix_reset(d);
	if (d->ops && d->ops->reset)
		d->ops->reset(d);
	pthread_mutex_unlock(&d->lock);
}

/* ---- the host bridge: CF8/CFC and ECAM ---- */

static struct pci_dev *lookup(struct pci_host *h, unsigned int bus, unsigned int devfn)
{
	struct pci_dev *d;

	if (bus != 0)
		return NULL;
	pthread_mutex_lock(&h->lock);
	d = h->devs[devfn];
	pthread_mutex_unlock(&h->lock);
	return d;
}

static void cfg_access(struct pci_host *h, unsigned int bus, unsigned int devfn, u32 reg,
		       void *data, u32 len, bool write)
{
	struct pci_dev *d = lookup(h, bus, devfn);
	u32 v = 0;

	if (!d) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	if (write) {
		memcpy(&v, data, len);
		pci__cfg_write(d, reg, len, v);
	} else {
		v = pci__cfg_read(d, reg, len);
		memcpy(data, &v, len);
	}
}

static void cf8_access(struct pci_host *h, u64 off, void *data, u32 len, bool write)
{
	u32 cf8;

	if (off < 4) {
		/* the address register is a dword; other widths go elsewhere
		 * on real chipsets (0xCF9 reset control): ignored here */
		if (off != 0 || len != 4) {
			if (!write)
				memset(data, 0xff, len);
			return;
		}
		pthread_mutex_lock(&h->lock);
		if (write)
			memcpy(&h->cf8, data, 4);
		else
			memcpy(data, &h->cf8, 4);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	pthread_mutex_lock(&h->lock);
	cf8 = h->cf8;
	pthread_mutex_unlock(&h->lock);
	off -= 4;
	if (!(cf8 & CF8_ENABLE) || off + len > 4) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	cfg_access(h, (cf8 >> 16) & 0xff, (cf8 >> 8) & 0xff, (cf8 & 0xfc) + off, data, len,
		   write);
}

static void cf8_read(void *dev, u64 off, void *data, u32 len) { cf8_access(dev, off, data, len, false); }
static void cf8_write(void *dev, u64 off, const void *data, u32 len) { cf8_access(dev, off, (void *)data, len, true); }

static const struct trap_ops cf8_ops = {
	.read = cf8_read,
	.write = cf8_write,
};

static void ecam_access(struct pci_host *h, u64 off, void *data, u32 len, bool write)
{
	u32 reg = off & 0xfff;

	/* naturally aligned, within one function's space; 8-byte as two */
	if ((reg & (len - 1)) || len > 8) {
		if (!write)
			memset(data, 0xff, len);
		return;
	}
	if (len == 8) {
		ecam_access(h, off, data, 4, write);
		ecam_access(h, off + 4, (u8 *)data + 4, 4, write);
		return;
	}
	cfg_access(h, off >> 20, (off >> 12) & 0xff, reg, data, len, write);
}

static void ecam_read(void *dev, u64 off, void *data, u32 len) { ecam_access(dev, off, data, len, false); }
static void ecam_write(void *dev, u64 off, const void *data, u32 len) { ecam_access(dev, off, (void *)data, len, true); }

static const struct trap_ops ecam_ops = {
	.read = ecam_read,
	.write = ecam_write,
};

static void pci_host_reset(struct vm_device *vd)
{
	struct pci_host *h = container_of(vd, struct pci_host, vd);

	pthread_mutex_lock(&h->lock);
	h->cf8 = 0;
	pthread_mutex_unlock(&h->lock);
	for (unsigned int i = 0; i < ARRAY_SIZE(h->devs); i++) {
		struct pci_dev *d = lookup(h, 0, i);

		if (d)
			pci_dev_reset(d);
	}
}

static int pci_host__init(struct vm *vm)
{
	struct pci_host *h = xzalloc(sizeof(*h));
	int ret;

	h->vm = vm;
	pthread_mutex_init(&h->lock, NULL);
	h->io = (struct pci_window){ PCI_IO_WINDOW_START, PCI_IO_WINDOW_SIZE, PCI_IO_WINDOW_START };
	h->mem32 = (struct pci_window){ MMIO32_START, MMIO32_SIZE, MMIO32_START };
	h->mem64 = (struct pci_window){ vm->mem.mmio64_base, vm->mem.mmio64_size,
					vm->mem.mmio64_base };
	vm->pci = h;

	ret = bus__register(&vm->pio, PORT_PCI_CONFIG_ADDR, 8, &cf8_ops, h, "pci-conf1");
	if (ret)
		goto err_free;
	ret = bus__register(&vm->mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &ecam_ops, h, "pci-ecam");
	if (ret)
		goto err_cf8;

	h->bridge.name = "host-bridge";
	h->bridge.devfn = 0;
	pci__init_header(&h->bridge, PCI_HOST_VENDOR, PCI_HOST_DEVICE,
			 PCI_CLASS_BRIDGE_HOST << 8, 0, PCI_HOST_VENDOR, 0x1100, 0);
	h->bridge.vm = vm;
	pthread_mutex_init(&h->bridge.lock, NULL);
	pthread_mutex_init(&h->bridge.intx_lock, NULL);
	memcpy(h->bridge.reset_cfg, h->bridge.cfg, sizeof(h->bridge.cfg));
	h->devs[0] = &h->bridge;
	h->bridge.registered = true;

	h->vd.name = "pci";
	h->vd.reset = pci_host_reset;
	vm__add_device(vm, &h->vd);
	return 0;

err_cf8:
	bus__unregister(&vm->pio, PORT_PCI_CONFIG_ADDR, h);
err_free:
	free(h);
	vm->pci = NULL;
	return ret;
}

static void pci_host__exit(struct vm *vm)
{
	struct pci_host *h = vm->pci;

	if (!h)
		return;
	vm__remove_device(vm, &h->vd);
	bus__unregister(&vm->mmio, PCI_ECAM_BASE, h);
	bus__unregister(&vm->pio, PORT_PCI_CONFIG_ADDR, h);
	free(h);
	vm->pci = NULL;
}
vm_initcall(INIT_BUS, pci_host__init, pci_host__exit, NULL);
