/* SPDX-License-Identifier: MIT */
/*
 * The call table, verified: for every entry, the trampoline decodes to the
 * form the call was compiled with (far through the call object's `lit`, or
 * ret0), the fixed tail that jumps through `lit` follows it (each
 * architecture's forms: tool/call_arches.c), and the call object is one
 * (magic, kind, in writable data). The initial target is the call object's
 * `lit` as the file gives it: its bytes, or the dynamic relocation that
 * fills it.
 */
#define _XOPEN_SOURCE 700 /* strdup */
#include "verify_calls.h"

#include "arch.h"
#include "call_arches.h"
#include "check.h"
#include "table.h"
#include "verify.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	HDR_FLAGS = 16,
	HDR_COUNT = 20,
	HDR_CHECKSUM = 24,
	HDR_START = 32,
	HDR_STOP = 36,
};

/* struct skeys_call in the file: three pointers, flags, form, link, aligned to 8. */
static unsigned ptr_size(const struct skeys_image *img)
{
	return img->arch->elf_class == 2 ? 8 : 4;
}
static unsigned call_size(const struct skeys_image *img)
{
	return (4 * ptr_size(img) + 8 + 7) / 8 * 8;
}
static unsigned call_flags(const struct skeys_image *img)
{
	return 3 * ptr_size(img);
}

static bool call_error(struct skeys_call_check *c, size_t *n_bad, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool call_error(struct skeys_call_check *c, size_t *n_bad, const char *fmt, ...)
{
	va_list ap;

	if (c->error)
		return false; /* the first problem says enough */
	(*n_bad)++;
	c->error = malloc(256);
	if (!c->error)
		return false;
	va_start(ap, fmt);
	vsnprintf(c->error, 256, fmt, ap);
	va_end(ap);
	return false;
}

/* A function's address as skeys-dump names it ("add1+0x0"; arm: without the Thumb bit). */
static void name_code(const struct skeys_image *img, const struct skeys_call_arch *ca,
		      uint64_t addr, char *out, size_t len)
{
	skeys_check_func_name(img, addr & ~(uint64_t)ca->mode_bit, out, len);
}

/*
 * The dynamic relocation filling the pointer at `addr` (`lit`, whose file
 * bytes are `word`), named as skeys-dump shows it. ELF64: .rela.dyn;
 * ELF32: .rel.dyn, whose addend is the word itself.
 */
static bool reloc_target(const struct skeys_image *img, const struct skeys_call_arch *ca,
			 uint64_t addr, uint64_t word, char *out, size_t len)
{
	bool is64 = ptr_size(img) == 8;
	const struct skeys_section *rel =
		skeys_image_section_named(img, is64 ? ".rela.dyn" : ".rel.dyn");
	const struct skeys_section *sym = skeys_image_section_named(img, ".dynsym");
	const struct skeys_section *str = skeys_image_section_named(img, ".dynstr");
	unsigned rsize = is64 ? 24 : 8, ssize = is64 ? 24 : 16;
	const uint8_t *r, *s;

	if (!rel || (rel->flags & SKEYS_SEC_NOBITS) || rel->offset + rel->size > img->len)
		return false;
	for (uint64_t i = 0; i + rsize <= rel->size; i += rsize) {
		uint64_t where, addend, value;
		uint32_t type, idx, name;

		r = img->buf + rel->offset + i;
		if (is64) {
			uint64_t info = skeys_image_get64(img, r + 8);

			where = skeys_image_get64(img, r);
			addend = skeys_image_get64(img, r + 16);
			type = (uint32_t)info;
			idx = (uint32_t)(info >> 32);
		} else {
			uint32_t info = skeys_image_get32(img, r + 4);

			where = skeys_image_get32(img, r);
			addend = word;
			type = info & 0xffu;
			idx = info >> 8;
		}
		if (where != addr)
			continue;
		if (type == ca->r_relative) {
			name_code(img, ca, addend, out, len);
			return true;
		}
		if ((type != ca->r_abs && type != ca->r_glob_dat) || !sym || !str ||
		    (uint64_t)idx * ssize + ssize > sym->size || sym->offset + sym->size > img->len)
			return false;
		s = img->buf + sym->offset + (uint64_t)idx * ssize;
		name = skeys_image_get32(img, s);
		value = is64 ? skeys_image_get64(img, s + 8) : skeys_image_get32(img, s + 4);
		if (type == ca->r_glob_dat && !is64)
			addend = 0; /* REL GLOB_DAT: the word is not an addend */
		if (value) {
			name_code(img, ca, value + addend, out, len);
		} else {
			if (name >= str->size || str->offset + str->size > img->len)
				return false;
			snprintf(out, len, "%.*s+0x%" PRIx64, (int)(str->size - name),
				 (const char *)img->buf + str->offset + name, addend);
		}
		return true;
	}
	return false;
}

/* False when it does not verify (its error recorded). */
static bool call_verify(struct skeys_calls *cs, struct skeys_call_check *c)
{
	const struct skeys_image *img = cs->img;
	const struct skeys_call_arch *ca = cs->arch;
	const struct skeys_section *code = skeys_image_section_at(img, c->slot, ca->span);
	const struct skeys_section *data = skeys_image_section_at(img, c->call, call_size(img));
	const uint8_t *t = skeys_image_bytes(img, c->slot, ca->span);
	const uint8_t *o = skeys_image_bytes(img, c->call, call_size(img));
	char why[256];
	uint32_t flags;
	uint64_t lit;
	int how;

	if (!code || !(code->flags & SKEYS_SEC_EXEC) || !t)
		return call_error(c, &cs->n_bad, "trampoline is not in executable code");
	if (c->tail != c->slot + ca->slot_len)
		return call_error(c, &cs->n_bad, "entry names 0x%" PRIx64 " as the trampoline's "
				  "jmp *lit, expected 0x%" PRIx64, c->tail,
				  c->slot + ca->slot_len);
	if (c->kind == (SKEYS_CALL_F_NULL | SKEYS_CALL_F_RET0))
		return call_error(c, &cs->n_bad, "entry flags 0x3: neither a NULL nor a RET0 call");
	if (!data || !(data->flags & SKEYS_SEC_WRITE) || c->call % 8 ||
	    (!o && !(data->flags & SKEYS_SEC_NOBITS)))
		return call_error(c, &cs->n_bad,
				  "call object 0x%" PRIx64 " is not aligned writable data", c->call);
	flags = o ? skeys_image_get32(img, o + call_flags(img)) : 0;
	/* A proxy (SKEYS_IMPORT_CALL) is compiled far, through the exporter's trampoline. */
	c->import = flags & SKEYS_CALL_F_PROXY;
	if ((flags & SKEYS_CALL_MAGIC_MASK) != SKEYS_CALL_MAGIC ||
	    (flags & ~SKEYS_CALL_MAGIC_MASK & ~SKEYS_CALL_F_PROXY) != c->kind ||
	    (c->import && c->kind) ||
	    skeys_image_get32(img, o + call_flags(img) + 4))
		return call_error(c, &cs->n_bad,
				  "call object 0x%" PRIx64 " is not a static call of this kind "
				  "(flags 0x%08x)", c->call, flags);
	if (!ca->verify(img, c->slot, t, c->call, c->kind, why, sizeof(why)))
		return call_error(c, &cs->n_bad, "%s", why);
	if (c->kind)
		return true;
	lit = ptr_size(img) == 8 ? skeys_image_get64(img, o) : skeys_image_get32(img, o);
	how = img->format->pointer
		      ? img->format->pointer(img, c->call, &lit, c->target, sizeof(c->target))
		      : 0;
	if (how < 0)
		return call_error(c, &cs->n_bad, "call object 0x%" PRIx64 ": its initial target is "
				  "not a fixup the loader applies", c->call);
	if (how == 2)
		return true; /* bound to a symbol of another image, named */
	/*
	 * ELF64: the bytes, or the relocation where they are zero. ELF32
	 * (REL): the bytes are the addend of a relocation, if any.
	 */
	if (!(lit && ptr_size(img) == 8) &&
	    reloc_target(img, ca, c->call, lit, c->target, sizeof(c->target)))
		return true;
	if (!lit)
		return call_error(c, &cs->n_bad, "call object 0x%" PRIx64 " has no initial target",
				  c->call);
	name_code(img, ca, lit, c->target, sizeof(c->target));
	return true;
}

static int table_error(struct skeys_calls *cs, const char *msg)
{
	cs->error = strdup(msg);
	return cs->error ? 0 : -1;
}

static bool table_read(struct skeys_calls *cs, const struct skeys_section *hs)
{
	const struct skeys_image *img = cs->img;
	/* The call table's header is of the first size: it has no names table. */
	const uint8_t *h = skeys_image_bytes(img, hs->addr, SKEYS_HEADER_SIZE_V1);
	const struct skeys_section *ts;
	uint64_t stop;

	if (!h || memcmp(h, SKEYS_CALLS_MAGIC, 8) || skeys_image_get16(img, h + 8) != SKEYS_CALLS_VERSION ||
	    skeys_image_get16(img, h + 10) != 40 || skeys_image_get16(img, h + 12) != 12 ||
	    skeys_image_get16(img, h + 14) != img->arch->id)
		return false;
	cs->hdr_addr = hs->addr;
	cs->hdr_off = (uint64_t)(h - img->buf);
	cs->hdr.flags = skeys_image_get32(img, h + HDR_FLAGS);
	cs->hdr.count = skeys_image_get32(img, h + HDR_COUNT);
	cs->hdr.checksum = skeys_image_get64(img, h + HDR_CHECKSUM);
	cs->table_addr = hs->addr + HDR_START + (uint64_t)(int64_t)(int32_t)skeys_image_get32(img, h + HDR_START);
	stop = hs->addr + HDR_STOP + (uint64_t)(int64_t)(int32_t)skeys_image_get32(img, h + HDR_STOP);
	if (img->bounds_at_load && !skeys_image_get32(img, h + HDR_START) &&
	    !skeys_image_get32(img, h + HDR_STOP)) {
		/*
		 * Left zero by the compiler (Mach-O: <skeys/format/macho.h>),
		 * written by sealing: the table is its section, or empty when
		 * dead stripping took every entry.
		 */
		ts = skeys_image_section_named(img, SKEYS_SECTION_CALLS);
		cs->table_addr = ts ? ts->addr : hs->addr + SKEYS_HEADER_SIZE_V1;
		stop = ts ? ts->addr + ts->size : cs->table_addr;
		cs->bounds_unset = true;
		if (stop == cs->table_addr)
			return true;
	}
	ts = skeys_image_section_at(img, cs->table_addr, stop - cs->table_addr);
	if (stop < cs->table_addr || (stop - cs->table_addr) % 12 || !ts ||
	    !skeys_image_bytes(img, cs->table_addr, stop - cs->table_addr))
		return false;
	cs->n = (size_t)(stop - cs->table_addr) / 12;
	if (cs->n)
		cs->table_off = (uint64_t)(skeys_image_bytes(img, cs->table_addr, cs->n * 12) - img->buf);
	return true;
}

int skeys_calls_open(struct skeys_calls *cs, const struct skeys_image *img, char *err,
		     size_t errlen)
{
	const struct skeys_section *hs;

	memset(cs, 0, sizeof(*cs));
	cs->img = img;
	hs = img->n_slices || !img->format->calls_section
		     ? NULL
		     : skeys_image_section_named(img, img->format->calls_section);
	if (!hs)
		return 0;
	cs->present = true;
	cs->arch = skeys_call_arch(img->arch->id, img->format->name);
	if (!cs->arch) {
		char msg[128];

		snprintf(msg, sizeof(msg), "static calls are not supported on %s %s yet",
			 img->arch->name, img->format->name);
		if (table_error(cs, msg))
			goto oom;
		return 0;
	}
	if (!table_read(cs, hs)) {
		const uint8_t *h = skeys_image_bytes(img, hs->addr, 10);
		unsigned v = h && !memcmp(h, SKEYS_CALLS_MAGIC, 8) ? skeys_image_get16(img, h + 8) : 0;
		char msg[256];

		if (v && v != SKEYS_CALLS_VERSION) {
			snprintf(msg, sizeof(msg), "call table version %u, expected %u: the module "
				 "was built against the headers of another skeys (struct skeys_call "
				 "differs); rebuild it against this one's", v, SKEYS_CALLS_VERSION);
			if (table_error(cs, msg))
				goto oom;
			return 0;
		}
		if (table_error(cs, "call table header or bounds are not sound"))
			goto oom;
		return 0;
	}
	cs->entries = calloc(cs->n ? cs->n : 1, sizeof(*cs->entries));
	cs->calls = calloc(cs->n ? cs->n : 1, sizeof(*cs->calls));
	if (!cs->entries || !cs->calls)
		goto oom;
	for (size_t i = 0; i < cs->n; i++) /* in host order (s390x's file is big-endian) */
		cs->entries[i] = skeys_check_entry_decode(img, img->buf + cs->table_off + i * 12,
							  skeys_check_host_order(img));
	for (size_t i = 0; i < cs->n; i++) {
		struct skeys_site s = skeys_entry_site(&cs->entries[i], cs->table_addr + i * 12);
		struct skeys_call_check *c = &cs->calls[i];

		c->slot = s.code;
		c->tramp = cs->arch->start ? cs->arch->start(img, s.code) : s.code;
		c->tail = s.target;
		c->call = s.key;
		c->kind = s.flags;
		(void)call_verify(cs, c);
	}
	cs->sealed = cs->hdr.flags & SKEYS_HEADER_SEALED;
	cs->intact = cs->sealed && cs->hdr.count == cs->n &&
		     skeys_table_is_sorted(cs->entries, cs->n, cs->table_addr) &&
		     skeys_table_checksum(img->buf + cs->table_off, cs->n * 12) == cs->hdr.checksum;
	if (cs->sealed && !cs->intact && table_error(cs, "call table changed after sealing"))
		goto oom;
	if (skeys_csites_open(cs))
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	skeys_calls_close(cs);
	return -1;
}

void skeys_calls_close(struct skeys_calls *cs)
{
	skeys_csites_close(&cs->sites);
	for (size_t i = 0; cs->calls && i < cs->n; i++)
		free(cs->calls[i].error);
	free(cs->calls);
	free(cs->entries);
	free(cs->error);
	memset(cs, 0, sizeof(*cs));
}

bool skeys_calls_ok(const struct skeys_calls *cs)
{
	return !cs->present || (!cs->error && !cs->n_bad && !cs->sites.n_bad);
}

bool skeys_calls_sealed(const struct skeys_calls *cs)
{
	return !cs->present || (cs->intact && (!cs->sites.present || cs->sites.intact));
}

size_t skeys_calls_report(const struct skeys_calls *cs, const char *path)
{
	char where[512];
	size_t n = 0;

	if (cs->error) {
		fprintf(stderr, "%s: error: %s\n", path, cs->error);
		n++;
	}
	for (size_t i = 0; cs->calls && i < cs->n; i++) {
		const struct skeys_call_check *c = &cs->calls[i];

		if (!c->error)
			continue;
		skeys_check_func_name(cs->img, c->tramp, where, sizeof(where));
		fprintf(stderr, "%s: %s (0x%" PRIx64 "): error: static call: %s\n", path, where,
			c->tramp, c->error);
		n++;
	}
	return n + skeys_csites_report(cs, path);
}

int skeys_calls_seal(const struct skeys_calls *cs, uint8_t *out, char *err, size_t errlen)
{
	const struct skeys_image *img = cs->img;
	size_t bytes = cs->n * sizeof(struct skeys_entry);
	struct skeys_entry *t;
	uint8_t *h = out + cs->hdr_off;

	if (!cs->present)
		return 0;
	t = malloc(bytes ? bytes : 1);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(t, cs->entries, bytes);
	if (skeys_table_sort(t, cs->n, cs->table_addr)) {
		snprintf(err, errlen, "call table: cannot sort");
		free(t);
		return -1;
	}
	for (size_t i = 0; i < cs->n; i++) { /* in the file's byte order */
		uint8_t *p = out + cs->table_off + i * 12;

		skeys_image_put32(img, p + offsetof(struct skeys_entry, code), (uint32_t)t[i].code);
		skeys_image_put32(img, p + offsetof(struct skeys_entry, target),
				  (uint32_t)t[i].target);
		skeys_image_put32(img, p + offsetof(struct skeys_entry, key), (uint32_t)t[i].key);
	}
	if (cs->bounds_unset) {
		skeys_image_put32(img, h + HDR_START,
				  (uint32_t)(cs->table_addr - (cs->hdr_addr + HDR_START)));
		skeys_image_put32(img, h + HDR_STOP,
				  (uint32_t)(cs->table_addr + bytes - (cs->hdr_addr + HDR_STOP)));
	}
	skeys_image_put32(img, h + HDR_FLAGS, cs->hdr.flags | SKEYS_HEADER_SEALED);
	skeys_image_put32(img, h + HDR_COUNT, (uint32_t)cs->n);
	/* Over the bytes as stored, in the file's byte order, as the runtime sees them. */
	skeys_image_put64(img, h + HDR_CHECKSUM, skeys_table_checksum(out + cs->table_off, bytes));
	free(t);
	return skeys_csites_seal(cs, out, err, errlen);
}

void skeys_calls_name(const struct skeys_calls *cs, uint64_t call, char *out, size_t len)
{
	const struct skeys_symbol *sym = skeys_image_object_at(cs->img, call);
	const char *nm = sym ? sym->name : NULL;

	/* Named after its object, skeys__call_NAME. */
	if (nm && !strncmp(nm, "skeys__call_", 12))
		nm += 12;
	if (nm)
		snprintf(out, len, "%s", nm);
	else
		snprintf(out, len, "0x%" PRIx64, call);
}

void skeys_calls_emit(struct skeys_emit *e, const struct skeys_calls *cs)
{
	static const struct skeys_field F_CALLS = { .key = "calls", .head = "Calls" },
		C_NAME = { .key = "name", .head = "NAME" },
		C_TRAMP = { .key = "trampoline", .head = "TRAMPOLINE" },
		C_KIND = { .key = "kind", .head = "KIND" },
		C_TARGET = { .key = "target", .head = "TARGET" },
		C_SITES = { .key = "sites", .head = "SITES" },
		C_OK = { .key = "ok", .head = "STATUS", .yes = "ok", .no = "BAD" },
		C_ERROR = { .key = "error", .fmt = ": %s" };
	static const char *const kinds[] = { "call", "null", "ret0", "?" };
	char name[256];

	skeys_emit_field_array(e, &F_CALLS, cs->calls ? cs->n : 0);
	for (size_t i = 0; cs->calls && i < cs->n; i++) {
		const struct skeys_call_check *c = &cs->calls[i];

		skeys_calls_name(cs, c->call, name, sizeof(name));
		skeys_emit_elem_begin(e);
		skeys_emit_field_str(e, &C_NAME, name);
		skeys_emit_field_addr(e, &C_TRAMP, c->tramp);
		skeys_emit_field_str(e, &C_KIND, c->import ? "import" : kinds[c->kind & 3]);
		if (c->target[0])
			skeys_emit_field_str(e, &C_TARGET, c->target);
		else
			skeys_emit_field_null(e, &C_TARGET);
		/* Its inline call sites, listed in call_sites; the rest call its trampoline. */
		skeys_emit_field_uint(e, &C_SITES, skeys_csites_count(&cs->sites, c->call));
		skeys_emit_field_bool(e, &C_OK, !c->error);
		if (c->error)
			skeys_emit_field_str(e, &C_ERROR, c->error);
		skeys_emit_elem_end(e);
	}
	skeys_emit_array_end(e);
	if (cs->sites.n)
		skeys_csites_emit(e, cs);
}
