/* SPDX-License-Identifier: MIT */
/*
 * i686: 5-byte `lea 0x0(%esi,%eiz,1),%esi` with a ds prefix, or jmp rel32.
 * The address space is 32 bits wide and rel32 wraps with it, so every
 * target is in range.
 */
#include "../arch.h"

#include <skeys/arch/i386.h> /* SKEYS__ARCH_ID */

enum { I386_SITE = 5, EM_386_ = 3, ELFCLASS32_ = 1 };

static int encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	if (site > UINT32_MAX || target > UINT32_MAX)
		return -1;
	out[0] = 0xe9;
	skeys_put_le32(out + 1, (uint32_t)(target - (site + I386_SITE)));
	return 0;
}

static bool decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	if (b[0] != 0xe9)
		return false;
	*target = (uint32_t)(site + I386_SITE + skeys_get_le32(b + 1));
	return true;
}

const struct skeys_arch skeys_arch_i386 = {
	.id = SKEYS__ARCH_ID,
	.name = "i386",
	.elf_machine = EM_386_,
	.elf_class = ELFCLASS32_,
	.coff_machine = 0x14c, /* IMAGE_FILE_MACHINE_I386 */
	.site_len = I386_SITE,
	.site_align = 1,
	.nop = { 0x3e, 0x8d, 0x74, 0x26, 0x00 },
	.encode_jump = encode_jump,
	.decode_jump = decode_jump,
	SKEYS_ARCH_CAPSTONE(CS_ARCH_X86, CS_MODE_32),
};
