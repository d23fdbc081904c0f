/* SPDX-License-Identifier: MIT */
/* A shared library that defines keys and exports them to other modules. */
#include "modules.h"

SKEYS_DEFINE_FALSE(feature);
SKEYS_EXPORT(feature);
SKEYS_DEFINE_TRUE(fast);
SKEYS_EXPORT(fast);

int core_feature(void)
{
	return skeys_branch_unlikely(&feature);
}

int core_fast(void)
{
	return skeys_branch_likely(&fast);
}

/* Toggling through the defining module's own name of the key. */
int core_set_feature(int on)
{
	return on ? skeys_enable(&feature) : skeys_disable(&feature);
}
