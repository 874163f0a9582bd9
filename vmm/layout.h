/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_LAYOUT_H
#define DPVM_LAYOUT_H

/*
 * Guest physical address map (x86).
 *
 *   0x00000000  real-mode IVT, BDA          RAM
 *   0x00000500  GDT for direct boot         RAM
 *   0x00007000  zero page / multiboot info  RAM
 *   0x00009000  boot page tables (4 GiB)    RAM
 *   0x00020000  kernel command line         RAM
 *   0x0009fc00  .. 0x000fffff               reserved (EBDA, VGA hole, ROM)
 *   0x000e0000  ACPI tables (RSDP first)    reserved
 *   0x00100000  kernel, then RAM            RAM up to min(mem, 3 GiB)
 *   0xc0000000  32-bit PCI MMIO window      512 MiB
 *   0xe0000000  PCI ECAM (buses 0-255)      256 MiB
 *   0xfec00000  IOAPIC
 *   0xfee00000  LAPIC
 *   0x100000000 RAM above 4 GiB, then the 64-bit PCI MMIO window
 */
#define BOOT_GDT_ADDR		0x500ULL
#define BOOT_IDT_ADDR		0x520ULL
#define BOOT_PARAMS_ADDR	0x7000ULL
#define BOOT_PML4_ADDR		0x9000ULL
#define BOOT_PDPT_ADDR		0xa000ULL
#define BOOT_PD_ADDR		0xb000ULL /* 4 pages: 0xb000..0xefff */
#define BOOT_CMDLINE_ADDR	0x20000ULL
#define BOOT_CMDLINE_MAX	0x10000ULL
#define EBDA_START		0x9fc00ULL
#define ACPI_TABLES_ADDR	0xe0000ULL
#define ACPI_TABLES_SIZE	0x20000ULL
#define HIGH_MEMORY_START	0x100000ULL
#define KERNEL_LOAD_ADDR	0x100000ULL

#define MMIO32_START		0xc0000000ULL
#define MMIO32_SIZE		0x20000000ULL
#define PCI_ECAM_BASE		0xe0000000ULL
#define PCI_ECAM_SIZE		0x10000000ULL
/* dpvm's PCI is one bus, without bridges: the ACPI bus range and MCFG end
 * here, so that Linux does not probe 255 empty buses port by port */
#define PCI_LAST_BUS		0
#define FRAMEBUFFER_ADDR	0xfd000000ULL /* the display's linear framebuffer, up to 16 MiB (devices/display.c) */
#define IOAPIC_ADDR		0xfec00000ULL
#define LAPIC_ADDR		0xfee00000ULL
#define LOW_RAM_END		MMIO32_START
#define HIGH_RAM_START		0x100000000ULL

/* 64-bit MMIO window: above RAM, 1 GiB aligned, at most this large */
#define MMIO64_ALIGN		(1ULL << 30)
#define MMIO64_MAX_SIZE		(64ULL << 30)

/* PCI INTx lines are routed to IOAPIC pins 16..23 (see the DSDT's _PRT) */
#define PCI_INTX_GSI_BASE	16
#define PCI_INTX_GSI_COUNT	8
#define IOAPIC_NR_PINS		24

/* legacy ISA interrupts */
#define IRQ_I8042_KBD		1
#define IRQ_COM1		4
#define IRQ_ACPI_SCI		9
#define IRQ_RTC			8
#define IRQ_I8042_AUX		12

/* fixed I/O ports */
#define PORT_I8042_DATA		0x60
#define PORT_I8042_CMD		0x64
#define PORT_COM1		0x3f8
#define PORT_RTC		0x70  /* index; 0x71 is data */
#define PORT_PVPANIC		0x505
#define PORT_ACPI_BASE		0x600 /* the ACPI fixed hardware, 0x600-0x613 */
#define PORT_ACPI_PM1_EVT	0x600 /* 4 bytes: PM1a status, enable */
#define PORT_ACPI_PM1_CNT	0x604 /* 2 bytes */
#define PORT_ACPI_PM_TMR	0x608 /* 4 bytes: 32-bit PM timer, 3.579545 MHz */
#define PORT_ACPI_RESET		0x60c /* 1 byte; FADT RESET_REG */
#define PORT_ACPI_GPE0		0x610 /* 4 bytes: GPE0 status, enable */
#define PORT_ACPI_SIZE		0x14
#define ACPI_RESET_VALUE	0x0e
#define ACPI_S5_SLP_TYP		5     /* \_S5 in the DSDT, SLP_TYP in PM1_CNT */
#define ACPI_PM_TIMER_HZ	3579545ULL
#define PORT_PCI_CONFIG_ADDR	0xcf8
#define PORT_PCI_CONFIG_DATA	0xcfc
#define PCI_IO_WINDOW_START	0xc000
#define PCI_IO_WINDOW_SIZE	0x4000

#endif
