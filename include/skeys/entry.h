/* SPDX-License-Identifier: MIT */
/*
 * Function entries: tracing hooks and redirection on functions compiled
 * with -fpatchable-function-entry=N[,M] (N - M >= 5 on x86-64 and i686,
 * >= 2 on aarch64). Included
 * by <skeys.h>.
 *
 *   static void count(void *fn, void *data) { ++*(long *)data; }
 *   skeys_entry_attach((void *)parse, count, &calls);  // parse() runs count first
 *   skeys_entry_detach((void *)parse);
 *   skeys_entry_redirect((void *)parse, (void *)parse_fixed);  // calls run parse_fixed
 *   skeys_entry_restore((void *)parse);
 *
 * A module's patchable functions are found through its module header, so
 * at least one file of the module includes <skeys.h>, and the module goes
 * through skeys-seal (which verifies every function's nops and rewrites
 * them into one patch point). `function` is the address a C function
 * pointer gives (in a non-PIE program the address of a shared library's
 * function is its PLT entry, which is refused: take it in the library or
 * with dlsym()). A function is idle, traced (attached) or redirected:
 * attaching a redirected function, or redirecting a traced one, is -EBUSY;
 * detaching or restoring a function that is not in that state does
 * nothing and returns 0. Every call returns 0 or a negative error code
 * (SKEYS_ERR_NOTPATCHABLE for a function the registered modules do not
 * list, the keys' errors otherwise), and on error nothing changed.
 * Thread-safe as keys are: once a call returns, every call of the function
 * on any thread takes the new path; a thread already inside the function
 * finishes the body it entered. Supported on x86-64, i686 and aarch64 ELF,
 * and on x86-64 PE built by mingw-w64 gcc (clang lists no patchable
 * function there); on PE a DLL's function is taken in the DLL or with
 * GetProcAddress (the EXE's `&f` is its import thunk, refused).
 */
#ifndef SKEYS_ENTRY_H
#define SKEYS_ENTRY_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Runs before the body of a traced function: `function` as attached, `data`
 * as given. The body then gets its arguments as the caller passed them (the
 * stub saves and restores every argument register, vector ones at full
 * width), so a handler may use any register, floating point, memcpy...
 * One handler at a time per thread: while a thread runs a handler, the
 * traced functions it calls (the handler's own included, and from a signal
 * handler that interrupted it) run their bodies without a handler, so a
 * handler never recurses. A handler must return (no longjmp out of it).
 * Changing a function's (handler, data) swaps both at once: a call sees
 * the old pair or the new one, never a mix.
 */
typedef void skeys_entry_fn(void *function, void *data);

int skeys_entry_attach(void *function, skeys_entry_fn *handler, void *data);
int skeys_entry_detach(void *function);
/* Calls of `function` run `replacement` (of the same type: the caller's responsibility). */
int skeys_entry_redirect(void *function, void *replacement);
int skeys_entry_restore(void *function);
/*
 * Attach `handler` to every patchable function of every registered module
 * that is not redirected, in one batch (all or nothing: a module whose
 * entries are not sealed fails it); a module registered later follows
 * (until skeys_entry_detach_all()). detach_all detaches every traced function.
 */
int skeys_entry_attach_all(skeys_entry_fn *handler, void *data);
int skeys_entry_detach_all(void);

#ifdef __cplusplus
}
#endif

#endif
