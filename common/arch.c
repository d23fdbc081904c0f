/* SPDX-License-Identifier: MIT */
#include "arch.h"

#include <skeys/arches.h> /* SKEYS__ARCH_ID of the architecture compiled for */
#include <stddef.h>
#include <string.h>

#define SKEYS_ARCH_ROW(name) &skeys_arch_##name,
static const struct skeys_arch *const arches[] = { SKEYS_ARCH_LIST(SKEYS_ARCH_ROW) };
#undef SKEYS_ARCH_ROW

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
#ifdef SKEYS__ARCH_ID
	return skeys_arch_by_id(SKEYS__ARCH_ID);
#else
	return NULL;
#endif
}

const struct skeys_arch *skeys_arch_at(size_t i)
{
	size_t k;

	for (k = 0; k < N_ARCHES; k++) {
		if (i == 0)
			return arches[k];
		i--;
		if (arches[k]->mode_alt) {
			if (i == 0)
				return arches[k]->mode_alt;
			i--;
		}
	}
	return NULL;
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
