/* SPDX-License-Identifier: MIT */
/*
 * One printer for skeys-dump's text and JSON forms. Each field is printed by
 * one call from one description (struct skeys_field: its JSON key and how
 * text shows it), so the forms cannot drift apart. The shape is fixed and
 * shallow: a top-level object of scalars and arrays; array elements are
 * objects of scalars, or bare strings.
 *
 * JSON form: one object, one array element per line.
 *
 * Table form: the top-level scalars make one summary line (each value set
 * in its description's `fmt`, which carries its own separator); each array
 * of objects is a titled table, one row per element, a column per field
 * with a heading, columns as wide as their widest cell and two spaces
 * apart; arrays of bare strings are titled lists printed after the tables.
 * Empty arrays are left out. Bytes outside printable ASCII, and
 * backslashes, are escaped (\xNN, \\) so that names from a hostile file
 * cannot break a row or reach the terminal. Widths need every row first,
 * so the caller makes the same calls twice; the first pass only measures:
 *
 *	skeys_emit_begin_form(&e, f, SKEYS_EMIT_TABLE);
 *	do
 *		(every skeys_emit_* call, the same each time)
 *	while (skeys_emit_again(&e));
 *	skeys_emit_end(&e);
 *
 * In the other forms skeys_emit_again() is false at once, so the same loop
 * prints them in one pass. Every element of one array must give its
 * headed fields in the same order; fields without a heading, and optional
 * ones, join the column before them.
 *
 * Plain form: "key: value" lines at top level, "key (N):" before an array,
 * one indented "key=value key=value" line per element; text descriptions
 * other than the yes/no/null words are not used.
 */
#ifndef SKEYS_TOOL_EMIT_H
#define SKEYS_TOOL_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum skeys_emit_form {
	SKEYS_EMIT_PLAIN,
	SKEYS_EMIT_JSON,
	SKEYS_EMIT_TABLE,
};

/* One field, as both forms show it. Unset text members take the defaults. */
struct skeys_field {
	const char *key; /* JSON member name; NULL for a bare string element */
	/*
	 * Table form. An element's field: its column's heading, or NULL to
	 * join the column before it. An array: its section's title (default
	 * its key). Strings are kept until skeys_emit_end().
	 */
	const char *head;
	const char *fmt;  /* the text around the value, "%s" marking it (default "%s") */
	const char *yes;  /* a true boolean (default "yes") */
	const char *no;   /* a false boolean (default "no") */
	const char *null; /* a value the file does not let us know (default "?") */
};

#define SKEYS_EMIT_MAX_ARRAYS 8
#define SKEYS_EMIT_MAX_COLUMNS 16

struct skeys_emit_table {
	const char *title;
	size_t count; /* as the caller gave it */
	size_t ncols;
	const char *head[SKEYS_EMIT_MAX_COLUMNS];
	size_t width[SKEYS_EMIT_MAX_COLUMNS];
	bool list; /* of bare strings */
};

struct skeys_emit {
	FILE *f;
	enum skeys_emit_form form;
	bool in_array, in_elem;
	bool first; /* nothing printed yet in the innermost open container */

	/* Table form. */
	int pass;          /* 1 measures, 2 prints */
	size_t array;      /* arrays begun so far in this pass */
	size_t col;        /* the current element's column, or SIZE_MAX before its first */
	size_t cell;       /* width printed so far in that column */
	bool line_open;    /* the summary line still wants its newline */
	FILE *after;       /* the lists, gathered in the first pass */
	char *after_buf;
	size_t after_len;
	struct skeys_emit_table tables[SKEYS_EMIT_MAX_ARRAYS];
};

void skeys_emit_begin_form(struct skeys_emit *e, FILE *f, enum skeys_emit_form form);
/* Plain or JSON. */
void skeys_emit_begin(struct skeys_emit *e, FILE *f, bool json);
/* After a pass over every field: true when they are wanted once more. */
bool skeys_emit_again(struct skeys_emit *e);
void skeys_emit_end(struct skeys_emit *e);
/* `s` as a JSON string literal, quotes included. */
void skeys_emit_json_string(FILE *f, const char *s);

/* `field` NULL, or its key NULL: a bare string element of an array. */
void skeys_emit_field_str(struct skeys_emit *e, const struct skeys_field *field,
			  const char *value);
void skeys_emit_field_addr(struct skeys_emit *e, const struct skeys_field *field,
			   uint64_t value);
void skeys_emit_field_uint(struct skeys_emit *e, const struct skeys_field *field,
			   uint64_t value);
/* JSON true/false; text the field's yes/no words. */
void skeys_emit_field_bool(struct skeys_emit *e, const struct skeys_field *field,
			   bool value);
/* JSON null; text the field's null word. */
void skeys_emit_field_null(struct skeys_emit *e, const struct skeys_field *field);
void skeys_emit_field_array(struct skeys_emit *e, const struct skeys_field *field,
			    size_t count);

/* The same, for a field described by its key alone. */
void skeys_emit_str(struct skeys_emit *e, const char *key, const char *value);
void skeys_emit_addr(struct skeys_emit *e, const char *key, uint64_t value);
void skeys_emit_uint(struct skeys_emit *e, const char *key, uint64_t value);
/* Text `yes`/`no` unless the words are given. */
void skeys_emit_bool(struct skeys_emit *e, const char *key, bool value,
		     const char *text_true, const char *text_false);
void skeys_emit_null(struct skeys_emit *e, const char *key);
void skeys_emit_array_begin(struct skeys_emit *e, const char *key, size_t count);

void skeys_emit_array_end(struct skeys_emit *e);
void skeys_emit_elem_begin(struct skeys_emit *e);
void skeys_emit_elem_end(struct skeys_emit *e);

#endif
