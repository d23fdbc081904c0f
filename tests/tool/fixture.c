/* SPDX-License-Identifier: MIT */
/*
 * Tool fixture: every combination of likely/unlikely and TRUE/FALSE key in a
 * function of its own, plus one function with sites of both keys. The names
 * are what the golden files check; keep them stable.
 */
#include <skeys.h>
#if __STDC_HOSTED__
#include <stdio.h>
#else
int printf(const char *fmt, ...); /* Mach-O fixtures: built freestanding here, no SDK */
#endif

#define NOINLINE __attribute__((noinline))

SKEYS_DEFINE_FALSE(key_false);
SKEYS_DEFINE_TRUE(key_true);

/* Exported so that the compiler keeps them whole, under these names. */
int unlikely_on_false(int x);
int likely_on_false(int x);
int unlikely_on_true(int x);
int likely_on_true(int x);
int both_keys(int x);

NOINLINE int unlikely_on_false(int x)
{
	if (skeys_branch_unlikely(&key_false))
		return x * 3 + 1;
	return x;
}

NOINLINE int likely_on_false(int x)
{
	if (skeys_branch_likely(&key_false))
		return x * 5 + 2;
	return x;
}

NOINLINE int unlikely_on_true(int x)
{
	if (skeys_branch_unlikely(&key_true))
		return x * 7 + 3;
	return x;
}

NOINLINE int likely_on_true(int x)
{
	if (skeys_branch_likely(&key_true))
		return x * 9 + 4;
	return x;
}

NOINLINE int both_keys(int x)
{
	if (skeys_branch_unlikely(&key_false))
		x += 11;
	if (skeys_branch_likely(&key_true))
		x *= 13;
	return x;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d\n", unlikely_on_false(argc) + likely_on_false(argc) +
			       unlikely_on_true(argc) + likely_on_true(argc) +
			       both_keys(argc));
	return 0;
}
