/* SPDX-License-Identifier: MIT */
/*
 * aarch64 ELF: what a hook stub (runtime/entry_hook.c) branches to. A
 * sealed pad is `mov x9, x30; bl stub`, the stub `adr x17, slot;
 * ldr x16, [x17]; br x16`, so here
 *
 *   x30   where the function's body starts (after the pad's bl)
 *   x9    the function's own return address
 *   x17   the stub's slot
 *
 * and every argument register still holds what the caller passed: x0-x7,
 * x8 (the address of a returned struct) and q0-q7, saved whole (128
 * bits; SVE's z and p registers are not saved: an SVE-vector argument,
 * `__arm_sve_vector`-style, loses its bits above 128, see
 * docs/architectures.md). skeys__entry_hook_run(slot) runs the handler;
 * everything is restored and the routine returns into the body with x30
 * the function's return address again. `ret x16` rather than `br`: a
 * return is never checked by BTI, and the body is no landing pad.
 *
 * Nothing else carries an argument under AAPCS64: x9-x15 are scratch at a
 * call (the pad took x9 itself), x16/x17 are the linker's veneer
 * registers, x18 is not touched, and FPCR/FPSR control bits are the
 * handler's to keep (a C function).
 *
 * The CFI makes this routine's frame return into the traced function's
 * body, and that function's frame return to its caller, as on x86-64
 * (where the pad's call and the function's call left both addresses on
 * the stack): a backtrace from the handler shows the traced function and
 * its caller (tests/entries, unwinding()). The body is where x30 points
 * on entry; the function's own frame, before its prologue, takes its
 * return address from x30, which the pad moved to x9. One register
 * cannot hold both, so the return column of this routine is x16, which
 * says where the body's address is, and x30 is described as the caller's
 * x30: x9 on entry, then x9's slot. x16 is the veneer register the
 * routine returns through (`ret x16`), nothing a caller keeps.
 *
 * And the routine is marked a signal frame (CIE augmentation "S"): an
 * unwinder then looks the body's address itself up, not the address
 * before it, as for a return address after a call. The body is where
 * the function resumes, not after a call it made: gcc puts the nops
 * before the function's .cfi_startproc, so the address before the body,
 * the pad's bl, lies in no FDE and an unwinder would stop there. In gdb
 * the routine's frame shows as <signal handler called>.
 */

#if defined(__aarch64__) && defined(__ELF__)

#include "gnu-property.h"

	.hidden	skeys__entry_hook_run

	.text
	.globl	skeys__entry_hook_common
	.hidden	skeys__entry_hook_common
	.type	skeys__entry_hook_common, %function
	.p2align 4
skeys__entry_hook_common:
	.cfi_startproc
	.cfi_signal_frame
	.cfi_return_column x16
	.cfi_register x16, x30		/* returns into the body... */
	.cfi_register x30, x9		/* ...whose frame returns to the caller */
	hint	#34			/* bti c: a stub reaches us by br x16 */
	stp	x29, x30, [sp, #-224]!
	.cfi_def_cfa_offset 224
	.cfi_offset x29, -224
	.cfi_offset x16, -216
	mov	x29, sp
	stp	x0, x1, [sp, #16]
	stp	x2, x3, [sp, #32]
	stp	x4, x5, [sp, #48]
	stp	x6, x7, [sp, #64]
	stp	x8, x9, [sp, #80]
	/* The traced function's return address: x9's slot. */
	.cfi_offset x30, -136
	stp	q0, q1, [sp, #96]
	stp	q2, q3, [sp, #128]
	stp	q4, q5, [sp, #160]
	stp	q6, q7, [sp, #192]

	mov	x0, x17
	bl	skeys__entry_hook_run

	ldp	q6, q7, [sp, #192]
	ldp	q4, q5, [sp, #160]
	ldp	q2, q3, [sp, #128]
	ldp	q0, q1, [sp, #96]
	ldp	x8, x9, [sp, #80]
	ldp	x6, x7, [sp, #64]
	ldp	x4, x5, [sp, #48]
	ldp	x2, x3, [sp, #32]
	ldp	x0, x1, [sp, #16]
	ldp	x29, x30, [sp], #224
	.cfi_restore x29
	.cfi_def_cfa_offset 0
	.cfi_register x16, x30
	.cfi_register x30, x9
	mov	x16, x30		/* the body */
	.cfi_same_value x16
	mov	x30, x9			/* the function's return address */
	.cfi_same_value x30
	ret	x16
	.cfi_endproc
	.size	skeys__entry_hook_common, .-skeys__entry_hook_common

	.section .note.GNU-stack,"",%progbits

#if defined(__ARM_FEATURE_BTI_DEFAULT) && defined(__ARM_FEATURE_PAC_DEFAULT)
#define SKEYS__AARCH64_FEATURES 3
#elif defined(__ARM_FEATURE_BTI_DEFAULT)
#define SKEYS__AARCH64_FEATURES 1
#elif defined(__ARM_FEATURE_PAC_DEFAULT)
#define SKEYS__AARCH64_FEATURES 2
#endif
#ifdef SKEYS__AARCH64_FEATURES
	/*
	 * The object's BTI/PAC property, as the C objects built with
	 * -mbranch-protection have: without it the linker would mark the
	 * whole library as not supporting BTI.
	 */
	/* GNU_PROPERTY_AARCH64_FEATURE_1_AND: bit 0 BTI, bit 1 PAC */
	SKEYS_GNU_PROPERTY_NOTE(0xc0000000, SKEYS__AARCH64_FEATURES)
#endif

#endif
