/* SPDX-License-Identifier: MIT */
/* Must not compile: skeys_call_update with a function of another type (unless -DGOOD). */
#include <skeys.h>
#include <stddef.h>

int one(int x)
{
	return x;
}

long other(long x)
{
	return x;
}

SKEYS_DEFINE_CALL(op, one);

int update(void);
int update(void)
{
#ifdef GOOD
	return skeys_call_update(op, one) + skeys_call_update(op, NULL);
#else
	return skeys_call_update(op, other);
#endif
}

int main(void)
{
	return 0;
}
