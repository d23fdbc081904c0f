/* SPDX-License-Identifier: MIT */
/*
 * Mach-O reader: 64-bit little-endian images (x86_64, arm64) and universal
 * (fat) files holding them, one image per slice. Load commands, sections and
 * the nlist symbol table are bounds-checked against the file before use.
 *
 * Sealing a signed image: an ad-hoc signature (what ld64 and ld64.lld put
 * on every arm64 image) has its page hashes recomputed; any other signature
 * is refused, since only its owner can sign again.
 */
#include "../format.h"

#include "arch.h"
#include "sha256.h"
#include "table.h"
#include <skeys/abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	char (*names)[17]; /* section names, terminated */
	struct macho_segment *segs; /* with file bytes, for the overlap check */
	size_t n_segs, cap_segs;
	uint32_t sig_off, sig_size; /* LC_CODE_SIGNATURE, 0 when unsigned */
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static bool in_file(const struct skeys_image *img, uint64_t off, uint64_t len)
{
	return off <= img->len && len <= img->len - off;
}

static bool macho_probe(const uint8_t *buf, size_t len)
{
	uint32_t n;

	if (len < 8)
		return false;
	/* Every Mach-O magic, so that the ones not read get a message of their own. */
	if (le32(buf) == MH_MAGIC_64 || le32(buf) == MH_MAGIC || be32(buf) == MH_MAGIC_64 ||
	    be32(buf) == MH_MAGIC)
		return true;
	/*
	 * 0xcafebabe also starts Java class files, whose next word is their
	 * version, 45 or more; anything below is a universal file, even a bad one.
	 */
	n = be32(buf + 4);
	return (be32(buf) == FAT_MAGIC || be32(buf) == FAT_MAGIC_64) && n < JAVA_MIN_MAJOR;
}

/* ---- one image ------------------------------------------------------------ */

static unsigned sect_flags(uint32_t flags, uint32_t initprot)
{
	unsigned f = SKEYS_SEC_ALLOC, type = flags & 0xff;

	if (initprot & VM_PROT_WRITE)
		f |= SKEYS_SEC_WRITE;
	if ((initprot & VM_PROT_EXECUTE) &&
	    (flags & (S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS)))
		f |= SKEYS_SEC_EXEC;
	if (type == S_ZEROFILL || type == S_GB_ZEROFILL || type == S_THREAD_LOCAL_ZEROFILL)
		f |= SKEYS_SEC_NOBITS;
	return f;
}

static int note_skeys(struct skeys_image *img, const struct skeys_section *s,
		      const char *segname, char *err, size_t errlen)
{
	bool *has;
	struct skeys_section *dst;

	if (strcmp(segname, "__DATA"))
		return 0;
	if (!strcmp(s->name, SKEYS_SECTION_TABLE)) {
		has = &img->has_table;
		dst = &img->table;
	} else if (!strcmp(s->name, SKEYS_SECTION_HEADER)) {
		has = &img->has_header;
		dst = &img->header;
	} else {
		return 0;
	}
	if (*has)
		FAIL("two __DATA,%s sections", s->name);
	*has = true;
	*dst = *s;
	return 0;
}

static int read_segment(struct skeys_image *img, const uint8_t *lc, uint32_t cmdsize,
			char *err, size_t errlen)
{
	struct macho_priv *p = img->priv;
	uint32_t nsects, initprot, i;
	char segname[17] = { 0 };
	struct skeys_section *ns;
	uint64_t vmaddr, vmsize, fileoff, filesize;

	/* Nothing past the command's own size is read before it is known to fit. */
	if (cmdsize < SEG64)
		FAIL("segment command of %u bytes, shorter than the %u a segment takes", cmdsize,
		     (unsigned)SEG64);
	nsects = le32(lc + 64);
	initprot = le32(lc + 60);
	memcpy(segname, lc + 8, 16);
	vmaddr = le64(lc + 24);
	vmsize = le64(lc + 32);
	fileoff = le64(lc + 40);
	filesize = le64(lc + 48);
	if (nsects > (cmdsize - SEG64) / SECT64)
		FAIL("segment %s: %u sections do not fit its load command", segname, nsects);
	if (!in_file(img, fileoff, filesize))
		FAIL("truncated: segment %s [0x%llx, +0x%llx) extends past the end of the file "
		     "(0x%zx bytes)", segname, (unsigned long long)fileoff,
		     (unsigned long long)filesize, img->len);
	if (vmaddr + vmsize < vmaddr)
		FAIL("segment %s wraps around the address space", segname);
	if (filesize > vmsize)
		FAIL("segment %s maps 0x%llx file bytes into 0x%llx bytes of memory", segname,
		     (unsigned long long)filesize, (unsigned long long)vmsize);
	if (filesize && p->n_segs == p->cap_segs) {
		/* Doubling: a hostile file may hold a million segment commands. */
		size_t cap = p->cap_segs ? 2 * p->cap_segs : 8;
		struct macho_segment *segs = realloc(p->segs, cap * sizeof(*segs));

		if (!segs)
			FAIL("out of memory");
		p->segs = segs;
		p->cap_segs = cap;
	}
	if (filesize) {
		struct macho_segment *segs = p->segs;

		memcpy(segs[p->n_segs].name, segname, sizeof(segname));
		segs[p->n_segs].fileoff = fileoff;
		segs[p->n_segs++].filesize = filesize;
	}
	ns = realloc(img->sections, (img->n_sections + nsects + 1) * sizeof(*ns));
	if (!ns)
		FAIL("out of memory");
	img->sections = ns;
	for (i = 0; i < nsects; i++) {
		const uint8_t *h = lc + SEG64 + (size_t)i * SECT64;
		char (*names)[17] = realloc(p->names, (img->n_sections + 1) * sizeof(*names));
		struct skeys_section s;

		if (!names)
			FAIL("out of memory");
		p->names = names;
		/* names[] may move as it grows: section names are set once it is whole. */
		memset(names[img->n_sections], 0, 17);
		memcpy(names[img->n_sections], h, 16);
		s.name = NULL;
		s.addr = le64(h + 32);
		s.size = le64(h + 40);
		s.offset = le32(h + 48);
		s.flags = sect_flags(le32(h + 64), initprot);
		if (!(s.flags & SKEYS_SEC_NOBITS) && s.size && !in_file(img, s.offset, s.size))
			FAIL("truncated: section %s,%s [0x%llx, +0x%llx) extends past the end of "
			     "the file (0x%zx bytes)", segname, names[img->n_sections],
			     (unsigned long long)s.offset, (unsigned long long)s.size, img->len);
		if (s.addr + s.size < s.addr)
			FAIL("section %s wraps around the address space", names[img->n_sections]);
		/*
		 * The loader maps segments, not sections: a section's bytes are
		 * what its segment maps at its address, or the tools would read
		 * (and seal) other bytes than the ones that run.
		 */
		if (s.size && (s.addr < vmaddr || s.addr - vmaddr > vmsize ||
			       s.size > vmsize - (s.addr - vmaddr)))
			FAIL("section %s,%s [0x%llx, +0x%llx) lies outside segment %s "
			     "[0x%llx, +0x%llx)", segname, names[img->n_sections],
			     (unsigned long long)s.addr, (unsigned long long)s.size, segname,
			     (unsigned long long)vmaddr, (unsigned long long)vmsize);
		if (!(s.flags & SKEYS_SEC_NOBITS) && s.size &&
		    (s.offset != fileoff + (s.addr - vmaddr) ||
		     s.addr - vmaddr + s.size > filesize))
			FAIL("section %s,%s at file offset 0x%llx is not what segment %s maps at "
			     "0x%llx (file offset 0x%llx)", segname, names[img->n_sections],
			     (unsigned long long)s.offset, segname, (unsigned long long)s.addr,
			     (unsigned long long)(fileoff + (s.addr - vmaddr)));
		s.name = names[img->n_sections];
		if (note_skeys(img, &s, segname, err, errlen))
			return -1;
		img->sections[img->n_sections++] = s;
	}
	return 0;
}

static int read_symbols(struct skeys_image *img, const uint8_t *lc, char *err,
			size_t errlen)
{
	uint32_t symoff = le32(lc + 8), nsyms = le32(lc + 12);
	uint32_t stroff = le32(lc + 16), strsize = le32(lc + 20), i;
	const char *str = (const char *)img->buf + stroff;

	if (!in_file(img, symoff, (uint64_t)nsyms * NLIST64) || !in_file(img, stroff, strsize))
		FAIL("truncated: the symbol table extends past the end of the file (0x%zx bytes)",
		     img->len);
	img->funcs = calloc(nsyms ? nsyms : 1, sizeof(*img->funcs));
	img->objects = calloc(nsyms ? nsyms : 1, sizeof(*img->objects));
	if (!img->funcs || !img->objects)
		FAIL("out of memory");
	for (i = 0; i < nsyms; i++) {
		const uint8_t *n = img->buf + symoff + (size_t)i * NLIST64;
		uint32_t strx = le32(n);
		uint8_t type = n[4], sect = n[5];
		struct skeys_symbol s;

		if ((type & N_STAB) || (type & N_TYPE) != N_SECT || sect == 0 ||
		    sect > img->n_sections || strx >= strsize ||
		    !memchr(str + strx, 0, strsize - strx))
			continue;
		/* C names carry a leading underscore; others are assembler labels. */
		if (str[strx] != '_' || str[strx + 1] == 0)
			continue;
		s.name = str + strx + 1;
		s.addr = le64(n + 8);
		s.size = 0;
		s.rank = (type & N_EXT) ? 0 : 1;
		/* Section numbers count sections in load-command order, from 1. */
		if (img->sections[sect - 1].flags & SKEYS_SEC_EXEC)
			img->funcs[img->n_funcs++] = s;
		else
			img->objects[img->n_objects++] = s;
	}
	return 0;
}

static int segment_cmp(const void *a, const void *b)
{
	const struct macho_segment *x = a, *y = b;

	return (x->fileoff > y->fileoff) - (x->fileoff < y->fileoff);
}

/* Segments map disjoint file bytes, so no two sections alias each other. */
static int segments_disjoint(struct skeys_image *img, char *err, size_t errlen)
{
	struct macho_priv *p = img->priv;
	size_t i;

	if (p->n_segs)
		qsort(p->segs, p->n_segs, sizeof(*p->segs), segment_cmp);
	for (i = 1; i < p->n_segs; i++) {
		const struct macho_segment *a = &p->segs[i - 1], *b = &p->segs[i];

		if (b->fileoff - a->fileoff < a->filesize)
			FAIL("segments %s and %s share file bytes from 0x%llx", a->name, b->name,
			     (unsigned long long)b->fileoff);
	}
	return 0;
}

/*
 * The embedded signature: a superblob of blobs, each inside it, and the code
 * directory's page hashes inside the code directory, covering the file up to
 * the signature. skeys-seal rewrites those hashes in place, so they must lie
 * where this says, and nowhere near a section. A signature that breaks
 * this is damaged: macOS would refuse the file too.
 */
static int signature_check(struct skeys_image *img, char *err, size_t errlen)
{
	const struct macho_priv *p = img->priv;
	const uint8_t *sb = img->buf + p->sig_off;
	uint32_t count, i;
	size_t k;

	for (k = 0; k < img->n_sections; k++) {
		const struct skeys_section *s = &img->sections[k];

		if (!(s->flags & SKEYS_SEC_NOBITS) &&
		    s->offset < p->sig_off + (uint64_t)p->sig_size &&
		    p->sig_off < s->offset + s->size)
			FAIL("the code signature [0x%x, +0x%x) overlaps section %s", p->sig_off,
			     p->sig_size, s->name);
	}
	if (p->sig_size < 12 || be32(sb) != CSMAGIC_EMBEDDED_SIGNATURE)
		FAIL("the code signature at 0x%x is not an embedded signature (magic 0x%x, "
		     "expected 0x%x)", p->sig_off, p->sig_size >= 4 ? be32(sb) : 0,
		     CSMAGIC_EMBEDDED_SIGNATURE);
	count = be32(sb + 8);
	if (count > (p->sig_size - 12) / 8)
		FAIL("the code signature lists %u blobs, more than its 0x%x bytes hold", count,
		     p->sig_size);
	for (i = 0; i < count; i++) {
		uint32_t type = be32(sb + 12 + (size_t)8 * i), off = be32(sb + 16 + (size_t)8 * i);
		const uint8_t *cd = sb + off;
		uint32_t len, hash_off, n_code, limit;

		if (off > p->sig_size - 8 || be32(sb + off + 4) > p->sig_size - off ||
		    be32(sb + off + 4) < 8)
			FAIL("code signature blob %u (type 0x%x) at +0x%x does not fit the "
			     "signature's 0x%x bytes", i, type, off, p->sig_size);
		if (type != CSSLOT_CODEDIRECTORY || be32(cd) != CSMAGIC_CODEDIRECTORY)
			continue;
		len = be32(cd + 4);
		if (len < 44)
			FAIL("code directory of %u bytes, shorter than its 44-byte header", len);
		hash_off = be32(cd + 16);
		n_code = be32(cd + 28);
		limit = be32(cd + 32);
		if (hash_off > len || (uint64_t)n_code * cd[36] > len - hash_off)
			FAIL("code directory: %u hashes of %u bytes at +0x%x do not fit its 0x%x "
			     "bytes", n_code, cd[36], hash_off, len);
		if (limit > p->sig_off)
			FAIL("code directory: code limit 0x%x is past the signature at 0x%x",
			     limit, p->sig_off);
	}
	return 0;
}

static int macho_open_thin(struct skeys_image *img, char *err, size_t errlen)
{
	const uint8_t *b = img->buf;
	struct macho_priv *p;
	uint32_t cputype, filetype, ncmds, sizeofcmds, i;
	size_t k;
	uint64_t off = HDR64;
	const uint8_t *symtab = NULL;

	if (!in_file(img, 0, HDR64))
		FAIL("truncated: shorter than a Mach-O header");
	cputype = le32(b + 4);
	filetype = le32(b + 12);
	ncmds = le32(b + 16);
	sizeofcmds = le32(b + 20);
	img->arch = skeys_arch_by_macho(cputype);
	if (!img->arch)
		FAIL("unsupported machine (Mach-O cputype 0x%x)", cputype);
	if (filetype != MH_EXECUTE && filetype != MH_DYLIB && filetype != MH_BUNDLE)
		FAIL("Mach-O file type %u is not an executable, dylib or bundle", filetype);
	if (!in_file(img, HDR64, sizeofcmds))
		FAIL("truncated: the load commands [0x%x, +0x%x) extend past the end of the "
		     "file (0x%zx bytes)", HDR64, sizeofcmds, img->len);
	p = calloc(1, sizeof(*p));
	if (!p)
		FAIL("out of memory");
	img->priv = p;
	img->bounds_at_load = true;
	for (i = 0; i < ncmds; i++) {
		const uint8_t *lc = b + off;
		uint32_t cmd, cmdsize;

		if (off + 8 > HDR64 + (uint64_t)sizeofcmds)
			FAIL("load command %u lies outside the load commands", i);
		cmd = le32(lc);
		cmdsize = le32(lc + 4);
		if (cmdsize < 8 || off + cmdsize > HDR64 + (uint64_t)sizeofcmds)
			FAIL("load command %u (0x%x) has a bad size %u", i, cmd, cmdsize);
		/* mach-o/loader.h: 64-bit load commands are multiples of 8 bytes. */
		if (cmdsize % 8)
			FAIL("load command %u (0x%x) has a bad size %u: not a multiple of 8", i,
			     cmd, cmdsize);
		if (cmd == LC_SEGMENT_64 && read_segment(img, lc, cmdsize, err, errlen))
			return -1;
		if (cmd == LC_SYMTAB && cmdsize >= 24)
			symtab = lc;
		if (cmd == LC_CODE_SIGNATURE && cmdsize >= 16) {
			p->sig_off = le32(lc + 8);
			p->sig_size = le32(lc + 12);
			if (!in_file(img, p->sig_off, p->sig_size))
				FAIL("truncated: the code signature extends past the end of the file");
		}
		off += cmdsize;
	}
	/* names[] moved while it grew: point the sections at their final names. */
	for (i = 0; i < img->n_sections; i++)
		img->sections[i].name = p->names[i];
	img->table.name = SKEYS_SECTION_TABLE;
	img->header.name = SKEYS_SECTION_HEADER;
	if (segments_disjoint(img, err, errlen))
		return -1;
	if (symtab && read_symbols(img, symtab, err, errlen))
		return -1;
	/*
	 * Empty sections (a __la_symbol_ptr with nothing in it) map nothing;
	 * format.h promises none. Dropped only now: symbols number sections
	 * in load-command order, empty ones included.
	 */
	for (i = 0, k = 0; i < img->n_sections; i++)
		if (img->sections[i].size)
			img->sections[k++] = img->sections[i];
	img->n_sections = k;
	if (skeys_image_finish(img, err, errlen))
		return -1;
	if (p->sig_size && signature_check(img, err, errlen))
		return -1;
	skeys_image_func_sizes(img);
	return 0;
}

/* ---- universal files ------------------------------------------------------- */

static int macho_open_fat(struct skeys_image *img, char *err, size_t errlen)
{
	const uint8_t *b = img->buf;
	bool wide = be32(b) == FAT_MAGIC_64;
	uint32_t n = be32(b + 4), i, j;
	size_t entsize = wide ? 32 : 20;

	if (!n)
		FAIL("the universal header lists no slices");
	if (n > FAT_MAX_SLICES)
		FAIL("the universal header lists %u slices, more than %u", n,
		     (unsigned)FAT_MAX_SLICES);
	if (!in_file(img, 8, (uint64_t)n * entsize))
		FAIL("truncated: the universal header lists %u slices past the end of the file",
		     n);
	img->slices = calloc(n, sizeof(struct skeys_image *));
	if (!img->slices)
		FAIL("out of memory");
	for (i = 0; i < n; i++) {
		const uint8_t *a = b + 8 + (size_t)i * entsize;
		uint64_t off = wide ? be64(a + 8) : be32(a + 8);
		uint64_t size = wide ? be64(a + 16) : be32(a + 12);
		char sub[SKEYS_ERR_LEN];
		struct skeys_image *s;

		uint32_t align = be32(a + (wide ? 24 : 16));

		if (!in_file(img, off, size))
			FAIL("truncated: slice %u [0x%llx, +0x%llx) extends past the end of the "
			     "file (0x%zx bytes)", i, (unsigned long long)off,
			     (unsigned long long)size, img->len);
		if (off < 8 + (uint64_t)n * entsize)
			FAIL("slice %u at 0x%llx overlaps the universal header", i,
			     (unsigned long long)off);
		if (align > FAT_MAX_ALIGN || off % ((uint64_t)1 << align))
			FAIL("slice %u at 0x%llx is not aligned to 2^%u, as the universal header "
			     "says it is", i, (unsigned long long)off, align);
		/* Sealing one slice must not rewrite another's bytes. */
		for (j = 0; j < i; j++) {
			const uint8_t *o = b + 8 + (size_t)j * entsize;
			uint64_t o_off = wide ? be64(o + 8) : be32(o + 8);
			uint64_t o_size = wide ? be64(o + 16) : be32(o + 12);

			if (off < o_off + o_size && o_off < off + size)
				FAIL("slices %u and %u overlap in the file", j, i);
		}
		if (size < 4 || le32(b + off) != MH_MAGIC_64)
			FAIL("slice %u (cputype 0x%x) is not a 64-bit little-endian Mach-O image",
			     i, be32(a));
		s = calloc(1, sizeof(*s));
		if (!s)
			FAIL("out of memory");
		img->slices[img->n_slices++] = s;
		s->format = img->format;
		s->buf = b + off;
		s->len = size;
		s->slice_offset = off;
		if (macho_open_thin(s, sub, sizeof(sub)))
			FAIL("slice %u: %s", i, sub);
		if (be32(a) != le32(s->buf + 4))
			FAIL("slice %u: the universal header says cputype 0x%x, the image 0x%x", i,
			     be32(a), le32(s->buf + 4));
	}
	return 0;
}

static int macho_open(struct skeys_image *img, char *err, size_t errlen)
{
	/* The registry probes first; a reader called directly (fuzzing) must not trust it. */
	if (!macho_probe(img->buf, img->len)) {
		snprintf(err, errlen, "not a Mach-O file or universal file");
		return -1;
	}
	if (le32(img->buf) == MH_MAGIC_64)
		return macho_open_thin(img, err, errlen);
	if (le32(img->buf) == MH_MAGIC || be32(img->buf) == MH_MAGIC_64 ||
	    be32(img->buf) == MH_MAGIC) {
		snprintf(err, errlen, "%s-endian %s-bit Mach-O image: only 64-bit little-endian "
			 "images (x86_64, arm64) are read",
			 le32(img->buf) == MH_MAGIC ? "little" : "big",
			 be32(img->buf) == MH_MAGIC_64 ? "64" : "32");
		return -1;
	}
	return macho_open_fat(img, err, errlen);
}

static void macho_close(struct skeys_image *img)
{
	struct macho_priv *p = img->priv;

	if (!p)
		return;
	free(p->names);
	free(p->segs);
	free(p);
	img->priv = NULL;
}

/* ---- sealing: table bounds and the code signature ----------------------- */

/* The code directory of an embedded signature, or NULL; sets *cms when signed for real. */
static const uint8_t *code_directory(const struct skeys_image *img, bool *cms)
{
	const struct macho_priv *p = img->priv;
	const uint8_t *sb = img->buf + p->sig_off, *cd = NULL;
	uint32_t count, i;

	*cms = false;
	if (p->sig_size < 12 || be32(sb) != CSMAGIC_EMBEDDED_SIGNATURE)
		return NULL;
	count = be32(sb + 8);
	if (count > (p->sig_size - 12) / 8)
		return NULL;
	for (i = 0; i < count; i++) {
		uint32_t type = be32(sb + 12 + (size_t)8 * i), off = be32(sb + 16 + (size_t)8 * i);

		if (off > p->sig_size - 8)
			return NULL;
		if (type == CSSLOT_CODEDIRECTORY && be32(sb + off) == CSMAGIC_CODEDIRECTORY &&
		    be32(sb + off + 4) <= p->sig_size - off && be32(sb + off + 4) >= 44)
			cd = sb + off;
		if (type == CSSLOT_SIGNATURESLOT && be32(sb + off + 4) > 8)
			*cms = true;
	}
	return cd;
}

static int seal_prepare_one(const struct skeys_image *img, char *err, size_t errlen)
{
	const struct macho_priv *p = img->priv;
	const uint8_t *cd;
	bool cms;

	if (!p->sig_size)
		return 0;
	cd = code_directory(img, &cms);
	if (!cd)
		FAIL("the code signature cannot be read: sealing would invalidate it");
	if (cms || !(be32(cd + 12) & CS_ADHOC))
		FAIL("the file is signed (not ad hoc), and sealing would break the signature: "
		     "run skeys-seal before codesign");
	if (cd[37] != CS_HASHTYPE_SHA256 || cd[36] != 32 || cd[39] < 9 || cd[39] > 20)
		FAIL("ad-hoc signature with hash type %u, page size 2^%u: only SHA-256 is "
		     "updated", cd[37], cd[39]);
	return 0;
}

static int macho_seal_prepare(const struct skeys_image *img, char *err, size_t errlen)
{
	char sub[SKEYS_ERR_LEN];
	size_t i;

	if (!img->n_slices)
		return seal_prepare_one(img, err, errlen);
	for (i = 0; i < img->n_slices; i++)
		if (seal_prepare_one(img->slices[i], sub, sizeof(sub)))
			FAIL("slice %zu (%s): %s", i, img->slices[i]->arch->name, sub);
	return 0;
}

/* Rehash the pages of an ad-hoc signature; `out` is this image's bytes. */
static void rehash(const struct skeys_image *img, uint8_t *out)
{
	const struct macho_priv *p = img->priv;
	const uint8_t *cd;
	uint32_t hash_off, n_code, limit, i;
	size_t page, cd_off;
	bool cms;

	cd = code_directory(img, &cms);
	if (!p->sig_size || !cd)
		return;
	cd_off = (size_t)(cd - img->buf);
	hash_off = be32(cd + 16);
	n_code = be32(cd + 28);
	limit = be32(cd + 32);
	page = (size_t)1 << cd[39];
	if (limit > img->len || hash_off > be32(cd + 4) ||
	    n_code > (be32(cd + 4) - hash_off) / 32)
		return;
	for (i = 0; i < n_code && (size_t)i * page < limit; i++) {
		size_t at = (size_t)i * page, len = limit - at < page ? limit - at : page;

		skeys_sha256(out + at, len, out + cd_off + hash_off + (size_t)i * 32);
	}
}

static void seal_finish_one(const struct skeys_image *img, uint8_t *out)
{
	uint8_t *p = out + img->header.offset;
	struct skeys_header h;

	/* The bounds the module's constructor computes, so the file says it too. */
	if (img->has_header && img->has_table) {
		skeys_header_set_bounds(&h, img->header.addr, img->table.addr,
					img->table.addr + img->table.size);
		skeys_image_put32(img, p + offsetof(struct skeys_header, start), (uint32_t)h.start);
		skeys_image_put32(img, p + offsetof(struct skeys_header, stop), (uint32_t)h.stop);
	}
	rehash(img, out);
}

static void macho_seal_finish(const struct skeys_image *img, uint8_t *out)
{
	size_t i;

	if (!img->n_slices) {
		seal_finish_one(img, out);
		return;
	}
	for (i = 0; i < img->n_slices; i++)
		seal_finish_one(img->slices[i], out + img->slices[i]->slice_offset);
}

const struct skeys_format skeys_format_macho = {
	.name = "macho",
	.probe = macho_probe,
	.open = macho_open,
	.close = macho_close,
	.seal_prepare = macho_seal_prepare,
	.seal_finish = macho_seal_finish,
};
