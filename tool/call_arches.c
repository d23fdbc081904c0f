/* SPDX-License-Identifier: MIT */
/* Static-call trampolines as compiled, per architecture: see call_arches.h. */
#include "call_arches.h"

#include "arch.h"

#include <skeys/abi.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/*
 * ---- x86: 6-byte slot, jmp *lit at offset 6, return-0 stub at offset 12 --
 *
 * x86-64's jmp *lit is ff 25 rel32, %rip-relative; i386's (PE) is
 * ff 25 abs32, the absolute address of `lit`. The ret0 slot is eb 0a, a
 * jump to the stub.
 */

/* `p`, at `at`, is jmp *lit through the call object at `call` (its first field). */
static bool x86_jmp_lit(const struct skeys_image *img, const uint8_t *p, uint64_t at,
			uint64_t call)
{
	uint32_t v = skeys_image_get32(img, p + 2);

	if (p[0] != 0xff || p[1] != 0x25)
		return false;
	if (img->arch->id == SKEYS_ARCH_I386)
		return v == call;
	return at + 6 + (uint64_t)(int64_t)(int32_t)v == call;
}

static bool x86_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
		       uint64_t call, unsigned kind, char *err, size_t errlen)
{
	static const uint8_t ret0[6] = { 0xeb, 0x0a, 0xcc, 0xcc, 0xcc, 0xcc };
	static const uint8_t stub_x86_64[4] = { 0x31, 0xc0, 0xc3, 0xcc }; /* xor %eax,%eax; ret */
	static const uint8_t stub_i386[4] = { 0x31, 0xc0, 0x99, 0xc3 };   /* and cltd */
	const uint8_t *stub = img->arch->id == SKEYS_ARCH_I386 ? stub_i386 : stub_x86_64;
	const char *how = img->arch->id == SKEYS_ARCH_I386 ? "" : "(%rip)";

	if (!x86_jmp_lit(img, t + 6, slot + 6, call)) {
		snprintf(err, errlen, "expected jmp *0x%" PRIx64 "%s at offset 6", call, how);
		return false;
	}
	if (memcmp(t + 12, stub, 4)) {
		snprintf(err, errlen, "expected the return-0 stub (%02x %02x %02x %02x) at offset "
			 "12, found %02x %02x %02x %02x", stub[0], stub[1], stub[2], stub[3],
			 t[12], t[13], t[14], t[15]);
		return false;
	}
	if (kind) {
		if (!memcmp(t, ret0, sizeof(ret0)))
			return true;
		snprintf(err, errlen, "expected the return-0 form "
			 "(eb 0a cc cc cc cc), found %02x %02x %02x %02x %02x %02x",
			 t[0], t[1], t[2], t[3], t[4], t[5]);
		return false;
	}
	if (x86_jmp_lit(img, t, slot, call))
		return true;
	snprintf(err, errlen, "expected jmp *0x%" PRIx64 "%s through the call object, "
		 "found %02x %02x %02x %02x %02x %02x",
		 call, how, t[0], t[1], t[2], t[3], t[4], t[5]);
	return false;
}

/*
 * ---- one-word slots (aarch64, riscv64, loongarch64, arm) -----------------
 * slot, a three-word tail through the call object's lit, a two-word
 * return-0 stub at slot + 16: what differs is in the architecture's form.
 */
struct word_tramp {
	/* The words from the slot (w[0]) on: the tail through `call`, from w[1]? */
	bool (*tail_ok)(uint64_t slot, const uint32_t *w, uint64_t call);
	const char *tail_name;
	unsigned stub_at; /* the return-0 stub's first word (aarch64, riscv64: 4) */
	uint32_t stub[2];
	const char *stub_name;
	uint32_t far, b_ret0; /* the slot as compiled: with a target, without */
	const char *far_name, *b_ret0_name;
	unsigned words; /* from the slot on: the row's span / 4, at most 8 */
};

static bool word_verify(const struct word_tramp *f, const struct skeys_image *img,
			uint64_t slot, const uint8_t *t, uint64_t call, unsigned kind, char *err,
			size_t errlen)
{
	uint32_t w[8];

	for (size_t i = 0; i < 8; i++)
		w[i] = i < f->words ? skeys_image_get32(img, t + 4 * i) : 0;
	if (!f->tail_ok(slot, w, call)) {
		snprintf(err, errlen, "expected %s through the call object 0x%" PRIx64
			 " after the slot, found %08x %08x %08x", f->tail_name, call, w[1], w[2], w[3]);
		return false;
	}
	if (w[f->stub_at] != f->stub[0] || w[f->stub_at + 1] != f->stub[1]) {
		snprintf(err, errlen, "expected %s at slot + %u, found %08x %08x", f->stub_name,
			 4 * f->stub_at, w[f->stub_at], w[f->stub_at + 1]);
		return false;
	}
	if (w[0] == (kind ? f->b_ret0 : f->far))
		return true;
	snprintf(err, errlen, "expected in the slot %s (%08x), found %08x",
		 kind ? f->b_ret0_name : f->far_name, kind ? f->b_ret0 : f->far, w[0]);
	return false;
}

/* ---- aarch64: bti c?, slot, adrp/ldr/br x16 through lit, mov x0 #0; ret ---- */

#define A64_BTI_C 0xd503245fu
#define A64_ALIGN 32u

static bool aarch64_tail(uint64_t slot, const uint32_t *w, uint64_t call)
{
	/* adrp x16, call: the page of the call object; ldr x16, [x16, lo12]; br x16 */
	int64_t imm = (int64_t)(((w[1] >> 5) & 0x7ffffu) << 2 | ((w[1] >> 29) & 3u));
	uint64_t page;

	if (imm & (1 << 20))
		imm -= 1 << 21;
	page = ((slot + 4) & ~(uint64_t)0xfff) + (uint64_t)(imm * 4096);
	return (w[1] & 0x9f00001fu) == 0x90000010u && page == (call & ~(uint64_t)0xfff) &&
	       w[2] == (0xf9400210u | (uint32_t)((call & 0xfff) / 8) << 10) &&
	       w[3] == 0xd61f0200u;
}

static const struct word_tramp aarch64_tramp = {
	.tail_ok = aarch64_tail,
	.tail_name = "adrp x16, ldr x16, br x16",
	.stub_at = 4,
	.words = 6,
	.stub = { 0xd2800000u, 0xd65f03c0u },
	.stub_name = "mov x0, #0; ret",
	.far = 0xd503201fu,
	.far_name = "nop (far, through the call object)",
	.b_ret0 = 0x14000004u,
	.b_ret0_name = "b to the return-0 stub",
};

static uint64_t aarch64_start(const struct skeys_image *img, uint64_t slot)
{
	(void)img;
	return slot % A64_ALIGN == 4 ? slot - 4 : slot;
}

static bool aarch64_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
			   uint64_t call, unsigned kind, char *err, size_t errlen)
{
	if (slot % A64_ALIGN == 4) {
		int64_t off = skeys_image_offset(img, slot - 4, 4);

		if (off < 0 || skeys_image_get32(img, img->buf + off) != A64_BTI_C) {
			snprintf(err, errlen, "expected bti c before the slot at offset 4");
			return false;
		}
	} else if (slot % A64_ALIGN) {
		snprintf(err, errlen, "slot at 0x%" PRIx64 " is not where a trampoline's is "
			 "(offset 0 or 4 of 32 bytes)", slot);
		return false;
	}
	return word_verify(&aarch64_tramp, img, slot, t, call, kind, err, errlen);
}

/* ---- riscv64: slot, auipc/ld/jr t1 through lit, li a0, 0; ret ---------- */

static bool riscv64_tail(uint64_t slot, const uint32_t *w, uint64_t call)
{
	/* auipc t1, hi; ld t1, lo(t1): slot + 4 + hi + lo is the call object; jr t1 */
	uint64_t at = slot + 4 + (uint64_t)(int64_t)(int32_t)(w[1] & 0xfffff000u) +
		      (uint64_t)(int64_t)((int32_t)w[2] >> 20);

	return (w[1] & 0xfffu) == 0x317u && (w[2] & 0xfffffu) == 0x33303u && at == call &&
	       w[3] == 0x00030067u;
}

static const struct word_tramp riscv64_tramp = {
	.tail_ok = riscv64_tail,
	.tail_name = "auipc t1, ld t1, jr t1",
	.stub_at = 4,
	.words = 6,
	.stub = { 0x00000513u, 0x00008067u },
	.stub_name = "li a0, 0; ret",
	.far = 0x00000013u,
	.far_name = "nop (far, through the call object)",
	.b_ret0 = 0x0100006fu, /* jal x0, slot + 16 */
	.b_ret0_name = "j to the return-0 stub",
};

static bool riscv64_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
			   uint64_t call, unsigned kind, char *err, size_t errlen)
{
	return word_verify(&riscv64_tramp, img, slot, t, call, kind, err, errlen);
}

/* ---- loongarch64: slot, pcalau12i/ld.d/jr $t8 through lit, move $a0, $zero; ret ---- */

static bool loongarch64_tail(uint64_t slot, const uint32_t *w, uint64_t call)
{
	/*
	 * pcalau12i $t8, hi20: the 4 KiB page of slot + 4 plus hi20 pages;
	 * ld.d $t8, $t8, lo12 adds lo12, sign-extended: the call object; jr $t8
	 */
	int64_t hi = (int64_t)(int32_t)(((w[1] >> 5) & 0xfffffu) << 12);
	int64_t lo = (int64_t)((int32_t)(w[2] << 10) >> 20);
	uint64_t at = ((slot + 4) & ~(uint64_t)0xfff) + (uint64_t)hi + (uint64_t)lo;

	return (w[1] & 0xfe00001fu) == 0x1a000014u && (w[2] & 0xffc003ffu) == 0x28c00294u &&
	       at == call && w[3] == 0x4c000280u;
}

static const struct word_tramp loongarch64_tramp = {
	.tail_ok = loongarch64_tail,
	.tail_name = "pcalau12i $t8, ld.d $t8, jr $t8",
	.stub_at = 4,
	.words = 6,
	.stub = { 0x00150004u, 0x4c000020u },
	.stub_name = "move $a0, $zero; ret",
	.far = 0x03400000u,
	.far_name = "nop (far, through the call object)",
	.b_ret0 = 0x50001000u, /* b slot + 16 */
	.b_ret0_name = "b to the return-0 stub",
};

static bool loongarch64_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
			       uint64_t call, unsigned kind, char *err, size_t errlen)
{
	return word_verify(&loongarch64_tramp, img, slot, t, call, kind, err, errlen);
}

/* ---- arm (A32): slot, ldr/add/ldr/bx ip through lit, mov r0, #0; bx lr, literal ---- */

static bool arm_tail(uint64_t slot, const uint32_t *w, uint64_t call)
{
	/* ldr ip, [pc, #16] (the literal at slot + 28); add ip, pc, ip (pc = slot + 16); */
	/* ldr ip, [ip]; bx ip */
	return w[1] == 0xe59fc010u && w[2] == 0xe08fc00cu && w[3] == 0xe59cc000u &&
	       w[4] == 0xe12fff1cu && (uint32_t)(slot + 16 + w[7]) == (uint32_t)call;
}

static const struct word_tramp arm_tramp = {
	.tail_ok = arm_tail,
	.tail_name = "ldr ip, add ip, pc, ldr ip, bx ip",
	.stub_at = 5,
	.stub = { 0xe3a00000u, 0xe12fff1eu },
	.stub_name = "mov r0, #0; bx lr",
	.far = 0xe320f000u,
	.far_name = "nop (far, through the call object)",
	.b_ret0 = 0xea000003u, /* b slot + 20 */
	.b_ret0_name = "b to the return-0 stub",
	.words = 8,
};

static bool arm_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
		       uint64_t call, unsigned kind, char *err, size_t errlen)
{
	return word_verify(&arm_tramp, img, slot, t, call, kind, err, errlen);
}

/* ---- i686: 6-byte slot, a register-keeping jump through lit, ret0 at 26 -- */

static bool i686_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
			uint64_t call, unsigned kind, char *err, size_t errlen)
{
	static const uint8_t far[6] = { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 };  /* nopw */
	static const uint8_t ret0[6] = { 0xeb, 0x18, 0xcc, 0xcc, 0xcc, 0xcc }; /* jmp ret0 */
	static const uint8_t stub[4] = { 0x31, 0xc0, 0x99, 0xc3 }; /* xor %eax,%eax; cltd; ret */
	/* push %eax; call 1f; 1: pop %eax; push disp(%eax); mov 4(%esp),%eax; ret $4 */
	static const uint8_t head[9] = { 0x50, 0xe8, 0, 0, 0, 0, 0x58, 0xff, 0xb0 };
	static const uint8_t end[7] = { 0x8b, 0x44, 0x24, 0x04, 0xc2, 0x04, 0x00 };
	const uint8_t *want = kind ? ret0 : far;

	if (memcmp(t + 6, head, sizeof(head)) || memcmp(t + 19, end, sizeof(end)) ||
	    (uint32_t)(slot + 12 + skeys_image_get32(img, t + 15)) != (uint32_t)call) {
		snprintf(err, errlen, "expected at offset 6 the jump through the call object "
			 "0x%" PRIx64 " (push %%eax; call; pop %%eax; push lit(%%eax); ...; ret $4)",
			 call);
		return false;
	}
	if (memcmp(t + 26, stub, sizeof(stub))) {
		snprintf(err, errlen, "expected the return-0 stub (31 c0 99 c3) at offset 26, "
			 "found %02x %02x %02x %02x", t[26], t[27], t[28], t[29]);
		return false;
	}
	if (!memcmp(t, want, 6))
		return true;
	snprintf(err, errlen, "expected the %s form (%02x %02x %02x %02x %02x %02x), "
		 "found %02x %02x %02x %02x %02x %02x", kind ? "return-0" : "far",
		 want[0], want[1], want[2], want[3], want[4], want[5],
		 t[0], t[1], t[2], t[3], t[4], t[5]);
	return false;
}

/* ---- s390x: brcl mask to ret0, larl/lg/br %r1 through lit, lghi/br ------ */

static bool s390x_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
			 uint64_t call, unsigned kind, char *err, size_t errlen)
{
	/* lg %r1, 0(%r1); br %r1 | lghi %r2, 0; br %r14 */
	static const uint8_t mid[8] = { 0xe3, 0x10, 0x10, 0x00, 0x00, 0x04, 0x07, 0xf1 };
	static const uint8_t stub[6] = { 0xa7, 0x29, 0x00, 0x00, 0x07, 0xfe };
	/* brcl 0|15 to ret0, 20 bytes on: 10 halfwords */
	const uint8_t want[6] = { 0xc0, kind ? 0xf4 : 0x04, 0, 0, 0, 10 };
	uint64_t lit_at = slot + 6 + 2 * (uint64_t)(int64_t)(int32_t)skeys_image_get32(img, t + 8);

	if (t[6] != 0xc0 || t[7] != 0x10 || lit_at != call || memcmp(t + 12, mid, sizeof(mid))) {
		snprintf(err, errlen, "expected after the slot the jump through the call object "
			 "0x%" PRIx64 " (larl %%r1; lg %%r1, 0(%%r1); br %%r1)", call);
		return false;
	}
	if (memcmp(t + 20, stub, sizeof(stub))) {
		snprintf(err, errlen, "expected the return-0 stub (lghi %%r2, 0; br %%r14) at "
			 "slot + 20");
		return false;
	}
	if (!memcmp(t, want, sizeof(want)))
		return true;
	snprintf(err, errlen, "expected the %s form (%02x %02x %02x %02x %02x %02x), "
		 "found %02x %02x %02x %02x %02x %02x",
		 kind ? "return-0 (brcl 15, ret0)" : "far (brcl 0, ret0)",
		 want[0], want[1], want[2], want[3], want[4], want[5],
		 t[0], t[1], t[2], t[3], t[4], t[5]);
	return false;
}

/* ---- ppc64le: slot, r12 = lit through a pc-relative address, ret0 at 40 -- */

static bool ppc64le_verify(const struct skeys_image *img, uint64_t slot, const uint8_t *t,
			   uint64_t call, unsigned kind, char *err, size_t errlen)
{
	/* mflr 0; bcl 20,31,1f; 1: mflr 12; mtlr 0 | ld 12,0(12); mtctr 12; bctr; li 3,0; blr */
	static const uint32_t head[4] = { 0x7c0802a6u, 0x429f0005u, 0x7d8802a6u, 0x7c0803a6u };
	static const uint32_t end[5] = { 0xe98c0000u, 0x7d8903a6u, 0x4e800420u, 0x38600000u,
					 0x4e800020u };
	const uint32_t want = kind ? 0x48000028u /* b slot + 40 */ : 0x60000000u /* nop */;
	uint32_t w[12];
	uint64_t at;

	for (size_t i = 0; i < 12; i++)
		w[i] = skeys_image_get32(img, t + 4 * i);
	/* addis 12,12,ha; addi 12,12,lo: 1b (slot + 12) + (ha << 16) + lo is the call object */
	at = slot + 12 + (uint64_t)((int64_t)(int16_t)(w[5] & 0xffffu) * 65536) +
	     (uint64_t)(int64_t)(int16_t)(w[6] & 0xffffu);
	if (memcmp(w + 1, head, sizeof(head)) || memcmp(w + 7, end, sizeof(end)) ||
	    (w[5] & 0xffff0000u) != 0x3d8c0000u || (w[6] & 0xffff0000u) != 0x398c0000u ||
	    at != call) {
		snprintf(err, errlen, "expected after the slot the jump through the call object "
			 "0x%" PRIx64 " (mflr; bcl; mflr 12; mtlr; addis; addi; ld 12; mtctr; bctr; "
			 "li 3, 0; blr)", call);
		return false;
	}
	if (w[0] == want)
		return true;
	snprintf(err, errlen, "expected in the slot %s (%08x), found %08x",
		 kind ? "b to the return-0 stub" : "nop (far, through the call object)", want,
		 w[0]);
	return false;
}

/* ---- the table ------------------------------------------------------------ */

static const struct skeys_call_arch rows[] = {
	{
		.id = SKEYS_ARCH_X86_64,
		.slot_len = 6,
		.span = 16, /* the whole trampoline */
		.verify = x86_verify,
		.r_relative = 8, /* R_X86_64_RELATIVE */
		.r_abs = 1,      /* R_X86_64_64 */
		.r_glob_dat = 6, /* R_X86_64_GLOB_DAT */
	},
	{
		/* PE (<skeys/arch/i386.h>), before ELF's row below: `lit` holds its target in the file. */
		.id = SKEYS_ARCH_I386,
		.slot_len = 6,
		.span = 16,
		.verify = x86_verify,
		.format = "pe",
	},
	{
		.id = SKEYS_ARCH_I386,
		.slot_len = 6,
		.span = 30, /* slot, tail, ret0 */
		.verify = i686_verify,
		.format = "elf",
		.r_relative = 8, /* R_386_RELATIVE */
		.r_abs = 1,      /* R_386_32 */
		.r_glob_dat = 6, /* R_386_GLOB_DAT */
	},
	{
		.id = SKEYS_ARCH_AARCH64,
		.slot_len = 4,
		.span = 24, /* slot, tail, ret0 */
		.verify = aarch64_verify,
		.start = aarch64_start,
		.r_relative = 1027, /* R_AARCH64_RELATIVE */
		.r_abs = 257,       /* R_AARCH64_ABS64 */
		.r_glob_dat = 1025, /* R_AARCH64_GLOB_DAT */
	},
	{
		.id = SKEYS_ARCH_RISCV64,
		.slot_len = 4,
		.span = 24, /* slot, tail, ret0 */
		.verify = riscv64_verify,
		.r_relative = 3, /* R_RISCV_RELATIVE */
		.r_abs = 2,      /* R_RISCV_64 */
		.r_glob_dat = 2, /* (no GLOB_DAT: R_RISCV_64 fills the GOT) */
	},
	{
		.id = SKEYS_ARCH_ARM,
		.slot_len = 4,
		.span = 32, /* slot, tail, ret0, the literal */
		.verify = arm_verify,
		.mode_bit = 1,    /* Thumb */
		.r_relative = 23, /* R_ARM_RELATIVE */
		.r_abs = 2,       /* R_ARM_ABS32 */
		.r_glob_dat = 21, /* R_ARM_GLOB_DAT */
	},
	{
		.id = SKEYS_ARCH_PPC64LE,
		.slot_len = 4,
		.span = 48, /* slot, tail, ret0 */
		.verify = ppc64le_verify,
		.r_relative = 22, /* R_PPC64_RELATIVE */
		.r_abs = 38,      /* R_PPC64_ADDR64 */
		.r_glob_dat = 20, /* R_PPC64_GLOB_DAT */
	},
	{
		.id = SKEYS_ARCH_LOONGARCH64,
		.slot_len = 4,
		.span = 24, /* slot, tail, ret0 */
		.verify = loongarch64_verify,
		.r_relative = 3, /* R_LARCH_RELATIVE */
		.r_abs = 2,      /* R_LARCH_64 */
		.r_glob_dat = 2, /* (no GLOB_DAT: R_LARCH_64 fills the GOT) */
	},
	{
		.id = SKEYS_ARCH_S390X,
		.slot_len = 6,
		.span = 26, /* slot, tail, ret0 */
		.verify = s390x_verify,
		.r_relative = 12, /* R_390_RELATIVE */
		.r_abs = 22,      /* R_390_64 */
		.r_glob_dat = 10, /* R_390_GLOB_DAT */
	},
};

const struct skeys_call_arch *skeys_call_arch(unsigned id, const char *format)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].id == id && (!rows[i].format || !strcmp(rows[i].format, format)))
			return &rows[i];
	return NULL;
}
