// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI tables and the AML builder.  The tables are checked through the
 * spec's byte offsets (not through vmm/acpi.c's structs), so a wrong struct
 * layout fails here.
 *
 * With DPVM_ACPI_DUMP=DIR, also writes each table of a 2-vCPU VM (with a
 * 64-bit window, pvpanic, RTC and 8042) to DIR/<SIG>.dat for
 * tests/sh/acpi-iasl.sh (iasl -d, recompilation, acpiexec).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "vmm/acpi.h"
#include "vmm/aml.h"
#include "vmm/layout.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AREA_GPA	ACPI_TABLES_ADDR
#define AREA_SIZE	ACPI_TABLES_SIZE

static u16 rd16(const u8 *p) { return p[0] | p[1] << 8; }
static u32 rd32(const u8 *p) { return rd16(p) | (u32)rd16(p + 2) << 16; }
static u64 rd64(const u8 *p) { return rd32(p) | (u64)rd32(p + 4) << 32; }

static u8 sum8(const u8 *p, size_t n)
{
	u8 s = 0;

	while (n--)
		s += *p++;
	return s;
}

static struct acpi_layout layout(unsigned int cpus, bool mmio64)
{
	return (struct acpi_layout){
		.nr_cpus = cpus,
		.mmio32_base = MMIO32_START, .mmio32_size = MMIO32_SIZE,
		.mmio64_base = mmio64 ? 0x180000000ULL : 0,
		.mmio64_size = mmio64 ? 0x400000000ULL : 0,
		.ecam_base = PCI_ECAM_BASE, .ecam_end_bus = PCI_LAST_BUS,
		.has_pvpanic = true, .has_rtc = true, .has_i8042 = false,
	};
}

struct tables {
	u8 *buf;
	long len;
	u64 rsdp;
	const u8 *xsdt, *fadt, *facs, *dsdt, *madt, *mcfg;
};

/* a table at guest address gpa, entirely inside what acpi__build wrote */
static const u8 *table_at(const struct tables *t, u64 gpa, size_t min_len)
{
	u64 off;
	u32 len;

	assert_true(gpa >= AREA_GPA);
	off = gpa - AREA_GPA;
	assert_true(off + min_len <= (u64)t->len);
	len = rd32(t->buf + off + 4);
	assert_true(len >= min_len);
	assert_true(off + len <= (u64)t->len);
	return t->buf + off;
}

static void check_header(const u8 *h, const char *sig, u32 len, u8 rev)
{
	assert_memory_equal(h, sig, 4);
	if (len)
		assert_int_equal(rd32(h + 4), len);
	assert_int_equal(h[8], rev);
	assert_int_equal(sum8(h, rd32(h + 4)), 0);
	assert_memory_equal(h + 10, "DPVM  ", 6);
	assert_memory_equal(h + 16, "DPVMACPI", 8);
	assert_memory_equal(h + 28, "DPVM", 4);
}

static void build(struct tables *t, const struct acpi_layout *l)
{
	memset(t, 0, sizeof(*t));
	t->buf = malloc(AREA_SIZE);
	assert_non_null(t->buf);
	memset(t->buf, 0xa5, AREA_SIZE);	/* stale contents must not leak into the tables */
	t->len = acpi__build(l, t->buf, AREA_GPA, AREA_SIZE, &t->rsdp);
	assert_true(t->len > 0);
	assert_true(t->len <= (long)AREA_SIZE);
}

/* RSDP -> XSDT -> FADT/MADT/MCFG, FADT -> FACS/DSDT */
static void walk(struct tables *t)
{
	const u8 *r = t->buf, *fadt_seen = NULL, *madt_seen = NULL, *mcfg_seen = NULL;
	unsigned int n;

	assert_int_equal(t->rsdp, AREA_GPA);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum8(r, 20), 0);
	assert_int_equal(sum8(r, 36), 0);
	assert_memory_equal(r + 9, "DPVM  ", 6);
	assert_int_equal(r[15], 2);		/* revision */
	assert_int_equal(rd32(r + 16), 0);	/* no RSDT */
	assert_int_equal(rd32(r + 20), 36);	/* length */

	t->xsdt = table_at(t, rd64(r + 24), 36);
	check_header(t->xsdt, "XSDT", 0, 1);
	assert_int_equal((rd32(t->xsdt + 4) - 36) % 8, 0);
	n = (rd32(t->xsdt + 4) - 36) / 8;
	assert_int_equal(n, 3);
	for (unsigned int i = 0; i < n; i++) {
		const u8 *tb = table_at(t, rd64(t->xsdt + 36 + 8 * i), 36);

		if (!memcmp(tb, "FACP", 4)) {
			assert_null(fadt_seen);
			fadt_seen = tb;
		} else if (!memcmp(tb, "APIC", 4)) {
			assert_null(madt_seen);
			madt_seen = tb;
		} else if (!memcmp(tb, "MCFG", 4)) {
			assert_null(mcfg_seen);
			mcfg_seen = tb;
		} else {
			fail_msg("unexpected table %.4s in the XSDT", (const char *)tb);
		}
	}
	assert_non_null(fadt_seen);
	assert_non_null(madt_seen);
	assert_non_null(mcfg_seen);
	t->fadt = fadt_seen;
	t->madt = madt_seen;
	t->mcfg = mcfg_seen;

	/* FACS: FIRMWARE_CTRL only (below 4 GiB, X_FIRMWARE_CTRL must be 0) */
	assert_int_equal(rd64(t->fadt + 132), 0);
	assert_true(rd32(t->fadt + 36) % 64 == 0);
	t->facs = table_at(t, rd32(t->fadt + 36), 64);
	/* DSDT and X_DSDT agree */
	assert_int_equal(rd64(t->fadt + 140), rd32(t->fadt + 40));
	t->dsdt = table_at(t, rd64(t->fadt + 140), 36);
}

static void free_tables(struct tables *t)
{
	free(t->buf);
}

static void check_gas(const u8 *g, u8 space, u8 bits, u64 addr)
{
	assert_int_equal(g[0], space);
	assert_int_equal(g[1], bits);
	assert_int_equal(g[2], 0);
	assert_int_equal(rd64(g + 4), addr);
}

static void check_fadt(const struct tables *t, const struct acpi_layout *l)
{
	const u8 *f = t->fadt;
	u32 flags = rd32(f + 112);
	u16 boot = rd16(f + 109);
	/* offsets of the 32-bit block, its length byte and its X_ GAS */
	static const struct { unsigned int addr32, len, x; } blk[] = {
		{ 56, 88, 148 }, { 60, 88, 160 }, { 64, 89, 172 }, { 68, 89, 184 },
		{ 72, 90, 196 }, { 76, 91, 208 }, { 80, 92, 220 }, { 84, 93, 232 },
	};

	check_header(f, "FACP", 276, 6);
	assert_int_equal(f[131], 3);			/* minor: ACPI 6.3 */
	assert_int_equal(rd16(f + 46), IRQ_ACPI_SCI);
	assert_int_equal(rd32(f + 48), 0);		/* SMI_CMD: no SMM */
	assert_int_equal(rd32(f + 56), PORT_ACPI_PM1_EVT);
	assert_int_equal(f[88], 4);
	assert_int_equal(rd32(f + 64), PORT_ACPI_PM1_CNT);
	assert_int_equal(f[89], 2);
	assert_int_equal(rd32(f + 76), PORT_ACPI_PM_TMR);
	assert_int_equal(f[91], 4);
	assert_int_equal(rd32(f + 80), PORT_ACPI_GPE0);
	assert_int_equal(f[92], 4);
	assert_int_equal(rd32(f + 60) | rd32(f + 68) | rd32(f + 72) | rd32(f + 84), 0);
	assert_int_equal(f[90] | f[93], 0);
	/* what ACPICA checks: X_ address equal to the 32-bit one, bit width 8 * length */
	for (unsigned int i = 0; i < sizeof(blk) / sizeof(blk[0]); i++) {
		u32 a32 = rd32(f + blk[i].addr32);
		const u8 *x = f + blk[i].x;

		if (!a32) {
			assert_int_equal(rd64(x + 4), 0);
			continue;
		}
		check_gas(x, 1, f[blk[i].len] * 8, a32);
	}
	assert_int_equal(f[blk[3].len], 2);	/* PM1 control 16 bits */
	assert_memory_equal(f + 268, "DPVM\0\0\0\0", 8);

	/* flags: WBINVD, PROC_C1, SLP_BUTTON, FIX_RTC, TMR_VAL_EXT, RESET_REG_SUP */
	assert_int_equal(flags, (1 << 0) | (1 << 2) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 10));
	assert_false(flags & (1 << 4));		/* fixed power button */
	assert_false(flags & (1 << 20));	/* not hardware-reduced */
	check_gas(f + 116, 1, 8, PORT_ACPI_RESET);
	assert_int_equal(f[128], ACPI_RESET_VALUE);

	assert_true(boot & (1 << 0));		/* legacy devices */
	assert_int_equal(!!(boot & (1 << 1)), l->has_i8042);
	assert_true(boot & (1 << 2));		/* no VGA */
	assert_false(boot & (1 << 3));		/* MSI works */
	assert_true(boot & (1 << 4));		/* ASPM controls */
	assert_int_equal(!!(boot & (1 << 5)), !l->has_rtc);
	assert_int_equal(f[108], l->has_rtc ? 0x32 : 0);	/* CENTURY */

	/* FACS */
	assert_memory_equal(t->facs, "FACS", 4);
	assert_int_equal(rd32(t->facs + 4), 64);
	assert_int_equal(t->facs[32], 2);	/* version */
	assert_int_equal(rd32(t->facs + 16), 0);	/* global lock free */
}

static void check_madt(const struct tables *t, const struct acpi_layout *l)
{
	const u8 *m = t->madt;
	u32 len = rd32(m + 4), off = 44;
	unsigned int lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	check_header(m, "APIC", 44 + 8 * l->nr_cpus + 12 + 10 + 6, 5);
	assert_int_equal(rd32(m + 36), LAPIC_ADDR);
	assert_int_equal(rd32(m + 40), 1);	/* PCAT_COMPAT */
	while (off < len) {
		const u8 *e = m + off;

		assert_true(off + 2 <= len);
		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:		/* processor local APIC */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);	/* UID */
			assert_int_equal(e[3], lapics);	/* APIC id */
			assert_int_equal(rd32(e + 4), 1);	/* enabled */
			lapics++;
			break;
		case 1:		/* IOAPIC */
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 0);
			assert_int_equal(rd32(e + 4), IOAPIC_ADDR);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
			break;
		case 2:		/* interrupt source override */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);	/* ISA */
			assert_int_not_equal(e[3], 0);	/* the PIT stays on pin 0 */
			assert_int_equal(e[3], IRQ_ACPI_SCI);
			assert_int_equal(rd32(e + 4), IRQ_ACPI_SCI);
			assert_int_equal(rd16(e + 8), 0x000d);	/* active high, level */
			isos++;
			break;
		case 4:		/* local APIC NMI */
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(rd16(e + 3), 0);
			assert_int_equal(e[5], 1);	/* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, len);
	assert_int_equal(lapics, l->nr_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 1);
	assert_int_equal(nmis, 1);
}

static void check_mcfg(const struct tables *t, const struct acpi_layout *l)
{
	const u8 *m = t->mcfg;

	check_header(m, "MCFG", 60, 1);
	assert_int_equal(rd64(m + 36), 0);	/* reserved */
	assert_int_equal(rd64(m + 44), l->ecam_base);
	assert_int_equal(rd16(m + 52), 0);	/* segment */
	assert_int_equal(m[54], 0);
	assert_int_equal(m[55], l->ecam_end_bus);
}

/* ---- a tiny AML reader for the DSDT checks ---- */

/* PkgLength at p: its value; *n gets its size in bytes */
static u32 pkglen_decode(const u8 *p, unsigned int *n)
{
	unsigned int follow = p[0] >> 6;
	u32 v;

	*n = follow + 1;
	if (!follow)
		return p[0] & 0x3f;
	v = p[0] & 0x0f;
	for (unsigned int i = 0; i < follow; i++)
		v |= (u32)p[1 + i] << (4 + 8 * i);
	return v;
}

/* an integer term at p; *n gets its size */
static u64 int_decode(const u8 *p, unsigned int *n)
{
	u64 v = 0;
	unsigned int bytes;

	switch (p[0]) {
	case 0x00: *n = 1; return 0;
	case 0x01: *n = 1; return 1;
	case 0xff: *n = 1; return ~0ULL;
	case 0x0a: bytes = 1; break;
	case 0x0b: bytes = 2; break;
	case 0x0c: bytes = 4; break;
	case 0x0e: bytes = 8; break;
	default:
		fail_msg("not an integer: opcode 0x%02x", p[0]);
		return 0;
	}
	for (unsigned int i = 0; i < bytes; i++)
		v |= (u64)p[1 + i] << (8 * i);
	*n = 1 + bytes;
	return v;
}

static const u8 *find(const u8 *hay, size_t len, const void *needle, size_t n)
{
	return memmem(hay, len, needle, n);
}

static unsigned int count(const u8 *hay, size_t len, const void *needle, size_t n)
{
	unsigned int c = 0;
	const u8 *p = hay, *end = hay + len;

	while ((p = memmem(p, end - p, needle, n))) {
		c++;
		p++;
	}
	return c;
}

/* the value of Name (name, ...) in the DSDT */
static const u8 *named(const u8 *aml, size_t len, const char *seg)
{
	u8 pat[5] = { 0x08 };
	const u8 *p;

	memcpy(pat + 1, seg, 4);
	p = find(aml, len, pat, 5);
	assert_non_null(p);
	assert_int_equal(count(aml, len, pat, 5), 1);
	return p + 5;
}

static void check_prt(const u8 *p, const u8 *end)
{
	unsigned int n, k, total;
	const u8 *pkg_end;

	assert_int_equal(p[0], 0x12);		/* Package */
	total = pkglen_decode(p + 1, &n);
	pkg_end = p + 1 + total;
	assert_true(pkg_end <= end);
	p += 1 + n;
	assert_int_equal(*p++, 128);		/* 32 slots x 4 pins */
	for (unsigned int slot = 0; slot < 32; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			const u8 *e;
			u64 v;

			assert_int_equal(p[0], 0x12);
			e = p + 1 + pkglen_decode(p + 1, &n);
			p += 1 + n;
			assert_int_equal(*p++, 4);
			v = int_decode(p, &k), p += k;
			assert_int_equal(v, (slot << 16) | 0xffff);
			v = int_decode(p, &k), p += k;
			assert_int_equal(v, pin);
			v = int_decode(p, &k), p += k;
			assert_int_equal(v, 0);
			v = int_decode(p, &k), p += k;
			/* the routing devices/pci.c relies on, written out again here */
			assert_int_equal(v, 16 + (slot + pin) % 8);
			assert_int_equal(v, acpi__pci_intx_gsi(slot, pin));
			assert_ptr_equal(p, e);
		}
	}
	assert_ptr_equal(p, pkg_end);
}

static void check_dsdt(const struct tables *t, const struct acpi_layout *l)
{
	const u8 *d = t->dsdt, *aml = d + 36, *p;
	size_t len = rd32(d + 4) - 36;
	static const u8 s5[] = { 0x12, 0x08, 0x04, 0x0a, ACPI_S5_SLP_TYP, 0x0a, ACPI_S5_SLP_TYP,
				 0x00, 0x00 };
	static const u8 osc_uuid[] = { 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
				       0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66 };
	static const u8 rtc_id[] = { 0x0c, 0x41, 0xd0, 0x0b, 0x00 };	/* EisaId PNP0B00 */
	static const u8 kbd_id[] = { 0x0c, 0x41, 0xd0, 0x03, 0x03 };	/* EisaId PNP0303 */
	static const u8 mouse_id[] = { 0x0c, 0x41, 0xd0, 0x0f, 0x13 };	/* EisaId PNP0F13 */
	static const u8 irq12[] = { 0x22, 0x00, 0x10 };	/* IRQNoFlags (12) */
	u8 dword_mem[26] = { 0x87, 0x17, 0x00, 0x00, 0x0c, 0x03 };
	u8 qword_mem[46] = { 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03 };
	u8 ecam[12] = { 0x86, 0x09, 0x00, 0x01 };

	check_header(d, "DSDT", 0, 2);
	p = named(aml, len, "_S5_");
	assert_memory_equal(p, s5, sizeof(s5));
	check_prt(named(aml, len, "_PRT"), aml + len);

	/* the host bridge: PNP0A08, _OSC with the PCI host bridge UUID */
	assert_non_null(find(aml, len, "\x0c\x41\xd0\x0a\x08", 5));
	assert_non_null(find(aml, len, "_OSC", 4));
	assert_non_null(find(aml, len, osc_uuid, sizeof(osc_uuid)));

	/* 32-bit window, 64-bit window only when there is one */
	for (int i = 0; i < 4; i++) {
		dword_mem[10 + i] = l->mmio32_base >> (8 * i);
		dword_mem[14 + i] = (l->mmio32_base + l->mmio32_size - 1) >> (8 * i);
	}
	assert_non_null(find(aml, len, dword_mem, 18));
	for (int i = 0; i < 8; i++) {
		qword_mem[14 + i] = l->mmio64_base >> (8 * i);
		qword_mem[22 + i] = (l->mmio64_base + l->mmio64_size - 1) >> (8 * i);
	}
	assert_int_equal(!!find(aml, len, qword_mem, 30), l->mmio64_size != 0);
	assert_int_equal(count(aml, len, "\x8a\x2b\x00\x00", 4), l->mmio64_size != 0);

	/* the ECAM range as a motherboard resource, the ACPI I/O block too */
	for (int i = 0; i < 4; i++) {
		ecam[4 + i] = l->ecam_base >> (8 * i);
		ecam[8 + i] = (((u64)l->ecam_end_bus + 1) << 20) >> (8 * i);
	}
	assert_non_null(find(aml, len, ecam, sizeof(ecam)));
	assert_non_null(find(aml, len, "\x47\x01\x00\x06\x00\x06\x01\x14", 8));
	/* COM1 */
	assert_non_null(find(aml, len, "\x47\x01\xf8\x03\xf8\x03\x01\x08\x22\x10\x00", 11));

	assert_int_equal(count(aml, len, "ACPI0007", 8), l->nr_cpus);
	assert_int_equal(!!find(aml, len, "QEMU0001", 8), l->has_pvpanic);
	assert_int_equal(!!find(aml, len, rtc_id, sizeof(rtc_id)), l->has_rtc);
	assert_int_equal(!!find(aml, len, kbd_id, sizeof(kbd_id)), l->has_i8042);
	/* with the keyboard, the PS/2 mouse on the aux port (IRQ 12) */
	assert_int_equal(!!find(aml, len, mouse_id, sizeof(mouse_id)), l->has_i8042);
	assert_int_equal(!!find(aml, len, irq12, sizeof(irq12)), l->has_i8042);
	assert_int_equal(!!find(aml, len, "\x47\x01\x64\x00\x64\x00\x01\x01", 8), l->has_i8042);
}

static void check_all(unsigned int cpus, bool mmio64)
{
	struct acpi_layout l = layout(cpus, mmio64);
	struct tables t;

	build(&t, &l);
	walk(&t);
	check_fadt(&t, &l);
	check_madt(&t, &l);
	check_mcfg(&t, &l);
	check_dsdt(&t, &l);
	free_tables(&t);
}

static void test_tables_1cpu(void **state) { (void)state; check_all(1, false); check_all(1, true); }
static void test_tables_2cpu(void **state) { (void)state; check_all(2, false); check_all(2, true); }
static void test_tables_64cpu(void **state) { (void)state; check_all(64, false); check_all(64, true); }
static void test_tables_255cpu(void **state) { (void)state; check_all(255, true); }

static void test_variants(void **state)
{
	struct acpi_layout l = layout(4, true);
	struct tables t;

	(void)state;
	l.has_rtc = false;
	l.has_pvpanic = false;
	l.has_i8042 = true;
	build(&t, &l);
	walk(&t);
	check_fadt(&t, &l);
	check_dsdt(&t, &l);
	free_tables(&t);
}

static void test_bad_layouts(void **state)
{
	struct acpi_layout l = layout(0, false);
	u8 *buf = malloc(AREA_SIZE);
	u64 rsdp = 0;

	(void)state;
	assert_int_equal(acpi__build(&l, buf, AREA_GPA, AREA_SIZE, &rsdp), -EINVAL);
	l.nr_cpus = 256;
	assert_int_equal(acpi__build(&l, buf, AREA_GPA, AREA_SIZE, &rsdp), -EINVAL);
	l = layout(2, false);
	l.mmio32_size = 0;
	assert_int_equal(acpi__build(&l, buf, AREA_GPA, AREA_SIZE, &rsdp), -EINVAL);
	l = layout(2, false);
	l.mmio32_base = 0xf0000000ULL;
	assert_int_equal(acpi__build(&l, buf, AREA_GPA, AREA_SIZE, &rsdp), -EINVAL);
	l = layout(2, true);
	l.mmio64_base = ~0ULL - 0x1000;
	assert_int_equal(acpi__build(&l, buf, AREA_GPA, AREA_SIZE, &rsdp), -EINVAL);
	l = layout(2, false);
	assert_int_equal(acpi__build(&l, buf, AREA_GPA + 8, AREA_SIZE, &rsdp), -EINVAL);
	/* the FADT's 32-bit pointers need the tables below 4 GiB */
	assert_int_equal(acpi__build(&l, buf, 0xffffff00ULL, AREA_SIZE, &rsdp), -EINVAL);
	assert_int_equal(rsdp, 0);
	free(buf);
}

/* the exact size fits, one byte less does not */
static void test_no_space(void **state)
{
	struct acpi_layout l = layout(200, true);
	u8 *buf = malloc(AREA_SIZE);
	u64 rsdp = 0;
	long need;

	(void)state;
	need = acpi__build(&l, buf, AREA_GPA, AREA_SIZE, &rsdp);
	assert_true(need > 0);
	rsdp = 0;
	assert_int_equal(acpi__build(&l, buf, AREA_GPA, need - 1, &rsdp), -ENOSPC);
	assert_int_equal(rsdp, 0);
	assert_int_equal(acpi__build(&l, buf, AREA_GPA, need, &rsdp), need);
	assert_int_equal(rsdp, AREA_GPA);
	assert_int_equal(acpi__build(&l, buf, AREA_GPA, 512, &rsdp), -ENOSPC);
	free(buf);
}

static void dummy_read(void *dev, u64 off, void *data, u32 len)
{
	(void)dev; (void)off;
	memset(data, 0, len);
}

static void dummy_write(void *dev, u64 off, const void *data, u32 len)
{
	(void)dev; (void)off; (void)data; (void)len;
}

static const struct trap_ops dummy_ops = { .read = dummy_read, .write = dummy_write };

/* the tables acpi__setup wrote, walked from the RSDP */
static void setup_tables(struct vm *vm, u8 *hva, struct tables *t)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(acpi__setup(vm, &t->rsdp), 0);
	t->buf = hva + ACPI_TABLES_ADDR;
	t->len = ACPI_TABLES_SIZE;
	walk(t);
}

/* acpi__setup writes into guest RAM through the memory map, and describes
 * the legacy devices that claim their ports */
static void test_setup(void **state)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	size_t ram = 2 * MIB;
	u8 *hva = calloc(1, ram);
	struct acpi_layout l = layout(3, true);
	struct tables t;
	int dev;
	u64 rsdp = 0;

	(void)state;
	bus__init(&vm->pio, "pio");
	vm->nr_vcpus = 3;
	vm->mem.nr_regions = 1;
	vm->mem.regions[0] = (struct mem_region){ .gpa = 0, .size = ram, .hva = hva };
	vm->mem.mmio64_base = l.mmio64_base;
	vm->mem.mmio64_size = l.mmio64_size;

	/* no legacy devices but COM1 */
	memset(hva, 0xa5, ram);
	setup_tables(vm, hva, &t);
	assert_int_equal(t.rsdp, ACPI_TABLES_ADDR);
	l.has_pvpanic = l.has_rtc = l.has_i8042 = false;
	check_fadt(&t, &l);
	check_madt(&t, &l);
	check_mcfg(&t, &l);
	check_dsdt(&t, &l);

	/* pvpanic and the RTC */
	assert_int_equal(bus__register(&vm->pio, PORT_PVPANIC, 1, &dummy_ops, &dev, "pvpanic"), 0);
	assert_int_equal(bus__register(&vm->pio, 0x70, 2, &dummy_ops, &dev, "rtc"), 0);
	setup_tables(vm, hva, &t);
	l.has_pvpanic = l.has_rtc = true;
	check_fadt(&t, &l);
	check_dsdt(&t, &l);

	/* an 8042 needs both its ports */
	assert_int_equal(bus__register(&vm->pio, 0x60, 1, &dummy_ops, &dev, "kbd"), 0);
	setup_tables(vm, hva, &t);
	check_fadt(&t, &l);
	check_dsdt(&t, &l);
	assert_int_equal(bus__register(&vm->pio, 0x64, 1, &dummy_ops, &dev, "kbd"), 0);
	setup_tables(vm, hva, &t);
	l.has_i8042 = true;
	check_fadt(&t, &l);
	check_dsdt(&t, &l);

	/* RAM that ends inside the table area */
	vm->mem.regions[0].size = ACPI_TABLES_ADDR + 0x1000;
	assert_int_equal(acpi__setup(vm, &rsdp), -EFAULT);
	bus__exit(&vm->pio);
	free(hva);
	free(vm);
}

static void test_checksum(void **state)
{
	u8 b[5] = { 1, 2, 3, 0, 250 };

	(void)state;
	b[3] = acpi__checksum(b, sizeof(b));
	assert_int_equal(b[3], 0);		/* 1+2+3+250 = 256 */
	b[0] = 2;
	b[3] = 0;
	b[3] = acpi__checksum(b, sizeof(b));
	assert_int_equal(b[3], 0xff);
	assert_int_equal(sum8(b, sizeof(b)), 0);
}

static void test_intx_gsi(void **state)
{
	(void)state;
	for (unsigned int slot = 0; slot < 32; slot++) {
		bool seen[IOAPIC_NR_PINS] = { false };

		for (unsigned int pin = 0; pin < 4; pin++) {
			unsigned int g = acpi__pci_intx_gsi(slot, pin);

			assert_true(g >= PCI_INTX_GSI_BASE && g < IOAPIC_NR_PINS);
			assert_false(seen[g]);		/* a slot's pins are distinct */
			seen[g] = true;
		}
	}
	assert_int_equal(acpi__pci_intx_gsi(0, 0), 16);
	assert_int_equal(acpi__pci_intx_gsi(3, 2), 21);
	assert_int_equal(acpi__pci_intx_gsi(7, 3), 18);
}

/* ---- AML encoder ---- */

static void test_pkglength(void **state)
{
	static const struct { size_t body; unsigned int n; u8 b[4]; } v[] = {
		{ 0, 1, { 0x01 } },
		{ 62, 1, { 0x3f } },			/* PkgLength 63: the largest 1-byte */
		{ 63, 2, { 0x41, 0x04 } },		/* 64 does not fit: 65 in 2 bytes */
		{ 4093, 2, { 0x4f, 0xff } },		/* 4095: the largest 2-byte */
		{ 4094, 3, { 0x81, 0x00, 0x01 } },	/* 4096 does not fit: 4097 */
		{ 0xfffff - 3, 3, { 0x8f, 0xff, 0xff } },
		{ 0xfffff - 2, 4, { 0xc1, 0x00, 0x00, 0x01 } },
		{ 0xfffffff - 4, 4, { 0xcf, 0xff, 0xff, 0xff } },
	};
	u8 out[4];

	(void)state;
	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(out, 0xee, sizeof(out));
		assert_int_equal(aml__encode_pkglength(out, v[i].body), v[i].n);
		assert_memory_equal(out, v[i].b, v[i].n);
	}
	assert_int_equal(aml__encode_pkglength(out, 0xfffffff - 3), 0);

	/* around each boundary: the value decodes back, the size is minimal */
	static const size_t around[] = { 63, 64, 4095, 4096, 0xfffff, 0x100000 };
	for (unsigned int i = 0; i < sizeof(around) / sizeof(around[0]); i++) {
		for (size_t body = around[i] - 6; body <= around[i] + 2; body++) {
			unsigned int n = aml__encode_pkglength(out, body), dn;
			unsigned int want = body + 1 <= 63 ? 1 : body + 2 <= 4095 ? 2 :
					    body + 3 <= 0xfffff ? 3 : 4;

			assert_int_equal(n, want);
			assert_int_equal(pkglen_decode(out, &dn), body + n);
			assert_int_equal(dn, n);
		}
	}
}

/* a Buffer of k bytes through the builder: opcode, PkgLength, size, data */
static void test_buffer_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 58, 59, 60, 61, 62, 63, 64, 4088, 4089, 4090,
					4091, 4092, 4093, 4094, 70000 };

	(void)state;
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t k = sizes[i];
		u8 *data = malloc(k + 1);
		struct aml a;
		unsigned int n, m;
		u32 total;

		memset(data, 0x5a, k + 1);
		aml__init(&a);
		aml__buffer(&a);
		aml__bytes(&a, data, k);
		aml__end(&a);
		assert_int_equal(aml__finish(&a), 0);
		assert_int_equal(a.data[0], 0x11);
		total = pkglen_decode(a.data + 1, &n);
		assert_int_equal(total, a.len - 1);		/* covers everything after the opcode */
		assert_int_equal(int_decode(a.data + 1 + n, &m), k);
		assert_int_equal(1 + n + m + k, a.len);
		assert_memory_equal(a.data + 1 + n + m, data, k);
		aml__free(&a);
		free(data);
	}
}

static void test_integers(void **state)
{
	static const struct { u64 v; unsigned int n; u8 b[9]; } v[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 2, 2, { 0x0a, 0x02 } },
		{ 0xff, 2, { 0x0a, 0xff } },
		{ 0x100, 3, { 0x0b, 0x00, 0x01 } },
		{ 0xffff, 3, { 0x0b, 0xff, 0xff } },
		{ 0x10000, 5, { 0x0c, 0x00, 0x00, 0x01, 0x00 } },
		{ 0xffffffff, 5, { 0x0c, 0xff, 0xff, 0xff, 0xff } },
		{ 0x100000000ULL, 9, { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 } },
		{ 0x123456789abcdef0ULL, 9, { 0x0e, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12 } },
		{ ~0ULL, 1, { 0xff } },
	};
	u8 out[9];

	(void)state;
	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unsigned int n;

		assert_int_equal(aml__encode_int(out, v[i].v), v[i].n);
		assert_memory_equal(out, v[i].b, v[i].n);
		assert_int_equal(int_decode(out, &n), v[i].v);
		assert_int_equal(n, v[i].n);
	}
}

static void expect_name(const char *path, const void *bytes, int n)
{
	u8 out[64];

	assert_int_equal(aml__encode_name(out, sizeof(out), path), n);
	assert_memory_equal(out, bytes, n);
}

static void test_names(void **state)
{
	static const char *const bad[] = {
		"", "^", "TOOLONG", "1ABC", "pci0", "A.", ".A", "\\_SB..X", "A-B", "\\\\A",
	};
	u8 out[64];

	(void)state;
	expect_name("_HID", "_HID", 4);
	expect_name("_S5", "_S5_", 4);
	expect_name("RTC", "RTC_", 4);
	expect_name("\\_SB", "\\_SB_", 5);
	expect_name("\\_SB.PCI0", "\\\x2e_SB_PCI0", 10);
	expect_name("\\_SB.PCI0.COM1", "\\\x2f\x03_SB_PCI0COM1", 15);
	expect_name("^^PCI0", "^^PCI0", 6);
	expect_name("\\", "\\\x00", 2);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(aml__encode_name(out, sizeof(out), bad[i]), -EINVAL);
	assert_int_equal(aml__encode_name(out, 3, "\\_SB"), -ENOSPC);
}

static void test_eisaid(void **state)
{
	u32 v;

	(void)state;
	assert_int_equal(aml__eisaid_value("PNP0A08", &v), 0);
	assert_int_equal(v, 0x080ad041);
	assert_int_equal(aml__eisaid_value("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030ad041);
	assert_int_equal(aml__eisaid_value("PNP0501", &v), 0);
	assert_int_equal(v, 0x0105d041);
	assert_int_equal(aml__eisaid_value("PNP0C02", &v), 0);
	assert_int_equal(v, 0x020cd041);
	assert_int_equal(aml__eisaid_value("PNP0B00", &v), 0);
	assert_int_equal(v, 0x000bd041);
	assert_int_equal(aml__eisaid_value("PNP0A0", &v), -EINVAL);
	assert_int_equal(aml__eisaid_value("pnp0A08", &v), -EINVAL);
	assert_int_equal(aml__eisaid_value("PNP0A0G", &v), -EINVAL);
	assert_int_equal(aml__eisaid_value("PNP0a08", &v), -EINVAL);
}

static void test_objects(void **state)
{
	struct aml a;
	static const u8 want[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00,	/* Name (_S5, Package {5, 0}) */
		0x10, 0x1d, '\\', '_', 'S', 'B', '_',				/* Scope (\_SB) */
		0x5b, 0x82, 0x15, 'D', 'E', 'V', '0',				/* Device (DEV0) */
		0x08, '_', 'S', 'T', 'R', 0x0d, 'a', 'b', 0x00,			/* Name (_STR, "ab") */
		0x14, 0x06, 'M', 'T', 'H', '_', 0x0c,				/* Method (MTH, 4, Serialized) */
	};

	(void)state;
	aml__init(&a);
	aml__name(&a, "_S5");
	aml__package(&a);
	aml__int(&a, 5);
	aml__int(&a, 0);
	aml__end(&a);
	aml__scope(&a, "\\_SB");
	aml__device(&a, "DEV0");
	aml__name(&a, "_STR");
	aml__string(&a, "ab");
	aml__method(&a, "MTH", 4, true);
	aml__end(&a);
	aml__end(&a);
	aml__end(&a);
	assert_int_equal(aml__finish(&a), 0);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.data, want, sizeof(want));
	aml__free(&a);
}

static void test_if_else_uuid(void **state)
{
	struct aml a;
	static const u8 want[] = {
		0xa0, 0x19, 0x93, 0x68,		/* If (Arg0 == ToUUID (...)) */
		0x11, 0x13, 0x0a, 0x10,
		0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
		0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66,
		0xa4, 0x01,			/* Return (One) */
		0xa1, 0x03, 0xa4, 0x00,		/* Else { Return (Zero) } */
	};

	(void)state;
	aml__init(&a);
	aml__if(&a);
	aml__lequal(&a);
	aml__arg(&a, 0);
	aml__uuid(&a, "33db4d5b-1ff7-401c-9657-7441c03dd766");
	aml__return(&a);
	aml__int(&a, 1);
	aml__end(&a);
	aml__else(&a);
	aml__return(&a);
	aml__int(&a, 0);
	aml__end(&a);
	assert_int_equal(aml__finish(&a), 0);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.data, want, sizeof(want));
	aml__free(&a);
}

static void test_resources(void **state)
{
	struct aml a;
	static const u8 want[] = {
		0x11, 0x35, 0x0a, 0x32,
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,		/* IO (Decode16, 0x3F8, 0x3F8, 1, 8) */
		0x22, 0x10, 0x00,					/* IRQNoFlags () {4} */
		0x89, 0x06, 0x00, 0x01, 0x01, 0x10, 0x00, 0x00, 0x00,	/* Interrupt (Level, High, Excl) {16} */
		0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00,		/* WordBusNumber 0..0xFF */
		0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xe0,		/* Memory32Fixed (RW, 0xE0000000, 256M) */
		0x00, 0x00, 0x00, 0x10,
		0x79, 0x00,						/* EndTag */
	};

	(void)state;
	aml__init(&a);
	aml__resources(&a);
	aml__res_io(&a, 0x3f8, 8);
	aml__res_irq_noflags(&a, 4);
	aml__res_interrupt(&a, true, false, false, 16);
	aml__res_word_bus(&a, true, 0, 0xff);
	aml__res_mem32_fixed(&a, true, 0xe0000000, 0x10000000);
	aml__end(&a);
	assert_int_equal(aml__finish(&a), 0);
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.data, want, sizeof(want));
	aml__free(&a);

	/* the address descriptors' lengths and fields */
	aml__init(&a);
	aml__resources(&a);
	aml__res_word_io(&a, true, 0xd00, 0xffff);
	aml__res_dword_mem(&a, true, AML_MEM_CACHEABLE, true, 0xc0000000, 0xdfffffff);
	aml__res_qword_mem(&a, false, AML_MEM_PREFETCHABLE, false, 0x100000000ULL, 0x1ffffffffULL);
	aml__end(&a);
	assert_int_equal(aml__finish(&a), 0);
	{
		const u8 *w = a.data + 5, *d = w + 16, *q = d + 26;

		assert_int_equal(a.data[0], 0x11);
		assert_int_equal(a.data[1] >> 6, 1);	/* 2-byte PkgLength */
		assert_int_equal(a.data[3], 0x0a);
		assert_int_equal(a.data[4], 16 + 26 + 46 + 2);
		assert_int_equal(w[0], 0x88);
		assert_int_equal(w[3], 1);		/* I/O */
		assert_int_equal(w[5], 3);		/* entire range */
		assert_int_equal(rd16(w + 8), 0xd00);
		assert_int_equal(rd16(w + 10), 0xffff);
		assert_int_equal(rd16(w + 14), 0xf300);
		assert_int_equal(d[0], 0x87);
		assert_int_equal(rd16(d + 1), 23);
		assert_int_equal(d[4], 0x0c);		/* producer, min/max fixed */
		assert_int_equal(d[5], 0x03);		/* cacheable, read-write */
		assert_int_equal(rd32(d + 22), 0x20000000);
		assert_int_equal(q[0], 0x8a);
		assert_int_equal(rd16(q + 1), 43);
		assert_int_equal(q[4], 0x0d);		/* consumer */
		assert_int_equal(q[5], 0x06);		/* prefetchable, read-only */
		assert_int_equal(rd64(q + 14), 0x100000000ULL);
		assert_int_equal(rd64(q + 22), 0x1ffffffffULL);
		assert_int_equal(rd64(q + 38), 0x100000000ULL);
		assert_int_equal(q[46], 0x79);
		assert_int_equal(a.len, 5 + 16 + 26 + 46 + 2);
	}
	aml__free(&a);
}

static void test_aml_errors(void **state)
{
	struct aml a;

	(void)state;
	aml__init(&a);			/* a descriptor outside a ResourceTemplate */
	aml__res_io(&a, 0x70, 2);
	assert_int_equal(aml__finish(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);			/* left open */
	aml__device(&a, "DEV0");
	assert_int_equal(aml__finish(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);			/* one end too many */
	aml__end(&a);
	assert_int_equal(aml__finish(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);			/* Else without If */
	aml__else(&a);
	assert_int_equal(aml__finish(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);			/* bad name */
	aml__device(&a, "TOOLONG");
	aml__end(&a);
	assert_int_equal(aml__finish(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);			/* a Package holds at most 255 elements */
	aml__package(&a);
	for (int i = 0; i < 256; i++)
		aml__int(&a, i);
	aml__end(&a);
	assert_int_equal(aml__finish(&a), -E2BIG);
	aml__free(&a);

	aml__init(&a);			/* IRQNoFlags is ISA only */
	aml__resources(&a);
	aml__res_irq_noflags(&a, 16);
	aml__end(&a);
	assert_int_equal(aml__finish(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);
	aml__uuid(&a, "33db4d5b-1ff7-401c-9657-7441c03dd76");	/* short */
	assert_int_equal(aml__finish(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);
	aml__resources(&a);
	aml__res_dword_mem(&a, true, AML_MEM_CACHEABLE, true, 0x2000, 0x1000);	/* min > max */
	aml__end(&a);
	assert_int_equal(aml__finish(&a), -EINVAL);
	aml__free(&a);

	aml__init(&a);
	for (int i = 0; i <= AML_MAX_DEPTH; i++)
		aml__scope(&a, "\\_SB");
	assert_int_equal(aml__finish(&a), -E2BIG);
	aml__free(&a);
}

/* ---- DPVM_ACPI_DUMP=DIR ---- */

static int write_table(const char *dir, const char *name, const u8 *p, size_t len)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "test-acpi: cannot write %s\n", path);
		return -1;
	}
	ok = fwrite(p, 1, len, f) == len;
	ok &= fclose(f) == 0;
	if (!ok)
		fprintf(stderr, "test-acpi: writing %s failed\n", path);
	return ok ? 0 : -1;
}

/* every optional device present, so that iasl sees all of the DSDT */
static int dump_tables(const char *dir)
{
	struct acpi_layout l = layout(2, true);
	u8 *buf = calloc(1, AREA_SIZE);
	u64 rsdp, xsdt, fadt = 0, dsdt, facs;
	long len;
	int ret = -1;

#define AT(gpa) (buf + ((gpa) - AREA_GPA))
#define IN(gpa, n) ((gpa) >= AREA_GPA && (gpa) - AREA_GPA + (n) <= (u64)len)
	l.has_i8042 = true;
	len = acpi__build(&l, buf, AREA_GPA, AREA_SIZE, &rsdp);
	if (len < 0 || !IN(rsdp, 36))
		goto out;
	xsdt = rd64(AT(rsdp) + 24);
	if (!IN(xsdt, 36) || !IN(xsdt, rd32(AT(xsdt) + 4)))
		goto out;
	if (write_table(dir, "RSDP", AT(rsdp), 36) ||
	    write_table(dir, "XSDT", AT(xsdt), rd32(AT(xsdt) + 4)))
		goto out;
	for (u32 off = 36; off + 8 <= rd32(AT(xsdt) + 4); off += 8) {
		u64 t = rd64(AT(xsdt) + off);
		char sig[5] = { 0 };

		if (!IN(t, 36) || !IN(t, rd32(AT(t) + 4)))
			goto out;
		memcpy(sig, AT(t), 4);
		if (write_table(dir, sig, AT(t), rd32(AT(t) + 4)))
			goto out;
		if (!strcmp(sig, "FACP"))
			fadt = t;
	}
	if (!fadt)
		goto out;
	dsdt = rd64(AT(fadt) + 140);
	facs = rd32(AT(fadt) + 36);
	if (!IN(dsdt, 36) || !IN(dsdt, rd32(AT(dsdt) + 4)) || !IN(facs, 64))
		goto out;
	if (write_table(dir, "DSDT", AT(dsdt), rd32(AT(dsdt) + 4)) ||
	    write_table(dir, "FACS", AT(facs), 64))
		goto out;
	ret = 0;
#undef AT
#undef IN
out:
	if (ret)
		fprintf(stderr, "test-acpi: dumping the tables to %s failed\n", dir);
	free(buf);
	return ret;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglength),
		cmocka_unit_test(test_buffer_sizes),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_eisaid),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_if_else_uuid),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_aml_errors),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_intx_gsi),
		cmocka_unit_test(test_tables_1cpu),
		cmocka_unit_test(test_tables_2cpu),
		cmocka_unit_test(test_tables_64cpu),
		cmocka_unit_test(test_tables_255cpu),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_bad_layouts),
		cmocka_unit_test(test_no_space),
		cmocka_unit_test(test_setup),
	};
	const char *dump = getenv("DPVM_ACPI_DUMP");

	if (dump && *dump && dump_tables(dump))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
