/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include "arch.h"
#include "disasm.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>

void skeys_cli_error(const char *path, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int slices_open(struct skeys_input *in, char *err, size_t errlen)
{
	size_t i;

	in->slices = calloc(in->img->n_slices, sizeof(*in->slices));
	if (!in->slices) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < in->img->n_slices; i++) {
		struct skeys_input *s = &in->slices[i];
		size_t n = strlen(in->path) + strlen(in->img->slices[i]->arch->name) + 3;

		in->n_slices++;
		s->img = in->img->slices[i]; /* owned by the container's image */
		s->owned_path = malloc(n);
		if (!s->owned_path) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		snprintf(s->owned_path, n, "%s[%s]", in->path, s->img->arch->name);
		s->path = s->owned_path;
		if (skeys_check_open(&s->check, s->img, err, errlen))
			return -1;
		s->checked = true;
	}
	return 0;
}

int skeys_input_open(struct skeys_input *in, const char *path, struct skeys_image *img)
{
	char err[SKEYS_ERR_LEN];
	int r;

	memset(in, 0, sizeof(*in));
	in->path = path;
	in->img = img;
	if (img->n_slices)
		r = slices_open(in, err, sizeof(err));
	else if ((r = skeys_check_open(&in->check, img, err, sizeof(err))) == 0)
		in->checked = true;
	if (r) {
		skeys_cli_error(path, "%s", err);
		skeys_input_free(in);
		return SKEYS_EXIT_INPUT;
	}
	return SKEYS_EXIT_OK;
}

int skeys_input_load(struct skeys_input *in, const char *path, unsigned file_flags)
{
	char err[SKEYS_ERR_LEN];
	struct skeys_image *img;
	struct skeys_file file;
	int rc;

	memset(in, 0, sizeof(*in));
	if (skeys_file_open(&file, path, file_flags, err, sizeof(err)) ||
	    skeys_image_open_mem(&img, file.buf, file.len, err, sizeof(err))) {
		skeys_file_close(&file);
		skeys_cli_error(path, "%s", err);
		return SKEYS_EXIT_INPUT;
	}
	rc = skeys_input_open(in, path, img);
	if (rc)
		skeys_file_close(&file);
	else
		in->file = file;
	return rc;
}

void skeys_input_free(struct skeys_input *in)
{
	size_t i;

	for (i = 0; i < in->n_slices; i++) {
		in->slices[i].img = NULL; /* the container's */
		skeys_input_free(&in->slices[i]);
	}
	free(in->slices);
	in->slices = NULL;
	in->n_slices = 0;
	free(in->owned_path);
	in->owned_path = NULL;
	if (in->checked)
		skeys_check_close(&in->check);
	skeys_image_close(in->img);
	in->img = NULL;
	skeys_file_close(&in->file); /* after the image, which reads its bytes */
	in->checked = false;
}

size_t skeys_input_units(const struct skeys_input *in, const struct skeys_input **units)
{
	if (in->n_slices) {
		*units = in->slices;
		return in->n_slices;
	}
	*units = in;
	return 1;
}

bool skeys_input_ok(const struct skeys_input *in)
{
	const struct skeys_input *u;
	size_t i, n = skeys_input_units(in, &u);

	for (i = 0; i < n; i++)
		if (!skeys_check_ok(&u[i].check))
			return false;
	return true;
}

bool skeys_input_sealed(const struct skeys_input *in)
{
	const struct skeys_input *u;
	size_t i, n = skeys_input_units(in, &u);

	for (i = 0; i < n; i++)
		if (!u[i].check.sealed)
			return false;
	return true;
}

bool skeys_input_intact(const struct skeys_input *in)
{
	const struct skeys_input *u;
	size_t i, n = skeys_input_units(in, &u);

	for (i = 0; i < n; i++)
		if (!u[i].check.intact)
			return false;
	return true;
}

/* "1,234,567": counts in summaries are read at a glance. */
static void thousands(size_t v, char *out, size_t outlen)
{
	char digits[32];
	size_t n = (size_t)snprintf(digits, sizeof(digits), "%zu", v), i, k = 0;

	for (i = 0; i < n && k + 2 < outlen; i++) {
		if (i && (n - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = digits[i];
	}
	out[k] = 0;
}

static void report_site(const struct skeys_input *in, size_t i)
{
	const struct skeys_check *c = &in->check;
	uint64_t code = skeys_check_site_at(c, i).code;
	char where[512];

	if (skeys_image_func_at(in->img, code))
		skeys_check_func_name(in->img, code, where, sizeof(where));
	else
		where[0] = 0;
	fprintf(stderr, "%s: %s%s0x%" PRIx64 "%s: error: %s\n", in->path, where,
		where[0] ? " (" : "", code, where[0] ? ")" : "", skeys_check_site_error(c, i));
}

/*
 * The bad sites, in file order, SKEYS_REPORT_PER_KEY at most for a key and
 * SKEYS_REPORT_SITES in all; then, for each key with sites not shown, how
 * many (SKEYS_REPORT_KEYS such lines, the other keys in one).
 */
static size_t report_sites(const struct skeys_input *in)
{
	const struct skeys_check *c = &in->check;
	size_t *bad = calloc(c->n_keys + 1, sizeof(*bad));
	size_t *shown = calloc(c->n_keys + 1, sizeof(*shown));
	size_t i, n = 0, lines = 0, other_sites = 0, other_keys = 0;
	char count[32], key[256];

	for (i = 0; i < c->n; i++) {
		uint32_t k = c->sites[i].key;

		if (!skeys_check_site_error(c, i))
			continue;
		/* Out of memory: every site, as without a limit. */
		if (bad && shown) {
			bad[k]++;
			if (shown[k] == SKEYS_REPORT_PER_KEY || n == SKEYS_REPORT_SITES)
				continue;
			shown[k]++;
		}
		report_site(in, i);
		n++;
	}
	for (i = 0; bad && shown && i < c->n_keys; i++) {
		if (bad[i] == shown[i])
			continue;
		if (lines == SKEYS_REPORT_KEYS) {
			other_sites += bad[i] - shown[i];
			other_keys++;
			continue;
		}
		thousands(bad[i] - shown[i], count, sizeof(count));
		skeys_check_key_name(in->img, c->keys[i].addr, key, sizeof(key));
		skeys_cli_error(in->path, "and %s more bad site%s of key %s (skeys-dump lists "
				"every site)", count, bad[i] - shown[i] == 1 ? "" : "s", key);
		lines++;
	}
	if (other_keys) {
		thousands(other_sites, count, sizeof(count));
		skeys_cli_error(in->path, "and %s more bad site%s of %zu other key%s", count,
				other_sites == 1 ? "" : "s", other_keys, other_keys == 1 ? "" : "s");
		lines++;
	}
	free(bad);
	free(shown);
	return n + lines;
}

size_t skeys_input_report(const struct skeys_input *in)
{
	const struct skeys_check *c = &in->check;
	size_t i, n = 0;

	if (in->n_slices) {
		for (i = 0; i < in->n_slices; i++)
			n += skeys_input_report(&in->slices[i]);
		return n;
	}
	for (i = 0; i < c->n_errors; i++, n++)
		skeys_cli_error(in->path, "%s", c->errors[i]);
	/* site_errors is only made when a site has a problem. */
	return n + (c->site_errors ? report_sites(in) : 0);
}

void skeys_cli_help_exit_status(FILE *f)
{
	fprintf(f,
		"Exit status:\n"
		"  %d   success\n"
		"  %d   a site or the table failed verification (skeys-seal then writes\n"
		"      nothing; skeys-seal --check also when FILE is not sealed)\n"
		"  %d   input or environment error: unreadable, not a regular file, not a\n"
		"      supported binary, truncated, debug-only, not built with skeys; an\n"
		"      output that cannot be written, replaced or given the input's owner,\n"
		"      group, mode and extended attributes\n"
		"  %d  usage error\n"
		"A failed run never modifies its input. Every error names the file.\n",
		SKEYS_EXIT_OK, SKEYS_EXIT_VERIFY, SKEYS_EXIT_INPUT, SKEYS_EXIT_USAGE);
}

void skeys_cli_help_support(FILE *f)
{
	const struct skeys_format *fmt;
	size_t i;

	fputs("Formats: ", f);
	for (i = 0; (fmt = skeys_format_at(i)); i++)
		fprintf(f, "%s%s", i ? ", " : "", fmt->name);
	fputs(". Architectures: ", f);
	skeys_disasm_print_arches(f);
	fputs(".\n\n", f);
}
