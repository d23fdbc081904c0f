/* SPDX-License-Identifier: MIT */
/* i686 site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_I386_H
#define SKEYS_ARCH_I386_H

#define SKEYS__ARCH_ID 2 /* the module header's `arch`; see <skeys/abi.h> */
#if defined(_WIN32)
/*
 * PE/COFF code is not position independent (a DLL is relocated by the
 * loader), so a key's address is an ordinary "i" constant, printed bare by
 * %c: the compiler adds the leading underscore of i386 COFF C names.
 */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
#else
/*
 * Under PIE/PIC a symbol's address is not an "i" constant on i386 (it needs
 * the GOT). gcc keeps it symbolic under "X", clang under "s"; %P prints the
 * bare symbol, without the `$` of an immediate, in gcc, clang 14 and 19
 * alike (clang 14 rejects %p there).
 */
#ifdef __clang__
#define SKEYS__KEY_CONSTRAINT "s"
#else
#define SKEYS__KEY_CONSTRAINT "X"
#endif
#define SKEYS__KEY_OPERAND "%P[skeys_k]"
/*
 * A cell's key (<skeys/kernel.h>) may be of another module, which gcc's %P
 * prints with @PLT: %p prints it bare in gcc, %c in clang.
 */
#define SKEYS__CELL_CONSTRAINT SKEYS__KEY_CONSTRAINT
#ifdef __clang__
#define SKEYS__CELL_OPERAND "%c[skeys_k]"
#else
#define SKEYS__CELL_OPERAND "%p[skeys_k]"
#endif
#endif
#define SKEYS__SECTION_TYPE "@progbits"
#define SKEYS__PTR_DIRECTIVE ".long"

/* As on x86-64: the 0xe9 opcode and a rel32, never the 2-byte jump. */
#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	".byte 0xe9\n\t"                                                       \
	".long %l[skeys__yes] - (. + 4)\n\t"                                   \
	".else\n\t"                                                            \
	".byte 0x3e, 0x8d, 0x74, 0x26, 0x00\n\t"                               \
	".endif\n\t"

#if defined(_WIN32)
/*
 * cdecl, the argument on the stack; names as C spells them (SKEYS__SYM).
 * The call goes to the static function or the DLL's import thunk. Entered
 * with the stack 16-byte aligned minus the return address (what gcc keeps),
 * it stays aligned at the call.
 */
#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"subl $8, %esp\n\t"                                                    \
	"pushl $" SKEYS__SYM(skeys__module_header) "\n\t"                      \
	"call " SKEYS__STR(__USER_LABEL_PREFIX__) fn "\n\t"                    \
	"addl $12, %esp\n\t"                                                   \
	"ret\n\t"
#else
/*
 * A call through the PLT of position-independent i386 code wants the GOT
 * address in %ebx, so this is a real call with a frame, not a tail call.
 * The stack stays 16-byte aligned at the call, as the i386 psABI asks.
 */
#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"pushl %ebx\n\t"                                                       \
	"call 1f\n"                                                            \
	"1:\tpopl %ebx\n\t"                                                    \
	"addl $_GLOBAL_OFFSET_TABLE_+(.-1b), %ebx\n\t"                         \
	"leal skeys__module_header@GOTOFF(%ebx), %eax\n\t"                     \
	"subl $4, %esp\n\t"                                                    \
	"pushl %eax\n\t"                                                       \
	"call " fn "@PLT\n\t"                                                  \
	"addl $8, %esp\n\t"                                                    \
	"popl %ebx\n\t"                                                        \
	"ret\n\t"
#endif

/*
 * A static call's type is cdecl, the caller popping the arguments (regparm
 * is fine): the trampoline's return-0 stub ends in a plain `ret`, which
 * would leave a __stdcall or __fastcall callee's arguments on the stack.
 * So the trampoline is declared cdecl, and a call of a callee-pops type
 * does not compile: "stdcall and cdecl attributes are not compatible" (C),
 * or <skeys/call.h>'s assertion (C++). Calls of those types stay function
 * pointers.
 */
#define SKEYS__TRAMP_ATTR SKEYS__CALL_ATTR __attribute__((cdecl))

#if defined(_WIN32)
/*
 * A static call's trampoline on PE (<skeys/call.h>, forms in
 * <skeys/abi.h>): x86-64's layout, 16 bytes. i386 has no %rip: the 6-byte
 * `ff 25 abs32` is jmp *lit through the call object's absolute address,
 * which the loader relocates in a DLL like any other absolute address in
 * PE code (so PE needs no position-independent tail). The slot as compiled
 * is that jump (far) or eb 0a (ret0, a jump to offset 12), the fixed
 * jmp *lit follows at offset 6, and at offset 12 the stub returning 0
 * clears %edx too (xor %eax,%eax; cltd; ret), so that a 64-bit integer
 * result is 0 as well. Every slot form is one instruction. Symbols as C
 * spells them (SKEYS__SYM). Its slots: runtime/arch/call_x86_64.c.
 */
#define SKEYS__CALL_ALIGN ".balign 16, 0xcc\n\t"
#define SKEYS__CALL_SIZE "16"
#define SKEYS__CALL_SLOT "0"
#define SKEYS__CALL_SLOT_LEN "6"
#define SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	".if " #kind "\n\t"                                                    \
	".byte 0xeb, 0x0a, 0xcc, 0xcc, 0xcc, 0xcc\n\t"                         \
	".else\n\t"                                                            \
	".byte 0xff, 0x25\n\t"                                                 \
	".long " SKEYS__SYM(skeys__call_##name) "\n\t"                         \
	".endif\n\t"                                                           \
	".byte 0xff, 0x25\n\t"                                                 \
	".long " SKEYS__SYM(skeys__call_##name) "\n\t"                         \
	".byte 0x31, 0xc0, 0x99, 0xc3\n\t"
#else
/*
 * A static call's trampoline (<skeys/call.h>; docs/architectures.md): a
 * 6-byte slot, then a tail that jumps through the call object's `lit`
 * keeping every register and the flags (a call may take arguments in any
 * of them: regparm, fastcall), position-independent without a GOT, then a
 * stub returning 0:
 *
 *   slot:  e9 rel32 cc            jmp target (rel32 reaches every address)
 *        | 66 0f 1f 44 00 00      nopw: on into the tail, as compiled
 *        | eb 18 cc cc cc cc      jmp ret0
 *   tail:  push %eax; call 1f; 1: pop %eax; push lit-1b(%eax);
 *          mov 4(%esp),%eax; ret $4
 *   ret0:  xor %eax,%eax; cltd; ret   (offset 26; cltd: a 64-bit result is 0 too)
 *
 * Every slot form is one instruction, so a thread stopped inside the slot
 * is at its first byte, the one the int3 protocol traps. 32 bytes, int3
 * padding. Its slots: runtime/arch/call_x86.c.
 */
#define SKEYS__CALL_ALIGN ".balign 16, 0xcc\n\t"
#define SKEYS__CALL_SIZE "32"
#define SKEYS__CALL_SLOT "0"
#define SKEYS__CALL_SLOT_LEN "6"
#define SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	".if " #kind "\n\t"                                                    \
	".byte 0xeb, 0x18, 0xcc, 0xcc, 0xcc, 0xcc\n\t"                         \
	".else\n\t"                                                            \
	".byte 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00\n\t"                         \
	".endif\n\t"                                                           \
	".byte 0x50, 0xe8, 0, 0, 0, 0\n"                                       \
	".Lskeys_pc_" #name ":\n\t"                                            \
	".byte 0x58, 0xff, 0xb0\n\t"                                           \
	".long skeys__call_" #name " - .Lskeys_pc_" #name "\n\t"               \
	".byte 0x8b, 0x44, 0x24, 0x04, 0xc2, 0x04, 0x00\n\t"                   \
	".byte 0x31, 0xc0, 0x99, 0xc3\n\t"                                     \
	".balign 32, 0xcc\n\t"
#endif

#endif
