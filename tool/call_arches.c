/* SPDX-License-Identifier: MIT */
/* Static-call trampolines as compiled, per architecture: see call_arches.h. */
#include "call_arches.h"

#include <skeys/abi.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- x86-64: 6-byte slot, then jmp *lit(%rip) at offset 6 ---------------- */

/* `p`, at `at`, is jmp *call(%rip): ff 25 and the displacement to the call's `lit`. */
static bool x86_64_jmp_lit(const struct skeys_image *img, const uint8_t *p, uint64_t at,
			   uint64_t call)
{
	return p[0] == 0xff && p[1] == 0x25 &&
	       at + 6 + (uint64_t)(int64_t)(int32_t)skeys_image_get32(img, p + 2) == call;
}

static bool x86_64_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
			  uint64_t call, unsigned kind, char *err, size_t errlen)
{
	static const uint8_t ret0[6] = { 0x31, 0xc0, 0xc3, 0xcc, 0xcc, 0xcc };

	if (!x86_64_jmp_lit(img, t + 6, slot + 6, call)) {
		snprintf(err, errlen, "expected jmp *0x%" PRIx64 "(%%rip) at offset 6", call);
		return false;
	}
	if (kind) {
		if (!memcmp(t, ret0, sizeof(ret0)))
			return true;
		snprintf(err, errlen, "expected the return-0 form "
			 "(31 c0 c3 cc cc cc), found %02x %02x %02x %02x %02x %02x",
			 t[0], t[1], t[2], t[3], t[4], t[5]);
		return false;
	}
	if (x86_64_jmp_lit(img, t, slot, call))
		return true;
	snprintf(err, errlen, "expected jmp *0x%" PRIx64 "(%%rip) through the call object, "
		 "found %02x %02x %02x %02x %02x %02x",
		 call, t[0], t[1], t[2], t[3], t[4], t[5]);
	return false;
}

/* ---- the table ------------------------------------------------------------ */

static const struct skeys_call_arch rows[] = {
	{
		.id = SKEYS_ARCH_X86_64,
		.slot_len = 6,
		.span = 16, /* the whole trampoline */
		.verify = x86_64_verify,
		.r_relative = 8, /* R_X86_64_RELATIVE */
		.r_abs = 1,      /* R_X86_64_64 */
		.r_glob_dat = 6, /* R_X86_64_GLOB_DAT */
	},
};

const struct skeys_call_arch *skeys_call_arch(unsigned id)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].id == id)
			return &rows[i];
	return NULL;
}
