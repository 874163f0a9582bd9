/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_VM_H
#define DPVM_VM_H

#include "devices/bus.h"
#include "vmm/config.h"
#include "vmm/memory.h"
#include "vmm/types.h"

#include <pthread.h>

struct vcpu;
struct evloop;
struct pci_host;
struct irq_state;

/*
 * Exit statuses of `dpvm run` (documented in dpvm.1 and docs/architecture.md).
 * Odd statuses are left to the isa-debug-exit compatible port, which ends
 * dpvm with (V << 1) | 1.
 */
enum {
	EXIT_POWEROFF	= 0,	/* guest powered off (ACPI S5), or `ctl quit` */
	EXIT_ERROR	= 1,	/* dpvm failed at run time */
	EXIT_USAGE	= 2,	/* bad flags or config: nothing was started */
	EXIT_RESET	= 4,	/* guest reset with --on-reboot exit */
	EXIT_PANIC	= 6,	/* guest kernel panic (pvpanic) */
	EXIT_TRIPLE_FAULT = 8,	/* a vCPU triple-faulted (KVM_EXIT_SHUTDOWN) */
	EXIT_FORCED	= 10,	/* forced stop after the powerdown timeout */
};

/*
 * Init levels, run in this order at power-on; exits run in reverse.  A
 * failure at any step unwinds every earlier step.  Steps with a reset hook
 * run it, in the same order, when the guest reboots.
 */
enum init_level {
	INIT_CORE,	/* /dev/kvm, the VM, guest memory */
	INIT_PLATFORM,	/* irqchip, PIT, interrupt routing */
	INIT_BUS,	/* PCI host bridge */
	INIT_DEVICE,	/* emulated devices */
	INIT_PASSTHRU,	/* assigned host devices */
	INIT_FIRMWARE,	/* kernel loading, ACPI tables: they describe the devices */
	INIT_VCPU,	/* vCPUs, with their reset state */
	INIT_LATE,	/* management API, console */
	NR_INIT_LEVELS
};

struct vm_initcall {
	const char *name;
	enum init_level level;
	int (*init)(struct vm *vm);
	void (*exit)(struct vm *vm);
	void (*reset)(struct vm *vm);
	struct vm_initcall *next;
};

void vm__add_initcall(struct vm_initcall *ic);

#define vm_initcall(lvl, _init, _exit, _reset)				\
	static struct vm_initcall __initcall_##_init = {		\
		.name = #_init, .level = lvl, .init = _init,		\
		.exit = _exit, .reset = _reset,				\
	};								\
	static void __attribute__((constructor)) __reg_##_init(void)	\
	{								\
		vm__add_initcall(&__initcall_##_init);			\
	}

/*
 * A device instance known to the VM, for reset (and later save/restore and
 * hot-remove).  Devices embed one and add it with vm__add_device().
 */
struct vm_device {
	const char *name;
	void (*reset)(struct vm_device *vd);
	void (*remove)(struct vm_device *vd);
	/* one line of JSON-ready facts for `ctl status`; may be NULL */
	struct json_object *(*status)(struct vm_device *vd);
	struct vm_device *next;
};

/* requests to the main thread; a higher one overrides a lower one */
enum vm_request {
	VM_REQ_NONE,
	VM_REQ_RESET,	/* guest reset: reboot in place or exit */
	VM_REQ_STOP,	/* end dpvm with vm->exit_status */
};

struct vm {
	struct vm_config *cfg;
	const char *name;

	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	int max_vcpus;
	struct kvm_cpuid2 *supported_cpuid;
	unsigned int phys_bits;

	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct irq_state *irq;
	struct pci_host *pci;
	struct evloop *loop;	/* the main thread's event loop */

	unsigned int nr_vcpus;
	struct vcpu **vcpus;

	/* pause/resume of all vCPUs (vm__pause) */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	unsigned int pause_depth;
	unsigned int nr_parked;
	bool quit;		/* vCPU threads leave their loops */

	/* requests from vCPUs and devices to the main thread */
	int request_fd;		/* eventfd */
	int request;		/* enum vm_request, highest wins */
	int exit_status;
	const char *stop_reason;

	struct vm_device *devices;
	pthread_mutex_t devices_lock;

	unsigned int initcalls_done[NR_INIT_LEVELS];
	u64 boot_count;
	u64 started_ns;
	bool powerdown_requested;
};

/* create everything in init order; on failure nothing is left behind */
int vm__create(struct vm *vm, struct vm_config *cfg);
/* run until the guest stops; returns the exit status */
int vm__run(struct vm *vm);
void vm__destroy(struct vm *vm);

/* stop every vCPU outside KVM_RUN (nests); callable from any non-vCPU thread */
void vm__pause(struct vm *vm);
void vm__resume(struct vm *vm);

/* from any thread, vCPUs included: ask the main thread to stop or reset */
void vm__request_stop(struct vm *vm, int status, const char *reason);
void vm__request_reset(struct vm *vm, const char *reason);
/* ask the guest to power down (ACPI power button); see devices/acpi-pm.c */
void vm__powerdown(struct vm *vm);

void vm__add_device(struct vm *vm, struct vm_device *vd);
void vm__remove_device(struct vm *vm, struct vm_device *vd);

/* KVM ioctl on the VM fd with errno preserved; -errno on failure */
int vm__ioctl(struct vm *vm, unsigned long req, void *arg);

/* The single VM of this process, for signal handlers and the API. */
extern struct vm *the_vm;

#endif
