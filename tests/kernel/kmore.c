/* SPDX-License-Identifier: MIT */
/*
 * The rest of <skeys/kernel.h> beyond the kernel's self test: counts,
 * the kernel's disable rule, arrays, _RO and MAYBE keys, static keys,
 * initialisers, the *_cpuslocked names. Of skeys, only <skeys/kernel.h> is
 * included (testing.h is the tests' CHECK).
 */
#include <skeys/kernel.h>

#include "kbase.h"
#include "testing.h"

#include <stdio.h>
#include <string.h>

struct static_key km_legacy = STATIC_KEY_INIT;
struct static_key_false km_init_off = STATIC_KEY_FALSE_INIT;
struct static_key_true km_init_on = STATIC_KEY_TRUE_INIT;
static DEFINE_STATIC_KEY_FALSE(km_static_off);
static DEFINE_STATIC_KEY_TRUE(km_static_on);
DEFINE_STATIC_KEY_FALSE_RO(km_ro_off);
DEFINE_STATIC_KEY_TRUE_RO(km_ro_on);
DEFINE_STATIC_KEY_ARRAY_FALSE(km_arr_off, 3);
static DEFINE_STATIC_KEY_ARRAY_TRUE(km_arr_on, 2);

/* kconfig-style: one feature on by default, one off, one not configured. */
#define CONFIG_KM_A 1
#define CONFIG_KM_A_DEFAULT 1
#define CONFIG_KM_B 1
DEFINE_STATIC_KEY_MAYBE(CONFIG_KM_A, km_maybe_a);
DECLARE_STATIC_KEY_MAYBE(CONFIG_KM_A, km_maybe_a);
DEFINE_STATIC_KEY_MAYBE(CONFIG_KM_B, km_maybe_b);
DEFINE_STATIC_KEY_MAYBE(CONFIG_KM_C, km_maybe_c);

static bool legacy_site(void)
{
	return static_key_false(&km_legacy);
}

static bool init_off_site(void)
{
	return static_branch_unlikely(&km_init_off);
}

static bool init_on_site(void)
{
	return static_branch_likely(&km_init_on);
}

static bool static_off_site(void)
{
	return static_branch_unlikely(&km_static_off);
}

static bool static_on_site(void)
{
	return static_branch_likely(&km_static_on);
}

static bool ro_site(void)
{
	return static_branch_unlikely(&km_ro_off) || !static_branch_likely(&km_ro_on);
}

/*
 * gcc for 32-bit arm cannot take a symbol plus an offset as a site's key
 * operand under PIE/PIC ("impossible constraint in 'asm'"), through a cell
 * or not: a site can name only the first element of an array there
 * (docs/kernel.md), and the other elements are read as keys.
 */
#if defined(__arm__) && !defined(__clang__) && defined(__PIC__)
#define KM_ELEM_UNLIKELY(k) static_key_enabled(k)
#define KM_ELEM_LIKELY(k) static_key_enabled(k)
#else
#define KM_ELEM_UNLIKELY(k) static_branch_unlikely(k)
#define KM_ELEM_LIKELY(k) static_branch_likely(k)
#endif

static unsigned arr_sites(void)
{
	return (unsigned)static_branch_unlikely(&km_arr_off[0]) |
	       (unsigned)KM_ELEM_UNLIKELY(&km_arr_off[1]) << 1 |
	       (unsigned)KM_ELEM_UNLIKELY(&km_arr_off[2]) << 2 |
	       (unsigned)static_branch_likely(&km_arr_on[0]) << 3 |
	       (unsigned)KM_ELEM_LIKELY(&km_arr_on[1]) << 4;
}

static bool maybe_a(void)
{
	return static_branch_maybe(CONFIG_KM_A, &km_maybe_a);
}

static bool maybe_b(void)
{
	return static_branch_maybe(CONFIG_KM_B, &km_maybe_b);
}

static bool maybe_c(void)
{
	return static_branch_maybe(CONFIG_KM_C, &km_maybe_c);
}

static int warnings;
static char last_warning[256];

static void on_log(enum skeys_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	if (level == SKEYS_LOG_WARN) {
		warnings++;
		snprintf(last_warning, sizeof(last_warning), "%s", msg);
	}
}

static void counts(void)
{
	CHECK(static_key_count(&km_legacy) == 0 && !legacy_site());
	CHECK(static_key_slow_inc(&km_legacy));
	CHECK(static_key_slow_inc_cpuslocked(&km_legacy));
	CHECK(static_key_count(&km_legacy) == 2 && legacy_site());
	CHECK(static_key_slow_dec(&km_legacy) == 0);
	CHECK(static_key_count(&km_legacy) == 1 && legacy_site());
	CHECK(static_key_slow_dec_cpuslocked(&km_legacy) == 0);
	CHECK(static_key_count(&km_legacy) == 0 && !legacy_site());
	/* Below zero: refused, as the kernel warns and refuses. */
	CHECK(static_key_slow_dec(&km_legacy) == SKEYS_ERR_COUNT);
	CHECK(static_key_count(&km_legacy) == 0);

	CHECK(static_branch_inc(&km_init_off) == 0 && init_off_site());
	CHECK(static_branch_inc_cpuslocked(&km_init_off) == 0);
	CHECK(static_key_count(&km_init_off.key) == 2);
	CHECK(static_branch_dec_cpuslocked(&km_init_off) == 0 && init_off_site());
	CHECK(static_branch_dec(&km_init_off) == 0 && !init_off_site());
	CHECK(static_key_count(&km_init_on.key) == 1 && init_on_site());
}

/* The kernel's rule: disable leaves a key that several users hold. */
static void disable_rule(void)
{
	skeys_set_log(on_log, NULL);
	CHECK(static_branch_inc(&km_static_off) == 0);
	CHECK(static_branch_inc(&km_static_off) == 0);
	CHECK(static_branch_disable(&km_static_off) == 0);
	CHECK(warnings == 1 && strstr(last_warning, "count 2"));
	CHECK(static_key_count(&km_static_off.key) == 2 && static_off_site());
	CHECK(static_key_disable(&km_static_off.key) == 0);
	CHECK(static_key_disable_cpuslocked(&km_static_off.key) == 0);
	CHECK(warnings == 3 && static_off_site());
	CHECK(static_branch_dec(&km_static_off) == 0);
	/* Count 1: disable disables, with no warning. */
	CHECK(static_branch_disable_cpuslocked(&km_static_off) == 0);
	CHECK(warnings == 3 && !static_off_site());
	CHECK(static_key_count(&km_static_off.key) == 0);
	/* Enable on an enabled key changes nothing. */
	CHECK(static_branch_enable(&km_static_off) == 0);
	CHECK(static_branch_enable_cpuslocked(&km_static_off) == 0);
	CHECK(static_key_enable_cpuslocked(&km_static_off.key) == 0);
	CHECK(static_key_count(&km_static_off.key) == 1 && static_off_site());
	CHECK(static_branch_disable(&km_static_off) == 0 && !static_off_site());
	skeys_set_log(NULL, NULL);
}

static void others(void)
{
	const struct static_key *ck = &km_static_on.key;
	const struct static_key_true *ctk = &km_static_on;

	CHECK(static_key_enabled(&km_static_on) && static_key_enabled(ck) &&
		 static_key_enabled(ctk) && static_on_site());
	CHECK(static_branch_disable(&km_static_on) == 0);
	CHECK(!static_key_enabled(ctk) && !static_on_site());
	CHECK(static_branch_enable(&km_static_on) == 0 && static_on_site());

	CHECK(!ro_site());
	CHECK(static_branch_enable(&km_ro_off) == 0 && ro_site());
	CHECK(static_branch_disable(&km_ro_off) == 0 && !ro_site());
	CHECK(static_branch_disable(&km_ro_on) == 0 && ro_site());
	CHECK(static_branch_enable(&km_ro_on) == 0 && !ro_site());

	/* Array elements are keys of their own. */
	CHECK(arr_sites() == 0x18);
	CHECK(static_branch_enable(&km_arr_off[1]) == 0 && arr_sites() == 0x1a);
	CHECK(static_branch_disable(&km_arr_on[0]) == 0 && arr_sites() == 0x12);
	CHECK(static_key_enabled(&km_arr_off[1]) && !static_key_enabled(&km_arr_off[2]));
	CHECK(static_branch_disable(&km_arr_off[1]) == 0);
	CHECK(static_branch_enable(&km_arr_on[0]) == 0 && arr_sites() == 0x18);

	/* MAYBE: A on by default, B off by default, C not configured (always false). */
	CHECK(static_key_enabled(&km_maybe_a) && maybe_a());
	CHECK(!static_key_enabled(&km_maybe_b) && !maybe_b());
	CHECK(static_branch_enable(&km_maybe_b) == 0 && maybe_b());
	CHECK(static_branch_disable(&km_maybe_a) == 0 && !maybe_a());
	CHECK(static_branch_enable(&km_maybe_c) == 0 && !maybe_c());
	CHECK(IS_ENABLED(CONFIG_KM_A) && !IS_ENABLED(CONFIG_KM_C));
}

#ifdef __cplusplus
/*
 * kbase.h's templates and inline function, instantiated as ktest.c does:
 * the linker keeps one copy of each. ktest.c checks them with its cases.
 * (Not by naming the keys in code here: a gcc PIE would copy them.)
 */
bool kmore_tpl_off_unlikely(void)
{
	return kbase_unlikely<&kbase_off>();
}

bool kmore_tpl_on_flipped_likely(void)
{
	return kbase_likely<&kbase_on_flipped>();
}

bool kmore_inline_old_off_false(void)
{
	return kbase_old_off_inline();
}
#endif

int ktest_more(void);

int ktest_more(void)
{
	counts();
	disable_rule();
	others();
	return failures;
}
