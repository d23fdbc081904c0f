/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "emit.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void skeys_emit_begin_form(struct skeys_emit *e, FILE *f, enum skeys_emit_form form)
{
	memset(e, 0, sizeof(*e));
	e->f = f;
	e->form = form;
	e->first = true;
	if (form == SKEYS_EMIT_JSON)
		fputs("{", f);
	if (form == SKEYS_EMIT_TABLE) {
		e->pass = 1;
		/* Without memory for it, the lists are printed where they come. */
		e->after = open_memstream(&e->after_buf, &e->after_len);
	}
}

void skeys_emit_begin(struct skeys_emit *e, FILE *f, bool json)
{
	skeys_emit_begin_form(e, f, json ? SKEYS_EMIT_JSON : SKEYS_EMIT_PLAIN);
}

static void drop_after(struct skeys_emit *e)
{
	if (e->after)
		fclose(e->after);
	free(e->after_buf);
	e->after = NULL;
	e->after_buf = NULL;
	e->after_len = 0;
}

bool skeys_emit_again(struct skeys_emit *e)
{
	if (e->form != SKEYS_EMIT_TABLE || e->pass != 1)
		return false;
	if (e->after && (ferror(e->after) || fflush(e->after)))
		drop_after(e);
	e->pass = 2;
	e->array = 0;
	e->in_array = e->in_elem = false;
	e->first = true;
	return true;
}

/* ---- table form ------------------------------------------------------------ */

static bool table_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\';
}

/* Print `s` as the table form shows it, or with f NULL only measure it. */
static size_t table_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, run;

	while (*p) {
		for (run = 0; p[run] && table_plain(p[run]); run++)
			;
		if (run) {
			if (f)
				fwrite(p, 1, run, f);
			n += run;
			p += run;
			continue;
		}
		if (*p == '\\') {
			if (f)
				fputs("\\\\", f);
			n += 2;
		} else {
			if (f)
				fprintf(f, "\\x%02x", *p);
			n += 4;
		}
		p++;
	}
	return n;
}

/* The value set in its field's fmt: printed, or measured with f NULL. */
static size_t table_fragment(FILE *f, const char *fmt, const char *value)
{
	const char *mark;
	size_t n;

	if (!fmt)
		return table_text(f, value);
	mark = strstr(fmt, "%s");
	if (!mark) {
		if (f)
			fputs(fmt, f);
		return strlen(fmt);
	}
	n = (size_t)(mark - fmt);
	if (f)
		fwrite(fmt, 1, n, f);
	n += table_text(f, value);
	if (f)
		fputs(mark + 2, f);
	return n + strlen(mark + 2);
}

static void pad(FILE *f, size_t n)
{
	static const char spaces[] = "                                ";

	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		fwrite(spaces, 1, k, f);
		n -= k;
	}
}

static struct skeys_emit_table *table_cur(struct skeys_emit *e)
{
	size_t i = e->array ? e->array - 1 : 0;

	return &e->tables[i < SKEYS_EMIT_MAX_ARRAYS ? i : SKEYS_EMIT_MAX_ARRAYS - 1];
}

/* Ends the summary line, before anything below it. */
static void table_end_line(struct skeys_emit *e)
{
	if (e->line_open)
		fputc('\n', e->f);
	e->line_open = false;
}

static void table_title(FILE *f, const struct skeys_emit_table *t)
{
	fprintf(f, "\n%s (%zu):\n", t->title, t->count);
}

static void table_array(struct skeys_emit *e, const struct skeys_field *fd, size_t count)
{
	struct skeys_emit_table *t;

	assert(e->array < SKEYS_EMIT_MAX_ARRAYS);
	e->array++;
	t = table_cur(e);
	if (e->pass == 1) {
		memset(t, 0, sizeof(*t));
		t->title = fd->head ? fd->head : fd->key;
		t->count = count;
		return;
	}
	/* Lists wait for the end; an empty array is left out. */
	if (t->list || !count)
		return;
	table_end_line(e);
	table_title(e->f, t);
	if (!t->ncols)
		return;
	fputs("  ", e->f);
	for (size_t i = 0; i < t->ncols; i++) {
		size_t w = table_text(e->f, t->head[i]);

		if (i + 1 < t->ncols)
			pad(e->f, t->width[i] - w + 2);
	}
	fputc('\n', e->f);
}

/* One line of a list: gathered in the first pass, printed at the end. */
static void table_list_item(struct skeys_emit *e, const char *text)
{
	struct skeys_emit_table *t = table_cur(e);
	FILE *out = e->pass == 1 ? e->after : (e->after ? NULL : e->f);

	t->list = true;
	if (!out)
		return;
	if (out == e->f)
		table_end_line(e);
	if (e->first)
		table_title(out, t);
	e->first = false;
	fputs("  ", out);
	table_text(out, text);
	fputc('\n', out);
}

/* One field of a row: a new column when it has a heading, else more of this one. */
static void table_cell(struct skeys_emit *e, const struct skeys_field *fd, const char *text)
{
	struct skeys_emit_table *t = table_cur(e);
	FILE *out = e->pass == 2 ? e->f : NULL;
	size_t next = e->col == SIZE_MAX ? 0 : e->col + 1;

	if ((fd->head || e->col == SIZE_MAX) && next < SKEYS_EMIT_MAX_COLUMNS) {
		const char *head = fd->head ? fd->head : "";

		if (e->col != SIZE_MAX) {
			size_t w = t->width[e->col];

			if (e->pass == 1 && e->cell > w)
				t->width[e->col] = e->cell;
			if (out)
				pad(out, (w > e->cell ? w - e->cell : 0) + 2);
		}
		if (next >= t->ncols) {
			t->ncols = next + 1;
			t->head[next] = head;
			t->width[next] = table_text(NULL, head);
		}
		/* Rows must give their columns in one order. */
		assert(!strcmp(t->head[next], head));
		e->col = next;
		e->cell = 0;
	}
	e->cell += table_fragment(out, fd->fmt, text);
}

static void table_put(struct skeys_emit *e, const struct skeys_field *fd, const char *text)
{
	if (e->in_elem) {
		table_cell(e, fd, text);
	} else if (e->in_array) {
		table_list_item(e, text);
	} else if (e->pass == 2) {
		table_fragment(e->f, fd->fmt, text);
		e->line_open = true;
	}
}

static void table_elem_end(struct skeys_emit *e)
{
	struct skeys_emit_table *t = table_cur(e);

	if (e->pass == 2)
		fputc('\n', e->f);
	else if (e->col != SIZE_MAX && e->cell > t->width[e->col])
		t->width[e->col] = e->cell;
}

/* ---- JSON and plain forms ------------------------------------------------- */

/*
 * JSON strings: escape quotes, backslashes and every byte outside printable
 * ASCII, so that names from a hostile file still make valid JSON.
 */
void skeys_emit_json_string(FILE *f, const char *s);
static void json_string(FILE *f, const char *s);

void skeys_emit_json_string(FILE *f, const char *s)
{
	json_string(f, s);
}

static void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Plain values: bare when they are one word, else quoted C-style. */
static void text_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	bool plain = *p != 0;

	for (; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			plain = false;
	if (plain) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* Separator and key before a value, for the current container. */
static void key_open(struct skeys_emit *e, const char *key)
{
	bool first = e->first;

	e->first = false;
	if (e->form == SKEYS_EMIT_JSON) {
		if (e->in_elem)
			fputs(first ? "" : ", ", e->f);
		else if (e->in_array)
			fputs(first ? "\n    " : ",\n    ", e->f);
		else
			fputs(first ? "\n  " : ",\n  ", e->f);
		if (key) {
			json_string(e->f, key);
			fputs(": ", e->f);
		}
		return;
	}
	if (e->in_elem)
		fputs(first ? "" : " ", e->f);
	else if (e->in_array)
		fputs("  ", e->f);
	if (!key)
		return;
	if (e->in_elem) {
		fprintf(e->f, "%s=", key);
	} else {
		int pad_to = 13 - (int)strlen(key);

		fprintf(e->f, "%s:%*s", key, pad_to > 1 ? pad_to : 1, "");
	}
}

static void key_close(struct skeys_emit *e)
{
	if (e->form != SKEYS_EMIT_JSON && !e->in_elem)
		fputc('\n', e->f);
}

/* ---- every form ------------------------------------------------------------ */

static const struct skeys_field bare;

/*
 * One value: `text` as text shows it; JSON shows `json_lit` as it is, or
 * without one `text` as a string.
 */
static void put(struct skeys_emit *e, const struct skeys_field *fd, const char *text,
		const char *json_lit)
{
	if (!fd)
		fd = &bare;
	if (e->form == SKEYS_EMIT_TABLE) {
		table_put(e, fd, text);
		return;
	}
	key_open(e, fd->key);
	if (e->form == SKEYS_EMIT_JSON) {
		if (json_lit)
			fputs(json_lit, e->f);
		else
			json_string(e->f, text);
	} else if (json_lit || !e->in_elem) {
		fputs(text, e->f); /* a literal, or a whole line: no quoting needed */
	} else {
		text_string(e->f, text);
	}
	key_close(e);
}

void skeys_emit_field_str(struct skeys_emit *e, const struct skeys_field *field,
			  const char *value)
{
	put(e, field, value, NULL);
}

void skeys_emit_field_addr(struct skeys_emit *e, const struct skeys_field *field,
			   uint64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
	put(e, field, buf, NULL);
}

void skeys_emit_field_uint(struct skeys_emit *e, const struct skeys_field *field,
			   uint64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	put(e, field, buf, buf);
}

void skeys_emit_field_bool(struct skeys_emit *e, const struct skeys_field *field,
			   bool value)
{
	const char *yes = field->yes ? field->yes : "yes", *no = field->no ? field->no : "no";

	put(e, field, value ? yes : no, value ? "true" : "false");
}

void skeys_emit_field_null(struct skeys_emit *e, const struct skeys_field *field)
{
	put(e, field, field->null ? field->null : "?", "null");
}

void skeys_emit_field_array(struct skeys_emit *e, const struct skeys_field *field,
			    size_t count)
{
	if (e->form == SKEYS_EMIT_TABLE) {
		table_array(e, field, count);
	} else {
		key_open(e, NULL);
		if (e->form == SKEYS_EMIT_JSON) {
			json_string(e->f, field->key);
			fputs(": [", e->f);
		} else {
			fprintf(e->f, "%s (%zu):\n", field->key, count);
		}
	}
	e->in_array = true;
	e->first = true;
}

void skeys_emit_array_end(struct skeys_emit *e)
{
	if (e->form == SKEYS_EMIT_JSON)
		fputs(e->first ? "]" : "\n  ]", e->f);
	e->in_array = false;
	e->first = false;
}

void skeys_emit_elem_begin(struct skeys_emit *e)
{
	if (e->form == SKEYS_EMIT_TABLE) {
		e->col = SIZE_MAX;
		e->cell = 0;
		if (e->pass == 2)
			fputs("  ", e->f);
	} else {
		key_open(e, NULL);
		if (e->form == SKEYS_EMIT_JSON)
			fputc('{', e->f);
	}
	e->in_elem = true;
	e->first = true;
}

void skeys_emit_elem_end(struct skeys_emit *e)
{
	e->in_elem = false;
	e->first = false;
	if (e->form == SKEYS_EMIT_TABLE)
		table_elem_end(e);
	else
		fputs(e->form == SKEYS_EMIT_JSON ? "}" : "\n", e->f);
}

void skeys_emit_end(struct skeys_emit *e)
{
	if (e->form == SKEYS_EMIT_JSON)
		fputs("\n}\n", e->f);
	if (e->form == SKEYS_EMIT_TABLE) {
		table_end_line(e);
		if (e->after && !fclose(e->after))
			fwrite(e->after_buf, 1, e->after_len, e->f);
		e->after = NULL;
		drop_after(e);
	}
	fflush(e->f);
}

/* ---- fields described by their key alone ----------------------------------- */

void skeys_emit_str(struct skeys_emit *e, const char *key, const char *value)
{
	const struct skeys_field fd = { .key = key };

	skeys_emit_field_str(e, &fd, value);
}

void skeys_emit_addr(struct skeys_emit *e, const char *key, uint64_t value)
{
	const struct skeys_field fd = { .key = key };

	skeys_emit_field_addr(e, &fd, value);
}

void skeys_emit_uint(struct skeys_emit *e, const char *key, uint64_t value)
{
	const struct skeys_field fd = { .key = key };

	skeys_emit_field_uint(e, &fd, value);
}

void skeys_emit_bool(struct skeys_emit *e, const char *key, bool value,
		     const char *text_true, const char *text_false)
{
	const struct skeys_field fd = { .key = key, .yes = text_true, .no = text_false };

	skeys_emit_field_bool(e, &fd, value);
}

void skeys_emit_null(struct skeys_emit *e, const char *key)
{
	const struct skeys_field fd = { .key = key };

	skeys_emit_field_null(e, &fd);
}

void skeys_emit_array_begin(struct skeys_emit *e, const char *key, size_t count)
{
	const struct skeys_field fd = { .key = key };

	skeys_emit_field_array(e, &fd, count);
}
