/* SPDX-License-Identifier: MIT */
/*
 * Object-file readers for the tools. A reader turns a file held in memory
 * into one format-neutral image: the architecture row, byte order, sections
 * sorted by address, function and data symbols sorted by address, and the
 * skeys table and header sections. Everything after that (verification,
 * sealing, dumping) is written once against this interface.
 *
 * Adding a format: one folder under formats/ with a `struct skeys_format`,
 * one name in formats/meson.build's list (docs/design.md).
 *
 * Readers never print: every failure returns -1 with a message in the
 * caller's buffer, so that a fuzzer can drive skeys_image_open_mem().
 * They work on memory only: opening, mapping and writing files is the
 * tools' part (tool/file.h, tool/output.h).
 */
#ifndef SKEYS_FORMATS_FORMAT_H
#define SKEYS_FORMATS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct skeys_arch;

enum skeys_section_flags {
	SKEYS_SEC_ALLOC = 1u << 0,
	SKEYS_SEC_WRITE = 1u << 1,
	SKEYS_SEC_EXEC = 1u << 2,
	SKEYS_SEC_NOBITS = 1u << 3, /* occupies memory, not file bytes: zeros */
};

struct skeys_section {
	const char *name;
	uint64_t addr;
	uint64_t size;
	uint64_t offset; /* file offset of byte 0; unused for NOBITS */
	unsigned flags;  /* SKEYS_SEC_* */
};

struct skeys_symbol {
	const char *name;
	uint64_t addr;
	uint64_t size; /* 0 when the file does not say */
	unsigned rank; /* of several symbols at one address, the lowest names it */
};

/* A relocation a link kept in the file (--emit-relocs) against its code. */
struct skeys_code_reloc {
	uint64_t at;      /* the address of the field it fills */
	uint32_t type;    /* the format's number for its architecture */
	int64_t addend;
	uint64_t value;   /* its symbol's address: a section's for a section symbol */
	const char *name; /* its symbol's name, "" for none or a section */
};

typedef int skeys_code_reloc_fn(void *ctx, const struct skeys_code_reloc *r);

struct skeys_format;

enum skeys_reloc_kind {
	SKEYS_RELOC_COPY = 1, /* copies another module's data here (ELF R_*_COPY) */
	SKEYS_RELOC_RELATIVE, /* the module's load address plus `addend` */
	SKEYS_RELOC_SYMBOL,   /* anything else: a symbol's address, GOT-like */
};

/* A dynamic relocation, as format->reloc_at() reports it. */
struct skeys_reloc {
	enum skeys_reloc_kind kind;
	const char *type;   /* its name, "R_X86_64_RELATIVE" (NULL for an unnamed type) */
	const char *symbol; /* the symbol it names, or NULL */
	uint64_t offset;    /* where it applies */
	uint64_t addend;    /* RELATIVE: the address it holds once the module is at 0 */
};

struct skeys_image {
	const struct skeys_format *format;
	const struct skeys_arch *arch;
	bool big_endian;
	const uint8_t *buf; /* the whole file, never modified */
	size_t len;

	/* Mapped sections (size > 0, no thread-local templates), by address. */
	struct skeys_section *sections;
	size_t n_sections;

	/* One symbol per address, the best name for it, by address. */
	struct skeys_symbol *funcs;
	size_t n_funcs;
	struct skeys_symbol *objects;
	size_t n_objects;

	/* The skeys sections; `has_*` false when the file has none. */
	bool has_table, has_header;
	struct skeys_section table, header;

	/*
	 * [relro_lo, relro_hi): addresses the loader makes read-only once it
	 * has relocated them (ELF PT_GNU_RELRO), although their sections are
	 * writable data. Empty when the file has none.
	 */
	uint64_t relro_lo, relro_hi;

	/*
	 * The header's table bounds may be zero in an unsealed file: the module
	 * fills them in when it loads (Mach-O). The table is then its section.
	 */
	bool bounds_at_load;

	/*
	 * A container of whole images (a universal Mach-O file): each slice is
	 * an image over its part of buf, at slice_offset in the file. The
	 * container itself has no arch, sections or table.
	 */
	struct skeys_image **slices;
	size_t n_slices;
	uint64_t slice_offset;

	void *priv; /* the reader's own state */
};

struct skeys_format {
	const char *name; /* "elf", as in skeys-dump --json */
	/* True when `buf` starts like a file of this format. */
	bool (*probe)(const uint8_t *buf, size_t len);
	/* Fill `img` (buf and len already set). 0, or -1 with a message in err. */
	int (*open)(struct skeys_image *img, char *err, size_t errlen);
	void (*close)(struct skeys_image *img);
	/*
	 * Optional, for skeys-seal. seal_prepare refuses a file that sealing
	 * would break (-1 and a message); seal_finish updates format-level
	 * fields, such as a checksum of the whole file, in the sealed bytes.
	 */
	int (*seal_prepare)(const struct skeys_image *img, char *err, size_t errlen);
	void (*seal_finish)(const struct skeys_image *img, uint8_t *out);
	/*
	 * Optional: fn for every relocation kept in the file for its code,
	 * until fn returns nonzero, which this returns; 0 when there are none.
	 * -1 with a message in err when they cannot be read.
	 */
	int (*code_relocs)(const struct skeys_image *img, skeys_code_reloc_fn *fn, void *ctx,
			   char *err, size_t errlen);
	/*
	 * Optional: the first dynamic relocation (one the loader applies) at an
	 * address in [addr, addr + len), into *out; false when there is none.
	 */
	bool (*reloc_at)(const struct skeys_image *img, uint64_t addr, uint64_t len,
			 struct skeys_reloc *out);
	/*
	 * The section that starts with the static-call table's header (the
	 * format header's emission of <skeys/call.h>), or NULL for none.
	 */
	const char *calls_section;
	/*
	 * Optional: what the loader puts into the pointer at `addr`: 1 and the
	 * address in *value (Mach-O's chained rebases, whose file bytes are a
	 * chain's link), 2 and the symbol it binds as "name+0xaddend" in out,
	 * 0 when the file's bytes are the pointer (ELF's dynamic relocations
	 * are read by tool/verify_calls.c), -1 when the file says nothing
	 * sound about it (a chained image's pointer that no chain links).
	 */
	int (*pointer)(const struct skeys_image *img, uint64_t addr, uint64_t *value, char *out,
		       size_t len);
};

/* Space for a reader's error message. */
#define SKEYS_ERR_LEN 512

/*
 * Parse `len` bytes at `buf`, which must stay valid and unchanged until
 * skeys_image_close(). Returns 0 and the image in *out, or -1 with a message
 * (not naming the file; callers add it) in err.
 */
int skeys_image_open_mem(struct skeys_image **out, const void *buf, size_t len,
			 char *err, size_t errlen);
/* The same with one reader, whatever the bytes look like (for its fuzzer). */
int skeys_image_open_format(struct skeys_image **out, const struct skeys_format *fmt,
			    const void *buf, size_t len, char *err, size_t errlen);
void skeys_image_close(struct skeys_image *img);

/* The mapped section holding [addr, addr + len), or NULL. */
const struct skeys_section *skeys_image_section_at(const struct skeys_image *img,
						   uint64_t addr, uint64_t len);
/* File offset of [addr, addr + len) if those bytes are all in the file, else -1. */
int64_t skeys_image_offset(const struct skeys_image *img, uint64_t addr, uint64_t len);
/* The mapped section called `name`, or NULL. */
const struct skeys_section *skeys_image_section_named(const struct skeys_image *img,
						      const char *name);
/* The file's bytes at [addr, addr + len), or NULL (not in the file). */
const uint8_t *skeys_image_bytes(const struct skeys_image *img, uint64_t addr, uint64_t len);
/* The function containing `addr`, or NULL. */
const struct skeys_symbol *skeys_image_func_at(const struct skeys_image *img,
					       uint64_t addr);
/* The data object whose extent holds `addr` (an array's element), or NULL. */
const struct skeys_symbol *skeys_image_object_in(const struct skeys_image *img,
						 uint64_t addr);
/* The data object starting exactly at `addr`, or NULL. */
const struct skeys_symbol *skeys_image_object_at(const struct skeys_image *img,
						 uint64_t addr);

/*
 * Integers in the file's byte order, at any alignment. Inline and spelled
 * out byte by byte, because the tools decode and encode every table entry
 * with them: compilers turn each form into one load or store and at most a
 * byte swap.
 */
static inline uint16_t skeys_image_get16(const struct skeys_image *img, const uint8_t *p)
{
	if (img->big_endian)
		return (uint16_t)((unsigned)p[0] << 8 | p[1]);
	return (uint16_t)((unsigned)p[1] << 8 | p[0]);
}

static inline uint32_t skeys_image_get32(const struct skeys_image *img, const uint8_t *p)
{
	if (img->big_endian)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t skeys_image_get64(const struct skeys_image *img, const uint8_t *p)
{
	uint64_t lo = skeys_image_get32(img, p), hi = skeys_image_get32(img, p + 4);

	return img->big_endian ? lo << 32 | hi : hi << 32 | lo;
}

static inline void skeys_image_put16(const struct skeys_image *img, uint8_t *p, uint16_t v)
{
	if (img->big_endian) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
	}
}

static inline void skeys_image_put32(const struct skeys_image *img, uint8_t *p, uint32_t v)
{
	if (img->big_endian) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
		p[2] = (uint8_t)(v >> 16);
		p[3] = (uint8_t)(v >> 24);
	}
}

static inline void skeys_image_put64(const struct skeys_image *img, uint8_t *p, uint64_t v)
{
	uint32_t first = (uint32_t)(img->big_endian ? v >> 32 : v);
	uint32_t second = (uint32_t)(img->big_endian ? v : v >> 32);

	skeys_image_put32(img, p, first);
	skeys_image_put32(img, p + 4, second);
}

/* The registry's i-th format, NULL past the end (for --help). */
const struct skeys_format *skeys_format_at(size_t i);

/*
 * For readers: when `s` is the skeys table or header section (by name),
 * record it in img->table or img->header. 0, or -1 with a message when the
 * image already has one ("two PREFIXname sections").
 */
int skeys_image_note_skeys(struct skeys_image *img, const struct skeys_section *s,
			   const char *prefix, char *err, size_t errlen);
/* For readers: sort and deduplicate the section and symbol arrays. */
int skeys_image_finish(struct skeys_image *img, char *err, size_t errlen);
/*
 * For readers of formats without symbol sizes (COFF, Mach-O), after
 * skeys_image_finish(): a function runs to the next one or its section's end.
 */
void skeys_image_func_sizes(struct skeys_image *img);

/*
 * The readers, for the registry: skeys_format_NAME for each NAME of
 * SKEYS_FORMAT_LIST(X), generated from formats/meson.build's list.
 */
#include "format-list.h"
#define SKEYS_FORMAT_EXTERN(name) extern const struct skeys_format skeys_format_##name;
SKEYS_FORMAT_LIST(SKEYS_FORMAT_EXTERN)
#undef SKEYS_FORMAT_EXTERN

/* The PE checksum of `len` bytes, the 4 at `field` counting as zero. */
uint32_t skeys_pe_checksum(const uint8_t *b, size_t len, size_t field);

#endif
