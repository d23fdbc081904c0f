/* SPDX-License-Identifier: MIT */
/* What skeys-seal and skeys-dump share: exit codes, loading, diagnostics. */
#ifndef SKEYS_TOOL_CLI_H
#define SKEYS_TOOL_CLI_H

#include "check.h"
#include "file.h"

#include <stdio.h>

/* The exit-status contract of both tools (printed by --help). */
enum skeys_exit {
	SKEYS_EXIT_OK = 0,
	SKEYS_EXIT_VERIFY = 1, /* a site or the table failed verification */
	SKEYS_EXIT_INPUT = 2,  /* unreadable, unsupported, truncated, no skeys table */
	SKEYS_EXIT_USAGE = 64, /* bad command line (as EX_USAGE) */
};

/*
 * A file and its verification. A universal (fat) file is a container: its
 * slices are inputs of their own, each named "FILE[arch]" in messages.
 */
struct skeys_input {
	const char *path;
	struct skeys_file file; /* what img reads (not open for an image given) */
	struct skeys_image *img;
	struct skeys_check check;
	bool checked;
	struct skeys_input *slices;
	size_t n_slices;
	char *owned_path;
};

/* "PATH: error: ..." on stderr. */
void skeys_cli_error(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Read, parse and verify `path`, opened with skeys_file_open()'s flags.
 * Returns SKEYS_EXIT_OK, or SKEYS_EXIT_INPUT after printing why;
 * verification results are in in->check.
 */
int skeys_input_load(struct skeys_input *in, const char *path, unsigned file_flags);
/* As skeys_input_load(), for an image already open; the input owns it. */
int skeys_input_open(struct skeys_input *in, const char *path, struct skeys_image *img);

/* The inputs to verify: the slices of a container, or the input itself. */
size_t skeys_input_units(const struct skeys_input *in, const struct skeys_input **units);
/* Every unit verifies / is sealed / is sealed and unchanged since. */
bool skeys_input_ok(const struct skeys_input *in);
bool skeys_input_sealed(const struct skeys_input *in);
bool skeys_input_intact(const struct skeys_input *in);
void skeys_input_free(struct skeys_input *in);

/*
 * Print every table problem and the bad sites, objtool style:
 * "PATH: func+0x1c (0x401136): error: ...". A wrong key can make every
 * site of a big binary bad: at most SKEYS_REPORT_PER_KEY sites of a key
 * and SKEYS_REPORT_SITES in all are printed, then a count for each key with
 * more ("PATH: error: and 199,990 more bad sites of key k ..."), for
 * SKEYS_REPORT_KEYS keys, and one for the others. Returns the number of
 * lines printed.
 */
#define SKEYS_REPORT_PER_KEY 10
#define SKEYS_REPORT_SITES 100
#define SKEYS_REPORT_KEYS 10
size_t skeys_input_report(const struct skeys_input *in);

/* The parts of --help both tools print. */
void skeys_cli_help_exit_status(FILE *f);
void skeys_cli_help_support(FILE *f);

#endif
