/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_PCI_H
#define DPVM_PCI_H

#include "devices/bus.h"
#include "vmm/types.h"

#include <linux/pci_regs.h>
#include <pthread.h>

/*
 * PCI: one host bridge (00:00.0) with configuration mechanism #1 (ports
 * 0xCF8/0xCFC) and an ECAM window, bus 0 only.  A device fills a struct
 * pci_dev (config space with write masks, BARs, capabilities) and calls
 * pci__register() once; the core does config cycles, BAR sizing and
 * placement, decode enable/disable (activating and deactivating the BAR's
 * traps), INTx routing and the MSI/MSI-X capabilities.
 *
 * Locking: dev->lock protects the config space and BAR state; device hooks
 * are called with it held and must not take it again.  MSI-X tables have
 * their own lock, so a device's I/O thread can signal vectors without
 * touching config space.
 */
#define PCI_CFG_SIZE		4096
#define PCI_NR_BARS		6
#define PCI_ROM_BAR		6	/* index of the expansion ROM in bars[] */
#define PCI_MAX_SLOTS		32
#define PCI_DEVFN(slot, fn)	(((slot) << 3) | (fn))

struct pci_dev;
struct vm;

struct pci_bar {
	u64 size;		/* power of two; 0: BAR not implemented */
	bool io;		/* I/O space, else memory */
	bool is64;		/* 64-bit memory BAR (uses the next BAR register too) */
	bool prefetch;
	bool high;		/* place above 4 GiB (64-bit BARs only) */
	/* emulated BARs: trap ops called with offsets into the BAR */
	const struct trap_ops *ops;
	void *opaque;
	/* current decode state, maintained by the core */
	u64 addr;
	bool active;
};

struct pci_dev_ops {
	/* after the core applied a config write (under dev->lock); optional */
	void (*cfg_write)(struct pci_dev *d, u32 off, u32 len);
	/* replace a config read (e.g. passthrough registers); optional */
	bool (*cfg_read)(struct pci_dev *d, u32 off, u32 len, u32 *val);
	/* map/unmap a BAR at addr; default: register bar->ops on a trap bus */
	int (*bar_activate)(struct pci_dev *d, int bar, u64 addr);
	void (*bar_deactivate)(struct pci_dev *d, int bar, u64 addr);
	/* guest reset: called after the core reset the config space */
	void (*reset)(struct pci_dev *d);
	/*
	 * For devices whose interrupts do not come from userspace (assigned
	 * devices): MSI-X or MSI state changed (an entry, a mask, the enable
	 * bits), so the device reprograms its delivery; the core then neither
	 * fires nor delivers pending vectors itself.  vector -1: all of them.
	 * msix_changed runs with msix.lock held, msi_changed with dev->lock.
	 */
	void (*msix_changed)(struct pci_dev *d, int vector);
	void (*msi_changed)(struct pci_dev *d);
};

struct pci_msix_entry {
	u32 addr_lo, addr_hi, data, ctrl;
};

struct pci_msix {
	pthread_mutex_t lock;
	u16 nr;
	u8 cap;			/* capability offset */
	int bar;
	u32 table_off, pba_off;
	struct pci_msix_entry *table;	/* guest-visible */
	u64 *pba;			/* guest-visible pending bits */
	int *gsi;		/* KVM route per vector, -1 until first used */
	int *fd;		/* irqfd eventfd per vector */
};

struct pci_dev {
	const char *name;
	u8 devfn;		/* 0: the core picks a free slot */
	bool registered;
	u8 cfg[PCI_CFG_SIZE];
	u8 wmask[PCI_CFG_SIZE];	/* bits the guest may write */
	u8 w1cmask[PCI_CFG_SIZE];	/* bits the guest clears by writing 1 */
	u8 reset_cfg[PCI_CFG_SIZE];	/* config space at power-on */
	struct pci_bar bars[PCI_NR_BARS + 1];
	const struct pci_dev_ops *ops;
	void *priv;
	struct vm *vm;
	pthread_mutex_t lock;
	unsigned int gsi;	/* INTx line (from the slot and pin) */
	bool intx_level;	/* as the device drives it */
	pthread_mutex_t intx_lock; /* intx_level and the line; inner to dev->lock */
	u8 msi_cap;
	struct pci_msix msix;
	u16 next_cap, next_ext_cap;
};

/* fill the header: ids, class, subsystem ids; pin 1..4 for INTA..INTD or 0 */
void pci__init_header(struct pci_dev *d, u16 vendor, u16 device, u32 class_code,
		      u8 revision, u16 subsys_vendor, u16 subsys_id, u8 int_pin);
/* describe a BAR; call before pci__register */
void pci__set_bar(struct pci_dev *d, int bar, u64 size, bool io, bool is64,
		  bool prefetch, const struct trap_ops *ops, void *opaque);

/* add a capability with its registers writable per wmask; returns its offset */
u8 pci__add_cap(struct pci_dev *d, u8 id, u8 size);
u16 pci__add_ext_cap(struct pci_dev *d, u16 id, u8 version, u16 size);

/* MSI-X with nr vectors, its table and PBA at the given offsets of a BAR */
int pci__msix_init(struct pci_dev *d, u16 nr, int bar, u32 table_off, u32 pba_off);
/* the same for a capability that already sits at offset cap (assigned devices) */
int pci__msix_setup(struct pci_dev *d, u8 cap, u16 nr, int bar, u32 table_off, u32 pba_off);
/* table/PBA accesses from the BAR's handler; true if off was theirs */
bool pci__msix_access(struct pci_dev *d, int bar, u64 off, void *data, u32 len, bool write);
/* raise a vector (from any thread); false if MSI-X is not enabled */
bool pci__msix_notify(struct pci_dev *d, u16 vector);
bool pci__msix_enabled(struct pci_dev *d);

/* vector v's message and whether it is masked (entry or function mask) */
void pci__msix_vector(struct pci_dev *d, u16 v, u64 *addr, u32 *data, bool *masked);

/* MSI (64-bit, per-vector masking) with up to 32 vectors (log2) */
u8 pci__msi_init(struct pci_dev *d, unsigned int log2_vectors);
/* emulate the MSI capability at cap with the device's own flags (any layout) */
void pci__msi_setup(struct pci_dev *d, u8 cap, u16 flags);
void pci__msi_set_pending(struct pci_dev *d, unsigned int v, bool pending);
u32 pci__msi_pending(struct pci_dev *d);
bool pci__msi_notify(struct pci_dev *d, unsigned int vector);
/* MSI state: enabled vectors (0 if off), message of vector 0, mask bits */
unsigned int pci__msi_state(struct pci_dev *d, u64 *addr, u32 *data, u32 *mask);

/* INTx: drive the device's interrupt pin (honours INTx Disable) */
void pci__set_intx(struct pci_dev *d, bool level);

int pci__register(struct vm *vm, struct pci_dev *d);
bool pci__slot_used(struct vm *vm, u8 devfn);
void pci__unregister(struct pci_dev *d);

/* config space access, as the host bridge performs it (for tests too) */
u32 pci__cfg_read(struct pci_dev *d, u32 off, u32 len);
void pci__cfg_write(struct pci_dev *d, u32 off, u32 len, u32 val);

static inline u16 pci__cfg16(const struct pci_dev *d, u32 off)
{
	return d->cfg[off] | (d->cfg[off + 1] << 8);
}

static inline u32 pci__cfg32(const struct pci_dev *d, u32 off)
{
	return d->cfg[off] | (d->cfg[off + 1] << 8) | (d->cfg[off + 2] << 16) |
	       ((u32)d->cfg[off + 3] << 24);
}

/* BAR windows: where the core places BARs (also for tests) */
struct pci_window {
	u64 base, size, next;
};
int pci__alloc(struct pci_window *w, u64 size, u64 *addr);

#endif
