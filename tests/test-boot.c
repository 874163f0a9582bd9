// SPDX-License-Identifier: GPL-2.0
/*
 * Boot images: bzImage header checks and multiboot header/ELF checks on
 * synthetic images, the e820 map and the guest memory layout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "vmm/boot.h"
#include "vmm/config.h"
#include "vmm/layout.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMG_MAX		(64 * 1024)
#define SETUP_SECTS	4
#define SETUP_SIZE	((SETUP_SECTS + 1) * 512)

static u8 img_buf[IMG_MAX] __attribute__((aligned(4096)));
static struct boot_image img;

/* ---- stderr capture ---- */

static int saved_fd = -1, cap_fd = -1;
static char errbuf[4096];

static void cap_start(void)
{
	cap_fd = memfd_create("stderr", MFD_CLOEXEC);
	assert_true(cap_fd >= 0);
	saved_fd = dup(STDERR_FILENO);
	dup2(cap_fd, STDERR_FILENO);
}

static void cap_end(void)
{
	ssize_t n;

	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	lseek(cap_fd, 0, SEEK_SET);
	n = read(cap_fd, errbuf, sizeof(errbuf) - 1);
	errbuf[n < 0 ? 0 : n] = 0;
	close(cap_fd);
}

static void assert_one_line(const char *n1, const char *n2)
{
	const char *nl = strchr(errbuf, '\n');

	if (strncmp(errbuf, "dpvm: ", 6) || !nl || nl[1] || (n1 && !strstr(errbuf, n1)) ||
	    (n2 && !strstr(errbuf, n2)))
		fail_msg("expected one line naming '%s' and '%s', got:\n%s", n1 ? n1 : "",
			 n2 ? n2 : "", errbuf);
}

static int setup(void **state __unused)
{
	memset(img_buf, 0, sizeof(img_buf));
	memset(&img, 0, sizeof(img));
	img.kernel.path = "k.img";
	img.kernel.data = img_buf;
	return 0;
}

/* ---- bzImage ---- */

static struct setup_header *hdr(void)
{
	return (struct setup_header *)(img_buf + 0x1f1);
}

/* a well-formed protocol 2.15 bzImage of size bytes */
static void bzimage(size_t size)
{
	struct setup_header *h = hdr();

	assert_true(size <= IMG_MAX);
	h->setup_sects = SETUP_SECTS;
	h->boot_flag = 0xaa55;
	h->jump = 0x66eb;		/* the header runs to 0x268 */
	h->header = 0x53726448;		/* "HdrS" */
	h->version = 0x20f;
	h->loadflags = LOADED_HIGH;
	h->syssize = (size - SETUP_SIZE + 15) / 16;
	h->cmdline_size = 2047;
	h->init_size = 4 * MIB;
	h->xloadflags = XLF_KERNEL_64;
	h->initrd_addr_max = 0x7fffffff;
	img.kernel.size = size;
}

static int linux_probe(u64 mem)
{
	int ret;

	cap_start();
	ret = linux__probe(&img, mem);
	cap_end();
	return ret;
}

static void linux_refused(u64 mem, const char *n1, const char *n2)
{
	if (linux_probe(mem) != -1)
		fail_msg("accepted an image that should be refused (%s)", n2);
	assert_one_line(n1, n2);
}

static void test_bzimage_good(void **state __unused)
{
	bzimage(IMG_MAX);
	assert_int_equal(linux_probe(64 * MIB), 0);
	assert_string_equal(errbuf, "");
	assert_int_equal(img.protocol, 0x20f);
	assert_int_equal(img.setup_size, SETUP_SIZE);
	assert_int_equal(img.init_size, 4 * MIB);
	assert_int_equal(img.cmdline_max, 2047);
	assert_int_equal(img.initrd_max, 0x80000000ULL);
	/* setup_sects 0 means 4 */
	hdr()->setup_sects = 0;
	assert_int_equal(linux_probe(64 * MIB), 0);
	assert_int_equal(img.setup_size, SETUP_SIZE);
	/* protocol 2.06 (no xloadflags, no init_size): the payload size counts */
	bzimage(IMG_MAX);
	hdr()->version = 0x206;
	hdr()->xloadflags = 0;
	assert_int_equal(linux_probe(64 * MIB), 0);
	assert_int_equal(img.init_size, IMG_MAX - SETUP_SIZE);
	/* a huge cmdline_size is capped by the space dpvm gives it */
	bzimage(IMG_MAX);
	hdr()->cmdline_size = 0x7fffffff;
	assert_int_equal(linux_probe(64 * MIB), 0);
	assert_int_equal(img.cmdline_max, BOOT_CMDLINE_MAX - 1);
}

static void test_bzimage_bad_header(void **state __unused)
{
	bzimage(IMG_MAX);
	hdr()->version = 0x205;
	linux_refused(64 * MIB, "k.img", "boot protocol 2.05 is older than 2.06");
	bzimage(IMG_MAX);
	hdr()->version = 0x20c;
	hdr()->xloadflags = 0;
	linux_refused(64 * MIB, "k.img", "not a 64-bit kernel");
	bzimage(IMG_MAX);
	hdr()->loadflags = 0;
	linux_refused(64 * MIB, "k.img", "zImage");
}

static void test_bzimage_truncated(void **state __unused)
{
	/* the setup alone claims more than the file has */
	bzimage(IMG_MAX);
	img.kernel.size = SETUP_SIZE;
	linux_refused(64 * MIB, "k.img", "truncated");
	bzimage(IMG_MAX);
	hdr()->setup_sects = 200;	/* 100 KiB of setup */
	linux_refused(64 * MIB, "k.img", "truncated");
	/* syssize says more kernel than there is (16 bytes of slack allowed) */
	bzimage(IMG_MAX);
	hdr()->syssize += 2;
	linux_refused(64 * MIB, "k.img", "truncated");
	bzimage(IMG_MAX);
	img.kernel.size -= 4096;
	linux_refused(64 * MIB, "k.img", "truncated");
	bzimage(IMG_MAX);
	hdr()->syssize += 1;
	assert_int_equal(linux_probe(64 * MIB), 0);
}

static void test_bzimage_memory(void **state __unused)
{
	/* the kernel's init_size from 1 MiB must fit in RAM */
	bzimage(IMG_MAX);
	hdr()->init_size = 63 * MIB + 1;
	linux_refused(64 * MIB, "k.img", "give it more --mem");
	hdr()->init_size = 63 * MIB;		/* 1 MiB + that = 64 MiB */
	assert_int_equal(linux_probe(64 * MIB), 0);
	/* above 3 GiB the rest of RAM is above the hole: only low RAM counts */
	hdr()->init_size = 0xffffffff;
	linux_refused(8 * GIB, "k.img", "needs");
}

static void test_initrd(void **state __unused)
{
	static const u8 dummy[1];

	bzimage(IMG_MAX);
	img.initrd.path = "i.img";
	img.initrd.data = dummy;	/* the probe only looks at the size */
	img.initrd.size = 32 * MIB;
	assert_int_equal(linux_probe(64 * MIB), 0);
	/* next to a 4 MiB kernel at 1 MiB, 59 MiB just fits in 64 MiB */
	img.initrd.size = 59 * MIB;
	assert_int_equal(linux_probe(64 * MIB), 0);
	img.initrd.size = 59 * MIB + 1;	/* page-aligned down, it would overlap */
	linux_refused(64 * MIB, "--initrd i.img", "does not fit");
	img.initrd.size = 100 * MIB;
	linux_refused(64 * MIB, "--initrd i.img", "more --mem");
	img.initrd.size = 4 * GIB;
	linux_refused(8 * GIB, "--initrd i.img", "does not fit");
	/* it must also end below the kernel's initrd_addr_max, even when RAM
	 * is larger: 1 GiB cannot go below 896 MiB */
	hdr()->initrd_addr_max = 0x37ffffff;
	img.initrd.size = GIB;
	linux_refused(2 * GIB, "--initrd i.img", "does not fit");
	img.initrd.size = 800 * MIB;
	assert_int_equal(linux_probe(2 * GIB), 0);
}

/* boot__probe from files: the image kind, command line limits */
static char dir[64];

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[4][128];
	static unsigned int n;
	char *p = path[n++ % 4];
	int fd;

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return p;
}

static int probe_files(struct vm_config *cfg)
{
	int ret;

	memset(&boot_image, 0, sizeof(boot_image));
	cap_start();
	ret = boot__probe(&boot_image, cfg);
	cap_end();
	return ret;
}

static void test_cmdline_length(void **state __unused)
{
	struct vm_config cfg;
	char *line = xzalloc(4096);

	config__init(&cfg);
	bzimage(IMG_MAX);
	hdr()->cmdline_size = 255;
	cfg.kernel = xstrdup(write_file("bz", img_buf, IMG_MAX));
	/* the defaults plus the user's, against the kernel's limit */
	assert_int_equal(probe_files(&cfg), 0);
	assert_int_equal(boot_image.kind, BOOT_LINUX);
	assert_string_equal(boot_image.cmdline, LINUX_DEFAULT_CMDLINE);
	boot__release(&boot_image);
	memset(line, 'a', 255 - strlen(LINUX_DEFAULT_CMDLINE) - 1);
	cfg.cmdline = line;
	assert_int_equal(probe_files(&cfg), 0);
	assert_int_equal(strlen(boot_image.cmdline), 255);
	boot__release(&boot_image);
	strcat(line, "a");
	assert_int_equal(probe_files(&cfg), -1);
	assert_one_line("--cmdline", "256 bytes, the kernel takes at most 255");
	/* without the defaults, the user's alone */
	cfg.no_default_cmdline = true;
	assert_int_equal(probe_files(&cfg), 0);
	assert_string_equal(boot_image.cmdline, line);
	boot__release(&boot_image);
	cfg.cmdline = NULL;
	free(line);
	config__free(&cfg);
}

static void test_probe_files(void **state __unused)
{
	struct vm_config cfg;
	static const char text[] = "#!/bin/sh\necho not a kernel\n";
	char fifo[128];

	config__init(&cfg);
	cfg.kernel = xstrdup("/nonexistent/bzImage");
	assert_int_equal(probe_files(&cfg), -1);
	assert_one_line("--kernel /nonexistent/bzImage", "No such file");
	free(cfg.kernel);
	cfg.kernel = xstrdup(dir);
	assert_int_equal(probe_files(&cfg), -1);
	assert_one_line("--kernel", "not a regular file");
	free(cfg.kernel);
	cfg.kernel = xstrdup(write_file("empty", "", 0));
	assert_int_equal(probe_files(&cfg), -1);
	assert_one_line("--kernel", "empty");
	free(cfg.kernel);
	cfg.kernel = xstrdup(write_file("script", text, sizeof(text)));
	assert_int_equal(probe_files(&cfg), -1);
	assert_one_line("--kernel", "not a kernel");
	free(cfg.kernel);
	/* a FIFO: refused, not waited on */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	cfg.kernel = xstrdup(fifo);
	alarm(10);
	assert_int_equal(probe_files(&cfg), -1);
	alarm(0);
	assert_one_line("--kernel", "not a regular file");
	free(cfg.kernel);
	unlink(fifo);
	/* a truncated bzImage: "HdrS" present, the rest cut */
	bzimage(IMG_MAX);
	cfg.kernel = xstrdup(write_file("cut", img_buf, 0x208));
	assert_int_equal(probe_files(&cfg), -1);
	assert_one_line("--kernel", "truncated");
	free(cfg.kernel);
	cfg.kernel = xstrdup(write_file("bz", img_buf, IMG_MAX));
	cfg.initrd = xstrdup("/nonexistent/initrd");
	assert_int_equal(probe_files(&cfg), -1);
	assert_one_line("--initrd /nonexistent/initrd", "No such file");
	config__free(&cfg);
}

/* ---- multiboot ---- */

#define MB_MAGIC	0x1badb002

static void mb_header(size_t off, u32 flags)
{
	u32 *p = (u32 *)(img_buf + off);

	p[0] = MB_MAGIC;
	p[1] = flags;
	p[2] = -(MB_MAGIC + flags);
}

/* the a.out fields after the first three */
static void mb_aout(size_t off, u32 header, u32 load, u32 load_end, u32 bss_end, u32 entry)
{
	u32 *p = (u32 *)(img_buf + off);

	p[3] = header;
	p[4] = load;
	p[5] = load_end;
	p[6] = bss_end;
	p[7] = entry;
}

static int mb_probe(u64 mem)
{
	int ret;

	cap_start();
	ret = multiboot__probe(&img, mem);
	cap_end();
	return ret;
}

static void mb_refused(u64 mem, const char *n1, const char *n2)
{
	if (mb_probe(mem) != -1)
		fail_msg("accepted an image that should be refused (%s)", n2);
	assert_one_line(n1, n2);
}

static void test_mb_header_search(void **state __unused)
{
	/* an a.out image at 1 MiB with the header at offset 0x40 */
	img.kernel.size = 0x1000;
	mb_header(0x40, 1 << 16);
	mb_aout(0x40, 0x100040, 0x100000, 0, 0x110000, 0x100080);
	assert_int_equal(mb_probe(64 * MIB), 0);
	assert_int_equal(img.mb_entry, 0x100080);
	assert_int_equal(img.mb_load_end, 0x110000);
	/* the last 12 bytes of the first 8 KiB are still searched */
	memset(img_buf, 0, sizeof(img_buf));
	img.kernel.size = 0x4000;
	mb_header(8192 - 12, 0);
	mb_refused(64 * MIB, "k.img", "not an x86 ELF");	/* found, but no ELF */
	/* past 8 KiB, or unaligned, it is not a header */
	memset(img_buf, 0, sizeof(img_buf));
	mb_header(8192, 0);
	mb_refused(64 * MIB, "k.img", "not a kernel");
	memset(img_buf, 0, sizeof(img_buf));
	mb_header(0x42, 0);
	mb_refused(64 * MIB, "k.img", "not a kernel");
	/* a bad checksum */
	memset(img_buf, 0, sizeof(img_buf));
	mb_header(0, 0);
	((u32 *)img_buf)[2] += 1;
	mb_refused(64 * MIB, "k.img", "not a kernel");
	/* a file shorter than a header */
	memset(img_buf, 0, sizeof(img_buf));
	mb_header(0, 0);
	img.kernel.size = 8;
	mb_refused(64 * MIB, "k.img", "not a kernel");
	/* the a.out fields cut off by the 8 KiB limit */
	img.kernel.size = 0x4000;
	memset(img_buf, 0, sizeof(img_buf));
	mb_header(8192 - 12, 1 << 16);
	mb_refused(64 * MIB, "k.img", "cut off");
}

static void test_mb_flags(void **state __unused)
{
	img.kernel.size = 0x1000;
	/* page alignment and memory info are fine; video is not; bits 3-15
	 * are required features dpvm cannot know; 17-31 are optional */
	mb_header(0, (1 << 16) | 3 | (1 << 20));
	mb_aout(0, 0x100000, 0x100000, 0, 0, 0x100010);
	assert_int_equal(mb_probe(64 * MIB), 0);
	mb_header(0, (1 << 16) | (1 << 2));
	mb_refused(64 * MIB, "k.img", "video mode");
	mb_header(0, (1 << 16) | (1 << 7));
	mb_refused(64 * MIB, "k.img", "requires features");
}

static void test_mb_aout(void **state __unused)
{
	img.kernel.size = 0x1000;
	mb_header(0x20, 1 << 16);
	/* the header must sit at its own address within the loaded file */
	mb_aout(0x20, 0x100000, 0x100010, 0, 0, 0x100010);	/* header below load */
	mb_refused(64 * MIB, "k.img", "inconsistent");
	mb_aout(0x20, 0x100040, 0x100000, 0, 0, 0x100010);	/* file would start at -0x20 */
	mb_refused(64 * MIB, "k.img", "inconsistent");
	mb_aout(0x20, 0x100020, 0x100000, 0, 0, 0xff000);	/* entry below the image */
	mb_refused(64 * MIB, "k.img", "inconsistent");
	mb_aout(0x20, 0x100020, 0x100000, 0, 0x102000, 0x102000);	/* entry past bss */
	mb_refused(64 * MIB, "k.img", "entry point");
	mb_aout(0x20, 0x100020, 0x100000, 0x0ff000, 0, 0x100000);	/* load_end < load */
	mb_refused(64 * MIB, "k.img", "load_end_addr");
	mb_aout(0x20, 0x100020, 0x100000, 0x102000, 0, 0x100000);	/* beyond the file */
	mb_refused(64 * MIB, "k.img", "truncated");
	mb_aout(0x20, 0x80020, 0x80000, 0, 0, 0x80000);		/* below 1 MiB */
	mb_refused(64 * MIB, "k.img", "above 1 MiB");
	mb_aout(0x20, 0x100020, 0x100000, 0, 0x4000001, 0x100000);	/* bss past RAM */
	mb_refused(64 * MIB, "k.img", "above 1 MiB");
	mb_aout(0x20, 0xbffff820, 0xbffff800, 0, 0, 0xbffff800);	/* into the hole */
	mb_refused(8 * GIB, "k.img", "above 1 MiB");
	/* and a good one, loading the whole file */
	mb_aout(0x20, 0x100020, 0x100000, 0, 0x101800, 0x100040);
	assert_int_equal(mb_probe(64 * MIB), 0);
	assert_int_equal(img.mb_load_end, 0x101800);
}

/* a 32-bit x86 ELF with the multiboot header after its program headers */
struct seg {
	u32 type, off, paddr, filesz, memsz;
};

static void elf32(const struct seg *segs, unsigned int n, u32 entry)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)img_buf;
	Elf32_Phdr *ph = (Elf32_Phdr *)(img_buf + sizeof(*eh));

	memset(img_buf, 0, sizeof(img_buf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = n;
	eh->e_ehsize = sizeof(*eh);
	for (unsigned int i = 0; i < n; i++)
		ph[i] = (Elf32_Phdr){ .p_type = segs[i].type, .p_offset = segs[i].off,
				      .p_paddr = segs[i].paddr, .p_vaddr = segs[i].paddr,
				      .p_filesz = segs[i].filesz, .p_memsz = segs[i].memsz };
	mb_header(0x200, 0);
	img.kernel.size = 0x3000;
}

static void test_mb_elf(void **state __unused)
{
	/* text from the file, bss after it, a non-LOAD and an empty segment */
	elf32((struct seg[]){
		{ PT_LOAD, 0x1000, 0x100000, 0x1000, 0x1000 },
		{ PT_NOTE, 0x2000, 0x0, 0x10, 0x10 },
		{ PT_LOAD, 0x2000, 0x101000, 0x1000, 0x8000 },
		{ PT_LOAD, 0x0, 0x0, 0x0, 0x0 },
	}, 4, 0x100000);
	assert_int_equal(mb_probe(64 * MIB), 0);
	assert_int_equal(img.mb_entry, 0x100000);
	assert_int_equal(img.mb_load_end, 0x109000);

	/* below 1 MiB: where the boot information lives */
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x8000, 0x100, 0x100 } }, 1, 0x8000);
	mb_refused(64 * MIB, "segment 0 at 0x8000", "below 1 MiB");
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0xff000, 0x1000, 0x2000 } }, 1, 0x100000);
	mb_refused(64 * MIB, "segment 0 at 0xff000", "below 1 MiB");
	/* beyond RAM, into the PCI hole, or wrapping */
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x3fff000, 0x1000, 0x2000 } }, 1, 0x3fff000);
	mb_refused(64 * MIB, "segment 0", "beyond guest RAM");
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0xbffff000, 0x1000, 0x2000 } }, 1, 0xbffff000);
	mb_refused(8 * GIB, "segment 0", "beyond guest RAM");
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0xfffff000, 0x1000, 0x2000 } }, 1, 0xfffff000);
	mb_refused(8 * GIB, "segment 0", "beyond guest RAM");
	/* a segment's bytes outside the file, or more file than memory */
	elf32((struct seg[]){ { PT_LOAD, 0x2800, 0x100000, 0x1000, 0x1000 } }, 1, 0x100000);
	mb_refused(64 * MIB, "segment 0", "outside the file");
	elf32((struct seg[]){ { PT_LOAD, 0xffffff00, 0x100000, 0x1000, 0x1000 } }, 1, 0x100000);
	mb_refused(64 * MIB, "segment 0", "outside the file");
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x100000, 0x1000, 0x800 } }, 1, 0x100000);
	mb_refused(64 * MIB, "segment 0", "outside the file");
	/* nothing to load */
	elf32((struct seg[]){ { PT_NOTE, 0x1000, 0x100000, 0x10, 0x10 } }, 1, 0x100000);
	mb_refused(64 * MIB, "k.img", "nothing to load");
	/* the entry point above 4 GiB */
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x100000, 0x1000, 0x1000 } }, 1, 0xc0000000);
	mb_refused(64 * MIB, "entry point 0xc0000000", "not in 32-bit guest RAM");
}

static void test_mb_elf_headers(void **state __unused)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)img_buf;

	/* program headers running off the end of the file */
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x100000, 0x10, 0x10 } }, 1, 0x100000);
	eh->e_phnum = 400;
	mb_refused(64 * MIB, "k.img", "program headers");
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x100000, 0x10, 0x10 } }, 1, 0x100000);
	eh->e_phoff = 0x2ff0;
	mb_refused(64 * MIB, "k.img", "program headers");
	eh->e_phoff = 0xfffffff0;
	mb_refused(64 * MIB, "k.img", "program headers");
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x100000, 0x10, 0x10 } }, 1, 0x100000);
	eh->e_phentsize = 8;
	mb_refused(64 * MIB, "k.img", "program headers");
	/* not x86 */
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x100000, 0x10, 0x10 } }, 1, 0x100000);
	eh->e_machine = EM_ARM;
	mb_refused(64 * MIB, "k.img", "not an x86 ELF");
	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x100000, 0x10, 0x10 } }, 1, 0x100000);
	eh->e_ident[EI_CLASS] = ELFCLASS64;	/* class 64 with EM_386 */
	mb_refused(64 * MIB, "k.img", "not an x86 ELF");
}

static void test_mb_elf64(void **state __unused)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img_buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img_buf + sizeof(*eh));

	memset(img_buf, 0, sizeof(img_buf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_machine = EM_X86_64;
	eh->e_entry = 0x200000;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	*ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = 0x200000,
			    .p_filesz = 0x1000, .p_memsz = 0x3000 };
	mb_header(0x400, 0);
	img.kernel.size = 0x2000;
	assert_int_equal(mb_probe(64 * MIB), 0);
	assert_int_equal(img.mb_entry, 0x200000);
	assert_int_equal(img.mb_load_end, 0x203000);
	/* 64-bit sizes that wrap */
	ph->p_memsz = ~0ULL - 0x1000;
	mb_refused(64 * MIB, "segment 0", "beyond guest RAM");
	ph->p_memsz = 0x3000;
	ph->p_paddr = 0x100000000ULL;
	mb_refused(8 * GIB, "segment 0", "beyond guest RAM");
}

static void test_mb_initrd(void **state __unused)
{
	static const u8 dummy[1];

	elf32((struct seg[]){ { PT_LOAD, 0x1000, 0x100000, 0x1000, 0x1000 } }, 1, 0x100000);
	img.initrd.path = "mod.img";
	img.initrd.data = dummy;
	img.initrd.size = 60 * MIB;
	assert_int_equal(mb_probe(64 * MIB), 0);
	img.initrd.size = 63 * MIB - 0x1000 + 1;
	mb_refused(64 * MIB, "--initrd mod.img", "does not fit");
}

/* ---- memory layout and e820 ---- */

static void check_e820(u64 size, unsigned int phys_bits)
{
	struct guest_mem mem = { 0 };
	struct e820_entry e[32];
	unsigned int n;
	u64 ram = 0;

	mem__layout(&mem, size, phys_bits);
	n = e820__build(&mem, e, ARRAY_SIZE(e));
	assert_true(n > 2 && n < ARRAY_SIZE(e));
	for (unsigned int i = 0; i < n; i++) {
		u64 end = e[i].addr + e[i].size;

		assert_true(e[i].size > 0);
		assert_true(e[i].type == E820_RAM || e[i].type == E820_RESERVED);
		/* sorted, and no two entries overlap */
		if (i)
			assert_true(e[i - 1].addr + e[i - 1].size <= e[i].addr);
		if (e[i].type != E820_RAM) {
			continue;
		}
		ram += e[i].size;
		/* RAM never where the holes are: 640K-1M, the PCI and
		 * ECAM windows, the IOAPIC/LAPIC, the 64-bit window */
		assert_false(e[i].addr < HIGH_MEMORY_START && end > EBDA_START);
		assert_false(e[i].addr < HIGH_RAM_START && end > LOW_RAM_END);
		assert_false(e[i].addr < mem.mmio64_base + mem.mmio64_size &&
			     end > mem.mmio64_base);
		/* and every RAM byte is backed by a memory region */
		assert_non_null(mem__gpa_to_hva(&(struct guest_mem){
			.nr_regions = mem.nr_regions,
			.regions = { { mem.regions[0].gpa, mem.regions[0].size, (u8 *)1 },
				     { mem.regions[1].gpa, mem.regions[1].size, (u8 *)1 } },
		}, e[i].addr, e[i].size));
	}
	/* all RAM is reported but the 640K-1M hole */
	assert_int_equal(ram, size - (HIGH_MEMORY_START - EBDA_START));
	/* ECAM is reserved (Linux checks MCFG against e820) */
	for (unsigned int i = 0; i < n; i++)
		if (e[i].addr == PCI_ECAM_BASE)
			assert_true(e[i].size == PCI_ECAM_SIZE && e[i].type == E820_RESERVED);
	assert_int_equal(mem.size, size);
}

static void test_layout(void **state __unused)
{
	struct guest_mem mem = { 0 };

	/* 64 MiB: one region, the 64-bit window at 4 GiB */
	mem__layout(&mem, 64 * MIB, 40);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(mem.regions[0].gpa, 0);
	assert_int_equal(mem.regions[0].size, 64 * MIB);
	assert_int_equal(mem.ram_top, 64 * MIB);
	assert_int_equal(mem.next_slot, 1);
	assert_int_equal(mem.mmio64_base, 4 * GIB);
	assert_int_equal(mem.mmio64_size, MMIO64_MAX_SIZE);
	check_e820(64 * MIB, 40);

	/* 3 GiB: exactly the low region */
	mem__layout(&mem, 3 * GIB, 40);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(mem.regions[0].size, 3 * GIB);
	assert_int_equal(mem.mmio64_base, 4 * GIB);
	check_e820(3 * GIB, 40);

	/* 3 GiB + 1 MiB: the last MiB above 4 GiB; the window 1G-aligned above it */
	mem__layout(&mem, 3 * GIB + MIB, 40);
	assert_int_equal(mem.nr_regions, 2);
	assert_int_equal(mem.regions[0].size, 3 * GIB);
	assert_int_equal(mem.regions[1].gpa, HIGH_RAM_START);
	assert_int_equal(mem.regions[1].size, MIB);
	assert_int_equal(mem.regions[1].slot, 1);
	assert_int_equal(mem.next_slot, 2);
	assert_int_equal(mem.ram_top, 4 * GIB + MIB);
	assert_int_equal(mem.mmio64_base, 5 * GIB);
	check_e820(3 * GIB + MIB, 40);

	/* 8 GiB: 3 low, 5 high, RAM up to 9 GiB */
	mem__layout(&mem, 8 * GIB, 40);
	assert_int_equal(mem.regions[1].size, 5 * GIB);
	assert_int_equal(mem.ram_top, 9 * GIB);
	assert_int_equal(mem.mmio64_base, 9 * GIB);
	assert_int_equal(mem.mmio64_size, MMIO64_MAX_SIZE);
	check_e820(8 * GIB, 40);
}

static void test_mmio64_window(void **state __unused)
{
	struct guest_mem mem = { 0 };

	/* the window ends where the guest's physical addresses do */
	mem__layout(&mem, 8 * GIB, 36);		/* 64 GiB of address space */
	assert_int_equal(mem.mmio64_base, 9 * GIB);
	assert_int_equal(mem.mmio64_size, 55 * GIB);
	mem__layout(&mem, 64 * MIB, 32);	/* nothing above 4 GiB */
	assert_int_equal(mem.mmio64_size, 0);
	mem__layout(&mem, 63 * GIB, 36);	/* RAM to 64 GiB: no room */
	assert_int_equal(mem.mmio64_size, 0);
	mem__layout(&mem, 64 * MIB, 64);
	assert_int_equal(mem.mmio64_size, MMIO64_MAX_SIZE);
	/* always 1 GiB aligned, above 4 GiB and RAM */
	for (u64 size = 64 * MIB; size <= 70 * GIB; size += 333 * MIB) {
		mem__layout(&mem, size, 46);
		assert_true(IS_ALIGNED(mem.mmio64_base, MMIO64_ALIGN));
		assert_true(mem.mmio64_base >= mem.ram_top);
		assert_true(mem.mmio64_base >= HIGH_RAM_START);
		assert_true(mem.mmio64_base + mem.mmio64_size <= 1ULL << 46);
		check_e820(size, 46);
	}
}

static void test_e820_truncation(void **state __unused)
{
	struct guest_mem mem = { 0 };
	struct e820_entry e[3];

	/* a short table is filled, never overrun */
	mem__layout(&mem, 8 * GIB, 40);
	memset(e, 0xaa, sizeof(e));
	assert_int_equal(e820__build(&mem, e, 2), 2);
	assert_int_equal(((u8 *)&e[2])[0], 0xaa);
}

static int group_setup(void **state __unused)
{
	snprintf(dir, sizeof(dir), "/tmp/dpvm-test-boot.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state __unused)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(test_bzimage_good),
		T(test_bzimage_bad_header),
		T(test_bzimage_truncated),
		T(test_bzimage_memory),
		T(test_initrd),
		T(test_cmdline_length),
		T(test_probe_files),
		T(test_mb_header_search),
		T(test_mb_flags),
		T(test_mb_aout),
		T(test_mb_elf),
		T(test_mb_elf_headers),
		T(test_mb_elf64),
		T(test_mb_initrd),
		T(test_layout),
		T(test_mmio64_window),
		T(test_e820_truncation),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
