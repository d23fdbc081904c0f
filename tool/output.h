/* SPDX-License-Identifier: MIT */
/* Replacing a file whole, so that a reader never sees half a binary. */
#ifndef SKEYS_TOOL_OUTPUT_H
#define SKEYS_TOOL_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Write `buf` to a temporary file beside `path`, give it `mode`, fsync it,
 * and rename it over `path` (a symbolic link is followed, not replaced).
 * When `commit_ok` is set it is asked, once the bytes are written and
 * before the rename, whether to go on (0) or give up (-1, its message in
 * err). On failure `path` is untouched and no temporary is left behind.
 * Returns 0, or -1 with a message in err.
 */
int skeys_output_replace(const char *path, const uint8_t *buf, size_t len, mode_t mode,
			 int (*commit_ok)(void *arg, char *err, size_t errlen), void *arg,
			 char *err, size_t errlen);

#endif
