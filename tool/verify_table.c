/* SPDX-License-Identifier: MIT */
/*
 * The table as a whole: its header, its bounds, its entries read into host
 * byte order, its sealed state; and skeys_check_open(), which runs every
 * step of verification in order.
 */
#include "verify.h"
#include "names.h"

#include "arch.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void skeys_check_note(struct skeys_check *c, char **s, const char *fmt, ...)
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

void skeys_check_table_error(struct skeys_check *c, const char *fmt, ...)
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
		skeys_check_table_error(c, "section %s is not loaded at run time", s->name);
		return false;
	}
	if ((s->flags & SKEYS_SEC_NOBITS) && s->size) {
		skeys_check_table_error(c, "section %s has no contents in the file", s->name);
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
bool skeys_check_header_read(struct skeys_check *c)
{
	const struct skeys_section *s = &c->img->header;
	const struct skeys_header *h = &c->hdr;
	bool ok = true;

	if (!section_sound(c, s))
		return false;
	/*
	 * A header with the function entries part (verify_entries.c reads
	 * it), with the names table's bounds, or one from before them.
	 */
	if (s->size != HDR_SIZE && s->size != SKEYS_HEADER_SIZE_V1 &&
	    s->size != SKEYS_HEADER_SIZE_ENTRIES) {
		skeys_check_table_error(c, "section %s is %" PRIu64 " bytes, a header is %u (%" PRIu64
					   " with the names table, %u with function entries)",
					s->name, s->size, SKEYS_HEADER_SIZE_V1, HDR_SIZE,
					SKEYS_HEADER_SIZE_ENTRIES);
		return false;
	}
	c->hdr_addr = s->addr;
	c->hdr_off = s->offset;
	header_decode(c, c->img->buf + s->offset);
	if (memcmp(h->magic, SKEYS_HEADER_MAGIC, sizeof(h->magic))) {
		skeys_check_table_error(c, "header magic is not \"%s\"", SKEYS_HEADER_MAGIC);
		return false;
	}
	if (h->version != SKEYS_ABI_VERSION) {
		skeys_check_table_error(c, "header has ABI version %u, this tool reads version %u",
					h->version, SKEYS_ABI_VERSION);
		return false;
	}
	if (h->header_size != s->size || h->entry_size != ENTRY_SIZE) {
		skeys_check_table_error(c, "header declares header size %u and entry size %u, "
					   "expected %" PRIu64 " and %" PRIu64,
					h->header_size, h->entry_size, s->size, ENTRY_SIZE);
		ok = false;
	}
	if (h->arch != (unsigned)c->img->arch->id) {
		skeys_check_table_error(c, "header says architecture %u, the file is %s (%u)",
					h->arch, c->img->arch->name, (unsigned)c->img->arch->id);
		ok = false;
	}
	if (h->flags & ~SKEYS_HEADER_SEALED)
		skeys_check_table_error(c, "header has unknown flags 0x%x",
					h->flags & ~SKEYS_HEADER_SEALED);
	return ok;
}

bool skeys_check_bounds(struct skeys_check *c)
{
	uint64_t start = skeys_header_start(&c->hdr, c->hdr_addr);
	uint64_t stop = skeys_header_stop(&c->hdr, c->hdr_addr);
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
		skeys_check_table_error(c, "no %s section, but the header's table spans "
					   "[0x%" PRIx64 ", 0x%" PRIx64 ")",
					SKEYS_SECTION_TABLE, start, stop);
		return false;
	}
	if (!section_sound(c, t))
		return false;
	if (start != t->addr || stop != t->addr + t->size) {
		/*
		 * GNU as (mingw-w64 gcc) writes the empty .skeys$z, which holds
		 * the end label, without the COMDAT section symbol that ld.lld
		 * needs: lld drops it, and the end comes out before the start.
		 */
		bool pe_lld = strcmp(c->img->format->name, "pe") == 0 && stop < start;
		skeys_check_table_error(c, "header's table [0x%" PRIx64 ", 0x%" PRIx64 ") is not "
					   "section %s [0x%" PRIx64 ", 0x%" PRIx64 ")%s",
					start, stop, t->name, t->addr, t->addr + t->size,
					pe_lld ? " (its end before its start: objects from mingw-w64 gcc "
						 "linked by ld.lld, which PE does not support; link them "
						 "with GNU ld)" : "");
		return false;
	}
	if (t->size % ENTRY_SIZE) {
		skeys_check_table_error(c, "section %s is %" PRIu64 " bytes, not a multiple of the "
					   "%" PRIu64 "-byte entry",
					t->name, t->size, ENTRY_SIZE);
		return false;
	}
	c->table_off = t->offset;
	c->n = t->size / ENTRY_SIZE;
	return true;
}

static bool entries_read(struct skeys_check *c)
{
	const struct skeys_image *img = c->img;
	const uint8_t *t = img->buf + c->table_off;
	bool host = skeys_check_host_order(img);
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
	if (host && (uintptr_t)t % _Alignof(struct skeys_entry) == 0) {
		c->entries = (const struct skeys_entry *)(const void *)t;
		c->entries_borrowed = true;
		return true;
	}
	copy = malloc((c->n ? c->n : 1) * sizeof(*copy));
	if (!copy) {
		c->oom = true;
		return false;
	}
	for (i = 0; i < c->n; i++)
		copy[i] = skeys_check_entry_decode(img, t + i * ENTRY_SIZE, host);
	c->entries = copy;
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
		skeys_check_table_error(c, "sealed header counts %" PRIu32 " entries, "
					   "the table has %zu", c->hdr.count, c->n);
	if (!sum_ok)
		skeys_check_table_error(c, "sealed table's checksum 0x%016" PRIx64 " does not "
					   "match its contents (0x%016" PRIx64 "): the table "
					   "changed after sealing", c->hdr.checksum, sum);
	if (!sorted)
		skeys_check_table_error(c, "sealed table is not in sorted order");
	c->checksum_ok = sum_ok;
	c->intact = count_ok && sum_ok && sorted;
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
	if (skeys_check_header_read(c) && skeys_check_bounds(c) && entries_read(c) &&
	    skeys_check_keys_collect(c)) {
		c->usable = true;
		skeys_check_sites_verify(c);
		if (!skeys_check_duplicates(c, &by_code))
			c->oom = true;
		seal_verify(c);
		skeys_names_verify(c);
		for (i = 0; c->site_errors && i < c->n; i++)
			c->n_bad += c->site_errors[i] != NULL;
		/* Computed once here for sealing and for the proof of the sealed copy. */
		if (!c->oom && skeys_check_ok(c) &&
		    !(c->order = skeys_check_sealed_order(c, by_code)))
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

