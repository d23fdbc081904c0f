/* SPDX-License-Identifier: MIT */
/* aarch64 site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_AARCH64_H
#define SKEYS_ARCH_AARCH64_H

#define SKEYS__ARCH_ID 3 /* the module header's `arch`; see <skeys/abi.h> */
/*
 * gcc rejects "i" for a symbol address under PIE/PIC; "S" is a symbol
 * reference. clang takes "i", and rejects "S" for a symbol plus an offset
 * (an element of an array of keys, a key inside a struct).
 */
#ifdef __clang__
#define SKEYS__KEY_CONSTRAINT "i"
#else
#define SKEYS__KEY_CONSTRAINT "S"
#endif
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
#define SKEYS__SECTION_TYPE "@progbits"
#define SKEYS__PTR_DIRECTIVE ".quad"

/* B and NOP are both one word; the architecture lets them be rewritten live. */
#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	"b %l[skeys__yes]\n\t"                                                 \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"

/* `bti c` is a hint (a nop) where branch protection is off. */
#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"hint 34\n\t"                                                          \
	"adrp x0, skeys__module_header\n\t"                                    \
	"add x0, x0, :lo12:skeys__module_header\n\t"                           \
	"b " fn "\n\t"

/*
 * A static call's trampoline (<skeys/call.h>; docs/architectures.md): a
 * one-word slot, then a fixed tail that loads the call object's `lit` and
 * branches to it, then a return-0 stub:
 *
 *   slot:    b target | nop (far: fall into the tail) | b ret0
 *   tail:    adrp x16, call ; ldr x16, [x16, :lo12:call] ; br x16
 *   ret0:    mov x0, #0 ; ret
 *
 * B and NOP are the instructions the architecture lets one rewrite while
 * other cores run them. With branch protection, `bti c` comes first (the
 * trampoline's address may be taken) and the slot is at offset 4; x16 is
 * the register a target's `bti c` accepts an indirect branch from. As
 * compiled: far (nop) for a call with a target, b ret0 without one.
 * 32 bytes, aligned to 32: the slot's offset within 32 says whether the
 * `bti c` is there.
 */
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define SKEYS__CALL_BTI "hint 34\n\t"
#define SKEYS__CALL_SLOT "4"
#else
#define SKEYS__CALL_BTI ""
#define SKEYS__CALL_SLOT "0"
#endif
#define SKEYS__CALL_ALIGN ".balign 32\n\t"
#define SKEYS__CALL_SIZE "32"
#define SKEYS__CALL_SLOT_LEN "4"
/* adrp/ldr of the call object's `lit` (its first field), in the format's operators. */
#if defined(__APPLE__)
#define SKEYS__CALL_LOAD_LIT(name)                                             \
	"adrp x16, _skeys__call_" #name "@PAGE\n\t"                            \
	"ldr x16, [x16, _skeys__call_" #name "@PAGEOFF]\n\t"
#else
#define SKEYS__CALL_LOAD_LIT(name)                                             \
	"adrp x16, skeys__call_" #name "\n\t"                                  \
	"ldr x16, [x16, #:lo12:skeys__call_" #name "]\n\t"
#endif
#define SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	SKEYS__CALL_BTI                                                        \
	".if " #kind "\n\t"                                                    \
	"b 1f\n\t"                                                             \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"                                                           \
	SKEYS__CALL_LOAD_LIT(name)                                             \
	"br x16\n\t"                                                           \
	"1:\n\t"                                                               \
	"mov x0, #0\n\t"                                                       \
	"ret\n\t"

#endif
