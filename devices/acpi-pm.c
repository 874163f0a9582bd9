// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI fixed hardware, as the FADT describes it (vmm/acpi.c):
 *  - PM1a event block (status + enable): the power button, raising the SCI
 *    (IRQ 9, level) while an enabled status bit is set;
 *  - PM1a control block: SCI_EN always set (there is no SMM to hand over
 *    from), and SLP_EN with the \_S5 sleep type powers the VM off;
 *  - the reset register: writing ACPI_RESET_VALUE resets the guest.
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
#define ACPI_S5_SLP_TYP		5	/* matches \_S5 in the DSDT */

struct acpi_pm_regs {
	u16 sts, en, cnt;
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
	bool level = (p->r.sts & p->r.en) != 0;

	if (level != p->r.sci_level) {
		p->r.sci_level = level;
		irq__line(p->vm, IRQ_ACPI_SCI, level);
	}
}

static void reg_read(struct acpi_pm *p, u64 off, u8 *data, u32 len)
{
	/* the event and control blocks are laid out as one 6-byte file */
	u8 regs[6];

	memcpy(regs + 0, &p->r.sts, 2);
	memcpy(regs + 2, &p->r.en, 2);
	memcpy(regs + 4, &p->r.cnt, 2);
	for (u32 i = 0; i < len; i++)
		data[i] = off + i < sizeof(regs) ? regs[off + i] : 0xff;
}

static void pm_read(void *dev, u64 off, void *data, u32 len)
{
	struct acpi_pm *p = dev;

	pthread_mutex_lock(&p->lock);
	reg_read(p, off, data, len);
	pthread_mutex_unlock(&p->lock);
}

static void pm_write(void *dev, u64 off, const void *data, u32 len)
{
	struct acpi_pm *p = dev;
	const u8 *d = data;
	bool s5 = false;

	pthread_mutex_lock(&p->lock);
	for (u32 i = 0; i < len; i++) {
		u64 o = off + i;
		unsigned int shift = (o & 1) * 8;

		switch (o) {
		case 0: case 1:		/* PM1_STS: write 1 to clear */
			p->r.sts &= ~((u16)d[i] << shift);
			break;
		case 2: case 3:		/* PM1_EN */
			p->r.en = (p->r.en & ~(0xff << shift)) | ((u16)d[i] << shift);
			break;
		case 4: case 5: {	/* PM1_CNT */
			u16 v = (p->r.cnt & ~(0xff << shift)) | ((u16)d[i] << shift);

			if ((v & PM1_CNT_SLP_EN) &&
			    ((v & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT) == ACPI_S5_SLP_TYP)
				s5 = true;
			p->r.cnt = (v & ~PM1_CNT_SLP_EN) | PM1_CNT_SCI_EN;
			break;
		}
		}
	}
	update_sci(p);
	pthread_mutex_unlock(&p->lock);
	if (s5)
		vm__request_stop(p->vm, EXIT_POWEROFF, "guest powered off");
}

static const struct trap_ops pm_ops = {
	.read = pm_read,
	.write = pm_write,
};

static void reset_write(void *dev, u64 off __unused, const void *data, u32 len __unused)
{
	struct acpi_pm *p = dev;

	if (*(const u8 *)data == ACPI_RESET_VALUE)
		vm__request_reset(p->vm, "ACPI reset register");
}

static const struct trap_ops reset_ops = {
	.write = reset_write,
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
	p->r.sts = p->r.en = 0;
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
	ret = bus__register(&vm->pio, PORT_ACPI_PM1_EVT, 6, &pm_ops, p, "acpi-pm");
	if (ret)
		goto err_free;
	ret = bus__register(&vm->pio, PORT_ACPI_RESET, 1, &reset_ops, p, "acpi-reset");
	if (ret)
		goto err_unreg;
	p->vd.name = "acpi-pm";
	p->vd.reset = acpi_pm_reset;
	vm__add_device(vm, &p->vd);
	pm = p;
	return 0;

err_unreg:
	bus__unregister(&vm->pio, PORT_ACPI_PM1_EVT, p);
err_free:
	free(p);
	return ret;
}

static void acpi_pm__exit(struct vm *vm)
{
	if (!pm)
		return;
	bus__unregister(&vm->pio, PORT_ACPI_RESET, pm);
	bus__unregister(&vm->pio, PORT_ACPI_PM1_EVT, pm);
	vm__remove_device(vm, &pm->vd);
	free(pm);
	pm = NULL;
}
vm_initcall(INIT_DEVICE, acpi_pm__init, acpi_pm__exit, NULL);
