/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_ACPI_H
#define DPVM_ACPI_H

#include "vmm/types.h"

struct vm;

/*
 * ACPI tables (RSDP, XSDT, FADT with FACS, DSDT, MADT, MCFG) describing the
 * VM: its vCPUs, IOAPIC, PCI host bridge with its windows and INTx routing,
 * COM1, the PM registers (power button, S5, reset register) and pvpanic.
 * Written into guest RAM at ACPI_TABLES_ADDR; *rsdp gets the RSDP's address.
 */
int acpi__setup(struct vm *vm, u64 *rsdp);

/* Build the tables into buf (guest address gpa), for tests: bytes used or -errno */
struct acpi_layout {
	unsigned int nr_cpus;
	u64 mmio32_base, mmio32_size;
	u64 mmio64_base, mmio64_size;
	u64 ecam_base;
	u8 ecam_end_bus;	/* ECAM covers buses 0..ecam_end_bus */
	bool has_pvpanic;	/* QEMU0001 at PORT_PVPANIC */
	bool has_rtc;		/* MC146818 at 0x70 (else FADT says no CMOS RTC) */
	bool has_i8042;		/* keyboard controller at 0x60/0x64 */
};
long acpi__build(const struct acpi_layout *l, u8 *buf, u64 gpa, size_t size, u64 *rsdp);

/* the IOAPIC pin (GSI) of a PCI slot's INTx pin (0..3 for INTA..INTD), as the DSDT's _PRT says */
unsigned int acpi__pci_intx_gsi(unsigned int slot, unsigned int pin);

/* ACPI checksum: the byte that makes the sum of len bytes zero */
u8 acpi__checksum(const void *p, size_t len);

#endif
