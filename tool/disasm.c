/* SPDX-License-Identifier: MIT */
#include "disasm.h"

#include "arch.h"

#include <capstone/capstone.h>
#include <stdbool.h>
#include <string.h>

/* Adding an architecture: one row. */
static struct disasm_row {
	enum skeys_arch_id id;
	cs_arch cs_arch;
	cs_mode cs_mode;
	/* Opened on first use, so a run with no bad site costs nothing. */
	csh handle;
	bool opened, failed;
} rows[] = {
	{ .id = SKEYS_ARCH_X86_64, .cs_arch = CS_ARCH_X86, .cs_mode = CS_MODE_64 },
	{ .id = SKEYS_ARCH_AARCH64, .cs_arch = CS_ARCH_ARM64, .cs_mode = CS_MODE_ARM },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

static struct disasm_row *row_for(const struct skeys_arch *a)
{
	size_t i;

	for (i = 0; i < N_ROWS; i++) {
		struct disasm_row *r = &rows[i];

		if (r->id != a->id)
			continue;
		if (!r->opened && !r->failed) {
			if (cs_open(r->cs_arch, r->cs_mode, &r->handle) == CS_ERR_OK)
				r->opened = true;
			else
				r->failed = true;
		}
		return r->opened ? r : NULL;
	}
	return NULL;
}

/* Append to out[*pos..outlen), truncating quietly: diagnostics only. */
static void put(char *out, size_t outlen, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos >= outlen)
		return;
	if (n >= outlen - *pos)
		n = outlen - *pos - 1;
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = 0;
}

static void describe_insns(struct disasm_row *r, uint64_t addr, const uint8_t *b,
			   size_t n, char *out, size_t outlen, size_t *pos)
{
	cs_insn *insn = NULL;
	size_t count, i, used = 0;

	count = r ? cs_disasm(r->handle, b, n, addr, 0, &insn) : 0;
	if (count == 0) {
		put(out, outlen, pos, r ? "undecodable" : "no decoder");
		return;
	}
	for (i = 0; i < count; i++) {
		if (i)
			put(out, outlen, pos, "; ");
		put(out, outlen, pos, insn[i].mnemonic);
		if (insn[i].op_str[0]) {
			put(out, outlen, pos, " ");
			put(out, outlen, pos, insn[i].op_str);
		}
		used += insn[i].size;
	}
	/* Bytes left over start an instruction that runs past the site. */
	if (used < n)
		put(out, outlen, pos, "; ...");
	cs_free(insn, count);
}

void skeys_disasm_describe(const struct skeys_arch *a, uint64_t addr,
			   const uint8_t *bytes, size_t n, char *out, size_t outlen)
{
	size_t i, pos = 0;
	char hex[4];

	if (!outlen)
		return;
	out[0] = 0;
	for (i = 0; i < n; i++) {
		snprintf(hex, sizeof(hex), i ? " %02x" : "%02x", bytes[i]);
		put(out, outlen, &pos, hex);
	}
	put(out, outlen, &pos, " (");
	describe_insns(row_for(a), addr, bytes, n, out, outlen, &pos);
	put(out, outlen, &pos, ")");
}

void skeys_disasm_print_arches(FILE *f)
{
	size_t i;

	for (i = 0; i < N_ROWS; i++) {
		const struct skeys_arch *a = skeys_arch_by_id(rows[i].id);

		if (a)
			fprintf(f, "%s%s", i ? ", " : "", a->name);
	}
}

void skeys_disasm_cleanup(void)
{
	size_t i;

	for (i = 0; i < N_ROWS; i++) {
		if (rows[i].opened)
			cs_close(&rows[i].handle);
		rows[i].opened = false;
	}
}
