/* SPDX-License-Identifier: MIT */
/* Defines and exports the key; runs on its own copy of the runtime. */
#include "copies.h"

SKEYS_DEFINE_FALSE(shared_feature);
SKEYS_EXPORT(shared_feature);

int a_feature(void)
{
	return skeys_branch_unlikely(&shared_feature);
}

int a_set(int on)
{
	return on ? skeys_enable(&shared_feature) : skeys_disable(&shared_feature);
}

/* The key itself, for a copy of the runtime that has no name for it. */
struct skeys_key *a_key(void)
{
	return &shared_feature.key;
}
