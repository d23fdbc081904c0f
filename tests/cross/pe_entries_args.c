/* SPDX-License-Identifier: MIT */
/* See pe_entries_args.h. Built with -fpatchable-function-entry. */
#include "pe_entries_args.h"

#include "testing.h"

#include <stdarg.h>

/* xmm0-3: every argument a floating-point one, float and double. */
__attribute__((noinline)) double exe_floats(double a, float b, double c, float d)
{
	return a + 2.0 * b + 4.0 * c + 8.0 * d;
}

/* Integers and floats interleaved (rcx xmm1 r8 xmm3), then two on the stack. */
__attribute__((noinline)) double exe_mixed(int a, double b, long long c, float d, int e,
					   double f)
{
	return a + 3.0 * b + 5.0 * (double)c + 7.0 * d + 11.0 * e + 13.0 * f;
}

/* Varargs: the callee reads the register arguments from their shadow space. */
__attribute__((noinline)) double exe_sum(int n, ...)
{
	va_list ap;
	double s = 0;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		s += (i + 1) * va_arg(ap, double);
	va_end(ap);
	return s;
}

static double (*volatile floats)(double, float, double, float) = exe_floats;
static double (*volatile mixed)(int, double, long long, float, int, double) = exe_mixed;
static double (*volatile sum)(int, ...) = exe_sum;

int pe_args_check(skeys_entry_fn *handler, const long *hits)
{
	double wf = floats(0.5, 1.25f, 2.5, 3.75f);
	double wm = mixed(1, 0.5, 1LL << 40, 2.5f, -3, 4.25);
	double ws = sum(5, 1.5, 2.5, 3.5, 4.5, 5.5);
	void *const fns[] = { (void *)exe_floats, (void *)exe_mixed, (void *)exe_sum };
	long before = *hits;
	size_t i;

	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		CHECK_ERR(skeys_entry_attach(fns[i], handler, NULL), 0);
	CHECK(floats(0.5, 1.25f, 2.5, 3.75f) == wf);
	CHECK(mixed(1, 0.5, 1LL << 40, 2.5f, -3, 4.25) == wm);
	CHECK(sum(5, 1.5, 2.5, 3.5, 4.5, 5.5) == ws);
	CHECK(*hits == before + 3);
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		CHECK_ERR(skeys_entry_detach(fns[i]), 0);
	CHECK(floats(0.5, 1.25f, 2.5, 3.75f) == wf && *hits == before + 3);
	printf("pe-entries: floats %g mixed %g sum %g\n", wf, wm, ws);
	return failures;
}
