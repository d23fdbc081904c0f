/* SPDX-License-Identifier: MIT */
/*
 * The tools' input file: opened, mapped (read where it lies) and watched
 * for changes. The readers in formats/ only ever see its bytes in memory.
 */
#ifndef SKEYS_TOOL_FILE_H
#define SKEYS_TOOL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* What tells whether a file changed since it was opened. */
struct skeys_file_stamp {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

/*
 * An open input. `buf` holds its `len` bytes, read-only: the file mapped,
 * or (an empty file, or one that cannot be mapped) read into `owned`. The
 * descriptor stays open until skeys_file_close(), so that a copy can be
 * mapped copy-on-write and a change seen. All zeros: nothing open (buf
 * is never NULL for an open file).
 */
struct skeys_file {
	const uint8_t *buf;
	size_t len;
	int fd;
	void *map;
	uint8_t *owned;
	struct stat st; /* the file's status when opened: owner, group, mode, links */
	struct skeys_file_stamp stamp;
};

/*
 * For skeys-seal: take an exclusive advisory lock (flock) on the file and
 * hold it until skeys_file_close(), so that runs on one file take turns;
 * when the run before replaced the file, the new one is opened.
 */
#define SKEYS_FILE_LOCK 1u

/*
 * Open the regular file at `path` and map it (or read it). Anything else
 * (a FIFO, a device, a directory) is refused without waiting on it. 0, or
 * -1 with a message (not naming the file; callers add it) in err; on
 * failure nothing stays open.
 */
int skeys_file_open(struct skeys_file *f, const char *path, unsigned flags, char *err,
		    size_t errlen);
void skeys_file_close(struct skeys_file *f);

/*
 * A private, writable copy of the file's bytes in *out (len bytes). For a
 * mapped file it is a copy-on-write mapping of the same file: only the pages
 * written to are copied. Free it with skeys_file_copy_free(). 0, or -1 with
 * a message in err.
 */
int skeys_file_copy(const struct skeys_file *f, uint8_t **out, char *err, size_t errlen);
void skeys_file_copy_free(const struct skeys_file *f, uint8_t *out);

/*
 * 0 when the file still has the size, times and identity it had when
 * opened, -1 with a message in err when it changed (or cannot be checked).
 * Its bytes are read where they lie, so a writer checks this after copying
 * them out, before it commits them. 0 when nothing is open.
 */
int skeys_file_changed(const struct skeys_file *f, char *err, size_t errlen);

/* What a file of that mode is, for messages: "a FIFO", "a directory"... */
const char *skeys_file_kind(mode_t mode);

/* Read all of `path` into a new buffer. 0, or -1 with a message in err. */
int skeys_file_read(const char *path, uint8_t **buf, size_t *len, char *err,
		    size_t errlen);

#endif
