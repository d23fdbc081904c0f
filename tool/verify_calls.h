/* SPDX-License-Identifier: MIT */
/*
 * Static calls in the tools: the call table (<skeys/abi.h>) read, every
 * trampoline verified against its entry and call object, and the table
 * sealed as the key table is (sorted, counted, checksummed). On the
 * architectures and formats of tool/call_arches.c.
 */
#ifndef SKEYS_TOOL_VERIFY_CALLS_H
#define SKEYS_TOOL_VERIFY_CALLS_H

#include "emit.h"
#include "format.h"

#include <skeys/abi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct skeys_call_arch;

struct skeys_call_check {
	uint64_t tramp, slot, tail, call; /* trampoline, its slot, its jump through lit, call object */
	unsigned kind;       /* SKEYS_CALL_F_NULL, _RET0 or 0 */
	char target[256];    /* "function+0x0", an imported name, or "" for none */
	char *error;         /* NULL when it verified */
};

struct skeys_calls {
	const struct skeys_image *img;
	const struct skeys_call_arch *arch; /* its trampolines' row */
	bool present; /* the file has a call table */
	struct skeys_header hdr;
	uint64_t hdr_addr, hdr_off, table_addr, table_off;
	struct skeys_entry *entries; /* host order, file order */
	struct skeys_call_check *calls;
	size_t n, n_bad;
	char *error; /* a problem of the table as a whole */
	bool sealed, intact;
	bool bounds_unset; /* zero in the header (Mach-O): sealing writes them */
};

/* 0 (problems recorded), or -1 with a message when memory ran out. */
int skeys_calls_open(struct skeys_calls *cs, const struct skeys_image *img, char *err,
		     size_t errlen);
void skeys_calls_close(struct skeys_calls *cs);
/* No table, or a table and every call verified. */
bool skeys_calls_ok(const struct skeys_calls *cs);
/* No table, or one sealed and unchanged since. */
bool skeys_calls_sealed(const struct skeys_calls *cs);
/* Every problem, as "PATH: func+0x0 (0x401136): error: ...". Returns how many. */
size_t skeys_calls_report(const struct skeys_calls *cs, const char *path);
/* The sealed table and header into `out`, a copy of the file's bytes. 0, or -1 with err. */
int skeys_calls_seal(const struct skeys_calls *cs, uint8_t *out, char *err, size_t errlen);
/* skeys-dump's `calls` array. */
void skeys_calls_emit(struct skeys_emit *e, const struct skeys_calls *cs);

#endif
