/* SPDX-License-Identifier: MIT */
/*
 * i686 ELF: what a hook stub (runtime/entry_hook.c) jumps to. A patched
 * pad did `call stub`, the stub `push $slot; jmp *slot`, so here
 *
 *   (%esp)   the stub's slot
 *   4(%esp)  where the function's body starts (the pad's end)
 *   8(%esp)  the function's own return address
 *
 * and every register still holds what the caller passed. What the i386
 * System V ABI and gcc's conventions may pass in registers is saved:
 * eax, edx and ecx (regparm(1-3), fastcall, a nested function's static
 * chain in ecx), mm0-mm2 (__m64 arguments), xmm0-xmm2 (__m128 arguments,
 * sseregparm floats), at the vectors' full width (ymm/zmm for __m256 and
 * __m512 arguments, skeys__entry_save_mode: 0 xmm, 1 ymm, 2 zmm, 3 a CPU
 * without FXSR and so without SSE). The x87/MMX state goes whole, with
 * FXSAVE (FNSAVE without FXSR): an MMX argument leaves the x87 unit in
 * MMX mode, which moves of single registers cannot save without
 * changing; the handler, C code, then gets the x87 stack empty (EMMS),
 * with the caller's control word, and may use it freely.
 * skeys__entry_hook_run(slot) runs the handler with the stack aligned to
 * 16 bytes; everything is restored, the slot dropped, and `ret` goes into
 * the body with the stack as the caller left it: stack arguments are
 * never touched. ebx, esi, edi and ebp are callee-saved (the handler keeps
 * them), and so are the control bits of MXCSR and the x87 control word.
 *
 * The slot is not in a register (i386 has none to spare: the three
 * scratch ones may carry arguments) but on the stack, pushed by the stub.
 */

#if defined(__i386__) && defined(__ELF__)

#include "gnu-property.h"

	.hidden	skeys__entry_save_mode
	.hidden	skeys__entry_hook_run

	.text
	.globl	skeys__entry_hook_common
	.hidden	skeys__entry_hook_common
	.type	skeys__entry_hook_common, @function
	.p2align 4
skeys__entry_hook_common:
	.cfi_startproc
	/* The pad's call pushed the body's address, the stub the slot. */
	.cfi_def_cfa %esp, 8
	endbr32
	pushl	%ebp
	.cfi_adjust_cfa_offset 4
	.cfi_rel_offset %ebp, 0
	movl	%esp, %ebp
	.cfi_def_cfa_register %ebp
	/* Described in the CFI too: a debugger shows the traced function's register arguments. */
	pushl	%eax
	.cfi_rel_offset %eax, -4
	pushl	%ecx
	.cfi_rel_offset %ecx, -8
	pushl	%edx
	.cfi_rel_offset %edx, -12
	pushl	%ebx
	.cfi_rel_offset %ebx, -16

	/* The save mode, read once (ebx is ours): the restore must match. */
	call	.Lpc_ebx
	addl	$_GLOBAL_OFFSET_TABLE_, %ebx
	movl	skeys__entry_save_mode@GOTOFF(%ebx), %ebx
	/* FXSAVE's 512 bytes, then the vector registers at full width. */
	subl	$1024, %esp
	andl	$-64, %esp
	cmpl	$3, %ebx
	je	.Lsave_x87
	fxsave	(%esp)
	/*
	 * The x87 stack empty for the handler, as at any call: after an
	 * __m64 argument its registers are all in use (MMX), and the
	 * handler's floating point would overflow the stack.
	 */
	emms
	cmpl	$1, %ebx
	je	.Lsave_ymm
	jb	.Lsaved
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	vmovdqa64 %zmm\i, 512+\i*64(%esp)
	.endr
	jmp	.Lsaved
.Lsave_ymm:
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	vmovdqa	%ymm\i, 512+\i*32(%esp)
	.endr
	jmp	.Lsaved
.Lsave_x87:
	fnsave	(%esp)			/* which resets the unit: the caller's control word back */
	fldcw	(%esp)
.Lsaved:
	subl	$12, %esp
	pushl	4(%ebp)			/* the slot */
	call	skeys__entry_hook_run
	addl	$16, %esp

	cmpl	$3, %ebx
	je	.Lrestore_x87
	cmpl	$1, %ebx
	je	.Lrestore_ymm
	jb	.Lrestore_fx
	fxrstor	(%esp)
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	vmovdqa64 512+\i*64(%esp), %zmm\i
	.endr
	jmp	.Lrestored
.Lrestore_ymm:
	fxrstor	(%esp)
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7
	vmovdqa	512+\i*32(%esp), %ymm\i
	.endr
	jmp	.Lrestored
.Lrestore_fx:
	fxrstor	(%esp)
	jmp	.Lrestored
.Lrestore_x87:
	frstor	(%esp)
.Lrestored:
	leal	-16(%ebp), %esp
	popl	%ebx
	.cfi_restore %ebx
	popl	%edx
	.cfi_restore %edx
	popl	%ecx
	.cfi_restore %ecx
	popl	%eax
	.cfi_restore %eax
	popl	%ebp
	.cfi_restore %ebp
	.cfi_def_cfa %esp, 8
	leal	4(%esp), %esp		/* the slot */
	.cfi_def_cfa_offset 4
	ret
	.cfi_endproc
	.size	skeys__entry_hook_common, .-skeys__entry_hook_common

	/* ebx = the caller's return address: its next instruction's. */
	.type	.Lpc_ebx, @function
.Lpc_ebx:
	.cfi_startproc
	movl	(%esp), %ebx
	ret
	.cfi_endproc
	.size	.Lpc_ebx, .-.Lpc_ebx

	.section .note.GNU-stack,"",@progbits

#if defined(__CET__)
	/* As x86_64-entry.S: the object's CET properties, as -fcf-protection's __CET__. */
	SKEYS_GNU_PROPERTY_NOTE32(0xc0000002, __CET__ & 3)
#endif

#endif
