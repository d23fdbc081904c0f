/* SPDX-License-Identifier: MIT */
/*
 * Static calls end to end (built as C and as C++ by run-calls.py): near
 * and far targets, NULL and RET0, query, threads calling while another
 * thread updates. With -DWITH_LIB, calls across a shared library too.
 * Also built for Windows (tests/cross/run-pe-calls.py), the library a DLL.
 */
#include "../testing.h"
#include "calls.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <skeys.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
/* <windows.h> defines `far` and `near` away (16-bit pointers): a call here is named far. */
#undef far
#undef near
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

int add1(int x);
int add2(int x);
int add3(int x);
/* calls_other.c */
int other_call(int x);
int other_update(int (*fn)(int));
int other_own(int x);
/* calls_kernel.c */
int kernel_call(int x);
int kernel_update(int (*fn)(int));
int (*kernel_query(void))(int);
void kernel_hook(void);
int kernel_hook_update(void (*fn)(void));
int add1(int x)
{
	return x + 1;
}
int add2(int x)
{
	return x + 2;
}
static int counter;
static void bump(void)
{
	counter++;
}
static void bump_hook(void)
{
	bump();
}
static int twice(int x)
{
	return 2 * x;
}

SKEYS_DEFINE_CALL(op, add1);
SKEYS_DEFINE_CALL_NULL(hook, bump);
SKEYS_DEFINE_CALL_RET0(r0, add1);
SKEYS_DEFINE_CALL(far, twice);

/* The trampoline's first byte: 0xe9 near, 0xff far, 0xeb return 0. */
static unsigned form_of(int (*tramp)(int))
{
	const unsigned char *p;

	memcpy(&p, &tramp, sizeof(p));
	return p[0];
}

/* Whether fn is out of a rel32 jump's reach from the trampoline. */
static int is_far(int (*tramp)(int), int (*fn)(int))
{
	uintptr_t t, f;

	memcpy(&t, &tramp, sizeof(t));
	memcpy(&f, &fn, sizeof(f));
	f -= t + 5;
	return (intptr_t)f != (intptr_t)(int32_t)(intptr_t)f;
}

#ifdef __cplusplus
/* A call defined in a namespace, calling a function of it; overloads. */
namespace ns {
static int ov(int x)
{
	return x + 100;
}
[[maybe_unused]] static long ov(long x)
{
	return x + 200;
}
static int thousand(int x)
{
	return x + 1000;
}
SKEYS_DEFINE_CALL(ns_call, thousand);
} // namespace ns
#endif

/* Code at p made writable (on) or not, as a debugger would. 0 or -1. */
static int code_writable(void *p, int on)
{
#ifdef _WIN32
	DWORD old;

	return VirtualProtect(p, 16, on ? PAGE_EXECUTE_READWRITE : PAGE_EXECUTE_READ, &old) ? 0 : -1;
#else
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)(pg - 1);

	return mprotect((void *)page, (size_t)pg, PROT_READ | PROT_EXEC | (on ? PROT_WRITE : 0));
#endif
}

/* Looks like a call object, but no sealed call table lists it. */
static struct skeys_call forged = { 0, 0, 0, SKEYS_CALL_MAGIC, 0 };

static volatile int stop;

static void *caller(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!stop) {
		int r = skeys_call(op)(1);

		/* add1, add2, abs (far) or none: nothing else. */
		if (r != 2 && r != 3 && r != 1 && r != 0) {
			fprintf(stderr, "caller: got %d\n", r);
			abort();
		}
		n++;
	}
	return (void *)(uintptr_t)n;
}

static void threads(void)
{
	int (*const targets[])(int) = { add2, abs, NULL, add1 };
	const int expect[] = { 3, 1, 0, 2 };
	pthread_t t[3];
	unsigned long calls = 0;
	int i, k;

	for (i = 0; i < 3; i++)
		CHECK(pthread_create(&t[i], NULL, caller, NULL) == 0);
	for (i = 0; i < 2000; i++) {
		k = i % 4;
		CHECK(skeys_call_update(op, targets[k]) == 0);
		/* Once update returns, only the new target. */
		CHECK(skeys_call(op)(1) == expect[k]);
	}
	stop = 1;
	for (i = 0; i < 3; i++) {
		void *n;

		CHECK(pthread_join(t[i], &n) == 0);
		calls += (unsigned long)(uintptr_t)n;
	}
	printf("threads: %lu calls during 2000 updates\n", calls);
}

int main(int argc, char **argv)
{
	int far_seen = 0;

	/* Not sealed by skeys-seal: refused, and the call stays as it was. */
	if (argc > 1 && !strcmp(argv[1], "unsealed")) {
		CHECK_ERR(skeys_call_update(op, add2), SKEYS_ERR_UNSEALED);
		CHECK(skeys_call(op)(1) == 2 && skeys_call_query(op) == add1);
		return failures != 0;
	}
	/* Its sealed call table changed afterwards (run-calls.py --mode tamper). */
	if (argc > 1 && !strcmp(argv[1], "tampered")) {
		CHECK_ERR(skeys_call_update(op, add2), SKEYS_ERR_CHECKSUM);
		CHECK(skeys_call(op)(1) == 2);
		return failures != 0;
	}

	/* As compiled: through the call object, then near once updated. */
	CHECK(skeys_call(op)(1) == 2);
	CHECK(skeys_call_query(op) == add1);
	CHECK(form_of(skeys_call(op)) == 0xff);
	CHECK(skeys_call_update(op, add2) == 0);
	CHECK(skeys_call(op)(1) == 3);
	CHECK(skeys_call_query(op) == add2);
	CHECK(form_of(skeys_call(op)) == 0xe9);

	/* The same call from another file (SKEYS_DECLARE_CALL), and that file's own. */
	CHECK(other_call(1) == 3);
	CHECK(other_update(add3) == 0);
	CHECK(skeys_call(op)(1) == 4 && other_call(1) == 4);
	CHECK(skeys_call_update(op, add2) == 0);
	CHECK(other_own(1) == 4);

#ifdef __cplusplus
	using namespace ns; /* its call's names are found as any of its names */

	/* An overloaded name: the update takes the overload of the call's type. */
	CHECK(skeys_call_update(op, ns::ov) == 0);
	CHECK(skeys_call(op)(1) == 101 && skeys_call(ns_call)(1) == 1001);
	CHECK(skeys_call_update(ns_call, ns::ov) == 0 && skeys_call(ns_call)(1) == 101);
	CHECK(skeys_call_update(op, add2) == 0);
#endif

	/* The kernel's names (<skeys/kernel.h>). */
	CHECK(kernel_call(1) == 2 && kernel_query() == add1);
	CHECK(kernel_update(add3) == 0);
	CHECK(kernel_call(1) == 4 && kernel_query() == add3);
	kernel_hook(); /* no target: nothing */
	CHECK(kernel_hook_update(bump_hook) == 0);
	kernel_hook();
	CHECK(counter == 1 && kernel_hook_update(NULL) == 0);
	counter = 0;

	/* A debugger's breakpoint on the trampoline: refused, and said so. */
	{
		int (*t)(int) = skeys_call(op);
		unsigned char *p;

		memcpy(&p, &t, sizeof(p));
		CHECK(code_writable(p, 1) == 0);
		p[0] = 0xcc;
		CHECK_ERR(skeys_call_update(op, add1), SKEYS_ERR_BREAKPOINT);
		p[0] = 0xe9;
		CHECK(code_writable(p, 0) == 0);
		CHECK(skeys_call(op)(1) == 3);
	}

	/* Only call objects of a sealed table are updated. */
	CHECK_ERR(skeys_call_set(&forged, 0), SKEYS_ERR_NOTKEY);
	CHECK_ERR(skeys_call_set(NULL, 0), -EINVAL);

	/* NULL: cond calls do nothing, non-void calls return 0. */
	skeys_call_cond(hook)();
	CHECK(counter == 0 && skeys_call_query(hook) == NULL);
	CHECK(skeys_call_update(hook, bump) == 0);
	skeys_call_cond(hook)();
	CHECK(counter == 1);
	CHECK(skeys_call_update(hook, NULL) == 0);
	skeys_call_cond(hook)();
	CHECK(counter == 1);
	CHECK(skeys_call_update(op, NULL) == 0);
	CHECK(skeys_call(op)(1) == 0 && skeys_call_query(op) == NULL);

	/* RET0: returns 0 until updated. */
	CHECK(skeys_call(r0)(5) == 0 && skeys_call_query(r0) == NULL);
	CHECK(skeys_call_update(r0, add2) == 0);
	CHECK(skeys_call(r0)(5) == 7);

	/* A libc function: far from a PIE executable, possibly near otherwise. */
	CHECK(skeys_call(far)(4) == 8);
	CHECK(skeys_call_update(far, abs) == 0);
	CHECK(skeys_call(far)(-4) == 4);
	far_seen |= is_far(skeys_call(far), abs);
	CHECK(form_of(skeys_call(far)) == (is_far(skeys_call(far), abs) ? 0xff : 0xe9));
	CHECK(skeys_call_update(far, toupper) == 0); /* far to far: the literal alone */
	CHECK(skeys_call(far)('a') == 'A');
	CHECK(skeys_call_update(far, twice) == 0);
	CHECK(skeys_call(far)(4) == 8 && form_of(skeys_call(far)) == 0xe9);

#ifdef WITH_LIB
	/* Across a shared library: each call's trampoline is in its own module. */
	CHECK(lib_call(1) == 11);
	CHECK(lib_update(add2) == 0);
	CHECK(lib_call(1) == 3 && lib_query() == add2);
	far_seen |= lib_tramp()[0] == 0xff;
	CHECK(skeys_call_update(op, lib_add10) == 0);
	CHECK(skeys_call(op)(1) == 11);
	far_seen |= is_far(skeys_call(op), lib_add10);
	CHECK(lib_update(NULL) == 0 && lib_call(1) == 0);
#endif
	CHECK(skeys_call_update(op, add1) == 0);
	printf("far=%d\n", far_seen);

	if (!failures)
		threads();
	if (!failures)
		puts("calls ok");
	return failures != 0;
}
