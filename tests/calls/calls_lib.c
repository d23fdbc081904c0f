/* SPDX-License-Identifier: MIT */
/* A shared library with a static call of its own: targets in the executable are far. */
#define CALLS_LIB
#include "calls.h"

#include <skeys.h>
#include <stdint.h>
#include <string.h>

int lib_add10(int x)
{
	return x + 10;
}

SKEYS_DEFINE_CALL(libop, lib_add10);
#if defined(__ELF__) || defined(_WIN32)
/* Exported (ELF and PE; not Mach-O yet): the executable imports it. */
SKEYS_DEFINE_CALL(shared_op, lib_add10);
SKEYS_EXPORT_CALL(shared_op);

int lib_shared_call(int x)
{
	return skeys_call(shared_op)(x);
}

int lib_shared_update(int (*fn)(int))
{
	return skeys_call_update(shared_op, fn);
}
#endif

int lib_call(int x)
{
	return skeys_call(libop)(x);
}

int lib_update(int (*fn)(int))
{
	return skeys_call_update(libop, fn);
}

int (*lib_query(void))(int)
{
	return skeys_call_query(libop);
}

const unsigned char *lib_tramp(void)
{
	int (*t)(int) = skeys_call(libop);
	const unsigned char *p;

	memcpy(&p, &t, sizeof(p));
	return p;
}
