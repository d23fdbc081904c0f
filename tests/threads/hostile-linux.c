/* SPDX-License-Identifier: MIT */
/*
 * tests/threads on Linux, the way programs break a runtime that patches
 * code: signal handlers running sites during switches (`nested`), fork()
 * during switches (`fork`), a handler switching a key in the middle of a
 * switch (`deadlock`), a signal between the stores of a single-threaded
 * write (`torn`), no /proc and no membarrier (`noproc`), a debugger's
 * breakpoint on a site (`gdb-break`, run by debugger.py under gdb), sites
 * run hot between switches in one thread (`follow`, for valgrind).
 */
#define _GNU_SOURCE
#include "stress.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

static atomic_bool quit;

/* Enable and disable k0 until `quit`; counts the switches. */
static void *switcher(void *arg)
{
	atomic_ulong *n = arg;

	while (!atomic_load(&quit)) {
		int err = skeys_enable(&k0);

		if (!err)
			err = skeys_disable(&k0);
		if (err) {
			fprintf(stderr, "switch failed: %s (%d)\n", skeys_strerror(err), err);
			exit(1);
		}
		atomic_fetch_add(n, 1);
	}
	return NULL;
}

/* ---- nested: signal handlers run sites while another thread switches ---- */

static atomic_ulong handler_sites;

static void run_site_in_handler(int sig)
{
	(void)sig;
	k0_u();
	atomic_fetch_add(&handler_sites, 1);
}

struct signaller {
	pthread_t target;
	int sig;
};

/* Runs k0's site until `quit`: the thread the signals interrupt. */
static void *victim(void *arg)
{
	(void)arg;
	while (!atomic_load(&quit))
		k0_u();
	return NULL;
}

static void *signaller(void *arg)
{
	const struct signaller *s = arg;

	while (!atomic_load(&quit)) {
		pthread_kill(s->target, s->sig);
		pause_us(50);
	}
	return NULL;
}

/*
 * A thread runs k0's site; SIGUSR1 and SIGUSR2, sent to it every 50 us,
 * run it in their handlers (plain sigaction, empty sa_mask), so a handler
 * takes the protocol's trap inside our SIGTRAP handler, and inside another
 * handler that took one. Every trap must be survived, at any depth. (Not
 * the main thread: valgrind cannot grow its stack for nested handlers.)
 */
static int run_nested(const char *method)
{
	struct sigaction sa;
	struct signaller s1, s2;
	pthread_t t, v, u1, u2;
	atomic_ulong switches = 0;
	double end = now() + 1.0;

	if (getenv("SKEYS_UNDER_VALGRIND")) {
		printf("SKIP: valgrind runs one thread at a time and delivers a few signals a "
		       "second: too few handlers meet a switch\n");
		return 77;
	}
	if (skeys_set_write_method(!strcmp(method, "mprotect") ? SKEYS_WRITE_MPROTECT
							       : SKEYS_WRITE_PROCMEM))
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run_site_in_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_create(&v, NULL, victim, NULL);
	s1 = (struct signaller){ v, SIGUSR1 };
	s2 = (struct signaller){ v, SIGUSR2 };
	pthread_create(&t, NULL, switcher, &switches);
	pthread_create(&u1, NULL, signaller, &s1);
	pthread_create(&u2, NULL, signaller, &s2);
	/*
	 * A second at least, longer on a loaded machine until enough happened
	 * (SKEYS_SYNC=signals is slow there). A nanosleep ends early at each
	 * of its signals.
	 */
	while (now() < end + 9.0 &&
	       (now() < end || atomic_load(&switches) < 10 || atomic_load(&handler_sites) < 100))
		pause_us(10000);
	atomic_store(&quit, true);
	pthread_join(t, NULL);
	pthread_join(u1, NULL);
	pthread_join(u2, NULL);
	pthread_join(v, NULL);
	printf("%lu switches, %lu sites run in signal handlers\n", atomic_load(&switches),
	       atomic_load(&handler_sites));
	if (atomic_load(&switches) < 10 || atomic_load(&handler_sites) < 100) {
		fprintf(stderr, "too little happened to tell anything\n");
		return 1;
	}
	return k0_u() == skeys_enabled(&k0) ? 0 : 1;
}

/* ---- fork: children of a process in the middle of switches ------------- */

/* Run in the child of a fork: its exit status says what went wrong. */
static int forked_child(void)
{
	pthread_t t;
	bool on;

	alarm(5); /* a child stuck on the runtime's lock dies of SIGALRM */
#if defined(__x86_64__) || defined(__i386__)
	if (*(volatile const unsigned char *)(uintptr_t)k0_u == 0xcc)
		return 3; /* forked in the middle of a batch: the protocol's int3 stayed */
#endif
	if (skeys_enable(&k1) || skeys_disable(&k1))
		return 4;
	on = skeys_enabled(&k0);
	if (k0_u() != on || (on ? skeys_disable(&k0) : skeys_enable(&k0)) || k0_u() == on)
		return 5;
	/* And with a thread of its own: the cross-thread protocol in the child. */
	atomic_store(&stop, false);
	pthread_create(&t, NULL, idle, NULL);
	if ((on ? skeys_enable(&k0) : skeys_disable(&k0)) || k0_u() != on)
		return 6;
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	return 0;
}

static int run_fork(void)
{
	static const char *const why[] = {
		[3] = "a site still holds the protocol's int3",
		[4] = "switching another key failed",
		[5] = "the switched key's site did not follow",
		[6] = "switching with a thread in the child failed",
	};
	pthread_t t;
	atomic_ulong switches = 0;
	int i, status, bad = 0, children = getenv("SKEYS_UNDER_VALGRIND") ? 10 : 60;

#if defined(__SANITIZE_ADDRESS__)
	/*
	 * gcc 12's ASan allocator is not fork-safe: a child forked while
	 * another thread held one of its size-class locks hangs in its first
	 * allocation of that class (seen here in pthread_create's ASan thread
	 * set-up, with the switcher thread freeing outside any skeys lock).
	 * The plain and valgrind runs test fork.
	 */
	fprintf(stderr, "SKIP: ASan's allocator (gcc 12) deadlocks a child forked while "
			"another thread allocates, whatever that thread does\n");
	return 77;
#endif
	pthread_create(&t, NULL, switcher, &switches);
	for (i = 0; i < children && !bad; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(forked_child());
		if (pid < 0 || waitpid(pid, &status, 0) != pid) {
			perror("fork");
			bad = 1;
		} else if (WIFSIGNALED(status)) {
			fprintf(stderr, "child %d killed by signal %d%s\n", i, WTERMSIG(status),
				WTERMSIG(status) == SIGALRM ? " (hung in a switch)" : "");
			bad = 1;
		} else if (WEXITSTATUS(status)) {
			fprintf(stderr, "child %d: %s\n", i,
				WEXITSTATUS(status) < 7 ? why[WEXITSTATUS(status)] : "exit status");
			bad = 1;
		}
		pause_us(500);
	}
	atomic_store(&quit, true);
	pthread_join(t, NULL);
	printf("%d children forked during %lu switches\n", i, atomic_load(&switches));
	return bad;
}

/* ---- deadlock: a handler switches a key in the middle of a switch ------- */

static volatile sig_atomic_t handler_err = 1;

static void switch_in_handler(int sig)
{
	(void)sig;
	handler_err = skeys_enable(&k1);
}

static void raise_between_phases(unsigned phase, uintptr_t first)
{
	(void)first;
	if (phase == 0)
		raise(SIGUSR1);
}

static int run_deadlock(void)
{
	pthread_t t;
	int err;

	signal(SIGUSR1, switch_in_handler);
	pthread_create(&t, NULL, idle, NULL);
	alarm(10); /* a handler waiting for its own thread's lock never returns */
	skeys__set_phase_hook(raise_between_phases);
	err = skeys_enable(&k0);
	skeys__set_phase_hook(NULL);
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	if (err || handler_err != -EDEADLK || skeys_enabled(&k1)) {
		fprintf(stderr, "deadlock: switch %d, in the handler %d (%s), want -EDEADLK\n", err,
			(int)handler_err, skeys_strerror(handler_err));
		return 1;
	}
	/* The refusal left nothing behind: the key switches as usual afterwards. */
	return skeys_enable(&k1) || !skeys_enabled(&k1) ? 1 : 0;
}

/* ---- torn: a signal between the stores of a single-threaded write ------ */

#if defined(__x86_64__) || defined(__i386__)
SKEYS_DEFINE_FALSE(back_key);

/* gcc moves the path into the function's .cold part, laid out before .text: a backward jump. */
__attribute__((cold, noinline)) int back_taken(void);
__attribute__((cold, noinline)) int back_taken(void)
{
	return 1;
}

__attribute__((noinline)) static int back_u(void)
{
	if (skeys_branch_unlikely(&back_key))
		return back_taken() + 1;
	return 0;
}

static unsigned char site_old[5], site_new[5];
static volatile sig_atomic_t steps, torn_steps, torn_in_handler, handler_runs;

static bool site_torn(void)
{
	const volatile unsigned char *b = (const volatile unsigned char *)(uintptr_t)back_u;
	unsigned char now_[5];

	for (int i = 0; i < 5; i++)
		now_[i] = b[i];
	return memcmp(now_, site_old, 5) && memcmp(now_, site_new, 5);
}

/* An asynchronous signal's handler: it would run the site as it is now. */
static void on_async(int sig)
{
	(void)sig;
	handler_runs++;
	if (site_torn())
		torn_in_handler = 1;
}

/* After every instruction of the switch: is the site torn? Then a signal comes. */
static void on_step(int sig)
{
	(void)sig;
	steps++;
	if (site_torn() && torn_steps++ == 0)
		raise(SIGUSR1);
}

static void trap_flag(bool on)
{
#if defined(__x86_64__)
	if (on)
		__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq" ::: "memory", "cc");
	else
		__asm__ volatile("pushfq; andq $~0x100, (%%rsp); popfq" ::: "memory", "cc");
#else
	if (on)
		__asm__ volatile("pushfl; orl $0x100, (%%esp); popfl" ::: "memory", "cc");
	else
		__asm__ volatile("pushfl; andl $~0x100, (%%esp); popfl" ::: "memory", "cc");
#endif
}

/*
 * One thread, the mprotect method: the switch runs with the trap flag set,
 * and at the first instruction after which the site's bytes are neither
 * the old nor the new instruction, SIGUSR1 is sent. Its handler must not
 * run before the site is whole again: a handler running the site there
 * would execute a torn instruction.
 */
static int run_torn(void)
{
	int32_t rel;
	int err;

	if (getenv("SKEYS_UNDER_VALGRIND")) {
		printf("SKIP: valgrind does not single-step\n");
		return 77;
	}
	if (skeys_set_write_method(SKEYS_WRITE_MPROTECT) || skeys_enable(&back_key) ||
	    back_u() != 2)
		return 1;
	memcpy(site_new, (const void *)(uintptr_t)back_u, 5);
	if (skeys_disable(&back_key) || back_u() != 0)
		return 1;
	memcpy(site_old, (const void *)(uintptr_t)back_u, 5);
	memcpy(&rel, site_new + 1, 4);
	if (site_new[0] != 0xe9 || rel >= 0) {
		printf("SKIP: the compiler did not put the site's target before it (jump %02x, "
		       "%d): its writes cannot tear\n", site_new[0], rel);
		return 77;
	}
	signal(SIGTRAP, on_step);
	signal(SIGUSR1, on_async);
	trap_flag(true);
	err = skeys_enable(&back_key);
	trap_flag(false);
	signal(SIGTRAP, SIG_DFL);
	printf("%d instructions stepped, torn after %d of them; SIGUSR1 handled %d time(s)%s\n",
	       (int)steps, (int)torn_steps, (int)handler_runs,
	       torn_in_handler ? " while the site was torn" : "");
	if (err || back_u() != 2 || steps < 100 || handler_runs != (torn_steps > 0))
		return 1;
	return torn_in_handler ? 1 : 0;
}
#else
static int run_torn(void)
{
	printf("SKIP: the trap flag test is x86's\n");
	return 77;
}
#endif

/* ---- noproc: no membarrier and no /proc --------------------------------- */

static char logged[2048];

static void keep_log(enum skeys_log_level level, const char *msg, void *ctx)
{
	size_t n = strlen(logged);

	(void)level;
	(void)ctx;
	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

/*
 * The signal fallback of the core synchronisation lists the threads in
 * /proc/self/task: without membarrier (SKEYS_SYNC=signals) and without
 * /proc, a switch with a second thread alive fails with the errno of that
 * listing and says why; nothing is left written.
 */
static int run_noproc(void)
{
	pthread_t t;
	int err;

	if (unshare(CLONE_NEWNS) || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", "/proc", "tmpfs", 0, NULL)) {
		printf("SKIP: cannot hide /proc in a mount namespace of our own: %s\n",
		       strerror(errno));
		return 77;
	}
	setenv("SKEYS_SYNC", "signals", 1);
	skeys_set_log(keep_log, NULL);
	pthread_create(&t, NULL, idle, NULL);
	err = skeys_enable(&k0);
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	printf("switch without /proc: %d (%s); log:\n%s", err, skeys_strerror(err), logged);
	if (err != -ENOENT || !strstr(logged, "/proc/self/task") || !strstr(logged, "membarrier")) {
		fprintf(stderr, "noproc: want -ENOENT and a log naming /proc/self/task and membarrier\n");
		return 1;
	}
	if (skeys_enabled(&k0) || k0_u()) {
		fprintf(stderr, "noproc: the failed switch left k0 or its site enabled\n");
		return 1;
	}
	return 0;
}

/* ---- follow: one thread, sites run hot between switches (valgrind) ----- */

/* The sites follow their key when run many times before and after each switch. */
static int run_follow(void)
{
	int round, i, bad = 0;

	for (round = 0; round < 6; round++) {
		bool on = round % 2;

		if (on ? skeys_enable(&k0) : skeys_disable(&k0))
			return 1;
		for (i = 0; i < 1000; i++)
			bad += k0_u() != on;
	}
	printf("%d of 6000 runs took the other path\n", bad);
	return bad != 0;
}

/* ---- gdb-break: under gdb with `break *k0_u` (debugger.py) -------------- */

static void print_log(enum skeys_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)ctx;
	printf("skeys: %s\n", msg);
}

static int run_gdb_break(void)
{
	int err;

	skeys_set_log(print_log, NULL);
	err = skeys_enable(&k0);
	printf("enable under a breakpoint: %d (%s)\n", err, skeys_strerror(err));
	/* k0_u() is not called: it would stop at the breakpoint. */
	return err == SKEYS_ERR_BREAKPOINT && !skeys_enabled(&k0) ? 0 : 1;
}

int hostile_mode(const char *mode, const char *arg)
{
	if (!strcmp(mode, "nested"))
		return run_nested(arg);
	if (!strcmp(mode, "fork"))
		return run_fork();
	if (!strcmp(mode, "deadlock"))
		return run_deadlock();
	if (!strcmp(mode, "torn"))
		return run_torn();
	if (!strcmp(mode, "noproc"))
		return run_noproc();
	if (!strcmp(mode, "follow"))
		return run_follow();
	if (!strcmp(mode, "gdb-break"))
		return run_gdb_break();
	return -1;
}
