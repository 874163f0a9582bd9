// SPDX-License-Identifier: GPL-2.0
/* The guest's linear framebuffer; see devices/display.h. */
#include "devices/display.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/screen_info.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE_SIZE	4096ULL
#define VLFB_UNIT	0x10000ULL	/* screen_info.lfb_size counts 64 KiB */

static struct display *the_display;

struct display *display__get(void)
{
	return the_display;
}

static int set_slot(struct display *d, bool log)
{
	return mem__set_slot(d->vm, d->slot, d->gpa, d->size, d->fb,
			     log ? KVM_MEM_LOG_DIRTY_PAGES : 0);
}

int display__create(struct vm *vm, unsigned int width, unsigned int height,
		    struct display **out)
{
	struct display *d;
	int ret;

	if (width < DISPLAY_MIN_WIDTH || width > DISPLAY_MAX_WIDTH ||
	    height < DISPLAY_MIN_HEIGHT || height > DISPLAY_MAX_HEIGHT) {
		pr_err("display: %ux%u is not a size from %ux%u to %ux%u", width, height,
		       DISPLAY_MIN_WIDTH, DISPLAY_MIN_HEIGHT, DISPLAY_MAX_WIDTH, DISPLAY_MAX_HEIGHT);
		return -EINVAL;
	}
	if (the_display) {
		pr_err("display: the VM has one already");
		return -EBUSY;
	}
	d = xzalloc(sizeof(*d));
	d->vm = vm;
	d->width = width;
	d->height = height;
	d->stride = width * DISPLAY_BPP;
	d->gpa = FRAMEBUFFER_ADDR;
	/* whole 64 KiB units: vesafb maps all that lfb_size says */
	d->size = ALIGN_UP((u64)d->stride * height, VLFB_UNIT);
	if (d->size > DISPLAY_MAX_BYTES) {
		pr_err("display: %ux%u needs %llu MiB, more than the %llu MiB window",
		       width, height, (unsigned long long)(d->size >> 20), DISPLAY_MAX_BYTES >> 20);
		ret = -EINVAL;
		goto err_free;
	}
	d->fb = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (d->fb == MAP_FAILED) {
		ret = -errno;
		pr_err("display: cannot allocate %llu KiB for the framebuffer: %s",
		       (unsigned long long)(d->size >> 10), strerror(errno));
		goto err_free;
	}
	madvise(d->fb, d->size, MADV_DONTFORK);
	d->slot = mem__alloc_slot(vm);
	d->bitmap = xzalloc(ALIGN_UP(d->size / PAGE_SIZE, 64) / 8);
	/* with the dirty log if KVM has it, else a copy to compare against */
	ret = set_slot(d, true);
	if (!ret) {
		d->dirty_log = true;
	} else {
		ret = set_slot(d, false);
		if (ret) {
			pr_err("display: mapping the framebuffer at %#llx failed: %s",
			       (unsigned long long)d->gpa, strerror(-ret));
			goto err_unmap;
		}
		pr_info("display: KVM logs no dirty pages here; comparing frames instead");
		d->shadow = xzalloc(d->size);
	}
	d->all_dirty = true;
	the_display = d;
	*out = d;
	return 0;

err_unmap:
	free(d->bitmap);
	munmap(d->fb, d->size);
err_free:
	free(d);
	return ret;
}

void display__destroy(struct display *d)
{
	if (!d)
		return;
	mem__set_slot(d->vm, d->slot, 0, 0, NULL, 0);	/* size 0 deletes the slot */
	munmap(d->fb, d->size);
	free(d->bitmap);
	free(d->shadow);
	if (the_display == d)
		the_display = NULL;
	free(d);
}

void display__reset(struct display *d)
{
	memset(d->fb, 0, d->size);
	__atomic_store_n(&d->all_dirty, true, __ATOMIC_RELEASE);
}

void display__page_rows(unsigned int stride, unsigned int height, u64 page,
			unsigned int *y0, unsigned int *y1)
{
	u64 start = page * PAGE_SIZE, end = start + PAGE_SIZE;

	*y0 = MIN(start / stride, height);
	*y1 = MIN((end + stride - 1) / stride, height);
}

/* rows whose bytes differ from the copy; the copy is updated */
static unsigned int compare_rows(struct display *d, void (*fn)(void *, unsigned int, unsigned int),
				 void *opaque)
{
	unsigned int bands = 0, y = 0;

	while (y < d->height) {
		unsigned int y0;

		while (y < d->height && !memcmp(d->fb + (u64)y * d->stride,
						d->shadow + (u64)y * d->stride, d->stride))
			y++;
		if (y >= d->height)
			break;
		y0 = y;
		while (y < d->height && memcmp(d->fb + (u64)y * d->stride,
					       d->shadow + (u64)y * d->stride, d->stride)) {
			memcpy(d->shadow + (u64)y * d->stride, d->fb + (u64)y * d->stride, d->stride);
			y++;
		}
		fn(opaque, y0, y);
		bands++;
	}
	return bands;
}

unsigned int display__changed(struct display *d,
			      void (*fn)(void *opaque, unsigned int y0, unsigned int y1),
			      void *opaque)
{
	u64 npages = d->size / PAGE_SIZE;
	struct kvm_dirty_log log = { .slot = d->slot, .dirty_bitmap = d->bitmap };
	unsigned int bands = 0, band0 = 0, band1 = 0;
	bool all = __atomic_exchange_n(&d->all_dirty, false, __ATOMIC_ACQ_REL);

	if (!d->dirty_log) {
		if (all) {
			memcpy(d->shadow, d->fb, d->size);
			fn(opaque, 0, d->height);
			return 1;
		}
		return compare_rows(d, fn, opaque);
	}
	/* reading the log clears it, so it is read even when all is dirty */
	if (vm__ioctl(d->vm, KVM_GET_DIRTY_LOG, &log)) {
		pr_warn_guest("display: KVM_GET_DIRTY_LOG failed; sending the whole screen");
		all = true;
	}
	if (all) {
		fn(opaque, 0, d->height);
		return 1;
	}
	for (u64 p = 0; p < npages; p++) {
		unsigned int y0, y1;

		if (!(d->bitmap[p / 64] & (1ULL << (p % 64))))
			continue;
		display__page_rows(d->stride, d->height, p, &y0, &y1);
		if (y0 >= y1)
			continue;
		if (band1 && y0 <= band1) {	/* adjacent or overlapping: one band */
			band1 = MAX(band1, y1);
			continue;
		}
		if (band1) {
			fn(opaque, band0, band1);
			bands++;
		}
		band0 = y0;
		band1 = y1;
	}
	if (band1) {
		fn(opaque, band0, band1);
		bands++;
	}
	return bands;
}

void display__screen_info(const struct display *d, struct screen_info *si)
{
	memset(si, 0, sizeof(*si));
	si->orig_video_isVGA = VIDEO_TYPE_VLFB;
	si->lfb_width = d->width;
	si->lfb_height = d->height;
	si->lfb_depth = 32;
	si->lfb_base = (u32)d->gpa;
	si->ext_lfb_base = (u32)(d->gpa >> 32);
	if (si->ext_lfb_base)
		si->capabilities |= VIDEO_CAPABILITY_64BIT_BASE;
	si->lfb_size = d->size / VLFB_UNIT;
	si->lfb_linelength = d->stride;
	/* XRGB8888, little-endian: blue in the lowest byte */
	si->red_size = 8;
	si->red_pos = 16;
	si->green_size = 8;
	si->green_pos = 8;
	si->blue_size = 8;
	si->blue_pos = 0;
	si->rsvd_size = 8;
	si->rsvd_pos = 24;
	si->pages = 1;
}

void display__fill_screen_info(struct vm *vm __unused, struct screen_info *si)
{
	if (the_display)
		display__screen_info(the_display, si);
}
