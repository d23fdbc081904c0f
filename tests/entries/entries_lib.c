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

/* A checksum in which every argument has its own weight: a changed one shows. */
__attribute__((noinline)) long ent_args(long a, long b, long c, long d, long e, long f, long g,
					long h, double d0, double d1, double d2, double d3,
					double d4, double d5, double d6, double d7)
{
	return a + 3 * b + 5 * c + 7 * d + 11 * e + 13 * f + 17 * g + 19 * h + zero +
	       (long)(d0 * 2 + d1 * 4 + d2 * 8 + d3 * 16 + d4 * 32 + d5 * 64 + d6 * 128 + d7 * 256);
}

__attribute__((noinline)) struct ent_big ent_big(long a, double x)
{
	struct ent_big r = { { a, a + 1, a + 2, a + 3, (long)x + zero } };

	return r;
}

#if defined(__i386__)
__attribute__((noinline, regparm(3))) int ent_regparm(int a, int b, int c)
{
	return a + 10 * b + 100 * c + zero;
}

__attribute__((noinline, fastcall)) int ent_fastcall(int a, int b, int c)
{
	return a + 10 * b + 100 * c + zero;
}
#endif

__attribute__((noinline, patchable_function_entry(0, 0))) int ent_plain(int x)
{
	return x + zero;
}
