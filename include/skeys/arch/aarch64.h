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

#endif
