/* SPDX-License-Identifier: MIT */
/*
 * Architectures without static-call trampolines yet: <skeys.h> refuses a
 * definition there, so no call table of this architecture exists, and
 * runtime/call.c answers -ENOSYS.
 */
#include "../internal.h"

const size_t skeys_call_slot_len = 0;

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	(void)form;
	(void)slot;
	(void)target;
	(void)call;
	(void)out;
	return -1;
}
