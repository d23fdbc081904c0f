/* SPDX-License-Identifier: MIT */
/*
 * livepatch: replace a buggy function while the program runs, then put it
 * back.
 *
 * days_in_february() has a bug: it follows the Julian rule, so 1900 gets
 * 29 days. The fix lives in a separate shared library, fix.so, built apart
 * and loaded at run time, as a live patch would be. skeys_entry_redirect()
 * turns the first 5 bytes of days_in_february (nops, from
 * -fpatchable-function-entry=5, checked by skeys-seal) into a jump to the
 * fixed function: every later call, from any thread, runs the fix, while a
 * worker thread keeps calling it. skeys_entry_restore() undoes it.
 *
 * The replacement must have the same type as the function it replaces
 * (that is the caller's responsibility). A thread already inside the old
 * body when the redirection lands finishes the old body; calls made after
 * skeys_entry_redirect() returns run the new one. There is no consistency
 * model beyond that (the kernel's livepatch waits for every task to leave
 * the patched functions; this does not).
 *
 *   ./livepatch [path/to/fix.so]   (default: fix.so next to the program)
 */
#define _GNU_SOURCE
#include <skeys.h>

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The bug: every fourth year is a leap year (1900 was not). */
__attribute__((noinline)) int days_in_february(int year)
{
	return year % 4 == 0 ? 29 : 28;
}

static volatile int year = 1900; /* read at run time: no call is folded away */
static atomic_bool stop;
static atomic_ulong calls, answers[2]; /* 28, 29 */

static void *worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		int d = days_in_february(year);

		atomic_fetch_add(&answers[d == 29], 1);
		atomic_fetch_add(&calls, 1);
	}
	return NULL;
}

/* Let the worker make some calls in the current state. */
static void let_run(void)
{
	unsigned long until = atomic_load(&calls) + 1000;

	while (atomic_load(&calls) < until)
		usleep(100);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], self[PATH_MAX];
	int (*fixed)(int);
	pthread_t t;
	void *lib;
	unsigned long said28, said29;
	int err, before, patched, after;

	if (argc > 1) {
		snprintf(path, sizeof(path), "%s", argv[1]);
	} else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		self[n > 0 ? n : 0] = 0;
		snprintf(path, sizeof(path), "%s/fix.so", n > 0 ? dirname(self) : ".");
	}
	pthread_create(&t, NULL, worker, NULL);
	before = days_in_february(year);
	printf("before: February %d has %d days\n", year, before);
	let_run();

	lib = dlopen(path, RTLD_NOW);
	fixed = lib ? (int (*)(int))dlsym(lib, "days_in_february_fixed") : NULL;
	if (!fixed) {
		fprintf(stderr, "livepatch: %s\n", dlerror());
		return 1;
	}
	err = skeys_entry_redirect((void *)days_in_february, (void *)fixed);
	if (err) {
		fprintf(stderr, "livepatch: skeys_entry_redirect: %s\n", skeys_strerror(err));
		return 1;
	}
	patched = days_in_february(year);
	printf("patched: February %d has %d days\n", year, patched);
	atomic_store(&answers[0], 0);
	atomic_store(&answers[1], 0);
	let_run();
	/*
	 * Every call the worker made since the redirection returned ran the
	 * fix; one call that was inside the old body then may count as 29.
	 */
	said28 = atomic_load(&answers[0]);
	said29 = atomic_load(&answers[1]);
	printf("worker while patched: %lu calls said 28, %lu said 29\n", said28, said29);

	err = skeys_entry_restore((void *)days_in_february);
	if (err) {
		fprintf(stderr, "livepatch: skeys_entry_restore: %s\n", skeys_strerror(err));
		return 1;
	}
	after = days_in_february(year);
	printf("restored: February %d has %d days\n", year, after);
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	return before == 29 && patched == 28 && after == 29 && said28 > 0 && said29 <= 1 ? 0 : 1;
}
