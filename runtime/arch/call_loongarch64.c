/* SPDX-License-Identifier: MIT */
/*
 * loongarch64 static-call slots: one word (<skeys/arch/loongarch64.h>),
 * `b target` (near, +-128 MiB), `nop` (far: the tail loads `lit` into $t8
 * and jumps there) or `b ret0` (the stub 16 bytes after the slot): one
 * aligned 32-bit store, as a key site's. Why each state a thread can be in
 * is valid: docs/architectures.md. No runtime is built for loongarch64
 * here (Debian 12 has no C library for it): tests/freestanding's stand-in
 * runtime writes these forms, and call-forms checks them.
 */
#include "call_branch.h"

const size_t skeys_call_slot_len = 4;

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	(void)call; /* the tail names it; the slot does not */
	return skeys_call_branch_slot(&skeys_arch_loongarch64, 16, form, slot, target, out);
}
