/* SPDX-License-Identifier: MIT */
/*
 * End-to-end test program: the harness's view of a key. Each translation
 * unit describes its keys as tables of function pointers, so the checker
 * (check.c) never names a key itself and drives keys of the executable and
 * of a shared library the same way. Valid C11 and C++17: the C++ cells
 * compile these files as C++.
 */
#ifndef E2E_H
#define E2E_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define E2E_NOINLINE __attribute__((noinline))
#define E2E_EXPORT __attribute__((visibility("default")))

/*
 * A site under test. eval() returns 1 when the code took the path meaning
 * "key enabled", 0 for the other path, anything else when two sites of one
 * function disagree.
 */
struct e2e_site {
	const char *name;
	int (*eval)(void);
};

/* Entries with the same `id` (the key's address) are one key. */
struct e2e_key {
	const void *id;
	const char *name;
	bool initial;
	int (*enable)(void);
	int (*disable)(void);
	int (*inc)(void);
	int (*dec)(void);
	bool (*enabled)(void);
	const struct e2e_site *sites;
	size_t nsites;
};

/*
 * A group of keys, one per translation unit or module. `refused`: its module
 * was not sealed, so every toggle must fail with SKEYS_ERR_UNSEALED.
 */
struct e2e_group {
	const struct e2e_key *keys;
	size_t nkeys;
	bool refused;
};

/* The switching calls of one key, spelt with skeys' names or the kernel's. */
#define E2E_KEY_OPS(key, en, dis, inc_, dec_, is)                               \
	static int key##_enable(void) { return en(&key); }                     \
	static int key##_disable(void) { return dis(&key); }                   \
	static int key##_inc(void) { return inc_(&key); }                      \
	static int key##_dec(void) { return dec_(&key); }                      \
	static bool key##_enabled(void) { return is(&key); }

#define E2E_SKEYS_OPS(key)                                                     \
	E2E_KEY_OPS(key, skeys_enable, skeys_disable, skeys_inc, skeys_dec,   \
		    skeys_enabled)

#define E2E_KEY(key, initial, sites)                                           \
	{ &key, #key, initial, key##_enable, key##_disable, key##_inc, key##_dec,    \
	  key##_enabled, sites, sizeof(sites) / sizeof((sites)[0]) }

#define E2E_SITE(fn) { #fn, fn }

/* Groups, one function per translation unit (or module). */
struct e2e_group e2e_main_keys(void);
struct e2e_group e2e_other_keys(void);
struct e2e_group e2e_kernel_keys(void);
struct e2e_group e2e_cxx_a_keys(void);
struct e2e_group e2e_cxx_b_keys(void);
/* Exported by the shared library of the 'shared' cells. */
E2E_EXPORT struct e2e_group e2e_lib_keys(void);

/* Runs the whole sequence on every key of `groups`; returns the failures. */
int e2e_check(const struct e2e_group *groups, size_t ngroups);

/* A never-called function with a site; --gc-sections must drop it. */
int e2e_dead_function(void);

#ifdef __cplusplus
}
#endif

#endif
