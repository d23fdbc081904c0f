/* SPDX-License-Identifier: MIT */
/*
 * Function entries in the tools: the module header's function entries part
 * (struct skeys_fentries, <skeys/abi.h>) and the compiler's
 * __patchable_function_entries list it bounds, every function's nops
 * verified, and sealing: each pad rewritten into the patch point and what
 * the runtime needs recorded in the part. x86-64, i686 and aarch64 ELF, x86-64 PE.
 */
#ifndef SKEYS_TOOL_VERIFY_ENTRIES_H
#define SKEYS_TOOL_VERIFY_ENTRIES_H

#include "emit.h"
#include "format.h"

#include <skeys/abi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct skeys_fentry_check {
	uint64_t entry;    /* the list's address: the first nop */
	uint64_t function; /* where the function's symbol is */
	uint64_t patch;    /* the patch point: after endbr64, if any */
	unsigned prefix;   /* nop bytes before the symbol */
	unsigned pad;      /* nop bytes at the entry, from the patch point */
	bool endbr;
	char *error; /* NULL when it verified */
};

struct skeys_fentries_check {
	const struct skeys_image *img;
	bool present; /* the header has the part and the architecture is supported */
	uint64_t part_addr, part_off; /* the part, in the module and in the file */
	struct skeys_fentries part;   /* as the file has it, host order */
	uint64_t list_addr;
	struct skeys_fentry_check *e; /* in list order */
	size_t n, n_bad;
	unsigned prefix, pad; /* the module's, as verified */
	bool endbr;           /* some function starts with endbr64 */
	uint64_t checksum;    /* of the list, as the part records it when sealed */
	char *error;          /* a problem of the list as a whole */
	bool sealed, intact;
	/*
	 * riscv64: functions the list names, which no runtime patches there
	 * (docs/architectures.md): said in a note, their nops left alone.
	 */
	size_t unsupported;
	/*
	 * PE: the part's start is written by sealing (0 before), the list found
	 * as the section its stop ends; start_moved: a sealed start that is not it.
	 */
	bool seal_start, start_moved;
};

/* 0 (problems recorded), or -1 with a message when memory ran out. */
int skeys_fentries_open(struct skeys_fentries_check *fs, const struct skeys_image *img,
			char *err, size_t errlen);
void skeys_fentries_close(struct skeys_fentries_check *fs);
/* No list, or every entry verified. */
bool skeys_fentries_ok(const struct skeys_fentries_check *fs);
/* No entries, or sealed and unchanged since. */
bool skeys_fentries_sealed(const struct skeys_fentries_check *fs);
/* Functions whose pads sealing rewrites (0: only the part's fields change). */
size_t skeys_fentries_pads(const struct skeys_fentries_check *fs);
/* Every problem, as "PATH: func+0x0 (0x401136): error: function entry: ...". */
size_t skeys_fentries_report(const struct skeys_fentries_check *fs, const char *path);
/*
 * Seal into `out`, a copy of the file's bytes: every pad rewritten, the
 * part filled, then read back and proven. 0, or -1 with err.
 */
int skeys_fentries_seal(const struct skeys_fentries_check *fs, uint8_t *out, char *err,
			size_t errlen);
/* skeys-dump's `function_entries` array. */
void skeys_fentries_emit(struct skeys_emit *e, const struct skeys_fentries_check *fs);

#endif
