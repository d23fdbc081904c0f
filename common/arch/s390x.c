/* SPDX-License-Identifier: MIT */
/*
 * s390x: `brcl 0, .` (c004 0000 0000, never taken) or `brcl 15, target`
 * (jg), 6 bytes, big-endian, offset in halfwords from the site: +-4 GiB.
 */
#include "../arch.h"

enum { S390_SITE = 6, EM_S390_ = 22, ELFCLASS64_ = 2 };

static int encode_jump(uint64_t site, uint64_t target, uint8_t *out)
{
	int64_t d = (int64_t)(target - site);
	uint32_t u;

	if (!skeys_disp_fits(d, 2, 32))
		return -1;
	u = (uint32_t)(d / 2);
	out[0] = 0xc0;
	out[1] = 0xf4;
	out[2] = (uint8_t)(u >> 24);
	out[3] = (uint8_t)(u >> 16);
	out[4] = (uint8_t)(u >> 8);
	out[5] = (uint8_t)u;
	return 0;
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
	.id = SKEYS_ARCH_S390X,
	.name = "s390x",
	.elf_machine = EM_S390_,
	.elf_class = ELFCLASS64_,
	.big_endian = true,
	.site_len = S390_SITE,
	.site_align = 2,
	.nop = { 0xc0, 0x04, 0x00, 0x00, 0x00, 0x00 },
	.encode_jump = encode_jump,
	.decode_jump = decode_jump,
};
