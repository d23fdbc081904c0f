/* SPDX-License-Identifier: MIT */
/*
 * libnotready.so: imports the executable's key and switches it from its
 * constructor (before the executable registered) and its destructor (at
 * exit, after the executable unregistered). See notready.c.
 */
#include <skeys.h>

#include <stdio.h>
#include <unistd.h>

SKEYS_IMPORT_FALSE(exe_key);

int notready_ctor_err = 1;
int notready_check_at_exit;

int notready_lib_site(void);
int notready_lib_site(void)
{
	return skeys_branch_unlikely(&exe_key);
}

__attribute__((constructor)) static void switch_early(void)
{
	notready_ctor_err = skeys_enable(&exe_key);
}

/* Decides the exit status when asked to: main() returns 3, which means this never ran. */
__attribute__((destructor)) static void switch_late(void)
{
	int err = skeys_disable(&exe_key);

	if (!notready_check_at_exit)
		return;
	printf("library destructor at exit: %d (%s)\n", err, skeys_strerror(err));
	fflush(stdout);
	_exit(err == SKEYS_ERR_NOTREADY ? 0 : 1);
}
