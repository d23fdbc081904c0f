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
 * Untyped keys, as kernel headers declare them: a plain extern (in
 * position-independent code, sites reach it through cells, docs/kernel.md).
 * Where C++ has no cells (SKEYS_KERNEL_DIRECT), DECLARE_STATIC_KEY, the
 * header's hidden extern, makes the sites of the defining module and of an
 * importing one compile.
 */
#if defined(__cplusplus) && !defined(SKEYS__KCELLS)
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
/*
 * C++: sites in templates and inline functions, instantiated in ktest.c and
 * kmore.c alike, whose copies the linker merges (docs/kernel.md).
 */
template <struct static_key_false *K> inline bool kbase_unlikely()
{
	return static_branch_unlikely(K);
}
template <struct static_key_true *K> inline bool kbase_likely()
{
	return static_branch_likely(K);
}
inline bool kbase_old_off_inline()
{
	return static_key_false(&kbase_old_off);
}
#endif

#ifdef __cplusplus
extern "C" {
#endif
/* Exported by the base module as kernel code exports a function. */
int kbase_flipped_count(void);
#ifdef __cplusplus
}
#endif

#endif
