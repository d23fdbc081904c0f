/* SPDX-License-Identifier: MIT */
/*
 * With the dev_sort build option, an unsealed binary is sorted at start-up
 * and its keys toggle; this links a runtime built that way.
 */
#include <skeys.h>

#include <stdio.h>

SKEYS_DEFINE_FALSE(kb);
SKEYS_DEFINE_FALSE(ka);
SKEYS_DEFINE_TRUE(kt);

__attribute__((noinline)) static int b1(void) { return skeys_branch_unlikely(&kb); }
__attribute__((noinline)) static int a1(void) { return skeys_branch_unlikely(&ka); }
__attribute__((noinline)) static int t1(void) { return skeys_branch_likely(&kt); }
__attribute__((noinline)) static int b2(void) { return skeys_branch_likely(&kb); }
__attribute__((noinline)) static int a2(void) { return skeys_branch_likely(&ka); }

int main(void)
{
	int fails = 0;

	fails += skeys_enable(&kb) != 0;
	fails += !(b1() == 1 && b2() == 1 && a1() == 0 && a2() == 0 && t1() == 1);
	fails += skeys_enable(&ka) != 0 || skeys_disable(&kt) != 0;
	fails += !(a1() == 1 && a2() == 1 && t1() == 0);
	fails += skeys_disable(&kb) != 0;
	fails += !(b1() == 0 && b2() == 0 && a1() == 1);
	if (fails)
		fprintf(stderr, "dev-sort runtime: %d failed step(s)\n", fails);
	return fails ? 1 : 0;
}
