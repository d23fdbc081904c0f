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
 * static chain), then the vector argument registers xmm0-7 at the width
 * the CPU and OS have (skeys__entry_save_mode: 0 xmm, 1 ymm, 2 zmm);
 * skeys__entry_hook_run(slot) runs the handler with the stack aligned for
 * it; everything is restored and `ret` goes into the body with the stack
 * as the caller left it. The handler may use any register: glibc's string
 * functions end with vzeroupper, which would otherwise lose the upper
 * halves of __m256 arguments.
 *
 * Nothing else needs saving: under the SysV ABI no other vector or mask
 * register carries an argument, the x87 stack is empty at a call, and the
 * control bits of MXCSR and of the x87 control word are callee-saved (the
 * handler, a C function, keeps them). Plain moves rather than XSAVE:
 * XSAVE/XRSTOR pairs were measured at 500-750 ns here (a virtual machine),
 * eight moves each way at a few.
 */

#if defined(__x86_64__) && defined(__ELF__)

#include "gnu-property.h"

	/* The runtime's own (runtime/entry_hook.c): reached PC-relative, no PLT or GOT. */
	.hidden	skeys__entry_save_mode
	.hidden	skeys__entry_hook_run

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
	/* Described in the CFI too: a debugger shows the traced function's arguments. */
	pushq	%rax
	.cfi_rel_offset %rax, -16
	pushq	%rdi
	.cfi_rel_offset %rdi, -24
	pushq	%rsi
	.cfi_rel_offset %rsi, -32
	pushq	%rdx
	.cfi_rel_offset %rdx, -40
	pushq	%rcx
	.cfi_rel_offset %rcx, -48
	pushq	%r8
	.cfi_rel_offset %r8, -56
	pushq	%r9
	.cfi_rel_offset %r9, -64
	pushq	%r10
	.cfi_rel_offset %r10, -72
	pushq	%r11
	.cfi_rel_offset %r11, -80

	/*
	 * The vector argument registers at the width the CPU has: the
	 * mode, read once, must be the same for the restore (rbx is ours).
	 */
	movl	skeys__entry_save_mode(%rip), %ebx
	subq	$512, %rsp
	andq	$-64, %rsp
	cmpl	$1, %ebx
	je	.Lsave_ymm
	ja	.Lsave_zmm
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	movdqa	%xmm\i, \i*16(%rsp)
	.endr
	jmp	.Lsaved
.Lsave_ymm:
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	vmovdqa	%ymm\i, \i*32(%rsp)
	.endr
	jmp	.Lsaved
.Lsave_zmm:
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	vmovdqa64 %zmm\i, \i*64(%rsp)
	.endr
.Lsaved:
	movq	%r11, %rdi
	call	skeys__entry_hook_run

	cmpl	$1, %ebx
	je	.Lrestore_ymm
	ja	.Lrestore_zmm
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	movdqa	\i*16(%rsp), %xmm\i
	.endr
	jmp	.Lrestored
.Lrestore_ymm:
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	vmovdqa	\i*32(%rsp), %ymm\i
	.endr
	jmp	.Lrestored
.Lrestore_zmm:
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	vmovdqa64 \i*64(%rsp), %zmm\i
	.endr
.Lrestored:
	leaq	-80(%rbp), %rsp
	popq	%r11
	.cfi_restore %r11
	popq	%r10
	.cfi_restore %r10
	popq	%r9
	.cfi_restore %r9
	popq	%r8
	.cfi_restore %r8
	popq	%rcx
	.cfi_restore %rcx
	popq	%rdx
	.cfi_restore %rdx
	popq	%rsi
	.cfi_restore %rsi
	popq	%rdi
	.cfi_restore %rdi
	popq	%rax
	.cfi_restore %rax
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
	/* GNU_PROPERTY_X86_FEATURE_1_AND: bit 0 IBT, bit 1 SHSTK, as -fcf-protection's __CET__ */
	SKEYS_GNU_PROPERTY_NOTE(0xc0000002, __CET__ & 3)
#endif

#endif
