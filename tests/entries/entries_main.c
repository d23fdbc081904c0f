/* SPDX-License-Identifier: MIT */
/*
 * Function entries end to end (built by run-entries.py with a real
 * compiler and -fpatchable-function-entry, then sealed): redirect and
 * restore, attach and detach, the states' rules, NOTPATCHABLE,
 * attach_all/detach_all and a module loaded later (PLUGIN), and attach and
 * detach while other threads call the function in a loop, a signal handler
 * calls it and children forked between switches call it.
 */
#define _GNU_SOURCE
#include "entries.h"

#include <skeys.h>

#include "testing.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Calls through a volatile pointer: nothing is folded at compile time. */
static int (*volatile add1)(int) = ent_add1;
static int (*volatile add2)(int) = ent_add2;
static int (*volatile mul3)(int) = ent_mul3;
static int (*volatile plain)(int) = ent_plain;

#include "handlers.h"

static void redirection(void)
{
	CHECK(add1(1) == 2);
	CHECK_ERR(skeys_entry_redirect((void *)ent_add1, (void *)ent_mul3), 0);
	CHECK(add1(5) == 15);
	CHECK_ERR(skeys_entry_redirect((void *)ent_add1, (void *)ent_add2), 0); /* to another */
	CHECK(add1(5) == 7);
	CHECK_ERR(skeys_entry_attach((void *)ent_add1, count, NULL), -EBUSY);
	CHECK_ERR(skeys_entry_detach((void *)ent_add1), 0); /* not traced: nothing */
	CHECK(add1(5) == 7);
	CHECK_ERR(skeys_entry_restore((void *)ent_add1), 0);
	CHECK(add1(5) == 6);
	CHECK_ERR(skeys_entry_restore((void *)ent_add1), 0); /* already so */
	CHECK(mul3(2) == 6 && add2(2) == 4);
}

static void tracing(void)
{
	int data;

	hits = 0;
	CHECK_ERR(skeys_entry_attach((void *)ent_add2, count, &data), 0);
	CHECK(add2(1) == 3 && hits == 1 && last_fn == (void *)ent_add2 && last_data == &data);
	CHECK(add2(2) == 4 && hits == 2);
	CHECK(add1(2) == 3 && hits == 2); /* another function: not traced */
	CHECK_ERR(skeys_entry_attach((void *)ent_add2, count, NULL), 0); /* new data */
	CHECK(add2(1) == 3 && hits == 3 && last_data == NULL);
	CHECK_ERR(skeys_entry_redirect((void *)ent_add2, (void *)ent_mul3), -EBUSY);
	CHECK_ERR(skeys_entry_restore((void *)ent_add2), 0); /* not redirected: nothing */
	CHECK(add2(1) == 3 && hits == 4);
	CHECK_ERR(skeys_entry_detach((void *)ent_add2), 0);
	CHECK(add2(1) == 3 && hits == 4);
	CHECK_ERR(skeys_entry_detach((void *)ent_add2), 0);
}

static long (*volatile args_fn)(long, long, long, long, long, long, long, long, double, double,
				double, double, double, double, double, double) = ent_args;
static struct ent_big (*volatile big_fn)(long, double) = ent_big;

static void arguments(void)
{
	long want = args_fn(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5);
	struct ent_big b;

	hits = 0;
	CHECK_ERR(skeys_entry_attach((void *)ent_args, clobber, NULL), 0);
	CHECK_ERR(skeys_entry_attach((void *)ent_big, clobber, NULL), 0);
	CHECK(args_fn(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5) == want);
	b = big_fn(40, 9.0);
	CHECK(b.v[0] == 40 && b.v[1] == 41 && b.v[2] == 42 && b.v[3] == 43 && b.v[4] == 9);
	CHECK(hits == 2 && last_fn == (void *)ent_big);
	CHECK_ERR(skeys_entry_detach((void *)ent_args), 0);
	CHECK_ERR(skeys_entry_detach((void *)ent_big), 0);
	CHECK(args_fn(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5) == want);
	CHECK(hits == 2);
#if defined(__i386__)
	{
		typedef int rp_fn(int, int, int) __attribute__((regparm(3)));
		typedef int fc_fn(int, int, int) __attribute__((fastcall));
		rp_fn *volatile rp = ent_regparm;
		fc_fn *volatile fc = ent_fastcall;

		CHECK_ERR(skeys_entry_attach((void *)ent_regparm, clobber, NULL), 0);
		CHECK_ERR(skeys_entry_attach((void *)ent_fastcall, clobber, NULL), 0);
		CHECK(rp(1, 2, 3) == 321 && fc(4, 5, 6) == 654 && hits == 4);
		CHECK_ERR(skeys_entry_detach((void *)ent_regparm), 0);
		CHECK_ERR(skeys_entry_detach((void *)ent_fastcall), 0);
		CHECK(rp(1, 2, 3) == 321 && fc(4, 5, 6) == 654 && hits == 4);
	}
#endif
}

static void refusals(void)
{
	static int not_code;

	CHECK(plain(3) == 3);
	CHECK_ERR(skeys_entry_attach((void *)ent_plain, count, NULL), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_redirect((void *)ent_plain, (void *)ent_add1), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_attach((void *)&not_code, count, NULL), SKEYS_ERR_NOTPATCHABLE);
	/* Inside a patchable function, not its entry. */
	CHECK_ERR(skeys_entry_attach((void *)((char *)ent_add1 + 1), count, NULL),
		  SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_attach(NULL, count, NULL), -EINVAL);
	CHECK_ERR(skeys_entry_attach((void *)ent_add1, NULL, NULL), -EINVAL);
	CHECK_ERR(skeys_entry_redirect((void *)ent_add1, NULL), -EINVAL);
	CHECK(plain(3) == 3 && add1(1) == 2);
}

/*
 * A replacement beyond a branch's reach of the pad (2 GiB on x86-64, 128
 * MiB on aarch64): a few instructions of x + 10 written into a page mapped
 * 4 GiB from ent_add1 (then read-execute), reached through a jump stub.
 * i686: every address is in reach, a rel32 wrapping round the address
 * space; the page lies more than 2 GiB ahead, so the pad's jmp wraps.
 */
static void far_redirect(void)
{
#if defined(__x86_64__)
	static const unsigned char code[] = { 0x8d, 0x47, 0x0a, 0xc3 }; /* lea 10(%rdi),%eax; ret */
#elif defined(__i386__)
	/* mov 4(%esp),%eax; add $10,%eax; ret */
	static const unsigned char code[] = { 0x8b, 0x44, 0x24, 0x04, 0x83, 0xc0, 0x0a, 0xc3 };
#elif defined(__aarch64__)
	static const unsigned int code[] = { 0x11002800, 0xd65f03c0 }; /* add w0, w0, #10; ret */
#endif
#if UINTPTR_MAX == 0xffffffffu
	void *page = MAP_FAILED;

	for (uintptr_t k = 9; k <= 12 && page == MAP_FAILED; k++) {
		uintptr_t want = ((uintptr_t)ent_add1 + (k << 28)) & ~(uintptr_t)0xffff;

		page = mmap((void *)want, 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	}
#else
	uintptr_t want = ((uintptr_t)ent_add1 + ((uintptr_t)4 << 30)) & ~(uintptr_t)0xffff;
	void *page = mmap((void *)want, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#endif
	uintptr_t d;
	int (*far)(int);

	CHECK(page != MAP_FAILED);
	if (page == MAP_FAILED)
		return;
#if UINTPTR_MAX == 0xffffffffu
	d = (uintptr_t)page - (uintptr_t)ent_add1; /* ahead, round the address space */
#else
	d = (uintptr_t)page > (uintptr_t)ent_add1 ? (uintptr_t)page - (uintptr_t)ent_add1
						      : (uintptr_t)ent_add1 - (uintptr_t)page;
#endif
	memcpy(page, code, sizeof(code));
	CHECK(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0);
	__builtin___clear_cache((char *)page, (char *)page + sizeof(code));
	*(void **)&far = page;
	CHECK(far(1) == 11);
	printf("entries: far replacement %#lx bytes from ent_add1\n", (unsigned long)d);
	CHECK(d > ((uintptr_t)1 << 31)); /* beyond a rel32 without wrapping, and a B */
	CHECK_ERR(skeys_entry_redirect((void *)ent_add1, page), 0);
	CHECK(add1(1) == 11 && add1(5) == 15);
	CHECK_ERR(skeys_entry_restore((void *)ent_add1), 0);
	CHECK(add1(1) == 2);
	munmap(page, 4096);
}

static void everything(void)
{
	long before;

	CHECK_ERR(skeys_entry_redirect((void *)ent_mul3, (void *)ent_add2), 0);
	CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0);
	before = all_hits;
	CHECK(add1(1) == 2 && add2(1) == 3);
	CHECK(all_hits == before + 2);
	CHECK(mul3(1) == 3); /* redirected functions stay redirected... */
	/* ...to ent_add2, which is traced: one hit. */
	CHECK(all_hits == before + 3);
#ifdef PLUGIN
	{
		void *h = dlopen(PLUGIN, RTLD_NOW);
		int (*fn)(int);

		CHECK(h != NULL);
		*(void **)&fn = dlsym(h, "ent_plugin_fn");
		CHECK(fn != NULL);
		before = all_hits;
		CHECK(fn(1) == 11 && all_hits == before + 1); /* follows attach_all */
		CHECK_ERR(skeys_entry_detach_all(), 0);
		CHECK(fn(1) == 11 && all_hits == before + 1);
		CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0);
		CHECK(fn(1) == 11 && all_hits == before + 2);
		CHECK_ERR(skeys_entry_detach_all(), 0);
		/* To another module and back. */
		CHECK_ERR(skeys_entry_redirect((void *)ent_add1, (void *)fn), 0);
		CHECK(add1(1) == 11);
		CHECK_ERR(skeys_entry_redirect((void *)fn, (void *)ent_add2), 0);
		CHECK(fn(2) == 4);
		CHECK(add1(1) == 3); /* ent_add1 jumps to fn, whose pad jumps on */
		CHECK_ERR(skeys_entry_restore((void *)fn), 0);
		CHECK_ERR(skeys_entry_restore((void *)ent_add1), 0);
		CHECK(add1(1) == 2 && fn(1) == 11);
		dlclose(h);
		CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0); /* it is gone */
	}
#endif
	CHECK_ERR(skeys_entry_detach_all(), 0);
	before = all_hits;
	CHECK(add1(1) == 2 && add2(1) == 3 && all_hits == before);
	CHECK_ERR(skeys_entry_restore((void *)ent_mul3), 0);
	CHECK(mul3(1) == 3);
}

/* ---- attach and detach while other threads call the function ---------- */

#define THREADS 3
#define ROUNDS 200
#define MINE 50

static volatile int stop;
static int started;
static long called[THREADS];

static void *caller(void *arg)
{
	long *n = arg;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (add1(1) != 2)
			abort();
		if ((*n)++ == 0)
			__atomic_fetch_add(&started, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* A signal handler that calls the function whenever it interrupts. */
static volatile sig_atomic_t in_signal_calls;

static void on_alarm(int sig)
{
	(void)sig;
	if (add1(41) != 42)
		abort();
	in_signal_calls++;
}

/* A child forked between a switch and the next calls the function and exits. */
static void fork_calls(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(add1(1) == 2 && add2(1) == 3 ? 0 : 1);
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void under_threads(void)
{
	struct itimerval every = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	sigset_t alarm_set;
	pthread_t t[THREADS];
	int r, i, k;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	CHECK(setitimer(ITIMER_REAL, &every, NULL) == 0);

	for (i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, caller, &called[i]) == 0);
	/* The signal goes to the callers: this thread counts its own calls. */
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	CHECK(pthread_sigmask(SIG_BLOCK, &alarm_set, NULL) == 0);
	/* Every thread calls the function before the first attach. */
	while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < THREADS)
		sched_yield();
	for (r = 0; r < ROUNDS; r++) {
		long before = hits;

		CHECK_ERR(skeys_entry_attach((void *)ent_add1, count, NULL), 0);
		/* Once attach returned, every call runs the handler once. */
		for (k = 0; k < MINE; k++)
			CHECK(add1(k) == k + 1);
		CHECK(hits == before + MINE);
		CHECK_ERR(skeys_entry_detach((void *)ent_add1), 0);
		for (k = 0; k < MINE; k++)
			CHECK(add1(k) == k + 1);
		CHECK(hits == before + MINE);
		if (r % 50 == 0)
			fork_calls();
	}
	/* The signal handler called it at least once meanwhile. */
	while (!in_signal_calls)
		sched_yield();
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < THREADS; i++) {
		CHECK(pthread_join(t[i], NULL) == 0);
		CHECK(called[i] > 0);
	}
	CHECK(pthread_sigmask(SIG_UNBLOCK, &alarm_set, NULL) == 0);
}

#ifdef BTI_GUARDED
/*
 * The library's code is still BTI-guarded after all the patching above
 * (aarch64, run-entries.py --bti-lib): an indirect call to ent_add1's
 * patch point, which is no landing pad, kills a child with SIGILL.
 */
static void still_guarded(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int (*volatile past)(int);

		*(void **)&past = (char *)ent_add1 + 8; /* bti c; mov x9, x30; here */
		signal(SIGILL, SIG_DFL);
		_exit(past(1) == 2 ? 0 : 1);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGILL);
}
#endif

int main(void)
{
	CHECK_ERR(skeys_check_sealed(), 0);
	redirection();
	tracing();
	arguments();
	refusals();
	far_redirect();
	everything();
	/* qemu-i386 never returns from pthread_create (run-entries.py, under it). */
	if (getenv("SKEYS_TEST_NO_THREADS"))
		puts("entries: threads skipped (SKEYS_TEST_NO_THREADS)");
	else
		under_threads();
#ifdef BTI_GUARDED
	still_guarded();
#endif
	if (failures)
		return 1;
	puts("entries: ok");
	return 0;
}
