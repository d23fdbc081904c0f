/* SPDX-License-Identifier: MIT */
/* The Linux kernel's names from <skeys/kernel.h>, for all four kinds of site. */
#include "e2e.h"

#include <skeys/kernel.h>

DEFINE_STATIC_KEY_FALSE(e2e_kern_f);
DEFINE_STATIC_KEY_TRUE(e2e_kern_t);
/* Redeclared: the DECLARE_* names must agree with the definitions. */
DECLARE_STATIC_KEY_FALSE(e2e_kern_f);
DECLARE_STATIC_KEY_TRUE(e2e_kern_t);

E2E_NOINLINE static int kern_f_unlikely(void)
{
	if (static_branch_unlikely(&e2e_kern_f))
		return 1;
	return 0;
}

E2E_NOINLINE static int kern_f_likely(void)
{
	if (static_branch_likely(&e2e_kern_f))
		return 1;
	return 0;
}

E2E_NOINLINE static int kern_t_unlikely(void)
{
	if (static_branch_unlikely(&e2e_kern_t))
		return 1;
	return 0;
}

E2E_NOINLINE static int kern_t_likely(void)
{
	if (static_branch_likely(&e2e_kern_t))
		return 1;
	return 0;
}

static const struct e2e_site kf_sites[] = {
	E2E_SITE(kern_f_unlikely),
	E2E_SITE(kern_f_likely),
};
static const struct e2e_site kt_sites[] = {
	E2E_SITE(kern_t_unlikely),
	E2E_SITE(kern_t_likely),
};

#define KERNEL_OPS(key)                                                        \
	E2E_KEY_OPS(key, static_branch_enable, static_branch_disable,         \
		    static_branch_inc, static_branch_dec, static_key_enabled)
KERNEL_OPS(e2e_kern_f)
KERNEL_OPS(e2e_kern_t)

static const struct e2e_key keys[] = {
	E2E_KEY(e2e_kern_f, false, kf_sites),
	E2E_KEY(e2e_kern_t, true, kt_sites),
};

struct e2e_group e2e_kernel_keys(void)
{
	struct e2e_group g = { keys, sizeof(keys) / sizeof(keys[0]), false };
	return g;
}
