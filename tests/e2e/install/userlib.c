/* SPDX-License-Identifier: MIT */
/*
 * A user's shared library with the static runtime linked in
 * (install@static-archive-exports): it must export its own functions and
 * none of the runtime's skeys_*.
 */
#include <skeys.h>

SKEYS_DEFINE_FALSE(userlib_feature);

__attribute__((visibility("default"))) int userlib_on(void)
{
	return skeys_branch_unlikely(&userlib_feature);
}

__attribute__((visibility("default"))) int userlib_enable(void)
{
	return skeys_enable(&userlib_feature);
}
