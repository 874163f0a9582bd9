// SPDX-License-Identifier: GPL-2.0
/*
 * An exit port compatible with QEMU's isa-debug-exit: a write of V ends dpvm
 * with status (V << 1) | 1.  Enabled with --exit-port PORT (QEMU's usual
 * iobase is 0xf4), so test programs written for QEMU run unchanged.
 */
#include "vmm/log.h"
#include "vmm/vm.h"

#include <string.h>

static void exit_port_write(void *dev, u64 off __unused, const void *data, u32 len)
{
	struct vm *vm = dev;
	u32 v = 0;

	memcpy(&v, data, len > 4 ? 4 : len);
	vm__request_stop(vm, ((v << 1) | 1) & 0xff, "exit port");
}

static void exit_port_read(void *dev __unused, u64 off __unused, void *data, u32 len)
{
	memset(data, 0xff, len);
}

static const struct trap_ops exit_port_ops = {
	.read = exit_port_read,
	.write = exit_port_write,
};

static int exit_port__init(struct vm *vm)
{
	int ret;

	if (vm->cfg->exit_port < 0)
		return 0;
	ret = bus__register(&vm->pio, vm->cfg->exit_port, 4, &exit_port_ops, vm, "exit-port");
	if (ret)
		pr_err("--exit-port %#x: the port is already used by another device; pick another",
		       vm->cfg->exit_port);
	return ret;
}

static void exit_port__exit(struct vm *vm)
{
	if (vm->cfg->exit_port >= 0)
		bus__unregister(&vm->pio, vm->cfg->exit_port, vm);
}
vm_initcall(INIT_DEVICE, exit_port__init, exit_port__exit, NULL);
