/* SPDX-License-Identifier: MIT */
#define _DEFAULT_SOURCE /* flock, and open, fstat, read, mmap, st_mtim */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char *skeys_file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a special file";
}

static int not_regular(mode_t mode, char *err, size_t errlen)
{
	snprintf(err, errlen, "not a regular file: %s", skeys_file_kind(mode));
	return -1;
}

/*
 * A descriptor of the regular file at `path` and its status, or -1 with a
 * message. What is not a regular file is refused before it is opened where
 * stat can tell (opening a FIFO waits for a writer; opening a device can
 * act on it), and opened without waiting where it cannot (a name swapped
 * in between): O_NONBLOCK, then fstat.
 */
static int file_open(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd, fl;

	if (stat(path, st) == 0 && !S_ISREG(st->st_mode))
		return not_regular(st->st_mode, err, errlen);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, st)) {
		snprintf(err, errlen, "cannot stat: %s", strerror(errno));
	} else if (!S_ISREG(st->st_mode)) {
		not_regular(st->st_mode, err, errlen);
	} else if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK)) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* The `size` bytes of fd into a new buffer (one byte more, so never empty). */
static int fd_read_all(int fd, size_t size, uint8_t **buf, char *err, size_t errlen)
{
	uint8_t *b = malloc(size + 1);
	size_t n = 0;

	if (!b) {
		snprintf(err, errlen, "out of memory reading %zu bytes", size);
		return -1;
	}
	while (n < size) {
		ssize_t r = read(fd, b + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "read error: %s", strerror(errno));
			free(b);
			return -1;
		}
		if (r == 0) {
			snprintf(err, errlen, "file shrank while being read");
			free(b);
			return -1;
		}
		n += (size_t)r;
	}
	*buf = b;
	return 0;
}

int skeys_file_read(const char *path, uint8_t **buf, size_t *len, char *err,
		    size_t errlen)
{
	struct stat st;
	int fd = file_open(path, &st, err, errlen), r;

	if (fd < 0)
		return -1;
	r = fd_read_all(fd, (size_t)st.st_size, buf, err, errlen);
	close(fd);
	if (!r)
		*len = (size_t)st.st_size;
	return r;
}

static void stamp_of(const struct stat *st, struct skeys_file_stamp *t)
{
	t->dev = (uint64_t)st->st_dev;
	t->ino = (uint64_t)st->st_ino;
	t->size = (uint64_t)st->st_size;
	t->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	t->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
	t->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	t->ctime_nsec = (int64_t)st->st_ctim.tv_nsec;
}

/*
 * Wait for the exclusive advisory lock on the file at `path`, open in *fd
 * with status *st. A run that held it may have replaced the file by rename
 * meanwhile: the descriptor then holds the old file, so the name is opened
 * again (and *st is the status once locked). A filesystem without flock is
 * not locked: the change check still stands. 0, or -1 with a message.
 */
static int file_lock(const char *path, int *fd, struct stat *st, char *err, size_t errlen)
{
	struct stat now;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		int r;

		while ((r = flock(*fd, LOCK_EX)) && errno == EINTR)
			;
		if (r)
			return 0;
		if (stat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino) {
			if (fstat(*fd, st) == 0)
				return 0;
			snprintf(err, errlen, "cannot stat: %s", strerror(errno));
			return -1;
		}
		close(*fd);
		*fd = file_open(path, st, err, errlen);
		if (*fd < 0)
			return -1;
	}
	snprintf(err, errlen, "replaced over and over while waiting for its lock");
	return -1;
}

/*
 * The file is mapped, not read: a copy would cost a second buffer of the
 * file's size and a fault per page of it; a read-only mapping shares the
 * page cache, and the tools read most of a file at most once. An empty
 * file, or one whose filesystem cannot map it, is read into a buffer.
 */
int skeys_file_open(struct skeys_file *f, const char *path, unsigned flags, char *err,
		    size_t errlen)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->fd = file_open(path, &st, err, errlen);
	if (f->fd < 0)
		return -1;
	if ((flags & SKEYS_FILE_LOCK) && file_lock(path, &f->fd, &st, err, errlen)) {
		if (f->fd < 0)
			return -1;
		goto fail;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		snprintf(err, errlen, "too large (%lld bytes)", (long long)st.st_size);
		goto fail;
	}
	f->st = st;
	stamp_of(&st, &f->stamp);
	f->len = (size_t)st.st_size;
	if (f->len)
		f->map = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, f->fd, 0);
	if (f->map == MAP_FAILED || !f->len) {
		f->map = NULL;
		if (fd_read_all(f->fd, f->len, &f->owned, err, errlen))
			goto fail;
	}
	f->buf = f->map ? f->map : f->owned;
	return 0;
fail:
	close(f->fd);
	memset(f, 0, sizeof(*f));
	return -1;
}

void skeys_file_close(struct skeys_file *f)
{
	if (!f->buf)
		return;
	if (f->map)
		munmap(f->map, f->len);
	free(f->owned);
	close(f->fd);
	memset(f, 0, sizeof(*f));
}

int skeys_file_copy(const struct skeys_file *f, uint8_t **out, char *err, size_t errlen)
{
	void *p;

	if (f->map) {
		/* Copy-on-write: the pages sealing leaves alone stay the page cache's. */
		p = mmap(NULL, f->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, f->fd, 0);
		if (p == MAP_FAILED) {
			snprintf(err, errlen, "cannot map a copy of %zu bytes: %s", f->len,
				 strerror(errno));
			return -1;
		}
		*out = p;
		return 0;
	}
	*out = malloc(f->len ? f->len : 1);
	if (!*out) {
		snprintf(err, errlen, "out of memory copying %zu bytes", f->len);
		return -1;
	}
	memcpy(*out, f->buf, f->len);
	return 0;
}

void skeys_file_copy_free(const struct skeys_file *f, uint8_t *out)
{
	if (!out)
		return;
	if (f->map)
		munmap(out, f->len);
	else
		free(out);
}

int skeys_file_changed(const struct skeys_file *f, char *err, size_t errlen)
{
	struct skeys_file_stamp now;
	struct stat st;

	if (!f->buf)
		return 0;
	if (fstat(f->fd, &st)) {
		snprintf(err, errlen, "cannot stat: %s", strerror(errno));
		return -1;
	}
	stamp_of(&st, &now);
	if (memcmp(&now, &f->stamp, sizeof(now))) {
		snprintf(err, errlen, "the file changed while it was read (size or "
				      "modification time differ from when it was opened)");
		return -1;
	}
	return 0;
}
