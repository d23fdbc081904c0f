/* SPDX-License-Identifier: MIT */
/*
 * x86 static-call slots, x86-64 and i386 on PE (runtime/meson.build; i686
 * ELF's are call_x86.c): the 6 bytes at the start of a trampoline
 * (<skeys/arch/x86_64.h>, <skeys/arch/i386.h>, forms in <skeys/abi.h>). runtime/call.c writes
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
	/* jmp to the stub at offset 12 (xor %eax,%eax; ret): one instruction, like the other forms */
	static const uint8_t ret0[6] = { 0xeb, 0x0a, 0xcc, 0xcc, 0xcc, 0xcc };
#if UINTPTR_MAX == 0xffffffffu
	/* i386: a rel32 wraps around the 32-bit address space, reaching everything. */
	int64_t d = (int32_t)(uint32_t)(target - (slot + 5));
#else
	int64_t d = (int64_t)(target - (slot + 5));
#endif

	switch (form) {
	case SKEYS_CALL_FORM_NEAR: /* e9 rel32 cc: jmp target */
		if (d < INT32_MIN || d > INT32_MAX)
			return -1;
		out[0] = 0xe9;
		put32(out + 1, d);
		out[5] = 0xcc;
		break;
	case SKEYS_CALL_FORM_FAR: /* ff 25 rel32: jmp *lit(%rip); i386: ff 25 abs32, jmp *lit */
		out[0] = 0xff;
		out[1] = 0x25;
#if defined(__i386__)
		put32(out + 2, (int64_t)(uintptr_t)&call->lit);
#else
		put32(out + 2, (int64_t)((uintptr_t)&call->lit - (slot + 6)));
#endif
		break;
	default: /* jmp to the return-0 stub */
		memcpy(out, ret0, sizeof(ret0));
		break;
	}
	return 0;
}
