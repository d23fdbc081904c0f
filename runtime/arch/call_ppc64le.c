/* SPDX-License-Identifier: MIT */
/*
 * ppc64le static-call slots: one word (<skeys/arch/ppc64le.h>), `nop` (far:
 * the tail loads `lit` into r12 and branches to its global entry) or
 * `b ret0` (the stub 40 bytes after the slot): one aligned word store, as a
 * key site's. There is no near form: `b target` would enter the target
 * without r12, from which its global entry computes its TOC. Why each
 * state a thread can be in is valid: docs/architectures.md.
 */
#include "call_branch.h"

const size_t skeys_call_slot_len = 4;

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	(void)call; /* the tail names it; the slot does not */
	if (form == SKEYS_CALL_FORM_NEAR)
		return -1; /* the caller writes the far form */
	return skeys_call_branch_slot(&skeys_arch_ppc64le, 40, form, slot, target, out);
}
