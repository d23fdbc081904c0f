/* SPDX-License-Identifier: MIT */
/* x86-64: 5-byte nopl 0x0(%rax,%rax,1) or jmp rel32; inline call sites are call rel32. */
#include "../arch.h"

#include <skeys/arch/x86_64.h> /* SKEYS__ARCH_ID */

#include <string.h>

enum { X86_SITE = 5, EM_X86_64_ = 62, ELFCLASS64_ = 2 };

/* `op` rel32 from `site` to `target`: jmp (e9) or call (e8). */
static int encode_rel32(uint8_t op, uint64_t site, uint64_t target, uint8_t *out)
{
	int64_t d = (int64_t)(target - (site + X86_SITE));
	uint32_t u;

	if (d < INT32_MIN || d > INT32_MAX)
		return -1;
	u = (uint32_t)(int32_t)d;
	out[0] = op;
	out[1] = (uint8_t)u;
	out[2] = (uint8_t)(u >> 8);
	out[3] = (uint8_t)(u >> 16);
	out[4] = (uint8_t)(u >> 24);
	return 0;
}

static bool decode_rel32(uint8_t op, uint64_t site, const uint8_t *b, uint64_t *target)
{
	uint32_t u;

	if (b[0] != op)
		return false;
	u = (uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16 |
	    (uint32_t)b[4] << 24;
	*target = site + X86_SITE + (uint64_t)(int64_t)(int32_t)u;
	return true;
}

static int encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	return encode_rel32(0xe9, site, target, out);
}

static bool decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	return decode_rel32(0xe9, site, b, target);
}

static int encode_call(uint64_t site, uint64_t target, uint8_t *out)
{
	return encode_rel32(0xe8, site, target, out);
}

static bool decode_call(uint64_t site, const uint8_t *b, uint64_t *target)
{
	return decode_rel32(0xe8, site, b, target);
}

const struct skeys_arch skeys_arch_x86_64 = {
	.id = SKEYS__ARCH_ID,
	.name = "x86_64",
	.elf_machine = EM_X86_64_,
	.elf_class = ELFCLASS64_,
	.coff_machine = 0x8664, /* IMAGE_FILE_MACHINE_AMD64 */
	.macho_cputype = 0x01000007, /* CPU_TYPE_X86_64 */
	.site_len = X86_SITE,
	.site_align = 1,
	.nop = { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	.encode_jump = encode_jump,
	.decode_jump = decode_jump,
	.encode_call = encode_call,
	.decode_call = decode_call,
	SKEYS_ARCH_CAPSTONE(CS_ARCH_X86, CS_MODE_64),
};
