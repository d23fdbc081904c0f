/* SPDX-License-Identifier: MIT */
/* A dlopen'd plugin: imports the core's keys and has keys of its own. */
#include "modules.h"

SKEYS_IMPORT_FALSE(feature);
SKEYS_IMPORT_TRUE(fast);
SKEYS_DEFINE_FALSE(plugin_own);

int plugin_feature(void)
{
	return skeys_branch_unlikely(&feature);
}

int plugin_feature_likely(void)
{
	return skeys_branch_likely(&feature);
}

int plugin_fast(void)
{
	return skeys_branch_likely(&fast);
}

int plugin_set_feature(int on)
{
	return on ? skeys_enable(&feature) : skeys_disable(&feature);
}

/* For the misuse test: a key that dies with the plugin. */
struct skeys_key *plugin_own_key(void)
{
	return &plugin_own.key;
}
