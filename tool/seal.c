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
	      "mark it sealed. The runtime only patches sealed modules.\n"
	      "\n"
	      "  -o, --output OUT  write the sealed file to OUT instead of FILE\n"
	      "  -c, --check       verify only; fail when FILE is not sealed. Writes nothing.\n"
	      "  -h, --help        this text\n"
	      "  -V, --version     print the version\n"
	      "\n"
	      "Every bad site is reported as FILE: function+offset (address): error: ...\n"
	      "A file that is already sealed and verifies is left untouched (with -o,\n"
	      "OUT receives a copy). The file is replaced whole through a temporary\n"
	      "file and rename; its mode is kept.\n"
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
	const struct skeys_image *img;
};

/*
 * The input is read where it lies (mapped): what is committed must be what
 * was verified, so a file changed under the run refuses the output.
 */
static int unchanged(void *arg, char *err, size_t errlen)
{
	const struct source *src = arg;
	char why[SKEYS_ERR_LEN];

	if (!skeys_image_changed(src->img, why, sizeof(why)))
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

/* The mode the output gets: the input's. */
static int input_mode(const struct opts *o, mode_t *mode)
{
	struct stat st;

	if (stat(o->file, &st)) {
		skeys_cli_error(o->file, "cannot stat: %s", strerror(errno));
		return SKEYS_EXIT_INPUT;
	}
	*mode = st.st_mode;
	return SKEYS_EXIT_OK;
}

/* `buf` holds img->len bytes: the input's, or its sealed copy. */
static int write_result(const struct opts *o, const struct skeys_image *img,
			const uint8_t *buf)
{
	char err[SKEYS_ERR_LEN];
	const char *dest = o->out ? o->out : o->file;
	struct source src = { o->file, img };
	mode_t mode;
	int rc = input_mode(o, &mode);

	if (rc)
		return rc;
	if (skeys_output_replace(dest, buf, img->len, mode, unchanged, &src, err, sizeof(err))) {
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

/*
 * Finish the sealed copy, whose tables are written: headers (checksum,
 * count, flag), the format's own fields, then the proof of every unit.
 * Only the table and header bytes change, so the proof re-reads those
 * (count, checksum, order, and the entries being the verified ones, moved)
 * rather than verifying every site a second time.
 */
static int finish_and_prove(struct skeys_input *in, uint8_t *out)
{
	char err[SKEYS_ERR_LEN];
	const struct skeys_format *fmt = in->img->format;
	struct skeys_input *u;
	size_t i, n = units_of(in, &u);
	int r, rc = SKEYS_EXIT_OK;

	for (i = 0; i < n; i++)
		skeys_check_seal_header(&u[i].check, out + u[i].img->slice_offset);
	if (fmt->seal_finish)
		fmt->seal_finish(in->img, out);
	for (i = 0; i < n && rc == SKEYS_EXIT_OK; i++) {
		r = skeys_check_sealed(&u[i].check, out + u[i].img->slice_offset, err,
				       sizeof(err));
		if (r == -ENOMEM) {
			skeys_cli_error(u[i].path, "%s", err);
			rc = SKEYS_EXIT_INPUT;
		} else if (r) {
			skeys_cli_error(u[i].path,
					"internal error: the sealed copy does not verify: %s", err);
			rc = SKEYS_EXIT_VERIFY;
		}
	}
	return rc;
}

/* Entries sealed, proven and written at a time: a buffer that stays in cache. */
#define STREAM_ENTRIES 16384
#define STREAM_BYTES ((size_t)STREAM_ENTRIES * 12u) /* entries of 12 bytes (skeys/abi.h) */
_Static_assert(sizeof(struct skeys_entry) == 12, "an entry is 12 bytes");

/* A failed sealing or proof step, reported as finish_and_prove() does. */
static int stream_error(const struct skeys_input *in, int r, const char *err)
{
	if (r == -ENOMEM) {
		skeys_cli_error(in->path, "%s", err);
		return SKEYS_EXIT_INPUT;
	}
	if (r == -ERANGE)
		skeys_cli_error(in->path, "%s", err);
	else
		skeys_cli_error(in->path, "internal error: the sealed copy does not verify: %s",
				err);
	return SKEYS_EXIT_VERIFY;
}

/*
 * For a single image with nothing to update over the whole file (ELF), no
 * copy of the file or of its table is made: the output gets the input's
 * bytes but for the table, and their way to disk is started; then the
 * table, piece by piece, each sealed, proven and checksummed in a small
 * buffer while the disk works; the header last. Nothing is committed
 * before all of it is proven.
 */
static int seal_streamed(const struct opts *o, struct skeys_input *in)
{
	char err[SKEYS_ERR_LEN];
	const char *dest = o->out ? o->out : o->file;
	const struct skeys_image *img = in->img;
	struct skeys_check *c = &in->check;
	uint64_t t0 = c->table_off, t1 = t0 + c->n * sizeof(struct skeys_entry);
	struct source src = { o->file, img };
	struct skeys_check_stream st;
	struct skeys_output w;
	uint8_t *buf = NULL, *out = NULL;
	size_t done, k;
	mode_t mode;
	int r, rc = input_mode(o, &mode);

	if (rc)
		return rc;
	r = skeys_check_stream_begin(c, &st, err, sizeof(err));
	if (r)
		return stream_error(in, r, err);
	buf = malloc(STREAM_BYTES);
	if (!buf || skeys_image_copy(img, &out, err, sizeof(err))) {
		if (!buf)
			snprintf(err, sizeof(err), "out of memory");
		skeys_cli_error(o->file, "%s", err);
		rc = SKEYS_EXIT_INPUT;
		goto out;
	}
	if (skeys_output_begin(&w, dest, err, sizeof(err))) {
		skeys_cli_error(dest, "%s", err);
		rc = SKEYS_EXIT_INPUT;
		goto out;
	}
	if (skeys_output_write(&w, 0, img->buf, t0, err, sizeof(err)) ||
	    skeys_output_write(&w, t1, img->buf + t1, img->len - t1, err, sizeof(err)))
		goto write_failed;
	skeys_output_flush_start(&w);
	for (done = 0; done < c->n; done += k) {
		k = c->n - done < STREAM_ENTRIES ? c->n - done : STREAM_ENTRIES;
		r = skeys_check_stream_table(c, &st, buf, k, err, sizeof(err));
		if (r)
			goto failed;
		if (skeys_output_write(&w, t0 + done * sizeof(struct skeys_entry), buf,
				       k * sizeof(struct skeys_entry), err, sizeof(err)))
			goto write_failed;
		skeys_output_flush_start(&w);
	}
	r = skeys_check_stream_header(c, &st, out, err, sizeof(err));
	if (r)
		goto failed;
	if (skeys_output_write(&w, c->hdr_off, out + c->hdr_off, c->img->header.size,
			       err, sizeof(err)))
		goto write_failed;
	if (skeys_output_commit(&w, mode, unchanged, &src, err, sizeof(err))) {
		output_error(&src, dest, err);
		rc = SKEYS_EXIT_INPUT;
	}
	goto out;
failed:
	rc = stream_error(in, r, err);
	skeys_output_abort(&w);
	goto out;
write_failed:
	output_error(&src, dest, err);
	skeys_output_abort(&w);
	rc = SKEYS_EXIT_INPUT;
out:
	skeys_check_stream_end(&st);
	skeys_image_copy_free(img, out);
	free(buf);
	return rc;
}

/* Seal into a copy, prove the copy, then write it (streamed where it can be). */
static int seal(const struct opts *o, struct skeys_input *in)
{
	char err[SKEYS_ERR_LEN];
	const struct skeys_format *fmt = in->img->format;
	struct skeys_input *u;
	size_t i, n = units_of(in, &u);
	uint8_t *out;
	int r, rc;

	if (fmt->seal_prepare && fmt->seal_prepare(in->img, err, sizeof(err))) {
		skeys_cli_error(o->file, "%s", err);
		return SKEYS_EXIT_INPUT;
	}
	if (!fmt->seal_finish && !in->n_slices)
		return seal_streamed(o, in);
	if (skeys_image_copy(in->img, &out, err, sizeof(err))) {
		skeys_cli_error(o->file, "%s", err);
		return SKEYS_EXIT_INPUT;
	}
	for (i = 0; i < n; i++) {
		/* A slice's offsets count from its own start in the file. */
		r = skeys_check_seal_table(&u[i].check, out + u[i].img->slice_offset, err,
					   sizeof(err));
		if (r) {
			skeys_cli_error(u[i].path, "%s", err);
			skeys_image_copy_free(in->img, out);
			return r == -ENOMEM ? SKEYS_EXIT_INPUT : SKEYS_EXIT_VERIFY;
		}
	}
	/* The format's fields (a file checksum, code signature hashes) need it all. */
	rc = finish_and_prove(in, out);
	if (rc == SKEYS_EXIT_OK)
		rc = write_result(o, in->img, out);
	skeys_image_copy_free(in->img, out);
	return rc;
}

static int run(const struct opts *o)
{
	struct skeys_input in;
	const struct skeys_input *u;
	int rc = skeys_input_load(&in, o->file);
	size_t i, n;

	if (rc)
		return rc;
	skeys_input_report(&in);
	n = skeys_input_units(&in, &u);
	for (i = 0; i < n; i++) {
		const struct skeys_check *c = &u[i].check;

		if (c->n_bad)
			skeys_cli_error(u[i].path, "%zu of %zu sites failed verification",
					c->n_bad, c->n);
		if (o->check && c->usable && !c->sealed)
			skeys_cli_error(u[i].path, "not sealed (run skeys-seal on it after linking)");
	}
	if (!skeys_input_ok(&in)) {
		if (!o->check)
			skeys_cli_error(o->file, "verification failed: nothing written");
		rc = SKEYS_EXIT_VERIFY;
	} else if (o->check) {
		rc = skeys_input_sealed(&in) ? SKEYS_EXIT_OK : SKEYS_EXIT_VERIFY;
	} else if (skeys_input_sealed(&in)) {
		/* Already sealed and intact: leave the file alone, keep its mtime. */
		if (o->out && !same_file(o->file, o->out))
			rc = write_result(o, in.img, in.img->buf);
	} else {
		rc = seal(o, &in);
	}
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
