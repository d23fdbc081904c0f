/* SPDX-License-Identifier: MIT */
/*
 * skeys demo: a tracing switch that costs one nop while it is off, and a
 * fast path that is on by default. Each request prints the path it took;
 * switching a key rewrites the code of every site that tests it.
 *
 *   cc -O2 demo.c $(pkg-config --cflags --libs skeys) -o demo
 *   skeys-seal demo          # after every link: checks and seals the sites
 *   skeys-dump demo          # the sites: nop or jmp, and their keys
 *   ./demo
 *
 * Exit status: 0 when every request took the path its keys ask for, 1 if
 * not, or if a switch was refused (for instance: the binary is not sealed).
 */
#include <skeys.h>
#include <stdio.h>
#include <stdlib.h>

SKEYS_DEFINE_FALSE(tracing);  /* off: the site is a nop */
SKEYS_DEFINE_TRUE(fast_path); /* on: the site is a nop, the fast path falls through */

static int requests;

/* Kept out of line: the hot function holds only the site. */
__attribute__((noinline, cold)) static void trace(int id)
{
	printf("    trace: request %d entered handle()\n", id);
}

/* Returns 1 when the fast path ran, 0 for the slow one; *traced tells the rest. */
static int handle(int id, int *traced)
{
	*traced = 0;
	if (skeys_branch_unlikely(&tracing)) {
		trace(id);
		*traced = 1;
	}
	if (skeys_branch_likely(&fast_path))
		return 1;
	return 0;
}

static int request(void)
{
	int id = ++requests, traced;
	int fast = handle(id, &traced);
	int ok = fast == skeys_enabled(&fast_path) && traced == skeys_enabled(&tracing);

	printf("  request %d: %s path, %s%s\n", id, fast ? "fast" : "slow",
	       traced ? "traced" : "not traced", ok ? "" : "   <-- WRONG PATH");
	return ok;
}

static void check(const char *what, int err)
{
	printf("%s\n", what);
	if (err) {
		fprintf(stderr, "demo: %s: %s\n", what, skeys_strerror(err));
		exit(1);
	}
}

int main(void)
{
	int ok = 1;

	printf("keys: tracing=%s, fast_path=%s\n", skeys_enabled(&tracing) ? "on" : "off",
	       skeys_enabled(&fast_path) ? "on" : "off");
	ok &= request();

	check("skeys_enable(&tracing)", skeys_enable(&tracing));
	ok &= request();

	check("skeys_disable(&fast_path)", skeys_disable(&fast_path));
	ok &= request();

	check("skeys_disable(&tracing)", skeys_disable(&tracing));
	ok &= request();

	check("skeys_enable(&fast_path)", skeys_enable(&fast_path));
	ok &= request();

	printf(ok ? "demo: every request took the path its keys selected\n"
		  : "demo: FAILED: a site did not follow its key\n");
	return ok ? 0 : 1;
}
