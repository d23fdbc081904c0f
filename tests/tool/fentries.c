/* SPDX-License-Identifier: MIT */
/*
 * Function entries for the golden dump: functions with the attribute of
 * -fpatchable-function-entry=7,2 (two nops before each symbol, five at its
 * entry; the attribute, not the flag, so that what a sanitizer or coverage
 * build adds has none), one function without nops, one key so that the
 * module has a site too.
 */
#include <skeys.h>

#define PATCHABLE __attribute__((patchable_function_entry(7, 2)))

SKEYS_DEFINE_FALSE(fentries_key);

static volatile int zero;

int fentries_one(int x);
int fentries_plain(int x);

PATCHABLE __attribute__((noinline)) int fentries_one(int x)
{
	return x + 1 + zero;
}

PATCHABLE __attribute__((noinline)) static int fentries_local(int x)
{
	if (skeys_branch_unlikely(&fentries_key))
		return -x;
	return x * 2 + zero;
}

int (*volatile fentries_ptr)(int) = fentries_local;

__attribute__((noinline, patchable_function_entry(0, 0))) int fentries_plain(int x)
{
	return x + zero;
}

PATCHABLE int main(void)
{
	return fentries_one(0) + fentries_ptr(0) + fentries_plain(0);
}
