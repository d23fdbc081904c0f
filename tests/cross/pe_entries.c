/* SPDX-License-Identifier: MIT */
/*
 * Function entries on Windows x86-64 (run by run-pe-entries.py under wine,
 * built with mingw-w64 gcc and -fpatchable-function-entry=5): functions of
 * this EXE and of a DLL (tests/entries/entries_lib.c, ENTRIES_DLL), and a
 * plugin DLL loaded after attach_all (ENTRIES_PLUGIN). Modes:
 *
 *   sealed    redirect/restore (near, and far through a jump stub), attach
 *             with the Windows x64 convention's every argument register
 *             (rcx rdx r8 r9, xmm0-3, stack arguments, varargs, a struct
 *             returned through a hidden pointer) intact although the
 *             handler changes them, the last-error value kept, the
 *             per-thread guard, a stack walk from the handler through the
 *             stub to the caller, a key site right after a pad, each
 *             switched on its own, attach_all/detach_all with a DLL loaded
 *             later, refusals (NOTPATCHABLE, the EXE's import thunk of a
 *             DLL function), no page left writable and executable, and
 *             attach/detach while threads call the function
 *   unsealed  the EXE and the DLL not sealed: SKEYS_ERR_UNSEALED, and
 *             attach_all passes them over
 *   clang     built by clang, which lists no patchable function: every
 *             function is SKEYS_ERR_NOTPATCHABLE, attach_all a no-op
 *
 * Exit 0 and "pe-entries: ok", or 1.
 */
#include "entries.h"
#include "pe_entries_args.h"

#include <skeys.h>

#include "testing.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

/* The EXE's own patchable functions, each called through a volatile pointer. */
__attribute__((noinline)) int exe_add5(int x)
{
	return x + 5;
}

__attribute__((noinline)) int exe_add7(int x)
{
	return x + 7;
}

/* What the thread's last-error value is when the body starts. */
__attribute__((noinline)) DWORD exe_last_error(void)
{
	return GetLastError();
}

/* A key site first in the body, right after the pad: one run of nops, two owners. */
SKEYS_DEFINE_FALSE(entries_key);

__attribute__((noinline)) int exe_keyed(int x)
{
	if (skeys_branch_unlikely(&entries_key))
		return 0;
	return x + 1;
}

static int (*volatile add5)(int) = exe_add5;
static int (*volatile keyed)(int) = exe_keyed;
static int (*volatile add7)(int) = exe_add7;
static DWORD (*volatile last_error)(void) = exe_last_error;

/* The DLL's, by GetProcAddress: the addresses of the functions themselves. */
static int (*add1)(int), (*add2)(int), (*mul3)(int), (*plain)(int);
static long (*args_fn)(long, long, long, long, long, long, long, long, double, double, double,
		       double, double, double, double, double);
static struct ent_big (*big_fn)(long, double);

/* A DLL's function into a function pointer of its type. */
#define PROC(h, name, to)                                                      \
	do {                                                                   \
		FARPROC p_ = GetProcAddress(h, name);                          \
		memcpy(&(to), &p_, sizeof(p_));                                \
	} while (0)

static void dll_functions(void)
{
	HMODULE h = GetModuleHandleA(ENTRIES_DLL);

	CHECK(h != NULL);
	if (!h)
		exit(1);
	PROC(h, "ent_add1", add1);
	PROC(h, "ent_add2", add2);
	PROC(h, "ent_mul3", mul3);
	PROC(h, "ent_plain", plain);
	PROC(h, "ent_args", args_fn);
	PROC(h, "ent_big", big_fn);
	CHECK(add1 && add2 && mul3 && plain && args_fn && big_fn);
	if (!(add1 && add2 && mul3 && plain && args_fn && big_fn))
		exit(1);
}

#include "handlers.h"


static void redirection(void)
{
	CHECK(add1(1) == 2 && add5(1) == 6);
	CHECK_ERR(skeys_entry_redirect((void *)add1, (void *)mul3), 0);
	CHECK(add1(5) == 15);
	CHECK_ERR(skeys_entry_redirect((void *)add1, (void *)add2), 0); /* to another */
	CHECK(add1(5) == 7);
	CHECK_ERR(skeys_entry_attach((void *)add1, count, NULL), -EBUSY);
	CHECK_ERR(skeys_entry_restore((void *)add1), 0);
	CHECK(add1(5) == 6);
	/* From the EXE into the DLL and back: modules far apart. */
	CHECK_ERR(skeys_entry_redirect((void *)exe_add5, (void *)add2), 0);
	CHECK(add5(1) == 3);
	CHECK_ERR(skeys_entry_redirect((void *)add2, (void *)exe_add7), 0);
	CHECK(add2(1) == 8 && add5(1) == 8); /* exe_add5 -> ent_add2 -> exe_add7 */
	CHECK_ERR(skeys_entry_restore((void *)add2), 0);
	CHECK_ERR(skeys_entry_restore((void *)exe_add5), 0);
	CHECK(add5(1) == 6 && add2(1) == 3);
	CHECK_ERR(skeys_entry_restore((void *)exe_add5), 0); /* already so */
}

static void tracing(void)
{
	int data;

	hits = 0;
	CHECK_ERR(skeys_entry_attach((void *)add2, count, &data), 0);
	CHECK(add2(1) == 3 && hits == 1 && last_fn == (void *)add2 && last_data == &data);
	CHECK(add1(2) == 3 && hits == 1); /* another function: not traced */
	CHECK_ERR(skeys_entry_attach((void *)add2, count, NULL), 0); /* new data */
	CHECK(add2(1) == 3 && hits == 2 && last_data == NULL);
	CHECK_ERR(skeys_entry_redirect((void *)add2, (void *)mul3), -EBUSY);
	CHECK_ERR(skeys_entry_detach((void *)add2), 0);
	CHECK(add2(1) == 3 && hits == 2);
	CHECK_ERR(skeys_entry_attach((void *)exe_add7, count, &data), 0);
	CHECK(add7(1) == 8 && hits == 3 && last_fn == (void *)exe_add7);
	CHECK_ERR(skeys_entry_detach((void *)exe_add7), 0);
	CHECK(add7(1) == 8 && hits == 3);
}

static void arguments(void)
{
	long want = args_fn(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5);
	struct ent_big b;

	hits = 0;
	CHECK_ERR(skeys_entry_attach((void *)args_fn, clobber, NULL), 0);
	CHECK_ERR(skeys_entry_attach((void *)big_fn, clobber, NULL), 0);
	CHECK(args_fn(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5) == want);
	b = big_fn(40, 9.0);
	CHECK(b.v[0] == 40 && b.v[1] == 41 && b.v[2] == 42 && b.v[3] == 43 && b.v[4] == 9);
	CHECK(hits == 2 && last_fn == (void *)big_fn);
	CHECK_ERR(skeys_entry_detach((void *)args_fn), 0);
	CHECK_ERR(skeys_entry_detach((void *)big_fn), 0);
	CHECK(args_fn(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5) == want);
	CHECK(hits == 2);
	failures += pe_args_check(clobber, &hits);
}

/* The thread's last-error value, as the handler and the body see it. */
static DWORD error_in_handler;

static void error_seen(void *fn, void *data)
{
	error_in_handler = GetLastError();
	SetLastError(77);
	clobber(fn, data);
}

static void last_error_kept(void)
{
	CHECK_ERR(skeys_entry_attach((void *)exe_last_error, error_seen, NULL), 0);
	SetLastError(1234);
	CHECK(last_error() == 1234);
	CHECK(error_in_handler == 1234);
	CHECK_ERR(skeys_entry_detach((void *)exe_last_error), 0);
}

/* The key's site and the function's pad, side by side, each patched on its own. */
static void key_beside(void)
{
	hits = 0;
	CHECK(keyed(3) == 4);
	CHECK_ERR(skeys_entry_attach((void *)exe_keyed, count, NULL), 0);
	CHECK(keyed(3) == 4 && hits == 1);
	CHECK_ERR(skeys_enable(&entries_key), 0);
	CHECK(keyed(3) == 0 && hits == 2);
	CHECK_ERR(skeys_entry_detach((void *)exe_keyed), 0);
	CHECK(keyed(3) == 0 && hits == 2);
	CHECK_ERR(skeys_disable(&entries_key), 0);
	CHECK(keyed(3) == 4 && hits == 2);
}

/* The per-thread guard: a handler calling its own traced function. */
static long guard_runs;

static void recurse(void *fn, void *data)
{
	(void)data;
	guard_runs++;
	if (((int (*)(int))fn)(1) != 6)
		abort();
}

static void guard(void)
{
	CHECK_ERR(skeys_entry_attach((void *)exe_add5, recurse, NULL), 0);
	CHECK(add5(2) == 7 && guard_runs == 1);
	CHECK(add5(3) == 8 && guard_runs == 2);
	CHECK_ERR(skeys_entry_detach((void *)exe_add5), 0);
}

/*
 * A stack walk from inside a handler (RtlCaptureStackBackTrace, which
 * unwinds with each module's .pdata) reaches the function that called the
 * traced one: through skeys__entry_hook_common's unwind information and
 * the traced function's own.
 */
static int walk_found;

static void walk(void *fn, void *data)
{
	void *frames[32];
	USHORT n = RtlCaptureStackBackTrace(0, 32, frames, NULL);

	(void)fn;
	for (USHORT i = 0; i < n; i++) {
		DWORD64 base = 0;
		PRUNTIME_FUNCTION f = RtlLookupFunctionEntry((DWORD64)(uintptr_t)frames[i], &base,
							      NULL);

		if (f && base + f->BeginAddress == (DWORD64)(uintptr_t)data)
			walk_found = i;
	}
}

__attribute__((noinline)) static int walk_caller(void)
{
	return add7(1) + 1;
}

static void unwinding(void)
{
	CHECK_ERR(skeys_entry_attach((void *)exe_add7, walk, (void *)walk_caller), 0);
	CHECK(walk_caller() == 9);
	printf("pe-entries: stack walk from the handler reached the caller at frame %d\n",
	       walk_found);
	CHECK(walk_found > 0);
	CHECK_ERR(skeys_entry_detach((void *)exe_add7), 0);
}

static void refusals(void)
{
	static int not_code;

	CHECK(plain(3) == 3);
	CHECK_ERR(skeys_entry_attach((void *)plain, count, NULL), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_attach((void *)&not_code, count, NULL), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_attach((void *)((char *)add1 + 1), count, NULL),
		  SKEYS_ERR_NOTPATCHABLE);
	/* The EXE's import thunk (jmp *__imp_ent_add1), not the function: refused. */
	CHECK((void *)ent_add1 != (void *)add1);
	CHECK_ERR(skeys_entry_attach((void *)ent_add1, count, NULL), SKEYS_ERR_NOTPATCHABLE);
	/* msvcrt's code: no module of skeys. */
	CHECK_ERR(skeys_entry_attach((void *)abs, count, NULL), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_attach(NULL, count, NULL), -EINVAL);
	CHECK_ERR(skeys_entry_attach((void *)add1, NULL, NULL), -EINVAL);
	CHECK_ERR(skeys_entry_redirect((void *)add1, NULL), -EINVAL);
	CHECK(plain(3) == 3 && add1(1) == 2);
}

/*
 * A replacement beyond a rel32's reach: lea 10(%rcx), %eax; ret in a page
 * about 4 GiB from the EXE, reached through a jump stub near the pad.
 */
static void far_redirect(void)
{
	static const unsigned char code[] = { 0x8d, 0x41, 0x0a, 0xc3 };
	uintptr_t near_fn = (uintptr_t)exe_add5, d = 0;
	unsigned char *page = NULL;
	int (*far_fn)(int);
	DWORD old;

	for (uintptr_t gb = 4; gb < 64 && !page; gb++)
		page = VirtualAlloc((void *)((near_fn + (gb << 30)) & ~(uintptr_t)0xffff), 4096,
				    MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
	CHECK(page != NULL);
	if (!page)
		return;
	memcpy(page, code, sizeof(code));
	CHECK(VirtualProtect(page, 4096, PAGE_EXECUTE_READ, &old));
	memcpy(&far_fn, &page, sizeof(page));
	CHECK(far_fn(1) == 11);
	d = (uintptr_t)page - near_fn;
	printf("pe-entries: far replacement %#llx bytes from exe_add5\n", (unsigned long long)d);
	CHECK(d > ((uintptr_t)1 << 31));
	CHECK_ERR(skeys_entry_redirect((void *)exe_add5, page), 0);
	CHECK(add5(1) == 11 && add5(5) == 15);
	CHECK_ERR(skeys_entry_restore((void *)exe_add5), 0);
	CHECK(add5(1) == 6);
}

/* A pad, patched: the stub it calls is in read-execute memory near it, and so is the pad. */
static void protections(void)
{
	/* volatile: gcc takes the bytes of a function for unchanging across a call. */
	const volatile unsigned char *pad = (const volatile unsigned char *)exe_add7;
	MEMORY_BASIC_INFORMATION mi;
	int32_t rel;
	uintptr_t stub;

	CHECK_ERR(skeys_entry_attach((void *)exe_add7, count, NULL), 0);
	CHECK(pad[0] == 0xe8);
	rel = (int32_t)((uint32_t)pad[1] | (uint32_t)pad[2] << 8 | (uint32_t)pad[3] << 16 |
			(uint32_t)pad[4] << 24);
	stub = (uintptr_t)pad + 5 + (uintptr_t)(intptr_t)rel;
	CHECK(VirtualQuery((void *)stub, &mi, sizeof(mi)) && mi.Protect == PAGE_EXECUTE_READ);
	CHECK(VirtualQuery((const void *)pad, &mi, sizeof(mi)) && mi.Protect == PAGE_EXECUTE_READ);
	CHECK_ERR(skeys_entry_detach((void *)exe_add7), 0);
	CHECK(pad[0] == 0x0f && pad[1] == 0x1f && pad[2] == 0x44);
	CHECK(VirtualQuery((const void *)pad, &mi, sizeof(mi)) && mi.Protect == PAGE_EXECUTE_READ);
}

/* Writable and executable regions of the whole address space. */
static size_t wx_regions(void)
{
	MEMORY_BASIC_INFORMATION mi;
	uintptr_t a = 0;
	size_t n = 0;

	while (VirtualQuery((void *)a, &mi, sizeof(mi)) == sizeof(mi)) {
		if (mi.State == MEM_COMMIT &&
		    (mi.Protect & (PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)))
			n++;
		if ((uintptr_t)mi.BaseAddress + mi.RegionSize <= a)
			break;
		a = (uintptr_t)mi.BaseAddress + mi.RegionSize;
	}
	return n;
}

static void everything(void)
{
	long before;
	HMODULE h;
	int (*fn)(int);

	CHECK_ERR(skeys_entry_redirect((void *)mul3, (void *)add2), 0);
	CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0);
	before = all_hits;
	CHECK(add1(1) == 2 && add2(1) == 3 && add5(1) == 6);
	CHECK(all_hits == before + 3);
	CHECK(mul3(1) == 3); /* redirected: stays so, to ent_add2, which is traced */
	CHECK(all_hits == before + 4);
	/*
	 * A DLL loaded now follows attach_all; it prefers entries.dll's base,
	 * so the loader moved it: its list holds relocated addresses.
	 */
	h = LoadLibraryA(ENTRIES_PLUGIN);
	CHECK(h != NULL);
	printf("pe-entries: plugin at %p, preferred base %#llx\n", (void *)h,
	       (unsigned long long)PLUGIN_BASE);
	CHECK((uintptr_t)h != (uintptr_t)PLUGIN_BASE);
	fn = NULL;
	if (h)
		PROC(h, "ent_plugin_fn", fn);
	CHECK(fn != NULL);
	if (fn) {
		before = all_hits;
		CHECK(fn(1) == 11 && all_hits == before + 1);
		CHECK_ERR(skeys_entry_detach_all(), 0);
		CHECK(fn(1) == 11 && all_hits == before + 1);
		CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0);
		CHECK(fn(1) == 11 && all_hits == before + 2);
		CHECK_ERR(skeys_entry_detach_all(), 0);
		FreeLibrary(h);
		CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0); /* it is gone */
	}
	CHECK_ERR(skeys_entry_detach_all(), 0);
	before = all_hits;
	CHECK(add1(1) == 2 && add2(1) == 3 && add5(1) == 6 && all_hits == before);
	CHECK_ERR(skeys_entry_restore((void *)mul3), 0);
	CHECK(mul3(1) == 3);
}

/* ---- attach and detach while other threads call the function ---------- */

#define THREADS 3
#define ROUNDS 200
#define MINE 50

static volatile LONG stop, started;
static long called[THREADS];

static DWORD WINAPI caller(void *arg)
{
	long *n = arg;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (add5(1) != 6 || add1(1) != 2)
			abort();
		if ((*n)++ == 0)
			__atomic_fetch_add(&started, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

static void under_threads(void)
{
	HANDLE t[THREADS];
	int r, i, k;

	for (i = 0; i < THREADS; i++) {
		t[i] = CreateThread(NULL, 0, caller, &called[i], 0, NULL);
		CHECK(t[i] != NULL);
	}
	while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < THREADS)
		Sleep(0);
	for (r = 0; r < ROUNDS; r++) {
		long before = hits;

		CHECK_ERR(skeys_entry_attach((void *)exe_add5, count, NULL), 0);
		CHECK_ERR(skeys_entry_attach((void *)add1, count, NULL), 0);
		/* Once attach returned, every call runs the handler once. */
		for (k = 0; k < MINE; k++)
			CHECK(add5(k) == k + 5 && add1(k) == k + 1);
		CHECK(hits == before + 2 * MINE);
		CHECK_ERR(skeys_entry_detach((void *)exe_add5), 0);
		CHECK_ERR(skeys_entry_detach((void *)add1), 0);
		for (k = 0; k < MINE; k++)
			CHECK(add5(k) == k + 5 && add1(k) == k + 1);
		CHECK(hits == before + 2 * MINE);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < THREADS; i++) {
		CHECK(WaitForSingleObject(t[i], INFINITE) == WAIT_OBJECT_0);
		CloseHandle(t[i]);
		CHECK(called[i] > 0);
	}
	printf("pe-entries: %d rounds while %d threads made %ld, %ld, %ld calls\n", ROUNDS,
	       THREADS, called[0], called[1], called[2]);
}

static int sealed(void)
{
	size_t wx = wx_regions();

	CHECK_ERR(skeys_check_sealed(), 0);
	redirection();
	tracing();
	arguments();
	last_error_kept();
	key_beside();
	guard();
	unwinding();
	refusals();
	far_redirect();
	protections();
	everything();
	under_threads();
	/* Nothing of this left a region writable and executable. */
	CHECK(wx_regions() <= wx);
	return failures;
}

/*
 * Nothing patchable: `want` for every function (SKEYS_ERR_UNSEALED before
 * sealing, the runtime cannot know the lists; SKEYS_ERR_NOTPATCHABLE with
 * clang, which lists none), and attach_all passes the modules over.
 */
static int none(int want)
{
	CHECK_ERR(skeys_entry_attach((void *)exe_add5, count, NULL), want);
	CHECK_ERR(skeys_entry_redirect((void *)add1, (void *)add2), want);
	CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0);
	CHECK(add5(1) == 6 && add1(1) == 2 && all_hits == 0);
	CHECK_ERR(skeys_entry_detach_all(), 0);
	return failures;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "sealed";

	setvbuf(stdout, NULL, _IONBF, 0);
	dll_functions();
	if (!strcmp(mode, "unsealed"))
		none(SKEYS_ERR_UNSEALED);
	else if (!strcmp(mode, "clang"))
		none(SKEYS_ERR_NOTPATCHABLE);
	else
		sealed();
	if (failures)
		return 1;
	printf("pe-entries: ok (%s)\n", mode);
	return 0;
}
