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
 * namespace. Supported on x86-64 ELF and on PE (x86-64, i686) so far;
 * elsewhere a definition does not compile.
 */
#ifndef SKEYS_CALL_H
#define SKEYS_CALL_H

#include <skeys/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Point the call at fn (NULL: none). Use skeys_call_update(), which type-checks. */
int skeys_call_set(struct skeys_call *call, void (*fn)(void));

/* Lock-free: a query may come from anywhere, a target included. */
static inline void (*skeys__call_target(const struct skeys_call *call))(void)
{
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
#define skeys_call_cond(name) (skeys__tramp_##name)
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

/* Both names of a call, with C linkage so that the assembly can name them. */
#define SKEYS_DECLARE_CALL(name, func)                                         \
	SKEYS__C_LINKAGE SKEYS__CALL_ATTR struct skeys_call skeys__call_##name; \
	SKEYS__C_LINKAGE SKEYS__CALL_ATTR __typeof__(func) skeys__tramp_##name

#if defined(__x86_64__) && defined(__ELF__) && !defined(_WIN32)

SKEYS__C_LINKAGE SKEYS__CALL_ATTR const struct skeys_header skeys__calls_header;

/*
 * The trampoline (its forms are in <skeys/abi.h>), its table entry, and the
 * module's call table header, once per module (COMDAT, as the key header).
 * `kind` is 0, SKEYS_CALL_F_NULL or SKEYS_CALL_F_RET0.
 */
#define SKEYS__CALL_ASM(name, kind)                                            \
	".pushsection .text.skeys_call,\"ax\",@progbits\n\t"                   \
	".balign 16, 0xcc\n\t"                                                 \
	".globl skeys__tramp_" #name "\n\t"                                    \
	".hidden skeys__tramp_" #name "\n\t"                                   \
	".type skeys__tramp_" #name ", @function\n\t"                          \
	"skeys__tramp_" #name ":\n\t"                                          \
	".if " #kind "\n\t"                                                    \
	SKEYS__ASM_CALL_RET0                                                   \
	".else\n\t"                                                            \
	SKEYS__ASM_CALL_JMP_LIT("skeys__call_" #name)                          \
	".endif\n\t"                                                           \
	SKEYS__ASM_CALL_JMP_LIT("skeys__call_" #name)                          \
	SKEYS__ASM_CALL_STUB                                                   \
	".size skeys__tramp_" #name ", 16\n\t"                                 \
	".popsection\n\t"                                                      \
	".pushsection __skeys_calls,\"aR\",@progbits\n\t"                      \
	".balign 4\n\t"                                                        \
	".long skeys__tramp_" #name " - .\n\t"                                 \
	".long skeys__tramp_" #name " + 6 - .\n\t"                             \
	".long skeys__call_" #name " + " #kind " - .\n\t"                      \
	".popsection\n\t"                                                      \
	".ifndef skeys__calls_header\n\t"                                      \
	".pushsection __skeys_calls_hdr,\"aG\",@progbits,skeys__calls,comdat\n\t" \
	".balign 8\n\t"                                                        \
	".weak skeys__calls_header\n\t"                                        \
	".hidden skeys__calls_header\n\t"                                      \
	".type skeys__calls_header, %object\n\t"                               \
	"skeys__calls_header:\n\t"                                             \
	".hidden __start___skeys_calls\n\t"                                    \
	".hidden __stop___skeys_calls\n\t"                                     \
	".ascii \"SKEYSCAL\"\n\t"                                              \
	".short 1, 40, 12, 1\n\t"                                              \
	".long 0, 0\n\t"                                                       \
	".quad 0\n\t"                                                          \
	".long __start___skeys_calls - .\n\t"                                  \
	".long __stop___skeys_calls - .\n\t"                                   \
	".size skeys__calls_header, 40\n\t"                                    \
	".popsection\n\t"                                                      \
	".endif\n"

#define SKEYS__DEFINE_CALL(name, func, kind, lit, target)                      \
	SKEYS_DECLARE_CALL(name, func);                                        \
	__attribute__((used)) struct skeys_call skeys__call_##name = {         \
		lit, target, &skeys__calls_header, SKEYS_CALL_MAGIC | (kind), 0 \
	};                                                                     \
	__asm__(SKEYS__CALL_ASM(name, kind))

#elif defined(_WIN32) && defined(SKEYS__ASM_CALL_JMP_LIT)

/* PE (x86-64, i386): the trampoline, its entry and the header, in <skeys/format/coff.h>. */
SKEYS__C_LINKAGE SKEYS__CALL_ATTR const struct skeys_header skeys__calls_header;

#define SKEYS__DEFINE_CALL(name, func, kind, lit, target)                      \
	SKEYS_DECLARE_CALL(name, func);                                        \
	SKEYS__CALL_TRAMP(name, kind)                                          \
	__attribute__((used)) struct skeys_call skeys__call_##name = {         \
		lit, target, &skeys__calls_header, SKEYS_CALL_MAGIC | (kind), 0 \
	}

#else

#define SKEYS__DEFINE_CALL(name, func, kind, lit, target)                      \
	SKEYS__CALL_STATIC_ASSERT(sizeof(struct skeys_call) == 0,                          \
				  "skeys: static calls are supported on x86-64 ELF and PE (x86-64, i686) only so far")

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
