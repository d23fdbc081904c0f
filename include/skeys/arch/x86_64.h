/* SPDX-License-Identifier: MIT */
/* x86-64 site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_X86_64_H
#define SKEYS_ARCH_X86_64_H

#define SKEYS__ARCH_ID 1 /* the module header's `arch`; see <skeys/abi.h> */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
#define SKEYS__SECTION_TYPE "@progbits"
#define SKEYS__PTR_DIRECTIVE ".quad"

/*
 * The jump is spelled as the 0xe9 opcode plus a 32-bit displacement so that
 * the assembler cannot relax it into a 2-byte jump: every site is 5 bytes.
 */
#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	".byte 0xe9\n\t"                                                       \
	".long %l[skeys__yes] - (. + 4)\n\t"                                   \
	".else\n\t"                                                            \
	".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"                               \
	".endif\n\t"

/* Module constructor/destructor bodies: tail-call into the runtime. */
#if defined(_WIN32)
/* Microsoft x64 convention: first argument in rcx; the import thunk or the static function. */
#define SKEYS__ASM_TAILCALL(fn, self)                                              \
	"lea skeys__module_header(%rip), %rcx\n\t"                            \
	"jmp " fn "\n\t"
#else
#define SKEYS__ASM_TAILCALL(fn, self)                                              \
	"endbr64\n\t"                                                          \
	"lea skeys__module_header(%rip), %rdi\n\t"                             \
	"jmp " fn "@PLT\n\t"
#endif

/*
 * Static-call trampoline pieces (<skeys/abi.h> has the forms): the 6-byte
 * jmp *lit(%rip) through the call object's `lit` (an assembler symbol),
 * the return-0 slot (one instruction, jmp to offset 12) and, at offset 12,
 * the 4 bytes it jumps to (xor %eax,%eax; ret).
 */
#define SKEYS__ASM_CALL_JMP_LIT(sym)                                           \
	".byte 0xff, 0x25\n\t"                                                 \
	".long " sym " - (. + 4)\n\t"
#define SKEYS__ASM_CALL_RET0 ".byte 0xeb, 0x0a, 0xcc, 0xcc, 0xcc, 0xcc\n\t"
#define SKEYS__ASM_CALL_STUB ".byte 0x31, 0xc0, 0xc3, 0xcc\n\t"

#endif
