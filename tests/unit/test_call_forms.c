/* SPDX-License-Identifier: MIT */
/*
 * Every static-call slot form the runtime can write is one instruction
 * (docs/architectures.md, "Static calls"): a thread stopped inside the slot
 * must be at its start, never after a first instruction of several, where
 * it would resume in the middle of rewritten bytes. Each architecture's
 * runtime/arch/call_<arch>.c is built here under its own name
 * (tests/unit/meson.build), asked for its near, far and return-0 forms,
 * and capstone decodes them: the first instruction must span the slot, or
 * be an unconditional jump out of it (x86's `e9 rel32` before an int3 pad).
 * A direct branch of any form must not land inside the slot, and a near
 * form must jump to the target it was asked for.
 */
#include "internal.h"

#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../testing.h"

#define FORMS(a)                                                               \
	extern const size_t skeys_call_slot_len_##a;                           \
	int skeys_call_slot_##a(enum skeys_call_form form, uintptr_t slot,     \
				uintptr_t target, const struct skeys_call *call, \
				uint8_t *out);
FORMS(x86_64)
FORMS(x86)
FORMS(aarch64)
FORMS(riscv64)
FORMS(arm)
FORMS(s390x)
FORMS(ppc64le)
FORMS(loongarch64)

typedef int (*slot_fn)(enum skeys_call_form, uintptr_t, uintptr_t, const struct skeys_call *,
		       uint8_t *);

struct row {
	const char *name;
	slot_fn fn;
	const size_t *len;
	cs_arch arch; /* CS_ARCH_ALL: capstone 4 has no decoder (riscv64, loongarch64) */
	int mode;
	/* CS_ARCH_ALL: the form decoded here, as check_form() would (NULL: riscv64's length check) */
	void (*own)(const char *where, enum skeys_call_form form, uint64_t slot, uint64_t target,
		    const uint8_t *b);
};

/*
 * loongarch64: a word is one instruction; each form must be `nop`
 * (andi $zero, $zero, 0) or `b offs26` (opcode 010100, offs[15:0] in bits
 * 25..10, offs[25:16] in bits 9..0, in words), decoded here apart from
 * common/'s encoder.
 */
static void loongarch64_form(const char *where, enum skeys_call_form form, uint64_t slot,
			     uint64_t target, const uint8_t *b)
{
	uint32_t w = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		     (uint32_t)b[3] << 24;
	uint32_t offs = ((w >> 10) & 0xffffu) | (w & 0x3ffu) << 16;
	uint64_t to = slot + (uint64_t)((int64_t)((int32_t)(offs << 6) >> 6) * 4);

	if (w == 0x03400000u) {
		if (form != SKEYS_CALL_FORM_FAR) {
			fprintf(stderr, "%s: nop where a jump was expected\n", where);
			failures++;
		}
		return;
	}
	if ((w & 0xfc000000u) != 0x50000000u || form == SKEYS_CALL_FORM_FAR) {
		fprintf(stderr, "%s: %08x is not the expected b or nop\n", where, w);
		failures++;
	} else if (to > slot && to < slot + 4) {
		fprintf(stderr, "%s: b lands inside the slot\n", where);
		failures++;
	} else if (to != (form == SKEYS_CALL_FORM_NEAR ? target : slot + 16)) {
		fprintf(stderr, "%s: b to 0x%" PRIx64 "\n", where, to);
		failures++;
	}
}

static const struct row rows[] = {
	{ "x86-64", skeys_call_slot_x86_64, &skeys_call_slot_len_x86_64, CS_ARCH_X86, CS_MODE_64, NULL },
	/* i686 PE shares call_x86_64.c: the same bytes but the displacement of `ff 25` */
	{ "i686 (PE)", skeys_call_slot_x86_64, &skeys_call_slot_len_x86_64, CS_ARCH_X86, CS_MODE_32, NULL },
	{ "i686 (ELF)", skeys_call_slot_x86, &skeys_call_slot_len_x86, CS_ARCH_X86, CS_MODE_32, NULL },
	{ "aarch64", skeys_call_slot_aarch64, &skeys_call_slot_len_aarch64, CS_ARCH_ARM64,
	  CS_MODE_LITTLE_ENDIAN, NULL },
	{ "arm", skeys_call_slot_arm, &skeys_call_slot_len_arm, CS_ARCH_ARM, CS_MODE_ARM, NULL },
	{ "ppc64le", skeys_call_slot_ppc64le, &skeys_call_slot_len_ppc64le, CS_ARCH_PPC,
	  CS_MODE_64 | CS_MODE_LITTLE_ENDIAN, NULL },
	/* brcl: the mask changes (never the displacement); no near form */
	{ "s390x", skeys_call_slot_s390x, &skeys_call_slot_len_s390x, CS_ARCH_SYSZ,
	  CS_MODE_BIG_ENDIAN, NULL },
	{ "riscv64", skeys_call_slot_riscv64, &skeys_call_slot_len_riscv64, CS_ARCH_ALL, 0, NULL },
	{ "loongarch64", skeys_call_slot_loongarch64, &skeys_call_slot_len_loongarch64, CS_ARCH_ALL,
	  0, loongarch64_form },
};

static const char *const form_names[] = {
	[SKEYS_CALL_FORM_NEAR] = "near", [SKEYS_CALL_FORM_FAR] = "far",
	[SKEYS_CALL_FORM_RET0] = "ret0",
};

/* A direct branch's destination, if `in` is one (its first operand an immediate). */
static bool branch_target(const struct row *r, csh h, const cs_insn *in, uint64_t *to)
{
	const cs_detail *d = in->detail;

	if (!cs_insn_group(h, in, CS_GRP_JUMP) && !cs_insn_group(h, in, CS_GRP_CALL))
		return false;
	switch (r->arch) {
	case CS_ARCH_X86:
		if (d->x86.op_count < 1 || d->x86.operands[0].type != X86_OP_IMM)
			return false;
		*to = (uint64_t)d->x86.operands[0].imm;
		break;
	case CS_ARCH_ARM64:
		if (d->arm64.op_count < 1 || d->arm64.operands[0].type != ARM64_OP_IMM)
			return false;
		*to = (uint64_t)d->arm64.operands[0].imm;
		break;
	case CS_ARCH_ARM:
		if (d->arm.op_count < 1 || d->arm.operands[0].type != ARM_OP_IMM)
			return false;
		*to = (uint32_t)d->arm.operands[0].imm;
		break;
	case CS_ARCH_PPC:
		if (d->ppc.op_count < 1 || d->ppc.operands[0].type != PPC_OP_IMM)
			return false;
		*to = (uint64_t)d->ppc.operands[0].imm;
		break;
	case CS_ARCH_SYSZ: /* brcl M, target: the target last */
		if (d->sysz.op_count < 1 ||
		    d->sysz.operands[d->sysz.op_count - 1].type != SYSZ_OP_IMM)
			return false;
		*to = (uint64_t)d->sysz.operands[d->sysz.op_count - 1].imm;
		break;
	default:
		return false;
	}
	return true;
}

/* The x86 jump that ends execution of the slot: unconditional, direct. */
static bool x86_unconditional(const struct row *r, const cs_insn *in)
{
	return r->arch == CS_ARCH_X86 && in->id == X86_INS_JMP &&
	       in->detail->x86.operands[0].type == X86_OP_IMM;
}

static void check_form(const struct row *r, csh h, enum skeys_call_form form, uint64_t slot,
		       uint64_t target, const uint8_t *b)
{
	size_t len = *r->len;
	cs_insn *in = NULL;
	uint64_t to;
	char where[128];

	snprintf(where, sizeof(where), "%s %s form at 0x%" PRIx64 " (target 0x%" PRIx64 ")",
		 r->name, form_names[form], slot, target);
	if (r->own) {
		if (len != 4) {
			fprintf(stderr, "%s: a slot of %zu bytes, not one word\n", where, len);
			failures++;
		}
		r->own(where, form, slot, target, b);
		return;
	}
	if (r->arch == CS_ARCH_ALL) {
		/* riscv64: a 32-bit instruction has its two low bits set; else it is a compressed pair */
		uint32_t w;

		memcpy(&w, b, 4);
		if (len != 4 || (w & 3u) != 3u) {
			fprintf(stderr, "%s: %08x is not one 32-bit instruction\n", where, w);
			failures++;
		}
		return;
	}
	if (cs_disasm(h, b, len, slot, 1, &in) != 1) {
		fprintf(stderr, "%s: does not decode\n", where);
		failures++;
		return;
	}
	if (in->size < len && !x86_unconditional(r, in)) {
		fprintf(stderr, "%s: %s %s is %u of the slot's %zu bytes and execution goes on "
			"inside the slot\n", where, in->mnemonic, in->op_str, in->size, len);
		failures++;
	}
	if (branch_target(r, h, in, &to)) {
		if (to > slot && to < slot + len) {
			fprintf(stderr, "%s: %s %s lands inside the slot\n", where, in->mnemonic,
				in->op_str);
			failures++;
		}
		if (form == SKEYS_CALL_FORM_NEAR && to != target) {
			fprintf(stderr, "%s: jumps to 0x%" PRIx64 "\n", where, to);
			failures++;
		}
	} else if (form == SKEYS_CALL_FORM_NEAR || form == SKEYS_CALL_FORM_RET0) {
		fprintf(stderr, "%s: %s %s is not a direct jump\n", where, in->mnemonic, in->op_str);
		failures++;
	}
	cs_free(in, 1);
}

int main(void)
{
	static struct skeys_call call; /* the far form's `lit` lives in it (x86) */
	const uint64_t slot = 0x10000000;
	const uint64_t targets[] = { slot + 0x1000, slot - 0x800, slot + 0x40, slot + 0x7ff000,
				     slot - 0x7fff000 };
	unsigned near_ok = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		csh h = 0;

		if (r->arch != CS_ARCH_ALL) {
			if (cs_open(r->arch, (cs_mode)r->mode, &h) != CS_ERR_OK) {
				fprintf(stderr, "%s: capstone cannot open this decoder\n", r->name);
				failures++;
				continue;
			}
			cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
		}
		for (int f = SKEYS_CALL_FORM_NEAR; f <= SKEYS_CALL_FORM_RET0; f++) {
			for (size_t t = 0; t < sizeof(targets) / sizeof(targets[0]); t++) {
				uint8_t b[16];

				memset(b, 0, sizeof(b));
				/* a near form out of reach is refused: the runtime then writes far */
				if (r->fn((enum skeys_call_form)f, (uintptr_t)slot,
					  (uintptr_t)targets[t], &call, b))
					continue;
				near_ok += f == SKEYS_CALL_FORM_NEAR;
				check_form(r, h, (enum skeys_call_form)f, slot, targets[t], b);
			}
		}
		if (h)
			cs_close(&h);
	}
	/* each architecture with a near form wrote it for the near targets (not s390x, ppc64le) */
	CHECK(near_ok >= 7 * 3);
	return failures != 0;
}
