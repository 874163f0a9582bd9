/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_SECCOMP_H
#define DPVM_SECCOMP_H

/*
 * The system-call filter dpvm runs the guest under (libseccomp): once the VM
 * is built, every thread of the process may make only the calls a running
 * VMM needs.  See docs/security.md.
 */
enum seccomp_mode {
	SECCOMP_ON,	/* a call outside the list ends dpvm, naming the call */
	SECCOMP_LOG,	/* allowed, but the kernel logs it (audit, dmesg) */
	SECCOMP_OFF,
};

int seccomp__parse_mode(const char *s, enum seccomp_mode *out);
const char *seccomp__mode_name(enum seccomp_mode mode);

/* Load the filter into every thread of the process (and the threads they
 * start later).  Returns 0 or a negative errno after an error message. */
int seccomp__install(enum seccomp_mode mode);

#endif
