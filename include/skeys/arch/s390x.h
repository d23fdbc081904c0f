/* SPDX-License-Identifier: MIT */
/* s390x site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_S390X_H
#define SKEYS_ARCH_S390X_H

#define SKEYS__ARCH_ID 7 /* SKEYS_ARCH_S390X */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
#define SKEYS__SECTION_TYPE "@progbits"
#define SKEYS__PTR_DIRECTIVE ".quad"

/* jg is brcl 15; the nop is brcl 0 to itself, spelled out (c004 0000 0000). */
#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	"jg %l[skeys__yes]\n\t"                                                \
	".else\n\t"                                                            \
	".long 0xc0040000\n\t"                                                 \
	".short 0\n\t"                                                         \
	".endif\n\t"

#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"larl %r2, skeys__module_header\n\t"                                   \
	"jg " fn "@PLT\n\t"

#endif
