/* SPDX-License-Identifier: MIT */
/*
 * `calls_hostile deadlock|preinit`: the errors skeys(3) documents for
 * static calls, with the static runtime (its test-only phase hook).
 *  - deadlock: a SIGUSR1 handler updates a call in the middle of another
 *    call's update on the same thread (a second thread makes the update
 *    take the int3 protocol, whose phases the hook sees): -EDEADLK, nothing
 *    written, and afterwards the call updates as usual.
 *  - preinit: a call updated from .preinit_array, before the executable's
 *    module registered: SKEYS_ERR_NOTREADY, the call unchanged; from
 *    main() on it updates.
 */
#include "../testing.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <skeys.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

void skeys__set_phase_hook(void (*hook)(unsigned phase, uintptr_t first_site));

int add1(int x);
int add2(int x);
int add1(int x)
{
	return x + 1;
}
int add2(int x)
{
	return x + 2;
}

SKEYS_DEFINE_CALL(outer, add1);
SKEYS_DEFINE_CALL(inner, add1);

/* ---- deadlock ----------------------------------------------------------- */

static volatile sig_atomic_t handler_err = 1;
static atomic_bool stop;

static void update_in_handler(int sig)
{
	(void)sig;
	handler_err = skeys_call_update(inner, add2);
}

static void raise_between_phases(unsigned phase, uintptr_t first)
{
	(void)first;
	if (phase == 0)
		raise(SIGUSR1);
}

static void *caller(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!atomic_load(&stop))
		n += (unsigned long)skeys_call(outer)(1) + (unsigned long)skeys_call(inner)(1);
	return (void *)n;
}

static int run_deadlock(void)
{
	pthread_t t;
	int err;

	signal(SIGUSR1, update_in_handler);
	/*
	 * From no target, so that the update below rewrites the slot whatever
	 * form add2 takes (a Thumb add2 on arm is far, as compiled: that
	 * update would store the literal alone, with no phase to interrupt).
	 */
	CHECK_ERR(skeys_call_update(outer, NULL), 0);
	CHECK(pthread_create(&t, NULL, caller, NULL) == 0);
	alarm(10); /* a handler waiting for its own thread's lock never returns */
	skeys__set_phase_hook(raise_between_phases);
	err = skeys_call_update(outer, add2);
	skeys__set_phase_hook(NULL);
	atomic_store(&stop, true);
	CHECK(pthread_join(t, NULL) == 0);
	if (handler_err == 1)
		fprintf(stderr, "deadlock: the handler never ran (no phase of the update?)\n");
	CHECK_ERR(err, 0);
	CHECK_ERR(handler_err, -EDEADLK);
	CHECK(skeys_call(outer)(1) == 3 && skeys_call_query(outer) == add2);
	/* The refusal wrote nothing, and left nothing behind. */
	CHECK(skeys_call(inner)(1) == 2 && skeys_call_query(inner) == add1);
	CHECK_ERR(skeys_call_update(inner, add2), 0);
	CHECK(skeys_call(inner)(1) == 3 && skeys_call_query(inner) == add2);
	return failures != 0;
}

/* ---- preinit ------------------------------------------------------------ */

static int preinit_err = 1;

static void update_first(void)
{
	preinit_err = skeys_call_update(outer, add2);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(void) = update_first;

static int run_preinit(void)
{
	CHECK_ERR(preinit_err, SKEYS_ERR_NOTREADY);
	CHECK(skeys_call(outer)(1) == 2 && skeys_call_query(outer) == add1);
	CHECK_ERR(skeys_call_update(outer, add2), 0);
	CHECK(skeys_call(outer)(1) == 3 && skeys_call_query(outer) == add2);
	return failures != 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "deadlock"))
		return run_deadlock();
	if (!strcmp(mode, "preinit"))
		return run_preinit();
	fprintf(stderr, "usage: calls_hostile deadlock|preinit\n");
	return 64;
}
