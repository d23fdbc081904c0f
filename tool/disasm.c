/* SPDX-License-Identifier: MIT */
#include "disasm.h"

#include "arch.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
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

#ifndef SKEYS_HAVE_CAPSTONE
#error "the architecture rows were compiled without capstone's numbers (common/meson.build)"
#endif

/*
 * Our own text where capstone has no such architecture (a row without
 * SKEYS_ARCH_CAPSTONE). Diagnostics only: it names the site instructions
 * (and the jump's target) and calls everything else by its raw word, which
 * is all a mismatch report needs.
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
		snprintf(out, outlen, "%s 0x%" PRIx64, a->jump_name, target);
	else
		snprintf(out, outlen, "not a site instruction: .word 0x%08" PRIx32,
			 skeys_get_le32(b));
}

/*
 * One capstone handle per architecture row (skeys_arch_at's order), opened
 * on first use, so a run with no bad site costs nothing.
 */
static struct disasm_handle {
	csh handle;
	bool opened, failed;
} *handles;
static size_t n_handles;

/* The open handle for `a`, or NULL (capstone missing or refusing the mode). */
static struct disasm_handle *handle_for(const struct skeys_arch *a)
{
	const struct skeys_arch *r;
	struct disasm_handle *h;
	size_t i;

	if (!handles) {
		while (skeys_arch_at(n_handles))
			n_handles++;
		handles = calloc(n_handles, sizeof(*handles));
		if (!handles)
			return NULL;
	}
	for (i = 0; (r = skeys_arch_at(i)) && r != a; i++)
		;
	if (!r)
		return NULL;
	h = &handles[i];
	if (!h->opened && !h->failed) {
		if (cs_load() && cs.open((cs_arch)a->cs_arch, (cs_mode)a->cs_mode, &h->handle) == CS_ERR_OK)
			h->opened = true;
		else
			h->failed = true;
	}
	return h->opened ? h : NULL;
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

static void describe_insns(const struct skeys_arch *a, uint64_t addr, const uint8_t *b,
			   size_t n, char *out, size_t outlen, size_t *pos)
{
	struct disasm_handle *h = NULL;
	cs_insn *insn = NULL;
	size_t count, i, used = 0;
	char own[128];

	if (a && !a->capstone) {
		describe_word(a, addr, b, n, own, sizeof(own));
		put(out, outlen, pos, own);
		return;
	}
	if (a)
		h = handle_for(a);
	count = h ? cs.disasm(h->handle, b, n, addr, 0, &insn) : 0;
	if (count == 0) {
		put(out, outlen, pos, h ? "undecodable" : "no decoder");
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
	describe_insns(a, addr, bytes, n, out, outlen, &pos);
	put(out, outlen, &pos, ")");
}

void skeys_disasm_print_arches(FILE *f)
{
	const struct skeys_arch *a;
	size_t i;

	for (i = 0; (a = skeys_arch_at(i)); i++)
		fprintf(f, "%s%s%s", i ? ", " : "", a->name, a->capstone ? "" : " (own decoder)");
}

void skeys_disasm_cleanup(void)
{
	size_t i;

	for (i = 0; i < n_handles; i++)
		if (handles[i].opened)
			cs.close(&handles[i].handle);
	free(handles);
	handles = NULL;
	n_handles = 0;
	if (cs.lib)
		dlclose(cs.lib);
	memset(&cs, 0, sizeof(cs));
}
