/* SPDX-License-Identifier: MIT */
/*
 * Every site against its entry and key: flags, alignment, the code and
 * target sections, the key, and the bytes the key's state calls for; then
 * sites named by more than one entry.
 *
 * One function decides and words a site's problems, site_check(). Called
 * without a place for problems (e NULL) it stops at the first one, and the
 * compiler, inlining it with that constant, keeps only the decisions: the
 * common case, a sound site, costs a few compares. A site it rejects is
 * checked again with e set, which words every problem.
 */
#include "verify.h"

#include "arch.h"
#include "disasm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* A problem: without a place to note it, the site is decided (bad) at once. */
#define PROBLEM(...)                                                           \
	do {                                                                   \
		if (!e)                                                        \
			return false;                                          \
		skeys_check_note(c, e, __VA_ARGS__);                           \
		ok = false;                                                    \
	} while (0)

static const char *site_kind(const struct skeys_site *s)
{
	return (s->flags & SKEYS_ENTRY_BRANCH) ? "a likely" : "an unlikely";
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
 * The site's bytes against the instruction its key and branch call for:
 * the nop, or the jump to its target (which must reach it). Records the
 * instruction found. With an invalid key (already reported) either one
 * does; an unaligned site (reported too) has no jump to compare.
 */
static inline __attribute__((always_inline)) bool
site_bytes(struct skeys_check *c, struct skeys_check_site *st, char **e,
	   const struct skeys_site *s, const struct skeys_arch *a, const uint8_t *found)
{
	const struct skeys_check_key *k = &c->keys[st->key];
	const unsigned len = a->site_len;
	const uint8_t *nop = a->nop; /* also shown when the site's own does not encode */
	uint8_t nop_buf[SKEYS_SITE_MAX], jmp[SKEYS_SITE_MAX];
	bool aligned = !(s->code & (a->site_align - 1u));
	bool jmp_encodes = aligned && !a->encode_jump(s->code, s->target, jmp);
	bool nop_encodes = true, want_jmp = k->initial ^ !!(s->flags & SKEYS_ENTRY_BRANCH);
	bool ok = true, is_jmp; /* the bytes are the jump to the target */
	char f[256], want[256], want2[256], key[256];
	uint64_t dest;

	if (!jmp_encodes && aligned)
		PROBLEM("no %s jump reaches the target 0x%" PRIx64 " from here", a->name,
			s->target);
	/* s390x's nop names the jump's target, so that one byte toggles. */
	if (a->encode_nop) {
		nop_encodes = !a->encode_nop(s->code, s->target, nop_buf);
		if (nop_encodes)
			nop = nop_buf;
	}
	/* A jump is never also the nop: the two differ in their opcode bits. */
	if (nop_encodes && bytes_equal(found, nop, len))
		st->insn = SKEYS_INSN_NOP;
	else if (a->decode_jump(s->code, found, &dest))
		st->insn = SKEYS_INSN_JMP;
	else
		st->insn = SKEYS_INSN_OTHER;
	is_jmp = jmp_encodes && bytes_equal(found, jmp, len);
	if (k->valid ? (want_jmp ? st->insn == SKEYS_INSN_JMP && is_jmp
				 : st->insn == SKEYS_INSN_NOP)
		     : (st->insn == SKEYS_INSN_NOP || is_jmp))
		return ok;
	if (k->valid && want_jmp && !jmp_encodes)
		return false; /* reported above, or the site is unaligned */
	if (!e)
		return false;
	skeys_disasm_describe(a, s->code, found, len, f, sizeof(f));
	if (k->valid) {
		skeys_disasm_describe(a, s->code, want_jmp ? jmp : nop, len, want, sizeof(want));
		skeys_check_key_name(c->img, k->addr, key, sizeof(key));
		skeys_check_note(c, e, "expected %s for %s site of %s key %s, found %s", want,
				 site_kind(s), k->initial ? "TRUE" : "FALSE", key, f);
		return false;
	}
	skeys_disasm_describe(a, s->code, nop, len, want, sizeof(want));
	if (jmp_encodes)
		skeys_disasm_describe(a, s->code, jmp, len, want2, sizeof(want2));
	skeys_check_note(c, e, "expected %s%s%s, found %s", want, jmp_encodes ? " or " : "",
			 jmp_encodes ? want2 : "", f);
	return false;
}

/*
 * Every check of one site: true when it passed them all, with its
 * instruction recorded. Without e, false at the first problem; with e,
 * every problem noted there.
 */
static inline __attribute__((always_inline)) bool
site_check(struct skeys_check *c, struct skeys_check_site *st, char **e,
	   const struct skeys_site *s, unsigned allowed)
{
	const struct skeys_image *img = c->img;
	/* A mode flag the architecture lacks leaves its base encodings to check with. */
	const struct skeys_arch *a = skeys_arch_for_site(img->arch, s->flags & allowed);
	const struct skeys_check_key *k = &c->keys[st->key];
	const struct skeys_section *code, *target;
	bool code_ok, ok = true;
	char key[256];

	st->insn = SKEYS_INSN_NONE;
	if (s->flags & ~allowed)
		PROBLEM("entry sets reserved flag bits 0x%x", s->flags & ~allowed);
	/* Alignments are powers of two (common/arch): a mask, not a division. */
	if (s->code & (a->site_align - 1u))
		PROBLEM("site is not %u-byte aligned", a->site_align);
	code = section_at(c, s->code, a->site_len);
	code_ok = code && (code->flags & (SKEYS_SEC_EXEC | SKEYS_SEC_NOBITS)) == SKEYS_SEC_EXEC;
	if (!code_ok)
		PROBLEM("site is not in executable code (%s)",
			code ? code->name : "no section holds all its bytes");
	target = section_at(c, s->target, 1);
	if (!target || !(target->flags & SKEYS_SEC_EXEC))
		PROBLEM("target 0x%" PRIx64 " is not in executable code (%s)", s->target,
			target ? target->name : "in no section");
	if (!k->valid) {
		if (e)
			skeys_check_key_name(img, k->addr, key, sizeof(key));
		PROBLEM("key %s (0x%" PRIx64 ") is not a key: %s", key, k->addr, k->error);
	}
	if (code_ok && !site_bytes(c, st, e, s, a,
				   img->buf + code->offset + (s->code - code->addr)))
		ok = false;
	return ok;
}

/* The same, wording every problem: out of line, for the rare bad site. */
static __attribute__((noinline)) void site_diagnose(struct skeys_check *c,
						    struct skeys_check_site *st, char **e,
						    const struct skeys_site *s, unsigned allowed)
{
	site_check(c, st, e, s, allowed);
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

void skeys_check_sites_verify(struct skeys_check *c)
{
	unsigned allowed = skeys_arch_entry_flags(c->img->arch);
	size_t i;

	for (i = 0; i < c->n; i++) {
		struct skeys_check_site *st = &c->sites[i];
		const struct skeys_site s = skeys_check_site_at(c, i);
		char **e;

		if (!site_check(c, st, NULL, &s, allowed) && (e = site_error_slot(c, i)))
			site_diagnose(c, st, e, &s, allowed);
	}
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
bool skeys_check_duplicates(struct skeys_check *c, uint32_t **by_code)
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
					skeys_check_note(c, e, "%zu table entries name this site",
							 j - i);
			}
		}
	}
	free(v);
	return true;
}

