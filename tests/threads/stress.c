/* SPDX-License-Identifier: MIT */
/*
 * Toggling while other threads run the sites: `stress procmem|mprotect`,
 * `contention`, `chain`, `single`, `trap`. Linux and Windows (under wine);
 * `chain` and `single` differ by OS, as the trap handler does.
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
#if defined(_WIN32)
#include <windows.h>
#endif

SKEYS_DEFINE_FALSE(k0);
SKEYS_DEFINE_FALSE(k1);
SKEYS_DEFINE_TRUE(k2);
SKEYS_DEFINE_FALSE(shared_key); /* inc/dec by several threads at once */
SKEYS_DEFINE_TRUE(flip_key);     /* enable/disable by several threads at once */

#define FAR_FN __attribute__((noinline, aligned(8192)))
#define NEAR_FN __attribute__((noinline))

/* Sites of all keys share pages (NEAR_FN), and some sit alone in theirs (FAR_FN). */
NEAR_FN static int k0_u(void) { return skeys_branch_unlikely(&k0); }
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

#if defined(_WIN32)
static bool wx_mapping(void)
{
	const DWORD wx = PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY;
	MEMORY_BASIC_INFORMATION mbi;
	const char *a = NULL;
	bool found = false;

	while (VirtualQuery(a, &mbi, sizeof(mbi)) == sizeof(mbi)) {
		if (mbi.State == MEM_COMMIT && (mbi.Protect & wx)) {
			fprintf(stderr, "writable and executable: %p, %zu bytes\n", mbi.BaseAddress,
				(size_t)mbi.RegionSize);
			found = true;
		}
		a = (const char *)mbi.BaseAddress + mbi.RegionSize;
		if (a < (const char *)mbi.BaseAddress)
			break;
	}
	return found;
}
#else
static bool wx_mapping(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[8];
	bool found = false;

	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x') {
			fprintf(stderr, "writable and executable: %s", line);
			found = true;
		}
	fclose(f);
	return found;
}
#endif

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

/* Runs k0's sites until told to stop. */
static void *idle(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		k0_u();
	return NULL;
}

#if defined(_WIN32)
static volatile LONG user_traps;

/*
 * The program's own handler for breakpoints: count, step over the int3
 * (reported at the int3, or at the 03 of `int $3`); a RaiseException()
 * (no parameters) just returns.
 */
static LONG CALLBACK user_veh(EXCEPTION_POINTERS *ep)
{
	if (ep->ExceptionRecord->ExceptionCode != EXCEPTION_BREAKPOINT)
		return EXCEPTION_CONTINUE_SEARCH;
	InterlockedIncrement(&user_traps);
	if (ep->ExceptionRecord->NumberParameters == 0)
		return EXCEPTION_CONTINUE_EXECUTION;
#if defined(__x86_64__)
	ep->ContextRecord->Rip = (DWORD64)ep->ExceptionRecord->ExceptionAddress + 1;
#else
	ep->ContextRecord->Eip = (DWORD)ep->ExceptionRecord->ExceptionAddress + 1;
#endif
	return EXCEPTION_CONTINUE_EXECUTION;
}

/*
 * The runtime's vectored handler goes in front of the program's, so a
 * thread running k0's sites while it switches traps into ours, never into
 * the program's (which would step one byte into a site). Foreign
 * breakpoints go on to the program's vectored handler, and to its
 * unhandled-exception filter when no vectored handler takes them.
 */
static int run_chain(void)
{
	void *veh = AddVectoredExceptionHandler(1, user_veh);
	pthread_t t;
	LONG seen;

	pthread_create(&t, NULL, idle, NULL);
	for (int i = 0; i < 500; i++)
		if (skeys_enable(&k0) || skeys_disable(&k0)) {
			fprintf(stderr, "chain: toggle failed\n");
			return 1;
		}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	seen = user_traps;
	__debugbreak();
	DebugBreak();
	__asm__ volatile(".byte 0xcd, 0x03"); /* int $3 */
	RaiseException(EXCEPTION_BREAKPOINT, 0, 0, NULL);
	if (seen != 0 || user_traps != 4) {
		fprintf(stderr, "chain: the program's vectored handler saw %ld of our traps and "
				"%ld of 4 breakpoints\n", seen, user_traps - seen);
		return 1;
	}
	RemoveVectoredExceptionHandler(veh);
	SetUnhandledExceptionFilter(user_veh); /* same type, same answers */
	__debugbreak();
	if (user_traps != 5) {
		fprintf(stderr, "chain: the unhandled-exception filter did not see the breakpoint\n");
		return 1;
	}
	return 0;
}

#else
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
	__asm__ volatile("int3");
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	if (user_traps != 2) {
		fprintf(stderr, "chain: the earlier handler saw %d of 2 traps\n", (int)user_traps);
		return 1;
	}
	return 0;
}
#endif

#if defined(_WIN32)
static unsigned hook_calls;

static void count_phases(unsigned phase, uintptr_t first)
{
	(void)phase;
	(void)first;
	hook_calls++;
}

static DWORD WINAPI wait_for(void *event)
{
	WaitForSingleObject(event, INFINITE);
	return 0;
}

/*
 * While the process has one thread, sites are written once each, with no
 * protocol (no phase hook call); with a second thread alive, each toggle
 * goes through the three phases; once it is gone, writes are direct again.
 */
static int run_single(void)
{
	HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL), th;
	unsigned alone, together;

	skeys__set_phase_hook(count_phases);
	if (skeys_enable(&k0) || !k0_u() || skeys_disable(&k0) || k0_u())
		return 1;
	alone = hook_calls;
	th = CreateThread(NULL, 0, wait_for, ev, 0, NULL);
	if (skeys_enable(&k0) || !k0_u() || skeys_disable(&k0) || k0_u())
		return 1;
	together = hook_calls - alone;
	SetEvent(ev);
	WaitForSingleObject(th, INFINITE);
	CloseHandle(th);
	if (skeys_enable(&k0) || !k0_u() || skeys_disable(&k0) || k0_u())
		return 1;
	skeys__set_phase_hook(NULL);
	if (alone != 0 || together != 6 || hook_calls != 6) {
		fprintf(stderr, "single: %u phases with one thread, %u with two, %u after "
				"(expected 0, 6, 0)\n", alone, together, hook_calls - alone - together);
		return 1;
	}
	return 0;
}
#else
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
#endif

#if defined(_WIN32)
/*
 * A trap that reaches our handler after its switch has finished (the int3
 * is gone): the thread must run the site again and take the new path. A
 * vectored handler of the test, in front of ours, holds the trapped thread
 * until the switch has returned.
 */
static HANDLE late_trapped, late_release;
static atomic_int late_go, late_result = -1;

static LONG CALLBACK hold_trap(EXCEPTION_POINTERS *ep)
{
	if (ep->ExceptionRecord->ExceptionCode == EXCEPTION_BREAKPOINT &&
	    (uintptr_t)ep->ExceptionRecord->ExceptionAddress == (uintptr_t)k0_u) {
		SetEvent(late_trapped);
		WaitForSingleObject(late_release, INFINITE);
	}
	return EXCEPTION_CONTINUE_SEARCH;
}

static void *late_probe(void *arg)
{
	(void)arg;
	while (!atomic_load(&late_go))
		;
	atomic_store(&late_result, k0_u());
	return NULL;
}

static int late_failures;

/* After the int3 went in: let the probe trap on it, then finish the switch. */
static void late_hook(unsigned phase, uintptr_t first)
{
	if (phase != 0 || first != (uintptr_t)k0_u)
		return;
	atomic_store(&late_go, 1);
	if (WaitForSingleObject(late_trapped, 10000) != WAIT_OBJECT_0) {
		fprintf(stderr, "late: the probe did not trap on the site\n");
		late_failures++;
	}
}

static int run_late(void)
{
	pthread_t t;
	void *veh;

	late_trapped = CreateEventA(NULL, FALSE, FALSE, NULL);
	late_release = CreateEventA(NULL, FALSE, FALSE, NULL);
	pthread_create(&t, NULL, late_probe, NULL);
	/* A first switch with two threads adds the runtime's handler; ours goes in front. */
	if (skeys_enable(&k1) || skeys_disable(&k1))
		return 1;
	veh = AddVectoredExceptionHandler(1, hold_trap);
	skeys__set_phase_hook(late_hook);
	if (skeys_enable(&k0) || ((const unsigned char *)(uintptr_t)k0_u)[0] == 0xcc) {
		fprintf(stderr, "late: the switch failed or left the int3\n");
		late_failures++;
	}
	skeys__set_phase_hook(NULL);
	SetEvent(late_release);
	pthread_join(t, NULL);
	RemoveVectoredExceptionHandler(veh);
	if (atomic_load(&late_result) != 1) {
		fprintf(stderr, "late: the trapped thread took the %s path\n",
			atomic_load(&late_result) ? "wrong" : "old");
		late_failures++;
	}
	return late_failures ? 1 : 0;
}
#endif

#if defined(_WIN32)
typedef void (*set_hook_fn)(void (*)(unsigned, uintptr_t));

/*
 * A DLL with its own copy of the runtime switches a key while we have a
 * second thread, so that copy adds its vectored handler; after FreeLibrary
 * a breakpoint must reach our handler, not a handler left in unmapped code.
 */
static int run_unload(const char *path)
{
	HMODULE h = LoadLibraryA(path);
	int (*plugin_switch)(void);
	set_hook_fn plugin_hook;
	void *veh;
	pthread_t t;
	int err;

	if (!h) {
		fprintf(stderr, "unload: cannot load %s (error %lu)\n", path, GetLastError());
		return 1;
	}
	plugin_switch = (int (*)(void))(void (*)(void))GetProcAddress(h, "plugin_switch");
	plugin_hook = (set_hook_fn)(void (*)(void))GetProcAddress(h, "skeys__set_phase_hook");
	if (!plugin_switch || !plugin_hook) {
		fprintf(stderr, "unload: %s lacks plugin_switch or the runtime\n", path);
		return 1;
	}
	/* Whichever copy runs the protocol (ours, if the copies ever join), count it. */
	skeys__set_phase_hook(count_phases);
	plugin_hook(count_phases);
	pthread_create(&t, NULL, idle, NULL);
	err = plugin_switch();
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	plugin_hook(NULL);
	skeys__set_phase_hook(NULL);
	if (err || hook_calls != 6) {
		fprintf(stderr, "unload: the plugin's switch %s, %u of 6 phases\n",
			err ? "failed" : "worked", hook_calls);
		return 1;
	}
	FreeLibrary(h);
	veh = AddVectoredExceptionHandler(0, user_veh);
	__debugbreak();
	RemoveVectoredExceptionHandler(veh);
	if (user_traps != 1) {
		fprintf(stderr, "unload: the breakpoint did not reach the program's handler\n");
		return 1;
	}
	return 0;
}
#endif

#if defined(_WIN32)
/*
 * `cost` (a benchmark, not a test): microseconds per enable + disable of
 * k0 with one thread, with a second thread asleep, and with one
 * running the site; under wine on Linux, also the TLB shootdown interrupts
 * each core received meanwhile (/proc/interrupts), which is how the
 * runtime's page flip reaches the other cores when FlushProcessWriteBuffers
 * does nothing.
 */
static void print_shootdowns(const char *when)
{
	FILE *f = fopen("Z:\\proc\\interrupts", "r");
	char line[512];

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "TLB"))
			printf("%s: %s", when, line);
	if (f)
		fclose(f);
}

static double us_per_toggle(int n)
{
	double t0 = now();

	for (int i = 0; i < n; i++)
		if (skeys_enable(&k0) || skeys_disable(&k0))
			return -1;
	return (now() - t0) * 1e6 / n;
}

static int run_cost(void)
{
	HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL), th;
	pthread_t t;
	const int n = 2000;

	printf("%d enable+disable pairs of k0 (3 sites, 2 runs of pages), write method %s\n", n,
	       getenv("SKEYS_WRITE") ? getenv("SKEYS_WRITE") : "auto");
	printf("one thread:           %8.1f us a pair\n", us_per_toggle(n));
	th = CreateThread(NULL, 0, wait_for, ev, 0, NULL);
	printf("second thread asleep: %8.1f us a pair\n", us_per_toggle(n));
	SetEvent(ev);
	WaitForSingleObject(th, INFINITE);
	pthread_create(&t, NULL, idle, NULL);
	print_shootdowns("before");
	printf("thread running site:  %8.1f us a pair\n", us_per_toggle(n));
	print_shootdowns("after ");
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	return 0;
}
#endif

static int run(const char *t, const char *m)
{
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
#if defined(_WIN32)
	if (!strcmp(t, "cost"))
		return run_cost();
	if (!strcmp(t, "unload"))
		return run_unload(m);
	if (!strcmp(t, "late-trap"))
		return run_late();
#endif
	fprintf(stderr, "usage: stress stress procmem|mprotect | contention | chain | single | trap"
#if defined(_WIN32)
			" | cost | unload DLL | late-trap"
#endif
			"\n");
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
