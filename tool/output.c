/* SPDX-License-Identifier: MIT */
#ifdef __linux__
#define _GNU_SOURCE /* sync_file_range, and what follows */
#else
#define _XOPEN_SOURCE 700 /* mkstemp, fsync, fchmod, realpath, sigaction */
#endif
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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

/*
 * While the temporary exists, a SIGINT, SIGTERM or SIGHUP removes it before
 * the process dies, so that an interrupted run leaves the directory as it
 * was; so does a SIGBUS, which is how a read of the input's mapping ends
 * when another process cuts the file short. (SIGKILL cannot be caught: the
 * temporary then stays, but `path` is still whole, old or new.)
 */
static char pending_tmp[PATH_MAX + 32];
static volatile sig_atomic_t pending;

static const int cleanup_signals[SKEYS_OUTPUT_SIGNALS] = { SIGINT, SIGTERM, SIGHUP, SIGBUS };
#define N_CLEANUP_SIGNALS SKEYS_OUTPUT_SIGNALS

static void cleanup_handler(int sig)
{
	if (pending)
		unlink(pending_tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void cleanup_signals_mask(int how, sigset_t *old)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < N_CLEANUP_SIGNALS; i++)
		sigaddset(&set, cleanup_signals[i]);
	sigprocmask(how, &set, old);
}

static void cleanup_arm(struct sigaction *old)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cleanup_handler;
	sigemptyset(&sa.sa_mask);
	pending = 0;
	for (i = 0; i < N_CLEANUP_SIGNALS; i++)
		sigaction(cleanup_signals[i], &sa, &old[i]);
}

static void cleanup_disarm(const struct sigaction *old)
{
	size_t i;

	pending = 0;
	for (i = 0; i < N_CLEANUP_SIGNALS; i++)
		sigaction(cleanup_signals[i], &old[i], NULL);
}

/* mkstemp, with the name recorded for the handler before any signal can see the file. */
static int tmp_create(char *tmp)
{
	sigset_t old;
	int fd;

	cleanup_signals_mask(SIG_BLOCK, &old);
	fd = mkstemp(tmp);
	if (fd >= 0) {
		snprintf(pending_tmp, sizeof(pending_tmp), "%s", tmp);
		pending = 1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return fd;
}

/* rename, after which the temporary is no longer ours to remove. */
static int tmp_commit(const char *tmp, const char *target)
{
	sigset_t old;
	int r;

	cleanup_signals_mask(SIG_BLOCK, &old);
	r = rename(tmp, target);
	if (r == 0)
		pending = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
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

int skeys_output_begin(struct skeys_output *o, const char *path, char *err, size_t errlen)
{
	int n;

	/* Replace what a symbolic link points at, as an editor would. */
	if (!realpath(path, o->target))
		snprintf(o->target, sizeof(o->target), "%s", path);
	dir_of(o->target, o->dir);
	n = snprintf(o->tmp, sizeof(o->tmp), "%s/.skeys-seal.XXXXXX", o->dir);
	if (n < 0 || (size_t)n >= sizeof(o->tmp)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	cleanup_arm(o->old_sa);
	o->fd = tmp_create(o->tmp);
	if (o->fd < 0) {
		cleanup_disarm(o->old_sa);
		snprintf(err, errlen, "cannot create a temporary file in %s: %s", o->dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int skeys_output_write(struct skeys_output *o, uint64_t off, const uint8_t *buf, size_t len,
		       char *err, size_t errlen)
{
	if (off > (uint64_t)INT64_MAX || lseek(o->fd, (off_t)off, SEEK_SET) < 0 ||
	    write_all(o->fd, buf, len)) {
		snprintf(err, errlen, "cannot write %s: %s", o->tmp, strerror(errno));
		return -1;
	}
	return 0;
}

void skeys_output_flush_start(struct skeys_output *o)
{
#ifdef __linux__
	/* Only a head start for fsync: its result is not needed. */
	(void)sync_file_range(o->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
	(void)o;
#endif
}

void skeys_output_abort(struct skeys_output *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	unlink(o->tmp);
	cleanup_disarm(o->old_sa);
}

int skeys_output_commit(struct skeys_output *o, mode_t mode,
			int (*commit_ok)(void *arg, char *err, size_t errlen), void *arg,
			char *err, size_t errlen)
{
	int fd = o->fd;

	o->fd = -1;
	if (fchmod(fd, mode & 07777) || fsync(fd)) {
		snprintf(err, errlen, "cannot write %s: %s", o->tmp, strerror(errno));
		close(fd);
		skeys_output_abort(o);
		return -1;
	}
	if (close(fd)) {
		snprintf(err, errlen, "cannot write %s: %s", o->tmp, strerror(errno));
		skeys_output_abort(o);
		return -1;
	}
	if (commit_ok && commit_ok(arg, err, errlen)) {
		skeys_output_abort(o);
		return -1;
	}
	if (tmp_commit(o->tmp, o->target)) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", o->tmp, o->target,
			 strerror(errno));
		skeys_output_abort(o);
		return -1;
	}
	cleanup_disarm(o->old_sa);
	dir_sync(o->dir);
	return 0;
}

int skeys_output_replace(const char *path, const uint8_t *buf, size_t len, mode_t mode,
			 int (*commit_ok)(void *arg, char *err, size_t errlen), void *arg,
			 char *err, size_t errlen)
{
	struct skeys_output o;

	if (skeys_output_begin(&o, path, err, errlen))
		return -1;
	if (skeys_output_write(&o, 0, buf, len, err, errlen)) {
		skeys_output_abort(&o);
		return -1;
	}
	return skeys_output_commit(&o, mode, commit_ok, arg, err, errlen);
}
