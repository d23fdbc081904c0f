/* SPDX-License-Identifier: MIT */
/*
 * Sealing: the verified sites written out as the sealed table, a piece at
 * a time, each piece proven and checksummed as it is written; then the
 * header. Sealing a whole copy is the same with one piece. Nothing here
 * reads the file again: the proof decodes the bytes just written.
 */
#include "verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Sealed order (key, then site address; skeys_site_cmp) of the verified
 * sites, as indices: the sites by address, stably grouped by key with one
 * counting pass (key indices follow key addresses). Sites have distinct
 * addresses once verified, so this is the table sort's order.
 */
uint32_t *skeys_check_sealed_order(const struct skeys_check *c, const uint32_t *by_code)
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

/* The same site, field by field (a struct compare would see its padding). */
static bool site_same(const struct skeys_site *a, const struct skeys_site *b)
{
	return a->code == b->code && a->target == b->target && a->key == b->key &&
	       a->flags == b->flags;
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
 * Sealed entry i, stored at p, proven: the next in strictly ascending
 * sealed order, and the verified site order[i], `v` (NULL: look it up),
 * used once (a bitmap proves that, whatever built the order).
 */
static inline int entry_proven(const struct skeys_check *c, struct skeys_check_stream *st,
			       const uint8_t *p, size_t i, const struct skeys_site *v,
			       bool host, char *err, size_t errlen)
{
	uint32_t j = c->order[i];
	const struct skeys_entry e = skeys_check_entry_decode(c->img, p, host);
	struct skeys_site s = skeys_entry_site(&e, c->table_addr + i * ENTRY_SIZE), w;

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

int skeys_check_stream_table(const struct skeys_check *c, struct skeys_check_stream *st,
			     uint8_t *buf, size_t count, char *err, size_t errlen)
{
	bool host = skeys_check_host_order(c->img);
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

/*
 * The sealed header in `out`, read back by the code skeys_check_open()
 * runs: sound, the table where it was, marked sealed with the right count,
 * and checksum `sum`. 0, or -ENOMEM or -EINVAL with the reason in err.
 */
static int header_proven(const struct skeys_check *c, const uint8_t *out, uint64_t sum,
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
	if (!skeys_check_header_read(&s) || !skeys_check_bounds(&s) || s.n_errors) {
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
	} else if (s.hdr.checksum != sum) {
		snprintf(err, errlen, "sealed checksum 0x%016" PRIx64 " is not the table's "
				      "(0x%016" PRIx64 ")", s.hdr.checksum, sum);
	} else {
		r = 0;
	}
	for (i = 0; i < s.n_errors; i++)
		free(s.errors[i]);
	free(s.errors);
	return r;
}

int skeys_check_stream_header(struct skeys_check *c, struct skeys_check_stream *st,
			      uint8_t *out, char *err, size_t errlen)
{
	const struct skeys_image *img = c->img;
	uint8_t *h = out + c->hdr_off;

	if (st->next != c->n) {
		snprintf(err, errlen, "the table is not all sealed");
		return -EINVAL;
	}
	c->seal_checksum = st->sum;
	c->seal_checksum_set = true;
	skeys_image_put32(img, h + offsetof(struct skeys_header, count), (uint32_t)c->n);
	skeys_image_put64(img, h + offsetof(struct skeys_header, checksum), st->sum);
	skeys_image_put32(img, h + offsetof(struct skeys_header, flags),
			  c->hdr.flags | SKEYS_HEADER_SEALED);
	return header_proven(c, out, st->sum, err, errlen);
}

int skeys_check_sealed_header(const struct skeys_check *c, const uint8_t *out, char *err,
			      size_t errlen)
{
	if (!c->seal_checksum_set) {
		snprintf(err, errlen, "nothing was sealed");
		return -EINVAL;
	}
	return header_proven(c, out, c->seal_checksum, err, errlen);
}

int skeys_check_seal(struct skeys_check *c, uint8_t *out, char *err, size_t errlen)
{
	struct skeys_check_stream st;
	int r = skeys_check_stream_begin(c, &st, err, errlen);

	/* One piece: the table's place in the copy. */
	if (!r)
		r = skeys_check_stream_table(c, &st, out + c->table_off, c->n, err, errlen);
	if (!r)
		r = skeys_check_stream_header(c, &st, out, err, errlen);
	skeys_check_stream_end(&st);
	/* `out` is a copy of the file: on failure, put back its table as it was. */
	if (r)
		memcpy(out + c->table_off, c->img->buf + c->table_off, c->n * ENTRY_SIZE);
	return r;
}

int skeys_check_sealed(const struct skeys_check *c, const uint8_t *out, char *err,
		       size_t errlen)
{
	struct skeys_check_stream st;
	bool host = skeys_check_host_order(c->img);
	const uint8_t *t = out + c->table_off;
	size_t i;
	int r = skeys_check_stream_begin(c, &st, err, errlen);

	for (i = 0; !r && i < c->n; i++)
		r = entry_proven(c, &st, t + i * ENTRY_SIZE, i, NULL, host, err, errlen);
	skeys_check_stream_end(&st);
	if (r)
		return r;
	/*
	 * The table's bytes are now proven to be exactly the verified entries
	 * in sealed order: their checksum is the one sealing computed as it
	 * wrote them; it is not computed a second time here (over a large
	 * table it is the costliest step: a serial chain of multiplies a byte).
	 */
	return header_proven(c, out,
			     c->seal_checksum_set ? c->seal_checksum
						  : skeys_table_checksum(t, c->n * ENTRY_SIZE),
			     err, errlen);
}
