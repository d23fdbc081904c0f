/* SPDX-License-Identifier: MIT */
/*
 * A plugin the test program loads and unloads (dlopen, dlclose): it imports
 * the library's call too. Updated through this proxy, the proxy is then
 * rewritten by every update, until the plugin goes.
 */
#include "calls.h"

#include <skeys.h>

SKEYS_IMPORT_CALL(shared_op, lib_add10);

int plugin_call(int x)
{
	return skeys_call(shared_op)(x);
}

int plugin_update(int (*fn)(int))
{
	return skeys_call_update(shared_op, fn);
}
