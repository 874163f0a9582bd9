// SPDX-License-Identifier: GPL-2.0
/*
 * pvpanic (QEMU's ISA device, ACPI id QEMU0001 at port 0x505): the guest
 * kernel's pvpanic driver writes 1 here when it panics, and dpvm ends with
 * EXIT_PANIC instead of whatever the guest does next (panic=-1 reboots).
 */
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#include <string.h>

#define PVPANIC_PANICKED	(1 << 0)
#define PVPANIC_CRASH_LOADED	(1 << 1)

static void pvpanic_read(void *dev __unused, u64 off __unused, void *data, u32 len)
{
	memset(data, 0, len);
	/* the events we understand */
	*(u8 *)data = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
}

static void pvpanic_write(void *dev, u64 off __unused, const void *data, u32 len __unused)
{
	struct vm *vm = dev;
	u8 v = *(const u8 *)data;

	if (v & PVPANIC_PANICKED) {
		pr_info("the guest kernel panicked");
		vm__request_stop(vm, EXIT_PANIC, "guest panic");
	} else if (v & PVPANIC_CRASH_LOADED) {
		pr_info("the guest kernel crashed and is loading its crash kernel");
	}
}

static const struct trap_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

static int pvpanic__init(struct vm *vm)
{
	return bus__register(&vm->pio, PORT_PVPANIC, 1, &pvpanic_ops, vm, "pvpanic");
}

static void pvpanic__exit(struct vm *vm)
{
	bus__unregister(&vm->pio, PORT_PVPANIC, vm);
}
vm_initcall(INIT_DEVICE, pvpanic__init, pvpanic__exit, NULL);
