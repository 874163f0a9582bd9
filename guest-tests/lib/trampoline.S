/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The AP start-up path.  ap_trampoline..ap_trampoline_end is copied to
 * AP_TRAMPOLINE (a page below 1 MiB) and entered by SIPI in real mode at
 * CS:IP = AP_TRAMPOLINE/16:0.  It loads the runtime's GDT (its address is
 * absolute, so the copy works wherever it lands), enters protected mode and
 * jumps to ap_entry32 in the image, which takes a stack slot and calls
 * ap_main().
 */
#include "smp.h"

#define KERNEL_CS	0x08
#define KERNEL_DS	0x10

	.section .rodata
	.code16
	.globl ap_trampoline, ap_trampoline_end
ap_trampoline:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl tramp_gdt_desc - ap_trampoline
	mov %cr0, %eax
	or $1, %eax		/* PE */
	mov %eax, %cr0
	ljmpl $KERNEL_CS, $ap_entry32
	.align 4
	.word 0
tramp_gdt_desc:
	.word 23		/* 3 descriptors */
	.long gdt
ap_trampoline_end:

	.code32
	.text
ap_entry32:
	mov $KERNEL_DS, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	mov $1, %eax
	lock xadd %eax, ap_next_slot
	cmp $MAX_CPUS - 1, %eax
	jae 2f			/* more CPUs than stacks: park */
	inc %eax
	imul $AP_STACK_SIZE, %eax
	add $ap_stacks, %eax
	mov %eax, %esp
	call ap_main
2:	cli
	hlt
	jmp 2b

	.data
	.align 4
ap_next_slot:
	.long 0

	.section .stack, "aw", @nobits
	.align 16
ap_stacks:
	.skip AP_STACK_SIZE * (MAX_CPUS - 1)

	.section .note.GNU-stack, "", @progbits
