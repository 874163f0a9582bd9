/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_AML_H
#define DPVM_AML_H

#include "vmm/types.h"

/*
 * A small AML (ACPI Machine Language) builder for the DSDT.
 *
 * Terms are appended in the order ASL writes them.  Objects with a body
 * (Scope, Device, Method, If, Else, Package, Buffer, ResourceTemplate) are
 * opened with their function and closed with aml__end(); the PkgLength (and
 * a Package's element count, a Buffer's size) is filled in on closing, in
 * its shortest encoding.  Errors (a bad name, an unbalanced end, a resource
 * descriptor outside a ResourceTemplate) stick in a->err and make
 * aml__finish() fail, so callers check once at the end.
 *
 *	aml__scope(a, "\\_SB");
 *	aml__device(a, "COM1");
 *	aml__name(a, "_HID"); aml__eisaid(a, "PNP0501");
 *	aml__name(a, "_CRS"); aml__resources(a);
 *	aml__res_io(a, 0x3f8, 8); aml__res_irq_noflags(a, 4);
 *	aml__end(a);	// ResourceTemplate (EndTag added)
 *	aml__end(a);	// Device
 *	aml__end(a);	// Scope
 */
#define AML_MAX_DEPTH	16

struct aml_frame {
	size_t start;		/* where the PkgLength goes */
	unsigned int kind;
	unsigned int items;	/* elements of a Package */
	bool is_if;
};

struct aml {
	u8 *data;
	size_t len, cap;
	struct aml_frame frames[AML_MAX_DEPTH];
	unsigned int depth;
	size_t if_end;		/* where the last If ended, for Else */
	int err;		/* first error, -errno */
};

void aml__init(struct aml *a);
void aml__free(struct aml *a);
/* 0 if everything was well formed and closed, else the first error */
int aml__finish(struct aml *a);

/* encoders, exposed for tests: bytes written to out */
unsigned int aml__encode_pkglength(u8 out[4], size_t body);	/* 0 if too long */
unsigned int aml__encode_int(u8 out[9], u64 v);
int aml__encode_name(u8 *out, size_t max, const char *path);	/* -EINVAL if bad */
int aml__eisaid_value(const char *id, u32 *out);

/* data objects */
void aml__int(struct aml *a, u64 v);		/* Zero, One, Ones or the shortest prefix */
void aml__string(struct aml *a, const char *s);
void aml__eisaid(struct aml *a, const char *id);	/* EisaId ("PNP0A08") */
void aml__uuid(struct aml *a, const char *uuid);	/* ToUUID ("...") */
void aml__path(struct aml *a, const char *path);	/* a NameString: "\\_SB.PCI0", "CDW1" */
void aml__arg(struct aml *a, unsigned int n);		/* Arg0..Arg6 */
void aml__local(struct aml *a, unsigned int n);		/* Local0..Local7 */

/* named objects and code */
void aml__name(struct aml *a, const char *name);	/* Name (name, <next term>) */
void aml__scope(struct aml *a, const char *path);
void aml__device(struct aml *a, const char *name);
void aml__method(struct aml *a, const char *name, unsigned int nargs, bool serialized);
void aml__if(struct aml *a);		/* then the predicate, then the body */
void aml__else(struct aml *a);		/* right after an If's aml__end */
void aml__return(struct aml *a);	/* then the value */
void aml__lequal(struct aml *a);	/* then two operands */
void aml__lnot(struct aml *a);		/* then one operand */
void aml__or(struct aml *a);		/* then two operands and a target */
/* CreateDWordField (Arg<src_arg>, byte_index, name) */
void aml__create_dword_field(struct aml *a, unsigned int src_arg, u64 byte_index,
			     const char *name);

/* Package (n) { ... }, Buffer (n) { bytes }, ResourceTemplate () { ... } */
void aml__package(struct aml *a);
void aml__buffer(struct aml *a);
void aml__bytes(struct aml *a, const void *p, size_t n);	/* inside a Buffer */
void aml__resources(struct aml *a);
void aml__end(struct aml *a);

/* resource descriptors, inside aml__resources() */
enum aml_mem_type {
	AML_MEM_NONCACHEABLE	= 0,
	AML_MEM_CACHEABLE	= 1,
	AML_MEM_WRITECOMBINING	= 2,
	AML_MEM_PREFETCHABLE	= 3,
};

/* IO (Decode16, base, base, 1, len): a fixed range */
void aml__res_io(struct aml *a, u16 base, u8 len);
/* IRQNoFlags () {irq}: ISA, edge, active high */
void aml__res_irq_noflags(struct aml *a, unsigned int irq);
/* Interrupt (ResourceConsumer, Level|Edge, ActiveHigh|ActiveLow, Exclusive|Shared) {gsi} */
void aml__res_interrupt(struct aml *a, bool level, bool active_low, bool shared, u32 gsi);
/* Word/DWord/QWord address space descriptors: MinFixed, MaxFixed, PosDecode,
 * granularity 0, no translation, length max - min + 1 */
void aml__res_word_bus(struct aml *a, bool producer, u16 min, u16 max);
void aml__res_word_io(struct aml *a, bool producer, u16 min, u16 max);
void aml__res_dword_mem(struct aml *a, bool producer, enum aml_mem_type type, bool rw,
			u32 min, u32 max);
void aml__res_qword_mem(struct aml *a, bool producer, enum aml_mem_type type, bool rw,
			u64 min, u64 max);
/* Memory32Fixed (ReadWrite|ReadOnly, base, len) */
void aml__res_mem32_fixed(struct aml *a, bool rw, u32 base, u32 len);

#endif
