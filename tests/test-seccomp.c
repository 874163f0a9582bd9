// SPDX-License-Identifier: GPL-2.0
/*
 * The system-call filter (vmm/seccomp.c), loaded for real into a child
 * process: what a running dpvm does still works (files, memory, threads,
 * sockets, eventfds, reading limits); what it never needs (execve, fork,
 * kill, setting limits, prctl beyond thread names) ends the child with
 * status 1 and a line naming the call; in log mode the same calls go through.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "vmm/seccomp.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread_fn(void *arg)
{
	prctl(PR_SET_NAME, "test-thread", 0, 0, 0);
	return arg;
}

/* what a running VMM does; returns 0 when every step worked */
static int allowed_work(void)
{
	char buf[64];
	struct rlimit rl;
	pthread_t th;
	void *ret = NULL;
	int fd, sv[2];
	void *p;

	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0 || close(fd))
		return 1;
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mlock(p, 4096) || munlock(p, 4096) || munmap(p, 1 << 20))
		return 2;
	free(malloc(1 << 24));
	if (pthread_create(&th, NULL, thread_fn, &rl) || pthread_join(th, &ret) || ret != &rl)
		return 3;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    send(sv[0], "x", 1, 0) != 1 || recv(sv[1], buf, 1, 0) != 1)
		return 4;
	close(sv[0]);
	close(sv[1]);
	fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0 || eventfd_write(fd, 1) || close(fd))
		return 5;
	if (getrlimit(RLIMIT_MEMLOCK, &rl))
		return 6;
	return 0;
}

static void do_execve(void)
{
	execl("/bin/true", "true", (char *)NULL);
}

static void do_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void do_kill(void)
{
	kill(getppid(), 0);
}

static void do_setrlimit(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void do_prctl(void)
{
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/*
 * Fork; the child loads the filter in `mode`, runs allowed_work(), then
 * `forbidden` (if any) and exits 0.  Returns the child's exit status (or
 * 128 + signal); its stderr goes to `err`.
 */
static int in_child(enum seccomp_mode mode, void (*forbidden)(void), char *err, size_t len)
{
	int pipefd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r;

		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		if (seccomp__install(mode))
			_exit(90);
		r = allowed_work();
		if (r)
			_exit(100 + r);
		if (forbidden)
			forbidden();
		_exit(0);
	}
	close(pipefd[1]);
	while (got < (ssize_t)len - 1 && (n = read(pipefd[0], err + got, len - 1 - got)) > 0)
		got += n;
	err[got] = 0;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_allowed(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(in_child(SECCOMP_ON, NULL, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static void expect_stopped(void (*fn)(void), const char *call)
{
	char err[512], want[64];

	assert_int_equal(in_child(SECCOMP_ON, fn, err, sizeof(err)), 1);
	snprintf(want, sizeof(want), "made system call %s (", call);
	if (!strstr(err, want))
		fail_msg("the message does not name %s: %s", call, err);
	assert_non_null(strstr(err, "--seccomp log"));
}

static void test_forbidden(void **state)
{
	(void)state;
	expect_stopped(do_execve, "execve");
	expect_stopped(do_fork, "clone");
	expect_stopped(do_kill, "kill");
	expect_stopped(do_setrlimit, "prlimit64");
	expect_stopped(do_prctl, "prctl");
}

static void test_log_mode(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(in_child(SECCOMP_LOG, do_fork, err, sizeof(err)), 0);
	assert_int_equal(in_child(SECCOMP_LOG, do_setrlimit, err, sizeof(err)), 0);
	/* execve in log mode replaces the child with /bin/true: status 0 */
	assert_int_equal(in_child(SECCOMP_LOG, do_execve, err, sizeof(err)), 0);
	assert_int_equal(in_child(SECCOMP_OFF, do_fork, err, sizeof(err)), 0);
}

static void test_modes(void **state)
{
	enum seccomp_mode m;

	(void)state;
	assert_int_equal(seccomp__parse_mode("on", &m), 0);
	assert_int_equal(m, SECCOMP_ON);
	assert_int_equal(seccomp__parse_mode("log", &m), 0);
	assert_int_equal(m, SECCOMP_LOG);
	assert_int_equal(seccomp__parse_mode("off", &m), 0);
	assert_int_equal(m, SECCOMP_OFF);
	assert_int_equal(seccomp__parse_mode("On", &m), -1);
	assert_int_equal(seccomp__parse_mode("", &m), -1);
	assert_string_equal(seccomp__mode_name(SECCOMP_LOG), "log");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_log_mode),
		cmocka_unit_test(test_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
