/* SPDX-License-Identifier: MIT */
/*
 * The table's relative encoding in one place. Shared by the runtime and the
 * tools: the runtime passes the entry's own address, the tools the virtual
 * address the entry has in the file. Entries here are in host byte order.
 */
#ifndef SKEYS_COMMON_TABLE_H
#define SKEYS_COMMON_TABLE_H

#include <skeys/abi.h>
#include <stddef.h>
#include <stdint.h>

/* Absolute view of one entry. */
struct skeys_site {
	uint64_t code;
	uint64_t target;
	uint64_t key;   /* flags cleared */
	unsigned flags; /* SKEYS_ENTRY_* */
};

static inline uint64_t skeys_entry_code(const struct skeys_entry *e, uint64_t at)
{
	return at + offsetof(struct skeys_entry, code) + (uint64_t)(int64_t)e->code;
}

static inline uint64_t skeys_entry_target(const struct skeys_entry *e, uint64_t at)
{
	return at + offsetof(struct skeys_entry, target) + (uint64_t)(int64_t)e->target;
}

/* The key field with its flag bits; see skeys_entry_key(). */
static inline uint64_t skeys_entry_key_raw(const struct skeys_entry *e, uint64_t at)
{
	return at + offsetof(struct skeys_entry, key) + (uint64_t)(int64_t)e->key;
}

static inline uint64_t skeys_entry_key(const struct skeys_entry *e, uint64_t at)
{
	return skeys_entry_key_raw(e, at) & ~(uint64_t)SKEYS_ENTRY_FLAGS;
}

static inline unsigned skeys_entry_flags(const struct skeys_entry *e, uint64_t at)
{
	return (unsigned)(skeys_entry_key_raw(e, at) & SKEYS_ENTRY_FLAGS);
}

static inline struct skeys_site skeys_entry_site(const struct skeys_entry *e, uint64_t at)
{
	struct skeys_site s = {
		.code = skeys_entry_code(e, at),
		.target = skeys_entry_target(e, at),
		.key = skeys_entry_key(e, at),
		.flags = skeys_entry_flags(e, at),
	};
	return s;
}

/*
 * The table a header records, [start, stop): each bound is stored relative
 * to its own field, the header being at `at`. The runtime, the tools and
 * the formats that fill the bounds in all decode and encode them here.
 */
static inline uint64_t skeys_header_start(const struct skeys_header *h, uint64_t at)
{
	return at + offsetof(struct skeys_header, start) + (uint64_t)(int64_t)h->start;
}

static inline uint64_t skeys_header_stop(const struct skeys_header *h, uint64_t at)
{
	return at + offsetof(struct skeys_header, stop) + (uint64_t)(int64_t)h->stop;
}

/* The start and stop fields for the table [start, stop), the header at `at`. */
static inline void skeys_header_set_bounds(struct skeys_header *h, uint64_t at,
					   uint64_t start, uint64_t stop)
{
	h->start = (int32_t)(uint32_t)(start - (at + offsetof(struct skeys_header, start)));
	h->stop = (int32_t)(uint32_t)(stop - (at + offsetof(struct skeys_header, stop)));
}

/*
 * Whether a key object may live at [addr, addr + len): the runtime writes
 * a key (its count and state), so it must be in data that stays writable.
 * `prot` is what the place is mapped as (SKEYS_PLACE_*); [relro_lo,
 * relro_hi) is the module's RELRO range, writable while the loader
 * relocates and read-only after (empty when lo == hi). The tool asks with a
 * section's flags, the runtime with a data segment's: one answer for both,
 * so that a key the runtime would refuse does not seal.
 */
enum skeys_key_place {
	SKEYS_KEY_PLACE_OK,
	SKEYS_KEY_PLACE_NOT_DATA, /* not writable, or executable */
	SKEYS_KEY_PLACE_RELRO,    /* read-only after relocation */
};
#define SKEYS_PLACE_WRITE 1u
#define SKEYS_PLACE_EXEC 2u

static inline enum skeys_key_place skeys_key_place(unsigned prot, uint64_t addr, uint64_t len,
						   uint64_t relro_lo, uint64_t relro_hi)
{
	if ((prot & (SKEYS_PLACE_WRITE | SKEYS_PLACE_EXEC)) != SKEYS_PLACE_WRITE)
		return SKEYS_KEY_PLACE_NOT_DATA;
	if (addr < relro_hi && addr + len > relro_lo)
		return SKEYS_KEY_PLACE_RELRO;
	return SKEYS_KEY_PLACE_OK;
}

/*
 * Encode `s` as the entry stored at `at`. Returns 0, or -1 when a field is
 * out of the 32-bit relative range (a table the linker could not have made).
 */
int skeys_entry_set(struct skeys_entry *e, uint64_t at, const struct skeys_site *s);

/* Sorted order: key address, then site address. */
int skeys_site_cmp(const struct skeys_site *a, const struct skeys_site *b);

/*
 * Sort `n` entries that live at address `base` into sealed order, rewriting
 * each moved entry's relative fields. Returns 0, -ENOMEM or -ERANGE.
 */
int skeys_table_sort(struct skeys_entry *e, size_t n, uint64_t base);

/*
 * Stable sort of the n indices in idx[] by v[idx[i]], ascending, with tmp[]
 * (room for n) as scratch: a least-significant-digit radix sort with a pass
 * only for the bytes in which the values differ, none when already sorted.
 * Returns idx or tmp, whichever ends up holding the sorted indices.
 */
uint32_t *skeys_radix_sort_index(const uint64_t *v, uint32_t *idx, uint32_t *tmp, size_t n);
/* True when the entries at `base` are in sealed order. */
int skeys_table_is_sorted(const struct skeys_entry *e, size_t n, uint64_t base);

/* Checksum of the table's bytes as stored in the module (target byte order). */
uint64_t skeys_table_checksum(const void *bytes, size_t len);
/*
 * The same over bytes that come in pieces: skeys_table_checksum(a ++ b) is
 * skeys_table_checksum_more(skeys_table_checksum(a), b), starting from
 * SKEYS_TABLE_CHECKSUM_INIT (the checksum of no bytes).
 */
#define SKEYS_TABLE_CHECKSUM_INIT 0xcbf29ce484222325ull
uint64_t skeys_table_checksum_more(uint64_t h, const void *bytes, size_t len);
/*
 * skeys_table_checksum() of the n entries at `base` (in memory, as the
 * module holds them) into *sum, and skeys_table_is_sorted() of them, in
 * one pass: the order check costs no time beside the checksum's chain.
 */
int skeys_table_checksum_sorted(const struct skeys_entry *e, size_t n, uint64_t base,
				uint64_t *sum);

/*
 * First index in [0, n) whose key is >= `key`, for a sorted table at `base`.
 */
size_t skeys_table_lower_bound(const struct skeys_entry *e, size_t n, uint64_t base,
			       uint64_t key);

#endif
