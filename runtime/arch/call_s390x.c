/* SPDX-License-Identifier: MIT */
/*
 * s390x static-call slots: the trampoline's `brcl` (<skeys/arch/s390x.h>),
 * whose displacement always leads to the return-0 stub 20 bytes on: mask 0
 * (far: a nop, on into the tail through `lit`) or mask 15 (no target).
 * Only the mask byte differs between the two, as between a key site's
 * forms, so a change is one byte store. There is no near form: a
 * `brcl 15, target` would change the displacement too, four more bytes
 * that a thread could fetch half-written. Why each state a thread can be
 * in is valid: docs/architectures.md.
 */
#include "../internal.h"

const size_t skeys_call_slot_len = 6;

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	(void)target; /* through `lit`, never in the slot */
	(void)call;   /* the tail names it; the slot does not */
	switch (form) {
	case SKEYS_CALL_FORM_NEAR:
		return -1; /* the caller writes the far form */
	case SKEYS_CALL_FORM_FAR:
		return skeys_arch_s390x.encode_nop(slot, slot + 20, out);
	default:
		return skeys_arch_s390x.encode_jump(slot, slot + 20, out);
	}
}
