/* SPDX-License-Identifier: MIT */
/*
 * How a run of sites reaches memory, for every OS: the port's direct write
 * (no protection change at all) where it has one and it is allowed, else a
 * protection change around plain stores. A direct write that is refused
 * (some kernels, qemu-user, seccomp, a hardened Windows) switches the
 * process to protection changes for good. Pages are never writable
 * without being executable, where the OS allows both at once: the page may
 * hold the code doing this write, or code another thread is running.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Under valgrind, code it translated before a write would run on: it must
 * be told (it sees no write through /proc/self/mem, nor, at its default
 * --smc-check, stores to code outside the stack). A client request is a
 * few instructions that do nothing outside valgrind.
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define valgrind_discard(addr, len) VALGRIND_DISCARD_TRANSLATIONS((addr), (len))
#define under_valgrind() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef valgrind_discard
#define valgrind_discard(addr, len) ((void)(addr), (void)(len))
#define under_valgrind() false
#endif

static enum skeys_write_method method;
static bool method_read;

/* SKEYS_WRITE, read once, unless skeys_set_write_method() came first. */
static void method_load(void)
{
	const char *env;

	if (method_read)
		return;
	method_read = true;
	env = getenv("SKEYS_WRITE");
	if (!env)
		return;
	if (!strcmp(env, "procmem"))
		method = SKEYS_WRITE_PROCMEM;
	else if (!strcmp(env, "mprotect"))
		method = SKEYS_WRITE_MPROTECT;
	else if (strcmp(env, "auto"))
		skeys_log(SKEYS_LOG_WARN, "SKEYS_WRITE=%s not understood, using auto", env);
}

int skeys_write_method_set(enum skeys_write_method m)
{
	if (m != SKEYS_WRITE_AUTO && m != SKEYS_WRITE_PROCMEM && m != SKEYS_WRITE_MPROTECT)
		return -EINVAL;
	skeys_lock_take();
	method_read = true;
	method = m;
	skeys_lock_release();
	return 0;
}

/* Patch i's bytes in src. */
static const uint8_t *src_at(struct skeys_src src, size_t i)
{
	return src.at + i * src.stride;
}

/*
 * Code into the buffer in blocks of a constant size, which the compiler
 * copies with vector moves: glibc's memcpy takes `rep movsb` for large
 * copies, which callgrind counts one instruction a byte.
 */
static void run_copy(unsigned char *to, const unsigned char *from, size_t len)
{
	enum { BLOCK = 256 };

	for (; len >= BLOCK; len -= BLOCK, to += BLOCK, from += BLOCK)
		memcpy(to, from, BLOCK);
	memcpy(to, from, len);
}

/*
 * Merge the sites from p[*i] on that end at or below `end` (buf holds the
 * run from `lo`) with their bytes in `src`. With `check`, a batch turned
 * round: each site is first checked to hold its bytes in `chk`; false when
 * one does not (*i is then its index).
 */
static bool merge_sites(unsigned char *buf, uintptr_t lo, uintptr_t end,
			const struct skeys_patch *p, size_t n, size_t *i, struct skeys_src src,
			bool check, struct skeys_src chk)
{
	size_t k;

	for (k = *i; k < n && p[k].addr + p[k].len <= end; k++) {
		unsigned char *at = buf + (p[k].addr - lo);
		uint64_t now = skeys_word_load(at), mask = skeys_site_mask(p[k].len);
		uint64_t v = skeys_word_load(src_at(src, k));

		/* The array streams by: ask for what comes next ahead of time. */
		__builtin_prefetch(&p[k + 16]);
		if (check && (now ^ skeys_word_load(src_at(chk, k))) & mask) {
			*i = k;
			return false;
		}
		/* The bytes after the site: as copied, or copied over later. */
		v = (now & ~mask) | (v & mask);
		memcpy(at, &v, sizeof(v));
	}
	*i = k;
	return true;
}

/*
 * One direct write for the whole run: the bytes between sites are
 * rewritten unchanged. The buffer stays for the next run (skeys_lock is
 * held): it is the run's current bytes with the sites' new ones over them.
 * Each block of the run is copied and its sites merged in while the block
 * is still in the cache. With `bad`, a batch turned round: each site is
 * checked to hold its bytes in `chk` in the same pass. The copy is what
 * the code holds: nothing is written unless every site holds them.
 */
static int write_direct(const struct skeys_patch *p, size_t n, struct skeys_src src,
			struct skeys_src chk, size_t *bad, bool *touched)
{
	enum { BLOCK = 4096 };
	static unsigned char *buf;
	static size_t cap;
	uintptr_t lo = p[0].addr, hi = p[n - 1].addr + p[n - 1].len, at, end;
	size_t i = 0, done = 0;
	int err;

	/* 8 bytes more: every site is merged in as a word. */
	if (!buf || hi - lo + 8 > cap) {
		unsigned char *more = realloc(buf, hi - lo + 8);

		if (!more)
			return -ENOMEM;
		buf = more;
		cap = hi - lo + 8;
	}
	for (at = lo; at < hi; at = end) {
		end = hi - at > BLOCK ? at + BLOCK : hi;
		run_copy(buf + (at - lo), (const unsigned char *)at, end - at);
		if (!merge_sites(buf, lo, end, p, n, &i, src, bad != NULL, chk)) {
			*bad = i;
			return SKEYS_ERR_MISMATCH;
		}
	}
	if (bad)
		*bad = n; /* every site checked */
	err = skeys_os_write_direct(lo, buf, hi - lo, &done);
	if (!err || done)
		*touched = true; /* torn: the caller's walk back puts the sites back */
	return err;
}

/* One store where the site is a naturally aligned word: no thread sees half. */
static void store_site(const struct skeys_patch *p, const uint8_t *bytes)
{
	if (p->len == 4 && p->addr % 4 == 0) {
		uint32_t v;

		memcpy(&v, bytes, 4);
		__atomic_store_n((uint32_t *)p->addr, v, __ATOMIC_RELAXED);
	} else {
		memcpy((void *)p->addr, bytes, p->len);
	}
}

static int write_stores(const struct skeys_patch *p, size_t n, struct skeys_src src,
			bool *touched)
{
	size_t pg = skeys_os_page_size(), i;
	uintptr_t lo = p[0].addr & ~(pg - 1);
	uintptr_t hi = (p[n - 1].addr + p[n - 1].len + pg - 1) & ~(pg - 1);
	int during = SKEYS_PROT_READ | SKEYS_PROT_WRITE, err;

	/* Where W^X is absolute, a thread running code in these pages faults: see README. */
	if (!skeys_os_wx_exclusive())
		during |= SKEYS_PROT_EXEC;
	during |= p[0].seg->prot & SKEYS_PROT_BTI; /* guarded code stays guarded */
	err = skeys_os_protect(lo, hi - lo, during);
	if (err)
		return err;
	*touched = true;
	/*
	 * A site of several bytes takes several stores (x86: two overlapping
	 * 4-byte ones for 5), and between them it holds no instruction: none of
	 * this thread's handlers may run then. Valgrind hears of the write
	 * before the next system call, during which it lets another thread run.
	 */
	skeys_os_signals_hold();
	for (i = 0; i < n; i++)
		store_site(&p[i], src_at(src, i));
	valgrind_discard(lo, hi - lo);
	skeys_os_signals_release();
	while ((err = skeys_os_protect(lo, hi - lo, p[0].seg->prot)) != 0) {
		if (err != -EINTR && err != -EAGAIN) {
			skeys_log(SKEYS_LOG_ERROR, "cannot restore protection of %#lx: %s",
				  (unsigned long)lo, skeys_strerror(err));
			break;
		}
	}
	return err;
}

/*
 * Never a direct write under valgrind: it could only hear of it after the
 * system call, and another thread may run its translation of the old code
 * meanwhile.
 */
bool skeys_write_direct_first(bool one_store)
{
	method_load();
	return !one_store && method != SKEYS_WRITE_MPROTECT && !under_valgrind();
}

int skeys_write_run(const struct skeys_patch *p, size_t n, struct skeys_src src,
		    struct skeys_src chk, bool one_store, size_t *bad, bool *touched)
{
	uintptr_t lo = p[0].addr, hi = p[n - 1].addr + p[n - 1].len;
	int err;

	*touched = false;
	if (bad)
		*bad = 0;
	if (skeys_write_direct_first(one_store)) {
		err = write_direct(p, n, src, chk, bad, touched);
		if (!err || method == SKEYS_WRITE_PROCMEM)
			goto out;
		/* Unchecked (a site does not hold its old bytes, or no buffer): no other way either. */
		if (bad && *bad < n)
			goto out;
		/* A torn run is written whole again below. */
		if (err != -ENOSYS)
			skeys_log(SKEYS_LOG_INFO,
				  "direct write to code refused (%s): using mprotect "
				  "(SKEYS_WRITE_MPROTECT) from now on", skeys_strerror(err));
		method = SKEYS_WRITE_MPROTECT;
	}
	if (bad && *bad < n)
		return -EINVAL; /* only a direct write checks: the caller checks first otherwise */
	err = write_stores(p, n, src, touched);
out:
	if (*touched)
		skeys_os_flush_icache(lo, hi - lo);
	return err;
}
