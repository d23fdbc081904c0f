/* SPDX-License-Identifier: MIT */
/*
 * Tool fixture: a shared library with sites of its own key, a key it only
 * exports (no site here: skeys-dump lists it from the names table), and an
 * array of keys with a site of element 0 (named lib_arr[0]; clang 14 for
 * arm64 Mach-O takes no element at an offset as an "S" operand).
 */
#include <skeys.h>

SKEYS_DEFINE_FALSE(lib_key);
SKEYS_DEFINE_TRUE(lib_exported_only);
SKEYS_EXPORT(lib_exported_only);
/* As <skeys/kernel.h>'s DEFINE_STATIC_KEY_ARRAY_FALSE names its arrays. */
SKEYS__KEY_ATTR struct skeys_key_false lib_arr[2] = { SKEYS__KEY_INIT(0), SKEYS__KEY_INIT(0) };
SKEYS__NAME(lib_arr, skeys_key_false, &lib_arr[0].key, 2);

int lib_arr0(int x);

__attribute__((noinline)) int lib_arr0(int x)
{
	if (skeys_branch_unlikely(&lib_arr[0]))
		return x + 3;
	return x;
}

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
