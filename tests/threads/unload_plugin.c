/* SPDX-License-Identifier: MIT */
/*
 * A DLL with its own static copy of the runtime (threads-pe@unload): that
 * copy follows the program's, which runs the protocol when the DLL switches
 * its key with threads around; once the DLL is unloaded, breakpoints still
 * reach the program's handlers.
 */
#include <skeys.h>

SKEYS_DEFINE_FALSE(plugin_key);

__attribute__((noinline)) static int plugin_site(void)
{
	return skeys_branch_unlikely(&plugin_key);
}

__declspec(dllexport) int plugin_switch(void);

/* 0 when the site followed an enable and a disable. */
int plugin_switch(void)
{
	if (skeys_enable(&plugin_key) || !plugin_site() || skeys_disable(&plugin_key) ||
	    plugin_site())
		return 1;
	return 0;
}
