// SPDX-License-Identifier: GPL-2.0
/* The core management commands: help, status, powerdown, reset, quit. */
#include "vmm/api.h"
#include "vmm/boot.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <string.h>

static int cmd_help(struct vm *vm __unused, json_object *args __unused, json_object **ret,
		    char **err __unused)
{
	json_object *a = json_object_new_array();

	for (const struct api_command *c = api__commands(); c; c = c->next) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(c->name));
		if (c->args_help)
			json_object_object_add(o, "args", json_object_new_string(c->args_help));
		json_object_object_add(o, "help", json_object_new_string(c->help));
		json_object_array_add(a, o);
	}
	*ret = json_object_new_object();
	json_object_object_add(*ret, "commands", a);
	return 0;
}

/* every trapped range with its accesses, busiest first: where the exits go */
static int by_hits(const void *a, const void *b)
{
	const struct trap *x = a, *y = b;

	return x->hits < y->hits ? 1 : x->hits > y->hits ? -1 : 0;
}

static json_object *traps_json(struct vm *vm)
{
	json_object *a = json_object_new_array();
	struct bus *buses[] = { &vm->pio, &vm->mmio };

	for (unsigned int b = 0; b < ARRAY_SIZE(buses); b++) {
		struct trap *t;
		unsigned int n = bus__snapshot(buses[b], &t);
		json_object *u = json_object_new_object();
		char buf[48];

		qsort(t, n, sizeof(*t), by_hits);
		for (unsigned int i = 0; i < n; i++) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(t[i].name));
			snprintf(buf, sizeof(buf), "%s %#llx+%#llx", buses[b]->name,
				 (unsigned long long)t[i].base, (unsigned long long)t[i].len);
			json_object_object_add(o, "range", json_object_new_string(buf));
			json_object_object_add(o, "accesses", json_object_new_int64(t[i].hits));
			json_object_array_add(a, o);
		}
		json_object_object_add(u, "name", json_object_new_string("(unclaimed)"));
		json_object_object_add(u, "range", json_object_new_string(buses[b]->name));
		json_object_object_add(u, "accesses",
				       json_object_new_int64(__atomic_load_n(&buses[b]->unclaimed,
									       __ATOMIC_RELAXED)));
		json_object_array_add(a, u);
		free(t);
	}
	return a;
}

static int cmd_status(struct vm *vm, json_object *args __unused, json_object **ret,
		      char **err __unused)
{
	json_object *o = json_object_new_object(), *devs = json_object_new_array();
	u64 exits = 0, io = 0, mmio = 0;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		exits += vm->vcpus[i]->nr_exits;
		io += vm->vcpus[i]->nr_io_exits;
		mmio += vm->vcpus[i]->nr_mmio_exits;
	}
	json_object_object_add(o, "name", json_object_new_string(vm->name));
	json_object_object_add(o, "state", json_object_new_string(
		vm->pause_depth ? "paused" : vm->powerdown_requested ? "powering-down" : "running"));
	json_object_object_add(o, "uptime-ms",
			       json_object_new_int64((time_ns() - vm->started_ns) / 1000000));
	json_object_object_add(o, "boots", json_object_new_int64(vm->boot_count + 1));
	json_object_object_add(o, "cpus", json_object_new_int(vm->nr_vcpus));
	json_object_object_add(o, "memory", json_object_new_int64(vm->mem.size));
	json_object_object_add(o, "memory-reserved", json_object_new_boolean(vm->mem.locked));
	json_object_object_add(o, "hugepages", json_object_new_boolean(vm->mem.hugepages));
	json_object_object_add(o, "kernel", json_object_new_string(boot_image.kernel.path));
	json_object_object_add(o, "exits", json_object_new_int64(exits));
	json_object_object_add(o, "io-exits", json_object_new_int64(io));
	json_object_object_add(o, "mmio-exits", json_object_new_int64(mmio));

	pthread_mutex_lock(&vm->devices_lock);
	for (struct vm_device *vd = vm->devices; vd; vd = vd->next) {
		json_object *d = vd->status ? vd->status(vd) : json_object_new_object();

		if (!json_object_object_get_ex(d, "name", NULL))
			json_object_object_add(d, "name", json_object_new_string(vd->name));
		json_object_array_add(devs, d);
	}
	pthread_mutex_unlock(&vm->devices_lock);
	json_object_object_add(o, "devices", devs);
	json_object_object_add(o, "traps", traps_json(vm));
	*ret = o;
	return 0;
}

static int cmd_powerdown(struct vm *vm, json_object *args __unused, json_object **ret __unused,
			 char **err __unused)
{
	vm__powerdown(vm);
	return 0;
}

static int cmd_reset(struct vm *vm, json_object *args __unused, json_object **ret __unused,
		     char **err __unused)
{
	vm__request_reset(vm, "API");
	return 0;
}

static int cmd_quit(struct vm *vm, json_object *args __unused, json_object **ret __unused,
		    char **err __unused)
{
	vm__request_stop(vm, EXIT_POWEROFF, "API quit");
	return 0;
}

static struct api_command help_cmd = {
	.name = "help", .help = "list the commands", .handler = cmd_help,
};
static struct api_command status_cmd = {
	.name = "status", .help = "the VM's state, resources and devices", .handler = cmd_status,
};
static struct api_command powerdown_cmd = {
	.name = "powerdown", .help = "press the ACPI power button (the guest shuts down)",
	.handler = cmd_powerdown,
};
static struct api_command reset_cmd = {
	.name = "reset", .help = "reset the guest at once (like the reset button)",
	.handler = cmd_reset,
};
static struct api_command quit_cmd = {
	.name = "quit", .help = "stop the guest at once and end dpvm", .handler = cmd_quit,
};
api_command(help_cmd);
api_command(status_cmd);
api_command(powerdown_cmd);
api_command(reset_cmd);
api_command(quit_cmd);

/* registers of every vCPU, read while they are paused (QEMU's "info registers") */
static int cmd_regs(struct vm *vm, json_object *args __unused, json_object **ret, char **err)
{
	json_object *a = json_object_new_array();
	int failed = 0;

	vm__pause(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct kvm_regs r;
		struct kvm_sregs s;
		json_object *o = json_object_new_object();
		char buf[32];

		if (ioctl(vm->vcpus[i]->fd, KVM_GET_REGS, &r) < 0 ||
		    ioctl(vm->vcpus[i]->fd, KVM_GET_SREGS, &s) < 0) {
			failed = errno;
			json_object_put(o);
			break;
		}
#define REG(name, v) do { snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)(v)); \
			  json_object_object_add(o, name, json_object_new_string(buf)); } while (0)
		REG("rip", r.rip); REG("rsp", r.rsp); REG("rflags", r.rflags);
		REG("rax", r.rax); REG("rbx", r.rbx); REG("rcx", r.rcx); REG("rdx", r.rdx);
		REG("rsi", r.rsi); REG("rdi", r.rdi); REG("rbp", r.rbp);
		REG("cr0", s.cr0); REG("cr2", s.cr2); REG("cr3", s.cr3); REG("cr4", s.cr4);
		REG("efer", s.efer); REG("cs", s.cs.selector);
#undef REG
		json_object_object_add(o, "exits", json_object_new_int64(vm->vcpus[i]->nr_exits));
		json_object_array_add(a, o);
	}
	vm__resume(vm);
	if (failed) {
		json_object_put(a);
		return api__error(err, "reading vCPU registers failed: %s", strerror(failed));
	}
	*ret = json_object_new_object();
	json_object_object_add(*ret, "vcpus", a);
	return 0;
}

static struct api_command regs_cmd = {
	.name = "regs", .help = "the vCPUs' registers (the VM pauses for a moment)",
	.handler = cmd_regs,
};
api_command(regs_cmd);
