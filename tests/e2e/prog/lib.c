/* SPDX-License-Identifier: MIT */
/*
 * The shared library of the 'shared' cells: its own keys and sites,
 * position-independent, switched only through functions it exports (keys
 * are hidden: the executable cannot name them).
 */
#include "e2e.h"

#include <skeys.h>

SKEYS_DEFINE_FALSE(e2e_lib_f);
SKEYS_DEFINE_TRUE(e2e_lib_t);

E2E_NOINLINE static int lib_f_unlikely(void)
{
	if (skeys_branch_unlikely(&e2e_lib_f))
		return 1;
	return 0;
}

E2E_NOINLINE static int lib_f_likely(void)
{
	if (skeys_branch_likely(&e2e_lib_f))
		return 1;
	return 0;
}

E2E_NOINLINE static int lib_t_unlikely(void)
{
	if (skeys_branch_unlikely(&e2e_lib_t))
		return 1;
	return 0;
}

E2E_NOINLINE static int lib_t_likely(void)
{
	if (skeys_branch_likely(&e2e_lib_t))
		return 1;
	return 0;
}

/* Exported, so reached through the PLT: a site in an interposable function. */
E2E_EXPORT int e2e_lib_exported_site(void);
E2E_EXPORT int e2e_lib_exported_site(void)
{
	return skeys_branch_unlikely(&e2e_lib_f) ? 1 : 0;
}

static const struct e2e_site f_sites[] = {
	E2E_SITE(lib_f_unlikely),
	E2E_SITE(lib_f_likely),
	E2E_SITE(e2e_lib_exported_site),
};
static const struct e2e_site t_sites[] = {
	E2E_SITE(lib_t_unlikely),
	E2E_SITE(lib_t_likely),
};

E2E_SKEYS_OPS(e2e_lib_f)
E2E_SKEYS_OPS(e2e_lib_t)

static const struct e2e_key keys[] = {
	E2E_KEY(e2e_lib_f, false, f_sites),
	E2E_KEY(e2e_lib_t, true, t_sites),
};

struct e2e_group e2e_lib_keys(void)
{
	struct e2e_group g = { keys, sizeof(keys) / sizeof(keys[0]), false };
	return g;
}
