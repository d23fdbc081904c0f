/* SPDX-License-Identifier: MIT */
#include "arch.h"

#include <stddef.h>
#include <string.h>

static const struct skeys_arch *const arches[] = {
	&skeys_arch_x86_64,   &skeys_arch_i386,  &skeys_arch_aarch64,
	&skeys_arch_riscv64,  &skeys_arch_arm,   &skeys_arch_ppc64le,
	&skeys_arch_s390x,    &skeys_arch_loongarch64,
};

#define N_ARCHES (sizeof(arches) / sizeof(arches[0]))

const struct skeys_arch *skeys_arch_by_id(unsigned id)
{
	size_t i;

	for (i = 0; i < N_ARCHES; i++)
		if ((unsigned)arches[i]->id == id)
			return arches[i];
	return NULL;
}

const struct skeys_arch *skeys_arch_by_elf(unsigned machine, unsigned elf_class)
{
	size_t i;

	for (i = 0; i < N_ARCHES; i++)
		if (arches[i]->elf_machine == machine && arches[i]->elf_class == elf_class)
			return arches[i];
	return NULL;
}

const struct skeys_arch *skeys_arch_by_coff(unsigned machine)
{
	size_t i;

	for (i = 0; i < N_ARCHES; i++)
		if (machine && arches[i]->coff_machine == machine)
			return arches[i];
	return NULL;
}

const struct skeys_arch *skeys_arch_by_macho(uint32_t cputype)
{
	size_t i;

	for (i = 0; i < N_ARCHES; i++)
		if (cputype && arches[i]->macho_cputype == cputype)
			return arches[i];
	return NULL;
}

const struct skeys_arch *skeys_arch_native(void)
{
#if defined(__x86_64__)
	return &skeys_arch_x86_64;
#elif defined(__i386__)
	return &skeys_arch_i386;
#elif defined(__aarch64__) || defined(__arm64__)
	return &skeys_arch_aarch64;
#elif defined(__riscv) && __riscv_xlen == 64
	return &skeys_arch_riscv64;
#elif defined(__arm__)
	return &skeys_arch_arm;
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return &skeys_arch_ppc64le;
#elif defined(__s390x__)
	return &skeys_arch_s390x;
#elif defined(__loongarch__) && __loongarch_grlen == 64
	return &skeys_arch_loongarch64;
#else
	return NULL;
#endif
}

const struct skeys_arch *skeys_arch_for_site(const struct skeys_arch *a, unsigned flags)
{
	if (!(flags & SKEYS_ENTRY_MODE))
		return a;
	return a->mode_alt;
}

unsigned skeys_arch_entry_flags(const struct skeys_arch *a)
{
	return SKEYS_ENTRY_BRANCH | (a->mode_alt ? SKEYS_ENTRY_MODE : 0u);
}

int skeys_arch_nop(const struct skeys_arch *a, uint64_t site, uint64_t target, uint8_t *out)
{
	if (a->encode_nop)
		return a->encode_nop(site, target, out);
	memcpy(out, a->nop, a->site_len);
	return 0;
}

int skeys_arch_encode(const struct skeys_arch *a, bool jump, uint64_t site,
		      uint64_t target, uint8_t *out)
{
	if (site % a->site_align)
		return -1;
	if (!jump)
		return skeys_arch_nop(a, site, target, out);
	return a->encode_jump(site, target, out);
}
