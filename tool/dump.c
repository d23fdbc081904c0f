/* SPDX-License-Identifier: MIT */
/*
 * skeys-dump: what a module's skeys table says, and whether each site
 * verifies, as text or as one JSON object. Every field goes through one
 * skeys_emit_* call, which prints it in the chosen form.
 */
#include "cli.h"
#include "disasm.h"
#include "emit.h"

#include "arch.h"

#include <getopt.h>
#include <string.h>

static void help(FILE *f)
{
	fputs("Usage: skeys-dump [--json] FILE\n"
	      "\n"
	      "Print the skeys table of a linked executable or shared library: header\n"
	      "state, keys, and every site with its current instruction and whether it\n"
	      "verifies. Works on sealed and unsealed, stripped and unstripped files;\n"
	      "without symbols, names are addresses.\n"
	      "\n"
	      "  -j, --json     one JSON object instead of text\n"
	      "  -h, --help     this text\n"
	      "  -V, --version  print the version\n"
	      "\n"
	      "An unsealed table is not a failure here; use skeys-seal --check for that.\n"
	      "\n",
	      f);
	skeys_cli_help_support(f);
	skeys_cli_help_exit_status(f);
}

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "skeys-dump: %s%s%s\nTry 'skeys-dump --help'.\n", msg,
		arg ? ": " : "", arg ? arg : "");
	return SKEYS_EXIT_USAGE;
}

static const char *insn_name(enum skeys_insn i)
{
	switch (i) {
	case SKEYS_INSN_NOP:
		return "nop";
	case SKEYS_INSN_JMP:
		return "jmp";
	case SKEYS_INSN_OTHER:
		return "other";
	default:
		return "none";
	}
}

static void emit_header(struct skeys_emit *e, const struct skeys_input *in)
{
	const struct skeys_check *c = &in->check;

	skeys_emit_str(e, "file", in->path);
	skeys_emit_str(e, "format", in->img->format->name);
	skeys_emit_str(e, "arch", in->img->arch->name);
	skeys_emit_bool(e, "sealed", c->sealed, NULL, NULL);
	skeys_emit_uint(e, "count", c->hdr.count);
	skeys_emit_uint(e, "entries", c->n);
	if (c->sealed)
		skeys_emit_bool(e, "checksum_ok", c->checksum_ok, "ok", "BAD");
	else
		skeys_emit_null(e, "checksum_ok");
	skeys_emit_bool(e, "ok", skeys_check_ok(c), "ok", "BAD");
	skeys_emit_array_begin(e, "errors", c->n_errors);
	for (size_t i = 0; i < c->n_errors; i++)
		skeys_emit_str(e, NULL, c->errors[i]);
	skeys_emit_array_end(e);
}

static void emit_keys(struct skeys_emit *e, const struct skeys_input *in)
{
	const struct skeys_check *c = &in->check;
	char name[512];

	skeys_emit_array_begin(e, "keys", c->n_keys);
	for (size_t i = 0; i < c->n_keys; i++) {
		const struct skeys_check_key *k = &c->keys[i];

		skeys_check_key_name(in->img, k->addr, name, sizeof(name));
		skeys_emit_elem_begin(e);
		skeys_emit_str(e, "name", name);
		skeys_emit_addr(e, "address", k->addr);
		if (k->valid)
			skeys_emit_bool(e, "initial", k->initial, "true", "false");
		else
			skeys_emit_null(e, "initial");
		skeys_emit_uint(e, "sites", k->sites);
		skeys_emit_bool(e, "ok", k->valid, "ok", "BAD");
		if (k->error)
			skeys_emit_str(e, "error", k->error);
		skeys_emit_elem_end(e);
	}
	skeys_emit_array_end(e);
}

static void emit_site(struct skeys_emit *e, const struct skeys_input *in,
		      const struct skeys_check_site *s)
{
	char buf[512];

	skeys_emit_elem_begin(e);
	skeys_emit_addr(e, "address", s->s.code);
	skeys_check_func_name(in->img, s->s.code, buf, sizeof(buf));
	skeys_emit_str(e, "function", buf);
	skeys_check_key_name(in->img, s->s.key, buf, sizeof(buf));
	skeys_emit_str(e, "key", buf);
	skeys_emit_str(e, "branch", (s->s.flags & SKEYS_ENTRY_BRANCH) ? "likely" : "unlikely");
	skeys_emit_str(e, "instruction", insn_name(s->insn));
	skeys_emit_uint(e, "length", in->img->arch->site_len);
	skeys_emit_addr(e, "target", s->s.target);
	skeys_check_func_name(in->img, s->s.target, buf, sizeof(buf));
	skeys_emit_str(e, "target_function", buf);
	skeys_emit_bool(e, "ok", !s->error, "ok", "BAD");
	if (s->error)
		skeys_emit_str(e, "error", s->error);
	skeys_emit_elem_end(e);
}

static int dump(const char *path, bool json)
{
	struct skeys_input in;
	struct skeys_emit e;
	int rc = skeys_input_load(&in, path);

	if (rc)
		return rc;
	skeys_emit_begin(&e, stdout, json);
	emit_header(&e, &in);
	emit_keys(&e, &in);
	skeys_emit_array_begin(&e, "sites", in.check.n);
	for (size_t i = 0; i < in.check.n; i++)
		emit_site(&e, &in, &in.check.sites[i]);
	skeys_emit_array_end(&e);
	skeys_emit_end(&e);
	rc = skeys_check_ok(&in.check) ? SKEYS_EXIT_OK : SKEYS_EXIT_VERIFY;
	skeys_input_free(&in);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "jhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'h':
			help(stdout);
			return SKEYS_EXIT_OK;
		case 'V':
			puts("skeys-dump " SKEYS_VERSION);
			return SKEYS_EXIT_OK;
		default:
			return usage("unknown option", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage(optind == argc ? "no FILE given" : "more than one FILE given", NULL);
	rc = dump(argv[optind], json);
	skeys_disasm_cleanup();
	/* Output that did not reach its destination is an environment error. */
	if (fflush(stdout) || ferror(stdout))
		rc = SKEYS_EXIT_INPUT;
	return rc;
}
