/* SPDX-License-Identifier: MIT */
/*
 * What <skeys/kernel.h> needs beyond the plain key calls: the kernel's
 * disable rule and deferred (rate-limited) decrements.
 *
 * Deferred decrements run on one thread per runtime copy, "the timer": it
 * is started by the first decrement that has to wait, sleeps until the
 * earliest one is due, and calls skeys_key_dec() for it (so the switch goes
 * through the leading runtime's lock and cross-thread protocol like any
 * other). At exit a destructor stops it and drops what is still pending.
 * In a child of fork() the timer is gone: the child keeps the pending
 * records and starts its own timer at its next deferred call.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <skeys/kernel.h>

#include <errno.h>
#include <time.h>

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_wake; /* a record was queued, or stop */
static pthread_cond_t timer_done; /* the timer finished running a record */
static bool timer_cond_ready, timer_started, timer_stop;
static pthread_t timer_thread;
static struct skeys_deferred_work *pending;  /* singly linked, unordered */
static struct skeys_deferred_work *running;  /* the record the timer is running */

SKEYS_API int skeys_kernel_disable(struct skeys_key *key)
{
	return skeys_leader_key_op(key, SKEYS_OP_DISABLE_ONE);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Condition variables of the monotonic clock where the system has them. */
static void conds_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
#if defined(__linux__)
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
#endif
	pthread_cond_init(&timer_wake, &a);
	pthread_cond_init(&timer_done, &a);
	pthread_condattr_destroy(&a);
	timer_cond_ready = true;
}

/* Sleep on timer_wake until `due` (monotonic ns) at the latest. */
static void wait_until(int64_t due)
{
	struct timespec ts;
	int64_t t = due;

#if !defined(__linux__)
	/* The condition variable runs on the wall clock: wait as long from now. */
	clock_gettime(CLOCK_REALTIME, &ts);
	t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (due - now_ns());
#endif
	ts.tv_sec = (time_t)(t / 1000000000);
	ts.tv_nsec = (long)(t % 1000000000);
	pthread_cond_timedwait(&timer_wake, &timer_lock, &ts);
}

static void unlink_work(struct skeys_deferred_work *w)
{
	struct skeys_deferred_work **p;

	for (p = &pending; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	w->next = NULL;
	w->pending = 0;
}

/* Called with timer_lock held; returns with it held. */
static void run_work(struct skeys_deferred_work *w)
{
	int err;

	unlink_work(w);
	running = w;
	pthread_mutex_unlock(&timer_lock);
	err = skeys_key_dec(w->key);
	if (err)
		skeys_log(SKEYS_LOG_ERROR, "key %p: deferred decrement failed: %s",
			  (void *)w->key, skeys_strerror(err));
	pthread_mutex_lock(&timer_lock);
	running = NULL;
	pthread_cond_broadcast(&timer_done);
}

static void *timer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&timer_lock);
	while (!timer_stop) {
		struct skeys_deferred_work *w, *first = NULL;

		for (w = pending; w; w = w->next)
			if (!first || w->due_ns < first->due_ns)
				first = w;
		if (!first)
			pthread_cond_wait(&timer_wake, &timer_lock);
		else if (first->due_ns <= now_ns())
			run_work(first);
		else
			wait_until(first->due_ns);
	}
	pthread_mutex_unlock(&timer_lock);
	return NULL;
}

/* fork(): no record is being run while the process is copied. */
static bool atfork_set;

static void atfork_prepare(void)
{
	pthread_mutex_lock(&timer_lock);
	while (running)
		pthread_cond_wait(&timer_done, &timer_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&timer_lock);
}

static void atfork_child(void)
{
	timer_started = false; /* the timer thread was not copied */
	/* Its wait on timer_wake was: a broadcast would wait for it forever. */
	conds_init();
	pthread_mutex_unlock(&timer_lock);
}

static void timer_lock_take(void)
{
	pthread_mutex_lock(&timer_lock);
	if (!timer_cond_ready)
		conds_init();
}

/* With timer_lock held: make sure a timer runs for the pending records. */
static int timer_start(void)
{
	int err;

	if (timer_started || timer_stop)
		return 0;
	if (!atfork_set) {
		err = skeys_os_atfork(atfork_prepare, atfork_parent, atfork_child);
		if (err)
			return err;
		atfork_set = true;
	}
	err = pthread_create(&timer_thread, NULL, timer_main, NULL);
	if (err)
		return -err;
	timer_started = true;
	return 0;
}

/* At exit: the timer goes, pending decrements with it. */
__attribute__((destructor)) static void timer_exit(void)
{
	bool join;

	pthread_mutex_lock(&timer_lock);
	join = timer_started && !skeys_os_exiting();
	timer_stop = true;
	if (timer_cond_ready)
		pthread_cond_broadcast(&timer_wake);
	pthread_mutex_unlock(&timer_lock);
	if (join)
		pthread_join(timer_thread, NULL);
}

SKEYS_API int skeys_kernel_deferred_dec(struct skeys_key *key, struct skeys_deferred_work *w,
					unsigned long timeout_ms)
{
	int err = skeys_leader_key_op(key, SKEYS_OP_DEC_NOT_LAST);

	if (err != 1)
		return err; /* decremented at once, or an error */
	if (timeout_ms == 0)
		return skeys_key_dec(key);
	timer_lock_take();
	/* As the kernel's delayed work: a pending record is not queued twice. */
	if (!w->pending) {
		w->key = key;
		w->due_ns = now_ns() + (int64_t)timeout_ms * 1000000;
		w->pending = 1;
		w->next = pending;
		pending = w;
	}
	err = timer_start();
	if (err) {
		unlink_work(w);
		skeys_log(SKEYS_LOG_ERROR, "cannot start the deferred-key timer: %s",
			  skeys_strerror(err));
	} else {
		pthread_cond_broadcast(&timer_wake);
	}
	pthread_mutex_unlock(&timer_lock);
	return err;
}

SKEYS_API void skeys_kernel_deferred_flush(struct skeys_deferred_work *w)
{
	timer_lock_take();
	if (w->pending)
		run_work(w);
	while (running == w)
		pthread_cond_wait(&timer_done, &timer_lock);
	/* A child of fork() starts its timer again for what it inherited. */
	if (pending && timer_start() == 0)
		pthread_cond_broadcast(&timer_wake);
	pthread_mutex_unlock(&timer_lock);
}
