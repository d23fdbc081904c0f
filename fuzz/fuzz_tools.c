/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the two commands as built: skeys-dump (text and
 * JSON) and skeys-seal --check run their own main() on the input, passed as
 * a file (a memfd). This reaches what the other targets do not: the
 * printing of names and messages taken from a hostile file, and the
 * commands' exit-status contract, which is checked here: 0, 1 or 2, and
 * 0 only for a file that verifies.
 */
#define _GNU_SOURCE /* memfd_create */
#include "check.h"
#include "format.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int skeys_dump_main(int argc, char **argv);
int skeys_seal_main(int argc, char **argv);

#define REQUIRE(c)                                                             \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("skeys-fuzz-input", MFD_CLOEXEC);
	REQUIRE(fd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* The reports go nowhere; run with -close_fd_mask=2 to silence stderr too. */
	REQUIRE(freopen("/dev/null", "w", stdout) != NULL);
	return 0;
}

static int run(int (*fn)(int, char **), const char *a0, const char *opt)
{
	char *argv[4];
	int argc = 0;

	argv[argc++] = (char *)a0;
	if (opt)
		argv[argc++] = (char *)opt;
	argv[argc++] = path;
	argv[argc] = NULL;
	optind = 0; /* glibc: start getopt afresh */
	return fn(argc, argv);
}

/* 2 when the image cannot be checked, else 0 when it verifies, else 1. */
static int expected_one(struct skeys_image *img)
{
	char err[SKEYS_ERR_LEN];
	struct skeys_check c;
	int rc;

	if (skeys_check_open(&c, img, err, sizeof(err)))
		return 2;
	rc = skeys_check_ok(&c) ? 0 : 1;
	skeys_check_close(&c);
	return rc;
}

/*
 * What the library says of the same bytes, to hold the commands to it. A
 * universal file is its slices: 2 when one cannot be checked, else 1 when
 * one fails verification.
 */
static int expected(const uint8_t *data, size_t size)
{
	char err[SKEYS_ERR_LEN];
	struct skeys_image *img;
	int rc = 0;

	if (skeys_image_open_mem(&img, data, size, err, sizeof(err)))
		return 2;
	if (!img->n_slices)
		rc = expected_one(img);
	for (size_t i = 0; i < img->n_slices && rc < 2; i++) {
		int r = expected_one(img->slices[i]);

		rc = r > rc ? r : rc;
	}
	skeys_image_close(img);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int want, rc;

	REQUIRE(ftruncate(fd, 0) == 0);
	REQUIRE(pwrite(fd, data, size, 0) == (ssize_t)size);
	want = expected(data, size);
	rc = run(skeys_dump_main, "skeys-dump", NULL);
	REQUIRE(rc == want);
	rc = run(skeys_dump_main, "skeys-dump", "--json");
	REQUIRE(rc == want);
	rc = run(skeys_seal_main, "skeys-seal", "--check");
	/* --check also fails (1) on a file that verifies but is not sealed. */
	REQUIRE(rc == want || (want == 0 && rc == 1));
	return 0;
}
