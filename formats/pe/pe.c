/* SPDX-License-Identifier: MIT */
/*
 * PE/COFF reader: the headers, the section table and the COFF symbol table
 * that mingw-w64 linkers keep, all bounds-checked against the file before
 * anything is read. The skeys table is the `.skeys` section: the module
 * header (40, 48 or 80 bytes, as it says), then the entries up to its
 * VirtualSize (the raw size is padded to the file alignment).
 */
#include "../format.h"

#include "arch.h"
#include <skeys/abi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	DOS_LFANEW = 0x3c,
	COFF_HDR = 20,
	SEC_HDR = 40,
	SYM_SIZE = 18,
	OPT_MAGIC_PE32 = 0x10b,
	OPT_MAGIC_PE32P = 0x20b,
	OPT_SIZE_OF_IMAGE = 56,
	OPT_SIZE_OF_HEADERS = 60,
	OPT_CHECKSUM = 64,
	DIR_SECURITY = 4,
	SCN_CNT_CODE = 0x20,
	SCN_MEM_DISCARDABLE = 0x02000000,
	SCN_MEM_EXECUTE = 0x20000000,

	SYM_CLASS_EXTERNAL = 2,
	SYM_CLASS_STATIC = 3,
	SYM_DTYPE_FUNCTION = 0x20,
	COFF_MACHINE_I386 = 0x14c,
};

#define PE_SECTION ".skeys"
#define PE_CALLS_SECTION ".skeysc" /* the static calls' header and table (<skeys/format/coff.h>) */
#define SCN_MEM_WRITE 0x80000000u

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		return -1;                                                     \
	} while (0)

struct pe_priv {
	char (*names)[9]; /* short section names, terminated */
	char (*symnames)[9]; /* short symbol names, terminated */
	uint64_t image_base;
	uint32_t size_of_image, size_of_headers;
	uint32_t n_scns;
	const uint8_t *scns; /* section headers in the file */
	const uint8_t *strtab;
	uint32_t strtab_len;
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool in_file(const struct skeys_image *img, uint64_t off, uint64_t len)
{
	return off <= img->len && len <= img->len - off;
}

static bool pe_probe(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[0] == 'M' && buf[1] == 'Z';
}

/* Where the PE headers are; shared by the reader and the seal hooks. */
struct pe_layout {
	uint32_t coff;      /* file offset of the COFF file header */
	uint32_t opt;       /* of the optional header */
	uint16_t opt_size;
	uint16_t magic;
	uint32_t n_dirs;
	uint32_t dirs;      /* of the data directories */
};

static int pe_layout(const struct skeys_image *img, struct pe_layout *l, char *err,
		     size_t errlen)
{
	const uint8_t *b = img->buf;
	uint32_t lfanew, dir_at;

	if (!in_file(img, 0, 64))
		FAIL("truncated: shorter than a DOS header");
	lfanew = le32(b + DOS_LFANEW);
	if (!in_file(img, lfanew, 4 + COFF_HDR))
		FAIL("truncated or not PE: the PE header at 0x%x is past the end of the "
		     "file (0x%zx bytes)", lfanew, img->len);
	if (memcmp(b + lfanew, "PE\0\0", 4))
		FAIL("an MZ file without a PE signature (DOS program?)");
	l->coff = lfanew + 4;
	l->opt = l->coff + COFF_HDR;
	l->opt_size = le16(b + l->coff + 16);
	if (l->opt_size < 2)
		FAIL("optional header of %u bytes is too short", l->opt_size);
	if (!in_file(img, l->opt, l->opt_size))
		FAIL("truncated: the optional header [0x%x, +0x%x) extends past the end of the "
		     "file (0x%zx bytes)", l->opt, l->opt_size, img->len);
	l->magic = le16(b + l->opt);
	if (l->magic != OPT_MAGIC_PE32 && l->magic != OPT_MAGIC_PE32P)
		FAIL("optional header magic 0x%x is neither PE32 nor PE32+", l->magic);
	dir_at = l->magic == OPT_MAGIC_PE32P ? 112 : 96;
	if (l->opt_size < dir_at)
		FAIL("optional header of %u bytes is too short", l->opt_size);
	l->n_dirs = le32(b + l->opt + dir_at - 4);
	l->dirs = l->opt + dir_at;
	if (l->n_dirs > (l->opt_size - dir_at) / 8u)
		l->n_dirs = (l->opt_size - dir_at) / 8u;
	return 0;
}

static const char *scn_name(struct skeys_image *img, uint32_t i)
{
	struct pe_priv *p = img->priv;
	const uint8_t *h = p->scns + (size_t)i * SEC_HDR;
	unsigned long off;
	char *end;

	memcpy(p->names[i], h, 8);
	p->names[i][8] = 0;
	/* "/123": a long name in the COFF string table (unset in stripped files). */
	if (p->names[i][0] == '/' && p->strtab) {
		off = strtoul(p->names[i] + 1, &end, 10);
		if (*end == 0 && end != p->names[i] + 1 && off >= 4 && off < p->strtab_len &&
		    memchr(p->strtab + off, 0, p->strtab_len - off))
			return (const char *)p->strtab + off;
	}
	return p->names[i];
}

static unsigned scn_flags(uint32_t c)
{
	unsigned f = (c & SCN_MEM_DISCARDABLE) ? 0 : SKEYS_SEC_ALLOC;

	if (c & SCN_MEM_WRITE)
		f |= SKEYS_SEC_WRITE;
	if (c & (SCN_MEM_EXECUTE | SCN_CNT_CODE))
		f |= SKEYS_SEC_EXEC;
	return f;
}

static int note_skeys(struct skeys_image *img, const struct skeys_section *s, char *err,
		      size_t errlen)
{
	uint16_t hsize;

	if (strcmp(s->name, PE_SECTION))
		return 0;
	if (img->has_header)
		FAIL("two %s sections", PE_SECTION);
	if (s->flags & SKEYS_SEC_NOBITS)
		FAIL("section %s has no contents in the file", PE_SECTION);
	if (s->size < SKEYS_HEADER_SIZE_V1)
		FAIL("section %s is %llu bytes, shorter than the %u-byte module header",
		     PE_SECTION, (unsigned long long)s->size, SKEYS_HEADER_SIZE_V1);
	/*
	 * The header says its size: with the function entries part and the
	 * names table's bounds, with the names' only, or with neither.
	 */
	hsize = SKEYS_HEADER_SIZE_V1;
	if (in_file(img, s->offset, SKEYS_HEADER_SIZE_V1)) {
		uint16_t said = le16(img->buf + s->offset + offsetof(struct skeys_header, header_size));

		if ((said == SKEYS_HEADER_SIZE_NAMES || said == SKEYS_HEADER_SIZE_ENTRIES) &&
		    s->size >= said)
			hsize = said;
	}
	img->has_header = img->has_table = true;
	img->header = *s;
	img->header.size = hsize;
	img->table = *s;
	img->table.addr += hsize;
	img->table.offset += hsize;
	img->table.size -= hsize;
	return 0;
}

static int section_table(struct skeys_image *img, const struct pe_layout *l, char *err,
			 size_t errlen)
{
	struct pe_priv *p = img->priv;
	uint32_t at = l->opt + l->opt_size;

	p->n_scns = le16(img->buf + l->coff + 2);
	if (!in_file(img, at, (uint64_t)p->n_scns * SEC_HDR))
		FAIL("truncated: the section table [0x%x, +%u x %u) extends past the end "
		     "of the file (0x%zx bytes)", at, p->n_scns, (unsigned)SEC_HDR, img->len);
	/* The loader maps SizeOfHeaders bytes; a table past them is not what it reads. */
	if (at + (uint64_t)p->n_scns * SEC_HDR > p->size_of_headers)
		FAIL("section table [0x%x, +%u x %u) extends past the headers "
		     "(SizeOfHeaders 0x%x)", at, p->n_scns, (unsigned)SEC_HDR,
		     p->size_of_headers);
	p->scns = img->buf + at;
	return 0;
}

static int file_range_cmp(const void *a, const void *b)
{
	const struct skeys_section *x = a, *y = b;

	return (x->offset > y->offset) - (x->offset < y->offset);
}

/*
 * No two sections, and no section and the headers, share file bytes:
 * skeys-seal writes the table section in place, and must not rewrite code
 * or headers that happen to alias it. Sorted by offset, so that a file with
 * 65535 sections is checked in n log n.
 */
static int check_file_ranges(struct skeys_image *img, char *err, size_t errlen)
{
	const struct pe_priv *p = img->priv;
	struct skeys_section *by_off;
	size_t i, n = 0;

	/* One more for .skeys, which is in no list of mapped sections when discardable. */
	by_off = calloc(img->n_sections + 1, sizeof(struct skeys_section));
	if (!by_off)
		FAIL("out of memory");
	for (i = 0; i < img->n_sections; i++)
		if (!(img->sections[i].flags & SKEYS_SEC_NOBITS))
			by_off[n++] = img->sections[i];
	if (img->has_header && !(img->header.flags & SKEYS_SEC_ALLOC))
		by_off[n++] = img->header;
	qsort(by_off, n, sizeof(struct skeys_section), file_range_cmp);
	for (i = 0; i < n; i++) {
		const struct skeys_section *s = &by_off[i], *next = &by_off[i + 1];

		if (s->offset < p->size_of_headers) {
			snprintf(err, errlen, "section %s: file bytes [0x%llx, +0x%llx) overlap "
				 "the headers (0x%x bytes)", s->name,
				 (unsigned long long)s->offset, (unsigned long long)s->size,
				 p->size_of_headers);
			break;
		}
		if (i + 1 < n && next->offset - s->offset < s->size) {
			uint64_t end = s->offset + s->size, next_end = next->offset + next->size;

			snprintf(err, errlen, "sections %s and %s share file bytes "
				 "[0x%llx, 0x%llx)", s->name, next->name,
				 (unsigned long long)next->offset,
				 (unsigned long long)(end < next_end ? end : next_end));
			break;
		}
	}
	free(by_off);
	return i < n ? -1 : 0;
}

static int read_sections(struct skeys_image *img, char *err, size_t errlen)
{
	struct pe_priv *p = img->priv;
	uint32_t i;

	p->names = calloc(p->n_scns ? p->n_scns : 1, sizeof(*p->names));
	/* A section can become two: its file bytes and its zero-filled tail. */
	img->sections = calloc(p->n_scns ? 2 * p->n_scns : 1, sizeof(*img->sections));
	if (!p->names || !img->sections)
		FAIL("out of memory");
	for (i = 0; i < p->n_scns; i++) {
		const uint8_t *h = p->scns + (size_t)i * SEC_HDR;
		uint32_t vsize = le32(h + 8), rva = le32(h + 12), raw = le32(h + 16);
		uint32_t raw_at = le32(h + 20), ch = le32(h + 36);
		struct skeys_section s = { .name = scn_name(img, i) };

		/* VirtualSize 0 means "the raw size" to some linkers. */
		if (!vsize)
			vsize = raw;
		if ((uint64_t)rva + vsize > UINT32_MAX)
			FAIL("section %s [RVA 0x%x, +0x%x) wraps past 4 GiB", s.name, rva, vsize);
		if (rva + vsize > p->size_of_image)
			FAIL("section %s [RVA 0x%x, +0x%x) ends past SizeOfImage 0x%x", s.name,
			     rva, vsize, p->size_of_image);
		s.addr = p->image_base + rva;
		s.flags = scn_flags(ch);
		s.offset = raw_at;
		s.size = vsize < raw ? vsize : raw;
		if (s.size && !in_file(img, raw_at, s.size))
			FAIL("truncated: section %s [0x%x, +0x%llx) extends past the end of "
			     "the file (0x%zx bytes)", s.name, raw_at,
			     (unsigned long long)s.size, img->len);
		if (s.size) {
			if (note_skeys(img, &s, err, errlen))
				return -1;
			if (s.flags & SKEYS_SEC_ALLOC)
				img->sections[img->n_sections++] = s;
		}
		if (vsize > s.size && (s.flags & SKEYS_SEC_ALLOC)) {
			s.addr += s.size;
			s.size = vsize - s.size;
			s.flags |= SKEYS_SEC_NOBITS;
			img->sections[img->n_sections++] = s;
		}
	}
	return 0;
}

static unsigned sym_rank(const char *name, uint8_t cls)
{
	if (name[0] == '.' || name[0] == '$')
		return 3; /* section and local labels name nothing a user wrote */
	return cls == SYM_CLASS_EXTERNAL ? 0 : 1;
}

static int read_symbols(struct skeys_image *img, const struct pe_layout *l, char *err,
			size_t errlen)
{
	struct pe_priv *p = img->priv;
	const uint8_t *b = img->buf;
	uint32_t at = le32(b + l->coff + 8), n = le32(b + l->coff + 12), i, aux;
	uint64_t str_at;

	if (!at)
		return 0; /* stripped */
	str_at = at + (uint64_t)n * SYM_SIZE;
	/*
	 * No symbols: `strip` (and lld) may still keep a string table for long
	 * section names. Read it if it is sound, else go on without it.
	 */
	if (!n) {
		if (in_file(img, str_at, 4) && le32(b + str_at) >= 4 &&
		    in_file(img, str_at, le32(b + str_at))) {
			p->strtab = b + str_at;
			p->strtab_len = le32(p->strtab);
		}
		return 0;
	}
	if (!in_file(img, at, (uint64_t)n * SYM_SIZE) || !in_file(img, str_at, 4))
		FAIL("truncated: the COFF symbol table [0x%x, +%u x %u) extends past the "
		     "end of the file (0x%zx bytes)", at, n, (unsigned)SYM_SIZE, img->len);
	p->strtab = b + str_at;
	p->strtab_len = le32(p->strtab);
	if (p->strtab_len < 4 || !in_file(img, str_at, p->strtab_len))
		FAIL("truncated: the COFF string table extends past the end of the file");
	img->funcs = calloc(n, sizeof(*img->funcs));
	img->objects = calloc(n, sizeof(*img->objects));
	p->symnames = calloc(n, sizeof(*p->symnames));
	if (!img->funcs || !img->objects || !p->symnames)
		FAIL("out of memory");
	/* A symbol is followed by its auxiliary records (s[17] of them): skipped. */
	for (i = 0; i < n; i += 1 + aux) {
		const uint8_t *s = b + at + (size_t)i * SYM_SIZE;
		int16_t scn = (int16_t)le16(s + 12);
		uint8_t cls = s[16];
		struct skeys_symbol sym;
		const char *name;

		aux = s[17];
		if (scn <= 0 || (uint32_t)scn > p->n_scns ||
		    (cls != SYM_CLASS_EXTERNAL && cls != SYM_CLASS_STATIC))
			continue;
		if (le32(s) == 0) {
			uint32_t off = le32(s + 4);

			if (off < 4 || off >= p->strtab_len ||
			    !memchr(p->strtab + off, 0, p->strtab_len - off))
				continue;
			name = (const char *)p->strtab + off;
		} else {
			/* Short names are not terminated when they use all 8 bytes. */
			memcpy(p->symnames[i], s, 8);
			name = p->symnames[i];
		}
		/* i386 COFF spells C names with a leading underscore; show the C name. */
		if (img->arch->coff_machine == COFF_MACHINE_I386 && name[0] == '_' && name[1])
			name++;
		sym.name = name;
		sym.addr = p->image_base + le32(p->scns + (size_t)(scn - 1) * SEC_HDR + 12) +
			   le32(s + 8);
		sym.size = 0;
		sym.rank = sym_rank(name, cls);
		if ((le16(s + 14) & 0xf0) == SYM_DTYPE_FUNCTION)
			img->funcs[img->n_funcs++] = sym;
		else if (name[0] != '.')
			img->objects[img->n_objects++] = sym;
	}
	return 0;
}

static int pe_open(struct skeys_image *img, char *err, size_t errlen)
{
	struct pe_layout l;
	struct pe_priv *p;
	uint16_t machine;

	if (pe_layout(img, &l, err, errlen))
		return -1;
	p = calloc(1, sizeof(*p));
	if (!p)
		FAIL("out of memory");
	img->priv = p;
	machine = le16(img->buf + l.coff);
	img->arch = skeys_arch_by_coff(machine);
	if (!img->arch)
		FAIL("unsupported machine (COFF machine 0x%x)", machine);
	if ((l.magic == OPT_MAGIC_PE32P) != (img->arch->elf_class == 2))
		FAIL("optional header magic 0x%x does not fit machine 0x%x", l.magic, machine);
	if (!(le16(img->buf + l.coff + 18) & 0x2))
		FAIL("object file, not an image: seal the linked EXE or DLL");
	p->image_base = l.magic == OPT_MAGIC_PE32P ? le64(img->buf + l.opt + 24)
						   : le32(img->buf + l.opt + 28);
	p->size_of_image = le32(img->buf + l.opt + OPT_SIZE_OF_IMAGE);
	p->size_of_headers = le32(img->buf + l.opt + OPT_SIZE_OF_HEADERS);
	if (p->size_of_headers > img->len)
		FAIL("truncated: SizeOfHeaders 0x%x extends past the end of the file "
		     "(0x%zx bytes)", p->size_of_headers, img->len);
	if (p->image_base + p->size_of_image < p->image_base)
		FAIL("ImageBase 0x%llx + SizeOfImage 0x%x wraps around the address space",
		     (unsigned long long)p->image_base, p->size_of_image);
	if (section_table(img, &l, err, errlen) || read_symbols(img, &l, err, errlen) ||
	    read_sections(img, err, errlen) || check_file_ranges(img, err, errlen) ||
	    skeys_image_finish(img, err, errlen))
		return -1;
	if (!img->has_header)
		FAIL("not built with skeys (no %s section)", PE_SECTION);
	skeys_image_func_sizes(img);
	return 0;
}

static void pe_close(struct skeys_image *img)
{
	struct pe_priv *p = img->priv;

	if (!p)
		return;
	free(p->names);
	free(p->symnames);
	free(p);
	img->priv = NULL;
}

/* ---- pointers to import thunks --------------------------------------------- */

/*
 * The import that the slot of the import address table at `slot` is
 * filled with, into out as "name+0x0"; false when no import descriptor's
 * table holds that slot (or the file is not sound about it).
 */
static bool import_at(const struct skeys_image *img, uint64_t slot, char *out, size_t len)
{
	const struct pe_priv *p = img->priv;
	struct pe_layout l;
	char err[SKEYS_ERR_LEN];
	unsigned ptr = img->arch->elf_class == 2 ? 8 : 4;
	const uint8_t *d;

	if (pe_layout(img, &l, err, sizeof(err)) || l.n_dirs < 2 || !le32(img->buf + l.dirs + 8))
		return false;
	/* Descriptors of 20 bytes (lookup table, -, -, DLL name, address table) up to a zero one. */
	for (uint64_t at = p->image_base + le32(img->buf + l.dirs + 8);
	     (d = skeys_image_bytes(img, at, 20)) && le32(d + 16); at += 20) {
		uint64_t iat = p->image_base + le32(d + 16);
		uint64_t ilt = p->image_base + (le32(d) ? le32(d) : le32(d + 16));
		uint64_t i = (slot - iat) / ptr, entry;
		const uint8_t *e, *hint;

		if (slot < iat || (slot - iat) % ptr)
			continue;
		/* Within this descriptor's table, which ends with a zero entry. */
		for (uint64_t k = 0; k <= i; k++) {
			const uint8_t *z = skeys_image_bytes(img, ilt + k * ptr, ptr);

			if (!z || !(ptr == 8 ? le64(z) : le32(z)))
				goto next;
		}
		e = skeys_image_bytes(img, ilt + i * ptr, ptr);
		entry = ptr == 8 ? le64(e) : le32(e);
		if (entry >> (8 * ptr - 1))
			return false; /* by ordinal: no name */
		hint = skeys_image_bytes(img, p->image_base + (uint32_t)entry, 3);
		if (!hint)
			return false;
		for (size_t n = 0; n < 256; n++) {
			const uint8_t *c = skeys_image_bytes(img, p->image_base + (uint32_t)entry + 2 + n, 1);

			if (!c)
				return false;
			if (!*c) {
				snprintf(out, len, "%.*s+0x0", (int)n, (const char *)hint + 2);
				return true;
			}
		}
		return false;
next:;
	}
	return false;
}

/*
 * A pointer of data at `addr` holds what the file says (the loader only
 * rebases it), except that one to an import thunk (x86: jmp through a
 * slot of the import address table, ff 25) is named after the import, as
 * the symbol table does not always name the thunk (lld).
 */
static int pe_pointer(const struct skeys_image *img, uint64_t addr, uint64_t *value, char *out,
		      size_t len)
{
	const uint8_t *t = skeys_image_bytes(img, *value, 6);
	uint64_t slot;

	(void)addr;
	if (!t || t[0] != 0xff || t[1] != 0x25)
		return 0;
	slot = img->arch->elf_class == 2 ? *value + 6 + (uint64_t)(int64_t)(int32_t)le32(t + 2)
					 : le32(t + 2);
	return import_at(img, slot, out, len) ? 2 : 0;
}

/* ---- sealing: signatures and the checksum -------------------------------- */

static int pe_seal_prepare(const struct skeys_image *img, char *err, size_t errlen)
{
	struct pe_layout l;

	if (pe_layout(img, &l, err, errlen))
		return -1;
	if (l.n_dirs > DIR_SECURITY && le32(img->buf + l.dirs + (size_t)8 * DIR_SECURITY + 4))
		FAIL("the file has an Authenticode signature, which sealing would break: "
		     "run skeys-seal before signing");
	return 0;
}

uint32_t skeys_pe_checksum(const uint8_t *b, size_t len, size_t field)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		if (i == field || i == field + 2)
			continue;
		sum += (uint32_t)b[i] | (uint32_t)b[i + 1] << 8;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	if (len & 1)
		sum += b[len - 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint32_t)(sum + len);
}

static void pe_seal_finish(const struct skeys_image *img, uint8_t *out)
{
	struct pe_layout l;
	char err[SKEYS_ERR_LEN];
	uint8_t *f;

	if (pe_layout(img, &l, err, sizeof(err)) || l.opt_size < OPT_CHECKSUM + 4)
		return;
	f = out + l.opt + OPT_CHECKSUM;
	/* Zero means "not checked" to the loader; keep it so. */
	if (!le32(f))
		return;
	skeys_image_put32(img, f, skeys_pe_checksum(out, img->len, l.opt + OPT_CHECKSUM));
}

const struct skeys_format skeys_format_pe = {
	.name = "pe",
	.probe = pe_probe,
	.open = pe_open,
	.close = pe_close,
	.seal_prepare = pe_seal_prepare,
	.seal_finish = pe_seal_finish,
	.calls_section = PE_CALLS_SECTION,
	.pointer = pe_pointer,
};
