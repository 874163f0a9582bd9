// SPDX-License-Identifier: GPL-2.0
/*
 * PCI config space without a VM: write masks, BAR sizing and decoding,
 * capability lists, status bits, MSI-X table and PBA semantics, MSI masking,
 * and BAR window allocation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct pci_dev *new_dev(void)
{
	struct pci_dev *d = calloc(1, sizeof(*d));

	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->intx_lock, NULL);
	d->name = "test";
	pci__init_header(d, 0x1af4, 0x1042, 0x010000, 1, 0x1af4, 0x0002, 1);
	return d;
}

static void test_header(void **state __unused)
{
	struct pci_dev *d = new_dev();

	assert_int_equal(pci__cfg_read(d, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(pci__cfg_read(d, PCI_DEVICE_ID, 2), 0x1042);
	assert_int_equal(pci__cfg_read(d, PCI_VENDOR_ID, 4), 0x10421af4);
	assert_int_equal(pci__cfg_read(d, PCI_CLASS_REVISION, 4), 0x01000001);
	assert_int_equal(pci__cfg_read(d, PCI_INTERRUPT_PIN, 1), 1);
	/* read-only fields ignore writes */
	pci__cfg_write(d, PCI_VENDOR_ID, 4, 0xdeadbeef);
	assert_int_equal(pci__cfg_read(d, PCI_VENDOR_ID, 4), 0x10421af4);
	pci__cfg_write(d, PCI_INTERRUPT_PIN, 1, 3);
	assert_int_equal(pci__cfg_read(d, PCI_INTERRUPT_PIN, 1), 1);
	/* writable ones take them, only in their writable bits */
	pci__cfg_write(d, PCI_COMMAND, 2, 0xffff);
	assert_int_equal(pci__cfg_read(d, PCI_COMMAND, 2),
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	pci__cfg_write(d, PCI_INTERRUPT_LINE, 1, 0x2a);
	assert_int_equal(pci__cfg_read(d, PCI_INTERRUPT_LINE, 1), 0x2a);
	/* out of range reads are all-ones, writes ignored */
	assert_int_equal(pci__cfg_read(d, PCI_CFG_SIZE - 2, 4), 0xffffffff);
	pci__cfg_write(d, PCI_CFG_SIZE - 2, 4, 0);
	free(d);
}

static void test_status_w1c(void **state __unused)
{
	struct pci_dev *d = new_dev();

	d->cfg[PCI_STATUS + 1] = (PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_DETECTED_PARITY) >> 8;
	/* writing 0 clears nothing; writing 1 clears that bit only */
	pci__cfg_write(d, PCI_STATUS, 2, 0);
	assert_int_equal(pci__cfg_read(d, PCI_STATUS, 2),
			 PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_DETECTED_PARITY);
	pci__cfg_write(d, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT);
	assert_int_equal(pci__cfg_read(d, PCI_STATUS, 2), PCI_STATUS_DETECTED_PARITY);
	/* Status.Interrupt follows the INTx pin (no VM: no line to drive) */
	pci__set_intx(d, true);
	assert_true(pci__cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_true(pci__cfg_read(d, PCI_COMMAND, 4) & (PCI_STATUS_INTERRUPT << 16));
	pci__set_intx(d, false);
	assert_false(pci__cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	free(d);
}

static void test_bar_sizing(void **state __unused)
{
	struct pci_dev *d = new_dev();

	pci__set_bar(d, 0, 0x100, true, false, false, NULL, NULL);	/* I/O, 256 B */
	pci__set_bar(d, 1, 0x3000, false, false, false, NULL, NULL);	/* rounds to 16 KiB */
	pci__set_bar(d, 2, 1ULL << 33, false, true, true, NULL, NULL);	/* 8 GiB, 64-bit */
	pci__set_bar(d, PCI_ROM_BAR, 0x10000, false, false, false, NULL, NULL);

	assert_int_equal(d->bars[1].size, 0x4000);
	/* type bits */
	assert_int_equal(pci__cfg_read(d, PCI_BASE_ADDRESS_0, 4), PCI_BASE_ADDRESS_SPACE_IO);
	assert_int_equal(pci__cfg_read(d, PCI_BASE_ADDRESS_2, 4),
			 PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);

	/* the sizing dance: write all-ones, read the mask back */
	pci__cfg_write(d, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	assert_int_equal(pci__cfg_read(d, PCI_BASE_ADDRESS_0, 4), 0xffffff01);
	pci__cfg_write(d, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	assert_int_equal(pci__cfg_read(d, PCI_BASE_ADDRESS_1, 4), 0xffffc000);
	pci__cfg_write(d, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	pci__cfg_write(d, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	assert_int_equal(pci__cfg_read(d, PCI_BASE_ADDRESS_2, 4),
			 0x0000000c); /* 8 GiB: the low dword has no size bits */
	assert_int_equal(pci__cfg_read(d, PCI_BASE_ADDRESS_3, 4), 0xfffffffe);
	pci__cfg_write(d, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(pci__cfg_read(d, PCI_ROM_ADDRESS, 4), 0xffff0001);
	/* unimplemented BARs stay zero */
	pci__cfg_write(d, PCI_BASE_ADDRESS_4 + 4, 4, 0xffffffff);
	assert_int_equal(pci__cfg_read(d, PCI_BASE_ADDRESS_5, 4), 0);

	/* an address: the low bits the guest writes are masked off */
	pci__cfg_write(d, PCI_BASE_ADDRESS_1, 4, 0xc0004fff);
	assert_int_equal(pci__cfg_read(d, PCI_BASE_ADDRESS_1, 4), 0xc0004000);
	pci__cfg_write(d, PCI_BASE_ADDRESS_2, 4, 0);
	pci__cfg_write(d, PCI_BASE_ADDRESS_3, 4, 0x4);
	assert_int_equal(pci__cfg_read(d, PCI_BASE_ADDRESS_3, 4), 0x4);
	free(d);
}

static void test_caps(void **state __unused)
{
	struct pci_dev *d = new_dev();
	u8 a, b, c;
	u16 e1, e2;

	assert_false(pci__cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	a = pci__add_cap(d, PCI_CAP_ID_VNDR, 16);
	b = pci__add_cap(d, PCI_CAP_ID_PM, 8);
	c = pci__add_cap(d, PCI_CAP_ID_EXP, 0x3c);
	assert_true(pci__cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(pci__cfg_read(d, PCI_CAPABILITY_LIST, 1), a);
	assert_int_equal(a, 0x40);
	/* each capability dword-aligned and chained, the last one ends the list */
	assert_int_equal(pci__cfg_read(d, a + 1, 1), b);
	assert_int_equal(pci__cfg_read(d, b + 1, 1), c);
	assert_int_equal(pci__cfg_read(d, c + 1, 1), 0);
	assert_int_equal(b % 4, 0);
	assert_int_equal(c % 4, 0);
	assert_int_equal(pci__cfg_read(d, b, 1), PCI_CAP_ID_PM);
	/* no room: refused */
	assert_int_equal(pci__add_cap(d, PCI_CAP_ID_VNDR, 0xc0), 0);

	e1 = pci__add_ext_cap(d, PCI_EXT_CAP_ID_ERR, 2, 0x48);
	e2 = pci__add_ext_cap(d, PCI_EXT_CAP_ID_DSN, 1, 12);
	assert_int_equal(e1, 0x100);
	assert_int_equal(pci__cfg_read(d, e1, 4) & 0xffff, PCI_EXT_CAP_ID_ERR);
	assert_int_equal(pci__cfg_read(d, e1, 4) >> 20, e2);
	assert_int_equal(pci__cfg_read(d, e2, 4) >> 20, 0);
	free(d);
}

static void test_msix(void **state __unused)
{
	struct pci_dev *d = new_dev();
	u32 v, entry[4];
	u64 pba;
	u8 cap;

	pci__set_bar(d, 4, 0x8000, false, true, false, NULL, NULL);
	assert_int_equal(pci__msix_init(d, 3, 4, 0x4000, 0x6000), 0);
	cap = d->msix.cap;
	assert_int_equal(pci__cfg_read(d, cap, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(pci__cfg_read(d, cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, 2);
	assert_int_equal(pci__cfg_read(d, cap + PCI_MSIX_TABLE, 4), 0x4000 | 4);
	assert_int_equal(pci__cfg_read(d, cap + PCI_MSIX_PBA, 4), 0x6000 | 4);

	/* vectors start masked */
	assert_true(pci__msix_access(d, 4, 0x4000 + 16 + 12, &v, 4, false));
	assert_int_equal(v, 1);
	/* not enabled: notify refuses */
	assert_false(pci__msix_notify(d, 1));

	/* program vector 1, 8-byte write of the address, then data */
	u64 addr = 0xfee01000;
	assert_true(pci__msix_access(d, 4, 0x4000 + 16, &addr, 8, true));
	v = 0x4041;
	assert_true(pci__msix_access(d, 4, 0x4000 + 16 + 8, &v, 4, true));
	assert_true(pci__msix_access(d, 4, 0x4000 + 16, entry, 8, false));
	assert_int_equal(entry[0], 0xfee01000);
	assert_int_equal(entry[1], 0);
	/* vector control keeps only the mask bit */
	v = 0xfffffffe;
	pci__msix_access(d, 4, 0x4000 + 16 + 12, &v, 4, true);
	pci__msix_access(d, 4, 0x4000 + 16 + 12, &v, 4, false);
	assert_int_equal(v, 0);
	v = 1;
	pci__msix_access(d, 4, 0x4000 + 16 + 12, &v, 4, true);

	/* enable; a masked vector goes pending */
	pci__cfg_write(d, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_true(pci__msix_enabled(d));
	assert_true(pci__msix_notify(d, 1));
	pci__msix_access(d, 4, 0x6000, &pba, 8, false);
	assert_int_equal(pba, 2);
	/* unmasking delivers it (no VM here: delivery is a no-op) and clears it */
	v = 0;
	pci__msix_access(d, 4, 0x4000 + 16 + 12, &v, 4, true);
	pci__msix_access(d, 4, 0x6000, &pba, 8, false);
	assert_int_equal(pba, 0);
	/* the function mask holds everything back */
	pci__cfg_write(d, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci__msix_notify(d, 1);
	pci__msix_access(d, 4, 0x6000, &pba, 8, false);
	assert_int_equal(pba, 2);
	pci__cfg_write(d, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	pci__msix_access(d, 4, 0x6000, &pba, 8, false);
	assert_int_equal(pba, 0);

	/* out-of-range vectors, misaligned and odd-sized accesses, writes to the PBA */
	assert_false(pci__msix_notify(d, 3));
	v = 0x12345678;
	assert_true(pci__msix_access(d, 4, 0x4000 + 2, &v, 4, false));
	assert_int_equal(v, 0xffffffff);
	assert_true(pci__msix_access(d, 4, 0x4000, &v, 2, true));
	pba = ~0ULL;
	assert_true(pci__msix_access(d, 4, 0x6000, &pba, 8, true));
	pci__msix_access(d, 4, 0x6000, &pba, 8, false);
	assert_int_equal(pba, 0);
	/* other offsets and BARs are not MSI-X's */
	assert_false(pci__msix_access(d, 4, 0x1000, &v, 4, false));
	assert_false(pci__msix_access(d, 2, 0x4000, &v, 4, false));
	assert_false(pci__msix_access(d, 4, 0x4000 + 3 * 16, &v, 4, false));
	free(d->msix.table);
	free(d->msix.pba);
	free(d->msix.gsi);
	free(d->msix.fd);
	free(d);
}

static void test_msi(void **state __unused)
{
	struct pci_dev *d = new_dev();
	u8 cap = pci__msi_init(d, 2);	/* 4 vectors capable */

	assert_int_not_equal(cap, 0);
	assert_int_equal(pci__cfg_read(d, cap + PCI_MSI_FLAGS, 2),
			 PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT | (2 << 1));
	/* disabled: nothing */
	assert_false(pci__msi_notify(d, 0));
	/* enable 2 vectors; mask vector 1 */
	pci__cfg_write(d, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | (1 << 4));
	pci__cfg_write(d, cap + 4, 4, 0xfee00003);
	assert_int_equal(pci__cfg_read(d, cap + 4, 4), 0xfee00000);
	pci__cfg_write(d, cap + 16, 4, 0xffffffff);
	assert_int_equal(pci__cfg_read(d, cap + 16, 4), 0xf); /* only 4 mask bits exist */
	pci__cfg_write(d, cap + 16, 4, 2);
	assert_true(pci__msi_notify(d, 1));
	assert_int_equal(pci__cfg_read(d, cap + 20, 4), 2);	/* pending */
	assert_false(pci__msi_notify(d, 2));			/* beyond the enabled count */
	pci__cfg_write(d, cap + 16, 4, 0);			/* unmask: delivered */
	assert_int_equal(pci__cfg_read(d, cap + 20, 4), 0);
	free(d);
}

static void test_alloc(void **state __unused)
{
	struct pci_window w = { .base = 0xc0000000, .size = 0x100000, .next = 0xc0000000 };
	u64 a;

	assert_int_equal(pci__alloc(&w, 0x1000, &a), 0);
	assert_int_equal(a, 0xc0000000);
	assert_int_equal(pci__alloc(&w, 0x10000, &a), 0);
	assert_int_equal(a, 0xc0010000);	/* naturally aligned */
	assert_int_equal(pci__alloc(&w, 0x1000, &a), 0);
	assert_int_equal(a, 0xc0020000);
	assert_int_equal(pci__alloc(&w, 0x100000, &a), -ENOSPC);
	assert_int_equal(pci__alloc(&w, 0x80000, &a), 0);
	assert_int_equal(a, 0xc0080000);
	assert_int_equal(pci__alloc(&w, 0x80000, &a), -ENOSPC);

	struct pci_window top = { .base = ~0ULL - 0xfff, .size = 0x1000, .next = ~0ULL - 0xfff };
	assert_int_equal(pci__alloc(&top, 0x2000, &a), -ENOSPC);	/* wraps */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_status_w1c),
		cmocka_unit_test(test_bar_sizing),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_msix),
		cmocka_unit_test(test_msi),
		cmocka_unit_test(test_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
