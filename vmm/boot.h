/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_BOOT_H
#define DPVM_BOOT_H

#include "vmm/types.h"

struct vm;
struct vm_config;
struct guest_mem;

/*
 * Boot images.  dpvm has no BIOS: it loads the image into guest RAM and
 * starts the boot vCPU at the image's entry with the registers its protocol
 * asks for.  Two protocols:
 *  - Linux bzImage (boot protocol >= 2.06), entered at its 64-bit entry with
 *    a zero page (boot-linux.c);
 *  - Multiboot v1 ELF (or a.out kludge), entered in 32-bit protected mode
 *    (multiboot.c).
 *
 * boot__probe() reads and checks the files at configuration time, before
 * any KVM state exists; boot__load() copies them into guest RAM at power-on
 * and again at each guest reset.
 */
enum boot_kind { BOOT_NONE, BOOT_LINUX, BOOT_MULTIBOOT };

struct boot_file {
	const char *path;
	const u8 *data;	/* read-only mapping of the whole file */
	size_t size;
};

struct boot_image {
	enum boot_kind kind;
	struct boot_file kernel;
	struct boot_file initrd;
	char *cmdline;		/* the final command line */
	u32 cmdline_max;	/* longest command line the kernel takes */
	/* Linux */
	u16 protocol;
	u64 setup_size;		/* bytes of real-mode setup, incl. boot sector */
	u64 init_size;		/* memory the kernel needs from its load address */
	u64 initrd_max;		/* highest address + 1 the initrd may end at */
	/* multiboot */
	u32 mb_flags;
	u64 mb_entry;
	u64 mb_load_end;	/* highest byte loaded or zeroed + 1 */
};

extern struct boot_image boot_image;

/* the default Linux command line, which --cmdline is appended to */
#define LINUX_DEFAULT_CMDLINE "console=ttyS0 panic=-1 no_timer_check 8250.nr_uarts=1"

int boot__probe(struct boot_image *img, const struct vm_config *cfg);
void boot__release(struct boot_image *img);

/* e820 map of the VM's memory layout, shared by both protocols */
#define E820_RAM	1
#define E820_RESERVED	2
struct e820_entry {
	u64 addr;
	u64 size;
	u32 type;
} __attribute__((packed));
unsigned int e820__build(const struct guest_mem *mem, struct e820_entry *e, unsigned int max);

/* per protocol; called by boot.c */
int linux__probe(struct boot_image *img, u64 mem_size);
int linux__load(struct vm *vm, const struct boot_image *img, u64 rsdp);
int multiboot__probe(struct boot_image *img, u64 mem_size);
int multiboot__load(struct vm *vm, const struct boot_image *img);

/* the boot vCPU's registers at entry, set on top of its reset state */
struct kvm_sregs;
struct kvm_regs;
void boot__set_bsp_regs(struct vm *vm, struct kvm_sregs *s, struct kvm_regs *r);
void linux__bsp_regs(struct kvm_sregs *s, struct kvm_regs *r);
void multiboot__bsp_regs(const struct boot_image *img, struct kvm_sregs *s,
			 struct kvm_regs *r);

/* the GDT both protocols use, and flat segments from it */
void boot__write_gdt(struct vm *vm);
void boot__flat_segments(struct kvm_sregs *s, bool long_mode);

#endif
