// SPDX-License-Identifier: GPL-2.0
#include "vmm/vm.h"
#include "vmm/evloop.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct vm *the_vm;

/* initcalls sorted by level, in registration order within a level */
static struct vm_initcall *initcalls;

void vm__add_initcall(struct vm_initcall *ic)
{
	struct vm_initcall **pp = &initcalls;

	while (*pp && (*pp)->level <= ic->level)
		pp = &(*pp)->next;
	ic->next = *pp;
	*pp = ic;
}

int vm__ioctl(struct vm *vm, unsigned long req, void *arg)
{
	int ret = ioctl(vm->vm_fd, req, arg);

	return ret < 0 ? -errno : ret;
}

static int kvm__open(struct vm *vm)
{
	struct kvm_cpuid2 *c;
	int ret, nent = 128;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ret = -errno;
		if (errno == ENOENT)
			pr_err("/dev/kvm does not exist: load kvm-intel or kvm-amd, "
			       "or enable virtualization in the firmware");
		else
			pr_err("/dev/kvm: %s; add yourself to the kvm group or run as root",
			       strerror(errno));
		return ret;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		pr_err("/dev/kvm speaks an unknown KVM API version; this kernel is not supported");
		return -ENOTSUP;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_VM failed: %s", strerror(errno));
		return ret;
	}
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size <= 0) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE failed");
		return -EINVAL;
	}
	for (;;) {
		c = xzalloc(sizeof(*c) + nent * sizeof(c->entries[0]));
		c->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		ret = -errno;
		free(c);
		if (ret != -E2BIG || nent > 4096) {
			pr_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-ret));
			return ret;
		}
		nent *= 2;
	}
	vm->supported_cpuid = c;
	vm->phys_bits = 36;
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0x80000008)
			vm->phys_bits = c->entries[i].eax & 0xff;
	return 0;
}

static void run_exits(struct vm *vm, int from_level)
{
	for (int lvl = from_level; lvl >= 0; lvl--) {
		/* exits of one level in reverse registration order */
		struct vm_initcall *done[64];
		unsigned int n = 0;

		for (struct vm_initcall *ic = initcalls; ic; ic = ic->next)
			if ((int)ic->level == lvl && n < vm->initcalls_done[lvl])
				done[n++] = ic;
		while (n--) {
			if (done[n]->exit)
				done[n]->exit(vm);
		}
		vm->initcalls_done[lvl] = 0;
	}
}

int vm__create(struct vm *vm, struct vm_config *cfg)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->name = cfg->name;
	vm->kvm_fd = vm->vm_fd = vm->request_fd = vm->mem.fd = -1;
	vm->nr_vcpus = cfg->nr_cpus;
	vm->started_ns = time_ns();
	the_vm = vm;
	bus__init(&vm->pio, "port");
	bus__init(&vm->mmio, "MMIO");
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	pthread_mutex_init(&vm->devices_lock, NULL);

	ret = kvm__open(vm);
	if (ret)
		goto err;
	vm->loop = evloop__new("main");
	vm->request_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!vm->loop || vm->request_fd < 0) {
		ret = -ENOMEM;
		goto err;
	}

	for (int lvl = 0; lvl < NR_INIT_LEVELS; lvl++) {
		for (struct vm_initcall *ic = initcalls; ic; ic = ic->next) {
			if ((int)ic->level != lvl)
				continue;
			ret = ic->init(vm);
			if (ret) {
				pr_debug("init %s failed: %d", ic->name, ret);
				run_exits(vm, lvl);
				goto err;
			}
			vm->initcalls_done[lvl]++;
		}
	}
	return 0;

err:
	vm__destroy(vm);
	return ret ? ret : -EINVAL;
}

void vm__pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_depth++ == 0) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus && vm->vcpus[i] && vm->vcpus[i]->started)
				vcpu__kick(vm->vcpus[i]);
	}
	while (vm->nr_parked < vm->nr_vcpus && vm->vcpus && vm->vcpus[0] &&
	       vm->vcpus[0]->started)
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm__resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->pause_depth && --vm->pause_depth == 0)
		pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

static void post_request(struct vm *vm, int req)
{
	int cur = __atomic_load_n(&vm->request, __ATOMIC_ACQUIRE);
	u64 one = 1;

	while (cur < req &&
	       !__atomic_compare_exchange_n(&vm->request, &cur, req, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	if (write(vm->request_fd, &one, sizeof(one)) < 0)
		return;
}

void vm__request_stop(struct vm *vm, int status, const char *reason)
{
	pthread_mutex_lock(&vm->pause_lock);
	if (!vm->stop_reason) {
		vm->exit_status = status;
		vm->stop_reason = reason;
	}
	pthread_mutex_unlock(&vm->pause_lock);
	post_request(vm, VM_REQ_STOP);
}

void vm__request_reset(struct vm *vm, const char *reason)
{
	pr_debug("guest reset requested (%s)", reason);
	post_request(vm, VM_REQ_RESET);
}

void vm__add_device(struct vm *vm, struct vm_device *vd)
{
	struct vm_device **pp;

	pthread_mutex_lock(&vm->devices_lock);
	for (pp = &vm->devices; *pp; pp = &(*pp)->next)
		;
	vd->next = NULL;
	*pp = vd;
	pthread_mutex_unlock(&vm->devices_lock);
}

void vm__remove_device(struct vm *vm, struct vm_device *vd)
{
	pthread_mutex_lock(&vm->devices_lock);
	for (struct vm_device **pp = &vm->devices; *pp; pp = &(*pp)->next) {
		if (*pp == vd) {
			*pp = vd->next;
			break;
		}
	}
	pthread_mutex_unlock(&vm->devices_lock);
}

/* Guest reset: every device, then the firmware (kernel reload), then vCPUs */
static void vm__reset(struct vm *vm)
{
	pthread_mutex_lock(&vm->devices_lock);
	for (struct vm_device *vd = vm->devices; vd; vd = vd->next)
		if (vd->reset)
			vd->reset(vd);
	pthread_mutex_unlock(&vm->devices_lock);
	for (struct vm_initcall *ic = initcalls; ic; ic = ic->next)
		if (ic->reset)
			ic->reset(vm);
	vm->boot_count++;
}

static void handle_request(int fd, u32 events __unused, void *opaque)
{
	struct vm *vm = opaque;
	u64 v;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
	switch (__atomic_load_n(&vm->request, __ATOMIC_ACQUIRE)) {
	case VM_REQ_RESET:
		if (vm->cfg->on_reboot == ON_REBOOT_EXIT) {
			vm__request_stop(vm, EXIT_RESET, "guest reset");
			return;
		}
		vm__pause(vm);
		pr_info("guest reset: restarting it");
		vm__reset(vm);
		pthread_mutex_lock(&vm->pause_lock);
		/* a stop that arrived meanwhile stays posted */
		int reset = VM_REQ_RESET;
		__atomic_compare_exchange_n(&vm->request, &reset, VM_REQ_NONE, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		pthread_mutex_unlock(&vm->pause_lock);
		vm__resume(vm);
		break;
	case VM_REQ_STOP:
		evloop__stop(vm->loop);
		break;
	}
}

/*
 * SIGINT/SIGTERM/SIGHUP: the first asks the guest to power down (ACPI power
 * button) and arms a timer; a second signal, or the timer, forces the stop.
 */
struct signal_state {
	struct vm *vm;
	int sfd, tfd;
};

static void handle_timeout(int fd, u32 events __unused, void *opaque)
{
	struct vm *vm = opaque;
	u64 v;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
	pr_info("the guest did not power down within %llu ms; stopping it",
		(unsigned long long)vm->cfg->powerdown_timeout_ms);
	vm__request_stop(vm, EXIT_FORCED, "powerdown timeout");
}

static void handle_signal(int fd, u32 events __unused, void *opaque)
{
	struct signal_state *ss = opaque;
	struct vm *vm = ss->vm;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (vm->powerdown_requested) {
		pr_info("%s again: stopping the guest now", strsignal(si.ssi_signo));
		vm__request_stop(vm, EXIT_FORCED, "second signal");
		return;
	}
	pr_info("%s: asking the guest to power down (again to force)",
		strsignal(si.ssi_signo));
	vm__powerdown(vm);
	if (ss->tfd >= 0) {
		struct itimerspec its = {
			.it_value.tv_sec = vm->cfg->powerdown_timeout_ms / 1000,
			.it_value.tv_nsec = (vm->cfg->powerdown_timeout_ms % 1000) * 1000000,
		};

		timerfd_settime(ss->tfd, 0, &its, NULL);
	}
}

int vm__run(struct vm *vm)
{
	struct signal_state ss = { .vm = vm, .sfd = -1, .tfd = -1 };
	sigset_t set;
	int ret;

	/* these signals are read from a signalfd by the main loop only */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	ss.sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	ss.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ss.sfd >= 0)
		evloop__add(vm->loop, ss.sfd, EPOLLIN, handle_signal, &ss);
	if (ss.tfd >= 0)
		evloop__add(vm->loop, ss.tfd, EPOLLIN, handle_timeout, vm);
	evloop__add(vm->loop, vm->request_fd, EPOLLIN, handle_request, vm);

	/* the VM is built: from here every thread runs under the filter */
	ret = seccomp__install(vm->cfg->seccomp);
	if (ret)
		vm__request_stop(vm, EXIT_ERROR, "seccomp filter not loaded");
	else if (vcpus__start(vm))
		vm__request_stop(vm, EXIT_ERROR, "vCPU start failed");
	evloop__run(vm->loop);

	/* stop: park every vCPU, then let them leave their loops */
	vm__pause(vm);
	pthread_mutex_lock(&vm->pause_lock);
	vm->quit = true;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i]->started) {
			pthread_join(vm->vcpus[i]->thread, NULL);
			vm->vcpus[i]->started = false;
		}
	}
	evloop__del(vm->loop, vm->request_fd);
	if (ss.sfd >= 0) {
		evloop__del(vm->loop, ss.sfd);
		close(ss.sfd);
	}
	if (ss.tfd >= 0) {
		evloop__del(vm->loop, ss.tfd);
		close(ss.tfd);
	}
	pr_debug("stopped: %s, status %d", vm->stop_reason ? vm->stop_reason : "?",
		 vm->exit_status);
	return vm->exit_status;
}

void vm__destroy(struct vm *vm)
{
	run_exits(vm, NR_INIT_LEVELS - 1);
	if (vm->loop)
		evloop__free(vm->loop);
	vm->loop = NULL;
	if (vm->request_fd >= 0)
		close(vm->request_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->request_fd = vm->vm_fd = vm->kvm_fd = -1;
	free(vm->supported_cpuid);
	vm->supported_cpuid = NULL;
	bus__exit(&vm->pio);
	bus__exit(&vm->mmio);
}
