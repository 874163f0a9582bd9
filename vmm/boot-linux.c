// SPDX-License-Identifier: GPL-2.0
/*
 * Linux x86 boot protocol, 64-bit entry: the protected-mode kernel goes to
 * 1 MiB, the zero page (struct boot_params) describes memory (e820), the
 * command line, the initrd and the RSDP, and the boot vCPU starts in long
 * mode at the kernel's startup_64 with RSI pointing to the zero page
 * (Documentation/arch/x86/boot.rst).
 */
#include "devices/display.h"
#include "vmm/boot.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <asm/bootparam.h>
#include <linux/kvm.h>
#include <errno.h>
#include <string.h>

#define SETUP_HDR_OFFSET	0x1f1
#define LOADER_TYPE_UNDEFINED	0xff

static u64 low_ram(u64 mem_size)
{
	return MIN(mem_size, LOW_RAM_END);
}

/* where the initrd goes: as high as possible in low RAM, page aligned */
static u64 initrd_addr(const struct boot_image *img, u64 mem_size)
{
	u64 top = MIN(low_ram(mem_size), img->initrd_max);

	return ALIGN_DOWN(top - img->initrd.size, 4096);
}

int linux__probe(struct boot_image *img, u64 mem_size)
{
	const struct setup_header *h =
		(const void *)(img->kernel.data + SETUP_HDR_OFFSET);
	const char *path = img->kernel.path;
	unsigned int setup_sects;
	char a[32], b[32];

	/* first that the file holds the setup (and so the whole header): the
	 * fields below would otherwise read past its end */
	setup_sects = h->setup_sects ? h->setup_sects : 4;
	img->setup_size = (setup_sects + 1) * 512ULL;
	if (img->setup_size >= img->kernel.size) {
		pr_err("--kernel %s: truncated: %zu bytes, the setup alone claims %llu",
		       path, img->kernel.size, (unsigned long long)img->setup_size);
		return -1;
	}
	img->protocol = h->version;
	if (h->version < 0x206) {
		pr_err("--kernel %s: boot protocol %u.%02u is older than 2.06; use a newer kernel",
		       path, h->version >> 8, h->version & 0xff);
		return -1;
	}
	if (h->version >= 0x20c && !(h->xloadflags & XLF_KERNEL_64)) {
		pr_err("--kernel %s: not a 64-bit kernel (no 64-bit entry point); "
		       "build it with CONFIG_X86_64", path);
		return -1;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		pr_err("--kernel %s: a zImage that loads low is not supported; use a bzImage", path);
		return -1;
	}
	img->cmdline_max = MIN(h->cmdline_size, (u32)BOOT_CMDLINE_MAX - 1);
	if (h->syssize && (u64)h->syssize * 16 > img->kernel.size - img->setup_size + 16) {
		pr_err("--kernel %s: truncated: the header says %llu bytes of kernel, the file has %llu",
		       path, (unsigned long long)h->syssize * 16,
		       (unsigned long long)(img->kernel.size - img->setup_size));
		return -1;
	}
	img->init_size = h->version >= 0x20a ? h->init_size : 0;
	img->init_size = MAX(img->init_size, img->kernel.size - img->setup_size);
	img->initrd_max = h->version >= 0x203 && h->initrd_addr_max ?
			  (u64)h->initrd_addr_max + 1 : 0x38000000ULL;

	if (KERNEL_LOAD_ADDR + img->init_size > low_ram(mem_size)) {
		pr_err("--kernel %s: the kernel needs %s from 1 MiB but the VM has %s; "
		       "give it more --mem", path, fmt_size(img->init_size, a, sizeof(a)),
		       fmt_size(mem_size, b, sizeof(b)));
		return -1;
	}
	if (img->initrd.data) {
		u64 end = KERNEL_LOAD_ADDR + ALIGN_UP(img->init_size, 4096);

		/* below both the end of low RAM and the kernel's initrd_addr_max
		 * (initrd_addr() subtracts the size from the lower of the two) */
		if (img->initrd.size > MIN(low_ram(mem_size), img->initrd_max) ||
		    initrd_addr(img, mem_size) < end) {
			pr_err("--initrd %s: %s does not fit in guest RAM below %s next to the kernel; "
			       "give the VM more --mem or use a smaller initrd", img->initrd.path,
			       fmt_size(img->initrd.size, a, sizeof(a)),
			       fmt_size(MIN(low_ram(mem_size), img->initrd_max), b, sizeof(b)));
			return -1;
		}
	}
	return 0;
}

/* identity map of the first 4 GiB with 2 MiB pages */
static void setup_page_tables(struct vm *vm)
{
	u64 *pml4 = mem__gpa_to_hva(&vm->mem, BOOT_PML4_ADDR, 4096);
	u64 *pdpt = mem__gpa_to_hva(&vm->mem, BOOT_PDPT_ADDR, 4096);
	u64 *pd = mem__gpa_to_hva(&vm->mem, BOOT_PD_ADDR, 4 * 4096);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | 0x3;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | 0x3;
	for (int i = 0; i < 4 * 512; i++)
		pd[i] = ((u64)i << 21) | 0x83; /* present, writable, 2 MiB */
}

int linux__load(struct vm *vm, const struct boot_image *img, u64 rsdp)
{
	struct boot_params *bp = mem__gpa_to_hva(&vm->mem, BOOT_PARAMS_ADDR, sizeof(*bp));
	const struct setup_header *h =
		(const void *)(img->kernel.data + SETUP_HDR_OFFSET);
	size_t cmdlen = strlen(img->cmdline) + 1;
	unsigned int nr;

	if (mem__write(&vm->mem, KERNEL_LOAD_ADDR, img->kernel.data + img->setup_size,
		       img->kernel.size - img->setup_size))
		return -EFAULT;

	memset(bp, 0, sizeof(*bp));
	/* the setup header as the kernel built it, from 0x1f1 to its end */
	memcpy(&bp->hdr, h, MIN(sizeof(bp->hdr), 0x202 + (size_t)*(img->kernel.data + 0x201) -
				 SETUP_HDR_OFFSET));
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	bp->hdr.loadflags |= CAN_USE_HEAP | KEEP_SEGMENTS;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.vid_mode = 0xffff;
	bp->hdr.code32_start = KERNEL_LOAD_ADDR;

	mem__write(&vm->mem, BOOT_CMDLINE_ADDR, img->cmdline, cmdlen);
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE_ADDR;

	if (img->initrd.data) {
		u64 addr = initrd_addr(img, vm->mem.size);

		mem__write(&vm->mem, addr, img->initrd.data, img->initrd.size);
		bp->hdr.ramdisk_image = addr;
		bp->hdr.ramdisk_size = img->initrd.size;
	}
	if (img->protocol >= 0x20e)
		bp->acpi_rsdp_addr = rsdp;

	/* the display, if the VM has one, as a VESA linear framebuffer */
	display__fill_screen_info(vm, &bp->screen_info);

	nr = e820__build(&vm->mem, (struct e820_entry *)bp->e820_table,
			 ARRAY_SIZE(bp->e820_table));
	bp->e820_entries = nr;

	setup_page_tables(vm);
	return 0;
}

void linux__bsp_regs(struct kvm_sregs *s, struct kvm_regs *r)
{
	boot__flat_segments(s, true);
	s->cr3 = BOOT_PML4_ADDR;
	s->cr4 |= 1 << 5;			/* PAE */
	s->cr0 |= (1U << 31) | 1;		/* PG, PE */
	s->efer |= (1 << 8) | (1 << 10);	/* LME, LMA */

	memset(r, 0, sizeof(*r));
	r->rflags = 2;
	r->rip = KERNEL_LOAD_ADDR + 0x200;	/* startup_64 */
	r->rsi = BOOT_PARAMS_ADDR;
	r->rsp = 0x8ff0;
}
