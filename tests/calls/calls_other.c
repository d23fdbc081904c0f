/* SPDX-License-Identifier: MIT */
/* Another file of the executable: a call declared here, defined in calls_main.c, and one of its own. */
#include <skeys.h>

int add1(int x);
int add3(int x);
int other_call(int x);
int other_update(int (*fn)(int));
int other_own(int x);

int add3(int x)
{
	return x + 3;
}

SKEYS_DECLARE_CALL(op, add1);
SKEYS_DEFINE_CALL(own, add3);

int other_call(int x)
{
	return skeys_call(op)(x);
}

int other_update(int (*fn)(int))
{
	return skeys_call_update(op, fn);
}

int other_own(int x)
{
	return skeys_call(own)(x);
}
