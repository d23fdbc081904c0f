/* SPDX-License-Identifier: MIT */
#include "disasm.h"

#include "arch.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

/*
 * capstone is loaded on first use, not linked: it is only needed to
 * describe a bad site, and linking it costs every run the relocation of
 * its tables, measured at about 0.9 ms and 370 page faults per process
 * start on x86-64 (docs/benchmarks.md, the tool section). Its types and
 * constants still come from its header; SKEYS_CAPSTONE_SONAME is the
 * library the build found (tool/meson.build).
 */
static struct {
	cs_err (*open)(cs_arch arch, cs_mode mode, csh *handle);
	size_t (*disasm)(csh handle, const uint8_t *code, size_t size, uint64_t address,
			 size_t count, cs_insn **insn);
	void (*free)(cs_insn *insn, size_t count);
	cs_err (*close)(csh *handle);
	void *lib;
	bool tried;
} cs;

/* True when capstone's entry points are at hand (loaded now or before). */
static bool cs_load(void)
{
	if (cs.tried)
		return cs.lib != NULL;
	cs.tried = true;
	cs.lib = dlopen(SKEYS_CAPSTONE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!cs.lib)
		return false;
	/* POSIX's way from an object pointer to a function pointer. */
	*(void **)&cs.open = dlsym(cs.lib, "cs_open");
	*(void **)&cs.disasm = dlsym(cs.lib, "cs_disasm");
	*(void **)&cs.free = dlsym(cs.lib, "cs_free");
	*(void **)&cs.close = dlsym(cs.lib, "cs_close");
	if (!cs.open || !cs.disasm || !cs.free || !cs.close) {
		dlclose(cs.lib);
		cs.lib = NULL;
	}
	return cs.lib != NULL;
}

/*
 * Our own text for the two architectures capstone 4 lacks. Diagnostics
 * only: it names the site instructions (and the jump's target) and calls
 * everything else by its raw word, which is all a mismatch report needs.
 */
static void describe_word(const struct skeys_arch *a, uint64_t addr, const uint8_t *b,
			  size_t n, char *out, size_t outlen)
{
	uint64_t target;

	if (n < a->site_len)
		snprintf(out, outlen, "truncated");
	else if (!memcmp(b, a->nop, a->site_len))
		snprintf(out, outlen, "nop");
	else if (a->decode_jump(addr, b, &target))
		snprintf(out, outlen, "%s 0x%" PRIx64,
			 a->id == SKEYS_ARCH_RISCV64 ? "j" : "b", target);
	else
		snprintf(out, outlen, "not a site instruction: .word 0x%08" PRIx32,
			 skeys_get_le32(b));
}

/* Adding an architecture: one row. */
static struct disasm_row {
	const struct skeys_arch *arch;
	cs_arch cs_arch;
	cs_mode cs_mode;
	/* Where capstone has no such architecture: our own, 0 bytes or site_len. */
	void (*own)(const struct skeys_arch *a, uint64_t addr, const uint8_t *b, size_t n,
		    char *out, size_t outlen);
	/* Opened on first use, so a run with no bad site costs nothing. */
	csh handle;
	bool opened, failed;
} rows[] = {
	{ .arch = &skeys_arch_x86_64, .cs_arch = CS_ARCH_X86, .cs_mode = CS_MODE_64 },
	{ .arch = &skeys_arch_i386, .cs_arch = CS_ARCH_X86, .cs_mode = CS_MODE_32 },
	{ .arch = &skeys_arch_aarch64, .cs_arch = CS_ARCH_ARM64, .cs_mode = CS_MODE_ARM },
	{ .arch = &skeys_arch_riscv64, .own = describe_word },
	{ .arch = &skeys_arch_arm, .cs_arch = CS_ARCH_ARM, .cs_mode = CS_MODE_ARM },
	{ .arch = &skeys_arch_arm_thumb, .cs_arch = CS_ARCH_ARM, .cs_mode = CS_MODE_THUMB },
	{ .arch = &skeys_arch_ppc64le, .cs_arch = CS_ARCH_PPC,
	  .cs_mode = (cs_mode)(CS_MODE_64 | CS_MODE_LITTLE_ENDIAN) },
	{ .arch = &skeys_arch_s390x, .cs_arch = CS_ARCH_SYSZ, .cs_mode = CS_MODE_BIG_ENDIAN },
	{ .arch = &skeys_arch_loongarch64, .own = describe_word },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

static struct disasm_row *row_for(const struct skeys_arch *a)
{
	size_t i;

	for (i = 0; i < N_ROWS; i++) {
		struct disasm_row *r = &rows[i];

		if (r->arch != a)
			continue;
		if (r->own)
			return r;
		if (!r->opened && !r->failed) {
			if (cs_load() && cs.open(r->cs_arch, r->cs_mode, &r->handle) == CS_ERR_OK)
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
	char own[128];

	if (r && r->own) {
		r->own(r->arch, addr, b, n, own, sizeof(own));
		put(out, outlen, pos, own);
		return;
	}
	count = r ? cs.disasm(r->handle, b, n, addr, 0, &insn) : 0;
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
	cs.free(insn, count);
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

	for (i = 0; i < N_ROWS; i++)
		fprintf(f, "%s%s%s", i ? ", " : "", rows[i].arch->name,
			rows[i].own ? " (own decoder)" : "");
}

void skeys_disasm_cleanup(void)
{
	size_t i;

	for (i = 0; i < N_ROWS; i++) {
		if (rows[i].opened)
			cs.close(&rows[i].handle);
		rows[i].opened = false;
	}
	if (cs.lib)
		dlclose(cs.lib);
	memset(&cs, 0, sizeof(cs));
}
