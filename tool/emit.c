/* SPDX-License-Identifier: MIT */
#include "emit.h"

#include <inttypes.h>
#include <string.h>

void skeys_emit_begin(struct skeys_emit *e, FILE *f, bool json)
{
	memset(e, 0, sizeof(*e));
	e->f = f;
	e->json = json;
	e->first = true;
	if (json)
		fputs("{", f);
}

void skeys_emit_end(struct skeys_emit *e)
{
	if (e->json)
		fputs("\n}\n", e->f);
	fflush(e->f);
}

/*
 * JSON strings: escape quotes, backslashes and every byte outside printable
 * ASCII, so that names from a hostile file still make valid JSON.
 */
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

/* Text values: bare when they are one word, else quoted C-style. */
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
	if (e->json) {
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
		int pad = 13 - (int)strlen(key);

		fprintf(e->f, "%s:%*s", key, pad > 1 ? pad : 1, "");
	}
}

static void key_close(struct skeys_emit *e)
{
	if (!e->json && !e->in_elem)
		fputc('\n', e->f);
}

/* One value given in both forms. */
static void field(struct skeys_emit *e, const char *key, const char *json_lit,
		  const char *text)
{
	key_open(e, key);
	fputs(e->json ? json_lit : text, e->f);
	key_close(e);
}

void skeys_emit_str(struct skeys_emit *e, const char *key, const char *value)
{
	key_open(e, key);
	if (e->json)
		json_string(e->f, value);
	else if (e->in_elem)
		text_string(e->f, value);
	else
		fputs(value, e->f); /* a whole line: no quoting needed */
	key_close(e);
}

void skeys_emit_addr(struct skeys_emit *e, const char *key, uint64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
	skeys_emit_str(e, key, buf);
}

void skeys_emit_uint(struct skeys_emit *e, const char *key, uint64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	field(e, key, buf, buf);
}

void skeys_emit_bool(struct skeys_emit *e, const char *key, bool value,
		     const char *text_true, const char *text_false)
{
	field(e, key, value ? "true" : "false",
	      value ? (text_true ? text_true : "yes") : (text_false ? text_false : "no"));
}

void skeys_emit_null(struct skeys_emit *e, const char *key)
{
	field(e, key, "null", "?");
}

void skeys_emit_array_begin(struct skeys_emit *e, const char *key, size_t count)
{
	key_open(e, NULL);
	if (e->json) {
		json_string(e->f, key);
		fputs(": [", e->f);
	} else {
		fprintf(e->f, "%s (%zu):\n", key, count);
	}
	e->in_array = true;
	e->first = true;
}

void skeys_emit_array_end(struct skeys_emit *e)
{
	if (e->json)
		fputs(e->first ? "]" : "\n  ]", e->f);
	e->in_array = false;
	e->first = false;
}

void skeys_emit_elem_begin(struct skeys_emit *e)
{
	key_open(e, NULL);
	if (e->json)
		fputc('{', e->f);
	e->in_elem = true;
	e->first = true;
}

void skeys_emit_elem_end(struct skeys_emit *e)
{
	e->in_elem = false;
	e->first = false;
	fputs(e->json ? "}" : "\n", e->f);
}
