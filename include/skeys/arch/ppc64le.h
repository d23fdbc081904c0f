/* SPDX-License-Identifier: MIT */
/* ppc64le (ELFv2) site templates. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_ARCH_PPC64LE_H
#define SKEYS_ARCH_PPC64LE_H

#define SKEYS__ARCH_ID 6 /* the module header's `arch`; see <skeys/abi.h> */
#define SKEYS__KEY_CONSTRAINT "i"
#define SKEYS__KEY_OPERAND "%c[skeys_k]"
#define SKEYS__SECTION_TYPE "@progbits"
#define SKEYS__PTR_DIRECTIVE ".quad"

#define SKEYS__ASM_SITE                                                        \
	".if %c[skeys_jmp]\n\t"                                                \
	"b %l[skeys__yes]\n\t"                                                 \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"

/*
 * A call through a PLT stub needs the module's TOC pointer in r2, and the
 * stub saves the caller's r2 in the frame: so a global entry point that
 * sets r2 from r12, a frame, `bl` and the `nop` the linker turns into the
 * r2 reload.
 */
#define SKEYS__ASM_TAILCALL(fn, self)                                          \
	"0:\taddis 2, 12, .TOC.-0b@ha\n\t"                                     \
	"addi 2, 2, .TOC.-0b@l\n\t"                                            \
	".localentry " self ", .-0b\n\t"                                       \
	"mflr 0\n\t"                                                           \
	"std 0, 16(1)\n\t"                                                     \
	"stdu 1, -32(1)\n\t"                                                   \
	"addis 3, 2, skeys__module_header@toc@ha\n\t"                          \
	"addi 3, 3, skeys__module_header@toc@l\n\t"                            \
	"bl " fn "\n\t"                                                        \
	"nop\n\t"                                                              \
	"addi 1, 1, 32\n\t"                                                    \
	"ld 0, 16(1)\n\t"                                                      \
	"mtlr 0\n\t"                                                           \
	"blr\n\t"

/*
 * A static call's trampoline (<skeys/call.h>; docs/architectures.md):
 *
 *   slot:  nop | b ret0           far (on into the tail) or no target
 *   tail:  mflr 0; bcl 20,31,1f; 1: mflr 12; mtlr 0
 *          addis 12,12,(call-1b)@ha; addi 12,12,(call-1b)@l
 *          ld 12,0(12); mtctr 12; bctr      to `lit`'s global entry, r12 set
 *   ret0:  li 3,0; blr
 *
 * A target of another module (another TOC) sets r2 to its own TOC from
 * r12 and returns with it, so the trampoline is marked `.localentry 1`:
 * it does not preserve r2. Its callers must then restore r2, and they can:
 * the C declaration says default visibility, so a caller leaves a
 * `nop` after its `bl`, and the linker (GNU ld, lld) branches through a
 * stub that saves r2 in the caller's frame and turns that `nop` into
 * `ld 2,24(1)`. An indirect call restores r2 anyway. There is no near
 * form: `b target` would enter the target without r12 set. Slot and
 * tail use only r0, r12 and ctr, which a callee may clobber at entry.
 * 48 bytes, aligned to 16.
 */
/* default even under -fvisibility=hidden or #pragma GCC visibility: see above */
#define SKEYS__TRAMP_ATTR __attribute__((visibility("default")))
#define SKEYS__CALL_ALIGN ".balign 16\n\t"
#define SKEYS__CALL_SIZE "48"
#define SKEYS__CALL_SLOT "0"
#define SKEYS__CALL_SLOT_LEN "4"
#define SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	".if " #kind "\n\t"                                                    \
	"b 2f\n\t"                                                             \
	".else\n\t"                                                            \
	"nop\n\t"                                                              \
	".endif\n\t"                                                           \
	"mflr 0\n\t"                                                           \
	"bcl 20, 31, 1f\n"                                                     \
	"1:\tmflr 12\n\t"                                                      \
	"mtlr 0\n\t"                                                           \
	"addis 12, 12, (skeys__call_" #name " - 1b)@ha\n\t"                    \
	"addi 12, 12, (skeys__call_" #name " - 1b)@l\n\t"                      \
	"ld 12, 0(12)\n\t"                                                     \
	"mtctr 12\n\t"                                                         \
	"bctr\n"                                                               \
	"2:\tli 3, 0\n\t"                                                      \
	"blr\n\t"                                                              \
	".localentry skeys__tramp_" #name ", 1\n\t"

#endif
