/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DPVM_DISPLAY_H
#define DPVM_DISPLAY_H

#include "vmm/types.h"

/*
 * The guest's screen: a linear framebuffer (32 bits a pixel, XRGB8888) at
 * FRAMEBUFFER_ADDR, backed by host memory in a KVM memory slot, so the
 * guest draws without a VM exit.  The boot parameters describe it as a
 * VESA linear framebuffer (screen_info, VIDEO_TYPE_VLFB), which Linux's
 * vesafb driver and fbcon take as they are; no BIOS, no mode setting.
 *
 * Why a fixed address and not a PCI BAR: vesafb is no PCI driver and
 * never follows a BAR the guest's PCI code might move; the address sits
 * between the PCI ECAM window and the IOAPIC, where no RAM, BAR or
 * firmware region lives, and vesafb claims it with request_mem_region
 * (it shows in /proc/iomem as "vesafb").  It also works for guests
 * without PCI.
 *
 * What the guest changed is found with KVM's dirty page log (one bit a
 * page, cleared as it is read), so a viewer is sent only the rows that
 * changed; where KVM cannot log, a copy of the last frame is compared.
 */
#define DISPLAY_BPP		4
#define DISPLAY_MAX_BYTES	(16ULL << 20)	/* the window at FRAMEBUFFER_ADDR */
#define DISPLAY_MIN_WIDTH	320
#define DISPLAY_MIN_HEIGHT	200
#define DISPLAY_MAX_WIDTH	2560
#define DISPLAY_MAX_HEIGHT	1600
#define DISPLAY_DEFAULT_WIDTH	1024
#define DISPLAY_DEFAULT_HEIGHT	768

struct vm;
struct screen_info;

struct display {
	struct vm *vm;
	unsigned int width, height, stride;
	u64 gpa, size;		/* the slot: size is a whole number of pages */
	u8 *fb;			/* what the guest sees */
	int slot;
	bool dirty_log;		/* KVM logs the slot's writes */
	u64 *bitmap;		/* the dirty log, one bit a page */
	u8 *shadow;		/* without a dirty log: the last frame */
	bool all_dirty;		/* after a reset: everything changed */
};

/* a display of width x height pixels at FRAMEBUFFER_ADDR; -errno after pr_err */
int display__create(struct vm *vm, unsigned int width, unsigned int height,
		    struct display **out);
void display__destroy(struct display *d);
/* guest reset: black screen */
void display__reset(struct display *d);

/*
 * The rows that changed since the last call, as bands [y0, y1): fn is
 * called once per band, in order.  Returns the number of bands.
 */
unsigned int display__changed(struct display *d,
			      void (*fn)(void *opaque, unsigned int y0, unsigned int y1),
			      void *opaque);

/* rows [y0, y1) that a set of dirty pages covers (for tests) */
void display__page_rows(unsigned int stride, unsigned int height, u64 page,
			unsigned int *y0, unsigned int *y1);

/*
 * Describe the display in the Linux zero page (boot_params.screen_info); no
 * change when the VM has no display.
 */
void display__fill_screen_info(struct vm *vm, struct screen_info *si);
void display__screen_info(const struct display *d, struct screen_info *si);

/* the VM's display, or NULL */
struct display *display__get(void);

#endif
