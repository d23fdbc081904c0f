/* SPDX-License-Identifier: MIT */
/* ELF reader (libelf): sections, symbols and the skeys sections. */
#include "../format.h"

#include "arch.h"
#include <gelf.h>
#include <libelf.h>
#include <skeys/abi.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct elf_priv {
	Elf *elf;
	/*
	 * libelf may convert a foreign-endian file's data in place inside the
	 * buffer it was given; it then gets a copy so that img->buf stays the
	 * file. A file in the host's byte order needs no conversion, so libelf
	 * reads it where it is (NULL: no copy), saving a copy of the file.
	 */
	char *copy;
};

static bool elf_probe(const uint8_t *buf, size_t len)
{
	return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(err, errlen, __VA_ARGS__);                            \
		return -1;                                                     \
	} while (0)

/*
 * The section count: e_shnum, or when that is 0 (extended numbering), the
 * sh_size of section 0, read raw because libelf then quietly says "none".
 */
static uint64_t shdr_count(const struct skeys_image *img, const GElf_Ehdr *eh)
{
	const uint8_t *s0;

	if (eh->e_shnum || !eh->e_shoff || eh->e_shoff > img->len ||
	    img->len - eh->e_shoff < eh->e_shentsize)
		return eh->e_shnum ? eh->e_shnum : 1;
	s0 = img->buf + eh->e_shoff; /* only once it is known to be inside */
	if (eh->e_ident[EI_CLASS] == ELFCLASS64)
		return skeys_image_get64(img, s0 + offsetof(Elf64_Shdr, sh_size));
	return skeys_image_get32(img, s0 + offsetof(Elf32_Shdr, sh_size));
}

/* libelf reads a cut-off header table as "no sections"; say what happened. */
static bool shdrs_truncated(const struct skeys_image *img, const GElf_Ehdr *eh)
{
	uint64_t n = shdr_count(img, eh);

	return eh->e_shoff && (eh->e_shoff > img->len || n > (img->len - eh->e_shoff) /
									 eh->e_shentsize);
}

/*
 * What libelf would only call "invalid ELF file data" or "unknown kind":
 * checked on the raw bytes first so that the message says what is wrong.
 */
static int check_raw_ident(const struct skeys_image *img, char *err, size_t errlen)
{
	size_t ehdr_size = 0;

	if (img->len < EI_NIDENT)
		FAIL("truncated: the ELF identification is %d bytes, the file has %zu",
		     EI_NIDENT, img->len);
	if (img->buf[EI_CLASS] == ELFCLASS32)
		ehdr_size = sizeof(Elf32_Ehdr);
	else if (img->buf[EI_CLASS] == ELFCLASS64)
		ehdr_size = sizeof(Elf64_Ehdr);
	else
		FAIL("unknown ELF class %u (neither 32- nor 64-bit)", img->buf[EI_CLASS]);
	if (img->buf[EI_DATA] != ELFDATA2LSB && img->buf[EI_DATA] != ELFDATA2MSB)
		FAIL("unknown ELF byte order %u", img->buf[EI_DATA]);
	if (img->buf[EI_VERSION] != EV_CURRENT)
		FAIL("unknown ELF version %u", img->buf[EI_VERSION]);
	if (img->len < ehdr_size)
		FAIL("truncated: the %d-bit ELF header is %zu bytes, the file has %zu",
		     img->buf[EI_CLASS] == ELFCLASS32 ? 32 : 64, ehdr_size, img->len);
	return 0;
}

static int check_ident(struct skeys_image *img, Elf *elf, GElf_Ehdr *eh, char *err,
		       size_t errlen)
{
	size_t shentsize;

	if (elf_kind(elf) != ELF_K_ELF)
		FAIL("not an ELF object (archive or unknown kind)");
	if (!gelf_getehdr(elf, eh))
		FAIL("gelf_getehdr: %s", elf_errmsg(-1));
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB && eh->e_ident[EI_DATA] != ELFDATA2MSB)
		FAIL("unknown ELF byte order %u", eh->e_ident[EI_DATA]);
	img->big_endian = eh->e_ident[EI_DATA] == ELFDATA2MSB;
	if (eh->e_type == ET_REL)
		FAIL("relocatable object: seal the linked executable or library");
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		FAIL("ELF type %u is not an executable or shared library", eh->e_type);
	/* libelf reads whole headers whatever e_shentsize says; other tools may not. */
	shentsize = gelf_fsize(elf, ELF_T_SHDR, 1, EV_CURRENT);
	if (eh->e_shoff && eh->e_shentsize != shentsize)
		FAIL("e_shentsize is %u, a section header is %zu bytes", eh->e_shentsize,
		     shentsize);
	if (shdrs_truncated(img, eh))
		FAIL("truncated: the section header table [0x%llx, +%llu x %u) extends "
		     "past the end of the file (0x%zx bytes)",
		     (unsigned long long)eh->e_shoff,
		     (unsigned long long)shdr_count(img, eh), eh->e_shentsize, img->len);
	img->arch = skeys_arch_by_elf(eh->e_machine, eh->e_ident[EI_CLASS]);
	if (!img->arch)
		FAIL("unsupported machine (e_machine %u, class %u)", eh->e_machine,
		     eh->e_ident[EI_CLASS]);
	/* ppc64 comes in both byte orders; skeys supports the little-endian one. */
	if (img->arch->big_endian != img->big_endian)
		FAIL("unsupported machine: %s in %s-endian byte order", img->arch->name,
		     img->big_endian ? "big" : "little");
	return 0;
}

static unsigned sec_flags(const GElf_Shdr *sh)
{
	unsigned f = 0;

	if (sh->sh_flags & SHF_ALLOC)
		f |= SKEYS_SEC_ALLOC;
	if (sh->sh_flags & SHF_WRITE)
		f |= SKEYS_SEC_WRITE;
	if (sh->sh_flags & SHF_EXECINSTR)
		f |= SKEYS_SEC_EXEC;
	if (sh->sh_type == SHT_NOBITS)
		f |= SKEYS_SEC_NOBITS;
	return f;
}

/*
 * objcopy --only-keep-debug keeps every section header but none of the
 * loaded bytes: the skeys sections and the code alike are NOBITS. Such a
 * file is an input error, not a table that failed verification. A file
 * whose code has bytes and whose skeys section has none is damaged, and
 * verification says so.
 */
static bool debug_only(const struct skeys_image *img)
{
	bool code = false;
	size_t i;

	if (!(img->has_header && (img->header.flags & SKEYS_SEC_NOBITS)) &&
	    !(img->has_table && (img->table.flags & SKEYS_SEC_NOBITS)))
		return false;
	for (i = 0; i < img->n_sections; i++) {
		if (!(img->sections[i].flags & SKEYS_SEC_EXEC))
			continue;
		if (!(img->sections[i].flags & SKEYS_SEC_NOBITS))
			return false;
		code = true;
	}
	return code;
}

static bool bytes_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/*
 * skeys-seal rewrites the table's and the header's file bytes: they may
 * hold nothing else (another section, the ELF, program or section headers).
 */
static int check_skeys_bytes(const struct skeys_image *img, Elf *elf, char *err,
			     size_t errlen)
{
	const struct skeys_section *own[2] = { img->has_table ? &img->table : NULL,
					       img->has_header ? &img->header : NULL };
	GElf_Ehdr eh;
	size_t i, k, n;

	if (!gelf_getehdr(elf, &eh))
		FAIL("ELF header: %s", elf_errmsg(-1));
	if (elf_getshdrnum(elf, &n))
		FAIL("elf_getshdrnum: %s", elf_errmsg(-1));
	for (k = 0; k < 2; k++) {
		const struct skeys_section *o = own[k];

		if (!o || (o->flags & SKEYS_SEC_NOBITS))
			continue;
		if (bytes_overlap(o->offset, o->size, 0, eh.e_ehsize) ||
		    bytes_overlap(o->offset, o->size, eh.e_phoff,
				  (uint64_t)eh.e_phnum * eh.e_phentsize) ||
		    bytes_overlap(o->offset, o->size, eh.e_shoff, (uint64_t)n * eh.e_shentsize))
			FAIL("section %s [file 0x%llx, +0x%llx) overlaps the ELF, program or "
			     "section headers", o->name, (unsigned long long)o->offset,
			     (unsigned long long)o->size);
		for (i = 1; i < n; i++) {
			Elf_Scn *scn = elf_getscn(elf, i);
			GElf_Shdr sh;

			if (!scn || !gelf_getshdr(scn, &sh))
				FAIL("section %zu: %s", i, elf_errmsg(-1));
			if (sh.sh_type == SHT_NOBITS || (sh.sh_offset == o->offset &&
							 sh.sh_size == o->size && sh.sh_addr == o->addr))
				continue; /* itself */
			if (bytes_overlap(o->offset, o->size, sh.sh_offset, sh.sh_size))
				FAIL("section %s [file 0x%llx, +0x%llx) shares file bytes with "
				     "section %zu [file 0x%llx, +0x%llx)", o->name,
				     (unsigned long long)o->offset, (unsigned long long)o->size, i,
				     (unsigned long long)sh.sh_offset,
				     (unsigned long long)sh.sh_size);
		}
	}
	return 0;
}

/* Read every section header; remember the symbol table to use. */
static int read_sections(struct skeys_image *img, Elf *elf, Elf_Scn **symtab,
			 char *err, size_t errlen)
{
	size_t n, shstrndx, i;
	Elf_Scn *dynsym = NULL;

	if (elf_getshdrnum(elf, &n))
		FAIL("elf_getshdrnum: %s", elf_errmsg(-1));
	if (n <= 1)
		FAIL("no section headers (skeys finds its table through them)");
	if (elf_getshdrstrndx(elf, &shstrndx))
		FAIL("elf_getshdrstrndx: %s", elf_errmsg(-1));
	img->sections = calloc(n, sizeof(*img->sections));
	if (!img->sections)
		FAIL("out of memory");
	*symtab = NULL;
	for (i = 1; i < n; i++) {
		Elf_Scn *scn = elf_getscn(elf, i);
		GElf_Shdr sh;
		struct skeys_section s;

		if (!scn || !gelf_getshdr(scn, &sh))
			FAIL("section %zu: %s", i, elf_errmsg(-1));
		s.name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!s.name)
			FAIL("section %zu: name: %s", i, elf_errmsg(-1));
		s.addr = sh.sh_addr;
		s.size = sh.sh_size;
		s.offset = sh.sh_offset;
		s.flags = sec_flags(&sh);
		if (!(s.flags & SKEYS_SEC_NOBITS) &&
		    (s.offset > img->len || s.size > img->len - s.offset))
			FAIL("truncated: section %s [0x%llx, +0x%llx) extends past the end "
			     "of the file (0x%zx bytes)",
			     s.name, (unsigned long long)s.offset,
			     (unsigned long long)s.size, img->len);
		if ((s.flags & SKEYS_SEC_ALLOC) && s.addr + s.size < s.addr)
			FAIL("section %s wraps around the address space", s.name);
		if (skeys_image_note_skeys(img, &s, "", err, errlen))
			return -1;
		/* A .tbss template overlaps the sections after it; it holds no code or key. */
		if ((s.flags & SKEYS_SEC_ALLOC) && !(sh.sh_flags & SHF_TLS) && s.size)
			img->sections[img->n_sections++] = s;
		if (sh.sh_type == SHT_SYMTAB && !*symtab)
			*symtab = scn;
		if (sh.sh_type == SHT_DYNSYM && !dynsym)
			dynsym = scn;
	}
	/* .symtab names local functions too; .dynsym is what a stripped file keeps. */
	if (!*symtab)
		*symtab = dynsym;
	return 0;
}

/*
 * The loader maps segments, not sections. skeys-seal writes the table and
 * header at their sections' file offsets and verifies sites through the
 * sections, so a section inside a loaded segment must sit at the file
 * offset that segment maps it from; the skeys sections must be loaded at all.
 * Otherwise the tool would check and write bytes the process never sees.
 */
static int check_segments(const struct skeys_image *img, Elf *elf, const GElf_Ehdr *eh,
			  char *err, size_t errlen)
{
	size_t n, i, k, phentsize;

	phentsize = gelf_fsize(elf, ELF_T_PHDR, 1, EV_CURRENT);
	if (eh->e_phnum == 0 || eh->e_phoff == 0)
		FAIL("no program headers: not a loadable executable or library");
	if (eh->e_phentsize != phentsize)
		FAIL("e_phentsize is %u, a program header is %zu bytes", eh->e_phentsize,
		     phentsize);
	if (eh->e_phoff > img->len || (uint64_t)eh->e_phnum * phentsize > img->len - eh->e_phoff)
		FAIL("truncated: the program header table [0x%llx, +%u x %zu) extends past "
		     "the end of the file (0x%zx bytes)",
		     (unsigned long long)eh->e_phoff, eh->e_phnum, phentsize, img->len);
	if (elf_getphdrnum(elf, &n))
		FAIL("elf_getphdrnum: %s", elf_errmsg(-1));
	for (k = 0; k < img->n_sections; k++) {
		const struct skeys_section *s = &img->sections[k];
		bool skeys = (img->has_table && s->addr == img->table.addr &&
			      !strcmp(s->name, img->table.name)) ||
			     (img->has_header && s->addr == img->header.addr &&
			      !strcmp(s->name, img->header.name));
		bool loaded = false;

		if (s->flags & SKEYS_SEC_NOBITS)
			continue;
		for (i = 0; i < n; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph))
				FAIL("program header %zu: %s", i, elf_errmsg(-1));
			if (ph.p_type != PT_LOAD || s->addr < ph.p_vaddr ||
			    s->addr - ph.p_vaddr >= ph.p_memsz)
				continue;
			if (s->addr - ph.p_vaddr > ph.p_filesz ||
			    s->size > ph.p_filesz - (s->addr - ph.p_vaddr) ||
			    ph.p_offset + (s->addr - ph.p_vaddr) != s->offset)
				FAIL("section %s [0x%llx, +0x%llx) at file offset 0x%llx is not "
				     "what program header %zu loads there",
				     s->name, (unsigned long long)s->addr,
				     (unsigned long long)s->size, (unsigned long long)s->offset, i);
			loaded = true;
			break;
		}
		if (skeys && !loaded)
			FAIL("section %s [0x%llx, +0x%llx) is in no loaded segment", s->name,
			     (unsigned long long)s->addr, (unsigned long long)s->size);
	}
	return 0;
}

/* The RELRO segment, if any (the program headers are checked already). */
static void read_relro(struct skeys_image *img, Elf *elf)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return;
	for (i = 0; i < n; i++) {
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_GNU_RELRO &&
		    ph.p_vaddr + ph.p_memsz >= ph.p_vaddr) {
			img->relro_lo = ph.p_vaddr;
			img->relro_hi = ph.p_vaddr + ph.p_memsz;
		}
	}
}

static unsigned sym_rank(const GElf_Sym *sym)
{
	switch (GELF_ST_BIND(sym->st_info)) {
	case STB_GLOBAL:
		return 0;
	case STB_WEAK:
		return 1;
	default:
		return 2;
	}
}

static int read_symbols(struct skeys_image *img, Elf *elf, Elf_Scn *scn, char *err,
			size_t errlen)
{
	GElf_Shdr sh;
	Elf_Data *data;
	size_t entsize, n, i;

	if (!gelf_getshdr(scn, &sh))
		FAIL("symbol table: %s", elf_errmsg(-1));
	entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!entsize)
		FAIL("gelf_fsize: %s", elf_errmsg(-1));
	/* libelf only says "invalid data". */
	if (sh.sh_size % entsize)
		FAIL("symbol table (section %zu) is 0x%llx bytes, not a multiple of its "
		     "%zu-byte entries",
		     elf_ndxscn(scn), (unsigned long long)sh.sh_size, entsize);
	data = elf_getdata(scn, NULL);
	if (!data)
		FAIL("symbol table: elf_getdata: %s", elf_errmsg(-1));
	n = data->d_size / entsize;
	img->funcs = calloc(n ? n : 1, sizeof(*img->funcs));
	img->objects = calloc(n ? n : 1, sizeof(*img->objects));
	if (!img->funcs || !img->objects)
		FAIL("out of memory");
	for (i = 1; i < n; i++) {
		GElf_Sym sym;
		struct skeys_symbol s;
		int type;

		if (!gelf_getsym(data, (int)i, &sym))
			FAIL("symbol %zu: %s", i, elf_errmsg(-1));
		type = GELF_ST_TYPE(sym.st_info);
		if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0 ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_OBJECT))
			continue;
		s.name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!s.name)
			FAIL("symbol %zu: name: %s", i, elf_errmsg(-1));
		s.addr = sym.st_value;
		/* arm: bit 0 of a function's address says Thumb; the code starts one byte lower. */
		if (img->arch == &skeys_arch_arm && type == STT_FUNC)
			s.addr &= ~(uint64_t)1;
		s.size = sym.st_size;
		s.rank = sym_rank(&sym);
		if (type == STT_OBJECT)
			img->objects[img->n_objects++] = s;
		else
			img->funcs[img->n_funcs++] = s;
	}
	return 0;
}

/* True when EI_DATA value `data` is the byte order of the machine running this. */
static bool host_order(unsigned char data)
{
	const uint16_t one = 1;
	unsigned char first;

	memcpy(&first, &one, 1);
	return data == (first ? ELFDATA2LSB : ELFDATA2MSB);
}

static int elf_open(struct skeys_image *img, char *err, size_t errlen)
{
	struct elf_priv *p;
	Elf_Scn *symtab;
	GElf_Ehdr eh;

	if (elf_version(EV_CURRENT) == EV_NONE)
		FAIL("libelf: %s", elf_errmsg(-1));
	if (check_raw_ident(img, err, errlen))
		return -1;
	p = calloc(1, sizeof(*p));
	if (!p)
		FAIL("out of memory");
	img->priv = p;
	if (host_order(img->buf[EI_DATA])) {
		/* Only read: libelf never writes a host-order image (see elf_priv). */
		p->elf = elf_memory((char *)(uintptr_t)img->buf, img->len);
	} else {
		p->copy = malloc(img->len);
		if (!p->copy)
			FAIL("out of memory copying %zu bytes", img->len);
		memcpy(p->copy, img->buf, img->len);
		p->elf = elf_memory(p->copy, img->len);
	}
	if (!p->elf)
		FAIL("elf_memory: %s", elf_errmsg(-1));
	if (check_ident(img, p->elf, &eh, err, errlen) ||
	    read_sections(img, p->elf, &symtab, err, errlen) ||
	    (symtab && read_symbols(img, p->elf, symtab, err, errlen)) ||
	    skeys_image_finish(img, err, errlen))
		return -1;
	if (debug_only(img))
		FAIL("a debug-only file (its code and skeys sections have no bytes in it, "
		     "as objcopy --only-keep-debug leaves them): seal the stripped program "
		     "instead");
	if (check_segments(img, p->elf, &eh, err, errlen))
		return -1;
	read_relro(img, p->elf);
	return check_skeys_bytes(img, p->elf, err, errlen);
}

static void elf_close(struct skeys_image *img)
{
	struct elf_priv *p = img->priv;

	if (!p)
		return;
	if (p->elf)
		elf_end(p->elf);
	free(p->copy);
	free(p);
	img->priv = NULL;
}

/* One SHT_RELA section kept by --emit-relocs for a section of code. */
static int code_relocs_of(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, skeys_code_reloc_fn *fn,
			  void *ctx, char *err, size_t errlen)
{
	Elf_Scn *sym_scn = elf_getscn(elf, sh->sh_link);
	Elf_Data *rd = elf_getdata(scn, NULL), *sd;
	GElf_Shdr ssh;
	size_t i, n;
	int r;

	if (!rd || !sym_scn || !gelf_getshdr(sym_scn, &ssh) || !(sd = elf_getdata(sym_scn, NULL)))
		FAIL("relocation section %zu: %s", elf_ndxscn(scn), elf_errmsg(-1));
	n = sh->sh_entsize ? rd->d_size / sh->sh_entsize : 0;
	for (i = 0; i < n; i++) {
		struct skeys_code_reloc rel;
		GElf_Rela ra;
		GElf_Sym sym;
		size_t k;

		if (!gelf_getrela(rd, (int)i, &ra))
			FAIL("relocation section %zu, entry %zu: %s", elf_ndxscn(scn), i,
			     elf_errmsg(-1));
		k = GELF_R_SYM(ra.r_info);
		if (!gelf_getsym(sd, (int)k, &sym))
			FAIL("relocation section %zu, entry %zu: symbol %zu: %s", elf_ndxscn(scn),
			     i, k, elf_errmsg(-1));
		rel.at = ra.r_offset;
		rel.type = (uint32_t)GELF_R_TYPE(ra.r_info);
		rel.addend = ra.r_addend;
		rel.value = sym.st_value;
		rel.name = GELF_ST_TYPE(sym.st_info) == STT_SECTION || !sym.st_name
				   ? NULL
				   : elf_strptr(elf, ssh.sh_link, sym.st_name);
		if (!rel.name)
			rel.name = "";
		/* A section symbol of a linked file: its value is the section's address. */
		if (GELF_ST_TYPE(sym.st_info) == STT_SECTION && sym.st_shndx != SHN_UNDEF &&
		    sym.st_shndx < SHN_LORESERVE) {
			GElf_Shdr tsh;
			Elf_Scn *t = elf_getscn(elf, sym.st_shndx);

			if (t && gelf_getshdr(t, &tsh))
				rel.value = tsh.sh_addr;
		}
		r = fn(ctx, &rel);
		if (r)
			return r;
	}
	return 0;
}

static int elf_code_relocs(const struct skeys_image *img, skeys_code_reloc_fn *fn, void *ctx,
			   char *err, size_t errlen)
{
	const struct elf_priv *p = img->priv;
	Elf_Scn *scn = NULL;
	int r;

	while ((scn = elf_nextscn(p->elf, scn))) {
		GElf_Shdr sh, tsh;
		Elf_Scn *target;

		if (!gelf_getshdr(scn, &sh))
			FAIL("section %zu: %s", elf_ndxscn(scn), elf_errmsg(-1));
		if (sh.sh_type != SHT_RELA || (sh.sh_flags & SHF_ALLOC) || !sh.sh_info)
			continue;
		target = elf_getscn(p->elf, sh.sh_info);
		if (!target || !gelf_getshdr(target, &tsh))
			FAIL("relocation section %zu: target %u: %s", elf_ndxscn(scn),
			     (unsigned)sh.sh_info, elf_errmsg(-1));
		if ((tsh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR))
			continue;
		r = code_relocs_of(p->elf, scn, &sh, fn, ctx, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/* The machine's copy and relative relocations; NULL for a machine without them. */
static const struct elf_relocs {
	GElf_Half machine;
	unsigned copy, relative;
	const char *copy_name, *relative_name;
} *relocs_of(GElf_Half machine)
{
	static const struct elf_relocs relocs[] = {
		{ EM_X86_64, R_X86_64_COPY, R_X86_64_RELATIVE, "R_X86_64_COPY", "R_X86_64_RELATIVE" },
		{ EM_386, R_386_COPY, R_386_RELATIVE, "R_386_COPY", "R_386_RELATIVE" },
		{ EM_AARCH64, R_AARCH64_COPY, R_AARCH64_RELATIVE, "R_AARCH64_COPY",
		  "R_AARCH64_RELATIVE" },
		{ EM_ARM, R_ARM_COPY, R_ARM_RELATIVE, "R_ARM_COPY", "R_ARM_RELATIVE" },
		{ EM_RISCV, R_RISCV_COPY, R_RISCV_RELATIVE, "R_RISCV_COPY", "R_RISCV_RELATIVE" },
		{ EM_PPC64, R_PPC64_COPY, R_PPC64_RELATIVE, "R_PPC64_COPY", "R_PPC64_RELATIVE" },
		{ EM_S390, R_390_COPY, R_390_RELATIVE, "R_390_COPY", "R_390_RELATIVE" },
		{ EM_LOONGARCH, R_LARCH_COPY, R_LARCH_RELATIVE, "R_LARCH_COPY", "R_LARCH_RELATIVE" },
	};
	size_t i;

	for (i = 0; i < sizeof(relocs) / sizeof(relocs[0]); i++)
		if (relocs[i].machine == machine)
			return &relocs[i];
	return NULL;
}

/* Describe relocation `r` of an allocated REL or RELA section `sh` into *out. */
static void reloc_describe(const struct skeys_image *img, Elf *elf, const GElf_Shdr *sh,
			   const GElf_Rela *r, const struct elf_relocs *rel,
			   struct skeys_reloc *out)
{
	unsigned type = (unsigned)GELF_R_TYPE(r->r_info);
	Elf_Scn *symscn = elf_getscn(elf, sh->sh_link);
	GElf_Shdr symsh;
	Elf_Data *syms;
	GElf_Sym sym;
	int64_t at;

	out->offset = r->r_offset;
	out->addend = (uint64_t)r->r_addend;
	out->symbol = NULL;
	out->kind = type == rel->copy ? SKEYS_RELOC_COPY
		    : type == rel->relative ? SKEYS_RELOC_RELATIVE
					    : SKEYS_RELOC_SYMBOL;
	out->type = type == rel->copy ? rel->copy_name
		    : type == rel->relative ? rel->relative_name
					    : NULL;
	/* REL: the addend is what the file holds where it applies. */
	if (sh->sh_type == SHT_REL) {
		size_t n = img->arch->elf_class == ELFCLASS64 ? 8 : 4;

		at = skeys_image_offset(img, r->r_offset, n);
		out->addend = at < 0 ? 0
			      : n == 8 ? skeys_image_get64(img, img->buf + at)
				       : skeys_image_get32(img, img->buf + at);
	}
	if (GELF_R_SYM(r->r_info) && symscn && gelf_getshdr(symscn, &symsh) &&
	    (syms = elf_getdata(symscn, NULL)) &&
	    gelf_getsym(syms, (int)GELF_R_SYM(r->r_info), &sym))
		out->symbol = elf_strptr(elf, symsh.sh_link, sym.st_name);
}

static bool elf_reloc_at(const struct skeys_image *img, uint64_t addr, uint64_t len,
			 struct skeys_reloc *out)
{
	const struct elf_priv *p = img->priv;
	const struct elf_relocs *rel;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;

	if (!p || !gelf_getehdr(p->elf, &eh) || !(rel = relocs_of(eh.e_machine)))
		return false;
	while ((scn = elf_nextscn(p->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    (sh.sh_type != SHT_RELA && sh.sh_type != SHT_REL) || !sh.sh_entsize ||
		    !(data = elf_getdata(scn, NULL)))
			continue;
		n = data->d_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Rela r;
			GElf_Rel rl;

			if (sh.sh_type == SHT_RELA) {
				if (!gelf_getrela(data, (int)i, &r))
					break;
			} else {
				if (!gelf_getrel(data, (int)i, &rl))
					break;
				r.r_offset = rl.r_offset;
				r.r_info = rl.r_info;
				r.r_addend = 0;
			}
			if (r.r_offset >= addr && r.r_offset - addr < len) {
				reloc_describe(img, p->elf, &sh, &r, rel, out);
				return true;
			}
		}
	}
	return false;
}

const struct skeys_format skeys_format_elf = {
	.name = "elf",
	.probe = elf_probe,
	.open = elf_open,
	.close = elf_close,
	.code_relocs = elf_code_relocs,
	.reloc_at = elf_reloc_at,
	.calls_section = SKEYS_SECTION_CALLS_HEADER,
};
