// SPDX-License-Identifier: GPL-2.0
/*
 * The system-call filter (libseccomp), loaded once the VM is built and
 * before the first guest instruction, into every thread at once (TSYNC);
 * threads started later inherit it.
 *
 * The list is what a running dpvm and its libraries (glibc, libusb, liburing,
 * libvncserver, usbredirparser, json-c) call while serving a guest: I/O on
 * descriptors, memory, threads, timers, sockets (the API, VNC, USB/IP,
 * usbredir), opening files and device nodes (hot-plugged disks and USB
 * devices, CD media), and ioctl (KVM, VFIO, SG_IO, usbfs).  Not on it: new
 * programs (execve), new processes (clone without CLONE_THREAD, fork),
 * debugging or reading other processes (ptrace, process_vm_*), kill, mount
 * and namespaces, module and kexec loading, bpf, keyrings, changing
 * identity or resource limits.  A guest that took over a dpvm thread gains
 * none of those.
 */
#include "vmm/seccomp.h"
#include "vmm/console.h"
#include "vmm/log.h"
#include "vmm/types.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static const int allowed[] = {
	/* descriptors and files */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(preadv2), SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(fstat), SCMP_SYS(stat),
	SCMP_SYS(lstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(statfs),
	SCMP_SYS(fstatfs), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(getcwd),
	SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(pipe),
	SCMP_SYS(pipe2), SCMP_SYS(flock), SCMP_SYS(ftruncate), SCMP_SYS(fallocate),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(sync_file_range),
	SCMP_SYS(fadvise64), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(mkdir),
	SCMP_SYS(mkdirat), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(umask), SCMP_SYS(fchmod), SCMP_SYS(chmod), SCMP_SYS(fchmodat),
	SCMP_SYS(ioctl), SCMP_SYS(memfd_create),
	SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
	/* memory */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect),
	SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(mlock), SCMP_SYS(mlock2),
	SCMP_SYS(munlock), SCMP_SYS(munlockall),
	/* threads, signals, time */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list),
	SCMP_SYS(rseq), SCMP_SYS(set_tid_address), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(tgkill),
	SCMP_SYS(tkill), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(getrusage), SCMP_SYS(times), SCMP_SYS(getrlimit), SCMP_SYS(sysinfo), SCMP_SYS(uname),
	SCMP_SYS(getrandom),
	/* waiting for events */
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(select), SCMP_SYS(pselect6), SCMP_SYS(eventfd2),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	SCMP_SYS(signalfd4),
	/* sockets */
	SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(accept),
	SCMP_SYS(accept4), SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(shutdown),
};

static const struct {
	const char *name;
	enum seccomp_mode mode;
} modes[] = {
	{ "on", SECCOMP_ON },
	{ "log", SECCOMP_LOG },
	{ "off", SECCOMP_OFF },
};

int seccomp__parse_mode(const char *s, enum seccomp_mode *out)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++) {
		if (!strcmp(s, modes[i].name)) {
			*out = modes[i].mode;
			return 0;
		}
	}
	return -1;
}

const char *seccomp__mode_name(enum seccomp_mode mode)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++)
		if (modes[i].mode == mode)
			return modes[i].name;
	return "?";
}

/*
 * A call outside the list: give the terminal back (--console stdio), say
 * which call, in which thread, and end dpvm as a failure (status 1).  Only
 * async-signal-safe calls but the name lookup, which is fine on the way out.
 */
static void on_sigsys(int sig __unused, siginfo_t *si, void *uc __unused)
{
	char thread[17] = "?", msg[320];
	char *name = seccomp_syscall_resolve_num_arch(si->si_arch, si->si_syscall);
	int n;

	console__restore_tty();
	prctl(PR_GET_NAME, thread, 0, 0, 0);
	n = snprintf(msg, sizeof(msg),
		     "dpvm: seccomp: thread %s made system call %s (%d), which dpvm's filter "
		     "does not allow; stopping. This is a dpvm bug: please report it; "
		     "--seccomp log runs the VM meanwhile\n",
		     thread, name ? name : "?", si->si_syscall);
	if (n > 0 && write(STDERR_FILENO, msg, n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1) < 0)
		n = 0;
	_exit(1);
}

int seccomp__install(enum seccomp_mode mode)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	scmp_filter_ctx ctx;
	int ret = 0;

	if (mode == SECCOMP_OFF) {
		pr_debug("seccomp: off");
		return 0;
	}
	ctx = seccomp_init(mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx) {
		pr_err("seccomp: cannot set up the filter (out of memory); --seccomp off runs without it");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(allowed) && !ret; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* threads, not processes */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	/* clone3's flags are in memory the filter cannot read: glibc falls back
	 * to clone when clone3 is not there */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* reading limits, not setting them (glibc's getrlimit is prlimit64) */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
				       SCMP_A2(SCMP_CMP_EQ, 0));
	/* thread names only */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/* a binary tree, not a list: KVM_RUN's ioctl passes it on every exit */
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (ret) {
		pr_err("seccomp: cannot build the filter: %s; --seccomp off runs without it",
		       strerror(-ret));
		goto out;
	}
	if (mode == SECCOMP_ON && sigaction(SIGSYS, &sa, NULL)) {
		ret = -errno;
		pr_err("seccomp: cannot handle SIGSYS: %s; --seccomp off runs without it",
		       strerror(errno));
		goto out;
	}
	ret = seccomp_load(ctx);
	if (ret)
		pr_err("seccomp: the kernel refused the filter: %s (a kernel without "
		       "CONFIG_SECCOMP_FILTER?); --seccomp off runs without it", strerror(-ret));
	else
		pr_debug("seccomp: %s", seccomp__mode_name(mode));
out:
	seccomp_release(ctx);
	return ret;
}
