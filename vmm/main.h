/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_MAIN_H
#define DPVM_MAIN_H

/*
 * Top-level commands (`dpvm run`, `dpvm ctl`, `dpvm host`, ...) register
 * themselves with dpvm_command(); main() dispatches on argv[1].
 */
struct dpvm_command {
	const char *name;
	const char *help;	/* one line for `dpvm help` */
	int (*main)(int argc, char **argv);	/* argv[0] is the command's name */
	struct dpvm_command *next;
};

void dpvm_command__register(struct dpvm_command *c);
const struct dpvm_command *dpvm_command__list(void);
const struct dpvm_command *dpvm_command__find(const char *name);

#define dpvm_command(c)							\
	static void __attribute__((constructor)) __cmd_##c(void)	\
	{								\
		dpvm_command__register(&c);				\
	}

#endif
