/* SPDX-License-Identifier: MIT */
/*
 * i686 static-call slots: the 6 bytes at the start of a trampoline
 * (<skeys/arch/i386.h>), written through the int3 protocol as on x86-64.
 * A rel32 reaches every address of a 32-bit space, so an update always
 * takes the near form or, with no target, ret0 (a jump to the stub at
 * offset 26); the far form (a nop into the tail through `lit`) is the one a
 * call with a target is compiled in. Each form is one instruction, so a
 * thread stopped inside the slot is at its first byte.
 */
#include "../internal.h"

#include <string.h>

const size_t skeys_call_slot_len = 6;

int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out)
{
	static const uint8_t far[6] = { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 };  /* nopw */
	static const uint8_t ret0[6] = { 0xeb, 0x18, 0xcc, 0xcc, 0xcc, 0xcc }; /* jmp ret0 */
	uint32_t d = (uint32_t)(target - (slot + 5));

	(void)call; /* the tail names it; the slot does not */
	switch (form) {
	case SKEYS_CALL_FORM_NEAR: /* e9 rel32 cc: jmp target */
		out[0] = 0xe9;
		memcpy(out + 1, &d, 4);
		out[5] = 0xcc;
		break;
	case SKEYS_CALL_FORM_FAR:
		memcpy(out, far, sizeof(far));
		break;
	default:
		memcpy(out, ret0, sizeof(ret0));
		break;
	}
	return 0;
}
