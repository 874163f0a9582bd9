/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The runtime of the freestanding guest programs (see docs/guest-tests.md).
 *
 * A program defines `int main(void)`.  The runtime has already set up its
 * own GDT, an IDT whose exception handlers report and fail, COM1 for
 * output, the command line, masked the 8259 PICs and calibrated the TSC.  main() returning 0
 * passes (exit code 0), anything else is the exit code.
 */
#ifndef GUEST_H
#define GUEST_H

#include "io.h"

#include <stdarg.h>

/*
 * Exit codes, written to the isa-debug-exit port: dpvm (and QEMU) end with
 * status (code << 1) | 1.  Programs may use codes from EXIT_PROGRAM up for
 * outcomes of their own.
 */
#define EXIT_PORT	0xf4
enum {
	EXIT_OK		= 0,	/* status 1: every check passed */
	EXIT_FAIL	= 1,	/* status 3: a check failed */
	EXIT_EXCEPTION	= 2,	/* status 5: an unexpected exception or interrupt */
	EXIT_USAGE	= 3,	/* status 7: a bad command line */
	EXIT_PROGRAM	= 16,	/* status 33 and up: program-specific */
};

int main(void);

void exit_test(int code) __noreturn;
/* print "PASS" and exit 0 */
void pass(void) __noreturn;
/* print "FAIL: ..." and exit EXIT_FAIL */
void fail(const char *fmt, ...) __printf(1, 2) __noreturn;
/* print "ok: ..." or "FAIL: ..."; a failure makes the program fail at the end */
bool check(bool ok, const char *fmt, ...) __printf(2, 3);
unsigned int checks_failed(void);

/* output on COM1, polled; safe from several CPUs at once */
int printf(const char *fmt, ...) __printf(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void serial_init(void);
void serial_putc(char c);

/* the string functions GCC may emit calls to, and a few more */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* what the boot loader told us (multiboot v1) */
struct boot_info {
	u32 magic;		/* 0x2badb002 */
	u32 flags;
	const char *loader;	/* boot loader name, or "" */
	u32 mem_lower_kb, mem_upper_kb;
	u32 mmap_addr, mmap_length;
	u64 ram_top;		/* end of the highest usable RAM below 4 GiB */
};
extern struct boot_info boot;

/*
 * The command line: space-separated words; key=value words are options.
 * (QEMU puts the kernel's path first; words without '=' are ignored.)
 */
const char *cmdline(void);
/* copy key's value into buf; false if absent; fails on overflow */
bool cmdline_str(const char *key, char *buf, size_t size);
/* key's value as a decimal or 0x-prefixed number; exits EXIT_USAGE if malformed */
u32 cmdline_uint(const char *key, u32 def);
u64 cmdline_u64(const char *key, u64 def);

/* interrupts and exceptions: the stub's frame (see entry.S) */
struct irq_frame {
	u32 edi, esi, ebp, esp0, ebx, edx, ecx, eax;
	u32 vector, error;
	u32 eip, cs, eflags;
};
typedef void (*irq_handler_t)(struct irq_frame *f);
/* claim a vector; a handler for an exception vector replaces the failure */
void set_handler(u8 vector, irq_handler_t fn);
void idt_load(void);	/* on each CPU */

/* time: the TSC, calibrated against PIT channel 2 before main() */
extern u32 tsc_khz;
void tsc_calibrate(void);	/* again, if wanted */
void udelay(u32 us);
u64 tsc_to_us(u64 cycles);
u64 us_to_tsc(u64 us);

/* 8259 PICs: remapped to vectors 0x20-0x2f and masked */
void pic_disable(void);

#include "apic.h"
#include "pci.h"
#include "smp.h"

#endif
