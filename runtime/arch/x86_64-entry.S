/* SPDX-License-Identifier: MIT */
/*
 * x86-64 ELF: what a hook stub (runtime/entry_hook.c) jumps to. A patched
 * pad did `call stub`, the stub `lea slot, %r11; jmp *(%r11)`, so here
 *
 *   (%rsp)   where the function's body starts (the pad's end)
 *   8(%rsp)  the function's own return address
 *   %r11     the stub's slot
 *
 * and every argument register still holds what the caller passed. They
 * are saved (rax: the vector-register count of a varargs call; r10: the
 * static chain), then the vector state with XSAVE/XSAVEC (the components
 * skeys__entry_xsave_mask names: x87, xmm, the upper halves of ymm and the
 * AVX-512 state, whichever the OS enabled) or FXSAVE on a CPU without
 * XSAVE; skeys__entry_hook_run(slot) runs the handler with the stack
 * aligned for it; everything is restored and `ret` goes into the body with
 * the stack as the caller left it. The handler may use any register: glibc's
 * string functions end with vzeroupper, which would otherwise lose the
 * upper halves of __m256 arguments.
 */

#if defined(__x86_64__) && defined(__ELF__)

	.text
	.globl	skeys__entry_hook_common
	.hidden	skeys__entry_hook_common
	.type	skeys__entry_hook_common, @function
	.p2align 4
skeys__entry_hook_common:
	.cfi_startproc
	endbr64
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	pushq	%rbx
	.cfi_rel_offset %rbx, -8
	pushq	%rax
	pushq	%rdi
	pushq	%rsi
	pushq	%rdx
	pushq	%rcx
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11

	/* The save area: 64-byte aligned, below everything pushed. */
	subq	skeys__entry_xsave_size(%rip), %rsp
	andq	$-64, %rsp
	/* The mode, read once: it must be the same for the restore. */
	movl	skeys__entry_xsave_mode(%rip), %ebx
	testl	%ebx, %ebx
	jz	.Lfxsave
	/* XRSTOR faults on a header with stray bits: it starts zeroed. */
	xorl	%eax, %eax
	movq	%rax, 512(%rsp)
	movq	%rax, 520(%rsp)
	movq	%rax, 528(%rsp)
	movq	%rax, 536(%rsp)
	movq	%rax, 544(%rsp)
	movq	%rax, 552(%rsp)
	movq	%rax, 560(%rsp)
	movq	%rax, 568(%rsp)
	movl	skeys__entry_xsave_mask(%rip), %eax
	movl	skeys__entry_xsave_mask+4(%rip), %edx
	cmpl	$2, %ebx
	jne	.Lxsave
	xsavec64 (%rsp)
	jmp	.Lsaved
.Lxsave:
	xsave64	(%rsp)
	jmp	.Lsaved
.Lfxsave:
	fxsave64 (%rsp)
.Lsaved:
	movq	%r11, %rdi
	call	skeys__entry_hook_run

	testl	%ebx, %ebx
	jz	.Lfxrstor
	movl	skeys__entry_xsave_mask(%rip), %eax
	movl	skeys__entry_xsave_mask+4(%rip), %edx
	xrstor64 (%rsp)
	jmp	.Lrestored
.Lfxrstor:
	fxrstor64 (%rsp)
.Lrestored:
	leaq	-80(%rbp), %rsp
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rcx
	popq	%rdx
	popq	%rsi
	popq	%rdi
	popq	%rax
	popq	%rbx
	.cfi_restore %rbx
	popq	%rbp
	.cfi_restore %rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	skeys__entry_hook_common, .-skeys__entry_hook_common

	.section .note.GNU-stack,"",@progbits

#if defined(__CET__)
	/*
	 * The object's CET properties (IBT and/or shadow stack, as the C
	 * objects built with -fcf-protection): without this note the linker
	 * would mark the whole library as not supporting them.
	 */
	.section .note.gnu.property,"a"
	.p2align 3
	.long	4		/* name size */
	.long	16		/* descriptor size */
	.long	5		/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000002	/* GNU_PROPERTY_X86_FEATURE_1_AND */
	.long	4
	.long	__CET__ & 3	/* bit 0 IBT, bit 1 SHSTK: as -fcf-protection's __CET__ */
	.p2align 3
#endif

#endif
