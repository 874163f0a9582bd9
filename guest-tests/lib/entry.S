/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Multiboot v1 header, the 32-bit entry point, the GDT and the interrupt
 * stubs.  The loader enters _start in 32-bit protected mode, paging off,
 * with EAX = 0x2badb002 and EBX = the multiboot information.
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* page-align modules, want memory info */

#define KERNEL_CS	0x08
#define KERNEL_DS	0x10

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.section .stack, "aw", @nobits
	.align 16
boot_stack:
	.skip 16384
boot_stack_top:

	.text
	.globl _start
_start:
	cli
	cld
	mov $boot_stack_top, %esp
	mov %eax, %esi
	mov %ebx, %edi
	call gdt_load
	push %edi		/* runtime_start(magic, mbi) */
	push %esi
	call runtime_start
1:	cli
	hlt
	jmp 1b

/* load our GDT and reload every segment register; used by APs too */
	.globl gdt_load
gdt_load:
	lgdt gdt_desc
	ljmp $KERNEL_CS, $1f
1:	mov $KERNEL_DS, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov %ax, %gs
	mov %ax, %ss
	ret

	.data
	.align 16
	.globl gdt, gdt_desc
gdt:
	.quad 0				/* null */
	.quad 0x00cf9a000000ffff	/* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: flat 32-bit data */
gdt_end:
	.align 4
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

/*
 * 256 interrupt stubs: each pushes a zero error code where the CPU does
 * not push one, then its vector, and jumps to the common path, which
 * builds struct irq_frame and calls irq_dispatch(frame).  isr_table holds
 * their addresses for the IDT.
 */
	.section .rodata.isr_table, "a"
	.align 4
	.globl isr_table
isr_table:

	.text
	.set vec, 0
	.rept 256
	.align 16
1:
	.if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushl $0
	.endif
	pushl $vec
	jmp isr_common
	.pushsection .rodata.isr_table, "a"
	.long 1b
	.popsection
	.set vec, vec + 1
	.endr

/*
 * The return does not use IRET: this host's software KVM backend runs
 * ring-0 guest code through KVM's instruction emulator, which cannot
 * emulate a protected-mode IRET (KVM_INTERNAL_ERROR_EMULATION).  Without a
 * privilege or CS change, IRET is POPF + RET: rewrite eip, cs, eflags as
 * eflags, eip in place and return with those.  An interrupt arriving
 * between the POPF and the RET just nests below.
 */
isr_common:
	pusha
	cld
	push %esp
	call irq_dispatch
	add $4, %esp
	mov 40(%esp), %eax	/* eip (after 32 bytes of pusha, vector, error) */
	mov 48(%esp), %ebx	/* eflags */
	mov %ebx, 44(%esp)	/* over cs */
	mov %eax, 48(%esp)
	popa
	add $12, %esp		/* vector, error code, old eip */
	popf
	ret

	.section .note.GNU-stack, "", @progbits
