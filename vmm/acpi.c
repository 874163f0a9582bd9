// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI tables for the guest (ACPI 6.3 layouts), written at every boot and
 * guest reset into the reserved area at ACPI_TABLES_ADDR:
 *
 *   +0x00  RSDP (revision 2, 16-byte aligned: Linux also finds it by scanning)
 *   +0x40  FACS (64-byte aligned)
 *          XSDT -> FADT, MADT, MCFG
 *          FADT -> FACS, DSDT
 *          MADT, MCFG, DSDT
 *
 * The FADT describes the fixed hardware that devices/acpi-pm.c emulates;
 * the DSDT (built with vmm/aml.c) the PCI host bridge of devices/pci.c, the
 * legacy devices, pvpanic and the processors.  See docs/acpi.md.
 */
#include "vmm/acpi.h"
#include "vmm/aml.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ACPI_OEM_ID		"DPVM  "
#define ACPI_OEM_TABLE_ID	"DPVMACPI"
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"DPVM"
#define ACPI_CREATOR_REVISION	1

/* xAPIC ids and ACPI processor UIDs are 8 bits; 0xff means "all" */
#define ACPI_MAX_CPUS		255


struct acpi_rsdp {
	char signature[8];
	u8 checksum;			/* of the first 20 bytes */
	char oem_id[6];
	u8 revision;
	u32 rsdt_address;
	u32 length;
	u64 xsdt_address;
	u8 ext_checksum;		/* of all 36 bytes */
	u8 reserved[3];
} __packed;

struct acpi_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	char creator_id[4];
	u32 creator_revision;
} __packed;

/* Generic Address Structure */
struct acpi_gas {
	u8 space_id;
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;
	u64 address;
} __packed;

#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2
#define GAS_ACCESS_DWORD	3

struct acpi_fadt {
	struct acpi_header h;
	u32 firmware_ctrl;
	u32 dsdt;
	u8 reserved0;
	u8 preferred_pm_profile;
	u16 sci_int;
	u32 smi_cmd;
	u8 acpi_enable;
	u8 acpi_disable;
	u8 s4bios_req;
	u8 pstate_cnt;
	u32 pm1a_evt_blk;
	u32 pm1b_evt_blk;
	u32 pm1a_cnt_blk;
	u32 pm1b_cnt_blk;
	u32 pm2_cnt_blk;
	u32 pm_tmr_blk;
	u32 gpe0_blk;
	u32 gpe1_blk;
	u8 pm1_evt_len;
	u8 pm1_cnt_len;
	u8 pm2_cnt_len;
	u8 pm_tmr_len;
	u8 gpe0_blk_len;
	u8 gpe1_blk_len;
	u8 gpe1_base;
	u8 cst_cnt;
	u16 p_lvl2_lat;
	u16 p_lvl3_lat;
	u16 flush_size;
	u16 flush_stride;
	u8 duty_offset;
	u8 duty_width;
	u8 day_alrm;
	u8 mon_alrm;
	u8 century;
	u16 iapc_boot_arch;
	u8 reserved1;
	u32 flags;
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 minor_version;
	u64 x_firmware_ctrl;
	u64 x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control;
	struct acpi_gas sleep_status;
	char hypervisor_vendor[8];
} __packed;

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_header) == 36, "table header layout");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_gpe0_blk) == 220, "FADT layout");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout (ACPI 6.x)");

/* FADT revision 6 (length 276) is ACPI 6.0 and later; minor 3: ACPI 6.3 */
#define FADT_REVISION		6
#define FADT_MINOR_REVISION	3

/* FADT flags */
#define FADT_F_WBINVD		(1 << 0)
#define FADT_F_PROC_C1		(1 << 2)
#define FADT_F_PWR_BUTTON	(1 << 4)	/* set: no fixed power button */
#define FADT_F_SLP_BUTTON	(1 << 5)	/* set: no fixed sleep button */
#define FADT_F_FIX_RTC		(1 << 6)	/* set: no RTC_STS in PM1 */
#define FADT_F_TMR_VAL_EXT	(1 << 8)	/* 32-bit PM timer */
#define FADT_F_RESET_REG_SUP	(1 << 10)

/* IA-PC boot architecture flags */
#define IAPC_LEGACY_DEVICES	(1 << 0)
#define IAPC_8042		(1 << 1)
#define IAPC_VGA_NOT_PRESENT	(1 << 2)
#define IAPC_PCIE_ASPM_CONTROLS	(1 << 4)	/* the OS must not enable ASPM */
#define IAPC_CMOS_RTC_NOT_PRESENT (1 << 5)

#define RTC_CENTURY_INDEX	0x32
/* latencies above 100 / 1000 us say C2 / C3 are not supported */
#define FADT_NO_C2_LATENCY	101
#define FADT_NO_C3_LATENCY	1001

struct acpi_facs {
	char signature[4];
	u32 length;
	u32 hardware_signature;
	u32 waking_vector;
	u32 global_lock;
	u32 flags;
	u64 x_waking_vector;
	u8 version;
	u8 reserved[3];
	u32 ospm_flags;
	u8 reserved2[24];
} __packed;

_Static_assert(sizeof(struct acpi_facs) == 64, "FACS layout");
#define FACS_VERSION		2

struct acpi_madt {
	struct acpi_header h;
	u32 lapic_addr;
	u32 flags;
} __packed;

#define MADT_REVISION		5	/* ACPI 6.3 */
#define MADT_PCAT_COMPAT	(1 << 0)

enum {
	MADT_LAPIC		= 0,
	MADT_IOAPIC		= 1,
	MADT_INT_SRC_OVERRIDE	= 2,
	MADT_LAPIC_NMI		= 4,
};

struct madt_lapic {
	u8 type, length;
	u8 uid;
	u8 apic_id;
	u32 flags;
} __packed;

#define MADT_LAPIC_ENABLED	(1 << 0)

struct madt_ioapic {
	u8 type, length;
	u8 id;
	u8 reserved;
	u32 address;
	u32 gsi_base;
} __packed;

struct madt_int_src_override {
	u8 type, length;
	u8 bus;			/* 0: ISA */
	u8 source;
	u32 gsi;
	u16 flags;
} __packed;

#define MPS_POLARITY_HIGH	1
#define MPS_TRIGGER_LEVEL	(3 << 2)

struct madt_lapic_nmi {
	u8 type, length;
	u8 uid;			/* 0xff: all processors */
	u16 flags;
	u8 lint;
} __packed;

_Static_assert(sizeof(struct madt_lapic) == 8, "MADT layout");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT layout");
_Static_assert(sizeof(struct madt_int_src_override) == 10, "MADT layout");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT layout");

struct acpi_mcfg {
	struct acpi_header h;
	u8 reserved[8];
	u64 base;
	u16 segment;
	u8 start_bus;
	u8 end_bus;
	u32 reserved2;
} __packed;

_Static_assert(sizeof(struct acpi_mcfg) == 60, "MCFG layout");

/* PCI Firmware Specification 3.x: _OSC of a PCI host bridge */
#define PCI_HOST_OSC_UUID	"33DB4D5B-1FF7-401C-9657-7441C03DD766"
#define OSC_UNRECOGNIZED_UUID	(1 << 2)
#define OSC_UNRECOGNIZED_REV	(1 << 3)

u8 acpi__checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return (u8)-sum;
}

unsigned int acpi__pci_intx_gsi(unsigned int slot, unsigned int pin)
{
	return PCI_INTX_GSI_BASE + (slot + pin) % PCI_INTX_GSI_COUNT;
}

static void header(struct acpi_header *h, const char *sig, u32 len, u8 rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* after the whole table is written */
static void seal(void *table)
{
	struct acpi_header *h = table;

	h->checksum = 0;
	h->checksum = acpi__checksum(table, h->length);
}

static struct acpi_gas gas_io(u8 bits, u8 access, u16 port)
{
	return (struct acpi_gas){
		.space_id = GAS_SYSTEM_IO, .bit_width = bits, .access_size = access,
		.address = port,
	};
}

/* ---- DSDT ---- */

static void dsdt_pci_host(struct aml *a, const struct acpi_layout *l)
{
	aml__device(a, "PCI0");
	aml__name(a, "_HID");
	aml__eisaid(a, "PNP0A08");		/* PCI Express root bridge */
	aml__name(a, "_CID");
	aml__eisaid(a, "PNP0A03");		/* PCI root bridge */
	aml__name(a, "_UID");
	aml__int(a, 0);
	aml__name(a, "_SEG");
	aml__int(a, 0);
	aml__name(a, "_BBN");
	aml__int(a, 0);

	/* the windows the bridge decodes, and the config ports it uses */
	aml__name(a, "_CRS");
	aml__resources(a);
	aml__res_word_bus(a, true, 0, l->ecam_end_bus);
	aml__res_io(a, PORT_PCI_CONFIG_ADDR, 8);
	aml__res_word_io(a, true, 0, PORT_PCI_CONFIG_ADDR - 1);
	aml__res_word_io(a, true, PORT_PCI_CONFIG_ADDR + 8, 0xffff);
	aml__res_dword_mem(a, true, AML_MEM_CACHEABLE, true, l->mmio32_base,
			   l->mmio32_base + l->mmio32_size - 1);
	if (l->mmio64_size)
		aml__res_qword_mem(a, true, AML_MEM_CACHEABLE, true, l->mmio64_base,
				   l->mmio64_base + l->mmio64_size - 1);
	aml__end(a);

	/* INTx: every slot's INTA..INTD to an IOAPIC pin (no link devices) */
	aml__name(a, "_PRT");
	aml__package(a);
	for (unsigned int slot = 0; slot < 32; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			aml__package(a);
			aml__int(a, (slot << 16) | 0xffff);	/* any function */
			aml__int(a, pin);
			aml__int(a, 0);				/* a GSI, not a link */
			aml__int(a, acpi__pci_intx_gsi(slot, pin));
			aml__end(a);
		}
	}
	aml__end(a);

	/*
	 * _OSC: grant whatever the OS asks (native hotplug, AER, PME, the PCIe
	 * capability...): returning its capabilities buffer unchanged says so.
	 *
	 *	CreateDWordField (Arg3, 0, CDW1)
	 *	If (Arg0 == ToUUID (PCI_HOST_OSC_UUID)) {
	 *		If (Arg1 != 1) { CDW1 |= OSC_UNRECOGNIZED_REV }
	 *	} Else { CDW1 |= OSC_UNRECOGNIZED_UUID }
	 *	Return (Arg3)
	 */
	aml__method(a, "_OSC", 4, true);
	aml__create_dword_field(a, 3, 0, "CDW1");
	aml__if(a);
	aml__lequal(a);
	aml__arg(a, 0);
	aml__uuid(a, PCI_HOST_OSC_UUID);
	aml__if(a);
	aml__lnot(a);
	aml__lequal(a);
	aml__arg(a, 1);
	aml__int(a, 1);
	aml__or(a);
	aml__path(a, "CDW1");
	aml__int(a, OSC_UNRECOGNIZED_REV);
	aml__path(a, "CDW1");
	aml__end(a);
	aml__end(a);
	aml__else(a);
	aml__or(a);
	aml__path(a, "CDW1");
	aml__int(a, OSC_UNRECOGNIZED_UUID);
	aml__path(a, "CDW1");
	aml__end(a);
	aml__return(a);
	aml__arg(a, 3);
	aml__end(a);	/* _OSC */

	aml__end(a);	/* PCI0 */
}

static void dsdt_devices(struct aml *a, const struct acpi_layout *l)
{
	char name[16];

	aml__device(a, "COM1");
	aml__name(a, "_HID");
	aml__eisaid(a, "PNP0501");		/* 16550A-compatible UART */
	aml__name(a, "_UID");
	aml__int(a, 1);
	aml__name(a, "_CRS");
	aml__resources(a);
	aml__res_io(a, PORT_COM1, 8);
	aml__res_irq_noflags(a, IRQ_COM1);
	aml__end(a);
	aml__end(a);

	if (l->has_rtc) {
		aml__device(a, "RTC");
		aml__name(a, "_HID");
		aml__eisaid(a, "PNP0B00");	/* AT real-time clock */
		aml__name(a, "_CRS");
		aml__resources(a);
		aml__res_io(a, PORT_RTC, 2);
		aml__res_irq_noflags(a, IRQ_RTC);
		aml__end(a);
		aml__end(a);
	}

	if (l->has_i8042) {
		aml__device(a, "KBD");
		aml__name(a, "_HID");
		aml__eisaid(a, "PNP0303");	/* IBM enhanced keyboard (8042) */
		aml__name(a, "_CRS");
		aml__resources(a);
		aml__res_io(a, PORT_I8042_DATA, 1);
		aml__res_io(a, PORT_I8042_CMD, 1);
		aml__res_irq_noflags(a, IRQ_I8042_KBD);
		aml__end(a);
		aml__end(a);
		/* the PS/2 mouse on the 8042's aux port: without it Linux takes the
		 * aux port for disabled and never probes the mouse */
		aml__device(a, "PS2M");
		aml__name(a, "_HID");
		aml__eisaid(a, "PNP0F13");	/* PS/2 mouse */
		aml__name(a, "_CRS");
		aml__resources(a);
		aml__res_irq_noflags(a, IRQ_I8042_AUX);
		aml__end(a);
		aml__end(a);
	}

	if (l->has_pvpanic) {
		aml__device(a, "PEVT");
		aml__name(a, "_HID");
		aml__string(a, "QEMU0001");	/* pvpanic */
		aml__name(a, "_CRS");
		aml__resources(a);
		aml__res_io(a, PORT_PVPANIC, 1);
		aml__end(a);
		aml__name(a, "_STA");
		aml__int(a, 0x0f);		/* present, enabled, shown, working */
		aml__end(a);
	}

	/* motherboard resources: Linux reserves them and checks that the
	 * MCFG's ECAM range is among them */
	aml__device(a, "MRES");
	aml__name(a, "_HID");
	aml__eisaid(a, "PNP0C02");
	aml__name(a, "_CRS");
	aml__resources(a);
	{
		u64 ecam_size = ((u64)l->ecam_end_bus + 1) << 20;

		if (l->ecam_base + ecam_size <= 0x100000000ULL)
			aml__res_mem32_fixed(a, true, l->ecam_base, ecam_size);
		else
			aml__res_qword_mem(a, false, AML_MEM_NONCACHEABLE, true, l->ecam_base,
					   l->ecam_base + ecam_size - 1);
	}
	aml__res_io(a, PORT_ACPI_BASE, PORT_ACPI_SIZE);
	aml__end(a);
	aml__end(a);

	/* processors: _UID is the MADT's ACPI processor UID */
	for (unsigned int i = 0; i < l->nr_cpus; i++) {
		snprintf(name, sizeof(name), "C%03X", i);
		aml__device(a, name);
		aml__name(a, "_HID");
		aml__string(a, "ACPI0007");
		aml__name(a, "_UID");
		aml__int(a, i);
		aml__end(a);
	}
}

static int build_dsdt_aml(struct aml *a, const struct acpi_layout *l)
{
	/* \_S5: SLP_TYP for PM1a and PM1b control, two reserved */
	aml__name(a, "_S5");
	aml__package(a);
	aml__int(a, ACPI_S5_SLP_TYP);
	aml__int(a, ACPI_S5_SLP_TYP);
	aml__int(a, 0);
	aml__int(a, 0);
	aml__end(a);

	aml__scope(a, "\\_SB");
	dsdt_pci_host(a, l);
	dsdt_devices(a, l);
	aml__end(a);
	return aml__finish(a);
}

/* ---- the fixed tables ---- */

static void build_fadt(struct acpi_fadt *f, const struct acpi_layout *l, u64 facs, u64 dsdt)
{
	header(&f->h, "FACP", sizeof(*f), FADT_REVISION);
	f->minor_version = FADT_MINOR_REVISION;
	/* FACS below 4 GiB: only FIRMWARE_CTRL (the spec wants X_ zero then) */
	f->firmware_ctrl = facs;
	f->dsdt = dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = IRQ_ACPI_SCI;
	f->smi_cmd = 0;		/* no SMM: the hardware is always in ACPI mode */

	f->pm1a_evt_blk = PORT_ACPI_PM1_EVT;
	f->pm1_evt_len = 4;
	f->pm1a_cnt_blk = PORT_ACPI_PM1_CNT;
	f->pm1_cnt_len = 2;
	f->pm_tmr_blk = PORT_ACPI_PM_TMR;
	f->pm_tmr_len = 4;
	f->gpe0_blk = PORT_ACPI_GPE0;
	f->gpe0_blk_len = 4;
	f->x_pm1a_evt_blk = gas_io(32, GAS_ACCESS_WORD, PORT_ACPI_PM1_EVT);
	f->x_pm1a_cnt_blk = gas_io(16, GAS_ACCESS_WORD, PORT_ACPI_PM1_CNT);
	f->x_pm_tmr_blk = gas_io(32, GAS_ACCESS_DWORD, PORT_ACPI_PM_TMR);
	f->x_gpe0_blk = gas_io(32, GAS_ACCESS_BYTE, PORT_ACPI_GPE0);

	f->p_lvl2_lat = FADT_NO_C2_LATENCY;
	f->p_lvl3_lat = FADT_NO_C3_LATENCY;
	f->century = l->has_rtc ? RTC_CENTURY_INDEX : 0;
	f->iapc_boot_arch = IAPC_LEGACY_DEVICES | IAPC_VGA_NOT_PRESENT | IAPC_PCIE_ASPM_CONTROLS |
			    (l->has_i8042 ? IAPC_8042 : 0) |
			    (l->has_rtc ? 0 : IAPC_CMOS_RTC_NOT_PRESENT);
	/* PWR_BUTTON clear: the fixed power button of PM1 */
	f->flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_FIX_RTC |
		   FADT_F_TMR_VAL_EXT | FADT_F_RESET_REG_SUP;
	f->reset_reg = gas_io(8, GAS_ACCESS_BYTE, PORT_ACPI_RESET);
	f->reset_value = ACPI_RESET_VALUE;
	memcpy(f->hypervisor_vendor, "DPVM", 4);
	seal(f);
}

static size_t madt_size(const struct acpi_layout *l)
{
	return sizeof(struct acpi_madt) + l->nr_cpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + sizeof(struct madt_int_src_override) +
	       sizeof(struct madt_lapic_nmi);
}

static void build_madt(u8 *p, const struct acpi_layout *l)
{
	struct acpi_madt *m = (struct acpi_madt *)p;
	struct madt_ioapic io = {
		.type = MADT_IOAPIC, .length = sizeof(io), .id = 0,
		.address = IOAPIC_ADDR, .gsi_base = 0,
	};
	/* the SCI, level-triggered as ACPI requires; KVM's IOAPIC does not
	 * model polarity, and the PM device raises the line while active */
	struct madt_int_src_override sci = {
		.type = MADT_INT_SRC_OVERRIDE, .length = sizeof(sci), .bus = 0,
		.source = IRQ_ACPI_SCI, .gsi = IRQ_ACPI_SCI,
		.flags = MPS_POLARITY_HIGH | MPS_TRIGGER_LEVEL,
	};
	struct madt_lapic_nmi nmi = {
		.type = MADT_LAPIC_NMI, .length = sizeof(nmi), .uid = 0xff, .flags = 0,
		.lint = 1,
	};
	size_t off = sizeof(*m);

	header(&m->h, "APIC", madt_size(l), MADT_REVISION);
	m->lapic_addr = LAPIC_ADDR;
	m->flags = MADT_PCAT_COMPAT;
	for (unsigned int i = 0; i < l->nr_cpus; i++) {
		struct madt_lapic e = {
			.type = MADT_LAPIC, .length = sizeof(e), .uid = i, .apic_id = i,
			.flags = MADT_LAPIC_ENABLED,
		};

		memcpy(p + off, &e, sizeof(e));
		off += sizeof(e);
	}
	memcpy(p + off, &io, sizeof(io));
	off += sizeof(io);
	/* no override for IRQ 0: the PIT's GSI 0 is IOAPIC pin 0 (vmm/irq.c) */
	memcpy(p + off, &sci, sizeof(sci));
	off += sizeof(sci);
	memcpy(p + off, &nmi, sizeof(nmi));
	seal(m);
}

static void build_mcfg(struct acpi_mcfg *m, const struct acpi_layout *l)
{
	header(&m->h, "MCFG", sizeof(*m), 1);
	m->base = l->ecam_base;
	m->segment = 0;
	m->start_bus = 0;
	m->end_bus = l->ecam_end_bus;
	seal(m);
}

static int check_layout(const struct acpi_layout *l, u64 gpa)
{
	if (l->nr_cpus == 0 || l->nr_cpus > ACPI_MAX_CPUS) {
		pr_err("ACPI tables: %u vCPUs cannot be described: MADT xAPIC entries allow 1 to %u",
		       l->nr_cpus, ACPI_MAX_CPUS);
		return -EINVAL;
	}
	if (!l->mmio32_size || l->mmio32_base + l->mmio32_size > 0x100000000ULL) {
		pr_err("ACPI tables: 32-bit PCI window 0x%llx+0x%llx is empty or crosses 4 GiB",
		       (unsigned long long)l->mmio32_base, (unsigned long long)l->mmio32_size);
		return -EINVAL;
	}
	if (l->mmio64_size && l->mmio64_base + l->mmio64_size - 1 < l->mmio64_base) {
		pr_err("ACPI tables: 64-bit PCI window 0x%llx+0x%llx wraps around",
		       (unsigned long long)l->mmio64_base, (unsigned long long)l->mmio64_size);
		return -EINVAL;
	}
	if (!IS_ALIGNED(l->ecam_base, MIB) ||
	    l->ecam_base + (((u64)l->ecam_end_bus + 1) << 20) < l->ecam_base) {
		pr_err("ACPI tables: ECAM base 0x%llx is not 1 MiB aligned or its buses wrap",
		       (unsigned long long)l->ecam_base);
		return -EINVAL;
	}
	if (!IS_ALIGNED(gpa, 64)) {
		pr_err("ACPI tables: area 0x%llx is not 64-byte aligned (the FACS must be)",
		       (unsigned long long)gpa);
		return -EINVAL;
	}
	return 0;
}

long acpi__build(const struct acpi_layout *l, u8 *buf, u64 gpa, size_t size, u64 *rsdp)
{
	size_t off_facs, off_xsdt, off_fadt, off_madt, off_mcfg, off_dsdt, end;
	struct acpi_rsdp *r;
	struct acpi_header *x, *d;
	struct acpi_facs *facs;
	struct aml a;
	u64 entries[3];
	int ret;

	ret = check_layout(l, gpa);
	if (ret)
		return ret;
	aml__init(&a);
	ret = build_dsdt_aml(&a, l);
	if (ret) {
		pr_err("ACPI tables: building the DSDT failed: %s; this is a dpvm bug",
		       strerror(-ret));
		goto out;
	}

	off_facs = ALIGN_UP(sizeof(struct acpi_rsdp), 64);
	off_xsdt = ALIGN_UP(off_facs + sizeof(struct acpi_facs), 16);
	off_fadt = ALIGN_UP(off_xsdt + sizeof(struct acpi_header) + sizeof(entries), 16);
	off_madt = ALIGN_UP(off_fadt + sizeof(struct acpi_fadt), 16);
	off_mcfg = ALIGN_UP(off_madt + madt_size(l), 16);
	off_dsdt = ALIGN_UP(off_mcfg + sizeof(struct acpi_mcfg), 16);
	end = off_dsdt + sizeof(struct acpi_header) + a.len;
	if (end > size) {
		pr_err("ACPI tables: %u vCPUs need %zu bytes of tables but the area at 0x%llx holds %zu; "
		       "give fewer vCPUs (or enlarge ACPI_TABLES_SIZE in vmm/layout.h)",
		       l->nr_cpus, end, (unsigned long long)gpa, size);
		ret = -ENOSPC;
		goto out;
	}
	if (gpa + end > 0x100000000ULL) {
		pr_err("ACPI tables: %zu bytes at 0x%llx would end above 4 GiB; the FADT's 32-bit pointers need them below",
		       end, (unsigned long long)gpa);
		ret = -EINVAL;
		goto out;
	}
	memset(buf, 0, size);

	facs = (struct acpi_facs *)(buf + off_facs);
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = FACS_VERSION;

	build_fadt((struct acpi_fadt *)(buf + off_fadt), l, gpa + off_facs, gpa + off_dsdt);
	build_madt(buf + off_madt, l);
	build_mcfg((struct acpi_mcfg *)(buf + off_mcfg), l);

	d = (struct acpi_header *)(buf + off_dsdt);
	header(d, "DSDT", sizeof(*d) + a.len, 2);	/* revision 2: 64-bit integers */
	memcpy(d + 1, a.data, a.len);
	seal(d);

	x = (struct acpi_header *)(buf + off_xsdt);
	header(x, "XSDT", sizeof(*x) + sizeof(entries), 1);
	entries[0] = gpa + off_fadt;
	entries[1] = gpa + off_madt;
	entries[2] = gpa + off_mcfg;
	memcpy(x + 1, entries, sizeof(entries));
	seal(x);

	r = (struct acpi_rsdp *)buf;
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, ACPI_OEM_ID, 6);
	r->revision = 2;
	r->rsdt_address = 0;	/* XSDT only */
	r->length = sizeof(*r);
	r->xsdt_address = gpa + off_xsdt;
	r->checksum = acpi__checksum(r, 20);
	r->ext_checksum = acpi__checksum(r, sizeof(*r));

	*rsdp = gpa;
	ret = 0;
out:
	aml__free(&a);
	return ret ? ret : (long)end;
}

/* whether an emulated device claims this port */
static bool pio_claimed(struct vm *vm, u64 port)
{
	struct trap t;

	return bus__find(&vm->pio, port, &t);
}

int acpi__setup(struct vm *vm, u64 *rsdp)
{
	/* the devices that exist are the ones the tables describe */
	struct acpi_layout l = {
		.nr_cpus = vm->nr_vcpus,
		.mmio32_base = MMIO32_START,
		.mmio32_size = MMIO32_SIZE,
		.mmio64_base = vm->mem.mmio64_base,
		.mmio64_size = vm->mem.mmio64_size,
		.ecam_base = PCI_ECAM_BASE,
		.ecam_end_bus = PCI_LAST_BUS,
		.has_pvpanic = pio_claimed(vm, PORT_PVPANIC),
		.has_rtc = pio_claimed(vm, PORT_RTC),
		.has_i8042 = pio_claimed(vm, PORT_I8042_DATA) && pio_claimed(vm, PORT_I8042_CMD),
	};
	u8 *p = mem__gpa_to_hva(&vm->mem, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE);
	long n;

	if (!p) {
		pr_err("ACPI tables: guest RAM does not cover 0x%llx-0x%llx; give the VM more memory",
		       ACPI_TABLES_ADDR, ACPI_TABLES_ADDR + ACPI_TABLES_SIZE - 1);
		return -EFAULT;
	}
	n = acpi__build(&l, p, ACPI_TABLES_ADDR, ACPI_TABLES_SIZE, rsdp);
	if (n < 0)
		return n;
	pr_debug("ACPI tables: %ld bytes at 0x%llx for %u vCPUs", n, ACPI_TABLES_ADDR, l.nr_cpus);
	return 0;
}
