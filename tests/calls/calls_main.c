/* SPDX-License-Identifier: MIT */
/*
 * Static calls end to end (built as C and as C++ by run-calls.py): near
 * and far targets, NULL and RET0, query, threads calling while another
 * thread updates. With -DWITH_LIB, calls across a shared library too.
 * Run as `calls inline` (linked with --emit-relocs), its call sites are
 * checked to call the target directly; as `calls`, the trampoline.
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
#include <sys/mman.h>
#include <unistd.h>

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

/* Inline call sites: a call whose result is used, a tail call, a cond call. */
static int inline_mode;
static int counter2;
__attribute__((noinline)) static int via_op(int x)
{
	return skeys_call(op)(x) * 2;
}
__attribute__((noinline)) static int via_op_tail(int x)
{
	return skeys_call(op)(x);
}
__attribute__((noinline)) static void via_hook(void)
{
	skeys_call_cond(hook)();
	counter2++;
}

/* Whether a call or jmp rel32 in fn's first bytes leads to dest. */
static int reaches(const void *fn, const void *dest)
{
	const unsigned char *p = (const unsigned char *)fn;
	int32_t d;
	int i;

	for (i = 0; i < 32; i++) {
		if (p[i] != 0xe8 && p[i] != 0xe9)
			continue;
		memcpy(&d, p + i + 1, 4);
		if (p + i + 5 + d == (const unsigned char *)dest)
			return 1;
	}
	return 0;
}

#define CODE(f) ((const void *)(uintptr_t)(f))

/*
 * The sites of `via_op` and `via_op_tail` lead to fn directly when they
 * are inline sites and fn is in reach (else through the trampoline), and
 * they call it.
 */
static void check_sites(int (*fn)(int), int arg, int want)
{
	int (*tramp)(int) = skeys_call(op);
	int direct = inline_mode && fn && !is_far(via_op, fn);

	CHECK(via_op(arg) == 2 * want && via_op_tail(arg) == want);
	CHECK(reaches(CODE(via_op), direct ? CODE(fn) : CODE(tramp)));
	CHECK(reaches(CODE(via_op_tail), direct ? CODE(fn) : CODE(tramp)));
}

static void inline_sites(void)
{
	void (*tcond)(void) = skeys_call_cond(hook);

	CHECK(skeys_call_update(op, add2) == 0);
	check_sites(add2, 1, 3);
	CHECK(skeys_call_update(op, abs) == 0); /* libc: far from a PIE executable */
	check_sites(abs, -5, 5);
	CHECK(skeys_call_update(op, NULL) == 0); /* not a cond site: the trampoline returns 0 */
	CHECK(via_op(1) == 0 && via_op_tail(1) == 0);
	CHECK(reaches(CODE(via_op), CODE(skeys_call(op))));
	CHECK(skeys_call_update(op, add1) == 0);
	check_sites(add1, 1, 2);

	/* A cond site: a nop while there is no target. */
	CHECK(skeys_call_update(hook, NULL) == 0);
	counter = counter2 = 0;
	via_hook();
	CHECK(counter == 0 && counter2 == 1);
	CHECK(inline_mode ? !reaches(CODE(via_hook), CODE(tcond)) && !reaches(CODE(via_hook), CODE(bump))
			  : reaches(CODE(via_hook), CODE(tcond)));
	CHECK(skeys_call_update(hook, bump) == 0);
	via_hook();
	CHECK(counter == 1 && counter2 == 2);
	CHECK(reaches(CODE(via_hook), inline_mode ? CODE(bump) : CODE(tcond)));
	CHECK(skeys_call_update(hook, NULL) == 0);
	via_hook();
	CHECK(counter == 1 && counter2 == 3);
	CHECK(reaches(CODE(via_hook), CODE(tcond)) == !inline_mode);
	counter = 0;
}

#ifdef WITH_LIB
/* The library's call, imported: a proxy with its own trampoline and sites. */
SKEYS_IMPORT_CALL(shared_op, lib_add10);
__attribute__((noinline)) static int via_shared(int x)
{
	return skeys_call(shared_op)(x) * 2;
}

/* Both sides reach the target, and the importer's site calls it directly once rewritten. */
static void check_shared(int (*fn)(int), int arg, int want, int direct)
{
	CHECK(lib_shared_call(arg) == want && skeys_call(shared_op)(arg) == want);
	CHECK(via_shared(arg) == 2 * want);
	CHECK(skeys_call_query(shared_op) == fn);
	if (inline_mode && direct)
		CHECK(reaches(CODE(via_shared), CODE(fn)));
}

static void across_modules(void)
{
	/* As loaded: the proxy jumps through the exporter's trampoline. */
	check_shared(lib_add10, 1, 11, 0);
	/* From the exporter's side: the proxy, never updated, follows. */
	CHECK(lib_shared_update(add2) == 0);
	check_shared(add2, 1, 3, 0);
	/* From the importer's side: both, and its site calls the target. */
	CHECK(skeys_call_update(shared_op, add1) == 0);
	check_shared(add1, 1, 2, 1);
	/* The exporter's side again: the proxy is rewritten with it. */
	CHECK(lib_shared_update(add2) == 0);
	check_shared(add2, 1, 3, 1);
	CHECK(lib_shared_update(NULL) == 0);
	CHECK(lib_shared_call(1) == 0 && via_shared(1) == 0 && skeys_call_query(shared_op) == NULL);
	CHECK(skeys_call_update(shared_op, lib_add10) == 0);
	check_shared(lib_add10, 1, 11, 0);
}
#endif

/* Looks like a call object, but no sealed call table lists it. */
static struct skeys_call forged = { 0, 0, 0, SKEYS_CALL_MAGIC, 0, 0 };

static volatile int stop;
static unsigned long ticks;

static void tick(void)
{
	__atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
}

/* One result of op: add1, add2, abs (far) or none, nothing else. */
static void expect_op(int r)
{
	if (r != 2 && r != 3 && r != 1 && r != 0) {
		fprintf(stderr, "caller: got %d\n", r);
		abort();
	}
}

static void *caller(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!stop) {
		expect_op(skeys_call(op)(1));
		/* Inline sites (a call, a tail call) and a cond site, when linked to have them. */
		expect_op(via_op(1) / 2);
		expect_op(via_op_tail(1));
		skeys_call_cond(hook)();
		n++;
	}
	return (void *)n;
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
		CHECK(skeys_call_update(hook, i % 2 ? tick : NULL) == 0);
		/* Once update returns, only the new target. */
		CHECK(skeys_call(op)(1) == expect[k]);
		CHECK(via_op(1) == 2 * expect[k] && via_op_tail(1) == expect[k]);
	}
	CHECK(skeys_call_update(hook, NULL) == 0);
	stop = 1;
	for (i = 0; i < 3; i++) {
		void *n;

		CHECK(pthread_join(t[i], &n) == 0);
		calls += (unsigned long)n;
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

	/* One of its inline call sites changed after sealing (--mode tamper --relocs). */
	if (argc > 1 && !strcmp(argv[1], "tampered-site")) {
		CHECK_ERR(skeys_call_update(op, add2), SKEYS_ERR_MISMATCH);
		CHECK(skeys_call(op)(1) == 2 && skeys_call_query(op) == add1);
		return failures != 0;
	}
	if (argc > 1 && !strcmp(argv[1], "inline"))
		inline_mode = 1;
	/* As compiled, every site calls the trampoline. */
	CHECK(reaches(CODE(via_op), CODE(skeys_call(op))));
	CHECK(reaches(CODE(via_op_tail), CODE(skeys_call(op))));

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
		uintptr_t page;
		long pg = sysconf(_SC_PAGESIZE);

		memcpy(&p, &t, sizeof(p));
		page = (uintptr_t)p & ~(uintptr_t)(pg - 1);
		CHECK(mprotect((void *)page, (size_t)pg, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
		p[0] = 0xcc;
		CHECK_ERR(skeys_call_update(op, add1), SKEYS_ERR_BREAKPOINT);
		p[0] = 0xe9;
		CHECK(mprotect((void *)page, (size_t)pg, PROT_READ | PROT_EXEC) == 0);
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
	across_modules();
#endif
	CHECK(skeys_call_update(op, add1) == 0);
	printf("far=%d\n", far_seen);
	inline_sites();

	if (!failures)
		threads();
	if (!failures)
		puts("calls ok");
	return failures != 0;
}
