/* SPDX-License-Identifier: MIT */
/*
 * Deferred (rate-limited) keys of <skeys/kernel.h>. Deterministic: a check
 * that a decrement is still pending uses a timeout of minutes; a check that
 * it happened either flushes it or waits for it with a generous deadline.
 * No check depends on how long anything took.
 *
 *   kdeferred CASE     (delay, cancel, non-last, flush, rate-limit, true-key,
 *                       fork, exit, threads)
 * Exit 0 when every check passed, 1 otherwise, 2 usage.
 */
#define _GNU_SOURCE
#include <skeys/kernel.h>

#include <pthread.h>
#include "testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LONG_WAIT (600 * HZ) /* never elapses during a test */
#define SHORT_WAIT (HZ / 50) /* 20 ms */
#define DEADLINE_S 60        /* how long an expected decrement may take, at most */

DEFINE_STATIC_KEY_DEFERRED_FALSE(kd_off, LONG_WAIT);
DEFINE_STATIC_KEY_DEFERRED_FALSE(kd_short, SHORT_WAIT);
DEFINE_STATIC_KEY_DEFERRED_TRUE(kd_on, SHORT_WAIT);
struct static_key_deferred kd_legacy = { STATIC_KEY_INIT_FALSE, 0, { 0, 0, 0, 0 } };

static bool off_site(void)
{
	return static_branch_unlikely(&kd_off.key);
}

static bool short_site(void)
{
	return static_branch_unlikely(&kd_short.key);
}

static bool on_site(void)
{
	return static_branch_likely(&kd_on.key);
}

static bool legacy_site(void)
{
	return static_key_false(&kd_legacy.key);
}

/* Wait until the key's count is `count` (the timer ran); false after DEADLINE_S. */
static bool wait_count(struct static_key *k, int count)
{
	struct timespec d = { 0, 1000000 };
	long i;

	for (i = 0; i < DEADLINE_S * 1000L; i++) {
		if (static_key_count(k) == count)
			return true;
		nanosleep(&d, NULL);
	}
	return false;
}

/* The last decrement waits for the timeout; then the key and its sites go off. */
static void case_delay(void)
{
	CHECK(static_branch_deferred_inc(&kd_off) == 0 && off_site());
	CHECK(static_branch_slow_dec_deferred(&kd_off) == 0);
	CHECK(static_key_count(&kd_off.key.key) == 1 && off_site());
	static_key_deferred_flush(&kd_off);
	CHECK(static_key_count(&kd_off.key.key) == 0 && !off_site());

	/* The timer, not a flush, runs this one. */
	CHECK(static_branch_deferred_inc(&kd_short) == 0 && short_site());
	CHECK(static_branch_slow_dec_deferred(&kd_short) == 0);
	CHECK(wait_count(&kd_short.key.key, 0));
	CHECK(!short_site() && !static_key_enabled(&kd_short.key));
}

/* An increment before the timeout keeps the key on. */
static void case_cancel(void)
{
	CHECK(static_branch_deferred_inc(&kd_off) == 0);
	CHECK(static_branch_slow_dec_deferred(&kd_off) == 0);
	CHECK(static_branch_deferred_inc(&kd_off) == 0);
	static_key_deferred_flush(&kd_off);
	CHECK(static_key_count(&kd_off.key.key) == 1 && off_site());
	CHECK(static_branch_dec(&kd_off.key) == 0 && !off_site());

	/*
	 * With the timer: whether it runs before or after the increment, the
	 * key ends up held once and on.
	 */
	CHECK(static_branch_deferred_inc(&kd_short) == 0);
	CHECK(static_branch_slow_dec_deferred(&kd_short) == 0);
	CHECK(static_branch_deferred_inc(&kd_short) == 0);
	static_key_deferred_flush(&kd_short);
	CHECK(wait_count(&kd_short.key.key, 1) && short_site());
	CHECK(static_branch_dec(&kd_short.key) == 0 && !short_site());
}

/* Decrements that leave the key held take effect at once. */
static void case_non_last(void)
{
	CHECK(static_branch_deferred_inc(&kd_off) == 0);
	CHECK(static_branch_deferred_inc(&kd_off) == 0);
	CHECK(static_branch_deferred_inc(&kd_off) == 0);
	CHECK(static_branch_slow_dec_deferred(&kd_off) == 0);
	CHECK(static_key_count(&kd_off.key.key) == 2);
	CHECK(static_branch_slow_dec_deferred(&kd_off) == 0);
	CHECK(static_key_count(&kd_off.key.key) == 1);
	/* The last one waits; a second one meanwhile is the same pending work. */
	CHECK(static_branch_slow_dec_deferred(&kd_off) == 0);
	CHECK(static_branch_slow_dec_deferred(&kd_off) == 0);
	CHECK(static_key_count(&kd_off.key.key) == 1 && off_site());
	static_key_deferred_flush(&kd_off);
	CHECK(static_key_count(&kd_off.key.key) == 0 && !off_site());
	/* Below zero: refused. */
	CHECK(static_branch_slow_dec_deferred(&kd_off) == SKEYS_ERR_COUNT);
	/* A flush with nothing pending does nothing. */
	static_key_deferred_flush(&kd_off);
	CHECK(static_key_count(&kd_off.key.key) == 0);
}

static void case_flush(void)
{
	CHECK(static_branch_deferred_inc(&kd_off) == 0);
	CHECK(static_branch_slow_dec_deferred(&kd_off) == 0);
	CHECK(off_site());
	static_key_deferred_flush(&kd_off);
	CHECK(!off_site() && !static_key_enabled(&kd_off.key));
}

/* The legacy type, its timeout set by jump_label_rate_limit(). */
static void case_rate_limit(void)
{
	/* No timeout yet: the last decrement takes effect at once. */
	CHECK(static_key_slow_inc(&kd_legacy.key) && legacy_site());
	CHECK(static_key_slow_dec_deferred(&kd_legacy) == 0 && !legacy_site());

	jump_label_rate_limit(&kd_legacy, LONG_WAIT);
	CHECK(kd_legacy.timeout == 600000);
	CHECK(static_key_slow_inc(&kd_legacy.key) && legacy_site());
	CHECK(static_key_slow_dec_deferred(&kd_legacy) == 0 && legacy_site());
	static_key_deferred_flush(&kd_legacy);
	CHECK(!legacy_site());

	jump_label_rate_limit(&kd_legacy, SHORT_WAIT);
	CHECK(kd_legacy.timeout == 20);
	CHECK(static_key_slow_inc(&kd_legacy.key));
	CHECK(static_key_slow_dec_deferred(&kd_legacy) == 0);
	CHECK(wait_count(&kd_legacy.key, 0) && !legacy_site());
}

/* A TRUE key starts held once: its first deferred decrement turns it off. */
static void case_true_key(void)
{
	CHECK(static_key_count(&kd_on.key.key) == 1 && on_site());
	CHECK(static_branch_slow_dec_deferred(&kd_on) == 0);
	CHECK(wait_count(&kd_on.key.key, 0) && !on_site());
	CHECK(static_branch_deferred_inc(&kd_on) == 0 && on_site());
}

/*
 * fork() with a decrement pending: the child inherits it and runs it when
 * it flushes; the parent's timer runs the parent's own.
 */
static void case_fork(void)
{
	pid_t pid;
	int status;

	CHECK(static_branch_deferred_inc(&kd_off) == 0);
	CHECK(static_branch_slow_dec_deferred(&kd_off) == 0);
	CHECK(static_branch_deferred_inc(&kd_short) == 0);
	CHECK(static_branch_slow_dec_deferred(&kd_short) == 0);
	pid = fork();
	if (pid == 0) {
		CHECK(off_site());
		static_key_deferred_flush(&kd_off);
		CHECK(!off_site() && static_key_count(&kd_off.key.key) == 0);
		/* The child's own timer: started again by the flush above. */
		CHECK(wait_count(&kd_short.key.key, 0) && !short_site());
		CHECK(static_branch_deferred_inc(&kd_short) == 0);
		CHECK(static_branch_slow_dec_deferred(&kd_short) == 0);
		CHECK(wait_count(&kd_short.key.key, 0) && !short_site());
		_exit(failures != 0);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		 WEXITSTATUS(status) == 0);
	CHECK(wait_count(&kd_short.key.key, 0) && !short_site());
	CHECK(off_site() && static_key_count(&kd_off.key.key) == 1);
	static_key_deferred_flush(&kd_off);
	CHECK(!off_site());
}

/* Exit with a decrement pending: the timer stops, the process ends (the harness times out otherwise). */
static void case_exit(void)
{
	CHECK(static_branch_deferred_inc(&kd_off) == 0);
	CHECK(static_branch_slow_dec_deferred(&kd_off) == 0);
	CHECK(static_branch_deferred_inc(&kd_short) == 0);
	CHECK(static_branch_slow_dec_deferred(&kd_short) == 0);
}

/* Threads holding and releasing the key while others run its site. */
static volatile int stop_readers;

static void *reader(void *arg)
{
	unsigned long *hits = (unsigned long *)arg;

	while (!__atomic_load_n(&stop_readers, __ATOMIC_RELAXED))
		*hits += short_site();
	return NULL;
}

static void *holder(void *arg)
{
	int i, *errs = (int *)arg;

	for (i = 0; i < 200; i++) {
		*errs += static_branch_deferred_inc(&kd_short) != 0;
		*errs += static_branch_slow_dec_deferred(&kd_short) != 0;
	}
	return NULL;
}

static void case_threads(void)
{
	pthread_t r[2], h[4];
	unsigned long hits[2] = { 0, 0 };
	int errs[4] = { 0, 0, 0, 0 }, i;

	for (i = 0; i < 2; i++)
		CHECK(pthread_create(&r[i], NULL, reader, &hits[i]) == 0);
	for (i = 0; i < 4; i++)
		CHECK(pthread_create(&h[i], NULL, holder, &errs[i]) == 0);
	for (i = 0; i < 4; i++) {
		pthread_join(h[i], NULL);
		CHECK(errs[i] == 0);
	}
	static_key_deferred_flush(&kd_short);
	CHECK(wait_count(&kd_short.key.key, 0) && !short_site());
	__atomic_store_n(&stop_readers, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
}

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "delay", case_delay },       { "cancel", case_cancel },
	{ "non-last", case_non_last }, { "flush", case_flush },
	{ "rate-limit", case_rate_limit }, { "true-key", case_true_key },
	{ "fork", case_fork },         { "exit", case_exit },
	{ "threads", case_threads },
};

int main(int argc, char **argv)
{
	size_t i;

	for (i = 0; argc == 2 && i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].run();
			printf("kdeferred %s: %d failures\n", argv[1], failures);
			return failures != 0;
		}
	fprintf(stderr, "usage: kdeferred CASE\n");
	return 2;
}
