/* SPDX-License-Identifier: MIT */
/* Sites of prog.c's keys in a second translation unit. */
#include <skeys.h>

SKEYS_DECLARE_FALSE(kf);
SKEYS_DECLARE_TRUE(kt);

int other_f(void);
int other_t(void);

__attribute__((noinline)) int other_f(void)
{
	return skeys_branch_unlikely(&kf) ? 1 : 0;
}

__attribute__((noinline)) int other_t(void)
{
	return skeys_branch_likely(&kt) ? 1 : 0;
}
