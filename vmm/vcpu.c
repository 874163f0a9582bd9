// SPDX-License-Identifier: GPL-2.0
#include "vmm/vcpu.h"
#include "devices/bus.h"
#include "vmm/boot.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIG_VCPU_KICK SIGUSR1

#define MSR_IA32_TSC		0x10
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MTRR_DEF_TYPE_E		(1U << 11)
#define MTRR_TYPE_WB		6

static void kick_handler(int sig __unused)
{
	/* nothing: the signal only makes KVM_RUN return -EINTR */
}

void vcpu__kick(struct vcpu *vcpu)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vcpu->started)
		pthread_kill(vcpu->thread, SIG_VCPU_KICK);
}

/*
 * The vCPU's power-on state, read right after creation: restoring it is a
 * reset.  MSRs are everything KVM lists except the TSC, which keeps running
 * across a reset so that vCPUs stay in sync.
 */
static int capture_reset_state(struct vcpu *vcpu)
{
	struct vcpu_reset_state *rs = &vcpu->reset;
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	int fd = vcpu->fd;
	unsigned int n = 0;

	if (ioctl(fd, KVM_GET_REGS, &rs->regs) < 0 ||
	    ioctl(fd, KVM_GET_SREGS, &rs->sregs) < 0 ||
	    ioctl(fd, KVM_GET_FPU, &rs->fpu) < 0 ||
	    ioctl(fd, KVM_GET_LAPIC, &rs->lapic) < 0 ||
	    ioctl(fd, KVM_GET_MP_STATE, &rs->mp_state) < 0 ||
	    ioctl(fd, KVM_GET_VCPU_EVENTS, &rs->events) < 0 ||
	    ioctl(fd, KVM_GET_DEBUGREGS, &rs->debugregs) < 0)
		return -errno;
	if (ioctl(fd, KVM_GET_XCRS, &rs->xcrs) < 0)
		memset(&rs->xcrs, 0, sizeof(rs->xcrs));

	ioctl(vcpu->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe);
	list = xzalloc(sizeof(*list) + probe.nmsrs * sizeof(u32));
	list->nmsrs = probe.nmsrs;
	if (ioctl(vcpu->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return -errno;
	}
	rs->msrs = xzalloc(sizeof(*rs->msrs) + list->nmsrs * sizeof(struct kvm_msr_entry));
	for (unsigned int i = 0; i < list->nmsrs; i++) {
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e;
		} one = { .h.nmsrs = 1, .e.index = list->indices[i] };

		if (list->indices[i] == MSR_IA32_TSC)
			continue;
		/* some listed MSRs are not readable on every host: skip those */
		if (ioctl(fd, KVM_GET_MSRS, &one) == 1)
			rs->msrs->entries[n++] = one.e;
	}
	rs->msrs->nmsrs = n;
	free(list);
	return 0;
}

static int restore_reset_state(struct vcpu *vcpu)
{
	struct vcpu_reset_state *rs = &vcpu->reset;
	int fd = vcpu->fd;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} mtrr = { .h.nmsrs = 1, .e = { .index = MSR_MTRR_DEF_TYPE,
		   .data = MTRR_DEF_TYPE_E | MTRR_TYPE_WB } };

	struct kvm_sregs sregs = rs->sregs;
	struct kvm_regs regs = rs->regs;

	/* the boot vCPU starts at the image's entry; the others wait for SIPI */
	if (vcpu->id == 0)
		boot__set_bsp_regs(vcpu->vm, &sregs, &regs);
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(fd, KVM_SET_FPU, &rs->fpu) < 0 ||
	    ioctl(fd, KVM_SET_LAPIC, &rs->lapic) < 0 ||
	    ioctl(fd, KVM_SET_VCPU_EVENTS, &rs->events) < 0 ||
	    ioctl(fd, KVM_SET_DEBUGREGS, &rs->debugregs) < 0)
		return -errno;
	if (rs->xcrs.nr_xcrs)
		ioctl(fd, KVM_SET_XCRS, &rs->xcrs);
	if (rs->msrs->nmsrs && ioctl(fd, KVM_SET_MSRS, rs->msrs) < 0)
		return -errno;
	/* no firmware sets the MTRRs up: RAM is write-back, the OS maps MMIO
	 * uncached with PAT */
	ioctl(fd, KVM_SET_MSRS, &mtrr);
	if (ioctl(fd, KVM_SET_MP_STATE, &rs->mp_state) < 0)
		return -errno;
	return 0;
}

static int vcpu__create(struct vm *vm, unsigned int id, struct vcpu **out)
{
	struct vcpu *vcpu = xzalloc(sizeof(*vcpu));
	int ret;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0) {
		ret = -errno;
		pr_err("vCPU %u: KVM_CREATE_VCPU failed: %s", id, strerror(errno));
		goto err_free;
	}
	vcpu->run = mmap(NULL, vm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		pr_err("vCPU %u: mapping kvm_run failed: %s", id, strerror(errno));
		goto err_close;
	}
	vcpu->cpuid = cpuid__for_vcpu(vm->supported_cpuid, id, vm->nr_vcpus);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, vcpu->cpuid) < 0) {
		ret = -errno;
		pr_err("vCPU %u: KVM_SET_CPUID2 failed: %s", id, strerror(errno));
		goto err_unmap;
	}
	ret = capture_reset_state(vcpu);
	if (ret) {
		pr_err("vCPU %u: reading its initial state failed: %s", id, strerror(-ret));
		goto err_unmap;
	}
	ret = restore_reset_state(vcpu);
	if (ret) {
		pr_err("vCPU %u: setting its boot state failed: %s", id, strerror(-ret));
		goto err_unmap;
	}
	*out = vcpu;
	return 0;

err_unmap:
	free(vcpu->reset.msrs);
	free(vcpu->cpuid);
	munmap(vcpu->run, vm->vcpu_mmap_size);
err_close:
	close(vcpu->fd);
err_free:
	free(vcpu);
	return ret;
}

static void vcpu__free(struct vcpu *vcpu)
{
	munmap(vcpu->run, vcpu->vm->vcpu_mmap_size);
	close(vcpu->fd);
	free(vcpu->reset.msrs);
	free(vcpu->cpuid);
	free(vcpu);
}

static void dump_regs(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return;
	pr_err("vCPU %u: rip %#llx rsp %#llx rflags %#llx cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx",
	       vcpu->id, r.rip, r.rsp, r.rflags, s.cr0, s.cr3, s.cr4, s.efer);
}

/*
 * Handle one exit.  Exits that end the guest's run post a request to the
 * main thread; the run loop then parks until it is handled.
 */
static void vcpu__handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	vcpu->nr_exits++;
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		u8 *data = (u8 *)run + run->io.data_offset;

		vcpu->nr_io_exits++;
		/* rep ins/outs arrive as count accesses of size bytes each */
		for (u32 i = 0; i < run->io.count; i++, data += run->io.size)
			bus__access(&vm->pio, run->io.port, data, run->io.size,
				    run->io.direction == KVM_EXIT_IO_OUT);
		return;
	}
	case KVM_EXIT_MMIO:
		vcpu->nr_mmio_exits++;
		bus__access(&vm->mmio, run->mmio.phys_addr, run->mmio.data,
			    run->mmio.len, run->mmio.is_write);
		return;
	case KVM_EXIT_INTR:
		return;
	case KVM_EXIT_SHUTDOWN:
		pr_info("vCPU %u triple-faulted; stopping the VM", vcpu->id);
		dump_regs(vcpu);
		vm__request_stop(vm, EXIT_TRIPLE_FAULT, "triple fault");
		return;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vm__request_reset(vm, "system event");
		else
			vm__request_stop(vm, EXIT_POWEROFF, "system event");
		return;
	case KVM_EXIT_HLT:
		/* only without an in-kernel LAPIC; we always have one */
		return;
	case KVM_EXIT_FAIL_ENTRY:
		pr_err("vCPU %u: KVM could not enter the guest (hardware reason %#llx); "
		       "stopping the VM", vcpu->id,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		dump_regs(vcpu);
		vm__request_stop(vm, EXIT_ERROR, "entry failure");
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		pr_err("vCPU %u: KVM internal error, suberror %u; stopping the VM",
		       vcpu->id, run->internal.suberror);
		dump_regs(vcpu);
		vm__request_stop(vm, EXIT_ERROR, "KVM internal error");
		return;
	default:
		pr_err("vCPU %u: unhandled KVM exit %u; stopping the VM",
		       vcpu->id, run->exit_reason);
		dump_regs(vcpu);
		vm__request_stop(vm, EXIT_ERROR, "unhandled exit");
		return;
	}
}

/*
 * Wait here, outside KVM_RUN, while the VM is paused or a request is being
 * handled by the main thread (which pauses, handles, clears and resumes).
 */
static void vcpu__park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vcpu->parked = true;
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while ((vm->pause_depth || vm->request) && !vm->quit)
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	vcpu->parked = false;
	pthread_mutex_unlock(&vm->pause_lock);
}

static void *vcpu__thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);

	for (;;) {
		/* a pause, or a stop/reset request from any thread, parks us */
		if (__atomic_load_n(&vm->pause_depth, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&vm->request, __ATOMIC_ACQUIRE)) {
			vcpu__park(vcpu);
			if (__atomic_load_n(&vm->quit, __ATOMIC_ACQUIRE))
				break;
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			pr_err("vCPU %u: KVM_RUN failed: %s; stopping the VM", vcpu->id,
			       strerror(errno));
			vm__request_stop(vm, EXIT_ERROR, "KVM_RUN failed");
			continue;
		}
		vcpu__handle_exit(vcpu);
	}
	return NULL;
}

int vcpus__start(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigaction(SIG_VCPU_KICK, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];
		int ret = pthread_create(&vcpu->thread, NULL, vcpu__thread, vcpu);

		if (ret) {
			pr_err("vCPU %u: cannot start its thread: %s", i, strerror(ret));
			return -ret;
		}
		vcpu->started = true;
	}
	return 0;
}

static int vcpus__init(struct vm *vm)
{
	int ret;

	unsigned int i;

	vm->vcpus = xzalloc(vm->nr_vcpus * sizeof(*vm->vcpus));
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu__create(vm, i, &vm->vcpus[i]);
		if (ret)
			goto err_free;
	}
	return 0;

err_free:
	while (i--)
		vcpu__free(vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	return ret;
}

/* Called with every vCPU thread stopped and joined (see vm__destroy). */
static void vcpus__exit(struct vm *vm)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i])
			vcpu__free(vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
}

static void vcpus__reset(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		int ret = restore_reset_state(vm->vcpus[i]);

		if (ret)
			pr_err("vCPU %u: reset failed: %s", i, strerror(-ret));
	}
}
vm_initcall(INIT_VCPU, vcpus__init, vcpus__exit, vcpus__reset);
