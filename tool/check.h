/* SPDX-License-Identifier: MIT */
/*
 * Verification of a module's skeys table, shared by skeys-seal and
 * skeys-dump: reads the header and entries out of an image (in the file's
 * byte order), checks the table and every site, and keeps one result per
 * site and per key; then seals it. Nothing is printed here.
 *
 * verify_table.c (header, bounds, entries, the steps in order),
 * verify_keys.c, verify_sites.c and seal_stream.c; verify.h is what they share.
 */
#ifndef SKEYS_TOOL_CHECK_H
#define SKEYS_TOOL_CHECK_H

#include "format.h"
#include "table.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum skeys_insn {
	SKEYS_INSN_NOP,
	SKEYS_INSN_JMP,
	SKEYS_INSN_OTHER, /* neither of the two site instructions */
	SKEYS_INSN_NONE,  /* no bytes in the file at the site */
};

struct skeys_check_key {
	uint64_t addr;
	uint32_t sites;
	bool valid; /* a key object: data section, aligned, magic */
	bool initial;
	bool import; /* a proxy for another module's key (SKEYS_IMPORT_*, a cell to a symbol) */
	char *error; /* why not valid */
};

/*
 * One per entry, in file order. Its absolute fields are not kept here but
 * decoded from the entry when needed (skeys_check_site_at()), and its
 * problems are kept aside (skeys_check_site_error()): at 8 bytes a site, a
 * big table's working memory stays small.
 */
struct skeys_check_site {
	uint32_t key; /* index in keys[] */
	enum skeys_insn insn;
};

struct skeys_check {
	struct skeys_image *img;
	struct skeys_header hdr; /* host byte order */
	uint64_t hdr_addr, table_addr;
	uint64_t hdr_off, table_off; /* file offsets */

	size_t n;
	/*
	 * Host byte order, file order: the file's own bytes when they already
	 * are (entries_borrowed), else a converted copy.
	 */
	const struct skeys_entry *entries;
	bool entries_borrowed;
	struct skeys_check_site *sites;
	/* Per site, NULL or its problems joined by "; "; NULL until a site has one. */
	char **site_errors;
	/* Site indices in sealed order; set when the table verified (for sealing). */
	uint32_t *order;
	struct skeys_check_key *keys; /* by address */
	size_t n_keys;

	char **errors; /* problems of the table as a whole */
	size_t n_errors;
	bool usable;  /* header and bounds sound, so entries were read */
	bool sealed;  /* the header says so */
	bool checksum_ok; /* sealed, and the checksum matches the table */
	bool intact;  /* sealed, and count, checksum and order still match */
	size_t n_bad; /* sites with an error */
	bool oom;     /* memory ran out while recording a problem */
	const struct skeys_section *last_section; /* lookup cache, see section_at() */
	/* The names table, read and verified by tool/names.c; NULL if none. */
	struct skeys_names *names;
	/* The checksum sealing wrote, for skeys_check_sealed(). */
	uint64_t seal_checksum;
	bool seal_checksum_set;
};

/*
 * Read and verify. Returns 0 (problems are recorded in `c`), or -1 with a
 * message in err when the file is not a skeys module at all or memory ran
 * out: an input error, not a verification failure.
 */
int skeys_check_open(struct skeys_check *c, struct skeys_image *img, char *err,
		     size_t errlen);
void skeys_check_close(struct skeys_check *c);

/* Site i (file order) as absolute fields. Requires c->usable. */
static inline struct skeys_site skeys_check_site_at(const struct skeys_check *c, size_t i)
{
	return skeys_entry_site(&c->entries[i], c->table_addr + i * sizeof(struct skeys_entry));
}

/* Site i's problems joined by "; ", or NULL when it verified. */
static inline const char *skeys_check_site_error(const struct skeys_check *c, size_t i)
{
	return c->site_errors ? c->site_errors[i] : NULL;
}

/* Everything verified: no table problem and no bad site. */
bool skeys_check_ok(const struct skeys_check *c);

/*
 * Sealing, for a writer that streams the table out piece by piece: each
 * piece of entries is encoded into the caller's buffer from the verified
 * sites in sealed order, proven (strictly ascending, each entry one of the
 * verified ones, none used twice) and checksummed; the header comes last,
 * written into a copy of the module's bytes and read back. Each call: 0, or
 * -ENOMEM, -EINVAL or -ERANGE (an entry that cannot be moved) with the
 * reason in err. Requires skeys_check_ok().
 */
struct skeys_check_stream {
	size_t next;            /* entries sealed so far */
	uint64_t sum;           /* their checksum */
	struct skeys_site prev; /* the last of them */
	unsigned char *seen;    /* the sites used, a bit each */
};

int skeys_check_stream_begin(const struct skeys_check *c, struct skeys_check_stream *st,
			     char *err, size_t errlen);
/* The next `count` entries into buf (count * entry size bytes, file byte order). */
int skeys_check_stream_table(const struct skeys_check *c, struct skeys_check_stream *st,
			     uint8_t *buf, size_t count, char *err, size_t errlen);
/*
 * With every entry done: the sealed header (count, checksum, flag) into
 * `out`, a copy of the module's bytes (only the header's are written), read
 * back and proven. Records the checksum for the calls below.
 */
int skeys_check_stream_header(struct skeys_check *c, struct skeys_check_stream *st,
			      uint8_t *out, char *err, size_t errlen);
void skeys_check_stream_end(struct skeys_check_stream *st);

/*
 * The sealed header in `out` proven again, for a format that wrote fields
 * of its own after sealing (Mach-O fills in the table's bounds).
 */
int skeys_check_sealed_header(const struct skeys_check *c, const uint8_t *out, char *err,
			      size_t errlen);

/*
 * The whole table sealed as one piece, in place in `out`, a copy of the
 * module's bytes (left as it was on failure).
 */
int skeys_check_seal(struct skeys_check *c, uint8_t *out, char *err, size_t errlen);

/*
 * Prove that `out` holds this module sealed as meant: the table is exactly
 * the verified entries in sealed order, and the header is sound, marked
 * sealed, with the right count and checksum (the one sealing recorded, or
 * computed here when nothing was sealed through `c`). Sealing changes only
 * table and header bytes, so site bytes and keys need no second look.
 * Requires skeys_check_ok(). 0, or -ENOMEM or -EINVAL with the reason in err.
 */
int skeys_check_sealed(const struct skeys_check *c, const uint8_t *out, char *err,
		       size_t errlen);

/* "func+0x1c", or the address when no function symbol covers it. */
void skeys_check_func_name(const struct skeys_image *img, uint64_t addr, char *out,
			   size_t outlen);
/* The key's symbol name, or its address. */
void skeys_check_key_name(const struct skeys_image *img, uint64_t addr, char *out,
			  size_t outlen);

#endif
