// SPDX-License-Identifier: GPL-2.0
/*
 * Multiboot (v1) images: an ELF (32- or 64-bit, loaded by physical address)
 * or an a.out-kludge image with a multiboot header in its first 8 KiB.  The
 * boot vCPU starts in 32-bit protected mode without paging, with EAX the
 * boot magic and EBX the multiboot information (memory, e820 map, command
 * line, the initrd as a module).  The same images run under QEMU -kernel.
 */
#include "vmm/boot.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <elf.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#define MB_HEADER_MAGIC		0x1badb002
#define MB_BOOT_MAGIC		0x2badb002
#define MB_SEARCH		8192
#define MB_FLAG_PAGE_ALIGN	(1U << 0)
#define MB_FLAG_MEMINFO		(1U << 1)
#define MB_FLAG_VIDEO		(1U << 2)
#define MB_FLAG_AOUT_KLUDGE	(1U << 16)
#define MB_REQUIRED_MASK	0x0000ffffU
#define MB_SUPPORTED		(MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO)

#define MBI_MEM			(1U << 0)
#define MBI_CMDLINE		(1U << 2)
#define MBI_MODS		(1U << 3)
#define MBI_MMAP		(1U << 6)
#define MBI_LOADER_NAME		(1U << 9)

struct mb_header {
	u32 magic, flags, checksum;
	u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr, config_table, boot_loader_name;
} __packed;

struct mb_module {
	u32 start, end, string, reserved;
};

struct mb_mmap {
	u32 size;
	u64 addr, len;
	u32 type;
} __packed;

/* multiboot info lives where Linux's zero page would; strings after it */
#define MBI_ADDR	BOOT_PARAMS_ADDR
#define MBI_MMAP_ADDR	(MBI_ADDR + 0x100)
#define MBI_MOD_ADDR	(MBI_ADDR + 0x800)
#define MBI_NAME_ADDR	(MBI_ADDR + 0x880)

/*
 * The header: magic, flags, checksum, 32-bit aligned in the first 8 KiB.
 * Only those three fields are required; the a.out fields follow when flag
 * 16 is set, and the caller checks that they are there too.
 */
#define MB_HEADER_MIN	12

static const struct mb_header *find_header(const struct boot_file *k, size_t *off)
{
	size_t limit = MIN(k->size, (size_t)MB_SEARCH);

	for (size_t o = 0; o + MB_HEADER_MIN <= limit; o += 4) {
		const u32 *p = (const void *)(k->data + o);

		if (p[0] == MB_HEADER_MAGIC && (u32)(p[0] + p[1] + p[2]) == 0) {
			*off = o;
			return (const void *)p;
		}
	}
	return NULL;
}

/* Walk the PT_LOAD segments of a 32- or 64-bit ELF: check or load them. */
static int elf_segments(const struct boot_image *img, u64 mem_size,
			struct vm *vm, u64 *end_out)
{
	const u8 *d = img->kernel.data;
	size_t size = img->kernel.size;
	const char *path = img->kernel.path;
	bool is64 = d[EI_CLASS] == ELFCLASS64;
	u64 phoff, phnum, phentsize, end = 0;

	if (is64) {
		const Elf64_Ehdr *eh = (const void *)d;

		phoff = eh->e_phoff, phnum = eh->e_phnum, phentsize = eh->e_phentsize;
	} else {
		const Elf32_Ehdr *eh = (const void *)d;

		phoff = eh->e_phoff, phnum = eh->e_phnum, phentsize = eh->e_phentsize;
	}
	if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) ||
	    phoff > size || phnum > (size - phoff) / phentsize) {
		pr_err("--kernel %s: truncated or corrupt ELF program headers", path);
		return -1;
	}
	for (u64 i = 0; i < phnum; i++) {
		const u8 *ph = d + phoff + i * phentsize;
		u64 type, off, paddr, filesz, memsz;

		if (is64) {
			const Elf64_Phdr *p = (const void *)ph;

			type = p->p_type, off = p->p_offset, paddr = p->p_paddr;
			filesz = p->p_filesz, memsz = p->p_memsz;
		} else {
			const Elf32_Phdr *p = (const void *)ph;

			type = p->p_type, off = p->p_offset, paddr = p->p_paddr;
			filesz = p->p_filesz, memsz = p->p_memsz;
		}
		if (type != PT_LOAD || !memsz)
			continue;
		if (filesz > memsz || off > size || filesz > size - off) {
			pr_err("--kernel %s: segment %llu lies outside the file", path,
			       (unsigned long long)i);
			return -1;
		}
		/* below 1 MiB are the boot GDT, the multiboot information and
		 * the command line (and the reserved area): nothing loads there */
		if (paddr < HIGH_MEMORY_START) {
			pr_err("--kernel %s: segment %llu at %#llx is below 1 MiB, where dpvm keeps "
			       "the boot information; link the image at 1 MiB or above",
			       path, (unsigned long long)i, (unsigned long long)paddr);
			return -1;
		}
		if (paddr + memsz < paddr || paddr + memsz > MIN(mem_size, LOW_RAM_END)) {
			pr_err("--kernel %s: segment %llu (%#llx, %llu bytes) is beyond guest RAM; "
			       "give the VM more --mem", path, (unsigned long long)i,
			       (unsigned long long)paddr, (unsigned long long)memsz);
			return -1;
		}
		if (vm) {
			u8 *dst = mem__gpa_to_hva(&vm->mem, paddr, memsz);

			memcpy(dst, d + off, filesz);
			memset(dst + filesz, 0, memsz - filesz);
		}
		end = MAX(end, paddr + memsz);
	}
	if (!end) {
		pr_err("--kernel %s: the ELF image has nothing to load", path);
		return -1;
	}
	*end_out = end;
	return 0;
}

int multiboot__probe(struct boot_image *img, u64 mem_size)
{
	const struct boot_file *k = &img->kernel;
	const struct mb_header *h;
	size_t off;
	char a[32];

	h = find_header(k, &off);
	if (!h) {
		pr_err("--kernel %s: not a kernel: neither a Linux bzImage nor a multiboot image; "
		       "give a bzImage or a multiboot ELF", k->path);
		return -1;
	}
	if (h->flags & MB_REQUIRED_MASK & ~MB_SUPPORTED) {
		pr_err("--kernel %s: the multiboot header requires features dpvm lacks "
		       "(flags %#x%s); drop them from the header", k->path, h->flags,
		       h->flags & MB_FLAG_VIDEO ? ": a video mode" : "");
		return -1;
	}
	img->mb_flags = h->flags;

	if (h->flags & MB_FLAG_AOUT_KLUDGE) {
		u64 file_off, load_len, end;

		if (off + sizeof(*h) > MIN(k->size, (size_t)MB_SEARCH)) {
			pr_err("--kernel %s: the multiboot header's load addresses are cut off "
			       "(they must lie in the first 8 KiB of the file)", k->path);
			return -1;
		}
		if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > off ||
		    h->entry_addr < h->load_addr) {
			pr_err("--kernel %s: inconsistent multiboot load addresses", k->path);
			return -1;
		}
		file_off = off - (h->header_addr - h->load_addr);
		load_len = h->load_end_addr ? (u64)h->load_end_addr - h->load_addr :
					      k->size - file_off;
		end = MAX((u64)h->bss_end_addr, (u64)h->load_addr + load_len);
		if (h->load_end_addr && h->load_end_addr < h->load_addr) {
			pr_err("--kernel %s: multiboot load_end_addr is below load_addr", k->path);
			return -1;
		}
		if (load_len > k->size - file_off) {
			pr_err("--kernel %s: truncated: the multiboot header asks for %llu bytes",
			       k->path, (unsigned long long)load_len);
			return -1;
		}
		if (h->load_addr < HIGH_MEMORY_START || end > MIN(mem_size, LOW_RAM_END)) {
			pr_err("--kernel %s: the image (%#x..%#llx) must lie in guest RAM above 1 MiB",
			       k->path, h->load_addr, (unsigned long long)end);
			return -1;
		}
		if (h->entry_addr >= end) {
			pr_err("--kernel %s: the multiboot entry point %#x is outside the image "
			       "(%#x..%#llx)", k->path, h->entry_addr, h->load_addr,
			       (unsigned long long)end - 1);
			return -1;
		}
		img->mb_entry = h->entry_addr;
		img->mb_load_end = end;
	} else {
		const Elf32_Ehdr *eh = (const void *)k->data;

		if (k->size < sizeof(Elf64_Ehdr) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
		    eh->e_machine != (eh->e_ident[EI_CLASS] == ELFCLASS64 ? EM_X86_64 : EM_386)) {
			pr_err("--kernel %s: the multiboot image is not an x86 ELF and has no a.out "
			       "load addresses", k->path);
			return -1;
		}
		if (elf_segments(img, mem_size, NULL, &img->mb_load_end))
			return -1;
		img->mb_entry = eh->e_ident[EI_CLASS] == ELFCLASS64 ?
				((const Elf64_Ehdr *)k->data)->e_entry : eh->e_entry;
		if (img->mb_entry >= LOW_RAM_END) {
			pr_err("--kernel %s: entry point %#llx is not in 32-bit guest RAM",
			       k->path, (unsigned long long)img->mb_entry);
			return -1;
		}
	}
	if (img->initrd.data &&
	    ALIGN_UP(img->mb_load_end, 4096) + img->initrd.size > MIN(mem_size, LOW_RAM_END)) {
		pr_err("--initrd %s: %s does not fit in guest RAM after the image; give more --mem",
		       img->initrd.path, fmt_size(img->initrd.size, a, sizeof(a)));
		return -1;
	}
	return 0;
}

int multiboot__load(struct vm *vm, const struct boot_image *img)
{
	struct mb_info mbi = { 0 };
	struct e820_entry e820[16];
	const char *name = "dpvm";
	unsigned int n;
	u64 end;

	if (img->mb_flags & MB_FLAG_AOUT_KLUDGE) {
		const struct mb_header *h;
		size_t off;
		u64 file_off, load_len;

		h = find_header(&img->kernel, &off);
		file_off = off - (h->header_addr - h->load_addr);
		load_len = h->load_end_addr ? (u64)h->load_end_addr - h->load_addr :
					      img->kernel.size - file_off;
		mem__write(&vm->mem, h->load_addr, img->kernel.data + file_off, load_len);
		if (h->bss_end_addr > h->load_addr + load_len)
			memset(mem__gpa_to_hva(&vm->mem, h->load_addr + load_len,
					       h->bss_end_addr - h->load_addr - load_len),
			       0, h->bss_end_addr - h->load_addr - load_len);
	} else if (elf_segments(img, vm->mem.size, vm, &end)) {
		return -EINVAL;
	}

	mbi.flags = MBI_MEM | MBI_MMAP | MBI_LOADER_NAME | MBI_CMDLINE;
	mbi.mem_lower = EBDA_START / 1024;
	mbi.mem_upper = (vm->mem.regions[0].size - HIGH_MEMORY_START) / 1024;

	/* the e820 map in multiboot's format (each entry prefixed by its size) */
	n = e820__build(&vm->mem, e820, ARRAY_SIZE(e820));
	for (unsigned int i = 0; i < n; i++) {
		struct mb_mmap m = { .size = sizeof(m) - 4, .addr = e820[i].addr,
				     .len = e820[i].size, .type = e820[i].type };

		mem__write(&vm->mem, MBI_MMAP_ADDR + i * sizeof(m), &m, sizeof(m));
	}
	mbi.mmap_addr = MBI_MMAP_ADDR;
	mbi.mmap_length = n * sizeof(struct mb_mmap);

	mem__write(&vm->mem, MBI_NAME_ADDR, name, strlen(name) + 1);
	mbi.boot_loader_name = MBI_NAME_ADDR;
	mem__write(&vm->mem, BOOT_CMDLINE_ADDR, img->cmdline, strlen(img->cmdline) + 1);
	mbi.cmdline = BOOT_CMDLINE_ADDR;

	if (img->initrd.data) {
		struct mb_module mod;
		u64 start = ALIGN_UP(img->mb_load_end, 4096);

		mem__write(&vm->mem, start, img->initrd.data, img->initrd.size);
		mod = (struct mb_module){ .start = start, .end = start + img->initrd.size,
					  .string = BOOT_CMDLINE_ADDR };
		mem__write(&vm->mem, MBI_MOD_ADDR, &mod, sizeof(mod));
		mbi.flags |= MBI_MODS;
		mbi.mods_count = 1;
		mbi.mods_addr = MBI_MOD_ADDR;
	}
	return mem__write(&vm->mem, MBI_ADDR, &mbi, sizeof(mbi));
}

void multiboot__bsp_regs(const struct boot_image *img, struct kvm_sregs *s,
			 struct kvm_regs *r)
{
	boot__flat_segments(s, false);
	memset(r, 0, sizeof(*r));
	r->rflags = 2;
	r->rip = img->mb_entry;
	r->rax = MB_BOOT_MAGIC;
	r->rbx = MBI_ADDR;
}
