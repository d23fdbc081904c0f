/* SPDX-License-Identifier: MIT */
/*
 * x86-64 static-call slots: the 6 bytes at the start of a trampoline
 * (<skeys/arch/x86_64.h>, forms in <skeys/abi.h>). runtime/call.c writes
 * them through the int3 protocol; the fixed jmp *lit(%rip) at offset 6 is
 * where a thread trapped in the slot goes on.
 */
#include "../internal.h"

#include <string.h>

const size_t skeys_call_slot_len = 6;

static void put32(uint8_t *p, int64_t v)
{
	int32_t w = (int32_t)v;

	memcpy(p, &w, 4);
}

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	static const uint8_t ret0[6] = { 0x31, 0xc0, 0xc3, 0xcc, 0xcc, 0xcc };
	int64_t d = (int64_t)(target - (slot + 5));

	switch (form) {
	case SKEYS_CALL_FORM_NEAR: /* e9 rel32 cc: jmp target */
		if (d < INT32_MIN || d > INT32_MAX)
			return -1;
		out[0] = 0xe9;
		put32(out + 1, d);
		out[5] = 0xcc;
		break;
	case SKEYS_CALL_FORM_FAR: /* ff 25 rel32: jmp *lit(%rip) */
		out[0] = 0xff;
		out[1] = 0x25;
		put32(out + 2, (int64_t)((uintptr_t)&call->lit - (slot + 6)));
		break;
	default: /* xor %eax,%eax; ret */
		memcpy(out, ret0, sizeof(ret0));
		break;
	}
	return 0;
}
