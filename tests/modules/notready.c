/* SPDX-License-Identifier: MIT */
/*
 * `notready preinit|lib-constructor|lib-destructor`: real keys switched
 * while their module is not registered get SKEYS_ERR_NOTREADY, not
 * SKEYS_ERR_NOTKEY: from .preinit_array (before any constructor), from a
 * shared library's constructor (before the executable's), and from a
 * library's destructor at exit (after the executable's). Between those,
 * the same keys switch as usual.
 */
#include "../testing.h"

#include <skeys.h>

#include <string.h>

SKEYS_DEFINE_FALSE(exe_key);
SKEYS_EXPORT(exe_key);

extern int notready_ctor_err, notready_check_at_exit;
int notready_lib_site(void);

static int preinit_err = 1;

static void switch_first(void)
{
	preinit_err = skeys_enable(&exe_key);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(void) = switch_first;

__attribute__((noinline)) static int exe_site(void)
{
	return skeys_branch_unlikely(&exe_key);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "preinit")) {
		CHECK_ERR(preinit_err, SKEYS_ERR_NOTREADY);
	} else if (!strcmp(mode, "lib-constructor")) {
		CHECK_ERR(notready_ctor_err, SKEYS_ERR_NOTREADY);
	} else if (strcmp(mode, "lib-destructor")) {
		fprintf(stderr, "usage: notready preinit|lib-constructor|lib-destructor\n");
		return 64;
	}
	/* Nothing was switched early, and from main() on the key works. */
	CHECK(!skeys_enabled(&exe_key) && !exe_site() && !notready_lib_site());
	CHECK_ERR(skeys_enable(&exe_key), 0);
	CHECK(exe_site() && notready_lib_site());
	if (!strcmp(mode, "lib-destructor")) {
		notready_check_at_exit = 1;
		return failures ? 1 : 3;
	}
	return failures != 0;
}
