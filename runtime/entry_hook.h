/* SPDX-License-Identifier: MIT */
/*
 * Function entries, hook side (runtime/entry_hook.c): the stubs a patched
 * pad calls or jumps to. runtime/entry.c decides which pads to patch and
 * writes them through the batch core; this file only hands out stub
 * addresses. x86-64, i686 and aarch64 ELF, x86-64 PE; elsewhere both return -ENOSYS.
 *
 * Every function below is called with skeys_lock held.
 */
#ifndef SKEYS_RUNTIME_ENTRY_HOOK_H
#define SKEYS_RUNTIME_ENTRY_HOOK_H

#include <stdint.h>

/* Function entries are patched here (x86-64, i686 and aarch64 ELF). */
#if defined(__ELF__) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__))
#define SKEYS_ENTRY_PATCHING 1
#endif
/* And on Windows x86-64 (PE; the stubs follow the Windows x64 convention). */
#if defined(_WIN64) && defined(__x86_64__)
#define SKEYS_ENTRY_PATCHING 1
#endif

/* The handler type of <skeys.h> (a repeated typedef of the same type is C11). */
typedef void skeys_entry_fn(void *function, void *data);

/*
 * What a hook stub runs: one (handler, data) pair, interned (one record a
 * pair ever used) and immutable, so a call never mixes one pair's handler
 * with another's data.
 */
struct skeys_hook_record {
	skeys_entry_fn *handler;
	void *data;
	struct skeys_hook_record *next; /* runtime/entry_hook.c's: its hash chain */
};

/*
 * A stub reachable by a rel32 from `from` (the address after the 5-byte
 * patch, where the function's body starts) that, when CALLed from the pad,
 * saves every argument register (rdi rsi rdx rcx r8 r9, rax for varargs,
 * r10 for a static chain, the vector registers as wide as the CPU has
 * them; Windows x64: rcx rdx r8 r9, r10, xmm0-5), runs handler(function, data) unless this thread is already inside
 * a handler (per-thread guard), restores everything and returns to `from`.
 * 0 or a negative SKEYS_ERR_* / -errno (-ENOMEM: no free address space
 * within 2 GiB of `from`, logged). Reuses the function's stub if it has
 * one; changing (handler, data) later is atomic for callers: each call sees
 * the old pair or the new one, never a mix.
 */
int skeys_entry_hook_stub(uintptr_t from, void *function, skeys_entry_fn *handler, void *data,
			  uintptr_t *stub);

/*
 * The same in two steps, for a caller that may still fail after it (a
 * batch of pads): skeys_entry_hook_prepare() finds or makes the pad's
 * stub (a new one runs no handler) and the record of (handler, data), and
 * says what the stub runs now (NULL: nothing), changing nothing a call
 * sees; skeys_entry_hook_use() then makes the stub run a record (one
 * atomic store), or puts the one it ran back.
 */
int skeys_entry_hook_prepare(uintptr_t from, void *function, skeys_entry_fn *handler, void *data,
			     uintptr_t *stub, const struct skeys_hook_record **now,
			     const struct skeys_hook_record **want);
void skeys_entry_hook_use(uintptr_t from, const struct skeys_hook_record *r);

/*
 * Where a redirected pad jumps: `replacement` when a rel32 from `from`
 * reaches it, else the pad's jump stub near `from` (`jmp` through a
 * literal), its literal set to `replacement` with one atomic store. Stubs
 * are kept per `from` (one pad per function): asking again for the same
 * pad reuses its stub.
 */
int skeys_entry_jump_dest(uintptr_t from, void *replacement, uintptr_t *dest);

/*
 * The module [lo, hi) is gone: the stubs of its pads (`from` in [lo, hi))
 * may serve other pads. Stub pages are never unmapped (a thread may still be inside
 * one while the module is loaded); this only recycles them.
 */
void skeys_entry_hook_forget(uintptr_t lo, uintptr_t hi);

#endif
