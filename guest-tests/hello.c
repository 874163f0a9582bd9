// SPDX-License-Identifier: GPL-2.0
/* The smallest program: one line on COM1, then exit code 0 (status 1). */
#include "guest.h"

int main(void)
{
	printf("hello from a guest program (loader %s)\n", boot.loader);
	return 0;
}
