/* SPDX-License-Identifier: MIT */
/*
 * skeys-dump: what a module's skeys table says, and whether each site
 * verifies, as aligned tables or as one JSON object. Every field goes
 * through one skeys_emit_* call, with one description that says how each
 * form shows it.
 */
#include "cli.h"
#include "verify_calls.h"
#include "verify_entries.h"
#include "disasm.h"
#include "emit.h"
#include "names.h"
#include "verify.h"

#include "arch.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
	fputs("Usage: skeys-dump [--json] FILE\n"
	      "\n"
	      "Print the skeys table of a linked executable or shared library: a line\n"
	      "on the header's state, then a table of keys and a table of every site\n"
	      "with its current instruction and whether it verifies, then problems of\n"
	      "the table as a whole. Works on sealed and unsealed, stripped and\n"
	      "unstripped files. Keys are named as SKEYS_DEFINE_* and SKEYS_IMPORT_*\n"
	      "recorded them (stripped files too), else by their symbol, else by\n"
	      "address; element i of an array of keys is NAME[i]. Every key the file\n"
	      "defines or imports is listed, also one without a site in this file (a\n"
	      "library that only exports it); IMPORT marks an import's proxy. A\n"
	      "site's cell of <skeys/kernel.h> is listed as cell(KEY), CELL_OF naming\n"
	      "the key it stands for; CELL_SITES counts a key's sites through cells.\n"
	      "\n"
	      "  -j, --json     one JSON object instead of text (fields: see README)\n"
	      "  -h, --help     this text\n"
	      "  -V, --version  print the version\n"
	      "\n",
	      f);
	skeys_cli_help_support(f);
	fprintf(f,
		"Exit status:\n"
		"  %d   the table and every site verify, sealed or not (an unsealed\n"
		"      table is not a failure here: skeys-seal --check is)\n"
		"  %d   a site or the table failed verification; the dump shows why\n"
		"  %d   input or environment error: unreadable, not a supported binary,\n"
		"      truncated, not built with skeys, output not written\n"
		"  %d  usage error\n"
		"skeys-dump only reads FILE.\n",
		SKEYS_EXIT_OK, SKEYS_EXIT_VERIFY, SKEYS_EXIT_INPUT, SKEYS_EXIT_USAGE);
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

/*
 * Every field once: its JSON key, and how the text form shows it (a summary
 * line, then a table per array). The JSON keys are an interface; keep them.
 */
static const struct skeys_field
	F_FILE = { .key = "file", .fmt = "%s:" },
	F_FORMAT = { .key = "format", .fmt = " %s" },
	F_ARCH = { .key = "arch", .fmt = " %s" },
	F_SEALED = { .key = "sealed", .fmt = ", %s", .yes = "sealed",
		     .no = "NOT sealed (run skeys-seal)" },
	F_COUNT = { .key = "count", .fmt = ", header count %s" },
	F_ENTRIES = { .key = "entries", .fmt = ", %s sites" },
	F_CHECKSUM = { .key = "checksum_ok", .fmt = ", %s", .yes = "checksum ok",
		       .no = "checksum BAD", .null = "no checksum" },
	F_OK = { .key = "ok", .fmt = ", %s", .yes = "verification ok", .no = "verification BAD" },
	F_ERRORS = { .key = "errors", .head = "Errors" },

	F_KEYS = { .key = "keys", .head = "Keys" },
	K_NAME = { .key = "name", .head = "NAME" },
	K_ADDRESS = { .key = "address", .head = "ADDRESS" },
	K_INITIAL = { .key = "initial", .head = "INITIAL", .yes = "true", .no = "false" },
	K_IMPORT = { .key = "import", .head = "IMPORT", .yes = "yes", .no = "no" },
	K_SITES = { .key = "sites", .head = "SITES" },
	K_CELL_OF = { .key = "cell_of", .head = "CELL_OF", .null = "-" },
	K_CELL_SITES = { .key = "cell_sites", .head = "CELL_SITES" },
	K_OK = { .key = "ok", .head = "STATUS", .yes = "ok", .no = "BAD" },
	K_ERROR = { .key = "error", .fmt = ": %s" },

	F_SITES = { .key = "sites", .head = "Sites" },
	S_ADDRESS = { .key = "address", .head = "ADDRESS" },
	S_FUNCTION = { .key = "function", .head = "FUNCTION" },
	S_KEY = { .key = "key", .head = "KEY" },
	S_BRANCH = { .key = "branch", .head = "BRANCH" },
	S_INSN = { .key = "instruction", .head = "INSN" },
	S_LENGTH = { .key = "length", .head = "LEN" },
	S_TARGET = { .key = "target", .head = "TARGET" },
	S_TARGET_FUNCTION = { .key = "target_function", .fmt = " <%s>" },
	S_OK = { .key = "ok", .head = "STATUS", .yes = "ok", .no = "BAD" },
	S_ERROR = { .key = "error", .fmt = ": %s" };

/* calls and entries: NULL for a slice of a universal file (none there). */
static void emit_header(struct skeys_emit *e, const struct skeys_input *in,
			const struct skeys_calls *calls, const struct skeys_fentries_check *fe)
{
	const struct skeys_check *c = &in->check;

	skeys_emit_field_str(e, &F_FILE, in->path);
	skeys_emit_field_str(e, &F_FORMAT, in->img->format->name);
	skeys_emit_field_str(e, &F_ARCH, in->img->arch->name);
	skeys_emit_field_bool(e, &F_SEALED, c->sealed);
	skeys_emit_field_uint(e, &F_COUNT, c->hdr.count);
	skeys_emit_field_uint(e, &F_ENTRIES, c->n);
	if (c->sealed)
		skeys_emit_field_bool(e, &F_CHECKSUM, c->checksum_ok);
	else
		skeys_emit_field_null(e, &F_CHECKSUM);
	/* The whole file: its key table and, where it has them, its static calls and entries. */
	skeys_emit_field_bool(e, &F_OK, skeys_check_ok(c) && (!calls || skeys_calls_ok(calls)) &&
						(!fe || skeys_fentries_ok(fe)));
	/* The key table's, then the static calls' own (a call's is in its entry). */
	skeys_emit_field_array(e, &F_ERRORS, c->n_errors + (calls && calls->error ? 1 : 0));
	for (size_t i = 0; i < c->n_errors; i++)
		skeys_emit_field_str(e, NULL, c->errors[i]);
	if (calls && calls->error)
		skeys_emit_field_str(e, NULL, calls->error);
	skeys_emit_array_end(e);
}

/*
 * Sites through cells (<skeys/kernel.h>): for each key of this file that
 * cells of it name, the sites of those cells, by key address.
 */
struct cell_sites {
	uint64_t key;       /* the key of this file the slot names, else 0 */
	const char *symbol; /* else the symbol the loader fills it from */
	uint64_t sites;
};

static int cell_sites_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct cell_sites *)a)->key, y = ((const struct cell_sites *)b)->key;

	return (x > y) - (x < y);
}

/* c->keys' cells that name a key of this file, by that key; NULL when none (or no memory). */
static struct cell_sites *cell_sites_collect(const struct skeys_check *c, size_t *n)
{
	struct cell_sites *cs = NULL;
	size_t i;

	*n = 0;
	for (i = 0; i < c->n_keys; i++) {
		uint64_t target;
		const char *symbol;
		bool named;
		struct cell_sites *grown;

		if (!c->keys[i].valid ||
		    !skeys_check_cell(c->img, c->keys[i].addr, &target, &symbol, &named) ||
		    named || (!target && !symbol))
			continue;
		grown = realloc(cs, (*n + 1) * sizeof(*cs));
		if (!grown)
			break;
		cs = grown;
		cs[*n].key = target;
		cs[*n].symbol = symbol;
		cs[(*n)++].sites = c->keys[i].sites;
	}
	if (*n)
		qsort(cs, *n, sizeof(*cs), cell_sites_cmp);
	return cs;
}

/*
 * Sites of the key at `addr` through cells; with addr 0, of the key that
 * the loader takes from `symbol` (a shared library's own exported key).
 */
static uint64_t cell_sites_of(const struct cell_sites *cs, size_t n, uint64_t addr,
			      const char *symbol)
{
	size_t lo = 0, hi = n;
	uint64_t sum = 0;

	if (!addr) {
		for (lo = 0; symbol && lo < n; lo++)
			if (!cs[lo].key && cs[lo].symbol && !strcmp(cs[lo].symbol, symbol))
				sum += cs[lo].sites;
		return sum;
	}

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cs[mid].key < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && cs[lo].key == addr; lo++)
		sum += cs[lo].sites;
	return sum;
}

static void emit_key(struct skeys_emit *e, const struct skeys_input *in,
		     const struct skeys_check_key *k, const struct cell_sites *cs, size_t n_cs)
{
	uint64_t target = k->addr;
	const char *symbol = NULL;
	bool named = false, cell;
	char name[512];

	skeys_names_key_name(&in->check, k->addr, name, sizeof(name));
	skeys_emit_elem_begin(e);
	skeys_emit_field_str(e, &K_NAME, name);
	skeys_emit_field_addr(e, &K_ADDRESS, k->addr);
	if (k->valid) {
		skeys_emit_field_bool(e, &K_INITIAL, k->initial);
		skeys_emit_field_bool(e, &K_IMPORT, k->import);
	} else {
		skeys_emit_field_null(e, &K_INITIAL);
		skeys_emit_field_null(e, &K_IMPORT);
	}
	skeys_emit_field_uint(e, &K_SITES, k->sites);
	/*
	 * A site's cell: what it stands for. A named cell is the key's own
	 * names entry: its row is the key's, and counts the key's sites
	 * through the other cells.
	 */
	cell = k->valid && skeys_check_cell(in->img, k->addr, &target, &symbol, &named);
	if (cell && !named) {
		char of[512];

		skeys_names_cell_of(&in->check, k->addr, of, sizeof(of));
		skeys_emit_field_str(e, &K_CELL_OF, of);
		skeys_emit_field_uint(e, &K_CELL_SITES, 0);
	} else {
		skeys_emit_field_null(e, &K_CELL_OF);
		skeys_emit_field_uint(e, &K_CELL_SITES, cell_sites_of(cs, n_cs, target, symbol));
	}
	skeys_emit_field_bool(e, &K_OK, k->valid);
	if (k->error)
		skeys_emit_field_str(e, &K_ERROR, k->error);
	skeys_emit_elem_end(e);
}

/*
 * The keys of the site table and the keys of the names table, one list by
 * address: a named key without sites here (exported only, or its sites
 * collected) is listed with 0 sites.
 */
static int key_addr_cmp(const void *a, const void *k)
{
	uint64_t x = *(const uint64_t *)a, y = ((const struct skeys_check_key *)k)->addr;

	return (x > y) - (x < y);
}

/* Is the key at `addr` one of the site table's (c->keys, by address)? */
static bool has_sites(const struct skeys_check *c, uint64_t addr)
{
	return c->n_keys && bsearch(&addr, c->keys, c->n_keys, sizeof(*c->keys), key_addr_cmp);
}

/*
 * The keys of the site table and the keys of the names table, one list by
 * address: a named key without sites here (exported only, or its sites
 * collected) is listed with 0 sites.
 */
static void emit_keys(struct skeys_emit *e, const struct skeys_input *in)
{
	const struct skeys_check *c = &in->check;
	const struct skeys_names *nm = c->names;
	size_t n_named = nm ? nm->n_keys : 0, n = c->n_keys, i = 0, j, n_cs;
	struct cell_sites *cs = cell_sites_collect(c, &n_cs);

	for (j = 0; j < n_named; j++)
		n += !has_sites(c, nm->keys[j].key.addr);
	skeys_emit_field_array(e, &F_KEYS, n);
	for (j = 0; j <= n_named; j++) {
		uint64_t next = j < n_named ? nm->keys[j].key.addr : UINT64_MAX;

		while (i < c->n_keys && c->keys[i].addr <= next)
			emit_key(e, in, &c->keys[i++], cs, n_cs);
		if (j < n_named && !has_sites(c, next))
			emit_key(e, in, &nm->keys[j].key, cs, n_cs);
	}
	skeys_emit_array_end(e);
	free(cs);
}

static void emit_site(struct skeys_emit *e, const struct skeys_input *in, size_t i)
{
	const struct skeys_check_site *s = &in->check.sites[i];
	const struct skeys_site site = skeys_check_site_at(&in->check, i);
	const char *error = skeys_check_site_error(&in->check, i);
	char buf[512];

	skeys_emit_elem_begin(e);
	skeys_emit_field_addr(e, &S_ADDRESS, site.code);
	skeys_check_func_name(in->img, site.code, buf, sizeof(buf));
	skeys_emit_field_str(e, &S_FUNCTION, buf);
	skeys_names_key_name(&in->check, site.key, buf, sizeof(buf));
	skeys_emit_field_str(e, &S_KEY, buf);
	skeys_emit_field_str(e, &S_BRANCH,
			     (site.flags & SKEYS_ENTRY_BRANCH) ? "likely" : "unlikely");
	skeys_emit_field_str(e, &S_INSN, insn_name(s->insn));
	skeys_emit_field_uint(e, &S_LENGTH, in->img->arch->site_len);
	skeys_emit_field_addr(e, &S_TARGET, site.target);
	skeys_check_func_name(in->img, site.target, buf, sizeof(buf));
	skeys_emit_field_str(e, &S_TARGET_FUNCTION, buf);
	skeys_emit_field_bool(e, &S_OK, !error);
	if (error)
		skeys_emit_field_str(e, &S_ERROR, error);
	skeys_emit_elem_end(e);
}

static void emit_all(struct skeys_emit *e, const struct skeys_input *in,
		     const struct skeys_calls *calls, const struct skeys_fentries_check *fe)
{
	emit_header(e, in, calls, fe);
	emit_keys(e, in);
	skeys_emit_field_array(e, &F_SITES, in->check.n);
	for (size_t i = 0; i < in->check.n; i++)
		emit_site(e, in, i);
	skeys_emit_array_end(e);
	/* Only files with static calls have the array: key-only output stays as it was. */
	if (calls && calls->present)
		skeys_calls_emit(e, calls);
	/* Only files with patchable functions have this one. */
	if (fe && fe->n)
		skeys_fentries_emit(e, fe);
}

static void dump_one(const struct skeys_input *in, bool json, const struct skeys_calls *calls,
		     const struct skeys_fentries_check *fe)
{
	struct skeys_emit e;

	/* Text aligns its columns to their widest cell: a pass to measure first. */
	skeys_emit_begin_form(&e, stdout, json ? SKEYS_EMIT_JSON : SKEYS_EMIT_TABLE);
	do
		emit_all(&e, in, calls, fe);
	while (skeys_emit_again(&e));
	skeys_emit_end(&e);
}

/*
 * A universal file: JSON is one object with the file, its format and
 * "slices", one object per slice as for a thin file; text shows each slice
 * in turn, named FILE[arch], a blank line between them.
 */
static void dump_slices(const struct skeys_input *in, bool json)
{
	size_t i;

	if (json) {
		fputs("{\n  \"file\": ", stdout);
		skeys_emit_json_string(stdout, in->path);
		fputs(",\n  \"format\": ", stdout);
		skeys_emit_json_string(stdout, in->img->format->name);
		fputs(",\n  \"slices\": [\n", stdout);
	}
	for (i = 0; i < in->n_slices; i++) {
		if (i)
			fputs(json ? ",\n" : "\n", stdout);
		dump_one(&in->slices[i], json, NULL, NULL);
	}
	if (json)
		fputs("  ]\n}\n", stdout);
}

static int dump(const char *path, bool json)
{
	char err[SKEYS_ERR_LEN];
	struct skeys_input in;
	struct skeys_calls calls;
	struct skeys_fentries_check fe;
	int rc = skeys_input_load(&in, path, 0);

	if (rc)
		return rc;
	if (skeys_calls_open(&calls, in.img, err, sizeof(err))) {
		skeys_cli_error(path, "%s", err);
		skeys_input_free(&in);
		return SKEYS_EXIT_INPUT;
	}
	if (skeys_fentries_open(&fe, in.img, err, sizeof(err))) {
		skeys_cli_error(path, "%s", err);
		skeys_calls_close(&calls);
		skeys_input_free(&in);
		return SKEYS_EXIT_INPUT;
	}
	if (in.n_slices)
		dump_slices(&in, json);
	else
		dump_one(&in, json, &calls, &fe);
	rc = skeys_input_ok(&in) && skeys_calls_ok(&calls) && skeys_fentries_ok(&fe)
		     ? SKEYS_EXIT_OK
		     : SKEYS_EXIT_VERIFY;
	skeys_fentries_close(&fe);
	skeys_calls_close(&calls);
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
