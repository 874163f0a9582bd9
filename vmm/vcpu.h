/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_VCPU_H
#define DPVM_VCPU_H

#include "vmm/types.h"

#include <linux/kvm.h>
#include <pthread.h>

struct vm;

/* Register state of a vCPU at power-on, captured once and restored at reset */
struct vcpu_reset_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp_state;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_xcrs xcrs;
	struct kvm_msrs *msrs;
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	bool parked;
	struct kvm_cpuid2 *cpuid;
	struct vcpu_reset_state reset;
	u64 nr_exits;
	u64 nr_io_exits;
	u64 nr_mmio_exits;
};

/* fill the CPUID for vCPU id of n (coherent topology: 1 socket, n cores) */
struct kvm_cpuid2 *cpuid__for_vcpu(const struct kvm_cpuid2 *supported,
				   unsigned int id, unsigned int n);

/* make the vCPU leave KVM_RUN soon (from another thread) */
void vcpu__kick(struct vcpu *vcpu);
int vcpus__start(struct vm *vm);

#endif
