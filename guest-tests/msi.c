// SPDX-License-Identifier: GPL-2.0
/*
 * MSI-X, end to end, with a virtio-blk device (run with --disk): a minimal
 * virtio 1.x driver finds the device's capabilities, programs two MSI-X
 * vectors (config and queue 0) to this CPU, sets up one split virtqueue
 * and reads sectors; each completion must arrive as the queue's MSI-X
 * interrupt.  Then:
 *  - a masked vector holds its interrupt in the PBA and sends it when
 *    unmasked; so does the function mask (MSI-X Function Mask);
 *  - a sector written is read back; with ro=1 (for --disk FILE,ro) the
 *    write must fail with VIRTIO_BLK_S_IOERR.
 * sectors=N: the capacity the device must report.
 */
#include "guest.h"

#define VIRTIO_VENDOR	0x1af4
#define VIRTIO_BLK_DEV	0x1042

/* virtio_pci_cap */
#define VCAP_TYPE	3
#define VCAP_BAR	4
#define VCAP_OFFSET	8
#define VCAP_MULT	16	/* notify capability only */
#define VCAP_COMMON	1
#define VCAP_NOTIFY	2
#define VCAP_DEVICE	4

/* common configuration */
#define C_DFSELECT	0x00
#define C_DF		0x04
#define C_GFSELECT	0x08
#define C_GF		0x0c
#define C_MSIX		0x10
#define C_STATUS	0x14
#define C_Q_SELECT	0x16
#define C_Q_SIZE	0x18
#define C_Q_MSIX	0x1a
#define C_Q_ENABLE	0x1c
#define C_Q_NOFF	0x1e
#define C_Q_DESC	0x20
#define C_Q_AVAIL	0x28
#define C_Q_USED	0x30

#define S_ACK		1
#define S_DRIVER	2
#define S_DRIVER_OK	4
#define S_FEATURES_OK	8
#define NO_VECTOR	0xffff

#define QSIZE		8
#define VRING_F_NEXT	1
#define VRING_F_WRITE	2
#define BLK_T_IN	0
#define BLK_T_OUT	1

#define CONFIG_VECTOR	0x50
#define QUEUE_VECTOR	0x51

struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags, next;
};

struct blk_req {
	u32 type, reserved;
	u64 sector;
};

static struct vring_desc desc[QSIZE] __attribute__((aligned(4096)));
static struct {
	u16 flags, idx, ring[QSIZE], used_event;
} avail __attribute__((aligned(4096)));
static struct {
	u16 flags;
	volatile u16 idx;
	struct {
		u32 id, len;
	} ring[QSIZE];
	u16 avail_event;
} used __attribute__((aligned(4096)));

static struct blk_req req;
static u8 sector_buf[512] __attribute__((aligned(512)));
static volatile u8 req_status;

static u16 bdf;
static u32 common, notify_addr, device_cfg, msix_table, msix_pba;
static u8 msix_cap;
static volatile u32 queue_irqs, config_irqs;

static void queue_irq(struct irq_frame *f)
{
	(void)f;
	queue_irqs++;
	lapic_eoi();
}

static void config_irq(struct irq_frame *f)
{
	(void)f;
	config_irqs++;
	lapic_eoi();
}

static u32 cap_addr(u8 cap)
{
	u8 bar = pci_read8(bdf, cap + VCAP_BAR);

	return pci_bar_addr(bdf, bar) + pci_read32(bdf, cap + VCAP_OFFSET);
}

static void find_caps(void)
{
	u8 pos = pci_read8(bdf, PCI_CAP_PTR) & 0xfc;
	u32 mult = 0;
	u8 notify = 0;

	for (unsigned int n = 0; pos >= 0x40 && n < 48; n++) {
		if (pci_read8(bdf, pos) == PCI_CAP_VENDOR) {
			switch (pci_read8(bdf, pos + VCAP_TYPE)) {
			case VCAP_COMMON:
				if (!common)
					common = cap_addr(pos);
				break;
			case VCAP_NOTIFY:
				if (!notify) {
					notify = pos;
					mult = pci_read32(bdf, pos + VCAP_MULT);
				}
				break;
			case VCAP_DEVICE:
				if (!device_cfg)
					device_cfg = cap_addr(pos);
				break;
			}
		}
		pos = pci_read8(bdf, pos + 1) & 0xfc;
	}
	if (!common || !notify || !device_cfg)
		fail("virtio-blk lacks a common (%#x), notify (%#x) or device (%#x) capability",
		     common, notify, device_cfg);
	/* queue 0's notify address */
	mmio_write16(common + C_Q_SELECT, 0);
	notify_addr = cap_addr(notify) + mmio_read16(common + C_Q_NOFF) * mult;
	printf("msi: common config at %#x, queue 0 notify at %#x, device config at %#x\n",
	       common, notify_addr, device_cfg);
}

static void msix_setup(void)
{
	u16 ctrl;
	u32 table, pba;

	msix_cap = pci_find_cap(bdf, PCI_CAP_MSIX);
	if (!msix_cap)
		fail("virtio-blk has no MSI-X capability");
	ctrl = pci_read16(bdf, msix_cap + PCI_MSIX_CTRL);
	table = pci_read32(bdf, msix_cap + PCI_MSIX_TABLE);
	pba = pci_read32(bdf, msix_cap + PCI_MSIX_PBA);
	msix_table = pci_bar_addr(bdf, table & 7) + (table & ~7u);
	msix_pba = pci_bar_addr(bdf, pba & 7) + (pba & ~7u);
	printf("msi: MSI-X with %u vectors, table at %#x, PBA at %#x\n", (ctrl & 0x7ff) + 1,
	       msix_table, msix_pba);
	check((ctrl & 0x7ff) + 1 >= 2, "MSI-X offers at least 2 vectors");
	check(mmio_read32(msix_table + 12) & 1, "table entries start masked");

	/* entry 0: config changes, entry 1: queue 0; fixed, edge, to us */
	for (unsigned int i = 0; i < 2; i++) {
		u32 e = msix_table + 16 * i;

		mmio_write32(e + 0, LAPIC_BASE | lapic_id() << 12);
		mmio_write32(e + 4, 0);
		mmio_write32(e + 8, i ? QUEUE_VECTOR : CONFIG_VECTOR);
		mmio_write32(e + 12, 0);	/* unmask */
	}
	check(mmio_read32(msix_table + 16 + 8) == QUEUE_VECTOR, "the table keeps entry 1's data");
	pci_write16(bdf, PCI_COMMAND, pci_read16(bdf, PCI_COMMAND) | PCI_COMMAND_MEMORY |
		    PCI_COMMAND_MASTER);
	pci_write16(bdf, msix_cap + PCI_MSIX_CTRL, (ctrl & ~PCI_MSIX_MASKALL) | PCI_MSIX_ENABLE);
}

static void virtio_setup(void)
{
	u32 f_hi;
	u16 qmax;
	u8 status;

	mmio_write8(common + C_STATUS, 0);	/* reset */
	mmio_write8(common + C_STATUS, S_ACK | S_DRIVER);
	mmio_write32(common + C_DFSELECT, 1);
	f_hi = mmio_read32(common + C_DF);
	check(f_hi & 1, "the device offers VIRTIO_F_VERSION_1 (features 63:32 %#x)", f_hi);
	mmio_write32(common + C_GFSELECT, 0);
	mmio_write32(common + C_GF, 0);
	mmio_write32(common + C_GFSELECT, 1);
	mmio_write32(common + C_GF, 1);		/* VERSION_1 only */
	mmio_write8(common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	status = mmio_read8(common + C_STATUS);
	if (!check(status & S_FEATURES_OK, "FEATURES_OK is accepted (status %#x)", status))
		exit_test(EXIT_FAIL);

	mmio_write16(common + C_MSIX, 0);
	check(mmio_read16(common + C_MSIX) == 0, "config changes use MSI-X entry 0");
	mmio_write16(common + C_Q_SELECT, 0);
	qmax = mmio_read16(common + C_Q_SIZE);
	check(qmax >= QSIZE, "queue 0 holds %u descriptors (we use %u)", qmax, QSIZE);
	mmio_write16(common + C_Q_SIZE, QSIZE);
	mmio_write16(common + C_Q_MSIX, 1);
	check(mmio_read16(common + C_Q_MSIX) == 1, "queue 0 uses MSI-X entry 1");
	mmio_write32(common + C_Q_DESC, (u32)desc);
	mmio_write32(common + C_Q_DESC + 4, 0);
	mmio_write32(common + C_Q_AVAIL, (u32)&avail);
	mmio_write32(common + C_Q_AVAIL + 4, 0);
	mmio_write32(common + C_Q_USED, (u32)&used);
	mmio_write32(common + C_Q_USED + 4, 0);
	mmio_write16(common + C_Q_ENABLE, 1);
	check(mmio_read16(common + C_Q_ENABLE) == 1, "queue 0 is enabled");
	mmio_write8(common + C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* queue one request (header, 512 bytes, status) and notify the device */
static void submit(u32 type, u64 sector)
{
	req = (struct blk_req){ .type = type, .sector = sector };
	req_status = 0xff;
	desc[0] = (struct vring_desc){ (u32)&req, sizeof(req), VRING_F_NEXT, 1 };
	desc[1] = (struct vring_desc){ (u32)sector_buf, sizeof(sector_buf),
				       VRING_F_NEXT | (type == BLK_T_IN ? VRING_F_WRITE : 0), 2 };
	desc[2] = (struct vring_desc){ (u32)&req_status, 1, VRING_F_WRITE, 0 };
	avail.ring[avail.idx % QSIZE] = 0;
	barrier();
	avail.idx++;
	barrier();
	mmio_write16(notify_addr, 0);
}

static bool wait_for(volatile u32 *v, u32 want, u32 ms)
{
	u64 end = rdtsc() + us_to_tsc(ms * 1000ULL);

	irq_enable();
	while (*v < want && rdtsc() < end)
		cpu_relax();
	irq_disable();
	return *v >= want;
}

static bool wait_used(u16 idx, u32 ms)
{
	u64 end = rdtsc() + us_to_tsc(ms * 1000ULL);

	while (used.idx != idx && rdtsc() < end)
		cpu_relax();
	return used.idx == idx;
}

/* read a sector: completion by interrupt, used element, status */
static bool read_sector(u64 sector)
{
	u32 irqs = queue_irqs;
	u16 want = used.idx + 1;

	submit(BLK_T_IN, sector);
	if (!check(wait_for(&queue_irqs, irqs + 1, 2000),
		   "reading sector %llu: the queue's MSI-X interrupt arrived", sector))
		return false;
	return check(used.idx == want && used.ring[(want - 1) % QSIZE].id == 0 &&
		     used.ring[(want - 1) % QSIZE].len == 513 && req_status == 0,
		     "sector %llu: used idx %u, id %u, len %u (want 513), status %u", sector,
		     used.idx, used.ring[(want - 1) % QSIZE].id, used.ring[(want - 1) % QSIZE].len,
		     req_status);
}

static void show_sector(u64 sector)
{
	char s[33];

	for (unsigned int i = 0; i < 32; i++)
		s[i] = sector_buf[i] >= 0x20 && sector_buf[i] < 0x7f ? sector_buf[i] : '.';
	s[32] = 0;
	printf("msi: sector %llu begins \"%s\"\n", sector, s);
}

/* a vector masked (per entry, or the whole function) keeps its interrupt
 * pending in the PBA until unmasked */
static void masking(bool function)
{
	const char *what = function ? "the function mask" : "entry 1's mask";
	u16 ctrl = pci_read16(bdf, msix_cap + PCI_MSIX_CTRL);
	u32 irqs = queue_irqs, pba;
	u16 want = used.idx + 1;

	if (function)
		pci_write16(bdf, msix_cap + PCI_MSIX_CTRL, ctrl | PCI_MSIX_MASKALL);
	else
		mmio_write32(msix_table + 16 + 12, 1);
	submit(BLK_T_IN, 1);
	check(wait_used(want, 2000), "with %s set, the request completes", what);
	wait_for(&queue_irqs, irqs + 1, 20);
	pba = mmio_read32(msix_pba);
	check(queue_irqs == irqs, "with %s set, no interrupt (%u)", what, queue_irqs - irqs);
	check(pba & 2, "with %s set, PBA bit 1 is pending (PBA %#x)", what, pba);

	if (function)
		pci_write16(bdf, msix_cap + PCI_MSIX_CTRL, ctrl);
	else
		mmio_write32(msix_table + 16 + 12, 0);
	check(wait_for(&queue_irqs, irqs + 1, 1000), "clearing %s delivers the pending interrupt",
	      what);
	pba = mmio_read32(msix_pba);
	check(!(pba & 2), "then PBA bit 1 is clear (PBA %#x)", pba);
}

/* write a pattern to sector 3 and read it back; on a read-only disk the
 * write must fail (VIRTIO_BLK_S_IOERR) and the sector stay as it was */
static void write_and_read_back(bool ro)
{
	u32 irqs = queue_irqs;
	u16 want = used.idx + 1;
	bool done, same = true;
	u8 status;

	for (unsigned int i = 0; i < sizeof(sector_buf); i++)
		sector_buf[i] = i * 7 + 3;
	submit(BLK_T_OUT, 3);
	done = wait_for(&queue_irqs, irqs + 1, 2000) && used.idx == want;
	status = req_status;
	check(done && status == (ro ? 1 : 0), "writing sector 3 completes by interrupt, status %u (want %u)",
	      status, ro ? 1 : 0);
	memset(sector_buf, 0, sizeof(sector_buf));
	if (!read_sector(3))
		return;
	for (unsigned int i = 0; i < sizeof(sector_buf); i++)
		if (sector_buf[i] != (u8)(i * 7 + 3))
			same = false;
	if (ro)
		check(!same, "sector 3 did not change");
	else
		check(same, "sector 3 reads back what was written");
}

int main(void)
{
	u64 sectors, want_sectors = cmdline_u64("sectors", 0);

	if (!pci_find(VIRTIO_VENDOR, VIRTIO_BLK_DEV, &bdf))
		fail("no virtio-blk (%04x:%04x) on the PCI bus: run with --disk", VIRTIO_VENDOR,
		     VIRTIO_BLK_DEV);
	printf("msi: virtio-blk at 00:%02x.%u\n", PCI_DEV(bdf), PCI_FN(bdf));
	lapic_enable();
	set_handler(QUEUE_VECTOR, queue_irq);
	set_handler(CONFIG_VECTOR, config_irq);

	find_caps();
	msix_setup();
	virtio_setup();
	sectors = mmio_read32(device_cfg) | (u64)mmio_read32(device_cfg + 4) << 32;
	printf("msi: capacity %llu sectors\n", sectors);
	if (want_sectors)
		check(sectors == want_sectors, "the capacity is %llu sectors", want_sectors);

	if (read_sector(0))
		show_sector(0);
	masking(false);
	masking(true);
	write_and_read_back(cmdline_uint("ro", 0));
	check(config_irqs == 0, "no config-change interrupt (%u)", config_irqs);
	mmio_write8(common + C_STATUS, 0);
	check(mmio_read8(common + C_STATUS) == 0, "the device resets");
	return 0;
}
