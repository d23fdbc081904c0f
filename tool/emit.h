/* SPDX-License-Identifier: MIT */
/*
 * One printer for skeys-dump's text and JSON forms: each field is printed by
 * one call, so the two forms cannot drift apart. The shape is fixed and
 * shallow: a top-level object of scalars and arrays; array elements are
 * objects of scalars, or bare strings.
 *
 * Text form: "key: value" lines at top level, "key (N):" before an array,
 * one indented "key=value key=value" line per element.
 * JSON form: one object, one array element per line.
 */
#ifndef SKEYS_TOOL_EMIT_H
#define SKEYS_TOOL_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct skeys_emit {
	FILE *f;
	bool json;
	bool in_array, in_elem;
	bool first; /* nothing printed yet in the innermost open container */
};

void skeys_emit_begin(struct skeys_emit *e, FILE *f, bool json);
void skeys_emit_end(struct skeys_emit *e);

/* `key` NULL: a bare string element of an array. */
void skeys_emit_str(struct skeys_emit *e, const char *key, const char *value);
void skeys_emit_addr(struct skeys_emit *e, const char *key, uint64_t value);
void skeys_emit_uint(struct skeys_emit *e, const char *key, uint64_t value);
/* JSON true/false; text `yes`/`no` unless the words are given. */
void skeys_emit_bool(struct skeys_emit *e, const char *key, bool value,
		     const char *text_true, const char *text_false);
/* JSON null, text "?": a value the file does not let us know. */
void skeys_emit_null(struct skeys_emit *e, const char *key);

void skeys_emit_array_begin(struct skeys_emit *e, const char *key, size_t count);
void skeys_emit_array_end(struct skeys_emit *e);
void skeys_emit_elem_begin(struct skeys_emit *e);
void skeys_emit_elem_end(struct skeys_emit *e);

#endif
