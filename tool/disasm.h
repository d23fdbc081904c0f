/* SPDX-License-Identifier: MIT */
/*
 * Decoding for diagnostics: capstone, one row per architecture. The tools
 * never decide correctness from this text; they compare bytes against the
 * encodings in common/arch. This only tells a human what was found.
 */
#ifndef SKEYS_TOOL_DISASM_H
#define SKEYS_TOOL_DISASM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct skeys_arch;

/*
 * "e8 12 34 56 78 (call 0x401200)": the bytes in hex, then what they decode
 * to at `addr`, "(undecodable)" when nothing does.
 */
void skeys_disasm_describe(const struct skeys_arch *a, uint64_t addr,
			   const uint8_t *bytes, size_t n, char *out, size_t outlen);

/* The names of the architectures the tools support, for --help. */
void skeys_disasm_print_arches(FILE *f);

/* Release the decoders. */
void skeys_disasm_cleanup(void);

#endif
