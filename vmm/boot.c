// SPDX-License-Identifier: GPL-2.0
#include "vmm/boot.h"
#include "vmm/acpi.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct boot_image boot_image;

static int map_file(const char *what, const char *path, struct boot_file *f)
{
	struct stat st;
	int fd;

	f->path = path;
	/* non-blocking: opening a FIFO would wait for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		pr_err("%s %s: %s; check the path", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("%s %s: not a regular file; give the path of an image file", what, path);
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		pr_err("%s %s: the file is empty; give a kernel image", what, path);
		close(fd);
		return -1;
	}
	f->size = st.st_size;
	f->data = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f->data == MAP_FAILED) {
		f->data = NULL;
		pr_err("%s %s: cannot map it: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

static void unmap_file(struct boot_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	f->data = NULL;
}

/* defaults, then the user's --cmdline, unless --no-default-cmdline */
static char *boot__cmdline(const struct vm_config *cfg, const char *defaults)
{
	const char *user = cfg->cmdline ? cfg->cmdline : "";
	char *s;

	if (cfg->no_default_cmdline || !*defaults)
		return xstrdup(user);
	s = xzalloc(strlen(defaults) + strlen(user) + 2);
	strcpy(s, defaults);
	if (*user) {
		strcat(s, " ");
		strcat(s, user);
	}
	return s;
}

int boot__probe(struct boot_image *img, const struct vm_config *cfg)
{
	memset(img, 0, sizeof(*img));
	if (map_file("--kernel", cfg->kernel, &img->kernel))
		return -1;
	if (cfg->initrd && map_file("--initrd", cfg->initrd, &img->initrd))
		goto err;

	if (img->kernel.size >= 0x206 && !memcmp(img->kernel.data + 0x202, "HdrS", 4)) {
		img->kind = BOOT_LINUX;
		if (linux__probe(img, cfg->mem_size))
			goto err;
		img->cmdline = boot__cmdline(cfg, LINUX_DEFAULT_CMDLINE);
	} else {
		img->kind = BOOT_MULTIBOOT;
		img->cmdline_max = BOOT_CMDLINE_MAX - 1;
		if (multiboot__probe(img, cfg->mem_size))
			goto err;
		img->cmdline = boot__cmdline(cfg, "");
	}
	if (strlen(img->cmdline) > img->cmdline_max) {
		pr_err("--cmdline: the command line is %zu bytes, the kernel takes at most %u; shorten it",
		       strlen(img->cmdline), img->cmdline_max);
		goto err;
	}
	return 0;
err:
	boot__release(img);
	return -1;
}

void boot__release(struct boot_image *img)
{
	unmap_file(&img->kernel);
	unmap_file(&img->initrd);
	free(img->cmdline);
	img->cmdline = NULL;
}

unsigned int e820__build(const struct guest_mem *mem, struct e820_entry *e, unsigned int max)
{
	unsigned int n = 0;

#define ADD(a, s, t)							\
	do {								\
		if (n < max)						\
			e[n++] = (struct e820_entry){ (a), (s), (t) };	\
	} while (0)

	ADD(0, EBDA_START, E820_RAM);
	ADD(EBDA_START, HIGH_MEMORY_START - EBDA_START, E820_RESERVED);
	if (mem->regions[0].size > HIGH_MEMORY_START)
		ADD(HIGH_MEMORY_START, mem->regions[0].size - HIGH_MEMORY_START, E820_RAM);
	ADD(PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED);
	for (unsigned int i = 1; i < mem->nr_regions; i++)
		ADD(mem->regions[i].gpa, mem->regions[i].size, E820_RAM);
#undef ADD
	return n;
}

/*
 * A GDT with flat segments: 0x08 32-bit code, 0x10 64-bit code, 0x18 data.
 * The hidden parts of the segment registers are set directly, so the guest
 * need not reload them; the GDT is in RAM for when it does.
 */
static const u64 boot_gdt[] = {
	0,
	0x00cf9b000000ffffULL,	/* 0x08: code32, base 0, 4 GiB */
	0x00af9b000000ffffULL,	/* 0x10: code64 */
	0x00cf93000000ffffULL,	/* 0x18: data, base 0, 4 GiB */
};

void boot__write_gdt(struct vm *vm)
{
	mem__write(&vm->mem, BOOT_GDT_ADDR, boot_gdt, sizeof(boot_gdt));
}

void boot__flat_segments(struct kvm_sregs *s, bool long_mode)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .present = 1, .type = 11, .s = 1,
		.g = 1, .selector = long_mode ? 0x10 : 0x08,
		.l = long_mode, .db = !long_mode,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .present = 1, .type = 3, .s = 1,
		.g = 1, .db = 1, .selector = 0x18,
	};

	s->gdt.base = BOOT_GDT_ADDR;
	s->gdt.limit = sizeof(boot_gdt) - 1;
	s->idt.base = BOOT_IDT_ADDR;
	s->idt.limit = 0;
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->cr0 |= 1; /* PE */
}

void boot__set_bsp_regs(struct vm *vm __unused, struct kvm_sregs *s, struct kvm_regs *r)
{
	if (boot_image.kind == BOOT_LINUX)
		linux__bsp_regs(s, r);
	else if (boot_image.kind == BOOT_MULTIBOOT)
		multiboot__bsp_regs(&boot_image, s, r);
}

static int boot__load(struct vm *vm)
{
	struct boot_image *img = &boot_image;
	u64 rsdp = 0;
	int ret;

	ret = acpi__setup(vm, &rsdp);
	if (ret)
		return ret;
	boot__write_gdt(vm);
	if (img->kind == BOOT_LINUX)
		return linux__load(vm, img, rsdp);
	return multiboot__load(vm, img);
}

static void boot__reset(struct vm *vm)
{
	if (boot__load(vm))
		vm__request_stop(vm, EXIT_ERROR, "kernel reload failed");
}
vm_initcall(INIT_FIRMWARE, boot__load, NULL, boot__reset);
