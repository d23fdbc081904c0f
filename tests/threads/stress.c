/* SPDX-License-Identifier: MIT */
/*
 * Toggling while other threads run the sites: `stress procmem|mprotect`,
 * `contention`, `chain`, `single`.
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
#include <skeys.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
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

#define FAR __attribute__((noinline, aligned(8192)))
#define NEAR __attribute__((noinline))

/* Sites of all keys share pages (NEAR), and some sit alone in theirs (FAR). */
NEAR static int k0_u(void) { return skeys_branch_unlikely(&k0); }
NEAR static int k1_u(void) { return skeys_branch_unlikely(&k1); }
NEAR static int k2_l(void) { return skeys_branch_likely(&k2); }
NEAR static int k0_l(void) { return skeys_branch_likely(&k0); }
FAR static int k1_l(void) { return skeys_branch_likely(&k1); }
FAR static int k2_u(void) { return skeys_branch_unlikely(&k2); }
FAR static int k0_far(void) { return skeys_branch_unlikely(&k0); }
NEAR static int shared_u(void) { return skeys_branch_unlikely(&shared_key); }
FAR static int shared_l(void) { return skeys_branch_likely(&shared_key); }
NEAR static int flip_u(void) { return skeys_branch_unlikely(&flip_key); }
NEAR static int flip_l(void) { return skeys_branch_likely(&flip_key); }

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

static atomic_bool stop;
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

static bool wx_mapping(void)
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

static double now(void)
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
		pthread_join(r[i], NULL);
		total += atomic_load(&keys[i].done);
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
	long id = (long)arg;

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

	for (long i = 0; i < 4; i++)
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

static volatile sig_atomic_t user_traps;

static void user_handler(int sig)
{
	(void)sig;
	user_traps++;
}

static void *idle(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		k0_u();
	return NULL;
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
	__asm__ volatile("int3");
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	if (user_traps != 2) {
		fprintf(stderr, "chain: the earlier handler saw %d of 2 traps\n", (int)user_traps);
		return 1;
	}
	return 0;
}

void skeys__set_phase_hook(void (*hook)(unsigned phase, uintptr_t first_site));

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

static int phase_failures;

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
	return phase_failures ? 1 : 0;
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

int main(int argc, char **argv)
{
	const char *t = argc > 1 ? argv[1] : "";
	const char *m = argc > 2 ? argv[2] : "";

	/*
	 * Valgrind runs its translation of the old code after a write through
	 * /proc/self/mem, even with --smc-check=all: a runner executes an int3
	 * the toggle already replaced, and dies of SIGTRAP. mprotect and plain
	 * stores it sees (it discards translations of the page).
	 */
	if (!strcmp(t, "stress") && strcmp(m, "mprotect") && getenv("SKEYS_UNDER_VALGRIND")) {
		printf("SKIP: valgrind does not see code written through /proc/self/mem\n");
		return 77;
	}
	if (!strcmp(t, "stress"))
		return run_stress(!strcmp(m, "mprotect") ? SKEYS_WRITE_MPROTECT : SKEYS_WRITE_PROCMEM);
	if (!strcmp(t, "contention"))
		return run_contention();
	if (!strcmp(t, "chain"))
		return run_chain();
	if (!strcmp(t, "single"))
		return run_single();
	if (!strcmp(t, "trap"))
		return run_trap();
	fprintf(stderr, "usage: %s stress procmem|mprotect | contention | chain | single\n", argv[0]);
	return 64;
}
