/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_API_H
#define DPVM_API_H

#include "vmm/types.h"

struct vm;
struct vm_config;
struct json_object;

/*
 * The management API: a unix socket speaking JSON, one object per line.
 *
 *   -> {"execute": "status"}
 *   <- {"return": {...}}
 *   -> {"execute": "nosuch"}
 *   <- {"error": {"class": "CommandNotFound", "desc": "..."}}
 *
 * Commands register themselves with api_command(); a later subsystem adds
 * its commands in its own file.  Handlers run on the main thread.
 */
struct api_command {
	const char *name;
	const char *args_help;	/* "file=PATH" or NULL */
	const char *help;
	/* on success fill *ret (may stay NULL for {}); on failure set *err and
	 * return -1: the message is one line, naming the thing and the fix */
	int (*handler)(struct vm *vm, struct json_object *args, struct json_object **ret,
		       char **err);
	struct api_command *next;
};

void api__register(struct api_command *c);
const struct api_command *api__find(const char *name);
const struct api_command *api__commands(void);

#define api_command(c)							\
	static void __attribute__((constructor)) __api_##c(void)	\
	{								\
		api__register(&c);					\
	}

/* the socket path for a VM name: $XDG_RUNTIME_DIR/dpvm/NAME.sock or /run/dpvm/NAME.sock */
int api__default_path(const char *name, char *buf, size_t len);
int api__check(struct vm_config *cfg);

/* handle one request line: the response (a JSON string, caller frees) */
char *api__handle_line(struct vm *vm, const char *line, size_t len);

/* set *err to a printf-formatted message; returns -1 */
int api__error(char **err, const char *fmt, ...) __printf(2, 3);

int ctl__main(int argc, char **argv);

#endif
