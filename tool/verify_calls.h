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
	bool import;         /* a proxy (SKEYS_IMPORT_CALL): its target is the exporter's trampoline */
	char target[256];    /* "function+0x0", an imported name, or "" for none */
	char *error;         /* NULL when it verified */
};

/* An inline call site (<skeys/abi.h>): found from relocations, or recorded. */
struct skeys_csite_check {
	uint64_t code, tramp, call; /* the e8/e9 byte, the trampoline, the call object */
	unsigned flags;             /* SKEYS_CSITE_* */
	char *error;                /* NULL when it verified */
};

/* The module's inline call-site table. */
struct skeys_csites {
	bool present; /* the call table's header says it has one (SKEYS_CALLS_F_SITES) */
	struct skeys_header hdr;
	uint64_t hdr_off, table_addr, table_off;
	size_t cap; /* slots reserved */
	/* Recorded (a sealed file) or found from relocations, in sealed order. */
	struct skeys_csite_check *sites;
	size_t n, n_bad;
	size_t n_over; /* found beyond the reserved slots: they keep calling the trampoline */
	bool relocs;   /* the file kept relocations for its code */
	bool sealed, intact;
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
	struct skeys_csites sites;
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
/* The call's name (from skeys__call_NAME), or its address. */
void skeys_calls_name(const struct skeys_calls *cs, uint64_t call, char *out, size_t len);
/* skeys-dump's `calls` array, and `call_sites` when it has inline sites. */
void skeys_calls_emit(struct skeys_emit *e, const struct skeys_calls *cs);

/* tool/verify_csites.c: the inline call sites, once the calls are read. 0, or -1 out of memory. */
int skeys_csites_open(struct skeys_calls *cs);
void skeys_csites_close(struct skeys_csites *t);
/* Sites of the call object `call`. */
size_t skeys_csites_count(const struct skeys_csites *t, uint64_t call);
/* Every problem, as skeys_calls_report(); and a note on sites left to their trampolines. */
size_t skeys_csites_report(const struct skeys_calls *cs, const char *path);
/* The sealed site table and its header into `out`. 0, or -1 with err. */
int skeys_csites_seal(const struct skeys_calls *cs, uint8_t *out, char *err, size_t errlen);
/* skeys-dump's `call_sites` array. */
void skeys_csites_emit(struct skeys_emit *e, const struct skeys_calls *cs);

#endif
