/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_CONFIG_H
#define DPVM_CONFIG_H

#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/types.h"

struct json_object;

/*
 * A VM's configuration.  It comes from a JSON file (--config), from flags, or
 * both (flags win); both go through the same setters, so a value means the
 * same thing and fails the same way wherever it is written.  Everything is
 * validated here, before any KVM state exists.
 */
enum console_kind { CONSOLE_STDIO, CONSOLE_PTY, CONSOLE_UNIX, CONSOLE_FILE, CONSOLE_NONE };
enum mem_reserve { MEM_RESERVE_NONE, MEM_RESERVE_FULL };
enum on_reboot { ON_REBOOT_RESTART, ON_REBOOT_EXIT };

/* One entry of the "devices" array: a typed device with a backing. */
struct device_config {
	char *type;		/* "virtio-blk", ... (see device_type) */
	char *id;		/* unique per VM; generated if absent */
	char *where;		/* "vm.json: devices[2]" or "--disk", for errors */
	struct json_object *obj; /* the entry, validated by its device type */
	void *priv;		/* parsed form, owned by the device type */
	struct vm_device *vd;	/* the instance, once created */
	unsigned int index;	/* in vm_config.devices[]: earlier entries are dc - index .. dc - 1 */
};

struct vm_config {
	char *name;
	char *kernel;
	char *initrd;
	char *cmdline;
	bool no_default_cmdline;
	u64 mem_size;
	unsigned int nr_cpus;
	bool hugepages;
	enum mem_reserve mem_reserve;
	enum console_kind console;
	char *console_path;
	char *api_path;		/* NULL: the default path for the name */
	bool no_api;
	enum on_reboot on_reboot;
	int exit_port;		/* -1: none */
	u64 powerdown_timeout_ms;
	enum log_level log_level;
	enum seccomp_mode seccomp;
	char *config_path;

	struct device_config *devices;
	unsigned int nr_devices;
};

#define CONFIG_MIN_MEM		(64ULL << 20)
#define CONFIG_DEFAULT_MEM	(512ULL << 20)

/*
 * Device types register themselves (see devices/virtio-blk.c) with a
 * validator that runs at configuration time and a constructor that runs at
 * power-on.  The validator must name the key path in its error.
 */
struct vm;
struct vm_device;
struct device_type {
	const char *name;
	bool passthru;		/* created with the assigned devices (INIT_PASSTHRU),
				 * else with the emulated ones (INIT_DEVICE) */
	/* check obj (and the backing it names), fill dc->priv; -1 after pr_err */
	int (*validate)(struct device_config *dc);
	/* build the device in a VM that is being created and set dc->vd, whose
	 * remove op tears it down; -errno after pr_err */
	int (*create)(struct vm *vm, struct device_config *dc);
	/* free what validate put in dc->priv (besides priv itself); optional */
	void (*release)(struct device_config *dc);
	/* checks across the whole configuration (other keys, other devices),
	 * after every source was read; optional; -1 after pr_err */
	int (*finalize)(struct vm_config *cfg, struct device_config *dc);
	/* convert a flag's value ("FILE,ro") into a device entry; NULL if none */
	const char *flag;
	const char *flag_arg;	/* "FILE[,ro]" */
	const char *flag_help;
	struct json_object *(*from_flag)(const char *value, const char *where);
	struct device_type *next;
};

void device_type__register(struct device_type *t);
struct device_type *device_type__find(const char *name);
struct device_type *device_type__find_flag(const char *flag);
struct device_type *device_type__list(void);

#define device_type_register(t)						\
	static void __attribute__((constructor)) __register_##t(void)	\
	{								\
		device_type__register(&t);				\
	}

void config__init(struct vm_config *cfg);
void config__free(struct vm_config *cfg);

/* set one scalar key from a string (a flag, or a JSON string value) */
int config__set(struct vm_config *cfg, const char *key, const char *value,
		const char *where);
/* load a JSON file; every key is checked against the same table */
int config__load_file(struct vm_config *cfg, const char *path);
/* append a device entry; takes ownership of obj */
int config__add_device(struct vm_config *cfg, struct json_object *obj,
		       const char *where);
/* cross-field checks and the host's limits; run after all sources */
int config__finalize(struct vm_config *cfg);

/* JSON helpers for device validators: errors name "where.key" */
int config__check_keys(struct json_object *obj, const char *where,
		       const char *const *allowed);
int config__get_string(struct json_object *obj, const char *key,
		       const char *where, bool required, const char **out);
int config__get_bool(struct json_object *obj, const char *key,
		     const char *where, bool *out);

const char *config__console_name(enum console_kind k);

/*
 * A device flag's value, "FIRST[,OPTION...]", as a device entry of `type`:
 * FIRST goes to the key first_key ("backing.path"; NULL: no positional
 * value), each OPTION is a word or KEY=VALUE found in opts (a NULL-named
 * terminated array); other options go to custom() when given, which returns
 * 0, 1 if it does not know the option, or -1 after filling err.  Key paths
 * have at most one level: "serial" or "backing.readonly".  NULL after one
 * error line naming the flag, the value and `usage`.
 */
enum flag_kind {
	FLAG_TRUE,	/* a word that sets key to true: "ro" */
	FLAG_STRING,	/* KEY=VALUE, VALUE as a string: "serial=S" */
	FLAG_ONOFF,	/* KEY=on|off as a boolean: "rombar=off" */
};

struct flag_opt {
	const char *name;
	const char *key;
	enum flag_kind kind;
};

struct json_object *config__flag_entry(const char *type, const char *value, const char *where,
				       const char *first_key, const struct flag_opt *opts,
				       int (*custom)(struct json_object *entry, const char *opt,
						     char *err, size_t errlen),
				       const char *usage);

#endif
