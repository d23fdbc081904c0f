/* SPDX-License-Identifier: MIT */
/* What the POSIX ports (Linux, Darwin) share: signals and fork. */
#include "../internal.h"

#include <pthread.h>
#include <signal.h>

/*
 * The signals a fault raises stay open: the kernel kills a thread that
 * faults with them blocked. One saved mask: skeys_lock is held.
 */
static sigset_t signals_held;

void skeys_os_signals_hold(void)
{
	static const int faults[] = { SIGTRAP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS };
	sigset_t all;
	size_t i;

	sigfillset(&all);
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&all, faults[i]);
	pthread_sigmask(SIG_BLOCK, &all, &signals_held);
}

void skeys_os_signals_release(void)
{
	pthread_sigmask(SIG_SETMASK, &signals_held, NULL);
}

int skeys_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	return -pthread_atfork(prepare, parent, child);
}
