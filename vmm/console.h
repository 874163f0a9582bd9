/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_CONSOLE_H
#define DPVM_CONSOLE_H

struct vm;
struct uart;
struct vm_config;

/*
 * The host end of the serial console: stdio (raw tty; Ctrl-A x quits,
 * Ctrl-A h helps), a pty, a unix socket a client connects to, a file, or
 * nothing.  Output the guest sends while no one is reading a pty or socket
 * is kept (the last 64 KiB) and replayed to the next client.
 */
int console__check(const struct vm_config *cfg);	/* before anything exists */
int console__attach(struct vm *vm, struct uart *u);
void console__detach(struct vm *vm);

/* restore the terminal; safe to call at any time, from anywhere */
void console__restore_tty(void);

#endif
