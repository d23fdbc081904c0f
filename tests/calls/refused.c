/* SPDX-License-Identifier: MIT */
/*
 * Static calls that <skeys.h> refuses at compile time (refused.py), each
 * selected by a macro; without one, the same file compiles.
 *   CASE_STDCALL, CASE_FASTCALL  i386: a callee-pops call type
 *   CASE_EXPORT, CASE_IMPORT     Mach-O: calls across images
 */
#include <skeys.h>

#if defined(CASE_STDCALL)
#define CONV __attribute__((stdcall))
#elif defined(CASE_FASTCALL)
#define CONV __attribute__((fastcall))
#else
#define CONV
#endif

#ifdef __cplusplus
extern "C" {
#endif
int CONV refused_f(int x);
int CONV refused_use(int x);
#ifdef __cplusplus
}
#endif

int CONV refused_f(int x)
{
	return x + 1;
}

SKEYS_DEFINE_CALL(refused_c, refused_f);
SKEYS_DEFINE_CALL_RET0(refused_z, refused_f);
#ifdef CASE_EXPORT
SKEYS_EXPORT_CALL(refused_c);
#endif
#ifdef CASE_IMPORT
SKEYS_IMPORT_CALL(refused_i, refused_f);
#endif

int CONV refused_use(int x)
{
	return skeys_call(refused_c)(x) + skeys_call(refused_z)(x);
}
