/* SPDX-License-Identifier: MIT */
/* Format-neutral parts of the readers: registry, lookups, byte order. */
#include "format.h"

#include <skeys/abi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SKEYS_FORMAT_ROW(name) &skeys_format_##name,
static const struct skeys_format *const formats[] = { SKEYS_FORMAT_LIST(SKEYS_FORMAT_ROW) };
#undef SKEYS_FORMAT_ROW

#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

const struct skeys_format *skeys_format_at(size_t i)
{
	return i < N_FORMATS ? formats[i] : NULL;
}

int skeys_image_open_format(struct skeys_image **out, const struct skeys_format *fmt,
			    const void *buf, size_t len, char *err, size_t errlen)
{
	struct skeys_image *img;

	*out = NULL;
	img = calloc(1, sizeof(*img));
	if (!img) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	img->format = fmt;
	img->buf = buf;
	img->len = len;
	if (img->format->open(img, err, errlen)) {
		skeys_image_close(img);
		return -1;
	}
	*out = img;
	return 0;
}

int skeys_image_open_mem(struct skeys_image **out, const void *buf, size_t len,
			 char *err, size_t errlen)
{
	size_t i;

	*out = NULL;
	for (i = 0; i < N_FORMATS; i++)
		if (formats[i]->probe(buf, len))
			return skeys_image_open_format(out, formats[i], buf, len, err, errlen);
	snprintf(err, errlen, "%s", len ? "not a supported binary (unknown format)"
					 : "empty file");
	return -1;
}

void skeys_image_close(struct skeys_image *img)
{
	if (!img)
		return;
	if (img->format && img->format->close)
		img->format->close(img);
	for (size_t i = 0; i < img->n_slices; i++)
		skeys_image_close(img->slices[i]);
	free(img->slices);
	free(img->sections);
	free(img->funcs);
	free(img->objects);
	free(img);
}

/* ---- lookups: everything sorted once, then binary search ---------------- */

static int section_cmp(const void *a, const void *b)
{
	const struct skeys_section *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int symbol_cmp(const void *a, const void *b)
{
	const struct skeys_symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	/* The larger symbol usually is the function; a tie goes to the name. */
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Keep the first (best) symbol of each address. */
static size_t symbols_dedupe(struct skeys_symbol *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (k == 0 || s[k - 1].addr != s[i].addr)
			s[k++] = s[i];
	return k;
}

int skeys_image_note_skeys(struct skeys_image *img, const struct skeys_section *s,
			   const char *prefix, char *err, size_t errlen)
{
	bool *has;
	struct skeys_section *dst;

	if (!strcmp(s->name, SKEYS_SECTION_TABLE)) {
		has = &img->has_table;
		dst = &img->table;
	} else if (!strcmp(s->name, SKEYS_SECTION_HEADER)) {
		has = &img->has_header;
		dst = &img->header;
	} else {
		return 0;
	}
	if (*has) {
		snprintf(err, errlen, "two %s%s sections", prefix, s->name);
		return -1;
	}
	*has = true;
	*dst = *s;
	return 0;
}

int skeys_image_finish(struct skeys_image *img, char *err, size_t errlen)
{
	size_t i;

	if (img->n_sections)
		qsort(img->sections, img->n_sections, sizeof(*img->sections), section_cmp);
	/* Address lookups assume one section per address; linkers guarantee it. */
	for (i = 1; i < img->n_sections; i++) {
		const struct skeys_section *p = &img->sections[i - 1], *s = &img->sections[i];

		if (s->addr - p->addr < p->size) {
			snprintf(err, errlen, "sections %s and %s overlap", p->name, s->name);
			return -1;
		}
	}
	if (img->n_funcs) {
		qsort(img->funcs, img->n_funcs, sizeof(*img->funcs), symbol_cmp);
		img->n_funcs = symbols_dedupe(img->funcs, img->n_funcs);
	}
	if (img->n_objects) {
		qsort(img->objects, img->n_objects, sizeof(*img->objects), symbol_cmp);
		img->n_objects = symbols_dedupe(img->objects, img->n_objects);
	}
	return 0;
}

void skeys_image_func_sizes(struct skeys_image *img)
{
	size_t i;

	for (i = 0; i < img->n_funcs; i++) {
		const struct skeys_section *s =
			skeys_image_section_at(img, img->funcs[i].addr, 1);
		uint64_t end;

		if (!s || img->funcs[i].size)
			continue;
		end = s->addr + s->size;
		if (i + 1 < img->n_funcs && img->funcs[i + 1].addr < end)
			end = img->funcs[i + 1].addr;
		img->funcs[i].size = end - img->funcs[i].addr;
	}
}

const struct skeys_section *skeys_image_section_at(const struct skeys_image *img,
						   uint64_t addr, uint64_t len)
{
	size_t lo = 0, hi = img->n_sections;
	const struct skeys_section *s;

	/* Last section starting at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (img->sections[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	s = &img->sections[lo - 1];
	if (addr - s->addr >= s->size || len > s->size - (addr - s->addr))
		return NULL;
	return s;
}

int64_t skeys_image_offset(const struct skeys_image *img, uint64_t addr, uint64_t len)
{
	const struct skeys_section *s = skeys_image_section_at(img, addr, len);

	/* Readers checked that every file-backed section lies inside the file. */
	if (!s || (s->flags & SKEYS_SEC_NOBITS))
		return -1;
	return (int64_t)(s->offset + (addr - s->addr));
}

const struct skeys_section *skeys_image_section_named(const struct skeys_image *img,
						      const char *name)
{
	for (size_t i = 0; i < img->n_sections; i++)
		if (!strcmp(img->sections[i].name, name))
			return &img->sections[i];
	return NULL;
}

const uint8_t *skeys_image_bytes(const struct skeys_image *img, uint64_t addr, uint64_t len)
{
	int64_t off = skeys_image_offset(img, addr, len);

	return off < 0 ? NULL : img->buf + off;
}

/* Index of the last symbol with address <= addr, or n when none. */
static size_t symbol_floor(const struct skeys_symbol *s, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : n;
}

static bool symbol_contains(const struct skeys_symbol *s, uint64_t addr)
{
	if (s->size == 0)
		return addr == s->addr;
	return addr - s->addr < s->size;
}

const struct skeys_symbol *skeys_image_func_at(const struct skeys_image *img,
					       uint64_t addr)
{
	size_t i = symbol_floor(img->funcs, img->n_funcs, addr);
	size_t steps;

	/*
	 * A small symbol (a local label typed as a function) may sit inside a
	 * larger one; look back a bounded few entries so lookups stay O(log n).
	 */
	for (steps = 0; i < img->n_funcs && steps < 8; steps++, i--) {
		if (symbol_contains(&img->funcs[i], addr))
			return &img->funcs[i];
		if (i == 0)
			break;
	}
	return NULL;
}

const struct skeys_symbol *skeys_image_object_in(const struct skeys_image *img,
						 uint64_t addr)
{
	size_t i = symbol_floor(img->objects, img->n_objects, addr);

	if (i < img->n_objects && symbol_contains(&img->objects[i], addr))
		return &img->objects[i];
	return NULL;
}

const struct skeys_symbol *skeys_image_object_at(const struct skeys_image *img,
						 uint64_t addr)
{
	size_t i = symbol_floor(img->objects, img->n_objects, addr);

	if (i < img->n_objects && img->objects[i].addr == addr)
		return &img->objects[i];
	return NULL;
}
