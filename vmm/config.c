// SPDX-License-Identifier: GPL-2.0
#include "vmm/config.h"
#include "vmm/api.h"
#include "vmm/boot.h"
#include "vmm/console.h"
#include "vmm/layout.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEVICES	64
#define MAX_PORT	0xffff

/* ---- device types ---- */

static struct device_type *device_types;

void device_type__register(struct device_type *t)
{
	t->next = device_types;
	device_types = t;
}

struct device_type *device_type__find(const char *name)
{
	for (struct device_type *t = device_types; t; t = t->next)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

struct device_type *device_type__list(void)
{
	return device_types;
}

struct device_type *device_type__find_flag(const char *flag)
{
	for (struct device_type *t = device_types; t; t = t->next)
		if (t->flag && !strcmp(t->flag, flag))
			return t;
	return NULL;
}

/* ---- scalar keys: one table for flags and the JSON file ---- */

enum key_kind { K_STRING, K_PATH, K_BOOL, K_SIZE, K_UINT, K_ENUM, K_SPECIAL };

struct key {
	const char *name;
	enum key_kind kind;
	int (*set)(struct vm_config *cfg, const char *v, const char *where);
	const char *help;
};

static int bad(const char *where, const char *v, const char *why)
{
	pr_err("%s: '%s' %s", where, v, why);
	return -1;
}

static void replace(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static int set_name(struct vm_config *cfg, const char *v, const char *where)
{
	size_t n = strlen(v);

	if (!n || n > 64)
		return bad(where, v, "must be 1 to 64 characters");
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("._-", v[i]))
			return bad(where, v, "may contain only letters, digits, '.', '_' and '-'");
	if (v[0] == '.' || v[0] == '-')
		return bad(where, v, "must start with a letter, a digit or '_'");
	replace(&cfg->name, v);
	return 0;
}

static int set_path(char **dst, const char *v, const char *where)
{
	if (!*v)
		return bad(where, v, "is empty; give a file path");
	replace(dst, v);
	return 0;
}

static int set_kernel(struct vm_config *cfg, const char *v, const char *w) { return set_path(&cfg->kernel, v, w); }
static int set_initrd(struct vm_config *cfg, const char *v, const char *w) { return set_path(&cfg->initrd, v, w); }

static int set_cmdline(struct vm_config *cfg, const char *v, const char *where __unused)
{
	replace(&cfg->cmdline, v);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static int set_no_default_cmdline(struct vm_config *cfg, const char *v, const char *where)
{
	if (parse_bool(v, &cfg->no_default_cmdline))
		return bad(where, v, "is not a boolean; use true or false");
	return 0;
}

static int set_hugepages(struct vm_config *cfg, const char *v, const char *where)
{
	if (parse_bool(v, &cfg->hugepages))
		return bad(where, v, "is not a boolean; use true or false");
	return 0;
}

static int set_mem(struct vm_config *cfg, const char *v, const char *where)
{
	u64 size, mib;

	/* a bare number is MiB, as in QEMU's -m and kvmtool's -m */
	if (*v && strspn(v, "0123456789") == strlen(v)) {
		if (parse_u64(v, 0, ~0ULL >> 20, &mib))
			return bad(where, v, "is too large a memory size");
		size = mib << 20;
	} else if (parse_size(v, &size)) {
		return bad(where, v, "is not a memory size; use e.g. 512M or 2G");
	}
	if (size < CONFIG_MIN_MEM)
		return bad(where, v, "is too little memory; give at least 64M");
	if (size % (4 * KIB))
		return bad(where, v, "is not a multiple of 4 KiB");
	cfg->mem_size = size;
	return 0;
}

static int set_cpus(struct vm_config *cfg, const char *v, const char *where)
{
	u64 n;

	if (parse_u64(v, 0, ~0ULL, &n))
		return bad(where, v, "is not a number of vCPUs; give e.g. 2");
	if (n == 0)
		return bad(where, v, "is not a number of vCPUs; give at least 1");
	/* xAPIC ids are 8 bits and 0xff is broadcast: without interrupt
	 * remapping a VM can address at most 255 vCPUs */
	if (n > 255)
		return bad(where, v, "is more vCPUs than a VM can have (255); give fewer");
	cfg->nr_cpus = n;
	return 0;
}

static int set_mem_reserve(struct vm_config *cfg, const char *v, const char *where)
{
	if (!strcmp(v, "full"))
		cfg->mem_reserve = MEM_RESERVE_FULL;
	else if (!strcmp(v, "none"))
		cfg->mem_reserve = MEM_RESERVE_NONE;
	else
		return bad(where, v, "is not a reservation; use full or none");
	return 0;
}

static const char *const console_names[] = {
	[CONSOLE_STDIO] = "stdio", [CONSOLE_PTY] = "pty", [CONSOLE_UNIX] = "unix",
	[CONSOLE_FILE] = "file", [CONSOLE_NONE] = "none",
};

const char *config__console_name(enum console_kind k)
{
	return console_names[k];
}

static int set_console(struct vm_config *cfg, const char *v, const char *where)
{
	enum console_kind kind;
	const char *path = NULL;

	if (!strcmp(v, "stdio")) {
		kind = CONSOLE_STDIO;
	} else if (!strcmp(v, "pty")) {
		kind = CONSOLE_PTY;
	} else if (!strcmp(v, "none")) {
		kind = CONSOLE_NONE;
	} else if (!strncmp(v, "unix:", 5) && v[5]) {
		kind = CONSOLE_UNIX;
		path = v + 5;
	} else if (!strncmp(v, "file:", 5) && v[5]) {
		kind = CONSOLE_FILE;
		path = v + 5;
	} else {
		return bad(where, v, "is not a console; use stdio, pty, none, unix:PATH or file:PATH");
	}
	/* a failed setting changes nothing: replace only now */
	free(cfg->console_path);
	cfg->console_path = path ? xstrdup(path) : NULL;
	cfg->console = kind;
	return 0;
}

static int set_api(struct vm_config *cfg, const char *v, const char *where)
{
	bool none = !strcmp(v, "none");

	if (!none && (strncmp(v, "unix:", 5) || !v[5]))
		return bad(where, v, "is not an API endpoint; use unix:PATH or none");
	free(cfg->api_path);
	cfg->api_path = none ? NULL : xstrdup(v + 5);
	cfg->no_api = none;
	return 0;
}

static int set_on_reboot(struct vm_config *cfg, const char *v, const char *where)
{
	if (!strcmp(v, "restart"))
		cfg->on_reboot = ON_REBOOT_RESTART;
	else if (!strcmp(v, "exit"))
		cfg->on_reboot = ON_REBOOT_EXIT;
	else
		return bad(where, v, "is not a reboot action; use restart or exit");
	return 0;
}

static int set_exit_port(struct vm_config *cfg, const char *v, const char *where)
{
	u64 port;

	if (!strcmp(v, "none")) {
		cfg->exit_port = -1;
		return 0;
	}
	if (parse_u64(v, 0, MAX_PORT - 3, &port))
		return bad(where, v, "is not an I/O port; use e.g. 0xf4 (QEMU's isa-debug-exit)");
	cfg->exit_port = port;
	return 0;
}

static int set_powerdown_timeout(struct vm_config *cfg, const char *v, const char *where)
{
	u64 s;

	if (parse_u64(v, 0, 86400, &s))
		return bad(where, v, "is not a number of seconds (0 to 86400)");
	cfg->powerdown_timeout_ms = s * 1000;
	return 0;
}

static int set_log_level(struct vm_config *cfg, const char *v, const char *where)
{
	if (log__parse_level(v, &cfg->log_level))
		return bad(where, v, "is not a log level; use error, warn, info or debug");
	log_level = cfg->log_level;
	return 0;
}

static int set_seccomp(struct vm_config *cfg, const char *v, const char *where)
{
	if (seccomp__parse_mode(v, &cfg->seccomp))
		return bad(where, v, "is not a seccomp mode; use on, log or off");
	return 0;
}

static const struct key keys[] = {
	{ "name", K_STRING, set_name },
	{ "kernel", K_PATH, set_kernel },
	{ "initrd", K_PATH, set_initrd },
	{ "cmdline", K_STRING, set_cmdline },
	{ "no-default-cmdline", K_BOOL, set_no_default_cmdline },
	{ "mem", K_SIZE, set_mem },
	{ "cpus", K_UINT, set_cpus },
	{ "hugepages", K_BOOL, set_hugepages },
	{ "mem-reserve", K_ENUM, set_mem_reserve },
	{ "console", K_ENUM, set_console },
	{ "api", K_STRING, set_api },
	{ "on-reboot", K_ENUM, set_on_reboot },
	{ "exit-port", K_UINT, set_exit_port },
	{ "powerdown-timeout", K_UINT, set_powerdown_timeout },
	{ "log-level", K_ENUM, set_log_level },
	{ "seccomp", K_ENUM, set_seccomp },
};

static const struct key *find_key(const char *name)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

int config__set(struct vm_config *cfg, const char *key, const char *value,
		const char *where)
{
	const struct key *k = find_key(key);

	if (!k) {
		pr_err("%s: unknown setting", where);
		return -1;
	}
	return k->set(cfg, value, where);
}

void config__init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = CONFIG_DEFAULT_MEM;
	cfg->nr_cpus = 1;
	cfg->console = CONSOLE_STDIO;
	cfg->exit_port = -1;
	cfg->powerdown_timeout_ms = 30000;
	cfg->log_level = log_level;
}

void config__free(struct vm_config *cfg)
{
	free(cfg->name);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->console_path);
	free(cfg->api_path);
	free(cfg->config_path);
	for (unsigned int i = 0; i < cfg->nr_devices; i++) {
		struct device_config *dc = &cfg->devices[i];

		struct device_type *t = device_type__find(dc->type);

		if (t && t->release && dc->priv)
			t->release(dc);
		free(dc->type);
		free(dc->id);
		free(dc->where);
		free(dc->priv);
		json_object_put(dc->obj);
	}
	free(cfg->devices);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- JSON ---- */

static const char *json_kind(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number";
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "?";
}

/* a JSON scalar as the string a flag would give */
static int json_scalar(json_object *v, enum key_kind kind, const char *where, char *buf,
		       size_t len, const char **out)
{
	switch (kind) {
	case K_BOOL:
		if (!json_object_is_type(v, json_type_boolean)) {
			pr_err("%s: expected true or false, found %s", where, json_kind(v));
			return -1;
		}
		*out = json_object_get_boolean(v) ? "true" : "false";
		return 0;
	case K_UINT:
	case K_SIZE:
		if (json_object_is_type(v, json_type_int)) {
			snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
			if (json_object_get_int64(v) < 0) {
				pr_err("%s: %s is negative", where, buf);
				return -1;
			}
			*out = buf;
			return 0;
		}
		if (json_object_is_type(v, json_type_double)) {
			pr_err("%s: %s is not a whole number", where,
			       json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
			return -1;
		}
		/* "512M", "0xf4": a string */
		if (!json_object_is_type(v, json_type_string)) {
			pr_err("%s: expected a number or a string, found %s", where, json_kind(v));
			return -1;
		}
		*out = json_object_get_string(v);
		return 0;
	default:
		if (!json_object_is_type(v, json_type_string)) {
			pr_err("%s: expected a string, found %s", where, json_kind(v));
			return -1;
		}
		*out = json_object_get_string(v);
		return 0;
	}
}

int config__check_keys(json_object *obj, const char *where, const char *const *allowed)
{
	if (!json_object_is_type(obj, json_type_object)) {
		pr_err("%s: expected an object, found %s", where, json_kind(obj));
		return -1;
	}
	json_object_object_foreach(obj, key, val) {
		bool ok = false;

		(void)val;
		for (const char *const *a = allowed; *a; a++)
			if (!strcmp(*a, key))
				ok = true;
		if (!ok) {
			pr_err("%s.%s: unknown key", where, key);
			return -1;
		}
	}
	return 0;
}

int config__get_string(json_object *obj, const char *key, const char *where,
		       bool required, const char **out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v)) {
		if (required) {
			pr_err("%s.%s: missing", where, key);
			return -1;
		}
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		pr_err("%s.%s: expected a string, found %s", where, key, json_kind(v));
		return -1;
	}
	*out = json_object_get_string(v);
	return 0;
}

int config__get_bool(json_object *obj, const char *key, const char *where, bool *out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		pr_err("%s.%s: expected true or false, found %s", where, key, json_kind(v));
		return -1;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

int config__add_device(struct vm_config *cfg, json_object *obj, const char *where)
{
	struct device_config *dc;
	struct device_type *t;
	const char *type, *id;
	char buf[32];

	if (!json_object_is_type(obj, json_type_object)) {
		pr_err("%s: expected an object, found %s", where, json_kind(obj));
		goto err;
	}
	if (config__get_string(obj, "type", where, true, &type) ||
	    config__get_string(obj, "id", where, false, &id))
		goto err;
	t = device_type__find(type);
	if (!t) {
		char types[256] = "";

		for (t = device_type__list(); t; t = t->next)
			snprintf(types + strlen(types), sizeof(types) - strlen(types), "%s%s",
				 *types ? ", " : "", t->name);
		pr_err("%s.type: unknown device type '%s'; the types are: %s", where, type,
		       *types ? types : "(none)");
		goto err;
	}
	if (cfg->nr_devices >= MAX_DEVICES) {
		pr_err("%s: too many devices (at most %d)", where, MAX_DEVICES);
		goto err;
	}
	if (!id) {
		snprintf(buf, sizeof(buf), "%s%u", type, cfg->nr_devices);
		id = buf;
	}
	for (unsigned int i = 0; i < cfg->nr_devices; i++) {
		if (!strcmp(cfg->devices[i].id, id)) {
			pr_err("%s.id: '%s' is already used by %s; ids must be unique", where, id,
			       cfg->devices[i].where);
			goto err;
		}
	}
	cfg->devices = xrealloc(cfg->devices, (cfg->nr_devices + 1) * sizeof(*cfg->devices));
	dc = &cfg->devices[cfg->nr_devices];
	memset(dc, 0, sizeof(*dc));
	dc->type = xstrdup(type);
	dc->id = xstrdup(id);
	dc->where = xstrdup(where);
	dc->obj = obj;
	dc->index = cfg->nr_devices;
	cfg->nr_devices++;
	if (t->validate(dc)) {
		cfg->nr_devices--;
		if (t->release && dc->priv)
			t->release(dc);
		free(dc->type);
		free(dc->id);
		free(dc->where);
		free(dc->priv);
		return -1; /* obj is put by the caller's error path below */
	}
	return 0;
err:
	return -1;
}

int config__load_file(struct vm_config *cfg, const char *path)
{
	json_tokener *tok;
	json_object *root = NULL, *devs = NULL;
	enum json_tokener_error jerr;
	char where[512];
	size_t len;
	void *buf;
	int ret;

	ret = read_file(path, 1 << 20, &buf, &len);
	if (ret) {
		pr_err("--config %s: %s", path, ret == -EFBIG ? "larger than 1 MiB; is it the right file?" :
		       ret == -ENOENT ? "No such file or directory; check the path" : strerror(-ret));
		return -1;
	}
	tok = json_tokener_new();
	root = json_tokener_parse_ex(tok, buf, len);
	jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success || tok->char_offset != (int)len) {
		int line = 1;

		for (int i = 0; i < tok->char_offset && i < (int)len; i++)
			line += ((char *)buf)[i] == '\n';
		if (root && jerr == json_tokener_success)
			pr_err("%s:%d: trailing data after the JSON object", path, line);
		else
			pr_err("%s:%d: not valid JSON: %s", path, line,
			       jerr == json_tokener_continue ? "unexpected end of file" :
			       json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		json_object_put(root);
		free(buf);
		return -1;
	}
	json_tokener_free(tok);
	free(buf);
	if (!json_object_is_type(root, json_type_object)) {
		pr_err("%s: expected a JSON object at the top, found %s", path, json_kind(root));
		goto err;
	}

	json_object_object_foreach(root, key, val) {
		const struct key *k = find_key(key);
		char tmp[32];
		const char *s;

		snprintf(where, sizeof(where), "%s: %s", path, key);
		if (!strcmp(key, "devices")) {
			devs = val;
			continue;
		}
		if (!k) {
			pr_err("%s: unknown key; the keys are dpvm run's long options without "
			       "the dashes (see 'dpvm run --help') and \"devices\"", where);
			goto err;
		}
		if (json_scalar(val, k->kind, where, tmp, sizeof(tmp), &s) || k->set(cfg, s, where))
			goto err;
	}
	if (devs) {
		if (!json_object_is_type(devs, json_type_array)) {
			pr_err("%s: devices: expected an array, found %s", path, json_kind(devs));
			goto err;
		}
		for (size_t i = 0; i < json_object_array_length(devs); i++) {
			json_object *d = json_object_get(json_object_array_get_idx(devs, i));

			snprintf(where, sizeof(where), "%s: devices[%zu]", path, i);
			if (config__add_device(cfg, d, where)) {
				json_object_put(d);
				goto err;
			}
		}
	}
	json_object_put(root);
	return 0;
err:
	json_object_put(root);
	return -1;
}

/* ---- device flags ---- */

/* obj[path] = v, where path is "key" or "parent.key" */
static void set_key_path(json_object *obj, const char *path, json_object *v)
{
	const char *dot = strchr(path, '.');
	json_object *parent;

	if (!dot) {
		json_object_object_add(obj, path, v);
		return;
	}
	{
		char head[64];

		snprintf(head, sizeof(head), "%.*s", (int)(dot - path), path);
		if (!json_object_object_get_ex(obj, head, &parent)) {
			parent = json_object_new_object();
			json_object_object_add(obj, head, parent);
		}
	}
	json_object_object_add(parent, dot + 1, v);
}

json_object *config__flag_entry(const char *type, const char *value, const char *where,
				const char *first_key, const struct flag_opt *opts,
				int (*custom)(json_object *entry, const char *opt,
					      char *err, size_t errlen),
				const char *usage)
{
	json_object *o = json_object_new_object();
	char *dup = xstrdup(value), *save = NULL, *tok, err[160] = "";
	bool first = true;

	json_object_object_add(o, "type", json_object_new_string(type));
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *eq = strchr(tok, '=');
		size_t nlen = eq ? (size_t)(eq - tok) : strlen(tok);
		const struct flag_opt *f;
		int r = 1;

		if (first && first_key && !eq) {
			set_key_path(o, first_key, json_object_new_string(tok));
			first = false;
			continue;
		}
		first = false;
		for (f = opts; f && f->name; f++)
			if (strlen(f->name) == nlen && !strncmp(f->name, tok, nlen))
				break;
		if (f && f->name) {
			r = 0;
			if (f->kind == FLAG_TRUE && !eq)
				set_key_path(o, f->key, json_object_new_boolean(true));
			else if (f->kind == FLAG_STRING && eq)
				set_key_path(o, f->key, json_object_new_string(eq + 1));
			else if (f->kind == FLAG_ONOFF && eq && (!strcmp(eq + 1, "on") ||
								  !strcmp(eq + 1, "off")))
				set_key_path(o, f->key, json_object_new_boolean(!strcmp(eq + 1, "on")));
			else
				r = -1;
			if (r)
				snprintf(err, sizeof(err), "'%s' is not how %s is given", tok, f->name);
		} else if (custom) {
			r = custom(o, tok, err, sizeof(err));
		}
		if (r > 0)
			snprintf(err, sizeof(err), "'%s' is not an option", tok);
		if (r) {
			pr_err("%s %s: %s; use %s", where, value, err, usage);
			goto err;
		}
	}
	if (first_key && first) {
		pr_err("%s: nothing given; use %s", where, usage);
		goto err;
	}
	free(dup);
	return o;
err:
	free(dup);
	json_object_put(o);
	return NULL;
}

/* ---- final checks ---- */

static int kvm_max_vcpus(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int n;

	if (fd < 0)
		return -1;
	n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	close(fd);
	return n;
}

/*
 * The machine's fixed I/O ports, emulated by dpvm or by KVM's in-kernel
 * PIC and PIT: an exit port on them would never see a write, or take the
 * device's.  (A clash found at power-on would come after KVM state exists.)
 */
static const struct {
	u32 base, len;
	const char *name;
} fixed_ports[] = {
	{ 0x20, 2, "the master PIC" },
	{ 0x40, 4, "the PIT" },
	{ 0x61, 1, "the PC speaker port" },
	{ PORT_RTC, 2, "the RTC" },
	{ 0xa0, 2, "the slave PIC" },
	{ PORT_COM1, 8, "COM1" },
	{ 0x4d0, 2, "the PIC's edge/level registers" },
	{ PORT_PVPANIC, 1, "pvpanic" },
	{ PORT_ACPI_BASE, PORT_ACPI_SIZE, "the ACPI registers" },
	{ PORT_PCI_CONFIG_ADDR, 8, "PCI configuration" },
	{ PCI_IO_WINDOW_START, PCI_IO_WINDOW_SIZE, "the PCI I/O window" },
};

#define EXIT_PORT_LEN	4	/* see devices/debug-exit.c */

static int check_exit_port(const struct vm_config *cfg)
{
	u32 p = cfg->exit_port;

	if (cfg->exit_port < 0)
		return 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(fixed_ports); i++) {
		u32 b = fixed_ports[i].base, e = b + fixed_ports[i].len;

		if (p < e && b < p + EXIT_PORT_LEN) {
			pr_err("--exit-port %#x: ports %#x-%#x overlap %s (%#x-%#x); "
			       "pick a free port such as 0xf4", p, p, p + EXIT_PORT_LEN - 1,
			       fixed_ports[i].name, b, e - 1);
			return -1;
		}
	}
	return 0;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* the console must not write into an input, nor take the API's socket */
static int check_console_path(const struct vm_config *cfg)
{
	const char *kind = config__console_name(cfg->console), *p = cfg->console_path;
	const struct { const char *path, *what; } others[] = {
		{ cfg->kernel, "the --kernel file" },
		{ cfg->initrd, "the --initrd file" },
		{ cfg->config_path, "the --config file" },
		{ cfg->no_api ? NULL : cfg->api_path, "the --api socket" },
	};

	if (cfg->console != CONSOLE_FILE && cfg->console != CONSOLE_UNIX)
		return 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(others); i++) {
		if (others[i].path && same_file(p, others[i].path)) {
			pr_err("--console %s:%s: that is %s; give the console a path of its own",
			       kind, p, others[i].what);
			return -1;
		}
	}
	return 0;
}

int config__finalize(struct vm_config *cfg)
{
	char buf[32];
	int max;

	if (!cfg->kernel) {
		pr_err("no kernel: give --kernel FILE (a bzImage or a multiboot ELF), "
		       "or \"kernel\" in the --config file");
		return -1;
	}
	if (!cfg->name) {
		snprintf(buf, sizeof(buf), "dpvm-%d", getpid());
		cfg->name = xstrdup(buf);
	}
	max = kvm_max_vcpus();
	if (max > 0 && max < 255 && cfg->nr_cpus > (unsigned int)max) {
		pr_err("--cpus %u: this host's KVM allows at most %d vCPUs per VM; give fewer",
		       cfg->nr_cpus, max);
		return -1;
	}
	if (cfg->hugepages && cfg->mem_size % (2 * MIB)) {
		char a[32];

		pr_err("--mem %s: with --hugepages the size must be a multiple of 2 MiB; "
		       "round it, or drop --hugepages", fmt_size(cfg->mem_size, a, sizeof(a)));
		return -1;
	}
	if (check_exit_port(cfg))
		return -1;
	if (mem__check_host(cfg->mem_size, cfg->hugepages, cfg->mem_reserve == MEM_RESERVE_FULL))
		return -1;
	if (console__check(cfg))
		return -1;
	if (api__check(cfg))
		return -1;
	if (check_console_path(cfg))
		return -1;
	for (unsigned int i = 0; i < cfg->nr_devices; i++) {
		struct device_type *t = device_type__find(cfg->devices[i].type);

		if (t->finalize && t->finalize(cfg, &cfg->devices[i]))
			return -1;
	}
	return boot__probe(&boot_image, cfg);
}
