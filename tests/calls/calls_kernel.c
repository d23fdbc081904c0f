/* SPDX-License-Identifier: MIT */
/* A file of the executable using the kernel's static-call names (<skeys/kernel.h>). */
#include <skeys/kernel.h>

int add1(int x);
int add3(int x);
int kernel_call(int x);
int kernel_update(int (*fn)(int));
int (*kernel_query(void))(int);
void kernel_hook(void);
int kernel_hook_update(void (*fn)(void));

DEFINE_STATIC_CALL(kcall, add1);
DEFINE_STATIC_CALL_NULL(khook, kernel_hook);

int kernel_call(int x)
{
	return static_call(kcall)(x);
}

int kernel_update(int (*fn)(int))
{
	return static_call_update(kcall, fn);
}

int (*kernel_query(void))(int)
{
	return static_call_query(kcall);
}

void kernel_hook(void)
{
	static_call_cond(khook)();
}

int kernel_hook_update(void (*fn)(void))
{
	return static_call_update(khook, fn);
}
