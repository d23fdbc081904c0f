/* SPDX-License-Identifier: MIT */
/* x86-64 site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_X86_64_H
#define SKEYS_ARCH_X86_64_H

#define SKEYS__ARCH_ID 1 /* the module header's `arch`; see <skeys/abi.h> */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
/*
 * A cell's key (<skeys/kernel.h>) may be of another module: under -fPIC gcc
 * rejects it as "i" or "s" but keeps it symbolic under "X" (printed bare by
 * %p), clang takes it as "s".
 */
#ifdef __clang__
#define SKEYS__CELL_CONSTRAINT "s"
#define SKEYS__CELL_OPERAND "%c[skeys_k]"
#else
#define SKEYS__CELL_CONSTRAINT "X"
#define SKEYS__CELL_OPERAND "%p[skeys_k]"
#endif
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
 * A static call's trampoline (<skeys/call.h>; its forms in <skeys/abi.h>):
 * the 6-byte slot at offset 0, as compiled far through the call object's
 * `lit` (ret0 for a call without a target: one instruction, a jump to
 * offset 12), then the fixed jmp *lit(%rip) that the slot's end leads to,
 * then at offset 12 the fixed stub the ret0 form jumps to (xor %eax,%eax;
 * ret). 16 bytes.
 */
#define SKEYS__CALL_ALIGN ".balign 16, 0xcc\n\t"
#define SKEYS__CALL_SIZE "16"     /* the trampoline's .size */
#define SKEYS__CALL_SLOT "0"      /* the slot's offset in the trampoline */
#define SKEYS__CALL_SLOT_LEN "6"  /* the slot's bytes: the tail follows it */
#define SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	".if " #kind "\n\t"                                                    \
	".byte 0xeb, 0x0a, 0xcc, 0xcc, 0xcc, 0xcc\n\t"                         \
	".else\n\t"                                                            \
	".byte 0xff, 0x25\n\t"                                                 \
	".long " SKEYS__CALL_OBJ(name) " - (. + 4)\n\t"                        \
	".endif\n\t"                                                           \
	".byte 0xff, 0x25\n\t"                                                 \
	".long " SKEYS__CALL_OBJ(name) " - (. + 4)\n\t"                        \
	".byte 0x31, 0xc0, 0xc3, 0xcc\n\t"
/* The call object's assembler name: C's, with Mach-O's leading underscore. */
#define SKEYS__CALL_OBJ(name) SKEYS__STR(__USER_LABEL_PREFIX__) "skeys__call_" #name

#endif
