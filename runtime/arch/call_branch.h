/* SPDX-License-Identifier: MIT */
/*
 * Static-call slots that are one key-site word (aarch64, riscv64, ...): the
 * architecture row's jump to the target (near), its nop (far: the tail
 * loads `lit` and jumps there), or its jump to the trampoline's return-0
 * stub, `ret0` bytes after the slot. The same instructions a key site
 * swaps, so the same one-store protocol (runtime/arch/generic.c) writes
 * them. Included by runtime/arch/call_<arch>.c.
 */
#ifndef SKEYS_RUNTIME_CALL_BRANCH_H
#define SKEYS_RUNTIME_CALL_BRANCH_H

#include "../internal.h"

#include <string.h>

static inline int skeys_call_branch_slot(const struct skeys_arch *a, unsigned ret0,
					 enum skeys_call_form form, uintptr_t slot,
					 uintptr_t target, uint8_t *out)
{
	switch (form) {
	case SKEYS_CALL_FORM_NEAR:
		return a->encode_jump(slot, target, out);
	case SKEYS_CALL_FORM_FAR:
		memcpy(out, a->nop, a->site_len);
		return 0;
	default:
		return a->encode_jump(slot, slot + ret0, out);
	}
}

#endif
