/* SPDX-License-Identifier: MIT */
/*
 * `copies LIBB`: libcopya and libcopyb each link the static runtime with
 * its symbols hidden, so the process holds two copies. They must act as
 * one: a key toggled through either copy patches the sites of both
 * libraries, also while both are used from several threads at once. The
 * copy that started first (libcopya's) leads and is pinned: it outlives
 * libcopyb, and a libcopyb loaded again follows it.
 *
 * `copies LIBB other-version`: libcopyb's copy is of another runtime
 * version. It must refuse to work, and write nothing: its keys and the
 * imported one do not switch through it, and its sites stay as they are.
 *
 * The same program on Windows (copya.dll, copyb.dll), and built with
 * -DEXE_COPY=1 there the executable links the static runtime too: three
 * copies; the executable's leads, and the libraries' modules leave its
 * registry when they are unloaded.
 */
#define _GNU_SOURCE
#ifndef EXE_COPY
#define SKEYS_NO_MODULE 1 /* the executable has no sites and no runtime */
#endif
#include "copies.h"
#include "../modules/loader.h"

#include <pthread.h>
#include <stdio.h>

#ifdef _WIN32
#include <psapi.h>
#define LIBA "copya.dll"
#else
#define LIBA "libcopya.so"
#endif
#ifdef EXE_COPY
#define COPIES 3
#else
#define COPIES 2
#endif

static int (*a_feature_p)(void), (*a_set_p)(int);
static struct skeys_key *(*a_key_p)(void);
static int (*b_feature_p)(void), (*b_set_p)(int), (*b_own_p)(void), (*b_set_own_p)(int);

#ifdef EXE_COPY
SKEYS_DEFINE_FALSE(exe_own);

__attribute__((noinline)) static int exe_own_site(void)
{
	return skeys_branch_unlikely(&exe_own);
}

/* The shared key through the executable's copy, which has no name for it. */
static int exe_set(int on)
{
	return on ? skeys_key_enable(a_key_p()) : skeys_key_disable(a_key_p());
}

static int exe_set_own(int on)
{
	return on ? skeys_enable(&exe_own) : skeys_disable(&exe_own);
}
#endif

#ifdef _WIN32
/* Loaded modules that carry a copy of the runtime (its `.skeysrt` section). */
static int copies_loaded(void)
{
	HMODULE mods[256];
	DWORD need, i;
	int n = 0;

	if (!K32EnumProcessModules(GetCurrentProcess(), mods, sizeof(mods), &need))
		return -1;
	for (i = 0; i < need / sizeof(mods[0]) && i < 256; i++) {
		const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)mods[i];
		const IMAGE_NT_HEADERS *nt =
			(const IMAGE_NT_HEADERS *)((const char *)mods[i] + dos->e_lfanew);
		const IMAGE_SECTION_HEADER *sec = IMAGE_FIRST_SECTION(nt);

		for (WORD j = 0; j < nt->FileHeader.NumberOfSections; j++)
			n += !memcmp(sec[j].Name, ".skeysrt", 8);
	}
	return n;
}
#endif

static void *flip_own(void *arg)
{
	(void)arg;
	for (int i = 0; i < 300; i++) {
		if (b_set_own_p(i % 2 == 0))
			failures++;
#ifdef EXE_COPY
		if (exe_set_own(i % 2 == 0))
			failures++;
#endif
	}
	return NULL;
}

static void *flip_shared(void *arg)
{
#ifdef EXE_COPY
	int (*set[])(int) = { a_set_p, b_set_p, exe_set };
#else
	int (*set[])(int) = { a_set_p, b_set_p };
#endif

	(void)arg;
	for (int i = 0; i < 300; i++)
		if (set[i % (sizeof(set) / sizeof(set[0]))](i % 3 == 0))
			failures++;
	return NULL;
}

static int load_b(const char *path, void **b)
{
	void *a;

	*b = test_load(path);
	if (!*b)
		return -1;
#ifdef _WIN32
	a = GetModuleHandleA(LIBA); /* GetProcAddress looks in one module only */
#else
	a = *b; /* dlsym searches libcopyb's dependencies too */
#endif
	TEST_SYM(a, a_feature_p, "a_feature");
	TEST_SYM(a, a_set_p, "a_set");
	TEST_SYM(a, a_key_p, "a_key");
	TEST_SYM(*b, b_feature_p, "b_feature");
	TEST_SYM(*b, b_set_p, "b_set");
	TEST_SYM(*b, b_own_p, "b_own");
	TEST_SYM(*b, b_set_own_p, "b_set_own");
	return a_feature_p && a_set_p && a_key_p && b_feature_p && b_set_p && b_own_p &&
			       b_set_own_p
		       ? 0
		       : -1;
}

/* libcopyb's copy is of another version: refused, through it nothing switches. */
static int other_version(void)
{
	CHECK(b_set_p(1) == SKEYS_ERR_ABI);
	CHECK(b_set_own_p(1) == SKEYS_ERR_ABI);
	CHECK(!a_feature_p() && !b_feature_p() && !b_own_p());
	/* The leader works on; libcopyb's module never joined it. */
	CHECK(a_set_p(1) == 0 && a_feature_p());
	CHECK(!b_feature_p());
	CHECK(a_set_p(0) == 0 && !a_feature_p());
	return 0;
}

int main(int argc, char **argv)
{
	void *b;
	pthread_t t1, t2;

	if (argc != 2 && !(argc == 3 && !strcmp(argv[2], "other-version")))
		return 64;
	if (load_b(argv[1], &b))
		return 1;
	if (argc == 3) {
		if (other_version() || failures)
			return 1;
		printf("copies: OK\n");
		return 0;
	}
#ifdef _WIN32
	/* Each module really has its own copy (none imports the runtime from another). */
	CHECK(copies_loaded() == COPIES);
#endif
	CHECK(!a_feature_p() && !b_feature_p());
	CHECK(a_set_p(1) == 0); /* through the defining library's copy */
	CHECK(a_feature_p() && b_feature_p());
	CHECK(b_set_p(0) == 0); /* through the importing library's copy */
	CHECK(!a_feature_p() && !b_feature_p());
#ifdef EXE_COPY
	CHECK(exe_set(1) == 0); /* through the executable's copy */
	CHECK(a_feature_p() && b_feature_p());
	CHECK(exe_set_own(1) == 0 && exe_own_site() == 1);
	CHECK(b_set_own_p(1) == 0 && b_own_p() == 1);
#endif

	pthread_create(&t1, NULL, flip_own, NULL);
	pthread_create(&t2, NULL, flip_shared, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK(b_own_p() == 0);
	CHECK(a_feature_p() == b_feature_p());
	CHECK(b_set_p(1) == 0 && a_feature_p() && b_feature_p());
#ifdef EXE_COPY
	CHECK(exe_own_site() == 0);

	/* Both libraries go; their modules leave the executable's registry. */
	{
		struct skeys_key *k = a_key_p();

		CHECK(test_unload(b) == 0);
		CHECK(!test_loaded(LIBA));
		CHECK(skeys_key_enable(k) == SKEYS_ERR_NOTKEY);
		CHECK(exe_set_own(1) == 0 && exe_own_site() == 1);
	}
#else
	/* libcopyb goes, libcopya stays: its copy leads and libcopyb's pinned it. */
	CHECK(test_unload(b) == 0);
	CHECK(!test_loaded(argv[1]));
	CHECK(test_loaded(LIBA));
	/* Loaded again, libcopyb follows the same leader and starts out patched. */
	if (load_b(argv[1], &b))
		return 1;
	CHECK(a_feature_p() && b_feature_p());
	CHECK(b_set_p(0) == 0 && !a_feature_p() && !b_feature_p());
	CHECK(a_set_p(1) == 0 && a_feature_p() && b_feature_p());
	CHECK(test_unload(b) == 0);
#endif
	if (failures)
		return 1;
	printf("copies: OK\n");
	return 0;
}
