/* SPDX-License-Identifier: MIT */
/*
 * Patched pads made by hand, for the hook stubs' tests: a mapping the test
 * owns holds, per function, what a patched entry holds,
 *
 *   hook:  call STUB; jmp *lit(%rip); lit: BODY   (the pad, then the body)
 *          i686: call STUB; jmp BODY
 *   jump:  jmp DEST
 *
 * so calling the pad's address is calling a patched function: the stub
 * returns to the `jmp` after the call, which goes on into the body with
 * the stack and registers as the caller left them. The stubs come from the
 * static runtime's internal entry points (runtime/entry_hook.h), called
 * with skeys_lock held as runtime/entry.c does.
 */
#ifndef SKEYS_TESTS_HOOK_PADS_H
#define SKEYS_TESTS_HOOK_PADS_H

#define _GNU_SOURCE
#include "../../../runtime/entry_hook.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The static runtime's, never exported by the shared library. */
void skeys_lock_take(void);
void skeys_lock_release(void);
int skeys__entry_hook_save_mode(int mode);

#define PAD_SIZE 32

/* What every stub starts with: endbr64 (i686: endbr32). */
#if defined(__i386__)
#define STUB_ENDBR "\xf3\x0f\x1e\xfb"
#else
#define STUB_ENDBR "\xf3\x0f\x1e\xfa"
#endif

/* A function as the void * the entry points take. */
#define FN(f) ((void *)(uintptr_t)(f))

struct pads {
	uint8_t *base;
	size_t size, used;
};

static inline bool pads_reach(uintptr_t from, uintptr_t to)
{
	int64_t d = (int64_t)(intptr_t)(to - from); /* i686: wraps, always in reach */

	return d >= INT32_MIN && d <= INT32_MAX;
}

/*
 * Map `size` bytes for pads at `want` exactly (0: anywhere), read-write.
 * False when the address is taken.
 */
static inline bool pads_map(struct pads *p, uintptr_t want, size_t size)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *m;

#ifdef MAP_FIXED_NOREPLACE
	if (want)
		flags |= MAP_FIXED_NOREPLACE;
#endif
	m = mmap((void *)want, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (m == MAP_FAILED || (want && (uintptr_t)m != want)) {
		if (m != MAP_FAILED)
			munmap(m, size);
		return false;
	}
	p->base = m;
	p->size = size;
	p->used = 0;
	return true;
}

static inline void pads_protect(struct pads *p, bool exec)
{
	if (mprotect(p->base, p->size, exec ? PROT_READ | PROT_EXEC : PROT_READ | PROT_WRITE)) {
		perror("mprotect");
		exit(1);
	}
}

static inline int hook_stub_locked(uintptr_t from, void *function, skeys_entry_fn *h, void *data,
				   uintptr_t *stub)
{
	int err;

	skeys_lock_take();
	err = skeys_entry_hook_stub(from, function, h, data, stub);
	skeys_lock_release();
	return err;
}

/*
 * Start the next pad with `op` (e8 call, e9 jmp) rel32 to `to`, the rest
 * int3; NULL when the mapping is full or `to` is out of reach (said).
 */
static inline uint8_t *pad_start(struct pads *p, uint8_t op, uintptr_t to)
{
	uint8_t *at = p->base + p->used;
	uintptr_t from = (uintptr_t)at + 5;
	int32_t rel = (int32_t)(int64_t)(to - from);

	if (p->used + PAD_SIZE > p->size || !pads_reach(from, to)) {
		fprintf(stderr, "no pad at %p to %p\n", (void *)at, (void *)to);
		return NULL;
	}
	memset(at, 0xcc, PAD_SIZE);
	at[0] = op;
	memcpy(at + 1, &rel, 4);
	p->used += PAD_SIZE;
	return at;
}

/* A pad whose call goes to the hook stub of `body` with (h, data); NULL on error (said). */
static inline void *pad_hook(struct pads *p, void *body, skeys_entry_fn *h, void *data)
{
	uintptr_t from = (uintptr_t)(p->base + p->used) + 5, stub = 0;
	uint8_t *at;
	int err = hook_stub_locked(from, body, h, data, &stub);

	if (err) {
		fprintf(stderr, "skeys_entry_hook_stub(%p): %d\n", (void *)from, err);
		return NULL;
	}
	at = pad_start(p, 0xe8, stub);
#if defined(__i386__)
	if (at) {
		int32_t rel = (int32_t)((uintptr_t)body - (uintptr_t)(at + 10));

		at[5] = 0xe9; /* jmp BODY */
		memcpy(at + 6, &rel, 4);
	}
#else
	if (at) {
		at[5] = 0xff; /* jmp *0(%rip), then the body's address */
		at[6] = 0x25;
		memset(at + 7, 0, 4);
		memcpy(at + 11, &body, 8);
	}
#endif
	return at;
}

/* A pad `jmp DEST` for a redirection to `replacement`; NULL on error (said). */
static inline void *pad_jump(struct pads *p, void *replacement, uintptr_t *dest_out)
{
	uintptr_t from = (uintptr_t)(p->base + p->used) + 5, dest = 0;
	int err;

	skeys_lock_take();
	err = skeys_entry_jump_dest(from, replacement, &dest);
	skeys_lock_release();
	if (err) {
		fprintf(stderr, "skeys_entry_jump_dest(%p): %d\n", (void *)from, err);
		return NULL;
	}
	if (dest_out)
		*dest_out = dest;
	return pad_start(p, 0xe9, dest);
}

/* The permissions ("r-xp") of the mapping holding `addr`, from /proc/self/maps; false if none. */
static inline bool maps_perms(uintptr_t addr, char perms[5])
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && addr >= s && addr < e)
			found = true;
	}
	fclose(f);
	return found;
}

/*
 * Lines of /proc/self/maps that are writable and executable at once
 * (printed). Valgrind keeps its translated code in anonymous rwx mappings
 * of its own: under it (SKEYS_UNDER_VALGRIND, the valgrind test setup)
 * only mappings holding one of the `n` addresses of `mine` count.
 */
static inline int maps_wx(const uintptr_t *mine, size_t n)
{
	bool own_only = getenv("SKEYS_UNDER_VALGRIND") != NULL;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char perms[5];
		bool counts = !own_only;

		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) != 3 || perms[1] != 'w' || perms[2] != 'x')
			continue;
		for (size_t i = 0; i < n && !counts; i++)
			counts = mine[i] >= s && mine[i] < e;
		if (counts) {
			fprintf(stderr, "writable and executable: %s", line);
			found++;
		}
	}
	fclose(f);
	return found;
}

#endif
