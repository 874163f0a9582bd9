// SPDX-License-Identifier: GPL-2.0
#include "vmm/api.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#include <stdio.h>
#include <string.h>

#ifndef DPVM_VERSION
#define DPVM_VERSION "0.1"
#endif

int run__main(int argc, char **argv);

static const char usage[] =
"usage: dpvm COMMAND [ARGS]\n"
"\n"
"A KVM hypervisor for device access: trapped virtual devices and PCI passthrough.\n"
"\n"
"Commands:\n"
"  run       boot a VM                      (dpvm run --help)\n"
"  ctl       control a running VM           (dpvm ctl --help)\n"
"  version   print the version\n"
"\n"
"See dpvm(1) and the docs/ folder.\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage, cmd ? stdout : stderr);
		return cmd ? 0 : EXIT_USAGE;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("dpvm %s\n", DPVM_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return run__main(argc - 1, argv + 1);
	if (!strcmp(cmd, "ctl"))
		return ctl__main(argc - 1, argv + 1);
	pr_err("unknown command '%s'; see 'dpvm help'", cmd);
	return EXIT_USAGE;
}
