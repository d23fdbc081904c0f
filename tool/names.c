/* SPDX-License-Identifier: MIT */
#include "names.h"
#include "verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_SIZE ((uint64_t)sizeof(struct skeys_name))
/* A name is an identifier; the runtime looks no further for its end either. */
#define NAME_SCAN 1024u
/* More keys than this in one entry is no array anyone declared. */
#define COUNT_MAX 65536u
/* Bad entries described one by one; the rest are counted. */
#define ERRORS_MAX 8u

struct reader {
	struct skeys_check *c;
	struct skeys_names *nm;
	size_t bad; /* entries that failed */
	size_t cap;
};

static void entry_error(struct reader *r, uint64_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void entry_error(struct reader *r, uint64_t at, const char *fmt, ...)
{
	char what[512], msg[640];
	va_list ap;

	if (r->bad++ >= ERRORS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "names entry at 0x%" PRIx64 ": %s", at, what);
	skeys_check_table_error(r->c, "%s", msg);
}

/* Where the header's names fields say the table is; false: no usable bounds. */
static bool bounds(struct skeys_check *c, uint64_t *start, uint64_t *stop)
{
	const struct skeys_image *img = c->img;
	const uint8_t *h = img->buf + c->hdr_off;
	size_t f0 = offsetof(struct skeys_header, names_start);
	size_t f1 = offsetof(struct skeys_header, names_stop);
	int32_t r0 = (int32_t)skeys_image_get32(img, h + f0);
	int32_t r1 = (int32_t)skeys_image_get32(img, h + f1);
	size_t i;

	*start = c->hdr_addr + f0 + (uint64_t)(int64_t)r0;
	*stop = c->hdr_addr + f1 + (uint64_t)(int64_t)r1;
	if (img->bounds_at_load && r0 == 0 && r1 == 0) {
		/* Filled in by the module when it loads (Mach-O): the section. */
		*start = *stop = 0;
		for (i = 0; i < img->n_sections; i++)
			if (!strcmp(img->sections[i].name, SKEYS_SECTION_NAMES)) {
				*start = img->sections[i].addr;
				*stop = *start + img->sections[i].size;
			}
	}
	if (*start == *stop)
		return true;
	if (*stop < *start || (*stop - *start) % NAME_SIZE || *start % 4) {
		skeys_check_table_error(c, "names table [0x%" PRIx64 ", 0x%" PRIx64 ") is not a whole "
				 "number of aligned %" PRIu64 "-byte entries",
			      *start, *stop, NAME_SIZE);
		return false;
	}
	{
		const struct skeys_section *s = skeys_image_section_at(img, *start, *stop - *start);

		if (!s || !(s->flags & SKEYS_SEC_ALLOC) || (s->flags & SKEYS_SEC_NOBITS) ||
		    skeys_image_offset(img, *start, *stop - *start) < 0) {
			skeys_check_table_error(c, "names table [0x%" PRIx64 ", 0x%" PRIx64 ") is not loaded "
					 "data of one section",
				      *start, *stop);
			return false;
		}
	}
	return true;
}

/* The NUL-terminated identifier at `addr` in read-only loaded data, or NULL (why in `why`). */
static const char *name_at(const struct skeys_image *img, uint64_t addr, const char **why)
{
	const struct skeys_section *s = skeys_image_section_at(img, addr, 1);
	uint64_t room, i;
	const char *p;

	if (!s || !(s->flags & SKEYS_SEC_ALLOC) || (s->flags & SKEYS_SEC_NOBITS)) {
		*why = "not in loaded data";
		return NULL;
	}
	if (s->flags & (SKEYS_SEC_WRITE | SKEYS_SEC_EXEC)) {
		*why = "not in read-only data";
		return NULL;
	}
	room = s->addr + s->size - addr;
	if (room > NAME_SCAN)
		room = NAME_SCAN;
	if (skeys_image_offset(img, addr, room) < 0) {
		*why = "not in the file";
		return NULL;
	}
	p = (const char *)img->buf + skeys_image_offset(img, addr, room);
	for (i = 0; i < room && p[i]; i++) {
		char ch = p[i];

		if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (i > 0 && ch >= '0' && ch <= '9'))) {
			*why = "not a C identifier";
			return NULL;
		}
	}
	if (i == room) {
		*why = "without a NUL in its section";
		return NULL;
	}
	if (i == 0) {
		*why = "empty";
		return NULL;
	}
	return p;
}

static bool add(struct reader *r, const struct skeys_named_key *k)
{
	struct skeys_names *nm = r->nm;

	if (nm->n_keys == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct skeys_named_key *more = realloc(nm->keys, cap * sizeof(*more));

		if (!more)
			return false;
		nm->keys = more;
		r->cap = cap;
	}
	nm->keys[nm->n_keys++] = *k;
	return true;
}

/* Entry i: its name and each of its keys; false when memory ran out. */
static bool entry_read(struct reader *r, uint64_t at, const uint8_t *p)
{
	struct skeys_check *c = r->c;
	const struct skeys_image *img = c->img;
	uint64_t key = at + offsetof(struct skeys_name, key) +
		       (uint64_t)(int64_t)(int32_t)skeys_image_get32(img, p);
	uint64_t str = at + offsetof(struct skeys_name, name) +
		       (uint64_t)(int64_t)(int32_t)skeys_image_get32(img, p + 4);
	uint32_t count = skeys_image_get32(img, p + 8), j;
	const char *why = NULL, *name = name_at(img, str, &why);
	struct skeys_named_key k;

	if (!name) {
		entry_error(r, at, "name at 0x%" PRIx64 " is %s", str, why);
		return true;
	}
	if (count == 0 || count > COUNT_MAX) {
		entry_error(r, at, "%s: %" PRIu32 " keys", name, count);
		return true;
	}
	for (j = 0; j < count; j++) {
		memset(&k, 0, sizeof(k));
		k.key.addr = key + (uint64_t)j * SKEYS_KEY_STRIDE;
		skeys_check_key_verify(c, &k.key);
		if (!k.key.valid) {
			entry_error(r, at, "%s%s names 0x%" PRIx64 ", not a key of the module: %s",
				    name, count > 1 ? "[...]" : "", k.key.addr,
				    k.key.error ? k.key.error : "?");
			free(k.key.error);
			return true;
		}
		k.name = name;
		k.index = j;
		k.count = count;
		if (!add(r, &k))
			return false;
	}
	return true;
}

static int by_addr(const void *x, const void *y)
{
	const struct skeys_named_key *a = x, *b = y;

	return (a->key.addr > b->key.addr) - (a->key.addr < b->key.addr);
}

static int by_name(const void *x, const void *y)
{
	const struct skeys_named_key *const *a = x, *const *b = y;
	int d = strcmp((*a)->name, (*b)->name);

	return d ? d : ((*a)->key.addr > (*b)->key.addr) - ((*a)->key.addr < (*b)->key.addr);
}

/* `unique`: a name that no other entry (another namespace's key) has. */
static bool mark_unique(struct skeys_names *nm)
{
	struct skeys_named_key **v = malloc((nm->n_keys ? nm->n_keys : 1) * sizeof(struct skeys_named_key *));
	size_t i, j;

	if (!v)
		return false;
	for (i = 0; i < nm->n_keys; i++)
		v[i] = &nm->keys[i];
	qsort(v, nm->n_keys, sizeof(struct skeys_named_key *), by_name);
	for (i = 0; i < nm->n_keys; i = j) {
		size_t entries = 0;

		/* Elements of one array share a name and belong to one entry. */
		for (j = i; j < nm->n_keys && !strcmp(v[j]->name, v[i]->name); j++)
			entries += v[j]->index == 0;
		for (size_t k = i; k < j; k++)
			v[k]->unique = entries == 1;
	}
	free(v);
	return true;
}

void skeys_names_verify(struct skeys_check *c)
{
	struct skeys_names *nm;
	struct reader r = { c, NULL, 0, 0 };
	uint64_t start, stop, at;
	const uint8_t *p;

	if (c->hdr.header_size < SKEYS_HEADER_SIZE_NAMES || !bounds(c, &start, &stop))
		return;
	nm = calloc(1, sizeof(*nm));
	if (!nm) {
		c->oom = true;
		return;
	}
	c->names = r.nm = nm;
	nm->addr = start;
	nm->size = stop - start;
	if (!nm->size)
		return;
	p = c->img->buf + skeys_image_offset(c->img, start, nm->size);
	for (at = start; at < stop; at += NAME_SIZE, p += NAME_SIZE)
		if (!entry_read(&r, at, p)) {
			c->oom = true;
			return;
		}
	if (r.bad > ERRORS_MAX)
		skeys_check_table_error(c, "and %zu more bad names entries", r.bad - ERRORS_MAX);
	if (nm->n_keys)
		qsort(nm->keys, nm->n_keys, sizeof(*nm->keys), by_addr);
	if (!mark_unique(nm))
		c->oom = true;
}

void skeys_names_free(struct skeys_check *c)
{
	if (!c->names)
		return;
	free(c->names->keys);
	free(c->names);
	c->names = NULL;
}

const struct skeys_named_key *skeys_names_at(const struct skeys_check *c, uint64_t addr)
{
	const struct skeys_names *nm = c->names;
	size_t lo = 0, hi;

	if (!nm)
		return NULL;
	hi = nm->n_keys;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (nm->keys[mid].key.addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nm->n_keys && nm->keys[lo].key.addr == addr ? &nm->keys[lo] : NULL;
}

/* A key's name, without looking for a cell there. */
static void key_name(const struct skeys_check *c, uint64_t addr, char *out, size_t outlen);

/* The named cell (the key's names entry) that stands for the key at `addr`, if any. */
static const struct skeys_named_key *named_cell_of(const struct skeys_check *c, uint64_t addr)
{
	size_t i;

	for (i = 0; c->names && i < c->names->n_keys; i++) {
		const struct skeys_named_key *k = &c->names->keys[i];
		uint64_t target;
		const char *symbol;
		bool named;

		if (k->count == 1 && skeys_check_cell(c->img, k->key.addr, &target, &symbol, &named) &&
		    named && target == addr)
			return k;
	}
	return NULL;
}

bool skeys_names_cell_of(const struct skeys_check *c, uint64_t addr, char *out, size_t outlen)
{
	const struct skeys_named_key *named;
	uint64_t target;
	const char *symbol;
	bool is_named;

	if (!skeys_check_cell(c->img, addr, &target, &symbol, &is_named) || is_named)
		return false;
	if (target && !skeys_names_at(c, target) && (named = named_cell_of(c, target)) != NULL)
		snprintf(out, outlen, "%s", named->name);
	else if (target)
		key_name(c, target, out, outlen);
	else
		snprintf(out, outlen, "%s", symbol && *symbol ? symbol : "?");
	return true;
}

void skeys_names_key_name(const struct skeys_check *c, uint64_t addr, char *out,
			  size_t outlen)
{
	char key[256];

	/* A site's cell: "cell(NAME)" after what its slot names. */
	if (!skeys_names_at(c, addr) && skeys_names_cell_of(c, addr, key, sizeof(key))) {
		snprintf(out, outlen, "cell(%s)", key);
		return;
	}
	key_name(c, addr, out, outlen);
}

static void key_name(const struct skeys_check *c, uint64_t addr, char *out, size_t outlen)
{
	const struct skeys_named_key *k = skeys_names_at(c, addr);
	const struct skeys_symbol *s = skeys_image_object_at(c->img, addr);

	/* Two keys of one name (C++ namespaces): their symbols tell them apart. */
	if (k && (k->unique || !s)) {
		if (k->count > 1)
			snprintf(out, outlen, "%s[%" PRIu32 "]", k->name, k->index);
		else
			snprintf(out, outlen, "%s", k->name);
		return;
	}
	/* An array of keys (kernel.h's DEFINE_STATIC_KEY_ARRAY_*): element i. */
	if (!s)
		s = skeys_image_object_in(c->img, addr);
	if (s && s->size >= 2 * (uint64_t)SKEYS_KEY_STRIDE && s->size % SKEYS_KEY_STRIDE == 0 &&
	    (addr - s->addr) % SKEYS_KEY_STRIDE == 0) {
		snprintf(out, outlen, "%s[%" PRIu64 "]", s->name, (addr - s->addr) / SKEYS_KEY_STRIDE);
		return;
	}
	skeys_check_key_name(c->img, addr, out, outlen);
}
