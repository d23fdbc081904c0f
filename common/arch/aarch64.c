/* SPDX-License-Identifier: MIT */
/* AArch64: NOP (d503201f) or B imm26, little-endian instruction words. */
#include "../arch.h"

enum { A64_SITE = 4, EM_AARCH64_ = 183, ELFCLASS64_ = 2, B_OPCODE = 0x14000000 };

static void put32(uint8_t *out, uint32_t v)
{
	out[0] = (uint8_t)v;
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)(v >> 16);
	out[3] = (uint8_t)(v >> 24);
}

static int encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	int64_t d = (int64_t)(target - site);

	/* imm26 counts words: +-128 MiB. */
	if (d % 4 || d < -(INT64_C(1) << 27) || d >= (INT64_C(1) << 27))
		return -1;
	put32(out, B_OPCODE | ((uint32_t)(d / 4) & 0x03ffffffu));
	return 0;
}

static bool decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	uint32_t w = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		     (uint32_t)b[3] << 24;
	int64_t imm;

	if ((w & 0xfc000000u) != B_OPCODE)
		return false;
	imm = (int64_t)(w & 0x03ffffffu);
	if (imm & 0x02000000)
		imm -= 0x04000000;
	*target = site + (uint64_t)(imm * 4);
	return true;
}

const struct skeys_arch skeys_arch_aarch64 = {
	.id = SKEYS_ARCH_AARCH64,
	.name = "arm64",
	.elf_machine = EM_AARCH64_,
	.elf_class = ELFCLASS64_,
	.macho_cputype = 0x0100000c, /* CPU_TYPE_ARM64 */
	.site_len = A64_SITE,
	.site_align = 4,
	.nop = { 0x1f, 0x20, 0x03, 0xd5 },
	.encode_jump = encode_jump,
	.decode_jump = decode_jump,
};
