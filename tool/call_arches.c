/* SPDX-License-Identifier: MIT */
/* Static-call trampolines as compiled, per architecture: see call_arches.h. */
#include "call_arches.h"

#include "arch.h"

#include <skeys/abi.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/*
 * ---- x86: 6-byte slot, jmp *lit at offset 6, return-0 stub at offset 12 --
 *
 * x86-64's jmp *lit is ff 25 rel32, %rip-relative; i386's (PE) is
 * ff 25 abs32, the absolute address of `lit`. The ret0 slot is eb 0a, a
 * jump to the stub.
 */

/* `p`, at `at`, is jmp *lit through the call object at `call` (its first field). */
static bool x86_jmp_lit(const struct skeys_image *img, const uint8_t *p, uint64_t at,
			uint64_t call)
{
	uint32_t v = skeys_image_get32(img, p + 2);

	if (p[0] != 0xff || p[1] != 0x25)
		return false;
	if (img->arch->id == SKEYS_ARCH_I386)
		return v == call;
	return at + 6 + (uint64_t)(int64_t)(int32_t)v == call;
}

static bool x86_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
		       uint64_t call, unsigned kind, char *err, size_t errlen)
{
	static const uint8_t ret0[6] = { 0xeb, 0x0a, 0xcc, 0xcc, 0xcc, 0xcc };
	static const uint8_t stub_x86_64[4] = { 0x31, 0xc0, 0xc3, 0xcc }; /* xor %eax,%eax; ret */
	static const uint8_t stub_i386[4] = { 0x31, 0xc0, 0x99, 0xc3 };   /* and cltd */
	const uint8_t *stub = img->arch->id == SKEYS_ARCH_I386 ? stub_i386 : stub_x86_64;
	const char *how = img->arch->id == SKEYS_ARCH_I386 ? "" : "(%rip)";

	if (!x86_jmp_lit(img, t + 6, slot + 6, call)) {
		snprintf(err, errlen, "expected jmp *0x%" PRIx64 "%s at offset 6", call, how);
		return false;
	}
	if (memcmp(t + 12, stub, 4)) {
		snprintf(err, errlen, "expected the return-0 stub (%02x %02x %02x %02x) at offset "
			 "12, found %02x %02x %02x %02x", stub[0], stub[1], stub[2], stub[3],
			 t[12], t[13], t[14], t[15]);
		return false;
	}
	if (kind) {
		if (!memcmp(t, ret0, sizeof(ret0)))
			return true;
		snprintf(err, errlen, "expected the return-0 form "
			 "(eb 0a cc cc cc cc), found %02x %02x %02x %02x %02x %02x",
			 t[0], t[1], t[2], t[3], t[4], t[5]);
		return false;
	}
	if (x86_jmp_lit(img, t, slot, call))
		return true;
	snprintf(err, errlen, "expected jmp *0x%" PRIx64 "%s through the call object, "
		 "found %02x %02x %02x %02x %02x %02x",
		 call, how, t[0], t[1], t[2], t[3], t[4], t[5]);
	return false;
}

/* ---- the table ------------------------------------------------------------ */

static const struct skeys_call_arch rows[] = {
	{
		.id = SKEYS_ARCH_X86_64,
		.slot_len = 6,
		.span = 16, /* the whole trampoline */
		.verify = x86_verify,
		.r_relative = 8, /* R_X86_64_RELATIVE */
		.r_abs = 1,      /* R_X86_64_64 */
		.r_glob_dat = 6, /* R_X86_64_GLOB_DAT */
	},
	{
		/* PE only (<skeys/arch/i386.h>): `lit` holds its target in the file. */
		.id = SKEYS_ARCH_I386,
		.slot_len = 6,
		.span = 16,
		.verify = x86_verify,
		.format = "pe",
	},
};

const struct skeys_call_arch *skeys_call_arch(unsigned id, const char *format)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].id == id && (!rows[i].format || !strcmp(rows[i].format, format)))
			return &rows[i];
	return NULL;
}
