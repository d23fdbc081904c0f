/* SPDX-License-Identifier: MIT */
/*
 * loongarch64: nop (`andi $zero, $zero, 0`, 03400000) or b offs26, +-128 MiB.
 * b keeps offs[15:0] in bits 25..10 and offs[25:16] in bits 9..0.
 */
#include "../arch.h"

#include <skeys/arch/loongarch64.h> /* SKEYS__ARCH_ID */

enum { EM_LOONGARCH_ = 258, ELFCLASS64_ = 2 };

#define B_OP 0x50000000u
#define B_MASK 0xfc000000u

static int encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	int64_t d = (int64_t)(target - site);
	uint32_t offs;

	if (!skeys_disp_fits(d, 4, 26))
		return -1;
	offs = (uint32_t)(d / 4) & 0x03ffffffu;
	skeys_put_le32(out, B_OP | (offs & 0xffffu) << 10 | offs >> 16);
	return 0;
}

static bool decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	uint32_t insn = skeys_get_le32(b);
	int64_t offs;

	if ((insn & B_MASK) != B_OP)
		return false;
	offs = (int64_t)(((insn >> 10) & 0xffffu) | (insn & 0x3ffu) << 16);
	if (offs & 0x02000000)
		offs -= 0x04000000;
	*target = site + (uint64_t)(offs * 4);
	return true;
}

const struct skeys_arch skeys_arch_loongarch64 = {
	.id = SKEYS__ARCH_ID,
	.name = "loongarch64",
	.elf_machine = EM_LOONGARCH_,
	.elf_class = ELFCLASS64_,
	.site_len = 4,
	.site_align = 4,
	.nop = { 0x00, 0x00, 0x40, 0x03 },
	.encode_jump = encode_jump,
	.decode_jump = decode_jump,
	.jump_name = "b", /* capstone 4 has no loongarch64 */
};
