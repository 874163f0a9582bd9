/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_LOG_H
#define DPVM_LOG_H

#include "vmm/types.h"

/*
 * Every message is one line on stderr, prefixed "dpvm: ".  Errors name the
 * thing, the cause and the fix.  Debug lines are off unless --log-level debug.
 */
enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level;

void log_msg(enum log_level lvl, const char *fmt, ...) __printf(2, 3);
int log__parse_level(const char *s, enum log_level *out);

#define pr_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)                                        \
	do {                                                 \
		if (__builtin_expect(log_level >= LOG_DEBUG, 0)) \
			log_msg(LOG_DEBUG, __VA_ARGS__);     \
	} while (0)

/* Rate-limited variant for guest-triggered messages: a guest must not be
 * able to flood the host log. */
#define pr_warn_guest(...)                                      \
	do {                                                    \
		static unsigned int __n;                        \
		if (__atomic_fetch_add(&__n, 1, __ATOMIC_RELAXED) < 16) \
			log_msg(LOG_WARN, __VA_ARGS__);         \
	} while (0)

#endif
