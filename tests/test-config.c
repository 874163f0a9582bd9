// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration: every key through config__set, the JSON file loader, and
 * flags over the file through run__parse.  Every error must be one line on
 * stderr that names the key (or file and line) and leaves cfg unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "vmm/boot.h"
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int run__parse(int argc, char **argv, struct vm_config *cfg);

static struct vm_config cfg;
static char dir[64];
static char kernel[128];

/* ---- stderr capture ---- */

static int saved_fd = -1, cap_fd = -1;
static char errbuf[8192];

static void cap_start(void)
{
	cap_fd = memfd_create("stderr", MFD_CLOEXEC);
	assert_true(cap_fd >= 0);
	saved_fd = dup(STDERR_FILENO);
	dup2(cap_fd, STDERR_FILENO);
}

static const char *cap_end(void)
{
	ssize_t n;

	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	lseek(cap_fd, 0, SEEK_SET);
	n = read(cap_fd, errbuf, sizeof(errbuf) - 1);
	errbuf[n < 0 ? 0 : n] = 0;
	close(cap_fd);
	return errbuf;
}

/* exactly one "dpvm: " line, containing every needle */
static void assert_one_line(const char *out, const char *n1, const char *n2)
{
	if (strncmp(out, "dpvm: ", 6) || !strchr(out, '\n') || strchr(out, '\n')[1] ||
	    (n1 && !strstr(out, n1)) || (n2 && !strstr(out, n2)))
		fail_msg("expected one line naming '%s' and '%s', got:\n%s", n1 ? n1 : "",
			 n2 ? n2 : "", out);
}

static int set(const char *key, const char *value)
{
	char where[64];

	snprintf(where, sizeof(where), "--%s", key);
	return config__set(&cfg, key, value, where);
}

/* the value is refused: one line naming the flag and the value */
static void bad(const char *key, const char *value)
{
	struct vm_config before = cfg;
	char flag[64];
	int ret;

	snprintf(flag, sizeof(flag), "--%s", key);
	cap_start();
	ret = set(key, value);
	cap_end();
	if (ret != -1)
		fail_msg("--%s '%s' was accepted", key, value);
	assert_one_line(errbuf, flag, value);
	/* nothing changed (pointers included: nothing was freed or replaced) */
	assert_memory_equal(&before, &cfg, sizeof(cfg));
}

static void good(const char *key, const char *value)
{
	cap_start();
	if (set(key, value)) {
		cap_end();
		fail_msg("--%s '%s' was refused: %s", key, value, errbuf);
	}
	cap_end();
	assert_string_equal(errbuf, "");
}

static int setup(void **state __unused)
{
	config__init(&cfg);
	return 0;
}

static int teardown(void **state __unused)
{
	config__free(&cfg);
	boot__release(&boot_image);
	log_level = LOG_INFO;
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static const char *file(const char *name, const char *text)
{
	static char path[4][192];
	static unsigned int n;
	char *p = path[n++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	write_file(p, text, strlen(text));
	return p;
}

/* a minimal multiboot image (a.out kludge): enough for boot__probe */
static int group_setup(void **state __unused)
{
	const unsigned int img[16] = {
		0x1badb002, 0x00010000, -(0x1badb002U + 0x00010000),
		0x100000, 0x100000, 0, 0, 0x100020,	/* header, load, ends, entry */
		0xfeebf4f4,				/* hlt; hlt; jmp $ */
	};

	snprintf(dir, sizeof(dir), "/tmp/dpvm-test-config.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/kernel.elf", dir);
	write_file(kernel, img, sizeof(img));
	/* the default API socket would go here */
	setenv("XDG_RUNTIME_DIR", dir, 1);
	return 0;
}

static int group_teardown(void **state __unused)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

/* ---- scalar keys ---- */

static void test_unknown_key(void **state __unused)
{
	cap_start();
	assert_int_equal(config__set(&cfg, "memory", "1G", "--memory"), -1);
	cap_end();
	assert_one_line(errbuf, "--memory", "unknown");
}

static void test_name(void **state __unused)
{
	char long_name[80];

	good("name", "web");
	assert_string_equal(cfg.name, "web");
	good("name", "_a.b-c_9");
	memset(long_name, 'x', 64);
	long_name[64] = 0;
	good("name", long_name);
	long_name[64] = 'x';
	long_name[65] = 0;
	bad("name", long_name);
	bad("name", "");
	bad("name", "a/b");
	bad("name", "a b");
	bad("name", ".hidden");
	bad("name", "-dash");
	bad("name", "caf\xc3\xa9");
	assert_string_equal(cfg.name, long_name + 1);	/* still the 64-char one */
}

static void test_paths(void **state __unused)
{
	good("kernel", "/boot/vmlinuz");
	good("initrd", "initrd.img");
	bad("kernel", "");
	bad("initrd", "");
	assert_string_equal(cfg.kernel, "/boot/vmlinuz");
	assert_string_equal(cfg.initrd, "initrd.img");
	good("cmdline", "");
	good("cmdline", "root=/dev/vda quiet");
	assert_string_equal(cfg.cmdline, "root=/dev/vda quiet");
}

static void test_bools(void **state __unused)
{
	static const char *const yes[] = { "true", "on", "yes", "1" };
	static const char *const no[] = { "false", "off", "no", "0" };

	for (unsigned int i = 0; i < 4; i++) {
		good("hugepages", yes[i]);
		assert_true(cfg.hugepages);
		good("hugepages", no[i]);
		assert_false(cfg.hugepages);
		good("no-default-cmdline", yes[i]);
		assert_true(cfg.no_default_cmdline);
		good("no-default-cmdline", no[i]);
		assert_false(cfg.no_default_cmdline);
	}
	bad("hugepages", "maybe");
	bad("hugepages", "");
	bad("hugepages", "TRUE ");
	bad("no-default-cmdline", "2");
}

static u64 mem(const char *v)
{
	good("mem", v);
	return cfg.mem_size;
}

static void test_mem_sizes(void **state __unused)
{
	assert_int_equal(cfg.mem_size, 512 * MIB);	/* the default */
	assert_int_equal(mem("512M"), 512 * MIB);
	assert_int_equal(mem("512m"), 512 * MIB);
	assert_int_equal(mem("512MiB"), 512 * MIB);
	assert_int_equal(mem("512MB"), 512 * MIB);
	assert_int_equal(mem("2G"), 2 * GIB);
	assert_int_equal(mem("3g"), 3 * GIB);
	assert_int_equal(mem("1T"), 1024 * GIB);
	assert_int_equal(mem("65536K"), 64 * MIB);
	assert_int_equal(mem("65540k"), 65540 * KIB);
	assert_int_equal(mem("64M"), 64 * MIB);	/* the minimum */
	/* a bare number is MiB, in decimal (a leading 0 is not octal) */
	assert_int_equal(mem("1024"), GIB);
	assert_int_equal(mem("0100"), 100 * MIB);
	assert_int_equal(mem("17592186044415"), ((1ULL << 44) - 1) << 20);
	/* refused, and the size stays */
	bad("mem", "0");
	bad("mem", "0M");
	bad("mem", "63M");
	bad("mem", "65535K");		/* just under 64M */
	bad("mem", "63");		/* 63 MiB */
	bad("mem", "12X");
	bad("mem", "1.5G");
	bad("mem", "G");
	bad("mem", "");
	bad("mem", "-1G");
	bad("mem", "+1G");
	bad("mem", " 1G");
	bad("mem", "1G ");
	bad("mem", "1GG");
	bad("mem", "1Gi");
	bad("mem", "0x100");
	bad("mem", "65537K");		/* not a whole number of 4 KiB pages */
	/* overflow: of the number, of the shift, of the MiB of a bare number */
	bad("mem", "99999999999999999999");
	bad("mem", "99999999999999999999M");
	bad("mem", "17179869184G");
	bad("mem", "16777216T");
	bad("mem", "17592186044416");
	assert_int_equal(cfg.mem_size, ((1ULL << 44) - 1) << 20);
}

static void test_cpus(void **state __unused)
{
	good("cpus", "1");
	good("cpus", "255");
	good("cpus", "010");
	assert_int_equal(cfg.nr_cpus, 10);
	good("cpus", "0x10");
	assert_int_equal(cfg.nr_cpus, 16);
	bad("cpus", "0");
	bad("cpus", "-1");
	bad("cpus", "two");
	bad("cpus", "");
	bad("cpus", "1.5");
	bad("cpus", "256");
	bad("cpus", "65537");
	bad("cpus", "99999999999999999999999");
	bad("cpus", "0x");
	bad("cpus", "0x0x10");
	bad("cpus", " 2");
	assert_int_equal(cfg.nr_cpus, 16);
}

static void test_enums(void **state __unused)
{
	good("mem-reserve", "full");
	assert_int_equal(cfg.mem_reserve, MEM_RESERVE_FULL);
	good("mem-reserve", "none");
	assert_int_equal(cfg.mem_reserve, MEM_RESERVE_NONE);
	bad("mem-reserve", "partial");
	bad("mem-reserve", "");

	good("on-reboot", "exit");
	assert_int_equal(cfg.on_reboot, ON_REBOOT_EXIT);
	good("on-reboot", "restart");
	assert_int_equal(cfg.on_reboot, ON_REBOOT_RESTART);
	bad("on-reboot", "reboot");

	good("log-level", "debug");
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	good("log-level", "error");
	good("log-level", "warn");
	good("log-level", "info");
	assert_int_equal(log_level, LOG_INFO);
	bad("log-level", "verbose");
	bad("log-level", "INFO");

	assert_int_equal(cfg.seccomp, SECCOMP_ON);
	good("seccomp", "log");
	assert_int_equal(cfg.seccomp, SECCOMP_LOG);
	good("seccomp", "off");
	assert_int_equal(cfg.seccomp, SECCOMP_OFF);
	good("seccomp", "on");
	assert_int_equal(cfg.seccomp, SECCOMP_ON);
	bad("seccomp", "strict");
}

static void test_console(void **state __unused)
{
	assert_int_equal(cfg.console, CONSOLE_STDIO);
	good("console", "file:/tmp/x.log");
	assert_int_equal(cfg.console, CONSOLE_FILE);
	assert_string_equal(cfg.console_path, "/tmp/x.log");
	/* a bad value leaves the file console alone */
	bad("console", "file:");
	bad("console", "unix:");
	bad("console", "tcp:1234");
	bad("console", "");
	bad("console", "FILE:/x");
	assert_string_equal(cfg.console_path, "/tmp/x.log");
	good("console", "unix:/run/c.sock");
	assert_int_equal(cfg.console, CONSOLE_UNIX);
	assert_string_equal(cfg.console_path, "/run/c.sock");
	good("console", "pty");
	assert_int_equal(cfg.console, CONSOLE_PTY);
	assert_null(cfg.console_path);
	good("console", "none");
	assert_int_equal(cfg.console, CONSOLE_NONE);
	good("console", "stdio");
	assert_int_equal(cfg.console, CONSOLE_STDIO);
}

static void test_api(void **state __unused)
{
	good("api", "unix:/tmp/a.sock");
	assert_string_equal(cfg.api_path, "/tmp/a.sock");
	assert_false(cfg.no_api);
	bad("api", "unix:");
	bad("api", "/tmp/a.sock");
	bad("api", "");
	bad("api", "tcp:1");
	assert_string_equal(cfg.api_path, "/tmp/a.sock");
	good("api", "none");
	assert_true(cfg.no_api);
	assert_null(cfg.api_path);
	good("api", "unix:b.sock");
	assert_false(cfg.no_api);
}

static void test_exit_port(void **state __unused)
{
	assert_int_equal(cfg.exit_port, -1);
	good("exit-port", "0xf4");
	assert_int_equal(cfg.exit_port, 0xf4);
	good("exit-port", "501");
	assert_int_equal(cfg.exit_port, 501);
	good("exit-port", "0");
	good("exit-port", "0xfffc");
	bad("exit-port", "0xfffd");		/* four ports must fit */
	bad("exit-port", "0x10000");
	bad("exit-port", "-1");
	bad("exit-port", "port");
	bad("exit-port", "");
	assert_int_equal(cfg.exit_port, 0xfffc);
	good("exit-port", "none");
	assert_int_equal(cfg.exit_port, -1);
}

static void test_powerdown_timeout(void **state __unused)
{
	assert_int_equal(cfg.powerdown_timeout_ms, 30000);
	good("powerdown-timeout", "0");
	good("powerdown-timeout", "86400");
	assert_int_equal(cfg.powerdown_timeout_ms, 86400000ULL);
	bad("powerdown-timeout", "86401");
	bad("powerdown-timeout", "1.5");
	bad("powerdown-timeout", "-1");
	bad("powerdown-timeout", "5s");
	assert_int_equal(cfg.powerdown_timeout_ms, 86400000ULL);
}

/* ---- the JSON file ---- */

static int load(const char *text)
{
	const char *p = file("vm.json", text);
	int ret;

	cap_start();
	ret = config__load_file(&cfg, p);
	cap_end();
	return ret;
}

/* refused: one line naming the file (with a line, or a key path) */
static void load_bad(const char *text, const char *n1, const char *n2)
{
	if (load(text) != -1)
		fail_msg("accepted:\n%s", text);
	assert_one_line(errbuf, n1, n2);
}

static void test_file_good(void **state __unused)
{
	assert_int_equal(load("{\n"
			      "  \"name\": \"fromfile\",\n"
			      "  \"kernel\": \"/k\",\n"
			      "  \"initrd\": \"/i\",\n"
			      "  \"cmdline\": \"quiet\",\n"
			      "  \"no-default-cmdline\": true,\n"
			      "  \"mem\": \"1G\",\n"
			      "  \"cpus\": 2,\n"
			      "  \"hugepages\": false,\n"
			      "  \"mem-reserve\": \"none\",\n"
			      "  \"console\": \"file:/tmp/c\",\n"
			      "  \"api\": \"none\",\n"
			      "  \"on-reboot\": \"exit\",\n"
			      "  \"exit-port\": \"0xf4\",\n"
			      "  \"powerdown-timeout\": 5,\n"
			      "  \"log-level\": \"info\",\n"
			      "  \"devices\": []\n"
			      "}\n"), 0);
	assert_string_equal(errbuf, "");
	assert_string_equal(cfg.name, "fromfile");
	assert_string_equal(cfg.kernel, "/k");
	assert_string_equal(cfg.initrd, "/i");
	assert_true(cfg.no_default_cmdline);
	assert_int_equal(cfg.mem_size, GIB);
	assert_int_equal(cfg.nr_cpus, 2);
	assert_int_equal(cfg.console, CONSOLE_FILE);
	assert_true(cfg.no_api);
	assert_int_equal(cfg.on_reboot, ON_REBOOT_EXIT);
	assert_int_equal(cfg.exit_port, 0xf4);
	assert_int_equal(cfg.powerdown_timeout_ms, 5000);
	assert_int_equal(cfg.nr_devices, 0);
	/* numbers: a bare mem is MiB; ports as numbers */
	assert_int_equal(load("{\"mem\": 2048, \"exit-port\": 244, \"cpus\": \"3\"}"), 0);
	assert_int_equal(cfg.mem_size, 2 * GIB);
	assert_int_equal(cfg.exit_port, 244);
	assert_int_equal(cfg.nr_cpus, 3);
	/* an empty object is fine, so is whitespace around it */
	assert_int_equal(load("\n\n  {}  \n\n"), 0);
}

static void test_file_bad_keys(void **state __unused)
{
	load_bad("{\"memory\": \"1G\"}", "vm.json: memory", "unknown key; the keys are");
	load_bad("{\"mem\": \"1G\",\n \"Mem\": \"2G\"}", "vm.json: Mem", "unknown key");
	/* wrong types */
	load_bad("{\"cpus\": true}", "vm.json: cpus", "found a boolean");
	load_bad("{\"cpus\": 1.5}", "vm.json: cpus", "1.5 is not a whole number");
	load_bad("{\"cpus\": -2}", "vm.json: cpus", "negative");
	load_bad("{\"cpus\": [2]}", "vm.json: cpus", "found an array");
	load_bad("{\"mem\": {\"size\": 1}}", "vm.json: mem", "found an object");
	load_bad("{\"mem\": null}", "vm.json: mem", "found null");
	load_bad("{\"hugepages\": \"yes\"}", "vm.json: hugepages", "expected true or false");
	load_bad("{\"hugepages\": 1}", "vm.json: hugepages", "expected true or false");
	load_bad("{\"name\": 7}", "vm.json: name", "expected a string");
	load_bad("{\"console\": false}", "vm.json: console", "expected a string");
	/* good types, bad values: the same message as the flag's */
	load_bad("{\"mem\": \"12X\"}", "vm.json: mem", "'12X' is not a memory size");
	load_bad("{\"mem\": 63}", "vm.json: mem", "'63' is too little memory");
	load_bad("{\"cpus\": 0}", "vm.json: cpus", "'0'");
	load_bad("{\"mem\": 99999999999999999999}", "vm.json: mem", "too large");
	load_bad("{\"exit-port\": 70000}", "vm.json: exit-port", "'70000'");
	load_bad("{\"console\": \"tcp:1\"}", "vm.json: console", "'tcp:1'");
	/* the top level */
	load_bad("[1, 2]", "vm.json", "expected a JSON object at the top, found an array");
	load_bad("\"mem\"", "vm.json", "found a string");
}

static void test_file_malformed(void **state __unused)
{
	/* line numbers point at the error */
	load_bad("{\n  \"mem\": \"1G\",\n  \"cpus\": ,\n}\n", "vm.json:3:", "not valid JSON");
	load_bad("{\n  \"mem\": \"1G\"\n  \"cpus\": 2\n}\n", "vm.json:3:", "not valid JSON");
	load_bad("{\n  \"mem\": \"1G\",\n", "vm.json:3:", "unexpected end of file");
	load_bad("", "vm.json:1:", "unexpected end of file");
	load_bad("{\"mem\": \"1G\"} {}", "vm.json:1:", "trailing data");
	load_bad("{}\n\n}", "vm.json:3:", "trailing data");
	load_bad("{\"mem\": \"1G\"}\nx", "vm.json:2:", "trailing data");
	load_bad("{\"mem\" \"1G\"}", "vm.json:1:", "not valid JSON");
	/* files that are not there or not files */
	cap_start();
	assert_int_equal(config__load_file(&cfg, "/nonexistent/vm.json"), -1);
	cap_end();
	assert_one_line(errbuf, "--config /nonexistent/vm.json", "No such file");
	cap_start();
	assert_int_equal(config__load_file(&cfg, dir), -1);
	cap_end();
	assert_one_line(errbuf, dir, "directory");
}

static void test_file_pipe(void **state __unused)
{
	static const char text[] = "{\"mem\": \"256M\", \"cpus\": 3}\n";
	char path[192];
	int fds[2];

	/* --config <(...): a pipe has no size, it is read to its end */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fds[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	cap_start();
	assert_int_equal(config__load_file(&cfg, path), 0);
	cap_end();
	close(fds[0]);
	assert_int_equal(cfg.mem_size, 256 * MIB);
	assert_int_equal(cfg.nr_cpus, 3);
	/* a FIFO nobody writes to: an error, not a hang */
	snprintf(path, sizeof(path), "%s/fifo.json", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	cap_start();
	assert_int_equal(config__load_file(&cfg, path), -1);
	cap_end();
	alarm(0);
	assert_one_line(errbuf, "fifo.json:1:", "unexpected end of file");
	unlink(path);
}

static void test_file_too_big(void **state __unused)
{
	size_t n = (1 << 20) + 2;
	char *big = xzalloc(n + 1), path[192];

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	snprintf(path, sizeof(path), "%s/big.json", dir);
	write_file(path, big, n);
	free(big);
	cap_start();
	assert_int_equal(config__load_file(&cfg, path), -1);
	cap_end();
	assert_one_line(errbuf, "big.json", "larger than 1 MiB");
}

static void test_file_devices(void **state __unused)
{
	char text[1024];
	const char *disk = file("disk.img", "0123456789abcdef");

	load_bad("{\"devices\": {}}", "vm.json: devices", "expected an array, found an object");
	load_bad("{\"devices\": [5]}", "vm.json: devices[0]", "expected an object, found a number");
	load_bad("{\"devices\": [\"virtio-blk\"]}", "vm.json: devices[0]", "found a string");
	load_bad("{\"devices\": [[]]}", "vm.json: devices[0]", "found an array");
	load_bad("{\"devices\": [{\"id\": \"d\"}]}", "vm.json: devices[0].type", "missing");
	load_bad("{\"devices\": [{\"type\": 3}]}", "vm.json: devices[0].type", "expected a string");
	load_bad("{\"devices\": [{\"type\": \"floppy\"}]}", "vm.json: devices[0].type",
		 "unknown device type 'floppy'; the types are: ");
	assert_non_null(strstr(errbuf, "virtio-blk"));
	load_bad("{\"devices\": [{\"type\": \"virtio-blk\", \"id\": 5}]}", "devices[0].id",
		 "expected a string");
	assert_int_equal(cfg.nr_devices, 0);

	/* a good one, then the same id again */
	snprintf(text, sizeof(text),
		 "{\"devices\": [\n"
		 "  {\"type\": \"virtio-blk\", \"id\": \"d\", \"backing\": {\"path\": \"%s\"}},\n"
		 "  {\"type\": \"virtio-blk\", \"id\": \"d\", \"backing\": {\"path\": \"%s\", \"readonly\": true}}\n"
		 "]}\n", disk, disk);
	load_bad(text, "vm.json: devices[1].id", "'d' is already used by");
	assert_true(strstr(errbuf, "devices[0]") != NULL);
	config__free(&cfg);
	config__init(&cfg);
	/* generated ids do not clash with each other */
	snprintf(text, sizeof(text),
		 "{\"devices\": [\n"
		 "  {\"type\": \"virtio-blk\", \"backing\": {\"path\": \"%s\", \"readonly\": true}},\n"
		 "  {\"type\": \"virtio-blk\", \"backing\": {\"path\": \"%s\", \"readonly\": true}}\n"
		 "]}\n", disk, disk);
	assert_int_equal(load(text), 0);
	assert_int_equal(cfg.nr_devices, 2);
	assert_string_not_equal(cfg.devices[0].id, cfg.devices[1].id);
	assert_string_equal(cfg.devices[1].where, strstr(cfg.devices[1].where, dir) ?
			    cfg.devices[1].where : "?");
	/* the device's own validator names the key path */
	snprintf(text, sizeof(text),
		 "{\"devices\": [{\"type\": \"virtio-blk\", \"backing\": {\"path\": \"%s\", \"size\": 1}}]}",
		 disk);
	load_bad(text, "vm.json: devices[0].backing.size", "unknown key");
}

/* ---- flags over the file: run__parse ---- */

static int parse(const char *const *args)
{
	char *argv[32];
	int argc = 0, ret;

	for (argv[argc++] = "run"; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	config__free(&cfg);
	config__init(&cfg);
	boot__release(&boot_image);
	cap_start();
	ret = run__parse(argc, argv, &cfg);
	cap_end();
	return ret;
}

static void test_flags_override_file(void **state __unused)
{
	char text[512];
	const char *conf;

	snprintf(text, sizeof(text),
		 "{\"kernel\": \"%s\", \"mem\": \"2G\", \"cpus\": 2, \"name\": \"fromfile\",\n"
		 " \"cmdline\": \"a=1\", \"api\": \"none\", \"console\": \"none\"}\n", kernel);
	conf = file("base.json", text);

	/* the file alone */
	assert_int_equal(parse((const char *[]){ "--config", conf, NULL }), 0);
	assert_string_equal(errbuf, "");
	assert_int_equal(cfg.mem_size, 2 * GIB);
	assert_int_equal(cfg.nr_cpus, 2);
	assert_string_equal(cfg.name, "fromfile");
	assert_string_equal(cfg.kernel, kernel);
	assert_int_equal(boot_image.kind, BOOT_MULTIBOOT);
	assert_string_equal(boot_image.cmdline, "a=1");

	/* flags win, whether they come before --config or after it */
	assert_int_equal(parse((const char *[]){ "--mem", "1G", "--config", conf, "-c", "3",
						 "--name", "fromflag", "-p", "b=2", NULL }), 0);
	assert_int_equal(cfg.mem_size, GIB);
	assert_int_equal(cfg.nr_cpus, 3);
	assert_string_equal(cfg.name, "fromflag");
	assert_string_equal(boot_image.cmdline, "b=2");
	assert_int_equal(cfg.console, CONSOLE_NONE);	/* from the file */

	/* the last of repeated flags wins */
	assert_int_equal(parse((const char *[]){ "--config", conf, "-m", "128M", "-m", "256M",
						 NULL }), 0);
	assert_int_equal(cfg.mem_size, 256 * MIB);

	/* a bad flag is refused even when the file is good, and vice versa */
	assert_int_equal(parse((const char *[]){ "--config", conf, "--cpus", "0", NULL }), -1);
	assert_one_line(errbuf, "--cpus", "'0'");
	snprintf(text, sizeof(text), "{\"kernel\": \"%s\", \"cpus\": 0}", kernel);
	conf = file("bad.json", text);
	assert_int_equal(parse((const char *[]){ "--config", conf, "--cpus", "1", NULL }), -1);
	assert_one_line(errbuf, "bad.json: cpus", "'0'");
}

static void test_parse_errors(void **state __unused)
{
	const char *conf = file("empty.json", "{}");

	assert_int_equal(parse((const char *[]){ "--api", "none", NULL }), -1);
	assert_one_line(errbuf, "no kernel", "--kernel");
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--bogus", NULL }), -1);
	assert_one_line(errbuf, "--bogus", "unknown option");
	assert_int_equal(parse((const char *[]){ "-k", kernel, "-z", NULL }), -1);
	assert_one_line(errbuf, "-z", "unknown option");
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--mem", NULL }), -1);
	assert_one_line(errbuf, "--mem", "needs a value");
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--hugepages=yes", NULL }), -1);
	assert_one_line(errbuf, "--hugepages", "takes no value");
	assert_int_equal(parse((const char *[]){ "-k", kernel, "stray", NULL }), -1);
	assert_one_line(errbuf, "'stray'", "unexpected argument");
	assert_int_equal(parse((const char *[]){ "--config", conf, "--config", conf, NULL }), -1);
	assert_one_line(errbuf, "--config", "twice");
	assert_int_equal(parse((const char *[]){ "--config", "/nonexistent.json", NULL }), -1);
	assert_one_line(errbuf, "/nonexistent.json", "No such file");
	/* --help wins over everything, and prints to stdout */
	assert_int_equal(parse((const char *[]){ "--cpus", "0", "--help", NULL }), 1);
	assert_string_equal(errbuf, "");
}

static void test_finalize_conflicts(void **state __unused)
{
	char path[192];

	/* the exit port on a device's ports */
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--api", "none",
						 "--exit-port", "0x3f8", NULL }), -1);
	assert_one_line(errbuf, "--exit-port 0x3f8", "COM1");
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--api", "none",
						 "--exit-port", "0x6f", NULL }), -1);
	assert_one_line(errbuf, "--exit-port 0x6f", "RTC");
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--api", "none",
						 "--exit-port", "0xcfc", NULL }), -1);
	assert_one_line(errbuf, "--exit-port 0xcfc", "PCI");
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--api", "none",
						 "--exit-port", "0xf4", NULL }), 0);
	/* the console writing into the kernel, or onto the API socket */
	snprintf(path, sizeof(path), "file:%s", kernel);
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--api", "none",
						 "--console", path, NULL }), -1);
	assert_one_line(errbuf, kernel, "--kernel file");
	snprintf(path, sizeof(path), "unix:%s/s.sock", dir);
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--api", path,
						 "--console", path, NULL }), -1);
	assert_one_line(errbuf, "s.sock", "--api socket");
	/* huge pages in 2 MiB units */
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--api", "none", "--hugepages",
						 "--mem", "65M", NULL }), -1);
	assert_one_line(errbuf, "--mem 65 MiB", "2 MiB");
	/* more vCPUs than 8-bit APIC ids allow (or the host's KVM) */
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--api", "none",
						 "--cpus", "256", NULL }), -1);
	assert_one_line(errbuf, "--cpus", "'256' is more vCPUs than a VM can have");
	/* more memory than the host has */
	assert_int_equal(parse((const char *[]){ "-k", kernel, "--api", "none",
						 "--mem", "16000T", NULL }), -1);
	assert_one_line(errbuf, "--mem", "the host has only");
	/* the default API socket is named after the VM, under XDG_RUNTIME_DIR */
	assert_int_equal(parse((const char *[]){ "-k", kernel, "-n", "vm1", NULL }), 0);
	snprintf(path, sizeof(path), "%s/dpvm/vm1.sock", dir);
	assert_string_equal(cfg.api_path, path);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_unknown_key),
		T(test_name),
		T(test_paths),
		T(test_bools),
		T(test_mem_sizes),
		T(test_cpus),
		T(test_enums),
		T(test_console),
		T(test_api),
		T(test_exit_port),
		T(test_powerdown_timeout),
		T(test_file_good),
		T(test_file_bad_keys),
		T(test_file_malformed),
		T(test_file_pipe),
		T(test_file_too_big),
		T(test_file_devices),
		T(test_flags_override_file),
		T(test_parse_errors),
		T(test_finalize_conflicts),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
