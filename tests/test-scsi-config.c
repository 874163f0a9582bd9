// SPDX-License-Identifier: GPL-2.0
/*
 * SCSI configuration: scsi-disk, scsi-rdm and scsi-cdrom entries and the
 * --scsi flag.  Every bad value is refused with one line on stderr that
 * names the key and the fix; target/LUN addresses are assigned or checked
 * for collisions; an RDM must be a SCSI device node.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "vmm/config.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int saved_fd = -1, cap_fd = -1;
static char errbuf[8192];
static char img[64], iso[64];

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

static int setup(void **state __unused)
{
	int fd;

	strcpy(img, "/tmp/test-scsi-cfg.XXXXXX");
	fd = mkstemp(img);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	strcpy(iso, "/tmp/test-scsi-iso.XXXXXX");
	fd = mkstemp(iso);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 10), 0);
	close(fd);
	return 0;
}

static int teardown(void **state __unused)
{
	unlink(img);
	unlink(iso);
	return 0;
}

/* add one entry from JSON text; 0 or -1, with stderr in errbuf */
static int add(struct vm_config *cfg, const char *json)
{
	json_object *o = json_tokener_parse(json);
	int ret;

	assert_non_null(o);
	cap_start();
	ret = config__add_device(cfg, o, "vm.json: devices[0]");
	cap_end();
	if (getenv("V"))
		printf("%s -> %d %s", json, ret, errbuf);
	if (ret)
		json_object_put(o);
	return ret;
}

static void expect_error(const char *json, const char *n1, const char *n2)
{
	struct vm_config cfg;

	config__init(&cfg);
	if (!add(&cfg, json))
		fail_msg("accepted: %s", json);
	if (strncmp(errbuf, "dpvm: ", 6) || !strchr(errbuf, '\n') || strchr(errbuf, '\n')[1] ||
	    (n1 && !strstr(errbuf, n1)) || (n2 && !strstr(errbuf, n2)))
		fail_msg("for %s expected one line naming '%s' and '%s', got:\n%s", json, n1,
			 n2 ? n2 : "", errbuf);
	assert_int_equal(cfg.nr_devices, 0);
	config__free(&cfg);
}

static char *fmt(const char *f, const char *a)
{
	static char buf[4][512];
	static int k;
	char *b = buf[k++ & 3];

	snprintf(b, 512, f, a);
	return b;
}

static void test_entries(void **state __unused)
{
	struct vm_config cfg;

	config__init(&cfg);
	assert_int_equal(add(&cfg, fmt("{\"type\": \"scsi-disk\", \"backing\": {\"type\": \"file\", "
				       "\"path\": \"%s\"}, \"serial\": \"S1\", \"wwn\": \"0x5000c50000000001\"}",
				       img)), 0);
	assert_int_equal(add(&cfg, fmt("{\"type\": \"scsi-cdrom\", \"backing\": {\"type\": \"file\", "
				       "\"path\": \"%s\"}}", iso)), 0);
	assert_int_equal(add(&cfg, "{\"type\": \"scsi-cdrom\"}"), 0);	/* an empty drive */
	/* the writable disk's file again: refused, naming the first */
	assert_int_equal(add(&cfg, fmt("{\"type\": \"scsi-disk\", \"backing\": {\"path\": \"%s\", "
				       "\"readonly\": true}}", img)), -1);
	assert_non_null(strstr(errbuf, "is already attached by"));
	/* the CD's image as a read-only disk too: fine */
	assert_int_equal(add(&cfg, fmt("{\"type\": \"scsi-disk\", \"target\": 5, \"lun\": 3, "
				       "\"block-size\": 4096, \"backing\": {\"path\": \"%s\", "
				       "\"readonly\": true}}", iso)), 0);
	/* a collision with an assigned address (target 1 went to the first CD) */
	assert_int_equal(add(&cfg, "{\"type\": \"scsi-cdrom\", \"target\": 1}"), -1);
	assert_non_null(strstr(errbuf, "target 1 lun 0 is already"));
	assert_int_equal(add(&cfg, "{\"type\": \"scsi-cdrom\", \"target\": 5, \"lun\": 3}"), -1);
	assert_int_equal(add(&cfg, "{\"type\": \"scsi-cdrom\", \"target\": 5, \"lun\": 4}"), 0);
	assert_int_equal(cfg.nr_devices, 5);
	config__free(&cfg);
}

static void test_errors(void **state __unused)
{
	expect_error("{\"type\": \"scsi-disk\"}", "backing: missing", "\"file\"");
	expect_error("{\"type\": \"scsi-disk\", \"backing\": {\"type\": \"rdm\", \"path\": \"/x\"}}",
		     "backing.type", "scsi-rdm");
	expect_error("{\"type\": \"scsi-disk\", \"backing\": {\"path\": \"/nonexistent.img\"}}",
		     "/nonexistent.img", "check the path");
	expect_error(fmt("{\"type\": \"scsi-disk\", \"wwn\": \"0x6000\", \"backing\": {\"path\": \"%s\"}}",
			 img), ".wwn", "16 hex digits");
	expect_error(fmt("{\"type\": \"scsi-disk\", \"serial\": \"a b\", \"backing\": {\"path\": \"%s\"}}",
			 img), ".serial", "printable");
	expect_error(fmt("{\"type\": \"scsi-disk\", \"target\": 256, \"backing\": {\"path\": \"%s\"}}",
			 img), ".target", "0 to 255");
	expect_error(fmt("{\"type\": \"scsi-disk\", \"lun\": 16384, \"backing\": {\"path\": \"%s\"}}",
			 img), ".lun", "16383");
	expect_error(fmt("{\"type\": \"scsi-disk\", \"block-size\": 1024, \"backing\": {\"path\": \"%s\"}}",
			 img), ".block-size", "512 or 4096");
	expect_error(fmt("{\"type\": \"scsi-disk\", \"colour\": 1, \"backing\": {\"path\": \"%s\"}}",
			 img), "colour", NULL);
	expect_error(fmt("{\"type\": \"scsi-disk\", \"backing\": {\"path\": \"%s\", \"speed\": 1}}",
			 img), "speed", NULL);
	expect_error("{\"type\": \"scsi-disk\", \"backing\": {\"path\": \"/dev/null\"}}",
		     "/dev/null", "not a regular file or block device");
	/* RDM: a mode, a device node, a SCSI device */
	expect_error("{\"type\": \"scsi-rdm\"}", "backing: missing", "physical");
	expect_error("{\"type\": \"scsi-rdm\", \"backing\": {\"type\": \"rdm\", \"mode\": \"raw\", "
		     "\"device\": \"/dev/null\"}}", ".mode", "\"physical\" or \"virtual\"");
	expect_error(fmt("{\"type\": \"scsi-rdm\", \"backing\": {\"type\": \"rdm\", \"device\": \"%s\"}}",
			 img), "not a device node", "/dev/sgN");
	expect_error("{\"type\": \"scsi-rdm\", \"backing\": {\"type\": \"rdm\", \"device\": \"/dev/null\"}}",
		     "/dev/null", "SCSI");
	expect_error("{\"type\": \"scsi-rdm\", \"backing\": {\"type\": \"rdm\", \"device\": \"/dev/null\", "
		     "\"readonly\": true}}", "virtual mode", NULL);
	expect_error("{\"type\": \"scsi-rdm\", \"serial\": \"X\", \"backing\": {\"type\": \"rdm\", "
		     "\"device\": \"/dev/null\"}}", "serial", NULL);
	/* CD/DVD */
	expect_error("{\"type\": \"scsi-cdrom\", \"backing\": {\"type\": \"tape\"}}", "backing.type",
		     "\"host\"");
	expect_error(fmt("{\"type\": \"scsi-cdrom\", \"backing\": {\"path\": \"%s\", \"readonly\": true}}",
			 iso), "read-only", NULL);
	expect_error("{\"type\": \"scsi-cdrom\", \"block-size\": 4096}", ".block-size", "scsi-disk");
	expect_error("{\"type\": \"scsi-cdrom\", \"backing\": {\"type\": \"host\", \"device\": \"/dev/null\"}}",
		     "/dev/null", "SCSI");
}

static json_object *flag(const char *v)
{
	struct device_type *t = device_type__find_flag("scsi");
	json_object *o;

	assert_non_null(t);
	cap_start();
	o = t->from_flag(v, "--scsi");
	cap_end();
	return o;
}

static const char *jget(json_object *o, const char *path)
{
	char buf[64], *save = NULL, *k;
	json_object *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(v, k, &v))
			return NULL;
	return v ? json_object_get_string(v) : NULL;
}

static void test_flag(void **state __unused)
{
	json_object *o;

	o = flag("disk,/img,ro,direct,serial=S1,wwn=0x5000c50000000001,target=2,lun=1,id=d0,block-size=4096");
	assert_non_null(o);
	assert_string_equal(jget(o, "type"), "scsi-disk");
	assert_string_equal(jget(o, "backing.path"), "/img");
	assert_string_equal(jget(o, "backing.readonly"), "true");
	assert_string_equal(jget(o, "backing.direct"), "true");
	assert_string_equal(jget(o, "serial"), "S1");
	assert_string_equal(jget(o, "target"), "2");
	assert_string_equal(jget(o, "id"), "d0");
	assert_string_equal(jget(o, "block-size"), "4096");
	json_object_put(o);
	o = flag("rdm,/dev/sg2,mode=virtual,timeout-ms=5000");
	assert_string_equal(jget(o, "type"), "scsi-rdm");
	assert_string_equal(jget(o, "backing.type"), "rdm");
	assert_string_equal(jget(o, "backing.device"), "/dev/sg2");
	assert_string_equal(jget(o, "backing.mode"), "virtual");
	assert_string_equal(jget(o, "backing.timeout-ms"), "5000");
	json_object_put(o);
	o = flag("cdrom");
	assert_string_equal(jget(o, "type"), "scsi-cdrom");
	assert_null(jget(o, "backing"));
	json_object_put(o);
	o = flag("cdrom,host=/dev/sr0");
	assert_string_equal(jget(o, "backing.type"), "host");
	assert_string_equal(jget(o, "backing.device"), "/dev/sr0");
	json_object_put(o);
	o = flag("cdrom,/x.iso,id=cd1");
	assert_string_equal(jget(o, "backing.path"), "/x.iso");
	json_object_put(o);
	/* errors name the flag and the form */
	assert_null(flag("tape,/dev/st0"));
	assert_non_null(strstr(errbuf, "--scsi tape,/dev/st0: start with the kind"));
	assert_null(flag("disk"));
	assert_non_null(strstr(errbuf, "disk,FILE"));
	assert_null(flag("disk,/img,speed=9"));
	assert_non_null(strstr(errbuf, "unknown option 'speed=9'"));
	assert_null(flag(""));
}

/* a whole --scsi value through validation: the entry names the flag */
static void test_flag_validated(void **state __unused)
{
	struct vm_config cfg;
	json_object *o;
	char v[128];

	config__init(&cfg);
	snprintf(v, sizeof(v), "disk,%s,serial=ABC", img);
	o = flag(v);
	cap_start();
	assert_int_equal(config__add_device(&cfg, o, "--scsi"), 0);
	cap_end();
	o = flag("rdm,/dev/null");
	cap_start();
	assert_int_equal(config__add_device(&cfg, o, "--scsi rdm,/dev/null"), -1);
	cap_end();
	json_object_put(o);
	assert_non_null(strstr(errbuf, "--scsi rdm,/dev/null"));
	assert_int_equal(cfg.nr_devices, 1);
	config__free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_flag),
		cmocka_unit_test(test_flag_validated),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
