/* SPDX-License-Identifier: MIT */
/* AArch64 site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_AARCH64_H
#define SKEYS_ARCH_AARCH64_H

#define SKEYS__ARCH_ID 3 /* SKEYS_ARCH_AARCH64 */
/* "S": a symbol that may be used under PIC (gcc rejects "i" there). */
#define SKEYS__KEY_CONSTRAINT "S"
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
#define SKEYS__SECTION_TYPE "%progbits"
#define SKEYS__PTR_DIRECTIVE ".quad"

/* NOP and B may be exchanged while other cores run them (Arm ARM, B2.2.5). */
#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	"b %l[skeys__yes]\n\t"                                                 \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"

/* ELF module constructor/destructor bodies: tail-call into the runtime. */
#define SKEYS__ASM_TAILCALL(fn)                                                \
	"adrp x0, skeys__module_header\n\t"                                    \
	"add x0, x0, :lo12:skeys__module_header\n\t"                           \
	"b " fn "\n\t"

#endif
