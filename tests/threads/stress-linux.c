/* SPDX-License-Identifier: MIT */
/* tests/threads on Linux: the SIGTRAP side of the protocol (see stress.c). */
#define _GNU_SOURCE
#include "stress.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool wx_mapping(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[8], path[256];
	bool found = false;
	/*
	 * Valgrind keeps its translated code in anonymous rwx mappings of its
	 * own; under it (the valgrind test setup) only file-backed code counts.
	 */
	bool own_only = getenv("SKEYS_UNDER_VALGRIND") != NULL;

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x' &&
		    !(own_only && sscanf(line, "%*s %*s %*s %*s %*s %255s", path) != 1)) {
			fprintf(stderr, "writable and executable: %s", line);
			found = true;
		}
	fclose(f);
	return found;
}

static volatile sig_atomic_t user_traps;

static void user_handler(int sig)
{
	(void)sig;
	user_traps++;
}

/* Our SIGTRAP handler leaves other traps to the handler installed before it. */
static int run_chain(void)
{
	pthread_t t;

	signal(SIGTRAP, user_handler);
	pthread_create(&t, NULL, idle, NULL);
	if (skeys_enable(&k0) || skeys_disable(&k0)) {
		fprintf(stderr, "chain: toggle failed\n");
		return 1;
	}
	raise(SIGTRAP);
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("int3");
	enum { TRAPS = 2 };
#else
	enum { TRAPS = 1 }; /* the protocol and its handler are x86's */
#endif
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	if (user_traps != TRAPS) {
		fprintf(stderr, "chain: the earlier handler saw %d of %d traps\n", (int)user_traps,
			TRAPS);
		return 1;
	}
	return 0;
}

/* One thread: no trap handler, no protocol. */
static int run_single(void)
{
	struct sigaction sa;

	if (skeys_enable(&k0) || !k0_u() || skeys_disable(&k0) || k0_u())
		return 1;
	if (sigaction(SIGTRAP, NULL, &sa) || sa.sa_handler != SIG_DFL) {
		fprintf(stderr, "single: a SIGTRAP handler was installed in a one-thread process\n");
		return 1;
	}
	return 0;
}

const char stress_os_modes[] = "chain | single | nested procmem|mprotect | fork | deadlock | "
				"torn | noproc | follow | gdb-break";

int stress_os_mode(const char *mode, const char *arg)
{
	if (!strcmp(mode, "chain"))
		return run_chain();
	if (!strcmp(mode, "single"))
		return run_single();
	return hostile_mode(mode, arg);
}
