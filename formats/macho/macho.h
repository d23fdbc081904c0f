/* SPDX-License-Identifier: MIT */
/*
 * What the Mach-O reader's files share: macho.c (the format row and
 * universal files), thin.c (one image) and signature.c (its code
 * signature, read once at open and rewritten when sealing).
 */
#ifndef SKEYS_FORMATS_MACHO_H
#define SKEYS_FORMATS_MACHO_H

#include "../format.h"

#include <skeys/abi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum {
	FAT_MAX_SLICES = 32,
	FAT_MAX_ALIGN = 15, /* 2^15: the largest page size a slice is aligned to */
	JAVA_MIN_MAJOR = 45, /* Java class files share 0xcafebabe; their version follows */
	MH_EXECUTE = 2,
	MH_DYLIB = 6,
	MH_BUNDLE = 8,
	HDR64 = 32,
	LC_SYMTAB = 0x2,
	LC_SEGMENT_64 = 0x19,
	LC_CODE_SIGNATURE = 0x1d,
	SEG64 = 72,
	SECT64 = 80,
	NLIST64 = 16,
	VM_PROT_WRITE = 2,
	VM_PROT_EXECUTE = 4,
	S_ZEROFILL = 0x1,
	S_GB_ZEROFILL = 0xc,
	S_THREAD_LOCAL_ZEROFILL = 0x12,
	S_ATTR_SOME_INSTRUCTIONS = 0x400,
	N_STAB = 0xe0,
	N_TYPE = 0x0e,
	N_SECT = 0x0e,
	N_EXT = 0x01,
	CSSLOT_CODEDIRECTORY = 0,
	CSSLOT_SIGNATURESLOT = 0x10000,
	CS_ADHOC = 0x2,
	CS_HASHTYPE_SHA256 = 2,
};
#define S_ATTR_PURE_INSTRUCTIONS 0x80000000u
#define CSMAGIC_CODEDIRECTORY 0xfade0c02u
#define CSMAGIC_EMBEDDED_SIGNATURE 0xfade0cc0u
#define FAT_MAGIC_64 0xcafebabfu
#define FAT_MAGIC 0xcafebabeu
#define MH_MAGIC_64 0xfeedfacfu
#define MH_MAGIC 0xfeedfaceu /* 32-bit */

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		return -1;                                                     \
	} while (0)

struct macho_segment {
	char name[17];
	uint64_t fileoff, filesize;
};

struct macho_priv {
	char (*names)[17]; /* section names, terminated; never moves once made */
	struct macho_segment *segs; /* with file bytes, for the overlap check */
	size_t n_segs;
	uint32_t sig_off, sig_size; /* LC_CODE_SIGNATURE, 0 when unsigned */
	/* Found by macho_signature_check(): */
	const uint8_t *cd; /* the code directory, or NULL */
	bool cms;          /* a CMS blob: signed for real, not ad hoc */
};

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static inline bool in_file(const struct skeys_image *img, uint64_t off, uint64_t len)
{
	return off <= img->len && len <= img->len - off;
}

/* One 64-bit little-endian image (thin.c). 0, or -1 with a message. */
int macho_open_thin(struct skeys_image *img, char *err, size_t errlen);

/*
 * signature.c. The signature of an image whose LC_CODE_SIGNATURE said
 * sig_off and sig_size, checked and its code directory found (at open); then
 * whether sealing can update it, and the update: the page hashes of `out`,
 * this image's sealed bytes.
 */
int macho_signature_check(struct skeys_image *img, char *err, size_t errlen);
/* What dyld puts into the pointer at `addr` (bind.c): see skeys_format.pointer. */
int macho_pointer(const struct skeys_image *img, uint64_t addr, uint64_t *value, char *out,
		  size_t len);
int macho_signature_prepare(const struct skeys_image *img, char *err, size_t errlen);
void macho_signature_rehash(const struct skeys_image *img, uint8_t *out);

#endif
