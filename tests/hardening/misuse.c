/* SPDX-License-Identifier: MIT */
/*
 * Misusing the runtime must give an error code, never a crash or a write
 * outside a key: `hard-misuse SUBTEST [PLUGIN]`. Each subtest runs in a
 * child process so that a crash is reported as such, with the subtest.
 *
 *   dec-below-zero  dec of a FALSE key, of a TRUE key twice: SKEYS_ERR_COUNT
 *   inc-overflow    inc at INT32_MAX: SKEYS_ERR_COUNT, count kept
 *   heap-key        a struct with the key magic on the heap, in no module
 *   rodata-key      a const key with the magic, in read-only memory
 *   misaligned      a pointer one byte into a real key
 *   unloaded        a key of a dlopen'd plugin, after dlclose
 *
 * The last four need the runtime to check that a key lies in the writable
 * data of a registered module before it reads or writes it.
 */
#define _GNU_SOURCE
#include <skeys.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

SKEYS_DEFINE_FALSE(mf);
SKEYS_DEFINE_TRUE(mt);

__attribute__((noinline)) static int site_f(void) { return skeys_branch_unlikely(&mf); }
__attribute__((noinline)) static int site_t(void) { return skeys_branch_likely(&mt); }

/* Looks like a key to anything that only checks the magic. */
static const struct skeys_key rodata_key = { 0, SKEYS_KEY_MAGIC, 0 };

#include "../testing.h"

/* Any error will do, as long as it is one. */
#define CHECK_FAILS(call)                                                      \
	do {                                                                   \
		int got_ = (call);                                             \
		if (got_ >= 0) {                                               \
			fprintf(stderr, "%s:%d: %s returned %d, want an error\n", \
				__FILE__, __LINE__, #call, got_);              \
			failures++;                                            \
		}                                                              \
	} while (0)

static void t_dec_below_zero(void)
{
	CHECK_ERR(skeys_dec(&mf), SKEYS_ERR_COUNT);
	CHECK(!skeys_enabled(&mf) && site_f() == 0);
	CHECK_ERR(skeys_dec(&mt), 0); /* a TRUE key starts held once */
	CHECK(!skeys_enabled(&mt) && site_t() == 0);
	CHECK_ERR(skeys_dec(&mt), SKEYS_ERR_COUNT);
	CHECK(!skeys_enabled(&mt) && site_t() == 0);
	CHECK_ERR(skeys_disable(&mt), 0); /* disabling a disabled key is no error */
	/* Still usable afterwards. */
	CHECK_ERR(skeys_inc(&mf), 0);
	CHECK(skeys_enabled(&mf) && site_f() == 1);
	CHECK_ERR(skeys_dec(&mf), 0);
	CHECK(site_f() == 0);
}

static void t_inc_overflow(void)
{
	CHECK_ERR(skeys_inc(&mf), 0);
	CHECK(site_f() == 1);
	/* As if incremented 2^31 - 2 more times, without the wait. */
	__atomic_store_n(&mf.key.count, INT32_MAX, __ATOMIC_RELAXED);
	CHECK_ERR(skeys_inc(&mf), SKEYS_ERR_COUNT);
	CHECK(mf.key.count == INT32_MAX && skeys_enabled(&mf) && site_f() == 1);
	CHECK_ERR(skeys_enable(&mf), 0); /* already enabled: no change */
	CHECK(mf.key.count == INT32_MAX);
	__atomic_store_n(&mf.key.count, 1, __ATOMIC_RELAXED);
	CHECK_ERR(skeys_dec(&mf), 0);
	CHECK(site_f() == 0);
}

static void t_heap_key(void)
{
	struct skeys_key *k = calloc(1, sizeof(*k));

	if (!k)
		exit(2);
	k->flags = SKEYS_KEY_MAGIC;
	CHECK_ERR(skeys_key_enable(k), SKEYS_ERR_NOTKEY);
	CHECK_ERR(skeys_key_inc(k), SKEYS_ERR_NOTKEY);
	CHECK(k->count == 0);
	free(k);
}

static void t_rodata_key(void)
{
	struct skeys_key *k = (struct skeys_key *)(uintptr_t)&rodata_key;

	CHECK_FAILS(skeys_key_enable(k));
	CHECK_FAILS(skeys_key_inc(k));
	CHECK_FAILS(skeys_key_dec(k));
}

static void t_misaligned(void)
{
	struct skeys_key *k = (struct skeys_key *)(void *)((char *)&mf.key + 1);

	CHECK_FAILS(skeys_key_enable(k));
	CHECK_FAILS(skeys_key_inc(k));
	CHECK(!skeys_enabled(&mf) && site_f() == 0);
}

static void t_unloaded(const char *path)
{
	struct skeys_key *(*get_key)(void);
	int (*site)(void);
	struct skeys_key *k;
	void *sym_get, *sym_site;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		exit(2);
	}
	sym_get = dlsym(h, "hard_plugin_key");
	sym_site = dlsym(h, "hard_plugin_site");
	if (!sym_get || !sym_site) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		exit(2);
	}
	/* POSIX lets dlsym's result become a function pointer; ISO C needs memcpy. */
	memcpy(&get_key, &sym_get, sizeof(get_key));
	memcpy(&site, &sym_site, sizeof(site));
	k = get_key();
	/* While loaded the key works: the test is not refused for another reason. */
	CHECK_ERR(skeys_key_enable(k), 0);
	CHECK(site() == 1);
	CHECK_ERR(skeys_key_disable(k), 0);
	CHECK(site() == 0);
	if (dlclose(h)) {
		fprintf(stderr, "dlclose: %s\n", dlerror());
		exit(2);
	}
	CHECK_FAILS(skeys_key_enable(k));
	CHECK_FAILS(skeys_key_inc(k));
	CHECK_FAILS(skeys_key_dec(k));
	CHECK_FAILS(skeys_key_disable(k));
	/* The other keys still work. */
	CHECK_ERR(skeys_enable(&mf), 0);
	CHECK(site_f() == 1);
	CHECK_ERR(skeys_disable(&mf), 0);
}

static int run(const char *t, const char *plugin)
{
	if (!strcmp(t, "dec-below-zero"))
		t_dec_below_zero();
	else if (!strcmp(t, "inc-overflow"))
		t_inc_overflow();
	else if (!strcmp(t, "heap-key"))
		t_heap_key();
	else if (!strcmp(t, "rodata-key"))
		t_rodata_key();
	else if (!strcmp(t, "misaligned"))
		t_misaligned();
	else if (!strcmp(t, "unloaded") && plugin)
		t_unloaded(plugin);
	else
		return 64;
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *t = argc > 1 ? argv[1] : "";
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0)
		_exit(run(t, argc > 2 ? argv[2] : NULL));
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 2;
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "%s: the runtime crashed (signal %d, %s) instead of "
				"returning an error\n",
			t, WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 1;
	}
	if (WEXITSTATUS(status) == 64)
		fprintf(stderr, "usage: %s dec-below-zero|inc-overflow|heap-key|rodata-key|"
				"misaligned|unloaded PLUGIN\n", argv[0]);
	else if (WEXITSTATUS(status) == 0)
		printf("%s: ok\n", t);
	else
		fprintf(stderr, "%s: failed\n", t);
	return WEXITSTATUS(status);
}
