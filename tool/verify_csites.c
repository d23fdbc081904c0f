/* SPDX-License-Identifier: MIT */
/*
 * Inline call sites (<skeys/abi.h>): in a file not yet sealed, found from
 * the relocations a link with --emit-relocs keeps, every `call` (e8 rel32)
 * or tail call (e9 rel32) whose relocation names a trampoline, and checked
 * to reach that trampoline; in a sealed file, the recorded ones, checked
 * against their bytes. A relocation against a trampoline on anything else
 * (lea, a conditional jump) is no site: that code keeps using the
 * trampoline, which is always right.
 */
#define _XOPEN_SOURCE 700 /* strdup */
#include "verify_calls.h"

#include "arch.h"
#include "check.h"
#include "table.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stddef.h>

#define HDR_FLAGS offsetof(struct skeys_header, flags)
#define HDR_COUNT offsetof(struct skeys_header, count)
#define HDR_CHECKSUM offsetof(struct skeys_header, checksum)
#define HDR_START offsetof(struct skeys_header, start)
#define HDR_STOP offsetof(struct skeys_header, stop)
#define bytes_at skeys_image_bytes

enum {
	SITE_LEN = 5,
	R_X86_64_PC32 = 2,
	R_X86_64_PLT32 = 4,
};

#define COND_PREFIX "skeys__tcond_"

static void site_error(struct skeys_csites *t, struct skeys_csite_check *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void site_error(struct skeys_csites *t, struct skeys_csite_check *s, const char *fmt, ...)
{
	va_list ap;

	if (s->error)
		return;
	t->n_bad++;
	s->error = malloc(256);
	if (!s->error)
		return;
	va_start(ap, fmt);
	vsnprintf(s->error, 256, fmt, ap);
	va_end(ap);
}

/* The verified call whose trampoline is at `tramp`, or NULL. */
static const struct skeys_call_check *call_at(const struct skeys_calls *cs, uint64_t tramp)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->calls[i].tramp == tramp)
			return &cs->calls[i];
	return NULL;
}

/* The site's bytes: its opcode and a rel32 to its trampoline. */
static void site_verify(const struct skeys_calls *cs, struct skeys_csites *t,
			struct skeys_csite_check *s)
{
	const struct skeys_section *sec = skeys_image_section_at(cs->img, s->code, SITE_LEN);
	const uint8_t *b = bytes_at(cs->img, s->code, SITE_LEN);
	const struct skeys_call_check *c = call_at(cs, s->tramp);
	const struct skeys_arch *a = cs->img->arch;
	bool jmp = s->flags & SKEYS_CSITE_JMP;
	uint64_t dest = 0;

	if (!c || c->call != s->call) {
		site_error(t, s, "names 0x%" PRIx64 " as its trampoline and 0x%" PRIx64
			   " as its call: no such static call", s->tramp, s->call);
		return;
	}
	if (c->error)
		return; /* said once, for the call */
	if (!a->decode_call) {
		site_error(t, s, "%s has no inline call sites", a->name);
		return;
	}
	if (!sec || !(sec->flags & SKEYS_SEC_EXEC) || !b) {
		site_error(t, s, "not in executable code");
		return;
	}
	if (s->code < s->tramp + SKEYS_CALL_TRAMP_SIZE && s->code + SITE_LEN > s->tramp) {
		site_error(t, s, "inside its own trampoline");
		return;
	}
	if (!(jmp ? a->decode_jump : a->decode_call)(s->code, b, &dest) || dest != s->tramp)
		site_error(t, s, "expected %s 0x%" PRIx64 " (its trampoline), found %02x %02x %02x "
			   "%02x %02x", jmp ? "jmp" : "call", s->tramp, b[0], b[1], b[2], b[3], b[4]);
}

static int site_add(struct skeys_csites *t, size_t *cap, const struct skeys_csite_check *s)
{
	if (t->n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		struct skeys_csite_check *p = realloc(t->sites, ncap * sizeof(*p));

		if (!p)
			return -1;
		t->sites = p;
		*cap = ncap;
	}
	t->sites[t->n++] = *s;
	return 0;
}

struct scan {
	struct skeys_calls *cs;
	size_t cap;
};

/* A kept relocation: a site when it is the rel32 of a call or jmp to a trampoline. */
static int scan_one(void *ctx, const struct skeys_code_reloc *r)
{
	struct scan *sc = ctx;
	struct skeys_calls *cs = sc->cs;
	const struct skeys_call_check *c;
	struct skeys_csite_check s;
	const struct skeys_arch *a = cs->img->arch;
	const uint8_t *b;
	uint64_t dest;
	bool jmp;

	cs->sites.relocs = true;
	if (r->type != R_X86_64_PC32 && r->type != R_X86_64_PLT32)
		return 0;
	/* Where a rel32 ending the instruction at r->at + 4 leads. */
	c = call_at(cs, r->value + (uint64_t)r->addend + 4);
	if (!c || !r->at || !a->decode_call)
		return 0;
	b = bytes_at(cs->img, r->at - 1, SITE_LEN);
	if (!b)
		return 0;
	/* Wherever it leads now: site_verify() says when that is not the trampoline. */
	jmp = !a->decode_call(r->at - 1, b, &dest);
	if (jmp && !a->decode_jump(r->at - 1, b, &dest))
		return 0; /* lea, mov, jcc: that code uses the trampoline */
	memset(&s, 0, sizeof(s));
	s.code = r->at - 1;
	s.tramp = c->tramp;
	s.call = c->call;
	s.flags = (jmp ? SKEYS_CSITE_JMP : 0) |
		  (!strncmp(r->name, COND_PREFIX, strlen(COND_PREFIX)) ? SKEYS_CSITE_COND : 0);
	return site_add(&cs->sites, &sc->cap, &s) ? -2 : 0;
}

static int site_cmp(const void *a, const void *b)
{
	const struct skeys_csite_check *x = a, *y = b;

	if (x->call != y->call)
		return x->call < y->call ? -1 : 1;
	return (x->code > y->code) - (x->code < y->code);
}

static int table_error(struct skeys_calls *cs, const char *msg)
{
	if (cs->error)
		return 0;
	cs->error = strdup(msg);
	return cs->error ? 0 : -1;
}

/* The sites a sealed file recorded. */
static int read_recorded(struct skeys_calls *cs)
{
	struct skeys_csites *t = &cs->sites;
	const struct skeys_image *img = cs->img;
	const uint8_t *b;

	if (t->hdr.count > t->cap)
		return table_error(cs, "inline call-site table: count exceeds its slots");
	t->n = t->hdr.count;
	t->sites = calloc(t->n ? t->n : 1, sizeof(*t->sites));
	if (!t->sites)
		return -1;
	b = img->buf + t->table_off;
	for (size_t i = 0; i < t->n; i++) {
		struct skeys_entry e;
		struct skeys_site s;

		e.code = (int32_t)skeys_image_get32(img, b + 12 * i);
		e.target = (int32_t)skeys_image_get32(img, b + 12 * i + 4);
		e.key = (int32_t)skeys_image_get32(img, b + 12 * i + 8);
		s = skeys_entry_site(&e, t->table_addr + 12 * i);
		t->sites[i].code = s.code;
		t->sites[i].tramp = s.target;
		t->sites[i].call = s.key;
		t->sites[i].flags = s.flags;
	}
	t->intact = skeys_table_is_sorted((const struct skeys_entry *)(const void *)b, t->n,
					  t->table_addr) &&
		    skeys_table_checksum(b, t->n * 12) == t->hdr.checksum;
	if (!t->intact)
		return table_error(cs, "inline call-site table changed after sealing");
	return 0;
}

int skeys_csites_open(struct skeys_calls *cs)
{
	struct skeys_csites *t = &cs->sites;
	const struct skeys_image *img = cs->img;
	const uint8_t *h;
	uint64_t hdr_addr = cs->hdr_addr + SKEYS_HEADER_SIZE_V1, stop;
	struct scan sc = { cs, 0 };
	char err[SKEYS_ERR_LEN];
	int r;

	memset(t, 0, sizeof(*t));
	if (!cs->calls || !(cs->hdr.flags & SKEYS_CALLS_F_SITES))
		return 0;
	t->present = true;
	h = bytes_at(img, hdr_addr, SKEYS_HEADER_SIZE_V1);
	if (!h || memcmp(h, SKEYS_CSITES_MAGIC, 8) || skeys_image_get16(img, h + 8) != SKEYS_CALLS_VERSION ||
	    skeys_image_get16(img, h + 10) != 40 || skeys_image_get16(img, h + 12) != 12 ||
	    skeys_image_get16(img, h + 14) != SKEYS_ARCH_X86_64)
		return table_error(cs, "inline call-site table header is not sound");
	t->hdr_off = (uint64_t)(h - img->buf);
	t->hdr.flags = skeys_image_get32(img, h + HDR_FLAGS);
	t->hdr.count = skeys_image_get32(img, h + HDR_COUNT);
	t->hdr.checksum = skeys_image_get64(img, h + HDR_CHECKSUM);
	t->table_addr = hdr_addr + HDR_START +
			(uint64_t)(int64_t)(int32_t)skeys_image_get32(img, h + HDR_START);
	stop = hdr_addr + HDR_STOP + (uint64_t)(int64_t)(int32_t)skeys_image_get32(img, h + HDR_STOP);
	if (stop < t->table_addr || (stop - t->table_addr) % 12 ||
	    !skeys_image_section_at(img, t->table_addr, stop - t->table_addr) ||
	    !bytes_at(img, t->table_addr, stop - t->table_addr))
		return table_error(cs, "inline call-site table bounds are not sound");
	t->cap = (size_t)(stop - t->table_addr) / 12;
	t->table_off = (uint64_t)(bytes_at(img, t->table_addr, 1) - img->buf);
	t->sealed = t->hdr.flags & SKEYS_HEADER_SEALED;
	if (t->sealed) {
		if (read_recorded(cs))
			return -1;
	} else if (img->format->code_relocs) {
		r = img->format->code_relocs(img, scan_one, &sc, err, sizeof(err));
		if (r == -2)
			return -1;
		if (r)
			return table_error(cs, err);
		qsort(t->sites, t->n, sizeof(*t->sites), site_cmp);
		if (t->n > t->cap) {
			t->n_over = t->n - t->cap;
			t->n = t->cap;
		}
	}
	for (size_t i = 0; i < t->n; i++)
		site_verify(cs, t, &t->sites[i]);
	return 0;
}

void skeys_csites_close(struct skeys_csites *t)
{
	for (size_t i = 0; t->sites && i < t->n + t->n_over; i++)
		free(t->sites[i].error);
	free(t->sites);
	memset(t, 0, sizeof(*t));
}

size_t skeys_csites_count(const struct skeys_csites *t, uint64_t call)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += t->sites[i].call == call;
	return n;
}

size_t skeys_csites_report(const struct skeys_calls *cs, const char *path)
{
	const struct skeys_csites *t = &cs->sites;
	char where[512], name[256];
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct skeys_csite_check *s = &t->sites[i];

		if (!s->error)
			continue;
		skeys_check_func_name(cs->img, s->code, where, sizeof(where));
		skeys_calls_name(cs, s->call, name, sizeof(name));
		fprintf(stderr, "%s: %s (0x%" PRIx64 "): error: inline call site of %s: %s\n", path,
			where, s->code, name, s->error);
		n++;
	}
	if (t->n_over)
		fprintf(stderr, "%s: note: %zu inline call sites beyond the %zu slots reserved keep "
			"calling their trampolines (reserve more with SKEYS_RESERVE_CALL_SITES)\n",
			path, t->n_over, t->cap);
	return n;
}

int skeys_csites_seal(const struct skeys_calls *cs, uint8_t *out, char *err, size_t errlen)
{
	const struct skeys_csites *t = &cs->sites;
	const struct skeys_image *img = cs->img;
	size_t bytes = t->cap * sizeof(struct skeys_entry);
	struct skeys_entry *e;
	uint8_t *h = out + t->hdr_off;

	if (!t->present || t->sealed)
		return 0;
	e = calloc(t->cap ? t->cap : 1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct skeys_site s = { .code = t->sites[i].code, .target = t->sites[i].tramp,
					.key = t->sites[i].call, .flags = t->sites[i].flags };

		if (skeys_entry_set(&e[i], t->table_addr + 12 * i, &s)) {
			snprintf(err, errlen, "inline call site 0x%" PRIx64 ": out of the table's "
				 "32-bit reach", s.code);
			free(e);
			return -1;
		}
	}
	if (skeys_table_sort(e, t->n, t->table_addr)) {
		snprintf(err, errlen, "inline call-site table: cannot sort");
		free(e);
		return -1;
	}
	memcpy(out + t->table_off, e, bytes); /* x86-64: host and file order agree */
	skeys_image_put32(img, h + HDR_FLAGS, t->hdr.flags | SKEYS_HEADER_SEALED);
	skeys_image_put32(img, h + HDR_COUNT, (uint32_t)t->n);
	skeys_image_put64(img, h + HDR_CHECKSUM, skeys_table_checksum(e, t->n * sizeof(*e)));
	free(e);
	return 0;
}

void skeys_csites_emit(struct skeys_emit *e, const struct skeys_calls *cs)
{
	static const struct skeys_field F_SITES = { .key = "call_sites", .head = "Call sites" },
		S_CALL = { .key = "call", .head = "CALL" },
		S_ADDR = { .key = "site", .head = "SITE" },
		S_FUNC = { .key = "function", .head = "FUNCTION" },
		S_KIND = { .key = "kind", .head = "KIND" },
		S_COND = { .key = "cond", .head = "COND" },
		S_OK = { .key = "ok", .head = "STATUS", .yes = "ok", .no = "BAD" },
		S_ERROR = { .key = "error", .fmt = ": %s" };
	const struct skeys_csites *t = &cs->sites;
	char name[256], where[512];

	skeys_emit_field_array(e, &F_SITES, t->n);
	for (size_t i = 0; i < t->n; i++) {
		const struct skeys_csite_check *s = &t->sites[i];

		skeys_calls_name(cs, s->call, name, sizeof(name));
		skeys_check_func_name(cs->img, s->code, where, sizeof(where));
		skeys_emit_elem_begin(e);
		skeys_emit_field_str(e, &S_CALL, name);
		skeys_emit_field_addr(e, &S_ADDR, s->code);
		skeys_emit_field_str(e, &S_FUNC, where);
		skeys_emit_field_str(e, &S_KIND, s->flags & SKEYS_CSITE_JMP ? "tail" : "call");
		skeys_emit_field_bool(e, &S_COND, s->flags & SKEYS_CSITE_COND);
		skeys_emit_field_bool(e, &S_OK, !s->error);
		if (s->error)
			skeys_emit_field_str(e, &S_ERROR, s->error);
		skeys_emit_elem_end(e);
	}
	skeys_emit_array_end(e);
}
