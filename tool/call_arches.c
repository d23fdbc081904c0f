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

/* ---- aarch64: bti c?, slot, adrp/ldr/br x16 through lit, mov x0 #0; ret ---- */

#define A64_NOP 0xd503201fu
#define A64_BTI_C 0xd503245fu
#define A64_BR_X16 0xd61f0200u
#define A64_MOV_X0_0 0xd2800000u
#define A64_RET 0xd65f03c0u
#define A64_B_RET0 0x14000004u /* b slot + 16 */
#define A64_ALIGN 32u

static uint64_t aarch64_start(const struct skeys_image *img, uint64_t slot)
{
	(void)img;
	return slot % A64_ALIGN == 4 ? slot - 4 : slot;
}

static bool aarch64_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
			   uint64_t call, unsigned kind, char *err, size_t errlen)
{
	uint32_t w[6], want_ldr;
	uint64_t page;
	int64_t imm;

	for (int i = 0; i < 6; i++)
		w[i] = skeys_image_get32(img, t + 4 * i);
	if (slot % A64_ALIGN == 4) {
		int64_t off = skeys_image_offset(img, slot - 4, 4);

		if (off < 0 || skeys_image_get32(img, img->buf + off) != A64_BTI_C) {
			snprintf(err, errlen, "expected bti c before the slot at offset 4");
			return false;
		}
	} else if (slot % A64_ALIGN) {
		snprintf(err, errlen, "slot at 0x%" PRIx64 " is not where a trampoline's is "
			 "(offset 0 or 4 of 32 bytes)", slot);
		return false;
	}
	/* adrp x16, call: the page of the call object */
	imm = (int64_t)(((w[1] >> 5) & 0x7ffffu) << 2 | ((w[1] >> 29) & 3u));
	if (imm & (1 << 20))
		imm -= 1 << 21;
	page = ((slot + 4) & ~(uint64_t)0xfff) + (uint64_t)(imm * 4096);
	want_ldr = 0xf9400210u | (uint32_t)((call & 0xfff) / 8) << 10;
	if ((w[1] & 0x9f00001fu) != 0x90000010u || page != (call & ~(uint64_t)0xfff) ||
	    w[2] != want_ldr || w[3] != A64_BR_X16) {
		snprintf(err, errlen, "expected adrp x16, ldr x16, br x16 through the call object "
			 "0x%" PRIx64 " after the slot, found %08x %08x %08x", call, w[1], w[2], w[3]);
		return false;
	}
	if (w[4] != A64_MOV_X0_0 || w[5] != A64_RET) {
		snprintf(err, errlen, "expected mov x0, #0; ret at slot + 16, found %08x %08x",
			 w[4], w[5]);
		return false;
	}
	if (w[0] == (kind ? A64_B_RET0 : A64_NOP))
		return true;
	snprintf(err, errlen, "expected in the slot %s, found %08x",
		 kind ? "b to the return-0 stub (14000004)" : "nop (d503201f: far, through the call object)",
		 w[0]);
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
	{
		.id = SKEYS_ARCH_AARCH64,
		.slot_len = 4,
		.span = 24, /* slot, tail, ret0 */
		.verify = aarch64_verify,
		.start = aarch64_start,
		.r_relative = 1027, /* R_AARCH64_RELATIVE */
		.r_abs = 257,       /* R_AARCH64_ABS64 */
		.r_glob_dat = 1025, /* R_AARCH64_GLOB_DAT */
	},
};

const struct skeys_call_arch *skeys_call_arch(unsigned id)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].id == id)
			return &rows[i];
	return NULL;
}
