/* SPDX-License-Identifier: MIT */
/*
 * aarch64 static-call slots: one word (<skeys/arch/aarch64.h>), `b target`
 * (near, +-128 MiB), `nop` (far: the tail loads `lit` and branches there)
 * or `b ret0` (the stub 16 bytes after the slot). Every change is B to NOP,
 * NOP to B or B to B: one aligned word, which the architecture lets other
 * cores run while it changes (the generic protocol, runtime/arch/generic.c).
 * Why each state a thread can be in is valid: docs/architectures.md.
 */
#include "../internal.h"

#include <string.h>

const size_t skeys_call_slot_len = 4;

enum { RET0_FROM_SLOT = 16 }; /* adrp, ldr, br, then mov x0, #0 */

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	const struct skeys_arch *a = &skeys_arch_aarch64;

	(void)call; /* the tail names it; the slot does not */
	switch (form) {
	case SKEYS_CALL_FORM_NEAR:
		return a->encode_jump(slot, target, out);
	case SKEYS_CALL_FORM_FAR:
		memcpy(out, a->nop, 4);
		return 0;
	default:
		return a->encode_jump(slot, slot + RET0_FROM_SLOT, out);
	}
}
