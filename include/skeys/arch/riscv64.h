/* SPDX-License-Identifier: MIT */
/* riscv64 site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_RISCV64_H
#define SKEYS_ARCH_RISCV64_H

#define SKEYS__ARCH_ID 4 /* the module header's `arch`; see <skeys/abi.h> */
/* gcc for riscv has no %c modifier; a plain operand prints a bare constant. */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%[skeys_k]"
#define SKEYS__CONST(n) "%[" n "]"
#define SKEYS__SECTION_TYPE "@progbits"
#define SKEYS__PTR_DIRECTIVE ".quad"

/*
 * A site is a 4-byte word on a 4-byte boundary, so that one aligned store
 * rewrites it. The alignment comes while relaxation is on, so that the
 * assembler records it (R_RISCV_ALIGN) and the linker keeps it when it
 * shrinks the code in front. Then no compressed encoding: the nop and the
 * jal keep their 4 bytes.
 *
 * Relaxation stays on for the jal. Under `.option norelax` LLVM's assembler
 * resolves a jal to a label of the same section at assembly time, and the
 * offset goes stale when the linker relaxes code between the site and the
 * label (measured: clang 19, LTO, lld; the jal landed 2 bytes off while the
 * table was right). With relaxation on, the jal is an R_RISCV_JAL
 * relocation, which neither linker relaxes (nothing marks it R_RISCV_RELAX);
 * skeys-seal checks every site after the link all the same.
 */
#define SKEYS__ASM_SITE_PRE                                                    \
	".option push\n\t"                                                     \
	".balign 4\n\t"                                                        \
	".option norvc\n\t"

#define SKEYS__ASM_SITE                                                        \
	".if %[skeys_jmp]\n\t"                                                 \
	"jal zero, %l[skeys__yes]\n\t"                                         \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"                                                           \
	".option pop\n\t"

#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"lla a0, skeys__module_header\n\t"                                     \
	"tail " fn "@plt\n\t"

/*
 * A static call's trampoline (<skeys/call.h>; docs/architectures.md): a
 * one-word slot, a tail that loads the call object's `lit` into t1 and
 * jumps there, and a return-0 stub; uncompressed and not relaxed (the
 * linker must not shorten the auipc/ld pair: the offsets are fixed):
 *
 *   slot:  j target | nop (far: fall into the tail) | j ret0
 *   tail:  auipc t1, %pcrel_hi(call) ; ld t1, %pcrel_lo(call)(t1) ; jr t1
 *   ret0:  li a0, 0 ; ret
 *
 * 24 bytes, aligned to 32.
 */
#define SKEYS__CALL_ALIGN ".balign 32\n\t"
#define SKEYS__CALL_SIZE "32"
#define SKEYS__CALL_SLOT "0"
#define SKEYS__CALL_SLOT_LEN "4"
#define SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	".option push\n\t"                                                     \
	".option norvc\n\t"                                                    \
	".option norelax\n\t"                                                  \
	".if " #kind "\n\t"                                                    \
	"j .Lskeys_ret0_" #name "\n\t"                                         \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"                                                           \
	".Lskeys_tail_" #name ":\n\t"                                          \
	"auipc t1, %pcrel_hi(skeys__call_" #name ")\n\t"                       \
	"ld t1, %pcrel_lo(.Lskeys_tail_" #name ")(t1)\n\t"                     \
	"jr t1\n\t"                                                            \
	".Lskeys_ret0_" #name ":\n\t"                                          \
	"li a0, 0\n\t"                                                         \
	"ret\n\t"                                                              \
	".option pop\n\t"

#endif
