/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_PASSTHRU_CLAIM_H
#define DPVM_PASSTHRU_CLAIM_H

/*
 * Host-wide claims on passthrough devices: which VM uses which host PCI
 * function, so that two VMs never share one and the host's limit holds.
 *
 * A claim is an exclusive flock(2) on the file DIR/BDF, where DIR is
 * $DPVM_RUN_DIR/passthru (default /run/dpvm/passthru), held through an open
 * file descriptor for as long as the VM uses the device.  The file holds the
 * VM's name and pid ("web\n1234\n") for messages.  The kernel drops the lock
 * when the descriptor is closed, so a dpvm that crashes or is killed releases
 * its claims by itself.  The files are never removed (removing one could let
 * two processes lock two different files of the same name).  Claiming,
 * counting and looking are serialised by a short flock on DIR/.lock.
 *
 * The VM side, at power-on and (in reverse) at power-off:
 *
 *	int fd;
 *	char holder[CLAIM_NAME_MAX + 1];
 *
 *	ret = claim__acquire(bdf, vm->name, &fd, holder, sizeof(holder));
 *	if (ret == -EBUSY)
 *		pr_err("... %s is in use by VM '%s' ...", bdf, holder);
 *	else if (!ret && claim__check_host_limit(bdf))	// prints why
 *		claim__release(bdf, fd);
 *	...
 *	claim__release(bdf, fd);	// after the reset and the detach
 *
 * Limit checking after the claim (which is then counted) keeps the host at or
 * under its limit even when VMs power on together; two VMs racing for the
 * last slot can both be refused, never both admitted.  The descriptor is
 * O_CLOEXEC; a process that forks without exec shares the lock with its child
 * until both have closed it.
 */
#include "passthru/sysfs.h"

#include <sys/types.h>

#define CLAIM_NAME_MAX	64

/* $DPVM_RUN_DIR/passthru or /run/dpvm/passthru */
const char *claim__dir(char *buf, size_t len);

/*
 * Claim the function bdf (canonical "0000:03:00.0", as pci_bdf__parse gives)
 * for the VM named vm (1-64 printable characters; e.g. "dpvm-1234" for an
 * unnamed VM).  Prints nothing.  Returns 0 with *fd holding the claim, or:
 *   -EBUSY   another VM holds it: its name is in holder (this process's
 *            own name when the same VM claims a device twice)
 *   -EINVAL  bdf or vm is malformed
 *   -errno   the claim directory cannot be created or locked (EACCES: not
 *            root and DPVM_RUN_DIR not set to a writable directory)
 */
int claim__acquire(const char *bdf, const char *vm, int *fd, char *holder, size_t len);

/*
 * After claim__acquire: 0 if the host's claims, this one included, are
 * within max-per-host of passthru.conf (passthru_conf__load_limits); else one
 * line naming bdf, the count and the limit is printed and -EUSERS returned
 * (the caller then releases its claim).
 */
int claim__check_host_limit(const char *bdf);

/* Give bdf back: closes fd (nothing when fd < 0). */
void claim__release(const char *bdf, int fd);

/*
 * Who holds bdf?  1 with the VM's name in vm (and its pid in *pid, if pid
 * is not NULL) when it is claimed; 0 when it is free; -errno on errors.
 */
int claim__holder(const char *bdf, char *vm, size_t len, pid_t *pid);

/* how many devices are claimed on this host now (>= 0), or -errno */
int claim__count(void);

#endif
