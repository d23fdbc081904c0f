/* SPDX-License-Identifier: MIT */
#define _XOPEN_SOURCE 700 /* mkstemp, fsync, fchmod, realpath */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t r = write(fd, buf, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		buf += r;
		len -= (size_t)r;
	}
	return 0;
}

/* The directory part of `path` ("." when there is none), in out[PATH_MAX]. */
static void dir_of(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, PATH_MAX, ".");
	else if (slash == path)
		snprintf(out, PATH_MAX, "/");
	else
		snprintf(out, PATH_MAX, "%.*s", (int)(slash - path), path);
}

/* Make the rename itself durable; a filesystem may refuse, which is harmless. */
static void dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int skeys_output_replace(const char *path, const uint8_t *buf, size_t len,
			 mode_t mode, char *err, size_t errlen)
{
	char real[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 32];
	const char *target = path;
	int fd, n;

	/* Replace what a symbolic link points at, as an editor would. */
	if (realpath(path, real))
		target = real;
	dir_of(target, dir);
	n = snprintf(tmp, sizeof(tmp), "%s/.skeys-seal.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a temporary file in %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	if (write_all(fd, buf, len) || fchmod(fd, mode & 07777) || fsync(fd)) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd)) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, target)) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, target,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	dir_sync(dir);
	return 0;
}
