/* SPDX-License-Identifier: MIT */
/* s390x site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_S390X_H
#define SKEYS_ARCH_S390X_H

#define SKEYS__ARCH_ID 7 /* the module header's `arch`; see <skeys/abi.h> */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
/*
 * A cell's key (<skeys/kernel.h>) may be of another module: under PIE and
 * PIC gcc takes it only under "X", which may also hand the asm a register
 * that already holds the address. So with gcc, C and C++ keep a cell per
 * site as a static (docs/kernel.md).
 */
#ifndef __clang__
#define SKEYS__CELL_C_STATIC 1
#define SKEYS__CELL_CXX_STATIC 1
#endif
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

/*
 * A static call's trampoline (<skeys/call.h>; docs/architectures.md):
 *
 *   slot:  brcl 0|15, ret0        0: a nop, on into the tail; 15: no target
 *   tail:  larl %r1, call; lg %r1, 0(%r1); br %r1    through `lit`
 *   ret0:  lghi %r2, 0; br %r14
 *
 * The slot keeps its displacement (to ret0) for ever: like a key site it
 * changes its condition mask alone, one byte, so every change is one store
 * and every state is a whole instruction. There is no near form (it would
 * change the displacement too): a call with a target always goes through
 * `lit`. r1 is the scratch register the PLT uses too; the arguments
 * (r2-r6, f0-f6) and r14 are left alone. 32 bytes, aligned to 8.
 */
#define SKEYS__CALL_ALIGN ".balign 8\n\t"
#define SKEYS__CALL_SIZE "32"
#define SKEYS__CALL_SLOT "0"
#define SKEYS__CALL_SLOT_LEN "6"
#define SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	".if " #kind "\n\t"                                                    \
	"brcl 15, 1f\n\t"                                                      \
	".else\n\t"                                                            \
	"brcl 0, 1f\n\t"                                                       \
	".endif\n\t"                                                           \
	"larl %r1, skeys__call_" #name "\n\t"                                  \
	"lg %r1, 0(%r1)\n\t"                                                   \
	"br %r1\n"                                                             \
	"1:\tlghi %r2, 0\n\t"                                                  \
	"br %r14\n\t"

#endif
