/* SPDX-License-Identifier: MIT */
/*
 * Site encodings, one row per architecture. The runtime uses the row of the
 * architecture it runs on; the tools pick the row of the file they read.
 * Adding an architecture: one file in common/arch/, one line in arch.c.
 */
#ifndef SKEYS_COMMON_ARCH_H
#define SKEYS_COMMON_ARCH_H

#include <skeys/abi.h>
#include <stdbool.h>
#include <stdint.h>

#define SKEYS_SITE_MAX 8

struct skeys_arch {
	enum skeys_arch_id id;
	const char *name;
	uint16_t elf_machine; /* EM_* */
	uint8_t elf_class;    /* ELFCLASS32 or ELFCLASS64 */
	uint16_t coff_machine; /* IMAGE_FILE_MACHINE_*, 0 when PE is not supported */
	uint32_t macho_cputype; /* CPU_TYPE_*, 0 when Mach-O is not supported */
	uint8_t site_len;     /* bytes of a nop and of a jump */
	uint8_t site_align;   /* a site's address must be a multiple of this */
	uint8_t nop[SKEYS_SITE_MAX];
	/*
	 * Write the jump at `site` to `target` into out[site_len]. Returns 0, or
	 * -1 when the target is out of the jump's range or misaligned.
	 */
	int (*encode_jump)(uint64_t site, uint64_t target, uint8_t *out);
	/* If `bytes` hold this architecture's site jump, store its target and return true. */
	bool (*decode_jump)(uint64_t site, const uint8_t *bytes, uint64_t *target);
};

extern const struct skeys_arch skeys_arch_x86_64;
extern const struct skeys_arch skeys_arch_aarch64;

const struct skeys_arch *skeys_arch_by_id(unsigned id);
const struct skeys_arch *skeys_arch_by_elf(unsigned machine, unsigned elf_class);
const struct skeys_arch *skeys_arch_by_coff(unsigned machine);
const struct skeys_arch *skeys_arch_by_macho(uint32_t cputype);
/* The architecture this code was compiled for, or NULL. */
const struct skeys_arch *skeys_arch_native(void);

/* Fill out[site_len] with the nop, or the jump to `target`. Returns 0 or -1. */
int skeys_arch_encode(const struct skeys_arch *a, bool jump, uint64_t site,
		      uint64_t target, uint8_t *out);

#endif
