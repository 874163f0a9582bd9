// SPDX-License-Identifier: GPL-2.0
/* The registry of top-level commands (see vmm/main.h). */
#include "vmm/main.h"

#include <stddef.h>
#include <string.h>

static struct dpvm_command *commands;

void dpvm_command__register(struct dpvm_command *c)
{
	struct dpvm_command **pp = &commands;

	while (*pp)
		pp = &(*pp)->next;
	c->next = NULL;
	*pp = c;
}

const struct dpvm_command *dpvm_command__list(void)
{
	return commands;
}

const struct dpvm_command *dpvm_command__find(const char *name)
{
	for (struct dpvm_command *c = commands; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}
