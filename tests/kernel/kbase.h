/* SPDX-License-Identifier: MIT */
/*
 * The base module's keys, declared the way kernel headers declare keys of
 * another file. The base module is linked into the test program or built
 * as a shared library of its own (KTEST_BASE_SHARED).
 */
#ifndef KTEST_KBASE_H
#define KTEST_KBASE_H

#include <skeys/kernel.h>

/*
 * Untyped keys. In C, as kernel headers declare them: a plain extern (sites
 * reach it through cells, docs/kernel.md). C++ has no cells: there
 * DECLARE_STATIC_KEY, <skeys/kernel.h>'s hidden extern, makes the sites
 * of the defining module and of an importing one compile.
 */
#ifdef __cplusplus
DECLARE_STATIC_KEY(kbase_old_on);
DECLARE_STATIC_KEY(kbase_old_off);
DECLARE_STATIC_KEY(kbase_old_on_flipped);
DECLARE_STATIC_KEY(kbase_old_off_flipped);
#else
extern struct static_key kbase_old_on;
extern struct static_key kbase_old_off;
extern struct static_key kbase_old_on_flipped;
extern struct static_key kbase_old_off_flipped;
#endif

DECLARE_STATIC_KEY_TRUE(kbase_on);
DECLARE_STATIC_KEY_FALSE(kbase_off);
DECLARE_STATIC_KEY_TRUE(kbase_on_flipped);
DECLARE_STATIC_KEY_FALSE(kbase_off_flipped);

#ifdef __cplusplus
extern "C" {
#endif
/* Exported by the base module as kernel code exports a function. */
int kbase_flipped_count(void);
#ifdef __cplusplus
}
#endif

#endif
