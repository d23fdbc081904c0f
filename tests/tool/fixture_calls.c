/* SPDX-License-Identifier: MIT */
/*
 * Static-call fixture for the tools on object formats whose programs do not
 * run here (Mach-O): a call of each kind, one whose initial target is in
 * another image (bound by the loader), and the functions that call and
 * update them. calls_fixture.py checks what skeys-dump and skeys-seal make
 * of it; keep the names stable.
 */
#include <skeys.h>

#define NOINLINE __attribute__((noinline))

int printf(const char *fmt, ...); /* built freestanding here, no SDK */
int add1(int x);
int add2(int x);
void hook(void);
int run(int x);
int update(void);

NOINLINE int add1(int x)
{
	return x + 1;
}

NOINLINE int add2(int x)
{
	return x + 2;
}

NOINLINE void hook(void)
{
}

SKEYS_DEFINE_CALL(op, add1);
SKEYS_DEFINE_CALL_NULL(cond, hook);
SKEYS_DEFINE_CALL_RET0(zero, add1);
SKEYS_DEFINE_CALL(ext, printf);

NOINLINE int run(int x)
{
	skeys_call_cond(cond)();
	return skeys_call(op)(x) + skeys_call(zero)(x) + skeys_call(ext)("%d\n", x);
}

NOINLINE int update(void)
{
	return skeys_call_update(op, add2) || skeys_call_update(cond, hook) ||
	       skeys_call_update(zero, NULL);
}

int main(void)
{
	return run(1) + update() + run(2);
}
