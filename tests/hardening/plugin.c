/* SPDX-License-Identifier: MIT */
/* A dlopen'd skeys module for the misuse tests: one key, one site. */
#include <skeys.h>

SKEYS_DEFINE_FALSE(plugin_key);

struct skeys_key *hard_plugin_key(void);
int hard_plugin_site(void);

/* Keys are hidden: this is how a caller could get hold of one. */
struct skeys_key *hard_plugin_key(void)
{
	return &plugin_key.key;
}

__attribute__((noinline)) int hard_plugin_site(void)
{
	return skeys_branch_unlikely(&plugin_key);
}
