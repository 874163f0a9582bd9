/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_IRQ_H
#define DPVM_IRQ_H

#include "vmm/types.h"

struct vm;

/*
 * Interrupts.  The PIC, IOAPIC, LAPICs and PIT are KVM's in-kernel ones.
 * GSIs 0..23 are the IOAPIC pins (0..15 also reach the PIC); MSI routes are
 * allocated above them.  The routing table is kept here and pushed to KVM
 * whole on every change.
 */

/* drive a level (or edge, as a 0->1 transition) on an IOAPIC/PIC line */
int irq__line(struct vm *vm, unsigned int gsi, int level);

/* MSI routes: allocate a GSI for an address/data pair, change or free it */
int irq__add_msi_route(struct vm *vm, u64 addr, u32 data);
int irq__update_msi_route(struct vm *vm, unsigned int gsi, u64 addr, u32 data);
void irq__del_msi_route(struct vm *vm, unsigned int gsi);

/* irqfd: writing to fd raises gsi; with resample_fd, a level interrupt
 * whose EOI is signalled on resample_fd (for INTx of assigned devices) */
int irq__add_irqfd(struct vm *vm, int fd, unsigned int gsi, int resample_fd);
int irq__del_irqfd(struct vm *vm, int fd, unsigned int gsi);

/* ioeventfd: a guest write to addr (MMIO or port) signals fd without an exit */
int irq__add_ioeventfd(struct vm *vm, u64 addr, u32 len, int fd, bool pio);
int irq__del_ioeventfd(struct vm *vm, u64 addr, u32 len, int fd, bool pio);

/* inject one MSI directly (no route needed) */
int irq__signal_msi(struct vm *vm, u64 addr, u32 data);

#endif
