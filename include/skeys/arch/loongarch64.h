/* SPDX-License-Identifier: MIT */
/* loongarch64 site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_LOONGARCH64_H
#define SKEYS_ARCH_LOONGARCH64_H

#define SKEYS__ARCH_ID 8 /* the module header's `arch`; see <skeys/abi.h> */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
#define SKEYS__SECTION_TYPE "@progbits"
#define SKEYS__PTR_DIRECTIVE ".quad"

#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	"b %l[skeys__yes]\n\t"                                                 \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"

#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"pcalau12i $a0, %pc_hi20(skeys__module_header)\n\t"                    \
	"addi.d $a0, $a0, %pc_lo12(skeys__module_header)\n\t"                  \
	"b " fn "\n\t"

#endif
