/* SPDX-License-Identifier: MIT */
#include "arch.h"

#include <stddef.h>
#include <string.h>

static const struct skeys_arch *const arches[] = {
	&skeys_arch_x86_64,
	&skeys_arch_aarch64,
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
#elif defined(__aarch64__) || defined(__arm64__)
	return &skeys_arch_aarch64;
#else
	return NULL;
#endif
}

int skeys_arch_encode(const struct skeys_arch *a, bool jump, uint64_t site,
		      uint64_t target, uint8_t *out)
{
	if (site % a->site_align)
		return -1;
	if (!jump) {
		memcpy(out, a->nop, a->site_len);
		return 0;
	}
	return a->encode_jump(site, target, out);
}
