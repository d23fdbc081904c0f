/* SPDX-License-Identifier: MIT */
/*
 * MANY_PAIRS x 2 sites for the scaling test, written out by the assembler
 * rather than a compiler so that the fixture builds quickly. Entries
 * alternate between two keys, so sealing has to reorder the whole table.
 * They are the entries <skeys/format/elf.h> emits: an unlikely site of a
 * FALSE key is a nop, a likely one a jump. The table is written apart from
 * the code (one section switch, not one per site) because gas is slow at
 * switching sections a million times.
 */
#ifndef MANY_PAIRS
#define MANY_PAIRS 100000
#endif
#define PAIR 10 /* bytes of code per pair of sites */

	.text
	.globl many_sites
	.type many_sites, @function
many_sites:
	.rept MANY_PAIRS
	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00
	.byte 0xe9
	.long many_out - (. + 4)
	.endr
many_out:
	ret
	.size many_sites, . - many_sites

	.section __skeys, "ao", @progbits, many_sites
	.balign 4
	.set many_i, 0
	.rept MANY_PAIRS
	.long many_sites + many_i - .
	.long many_out - .
	.long many_key_a - .
	.long many_sites + many_i + 5 - .
	.long many_out - .
	.long many_key_b + 1 - .
	.set many_i, many_i + PAIR
	.endr

	.section .note.GNU-stack, "", @progbits
