/* SPDX-License-Identifier: MIT */
/*
 * aarch64 static-call slots: one word (<skeys/arch/aarch64.h>), `b target`
 * (near, +-128 MiB), `nop` (far: the tail loads `lit` and branches there)
 * or `b ret0` (the stub 16 bytes after the slot). Every change is B to NOP,
 * NOP to B or B to B: one aligned word, which the architecture lets other
 * cores run while it changes. Why each state a thread can be in is valid:
 * docs/architectures.md.
 */
#include "call_branch.h"

const size_t skeys_call_slot_len = 4;

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	(void)call; /* the tail names it; the slot does not */
	return skeys_call_branch_slot(&skeys_arch_aarch64, 16, form, slot, target, out);
}
