/* SPDX-License-Identifier: MIT */
/* ppc64le (ELFv2) site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_PPC64LE_H
#define SKEYS_ARCH_PPC64LE_H

#define SKEYS__ARCH_ID 6 /* the module header's `arch`; see <skeys/abi.h> */
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

/*
 * A call through a PLT stub needs the module's TOC pointer in r2, and the
 * stub saves the caller's r2 in the frame: so a global entry point that
 * sets r2 from r12, a frame, `bl` and the `nop` the linker turns into the
 * r2 reload.
 */
#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"0:\taddis 2, 12, .TOC.-0b@ha\n\t"                                     \
	"addi 2, 2, .TOC.-0b@l\n\t"                                            \
	".localentry " self ", .-0b\n\t"                                       \
	"mflr 0\n\t"                                                           \
	"std 0, 16(1)\n\t"                                                     \
	"stdu 1, -32(1)\n\t"                                                   \
	"addis 3, 2, skeys__module_header@toc@ha\n\t"                          \
	"addi 3, 3, skeys__module_header@toc@l\n\t"                            \
	"bl " fn "\n\t"                                                        \
	"nop\n\t"                                                              \
	"addi 1, 1, 32\n\t"                                                    \
	"ld 0, 16(1)\n\t"                                                      \
	"mtlr 0\n\t"                                                           \
	"blr\n\t"

#endif
