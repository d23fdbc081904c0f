/* SPDX-License-Identifier: MIT */
/*
 * trace: count the calls of every function of the program, with no
 * change to its code, and print the ten most called at exit.
 *
 * The program is compiled with -fpatchable-function-entry=5 (each function
 * starts with 5 bytes of nops) and sealed by skeys-seal. At start-up,
 * skeys_entry_attach_all() turns every function's nops into a call of
 * `count`, in one batch; at exit skeys_entry_detach_all() turns them back.
 * Until then the nops cost one instruction a call.
 *
 * `count` runs on every thread that calls a traced function, so it counts
 * with atomics in a fixed table. The counter's own functions opt out of the
 * flag with the patchable_function_entry(0, 0) attribute; had they not, no
 * harm: a handler's calls of traced functions (or of itself) run their
 * bodies without the handler, so a handler never recurses.
 *
 *   ./trace [N]     run the work N times on two threads (default 20)
 */
#define _GNU_SOURCE
#include <skeys.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the counter ------------------------------------------------------ */

#define SLOTS 4096 /* functions counted at most; more are "lost" */

static struct {
	_Atomic uintptr_t fn;
	atomic_ulong calls;
} table[SLOTS];
static atomic_ulong lost;

#define NOT_TRACED __attribute__((patchable_function_entry(0, 0)))

NOT_TRACED static void count(void *function, void *data)
{
	uintptr_t fn = (uintptr_t)function;
	size_t i = (size_t)((fn >> 4) * 2654435761u) % SLOTS;

	(void)data;
	for (size_t n = 0; n < SLOTS; n++, i = (i + 1) % SLOTS) {
		uintptr_t seen = 0;

		/* An empty slot becomes fn's; a slot holding fn is its. */
		if (atomic_compare_exchange_strong(&table[i].fn, &seen, fn) || seen == fn) {
			atomic_fetch_add_explicit(&table[i].calls, 1, memory_order_relaxed);
			return;
		}
	}
	atomic_fetch_add_explicit(&lost, 1, memory_order_relaxed);
}

struct row {
	uintptr_t fn;
	unsigned long calls;
};

NOT_TRACED static int by_calls(const void *a, const void *b)
{
	unsigned long x = ((const struct row *)a)->calls, y = ((const struct row *)b)->calls;

	return x < y ? 1 : x > y ? -1 : 0;
}

NOT_TRACED static void report(void)
{
	static struct row top[SLOTS];
	size_t n = 0;
	int err = skeys_entry_detach_all();

	if (err)
		fprintf(stderr, "trace: skeys_entry_detach_all: %s\n", skeys_strerror(err));
	for (size_t i = 0; i < SLOTS; i++) {
		top[n].fn = atomic_load(&table[i].fn);
		top[n].calls = atomic_load(&table[i].calls);
		n += top[n].fn != 0;
	}
	qsort(top, n, sizeof(top[0]), by_calls);
	printf("%zu functions called; the 10 most called:\n", n);
	for (size_t i = 0; i < n && i < 10; i++) {
		Dl_info info;
		const char *name = dladdr((void *)top[i].fn, &info) && info.dli_sname ? info.dli_sname
										       : "?";

		printf("%10lu  %s (%p)\n", top[i].calls, name, (void *)top[i].fn);
	}
	if (atomic_load(&lost))
		printf("%lu calls not counted (more than %d functions)\n", atomic_load(&lost), SLOTS);
}

/* ---- the program being traced ------------------------------------------ */

/* Not static, and linked with -rdynamic: dladdr() finds their names. */
__attribute__((noinline)) long fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) int is_prime(int n)
{
	if (n < 2)
		return 0;
	for (int d = 2; d * d <= n; d++)
		if (n % d == 0)
			return 0;
	return 1;
}

__attribute__((noinline)) int collatz_steps(long n)
{
	int steps = 0;

	while (n != 1) {
		n = n % 2 ? 3 * n + 1 : n / 2;
		steps++;
	}
	return steps;
}

__attribute__((noinline)) unsigned checksum(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

__attribute__((noinline)) long work(int rounds)
{
	long sum = 0;

	for (int r = 0; r < rounds; r++) {
		sum += fib(15);
		for (int i = 0; i < 100; i++)
			sum += is_prime(i);
		for (int i = 1; i <= 10; i++)
			sum += collatz_steps(i);
		sum += checksum("skeys");
	}
	return sum;
}

static int rounds = 20;

void *worker(void *arg);
void *worker(void *arg)
{
	*(long *)arg = work(rounds);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[2];
	long sums[2];
	int err;

	if (argc > 1)
		rounds = atoi(argv[1]);
	err = skeys_entry_attach_all(count, NULL);
	if (err) {
		fprintf(stderr, "trace: skeys_entry_attach_all: %s\n", skeys_strerror(err));
		return 1;
	}
	atexit(report);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, &sums[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("work: %ld %ld\n", sums[0], sums[1]);
	return sums[0] == sums[1] ? 0 : 1;
}
