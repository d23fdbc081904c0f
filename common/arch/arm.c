/* SPDX-License-Identifier: MIT */
/*
 * 32-bit arm, two instruction sets. A32: NOP (e320f000) or B, +-32 MiB,
 * offsets from the site + 8. Thumb-2 (entries with SKEYS_ENTRY_MODE): NOP.W
 * (f3af 8000) or B.W (encoding T4), +-16 MiB, offsets from the site + 4,
 * stored as two little-endian halfwords. Both are 4 bytes and 4-byte
 * aligned, so one aligned word store rewrites a site.
 */
#include "../arch.h"

#include <skeys/arch/arm.h> /* SKEYS__ARCH_ID */

enum { EM_ARM_ = 40, ELFCLASS32_ = 1 };

#define A32_B 0xea000000u /* B, condition AL */
#define A32_B_MASK 0xff000000u

static int a32_encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	int64_t d = (int64_t)(target - (site + 8));

	if (!skeys_disp_fits(d, 4, 24))
		return -1;
	skeys_put_le32(out, A32_B | ((uint32_t)(d / 4) & 0x00ffffffu));
	return 0;
}

static bool a32_decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	uint32_t insn = skeys_get_le32(b);
	int64_t imm;

	if ((insn & A32_B_MASK) != A32_B)
		return false;
	imm = (int64_t)(insn & 0x00ffffffu);
	if (imm & 0x00800000)
		imm -= 0x01000000;
	*target = (uint32_t)(site + 8 + (uint64_t)(imm * 4));
	return true;
}

static int t32_encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	int64_t d = (int64_t)(target - (site + 4));
	uint32_t u = (uint32_t)d, s, i1, i2;
	uint16_t hw1, hw2;

	if (!skeys_disp_fits(d, 2, 24))
		return -1;
	s = (u >> 24) & 1u;
	i1 = (u >> 23) & 1u;
	i2 = (u >> 22) & 1u;
	/* J1 = NOT(I1 XOR S), J2 = NOT(I2 XOR S) */
	hw1 = (uint16_t)(0xf000u | s << 10 | ((u >> 12) & 0x3ffu));
	hw2 = (uint16_t)(0x9000u | (~(i1 ^ s) & 1u) << 13 | (~(i2 ^ s) & 1u) << 11 |
			 ((u >> 1) & 0x7ffu));
	out[0] = (uint8_t)hw1;
	out[1] = (uint8_t)(hw1 >> 8);
	out[2] = (uint8_t)hw2;
	out[3] = (uint8_t)(hw2 >> 8);
	return 0;
}

static bool t32_decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	uint32_t hw1 = (uint32_t)b[0] | (uint32_t)b[1] << 8;
	uint32_t hw2 = (uint32_t)b[2] | (uint32_t)b[3] << 8;
	uint32_t s, i1, i2;
	int64_t imm;

	if ((hw1 & 0xf800u) != 0xf000u || (hw2 & 0xd000u) != 0x9000u)
		return false;
	s = (hw1 >> 10) & 1u;
	i1 = ~(((hw2 >> 13) & 1u) ^ s) & 1u;
	i2 = ~(((hw2 >> 11) & 1u) ^ s) & 1u;
	imm = (int64_t)(s << 24 | i1 << 23 | i2 << 22 | (hw1 & 0x3ffu) << 12 |
			(hw2 & 0x7ffu) << 1);
	if (s)
		imm -= 0x02000000;
	*target = (uint32_t)(site + 4 + (uint64_t)imm);
	return true;
}

const struct skeys_arch skeys_arch_arm_thumb = {
	.id = SKEYS__ARCH_ID,
	.name = "arm-thumb",
	.elf_machine = EM_ARM_,
	.elf_class = ELFCLASS32_,
	.site_len = 4,
	.site_align = 4,
	.nop = { 0xaf, 0xf3, 0x00, 0x80 },
	.encode_jump = t32_encode_jump,
	.decode_jump = t32_decode_jump,
	SKEYS_ARCH_CAPSTONE(CS_ARCH_ARM, CS_MODE_THUMB),
};

const struct skeys_arch skeys_arch_arm = {
	.id = SKEYS__ARCH_ID,
	.name = "arm",
	.elf_machine = EM_ARM_,
	.elf_class = ELFCLASS32_,
	.site_len = 4,
	.site_align = 4,
	.nop = { 0x00, 0xf0, 0x20, 0xe3 },
	.encode_jump = a32_encode_jump,
	.decode_jump = a32_decode_jump,
	.mode_alt = &skeys_arch_arm_thumb,
	SKEYS_ARCH_CAPSTONE(CS_ARCH_ARM, CS_MODE_ARM),
};
