/* SPDX-License-Identifier: MIT */
/*
 * riscv64: `addi x0, x0, 0` (00000013) or `jal x0, imm20`, +-1 MiB. Sites
 * are 4-byte aligned so that one aligned word store rewrites them; targets
 * need only 2-byte alignment (the C extension).
 */
#include "../arch.h"

#include <skeys/arch/riscv64.h> /* SKEYS__ARCH_ID */

enum { EM_RISCV_ = 243, ELFCLASS64_ = 2 };

#define JAL_X0 0x0000006fu /* opcode JAL, rd = x0 */
#define JAL_X0_MASK 0x00000fffu

static int encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	int64_t d = (int64_t)(target - site);
	uint32_t u = (uint32_t)d;

	if (!skeys_disp_fits(d, 2, 20))
		return -1;
	/* imm[20|10:1|11|19:12] in bits 31..12. */
	skeys_put_le32(out, JAL_X0 | ((u >> 20) & 1u) << 31 | ((u >> 1) & 0x3ffu) << 21 |
				    ((u >> 11) & 1u) << 20 | ((u >> 12) & 0xffu) << 12);
	return 0;
}

static bool decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	uint32_t insn = skeys_get_le32(b);
	int64_t imm;

	if ((insn & JAL_X0_MASK) != JAL_X0)
		return false;
	imm = (int64_t)(((insn >> 31) & 1u) << 20 | ((insn >> 21) & 0x3ffu) << 1 |
			((insn >> 20) & 1u) << 11 | ((insn >> 12) & 0xffu) << 12);
	if (imm & 0x100000)
		imm -= 0x200000;
	*target = site + (uint64_t)imm;
	return true;
}

const struct skeys_arch skeys_arch_riscv64 = {
	.id = SKEYS__ARCH_ID,
	.name = "riscv64",
	.elf_machine = EM_RISCV_,
	.elf_class = ELFCLASS64_,
	.site_len = 4,
	.site_align = 4,
	.nop = { 0x13, 0x00, 0x00, 0x00 },
	.encode_jump = encode_jump,
	.decode_jump = decode_jump,
	.jump_name = "j", /* capstone 4 has no riscv64 */
};
