// SPDX-License-Identifier: GPL-2.0
#include "vmm/main.h"
#include "vmm/api.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#include <stdio.h>
#include <string.h>

#ifndef DPVM_VERSION
#define DPVM_VERSION "0.1"
#endif

int run__main(int argc, char **argv);

static struct dpvm_command run_cmd = {
	.name = "run", .help = "boot a VM", .main = run__main,
};
static struct dpvm_command ctl_cmd = {
	.name = "ctl", .help = "control a running VM", .main = ctl__main,
};
dpvm_command(run_cmd);
dpvm_command(ctl_cmd);

static void usage(FILE *f)
{
	fputs("usage: dpvm COMMAND [ARGS]\n"
	      "\n"
	      "A KVM hypervisor for device access: trapped virtual devices and PCI passthrough.\n"
	      "\n"
	      "Commands:\n", f);
	for (const struct dpvm_command *c = dpvm_command__list(); c; c = c->next) {
		char more[32];

		snprintf(more, sizeof(more), "(dpvm %s --help)", c->name);
		fprintf(f, "  %-9s %-36s %s\n", c->name, c->help, more);
	}
	fputs("  version   print the version\n"
	      "\n"
	      "See dpvm(1) and the docs/ folder.\n", f);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(cmd ? stdout : stderr);
		return cmd ? 0 : EXIT_USAGE;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("dpvm %s\n", DPVM_VERSION);
		return 0;
	}
	const struct dpvm_command *c = dpvm_command__find(cmd);

	if (c)
		return c->main(argc - 1, argv + 1);
	pr_err("unknown command '%s'; see 'dpvm help'", cmd);
	return EXIT_USAGE;
}
