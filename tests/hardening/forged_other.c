/* SPDX-License-Identifier: MIT */
/*
 * Another module for the forged-table tests, linked at a fixed preferred
 * address (0x30000000) so that a forged entry in the test executable's
 * table can name code in it. Not a skeys module: forged_other_nop is just
 * code that holds the nop a FALSE key's unlikely site would hold, so only
 * the runtime's "inside its own module" check can stop a write to it.
 */
#include <stdint.h>

#define FORGED_OTHER_BASE 0x30000000ul

__asm__(".text\n"
	".globl forged_other_nop\n"
	".type forged_other_nop, @function\n"
	"forged_other_nop:\n"
	".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n" /* nopl 0(%rax,%rax,1) */
	"xor %eax, %eax\n"
	"ret\n"
	".size forged_other_nop, . - forged_other_nop\n");

int forged_other_nop(void);
const void *forged_other_site(void);
unsigned long forged_other_base(void);

/* The address as this module sees it (the executable would get its PLT). */
const void *forged_other_site(void)
{
	return (const void *)(uintptr_t)forged_other_nop;
}

unsigned long forged_other_base(void)
{
	return FORGED_OTHER_BASE;
}
