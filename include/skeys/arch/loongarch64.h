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

/*
 * A static call's trampoline (<skeys/call.h>; docs/architectures.md): a
 * one-word slot, a tail that loads the call object's `lit` into $t8 and
 * jumps there, and a return-0 stub:
 *
 *   slot:  b target | nop (far: on into the tail) | b ret0
 *   tail:  pcalau12i $t8, %pc_hi20(call) ; ld.d $t8, $t8, %pc_lo12(call) ; jr $t8
 *   ret0:  move $a0, $zero ; ret
 *
 * B and NOP are the instructions a key site swaps: one aligned word, one
 * store. $t8 is a temporary no argument uses (the PLT's are $t1-$t3).
 * 24 bytes, aligned to 32. Its slots: runtime/arch/call_loongarch64.c.
 */
#define SKEYS__CALL_ALIGN ".balign 32\n\t"
#define SKEYS__CALL_SIZE "32"
#define SKEYS__CALL_SLOT "0"
#define SKEYS__CALL_SLOT_LEN "4"
#define SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	".if " #kind "\n\t"                                                    \
	"b 1f\n\t"                                                             \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"                                                           \
	"pcalau12i $t8, %pc_hi20(skeys__call_" #name ")\n\t"                   \
	"ld.d $t8, $t8, %pc_lo12(skeys__call_" #name ")\n\t"                   \
	"jr $t8\n"                                                              \
	"1:\tmove $a0, $zero\n\t"                                              \
	"ret\n\t"

#endif
