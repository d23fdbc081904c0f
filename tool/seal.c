/* SPDX-License-Identifier: MIT */
/*
 * skeys-seal: the post-link step. Verifies every site of a module against
 * its table entry and key, then sorts the table into the order the runtime
 * relies on, and records count, checksum and the sealed flag in the header.
 * The file keeps its size and layout; only table and header bytes change.
 */
#define _XOPEN_SOURCE 700 /* stat */
#include "cli.h"
#include "disasm.h"
#include "output.h"
#include "verify_calls.h"
#include "verify_entries.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void help(FILE *f)
{
	fputs("Usage: skeys-seal FILE [-o OUT]\n"
	      "       skeys-seal --check FILE\n"
	      "\n"
	      "Verify every static-key site of a linked executable or shared library,\n"
	      "then seal its table: sort it, record the entry count and checksum, and\n"
	      "mark it sealed. The runtime only patches sealed modules. Static calls\n"
	      "and functions compiled with -fpatchable-function-entry are verified\n"
	      "and sealed too (their nops rewritten into one 5-byte patch point).\n"
	      "\n"
	      "  -o, --output OUT  write the sealed file to OUT instead of FILE\n"
	      "  -c, --check       verify only; fail when FILE is not sealed. Writes nothing.\n"
	      "  -h, --help        this text\n"
	      "  -V, --version     print the version\n"
	      "\n"
	      "A bad site is reported as FILE: function+offset (address): error: ...\n",
	      f);
	fprintf(f,
		"At most %d sites of a key and %d in all are shown; the rest are counted\n"
		"(\"and 1,234 more bad sites of key k\"). skeys-dump FILE lists every site.\n",
		SKEYS_REPORT_PER_KEY, SKEYS_REPORT_SITES);
	fputs("A file that is already sealed and verifies is left untouched (with -o,\n"
	      "OUT receives a copy).\n"
	      "\n"
	      "Files:\n"
	      "  FILE must be a regular file (a FIFO or device is refused at once), not\n"
	      "  a debug-only file (objcopy --only-keep-debug: seal the stripped program).\n"
	      "  The file written (FILE, or OUT) is replaced whole: a temporary file in\n"
	      "  its directory is written, fsynced and renamed over it. A symbolic link\n"
	      "  is followed to the regular file it names, which is replaced; the link\n"
	      "  stays. A device, FIFO, directory or link to nothing is refused, and so\n"
	      "  is a file with several hard links (a rename would leave the other names\n"
	      "  with the old file: seal before linking). What is written gets FILE's\n"
	      "  owner, group, mode (setuid and setgid too) and extended attributes\n"
	      "  (file capabilities, ACLs); where one cannot be given (another user's\n"
	      "  file, sealed without root), nothing is written. Holes in FILE stay\n"
	      "  holes. Runs sealing one FILE at once take turns (flock): the later\n"
	      "  ones find it sealed.\n"
	      "\n",
	      f);
	skeys_cli_help_support(f);
	skeys_cli_help_exit_status(f);
}

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "skeys-seal: %s%s%s\nTry 'skeys-seal --help'.\n", msg,
		arg ? ": " : "", arg ? arg : "");
	return SKEYS_EXIT_USAGE;
}

struct opts {
	const char *file, *out;
	bool check;
};

/* Returns -1 to go on, or the exit status. */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0; /* our own messages, with the exit status the contract gives */
	while ((ch = getopt_long(argc, argv, ":o:chV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			o->out = optarg;
			break;
		case 'c':
			o->check = true;
			break;
		case 'h':
			help(stdout);
			return SKEYS_EXIT_OK;
		case 'V':
			puts("skeys-seal " SKEYS_VERSION);
			return SKEYS_EXIT_OK;
		case ':':
			return usage("option needs an argument", argv[optind - 1]);
		default:
			return usage("unknown option", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage(optind == argc ? "no FILE given" : "more than one FILE given", NULL);
	o->file = argv[optind];
	if (o->check && o->out)
		return usage("--check writes nothing: it takes no -o", NULL);
	if (o->out && !*o->out)
		return usage("empty output name", NULL);
	return -1;
}

/* True when `out` names the same file as `in` (so there is nothing to copy). */
static bool same_file(const char *in, const char *out)
{
	struct stat a, b;

	return stat(in, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

struct source {
	const char *path;
	const struct skeys_file *file;
};

/*
 * The input is read where it lies (mapped): what is committed must be what
 * was verified, so a file changed under the run refuses the output.
 */
static int unchanged(void *arg, char *err, size_t errlen)
{
	const struct source *src = arg;
	char why[SKEYS_ERR_LEN];

	if (!skeys_file_changed(src->file, why, sizeof(why)))
		return 0;
	snprintf(err, errlen, "input %s: %s; nothing written", src->path, why);
	return -1;
}

/*
 * An output that could not be written or committed. When the input changed
 * under the run, that is the reason to give (a write from its mapping
 * after it was cut short fails with EFAULT, which says nothing).
 */
static void output_error(const struct source *src, const char *dest, const char *err)
{
	char why[SKEYS_ERR_LEN];

	if (unchanged((void *)(uintptr_t)src, why, sizeof(why)))
		err = why;
	skeys_cli_error(dest, "%s", err);
}

/* `buf` holds the input's bytes, or its sealed copy. */
static int write_result(const struct opts *o, const struct skeys_input *in,
			const uint8_t *buf)
{
	char err[SKEYS_ERR_LEN];
	const char *dest = o->out ? o->out : o->file;
	struct source src = { o->file, &in->file };

	if (skeys_output_replace(dest, &in->file, buf, unchanged, &src, err, sizeof(err))) {
		output_error(&src, dest, err);
		return SKEYS_EXIT_INPUT;
	}
	return SKEYS_EXIT_OK;
}

/* skeys_input_units(), writable: sealing records its checksum in each check. */
static size_t units_of(struct skeys_input *in, struct skeys_input **u)
{
	*u = in->n_slices ? in->slices : in;
	return in->n_slices ? in->n_slices : 1;
}

/* Entries sealed, proven and written at a time: a buffer that stays in cache. */
#define STREAM_ENTRIES 16384
#define STREAM_BYTES ((size_t)STREAM_ENTRIES * 12u) /* entries of 12 bytes (skeys/abi.h) */
_Static_assert(sizeof(struct skeys_entry) == 12, "an entry is 12 bytes");

/* A failed sealing or proof step. */
static int seal_error(const char *path, int r, const char *err)
{
	if (r == -ENOMEM) {
		skeys_cli_error(path, "%s", err);
		return SKEYS_EXIT_INPUT;
	}
	if (r == -ERANGE)
		skeys_cli_error(path, "%s", err);
	else
		skeys_cli_error(path, "internal error: the sealed copy does not verify: %s", err);
	return SKEYS_EXIT_VERIFY;
}

/*
 * Where the sealed table goes: to the output as it is sealed, piece by
 * piece through a small buffer (`w` set), or into the copy `out`, which is
 * written whole once the format has updated its own fields.
 */
struct sink {
	struct skeys_output *w;
	uint8_t *buf;
	uint8_t *out;
};

/*
 * Seal one unit (an image, or a slice of a universal file, whose offsets
 * count from its own start in `out`): its table a piece at a time, each
 * piece sealed, proven and checksummed; then its header, proven.
 */
static int seal_unit(struct skeys_input *u, const struct sink *sk, char *err, size_t errlen)
{
	struct skeys_check *c = &u->check;
	uint8_t *out = sk->out + u->img->slice_offset;
	struct skeys_check_stream st;
	size_t done, k;
	int r = skeys_check_stream_begin(c, &st, err, errlen);

	for (done = 0; !r && done < c->n; done += k) {
		uint64_t at = c->table_off + done * sizeof(struct skeys_entry);

		k = c->n - done < STREAM_ENTRIES ? c->n - done : STREAM_ENTRIES;
		r = skeys_check_stream_table(c, &st, sk->w ? sk->buf : out + at, k, err, errlen);
		if (!r && sk->w && skeys_output_write(sk->w, at, sk->buf,
						      k * sizeof(struct skeys_entry), err, errlen))
			r = 1; /* a write error, not the seal's */
		if (!r && sk->w)
			skeys_output_flush_start(sk->w);
	}
	if (!r)
		r = skeys_check_stream_header(c, &st, out, err, errlen);
	skeys_check_stream_end(&st);
	return r;
}

/*
 * Seal into the copy of the file, prove every step, then write. A single
 * image with nothing to update over the whole file (ELF) is streamed: the
 * output gets the input's bytes but for the table, and their way to disk is
 * started; then the table, piece by piece, while the disk works; the header
 * last. Otherwise (a format's own fields, as a file checksum or code
 * signature hashes, need every byte) the sealed copy is written whole.
 * Nothing is committed before all of it is proven.
 */
static int seal(const struct opts *o, struct skeys_input *in, const struct skeys_calls *calls,
		const struct skeys_fentries_check *fentries)
{
	char err[SKEYS_ERR_LEN];
	const char *dest = o->out ? o->out : o->file;
	const struct skeys_image *img = in->img;
	const struct skeys_format *fmt = img->format;
	struct source src = { o->file, &in->file };
	struct skeys_output w;
	struct sink sk = { NULL, NULL, NULL };
	struct skeys_input *u;
	size_t i, n = units_of(in, &u);
	/*
	 * A call table, and function entries' pads, are sealed into the copy,
	 * which is then written whole (the entries' part is in the header).
	 */
	bool streamed = !fmt->seal_finish && !in->n_slices && !calls->present &&
			!skeys_fentries_pads(fentries);
	int r, rc = SKEYS_EXIT_OK;

	if (fmt->seal_prepare && fmt->seal_prepare(img, err, sizeof(err))) {
		skeys_cli_error(o->file, "%s", err);
		return SKEYS_EXIT_INPUT;
	}
	if ((streamed && !(sk.buf = malloc(STREAM_BYTES))) ||
	    skeys_file_copy(&in->file, &sk.out, err, sizeof(err))) {
		if (streamed && !sk.buf)
			snprintf(err, sizeof(err), "out of memory");
		skeys_cli_error(o->file, "%s", err);
		rc = SKEYS_EXIT_INPUT;
		goto out;
	}
	if (streamed) {
		uint64_t t0 = in->check.table_off;
		uint64_t t1 = t0 + in->check.n * sizeof(struct skeys_entry);

		if (skeys_output_begin(&w, dest, err, sizeof(err))) {
			skeys_cli_error(dest, "%s", err);
			rc = SKEYS_EXIT_INPUT;
			goto out;
		}
		sk.w = &w;
		if (skeys_output_copy(&w, &in->file, 0, t0, err, sizeof(err)) ||
		    skeys_output_copy(&w, &in->file, t1, img->len - t1, err, sizeof(err)))
			goto write_failed;
		skeys_output_flush_start(&w);
	}
	for (i = 0; i < n; i++) {
		r = seal_unit(&u[i], &sk, err, sizeof(err));
		if (r > 0)
			goto write_failed;
		if (r) {
			rc = seal_error(u[i].path, r, err);
			goto failed;
		}
	}
	if (skeys_calls_seal(calls, sk.out, err, sizeof(err)) ||
	    skeys_fentries_seal(fentries, sk.out, err, sizeof(err))) {
		skeys_cli_error(o->file, "%s", err);
		rc = SKEYS_EXIT_INPUT;
		goto failed;
	}
	if (fmt->seal_finish) {
		fmt->seal_finish(img, sk.out);
		for (i = 0; i < n; i++) {
			r = skeys_check_sealed_header(&u[i].check, sk.out + u[i].img->slice_offset,
						      err, sizeof(err));
			if (r) {
				rc = seal_error(u[i].path, r, err);
				goto failed;
			}
		}
	}
	if (!streamed) {
		rc = write_result(o, in, sk.out);
		goto out;
	}
	if (skeys_output_write(&w, in->check.hdr_off, sk.out + in->check.hdr_off,
			       in->img->header.size, err, sizeof(err)))
		goto write_failed;
	if (skeys_output_commit(&w, &in->file, unchanged, &src, err, sizeof(err))) {
		output_error(&src, dest, err);
		rc = SKEYS_EXIT_INPUT;
	}
	goto out;
write_failed:
	output_error(&src, dest, err);
	rc = SKEYS_EXIT_INPUT;
failed:
	if (sk.w)
		skeys_output_abort(&w);
out:
	skeys_file_copy_free(&in->file, sk.out);
	free(sk.buf);
	return rc;
}

static int run(const struct opts *o)
{
	char err[SKEYS_ERR_LEN];
	struct skeys_input in;
	struct skeys_calls calls;
	struct skeys_fentries_check fentries;
	const struct skeys_input *u;
	/* Runs sealing one file take turns: the later one sees it sealed. */
	int rc = skeys_input_load(&in, o->file, o->check ? 0 : SKEYS_FILE_LOCK);
	size_t i, n;

	if (rc)
		return rc;
	if (skeys_calls_open(&calls, in.img, err, sizeof(err))) {
		skeys_cli_error(o->file, "%s", err);
		skeys_input_free(&in);
		return SKEYS_EXIT_INPUT;
	}
	if (skeys_fentries_open(&fentries, in.img, err, sizeof(err))) {
		skeys_cli_error(o->file, "%s", err);
		skeys_calls_close(&calls);
		skeys_input_free(&in);
		return SKEYS_EXIT_INPUT;
	}
	skeys_input_report(&in);
	skeys_calls_report(&calls, o->file);
	skeys_fentries_report(&fentries, o->file);
	n = skeys_input_units(&in, &u);
	for (i = 0; i < n; i++) {
		const struct skeys_check *c = &u[i].check;

		if (c->n_bad)
			skeys_cli_error(u[i].path, "%zu of %zu sites failed verification",
					c->n_bad, c->n);
		if (o->check && c->usable && !c->sealed)
			skeys_cli_error(u[i].path, "not sealed (run skeys-seal on it after linking)");
	}
	if (calls.n_bad)
		skeys_cli_error(o->file, "%zu of %zu static calls failed verification", calls.n_bad,
				calls.n);
	if (o->check && calls.present && !calls.sealed)
		skeys_cli_error(o->file, "call table not sealed (run skeys-seal on it after linking)");
	if (fentries.n_bad)
		skeys_cli_error(o->file, "%zu of %zu function entries failed verification",
				fentries.n_bad, fentries.n);
	if (o->check && !skeys_fentries_sealed(&fentries) && !fentries.sealed)
		skeys_cli_error(o->file, "function entries not sealed (run skeys-seal on it after "
					 "linking)");
	if (!skeys_input_ok(&in) || !skeys_calls_ok(&calls) || !skeys_fentries_ok(&fentries)) {
		if (!o->check)
			skeys_cli_error(o->file, "verification failed: nothing written");
		rc = SKEYS_EXIT_VERIFY;
	} else if (o->check) {
		rc = skeys_input_sealed(&in) && skeys_calls_sealed(&calls) &&
				     skeys_fentries_sealed(&fentries)
			     ? SKEYS_EXIT_OK
			     : SKEYS_EXIT_VERIFY;
	} else if (skeys_input_sealed(&in) && skeys_calls_sealed(&calls) &&
		   skeys_fentries_sealed(&fentries)) {
		/* Already sealed and intact: leave the file alone, keep its mtime. */
		if (o->out && !same_file(o->file, o->out))
			rc = write_result(o, &in, in.img->buf);
	} else {
		rc = seal(o, &in, &calls, &fentries);
	}
	skeys_fentries_close(&fentries);
	skeys_calls_close(&calls);
	skeys_input_free(&in);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int rc = parse(argc, argv, &o);

	if (rc < 0)
		rc = run(&o);
	skeys_disasm_cleanup();
	if (fflush(stdout) && rc == SKEYS_EXIT_OK)
		rc = SKEYS_EXIT_INPUT;
	return rc;
}
