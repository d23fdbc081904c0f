/* SPDX-License-Identifier: MIT */
#include "table.h"

#include <errno.h>
#include <stdbool.h>
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

/* One stable counting pass on byte `shift` of v[], from in[] to out[]. */
static void radix_pass(const uint64_t *v, const uint32_t *in, uint32_t *out, size_t n,
		       unsigned shift)
{
	size_t count[256] = { 0 }, i, sum = 0;

	for (i = 0; i < n; i++)
		count[(v[in[i]] >> shift) & 0xff]++;
	for (i = 0; i < 256; i++) {
		size_t c = count[i];

		count[i] = sum;
		sum += c;
	}
	for (i = 0; i < n; i++)
		out[count[(v[in[i]] >> shift) & 0xff]++] = in[i];
}

uint32_t *skeys_radix_sort_index(const uint64_t *v, uint32_t *idx, uint32_t *tmp, size_t n)
{
	uint64_t differ = 0;
	bool sorted = true;
	unsigned shift;
	uint32_t *t;
	size_t i;

	/*
	 * One look first: the bits in which any two values differ (only those
	 * bytes need a pass; addresses in one module share their high bytes),
	 * and whether the order already holds (tables are often in link order).
	 */
	for (i = 1; i < n; i++) {
		differ |= v[idx[i]] ^ v[idx[0]];
		sorted &= v[idx[i - 1]] <= v[idx[i]];
	}
	if (sorted)
		return idx;
	for (shift = 0; shift < 64; shift += 8) {
		if (!((differ >> shift) & 0xff))
			continue;
		radix_pass(v, idx, tmp, n, shift);
		t = idx;
		idx = tmp;
		tmp = t;
	}
	return idx;
}

/*
 * Sealed order, by key then site address: a least-significant-digit radix
 * sort of an index, site address first, key last (the sort is stable).
 */
static int sort_index(const struct skeys_site *s, size_t n, uint32_t **order)
{
	uint64_t *v = malloc(n * sizeof(*v));
	uint32_t *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b)), *r;
	size_t i;
	unsigned f;

	if (!v || !a || !b || n > UINT32_MAX) {
		free(v);
		free(a);
		free(b);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		a[i] = (uint32_t)i;
	for (f = 0; f < 2; f++) {
		for (i = 0; i < n; i++)
			v[i] = f == 0 ? s[i].code : s[i].key;
		r = skeys_radix_sort_index(v, a, b, n);
		if (r == b) {
			b = a;
			a = r;
		}
	}
	free(v);
	free(b);
	*order = a;
	return 0;
}

int skeys_table_sort(struct skeys_entry *e, size_t n, uint64_t base)
{
	struct skeys_site *s;
	uint32_t *order;
	size_t i;
	int err;

	if (n == 0)
		return 0;
	s = malloc(n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		s[i] = skeys_entry_site(&e[i], base + i * sizeof(*e));
	err = sort_index(s, n, &order);
	if (err) {
		free(s);
		return err;
	}
	/* Check every field first so that a failure leaves `e` untouched. */
	for (i = 0; i < n; i++) {
		struct skeys_entry tmp;

		if (skeys_entry_set(&tmp, base + i * sizeof(*e), &s[order[i]])) {
			err = -ERANGE;
			break;
		}
	}
	for (i = 0; !err && i < n; i++)
		skeys_entry_set(&e[i], base + i * sizeof(*e), &s[order[i]]);
	free(order);
	free(s);
	return err;
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
	return skeys_table_checksum_more(SKEYS_TABLE_CHECKSUM_INIT, bytes, len);
}

/* FNV-1a, 64-bit: cheap, byte-order free, catches edits; not a MAC. */
static inline uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t len)
{
	size_t i;

	/* Unrolled: the multiply chain is serial anyway, the loop overhead is not. */
	for (i = 0; i + 4 <= len; i += 4) {
		h = (h ^ p[i]) * 0x100000001b3ull;
		h = (h ^ p[i + 1]) * 0x100000001b3ull;
		h = (h ^ p[i + 2]) * 0x100000001b3ull;
		h = (h ^ p[i + 3]) * 0x100000001b3ull;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

uint64_t skeys_table_checksum_more(uint64_t h, const void *bytes, size_t len)
{
	return fnv1a(h, bytes, len);
}

int skeys_table_checksum_sorted(const struct skeys_entry *e, size_t n, uint64_t base,
				uint64_t *sum)
{
	uint64_t h = SKEYS_TABLE_CHECKSUM_INIT;
	struct skeys_site prev = { 0 }, cur;
	int sorted = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		/* The checksum is one serial chain of multiplies: the order check runs beside it. */
		h = fnv1a(h, (const unsigned char *)&e[i], sizeof(*e));
		cur = skeys_entry_site(&e[i], base + i * sizeof(*e));
		if (i && skeys_site_cmp(&prev, &cur) > 0)
			sorted = 0;
		prev = cur;
	}
	*sum = h;
	return sorted;
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
