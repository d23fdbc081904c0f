/* SPDX-License-Identifier: MIT */
/*
 * One Mach-O image, 64-bit little-endian (x86_64, arm64): its load
 * commands, the sections of its segments and its nlist symbol table, each
 * bounds-checked against the file before use.
 */
#include "macho.h"

#include "arch.h"

#include <stdlib.h>
#include <string.h>

/* A segment command's fields. */
struct segment {
	char name[17];
	uint32_t initprot;
	uint64_t vmaddr, vmsize, fileoff, filesize;
};

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

/*
 * The section whose 80-byte record is at h, in segment `sg`. Its bytes
 * must be the ones its segment maps at its address: the loader maps
 * segments, not sections, and the tools would otherwise read (and seal)
 * other bytes than the ones that run.
 */
static int read_section(struct skeys_image *img, const struct segment *sg, const uint8_t *h,
			char *err, size_t errlen)
{
	struct macho_priv *p = img->priv;
	char *name = p->names[img->n_sections];
	struct skeys_section s;

	memcpy(name, h, 16);
	s.name = name;
	s.addr = le64(h + 32);
	s.size = le64(h + 40);
	s.offset = le32(h + 48);
	s.flags = sect_flags(le32(h + 64), sg->initprot);
	if (!(s.flags & SKEYS_SEC_NOBITS) && s.size && !in_file(img, s.offset, s.size))
		FAIL("truncated: section %s,%s [0x%llx, +0x%llx) extends past the end of "
		     "the file (0x%zx bytes)", sg->name, name, (unsigned long long)s.offset,
		     (unsigned long long)s.size, img->len);
	if (s.addr + s.size < s.addr)
		FAIL("section %s wraps around the address space", name);
	if (s.size && (s.addr < sg->vmaddr || s.addr - sg->vmaddr > sg->vmsize ||
		       s.size > sg->vmsize - (s.addr - sg->vmaddr)))
		FAIL("section %s,%s [0x%llx, +0x%llx) lies outside segment %s "
		     "[0x%llx, +0x%llx)", sg->name, name, (unsigned long long)s.addr,
		     (unsigned long long)s.size, sg->name, (unsigned long long)sg->vmaddr,
		     (unsigned long long)sg->vmsize);
	if (!(s.flags & SKEYS_SEC_NOBITS) && s.size &&
	    (s.offset != sg->fileoff + (s.addr - sg->vmaddr) ||
	     s.addr - sg->vmaddr + s.size > sg->filesize))
		FAIL("section %s,%s at file offset 0x%llx is not what segment %s maps at "
		     "0x%llx (file offset 0x%llx)", sg->name, name, (unsigned long long)s.offset,
		     sg->name, (unsigned long long)s.addr,
		     (unsigned long long)(sg->fileoff + (s.addr - sg->vmaddr)));
	/* The skeys sections are in __DATA (include/skeys/format/macho.h). */
	if (!strcmp(sg->name, "__DATA") &&
	    skeys_image_note_skeys(img, &s, "__DATA,", err, errlen))
		return -1;
	img->sections[img->n_sections++] = s;
	return 0;
}

/*
 * An LC_SEGMENT_64 of cmdsize bytes and its sections. Room for them was
 * made once for all load commands (macho_open_thin): a section record
 * takes 80 of their bytes, a segment 72.
 */
static int read_segment(struct skeys_image *img, const uint8_t *lc, uint32_t cmdsize,
			char *err, size_t errlen)
{
	struct macho_priv *p = img->priv;
	struct segment sg = { { 0 }, 0, 0, 0, 0, 0 };
	uint32_t nsects, i;

	/* Nothing past the command's own size is read before it is known to fit. */
	if (cmdsize < SEG64)
		FAIL("segment command of %u bytes, shorter than the %u a segment takes", cmdsize,
		     (unsigned)SEG64);
	nsects = le32(lc + 64);
	sg.initprot = le32(lc + 60);
	memcpy(sg.name, lc + 8, 16);
	sg.vmaddr = le64(lc + 24);
	sg.vmsize = le64(lc + 32);
	sg.fileoff = le64(lc + 40);
	sg.filesize = le64(lc + 48);
	if (nsects > (cmdsize - SEG64) / SECT64)
		FAIL("segment %s: %u sections do not fit its load command", sg.name, nsects);
	if (!in_file(img, sg.fileoff, sg.filesize))
		FAIL("truncated: segment %s [0x%llx, +0x%llx) extends past the end of the file "
		     "(0x%zx bytes)", sg.name, (unsigned long long)sg.fileoff,
		     (unsigned long long)sg.filesize, img->len);
	if (sg.vmaddr + sg.vmsize < sg.vmaddr)
		FAIL("segment %s wraps around the address space", sg.name);
	if (sg.filesize > sg.vmsize)
		FAIL("segment %s maps 0x%llx file bytes into 0x%llx bytes of memory", sg.name,
		     (unsigned long long)sg.filesize, (unsigned long long)sg.vmsize);
	if (sg.filesize) {
		struct macho_segment *m = &p->segs[p->n_segs++];

		memcpy(m->name, sg.name, sizeof(m->name));
		m->fileoff = sg.fileoff;
		m->filesize = sg.filesize;
	}
	for (i = 0; i < nsects; i++)
		if (read_section(img, &sg, lc + SEG64 + (size_t)i * SECT64, err, errlen))
			return -1;
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

/* The load commands, [HDR64, +sizeofcmds), every one inside them. */
static int read_commands(struct skeys_image *img, uint32_t ncmds, uint32_t sizeofcmds,
			 const uint8_t **symtab, char *err, size_t errlen)
{
	struct macho_priv *p = img->priv;
	uint64_t off = HDR64, end = HDR64 + (uint64_t)sizeofcmds;
	uint32_t i;

	for (i = 0; i < ncmds; i++) {
		const uint8_t *lc = img->buf + off;
		uint32_t cmd, cmdsize;

		if (off + 8 > end)
			FAIL("load command %u lies outside the load commands", i);
		cmd = le32(lc);
		cmdsize = le32(lc + 4);
		if (cmdsize < 8 || off + cmdsize > end)
			FAIL("load command %u (0x%x) has a bad size %u", i, cmd, cmdsize);
		/* mach-o/loader.h: 64-bit load commands are multiples of 8 bytes. */
		if (cmdsize % 8)
			FAIL("load command %u (0x%x) has a bad size %u: not a multiple of 8", i,
			     cmd, cmdsize);
		if (cmd == LC_SEGMENT_64 && read_segment(img, lc, cmdsize, err, errlen))
			return -1;
		if (cmd == LC_SYMTAB && cmdsize >= 24)
			*symtab = lc;
		if (cmd == LC_CODE_SIGNATURE && cmdsize >= 16) {
			p->sig_off = le32(lc + 8);
			p->sig_size = le32(lc + 12);
			if (!in_file(img, p->sig_off, p->sig_size))
				FAIL("truncated: the code signature extends past the end of the file");
		}
		off += cmdsize;
	}
	return 0;
}

int macho_open_thin(struct skeys_image *img, char *err, size_t errlen)
{
	const uint8_t *b = img->buf, *symtab = NULL;
	struct macho_priv *p;
	uint32_t cputype, filetype, ncmds, sizeofcmds;
	size_t i, k;

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
	/* Room for as many sections and segments as the load commands can hold. */
	p->names = calloc(sizeofcmds / SECT64 + 1, sizeof(*p->names));
	p->segs = malloc((sizeofcmds / SEG64 + 1) * sizeof(*p->segs));
	img->sections = calloc(sizeofcmds / SECT64 + 1, sizeof(*img->sections));
	if (!p->names || !p->segs || !img->sections)
		FAIL("out of memory");
	if (read_commands(img, ncmds, sizeofcmds, &symtab, err, errlen))
		return -1;
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
	if (p->sig_size && macho_signature_check(img, err, errlen))
		return -1;
	skeys_image_func_sizes(img);
	return 0;
}
