/* SPDX-License-Identifier: MIT */
/*
 * Hook stubs under the ways users break them: `hook_guard MODE`
 *
 *   guard   a handler that calls a traced function (itself or another)
 *           runs that body without the handler, once, and the next call
 *           from outside runs the handler again; a signal handler that
 *           calls a traced function while a handler runs on its thread
 *           does the same; threads have a guard each
 *   pair    threads call a traced function in a loop while (handler,
 *           data) changes: every call sees one pair whole, never the
 *           handler of one with the data of the other
 *   wx      a thread reads /proc/self/maps in a loop while 3,000 stubs are
 *           handed out (a dozen arenas mapped): no mapping is ever
 *           writable and executable; stub code is r-x, slots rw-, and the
 *           handler itself sees no such page
 *   unwind  a real patchable function (its pad made a call through
 *           /proc/self/mem, as the runtime can): backtrace() from the
 *           handler walks through the stub's routine to the function's body
 *           and on to its caller
 */
#include "hook_pads.h"
#include "../../testing.h"

#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

static atomic_ulong body_calls, handler_calls;

NOINLINE static long body(long x)
{
	atomic_fetch_add(&body_calls, 1);
	return x + 1;
}

NOINLINE static long other_body(long x)
{
	atomic_fetch_add(&body_calls, 1);
	return x * 2;
}

/* ---- guard ------------------------------------------------------------------ */

static long (*traced)(long), (*traced_other)(long);
static _Thread_local unsigned long my_handler_calls;

static void recursing_handler(void *fn, void *data)
{
	(void)data;
	atomic_fetch_add(&handler_calls, 1);
	my_handler_calls++;
	/* Both run their bodies only: this thread is inside a handler. */
	if (traced(10) != 11 || traced_other(10) != 20) {
		fprintf(stderr, "a traced call from the handler returned a wrong value\n");
		failures++;
	}
	(void)fn;
}

static void on_usr1(int sig)
{
	(void)sig;
	if (traced(1) != 2)
		failures++;
}

static volatile sig_atomic_t raising = 1;

static void raising_handler(void *fn, void *data)
{
	(void)fn;
	(void)data;
	atomic_fetch_add(&handler_calls, 1);
	if (raising)
		raise(SIGUSR1);
}

static void *guard_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		if (traced(i) != i + 1)
			failures++;
	return (void *)(uintptr_t)my_handler_calls;
}

static void test_guard(struct pads *p)
{
	pthread_t t[2];
	void *got[2];

	traced = (long (*)(long))(uintptr_t)pad_hook(p, FN(body), recursing_handler, NULL);
	traced_other = (long (*)(long))(uintptr_t)pad_hook(p, FN(other_body), recursing_handler, NULL);
	CHECK(traced && traced_other);
	if (!traced || !traced_other)
		return;
	pads_protect(p, true);
	CHECK(traced(1) == 2);
	CHECK(atomic_load(&handler_calls) == 1); /* not 3, not forever */
	CHECK(atomic_load(&body_calls) == 3);    /* the outer body, the two inner ones */
	CHECK(traced_other(3) == 6);
	CHECK(atomic_load(&handler_calls) == 2); /* the guard was let go */
	CHECK(atomic_load(&body_calls) == 6);

	/* Each thread its own guard: 1,000 handler calls each. */
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, guard_thread, NULL) == 0);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_join(t[i], &got[i]) == 0);
	CHECK((uintptr_t)got[0] == 1000 && (uintptr_t)got[1] == 1000);
	CHECK(atomic_load(&handler_calls) == 2002);

	/* A signal handler calling a traced function while a handler runs. */
	pads_protect(p, false);
	atomic_store(&handler_calls, 0);
	atomic_store(&body_calls, 0);
	traced = (long (*)(long))(uintptr_t)pad_hook(p, FN(body), raising_handler, NULL);
	CHECK(traced != NULL);
	if (!traced)
		return;
	pads_protect(p, true);
	signal(SIGUSR1, on_usr1);
	CHECK(traced(5) == 6);
	CHECK(atomic_load(&handler_calls) == 1);
	CHECK(atomic_load(&body_calls) == 2);
	/* Outside a handler, a signal handler's traced call runs the handler. */
	raising = 0;
	raise(SIGUSR1);
	CHECK(atomic_load(&handler_calls) == 2);
	CHECK(atomic_load(&body_calls) == 3);
}

/* ---- pair ------------------------------------------------------------------- */

struct pair_data {
	int id;
};
static struct pair_data da = { 1 }, db = { 2 };
static atomic_ulong seen_a, seen_b, mixed;
static atomic_bool stop;

static void handler_a(void *fn, void *data)
{
	(void)fn;
	if (data != &da)
		atomic_fetch_add(&mixed, 1);
	atomic_fetch_add(&seen_a, 1);
}

static void handler_b(void *fn, void *data)
{
	(void)fn;
	if (data != &db)
		atomic_fetch_add(&mixed, 1);
	atomic_fetch_add(&seen_b, 1);
}

static void *pair_thread(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (traced((long)n) != (long)n + 1)
			failures++;
		n++;
	}
	return (void *)(uintptr_t)n;
}

static void test_pair(struct pads *p)
{
	uintptr_t from, stub0 = 0, stub = 0;
	struct timespec start, now;
	unsigned long changes = 0, calls = 0;
	pthread_t t[2];

	traced = (long (*)(long))(uintptr_t)pad_hook(p, FN(body), handler_a, &da);
	CHECK(traced != NULL);
	if (!traced)
		return;
	from = (uintptr_t)traced + 5;
	CHECK(hook_stub_locked(from, FN(body), handler_a, &da, &stub0) == 0);
	pads_protect(p, true);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, pair_thread, NULL) == 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		bool b = changes % 2 == 0;

		CHECK(hook_stub_locked(from, FN(body), b ? handler_b : handler_a, b ? &db : &da,
				       &stub) == 0);
		CHECK(stub == stub0); /* the pad's stub, reused */
		changes++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 <
		 1500);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++) {
		void *n;

		CHECK(pthread_join(t[i], &n) == 0);
		calls += (uintptr_t)n;
	}
	printf("%lu changes, %lu calls: %lu with a, %lu with b\n", changes, calls,
	       atomic_load(&seen_a), atomic_load(&seen_b));
	CHECK(atomic_load(&mixed) == 0);
	CHECK(atomic_load(&seen_a) + atomic_load(&seen_b) == calls);
	CHECK(atomic_load(&seen_a) > 0 && atomic_load(&seen_b) > 0);
}

/* ---- wx --------------------------------------------------------------------- */

static atomic_ulong wx_found, wx_reads;
/* The stubs handed out and the pads' mapping: what is ours in the maps. */
static uintptr_t wx_mine[3002];
static atomic_size_t wx_n;

static void *wx_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&wx_found, (unsigned long)maps_wx(wx_mine, atomic_load(&wx_n)));
		atomic_fetch_add(&wx_reads, 1);
	}
	return NULL;
}

static void wx_handler(void *fn, void *data)
{
	(void)fn;
	(void)data;
	atomic_fetch_add(&handler_calls, 1);
	atomic_fetch_add(&wx_found, (unsigned long)maps_wx(wx_mine, atomic_load(&wx_n)));
}

static void test_wx(void)
{
	enum { N = 3000 };
	struct pads p;
	uintptr_t stub = 0, first = 0;
	char perms[5];
	pthread_t t;

	/* Pads of 3,000 functions: a page of stubs serves 256. */
	if (!pads_map(&p, 0, N * PAD_SIZE + 4096)) {
		perror("mmap");
		failures++;
		return;
	}
	wx_mine[0] = (uintptr_t)p.base;
	atomic_store(&wx_n, 1);
	CHECK(pthread_create(&t, NULL, wx_thread, NULL) == 0);
	for (int i = 0; i < N; i++) {
		uintptr_t from = (uintptr_t)p.base + (size_t)i * PAD_SIZE + 5;

		CHECK(hook_stub_locked(from, FN(body), wx_handler, NULL, &stub) == 0);
		CHECK(pads_reach(from, stub));
		wx_mine[i + 1] = stub;
		atomic_store(&wx_n, (size_t)i + 2);
		if (!first)
			first = stub;
	}
	/* Long enough for the reader to see the maps a few times. */
	while (atomic_load(&wx_reads) < 20)
		usleep(1000);
	atomic_store(&stop, true);
	CHECK(pthread_join(t, NULL) == 0);
	/* Every stub starts with endbr64 or endbr32 (reached by a direct call or jump: harmless). */
	CHECK(!memcmp((const void *)first, STUB_ENDBR, 4));
	CHECK(!memcmp((const void *)stub, STUB_ENDBR, 4));
	CHECK(maps_perms(first, perms) && !strcmp(perms, "r-xp"));
	CHECK(maps_perms(stub, perms) && !strcmp(perms, "r-xp"));
	CHECK(maps_perms((first & ~(uintptr_t)4095) + 4096, perms) && !strcmp(perms, "rw-p"));
	/* And from inside a handler. */
	traced = (long (*)(long))(uintptr_t)pad_hook(&p, FN(body), wx_handler, NULL);
	CHECK(traced != NULL);
	if (traced) {
		pads_protect(&p, true);
		CHECK(traced(1) == 2);
		CHECK(atomic_load(&handler_calls) == 1);
	}
	printf("%lu reads of the maps\n", atomic_load(&wx_reads));
	CHECK(atomic_load(&wx_found) == 0);
}

/* ---- unwind ----------------------------------------------------------------- */

static void *unwind_frames[32];
static int unwind_n;
static void *unwind_caller;

static void unwind_handler(void *fn, void *data)
{
	(void)fn;
	(void)data;
	atomic_fetch_add(&handler_calls, 1);
	unwind_n = backtrace(unwind_frames, 32);
}

__attribute__((noinline, patchable_function_entry(5, 0))) static long traced_real(long x)
{
	unwind_caller = __builtin_return_address(0);
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static void test_unwind(void)
{
	const uint8_t *f = (const uint8_t *)FN(traced_real);
	static const uint8_t nops[5] = { 0x90, 0x90, 0x90, 0x90, 0x90 };
	uintptr_t pad = (uintptr_t)f + (memcmp(f, STUB_ENDBR, 4) ? 0 : 4), stub = 0;
	uint8_t call[5] = { 0xe8 };
	bool from_seen = false, caller_seen = false;
	int32_t rel;
	int fd;

	/* gcc's pad: five one-byte nops; clang's: one 5-byte nop (i686: 66 90 66 90 90). */
	if (memcmp((const void *)pad, nops, 5) && ((const uint8_t *)pad)[0] != 0x0f &&
	    ((const uint8_t *)pad)[0] != 0x66) {
		fprintf(stderr, "no pad at %p\n", (void *)pad);
		failures++;
		return;
	}
	CHECK(hook_stub_locked(pad + 5, FN(traced_real), unwind_handler, NULL, &stub) == 0);
	rel = (int32_t)(int64_t)(stub - (pad + 5));
	memcpy(call + 1, &rel, 4);
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, call, 5, (off_t)pad) != 5) {
		printf("SKIP: cannot write the pad through /proc/self/mem\n");
		exit(77);
	}
	close(fd);
	CHECK(traced_real(1) == 2);
	CHECK(atomic_load(&handler_calls) == 1);
	for (int i = 0; i < unwind_n; i++) {
		from_seen |= unwind_frames[i] == (void *)(pad + 5);
		caller_seen |= unwind_frames[i] == unwind_caller;
	}
	if (!from_seen || !caller_seen) {
		char **names = backtrace_symbols(unwind_frames, unwind_n);

		fprintf(stderr, "backtrace from the handler (%d frames), body %p, caller %p:\n",
			unwind_n, (void *)(pad + 5), unwind_caller);
		for (int i = 0; names && i < unwind_n; i++)
			fprintf(stderr, "  %s\n", names[i]);
		free(names);
	}
	CHECK(from_seen);
	CHECK(caller_seen);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct pads p;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!pads_map(&p, 0, 1 << 16)) {
		perror("mmap");
		return 1;
	}
	if (!strcmp(mode, "guard"))
		test_guard(&p);
	else if (!strcmp(mode, "pair"))
		test_pair(&p);
	else if (!strcmp(mode, "wx"))
		test_wx();
	else if (!strcmp(mode, "unwind"))
		test_unwind();
	else {
		fprintf(stderr, "usage: hook_guard guard|pair|wx|unwind\n");
		return 2;
	}
	return failures != 0;
}
