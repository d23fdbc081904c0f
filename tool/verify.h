/* SPDX-License-Identifier: MIT */
/*
 * What the parts of skeys_check share (check.h is their interface to the
 * tools): verify_table.c reads header, bounds and entries and runs the
 * steps; verify_keys.c finds and checks the keys; verify_sites.c checks
 * every site; seal_stream.c writes and proves the sealed table.
 */
#ifndef SKEYS_TOOL_VERIFY_H
#define SKEYS_TOOL_VERIFY_H

#include "check.h"

#include <string.h>

#define HDR_SIZE ((uint64_t)sizeof(struct skeys_header))
#define ENTRY_SIZE ((uint64_t)sizeof(struct skeys_entry))

/* Append a problem to *s, joined by "; ". Sets c->oom on failure. */
void skeys_check_note(struct skeys_check *c, char **s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Record a problem of the table as a whole. Sets c->oom on failure. */
void skeys_check_table_error(struct skeys_check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* True when this machine stores integers in the byte order of `img`. */
static inline bool skeys_check_host_order(const struct skeys_image *img)
{
	const uint16_t one = 1;
	unsigned char first;

	memcpy(&first, &one, 1);
	return img->big_endian == !first;
}

/* The entry stored at p in the file's byte order (`host`: the host's), in host order. */
static inline struct skeys_entry skeys_check_entry_decode(const struct skeys_image *img,
							   const uint8_t *p, bool host)
{
	struct skeys_entry e;

	if (host) {
		memcpy(&e, p, sizeof(e));
		return e;
	}
	e.code = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_entry, code));
	e.target = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_entry, target));
	e.key = (int32_t)skeys_image_get32(img, p + offsetof(struct skeys_entry, key));
	return e;
}

/*
 * The header of c->img into c->hdr, and the table's bounds from it (c->n,
 * table_addr and the offsets). False, with the problem recorded, when the
 * header is too broken to trust, or the bounds are not the table section.
 */
bool skeys_check_header_read(struct skeys_check *c);
bool skeys_check_bounds(struct skeys_check *c);

/* verify_keys.c: does k->addr hold a key? Sets valid, initial, import, error. */
void skeys_check_key_verify(struct skeys_check *c, struct skeys_check_key *k);

/*
 * verify_keys.c: is there a cell of <skeys/kernel.h> at `addr` (a proxy
 * whose link is its own slot, 16 bytes on)? If so, what the loader puts in
 * its slot: *key, the address of a key of this file (a relative
 * relocation, or the file's own pointer), else 0 and *symbol, the symbol
 * it names (NULL when unknown); *named, the cell stands for a key the
 * module defines (SKEYS_KEY_F_NAMED).
 */
bool skeys_check_cell(const struct skeys_image *img, uint64_t addr, uint64_t *key,
		      const char **symbol, bool *named);

/* verify_keys.c: c->keys and each site's key index. False when memory ran out. */
bool skeys_check_keys_collect(struct skeys_check *c);

/* verify_sites.c: every site checked, problems in c->site_errors. */
void skeys_check_sites_verify(struct skeys_check *c);
/*
 * Sites named by more than one entry, each marked. Sets *by_code to the
 * site indices by address, or NULL when the table is in address order.
 * False when memory ran out.
 */
bool skeys_check_duplicates(struct skeys_check *c, uint32_t **by_code);

/* seal_stream.c: the verified sites' indices in sealed order, or NULL (memory). */
uint32_t *skeys_check_sealed_order(const struct skeys_check *c, const uint32_t *by_code);

#endif
