/* SPDX-License-Identifier: MIT */
/*
 * A second translation unit: sites on main.c's keys through
 * SKEYS_DECLARE_*, switched from here too, and a function nobody calls.
 */
#include "e2e.h"

#include <skeys.h>

SKEYS_DECLARE_FALSE(e2e_kf);
SKEYS_DECLARE_TRUE(e2e_kt);

E2E_NOINLINE static int other_f_ternary(void)
{
	return skeys_branch_unlikely(&e2e_kf) ? 1 : 0;
}

E2E_NOINLINE static int other_f_not_likely(void)
{
	if (!skeys_branch_likely(&e2e_kf))
		return 0;
	return 1;
}

E2E_NOINLINE static int other_t_while(void)
{
	int n = 0;

	while (skeys_branch_unlikely(&e2e_kt) && n < 3)
		n++;
	return n == 3 ? 1 : n == 0 ? 0 : 2;
}

E2E_NOINLINE static int other_t_switch(void)
{
	switch ((int)skeys_branch_likely(&e2e_kt)) {
	case 1:
		return 1;
	default:
		return 0;
	}
}

/* Never called: -ffunction-sections --gc-sections may drop it, entry and all. */
int e2e_dead_function(void)
{
	return skeys_branch_unlikely(&e2e_kf) ? 7 : 3;
}

static const struct e2e_site kf_sites[] = {
	E2E_SITE(other_f_ternary),
	E2E_SITE(other_f_not_likely),
};
static const struct e2e_site kt_sites[] = {
	E2E_SITE(other_t_while),
	E2E_SITE(other_t_switch),
};

E2E_SKEYS_OPS(e2e_kf)
E2E_SKEYS_OPS(e2e_kt)

static const struct e2e_key keys[] = {
	E2E_KEY(e2e_kf, false, kf_sites),
	E2E_KEY(e2e_kt, true, kt_sites),
};

struct e2e_group e2e_other_keys(void)
{
	struct e2e_group g = { keys, sizeof(keys) / sizeof(keys[0]), false };
	return g;
}
