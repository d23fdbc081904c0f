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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/xattr.h>
#endif

static int pwrite_all(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t r;

		if (off > (uint64_t)INT64_MAX) {
			errno = EFBIG;
			return -1;
		}
		r = pwrite(fd, buf, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		buf += r;
		len -= (size_t)r;
		off += (uint64_t)r;
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

/*
 * The resolved target, if it exists, must be a regular file of one link: a
 * rename over anything else would destroy a node or part a hard link.
 * `link` is true when the name given is a symbolic link to it (messages
 * then name the target).
 */
static int target_check(const char *target, bool link, char *err, size_t errlen)
{
	const char *via = link ? " (through a symbolic link: " : "";
	const char *end = link ? ")" : "";
	struct stat st;

	if (lstat(target, &st)) {
		if (errno == ENOENT)
			return 0; /* a new file */
		snprintf(err, errlen, "cannot stat %s: %s", target, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s%s%s%s: not replaced (the output must be a regular file)",
			 skeys_file_kind(st.st_mode), via, link ? target : "", end);
		return -1;
	}
	if (st.st_nlink > 1) {
		snprintf(err, errlen, "the file has %ju hard links%s%s%s: replacing it by rename "
				      "would leave the other names with the old file; nothing written "
				      "(seal before making links, or write a new file with -o)",
			 (uintmax_t)st.st_nlink, via, link ? target : "", end);
		return -1;
	}
	return 0;
}

/*
 * Where `path` leads: through symbolic links to the file they name (which
 * is replaced, the links kept), or `path` itself when it does not exist
 * yet. A link to nothing is refused rather than replaced or followed.
 */
static int target_resolve(const char *path, char *target, char *err, size_t errlen)
{
	struct stat st;
	bool link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);

	if (realpath(path, target))
		return target_check(target, link, err, errlen);
	if (link) {
		snprintf(err, errlen, "a symbolic link that leads to no file (%s): not replaced",
			 strerror(errno));
		return -1;
	}
	snprintf(target, PATH_MAX, "%s", path);
	return target_check(target, false, err, errlen);
}

int skeys_output_begin(struct skeys_output *o, const char *path, char *err, size_t errlen)
{
	int n;

	if (target_resolve(path, o->target, err, errlen))
		return -1;
	dir_of(o->target, o->dir);
	n = snprintf(o->tmp, sizeof(o->tmp), "%s/.skeys-seal.XXXXXX", o->dir);
	if (n < 0 || (size_t)n >= sizeof(o->tmp)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	cleanup_arm(o->old_sa);
	o->size = 0;
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
	if (pwrite_all(o->fd, buf, len, off)) {
		snprintf(err, errlen, "cannot write %s: %s", o->tmp, strerror(errno));
		return -1;
	}
	if (off + len > o->size)
		o->size = off + len;
	return 0;
}

/* Bytes [off, off + len) of src, which has them, to the same place in the temporary. */
static int copy_range(struct skeys_output *o, const struct skeys_file *src, uint64_t off,
		      uint64_t len, char *err, size_t errlen)
{
#ifdef __linux__
	/* In the kernel: no pass through user space, and a reflink where the filesystem has one. */
	while (len) {
		loff_t in = (loff_t)off, out = (loff_t)off;
		ssize_t r = copy_file_range(src->fd, &in, o->fd, &out, len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			snprintf(err, errlen, "the input ended early while it was copied");
			return -1;
		}
		if (r < 0)
			break; /* not here (another filesystem, an old kernel): write below */
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
#endif
	return skeys_output_write(o, off, src->buf + off, (size_t)len, err, errlen);
}

int skeys_output_copy(struct skeys_output *o, const struct skeys_file *src, uint64_t off,
		      uint64_t len, char *err, size_t errlen)
{
	uint64_t end = off + len, pos = off, data, hole;

	if (!len)
		return 0;
	if (end > src->len) {
		snprintf(err, errlen, "internal error: copying past the input's end");
		return -1;
	}
	/* The length first: what is not written stays a hole. */
	if (end > o->size) {
		if (ftruncate(o->fd, (off_t)end)) {
			snprintf(err, errlen, "cannot write %s: %s", o->tmp, strerror(errno));
			return -1;
		}
		o->size = end;
	}
	while (pos < end) {
		data = pos;
		hole = end;
#ifdef SEEK_DATA
		{
			off_t d = lseek(src->fd, (off_t)pos, SEEK_DATA), h;

			if (d < 0 && errno == ENXIO)
				break; /* only a hole from here on */
			if (d >= 0) {
				data = (uint64_t)d;
				h = lseek(src->fd, d, SEEK_HOLE);
				if (h >= 0 && (uint64_t)h < end)
					hole = (uint64_t)h;
			}
		}
#endif
		if (data >= end)
			break;
		if (copy_range(o, src, data, hole - data, err, errlen))
			return -1;
		pos = hole;
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

#ifdef __linux__
/* The names of fd's extended attributes, NUL-separated, in a new buffer (*len bytes). */
static int xattr_names(int fd, char **names, ssize_t *len)
{
	for (;;) {
		ssize_t n = flistxattr(fd, NULL, 0);

		*names = NULL;
		*len = 0;
		if (n < 0)
			return errno == ENOTSUP ? 0 : -1; /* none on this filesystem */
		if (n == 0)
			return 0;
		*names = malloc((size_t)n);
		if (!*names)
			return -1;
		*len = flistxattr(fd, *names, (size_t)n);
		if (*len >= 0)
			return 0;
		free(*names);
		*names = NULL;
		if (errno != ERANGE) /* else the list grew meanwhile: again */
			return -1;
	}
}

static bool name_listed(const char *names, ssize_t len, const char *name)
{
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1)
		if (!strcmp(names + i, name))
			return true;
	return false;
}

/*
 * True when fd's attribute `name` already holds those bytes (a security
 * label the system gave the new file): nothing to set, nothing to refuse.
 */
static bool xattr_equal(int fd, const char *name, const uint8_t *val, ssize_t len)
{
	uint8_t *have = malloc(len ? (size_t)len : 1);
	bool same = have && fgetxattr(fd, name, have, (size_t)len) == len &&
		    !memcmp(have, val, (size_t)len);

	free(have);
	return same;
}

/* Give `to` exactly the extended attributes of `from`. */
static int xattrs_keep(int from, int to, char *err, size_t errlen)
{
	char *have = NULL, *want = NULL;
	const char *name = "", *what = "cannot list the input's extended attributes", *why = "";
	uint8_t *val = NULL;
	ssize_t nh, nw, i, n;
	int rc = -1;

	if (xattr_names(from, &want, &nw) || xattr_names(to, &have, &nh))
		goto fail;
	what = "cannot remove extended attribute ";
	why = ", which the new file got and the input does not have";
	for (i = 0; i < nh; i += (ssize_t)strlen(have + i) + 1) {
		name = have + i;
		/* One the directory gave the new file (a default ACL), not the input's. */
		if (!name_listed(want, nw, name) && fremovexattr(to, name) && errno != ENODATA)
			goto fail;
	}
	what = "cannot keep the input's extended attribute ";
	why = "";
	for (i = 0; i < nw; i += (ssize_t)strlen(want + i) + 1) {
		name = want + i;
		do {
			free(val);
			val = NULL;
			n = fgetxattr(from, name, NULL, 0);
			if (n < 0 || !(val = malloc(n ? (size_t)n : 1)))
				goto fail;
			n = fgetxattr(from, name, val, (size_t)n);
		} while (n < 0 && errno == ERANGE);
		if (n < 0 || (!xattr_equal(to, name, val, n) && fsetxattr(to, name, val, (size_t)n, 0)))
			goto fail;
	}
	rc = 0;
fail:
	if (rc)
		snprintf(err, errlen, "%s%s%s: %s; nothing written", what, name, why,
			 strerror(errno));
	free(val);
	free(have);
	free(want);
	return rc;
}
#endif

/*
 * The input's owner, group, mode and extended attributes on the temporary,
 * or -1: a file must never come out with more privilege than its input
 * had, nor quietly with less. The order matters: chown clears setuid and
 * setgid, and with them a file capability; chmod then sets the bits, and
 * the attributes come last. Nothing is written to the file after them (a
 * write clears a capability too).
 */
static int meta_keep(int fd, const struct skeys_file *like, char *err, size_t errlen)
{
	const struct stat *want = &like->st;
	mode_t mode = want->st_mode & 07777;
	struct stat now;

	if (fstat(fd, &now))
		goto fail;
	if ((now.st_uid != want->st_uid || now.st_gid != want->st_gid) &&
	    fchown(fd, want->st_uid, want->st_gid)) {
		snprintf(err, errlen, "cannot keep the input's owner and group (uid %ju, gid %ju): "
				      "%s; nothing written",
			 (uintmax_t)want->st_uid, (uintmax_t)want->st_gid, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode))
		goto fail;
#ifdef __linux__
	if (xattrs_keep(like->fd, fd, err, errlen))
		return -1;
#endif
	if (fstat(fd, &now))
		goto fail;
	if ((now.st_mode & 07777) != mode) {
		/* chmod drops setgid for a group the caller is not in. */
		snprintf(err, errlen, "cannot keep the input's mode %04o (the system gave %04o); "
				      "nothing written", (unsigned)mode, (unsigned)(now.st_mode & 07777));
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot keep the input's mode %04o: %s", (unsigned)mode,
		 strerror(errno));
	return -1;
}

int skeys_output_commit(struct skeys_output *o, const struct skeys_file *like,
			int (*commit_ok)(void *arg, char *err, size_t errlen), void *arg,
			char *err, size_t errlen)
{
	int fd = o->fd;

	o->fd = -1;
	if (meta_keep(fd, like, err, errlen)) {
		close(fd);
		skeys_output_abort(o);
		return -1;
	}
	if (fsync(fd)) {
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
	/* The target again: it may have become something not to replace meanwhile. */
	if ((commit_ok && commit_ok(arg, err, errlen)) ||
	    target_check(o->target, false, err, errlen)) {
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

/* The pages where buf differs from the input's bytes: the rest is there already. */
static int write_changed(struct skeys_output *o, const struct skeys_file *src,
			 const uint8_t *buf, char *err, size_t errlen)
{
	const size_t page = 4096;
	size_t at = 0, run;

	while (at < src->len) {
		size_t n = src->len - at < page ? src->len - at : page;

		if (!memcmp(buf + at, src->buf + at, n)) {
			at += n;
			continue;
		}
		for (run = n; at + run < src->len; run += n) {
			n = src->len - at - run < page ? src->len - at - run : page;
			if (!memcmp(buf + at + run, src->buf + at + run, n))
				break;
		}
		if (skeys_output_write(o, at, buf + at, run, err, errlen))
			return -1;
		at += run;
	}
	return 0;
}

int skeys_output_replace(const char *path, const struct skeys_file *src, const uint8_t *buf,
			 int (*commit_ok)(void *arg, char *err, size_t errlen), void *arg,
			 char *err, size_t errlen)
{
	struct skeys_output o;

	if (skeys_output_begin(&o, path, err, errlen))
		return -1;
	if (skeys_output_copy(&o, src, 0, src->len, err, errlen) ||
	    (buf != src->buf && write_changed(&o, src, buf, err, errlen))) {
		skeys_output_abort(&o);
		return -1;
	}
	return skeys_output_commit(&o, src, commit_ok, arg, err, errlen);
}
