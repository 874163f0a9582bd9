// SPDX-License-Identifier: GPL-2.0
/* suspend, snapshot, migrate, device-add, device-remove: the refusal path. */
#include "vmm/lifecycle.h"
#include "vmm/api.h"
#include "vmm/vm.h"

#include <json-c/json.h>

static struct lifecycle_blocker *blockers;

void lifecycle__register_blocker(struct lifecycle_blocker *b)
{
	b->next = blockers;
	blockers = b;
}

int lifecycle__check(struct vm *vm, const char *op, char **err)
{
	for (struct lifecycle_blocker *b = blockers; b; b = b->next)
		if (b->refuse(vm, op, err))
			return -1;
	return 0;
}

static int lifecycle_cmd(struct vm *vm, const char *op, char **err)
{
	if (lifecycle__check(vm, op, err))
		return -1;
	return api__error(err, "%s is not available in this version of dpvm yet", op);
}

#define LIFECYCLE_COMMAND(fn, cmd, what, helptext)					\
	static int fn(struct vm *vm, json_object *args __unused,			\
		      json_object **ret __unused, char **err)				\
	{										\
		return lifecycle_cmd(vm, what, err);					\
	}										\
	static struct api_command fn##_cmd = { .name = cmd, .help = helptext,		\
					       .handler = fn };				\
	api_command(fn##_cmd)

LIFECYCLE_COMMAND(cmd_suspend, "suspend", "suspending the VM",
		  "save the VM's state and stop it (not with passthrough)");
LIFECYCLE_COMMAND(cmd_snapshot, "snapshot", "a snapshot",
		  "save the VM's state and keep running (not with passthrough)");
LIFECYCLE_COMMAND(cmd_migrate, "migrate", "migrating the VM",
		  "move the running VM to another host (not with passthrough)");
LIFECYCLE_COMMAND(cmd_device_add, "device-add", "adding a device while the VM runs",
		  "hot-add a device (not with passthrough)");
LIFECYCLE_COMMAND(cmd_device_remove, "device-remove", "removing a device while the VM runs",
		  "hot-remove a device (not with passthrough)");
