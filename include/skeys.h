/* SPDX-License-Identifier: MIT */
/*
 * skeys: static keys (jump labels) for user-space C and C++.
 *
 *   SKEYS_DEFINE_FALSE(feature);
 *   if (skeys_branch_unlikely(&feature)) slow_path();   // one nop while disabled
 *   skeys_enable(&feature);                             // rewrites every site
 *
 * A site is one instruction: a jump exactly when (enabled XOR likely).
 * Binaries must go through `skeys-seal` after linking; the runtime refuses
 * to patch a module whose table was not sealed.
 */
#ifndef SKEYS_H
#define SKEYS_H

#include <skeys/abi.h>

#ifndef __cplusplus
#include <stdbool.h>
#endif

#include <skeys/arches.h>
#ifndef SKEYS__ARCH_ID
#error "skeys: this architecture is not supported yet"
#endif

/* Optional parts of an architecture's templates. */
#ifndef SKEYS__ASM_SITE_PRE /* before the site's label: alignment, assembler modes */
#define SKEYS__ASM_SITE_PRE ""
#endif
#ifndef SKEYS__SITE_MODE /* added to the entry's key field: SKEYS_ENTRY_MODE or 0 */
#define SKEYS__SITE_MODE "0"
#endif
#ifndef SKEYS__SECTION_TYPE_EXT /* SKEYS__SECTION_TYPE inside extended asm */
#define SKEYS__SECTION_TYPE_EXT SKEYS__SECTION_TYPE
#endif
#ifndef SKEYS__ASM_TEXT_ENTER /* before the module constructor's code: its mode */
#define SKEYS__ASM_TEXT_ENTER ""
#endif
#ifndef SKEYS__ASM_MODE_ENTER /* the trampolines' instruction set, without alignment */
#define SKEYS__ASM_MODE_ENTER ""
#endif
#ifndef SKEYS__ASM_TEXT_LEAVE /* after it: back to the translation unit's mode */
#define SKEYS__ASM_TEXT_LEAVE ""
#endif
#ifndef SKEYS__CONST /* an "i" operand as a bare number */
#define SKEYS__CONST(name) "%c[" name "]"
#endif
/*
 * The key operand of a site or name that goes through a cell
 * (<skeys/kernel.h>): a constraint that takes a symbol of another module
 * under PIE and PIC, and the operand as a bare symbol+offset for data.
 */
#ifndef SKEYS__CELL_CONSTRAINT
#define SKEYS__CELL_CONSTRAINT SKEYS__KEY_CONSTRAINT
#endif
#ifndef SKEYS__CELL_OPERAND
#define SKEYS__CELL_OPERAND SKEYS__KEY_OPERAND
#endif

#if defined(__ELF__)
#include <skeys/format/elf.h>
#elif defined(_WIN32)
#include <skeys/format/coff.h>
#elif defined(__APPLE__) && defined(__MACH__)
#include <skeys/format/macho.h>
#else
#error "skeys: this object format is not supported yet"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- keys -------------------------------------------------------------- */

/*
 * Keys have hidden visibility: a site names its key as an assembler constant,
 * which position-independent code can only do for a symbol of its own module.
 * Define keys at file or namespace scope, without `static` (gcc warns that it
 * ignores the visibility of a static).
 */
#ifndef SKEYS__KEY_ATTR /* a format header may say otherwise */
#define SKEYS__KEY_ATTR __attribute__((visibility("hidden")))
#endif
#define SKEYS__KEY_INIT(on)                                                    \
	{ { (on), SKEYS_KEY_MAGIC | (on), 0 } }

/*
 * Every defined or imported key records its name in the module's names
 * table (struct skeys_name), which skeys_find(), skeys_foreach(),
 * SKEYS_ENABLE and skeys-dump read, stripped binaries too. The entry is
 * emitted by an unused function's asm: only an asm operand names the key
 * the way the compiler spells it (C++ namespaces, static keys, LTO's
 * renaming), which a file-scope asm cannot. The function itself is never
 * called (one return instruction; --gc-sections drops it). The typedef
 * takes the user's semicolon. `key` is the address of the key, or of an
 * array's first element, `n` the number of keys there.
 */
/* Never called: no -fpatchable-function-entry nops for skeys_entry_attach_all(). */
#if defined(__has_attribute)
#if __has_attribute(patchable_function_entry)
#define SKEYS__NOT_PATCHABLE __attribute__((patchable_function_entry(0, 0)))
#endif
#endif
#ifndef SKEYS__NOT_PATCHABLE
#define SKEYS__NOT_PATCHABLE
#endif
#define SKEYS__CAT2(a, b) a##b
#define SKEYS__CAT(a, b) SKEYS__CAT2(a, b)
#define SKEYS__NAME(id, type, key, n)                                          \
	SKEYS__NAME_ASM(id, type, SKEYS__ASM_NAME(#id), SKEYS__KEY_CONSTRAINT, key, n, 0)
/* The same with the asm and the key's constraint given; `on`: its initial state. */
#define SKEYS__NAME_ASM(id, type, text, cons, key, n, on)                      \
	__attribute__((used)) SKEYS__NOT_PATCHABLE static void                 \
	SKEYS__CAT(skeys__name_, id)(void)                                     \
	{                                                                      \
		__asm__(text /* NOLINT(bugprone-macro-parentheses) */         \
			: /* no outputs */                                     \
			: [skeys_k] cons(key), /* NOLINT(bugprone-macro-parentheses) */ \
			  [skeys_n] "i"(n),                                    \
			  [skeys_on] "i"(on));                                 \
	}                                                                      \
	typedef struct type SKEYS__CAT(skeys__name_t_, id)

#define SKEYS_DEFINE_TRUE(name)                                                \
	SKEYS__KEY_ATTR struct skeys_key_true name = SKEYS__KEY_INIT(1);       \
	SKEYS__NAME(name, skeys_key_true, &(name).key, 1)
#define SKEYS_DEFINE_FALSE(name)                                               \
	SKEYS__KEY_ATTR struct skeys_key_false name = SKEYS__KEY_INIT(0);      \
	SKEYS__NAME(name, skeys_key_false, &(name).key, 1)
#define SKEYS_DECLARE_TRUE(name)                                               \
	extern SKEYS__KEY_ATTR struct skeys_key_true name
#define SKEYS_DECLARE_FALSE(name)                                              \
	extern SKEYS__KEY_ATTR struct skeys_key_false name

/*
 * Keys across modules. The defining module exports the key; a module that
 * uses it imports it under the same name, as a module-local proxy the
 * runtime binds to the real key. Enabling either patches the sites of every
 * module; a module loaded later starts out in the key's current state.
 *
 *   lib.c:     SKEYS_DEFINE_FALSE(feature); SKEYS_EXPORT(feature);
 *   plugin.c:  SKEYS_IMPORT_FALSE(feature);  // then use &feature as usual
 *
 * Use the TRUE/FALSE the key was defined with: the proxy's sites are
 * compiled for that initial state. Export and import keys at file scope.
 * On Windows, link the importing module against the exporter's import
 * library (see <skeys/format/coff.h>).
 */
#ifdef __cplusplus
#define SKEYS__C_LINKAGE extern "C"
#else
#define SKEYS__C_LINKAGE extern
#endif
#ifndef SKEYS__EXPORT_ATTR /* on the exporter's pointer; a format header may say otherwise */
#define SKEYS__EXPORT_ATTR __attribute__((visibility("default")))
#endif
#ifndef SKEYS__IMPORT_ATTR /* on the importer's declaration of it */
#define SKEYS__IMPORT_ATTR SKEYS__EXPORT_ATTR
#endif
#define SKEYS_EXPORT(name)                                                     \
	SKEYS__C_LINKAGE SKEYS__EXPORT_ATTR struct skeys_key *const            \
		skeys__export_##name;                                          \
	struct skeys_key *const skeys__export_##name = &(name).key
#define SKEYS__IMPORT(type, on, name)                                          \
	SKEYS__C_LINKAGE SKEYS__IMPORT_ATTR struct skeys_key *const            \
		skeys__export_##name;                                          \
	SKEYS__KEY_ATTR struct type name = {                                   \
		{ (on), SKEYS_KEY_MAGIC | SKEYS_KEY_F_PROXY | (on),            \
		  (void *)&skeys__export_##name }                              \
	};                                                                     \
	SKEYS__NAME(name, type, &(name).key, 1)
#define SKEYS_IMPORT_TRUE(name) SKEYS__IMPORT(skeys_key_true, 1, name)
#define SKEYS_IMPORT_FALSE(name) SKEYS__IMPORT(skeys_key_false, 0, name)

/* 1 for a TRUE key, 0 for a FALSE key; anything else does not compile. */
#ifdef __cplusplus
}
char (&skeys__initial_tag(const volatile skeys_key_true *))[2];
char (&skeys__initial_tag(const volatile skeys_key_false *))[1];
#define SKEYS__INITIAL(k) ((int)sizeof(skeys__initial_tag(k)) - 1)
#define SKEYS__BOOL bool
extern "C" {
#else
#define SKEYS__INITIAL(k)                                                      \
	_Generic(*(k), struct skeys_key_true: 1, struct skeys_key_false: 0)
#define SKEYS__BOOL _Bool
#endif

/* ---- sites ------------------------------------------------------------- */

/*
 * A statement expression, not an inline function: the key must reach the
 * assembler as a constant and the label must be local to the caller, which
 * only a macro guarantees at every optimisation level. The expression is
 * true when the site jumps.
 */
#define SKEYS__SITE_AT(kp, on, br)                                             \
	SKEYS__SITE_ASM(SKEYS__ASM_ENTRY, SKEYS__KEY_CONSTRAINT, kp, on, br)
/* The same with the table entry's asm and the key's constraint given. */
#define SKEYS__SITE_ASM(entry, cons, kp, on, br)                               \
	__extension__({                                                        \
		__label__ skeys__yes, skeys__out;                              \
		SKEYS__BOOL skeys__r;                                          \
		__asm__ goto(SKEYS__ASM_SITE_PRE SKEYS__ASM_SITE_LABEL         \
			     SKEYS__ASM_SITE entry /* NOLINT(bugprone-macro-parentheses) */ \
			     : /* no outputs */                                \
			     : [skeys_k] cons(kp), /* NOLINT(bugprone-macro-parentheses) */ \
			       [skeys_br] "i"(br),                             \
			       [skeys_jmp] "i"((on) ^ (br)),                  \
			       [skeys_on] "i"(on)                              \
			     : /* no clobbers */                               \
			     : skeys__yes);                                    \
		skeys__r = 0;                                                  \
		goto skeys__out;                                               \
	skeys__yes:                                                            \
		skeys__r = 1;                                                  \
	skeys__out:                                                            \
		skeys__r;                                                      \
	})

/*
 * clang++ before 17 checks every asm goto of a function against every label
 * an asm goto may reach, and rejects a second site whose statement
 * expression initialises a variable ("cannot jump from this asm goto
 * statement"). An always-inline lambda gives each site its own scope; the
 * code is the same once inlined, at -O0 too.
 */
#if defined(__cplusplus) && defined(__clang__) && __clang_major__ < 17
#define SKEYS__SITE_SCOPE(site)                                                \
	([]() __attribute__((always_inline)) -> bool { return site; }())
#else
#define SKEYS__SITE_SCOPE(site) site
#endif
#define SKEYS__SITE_AT_EXPR(kp, on, br) SKEYS__SITE_SCOPE(SKEYS__SITE_AT(kp, on, br))
/* kp: the key's address (any key type: <skeys/kernel.h> has its own); on: its initial state. */
#define SKEYS__SITE_EXPR(k, br) SKEYS__SITE_AT_EXPR(&(k)->key, SKEYS__INITIAL(k), br)

#define skeys_branch_unlikely(k) SKEYS__SITE_EXPR(k, 0)
#define skeys_branch_likely(k) (!SKEYS__SITE_EXPR(k, 1))

/* ---- switching --------------------------------------------------------- */

/*
 * All return 0 or a negative error code (a negated errno value, or one of
 * SKEYS_ERR_*); on error no site of the key was changed.
 *
 * Signals: only skeys_enabled() (skeys_key_enabled) is async-signal-safe.
 * A signal handler may run sites at any time, also while another thread
 * or the thread it interrupted switches their key, as long as SIGTRAP is
 * not in its sa_mask (x86: a thread reaching a site in the middle of a
 * switch takes a trap). A handler that switches a key on the thread whose
 * switch it interrupted gets -EDEADLK; on another thread it waits for that
 * switch to end, as any caller does.
 *
 * fork(): the runtime waits for a switch in flight before the process
 * forks (pthread_atfork), so the child finds every site whole and can
 * switch keys.
 *
 * Linux, with a second thread alive: the cores are synchronised with
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE); where that is
 * refused, by a signal to every thread listed in /proc/self/task. Without
 * both, a switch fails with the errno of opening that directory (-ENOENT
 * when /proc is not mounted, -EACCES when it is hidden), every site as it was.
 */
int skeys_key_enable(struct skeys_key *key);
int skeys_key_disable(struct skeys_key *key);
int skeys_key_inc(struct skeys_key *key);
int skeys_key_dec(struct skeys_key *key);
bool skeys_key_enabled(const struct skeys_key *key);

#define skeys_enable(k) skeys_key_enable(&(k)->key)
#define skeys_disable(k) skeys_key_disable(&(k)->key)
#define skeys_inc(k) skeys_key_inc(&(k)->key)
#define skeys_dec(k) skeys_key_dec(&(k)->key)
#define skeys_enabled(k) skeys_key_enabled(&(k)->key)

/* The library's own error codes, beside negated errno values. */
enum skeys_error {
	SKEYS_ERR_UNSEALED = -4001, /* module table was not sealed by skeys-seal */
	SKEYS_ERR_MISMATCH = -4002, /* a site's bytes are not the expected instruction */
	SKEYS_ERR_OUTSIDE = -4003,  /* a site lies outside its module's executable code */
	SKEYS_ERR_COUNT = -4004,    /* reference count would go below zero or overflow */
	SKEYS_ERR_CHECKSUM = -4005, /* table changed after sealing */
	SKEYS_ERR_ABI = -4006,      /* table of another ABI version or architecture */
	SKEYS_ERR_NOTKEY = -4007,   /* pointer does not designate a skeys key */
	/*
	 * A key of a module whose registration has not run yet or already
	 * ended: switched from .preinit_array, from a shared library's
	 * constructor (before the executable's) or from a destructor at exit
	 * (after the executable's). Switch it from main() or later.
	 */
	SKEYS_ERR_NOTREADY = -4008,
	/*
	 * A site holds a breakpoint (x86: int3 where it starts, the rest as
	 * expected), most likely a debugger's or a uprobe's: nothing written.
	 * Delete the breakpoint (or the probe) and switch again.
	 */
	SKEYS_ERR_BREAKPOINT = -4009,
	/*
	 * Not a function entry the registered modules list (not compiled with
	 * -fpatchable-function-entry, its module without <skeys.h>, or its
	 * pad too short to patch): <skeys/entry.h>.
	 */
	SKEYS_ERR_NOTPATCHABLE = -4010,
};

const char *skeys_strerror(int err);

/* ---- keys by name ------------------------------------------------------ */

/*
 * The key defined or imported under `name` (the identifier given to
 * SKEYS_DEFINE_* or SKEYS_IMPORT_*, without C++ namespaces; "name[i]" for
 * element i of a key array) in any registered module, or NULL. Where
 * several modules have a key of that name, a defined key wins over an
 * import's proxy, then the module registered first wins (load order: a
 * library before the program that links it, a dlopen'd plugin last). An
 * import's proxy switches the key it stands for, so either is fine to pass
 * to skeys_key_enable(). The pointer stays valid while its module is
 * loaded. Thread-safe.
 */
struct skeys_key *skeys_find(const char *name);

/*
 * Call fn(name, key, data) for every named key of every registered module,
 * modules in load order, keys in the order of their module's names table;
 * stop at the first non-zero return and return it (0 when every call
 * returned 0). Thread-safe: the keys are collected under the runtime's lock
 * and fn is called without it, so fn may switch keys (skeys_key_enable(),
 * also on the key it was given) and look keys up. A module unloaded while
 * the calls run leaves its keys behind as stale pointers: switching one
 * then fails with SKEYS_ERR_NOTKEY. `name` is valid during the call only.
 * An import's proxy is listed too, under the same name as the key it
 * imports: skeys_key_enabled() and the switching calls treat both alike.
 * Returns a negative error code (-ENOMEM) if the list cannot be collected.
 */
int skeys_foreach(int (*fn)(const char *name, struct skeys_key *key, void *data),
		  void *data);

/*
 * 0 when every registered module was sealed by skeys-seal and its table is
 * intact; otherwise the first problem's error code (SKEYS_ERR_UNSEALED,
 * SKEYS_ERR_CHECKSUM, SKEYS_ERR_ABI, ...), each faulty module logged at
 * SKEYS_LOG_ERROR with its path. For a start-up assertion:
 *
 *   if (skeys_check_sealed() != 0) abort();
 *
 * Modules loaded later (dlopen) are checked by a later call.
 */
int skeys_check_sealed(void);

/* ---- configuration ----------------------------------------------------- */

enum skeys_log_level {
	SKEYS_LOG_ERROR = 0,
	SKEYS_LOG_WARN = 1,
	SKEYS_LOG_INFO = 2,
	SKEYS_LOG_DEBUG = 3,
};
typedef void (*skeys_log_fn)(enum skeys_log_level level, const char *msg,
			     void *ctx);
/*
 * The library reports through this callback (NULL: none). Without one it
 * is silent, unless the SKEYS_LOG environment variable asks for its
 * messages on stderr: SKEYS_LOG=1 (or "warn") prints errors and warnings,
 * "error", "info" and "debug" choose another level, "0" none. That works
 * from the first module's constructor on, before main() could set a
 * callback; a callback, once set, receives the messages instead.
 *
 * Environment read when a module registers (in its constructor, so before
 * main() for the program and the libraries it links):
 *   SKEYS_ENABLE=name,name,...   enable these keys of the module
 *   SKEYS_DISABLE=name,...       disable these (applied after SKEYS_ENABLE:
 *                                a name in both ends up disabled)
 * Names as for skeys_find(), only keys the module defines (an import
 * follows the key it imports). A name that no key of the modules
 * registered so far has is logged (SKEYS_LOG_WARN) once; a module loaded
 * later may still define it. A key that cannot be switched is logged as an
 * error.
 */
void skeys_set_log(skeys_log_fn fn, void *ctx);

/*
 * How code is made writable. AUTO writes through /proc/self/mem and falls
 * back to mprotect when that is refused. The SKEYS_WRITE environment
 * variable ("procmem", "mprotect", "auto") sets the initial method.
 */
enum skeys_write_method {
	SKEYS_WRITE_AUTO = 0,
	SKEYS_WRITE_PROCMEM = 1,
	SKEYS_WRITE_MPROTECT = 2,
};
int skeys_set_write_method(enum skeys_write_method method);

/* Called by every module's constructor and destructor; not for users. */
void skeys_module_register(const struct skeys_header *header);
void skeys_module_unregister(const struct skeys_header *header);

#ifdef __cplusplus
}
#endif

#include <skeys/call.h>
#include <skeys/entry.h>

#ifndef SKEYS_NO_MODULE
__asm__(SKEYS__ASM_MODULE);
#endif

#endif
