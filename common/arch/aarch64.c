/* SPDX-License-Identifier: MIT */
/* aarch64: NOP (d503201f) or B imm26, +-128 MiB, word-aligned both ends. */
#include "../arch.h"

#include <skeys/arch/aarch64.h> /* SKEYS__ARCH_ID */

enum { EM_AARCH64_ = 183, ELFCLASS64_ = 2 };

#define B_OP 0x14000000u
#define B_MASK 0xfc000000u

static int encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	int64_t d = (int64_t)(target - site);

	if (!skeys_disp_fits(d, 4, 26))
		return -1;
	skeys_put_le32(out, B_OP | ((uint32_t)(d / 4) & 0x03ffffffu));
	return 0;
}

static bool decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	uint32_t insn = skeys_get_le32(b);
	int64_t imm;

	if ((insn & B_MASK) != B_OP)
		return false;
	imm = (int64_t)(insn & 0x03ffffffu);
	if (imm & 0x02000000)
		imm -= 0x04000000;
	*target = site + (uint64_t)(imm * 4);
	return true;
}

const struct skeys_arch skeys_arch_aarch64 = {
	.id = SKEYS__ARCH_ID,
	.name = "aarch64",
	.elf_machine = EM_AARCH64_,
	.elf_class = ELFCLASS64_,
	.macho_cputype = 0x0100000c, /* CPU_TYPE_ARM64 */
	.site_len = 4,
	.site_align = 4,
	.nop = { 0x1f, 0x20, 0x03, 0xd5 },
	.encode_jump = encode_jump,
	.decode_jump = decode_jump,
	SKEYS_ARCH_CAPSTONE(CS_ARCH_ARM64, CS_MODE_ARM),
};
