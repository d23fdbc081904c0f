/* SPDX-License-Identifier: MIT */
/*
 * x86-64 Windows (PE): what a hook stub (runtime/entry_hook.c) jumps to,
 * under the Windows x64 calling convention. A patched pad did `call stub`,
 * the stub `lea slot, %r11; jmp *(%r11)`, so here
 *
 *   (%rsp)   where the function's body starts (the pad's end)
 *   8(%rsp)  the function's own return address
 *   %r11     the stub's slot
 *
 * and every argument register still holds what the caller passed: rcx rdx
 * r8 r9 and xmm0-3 (xmm0-5 and ymm0-5 under __vectorcall), r10 a static
 * chain (gcc's nested functions). Those are saved, rax and r11 with them,
 * the vector ones at the width the CPU and OS have
 * (skeys__entry_save_mode: 0 xmm, 1 ymm, 2 zmm); skeys__entry_hook_run(slot)
 * runs the handler with the stack 16-byte aligned and the 32 bytes of
 * shadow space the convention gives a callee; everything is restored and
 * `ret` goes into the body with the stack as the caller left it.
 *
 * Nothing else needs saving: rbx rbp rdi rsi r12-r15 and xmm6-15 are
 * callee-saved (the handler, a C function, keeps them), the upper halves
 * of ymm6-15 carry no argument, and MXCSR's and the x87 control word's
 * control bits are callee-saved too.
 *
 * Unwind information (.pdata/.xdata, the .seh_ directives): rbp is the
 * frame register, so a stack walk from the handler (a debugger,
 * RtlCaptureStackBackTrace, RtlVirtualUnwind) goes through this routine
 * to the traced function, whose entry's nops come before any of its
 * prologue's unwind codes. The stub that jumped here moves no stack: where
 * nothing describes an address (the stubs' page) Windows unwinds it as a
 * leaf, from the return address at (%rsp), which is right there.
 */

#if defined(__x86_64__) && defined(_WIN64)

	.text
	.globl	skeys__entry_hook_common
	.def	skeys__entry_hook_common; .scl 2; .type 32; .endef
	.p2align 4
	.seh_proc skeys__entry_hook_common
skeys__entry_hook_common:
	/* Each push described: the unwinder takes them all back. */
	pushq	%rbp
	.seh_pushreg %rbp
	pushq	%rbx
	.seh_pushreg %rbx
	pushq	%rax
	.seh_pushreg %rax
	pushq	%rcx
	.seh_pushreg %rcx
	pushq	%rdx
	.seh_pushreg %rdx
	pushq	%r8
	.seh_pushreg %r8
	pushq	%r9
	.seh_pushreg %r9
	pushq	%r10
	.seh_pushreg %r10
	pushq	%r11
	.seh_pushreg %r11
	movq	%rsp, %rbp
	.seh_setframe %rbp, 0
	.seh_endprologue

	/*
	 * The vector argument registers at the width the CPU has, in an area
	 * aligned to 64 above the shadow space: the mode, read once, must be
	 * the same for the restore (rbx is ours).
	 */
	movl	skeys__entry_save_mode(%rip), %ebx
	subq	$448, %rsp
	andq	$-64, %rsp
	cmpl	$1, %ebx
	je	.Lsave_ymm
	ja	.Lsave_zmm
	.irp	i, 0, 1, 2, 3, 4, 5
	movdqa	%xmm\i, 64+\i*16(%rsp)
	.endr
	jmp	.Lsaved
.Lsave_ymm:
	.irp	i, 0, 1, 2, 3, 4, 5
	vmovdqa	%ymm\i, 64+\i*32(%rsp)
	.endr
	jmp	.Lsaved
.Lsave_zmm:
	.irp	i, 0, 1, 2, 3, 4, 5
	vmovdqa64 %zmm\i, 64+\i*64(%rsp)
	.endr
.Lsaved:
	movq	%r11, %rcx
	call	skeys__entry_hook_run

	cmpl	$1, %ebx
	je	.Lrestore_ymm
	ja	.Lrestore_zmm
	.irp	i, 0, 1, 2, 3, 4, 5
	movdqa	64+\i*16(%rsp), %xmm\i
	.endr
	jmp	.Lrestored
.Lrestore_ymm:
	.irp	i, 0, 1, 2, 3, 4, 5
	vmovdqa	64+\i*32(%rsp), %ymm\i
	.endr
	jmp	.Lrestored
.Lrestore_zmm:
	.irp	i, 0, 1, 2, 3, 4, 5
	vmovdqa64 64+\i*64(%rsp), %zmm\i
	.endr
.Lrestored:
	/* The epilogue's form the unwinder knows: lea from the frame, pops, ret. */
	leaq	0(%rbp), %rsp
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdx
	popq	%rcx
	popq	%rax
	popq	%rbx
	popq	%rbp
	ret
	.seh_endproc

#endif
