/* SPDX-License-Identifier: MIT */
#include "check.h"

#include "arch.h"
#include "disasm.h"
#include "names.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* struct skeys_key is aligned(8) for every target, 32- and 64-bit alike. */
#define KEY_ALIGN 8u
/* The tools read count and flags; `link` differs in size between targets. */
#define KEY_READ_SIZE 8u

#define HDR_SIZE ((uint64_t)sizeof(struct skeys_header))
#define ENTRY_SIZE ((uint64_t)sizeof(struct skeys_entry))

/* Append a problem to *s, joined by "; ". Sets c->oom on failure. */
static void note(struct skeys_check *c, char **s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note(struct skeys_check *c, char **s, const char *fmt, ...)
{
	char tmp[1024];
	size_t old = *s ? strlen(*s) : 0, n, sep = old ? 2 : 0;
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	n = strlen(tmp);
	p = realloc(*s, old + sep + n + 1);
	if (!p) {
		c->oom = true;
		return;
	}
	memcpy(p + old, "; ", sep);
	memcpy(p + old + sep, tmp, n + 1);
	*s = p;
}

static void table_error(struct skeys_check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void table_error(struct skeys_check *c, const char *fmt, ...)
{
	char tmp[1024], **e, *s;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	len = strlen(tmp) + 1;
	e = realloc(c->errors, (c->n_errors + 1) * sizeof(*e));
	s = malloc(len);
	if (!e || !s) {
		free(s);
		if (e)
			c->errors = e;
		c->oom = true;
		return;
	}
	memcpy(s, tmp, len);
	c->errors = e;
	c->errors[c->n_errors++] = s;
}

void skeys_check_table_error(struct skeys_check *c, const char *msg)
{
	table_error(c, "%s", msg);
}

void skeys_check_func_name(const struct skeys_image *img, uint64_t addr, char *out,
			   size_t outlen)
{
	const struct skeys_symbol *s = skeys_image_func_at(img, addr);

	if (s)
		snprintf(out, outlen, "%s+0x%" PRIx64, s->name, addr - s->addr);
	else
		snprintf(out, outlen, "0x%" PRIx64, addr);
}

void skeys_check_key_name(const struct skeys_image *img, uint64_t addr, char *out,
			  size_t outlen)
{
	const struct skeys_symbol *s = skeys_image_object_at(img, addr);

	if (s)
		snprintf(out, outlen, "%s", s->name);
	else
		snprintf(out, outlen, "0x%" PRIx64, addr);
}

/* ---- header and table bounds --------------------------------------------- */

/* A skeys section must be loaded and have file contents. */
static bool section_sound(struct skeys_check *c, const struct skeys_section *s)
{
	if (!(s->flags & SKEYS_SEC_ALLOC)) {
		table_error(c, "section %s is not loaded at run time", s->name);
		return false;
	}
	if ((s->flags & SKEYS_SEC_NOBITS) && s->size) {
		table_error(c, "section %s has no contents in the file", s->name);
		return false;
	}
	return true;
}

static void header_decode(struct skeys_check *c, const uint8_t *p)
{
	const struct skeys_image *img = c->img;
	struct skeys_header *h = &c->hdr;

	memcpy(h->magic, p, sizeof(h->magic));
	h->version = skeys_image_get16(img, p + offsetof(struct skeys_header, version));
	h->header_size = skeys_image_get16(img, p + offsetof(struct skeys_header, header_size));
	h->entry_size = skeys_image_get16(img, p + offsetof(struct skeys_header, entry_size));
	h->arch = skeys_image_get16(img, p + offsetof(struct skeys_header, arch));
	h->flags = skeys_image_get32(img, p + offsetof(struct skeys_header, flags));
	h->count = skeys_image_get32(img, p + offsetof(struct skeys_header, count));
	h->checksum = skeys_image_get64(img, p + offsetof(struct skeys_header, checksum));
	h->start = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_header, start));
	h->stop = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_header, stop));
}

/* Returns false when the header is too broken to trust its table bounds. */
static bool header_read(struct skeys_check *c)
{
	const struct skeys_section *s = &c->img->header;
	const struct skeys_header *h = &c->hdr;
	bool ok = true;

	if (!section_sound(c, s))
		return false;
	/* A header with the names table's bounds, or one from before them. */
	if (s->size != HDR_SIZE && s->size != SKEYS_HEADER_SIZE_V1) {
		table_error(c, "section %s is %" PRIu64 " bytes, a header is %u (%" PRIu64
			       " with the names table)",
			    s->name, s->size, SKEYS_HEADER_SIZE_V1, HDR_SIZE);
		return false;
	}
	c->hdr_addr = s->addr;
	c->hdr_off = s->offset;
	header_decode(c, c->img->buf + s->offset);
	if (memcmp(h->magic, SKEYS_HEADER_MAGIC, sizeof(h->magic))) {
		table_error(c, "header magic is not \"%s\"", SKEYS_HEADER_MAGIC);
		return false;
	}
	if (h->version != SKEYS_ABI_VERSION) {
		table_error(c, "header has ABI version %u, this tool reads version %u",
			    h->version, SKEYS_ABI_VERSION);
		return false;
	}
	if (h->header_size != s->size || h->entry_size != ENTRY_SIZE) {
		table_error(c, "header declares header size %u and entry size %u, "
			       "expected %" PRIu64 " and %" PRIu64,
			    h->header_size, h->entry_size, s->size, ENTRY_SIZE);
		ok = false;
	}
	if (h->arch != (unsigned)c->img->arch->id) {
		table_error(c, "header says architecture %u, the file is %s (%u)", h->arch,
			    c->img->arch->name, (unsigned)c->img->arch->id);
		ok = false;
	}
	if (h->flags & ~SKEYS_HEADER_SEALED)
		table_error(c, "header has unknown flags 0x%x", h->flags & ~SKEYS_HEADER_SEALED);
	return ok;
}

/* Where a header field relative to itself points. */
static uint64_t header_rel(const struct skeys_check *c, size_t field, int32_t v)
{
	return c->hdr_addr + field + (uint64_t)(int64_t)v;
}

static bool bounds_check(struct skeys_check *c)
{
	uint64_t start = header_rel(c, offsetof(struct skeys_header, start), c->hdr.start);
	uint64_t stop = header_rel(c, offsetof(struct skeys_header, stop), c->hdr.stop);
	const struct skeys_section *t = &c->img->table;

	if (c->img->bounds_at_load && c->hdr.start == 0 && c->hdr.stop == 0) {
		/* Filled in by the module when it loads, and by sealing: the section. */
		start = stop = c->hdr_addr;
		if (c->img->has_table) {
			start = t->addr;
			stop = t->addr + t->size;
		}
	}
	c->table_addr = start;
	if (!c->img->has_table) {
		if (start == stop)
			return true; /* no sites and no section: an empty table */
		table_error(c, "no %s section, but the header's table spans "
			       "[0x%" PRIx64 ", 0x%" PRIx64 ")",
			    SKEYS_SECTION_TABLE, start, stop);
		return false;
	}
	if (!section_sound(c, t))
		return false;
	if (start != t->addr || stop != t->addr + t->size) {
		table_error(c, "header's table [0x%" PRIx64 ", 0x%" PRIx64 ") is not "
			       "section %s [0x%" PRIx64 ", 0x%" PRIx64 ")",
			    start, stop, t->name, t->addr, t->addr + t->size);
		return false;
	}
	if (t->size % ENTRY_SIZE) {
		table_error(c, "section %s is %" PRIu64 " bytes, not a multiple of the "
			       "%" PRIu64 "-byte entry",
			    t->name, t->size, ENTRY_SIZE);
		return false;
	}
	c->table_off = t->offset;
	c->n = t->size / ENTRY_SIZE;
	return true;
}

/* True when this machine stores integers in the byte order of `img`. */
static bool host_order(const struct skeys_image *img)
{
	const uint16_t one = 1;
	unsigned char first;

	memcpy(&first, &one, 1);
	return img->big_endian == !first;
}

static bool entries_read(struct skeys_check *c)
{
	const struct skeys_image *img = c->img;
	const uint8_t *t = img->buf + c->table_off;
	struct skeys_entry *copy = NULL;
	size_t i;

	c->sites = calloc(c->n ? c->n : 1, sizeof(*c->sites));
	if (!c->sites) {
		c->oom = true;
		return false;
	}
	/*
	 * A table in the host's byte order is used where it lies (a table is
	 * most of a big binary: a copy would be a fault per page of it).
	 */
	if (host_order(img) && (uintptr_t)t % _Alignof(struct skeys_entry) == 0) {
		c->entries = (const struct skeys_entry *)(const void *)t;
		c->entries_borrowed = true;
	} else {
		copy = malloc((c->n ? c->n : 1) * sizeof(*copy));
		if (!copy) {
			c->oom = true;
			return false;
		}
		for (i = 0; i < c->n; i++) {
			const uint8_t *p = t + i * ENTRY_SIZE;

			copy[i].code = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_entry, code));
			copy[i].target = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_entry, target));
			copy[i].key = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_entry, key));
		}
		c->entries = copy;
	}
	return true;
}

/* ---- keys ----------------------------------------------------------------- */

static void key_verify(struct skeys_check *c, struct skeys_check_key *k)
{
	const struct skeys_image *img = c->img;
	const struct skeys_section *s = skeys_image_section_at(img, k->addr, KEY_READ_SIZE);
	uint32_t flags;

	if (!s) {
		note(c, &k->error, "not inside any section");
	} else if ((s->flags & (SKEYS_SEC_WRITE | SKEYS_SEC_EXEC)) != SKEYS_SEC_WRITE) {
		note(c, &k->error, "in section %s, which is not writable data", s->name);
	} else if (s->flags & SKEYS_SEC_NOBITS) {
		note(c, &k->error, "in zero-filled section %s, so without the key magic", s->name);
	} else if (k->addr % KEY_ALIGN) {
		note(c, &k->error, "not %u-byte aligned", KEY_ALIGN);
	} else {
		const uint8_t *p = img->buf + skeys_image_offset(img, k->addr, KEY_READ_SIZE);

		flags = skeys_image_get32(img, p + offsetof(struct skeys_key, flags));
		if ((flags & SKEYS_KEY_MAGIC_MASK) != SKEYS_KEY_MAGIC)
			note(c, &k->error, "flags 0x%08x lack the key magic 0x%08x", flags,
			     SKEYS_KEY_MAGIC);
		k->initial = flags & SKEYS_KEY_F_INITIAL;
		k->import = flags & SKEYS_KEY_F_PROXY;
	}
	k->valid = !k->error;
}

void skeys_check_key_verify(struct skeys_check *c, struct skeys_check_key *k)
{
	key_verify(c, k);
}

/* Key address -> index of first appearance, open addressing; grows at half full. */
struct key_map {
	uint64_t *addr; /* slot's key address; KEY_FREE marks a free slot */
	uint32_t *idx;
	size_t mask, used;
};

/* Never a key's address: those have the entry flag bits clear. */
#define KEY_FREE 1u

static uint64_t key_hash(uint64_t a)
{
	/* Keys are 8-byte aligned and near one another: mix the bits that vary. */
	a ^= a >> 29;
	a *= 0xbf58476d1ce4e5b9ull;
	return a ^ (a >> 32);
}

static bool key_map_init(struct key_map *m, size_t slots)
{
	size_t i;

	m->addr = malloc(slots * sizeof(*m->addr));
	m->idx = malloc(slots * sizeof(*m->idx));
	if (!m->addr || !m->idx)
		return false;
	for (i = 0; i < slots; i++)
		m->addr[i] = KEY_FREE;
	m->mask = slots - 1;
	m->used = 0;
	return true;
}

static void key_map_free(struct key_map *m)
{
	free(m->addr);
	free(m->idx);
}

/* The slot of `a`, free when `a` is not in the map. */
static size_t key_map_slot(const struct key_map *m, uint64_t a)
{
	size_t h = (size_t)key_hash(a) & m->mask;

	while (m->addr[h] != KEY_FREE && m->addr[h] != a)
		h = (h + 1) & m->mask;
	return h;
}

static bool key_map_grow(struct key_map *m)
{
	struct key_map g;
	size_t i, h;

	if (!key_map_init(&g, (m->mask + 1) * 2)) {
		key_map_free(&g);
		return false;
	}
	for (i = 0; i <= m->mask; i++) {
		if (m->addr[i] == KEY_FREE)
			continue;
		h = key_map_slot(&g, m->addr[i]);
		g.addr[h] = m->addr[i];
		g.idx[h] = m->idx[i];
	}
	g.used = m->used;
	key_map_free(m);
	*m = g;
	return true;
}

static int key_cmp(const void *x, const void *y)
{
	const struct skeys_check_key *a = x, *b = y;

	return (a->addr > b->addr) - (a->addr < b->addr);
}

/*
 * One key record per distinct key address, by address, and each site's
 * index into them. A table has few keys for many sites: each site finds
 * its key in a small hash map (numbered by first appearance), then the
 * few keys are sorted and the sites renumbered, with no sort of the sites.
 */
static bool keys_collect(struct skeys_check *c)
{
	size_t n = c->n, i, k = 0;
	struct key_map m = { 0 };
	uint32_t *rank = NULL;
	uint64_t last = KEY_FREE;
	uint32_t last_idx = 0;

	if (n > UINT32_MAX || !key_map_init(&m, 64))
		goto oom;
	for (i = 0; i < n; i++) {
		uint64_t a = skeys_entry_key(&c->entries[i], c->table_addr + i * ENTRY_SIZE);
		size_t h;

		if (a != last) {
			h = key_map_slot(&m, a);
			if (m.addr[h] == KEY_FREE) {
				if (2 * (m.used + 1) > m.mask + 1) {
					if (!key_map_grow(&m))
						goto oom;
					h = key_map_slot(&m, a);
				}
				m.addr[h] = a;
				m.idx[h] = (uint32_t)m.used++;
			}
			last = a;
			last_idx = m.idx[h];
		}
		c->sites[i].key = last_idx;
	}
	c->n_keys = m.used;
	c->keys = calloc(m.used ? m.used : 1, sizeof(*c->keys));
	rank = malloc((m.used ? m.used : 1) * sizeof(*rank));
	if (!c->keys || !rank)
		goto oom;
	/* Sort the keys by address; `sites` holds each one's first-appearance number. */
	for (i = 0; i <= m.mask; i++) {
		if (m.addr[i] == KEY_FREE)
			continue;
		c->keys[k].addr = m.addr[i];
		c->keys[k++].sites = m.idx[i];
	}
	qsort(c->keys, c->n_keys, sizeof(*c->keys), key_cmp);
	for (i = 0; i < c->n_keys; i++) {
		rank[c->keys[i].sites] = (uint32_t)i;
		c->keys[i].sites = 0;
	}
	for (i = 0; i < n; i++) {
		c->sites[i].key = rank[c->sites[i].key];
		c->keys[c->sites[i].key].sites++;
	}
	for (i = 0; i < c->n_keys; i++)
		key_verify(c, &c->keys[i]);
	key_map_free(&m);
	free(rank);
	return true;
oom:
	key_map_free(&m);
	free(rank);
	c->oom = true;
	return false;
}

/* ---- sites ---------------------------------------------------------------- */

static const char *site_kind(const struct skeys_site *s)
{
	return (s->flags & SKEYS_ENTRY_BRANCH) ? "a likely" : "an unlikely";
}

/* Compare the site's bytes with the instruction its key and branch call for. */
static void site_bytes(struct skeys_check *c, struct skeys_check_site *st, char **e,
		       const struct skeys_site *s,
		       const struct skeys_arch *a, const uint8_t *found)
{
	const struct skeys_check_key *k = &c->keys[st->key];
	char f[256], want[256], want2[256], key[256];
	uint8_t nop[SKEYS_SITE_MAX], jmp[SKEYS_SITE_MAX];
	bool jmp_encodes, nop_encodes, branch = s->flags & SKEYS_ENTRY_BRANCH;
	uint64_t dest;

	/* The nop of this site: s390x's names the jump's target (one byte toggles). */
	nop_encodes = !skeys_arch_nop(a, s->code, s->target, nop);
	if (nop_encodes && !memcmp(found, nop, a->site_len))
		st->insn = SKEYS_INSN_NOP;
	else if (a->decode_jump(s->code, found, &dest))
		st->insn = SKEYS_INSN_JMP;
	else
		st->insn = SKEYS_INSN_OTHER;
	jmp_encodes = !skeys_arch_encode(a, true, s->code, s->target, jmp);
	if (!jmp_encodes && s->code % a->site_align == 0)
		note(c, e, "no %s jump reaches the target 0x%" PRIx64 " from here",
		     a->name, s->target);
	if (!nop_encodes) /* out of range too; still show the instruction's form */
		memcpy(nop, a->nop, a->site_len);
	if (k->valid) {
		bool want_jmp = k->initial ^ branch;

		if (want_jmp ? (st->insn == SKEYS_INSN_JMP && jmp_encodes &&
				!memcmp(found, jmp, a->site_len))
			     : st->insn == SKEYS_INSN_NOP)
			return;
		if (want_jmp && !jmp_encodes)
			return; /* reported above */
		skeys_disasm_describe(a, s->code, want_jmp ? jmp : nop, a->site_len, want,
				      sizeof(want));
		skeys_disasm_describe(a, s->code, found, a->site_len, f, sizeof(f));
		skeys_check_key_name(c->img, k->addr, key, sizeof(key));
		note(c, e, "expected %s for %s site of %s key %s, found %s", want,
		     site_kind(s), k->initial ? "TRUE" : "FALSE", key, f);
		return;
	}
	/* The key's state is unknown: either site instruction would do. */
	if (st->insn == SKEYS_INSN_NOP ||
	    (jmp_encodes && !memcmp(found, jmp, a->site_len)))
		return;
	skeys_disasm_describe(a, s->code, nop, a->site_len, want, sizeof(want));
	if (jmp_encodes)
		skeys_disasm_describe(a, s->code, jmp, a->site_len, want2, sizeof(want2));
	skeys_disasm_describe(a, s->code, found, a->site_len, f, sizeof(f));
	note(c, e, "expected %s%s%s, found %s", want, jmp_encodes ? " or " : "",
	     jmp_encodes ? want2 : "", f);
}

/*
 * skeys_image_section_at(), trying the section of the previous lookup first:
 * sites and their targets mostly share one text section, and sections do
 * not overlap, so a hit there is the answer the search would give.
 */
static const struct skeys_section *section_at(struct skeys_check *c, uint64_t addr,
					      uint64_t len)
{
	const struct skeys_section *s = c->last_section;

	if (s && addr - s->addr < s->size && len <= s->size - (addr - s->addr))
		return s;
	s = skeys_image_section_at(c->img, addr, len);
	if (s)
		c->last_section = s;
	return s;
}

static bool bytes_equal(const uint8_t *a, const uint8_t *b, unsigned n)
{
	uint32_t x, y, x2, y2;

	if (n < 4 || n > 8)
		return memcmp(a, b, n) == 0;
	/* Every site is 4 to 8 bytes: two overlapping 4-byte loads each, no call. */
	memcpy(&x, a, 4);
	memcpy(&y, b, 4);
	memcpy(&x2, a + n - 4, 4);
	memcpy(&y2, b + n - 4, 4);
	return ((x ^ y) | (x2 ^ y2)) == 0;
}

/*
 * The common case, a site whose bytes are right, decided with one encoding
 * and an inline compare, without the calls site_bytes() makes to find and
 * word a problem. True only when site_bytes() would accept the bytes and
 * record the same instruction (its jump reaches the target, the bytes are
 * the nop or the jump the key's state calls for); anything else goes to
 * site_bytes(), so both accept and reject exactly the same bytes.
 */
static inline __attribute__((always_inline)) bool
site_bytes_ok(struct skeys_check_site *st, const struct skeys_site *s,
			  const struct skeys_arch *a, const struct skeys_check_key *k,
			  const uint8_t *found)
{
	uint8_t jmp[SKEYS_SITE_MAX], nop[SKEYS_SITE_MAX];
	uint64_t dest;

	if (!k->valid || (s->code & (a->site_align - 1u)) ||
	    a->encode_jump(s->code, s->target, jmp))
		return false;
	if (k->initial ^ !!(s->flags & SKEYS_ENTRY_BRANCH)) {
		/* A jump is never also the nop: the two differ in their opcode bits. */
		if (!bytes_equal(found, jmp, a->site_len) || !a->decode_jump(s->code, found, &dest))
			return false;
		st->insn = SKEYS_INSN_JMP;
		return true;
	}
	if (a->encode_nop && a->encode_nop(s->code, s->target, nop))
		return false;
	if (!bytes_equal(found, a->encode_nop ? nop : a->nop, a->site_len))
		return false;
	st->insn = SKEYS_INSN_NOP;
	return true;
}

/*
 * Every check of one site, each problem worded. Out of line: the common
 * case, a sound site, is settled by site_sound() without the buffers and
 * calls this needs.
 */
static __attribute__((noinline)) void site_diagnose(struct skeys_check *c,
						    struct skeys_check_site *st, char **e,
						    const struct skeys_site *s, unsigned allowed)
{
	const struct skeys_image *img = c->img;
	/* A mode flag the architecture lacks leaves its base encodings to check with. */
	const struct skeys_arch *a = skeys_arch_for_site(img->arch, s->flags & allowed);
	const struct skeys_check_key *k = &c->keys[st->key];
	const struct skeys_section *code, *target;
	const uint8_t *found;
	char key[256];

	st->insn = SKEYS_INSN_NONE;
	if (s->flags & ~allowed)
		note(c, e, "entry sets reserved flag bits 0x%x",
		     s->flags & ~allowed);
	/* Alignments are powers of two (common/arch): a mask, not a division. */
	if (s->code & (a->site_align - 1u))
		note(c, e, "site is not %u-byte aligned", a->site_align);
	code = section_at(c, s->code, a->site_len);
	if (!code || (code->flags & (SKEYS_SEC_EXEC | SKEYS_SEC_NOBITS)) != SKEYS_SEC_EXEC)
		note(c, e, "site is not in executable code (%s)",
		     code ? code->name : "no section holds all its bytes");
	target = section_at(c, s->target, 1);
	if (!target || !(target->flags & SKEYS_SEC_EXEC))
		note(c, e, "target 0x%" PRIx64 " is not in executable code (%s)",
		     s->target, target ? target->name : "in no section");
	if (!k->valid) {
		skeys_check_key_name(img, k->addr, key, sizeof(key));
		note(c, e, "key %s (0x%" PRIx64 ") is not a key: %s", key, k->addr,
		     k->error);
	}
	if (code && (code->flags & (SKEYS_SEC_EXEC | SKEYS_SEC_NOBITS)) == SKEYS_SEC_EXEC) {
		found = img->buf + code->offset + (s->code - code->addr);
		if (!site_bytes_ok(st, s, a, k, found))
			site_bytes(c, st, e, s, a, found);
	}
}

/*
 * True when the site passes every check site_diagnose() makes (flags,
 * alignment, code and target sections, key, bytes), with its instruction
 * recorded; false sends it to site_diagnose(), which then finds the same.
 */
static bool site_sound(struct skeys_check *c, struct skeys_check_site *st,
		       const struct skeys_site *s, unsigned allowed)
{
	const struct skeys_arch *a = skeys_arch_for_site(c->img->arch, s->flags & allowed);
	const struct skeys_section *code, *target;

	if ((s->flags & ~allowed) || (s->code & (a->site_align - 1u)))
		return false;
	code = section_at(c, s->code, a->site_len);
	if (!code || (code->flags & (SKEYS_SEC_EXEC | SKEYS_SEC_NOBITS)) != SKEYS_SEC_EXEC)
		return false;
	target = section_at(c, s->target, 1);
	if (!target || !(target->flags & SKEYS_SEC_EXEC))
		return false;
	return site_bytes_ok(st, s, a, &c->keys[st->key],
			     c->img->buf + code->offset + (s->code - code->addr));
}

/*
 * Where site i's problems go: site_errors[i], the array made on first use
 * (most tables have no bad site, and a pointer a site would be half of the
 * working memory). NULL when memory ran out.
 */
static char **site_error_slot(struct skeys_check *c, size_t i)
{
	if (!c->site_errors && !(c->site_errors = calloc(c->n, sizeof(*c->site_errors)))) {
		c->oom = true;
		return NULL;
	}
	return &c->site_errors[i];
}

static void site_verify(struct skeys_check *c, size_t i, unsigned allowed)
{
	struct skeys_check_site *st = &c->sites[i];
	const struct skeys_site s = skeys_check_site_at(c, i);
	char **e;

	if (!site_sound(c, st, &s, allowed) && (e = site_error_slot(c, i)))
		site_diagnose(c, st, e, &s, allowed);
}

/* Site i's address. */
static uint64_t code_at(const struct skeys_check *c, size_t i)
{
	return skeys_entry_code(&c->entries[i], c->table_addr + i * ENTRY_SIZE);
}

/*
 * Two entries for one site would patch it twice; sort by address to find
 * them. Sets *by_code to the site indices by address (sealing builds on
 * them), or NULL when the table already is in address order, as a table in
 * link order usually is: then duplicates are neighbours and no sort is
 * needed. False when memory ran out.
 */
static bool duplicates_find(struct skeys_check *c, uint32_t **by_code)
{
	size_t n = c->n, i, j;
	uint64_t *v = NULL, prev = 0, code;
	uint32_t *a = NULL, *b = NULL, *r = NULL;
	bool sorted = true;

	*by_code = NULL;
	for (i = 0; i < n && sorted; i++, prev = code) {
		code = code_at(c, i);
		sorted = i == 0 || prev <= code;
	}
	if (!sorted) {
		v = malloc(n * sizeof(*v));
		a = malloc(n * sizeof(*a));
		b = malloc(n * sizeof(*b));
		if (!v || !a || !b) {
			free(v);
			free(a);
			free(b);
			return false;
		}
		for (i = 0; i < n; i++) {
			v[i] = code_at(c, i);
			a[i] = (uint32_t)i;
		}
		r = skeys_radix_sort_index(v, a, b, n);
		free(r == a ? b : a);
		*by_code = r;
	}
	for (i = 0; i < n; i = j) {
		code = code_at(c, r ? r[i] : i);
		for (j = i + 1; j < n && code_at(c, r ? r[j] : j) == code; j++)
			;
		if (j - i > 1) {
			size_t m;

			for (m = i; m < j; m++) {
				char **e = site_error_slot(c, r ? r[m] : m);

				if (e)
					note(c, e, "%zu table entries name this site", j - i);
			}
		}
	}
	free(v);
	return true;
}

/* ---- sealed state --------------------------------------------------------- */

static void seal_verify(struct skeys_check *c)
{
	uint64_t sum;
	bool count_ok, sum_ok, sorted;

	c->sealed = c->hdr.flags & SKEYS_HEADER_SEALED;
	if (!c->sealed)
		return;
	/* Over the bytes as stored, in the file's byte order, as the runtime sees them. */
	sum = skeys_table_checksum(c->img->buf + c->table_off, c->n * ENTRY_SIZE);
	count_ok = c->hdr.count == c->n;
	sum_ok = c->hdr.checksum == sum;
	sorted = skeys_table_is_sorted(c->entries, c->n, c->table_addr);
	if (!count_ok)
		table_error(c, "sealed header counts %" PRIu32 " entries, the table has %zu",
			    c->hdr.count, c->n);
	if (!sum_ok)
		table_error(c, "sealed table's checksum 0x%016" PRIx64 " does not match its "
			       "contents (0x%016" PRIx64 "): the table changed after sealing",
			    c->hdr.checksum, sum);
	if (!sorted)
		table_error(c, "sealed table is not in sorted order");
	c->checksum_ok = sum_ok;
	c->intact = count_ok && sum_ok && sorted;
}

/*
 * Sealed order (key, then site address; skeys_site_cmp) of the verified
 * sites, as indices: the sites by address, stably grouped by key with one
 * counting pass (key indices follow key addresses). Sites have distinct
 * addresses once verified, so this is the table sort's order.
 */
static uint32_t *sealed_order(const struct skeys_check *c, const uint32_t *by_code)
{
	/* by_code NULL: the sites are in address order as they stand. */
	size_t n = c->n, i, sum = 0;
	size_t *start = calloc(c->n_keys + 1, sizeof(*start));
	uint32_t *order = malloc((n ? n : 1) * sizeof(*order));

	if (!start || !order) {
		free(start);
		free(order);
		return NULL;
	}
	for (i = 0; i < n; i++)
		start[c->sites[i].key]++;
	for (i = 0; i < c->n_keys; i++) {
		size_t k = start[i];

		start[i] = sum;
		sum += k;
	}
	for (i = 0; i < n; i++) {
		uint32_t j = by_code ? by_code[i] : (uint32_t)i;

		order[start[c->sites[j].key]++] = j;
	}
	free(start);
	return order;
}

int skeys_check_open(struct skeys_check *c, struct skeys_image *img, char *err,
		     size_t errlen)
{
	uint32_t *by_code = NULL;
	size_t i;

	memset(c, 0, sizeof(*c));
	c->img = img;
	if (!img->has_header) {
		snprintf(err, errlen, "not built with skeys (no %s section)",
			 SKEYS_SECTION_HEADER);
		return -1;
	}
	if (header_read(c) && bounds_check(c) && entries_read(c) && keys_collect(c)) {
		unsigned allowed = skeys_arch_entry_flags(img->arch);

		c->usable = true;
		for (i = 0; i < c->n; i++)
			site_verify(c, i, allowed);
		if (!duplicates_find(c, &by_code))
			c->oom = true;
		seal_verify(c);
		skeys_names_verify(c);
		for (i = 0; c->site_errors && i < c->n; i++)
			c->n_bad += c->site_errors[i] != NULL;
		/* Computed once here for sealing and for the proof of the sealed copy. */
		if (!c->oom && skeys_check_ok(c) && !(c->order = sealed_order(c, by_code)))
			c->oom = true;
		free(by_code);
	}
	if (c->oom) {
		snprintf(err, errlen, "out of memory");
		skeys_check_close(c);
		return -1;
	}
	return 0;
}

void skeys_check_close(struct skeys_check *c)
{
	size_t i;

	skeys_names_free(c);
	for (i = 0; c->site_errors && i < c->n; i++)
		free(c->site_errors[i]);
	free(c->site_errors);
	for (i = 0; i < c->n_keys; i++)
		free(c->keys[i].error);
	for (i = 0; i < c->n_errors; i++)
		free(c->errors[i]);
	free(c->errors);
	free(c->sites);
	free(c->keys);
	if (!c->entries_borrowed)
		free((void *)(uintptr_t)c->entries);
	free(c->order);
	memset(c, 0, sizeof(*c));
}

bool skeys_check_ok(const struct skeys_check *c)
{
	return c->usable && c->n_errors == 0 && c->n_bad == 0;
}

/* ---- the sealed copy ----------------------------------------------------- */

/* The same site, field by field (a struct compare would see its padding). */
static bool site_same(const struct skeys_site *a, const struct skeys_site *b)
{
	return a->code == b->code && a->target == b->target && a->key == b->key &&
	       a->flags == b->flags;
}

/* Entry i of the table, stored at p in the file's byte order, as an absolute site. */
static inline struct skeys_site entry_at(const struct skeys_check *c, const uint8_t *p,
					 size_t i, bool host)
{
	struct skeys_entry e;

	if (host) {
		memcpy(&e, p, sizeof(e));
		return skeys_entry_site(&e, c->table_addr + i * ENTRY_SIZE);
	}
	e.code = (int32_t)skeys_image_get32(c->img, p + offsetof(struct skeys_entry, code));
	e.target = (int32_t)skeys_image_get32(c->img, p + offsetof(struct skeys_entry, target));
	e.key = (int32_t)skeys_image_get32(c->img, p + offsetof(struct skeys_entry, key));
	return skeys_entry_site(&e, c->table_addr + i * ENTRY_SIZE);
}

int skeys_check_stream_begin(const struct skeys_check *c, struct skeys_check_stream *st,
			     char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	st->sum = SKEYS_TABLE_CHECKSUM_INIT;
	if (!skeys_check_ok(c) || !c->order || c->n >= UINT32_MAX) {
		snprintf(err, errlen, "table did not verify");
		return -EINVAL;
	}
	st->seen = calloc(c->n / 8 + 1, 1);
	if (!st->seen) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

void skeys_check_stream_end(struct skeys_check_stream *st)
{
	free(st->seen);
	st->seen = NULL;
}

/*
 * Entry i, stored at p, proven: the next in strictly ascending sealed
 * order, and the verified site order[i], `v` (NULL: look it up), used once.
 */
static inline int entry_proven(const struct skeys_check *c, struct skeys_check_stream *st,
			       const uint8_t *p, size_t i, const struct skeys_site *v,
			       bool host, char *err, size_t errlen)
{
	uint32_t j = c->order[i];
	struct skeys_site s = entry_at(c, p, i, host), w;

	if (i && skeys_site_cmp(&st->prev, &s) >= 0) {
		snprintf(err, errlen, "sealed table is not in strictly sorted order "
				      "at entry %zu", i);
		return -EINVAL;
	}
	if (!v && j < c->n) {
		w = skeys_check_site_at(c, j);
		v = &w;
	}
	if (j >= c->n || (st->seen[j / 8] & (1u << (j % 8))) || !site_same(v, &s)) {
		snprintf(err, errlen, "sealed entry %zu (site 0x%" PRIx64 ") is not one of "
				      "the verified entries, or repeats one",
			 i, s.code);
		return -EINVAL;
	}
	st->seen[j / 8] |= (unsigned char)(1u << (j % 8));
	st->prev = s;
	return 0;
}

/*
 * True when the `count` sealed entries at t (file byte order), the next
 * ones of the table, continue it in strictly ascending sealed order,
 * checked on the decoded bytes, and entry i is the verified site order[i]
 * for an order that uses every site once (a bitmap proves that, whatever
 * built it): the entries are the verified ones, moved.
 */
static int entries_proven(const struct skeys_check *c, struct skeys_check_stream *st,
			  const uint8_t *t, size_t count, char *err, size_t errlen)
{
	bool host = host_order(c->img);
	size_t i;
	int r;

	for (i = 0; i < count; i++) {
		r = entry_proven(c, st, t + i * ENTRY_SIZE, st->next + i, NULL, host, err,
				 errlen);
		if (r)
			return r;
	}
	st->next += count;
	return 0;
}

/*
 * The sealed header in `out`, read back by the code skeys_check_open()
 * runs: sound, the table where it was, marked sealed with the right count.
 * Its checksum in *sum. 0, or -ENOMEM or -EINVAL with the reason in err.
 */
static int header_proven(const struct skeys_check *c, const uint8_t *out, uint64_t *sum,
			 char *err, size_t errlen)
{
	/* The same image over the sealed bytes: sections and offsets do not move. */
	struct skeys_image img = *c->img;
	struct skeys_check s;
	int r = -EINVAL;
	size_t i;

	img.buf = out;
	memset(&s, 0, sizeof(s));
	s.img = &img;
	if (!header_read(&s) || !bounds_check(&s) || s.n_errors) {
		snprintf(err, errlen, "%s", s.oom ? "out of memory"
				      : s.n_errors ? s.errors[0] : "header unreadable");
		r = s.oom ? -ENOMEM : -EINVAL;
	} else if (s.n != c->n || s.table_addr != c->table_addr || s.table_off != c->table_off ||
		   s.hdr_off != c->hdr_off) {
		snprintf(err, errlen, "the table moved or changed size");
	} else if (!(s.hdr.flags & SKEYS_HEADER_SEALED)) {
		snprintf(err, errlen, "not marked sealed");
	} else if (s.hdr.count != c->n) {
		snprintf(err, errlen, "sealed header counts %" PRIu32 " entries, the table has %zu",
			 s.hdr.count, c->n);
	} else {
		*sum = s.hdr.checksum;
		r = 0;
	}
	for (i = 0; i < s.n_errors; i++)
		free(s.errors[i]);
	free(s.errors);
	return r;
}

static int checksum_proven(uint64_t stored, uint64_t sum, char *err, size_t errlen)
{
	if (stored == sum)
		return 0;
	snprintf(err, errlen, "sealed checksum 0x%016" PRIx64 " is not the table's "
			      "(0x%016" PRIx64 ")", stored, sum);
	return -EINVAL;
}

int skeys_check_sealed(const struct skeys_check *c, const uint8_t *out, char *err,
		       size_t errlen)
{
	struct skeys_check_stream st;
	uint64_t stored, sum;
	int r = skeys_check_stream_begin(c, &st, err, errlen);

	if (!r)
		r = header_proven(c, out, &stored, err, errlen);
	if (!r)
		r = entries_proven(c, &st, out + c->table_off, c->n, err, errlen);
	skeys_check_stream_end(&st);
	if (r)
		return r;
	/*
	 * The table's bytes are now proven to be exactly the verified entries
	 * in sealed order. The checksum of those bytes is the one
	 * skeys_check_seal() computed over them once it had written them; it is
	 * not computed a second time here (over a large table it is the
	 * costliest step: a serial chain of multiplies per byte).
	 */
	sum = c->seal_checksum_set ? c->seal_checksum
				   : skeys_table_checksum(out + c->table_off, c->n * ENTRY_SIZE);
	return checksum_proven(stored, sum, err, errlen);
}

/*
 * Entries [first, first + count) of the sealed table into t (file byte
 * order), straight from the verified sites in their sealed order: no table
 * copy to sort. 0, or -ERANGE with a message.
 */
/*
 * Sealed entry i, straight from the verified site order[i], `s` (no table
 * copy to sort), into p in the file's byte order (`host`: the host's). 0,
 * or -ERANGE with a message.
 */
static inline int entry_encode(const struct skeys_check *c, uint8_t *p, size_t i,
			       const struct skeys_site *s, bool host, char *err, size_t errlen)
{
	const struct skeys_image *img = c->img;
	struct skeys_entry e;

	if (skeys_entry_set(&e, c->table_addr + i * ENTRY_SIZE, s)) {
		snprintf(err, errlen, "cannot sort the table: an entry does not fit "
				      "in 32 bits once moved");
		return -ERANGE;
	}
	if (host) {
		memcpy(p, &e, sizeof(e));
		return 0;
	}
	skeys_image_put32(img, p + offsetof(struct skeys_entry, code), (uint32_t)e.code);
	skeys_image_put32(img, p + offsetof(struct skeys_entry, target), (uint32_t)e.target);
	skeys_image_put32(img, p + offsetof(struct skeys_entry, key), (uint32_t)e.key);
	return 0;
}

/* Entries [first, first + count) of the sealed table into t. */
static int entries_encode(const struct skeys_check *c, uint8_t *t, size_t first, size_t count,
			  char *err, size_t errlen)
{
	bool host = host_order(c->img);
	size_t i;
	int r;

	for (i = 0; i < count; i++) {
		const struct skeys_site s = skeys_check_site_at(c, c->order[first + i]);

		r = entry_encode(c, t + i * ENTRY_SIZE, first + i, &s, host, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

int skeys_check_stream_table(const struct skeys_check *c, struct skeys_check_stream *st,
			     uint8_t *buf, size_t count, char *err, size_t errlen)
{
	bool host = host_order(c->img);
	size_t i;
	int r;

	if (count > c->n - st->next) {
		snprintf(err, errlen, "more entries than the table has");
		return -EINVAL;
	}
	/*
	 * One pass, entry by entry: the checksum is a serial chain of
	 * multiplies (4 cycles a byte), and the encoding and proof of an entry
	 * run in its shadow instead of in passes of their own.
	 */
	for (i = 0; i < count; i++) {
		uint8_t *p = buf + i * ENTRY_SIZE;
		const struct skeys_site s = skeys_check_site_at(c, c->order[st->next]);

		r = entry_encode(c, p, st->next, &s, host, err, errlen);
		if (!r)
			r = entry_proven(c, st, p, st->next, &s, host, err, errlen);
		if (r)
			return r;
		st->sum = skeys_table_checksum_more(st->sum, p, ENTRY_SIZE);
		st->next++;
	}
	return 0;
}

int skeys_check_seal_table(const struct skeys_check *c, uint8_t *out, char *err,
			   size_t errlen)
{
	int r;

	if (!skeys_check_ok(c) || !c->order) {
		snprintf(err, errlen, "table did not verify");
		return -EINVAL;
	}
	r = entries_encode(c, out + c->table_off, 0, c->n, err, errlen);
	/* `out` is a copy of the file: put back its table, leaving it as it was. */
	if (r)
		memcpy(out + c->table_off, c->img->buf + c->table_off, c->n * ENTRY_SIZE);
	return r;
}

/* The header's sealed fields, with checksum `sum`, into `out`. */
static void header_put(struct skeys_check *c, uint8_t *out, uint64_t sum)
{
	const struct skeys_image *img = c->img;
	uint8_t *h = out + c->hdr_off;

	c->seal_checksum = sum;
	c->seal_checksum_set = true;
	skeys_image_put32(img, h + offsetof(struct skeys_header, count), (uint32_t)c->n);
	skeys_image_put64(img, h + offsetof(struct skeys_header, checksum), sum);
	skeys_image_put32(img, h + offsetof(struct skeys_header, flags),
			  c->hdr.flags | SKEYS_HEADER_SEALED);
}

void skeys_check_seal_header(struct skeys_check *c, uint8_t *out)
{
	header_put(c, out, skeys_table_checksum(out + c->table_off, c->n * ENTRY_SIZE));
}

int skeys_check_stream_header(struct skeys_check *c, struct skeys_check_stream *st,
			      uint8_t *out, char *err, size_t errlen)
{
	uint64_t stored;
	int r;

	if (st->next != c->n) {
		snprintf(err, errlen, "the table is not all sealed");
		return -EINVAL;
	}
	header_put(c, out, st->sum);
	r = header_proven(c, out, &stored, err, errlen);
	return r ? r : checksum_proven(stored, st->sum, err, errlen);
}

int skeys_check_seal(struct skeys_check *c, uint8_t *out, char *err, size_t errlen)
{
	int r = skeys_check_seal_table(c, out, err, errlen);

	if (!r)
		skeys_check_seal_header(c, out);
	return r;
}
