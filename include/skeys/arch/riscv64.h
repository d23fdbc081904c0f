/* SPDX-License-Identifier: MIT */
/* riscv64 site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_RISCV64_H
#define SKEYS_ARCH_RISCV64_H

#define SKEYS__ARCH_ID 4 /* SKEYS_ARCH_RISCV64 */
/* gcc for riscv has no %c modifier; a plain operand prints a bare constant. */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%[skeys_k]"
#define SKEYS__CONST(n) "%[" n "]"
#define SKEYS__SECTION_TYPE "@progbits"
#define SKEYS__PTR_DIRECTIVE ".quad"

/*
 * A site is a 4-byte word on a 4-byte boundary, so that one aligned store
 * rewrites it. The alignment comes first, while relaxation is still on, so
 * that the linker keeps it when it shrinks the code in front (the assembler
 * then records it as R_RISCV_ALIGN). Then: no compressed encoding (the nop
 * and the jal keep 4 bytes) and no relaxation (the linker must not turn
 * the jal into a 2-byte c.j).
 */
#define SKEYS__ASM_SITE_PRE                                                    \
	".option push\n\t"                                                     \
	".balign 4\n\t"                                                        \
	".option norvc\n\t"                                                    \
	".option norelax\n\t"

#define SKEYS__ASM_SITE                                                        \
	".if %[skeys_jmp]\n\t"                                                 \
	"jal zero, %l[skeys__yes]\n\t"                                         \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"                                                           \
	".option pop\n\t"

#define SKEYS__ASM_TAILCALL(fn, self)                                             \
	"lla a0, skeys__module_header\n\t"                                     \
	"tail " fn "@plt\n\t"

#endif
