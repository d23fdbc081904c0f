/* SPDX-License-Identifier: MIT */
/*
 * riscv64 static-call slots: one uncompressed word (<skeys/arch/riscv64.h>),
 * `j target` (near, +-1 MiB), `nop` (far: the tail loads `lit` into t1 and
 * jumps there) or `j ret0` (the stub 16 bytes after the slot): one aligned
 * 32-bit store, as a key site's. Why each state a thread can be in is
 * valid: docs/architectures.md.
 */
#include "call_branch.h"

const size_t skeys_call_slot_len = 4;

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	(void)call; /* the tail names it; the slot does not */
	return skeys_call_branch_slot(&skeys_arch_riscv64, 16, form, slot, target, out);
}
