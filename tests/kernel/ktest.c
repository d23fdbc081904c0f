/* SPDX-License-Identifier: MIT */
/*
 * The kernel's static-key self test, as a user-space program: every kind
 * of key (legacy struct static_key, typed TRUE/FALSE keys), of this module
 * and of the base module (kbase.c, in this program or a shared library),
 * with every kind of site. Each case checks that the site agrees with
 * static_key_enabled(); then all keys are flipped, checked, flipped back
 * and checked again. Only <skeys/kernel.h> is included.
 *
 * Exit 0 when every check passed, 1 otherwise.
 */
#include "kbase.h"

#include <stdio.h>

/*
 * KTEST_BASE_PLAIN: the base module is a shared library, and this module
 * names its keys as kernel code does, by kbase.h's extern declarations
 * only (C, position-independent: sites go through cells, docs/kernel.md).
 */
#ifdef KTEST_BASE_SHARED
/*
 * The one line that is not kernel code: the base module's keys are of
 * another module, and this module imports them (docs/kernel.md).
 */
IMPORT_STATIC_KEY(kbase_old_on, true);
IMPORT_STATIC_KEY(kbase_old_off, false);
IMPORT_STATIC_KEY(kbase_old_on_flipped, true);
IMPORT_STATIC_KEY(kbase_old_off_flipped, false);
IMPORT_STATIC_KEY_TRUE(kbase_on);
IMPORT_STATIC_KEY_FALSE(kbase_off);
IMPORT_STATIC_KEY_TRUE(kbase_on_flipped);
IMPORT_STATIC_KEY_FALSE(kbase_off_flipped);
#endif

/* This module's keys: legacy ones as plain definitions, typed ones by macro. */
struct static_key kt_old_on = STATIC_KEY_INIT_TRUE;
struct static_key kt_old_off = STATIC_KEY_INIT_FALSE;
DEFINE_STATIC_KEY_TRUE(kt_on);
DEFINE_STATIC_KEY_FALSE(kt_off);

/* One function per (key, site kind): true when the site takes its branch. */
#define KT_LEGACY(fn, site, key)                                               \
	static bool fn(void)                                                   \
	{                                                                      \
		if (site(&key))                                                \
			return true;                                           \
		return false;                                                  \
	}
#define KT_TYPED(fn, site, key)                                                \
	static bool fn(void)                                                   \
	{                                                                      \
		bool r = false;                                                \
		if (site(&key))                                                \
			r = true;                                              \
		return r;                                                      \
	}

KT_LEGACY(old_on_true, static_key_true, kt_old_on)
KT_LEGACY(old_off_false, static_key_false, kt_old_off)
KT_TYPED(on_likely, static_branch_likely, kt_on)
KT_TYPED(on_unlikely, static_branch_unlikely, kt_on)
KT_TYPED(off_likely, static_branch_likely, kt_off)
KT_TYPED(off_unlikely, static_branch_unlikely, kt_off)

KT_LEGACY(base_old_on_true, static_key_true, kbase_old_on)
KT_LEGACY(base_old_off_false, static_key_false, kbase_old_off)
KT_LEGACY(base_old_on_flipped_true, static_key_true, kbase_old_on_flipped)
KT_LEGACY(base_old_off_flipped_false, static_key_false, kbase_old_off_flipped)
KT_TYPED(base_on_likely, static_branch_likely, kbase_on)
KT_TYPED(base_on_unlikely, static_branch_unlikely, kbase_on)
KT_TYPED(base_off_likely, static_branch_likely, kbase_off)
KT_TYPED(base_off_unlikely, static_branch_unlikely, kbase_off)
KT_TYPED(base_on_flipped_likely, static_branch_likely, kbase_on_flipped)
KT_TYPED(base_on_flipped_unlikely, static_branch_unlikely, kbase_on_flipped)
KT_TYPED(base_off_flipped_likely, static_branch_likely, kbase_off_flipped)
KT_TYPED(base_off_flipped_unlikely, static_branch_unlikely, kbase_off_flipped)

#ifdef __cplusplus
/* Sites in templates and an inline function of kbase.h (kmore.c has copies too). */
static bool tpl_off_unlikely(void)
{
	return kbase_unlikely<&kbase_off>();
}
static bool tpl_on_flipped_likely(void)
{
	return kbase_likely<&kbase_on_flipped>();
}
static bool inline_old_off_false(void)
{
	return kbase_old_off_inline();
}
bool kmore_tpl_off_unlikely(void);
bool kmore_tpl_on_flipped_likely(void);
bool kmore_inline_old_off_false(void);
#define KT_CXX_OFF                                                             \
	KT_CASE(tpl_off_unlikely, false, &kbase_off.key),                      \
	KT_CASE(kmore_tpl_off_unlikely, false, &kbase_off.key),
#define KT_CXX_ON_FLIPPED                                                      \
	KT_CASE(tpl_on_flipped_likely, false, &kbase_on_flipped.key),          \
	KT_CASE(kmore_tpl_on_flipped_likely, false, &kbase_on_flipped.key),
#define KT_CXX_OLD_OFF                                                         \
	KT_CASE(inline_old_off_false, false, &kbase_old_off),                  \
	KT_CASE(kmore_inline_old_off_false, false, &kbase_old_off),
#else
#define KT_CXX_OFF
#define KT_CXX_ON_FLIPPED
#define KT_CXX_OLD_OFF
#endif

struct kt_case {
	const char *name;
	bool state; /* what the key should be now, before any flip */
	struct static_key *key;
	bool (*site)(void);
};

#define KT_CASE(fn, state, key) { #fn, state, key, fn }

/* Cases of one key are adjacent: a flip goes once per key. */
static struct kt_case cases[] = {
	KT_CASE(old_on_true, true, &kt_old_on),
	KT_CASE(old_off_false, false, &kt_old_off),
	KT_CASE(on_likely, true, &kt_on.key),
	KT_CASE(on_unlikely, true, &kt_on.key),
	KT_CASE(off_likely, false, &kt_off.key),
	KT_CASE(off_unlikely, false, &kt_off.key),
	KT_CASE(base_old_on_true, true, &kbase_old_on),
	KT_CASE(base_old_off_false, false, &kbase_old_off),
	KT_CXX_OLD_OFF
	KT_CASE(base_old_on_flipped_true, false, &kbase_old_on_flipped),
	KT_CASE(base_old_off_flipped_false, true, &kbase_old_off_flipped),
	KT_CASE(base_on_likely, true, &kbase_on.key),
	KT_CASE(base_on_unlikely, true, &kbase_on.key),
	KT_CASE(base_off_likely, false, &kbase_off.key),
	KT_CASE(base_off_unlikely, false, &kbase_off.key),
	KT_CXX_OFF
	KT_CASE(base_on_flipped_likely, false, &kbase_on_flipped.key),
	KT_CASE(base_on_flipped_unlikely, false, &kbase_on_flipped.key),
	KT_CXX_ON_FLIPPED
	KT_CASE(base_off_flipped_likely, true, &kbase_off_flipped.key),
	KT_CASE(base_off_flipped_unlikely, true, &kbase_off_flipped.key),
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static int failures;

static void fail(const struct kt_case *c, const char *what, bool want, bool got)
{
	fprintf(stderr, "ktest: %s: %s is %d, expected %d\n", c->name, what, got, want);
	failures++;
}

/* Every case: the key's state, and its site agreeing with it. */
static void verify(bool flipped)
{
	size_t i;

	for (i = 0; i < N_CASES; i++) {
		const struct kt_case *c = &cases[i];
		bool want = flipped ? !c->state : c->state;
		bool on = static_key_enabled(c->key);

		if (on != want)
			fail(c, "static_key_enabled", want, on);
		if (c->site() != on)
			fail(c, "the site", on, !on);
	}
}

static void flip_all(void)
{
	const struct static_key *last = NULL;
	size_t i;

	for (i = 0; i < N_CASES; i++) {
		struct static_key *k = cases[i].key;
		int err;

		if (k == last)
			continue;
		last = k;
		err = static_key_enabled(k) ? static_key_disable(k) : static_key_enable(k);
		if (err) {
			fprintf(stderr, "ktest: %s: flip: %s\n", cases[i].name, skeys_strerror(err));
			failures++;
		}
	}
}

int ktest_more(void);

int main(void)
{
	jump_label_init();
	if (!static_key_initialized || kbase_flipped_count() != 4) {
		fprintf(stderr, "ktest: base module flipped %d keys, expected 4\n",
			kbase_flipped_count());
		failures++;
	}
	verify(false);
	flip_all();
	verify(true);
	flip_all();
	verify(false);
	failures += ktest_more();
	printf("ktest: %zu cases, %d failures\n", N_CASES, failures);
	return failures != 0;
}
