/* SPDX-License-Identifier: MIT */
/*
 * tests/threads on Windows (under wine): the vectored-handler side of the
 * protocol (see stress.c), and a benchmark.
 */
#include "stress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

bool wx_mapping(void)
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

static volatile LONG user_traps;

/*
 * The program's own handler for breakpoints: count, step over the int3
 * (reported at the int3, or at the 03 of `int $3`). A RaiseException()
 * (no parameters) goes on where it was raised: ExceptionAddress, which
 * x86-64 also leaves in the context, while i386 has one byte less there
 * (the int3 convention, Windows' and wine's).
 */
static LONG CALLBACK user_veh(EXCEPTION_POINTERS *ep)
{
	uintptr_t at = (uintptr_t)ep->ExceptionRecord->ExceptionAddress;

	if (ep->ExceptionRecord->ExceptionCode != EXCEPTION_BREAKPOINT)
		return EXCEPTION_CONTINUE_SEARCH;
	InterlockedIncrement(&user_traps);
	if (ep->ExceptionRecord->NumberParameters != 0)
		at++;
#if defined(__x86_64__)
	ep->ContextRecord->Rip = (DWORD64)at;
#else
	ep->ContextRecord->Eip = (DWORD)at;
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

/* The DLL's plugin_switch(), or NULL after saying why; *h its handle. */
static int (*load_switch(const char *path, HMODULE *h))(void)
{
	int (*fn)(void);

	*h = LoadLibraryA(path);
	if (!*h) {
		fprintf(stderr, "cannot load %s (error %lu)\n", path, GetLastError());
		return NULL;
	}
	fn = (int (*)(void))(void (*)(void))GetProcAddress(*h, "plugin_switch");
	if (!fn)
		fprintf(stderr, "%s lacks plugin_switch\n", path);
	return fn;
}

/*
 * A DLL with its own static copy of the runtime switches a key while we
 * have a second thread. That copy follows ours (the leader, in
 * libskeys-0.dll), so the switch must run the protocol in ours: our phase
 * hook counts all six phases, and the DLL's copy adds no handler of its
 * own. After FreeLibrary a breakpoint must still reach our handler.
 */
static int run_unload(const char *path)
{
	HMODULE h;
	int (*plugin_switch)(void) = load_switch(path, &h);
	void *veh;
	pthread_t t;
	int err;

	if (!plugin_switch)
		return 1;
	skeys__set_phase_hook(count_phases);
	pthread_create(&t, NULL, idle, NULL);
	err = plugin_switch();
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	skeys__set_phase_hook(NULL);
	if (err || hook_calls != 6) {
		fprintf(stderr, "unload: the plugin's switch %s, %u of 6 phases in the leader\n",
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

static volatile LONG in_hook;
static int (*switch_fn)(void);

static void block_in_phase(unsigned phase, uintptr_t first_site)
{
	(void)phase;
	(void)first_site;
	InterlockedExchange(&in_hook, 1);
	Sleep(INFINITE);
}

static void *run_switch(void *arg)
{
	(void)arg;
	switch_fn();
	return NULL;
}

/*
 * ExitProcess while a thread is in the middle of a switch, holding the
 * runtime's lock: Windows ends that thread, then runs the DLLs'
 * destructors, the DLL's unregistration among them. It must not wait for
 * the lock of a thread that is gone (the test times out if it does).
 */
static int run_exit_mid_switch(const char *path)
{
	HMODULE h;
	pthread_t t;

	switch_fn = load_switch(path, &h);
	if (!switch_fn)
		return 1;
	skeys__set_phase_hook(block_in_phase);
	pthread_create(&t, NULL, run_switch, NULL);
	while (!in_hook)
		Sleep(1);
	printf("OK\n");
	fflush(stdout);
	ExitProcess(0);
}

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

const char stress_os_modes[] = "chain | single | late-trap | unload DLL | exit-mid-switch DLL | cost";

int stress_os_mode(const char *mode, const char *arg)
{
	if (!strcmp(mode, "chain"))
		return run_chain();
	if (!strcmp(mode, "single"))
		return run_single();
	if (!strcmp(mode, "late-trap"))
		return run_late();
	if (!strcmp(mode, "unload"))
		return run_unload(arg);
	if (!strcmp(mode, "exit-mid-switch"))
		return run_exit_mid_switch(arg);
	if (!strcmp(mode, "cost"))
		return run_cost();
	return -1;
}
