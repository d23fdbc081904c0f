/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include "arch.h"
#include "disasm.h"

#include <inttypes.h>
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

int skeys_input_load(struct skeys_input *in, const char *path)
{
	char err[SKEYS_ERR_LEN];

	memset(in, 0, sizeof(*in));
	in->path = path;
	if (skeys_image_open_file(&in->img, path, err, sizeof(err)) ||
	    skeys_check_open(&in->check, in->img, err, sizeof(err))) {
		skeys_cli_error(path, "%s", err);
		skeys_input_free(in);
		return SKEYS_EXIT_INPUT;
	}
	in->checked = true;
	return SKEYS_EXIT_OK;
}

void skeys_input_free(struct skeys_input *in)
{
	if (in->checked)
		skeys_check_close(&in->check);
	skeys_image_close(in->img);
	in->img = NULL;
	in->checked = false;
}

size_t skeys_input_report(const struct skeys_input *in)
{
	const struct skeys_check *c = &in->check;
	size_t i, n = 0;
	char where[512];

	for (i = 0; i < c->n_errors; i++, n++)
		skeys_cli_error(in->path, "%s", c->errors[i]);
	for (i = 0; i < c->n; i++) {
		const struct skeys_check_site *s = &c->sites[i];

		if (!s->error)
			continue;
		if (skeys_image_func_at(in->img, s->s.code))
			skeys_check_func_name(in->img, s->s.code, where, sizeof(where));
		else
			where[0] = 0;
		fprintf(stderr, "%s: %s%s0x%" PRIx64 "%s: error: %s\n", in->path, where,
			where[0] ? " (" : "", s->s.code, where[0] ? ")" : "", s->error);
		n++;
	}
	return n;
}

void skeys_cli_help_exit_status(FILE *f)
{
	fprintf(f,
		"Exit status:\n"
		"  %d   success\n"
		"  %d   a site or the table failed verification (skeys-seal then writes\n"
		"      nothing; skeys-seal --check also when FILE is not sealed)\n"
		"  %d   input or environment error: unreadable, not a supported binary,\n"
		"      truncated, not built with skeys, cannot write the output\n"
		"  %d  usage error\n"
		"A failed run never modifies its input.\n",
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
