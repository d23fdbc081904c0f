/* SPDX-License-Identifier: MIT */
/*
 * SITES sites of key `k` (defined in C by SKEYS_DEFINE_FALSE), written out
 * by the assembler for the toggle step's large sizes: a C file of 100,000
 * functions takes gcc and gas far too long. Each site starts a 16-byte
 * function `int f(int x)` that returns x while the key is disabled (the
 * site a 5-byte nop, as <skeys/format/elf.h> emits an unlikely site of a
 * FALSE key) and x + 1 once it jumps to toggle_out. toggle_sites is the
 * first function; function i is at toggle_sites + 16 * i.
 */
#ifndef SITES
#define SITES 1000
#endif

	.text
	.globl toggle_sites
	.type toggle_sites, @function
	.p2align 4
toggle_sites:
	.rept SITES
	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00
	mov %edi, %eax
	ret
	.p2align 4
	.endr
toggle_out:
	lea 1(%rdi), %eax
	ret
	.size toggle_sites, . - toggle_sites

	.section __skeys, "ao", @progbits, toggle_sites
	.balign 4
	.set toggle_i, 0
	.rept SITES
	.long toggle_sites + toggle_i - .
	.long toggle_out - .
	.long k - .
	.set toggle_i, toggle_i + 16
	.endr

	.section .note.GNU-stack, "", @progbits
