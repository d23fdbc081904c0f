/* SPDX-License-Identifier: MIT */
/* A module loaded after skeys_entry_attach_all(): its functions follow. */
#include <skeys.h>

static volatile int zero;

__attribute__((noinline)) int ent_plugin_fn(int x)
{
	return x + 10 + zero;
}
