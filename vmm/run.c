// SPDX-License-Identifier: GPL-2.0
/* `dpvm run`: flags and config file to a running VM. */
#include "vmm/boot.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static const char usage_head[] =
"usage: dpvm run --kernel FILE [options]\n"
"\n"
"Boot a Linux bzImage or a multiboot ELF in a KVM virtual machine.\n"
"\n"
"Boot:\n"
"  -k, --kernel FILE        bzImage (boot protocol >= 2.06) or multiboot ELF\n"
"  -i, --initrd FILE        initial ramdisk (a multiboot module for ELF images)\n"
"  -p, --cmdline STR        appended to the defaults:\n"
"                           \"" LINUX_DEFAULT_CMDLINE "\"\n"
"      --no-default-cmdline use --cmdline alone\n"
"Machine:\n"
"  -m, --mem SIZE           guest RAM, e.g. 512M, 4G; a bare number is MiB (default 512M)\n"
"  -c, --cpus N             vCPUs (default 1)\n"
"  -n, --name NAME          the VM's name, for `dpvm ctl NAME` (default dpvm-PID)\n"
"      --hugepages          back guest RAM with 2 MiB huge pages\n"
"      --mem-reserve full|none\n"
"                           full: populate and lock all guest RAM before the guest\n"
"                           starts (required for passthrough); default none\n"
"      --on-reboot restart|exit\n"
"                           what a guest reboot does (default restart)\n"
"      --exit-port PORT     isa-debug-exit compatible port: a write of V ends dpvm\n"
"                           with status (V << 1) | 1 (QEMU uses 0xf4)\n"
"Devices:\n";

static const char usage_tail[] =
"Console and control:\n"
"      --console stdio|pty|none|unix:PATH|file:PATH\n"
"                           the serial console (COM1); default stdio (C-a x exits)\n"
"      --api unix:PATH|none management socket (default $XDG_RUNTIME_DIR/dpvm/NAME.sock\n"
"                           or /run/dpvm/NAME.sock); see `dpvm ctl`\n"
"      --powerdown-timeout SECONDS\n"
"                           after SIGINT/SIGTERM, wait this long for the guest to\n"
"                           power off before stopping it (default 30)\n"
"      --config FILE        a JSON VM configuration; flags override it\n"
"      --log-level error|warn|info|debug\n"
"      --seccomp on|log|off\n"
"                           the system-call filter dpvm runs the guest under (default\n"
"                           on; log: let through and log what it would stop)\n"
"  -h, --help               this help\n"
"\n"
"Exit status: 0 guest powered off (or C-a x, `ctl quit`); 1 dpvm failed;\n"
"2 bad usage; 4 guest reset with --on-reboot exit; 6 guest panic;\n"
"8 triple fault; 10 stopped after the powerdown timeout; odd values come from\n"
"the exit port.\n"
"\n"
"Examples:\n"
"  dpvm run -k bzImage -i initrd.img -m 1G -c 2\n"
"  dpvm run -k bzImage --disk root.img -p root=/dev/vda --name web\n"
"  dpvm ctl web powerdown\n"
"  dpvm run -k test.elf --exit-port 0xf4 --console file:log.txt\n"
"  dpvm run --config vm.json --mem 2G\n";

/* words of s from column col, breaking lines before width */
static void print_wrapped(FILE *f, const char *s, int col, int width)
{
	int x = col;

	while (*s) {
		int n = strcspn(s, " ");

		if (x > col && x + 1 + n > width) {
			fprintf(f, "\n%*s", col, "");
			x = col;
		} else if (x > col) {
			fputc(' ', f);
			x++;
		}
		fprintf(f, "%.*s", n, s);
		x += n;
		s += n;
		s += strspn(s, " ");
	}
	fputc('\n', f);
}

static void usage(FILE *f)
{
	fputs(usage_head, f);
	for (struct device_type *t = device_type__list(); t; t = t->next) {
		char opt[64];

		if (!t->flag)
			continue;
		snprintf(opt, sizeof(opt), "--%s %s", t->flag, t->flag_arg);
		/* as the fixed options: a long option has its help on the next
		 * line, and the help is wrapped at 80 columns in column 27 */
		if (strlen(opt) <= 20)
			fprintf(f, "      %-20s ", opt);
		else
			fprintf(f, "      %s\n%27s", opt, "");
		print_wrapped(f, t->flag_help, 27, 80);
	}
	fputs(usage_tail, f);
}

/* long option -> config key; device flags are added at run time */
static const struct option base_options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'p' },
	{ "no-default-cmdline", no_argument, NULL, 0 },
	{ "mem", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "name", required_argument, NULL, 'n' },
	{ "hugepages", no_argument, NULL, 0 },
	{ "mem-reserve", required_argument, NULL, 0 },
	{ "on-reboot", required_argument, NULL, 0 },
	{ "exit-port", required_argument, NULL, 0 },
	{ "console", required_argument, NULL, 0 },
	{ "api", required_argument, NULL, 0 },
	{ "powerdown-timeout", required_argument, NULL, 0 },
	{ "config", required_argument, NULL, 0 },
	{ "log-level", required_argument, NULL, 0 },
	{ "seccomp", required_argument, NULL, 0 },
	{ "help", no_argument, NULL, 'h' },
};

static const char *short_to_long(int c)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(base_options); i++)
		if (base_options[i].val == c)
			return base_options[i].name;
	return NULL;
}

/*
 * Parse argv into cfg: the --config file first, then every flag in order,
 * so flags override the file.  Returns 0, 1 for --help, or -1 after an error
 * message.
 */
int run__parse(int argc, char **argv, struct vm_config *cfg)
{
	unsigned int nbase = ARRAY_SIZE(base_options), n = nbase;
	struct option *opts;
	int c, idx, ret = -1;

	for (struct device_type *t = device_type__list(); t; t = t->next)
		n += t->flag != NULL;
	opts = xzalloc((n + 1) * sizeof(*opts));
	memcpy(opts, base_options, sizeof(base_options));
	n = nbase;
	for (struct device_type *t = device_type__list(); t; t = t->next)
		if (t->flag)
			opts[n++] = (struct option){ t->flag, required_argument, NULL, 0 };

	/* pass 1: --config and --help */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:k:i:p:m:c:n:h", opts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			ret = 1;
			goto out;
		}
		if (c == 0 && !strcmp(opts[idx].name, "config")) {
			if (cfg->config_path) {
				pr_err("--config: given twice; give one configuration file");
				goto out;
			}
			cfg->config_path = xstrdup(optarg);
			if (config__load_file(cfg, optarg))
				goto out;
		}
	}

	/* pass 2: every other flag, in order */
	/* getopt's own messages are off: every error is one line of ours */
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:k:i:p:m:c:n:h", opts, &idx)) != -1) {
		const char *name;
		char where[160];
		struct device_type *t;

		if (c == '?') {
			const char *arg = argv[optind - 1], *eq = strchr(arg, '=');
			bool flag = false;

			for (struct option *o = opts; o->name && eq; o++)
				flag |= o->has_arg == no_argument && !strncmp(arg, "--", 2) &&
					!strncmp(arg + 2, o->name, eq - arg - 2) &&
					!o->name[eq - arg - 2];
			if (flag)
				pr_err("%.*s: takes no value; see 'dpvm run --help'", (int)(eq - arg), arg);
			else if (optopt)
				pr_err("-%c: unknown option; see 'dpvm run --help'", optopt);
			else
				pr_err("%s: unknown option; see 'dpvm run --help'", arg);
			goto out;
		}
		if (c == ':') {
			pr_err("%s: needs a value; see 'dpvm run --help'", argv[optind - 1]);
			goto out;
		}
		name = c ? short_to_long(c) : opts[idx].name;
		if (!name)
			continue;	/* not reached: every short option has a long one */
		snprintf(where, sizeof(where), "--%s", name);
		if (!strcmp(name, "config"))
			continue;
		t = c ? NULL : device_type__find_flag(name);
		if (t) {
			json_object *obj = t->from_flag(optarg, where);

			/* a device's errors name the flag with its value */
			snprintf(where, sizeof(where), "--%s %.120s", name, optarg);
			if (!obj)
				goto out;
			if (config__add_device(cfg, obj, where)) {
				json_object_put(obj);
				goto out;
			}
			continue;
		}
		if (opts[idx].has_arg == no_argument && c == 0) {
			if (config__set(cfg, name, "true", where))
				goto out;
			continue;
		}
		if (config__set(cfg, name, optarg, where))
			goto out;
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s'; options start with --, see 'dpvm run --help'",
		       argv[optind]);
		goto out;
	}
	ret = config__finalize(cfg);
out:
	free(opts);
	return ret;
}

int run__main(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm;
	int ret, status;

	config__init(&cfg);
	ret = run__parse(argc, argv, &cfg);
	if (ret) {
		config__free(&cfg);
		return ret > 0 ? 0 : EXIT_USAGE;
	}
	ret = vm__create(&vm, &cfg);
	if (ret) {
		boot__release(&boot_image);
		config__free(&cfg);
		return EXIT_ERROR;
	}
	status = vm__run(&vm);
	vm__destroy(&vm);
	boot__release(&boot_image);
	config__free(&cfg);
	console__restore_tty();
	return status;
}
