/* SPDX-License-Identifier: MIT */
/*
 * s390x: `brcl 15, target` (jg) or `brcl 0, target` (jgnop: never taken),
 * 6 bytes, big-endian, offset in halfwords from the site: +-4 GiB. The nop
 * keeps the jump's offset, as the kernel's does, so that a toggle changes
 * byte 1 (the condition mask) alone: one byte store, atomic for a thread
 * executing the site meanwhile.
 */
#include "../arch.h"

#include <skeys/arch/s390x.h> /* SKEYS__ARCH_ID */

enum { S390_SITE = 6, EM_S390_ = 22, ELFCLASS64_ = 2 };

static int encode(uint64_t site, uint64_t target, uint8_t mask, uint8_t *out)
{
	int64_t d = (int64_t)(target - site);
	uint32_t u;

	if (!skeys_disp_fits(d, 2, 32))
		return -1;
	u = (uint32_t)(d / 2);
	out[0] = 0xc0;
	out[1] = (uint8_t)(mask << 4 | 0x4); /* RIL-c: mask, then opcode extension 4 */
	out[2] = (uint8_t)(u >> 24);
	out[3] = (uint8_t)(u >> 16);
	out[4] = (uint8_t)(u >> 8);
	out[5] = (uint8_t)u;
	return 0;
}

static int encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	return encode(site, target, 15, out);
}

static int encode_nop(uint64_t site, uint64_t target, uint8_t *out)
{
	return encode(site, target, 0, out);
}

static bool decode_jump(uint64_t site, const uint8_t *b, uint64_t *target)
{
	uint32_t u;

	if (b[0] != 0xc0 || b[1] != 0xf4)
		return false;
	u = (uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 8 | b[5];
	*target = site + (uint64_t)((int64_t)(int32_t)u * 2);
	return true;
}

const struct skeys_arch skeys_arch_s390x = {
	.id = SKEYS__ARCH_ID,
	.name = "s390x",
	.elf_machine = EM_S390_,
	.elf_class = ELFCLASS64_,
	.big_endian = true,
	.site_len = S390_SITE,
	.site_align = 2,
	.nop = { 0xc0, 0x04, 0x00, 0x00, 0x00, 0x00 }, /* the form; encode_nop adds the offset */
	.encode_nop = encode_nop,
	.encode_jump = encode_jump,
	.decode_jump = decode_jump,
	SKEYS_ARCH_CAPSTONE(CS_ARCH_SYSZ, CS_MODE_BIG_ENDIAN),
};
