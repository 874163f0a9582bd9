// SPDX-License-Identifier: GPL-2.0
/*
 * `dpvm host usb list` (devices/usb-hostlist.c) on a fake sysfs and /proc:
 * a hub, a disk that holds the host's root file system, a keyboard on the
 * same controller, a device on another controller; the JSON says who may
 * be passed through and why not, and which controller is the boot one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "devices/usb.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void put(const char *rel, const char *val)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", val);
	fclose(f);
}

static void link_to(const char *rel, const char *target)
{
	char path[512], cmd[1600];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\" && ln -s '%s' '%s'", path, target, path);
	assert_int_equal(system(cmd), 0);
}

static void device(const char *ctrl, const char *name, const char *vid, const char *pid,
		   const char *cls, const char *icls, const char *driver, const char *product)
{
	char d[256], t[512];

	snprintf(d, sizeof(d), "sys/devices/pci0000:00/%s/usb%c/%s", ctrl, name[0], name);
	snprintf(t, sizeof(t), "%s/idVendor", d); put(t, vid);
	snprintf(t, sizeof(t), "%s/idProduct", d); put(t, pid);
	snprintf(t, sizeof(t), "%s/busnum", d); put(t, "1");
	snprintf(t, sizeof(t), "%s/devnum", d); put(t, "4");
	snprintf(t, sizeof(t), "%s/speed", d); put(t, "480");
	snprintf(t, sizeof(t), "%s/bDeviceClass", d); put(t, cls);
	snprintf(t, sizeof(t), "%s/manufacturer", d); put(t, "ACME");
	snprintf(t, sizeof(t), "%s/product", d); put(t, product);
	snprintf(t, sizeof(t), "%s/%s:1.0/bInterfaceClass", d, name); put(t, icls);
	if (driver) {
		char drv[256];

		snprintf(drv, sizeof(drv), "%s/sys/bus/usb/drivers/%s", root, driver);
		snprintf(t, sizeof(t), "%s/%s:1.0/driver", d, name);
		link_to(t, drv);
	}
	snprintf(t, sizeof(t), "sys/bus/usb/devices/%s", name);
	snprintf(d + strlen(d), sizeof(d) - strlen(d), "%s", "");
	{
		char abs[512];

		snprintf(abs, sizeof(abs), "%s/sys/devices/pci0000:00/%s/usb%c/%s", root, ctrl, name[0], name);
		link_to(t, abs);
	}
}

static json_object *run_list(void)
{
	char out[128], *argv[] = { "usb", "list", "--json", NULL };
	json_object *o;
	FILE *saved;
	int fd;

	snprintf(out, sizeof(out), "%s/out.json", root);
	fflush(stdout);
	fd = dup(1);
	saved = freopen(out, "w", stdout);
	assert_non_null(saved);
	assert_int_equal(usb_host__main(3, argv), 0);
	fflush(stdout);
	dup2(fd, 1);
	close(fd);
	o = json_object_from_file(out);
	assert_non_null(o);
	return o;
}

static json_object *find(json_object *arr, const char *path)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *d = json_object_array_get_idx(arr, i), *p;

		if (json_object_object_get_ex(d, "path", &p) && !strcmp(json_object_get_string(p), path))
			return d;
	}
	fail_msg("no device %s", path);
	return NULL;
}

static const char *str(json_object *o, const char *k)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_string(v);
}

static bool boolean(json_object *o, const char *k)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_boolean(v);
}

static void test_list(void **state __unused)
{
	char cmd[600], abs[512], sysroot[128], procroot[128];
	json_object *arr, *d;

	snprintf(root, sizeof(root), "/tmp/dpvm-usbhl-XXXXXX");
	assert_non_null(mkdtemp(root));
	device("0000:00:14.0", "1-1", "05e3", "0608", "09", "09", "hub", "USB2.0 Hub");
	device("0000:00:14.0", "1-1.2", "0781", "5567", "00", "08", "usb-storage", "Cruzer Blade");
	device("0000:00:14.0", "1-3", "046d", "c31c", "00", "03", "usbhid", "Keyboard");
	device("0000:00:1d.0", "2-1", "1050", "0407", "00", "03", NULL, "YubiKey");
	/* / is on sda1, behind 1-1.2 */
	snprintf(abs, sizeof(abs), "%s/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.2/1-1.2:1.0/host0/target0:0:0/0:0:0:0/block/sda/sda1", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", abs);
	assert_int_equal(system(cmd), 0);
	link_to("sys/dev/block/8:1", abs);
	put("proc/self/mountinfo", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	    "23 22 0:21 / /proc rw - proc proc rw");
	snprintf(sysroot, sizeof(sysroot), "%s/sys", root);
	snprintf(procroot, sizeof(procroot), "%s/proc", root);
	setenv("DPVM_SYSFS_ROOT", sysroot, 1);
	setenv("DPVM_PROC_ROOT", procroot, 1);

	arr = run_list();
	assert_int_equal(json_object_array_length(arr), 4);
	d = find(arr, "1-1");
	assert_false(boolean(d, "passthrough"));
	assert_string_equal(str(d, "class-name"), "hub");
	d = find(arr, "1-1.2");
	assert_string_equal(str(d, "id"), "0781:5567");
	assert_string_equal(str(d, "class"), "08");
	assert_string_equal(str(d, "drivers"), "usb-storage");
	assert_string_equal(str(d, "controller"), "0000:00:14.0");
	assert_false(boolean(d, "passthrough"));
	assert_non_null(strstr(str(d, "reason"), "boot"));
	d = find(arr, "1-3");
	assert_true(boolean(d, "passthrough"));
	assert_true(boolean(d, "boot-controller"));
	assert_string_equal(str(d, "product"), "Keyboard");
	d = find(arr, "2-1");
	assert_true(boolean(d, "passthrough"));
	assert_false(boolean(d, "boot-controller"));
	assert_string_equal(str(d, "drivers"), "");
	json_object_put(arr);

	unsetenv("DPVM_SYSFS_ROOT");
	unsetenv("DPVM_PROC_ROOT");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
