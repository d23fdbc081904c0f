/* SPDX-License-Identifier: MIT */
/* Replacing a file whole, so that a reader never sees half a binary. */
#ifndef SKEYS_TOOL_OUTPUT_H
#define SKEYS_TOOL_OUTPUT_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* SIGINT, SIGTERM, SIGHUP, and SIGBUS (an input mapping cut short) remove the temporary. */
#define SKEYS_OUTPUT_SIGNALS 4

/* A file being replaced: a temporary beside it, renamed over it on commit. */
struct skeys_output {
	char target[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 32];
	struct sigaction old_sa[SKEYS_OUTPUT_SIGNALS];
	int fd;
};

/*
 * Create the temporary beside `path` (a symbolic link is followed, not
 * replaced). Until commit or abort, those signals remove it.
 * 0, or -1 with a message in err.
 */
int skeys_output_begin(struct skeys_output *o, const char *path, char *err, size_t errlen);
/* Write `len` bytes at offset `off` of the temporary. 0, or -1 with a message. */
int skeys_output_write(struct skeys_output *o, uint64_t off, const uint8_t *buf, size_t len,
		       char *err, size_t errlen);
/*
 * Have the system start writing what the temporary holds to disk now, so
 * that the fsync of commit has less left to wait for while the caller
 * computes the rest (Linux; elsewhere nothing). Changes nothing else.
 */
void skeys_output_flush_start(struct skeys_output *o);
/*
 * Give the temporary `mode`, fsync it and, when `commit_ok` is set and says
 * go on (0; -1 gives up with its message in err), rename it over the target
 * and sync the directory. On failure the target is untouched and the
 * temporary removed. 0, or -1 with a message in err.
 */
int skeys_output_commit(struct skeys_output *o, mode_t mode,
			int (*commit_ok)(void *arg, char *err, size_t errlen), void *arg,
			char *err, size_t errlen);
/* Remove the temporary; the target stays as it was. */
void skeys_output_abort(struct skeys_output *o);

/* begin, write `buf` whole, commit. */
int skeys_output_replace(const char *path, const uint8_t *buf, size_t len, mode_t mode,
			 int (*commit_ok)(void *arg, char *err, size_t errlen), void *arg,
			 char *err, size_t errlen);

#endif
