// SPDX-License-Identifier: GPL-2.0
/*
 * Devices from the configuration's "devices" array (and the flags that add
 * to it): each entry's type creates it at its init level, in order; they
 * are removed in reverse order when the VM is torn down.
 */
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static void remove_devices(struct vm *vm, int level)
{
	struct vm_config *cfg = vm->cfg;

	for (unsigned int i = cfg->nr_devices; i--;) {
		struct device_config *dc = &cfg->devices[i];
		struct device_type *t = device_type__find(dc->type);

		if (!dc->vd || (t->passthru ? INIT_PASSTHRU : INIT_DEVICE) != level)
			continue;
		if (dc->vd->remove)
			dc->vd->remove(dc->vd);
		dc->vd = NULL;
	}
}

static int create_devices(struct vm *vm, int level)
{
	struct vm_config *cfg = vm->cfg;

	for (unsigned int i = 0; i < cfg->nr_devices; i++) {
		struct device_config *dc = &cfg->devices[i];
		struct device_type *t = device_type__find(dc->type);
		int ret;

		if ((t->passthru ? INIT_PASSTHRU : INIT_DEVICE) != level)
			continue;
		ret = t->create(vm, dc);
		if (ret) {
			remove_devices(vm, level);
			return ret;
		}
	}
	return 0;
}

static int devices__init(struct vm *vm) { return create_devices(vm, INIT_DEVICE); }
static void devices__exit(struct vm *vm) { remove_devices(vm, INIT_DEVICE); }
vm_initcall(INIT_DEVICE, devices__init, devices__exit, NULL);

static int passthru_devices__init(struct vm *vm) { return create_devices(vm, INIT_PASSTHRU); }
static void passthru_devices__exit(struct vm *vm) { remove_devices(vm, INIT_PASSTHRU); }
vm_initcall(INIT_PASSTHRU, passthru_devices__init, passthru_devices__exit, NULL);
