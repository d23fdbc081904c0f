/* SPDX-License-Identifier: MIT */
/* The patchable functions, in the program or in a shared library (-DWITH_LIB). */
#include "entries.h"

#include <skeys.h>

/* noinline and a volatile read: each call is a real call of the function. */
static volatile int zero;

__attribute__((noinline)) int ent_add1(int x)
{
	return x + 1 + zero;
}

__attribute__((noinline)) int ent_add2(int x)
{
	return x + 2 + zero;
}

__attribute__((noinline)) int ent_mul3(int x)
{
	return x * 3 + zero;
}

__attribute__((noinline, patchable_function_entry(0, 0))) int ent_plain(int x)
{
	return x + zero;
}
