/* SPDX-License-Identifier: MIT */
/* What the static-call test program and its shared library share. */
#ifndef SKEYS_TEST_CALLS_H
#define SKEYS_TEST_CALLS_H

#ifdef __cplusplus
extern "C" {
#endif

int lib_add10(int x);
int lib_call(int x);
int lib_update(int (*fn)(int));
int (*lib_query(void))(int);
/* A call the library exports (SKEYS_EXPORT_CALL), the executable imports. */
int lib_shared_call(int x);
int lib_shared_update(int (*fn)(int));
/* calls_plugin.c, loaded with dlopen (C names in C++ too). */
int plugin_call(int x);
int plugin_update(int (*fn)(int));
/* First bytes of the library's trampoline. */
const unsigned char *lib_tramp(void);

#ifdef __cplusplus
}
#endif

#endif
