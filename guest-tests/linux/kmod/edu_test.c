// SPDX-License-Identifier: GPL-2.0
/*
 * A test driver for QEMU's "edu" device (1234:11e8), assigned to a dpvm
 * guest through VFIO.  At probe it checks the identification register, the
 * liveness register, a factorial with a completion interrupt, a raised
 * interrupt, and a 2048-byte DMA each way with checksums, using INTx or MSI
 * (use_msi=1); each result is one "edu-test:" line in the kernel log, the
 * last one "edu-test: PASS" or "edu-test: FAIL ...".
 *
 * bad_dma=ADDR programs a device-to-RAM DMA to ADDR, which should not be
 * guest RAM: the host's IOMMU must block it (a DMAR fault on the host) and
 * nothing in the guest may change.
 *
 * See QEMU's docs/specs/edu.rst for the registers.
 */
#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/pci.h>

#define EDU_ID		0x00
#define EDU_LIVE	0x04
#define EDU_FACT	0x08
#define EDU_STATUS	0x20
#define EDU_IRQ_STATUS	0x24
#define EDU_IRQ_RAISE	0x60
#define EDU_IRQ_ACK	0x64
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_BUF		0x40000

#define STATUS_COMPUTING	0x01
#define STATUS_IRQ_FACT		0x80
#define DMA_START		0x01
#define DMA_FROM_DEV		0x02
#define DMA_IRQ			0x04
#define IRQ_FACT		0x00000001
#define IRQ_DMA			0x00000100
#define IRQ_TEST		0x00008000
#define DMA_LEN			2048

static bool use_msi;
module_param(use_msi, bool, 0444);
static unsigned long bad_dma;
module_param(bad_dma, ulong, 0444);

struct edu {
	void __iomem *mmio;
	struct completion done;
	u32 last_status;
	unsigned int irqs;
	int irq;
};

static irqreturn_t edu_irq(int irq, void *opaque)
{
	struct edu *e = opaque;
	u32 st = ioread32(e->mmio + EDU_IRQ_STATUS);

	if (!st)
		return IRQ_NONE;
	iowrite32(st, e->mmio + EDU_IRQ_ACK);
	e->last_status = st;
	e->irqs++;
	complete(&e->done);
	return IRQ_HANDLED;
}

static bool wait_irq(struct edu *e, u32 expect, const char *what)
{
	if (!wait_for_completion_timeout(&e->done, msecs_to_jiffies(5000))) {
		pr_err("edu-test: FAIL no interrupt for %s\n", what);
		return false;
	}
	if (!(e->last_status & expect)) {
		pr_err("edu-test: FAIL %s: interrupt status %#x, expected %#x\n", what,
		       e->last_status, expect);
		return false;
	}
	return true;
}

static u32 checksum(const u8 *p, size_t n)
{
	u32 s = 0;

	while (n--)
		s = s * 31 + *p++;
	return s;
}

static int edu_dma(struct edu *e, dma_addr_t ram, bool from_dev)
{
	reinit_completion(&e->done);
	iowrite32(from_dev ? EDU_BUF : lower_32_bits(ram), e->mmio + EDU_DMA_SRC);
	iowrite32(from_dev ? 0 : upper_32_bits(ram), e->mmio + EDU_DMA_SRC + 4);
	iowrite32(from_dev ? lower_32_bits(ram) : EDU_BUF, e->mmio + EDU_DMA_DST);
	iowrite32(from_dev ? upper_32_bits(ram) : 0, e->mmio + EDU_DMA_DST + 4);
	iowrite32(DMA_LEN, e->mmio + EDU_DMA_COUNT);
	iowrite32(DMA_START | DMA_IRQ | (from_dev ? DMA_FROM_DEV : 0), e->mmio + EDU_DMA_CMD);
	return wait_irq(e, IRQ_DMA, from_dev ? "DMA from the device" : "DMA to the device") ?
	       0 : -EIO;
}

static int edu_run(struct pci_dev *pdev, struct edu *e)
{
	u32 id = ioread32(e->mmio + EDU_ID), v, sum_out, sum_in;
	dma_addr_t out_dma, in_dma;
	u8 *out, *in;
	int ret = -EIO, i;

	pr_info("edu-test: ident %#010x\n", id);
	if ((id & 0xffff) != 0x00ed)
		return -ENODEV;
	iowrite32(0x12345678, e->mmio + EDU_LIVE);
	v = ioread32(e->mmio + EDU_LIVE);
	if (v != ~0x12345678U) {
		pr_err("edu-test: FAIL liveness %#x\n", v);
		return -EIO;
	}
	pr_info("edu-test: liveness ok\n");

	/* a raised interrupt */
	reinit_completion(&e->done);
	iowrite32(IRQ_TEST, e->mmio + EDU_IRQ_RAISE);
	if (!wait_irq(e, IRQ_TEST, "a raised interrupt"))
		return -EIO;
	pr_info("edu-test: raised interrupt ok (%s)\n", use_msi ? "msi" : "intx");

	/* factorial with a completion interrupt */
	reinit_completion(&e->done);
	iowrite32(STATUS_IRQ_FACT, e->mmio + EDU_STATUS);
	iowrite32(10, e->mmio + EDU_FACT);
	if (!wait_irq(e, IRQ_FACT, "the factorial"))
		return -EIO;
	v = ioread32(e->mmio + EDU_FACT);
	if (v != 3628800) {
		pr_err("edu-test: FAIL factorial(10) = %u\n", v);
		return -EIO;
	}
	pr_info("edu-test: factorial(10) = %u\n", v);
	iowrite32(0, e->mmio + EDU_STATUS);

	out = dma_alloc_coherent(&pdev->dev, DMA_LEN, &out_dma, GFP_KERNEL);
	in = dma_alloc_coherent(&pdev->dev, DMA_LEN, &in_dma, GFP_KERNEL);
	if (!out || !in) {
		pr_err("edu-test: FAIL no DMA memory\n");
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < DMA_LEN; i++)
		out[i] = (u8)(i * 7 + 3);
	memset(in, 0, DMA_LEN);
	sum_out = checksum(out, DMA_LEN);
	if (edu_dma(e, out_dma, false) || edu_dma(e, in_dma, true))
		goto out_free;
	sum_in = checksum(in, DMA_LEN);
	pr_info("edu-test: dma %d bytes to device and back: checksum %#x -> %#x\n", DMA_LEN,
		sum_out, sum_in);
	if (sum_in != sum_out) {
		pr_err("edu-test: FAIL DMA checksums differ\n");
		goto out_free;
	}
	if (bad_dma) {
		/* device to an address that is not guest RAM: the IOMMU drops it */
		reinit_completion(&e->done);
		iowrite32(EDU_BUF, e->mmio + EDU_DMA_SRC);
		iowrite32(0, e->mmio + EDU_DMA_SRC + 4);
		iowrite32(lower_32_bits(bad_dma), e->mmio + EDU_DMA_DST);
		iowrite32(upper_32_bits(bad_dma), e->mmio + EDU_DMA_DST + 4);
		iowrite32(DMA_LEN, e->mmio + EDU_DMA_COUNT);
		iowrite32(DMA_START | DMA_IRQ | DMA_FROM_DEV, e->mmio + EDU_DMA_CMD);
		wait_irq(e, IRQ_DMA, "the stray DMA");
		pr_info("edu-test: stray dma to %#lx issued\n", bad_dma);
	}
	pr_info("edu-test: interrupts %u\n", e->irqs);
	pr_info("edu-test: PASS\n");
	ret = 0;
out_free:
	if (out)
		dma_free_coherent(&pdev->dev, DMA_LEN, out, out_dma);
	if (in)
		dma_free_coherent(&pdev->dev, DMA_LEN, in, in_dma);
	return ret;
}

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct edu *e;
	int ret;

	e = devm_kzalloc(&pdev->dev, sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	init_completion(&e->done);
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, 1, "edu_test");
	if (ret)
		return ret;
	e->mmio = pcim_iomap_table(pdev)[0];
	/* edu does 28-bit DMA */
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(28));
	if (ret)
		return ret;
	pci_set_master(pdev);
	ret = pci_alloc_irq_vectors(pdev, 1, 1, use_msi ? PCI_IRQ_MSI : PCI_IRQ_LEGACY);
	if (ret < 0) {
		pr_err("edu-test: FAIL no %s interrupt: %d\n", use_msi ? "MSI" : "INTx", ret);
		return ret;
	}
	e->irq = pci_irq_vector(pdev, 0);
	ret = request_irq(e->irq, edu_irq, use_msi ? 0 : IRQF_SHARED, "edu_test", e);
	if (ret) {
		pci_free_irq_vectors(pdev);
		return ret;
	}
	pci_set_drvdata(pdev, e);
	if (edu_run(pdev, e))
		pr_err("edu-test: FAIL\n");
	return 0;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct edu *e = pci_get_drvdata(pdev);

	free_irq(e->irq, e);
	pci_free_irq_vectors(pdev);
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = "edu_test",
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};
module_pci_driver(edu_driver);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dpvm test driver for QEMU's edu device");
