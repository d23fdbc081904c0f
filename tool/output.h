/* SPDX-License-Identifier: MIT */
/*
 * Replacing a file whole, so that a reader never sees half a binary.
 *
 * What is written, and how (the contract skeys-seal --help states):
 * - The target is the named file or, through symbolic links, the regular
 *   file they lead to; the links stay. It is replaced by rename from a
 *   temporary in its own directory.
 * - An existing target that is not a regular file (a device, a FIFO, a
 *   directory, a link leading nowhere) is refused and left as it is; so is
 *   one with several hard links, whose other names a rename would leave
 *   holding the old file.
 * - The result gets the input's owner, group, mode (setuid and setgid
 *   included) and extended attributes (file capabilities, ACLs, user
 *   attributes); where one cannot be given, nothing is written.
 * - Holes in the input stay holes.
 */
#ifndef SKEYS_TOOL_OUTPUT_H
#define SKEYS_TOOL_OUTPUT_H

#include "file.h"

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
	uint64_t size; /* the temporary's length */
};

/*
 * Check the target `path` names (above) and create the temporary beside
 * it. Until commit or abort, those signals remove it. 0, or -1 with a
 * message in err.
 */
int skeys_output_begin(struct skeys_output *o, const char *path, char *err, size_t errlen);
/* Write `len` bytes at offset `off` of the temporary. 0, or -1 with a message. */
int skeys_output_write(struct skeys_output *o, uint64_t off, const uint8_t *buf, size_t len,
		       char *err, size_t errlen);
/*
 * Copy bytes [off, off + len) of the input `src` to the same place in the
 * temporary, leaving its holes holes. 0, or -1 with a message.
 */
int skeys_output_copy(struct skeys_output *o, const struct skeys_file *src, uint64_t off,
		      uint64_t len, char *err, size_t errlen);
/*
 * Have the system start writing what the temporary holds to disk now, so
 * that the fsync of commit has less left to wait for while the caller
 * computes the rest (Linux; elsewhere nothing). Changes nothing else.
 */
void skeys_output_flush_start(struct skeys_output *o);
/*
 * Give the temporary the owner, group, mode and extended attributes of
 * `like`, fsync it and, when `commit_ok` is set and says go on (0; -1 gives
 * up with its message in err), rename it over the target (checked again)
 * and sync the directory. On failure the target is untouched and the
 * temporary removed. 0, or -1 with a message in err.
 */
int skeys_output_commit(struct skeys_output *o, const struct skeys_file *like,
			int (*commit_ok)(void *arg, char *err, size_t errlen), void *arg,
			char *err, size_t errlen);
/* Remove the temporary; the target stays as it was. */
void skeys_output_abort(struct skeys_output *o);

/*
 * begin; `src` copied (holes kept), then the pages where `buf` (src->len
 * bytes: src's own, or a changed copy) differs from it written; commit
 * with src's owner, group, mode and attributes.
 */
int skeys_output_replace(const char *path, const struct skeys_file *src, const uint8_t *buf,
			 int (*commit_ok)(void *arg, char *err, size_t errlen), void *arg,
			 char *err, size_t errlen);

#endif
