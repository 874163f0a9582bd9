// SPDX-License-Identifier: GPL-2.0
/* Start-up, the boot information, the command line, exits and checks. */
#include "guest.h"

#define MB_BOOT_MAGIC		0x2badb002
#define MBI_MEM			(1 << 0)
#define MBI_CMDLINE		(1 << 2)
#define MBI_MMAP		(1 << 6)
#define MBI_LOADER_NAME		(1 << 9)

struct mb_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr, config_table, boot_loader_name;
};

struct mb_mmap {
	u32 size;
	u64 addr, len;
	u32 type;
} __packed;

struct boot_info boot;
static char cmdline_buf[1024];
static char loader_buf[64];
static unsigned int nr_failed;
extern bool print_unlocked;
extern char __bss_start[], __bss_end[];

void runtime_start(u32 magic, u32 mbi_addr) __noreturn;
void idt_setup(void);

/* copy a string the loader left in memory we may later overwrite */
static void copy_str(char *dst, size_t size, u32 src)
{
	const char *s = (const char *)src;
	size_t i;

	for (i = 0; i + 1 < size && s[i]; i++)
		dst[i] = s[i];
	dst[i] = 0;
}

static void parse_boot(u32 magic, u32 mbi_addr)
{
	const struct mb_info *mbi = (const void *)mbi_addr;

	boot.magic = magic;
	boot.loader = "";
	if (magic != MB_BOOT_MAGIC || !mbi_addr)
		return;
	boot.flags = mbi->flags;
	if (mbi->flags & MBI_LOADER_NAME) {
		copy_str(loader_buf, sizeof(loader_buf), mbi->boot_loader_name);
		boot.loader = loader_buf;
	}
	if (mbi->flags & MBI_CMDLINE)
		copy_str(cmdline_buf, sizeof(cmdline_buf), mbi->cmdline);
	if (mbi->flags & MBI_MEM) {
		boot.mem_lower_kb = mbi->mem_lower;
		boot.mem_upper_kb = mbi->mem_upper;
		boot.ram_top = 0x100000 + (u64)mbi->mem_upper * 1024;
	}
	if (mbi->flags & MBI_MMAP) {
		u32 p = mbi->mmap_addr, end = p + mbi->mmap_length;

		boot.mmap_addr = mbi->mmap_addr;
		boot.mmap_length = mbi->mmap_length;
		boot.ram_top = 0;
		while (p + sizeof(struct mb_mmap) <= end) {
			const struct mb_mmap *m = (const void *)p;

			if (m->type == 1 && m->addr + m->len <= 0x100000000ULL &&
			    m->addr + m->len > boot.ram_top)
				boot.ram_top = m->addr + m->len;
			p += m->size + 4;
		}
	}
}

void runtime_start(u32 magic, u32 mbi_addr)
{
	bool bss_dirty = false;
	int code;

	/* before anything writes it: the loader must have zeroed .bss */
	for (const char *p = __bss_start; p < __bss_end; p++)
		if (*p)
			bss_dirty = true;

	serial_init();
	idt_setup();
	idt_load();
	pic_disable();
	parse_boot(magic, mbi_addr);

	printf("runtime: loader \"%s\", RAM top %#llx, cmdline \"%s\"\n",
	       boot.loader, boot.ram_top, cmdline_buf);
	if (magic != MB_BOOT_MAGIC)
		fail("entered with EAX %#x, not the multiboot magic %#x", magic, MB_BOOT_MAGIC);
	if (bss_dirty)
		fail("the loader did not zero .bss (%p..%p)", __bss_start, __bss_end);
	tsc_calibrate();

	code = main();
	if (code == EXIT_OK && nr_failed)
		code = EXIT_FAIL;
	if (code == EXIT_OK)
		pass();
	printf("FAIL: %u check(s) failed, exit code %d\n", nr_failed, code);
	exit_test(code);
}

void exit_test(int code)
{
	outb(EXIT_PORT, code);
	printf("exit_test(%d): the exit port %#x did not stop the VM; halting\n",
	       code, EXIT_PORT);
	for (;;) {
		irq_disable();
		halt();
	}
}

void pass(void)
{
	printf("PASS\n");
	exit_test(EXIT_OK);
}

void fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("FAIL: %s\n", msg);
	exit_test(EXIT_FAIL);
}

bool check(bool ok, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("%s: %s\n", ok ? "ok" : "FAIL", msg);
	if (!ok)
		__atomic_add_fetch(&nr_failed, 1, __ATOMIC_SEQ_CST);
	return ok;
}

unsigned int checks_failed(void)
{
	return nr_failed;
}

/* ---- the command line */

const char *cmdline(void)
{
	return cmdline_buf;
}

/* the value of key=..., up to the next space; NULL if absent */
static const char *find_value(const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = cmdline_buf;

	while (*p) {
		const char *w = p;

		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) > klen && !strncmp(w, key, klen) && w[klen] == '=') {
			*len = p - (w + klen + 1);
			return w + klen + 1;
		}
		while (*p == ' ')
			p++;
	}
	return NULL;
}

bool cmdline_str(const char *key, char *buf, size_t size)
{
	size_t len;
	const char *v = find_value(key, &len);

	if (!v)
		return false;
	if (len >= size) {
		printf("FAIL: cmdline: %s= is longer than %u characters\n", key,
		       (unsigned int)size - 1);
		exit_test(EXIT_USAGE);
	}
	memcpy(buf, v, len);
	buf[len] = 0;
	return true;
}

u64 cmdline_u64(const char *key, u64 def)
{
	size_t len;
	const char *v = find_value(key, &len);
	unsigned int base = 10;
	u64 n = 0;

	if (!v)
		return def;
	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		v += 2;
		len -= 2;
	}
	if (!len)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			goto bad;
		if (n > (~0ULL - d) / base)
			goto bad;
		n = n * base + d;
	}
	return n;
bad:
	printf("FAIL: cmdline: %s= wants a decimal or 0x-prefixed number\n", key);
	exit_test(EXIT_USAGE);
}

u32 cmdline_uint(const char *key, u32 def)
{
	u64 v = cmdline_u64(key, def);

	if (v > 0xffffffffULL) {
		printf("FAIL: cmdline: %s= is larger than 32 bits\n", key);
		exit_test(EXIT_USAGE);
	}
	return v;
}

/* ---- the IDT */

struct idt_gate {
	u16 off_lo, sel;
	u8 zero, type;
	u16 off_hi;
} __packed;

static struct idt_gate idt[256];
static irq_handler_t handlers[256];
extern const u32 isr_table[256];

static const char *const exception_names[] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM no FPU", "#DF double fault",
	"coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
	"#VE virtualization", "#CP control protection",
};

void idt_setup(void)
{
	for (unsigned int i = 0; i < 256; i++)
		idt[i] = (struct idt_gate){
			.off_lo = isr_table[i] & 0xffff, .sel = 0x08,
			.type = 0x8e,	/* present, DPL 0, 32-bit interrupt gate */
			.off_hi = isr_table[i] >> 16,
		};
}

void idt_load(void)
{
	struct {
		u16 limit;
		u32 base;
	} __packed desc = { sizeof(idt) - 1, (u32)idt };

	asm volatile("lidt %0" : : "m"(desc));
}

void set_handler(u8 vector, irq_handler_t fn)
{
	handlers[vector] = fn;
}

void irq_dispatch(struct irq_frame *f)
{
	irq_handler_t fn = handlers[f->vector & 0xff];

	if (fn) {
		fn(f);
		return;
	}
	if (f->vector == SPURIOUS_VECTOR)
		return;	/* LAPIC spurious interrupt: no EOI */
	print_unlocked = true;
	if (f->vector < 32)
		printf("FAIL: exception %u (%s), error code %#x, at eip %#x, cpu %u\n",
		       f->vector, f->vector < ARRAY_SIZE(exception_names) ?
		       exception_names[f->vector] : "reserved", f->error, f->eip, lapic_id());
	else
		printf("FAIL: unexpected interrupt, vector %#x, at eip %#x, cpu %u\n",
		       f->vector, f->eip, lapic_id());
	exit_test(EXIT_EXCEPTION);
}
