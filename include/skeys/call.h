/* SPDX-License-Identifier: MIT */
/*
 * Static calls: a direct call whose target is rewritten at run time.
 * Included by <skeys.h>.
 *
 *   int fast(int), slow(int);
 *   SKEYS_DEFINE_CALL(pick, fast);          // file scope, once in the module
 *   n = skeys_call(pick)(3);                // a direct call to a trampoline
 *   skeys_call_update(pick, slow);          // 0, or a negative error code
 *
 * Callers call the call's trampoline, whose first instruction jumps to the
 * target (<skeys/abi.h> has its forms). skeys_call_update() takes only a
 * function of the call's type, or NULL, and does not compile otherwise.
 * With no target (NULL, or _RET0 before an update) the trampoline returns
 * 0: skeys_call_cond() of a void call does nothing, skeys_call() returns 0
 * for an integer or pointer result (any other result type is unspecified).
 *
 * A call lives in the module that defines it; other files of that module
 * use SKEYS_DECLARE_CALL. Names are C-level symbols (skeys__call_NAME,
 * skeys__tramp_NAME), so a name is used once per module, whatever the C++
 * namespace. Supported where the architecture's header has a trampoline
 * template and the object format's header emits calls (README lists
 * them); elsewhere a definition does not compile.
 */
#ifndef SKEYS_CALL_H
#define SKEYS_CALL_H

#include <skeys/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Point the call at fn (NULL: none). Use skeys_call_update(), which type-checks. */
int skeys_call_set(struct skeys_call *call, void (*fn)(void));

/*
 * Lock-free: a query may come from anywhere, a target included. A proxy
 * (SKEYS_IMPORT_CALL) answers for the call it stands for.
 */
static inline void (*skeys__call_target(const struct skeys_call *call))(void)
{
	if (call->flags & SKEYS_CALL_F_PROXY)
		call = *(struct skeys_call *const *)call->link;
	return __atomic_load_n(&call->target, __ATOMIC_ACQUIRE);
}

#ifdef __cplusplus
}

/* The call's own function type, and nothing else (NULL and nullptr convert to it). */
template <class F> struct skeys__call_type {
	typedef F type;
};
template <class F>
inline void (*skeys__call_fn(F *, typename skeys__call_type<F>::type *fn))()
{
	return reinterpret_cast<void (*)()>(fn);
}
#define SKEYS__CALL_FN(tramp, fn) skeys__call_fn(&(tramp), fn)
#define SKEYS__CALL_FN_INIT(fn) reinterpret_cast<void (*)()>(&(fn))
#if defined(__i386__)
/* i386: a call's type is cdecl (<skeys/arch/i386.h>); false for the callee-pops conventions. */
template <class F> struct skeys__call_cdecl {
	static const bool value = true;
};
template <class R, class... A> struct skeys__call_cdecl<R __attribute__((stdcall))(A...)> {
	static const bool value = false;
};
template <class R, class... A> struct skeys__call_cdecl<R __attribute__((fastcall))(A...)> {
	static const bool value = false;
};
template <class R, class... A>
struct skeys__call_cdecl<R __attribute__((stdcall))(A...) noexcept> {
	static const bool value = false;
};
template <class R, class... A>
struct skeys__call_cdecl<R __attribute__((fastcall))(A...) noexcept> {
	static const bool value = false;
};
#define SKEYS__CALL_TYPE_CHECK(func)                                           \
	static_assert(skeys__call_cdecl<__typeof__(func)>::value,              \
		      "skeys: a static call's function type must be cdecl on i386, not "  \
		      "__stdcall or __fastcall (the trampoline's return-0 stub pops no "  \
		      "arguments): keep a function pointer for such a function");
#endif
#define SKEYS__CALL_STATIC_ASSERT(c, msg) static_assert(c, msg)
#else
#define SKEYS__CALL_FN(tramp, fn)                                              \
	((void)sizeof(struct {                                                 \
		 int skeys__ok;                                                \
		 _Static_assert(                                               \
			 __builtin_types_compatible_p(__typeof__(tramp),       \
						      __typeof__(fn)) ||       \
				 __builtin_types_compatible_p(                 \
					 __typeof__(&(tramp)), __typeof__(fn)) || \
				 __builtin_types_compatible_p(__typeof__(fn),  \
							      void *),         \
			 "skeys_call_update: the function is not of the call's type"); \
	 }),                                                                   \
	 (void (*)(void))(fn))
#define SKEYS__CALL_FN_INIT(fn) ((void (*)(void))&(fn))
#define SKEYS__CALL_STATIC_ASSERT(c, msg) _Static_assert(c, msg)
#endif

#define skeys_call(name) (skeys__tramp_##name)
#ifdef SKEYS__CALL_SITES
/* The trampoline under another name, so that skeys-seal can tell these sites apart. */
#define skeys_call_cond(name) (skeys__tcond_##name)
#else
#define skeys_call_cond(name) (skeys__tramp_##name)
#endif
#define skeys_call_update(name, fn)                                            \
	skeys_call_set(&skeys__call_##name, SKEYS__CALL_FN(skeys__tramp_##name, fn))
/* The current target as a pointer of the call's type, or NULL for none. */
#define skeys_call_query(name)                                                 \
	((__typeof__(&skeys__tramp_##name))skeys__call_target(&skeys__call_##name))

#if defined(_WIN32)
#define SKEYS__CALL_ATTR SKEYS__KEY_ATTR /* see <skeys/format/coff.h> */
#else
#define SKEYS__CALL_ATTR __attribute__((visibility("hidden")))
#endif
#ifndef SKEYS__TRAMP_ATTR /* the trampoline's declaration; an architecture header may say otherwise */
#define SKEYS__TRAMP_ATTR SKEYS__CALL_ATTR
#endif

#ifndef SKEYS__CALL_TYPE_CHECK
#define SKEYS__CALL_TYPE_CHECK(func)
#endif

/* Both names of a call, with C linkage so that the assembly can name them. */
#define SKEYS_DECLARE_CALL(name, func)                                         \
	SKEYS__CALL_TYPE_CHECK(func)                                           \
	SKEYS__C_LINKAGE SKEYS__CALL_ATTR struct skeys_call skeys__call_##name; \
	SKEYS__C_LINKAGE SKEYS__TRAMP_ATTR __typeof__(func) skeys__tramp_##name; \
	SKEYS__C_LINKAGE SKEYS__TRAMP_ATTR __typeof__(func) skeys__tcond_##name

/*
 * Where the architecture header has a trampoline template
 * (SKEYS__ASM_CALL_TRAMP) and the format header emits calls: the call
 * object, and the rest. The format header gives either the assembly
 * (SKEYS__ASM_CALL), emitted as a top-level asm statement, or the whole
 * declaration that emits it (SKEYS__CALL_EMIT; COFF, which cannot return
 * to the compiler's section from a top-level asm).
 */
#if defined(SKEYS__ASM_CALL_TRAMP) && (defined(SKEYS__ASM_CALL) || defined(SKEYS__CALL_EMIT))

#ifndef SKEYS__CALL_EMIT
#define SKEYS__CALL_EMIT(name, kind) __asm__(SKEYS__ASM_CALL(name, kind));
#endif

SKEYS__C_LINKAGE SKEYS__CALL_ATTR const struct skeys_header skeys__calls_header;

#define SKEYS__DEFINE_CALL_OBJ(name, func, kind, flags, lit, target, link)     \
	SKEYS_DECLARE_CALL(name, func);                                        \
	SKEYS__CALL_EMIT(name, kind)                                           \
	__attribute__((used)) struct skeys_call skeys__call_##name = {         \
		lit, target, &skeys__calls_header,                             \
		SKEYS_CALL_MAGIC | (kind) | (flags), 0, link                   \
	}
#define SKEYS__DEFINE_CALL(name, func, kind, lit, target)                      \
	SKEYS__DEFINE_CALL_OBJ(name, func, kind, 0, lit, target, 0)

/*
 * Calls across modules, as keys (<skeys.h>): the defining module exports
 * the call, a module using it imports it under the same name, as a proxy
 * with a trampoline of its own. Updating either rewrites the call and
 * every proxy an update has reached; a proxy no update reached yet jumps
 * through the exporter's trampoline, so every caller reaches the current
 * target. At file scope.
 *
 *   lib.c:     SKEYS_DEFINE_CALL(codec, plain); SKEYS_EXPORT_CALL(codec);
 *   plugin.c:  SKEYS_IMPORT_CALL(codec, plain);  // then skeys_call(codec)(...)
 */
#if defined(SKEYS__ASM_CALL_EXPORT) && !defined(SKEYS__CALL_EXPORT_EMIT)
#define SKEYS__CALL_EXPORT_EMIT(name) __asm__(SKEYS__ASM_CALL_EXPORT(name));
#endif
#ifdef SKEYS__CALL_EXPORT_EMIT
#define SKEYS_EXPORT_CALL(name)                                                \
	SKEYS__CALL_EXPORT_EMIT(name)                                          \
	SKEYS__C_LINKAGE SKEYS__EXPORT_ATTR struct skeys_call *const           \
		skeys__export_call_##name;                                     \
	struct skeys_call *const skeys__export_call_##name = &skeys__call_##name
#define SKEYS_IMPORT_CALL(name, func)                                          \
	SKEYS__C_LINKAGE SKEYS__IMPORT_ATTR struct skeys_call *const           \
		skeys__export_call_##name;                                     \
	SKEYS__C_LINKAGE SKEYS__IMPORT_ATTR __typeof__(func) skeys__xtramp_##name; \
	SKEYS__DEFINE_CALL_OBJ(name, func, 0, SKEYS_CALL_F_PROXY,              \
			       SKEYS__CALL_FN_INIT(skeys__xtramp_##name), 0,   \
			       (void *)&skeys__export_call_##name)
#else
/* Mach-O: calls stay within their image (README, "Static calls"). */
#define SKEYS__CALL_NO_EXPORT                                                  \
	SKEYS__CALL_STATIC_ASSERT(sizeof(struct skeys_call) == 0,              \
				  "skeys: SKEYS_EXPORT_CALL and SKEYS_IMPORT_CALL are not " \
				  "supported on Mach-O yet: define the call in the image "  \
				  "that calls it, or export functions that call "           \
				  "skeys_call(name) and skeys_call_update(name, fn) there")
#define SKEYS_EXPORT_CALL(name) SKEYS__CALL_NO_EXPORT
#define SKEYS_IMPORT_CALL(name, func) SKEYS__CALL_NO_EXPORT
#endif

/*
 * n more slots for the module's inline call sites (<skeys/abi.h>), at file
 * scope; nothing where the architecture has none.
 */
#ifdef SKEYS__CALL_SITES
#define SKEYS_RESERVE_CALL_SITES(n) __asm__(SKEYS__ASM_CALL_SITES(#n))
#else
#define SKEYS_RESERVE_CALL_SITES(n) SKEYS__CALL_STATIC_ASSERT((n) >= 0, "a number of sites")
#endif

#else

#define SKEYS__DEFINE_CALL(name, func, kind, lit, target)                      \
	SKEYS__CALL_STATIC_ASSERT(sizeof(struct skeys_call) == 0,                          \
				  "skeys: static calls are not supported on this architecture or object format yet")
#define SKEYS_RESERVE_CALL_SITES(n) SKEYS__CALL_STATIC_ASSERT((n) >= 0, "a number of sites")
#define SKEYS_EXPORT_CALL(name) SKEYS__DEFINE_CALL(name, 0, 0, 0, 0)
#define SKEYS_IMPORT_CALL(name, func) SKEYS__DEFINE_CALL(name, func, 0, 0, 0)

#endif

/* A call initially calling func; its type is func's. */
#define SKEYS_DEFINE_CALL(name, func)                                          \
	SKEYS__DEFINE_CALL(name, func, 0, SKEYS__CALL_FN_INIT(func),           \
			   SKEYS__CALL_FN_INIT(func))
/* Of func's type, initially without a target. */
#define SKEYS_DEFINE_CALL_NULL(name, func) SKEYS__DEFINE_CALL(name, func, 1, 0, 0)
/* Of func's type, initially returning 0. */
#define SKEYS_DEFINE_CALL_RET0(name, func) SKEYS__DEFINE_CALL(name, func, 2, 0, 0)

#endif
