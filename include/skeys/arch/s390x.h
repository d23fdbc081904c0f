/* SPDX-License-Identifier: MIT */
/* s390x site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_S390X_H
#define SKEYS_ARCH_S390X_H

#define SKEYS__ARCH_ID 7 /* the module header's `arch`; see <skeys/abi.h> */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
#define SKEYS__SECTION_TYPE "@progbits"
#define SKEYS__PTR_DIRECTIVE ".quad"

/*
 * jg is brcl 15; the nop is brcl 0 to the same label (jgnop), so that the
 * two differ in the condition mask alone and a toggle stores one byte.
 */
#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	"brcl 15, %l[skeys__yes]\n\t"                                          \
	".else\n\t"                                                            \
	"brcl 0, %l[skeys__yes]\n\t"                                           \
	".endif\n\t"

#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"larl %r2, skeys__module_header\n\t"                                   \
	"jg " fn "@PLT\n\t"

#endif
