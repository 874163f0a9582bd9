// SPDX-License-Identifier: GPL-2.0
#include "vmm/irq.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <string.h>

#define MAX_ROUTES	1024
#define TSS_ADDR	0xfffbd000ULL
#define IDENTITY_MAP_ADDR 0xfffbc000ULL

struct irq_state {
	pthread_mutex_t lock;
	struct kvm_irq_routing *routing;
	unsigned int next_gsi;
	/* power-on state of the irqchips and PIT, restored at reset */
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
};

static int push_routes(struct vm *vm)
{
	int ret = vm__ioctl(vm, KVM_SET_GSI_ROUTING, vm->irq->routing);

	if (ret)
		pr_err("KVM_SET_GSI_ROUTING failed: %s", strerror(-ret));
	return ret;
}

static void add_route(struct irq_state *st, struct kvm_irq_routing_entry e)
{
	st->routing->entries[st->routing->nr++] = e;
}

/* The default table: ISA IRQs to both PIC and IOAPIC, 16..23 to the IOAPIC */
static void default_routes(struct irq_state *st)
{
	st->routing->nr = 0;
	for (unsigned int gsi = 0; gsi < IOAPIC_NR_PINS; gsi++) {
		if (gsi < 16 && gsi != 2) {
			add_route(st, (struct kvm_irq_routing_entry){
				.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
					       KVM_IRQCHIP_PIC_SLAVE, .pin = gsi % 8 } });
		}
		add_route(st, (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi } });
	}
	st->next_gsi = IOAPIC_NR_PINS;
}

int irq__line(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	return vm__ioctl(vm, KVM_IRQ_LINE, &l);
}

int irq__add_msi_route(struct vm *vm, u64 addr, u32 data)
{
	struct irq_state *st = vm->irq;
	int gsi, ret;

	pthread_mutex_lock(&st->lock);
	if (st->routing->nr >= MAX_ROUTES) {
		pthread_mutex_unlock(&st->lock);
		pr_err("out of interrupt routes (%d)", MAX_ROUTES);
		return -ENOSPC;
	}
	gsi = st->next_gsi++;
	add_route(st, (struct kvm_irq_routing_entry){
		.gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = (u32)addr, .address_hi = addr >> 32, .data = data } });
	ret = push_routes(vm);
	if (ret) {
		st->routing->nr--;
		gsi = ret;
	}
	pthread_mutex_unlock(&st->lock);
	return gsi;
}

static struct kvm_irq_routing_entry *find_route(struct irq_state *st, unsigned int gsi)
{
	for (unsigned int i = 0; i < st->routing->nr; i++)
		if (st->routing->entries[i].gsi == gsi &&
		    st->routing->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &st->routing->entries[i];
	return NULL;
}

int irq__update_msi_route(struct vm *vm, unsigned int gsi, u64 addr, u32 data)
{
	struct irq_state *st = vm->irq;
	struct kvm_irq_routing_entry *e;
	int ret = -ENOENT;

	pthread_mutex_lock(&st->lock);
	e = find_route(st, gsi);
	if (e) {
		if (e->u.msi.address_lo == (u32)addr && e->u.msi.address_hi == addr >> 32 &&
		    e->u.msi.data == data) {
			ret = 0;
		} else {
			e->u.msi.address_lo = (u32)addr;
			e->u.msi.address_hi = addr >> 32;
			e->u.msi.data = data;
			ret = push_routes(vm);
		}
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

void irq__del_msi_route(struct vm *vm, unsigned int gsi)
{
	struct irq_state *st = vm->irq;
	struct kvm_irq_routing_entry *e;

	pthread_mutex_lock(&st->lock);
	e = find_route(st, gsi);
	if (e) {
		*e = st->routing->entries[--st->routing->nr];
		push_routes(vm);
	}
	pthread_mutex_unlock(&st->lock);
}

int irq__add_irqfd(struct vm *vm, int fd, unsigned int gsi, int resample_fd)
{
	struct kvm_irqfd f = { .fd = fd, .gsi = gsi };

	if (resample_fd >= 0) {
		f.flags = KVM_IRQFD_FLAG_RESAMPLE;
		f.resamplefd = resample_fd;
	}
	return vm__ioctl(vm, KVM_IRQFD, &f);
}

int irq__del_irqfd(struct vm *vm, int fd, unsigned int gsi)
{
	struct kvm_irqfd f = { .fd = fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };

	return vm__ioctl(vm, KVM_IRQFD, &f);
}

static int ioeventfd(struct vm *vm, u64 addr, u32 len, int fd, bool pio, bool del)
{
	struct kvm_ioeventfd e = {
		.addr = addr, .len = len, .fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (del ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};

	return vm__ioctl(vm, KVM_IOEVENTFD, &e);
}

int irq__add_ioeventfd(struct vm *vm, u64 addr, u32 len, int fd, bool pio)
{
	return ioeventfd(vm, addr, len, fd, pio, false);
}

int irq__del_ioeventfd(struct vm *vm, u64 addr, u32 len, int fd, bool pio)
{
	return ioeventfd(vm, addr, len, fd, pio, true);
}

int irq__signal_msi(struct vm *vm, u64 addr, u32 data)
{
	struct kvm_msi msi = { .address_lo = (u32)addr, .address_hi = addr >> 32, .data = data };

	return vm__ioctl(vm, KVM_SIGNAL_MSI, &msi);
}

static int irq__init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	u64 idmap = IDENTITY_MAP_ADDR;
	struct irq_state *st;
	int ret;

	/* Intel needs these two pages below 4 GiB; they sit in the top hole */
	vm__ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	ret = vm__ioctl(vm, KVM_SET_TSS_ADDR, (void *)(uintptr_t)TSS_ADDR);
	if (ret) {
		pr_err("KVM_SET_TSS_ADDR failed: %s", strerror(-ret));
		return ret;
	}
	ret = vm__ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	if (ret) {
		pr_err("KVM_CREATE_IRQCHIP failed: %s; dpvm needs KVM's in-kernel irqchip",
		       strerror(-ret));
		return ret;
	}
	ret = vm__ioctl(vm, KVM_CREATE_PIT2, &pit);
	if (ret) {
		pr_err("KVM_CREATE_PIT2 failed: %s", strerror(-ret));
		return ret;
	}

	st = xzalloc(sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	st->routing = xzalloc(sizeof(*st->routing) +
			      MAX_ROUTES * sizeof(struct kvm_irq_routing_entry));
	default_routes(st);
	vm->irq = st;
	ret = push_routes(vm);
	if (ret)
		goto err_free;

	for (unsigned int i = 0; i < ARRAY_SIZE(st->chips); i++) {
		st->chips[i].chip_id = i;
		vm__ioctl(vm, KVM_GET_IRQCHIP, &st->chips[i]);
	}
	vm__ioctl(vm, KVM_GET_PIT2, &st->pit);
	return 0;

err_free:
	free(st->routing);
	free(st);
	vm->irq = NULL;
	return ret;
}

static void irq__exit(struct vm *vm)
{
	if (!vm->irq)
		return;
	free(vm->irq->routing);
	pthread_mutex_destroy(&vm->irq->lock);
	free(vm->irq);
	vm->irq = NULL;
}

/* at reset: PIC, IOAPIC and PIT back to their power-on state; MSI routes
 * stay, their devices are reset separately */
static void irq__reset(struct vm *vm)
{
	struct irq_state *st = vm->irq;

	for (unsigned int i = 0; i < ARRAY_SIZE(st->chips); i++)
		vm__ioctl(vm, KVM_SET_IRQCHIP, &st->chips[i]);
	vm__ioctl(vm, KVM_SET_PIT2, &st->pit);
}
vm_initcall(INIT_PLATFORM, irq__init, irq__exit, irq__reset);
