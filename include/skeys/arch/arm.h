/* SPDX-License-Identifier: MIT */
/*
 * 32-bit arm site templates, A32 and Thumb-2. Included by <skeys.h>; not a
 * public header. A Thumb-2 site sets SKEYS_ENTRY_MODE in its entry, so the
 * tools and the runtime know which encodings to use.
 */
#ifndef SKEYS_ARCH_ARM_H
#define SKEYS_ARCH_ARM_H

#define SKEYS__ARCH_ID 5 /* SKEYS_ARCH_ARM */
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
#define SKEYS__PC_BIAS "4"
#else
#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	"b %l[skeys__yes]\n\t"                                                 \
	".else\n\t"                                                            \
	".inst 0xe320f000\n\t"                                                 \
	".endif\n\t"
#define SKEYS__PC_BIAS "8"
#endif

/*
 * The header's address from a pc-relative literal, then a tail call. In
 * the function's own instruction set: the literal is word-aligned and pc
 * reads as the instruction's address + 8 (A32) or + 4 (Thumb).
 */
#define SKEYS__ASM_TAILCALL(fn, self)                                             \
	"ldr r0, 1f\n"                                                         \
	"0:\tadd r0, pc\n\t"                                                   \
	"b " fn "\n\t"                                                         \
	".balign 4\n"                                                          \
	"1:\t.word skeys__module_header - (0b + " SKEYS__PC_BIAS ")\n\t"

#endif
