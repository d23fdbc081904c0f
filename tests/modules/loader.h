/* SPDX-License-Identifier: MIT */
/*
 * Loading modules at run time and checks, for the tests of keys across
 * modules and copies of the runtime: dlopen on ELF, LoadLibrary on Windows.
 */
#ifndef SKEYS_TEST_LOADER_H
#define SKEYS_TEST_LOADER_H

#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

#include "../testing.h"

#ifdef _WIN32
static inline void *test_load(const char *path)
{
	HMODULE h = LoadLibraryA(path);

	if (!h)
		fprintf(stderr, "LoadLibrary %s: error %lu\n", path, GetLastError());
	return (void *)h;
}

static inline int test_unload(void *h)
{
	return FreeLibrary((HMODULE)h) ? 0 : -1;
}

/* Is the module still (or already) loaded? */
static inline int test_loaded(const char *path)
{
	return GetModuleHandleA(path) != NULL;
}

static inline void test_sym_(void *fn, size_t size, void *h, const char *name)
{
	FARPROC p = GetProcAddress((HMODULE)h, name);

	memcpy(fn, &p, size);
}
#else
static inline void *test_load(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
	return h;
}

static inline int test_unload(void *h)
{
	return dlclose(h);
}

static inline int test_loaded(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

static inline void test_sym_(void *fn, size_t size, void *h, const char *name)
{
	void *p = dlsym(h, name);

	memcpy(fn, &p, size);
}
#endif

/* Look a function up into a typed pointer (NULL when missing). */
#define TEST_SYM(h, fn, name) test_sym_(&(fn), sizeof(fn), h, name)

#endif
