/* SPDX-License-Identifier: GPL-2.0 */
/* The local APIC (xAPIC MMIO) and the IOAPIC. */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include "io.h"

#define LAPIC_BASE		0xfee00000
#define LAPIC_ID		0x020
#define LAPIC_VERSION		0x030
#define LAPIC_TPR		0x080
#define LAPIC_EOI		0x0b0
#define LAPIC_SVR		0x0f0
#define  LAPIC_SVR_ENABLE	(1 << 8)
#define LAPIC_ESR		0x280
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define  ICR_FIXED		(0 << 8)
#define  ICR_INIT		(5 << 8)
#define  ICR_STARTUP		(6 << 8)
#define  ICR_BUSY		(1 << 12)
#define  ICR_ASSERT		(1 << 14)
#define  ICR_LEVEL		(1 << 15)
#define LAPIC_LVT_TIMER		0x320
#define  LVT_MASKED		(1 << 16)
#define  LVT_TIMER_PERIODIC	(1 << 17)
#define LAPIC_LVT_LINT0		0x350
#define LAPIC_LVT_LINT1		0x360
#define LAPIC_LVT_ERROR		0x370
#define LAPIC_TIMER_INIT	0x380
#define LAPIC_TIMER_CUR		0x390
#define LAPIC_TIMER_DIV		0x3e0

#define SPURIOUS_VECTOR		0xff

static inline u32 lapic_read(u32 reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

static inline void lapic_write(u32 reg, u32 v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

static inline u32 lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

static inline void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* software-enable this CPU's LAPIC (spurious vector 0xff), TPR 0 */
void lapic_enable(void);
/* send an IPI (ICR low bits) to an APIC id; false if it stays busy */
bool lapic_ipi(u32 apic_id, u32 icr_lo);

#define IOAPIC_BASE		0xfec00000
#define IOAPIC_REGSEL		0x00
#define IOAPIC_WIN		0x10
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VER		0x01
#define IOAPIC_REDTBL(pin)	(0x10 + 2 * (pin))
#define  IOAPIC_LEVEL		(1 << 15)
#define  IOAPIC_ACTIVE_LOW	(1 << 13)
#define  IOAPIC_MASKED		(1 << 16)

u32 ioapic_read(u32 reg);
void ioapic_write(u32 reg, u32 v);
/* number of redirection entries (pins) */
unsigned int ioapic_pins(void);
/* route pin to vector on apic_id, fixed delivery; flags: IOAPIC_LEVEL etc. */
void ioapic_route(unsigned int pin, u8 vector, u32 apic_id, u32 flags);
void ioapic_mask(unsigned int pin);

#endif
