/* SPDX-License-Identifier: MIT */
#include "table.h"

#include <errno.h>
#include <stdlib.h>

static int rel32(uint64_t to, uint64_t from, int32_t *out)
{
	int64_t d = (int64_t)(to - from);

	if (d < INT32_MIN || d > INT32_MAX)
		return -1;
	*out = (int32_t)d;
	return 0;
}

int skeys_entry_set(struct skeys_entry *e, uint64_t at, const struct skeys_site *s)
{
	struct skeys_entry n;

	if (rel32(s->code, at + offsetof(struct skeys_entry, code), &n.code) ||
	    rel32(s->target, at + offsetof(struct skeys_entry, target), &n.target) ||
	    rel32(s->key | s->flags, at + offsetof(struct skeys_entry, key), &n.key))
		return -1;
	*e = n;
	return 0;
}

int skeys_site_cmp(const struct skeys_site *a, const struct skeys_site *b)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->code != b->code)
		return a->code < b->code ? -1 : 1;
	if (a->target != b->target)
		return a->target < b->target ? -1 : 1;
	return (a->flags > b->flags) - (a->flags < b->flags);
}

static int site_qsort_cmp(const void *a, const void *b)
{
	return skeys_site_cmp(a, b);
}

int skeys_table_sort(struct skeys_entry *e, size_t n, uint64_t base)
{
	struct skeys_site *s;
	size_t i;

	if (n == 0)
		return 0;
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		s[i] = skeys_entry_site(&e[i], base + i * sizeof(*e));
	qsort(s, n, sizeof(*s), site_qsort_cmp);
	/* Check every field first so that a failure leaves `e` untouched. */
	for (i = 0; i < n; i++) {
		struct skeys_entry tmp;

		if (skeys_entry_set(&tmp, base + i * sizeof(*e), &s[i])) {
			free(s);
			return -ERANGE;
		}
	}
	for (i = 0; i < n; i++)
		skeys_entry_set(&e[i], base + i * sizeof(*e), &s[i]);
	free(s);
	return 0;
}

int skeys_table_is_sorted(const struct skeys_entry *e, size_t n, uint64_t base)
{
	size_t i;

	for (i = 1; i < n; i++) {
		struct skeys_site a = skeys_entry_site(&e[i - 1], base + (i - 1) * sizeof(*e));
		struct skeys_site b = skeys_entry_site(&e[i], base + i * sizeof(*e));

		if (skeys_site_cmp(&a, &b) > 0)
			return 0;
	}
	return 1;
}

uint64_t skeys_table_checksum(const void *bytes, size_t len)
{
	/* FNV-1a, 64-bit: cheap, byte-order free, catches edits; not a MAC. */
	const unsigned char *p = bytes;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

size_t skeys_table_lower_bound(const struct skeys_entry *e, size_t n, uint64_t base,
			       uint64_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (skeys_entry_key(&e[mid], base + mid * sizeof(*e)) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
