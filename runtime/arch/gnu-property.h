/* SPDX-License-Identifier: MIT */
/*
 * For the runtime's assembly: a GNU property note (NT_GNU_PROPERTY_TYPE_0)
 * with one 4-byte property, `type` = `value`, as the C objects of a
 * hardened build carry (x86-64 and i386 CET, aarch64 BTI/PAC). Without it in every
 * object the linker marks the whole library as lacking the feature.
 */
#ifndef SKEYS_RUNTIME_ARCH_GNU_PROPERTY_H
#define SKEYS_RUNTIME_ARCH_GNU_PROPERTY_H

/* name size, descriptor size, note type, name; the property; 8-aligned. */
#define SKEYS_GNU_PROPERTY_NOTE(type, value)                                   \
	.section .note.gnu.property, "a";                                      \
	.p2align 3;                                                            \
	.long 4;                                                               \
	.long 16;                                                              \
	.long 5;                                                               \
	.asciz "GNU";                                                          \
	.long type;                                                            \
	.long 4;                                                               \
	.long value;                                                           \
	.p2align 3

/* The same in a 32-bit object (i386): 4-aligned, the descriptor 12 bytes. */
#define SKEYS_GNU_PROPERTY_NOTE32(type, value)                                 \
	.section .note.gnu.property, "a";                                      \
	.p2align 2;                                                            \
	.long 4;                                                               \
	.long 12;                                                              \
	.long 5;                                                               \
	.asciz "GNU";                                                          \
	.long type;                                                            \
	.long 4;                                                               \
	.long value;                                                           \
	.p2align 2

#endif
