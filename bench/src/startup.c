/* SPDX-License-Identifier: MIT */
/*
 * Entry point of the generated many-site binaries (the sites are in
 * tests/tool/many_sites.S). Two constructors bracket the one that registers
 * the module with the runtime (priority 100): main prints the time between
 * them, in nanoseconds.
 */
#include <skeys.h>
#include <stdio.h>
#include <time.h>

SKEYS_DEFINE_FALSE(many_key_a);
SKEYS_DEFINE_FALSE(many_key_b);

void many_sites(void);

static long long t_before, t_after;

static long long now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

__attribute__((constructor(50))) static void before(void)
{
	t_before = now();
}

__attribute__((constructor(150))) static void after(void)
{
	t_after = now();
}

int main(int argc, char **argv)
{
	many_sites();
	if (argc > 1) /* the keys toggle: the table was usable */
		if (skeys_enable(&many_key_a) || skeys_disable(&many_key_a))
			return 1;
	printf("%lld\n", t_after - t_before);
	return 0;
}
