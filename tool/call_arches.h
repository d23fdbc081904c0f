/* SPDX-License-Identifier: MIT */
/*
 * Static-call trampolines in the tools: one row per architecture that has
 * them (tool/call_arches.c), saying how its trampoline looks as compiled
 * (<skeys/arch/NAME.h>'s SKEYS__ASM_CALL_TRAMP) and which dynamic
 * relocations fill a call object's `lit`. Adding an architecture's
 * trampoline: its template, its runtime slot file (runtime/arch/
 * call_NAME.c) and its row here.
 */
#ifndef SKEYS_TOOL_CALL_ARCHES_H
#define SKEYS_TOOL_CALL_ARCHES_H

#include "format.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct skeys_call_arch {
	uint16_t id;      /* SKEYS_ARCH_* */
	uint8_t slot_len; /* the slot, which the runtime rewrites; the tail follows */
	uint8_t span;     /* bytes of the trampoline from its slot on */
	/*
	 * The trampoline whose slot is at `slot` (its bytes `t`, `span` of
	 * them, the file's): does it hold the form compiled for `kind` (0: far
	 * through the call object at `call`; SKEYS_CALL_F_NULL or _RET0: the
	 * return-0 form), and its fixed tail through the call object? True, or
	 * false with what was expected and found in err.
	 */
	bool (*verify)(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
		       uint64_t call, unsigned kind, char *err, size_t errlen);
	/*
	 * Where the trampoline starts, for a slot at `slot` (before it: a
	 * landing pad such as aarch64's BTI C). NULL: at the slot.
	 */
	uint64_t (*start)(const struct skeys_image *img, uint64_t slot);
	/* Set in a code address to select an instruction set (arm: Thumb, 1); named without it. */
	uint8_t mode_bit;
	/* Dynamic relocation types that fill a pointer of data (RELA, or REL with an implicit addend). */
	uint32_t r_relative, r_abs, r_glob_dat;
	/* The only format (skeys_format.name) this trampoline is emitted for; NULL: any. */
	const char *format;
};

/* The row of architecture `id` in format `format`, or NULL: no trampolines there yet. */
const struct skeys_call_arch *skeys_call_arch(unsigned id, const char *format);

#endif
