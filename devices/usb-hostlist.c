// SPDX-License-Identifier: GPL-2.0
/*
 * `dpvm host usb list [--json]`: every USB device of this host, for the
 * host backing (the analog of `esxcli hardware usb passthrough device
 * list`): vendor:product, the bus-port path and address that --usb
 * host,path= and device= take, class, manufacturer and product, speed,
 * the drivers bound to its interfaces, the PCI controller it hangs off,
 * and whether it may be passed through.
 *
 * Not passable: hubs (their devices would go with them), and the device
 * that holds the host's root, /boot or /boot/efi file system.  A device on
 * the same controller as that one is flagged ("boot controller"): passing
 * it through is fine, passing the controller itself (PCI passthrough)
 * would take the host's boot disk with it.
 *
 * Everything is read from sysfs (/sys/bus/usb/devices) and
 * /proc/self/mountinfo; $DPVM_SYSFS_ROOT and $DPVM_PROC_ROOT point the
 * tests at a fake tree.
 */
#include "devices/usb.h"
#include "passthru/sysfs.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <dirent.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *proc_root(void)
{
	const char *r = getenv("DPVM_PROC_ROOT");

	return r && *r ? r : "/proc";
}

static void read_attr(const char *dir, const char *name, char *out, size_t len)
{
	char path[PATH_MAX + 700];
	FILE *f;

	out[0] = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(out, len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

/* "1-2.3" (a device) or "usb1" (a root hub); not "1-2:1.0" (an interface) */
static bool is_device_name(const char *n)
{
	if (!strncmp(n, "usb", 3))
		return n[3] >= '0' && n[3] <= '9';
	return n[0] >= '1' && n[0] <= '9' && strchr(n, '-') && !strchr(n, ':');
}

/* the USB device path and PCI controller a sysfs device path goes through */
static void usb_place(const char *real, char *dev, size_t dlen, char *pci, size_t plen)
{
	char *copy = xstrdup(real), *save = NULL;

	if (dev)
		dev[0] = 0;
	if (pci)
		pci[0] = 0;
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		unsigned int d, b, s, f;
		char c;

		if (pci && sscanf(t, "%4x:%2x:%2x.%1u%c", &d, &b, &s, &f, &c) == 4)
			snprintf(pci, plen, "%s", t);
		else if (dev && is_device_name(t) && strncmp(t, "usb", 3))
			snprintf(dev, dlen, "%s", t);
	}
	free(copy);
}

/* where the host boots from: the USB device (if any) of /, /boot, /boot/efi */
static void boot_places(char devs[3][32], char pcis[3][PCI_BDF_LEN + 8], char what[3][64])
{
	char path[PATH_MAX], line[4096];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/self/mountinfo", proc_root());
	f = fopen(path, "r");
	if (!f)
		return;
	while (n < 3 && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		char mnt[256], real[PATH_MAX];

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
		if (sscanf(line, "%*u %*u %u:%u %*s %255s", &maj, &min, mnt) != 3)
			continue;
		if (strcmp(mnt, "/") && strcmp(mnt, "/boot") && strcmp(mnt, "/boot/efi"))
			continue;
		snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sysfs__root(), maj, min);
		if (!realpath(path, real))
			continue;
		usb_place(real, devs[n], 32, pcis[n], PCI_BDF_LEN + 8);
		if (devs[n][0]) {
			snprintf(what[n], 64, "%.60s", mnt);
			n++;
		} else {
			pcis[n][0] = 0;
		}
	}
	fclose(f);
}

struct hostdev {
	char name[32], vid[8], pid[8], busnum[8], devnum[8], speed[16], cls[8];
	char manufacturer[128], product[128], serial[128], drivers[256];
	char pci[PCI_BDF_LEN + 8];
	bool hub;
	const char *boot;	/* the mount point it holds, or NULL */
	bool boot_controller;
};

static const char *class_name(const char *cls)
{
	static const struct { const char *c, *n; } names[] = {
		{ "00", "per-interface" }, { "01", "audio" }, { "02", "communications" },
		{ "03", "HID" }, { "05", "physical" }, { "06", "image" }, { "07", "printer" },
		{ "08", "mass storage" }, { "09", "hub" }, { "0a", "CDC data" },
		{ "0b", "smart card" }, { "0d", "content security" }, { "0e", "video" },
		{ "0f", "healthcare" }, { "10", "audio/video" }, { "dc", "diagnostic" },
		{ "e0", "wireless" }, { "ef", "miscellaneous" }, { "fe", "application" },
		{ "ff", "vendor specific" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(cls, names[i].c))
			return names[i].n;
	return "other";
}

static int load(struct hostdev **out)
{
	char base[PATH_MAX], bdev[3][32] = { "" }, bpci[3][PCI_BDF_LEN + 8] = { "" };
	char bwhat[3][64] = { "" };
	struct hostdev *v = NULL;
	struct dirent **names;
	int n, count = 0;

	boot_places(bdev, bpci, bwhat);
	snprintf(base, sizeof(base), "%s/bus/usb/devices", sysfs__root());
	n = scandir(base, &names, NULL, versionsort);
	if (n < 0) {
		*out = NULL;
		return 0;
	}
	for (int i = 0; i < n; i++) {
		char dir[PATH_MAX + 300], real[PATH_MAX];
		struct hostdev *d;
		struct dirent **ifs;
		int m;

		if (!is_device_name(names[i]->d_name) || !strncmp(names[i]->d_name, "usb", 3)) {
			free(names[i]);
			continue;
		}
		v = xrealloc(v, (count + 1) * sizeof(*v));
		d = &v[count++];
		memset(d, 0, sizeof(*d));
		snprintf(d->name, sizeof(d->name), "%.31s", names[i]->d_name);
		snprintf(dir, sizeof(dir), "%s/%s", base, names[i]->d_name);
		free(names[i]);
		read_attr(dir, "idVendor", d->vid, sizeof(d->vid));
		read_attr(dir, "idProduct", d->pid, sizeof(d->pid));
		read_attr(dir, "busnum", d->busnum, sizeof(d->busnum));
		read_attr(dir, "devnum", d->devnum, sizeof(d->devnum));
		read_attr(dir, "speed", d->speed, sizeof(d->speed));
		read_attr(dir, "bDeviceClass", d->cls, sizeof(d->cls));
		read_attr(dir, "manufacturer", d->manufacturer, sizeof(d->manufacturer));
		read_attr(dir, "product", d->product, sizeof(d->product));
		read_attr(dir, "serial", d->serial, sizeof(d->serial));
		d->hub = !strcmp(d->cls, "09");
		if (realpath(dir, real))
			usb_place(real, NULL, 0, d->pci, sizeof(d->pci));
		/* the interfaces: their class when the device has none, their drivers */
		m = scandir(dir, &ifs, NULL, alphasort);
		for (int j = 0; j < m; j++) {
			char idir[PATH_MAX + 600], link[PATH_MAX], icls[8];
			ssize_t l;

			if (strchr(ifs[j]->d_name, ':') && strncmp(ifs[j]->d_name, d->name, strlen(d->name)) == 0) {
				snprintf(idir, sizeof(idir), "%s/%s", dir, ifs[j]->d_name);
				if (!strcmp(d->cls, "00")) {
					read_attr(idir, "bInterfaceClass", icls, sizeof(icls));
					if (icls[0])
						snprintf(d->cls, sizeof(d->cls), "%s", icls);
				}
				snprintf(idir + strlen(idir), sizeof(idir) - strlen(idir), "/driver");
				l = readlink(idir, link, sizeof(link) - 1);
				if (l > 0) {
					const char *drv;

					link[l] = 0;
					drv = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
					if (!strstr(d->drivers, drv))
						snprintf(d->drivers + strlen(d->drivers),
							 sizeof(d->drivers) - strlen(d->drivers), "%s%s",
							 d->drivers[0] ? "," : "", drv);
				}
			}
			free(ifs[j]);
		}
		if (m >= 0)
			free(ifs);
		for (int b = 0; b < 3; b++) {
			if (!bdev[b][0])
				continue;
			/* the device itself, or a hub above it */
			if (!strcmp(bdev[b], d->name) ||
			    (!strncmp(bdev[b], d->name, strlen(d->name)) && bdev[b][strlen(d->name)] == '.'))
				d->boot = bwhat[b];
			if (bpci[b][0] && !strcmp(bpci[b], d->pci))
				d->boot_controller = true;
		}
	}
	free(names);
	*out = v;
	return count;
}

static const char *refusal(const struct hostdev *d)
{
	if (d->hub)
		return "a hub: pass the devices behind it instead";
	if (d->boot)
		return "it holds the host's boot file system";
	return NULL;
}

static int usb_list(bool json)
{
	struct hostdev *v;
	int n = load(&v);

	if (json) {
		json_object *arr = json_object_new_array();

		for (int i = 0; i < n; i++) {
			json_object *o = json_object_new_object();
			const struct hostdev *d = &v[i];
			char id[16];

			snprintf(id, sizeof(id), "%s:%s", d->vid, d->pid);
			json_object_object_add(o, "id", json_object_new_string(id));
			json_object_object_add(o, "path", json_object_new_string(d->name));
			json_object_object_add(o, "bus", json_object_new_int(atoi(d->busnum)));
			json_object_object_add(o, "address", json_object_new_int(atoi(d->devnum)));
			json_object_object_add(o, "class", json_object_new_string(d->cls));
			json_object_object_add(o, "class-name", json_object_new_string(class_name(d->cls)));
			json_object_object_add(o, "manufacturer", json_object_new_string(d->manufacturer));
			json_object_object_add(o, "product", json_object_new_string(d->product));
			json_object_object_add(o, "serial", json_object_new_string(d->serial));
			json_object_object_add(o, "speed-mbps", json_object_new_string(d->speed));
			json_object_object_add(o, "drivers", json_object_new_string(d->drivers));
			json_object_object_add(o, "controller", json_object_new_string(d->pci));
			json_object_object_add(o, "boot-controller", json_object_new_boolean(d->boot_controller));
			json_object_object_add(o, "passthrough", json_object_new_boolean(!refusal(d)));
			if (refusal(d))
				json_object_object_add(o, "reason", json_object_new_string(refusal(d)));
			json_object_array_add(arr, o);
		}
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	} else {
		printf("%-10s %-9s %-8s %-14s %-6s %-16s %-12s %s\n", "PATH", "ID", "BUS/ADDR",
		       "CLASS", "MBPS", "DRIVERS", "CONTROLLER", "PRODUCT / PASSTHROUGH");
		for (int i = 0; i < n; i++) {
			const struct hostdev *d = &v[i];
			char id[16], ba[16], cls[24];

			snprintf(id, sizeof(id), "%s:%s", d->vid, d->pid);
			snprintf(ba, sizeof(ba), "%03d/%03d", atoi(d->busnum), atoi(d->devnum));
			snprintf(cls, sizeof(cls), "%s %s", d->cls, class_name(d->cls));
			printf("%-10s %-9s %-8s %-14s %-6s %-16s %-12s %s%s%s\n", d->name, id, ba, cls,
			       d->speed, d->drivers[0] ? d->drivers : "-", d->pci[0] ? d->pci : "-",
			       d->manufacturer, d->manufacturer[0] ? " " : "", d->product);
			printf("%-10s %s%s%s\n", "", refusal(d) ? "no: " : "yes",
			       refusal(d) ? refusal(d) : "",
			       d->boot_controller ? " (on the controller of the host's boot disk: do not "
			       "pass the controller itself)" : "");
		}
		if (!n)
			printf("(no USB devices)\n");
	}
	free(v);
	return 0;
}

int usb_host__main(int argc, char **argv)
{
	bool json = false;

	if (argc < 2 || strcmp(argv[1], "list")) {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			printf("usage: dpvm host usb list [--json]\n\nEvery USB device of this host: what "
			       "--usb host,device=VID:PID or path=BUS-PORT takes, and whether it may be "
			       "passed through.  See docs/usb.md.\n");
			return 0;
		}
		pr_err("usb: the command is `dpvm host usb list [--json]`");
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			pr_err("usb list: unknown option '%s'; the only one is --json", argv[i]);
			return EXIT_USAGE;
		}
	}
	return usb_list(json);
}
