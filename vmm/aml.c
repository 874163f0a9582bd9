// SPDX-License-Identifier: GPL-2.0
/*
 * AML builder (see vmm/aml.h).  Encodings follow the ACPI 6.x specification,
 * chapter 20 (AML grammar) and section 6.4 (resource data types).
 */
#include "vmm/aml.h"
#include "vmm/util.h"

#include <errno.h>
#include <string.h>

/* opcodes */
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_STRING_PREFIX	0x0d
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE		0x10
#define AML_BUFFER		0x11
#define AML_PACKAGE		0x12
#define AML_METHOD		0x14
#define AML_DUAL_NAME_PREFIX	0x2e
#define AML_MULTI_NAME_PREFIX	0x2f
#define AML_EXT_PREFIX		0x5b
#define AML_EXT_DEVICE		0x82
#define AML_ROOT_CHAR		0x5c
#define AML_PARENT_CHAR		0x5e
#define AML_LOCAL0		0x60
#define AML_ARG0		0x68
#define AML_OR			0x7d
#define AML_CREATE_DWORD_FIELD	0x8a
#define AML_LNOT		0x92
#define AML_LEQUAL		0x93
#define AML_IF			0xa0
#define AML_ELSE		0xa1
#define AML_RETURN		0xa4
#define AML_ONES		0xff

/* resource descriptor tags */
#define RES_IRQ_NOFLAGS		0x22	/* small, type 4, length 2 */
#define RES_IO			0x47	/* small, type 8, length 7 */
#define RES_END_TAG		0x79	/* small, type 15, length 1 */
#define RES_MEM32_FIXED		0x86
#define RES_DWORD_ADDR		0x87
#define RES_WORD_ADDR		0x88
#define RES_EXT_IRQ		0x89
#define RES_QWORD_ADDR		0x8a

/* address space descriptors: resource type, general flags */
#define ADDR_MEM		0
#define ADDR_IO			1
#define ADDR_BUS		2
#define ADDR_CONSUMER		(1 << 0)
#define ADDR_MIN_FIXED		(1 << 2)
#define ADDR_MAX_FIXED		(1 << 3)
#define IO_RANGE_ENTIRE		3

enum frame_kind {
	FRAME_PKG,		/* Scope, Device, Method, If, Else: PkgLength only */
	FRAME_PACKAGE,		/* PkgLength, NumElements */
	FRAME_BUFFER,		/* PkgLength, BufferSize */
	FRAME_RESOURCES,	/* a Buffer ended by an EndTag */
};

#define NAME_MAX_BYTES	(2 + 255 + 2 + 255 * 4)

void aml__init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml__free(struct aml *a)
{
	free(a->data);
	memset(a, 0, sizeof(*a));
}

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

int aml__finish(struct aml *a)
{
	if (!a->err && a->depth)
		fail(a, -EINVAL);	/* an object left open */
	return a->err;
}

static void put(struct aml *a, const void *p, size_t n)
{
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;

		while (cap < a->len + n)
			cap *= 2;
		a->data = xrealloc(a->data, cap);
		a->cap = cap;
	}
	memcpy(a->data + a->len, p, n);
	a->len += n;
}

static void put8(struct aml *a, u8 v)
{
	put(a, &v, 1);
}

static void put16(struct aml *a, u16 v)
{
	u8 b[2] = { v, v >> 8 };

	put(a, b, 2);
}

static void put32(struct aml *a, u32 v)
{
	u8 b[4] = { v, v >> 8, v >> 16, v >> 24 };

	put(a, b, 4);
}

static void put64(struct aml *a, u64 v)
{
	put32(a, (u32)v);
	put32(a, v >> 32);
}

static void insert(struct aml *a, size_t at, const u8 *p, size_t n)
{
	size_t tail = a->len - at;

	put(a, p, n);	/* grow; the bytes are moved into place below */
	memmove(a->data + at + n, a->data + at, tail);
	memcpy(a->data + at, p, n);
}

static struct aml_frame *top(struct aml *a)
{
	return a->depth ? &a->frames[a->depth - 1] : NULL;
}

/* a term that is one element of an enclosing Package */
static void item(struct aml *a)
{
	struct aml_frame *f = top(a);

	if (f && f->kind == FRAME_PACKAGE)
		f->items++;
}

static struct aml_frame *open_frame(struct aml *a, enum frame_kind kind)
{
	struct aml_frame *f;

	if (a->depth == AML_MAX_DEPTH) {
		fail(a, -E2BIG);
		return NULL;
	}
	f = &a->frames[a->depth++];
	*f = (struct aml_frame){ .start = a->len, .kind = kind };
	return f;
}

/* ---- encoders ---- */

unsigned int aml__encode_pkglength(u8 out[4], size_t body)
{
	/* the length counts its own bytes: 1 byte holds 6 bits, the lead
	 * byte of a longer one 4 bits and each following byte 8 */
	if (body + 1 <= 0x3f) {
		out[0] = body + 1;
		return 1;
	}
	for (unsigned int n = 2; n <= 4; n++) {
		u64 total = body + n;

		if (total < (1ULL << (4 + 8 * (n - 1)))) {
			out[0] = ((n - 1) << 6) | (total & 0xf);
			for (unsigned int i = 1; i < n; i++)
				out[i] = total >> (4 + 8 * (i - 1));
			return n;
		}
	}
	return 0;
}

unsigned int aml__encode_int(u8 out[9], u64 v)
{
	unsigned int n;

	if (v == 0 || v == 1) {
		out[0] = v ? AML_ONE : AML_ZERO;
		return 1;
	}
	if (v == ~0ULL) {
		out[0] = AML_ONES;
		return 1;
	}
	if (v <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffff) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (unsigned int i = 0; i < n; i++)
		out[1 + i] = v >> (8 * i);
	return 1 + n;
}

static bool lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

/* "\\_SB.PCI0", "^PCI0", "_HID", "RTC" (padded to RTC_) */
int aml__encode_name(u8 *out, size_t max, const char *path)
{
	const char *p = path;
	u8 segs[255][4];
	size_t n = 0, nsegs = 0;

#define OUT(b) do { if (n >= max) return -ENOSPC; out[n++] = (b); } while (0)
	if (*p == '\\') {
		OUT(AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == '^') {
			OUT(AML_PARENT_CHAR);
			p++;
		}
	}
	while (*p) {
		unsigned int len = 0;

		if (nsegs == ARRAY_SIZE(segs) || !lead_char(*p))
			return -EINVAL;
		while (p[len] && p[len] != '.') {
			if (len == 4 || !name_char(p[len]))
				return -EINVAL;
			len++;
		}
		memset(segs[nsegs], '_', 4);
		memcpy(segs[nsegs], p, len);
		nsegs++;
		p += len;
		if (*p == '.' && !*++p)
			return -EINVAL;	/* trailing dot */
	}
	if (nsegs == 0) {
		if (n == 0 || out[0] != AML_ROOT_CHAR)
			return -EINVAL;	/* only "\\" may name nothing */
		OUT(AML_ZERO);		/* NullName */
		return n;
	}
	if (nsegs == 2) {
		OUT(AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		OUT(AML_MULTI_NAME_PREFIX);
		OUT(nsegs);
	}
	for (size_t i = 0; i < nsegs; i++)
		for (unsigned int j = 0; j < 4; j++)
			OUT(segs[i][j]);
#undef OUT
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* EisaId: three letters in 5 bits each, then four hex digits, stored so
 * that the bytes in memory read in the ID's order */
int aml__eisaid_value(const char *id, u32 *out)
{
	u8 b[4];
	int d[4];

	if (strlen(id) != 7)
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
	for (int i = 0; i < 4; i++) {
		d[i] = hexval(id[3 + i]);
		if (d[i] < 0 || (id[3 + i] >= 'a' && id[3 + i] <= 'f'))
			return -EINVAL;
	}
	b[0] = ((id[0] & 0x1f) << 2) | ((id[1] & 0x1f) >> 3);
	b[1] = ((id[1] & 0x07) << 5) | (id[2] & 0x1f);
	b[2] = (d[0] << 4) | d[1];
	b[3] = (d[2] << 4) | d[3];
	*out = b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
	return 0;
}

/* ---- data objects ---- */

static void put_name(struct aml *a, const char *path)
{
	u8 buf[NAME_MAX_BYTES];
	int n = aml__encode_name(buf, sizeof(buf), path);

	if (n < 0) {
		fail(a, n);
		return;
	}
	put(a, buf, n);
}

void aml__int(struct aml *a, u64 v)
{
	u8 buf[9];

	item(a);
	put(a, buf, aml__encode_int(buf, v));
}

void aml__string(struct aml *a, const char *s)
{
	for (const char *c = s; *c; c++) {
		if ((u8)*c > 0x7f) {	/* AML strings are ASCII */
			fail(a, -EINVAL);
			return;
		}
	}
	item(a);
	put8(a, AML_STRING_PREFIX);
	put(a, s, strlen(s) + 1);
}

void aml__eisaid(struct aml *a, const char *id)
{
	u32 v;

	if (aml__eisaid_value(id, &v)) {
		fail(a, -EINVAL);
		return;
	}
	aml__int(a, v);
}

void aml__uuid(struct aml *a, const char *uuid)
{
	/* ToUUID: the first three groups little-endian, the rest in order */
	static const int pos[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	u8 raw[16], b[16];
	unsigned int n = 0;

	for (const char *c = uuid; *c; c++) {
		int hi, lo;

		if (*c == '-' && (c - uuid == 8 || c - uuid == 13 || c - uuid == 18 ||
				  c - uuid == 23))
			continue;
		hi = hexval(c[0]);
		lo = hi < 0 ? -1 : hexval(c[1]);
		if (lo < 0 || n == 16) {
			fail(a, -EINVAL);
			return;
		}
		raw[n++] = hi << 4 | lo;
		c++;
	}
	if (n != 16 || strlen(uuid) != 36) {
		fail(a, -EINVAL);
		return;
	}
	for (int i = 0; i < 16; i++)
		b[i] = raw[pos[i]];
	aml__buffer(a);
	aml__bytes(a, b, sizeof(b));
	aml__end(a);
}

void aml__path(struct aml *a, const char *path)
{
	item(a);
	put_name(a, path);
}

void aml__arg(struct aml *a, unsigned int n)
{
	if (n > 6) {
		fail(a, -EINVAL);
		return;
	}
	item(a);
	put8(a, AML_ARG0 + n);
}

void aml__local(struct aml *a, unsigned int n)
{
	if (n > 7) {
		fail(a, -EINVAL);
		return;
	}
	item(a);
	put8(a, AML_LOCAL0 + n);
}

/* ---- named objects and code ---- */

void aml__name(struct aml *a, const char *name)
{
	put8(a, AML_NAME);
	put_name(a, name);
}

void aml__scope(struct aml *a, const char *path)
{
	put8(a, AML_SCOPE);
	open_frame(a, FRAME_PKG);
	put_name(a, path);
}

void aml__device(struct aml *a, const char *name)
{
	put8(a, AML_EXT_PREFIX);
	put8(a, AML_EXT_DEVICE);
	open_frame(a, FRAME_PKG);
	put_name(a, name);
}

void aml__method(struct aml *a, const char *name, unsigned int nargs, bool serialized)
{
	if (nargs > 7) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, AML_METHOD);
	open_frame(a, FRAME_PKG);
	put_name(a, name);
	put8(a, nargs | (serialized ? 1 << 3 : 0));	/* SyncLevel 0 */
}

void aml__if(struct aml *a)
{
	struct aml_frame *f;

	put8(a, AML_IF);
	f = open_frame(a, FRAME_PKG);
	if (f)
		f->is_if = true;
}

void aml__else(struct aml *a)
{
	if (!a->if_end || a->if_end != a->len) {	/* not right after an If */
		fail(a, -EINVAL);
		return;
	}
	put8(a, AML_ELSE);
	open_frame(a, FRAME_PKG);
}

void aml__return(struct aml *a)
{
	put8(a, AML_RETURN);
}

void aml__lequal(struct aml *a)
{
	item(a);
	put8(a, AML_LEQUAL);
}

void aml__lnot(struct aml *a)
{
	item(a);
	put8(a, AML_LNOT);
}

void aml__or(struct aml *a)
{
	item(a);
	put8(a, AML_OR);
}

void aml__create_dword_field(struct aml *a, unsigned int src_arg, u64 byte_index,
			     const char *name)
{
	u8 buf[9];

	if (src_arg > 6) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, AML_CREATE_DWORD_FIELD);
	put8(a, AML_ARG0 + src_arg);
	put(a, buf, aml__encode_int(buf, byte_index));
	put_name(a, name);
}

void aml__package(struct aml *a)
{
	item(a);
	put8(a, AML_PACKAGE);
	open_frame(a, FRAME_PACKAGE);
}

void aml__buffer(struct aml *a)
{
	item(a);
	put8(a, AML_BUFFER);
	open_frame(a, FRAME_BUFFER);
}

void aml__resources(struct aml *a)
{
	item(a);
	put8(a, AML_BUFFER);
	open_frame(a, FRAME_RESOURCES);
}

static bool in_buffer(struct aml *a, bool resources)
{
	struct aml_frame *f = top(a);

	if (!f || f->kind != (resources ? FRAME_RESOURCES : FRAME_BUFFER)) {
		fail(a, -EINVAL);
		return false;
	}
	return true;
}

void aml__bytes(struct aml *a, const void *p, size_t n)
{
	if (in_buffer(a, false))
		put(a, p, n);
}

void aml__end(struct aml *a)
{
	struct aml_frame *f = top(a);
	u8 prefix[4 + 9];
	unsigned int n, extra = 0;
	u8 inner[9];

	if (!f) {
		fail(a, -EINVAL);
		return;
	}
	switch (f->kind) {
	case FRAME_RESOURCES:
		put8(a, RES_END_TAG);
		put8(a, 0);	/* checksum 0: the buffer is taken as valid */
		/* fall through */
	case FRAME_BUFFER:
		extra = aml__encode_int(inner, a->len - f->start);
		break;
	case FRAME_PACKAGE:
		if (f->items > 255) {	/* would need a VarPackage */
			fail(a, -E2BIG);
			f->items = 255;
		}
		inner[0] = f->items;
		extra = 1;
		break;
	}
	n = aml__encode_pkglength(prefix, a->len - f->start + extra);
	if (!n) {
		fail(a, -E2BIG);
		n = 1;
	}
	memcpy(prefix + n, inner, extra);
	insert(a, f->start, prefix, n + extra);
	a->depth--;
	if (f->is_if)
		a->if_end = a->len;
}

/* ---- resource descriptors ---- */

void aml__res_io(struct aml *a, u16 base, u8 len)
{
	if (!in_buffer(a, true))
		return;
	put8(a, RES_IO);
	put8(a, 1);		/* decodes 16 address bits */
	put16(a, base);		/* minimum */
	put16(a, base);		/* maximum */
	put8(a, 1);		/* alignment */
	put8(a, len);
}

void aml__res_irq_noflags(struct aml *a, unsigned int irq)
{
	if (!in_buffer(a, true))
		return;
	if (irq > 15) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, RES_IRQ_NOFLAGS);
	put16(a, 1 << irq);
}

void aml__res_interrupt(struct aml *a, bool level, bool active_low, bool shared, u32 gsi)
{
	if (!in_buffer(a, true))
		return;
	put8(a, RES_EXT_IRQ);
	put16(a, 6);
	put8(a, ADDR_CONSUMER | (level ? 0 : 1 << 1) | (active_low ? 1 << 2 : 0) |
		(shared ? 1 << 3 : 0));
	put8(a, 1);		/* one interrupt */
	put32(a, gsi);
}

static bool addr_ok(struct aml *a, u64 min, u64 max)
{
	if (!in_buffer(a, true))
		return false;
	if (min > max) {
		fail(a, -EINVAL);
		return false;
	}
	return true;
}

static u8 addr_flags(bool producer)
{
	return ADDR_MIN_FIXED | ADDR_MAX_FIXED | (producer ? 0 : ADDR_CONSUMER);
}

static void word_addr(struct aml *a, u8 type, u8 tflags, bool producer, u16 min, u16 max)
{
	if (!addr_ok(a, min, max))
		return;
	put8(a, RES_WORD_ADDR);
	put16(a, 13);
	put8(a, type);
	put8(a, addr_flags(producer));
	put8(a, tflags);
	put16(a, 0);		/* granularity */
	put16(a, min);
	put16(a, max);
	put16(a, 0);		/* translation offset */
	put16(a, max - min + 1);
}

void aml__res_word_bus(struct aml *a, bool producer, u16 min, u16 max)
{
	word_addr(a, ADDR_BUS, 0, producer, min, max);
}

void aml__res_word_io(struct aml *a, bool producer, u16 min, u16 max)
{
	word_addr(a, ADDR_IO, IO_RANGE_ENTIRE, producer, min, max);
}

void aml__res_dword_mem(struct aml *a, bool producer, enum aml_mem_type type, bool rw,
			u32 min, u32 max)
{
	if (!addr_ok(a, min, max))
		return;
	put8(a, RES_DWORD_ADDR);
	put16(a, 23);
	put8(a, ADDR_MEM);
	put8(a, addr_flags(producer));
	put8(a, (rw ? 1 : 0) | (type & 3) << 1);
	put32(a, 0);
	put32(a, min);
	put32(a, max);
	put32(a, 0);
	put32(a, max - min + 1);
}

void aml__res_qword_mem(struct aml *a, bool producer, enum aml_mem_type type, bool rw,
			u64 min, u64 max)
{
	if (!addr_ok(a, min, max))
		return;
	if (min == 0 && max == ~0ULL) {	/* the length would not fit */
		fail(a, -EINVAL);
		return;
	}
	put8(a, RES_QWORD_ADDR);
	put16(a, 43);
	put8(a, ADDR_MEM);
	put8(a, addr_flags(producer));
	put8(a, (rw ? 1 : 0) | (type & 3) << 1);
	put64(a, 0);
	put64(a, min);
	put64(a, max);
	put64(a, 0);
	put64(a, max - min + 1);
}

void aml__res_mem32_fixed(struct aml *a, bool rw, u32 base, u32 len)
{
	if (!in_buffer(a, true))
		return;
	if (len == 0 || (u64)base + len > 0x100000000ULL) {
		fail(a, -EINVAL);
		return;
	}
	put8(a, RES_MEM32_FIXED);
	put16(a, 9);
	put8(a, rw ? 1 : 0);
	put32(a, base);
	put32(a, len);
}
