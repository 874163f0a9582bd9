// SPDX-License-Identifier: GPL-2.0
/*
 * `dpvm host`: the host side of PCI passthrough (DirectPath I/O), the analog
 * of ESXi's PciPassthruSystem: which functions exist and why some cannot be
 * given to VMs (pci list), giving them to vfio-pci and back (passthru enable,
 * disable), doing that again at boot (passthru apply), and a pre-flight
 * report before a VM powers on with one (passthru check).
 *
 * Every command reads the host once (sysfs.h, eligibility.h), decides, and
 * only then writes; a write that fails is undone before the error is shown,
 * so a failing command leaves the host as it found it.
 */
#include "devices/usb.h"
#include "passthru/claim.h"
#include "passthru/conf.h"
#include "passthru/eligibility.h"
#include "passthru/sysfs.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/main.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VFIO_DRIVER	"vfio-pci"
#define BIND_WAIT_MS	2000

static const char usage[] =
"usage: dpvm host pci list [--json] [--id VENDOR:DEVICE]\n"
"       dpvm host passthru enable [--group] BDF...\n"
"       dpvm host passthru disable BDF...\n"
"       dpvm host passthru apply\n"
"       dpvm host passthru check [--mem SIZE] BDF\n"
"       dpvm host usb list [--json]          (USB devices for --usb host)\n"
"\n"
"The host side of PCI passthrough: which functions VMs may have.\n"
"\n"
"  pci list          every PCI function: ids, class, IOMMU group and its other\n"
"                    members, driver, passthrough state, and why it cannot be\n"
"                    passed through; --json for scripts, --id to match one model\n"
"  passthru enable   bind functions to vfio-pci (remembering their host driver)\n"
"                    and record them in the configuration; --group: every\n"
"                    function of their IOMMU groups but bridges\n"
"  passthru disable  give functions back to their host driver\n"
"  passthru apply    enable what the configuration records (at boot:\n"
"                    scripts/dpvm-passthru.service)\n"
"  passthru check    a pre-flight report for one function: IOMMU, interrupt\n"
"                    remapping, group, reset, driver, memlock for --mem (default\n"
"                    512M), BARs against the VM's MMIO windows; exit 0 if it can\n"
"                    be passed through\n"
"\n"
"  --conf FILE       the configuration (default $DPVM_PASSTHRU_CONF or\n"
"                    " PASSTHRU_CONF_DEFAULT ")\n"
"\n"
"BDF is a PCI address, 0000:03:00.0 or 03:00.0.  Exit status: 0 done, 1 refused\n"
"or failed (nothing changed), 2 bad usage.  See docs/passthrough.md.\n";

struct host {
	struct host_pci pci;
	struct host_facts facts;
	struct passthru_conf conf;
};

static int host_load(struct host *x, const char *conf)
{
	int ret;

	memset(x, 0, sizeof(*x));
	ret = passthru_conf__load(&x->conf, conf ? conf : passthru_conf__path());
	if (ret)
		return ret;
	ret = host_pci__scan(&x->pci);
	if (ret)
		return ret;
	return host_facts__gather(&x->facts, &x->pci);
}

static void host_free(struct host *x)
{
	host_facts__free(&x->facts);
	host_pci__free(&x->pci);
	passthru_conf__free(&x->conf);
}

/*
 * The functions named on the command line, checked and without repeats.
 * absent_ok: a function that is gone may be named if the configuration has
 * a record of it (`disable` drops the record).
 */
static int parse_bdfs(const struct host *x, int argc, char **argv, bool absent_ok,
		      char ***out, unsigned int *nr)
{
	char **list = NULL;
	unsigned int n = 0;

	for (int i = 0; i < argc; i++) {
		char bdf[PCI_BDF_LEN];
		bool dup = false;

		if (pci_bdf__parse(argv[i], bdf)) {
			pr_err("%s: not a PCI address; write DOMAIN:BUS:DEVICE.FUNCTION (0000:03:00.0) "
			       "or BUS:DEVICE.FUNCTION (03:00.0), as `dpvm host pci list` shows", argv[i]);
			goto err;
		}
		if (!host_pci__find(&x->pci, bdf) &&
		    !(absent_ok && passthru_conf__find(&x->conf, bdf))) {
			pr_err("%s: no such PCI function on this host; see `dpvm host pci list`", bdf);
			goto err;
		}
		for (unsigned int j = 0; j < n; j++)
			dup |= !strcmp(list[j], bdf);
		if (dup)
			continue;
		list = xrealloc(list, (n + 1) * sizeof(*list));
		list[n++] = xstrdup(bdf);
	}
	*out = list;
	*nr = n;
	return 0;
err:
	for (unsigned int j = 0; j < n; j++)
		free(list[j]);
	free(list);
	return -EINVAL;
}

static void free_list(char **list, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* ---- `pci list` ---- */

static void passthru_state(const struct host *x, const struct host_pci_dev *d, char *buf,
			   size_t len, char *vm, size_t vmlen)
{
	bool in_conf = passthru_conf__find(&x->conf, d->bdf) != NULL;
	bool bound = eligibility__driver_is_vfio(d->driver);

	vm[0] = 0;
	if (claim__holder(d->bdf, vm, vmlen, NULL) == 1)
		snprintf(buf, len, "in use by %s", vm);
	else if (in_conf && bound)
		snprintf(buf, len, "enabled");
	else if (in_conf)
		snprintf(buf, len, "enabled, not bound");
	else if (bound)
		snprintf(buf, len, "bound, not in conf");
	else
		snprintf(buf, len, "-");
	if (!vm[0] || !strstr(buf, "in use"))
		vm[0] = 0;
}

static void others(const struct host_pci_dev *d, char *buf, size_t len)
{
	size_t l = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < d->nr_members && l < len; i++) {
		if (!strcmp(d->members[i], d->bdf))
			continue;
		l += snprintf(buf + l, len - l, "%s%s", l ? "," : "", pci_bdf__short(d->members[i]));
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static json_object *dev_json(const struct host *x, const struct host_pci_dev *d,
			     const struct eligibility *e)
{
	json_object *o = json_object_new_object(), *a, *p;
	char buf[64], vm[CLAIM_NAME_MAX + 1], state[128];
	const struct passthru_conf_dev *cd = passthru_conf__find(&x->conf, d->bdf);

	json_object_object_add(o, "bdf", json_object_new_string(d->bdf));
	snprintf(buf, sizeof(buf), "%04x:%04x", d->vendor, d->device);
	json_object_object_add(o, "id", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "%04x:%04x", d->subsys_vendor, d->subsys_device);
	json_object_object_add(o, "subsystem", json_object_new_string(buf));
	snprintf(buf, sizeof(buf), "0x%06x", d->class);
	json_object_object_add(o, "class", json_object_new_string(buf));
	json_object_object_add(o, "class_name", json_object_new_string(pci_class__name(d->class)));
	json_object_object_add(o, "bridge", json_object_new_boolean(host_pci__is_bridge(d)));
	json_object_object_add(o, "iommu_group", d->group >= 0 ? json_object_new_int(d->group) : NULL);
	a = json_object_new_array();
	for (unsigned int i = 0; i < d->nr_members; i++)
		if (strcmp(d->members[i], d->bdf))
			json_object_array_add(a, json_object_new_string(d->members[i]));
	json_object_object_add(o, "group_others", a);
	json_object_object_add(o, "driver", d->driver[0] ? json_object_new_string(d->driver) : NULL);
	a = json_object_new_array();
	if (d->reset_methods[0]) {
		char *dup = xstrdup(d->reset_methods), *save = NULL;

		for (char *w = strtok_r(dup, " ", &save); w; w = strtok_r(NULL, " ", &save))
			json_object_array_add(a, json_object_new_string(w));
		free(dup);
	} else if (d->has_reset) {
		json_object_array_add(a, json_object_new_string("unknown"));
	}
	json_object_object_add(o, "reset_methods", a);
	json_object_object_add(o, "boot_vga", json_object_new_boolean(d->boot_vga));

	a = json_object_new_array();
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		const struct host_bar *b = &d->bars[i];
		json_object *bo;

		if (!b->size)
			continue;
		bo = json_object_new_object();
		json_object_object_add(bo, "index", json_object_new_int(i));
		json_object_object_add(bo, "type", json_object_new_string(
			i == PCI_BAR_ROM ? "rom" : (b->flags & HOST_RES_IO) ? "io" :
			(b->flags & HOST_RES_MEM_64) ? "mem64" : "mem32"));
		json_object_object_add(bo, "size", json_object_new_int64(b->size));
		json_object_object_add(bo, "prefetchable",
				       json_object_new_boolean(b->flags & HOST_RES_PREFETCH));
		json_object_array_add(a, bo);
	}
	json_object_object_add(o, "bars", a);

	passthru_state(x, d, state, sizeof(state), vm, sizeof(vm));
	p = json_object_new_object();
	json_object_object_add(p, "enabled", json_object_new_boolean(cd != NULL));
	json_object_object_add(p, "bound", json_object_new_boolean(
		eligibility__driver_is_vfio(d->driver)));
	json_object_object_add(p, "vm", vm[0] ? json_object_new_string(vm) : NULL);
	json_object_object_add(p, "host_driver", cd ? json_object_new_string(cd->driver) : NULL);
	json_object_object_add(o, "passthru", p);

	json_object_object_add(o, "eligible", json_object_new_boolean(!(e->mask & ELIG_BLOCKING)));
	a = json_object_new_array();
	for (int r = 0; r < NR_ELIG_REASONS; r++) {
		json_object *ro;

		if (!(e->mask & (1u << r)))
			continue;
		ro = json_object_new_object();
		json_object_object_add(ro, "code", json_object_new_string(eligibility__code(r)));
		json_object_object_add(ro, "blocking",
				       json_object_new_boolean(ELIG_BLOCKING & (1u << r)));
		json_object_object_add(ro, "brief", json_object_new_string(e->brief[r]));
		json_object_object_add(ro, "text", json_object_new_string(e->text[r]));
		json_object_array_add(a, ro);
	}
	json_object_object_add(o, "reasons", a);
	return o;
}

enum { COL_BDF, COL_ID, COL_SUBSYS, COL_CLASS, COL_GROUP, COL_OTHERS, COL_DRIVER, COL_STATE,
       COL_NOTES, NR_COLS };

static int cmd_list(int argc, char **argv)
{
	static const char *const heads[NR_COLS] = {
		"BDF", "ID", "SUBSYSTEM", "CLASS", "GROUP", "GROUP-OTHERS", "DRIVER", "PASSTHRU",
		"NOTES",
	};
	const char *conf = NULL, *id = NULL;
	unsigned int want_vendor = 0, want_device = 0, shown = 0;
	bool json = false;
	char *(*rows)[NR_COLS] = NULL;
	size_t width[NR_COLS] = { 0 };
	json_object *arr = NULL;
	struct host x;
	int ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--id") || !strncmp(argv[i], "--id=", 5)) {
			int n = 0;

			id = argv[i][4] == '=' ? argv[i] + 5 : (i + 1 < argc ? argv[++i] : NULL);
			if (!id || strlen(id) != 9 ||
			    sscanf(id, "%4x:%4x%n", &want_vendor, &want_device, &n) != 2 || n != 9 ||
			    strspn(id, "0123456789abcdefABCDEF:") != 9 || id[4] != ':') {
				pr_err("--id %s: not VENDOR:DEVICE; write 4+4 hex digits, e.g. --id 8086:10d3",
				       id ? id : "(missing)");
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--conf") || !strncmp(argv[i], "--conf=", 7)) {
			conf = argv[i][6] == '=' ? argv[i] + 7 : (i + 1 < argc ? argv[++i] : NULL);
			if (!conf || !*conf) {
				pr_err("--conf needs a file name; e.g. --conf /etc/dpvm/passthru.conf");
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else {
			pr_err("pci list: unknown argument '%s'; the options are --json, --id "
			       "VENDOR:DEVICE and --conf FILE", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (host_load(&x, conf)) {
		host_free(&x);
		return EXIT_ERROR;
	}
	if (json)
		arr = json_object_new_array();
	rows = xzalloc((x.pci.nr + 1) * sizeof(*rows));
	for (int c = 0; c < NR_COLS; c++) {
		rows[0][c] = xstrdup(heads[c]);
		width[c] = strlen(heads[c]);
	}
	for (unsigned int i = 0; i < x.pci.nr; i++) {
		const struct host_pci_dev *d = &x.pci.devs[i];
		char cell[NR_COLS][1024], vm[CLAIM_NAME_MAX + 1];
		struct eligibility e;
		size_t l = 0;

		if (id && (d->vendor != want_vendor || d->device != want_device))
			continue;
		eligibility__reasons(&x.pci, d, &x.facts, NULL, 0, &e);
		shown++;
		if (json) {
			json_object_array_add(arr, dev_json(&x, d, &e));
			continue;
		}
		snprintf(cell[COL_BDF], sizeof(cell[0]), "%s", d->bdf);
		snprintf(cell[COL_ID], sizeof(cell[0]), "%04x:%04x", d->vendor, d->device);
		snprintf(cell[COL_SUBSYS], sizeof(cell[0]), "%04x:%04x", d->subsys_vendor,
			 d->subsys_device);
		snprintf(cell[COL_CLASS], sizeof(cell[0]), "%s", pci_class__name(d->class));
		if (d->group >= 0)
			snprintf(cell[COL_GROUP], sizeof(cell[0]), "%d", d->group);
		else
			snprintf(cell[COL_GROUP], sizeof(cell[0]), "-");
		others(d, cell[COL_OTHERS], sizeof(cell[0]));
		snprintf(cell[COL_DRIVER], sizeof(cell[0]), "%s", d->driver[0] ? d->driver : "-");
		passthru_state(&x, d, cell[COL_STATE], sizeof(cell[0]), vm, sizeof(vm));
		cell[COL_NOTES][0] = 0;
		for (int r = 0; r < NR_ELIG_REASONS; r++)
			if ((e.mask & (1u << r)) && l < sizeof(cell[0]))
				l += snprintf(cell[COL_NOTES] + l, sizeof(cell[0]) - l, "%s%s",
					      l ? "; " : "", e.brief[r]);
		if (!e.mask)
			snprintf(cell[COL_NOTES], sizeof(cell[0]), "eligible");
		for (int c = 0; c < NR_COLS; c++) {
			rows[shown][c] = xstrdup(cell[c]);
			width[c] = MAX(width[c], strlen(cell[c]));
		}
	}
	ret = 0;
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_SPACED));
		json_object_put(arr);
	} else if (!shown && id) {
		pr_err("--id %s: no PCI function on this host has that id; see `dpvm host pci list`",
		       id);
		ret = EXIT_ERROR;
	} else {
		for (unsigned int r = 0; r <= shown; r++) {
			for (int c = 0; c < NR_COLS - 1; c++)
				printf("%-*s  ", (int)width[c], rows[r][c]);
			printf("%s\n", rows[r][NR_COLS - 1]);
		}
	}
	for (unsigned int r = 0; r <= x.pci.nr; r++)
		for (int c = 0; c < NR_COLS; c++)
			free(rows[r][c]);
	free(rows);
	host_free(&x);
	return ret;
}

/* ---- moving a function between drivers ---- */

static const char *fix_for(int err)
{
	return err == -EACCES || err == -EPERM ? "; run as root" : "";
}

/* a fake sysfs tree (unit tests): no kernel reacts to what is written */
static bool fake_sysfs(void)
{
	return strcmp(sysfs__root(), "/sys") != 0;
}

/* wait for the kernel to settle bdf's driver; true if it is `want` ("" none) */
static bool wait_driver(const char *bdf, const char *want)
{
	char drv[PCI_DRIVER_LEN] = "";

	for (int ms = 0; ms <= BIND_WAIT_MS; ms += 20) {
		if (host_pci__driver(bdf, drv, sizeof(drv)))
			return false;
		if (!strcmp(drv, want))
			return true;
		if (fake_sysfs())
			break;
		usleep(20000);
	}
	return false;
}

/* run `modprobe ARG` quietly; its exit status, 127 when there is no modprobe */
static int run_modprobe(const char *arg)
{
	static const char *const paths[] = { "/sbin/modprobe", "/usr/sbin/modprobe",
					     "/bin/modprobe", "/usr/bin/modprobe" };
	const char *found = NULL;
	int status;
	pid_t pid;

	for (unsigned int i = 0; i < ARRAY_SIZE(paths) && !found; i++)
		if (!access(paths[i], X_OK))
			found = paths[i];
	if (!found)
		return 127;
	pid = fork();
	if (pid < 0)
		return 127;
	if (!pid) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(found, "modprobe", "-q", arg, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 126;
}

static int need_vfio_pci(void)
{
	int st;

	if (host_pci__driver_loaded(VFIO_DRIVER))
		return 0;
	if (fake_sysfs()) {
		pr_err("vfio-pci is not loaded (no %s/bus/pci/drivers/vfio-pci); load it with "
		       "`modprobe vfio-pci`", sysfs__root());
		return -ENOENT;
	}
	st = run_modprobe("vfio-pci");
	if (st == 127) {
		pr_err("vfio-pci is not loaded and there is no modprobe to load it; load the "
		       "vfio-pci module (kernel config CONFIG_VFIO_PCI)");
		return -ENOENT;
	}
	if (st || !host_pci__driver_loaded(VFIO_DRIVER)) {
		pr_err("vfio-pci is not loaded and `modprobe vfio-pci` failed (status %d); install "
		       "the kernel's vfio-pci module (CONFIG_VFIO_PCI)", st);
		return -ENOENT;
	}
	return 0;
}

/*
 * Put bdf back the way it was: driver_override `override`, bound to
 * `driver` ("" none).  Best effort; true if the driver is as it was.
 */
static bool restore(const char *bdf, const char *override, const char *driver)
{
	char now[PCI_DRIVER_LEN] = "";

	host_pci__set_override(bdf, override);
	host_pci__driver(bdf, now, sizeof(now));
	if (!strcmp(now, driver))
		return true;	/* it never left */
	if (now[0])
		host_pci__unbind(bdf);
	if (driver[0] && host_pci__bind(bdf, driver))
		host_pci__probe(bdf);
	return wait_driver(bdf, driver);
}

/* unbind d from its current driver (d->driver), if any; -EBUSY if it stays */
static int unbind_current(const struct host_pci_dev *d)
{
	int ret;

	if (!d->driver[0])
		return 0;
	ret = host_pci__unbind(d->bdf);
	if (!ret && !wait_driver(d->bdf, ""))
		ret = -EBUSY;
	if (ret)
		pr_err("%s: cannot unbind it from %s: %s%s", d->bdf, d->driver,
		       ret == -EBUSY ? "it is still bound" : strerror(-ret), fix_for(ret));
	return ret;
}

/* bdf from its host driver (d->driver) to vfio-pci; on failure as before */
static int bind_vfio(const struct host_pci_dev *d)
{
	const char *bdf = d->bdf;
	int ret;

	ret = host_pci__set_override(bdf, VFIO_DRIVER);
	if (ret) {
		pr_err("%s: cannot set its driver_override to vfio-pci: %s%s", bdf, strerror(-ret),
		       fix_for(ret));
		return ret;
	}
	ret = unbind_current(d);
	if (ret)
		goto undo;
	ret = host_pci__probe(bdf);
	if (!wait_driver(bdf, VFIO_DRIVER)) {
		char now[PCI_DRIVER_LEN] = "";

		host_pci__driver(bdf, now, sizeof(now));
		if (ret)
			pr_err("%s: vfio-pci did not take it: writing drivers_probe failed: %s%s",
			       bdf, strerror(-ret), fix_for(ret));
		else if (now[0])
			pr_err("%s: vfio-pci did not take it, %s did; see the kernel log (dmesg)",
			       bdf, now);
		else
			pr_err("%s: vfio-pci did not take it (it stayed unbound); see the kernel "
			       "log (dmesg)", bdf);
		ret = -EIO;
		goto undo;
	}
	return 0;
undo:
	if (!restore(bdf, d->override, d->driver))
		pr_err("%s: could not give it back to %s; bind it by hand (echo %s > "
		       "/sys/bus/pci/drivers/%s/bind)", bdf, d->driver[0] ? d->driver : "no driver",
		       bdf, d->driver[0] ? d->driver : "DRIVER");
	return ret ? ret : -EIO;
}

/* bdf from vfio-pci to `driver` ("" none); on failure back on vfio-pci */
static int unbind_vfio(const struct host_pci_dev *d, const char *driver)
{
	const char *bdf = d->bdf;
	char now[PCI_DRIVER_LEN] = "";
	int ret;

	ret = host_pci__set_override(bdf, NULL);
	if (ret) {
		pr_err("%s: cannot clear its driver_override: %s%s", bdf, strerror(-ret),
		       fix_for(ret));
		return ret;
	}
	ret = unbind_current(d);
	if (ret)
		goto undo;
	if (!driver[0])
		return 0;
	if (!host_pci__driver_loaded(driver) && !fake_sysfs()) {
		char alias[256], path[PATH_MAX];

		/* the modalias loads the module that drives it, whatever its name */
		sysfs__fmt(path, sizeof(path), "%s/bus/pci/devices/%s/modalias", sysfs__root(), bdf);
		if (!sysfs__read_str(path, alias, sizeof(alias)))
			run_modprobe(alias);
	}
	if (host_pci__bind(bdf, driver))
		host_pci__probe(bdf);
	if (wait_driver(bdf, driver))
		return 0;
	host_pci__driver(bdf, now, sizeof(now));
	pr_err("%s: %s did not take it back (%s%s); see the kernel log (dmesg); it stays on "
	       "vfio-pci", bdf, driver, now[0] ? "it went to " : "it stayed unbound", now);
	ret = -EIO;
undo:
	if (!restore(bdf, d->override, d->driver))
		pr_err("%s: could not return it to %s either; bind it by hand", bdf, d->driver);
	return ret;
}

/* ---- `passthru enable` / `disable` / `apply` ---- */

static void warn_no_reset(const struct eligibility *e, const char *bdf)
{
	if (e->mask & (1u << ELIG_NO_RESET))
		pr_warn("%s: %s", bdf, e->text[ELIG_NO_RESET]);
}

/* the functions `--group` adds: every member of each group but bridges */
static int expand_groups(const struct host *x, char ***list, unsigned int *nr)
{
	unsigned int n0 = *nr;

	for (unsigned int i = 0; i < n0; i++) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, (*list)[i]);

		if (d->group < 0) {
			pr_err("%s: --group: it is in no IOMMU group: %s", d->bdf,
			       x->facts.iommu ? "the host's IOMMU does not translate its DMA" :
			       "the host has no IOMMU enabled; turn on VT-d/AMD-Vi in the firmware "
			       "and boot with intel_iommu=on");
			return -EINVAL;
		}
		for (unsigned int m = 0; m < d->nr_members; m++) {
			const struct host_pci_dev *o = host_pci__find(&x->pci, d->members[m]);
			bool have = false;

			if (!o || host_pci__is_bridge(o))
				continue;
			for (unsigned int j = 0; j < *nr; j++)
				have |= !strcmp((*list)[j], o->bdf);
			if (have)
				continue;
			*list = xrealloc(*list, (*nr + 1) * sizeof(**list));
			(*list)[(*nr)++] = xstrdup(o->bdf);
		}
	}
	return 0;
}

static int save_conf(struct host *x)
{
	return passthru_conf__save(&x->conf) ? -EIO : 0;
}

static int cmd_enable(struct host *x, char ***listp, unsigned int *np, bool group)
{
	bool *done, refused = false;
	unsigned int i, n;
	char **list;
	int ret;

	if (group && expand_groups(x, listp, np))
		return EXIT_ERROR;
	list = *listp;
	n = *np;
	done = xzalloc(n * sizeof(*done));

	/* decide everything first: nothing is written for a refused set */
	for (i = 0; i < n; i++) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);
		struct eligibility e;
		int r;

		eligibility__reasons(&x->pci, d, &x->facts, list, n, &e);
		r = eligibility__first_blocking(&e);
		if (r >= 0) {
			pr_err("%s: cannot be passed through: %s", d->bdf, e.text[r]);
			refused = true;
		}
	}
	if (refused) {
		ret = EXIT_ERROR;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);

		if (!eligibility__driver_is_vfio(d->driver) && need_vfio_pci()) {
			ret = EXIT_ERROR;
			goto out;
		}
	}

	for (i = 0; i < n; i++) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);

		if (eligibility__driver_is_vfio(d->driver))
			continue;
		if (bind_vfio(d))
			goto undo;
		done[i] = true;
	}
	for (i = 0; i < n; i++) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);
		const struct passthru_conf_dev *cd = passthru_conf__find(&x->conf, d->bdf);
		char drv[PCI_DRIVER_LEN];

		/* keep the recorded host driver of a function enabled before */
		if (done[i])
			snprintf(drv, sizeof(drv), "%s", d->driver);
		else if (cd && cd->vendor == d->vendor && cd->device == d->device)
			snprintf(drv, sizeof(drv), "%s", cd->driver);
		else
			drv[0] = 0;	/* on vfio-pci already; its host driver is unknown */
		passthru_conf__set(&x->conf, d->bdf, d->vendor, d->device, drv);
	}
	if (save_conf(x))
		goto undo;

	for (i = 0; i < n; i++) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);
		struct eligibility e;

		eligibility__reasons(&x->pci, d, &x->facts, list, n, &e);
		printf("%s %04x:%04x: %s -> vfio-pci (IOMMU group %d)%s\n", d->bdf, d->vendor,
		       d->device, done[i] ? (d->driver[0] ? d->driver : "no driver") :
		       "already on vfio-pci", d->group, done[i] ? "" : ", recorded");
		warn_no_reset(&e, d->bdf);
	}
	ret = 0;
	goto out;

undo:
	while (i-- > 0) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);

		if (done[i] && !restore(d->bdf, d->override, d->driver))
			pr_err("%s: could not give it back to %s; bind it by hand", d->bdf,
			       d->driver[0] ? d->driver : "no driver");
	}
	ret = EXIT_ERROR;
out:
	free(done);
	return ret;
}

static int cmd_disable(struct host *x, char **list, unsigned int n)
{
	bool *done = xzalloc(n * sizeof(*done));
	bool refused = false;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);
		char vm[CLAIM_NAME_MAX + 1], comm[64];
		pid_t pid = 0;

		if (!d)
			continue;	/* gone: only its record is left to drop */
		if (claim__holder(d->bdf, vm, sizeof(vm), &pid) == 1) {
			pr_err("%s: in use by VM '%s' (pid %d); power it off first (dpvm ctl %s quit)",
			       d->bdf, vm, (int)pid, vm);
			refused = true;
		} else if (!passthru_conf__find(&x->conf, d->bdf) &&
			   !eligibility__driver_is_vfio(d->driver)) {
			pr_err("%s: not enabled for passthrough (its driver is %s, and %s has no "
			       "record of it); nothing to disable", d->bdf,
			       d->driver[0] ? d->driver : "none", x->conf.path);
			refused = true;
		} else if (d->group >= 0 && eligibility__driver_is_vfio(d->driver) &&
			   (pid = host_facts__vfio_user(d->group, comm, sizeof(comm)))) {
			pr_err("%s: /dev/vfio/%d is open in process %d (%s); stop it first, or "
			       "unbinding would wait for it", d->bdf, d->group, (int)pid, comm);
			refused = true;
		}
	}
	if (refused) {
		ret = EXIT_ERROR;
		goto out;
	}

	for (i = 0; i < n; i++) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);
		const struct passthru_conf_dev *cd = passthru_conf__find(&x->conf, list[i]);
		const char *to = cd ? cd->driver : "";

		if (!d || (!eligibility__driver_is_vfio(d->driver) && !d->override[0]))
			continue;	/* only in the conf: nothing to unbind */
		if (unbind_vfio(d, to))
			goto undo;
		done[i] = true;
	}
	for (i = 0; i < n; i++)
		passthru_conf__remove(&x->conf, list[i]);
	if (save_conf(x)) {
		i = n;
		goto undo;
	}
	for (i = 0; i < n; i++) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);
		char now[PCI_DRIVER_LEN] = "";

		if (!d) {
			printf("%s: not on this host; its record is dropped\n", list[i]);
			continue;
		}
		host_pci__driver(d->bdf, now, sizeof(now));
		printf("%s %04x:%04x: %s -> %s\n", d->bdf, d->vendor, d->device,
		       d->driver[0] ? d->driver : "no driver", now[0] ? now : "no driver");
	}
	ret = 0;
	goto out;

undo:
	while (i-- > 0) {
		const struct host_pci_dev *d = host_pci__find(&x->pci, list[i]);

		if (d && done[i] && !restore(d->bdf, d->override, d->driver))
			pr_err("%s: could not put it back on vfio-pci; run `dpvm host passthru enable %s`",
			       d->bdf, d->bdf);
	}
	ret = EXIT_ERROR;
out:
	free(done);
	return ret;
}

static int cmd_apply(struct host *x)
{
	char **all = xzalloc((x->conf.nr + 1) * sizeof(*all));
	unsigned int applied = 0, failed = 0;

	for (unsigned int i = 0; i < x->conf.nr; i++)
		all[i] = x->conf.devs[i].bdf;
	for (unsigned int i = 0; i < x->conf.nr; i++) {
		const struct passthru_conf_dev *cd = &x->conf.devs[i];
		const struct host_pci_dev *d = host_pci__find(&x->pci, cd->bdf);
		struct eligibility e;
		int r;

		if (!d) {
			pr_err("%s (%04x:%04x in %s): no such PCI function now; not applied (`dpvm host "
			       "passthru disable %s` drops the record)", cd->bdf, cd->vendor, cd->device,
			       x->conf.path, cd->bdf);
			failed++;
			continue;
		}
		if (d->vendor != cd->vendor || d->device != cd->device) {
			pr_err("%s: %s records %04x:%04x but the slot now holds %04x:%04x; not applied "
			       "(`dpvm host passthru enable %s` gives the new device)", cd->bdf,
			       x->conf.path, cd->vendor, cd->device, d->vendor, d->device, cd->bdf);
			failed++;
			continue;
		}
		eligibility__reasons(&x->pci, d, &x->facts, all, x->conf.nr, &e);
		r = eligibility__first_blocking(&e);
		if (eligibility__driver_is_vfio(d->driver)) {
			printf("%s %04x:%04x: already on vfio-pci\n", d->bdf, d->vendor, d->device);
			applied++;
			continue;
		}
		if (r >= 0) {
			pr_err("%s: not applied: %s", d->bdf, e.text[r]);
			failed++;
			continue;
		}
		if (need_vfio_pci() || bind_vfio(d)) {
			failed++;
			continue;
		}
		printf("%s %04x:%04x: %s -> vfio-pci (IOMMU group %d)\n", d->bdf, d->vendor,
		       d->device, d->driver[0] ? d->driver : "no driver", d->group);
		warn_no_reset(&e, d->bdf);
		applied++;
	}
	free(all);
	printf("applied %u of %u devices from %s\n", applied, x->conf.nr, x->conf.path);
	return failed ? EXIT_ERROR : 0;
}

/* ---- `passthru check` ---- */

enum { CK_OK, CK_WARN, CK_FAIL };

struct report {
	int worst;
	char first_fail[400];
	bool need_enable;
};

static void ck(struct report *rep, int level, const char *what, const char *fmt, ...)
	__printf(4, 5);
static void ck(struct report *rep, int level, const char *what, const char *fmt, ...)
{
	static const char *const names[] = { "ok", "warn", "fail" };
	char text[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printf("%-5s %-18s %s\n", names[level], what, text);
	if (level == CK_FAIL && rep->worst < CK_FAIL)
		sysfs__fmt(rep->first_fail, sizeof(rep->first_fail), "%s: %s", what, text);
	rep->worst = MAX(rep->worst, level);
}

static bool has_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[0].effective & (1u << CAP_IPC_LOCK);
}

static void check_memlock(struct report *rep, u64 mem)
{
	char a[32], b[32], c[32];
	struct rlimit rl;

	if (has_cap_ipc_lock()) {
		ck(rep, CK_OK, "memlock", "CAP_IPC_LOCK: the limit does not apply (%s to pin)",
		   fmt_size(mem, a, sizeof(a)));
		return;
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl)) {
		ck(rep, CK_WARN, "memlock", "cannot read RLIMIT_MEMLOCK: %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY) {
		ck(rep, CK_OK, "memlock", "unlimited (%s to pin)", fmt_size(mem, a, sizeof(a)));
		return;
	}
	if (rl.rlim_cur < mem) {
		ck(rep, CK_FAIL, "memlock", "RLIMIT_MEMLOCK is %s, but VFIO pins all %s of guest "
		   "memory; raise it (ulimit -l, LimitMEMLOCK= in a unit) or run with CAP_IPC_LOCK",
		   fmt_size(rl.rlim_cur, a, sizeof(a)), fmt_size(mem, b, sizeof(b)));
		return;
	}
	/* --mem-reserve full mlock()s the memory, and VFIO's pins are counted
	 * in the same locked_vm: without the capability both add up */
	if (rl.rlim_cur / 2 < mem) {
		ck(rep, CK_WARN, "memlock", "RLIMIT_MEMLOCK is %s: enough to pin %s, but "
		   "--mem-reserve full's mlock counts against it too (%s in all); make it "
		   "unlimited or run with CAP_IPC_LOCK", fmt_size(rl.rlim_cur, a, sizeof(a)),
		   fmt_size(mem, b, sizeof(b)), fmt_size(mem * 2, c, sizeof(c)));
		return;
	}
	ck(rep, CK_OK, "memlock", "RLIMIT_MEMLOCK %s covers %s (twice, for mlock and VFIO)",
	   fmt_size(rl.rlim_cur, a, sizeof(a)), fmt_size(mem, b, sizeof(b)));
}

static void check_bars(struct report *rep, const struct host_pci_dev *d)
{
	u64 mem32 = 0, mem64 = 0, io = 0;
	char desc[400] = "", a[32], b[32];
	size_t l = 0;

	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		const struct host_bar *bar = &d->bars[i];
		const char *kind;

		if (!bar->size)
			continue;
		if (i == PCI_BAR_ROM) {
			kind = "rom";
			mem32 += bar->size;	/* with rombar=on, below 4 GiB */
		} else if (bar->flags & HOST_RES_IO) {
			kind = "io";
			io += bar->size;
		} else if (bar->flags & HOST_RES_MEM_64) {
			kind = "mem64";
			mem64 += bar->size;
		} else {
			kind = "mem32";
			mem32 += bar->size;
		}
		if (i == PCI_BAR_ROM)
			snprintf(b, sizeof(b), "ROM");
		else
			snprintf(b, sizeof(b), "BAR%u %s", i, kind);
		if (l < sizeof(desc))
			l += snprintf(desc + l, sizeof(desc) - l, "%s%s %s", l ? ", " : "", b,
				      fmt_size(bar->size, a, sizeof(a)));
	}
	if (!l) {
		ck(rep, CK_OK, "BARs", "none");
		return;
	}
	if (mem32 > MMIO32_SIZE)
		ck(rep, CK_FAIL, "BARs", "%s: the 32-bit BARs need %s, the VM's 32-bit MMIO window "
		   "has %s", desc, fmt_size(mem32, a, sizeof(a)), fmt_size(MMIO32_SIZE, b, sizeof(b)));
	else if (mem64 > MMIO64_MAX_SIZE)
		ck(rep, CK_FAIL, "BARs", "%s: the 64-bit BARs need %s, the VM's 64-bit MMIO window "
		   "has at most %s", desc, fmt_size(mem64, a, sizeof(a)),
		   fmt_size(MMIO64_MAX_SIZE, b, sizeof(b)));
	else if (io > PCI_IO_WINDOW_SIZE)
		ck(rep, CK_FAIL, "BARs", "%s: the I/O BARs need %s, the VM's I/O window has %s",
		   desc, fmt_size(io, a, sizeof(a)), fmt_size(PCI_IO_WINDOW_SIZE, b, sizeof(b)));
	else if (mem32 > MMIO32_SIZE / 2)
		ck(rep, CK_WARN, "BARs", "%s: %s of the %s 32-bit window leaves little room for the "
		   "VM's other devices", desc, fmt_size(mem32, a, sizeof(a)),
		   fmt_size(MMIO32_SIZE, b, sizeof(b)));
	else
		ck(rep, CK_OK, "BARs", "%s: fit the VM's windows (32-bit %s, 64-bit up to %s, I/O %s)",
		   desc, fmt_size(MMIO32_SIZE, a, sizeof(a)), fmt_size(MMIO64_MAX_SIZE, b, sizeof(b)),
		   "16 KiB");
}

static void check_group(struct report *rep, const struct host *x, const struct host_pci_dev *d,
			const struct eligibility *e)
{
	char list[400] = "";
	size_t l = 0;

	if (d->group < 0)
		return;
	if (e->mask & (1u << ELIG_GROUP)) {
		ck(rep, CK_FAIL, "group", "%s", e->text[ELIG_GROUP]);
		return;
	}
	for (unsigned int i = 0; i < d->nr_members; i++) {
		const struct host_pci_dev *m = host_pci__find(&x->pci, d->members[i]);
		char vm[CLAIM_NAME_MAX + 1];

		if (!m || m == d)
			continue;
		if (claim__holder(m->bdf, vm, sizeof(vm), NULL) == 1) {
			ck(rep, CK_FAIL, "group", "group %d is in use by VM '%s' through %s: a group "
			   "goes to one VM at a time", d->group, vm, m->bdf);
			return;
		}
		if (l < sizeof(list))
			l += snprintf(list + l, sizeof(list) - l, "%s%s (%s)", l ? ", " : "",
				      pci_bdf__short(m->bdf), m->driver[0] ? m->driver : "no driver");
	}
	if (!l)
		ck(rep, CK_OK, "group", "viable: alone in IOMMU group %d", d->group);
	else
		ck(rep, CK_OK, "group", "viable: IOMMU group %d also holds %s", d->group, list);
}

static void check_reset(struct report *rep, const struct host *x, const struct host_pci_dev *d)
{
	char why[200];
	bool bus = eligibility__bus_reset(&x->pci, d, why, sizeof(why));

	if (d->reset_methods[0])
		ck(rep, CK_OK, "reset", "%s (the kernel's methods, in the order it tries them)",
		   d->reset_methods);
	else if (d->has_reset)
		ck(rep, CK_OK, "reset", "available (this kernel does not say which method)");
	else
		ck(rep, CK_WARN, "reset", "none: no FLR, no PM reset, no bus reset; power-on needs "
		   "allow-no-reset, and the device keeps its state from one VM to the next");
	if (bus)
		ck(rep, CK_OK, "bus-reset", "possible: %s", why);
	else
		ck(rep, d->resets || d->has_reset ? CK_OK : CK_WARN, "bus-reset", "not possible: %s",
		   why);
}

static int cmd_check(struct host *x, const char *bdf, u64 mem)
{
	const struct host_pci_dev *d = host_pci__find(&x->pci, bdf);
	const struct passthru_conf_dev *cd = passthru_conf__find(&x->conf, bdf);
	struct report rep = { 0 };
	char vm[CLAIM_NAME_MAX + 1];
	struct eligibility e;
	pid_t pid = 0;
	int n;

	eligibility__reasons(&x->pci, d, &x->facts, NULL, 0, &e);
	printf("%s %04x:%04x %s (subsystem %04x:%04x)\n", d->bdf, d->vendor, d->device,
	       pci_class__name(d->class), d->subsys_vendor, d->subsys_device);

	if (e.mask & (1u << ELIG_NO_IOMMU))
		ck(&rep, CK_FAIL, "IOMMU", "%s", e.text[ELIG_NO_IOMMU]);
	else
		ck(&rep, CK_OK, "IOMMU", "group %d (%s)", d->group, x->facts.iommu_name);

	if (x->facts.ir == IR_ON)
		ck(&rep, CK_OK, "interrupt-remap", "on (IR- interrupt chips in /proc/interrupts)");
	else if (x->facts.unsafe_interrupts)
		ck(&rep, CK_WARN, "interrupt-remap", "%s, but vfio_iommu_type1 allow_unsafe_interrupts=Y "
		   "lets the device be used: a guest could forge MSIs",
		   x->facts.ir == IR_OFF ? "off" : "unknown");
	else if (!x->facts.iommu)
		ck(&rep, CK_FAIL, "interrupt-remap", "none: remapping is done by the IOMMU, and "
		   "the host has none enabled");
	else if (x->facts.ir == IR_OFF)
		ck(&rep, CK_FAIL, "interrupt-remap", "off: /proc/interrupts shows IO-APIC/PCI-MSI "
		   "chips without IR-%s; vfio_iommu_type1 refuses the device (a guest could forge "
		   "MSIs); enable it (intremap=on, x2APIC in the firmware) or, trusting the guest, "
		   "load vfio_iommu_type1 with allow_unsafe_interrupts=1", x->facts.ir_capable ?
		   " although the IOMMU supports remapping (intremap=off?)" : "");
	else
		ck(&rep, CK_WARN, "interrupt-remap", "unknown: /proc/interrupts names no IO-APIC or "
		   "MSI chip; vfio_iommu_type1 refuses the device if remapping is off");

	if (host_pci__is_bridge(d))
		ck(&rep, CK_FAIL, "bridge", "%s", e.text[ELIG_BRIDGE]);

	{
		static const enum elig_reason uses[] = { ELIG_BOOT_DISK, ELIG_BOOT_USB, ELIG_CONSOLE,
							 ELIG_IN_USE };
		bool any = false;

		for (unsigned int i = 0; i < ARRAY_SIZE(uses); i++) {
			if (!(e.mask & (1u << uses[i])))
				continue;
			ck(&rep, CK_FAIL, "host-use", "%s", e.text[uses[i]]);
			any = true;
		}
		if (!any)
			ck(&rep, CK_OK, "host-use", "not the host's boot disk, boot USB or console; "
			   "no mounted disk, swap or up interface behind it");
	}

	check_group(&rep, x, d, &e);
	check_reset(&rep, x, d);

	if (eligibility__driver_is_vfio(d->driver)) {
		char dev[64];

		sysfs__fmt(dev, sizeof(dev), "/dev/vfio/%d", d->group);
		if (fake_sysfs() || !access(dev, R_OK | W_OK))
			ck(&rep, CK_OK, "driver", "%s (%s)", d->driver, dev);
		else
			ck(&rep, CK_FAIL, "driver", "%s, but %s: %s; run as root or give the VM's "
			   "user access to it", d->driver, dev, strerror(errno));
	} else if (host_pci__is_bridge(d)) {
		ck(&rep, CK_OK, "driver", "%s (a bridge stays with the host)",
		   d->driver[0] ? d->driver : "no driver");
	} else {
		ck(&rep, CK_WARN, "driver", "%s; `dpvm host passthru enable %s` binds it to vfio-pci",
		   d->driver[0] ? d->driver : "no driver", d->bdf);
		rep.need_enable = true;
	}
	if (host_pci__is_bridge(d))
		;	/* never recorded */
	else if (cd)
		ck(&rep, CK_OK, "conf", "recorded in %s (host driver %s)", x->conf.path,
		   cd->driver[0] ? cd->driver : "none");
	else
		ck(&rep, CK_WARN, "conf", "not in %s: after a reboot it goes back to its host driver",
		   x->conf.path);

	if (claim__holder(d->bdf, vm, sizeof(vm), &pid) == 1)
		ck(&rep, CK_WARN, "claim", "in use by VM '%s' (pid %d) now", vm, (int)pid);
	else
		ck(&rep, CK_OK, "claim", "no VM holds it");
	n = claim__count();
	if (n >= 0 && (unsigned int)n >= x->conf.max_per_host)
		ck(&rep, CK_WARN, "host-limit", "%d of the host's %u passthrough devices are in use: "
		   "another VM with one cannot power on", n, x->conf.max_per_host);
	else if (n >= 0)
		ck(&rep, CK_OK, "host-limit", "%d of the host's %u passthrough devices in use", n,
		   x->conf.max_per_host);

	check_memlock(&rep, mem);
	check_bars(&rep, d);

	if (rep.worst == CK_FAIL) {
		printf("verdict: %s cannot be passed through (%s)\n", d->bdf, rep.first_fail);
		return EXIT_ERROR;
	}
	if (rep.need_enable)
		printf("verdict: %s can be passed through after `dpvm host passthru enable %s`%s\n",
		       d->bdf, d->bdf, e.mask & (1u << ELIG_NO_RESET) ? ", with allow-no-reset" : "");
	else
		printf("verdict: %s can be passed through%s\n", d->bdf,
		       e.mask & (1u << ELIG_NO_RESET) ? " with allow-no-reset" : "");
	return 0;
}

/* ---- `dpvm host ...` ---- */

static int cmd_passthru(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL, *conf = NULL, *mem_arg = NULL;
	char **pos = xzalloc((argc + 1) * sizeof(*pos)), **list = NULL;
	unsigned int npos = 0, nlist = 0;
	bool group = false;
	u64 mem = 512 * MIB;
	struct host x;
	int ret = EXIT_USAGE;

	if (!sub || (strcmp(sub, "enable") && strcmp(sub, "disable") && strcmp(sub, "apply") &&
		     strcmp(sub, "check"))) {
		if (sub && (!strcmp(sub, "-h") || !strcmp(sub, "--help"))) {
			fputs(usage, stdout);
			ret = 0;
		} else {
			pr_err("passthru: %s%s%s; use enable, disable, apply or check (dpvm host --help)",
			       sub ? "unknown command '" : "a command is missing", sub ? sub : "",
			       sub ? "'" : "");
		}
		free(pos);
		return ret;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--group") && !strcmp(sub, "enable")) {
			group = true;
		} else if ((!strcmp(a, "--mem") || !strncmp(a, "--mem=", 6)) && !strcmp(sub, "check")) {
			mem_arg = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
			if (!mem_arg || parse_size(mem_arg, &mem) || !mem) {
				pr_err("--mem %s: '%s' is not a memory size; use e.g. 512M or 2G",
				       mem_arg ? mem_arg : "", mem_arg ? mem_arg : "");
				goto out;
			}
		} else if (!strcmp(a, "--conf") || !strncmp(a, "--conf=", 7)) {
			conf = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
			if (!conf || !*conf) {
				pr_err("--conf needs a file name; e.g. --conf /etc/dpvm/passthru.conf");
				goto out;
			}
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			ret = 0;
			goto out;
		} else if (a[0] == '-' && a[1]) {
			pr_err("passthru %s: unknown option '%s'; see dpvm host --help", sub, a);
			goto out;
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (!strcmp(sub, "apply") && npos) {
		pr_err("passthru apply: it takes no device ('%s'); it applies %s", pos[0],
		       conf ? conf : passthru_conf__path());
		goto out;
	}
	if (strcmp(sub, "apply") && !npos) {
		pr_err("passthru %s: name a device, e.g. dpvm host passthru %s 0000:03:00.0", sub, sub);
		goto out;
	}
	if (!strcmp(sub, "check") && npos > 1) {
		pr_err("passthru check: one device at a time ('%s' and '%s')", pos[0], pos[1]);
		goto out;
	}
	if (host_load(&x, conf)) {
		host_free(&x);
		ret = EXIT_ERROR;
		goto out;
	}
	if (parse_bdfs(&x, npos, pos, !strcmp(sub, "disable"), &list, &nlist)) {
		host_free(&x);
		goto out;
	}
	if (!strcmp(sub, "enable"))
		ret = cmd_enable(&x, &list, &nlist, group);
	else if (!strcmp(sub, "disable"))
		ret = cmd_disable(&x, list, nlist);
	else if (!strcmp(sub, "apply"))
		ret = cmd_apply(&x);
	else
		ret = cmd_check(&x, list[0], mem);
	free_list(list, nlist);
	host_free(&x);
out:
	free(pos);
	return ret;
}

static int host__main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : NULL;

	if (!what || !strcmp(what, "-h") || !strcmp(what, "--help") || !strcmp(what, "help")) {
		fputs(usage, what ? stdout : stderr);
		return what ? 0 : EXIT_USAGE;
	}
	if (!strcmp(what, "pci")) {
		if (argc < 3 || strcmp(argv[2], "list")) {
			if (argc >= 3 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"))) {
				fputs(usage, stdout);
				return 0;
			}
			pr_err("pci: %s%s%s; the command is `dpvm host pci list`",
			       argc < 3 ? "a command is missing" : "unknown command '",
			       argc < 3 ? "" : argv[2], argc < 3 ? "" : "'");
			return EXIT_USAGE;
		}
		return cmd_list(argc - 3, argv + 3);
	}
	if (!strcmp(what, "passthru"))
		return cmd_passthru(argc - 2, argv + 2);
	if (!strcmp(what, "usb"))
		return usb_host__main(argc - 1, argv + 1);	/* devices/usb-hostlist.c */
	pr_err("host: unknown command '%s'; use `dpvm host pci list` or `dpvm host passthru "
	       "enable|disable|apply|check` (dpvm host --help)", what);
	return EXIT_USAGE;
}

static struct dpvm_command host_cmd = {
	.name = "host", .help = "host PCI devices for passthrough", .main = host__main,
};
dpvm_command(host_cmd);
