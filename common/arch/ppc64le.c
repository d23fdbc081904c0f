/* SPDX-License-Identifier: MIT */
/* ppc64le (ELFv2): nop (60000000) or b (I-form, AA = LK = 0), +-32 MiB. */
#include "../arch.h"

#include <skeys/arch/ppc64le.h> /* SKEYS__ARCH_ID */

enum { EM_PPC64_ = 21, ELFCLASS64_ = 2 };

#define B_OP 0x48000000u
#define B_MASK 0xfc000003u

static int encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	int64_t d = (int64_t)(target - site);

	if (!skeys_disp_fits(d, 4, 24))
		return -1;
	skeys_put_le32(out, B_OP | ((uint32_t)d & 0x03fffffcu));
	return 0;
}

static bool decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	uint32_t insn = skeys_get_le32(b);
	int64_t imm;

	if ((insn & B_MASK) != B_OP)
		return false;
	imm = (int64_t)(insn & 0x03fffffcu);
	if (imm & 0x02000000)
		imm -= 0x04000000;
	*target = site + (uint64_t)imm;
	return true;
}

const struct skeys_arch skeys_arch_ppc64le = {
	.id = SKEYS__ARCH_ID,
	.name = "ppc64le",
	.elf_machine = EM_PPC64_,
	.elf_class = ELFCLASS64_,
	.site_len = 4,
	.site_align = 4,
	.nop = { 0x00, 0x00, 0x00, 0x60 },
	.encode_jump = encode_jump,
	.decode_jump = decode_jump,
	SKEYS_ARCH_CAPSTONE(CS_ARCH_PPC, CS_MODE_64 | CS_MODE_LITTLE_ENDIAN),
};
