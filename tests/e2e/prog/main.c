/* SPDX-License-Identifier: MIT */
/*
 * End-to-end test program. Every site below is checked against its key's
 * state after each switching call (check.c). The four kinds of site:
 *
 *   key    site      initial instruction
 *   FALSE  unlikely  nop
 *   FALSE  likely    jump
 *   TRUE   unlikely  jump
 *   TRUE   likely    nop
 *
 * Usage: e2e [--unsealed | --unsealed-lib]
 *   --unsealed      nothing was sealed: every toggle must be refused
 *   --unsealed-lib  only the shared library was not sealed: its keys are
 *                   refused, the executable's toggle
 * Exit: 0 all checks passed, 1 a check failed, 64 usage.
 */
#include "e2e.h"

#include <skeys.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SKEYS_DEFINE_FALSE(e2e_kf);
SKEYS_DEFINE_TRUE(e2e_kt);

static volatile int e2e_sink;

E2E_NOINLINE static int f_unlikely(void)
{
	if (skeys_branch_unlikely(&e2e_kf))
		return 1;
	return 0;
}

E2E_NOINLINE static int f_likely(void)
{
	if (skeys_branch_likely(&e2e_kf))
		return 1;
	return 0;
}

E2E_NOINLINE static int t_unlikely(void)
{
	if (skeys_branch_unlikely(&e2e_kt))
		return 1;
	return 0;
}

E2E_NOINLINE static int t_likely(void)
{
	if (skeys_branch_likely(&e2e_kt))
		return 1;
	return 0;
}

/* Inlined into the loop (and unrolled at -O3): every copy is a site. */
static inline bool tracing(void)
{
	return skeys_branch_unlikely(&e2e_kf);
}

E2E_NOINLINE static int f_unlikely_loop(void)
{
	int n = 0;

	for (int i = 0; i < 8; i++) {
		if (tracing()) {
			n++;
			e2e_sink = i;
		}
	}
	return n == 8 ? 1 : n == 0 ? 0 : 2;
}

/*
 * Both kinds of site on one key in one function must agree. (Assigned, not
 * initialised: clang++ 14 rejects a second site in a declaration's
 * initialiser; see cxx-init-pair.cc.)
 */
E2E_NOINLINE static int t_pair(void)
{
	bool a, b;

	a = skeys_branch_unlikely(&e2e_kt);
	b = skeys_branch_likely(&e2e_kt);

	return a == b ? (int)a : 2;
}

/* A site whose slow path calls out, the shape the README recommends. */
E2E_NOINLINE static void slow_path(void)
{
	e2e_sink = 1;
}

E2E_NOINLINE static int f_unlikely_call(void)
{
	e2e_sink = 0;
	if (skeys_branch_unlikely(&e2e_kf))
		slow_path();
	return e2e_sink;
}

static const struct e2e_site kf_sites[] = {
	E2E_SITE(f_unlikely),
	E2E_SITE(f_likely),
	E2E_SITE(f_unlikely_loop),
	E2E_SITE(f_unlikely_call),
};
static const struct e2e_site kt_sites[] = {
	E2E_SITE(t_unlikely),
	E2E_SITE(t_likely),
	E2E_SITE(t_pair),
};

E2E_SKEYS_OPS(e2e_kf)
E2E_SKEYS_OPS(e2e_kt)

static const struct e2e_key keys[] = {
	E2E_KEY(e2e_kf, false, kf_sites),
	E2E_KEY(e2e_kt, true, kt_sites),
};

struct e2e_group e2e_main_keys(void)
{
	struct e2e_group g = { keys, sizeof(keys) / sizeof(keys[0]), false };
	return g;
}

static void log_to_stderr(enum skeys_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "skeys[%d]: %s\n", (int)level, msg);
}

int main(int argc, char **argv)
{
	bool unsealed = false, unsealed_lib = false, one_method = false;
	struct e2e_group groups[8];
	size_t n = 0;
	int failures;
	int ret;
	const char *env = getenv("SKEYS_WRITE");
	bool was_mprotect = env != NULL && strcmp(env, "mprotect") == 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--unsealed") == 0) {
			unsealed = true;
		} else if (strcmp(argv[i], "--unsealed-lib") == 0) {
			unsealed_lib = true;
		} else if (strcmp(argv[i], "--one-method") == 0) {
			/* qemu-user: /proc/self/mem writes miss its translated code */
			one_method = true;
		} else {
			fprintf(stderr, "usage: %s [--unsealed | --unsealed-lib] [--one-method]\n",
				argv[0]);
			return 64;
		}
	}
	skeys_set_log(log_to_stderr, NULL);

	groups[n++] = e2e_main_keys();
	groups[n++] = e2e_other_keys();
	groups[n++] = e2e_kernel_keys();
#ifdef E2E_CXX
	groups[n++] = e2e_cxx_a_keys();
	groups[n++] = e2e_cxx_b_keys();
#endif
#ifdef E2E_LIB
	groups[n] = e2e_lib_keys();
	groups[n++].refused = unsealed_lib;
#else
	if (unsealed_lib) {
		fprintf(stderr, "%s: --unsealed-lib: built without the library\n", argv[0]);
		return 64;
	}
#endif
	for (size_t i = 0; i < n; i++)
		groups[i].refused |= unsealed;

	failures = e2e_check(groups, n);
	if (one_method) {
		printf("e2e: %s (SKEYS_WRITE=%s only)\n", failures ? "FAILED" : "OK",
		       env != NULL ? env : "(unset)");
		return failures ? 1 : 0;
	}
	/* Once more with the other write method, chosen through the API. */
	ret = skeys_set_write_method(was_mprotect ? SKEYS_WRITE_PROCMEM : SKEYS_WRITE_MPROTECT);
	/* Flushed here: run-case.py splits its strace log at this line. */
	printf("e2e: SKEYS_WRITE=%s, then skeys_set_write_method(%s)\n",
	       env != NULL ? env : "(unset)", was_mprotect ? "procmem" : "mprotect");
	fflush(stdout);
	if (ret != 0) {
		fprintf(stderr, "e2e: FAIL skeys_set_write_method returned %d (%s)\n", ret,
			skeys_strerror(ret));
		failures++;
	}
	failures += e2e_check(groups, n);
	if (failures != 0) {
		printf("e2e: FAILED (%d)\n", failures);
		return 1;
	}
	printf("e2e: OK\n");
	return 0;
}
