/* SPDX-License-Identifier: MIT */
/*
 * Toggling while other threads run the sites: `stress procmem|mprotect`,
 * `contention`, `trap`, and the modes of the OS (stress-linux.c,
 * stress-windows.c). Linux and Windows (under wine).
 *
 * Runners execute the sites of three keys in tight loops. Togglers switch
 * them and publish, per key, the number of finished toggles (`done`) and of
 * started ones (`started`). A runner that reads done == started before and
 * after running a site saw no toggle in flight, so the site must show the
 * state of the last finished toggle: that is "every thread takes the new
 * path once the call returned". After every toggle no mapping may be
 * writable and executable.
 */
#define _GNU_SOURCE
#include "stress.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

SKEYS_DEFINE_FALSE(k0);
SKEYS_DEFINE_FALSE(k1);
SKEYS_DEFINE_TRUE(k2);
SKEYS_DEFINE_FALSE(shared_key); /* inc/dec by several threads at once */
SKEYS_DEFINE_TRUE(flip_key);     /* enable/disable by several threads at once */

#define FAR_FN __attribute__((noinline, aligned(8192)))
#define NEAR_FN __attribute__((noinline))

/* Sites of all keys share pages (NEAR_FN), and some sit alone in theirs (FAR_FN). */
NEAR_FN int k0_u(void) { return skeys_branch_unlikely(&k0); }
NEAR_FN static int k1_u(void) { return skeys_branch_unlikely(&k1); }
NEAR_FN static int k2_l(void) { return skeys_branch_likely(&k2); }
NEAR_FN static int k0_l(void) { return skeys_branch_likely(&k0); }
FAR_FN static int k1_l(void) { return skeys_branch_likely(&k1); }
FAR_FN static int k2_u(void) { return skeys_branch_unlikely(&k2); }
FAR_FN static int k0_far(void) { return skeys_branch_unlikely(&k0); }
NEAR_FN static int shared_u(void) { return skeys_branch_unlikely(&shared_key); }
FAR_FN static int shared_l(void) { return skeys_branch_likely(&shared_key); }
NEAR_FN static int flip_u(void) { return skeys_branch_unlikely(&flip_key); }
NEAR_FN static int flip_l(void) { return skeys_branch_likely(&flip_key); }

struct key_under_test {
	struct skeys_key *key;
	bool initial;
	int (*site[3])(void);
	atomic_ulong started, done;
};

static struct key_under_test keys[3] = {
	{ .key = &k0.key, .initial = false, .site = { k0_u, k0_l, k0_far } },
	{ .key = &k1.key, .initial = false, .site = { k1_u, k1_l, NULL } },
	{ .key = &k2.key, .initial = true, .site = { k2_l, k2_u, NULL } },
};

atomic_bool stop;
static atomic_ulong stale, checked, failures;
static pthread_mutex_t toggle_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	atomic_fetch_add(&failures, 1);
}

static void *runner(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		for (int i = 0; i < 3; i++) {
			struct key_under_test *k = &keys[i];
			unsigned long d = atomic_load(&k->done);
			bool on = k->initial ^ (d & 1);
			int got[3] = { -1, -1, -1 };

			for (int s = 0; s < 3 && k->site[s]; s++)
				got[s] = k->site[s]();
			if (atomic_load(&k->started) != d || atomic_load(&k->done) != d)
				continue; /* a toggle was in flight: either state is right */
			atomic_fetch_add(&checked, 1);
			for (int s = 0; s < 3 && k->site[s]; s++)
				if (got[s] != on) {
					atomic_fetch_add(&stale, 1);
					fail("stale site: key k%d after %lu toggles\n", i, d);
				}
		}
	}
	return NULL;
}


double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *toggler(void *arg)
{
	struct key_under_test *k = arg;
	double end = now() + 1.5;

	while (now() < end) {
		unsigned long d = atomic_load(&k->done);
		bool on = !(k->initial ^ (d & 1));
		int err;

		/* Toggle and check maps with no other toggle in flight. */
		pthread_mutex_lock(&toggle_lock);
		atomic_store(&k->started, d + 1);
		err = on ? skeys_key_enable(k->key) : skeys_key_disable(k->key);
		if (err)
			fail("toggle failed: %s (%d)\n", skeys_strerror(err), err);
		atomic_store(&k->done, d + 1);
		if (wx_mapping())
			fail("W+X mapping after toggle %lu\n", d + 1);
		pthread_mutex_unlock(&toggle_lock);
	}
	return NULL;
}

static int run_stress(enum skeys_write_method method)
{
	pthread_t r[3], t[3];
	unsigned long total = 0;

	if (skeys_set_write_method(method))
		return 2;
	for (int i = 0; i < 3; i++)
		pthread_create(&r[i], NULL, runner, NULL);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, toggler, &keys[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++) {
		struct key_under_test *k = &keys[i];
		unsigned long d = atomic_load(&k->done);
		bool on = k->initial ^ (d & 1);

		pthread_join(r[i], NULL);
		total += d;
		/* The toggles add up: an odd number left the key and its sites switched. */
		if (skeys_key_enabled(k->key) != on)
			fail("key k%d is %s after %lu toggles\n", i, on ? "off" : "on", d);
		for (int j = 0; j < 3 && k->site[j]; j++)
			if (k->site[j]() != on)
				fail("a site of k%d is %s after %lu toggles\n", i, on ? "off" : "on", d);
	}
	printf("%lu toggles, %lu quiet observations checked, %lu stale\n", total,
	       atomic_load(&checked), atomic_load(&stale));
	if (total < 10 || atomic_load(&checked) < 1000) {
		fprintf(stderr, "too little happened to tell anything\n");
		return 1;
	}
	return atomic_load(&failures) ? 1 : 0;
}

/*
 * Threads inc/dec one key and enable/disable another, whose sites share
 * pages, all at once: no update is lost and the code ends matching the keys.
 */
static void *contender(void *arg)
{
	intptr_t id = (intptr_t)arg;

	for (int i = 0; i < 400; i++) {
		int err;

		if (id % 2) {
			err = skeys_inc(&shared_key);
			if (!err)
				err = skeys_dec(&shared_key);
		} else {
			err = (i + id / 2) % 2 ? skeys_enable(&flip_key) : skeys_disable(&flip_key);
		}
		if (err)
			fail("contention: %s (%d)\n", skeys_strerror(err), err);
	}
	return NULL;
}

static int run_contention(void)
{
	pthread_t t[4];
	bool on;

	for (intptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, contender, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	on = skeys_enabled(&flip_key);
	if (flip_u() != on || flip_l() != on) {
		fprintf(stderr, "contention: flip_key %s but its sites say %d/%d\n",
			on ? "on" : "off", flip_u(), flip_l());
		return 1;
	}
	/* Every inc had its dec: the count is back to zero and the sites off. */
	if (skeys_enabled(&shared_key) || shared_u() || shared_l() ||
	    skeys_dec(&shared_key) != SKEYS_ERR_COUNT) {
		fprintf(stderr, "contention: shared_key did not end at count 0\n");
		return 1;
	}
	return atomic_load(&failures) ? 1 : 0;
}

static atomic_int probe_phase = -1, probe_result = -1;

static void *probe(void *arg)
{
	(void)arg;
	for (;;) {
		int ph = atomic_load(&probe_phase);

		if (ph == -2)
			return NULL;
		if (ph >= 0 && atomic_load(&probe_result) == -1)
			atomic_store(&probe_result, k0_u());
	}
}

static int phase_failures, probes;

/* Between phases, run the site from another thread: it must take a valid path. */
static void hook(unsigned phase, uintptr_t first)
{
	const unsigned char *b = (const unsigned char *)first;
	int r;

	if (first != (uintptr_t)k0_u)
		return;
	if (phase < 2 && b[0] != 0xcc) {
		fprintf(stderr, "trap: after phase %u the site does not start with int3\n", phase);
		phase_failures++;
	}
	atomic_store(&probe_result, -1);
	atomic_store(&probe_phase, (int)phase);
	while ((r = atomic_load(&probe_result)) == -1)
		;
	atomic_store(&probe_phase, -1);
	/*
	 * The key's count changes when the toggle returns, so the path being
	 * switched to is the opposite of skeys_enabled(); the handler sends a
	 * trapped thread there.
	 */
	if (r != !skeys_enabled(&k0)) {
		fprintf(stderr, "trap: after phase %u the site took the old path\n", phase);
		phase_failures++;
	}
	printf("phase %u: site took the %s path\n", phase, r ? "enabled" : "disabled");
	probes++;
}

/*
 * A thread that runs a site while it holds int3 is sent on by the trap
 * handler and never crashes; after the last phase it takes the new path.
 */
static int run_trap(void)
{
	pthread_t t;

	pthread_create(&t, NULL, probe, NULL);
	skeys__set_phase_hook(hook);
	if (skeys_enable(&k0) || k0_u() != 1 || skeys_disable(&k0) || k0_u() != 0) {
		fprintf(stderr, "trap: toggles failed\n");
		phase_failures++;
	}
	skeys__set_phase_hook(NULL);
	atomic_store(&probe_phase, -2);
	pthread_join(t, NULL);
	/* Three phases in each of the two toggles, each probed: else nothing was tested. */
	if (probes != 6) {
		fprintf(stderr, "trap: %d of 6 phases probed\n", probes);
		phase_failures++;
	}
	return phase_failures ? 1 : 0;
}

void *idle(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		k0_u();
	return NULL;
}

static int run(const char *t, const char *m)
{
	int status;

	/*
	 * Valgrind runs one thread at a time: the signal synchronisation takes
	 * about a second a switch there, too few switches to tell anything
	 * (threads@trap-signals covers it under valgrind).
	 */
	if (!strcmp(t, "stress") && getenv("SKEYS_UNDER_VALGRIND") && getenv("SKEYS_SYNC")) {
		printf("SKIP: the signal synchronisation is too slow under valgrind\n");
		return 77;
	}
	if (!strcmp(t, "stress"))
		return run_stress(!strcmp(m, "mprotect") ? SKEYS_WRITE_MPROTECT : SKEYS_WRITE_PROCMEM);
	if (!strcmp(t, "contention"))
		return run_contention();
	if (!strcmp(t, "trap"))
		return run_trap();
	status = stress_os_mode(t, m);
	if (status >= 0)
		return status;
	fprintf(stderr, "usage: stress stress procmem|mprotect | contention | trap | %s\n",
		stress_os_modes);
	return 64;
}

int main(int argc, char **argv)
{
	int status = run(argc > 1 ? argv[1] : "", argc > 2 ? argv[2] : "");

#if defined(_WIN32)
	/* wine exits 0 from some crashes: wine-run.sh wants this line as well. */
	if (status == 0)
		printf("OK\n");
#endif
	return status;
}
