// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI fixed hardware, as the FADT describes it (vmm/acpi.c):
 *  - PM1a event block (status + enable): the power button, raising the SCI
 *    (IRQ 9, level) while an enabled status bit is set;
 *  - PM1a control block: SCI_EN always set (there is no SMM to hand over
 *    from), and SLP_EN with the \_S5 sleep type powers the VM off;
 *  - the PM timer: a free-running 32-bit counter at 3.579545 MHz;
 *  - the reset register: writing ACPI_RESET_VALUE resets the guest;
 *  - GPE0 status/enable: present (ACPI wants the block), no sources yet.
 */
#include "vmm/irq.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <string.h>

#define PM1_STS_TMR		(1 << 0)
#define PM1_STS_PWRBTN		(1 << 8)
#define PM1_STS_WAK		(1 << 15)
#define PM1_CNT_SCI_EN		(1 << 0)
#define PM1_CNT_SLP_TYP_SHIFT	10
#define PM1_CNT_SLP_TYP_MASK	(7 << 10)
#define PM1_CNT_SLP_EN		(1 << 13)

struct acpi_pm_regs {
	u16 sts, en, cnt;
	u16 gpe_sts, gpe_en;
	bool sci_level;
};

struct acpi_pm {
	struct acpi_pm_regs r;
	pthread_mutex_t lock;
	struct vm *vm;
	struct vm_device vd;
};

static struct acpi_pm *pm;

static void update_sci(struct acpi_pm *p)
{
	bool level = (p->r.sts & p->r.en) || (p->r.gpe_sts & p->r.gpe_en);

	if (level != p->r.sci_level) {
		p->r.sci_level = level;
		irq__line(p->vm, IRQ_ACPI_SCI, level);
	}
}

/* the PM timer: monotonic host time at 3.579545 MHz, wrapping at 32 bits */
static u32 pm_timer(void)
{
	u64 ns = time_ns();

	return (u32)((ns / 1000000000ULL) * ACPI_PM_TIMER_HZ +
		     (ns % 1000000000ULL) * ACPI_PM_TIMER_HZ / 1000000000ULL);
}

/* The whole block 0x600-0x613 as bytes: PM1 events, PM1 control, timer,
 * reset (write-only), GPE0 status and enable. */
static void pm_read(void *dev, u64 off, void *data, u32 len)
{
	struct acpi_pm *p = dev;
	u8 regs[PORT_ACPI_SIZE], *d = data;
	u32 tmr = pm_timer();

	memset(regs, 0, sizeof(regs));
	pthread_mutex_lock(&p->lock);
	memcpy(regs + 0x0, &p->r.sts, 2);
	memcpy(regs + 0x2, &p->r.en, 2);
	memcpy(regs + 0x4, &p->r.cnt, 2);
	memcpy(regs + 0x8, &tmr, 4);
	memcpy(regs + 0x10, &p->r.gpe_sts, 2);
	memcpy(regs + 0x12, &p->r.gpe_en, 2);
	pthread_mutex_unlock(&p->lock);
	for (u32 i = 0; i < len; i++)
		d[i] = off + i < sizeof(regs) ? regs[off + i] : 0xff;
}

static void set_byte(u16 *reg, unsigned int byte, u8 v)
{
	*reg = (*reg & ~(0xff << (byte * 8))) | ((u16)v << (byte * 8));
}

static void pm_write(void *dev, u64 off, const void *data, u32 len)
{
	struct acpi_pm *p = dev;
	const u8 *d = data;
	bool s5 = false, reset = false;

	pthread_mutex_lock(&p->lock);
	for (u32 i = 0; i < len; i++) {
		u64 o = off + i;

		switch (o) {
		case 0x0: case 0x1:	/* PM1_STS: write 1 to clear */
			p->r.sts &= ~((u16)d[i] << ((o & 1) * 8));
			break;
		case 0x2: case 0x3:	/* PM1_EN */
			set_byte(&p->r.en, o & 1, d[i]);
			break;
		case 0x4: case 0x5: {	/* PM1_CNT */
			u16 v = p->r.cnt;

			set_byte(&v, o & 1, d[i]);
			if ((v & PM1_CNT_SLP_EN) &&
			    ((v & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT) == ACPI_S5_SLP_TYP)
				s5 = true;
			p->r.cnt = (v & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
			break;
		}
		case 0xc:		/* RESET_REG */
			reset = d[i] == ACPI_RESET_VALUE;
			break;
		case 0x10: case 0x11:	/* GPE0_STS: write 1 to clear */
			p->r.gpe_sts &= ~((u16)d[i] << ((o & 1) * 8));
			break;
		case 0x12: case 0x13:	/* GPE0_EN */
			set_byte(&p->r.gpe_en, o & 1, d[i]);
			break;
		}
	}
	update_sci(p);
	pthread_mutex_unlock(&p->lock);
	if (s5)
		vm__request_stop(p->vm, EXIT_POWEROFF, "guest powered off");
	else if (reset)
		vm__request_reset(p->vm, "ACPI reset register");
}

static const struct trap_ops pm_ops = {
	.read = pm_read,
	.write = pm_write,
};

void vm__powerdown(struct vm *vm)
{
	struct acpi_pm *p = pm;

	vm->powerdown_requested = true;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->r.sts |= PM1_STS_PWRBTN;
	update_sci(p);
	pthread_mutex_unlock(&p->lock);
}

static void acpi_pm_reset(struct vm_device *vd)
{
	struct acpi_pm *p = container_of(vd, struct acpi_pm, vd);

	pthread_mutex_lock(&p->lock);
	p->r.sts = p->r.en = p->r.gpe_sts = p->r.gpe_en = 0;
	p->r.cnt = PM1_CNT_SCI_EN;
	update_sci(p);
	pthread_mutex_unlock(&p->lock);
	p->vm->powerdown_requested = false;
}

static int acpi_pm__init(struct vm *vm)
{
	struct acpi_pm *p = xzalloc(sizeof(*p));
	int ret;

	pthread_mutex_init(&p->lock, NULL);
	p->vm = vm;
	p->r.cnt = PM1_CNT_SCI_EN;
	ret = bus__register(&vm->pio, PORT_ACPI_BASE, PORT_ACPI_SIZE, &pm_ops, p, "acpi-pm");
	if (ret) {
		free(p);
		return ret;
	}
	p->vd.name = "acpi-pm";
	p->vd.reset = acpi_pm_reset;
	vm__add_device(vm, &p->vd);
	pm = p;
	return 0;
}

static void acpi_pm__exit(struct vm *vm)
{
	if (!pm)
		return;
	bus__unregister(&vm->pio, PORT_ACPI_BASE, pm);
	vm__remove_device(vm, &pm->vd);
	free(pm);
	pm = NULL;
}
vm_initcall(INIT_DEVICE, acpi_pm__init, acpi_pm__exit, NULL);
