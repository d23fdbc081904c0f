/* SPDX-License-Identifier: MIT */
/*
 * The names table of a module (struct skeys_name entries, one per key that
 * SKEYS_DEFINE_* or SKEYS_IMPORT_* named): read and verified for
 * skeys-seal, and the keys' names for skeys-dump, stripped files too.
 */
#ifndef SKEYS_TOOL_NAMES_H
#define SKEYS_TOOL_NAMES_H

#include "check.h"

/* One named key (an array's element counts as one). */
struct skeys_named_key {
	struct skeys_check_key key; /* verified as the table's keys are */
	const char *name;           /* into the file's bytes */
	uint32_t index, count;      /* element `index` of `count` ("name[index]" when > 1) */
	bool unique;                /* no other entry of the module has this name */
};

struct skeys_names {
	uint64_t addr, size; /* the table; size 0 when it is empty */
	struct skeys_named_key *keys; /* by key address */
	size_t n_keys;
};

/*
 * Read and verify c's names table, if its header has one: each entry must
 * name a key of the module (as a site's key must be one) and a C
 * identifier, NUL-terminated, in read-only loaded data. Problems are table
 * errors of c (so skeys-seal refuses the file); c->names is set when the
 * table could be read. Called by skeys_check_open().
 */
void skeys_names_verify(struct skeys_check *c);
void skeys_names_free(struct skeys_check *c);

/*
 * A site's cell of <skeys/kernel.h> at `addr` (not a named one): true,
 * with the name of what its slot names in `out` (a key of this file, or
 * the symbol of another module's key).
 */
bool skeys_names_cell_of(const struct skeys_check *c, uint64_t addr, char *out, size_t outlen);

/*
 * The name of the key at `addr`: from the names table ("name", "name[i]"),
 * else its data symbol ("sym", or "sym[i]" inside an array of keys), else
 * the address.
 */
void skeys_names_key_name(const struct skeys_check *c, uint64_t addr, char *out,
			  size_t outlen);

/* The named key at `addr`, or NULL. */
const struct skeys_named_key *skeys_names_at(const struct skeys_check *c, uint64_t addr);

#endif
