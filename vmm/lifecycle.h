/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_LIFECYCLE_H
#define DPVM_LIFECYCLE_H

struct vm;

/*
 * Operations that capture or move a VM's state, or change its devices while
 * it runs: suspend, snapshot, migrate, device-add, device-remove.  Before
 * any of them runs, every registered blocker is asked; a device whose state
 * dpvm cannot capture (an assigned PCI function, a host USB device) refuses
 * with a message naming itself.  The operations themselves arrive with the
 * lifecycle issue; until then the commands say so after the blockers had
 * their say.
 */
struct lifecycle_blocker {
	const char *name;
	/* 0 if op may proceed; else -1 with *err (api__error) naming the device */
	int (*refuse)(struct vm *vm, const char *op, char **err);
	struct lifecycle_blocker *next;
};

void lifecycle__register_blocker(struct lifecycle_blocker *b);
/* ask every blocker; 0 if none refuses */
int lifecycle__check(struct vm *vm, const char *op, char **err);

#define lifecycle_blocker(b)						\
	static void __attribute__((constructor)) __blocker_##b(void)	\
	{								\
		lifecycle__register_blocker(&b);			\
	}

#endif
