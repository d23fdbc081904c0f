/* SPDX-License-Identifier: MIT */
/* Tool fixture: a shared library with sites of its own key. */
#include <skeys.h>

SKEYS_DEFINE_FALSE(lib_key);

int lib_unlikely(int x);
int lib_likely(int x);

__attribute__((noinline)) int lib_unlikely(int x)
{
	if (skeys_branch_unlikely(&lib_key))
		return x + 1;
	return x;
}

__attribute__((noinline)) int lib_likely(int x)
{
	if (skeys_branch_likely(&lib_key))
		return x + 2;
	return x;
}
