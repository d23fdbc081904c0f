/* SPDX-License-Identifier: MIT */
/*
 * Function entries, verified: every address of the compiler's
 * __patchable_function_entries list (as the file gives it: its bytes, or
 * the R_X86_64_RELATIVE relocation that fills it at load) is the first
 * nop of a function's pad in executable code. x86-64 shapes, as gcc and
 * clang emit them for -fpatchable-function-entry=N,M:
 *
 *   M = 0:          [endbr64] E: nops (N bytes)         E is the symbol, or
 *                                                       E - 4 with endbr64
 *   M > 0:          E: nops (M bytes) f: [endbr64] nops (N - M bytes)
 *
 * gcc writes one-byte nops, clang long ones; both are accepted as any run
 * of x86 nop instructions. Where the symbol is in a run of nops (M > 0, no
 * endbr64), the symbol table says; a module's functions share one M and one
 * N - M (the "pad", 5 bytes or more), which the part records when sealed.
 * Sealing rewrites each pad into the 5-byte nop 0f 1f 44 00 00 (the patch
 * point) followed by nops for the rest: nothing runs at seal time, so every
 * later patch is one instruction.
 *
 * PE x86-64 (mingw-w64 gcc): the same shapes; the list's absolute
 * addresses are the file's bytes (the image's base relocations move them
 * at load), and the part's start is written by sealing (coff_list_start()).
 *
 * aarch64: the pad is N - M nops (d503201f), at least 2, after `bti c`
 * where BTI puts one (which plays endbr64's part above); entries arrive as
 * R_AARCH64_RELATIVE. Sealing makes the first `mov x9, x30` (the stub
 * call's return address goes there), the second is the patch point and
 * the rest stay nops; a sealed pad's words count as its nops.
 *
 * i386: x86-64's shapes with endbr32 (gcc's one-byte nops, clang's 66 90
 * pairs), 4-byte entries, R_386_RELATIVE relocations (REL: the list's
 * bytes hold the address). The patch point is keys' 5-byte nop there,
 * 3e 8d 74 26 00, which every i686 runs, the rest 66 90 and 90.
 */
#define _XOPEN_SOURCE 700 /* strdup */
#include "verify_entries.h"

#include "arch.h"
#include "check.h"
#include "table.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	R_X86_64_RELATIVE = 8,
	R_AARCH64_RELATIVE = 1027,
	R_386_RELATIVE = 8,
	MAX_NOPS = 255, /* the part records the pad in a byte */
};

static const uint8_t nop5[SKEYS_FENTRY_PATCH] = SKEYS_FENTRY_NOP5;
static const uint8_t endbr64[4] = SKEYS_FENTRY_ENDBR64;
static const uint8_t bti_c[4] = SKEYS_FENTRY_BTI_C;
static const uint8_t i386_nop5[SKEYS_FENTRY_PATCH] = SKEYS_FENTRY_I386_NOP5;
static const uint8_t endbr32[4] = SKEYS_FENTRY_ENDBR32;
/* aarch64's sealed pad: mov x9, x30; nop (the patch point). */
static const uint8_t a64_sealed[8] = { 0xe9, 0x03, 0x1e, 0xaa, 0x1f, 0x20, 0x03, 0xd5 };

/* Nops of every length up to 8, as sealing writes them. */
static const uint8_t nops[9][8] = {
	{ 0 },
	{ 0x90 },
	{ 0x66, 0x90 },
	{ 0x0f, 0x1f, 0x00 },
	{ 0x0f, 0x1f, 0x40, 0x00 },
	{ 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	{ 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	{ 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
	{ 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
};

/*
 * Length of the x86 nop instruction at p (`avail` bytes readable), or 0:
 * 90, 66 90, or 0f 1f /0 with any addressing form, after 66 and 2e
 * prefixes, 15 bytes at most.
 */
static unsigned nop_len(const uint8_t *p, size_t avail)
{
	size_t i = 0, n;
	unsigned modrm, mod, rm;

	if (avail && p[0] == 0x90)
		return 1;
	while (i < avail && i < 14 && (p[i] == 0x66 || p[i] == 0x2e))
		i++;
	if (i && i < avail && p[i] == 0x90 && p[i - 1] == 0x66 && i == 1)
		return 2;
	if (i + 3 > avail || p[i] != 0x0f || p[i + 1] != 0x1f || (p[i + 2] >> 3 & 7))
		return 0;
	modrm = p[i + 2];
	mod = modrm >> 6;
	rm = modrm & 7;
	n = i + 3;
	if (mod != 3 && rm == 4) { /* SIB */
		if (n >= avail)
			return 0;
		if (mod == 0 && (p[n] & 7) == 5)
			n += 4;
		n++;
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		n += 4;
	return n <= avail && n <= 15 ? (unsigned)n : 0;
}

/*
 * aarch64: a pad word, 4 bytes, or 0: a nop (d503201f) or the sealed
 * `mov x9, x30` (aa1e03e9), which sealing writes at the start of the pad
 * whatever was there.
 */
static unsigned a64_pad_word(const uint8_t *p, size_t avail)
{
	uint32_t w;

	if (avail < 4)
		return 0;
	w = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return w == SKEYS_FENTRY_A64_NOP || w == SKEYS_FENTRY_A64_MOV_X9_X30 ? 4 : 0;
}

static bool is_a64(const struct skeys_image *img)
{
	return img->arch->id == SKEYS_ARCH_AARCH64;
}

static bool is_i386(const struct skeys_image *img)
{
	return img->arch->id == SKEYS_ARCH_I386;
}

/* Bytes of an entry of the list: the module's pointer size. */
static unsigned entry_size(const struct skeys_image *img)
{
	return is_i386(img) ? 4 : 8;
}

/* x86 nops; on i386 the sealed patch point too. */
static unsigned x86_nop_len(const struct skeys_image *img, const uint8_t *p, size_t avail)
{
	if (is_i386(img) && avail >= sizeof(i386_nop5) && !memcmp(p, i386_nop5, sizeof(i386_nop5)))
		return sizeof(i386_nop5);
	return nop_len(p, avail);
}

/* The smallest pad: x86-64's 5-byte patch point, aarch64's two words. */
static unsigned pad_min(const struct skeys_image *img)
{
	return is_a64(img) ? 8 : SKEYS_FENTRY_PATCH;
}

/* Bytes of consecutive nop instructions (aarch64: pad words) from p. */
static unsigned nop_run(const struct skeys_image *img, const uint8_t *p, size_t avail)
{
	unsigned run = 0, k;

	while (run < MAX_NOPS + 16 &&
	       (k = is_a64(img) ? a64_pad_word(p + run, avail - run)
				: x86_nop_len(img, p + run, avail - run)) != 0)
		run += k;
	return run;
}

static void entry_error(struct skeys_fentries_check *fs, struct skeys_fentry_check *e,
			const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void entry_error(struct skeys_fentries_check *fs, struct skeys_fentry_check *e,
			const char *fmt, ...)
{
	va_list ap;

	if (e->error)
		return; /* the first problem says enough */
	fs->n_bad++;
	e->error = malloc(256);
	if (!e->error)
		return;
	va_start(ap, fmt);
	vsnprintf(e->error, 256, fmt, ap);
	va_end(ap);
}

/* "90 90 cc 90 90": up to `n` bytes at addr, as the file has them. */
static void hex_at(const struct skeys_image *img, uint64_t addr, size_t n, char *out,
		   size_t outlen)
{
	const uint8_t *p = NULL;
	size_t i, k = 0;

	while (n && !(p = skeys_image_bytes(img, addr, n)))
		n--;
	out[0] = 0;
	for (i = 0; p && i < n && k + 4 < outlen; i++)
		k += (size_t)snprintf(out + k, outlen - k, "%s%02x", i ? " " : "", p[i]);
}

/* The bytes from addr to the end of its executable section, or NULL. */
static const uint8_t *code_at(const struct skeys_image *img, uint64_t addr, size_t *avail)
{
	const struct skeys_section *s = skeys_image_section_at(img, addr, 1);

	if (!s || !(s->flags & SKEYS_SEC_EXEC) || (s->flags & SKEYS_SEC_NOBITS))
		return NULL;
	*avail = (size_t)(s->addr + s->size - addr);
	return skeys_image_bytes(img, addr, *avail);
}

static bool endbr_at(const struct skeys_image *img, uint64_t addr)
{
	size_t avail;
	const uint8_t *p = code_at(img, addr, &avail);

	return p && avail >= 4 &&
	       !memcmp(p, is_a64(img) ? bti_c : is_i386(img) ? endbr32 : endbr64, 4);
}

/*
 * The shape of entry e from the bytes and symbols: its symbol, endbr64,
 * prefix and pad. False when nothing tells where the symbol is (no endbr64,
 * no symbol in the run): prefix is then the module's, set by the caller.
 */
static bool entry_shape(struct skeys_fentries_check *fs, struct skeys_fentry_check *e,
			unsigned *run)
{
	const struct skeys_image *img = fs->img;
	size_t avail;
	const uint8_t *p = code_at(img, e->entry, &avail);
	unsigned k;

	if (!p)
		return false;
	*run = nop_run(img, p, avail);
	if (e->entry >= 4 && endbr_at(img, e->entry - 4)) {
		e->endbr = true;
		e->function = e->entry - 4;
		e->patch = e->entry;
		e->prefix = 0;
		e->pad = *run;
		return true;
	}
	if (*run && endbr_at(img, e->entry + *run)) {
		e->endbr = true;
		e->prefix = *run;
		e->function = e->entry + *run;
		e->patch = e->function + 4;
		p = code_at(img, e->patch, &avail);
		e->pad = p ? nop_run(img, p, avail) : 0;
		return true;
	}
	for (k = 0; k < *run; k++) {
		const struct skeys_symbol *s = skeys_image_func_at(img, e->entry + k);

		if (s && s->addr == e->entry + k) {
			e->prefix = k;
			e->function = e->patch = s->addr;
			e->pad = *run - k;
			return true;
		}
	}
	return false;
}

/* The entries' addresses: the list's bytes, or the relocations that fill them. */
static bool list_read(struct skeys_fentries_check *fs, uint64_t *v)
{
	const struct skeys_image *img = fs->img;
	const unsigned asz = entry_size(img);
	/* ELF64: RELA (24 bytes), the addend in the relocation; i386: REL (8), in place. */
	const struct skeys_section *rela =
		skeys_image_section_named(img, is_i386(img) ? ".rel.dyn" : ".rela.dyn");
	const unsigned rsz = is_i386(img) ? 8 : 24;
	const uint32_t relative = is_a64(img)	 ? R_AARCH64_RELATIVE
				  : is_i386(img) ? R_386_RELATIVE
						 : R_X86_64_RELATIVE;
	const uint8_t *l = fs->n ? skeys_image_bytes(img, fs->list_addr, fs->n * asz) : NULL;
	size_t i;

	if (!fs->n)
		return true;
	if (!l)
		return false;
	for (i = 0; i < fs->n; i++)
		v[i] = asz == 4 ? skeys_image_get32(img, l + i * 4) : skeys_image_get64(img, l + i * 8);
	if (!rela || (rela->flags & SKEYS_SEC_NOBITS) || rela->offset + rela->size > img->len)
		return true;
	for (uint64_t r = 0; r + rsz <= rela->size; r += rsz) {
		const uint8_t *q = img->buf + rela->offset + r;
		uint64_t at = asz == 4 ? skeys_image_get32(img, q) : skeys_image_get64(img, q);
		uint64_t info = asz == 4 ? skeys_image_get32(img, q + 4) : skeys_image_get64(img, q + 8);
		uint32_t type = asz == 4 ? (uint32_t)info & 0xff : (uint32_t)info;

		if (at < fs->list_addr || at >= fs->list_addr + fs->n * asz)
			continue;
		if (type != relative || (at - fs->list_addr) % asz)
			return false; /* only the compiler's local addresses belong here */
		if (asz == 8)
			v[(at - fs->list_addr) / 8] = skeys_image_get64(img, q + 16);
	}
	return true;
}

static int list_error(struct skeys_fentries_check *fs, const char *msg)
{
	if (!fs->error)
		fs->error = strdup(msg);
	return fs->error ? 0 : -1;
}

/* The most common value of a field among the entries that verified so far. */
static unsigned majority(const struct skeys_fentries_check *fs, size_t field)
{
	unsigned count[MAX_NOPS + 17] = { 0 }, best = 0, v;
	size_t i;

	for (i = 0; i < fs->n; i++) {
		if (fs->e[i].error)
			continue;
		memcpy(&v, (const char *)&fs->e[i] + field, sizeof(v));
		if (v < MAX_NOPS + 17 && ++count[v] > count[best])
			best = v;
	}
	return best;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* A function the list names twice (the list is in link order, not address order). */
static bool list_repeats(const uint64_t *v, size_t n, uint64_t *twice)
{
	uint64_t *s = malloc((n ? n : 1) * sizeof(*s));
	bool r = false;

	if (!s)
		return false; /* the runtime checks this too */
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), u64_cmp);
	for (size_t i = 1; i < n && !r; i++)
		if (s[i] == s[i - 1]) {
			*twice = s[i];
			r = true;
		}
	free(s);
	return r;
}

/*
 * x86-64: the run of nops at `at` is the module's pad of `len` bytes and
 * then a key site's 5-byte nop (0f 1f 44 00 00, <skeys/arch/x86_64.h>),
 * where a function's body starts with a site. The compilers' own pads never
 * continue that way: gcc's are one-byte nops, clang's one long nop (its
 * 5-byte one is 0f 1f 44 00 08), so a function with more nops than the
 * module's others is still told apart.
 */
static bool pad_then_site(const struct skeys_image *img, uint64_t at, unsigned len)
{
	size_t avail;
	const uint8_t *p = code_at(img, at, &avail);
	unsigned run = 0, k = 1;

	if (!p || img->arch->id != SKEYS_ARCH_X86_64)
		return false;
	while (run < len && k)
		run += k = nop_len(p + run, avail - run);
	return run == len && avail - run >= sizeof(nop5) && !memcmp(p + run, nop5, sizeof(nop5));
}

/* Every entry's shape, then each against the module's M and N - M. */
static void entries_verify(struct skeys_fentries_check *fs, const uint64_t *v)
{
	unsigned *runs = calloc(fs->n ? fs->n : 1, sizeof(*runs));
	bool *known = calloc(fs->n ? fs->n : 1, sizeof(*known));
	bool any = false;
	uint64_t twice;
	size_t i;

	if (list_repeats(v, fs->n, &twice)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "__patchable_function_entries lists 0x%" PRIx64 " twice",
			 twice);
		list_error(fs, msg);
	}
	if (!runs || !known) {
		free(runs);
		free(known);
		list_error(fs, "out of memory");
		return;
	}
	for (i = 0; i < fs->n; i++) {
		struct skeys_fentry_check *e = &fs->e[i];
		size_t avail;

		e->entry = e->function = e->patch = v[i];
		if (!code_at(fs->img, e->entry, &avail))
			entry_error(fs, e, "0x%" PRIx64 " is not in executable code", e->entry);
		else
			known[i] = entry_shape(fs, e, &runs[i]);
		any |= known[i];
	}
	if (!any && fs->n && !fs->n_bad && !fs->error)
		list_error(fs, "no symbol and no endbr64 tells where the functions start in "
			       "their nops: seal before stripping the symbol table");
	fs->prefix = majority(fs, offsetof(struct skeys_fentry_check, prefix));
	for (i = 0; i < fs->n; i++) {
		struct skeys_fentry_check *e = &fs->e[i];

		if (e->error || !any || known[i])
			continue;
		e->prefix = fs->prefix;
		e->function = e->patch = e->entry + fs->prefix;
		e->pad = runs[i] > fs->prefix ? runs[i] - fs->prefix : 0;
	}
	fs->pad = majority(fs, offsetof(struct skeys_fentry_check, pad));
	for (i = 0; i < fs->n; i++) {
		struct skeys_fentry_check *e = &fs->e[i];
		char found[64];

		if (e->error || !any)
			continue;
		fs->endbr |= e->endbr;
		if (e->pad > fs->pad && fs->pad >= pad_min(fs->img) &&
		    pad_then_site(fs->img, e->patch, fs->pad))
			e->pad = fs->pad; /* the body starts with a key site */
		hex_at(fs->img, e->patch, fs->pad > pad_min(fs->img) ? fs->pad : pad_min(fs->img), found,
		       sizeof(found));
		if (e->prefix != fs->prefix)
			entry_error(fs, e, "%u nops before the function, the module's other "
				    "functions have %u (one -fpatchable-function-entry=N,M per module)",
				    e->prefix, fs->prefix);
		else if (e->pad < pad_min(fs->img))
			entry_error(fs, e, "expected at least %u bytes of nops at the entry "
				    "(-fpatchable-function-entry=N,M with N - M >= %u), found %s",
				    pad_min(fs->img), is_a64(fs->img) ? 2 : SKEYS_FENTRY_PATCH, found);
		else if (e->pad != fs->pad)
			entry_error(fs, e, "expected %u bytes of nops at the entry, as the module's "
				    "other functions have, found %u: %s", fs->pad, e->pad, found);
		else if (e->pad > MAX_NOPS)
			entry_error(fs, e, "more than %u bytes of nops", MAX_NOPS);
	}
	free(runs);
	free(known);
}

/* The part's fields from the file, host order. */
static void part_read(struct skeys_fentries_check *fs, const uint8_t *p)
{
	const struct skeys_image *img = fs->img;
	struct skeys_fentries *f = &fs->part;

	f->start = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_fentries, start));
	f->stop = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_fentries, stop));
	f->flags = skeys_image_get32(img, p + offsetof(struct skeys_fentries, flags));
	f->count = skeys_image_get32(img, p + offsetof(struct skeys_fentries, count));
	f->addr_size = p[offsetof(struct skeys_fentries, addr_size)];
	f->prefix = p[offsetof(struct skeys_fentries, prefix)];
	f->pad = p[offsetof(struct skeys_fentries, pad)];
	f->checksum = skeys_image_get64(img, p + offsetof(struct skeys_fentries, checksum));
}

/*
 * PE: where the list starts, which the module header cannot say before
 * sealing (<skeys/format/coff.h>): at the section that `stop` ends,
 * `__patchable_function_entries`, or `__patcha` where the linker kept no
 * string table for the long name (a stripped image). No such section: the
 * module has no patchable function, the list is empty and starts at `stop`.
 */
static uint64_t coff_list_start(const struct skeys_image *img, uint64_t stop)
{
	for (size_t i = 0; i < img->n_sections; i++) {
		const struct skeys_section *s = &img->sections[i];

		if ((strcmp(s->name, SKEYS_SECTION_FENTRIES) && strcmp(s->name, "__patcha")) ||
		    (s->flags & SKEYS_SEC_NOBITS) || stop < s->addr || stop > s->addr + s->size)
			continue;
		return s->addr;
	}
	return stop;
}

/* Sealed: the part says what the list is, and every pad is the patch point. */
static void seal_verify(struct skeys_fentries_check *fs)
{
	const struct skeys_fentries *f = &fs->part;
	size_t i;

	fs->sealed = f->flags & SKEYS_FENTRIES_SEALED;
	if (!fs->sealed)
		return;
	fs->intact = f->count == fs->n && f->checksum == fs->checksum && !fs->start_moved &&
		     (!fs->n || (f->prefix == fs->prefix && f->pad == fs->pad)) &&
		     (f->flags & ~(SKEYS_FENTRIES_SEALED | SKEYS_FENTRIES_ENDBR)) == 0 &&
		     !(f->flags & SKEYS_FENTRIES_ENDBR) == !fs->endbr;
	if (!fs->intact)
		list_error(fs, "function entries changed after sealing");
	for (i = 0; i < fs->n; i++) {
		struct skeys_fentry_check *e = &fs->e[i];
		const uint8_t *want = is_a64(fs->img) ? a64_sealed : is_i386(fs->img) ? i386_nop5 : nop5;
		size_t len = is_a64(fs->img) ? sizeof(a64_sealed) : sizeof(nop5);
		const uint8_t *p = skeys_image_bytes(fs->img, e->patch, len);
		char found[64];

		if (p && !memcmp(p, want, len))
			continue;
		/* What the seal left there says more than the shape of what is left. */
		if (e->error) {
			free(e->error);
			e->error = NULL;
			fs->n_bad--;
		}
		hex_at(fs->img, e->patch, len, found, sizeof(found));
		entry_error(fs, e, "expected the sealed patch point %s, found %s",
			    is_a64(fs->img)    ? "e9 03 1e aa 1f 20 03 d5 (mov x9, x30; nop)"
			    : is_i386(fs->img) ? "3e 8d 74 26 00"
					       : "0f 1f 44 00 00",
			    found);
	}
}

/*
 * riscv64: how many functions the list names (a note says they stay as
 * they are); 0 elsewhere, or without a list.
 */
static size_t unsupported_count(struct skeys_fentries_check *fs)
{
	const struct skeys_image *img = fs->img;
	const uint8_t *p;
	uint64_t part, start, stop;

	if (img->n_slices || !img->has_header || !img->arch || img->arch->id != SKEYS_ARCH_RISCV64 ||
	    img->header.size != SKEYS_HEADER_SIZE_ENTRIES || strcmp(img->format->name, "elf"))
		return 0;
	part = img->header.addr + SKEYS_HEADER_SIZE_NAMES;
	p = skeys_image_bytes(img, part, SKEYS_FENTRIES_SIZE);
	if (!p)
		return 0;
	start = part + (uint64_t)(int64_t)(int32_t)skeys_image_get32(img, p);
	stop = part + 4 + (uint64_t)(int64_t)(int32_t)skeys_image_get32(img, p + 4);
	fs->unsupported = stop > start ? (size_t)((stop - start) / 8) : 0;
	return fs->unsupported;
}

int skeys_fentries_open(struct skeys_fentries_check *fs, const struct skeys_image *img,
			char *err, size_t errlen)
{
	const uint8_t *p;
	uint64_t start, stop, *v = NULL, hdr;
	size_t i;

	memset(fs, 0, sizeof(*fs));
	fs->img = img;
	if (unsupported_count(fs))
		return 0;
	if (img->n_slices || !img->has_header || img->header.size != SKEYS_HEADER_SIZE_ENTRIES ||
	    img->big_endian)
		return 0; /* no part */
	fs->seal_start = !strcmp(img->format->name, "pe") && img->arch->id == SKEYS_ARCH_X86_64;
	if (!fs->seal_start && (strcmp(img->format->name, "elf") ||
				(img->arch->id != SKEYS_ARCH_X86_64 &&
				 img->arch->id != SKEYS_ARCH_AARCH64 &&
				 img->arch->id != SKEYS_ARCH_I386)))
		return 0; /* a format or architecture without patch points yet */
	hdr = img->header.addr;
	fs->part_addr = hdr + SKEYS_HEADER_SIZE_NAMES;
	p = skeys_image_bytes(img, fs->part_addr, SKEYS_FENTRIES_SIZE);
	if (!p)
		return 0;
	fs->present = true;
	fs->part_off = (uint64_t)(p - img->buf);
	part_read(fs, p);
	start = fs->part_addr + (uint64_t)(int64_t)fs->part.start;
	stop = fs->part_addr + 4 + (uint64_t)(int64_t)fs->part.stop;
	if (fs->seal_start) {
		/* Sealed, the part has the start that sealing found; 0 before. */
		start = coff_list_start(img, stop);
		fs->start_moved = fs->part.start != 0 &&
				  fs->part_addr + (uint64_t)(int64_t)fs->part.start != start;
	}
	fs->list_addr = start;
	if (stop < start || (stop - start) % entry_size(img) || fs->part.addr_size != entry_size(img) ||
	    (stop > start && !skeys_image_bytes(img, start, stop - start))) {
		if (list_error(fs, "the header's bounds of __patchable_function_entries are "
				   "not sound"))
			goto oom;
		return 0;
	}
	fs->n = (size_t)(stop - start) / entry_size(img);
	fs->e = calloc(fs->n ? fs->n : 1, sizeof(*fs->e));
	v = calloc(fs->n ? fs->n : 1, sizeof(*v));
	if (!fs->e || !v)
		goto oom;
	if (!list_read(fs, v)) {
		free(v);
		v = NULL;
		if (list_error(fs, "__patchable_function_entries holds an address that is not "
				   "the module's own"))
			goto oom;
		return 0;
	}
	fs->checksum = SKEYS_TABLE_CHECKSUM_INIT;
	for (i = 0; i < fs->n; i++) {
		uint8_t d[8];

		skeys_image_put64(img, d, v[i] - hdr);
		fs->checksum = skeys_table_checksum_more(fs->checksum, d, sizeof(d));
	}
	entries_verify(fs, v);
	free(v);
	seal_verify(fs);
	return 0;
oom:
	free(v);
	snprintf(err, errlen, "out of memory");
	skeys_fentries_close(fs);
	return -1;
}

void skeys_fentries_close(struct skeys_fentries_check *fs)
{
	for (size_t i = 0; fs->e && i < fs->n; i++)
		free(fs->e[i].error);
	free(fs->e);
	free(fs->error);
	memset(fs, 0, sizeof(*fs));
}

bool skeys_fentries_ok(const struct skeys_fentries_check *fs)
{
	return !fs->present || (!fs->error && !fs->n_bad);
}

bool skeys_fentries_sealed(const struct skeys_fentries_check *fs)
{
	/* Without a patchable function there is nothing to seal: the runtime reads nothing. */
	return !fs->present || !fs->n || fs->intact;
}

size_t skeys_fentries_pads(const struct skeys_fentries_check *fs)
{
	return fs->present ? fs->n : 0;
}

size_t skeys_fentries_report(const struct skeys_fentries_check *fs, const char *path)
{
	char where[512];
	size_t n = 0;

	if (fs->unsupported)
		fprintf(stderr,
			"%s: note: %zu functions compiled with -fpatchable-function-entry: function "
			"entries are not patchable on %s (docs/architectures.md, \"Function entries\"), "
			"their nops are left as they are\n",
			path, fs->unsupported, fs->img->arch->name);
	if (fs->error) {
		fprintf(stderr, "%s: error: function entries: %s\n", path, fs->error);
		n++;
	}
	for (size_t i = 0; fs->e && i < fs->n; i++) {
		const struct skeys_fentry_check *e = &fs->e[i];

		if (!e->error)
			continue;
		skeys_check_func_name(fs->img, e->patch, where, sizeof(where));
		fprintf(stderr, "%s: %s (0x%" PRIx64 "): error: function entry: %s\n", path, where,
			e->patch, e->error);
		n++;
	}
	return n;
}

int skeys_fentries_seal(const struct skeys_fentries_check *fs, uint8_t *out, char *err,
			size_t errlen)
{
	const struct skeys_image *img = fs->img;
	struct skeys_image copy;
	struct skeys_fentries_check proof;
	uint8_t *part = out + fs->part_off;
	size_t i;
	int r = 0;

	if (!fs->present)
		return 0;
	if (!skeys_fentries_ok(fs)) {
		snprintf(err, errlen, "function entries did not verify");
		return -1;
	}
	for (i = 0; i < fs->n; i++) {
		const struct skeys_fentry_check *e = &fs->e[i];
		int64_t off = skeys_image_offset(img, e->patch, e->pad);
		unsigned left = e->pad - SKEYS_FENTRY_PATCH, k;
		uint8_t *p;

		if (off < 0 || e->pad < pad_min(img)) { /* verified: cannot happen */
			snprintf(err, errlen, "internal error: pad at 0x%" PRIx64 " not in the file",
				 e->patch);
			return -1;
		}
		p = out + off;
		if (is_a64(img)) {
			/* The first word for good, the patch point and the rest nops. */
			memcpy(p, a64_sealed, sizeof(a64_sealed));
			for (k = 8; k < e->pad; k += 4)
				memcpy(p + k, a64_sealed + 4, 4);
			continue;
		}
		if (is_i386(img)) {
			/* The patch point, then nops every i686 runs. */
			memcpy(p, i386_nop5, sizeof(i386_nop5));
			for (p += sizeof(i386_nop5); left; left -= k, p += k) {
				k = left >= 2 ? 2 : 1;
				memcpy(p, nops[k], k);
			}
			continue;
		}
		memcpy(p, nop5, sizeof(nop5));
		for (p += sizeof(nop5); left; left -= k, p += k) {
			k = left < 8 ? left : 8;
			memcpy(p, nops[k], k);
		}
	}
	skeys_image_put32(img, part + offsetof(struct skeys_fentries, flags),
			  SKEYS_FENTRIES_SEALED | (fs->endbr ? SKEYS_FENTRIES_ENDBR : 0));
	skeys_image_put32(img, part + offsetof(struct skeys_fentries, count), (uint32_t)fs->n);
	if (fs->seal_start)
		skeys_image_put32(img, part + offsetof(struct skeys_fentries, start),
				  (uint32_t)(fs->list_addr - fs->part_addr));
	part[offsetof(struct skeys_fentries, prefix)] = (uint8_t)(fs->n ? fs->prefix : 0);
	part[offsetof(struct skeys_fentries, pad)] = (uint8_t)(fs->n ? fs->pad : 0);
	skeys_image_put64(img, part + offsetof(struct skeys_fentries, checksum), fs->checksum);
	/* Read back as a sealed module: every pad the patch point, the part intact. */
	copy = *img;
	copy.buf = out;
	if (skeys_fentries_open(&proof, &copy, err, errlen))
		return -1;
	if (!proof.present || proof.n != fs->n || !skeys_fentries_ok(&proof) || !proof.intact) {
		snprintf(err, errlen, "internal error: the sealed function entries do not verify%s%s",
			 proof.error ? ": " : "", proof.error ? proof.error : "");
		r = -1;
	}
	skeys_fentries_close(&proof);
	return r;
}

void skeys_fentries_emit(struct skeys_emit *e, const struct skeys_fentries_check *fs)
{
	static const struct skeys_field F_FENTRIES = { .key = "function_entries",
						       .head = "Functions" },
		E_FUNCTION = { .key = "function", .head = "FUNCTION" },
		E_ADDRESS = { .key = "address", .head = "ADDRESS" },
		E_NOPS = { .key = "nops", .head = "NOPS" },
		E_PREFIX = { .key = "prefix", .head = "PREFIX" },
		E_OK = { .key = "ok", .head = "STATUS", .yes = "ok", .no = "BAD" },
		E_ERROR = { .key = "error", .fmt = ": %s" };
	char name[256];

	skeys_emit_field_array(e, &F_FENTRIES, fs->e ? fs->n : 0);
	for (size_t i = 0; fs->e && i < fs->n; i++) {
		const struct skeys_fentry_check *f = &fs->e[i];

		skeys_check_func_name(fs->img, f->function, name, sizeof(name));
		skeys_emit_elem_begin(e);
		skeys_emit_field_str(e, &E_FUNCTION, name);
		skeys_emit_field_addr(e, &E_ADDRESS, f->function);
		skeys_emit_field_uint(e, &E_NOPS, f->prefix + f->pad);
		skeys_emit_field_uint(e, &E_PREFIX, f->prefix);
		skeys_emit_field_bool(e, &E_OK, !f->error);
		if (f->error)
			skeys_emit_field_str(e, &E_ERROR, f->error);
		skeys_emit_elem_end(e);
	}
	skeys_emit_array_end(e);
}
