/* SPDX-License-Identifier: MIT */
/* A binary nobody sealed: the runtime refuses to patch it, with its own code. */
#include <skeys.h>

#include <stdio.h>

SKEYS_DEFINE_FALSE(kf);
SKEYS_DEFINE_TRUE(kt);

__attribute__((noinline)) static int uf(void) { return skeys_branch_unlikely(&kf); }
__attribute__((noinline)) static int lt(void) { return skeys_branch_likely(&kt); }

#include "../testing.h"

int main(void)
{
	CHECK_ERR(skeys_enable(&kf), SKEYS_ERR_UNSEALED);
	CHECK_ERR(skeys_inc(&kf), SKEYS_ERR_UNSEALED);
	CHECK_ERR(skeys_disable(&kt), SKEYS_ERR_UNSEALED);
	CHECK_ERR(skeys_dec(&kf), SKEYS_ERR_COUNT);
	CHECK_ERR(skeys_disable(&kf), 0); /* already disabled: nothing to write */
	CHECK_ERR(uf(), 0);
	CHECK_ERR(lt(), 1);
	CHECK_ERR(skeys_enabled(&kf), 0);
	CHECK_ERR(skeys_enabled(&kt), 1);
	return failures ? 1 : 0;
}
