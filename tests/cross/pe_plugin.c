/* SPDX-License-Identifier: MIT */
/* A DLL loaded and unloaded at run time by pe_prot.c: it registers and unregisters itself. */
#include <skeys.h>

SKEYS_DEFINE_FALSE(plugin_key);

__attribute__((noinline)) static int plugin_site(void)
{
	if (skeys_branch_unlikely(&plugin_key))
		return 1;
	return 0;
}

/* 0 when the plugin's key toggles its site both ways. */
__declspec(dllexport) int plugin_check(void);
__declspec(dllexport) int plugin_check(void)
{
	if (plugin_site() != 0 || skeys_enable(&plugin_key) || plugin_site() != 1 ||
	    skeys_disable(&plugin_key) || plugin_site() != 0)
		return 1;
	return 0;
}
