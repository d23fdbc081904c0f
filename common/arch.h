/* SPDX-License-Identifier: MIT */
/*
 * Site encodings, one row per architecture. The runtime uses the row of the
 * architecture it runs on; the tools pick the row of the file they read.
 * Adding an architecture: docs/design.md. Each common/arch/NAME.c defines
 * skeys_arch_NAME, for every NAME of <skeys/arches.h>'s list.
 */
#ifndef SKEYS_COMMON_ARCH_H
#define SKEYS_COMMON_ARCH_H

#include <skeys/abi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * SKEYS_ARCH_LIST(X): X(NAME) for each architecture, in <skeys/arches.h>'s
 * order, and SKEYS_ARCH_NAME (upper case) its id, the SKEYS__ARCH_ID of its
 * header; generated from that list by common/meson.build.
 */
#include "arch-list.h"

/*
 * Rows name the capstone architecture and mode that decode their code, for
 * the tools' diagnostics. The tools' build compiles these files with
 * capstone's headers (SKEYS_HAVE_CAPSTONE, no library: the tools load it
 * when a site is bad); elsewhere nothing reads the numbers.
 */
#ifdef SKEYS_HAVE_CAPSTONE
#include <capstone/capstone.h>
#define SKEYS_ARCH_CAPSTONE(arch, mode)                                        \
	.capstone = true, .cs_arch = (int)(arch), .cs_mode = (int)(mode)
#else
#define SKEYS_ARCH_CAPSTONE(arch, mode) .capstone = true
#endif

#define SKEYS_SITE_MAX 8

struct skeys_arch {
	uint16_t id; /* SKEYS__ARCH_ID of <skeys/arch/NAME.h> */
	const char *name;
	uint16_t elf_machine; /* EM_* */
	uint8_t elf_class;    /* ELFCLASS32 or ELFCLASS64 */
	uint16_t coff_machine; /* IMAGE_FILE_MACHINE_*, 0 when PE is not supported */
	uint32_t macho_cputype; /* CPU_TYPE_*, 0 when Mach-O is not supported */
	bool big_endian;      /* byte order of the code and tables (ppc64 comes in both) */
	uint8_t site_len;     /* bytes of a nop and of a jump */
	uint8_t site_align;   /* a site's address must be a multiple of this */
	uint8_t nop[SKEYS_SITE_MAX]; /* the nop, or its form where encode_nop is set */
	/*
	 * Write the jump at `site` to `target` into out[site_len]. Returns 0, or
	 * -1 when the target is out of the jump's range or misaligned.
	 */
	int (*encode_jump)(uint64_t site, uint64_t target, uint8_t *out);
	/*
	 * Where a site's nop depends on the site (s390x: `brcl 0` to the jump's
	 * own target, so that enabling or disabling rewrites one byte), write it
	 * into out[site_len] and return 0, or -1 as encode_jump. NULL: `nop`.
	 */
	int (*encode_nop)(uint64_t site, uint64_t target, uint8_t *out);
	/* If `bytes` hold this architecture's site jump, store its target and return true. */
	bool (*decode_jump)(uint64_t site, const uint8_t *bytes, uint64_t *target);
	/*
	 * Inline static-call sites (<skeys/abi.h>), NULL where the architecture
	 * has none: a site_len-byte call to `target` (as encode_jump; a tail
	 * call site is the jump, a cond site without a target the nop), and
	 * its decoding.
	 */
	int (*encode_call)(uint64_t site, uint64_t target, uint8_t *out);
	bool (*decode_call)(uint64_t site, const uint8_t *bytes, uint64_t *target);
	/*
	 * Encodings of the sites whose entry sets SKEYS_ENTRY_MODE (arm: the
	 * Thumb-2 instruction set), or NULL where that flag is reserved.
	 */
	const struct skeys_arch *mode_alt;
	/*
	 * Set by SKEYS_ARCH_CAPSTONE(): capstone decodes this code. Unset
	 * (capstone 4 has no such architecture): the tools describe the nop
	 * and the jump themselves, calling the jump `jump_name`.
	 */
	bool capstone;
	int cs_arch, cs_mode;
	const char *jump_name;
};

#define SKEYS_ARCH_EXTERN(name) extern const struct skeys_arch skeys_arch_##name;
SKEYS_ARCH_LIST(SKEYS_ARCH_EXTERN)
#undef SKEYS_ARCH_EXTERN
extern const struct skeys_arch skeys_arch_arm_thumb; /* arm's mode_alt */

/*
 * Every row in the list's order, each followed by its mode_alt: NULL past
 * the end (for --help and the tools' per-row state).
 */
const struct skeys_arch *skeys_arch_at(size_t i);
const struct skeys_arch *skeys_arch_by_id(unsigned id);
const struct skeys_arch *skeys_arch_by_elf(unsigned machine, unsigned elf_class);
const struct skeys_arch *skeys_arch_by_coff(unsigned machine);
const struct skeys_arch *skeys_arch_by_macho(uint32_t cputype);
/* The architecture this code was compiled for, or NULL. */
const struct skeys_arch *skeys_arch_native(void);

/*
 * The encodings of one site: `a` itself, or its mode_alt when the entry's
 * flags select it. NULL when the flags select a mode `a` does not have.
 */
const struct skeys_arch *skeys_arch_for_site(const struct skeys_arch *a, unsigned flags);

/* Entry flags an architecture allows: branch, and the mode bit where it has one. */
unsigned skeys_arch_entry_flags(const struct skeys_arch *a);

/* The site's nop, alignment not checked. Returns 0, or -1 (out of range). */
int skeys_arch_nop(const struct skeys_arch *a, uint64_t site, uint64_t target, uint8_t *out);

/* Fill out[site_len] with the nop, or the jump to `target`. Returns 0 or -1. */
int skeys_arch_encode(const struct skeys_arch *a, bool jump, uint64_t site,
		      uint64_t target, uint8_t *out);

/* Fixed-width instruction words in the code's byte order. */
static inline uint32_t skeys_get_le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static inline void skeys_put_le32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

/*
 * A jump's displacement, checked: a multiple of `align` and within
 * [-2^(bits-1), 2^(bits-1)) once divided by `align`. Returns false otherwise.
 */
static inline bool skeys_disp_fits(int64_t d, unsigned align, unsigned bits)
{
	int64_t lim = (int64_t)1 << (bits - 1);

	if (d % (int64_t)align)
		return false;
	d /= (int64_t)align;
	return d >= -lim && d < lim;
}

#endif
