/* SPDX-License-Identifier: MIT */
/*
 * 32-bit arm static-call slots: one A32 word (<skeys/arch/arm.h>; the
 * trampoline is A32 in Thumb units too), `b target` (near: an A32 target
 * within +-32 MiB; a Thumb target, odd, is never near, since B cannot
 * change the instruction set), `nop` (far: the tail loads `lit` and `bx`es
 * there) or `b ret0` (the stub 20 bytes after the slot). B and NOP swap
 * with one aligned word store, as an A32 key site's. Why each state a
 * thread can be in is valid: docs/architectures.md.
 */
#include "call_branch.h"

const size_t skeys_call_slot_len = 4;

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	(void)call; /* the tail names it; the slot does not */
	return skeys_call_branch_slot(&skeys_arch_arm, 20, form, slot, target, out);
}
