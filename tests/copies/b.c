/* SPDX-License-Identifier: MIT */
/* Imports the key; runs on a second copy of the runtime. */
#include "copies.h"

SKEYS_IMPORT_FALSE(shared_feature);
SKEYS_DEFINE_FALSE(own);

int b_feature(void)
{
	return skeys_branch_unlikely(&shared_feature);
}

int b_set(int on)
{
	return on ? skeys_enable(&shared_feature) : skeys_disable(&shared_feature);
}

int b_own(void)
{
	return skeys_branch_unlikely(&own);
}

int b_set_own(int on)
{
	return on ? skeys_enable(&own) : skeys_disable(&own);
}
