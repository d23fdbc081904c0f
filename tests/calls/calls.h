/* SPDX-License-Identifier: MIT */
/* What the static-call test program and its shared library share. */
#ifndef SKEYS_TEST_CALLS_H
#define SKEYS_TEST_CALLS_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Windows: the executable takes the library's functions as imports, so that
 * lib_add10 is the DLL's own address (a far target), not a thunk in the EXE.
 * The library exports them by name: with SKEYS_EXPORT_CALL's exports, GNU ld
 * no longer exports every global symbol of the DLL.
 */
#if defined(_WIN32) && defined(CALLS_LIB)
#define CALLS_API __declspec(dllexport)
#elif defined(_WIN32)
#define CALLS_API __declspec(dllimport)
#else
#define CALLS_API
#endif

CALLS_API int lib_add10(int x);
CALLS_API int lib_call(int x);
CALLS_API int lib_update(int (*fn)(int));
CALLS_API int (*lib_query(void))(int);
/* A call the library exports (SKEYS_EXPORT_CALL), the executable imports. */
CALLS_API int lib_shared_call(int x);
CALLS_API int lib_shared_update(int (*fn)(int));
/* calls_plugin.c, loaded with dlopen or LoadLibrary (C names in C++ too). */
#ifdef _WIN32
#define PLUGIN_API __declspec(dllexport)
#else
#define PLUGIN_API
#endif
PLUGIN_API int plugin_call(int x);
PLUGIN_API int plugin_update(int (*fn)(int));
/* First bytes of the library's trampoline. */
CALLS_API const unsigned char *lib_tramp(void);

#ifdef __cplusplus
}
#endif

#endif
