/* SPDX-License-Identifier: MIT */
/*
 * 32-bit arm site templates, A32 and Thumb-2. Included by <skeys.h>; not a
 * public header. A Thumb-2 site sets SKEYS_ENTRY_MODE in its entry, so the
 * tools and the runtime know which encodings to use.
 */
#ifndef SKEYS_ARCH_ARM_H
#define SKEYS_ARCH_ARM_H

#define SKEYS__ARCH_ID 5 /* the module header's `arch`; see <skeys/abi.h> */
/*
 * Under PIE/PIC gcc accepts a symbol address only with its internal "US"
 * (symbol reference) constraint; clang takes "i".
 */
#ifdef __clang__
#define SKEYS__KEY_CONSTRAINT "i"
#else
#define SKEYS__KEY_CONSTRAINT "US"
#endif
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
/*
 * A cell's key (<skeys/kernel.h>) takes the same constraint: gcc's "X"
 * would take a symbol plus an offset of another module, but not a key of
 * this file, which section anchors reach PC-relative under PIE/PIC
 * ("Unsupported operand for code 'c'"). So with gcc, C keeps a cell per
 * site as a static (any key), and C++ names only a key that starts its
 * object (docs/kernel.md).
 */
#ifndef __clang__
#define SKEYS__CELL_C_STATIC 1
#endif
/*
 * `@` starts a comment in arm assembly; `%` must be doubled inside the
 * sites' extended asm, and not in the module's basic asm.
 */
#define SKEYS__SECTION_TYPE "%progbits"
#define SKEYS__SECTION_TYPE_EXT "%%progbits"
#define SKEYS__PTR_DIRECTIVE ".long"

/* The nops are spelled out: `nop` is `mov r0, r0` before armv6k. */
#if defined(__thumb__)
#if !defined(__thumb2__)
#error "skeys: Thumb-1 has no 4-byte branch a site could use; build with -marm or for armv7"
#endif
#define SKEYS__SITE_MODE "2" /* SKEYS_ENTRY_MODE */
/*
 * Word-aligned, so that one aligned store rewrites the whole site; the
 * alignment costs at most one 16-bit nop in front of it.
 */
#define SKEYS__ASM_SITE_PRE ".balign 4\n\t"
#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	"b.w %l[skeys__yes]\n\t"                                               \
	".else\n\t"                                                            \
	".inst.w 0xf3af8000\n\t"                                               \
	".endif\n\t"
#else
#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	"b %l[skeys__yes]\n\t"                                                 \
	".else\n\t"                                                            \
	".inst 0xe320f000\n\t"                                                 \
	".endif\n\t"
#endif

/*
 * The module constructor and destructor are A32, whatever the translation
 * unit's instruction set: top-level asm is not reliably placed after the
 * compiler's own `.thumb`. The mode is set before their symbols are typed
 * (gas marks a function symbol typed in Thumb mode as Thumb) and put back
 * to the unit's default afterwards.
 */
/* A32 code must be word-aligned; LLVM does not align on the switch. */
#define SKEYS__ASM_MODE_ENTER ".arm\n\t"
#define SKEYS__ASM_TEXT_ENTER SKEYS__ASM_MODE_ENTER ".balign 4\n\t"
#if defined(__thumb__)
#define SKEYS__ASM_TEXT_LEAVE ".thumb\n\t"
#endif

/* The header's address from a pc-relative literal (A32 reads pc as . + 8). */
#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"ldr r0, 1f\n"                                                         \
	"0:\tadd r0, pc\n\t"                                                   \
	"b " fn "\n"                                                           \
	"1:\t.word skeys__module_header - (0b + 8)\n\t"

/*
 * A static call's trampoline (<skeys/call.h>; docs/architectures.md), A32
 * whatever the unit's instruction set (SKEYS__ASM_TEXT_ENTER; the linker
 * turns a Thumb caller's bl into blx): a one-word slot, a tail that loads
 * the call object's `lit` through a pc-relative literal and branches there
 * with bx (to A32 or Thumb), and a return-0 stub:
 *
 *   slot:  b target (A32 targets) | nop (far) | b ret0
 *   tail:  ldr ip, 1f ; 0: add ip, pc, ip ; ldr ip, [ip] ; bx ip
 *   ret0:  mov r0, #0 ; bx lr
 *   1:     .word call - (0b + 8)
 *
 * 32 bytes, aligned to 32.
 */
#define SKEYS__CALL_ALIGN ".balign 32\n\t"
/*
 * clang's assembler marks a function that a Thumb unit declares hidden as
 * Thumb (its `.hidden` comes at the end of the unit, in Thumb mode): the
 * declaration keeps the default visibility there, the trampoline's own
 * assembly makes it hidden.
 */
#if defined(__clang__) && defined(__thumb__)
#define SKEYS__TRAMP_ATTR
#endif
#define SKEYS__CALL_SIZE "32"
#define SKEYS__CALL_SLOT "0"
#define SKEYS__CALL_SLOT_LEN "4"
#define SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	".if " #kind "\n\t"                                                    \
	"b .Lskeys_ret0_" #name "\n\t"                                         \
	".else\n\t"                                                            \
	".inst 0xe320f000\n\t"                                                 \
	".endif\n\t"                                                           \
	"ldr ip, .Lskeys_lit_" #name "\n"                                      \
	".Lskeys_pc_" #name ":\n\t"                                            \
	"add ip, pc, ip\n\t"                                                   \
	"ldr ip, [ip]\n\t"                                                     \
	"bx ip\n"                                                              \
	".Lskeys_ret0_" #name ":\n\t"                                          \
	"mov r0, #0\n\t"                                                       \
	"bx lr\n"                                                              \
	".Lskeys_lit_" #name ":\n\t"                                           \
	".word skeys__call_" #name " - (.Lskeys_pc_" #name " + 8)\n\t"

#endif
