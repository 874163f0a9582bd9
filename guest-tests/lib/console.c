// SPDX-License-Identifier: GPL-2.0
/* COM1 output (polled), printf, and the string functions. */
#include "guest.h"

#define COM1		0x3f8
#define UART_LSR	5
#define LSR_THRE	0x20

static struct spinlock print_lock;
bool print_unlocked;	/* set when failing from an exception: never wait */

void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB */
	outb(COM1 + 0, 0x01);	/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1 */
	outb(COM1 + 2, 0x07);	/* FIFOs on and cleared */
	outb(COM1 + 4, 0x03);	/* DTR, RTS; OUT2 off: no interrupt line */
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		cpu_relax();
	outb(COM1, c);
}

struct sink {
	char *buf;	/* NULL: the serial port */
	size_t size, len;
};

static void emit(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void emit_num(struct sink *s, u64 v, unsigned int base, bool neg, int width,
		     char pad, bool left)
{
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg && pad == ' ')
		tmp[n++] = '-';
	else if (neg)
		emit(s, '-'), width--;
	len = n;
	if (!left)
		for (int i = len; i < width; i++)
			emit(s, pad);
	while (n)
		emit(s, tmp[--n]);
	if (left)
		for (int i = len; i < width; i++)
			emit(s, ' ');
}

/* %d %i %u %x %p %s %c %%, with 0, -, #, a width, and l / ll sizes */
static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool left = false, is_signed = false, alt = false;
		int width = 0, longs = 0;
		char pad = ' ';
		unsigned int base = 10;
		u64 v;

		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		fmt++;
		for (; *fmt == '-' || *fmt == '0' || *fmt == '#'; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '#')
				alt = true;
			else
				pad = '0';
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l'; fmt++)
			longs++;
		switch (*fmt) {
		case 'c':
			emit(s, (char)va_arg(ap, int));
			continue;
		case 's': {
			const char *str = va_arg(ap, const char *);
			int n;

			if (!str)
				str = "(null)";
			n = strlen(str);
			for (int i = n; !left && i < width; i++)
				emit(s, ' ');
			while (*str)
				emit(s, *str++);
			for (int i = n; left && i < width; i++)
				emit(s, ' ');
			continue;
		}
		case 'p':
			emit(s, '0');
			emit(s, 'x');
			emit_num(s, (u32)va_arg(ap, void *), 16, false, 8, '0', false);
			continue;
		case 'd':
		case 'i':
			is_signed = true;
			break;
		case 'u':
			break;
		case 'x':
			base = 16;
			if (alt) {
				emit(s, '0');
				emit(s, 'x');
			}
			break;
		case '%':
			emit(s, '%');
			continue;
		default:	/* unknown: print it as is */
			emit(s, '%');
			if (!*fmt)
				return;
			emit(s, *fmt);
			continue;
		}
		if (longs >= 2)
			v = va_arg(ap, u64);
		else
			v = va_arg(ap, u32);
		if (is_signed) {
			s64 sv = longs >= 2 ? (s64)v : (s64)(s32)v;

			emit_num(s, sv < 0 ? -(u64)sv : (u64)sv, 10, sv < 0, width, pad, left);
		} else {
			emit_num(s, v, base, false, width, pad, left);
		}
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };
	bool lock = !print_unlocked;

	if (lock)
		spin_lock(&print_lock);
	format(&s, fmt, ap);
	if (lock)
		spin_unlock(&print_lock);
	return s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = size };

	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = 0;
	return s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void *memset(void *d, int c, size_t n)
{
	u8 *p = d;

	while (n--)
		*p++ = c;
	return d;
}

void *memcpy(void *d, const void *src, size_t n)
{
	u8 *p = d;
	const u8 *q = src;

	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++)
		if (*a != *b || !*a)
			return (u8)*a - (u8)*b;
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, (size_t)-1);
}
