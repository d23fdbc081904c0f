/* SPDX-License-Identifier: MIT */
/* The table encoding and the x86-64 row, shared by the runtime and the tools. */
#include "arch.h"
#include "table.h"

#include <skeys/arches.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../testing.h"

static void set(struct skeys_entry *e, size_t i, uint64_t base, uint64_t code,
		uint64_t target, uint64_t key, unsigned flags)
{
	struct skeys_site s = { code, target, key, flags };

	CHECK(skeys_entry_set(&e[i], base + i * sizeof(*e), &s) == 0);
}

static void test_sort(void)
{
	const uint64_t base = 0x600000;
	struct skeys_entry e[5];
	struct skeys_site s;
	uint64_t sum;
	size_t i;

	set(e, 0, base, 0x401300, 0x401400, 0x700010, 1);
	set(e, 1, base, 0x401100, 0x401200, 0x700020, 0);
	set(e, 2, base, 0x401000, 0x401010, 0x700010, 0);
	set(e, 3, base, 0x401500, 0x401600, 0x700000, 1);
	set(e, 4, base, 0x401050, 0x401060, 0x700020, 1);
	CHECK(!skeys_table_is_sorted(e, 5, base));
	/* The runtime's one pass: the same checksum, the same order check. */
	CHECK(skeys_table_checksum_sorted(e, 5, base, &sum) == 0);
	CHECK(sum == skeys_table_checksum(e, sizeof(e)));
	CHECK(skeys_table_sort(e, 5, base) == 0);
	CHECK(skeys_table_is_sorted(e, 5, base));
	CHECK(skeys_table_checksum_sorted(e, 5, base, &sum) == 1);
	CHECK(sum == skeys_table_checksum(e, sizeof(e)));
	for (i = 0; i <= 5; i++) /* every prefix is in order, the empty one too */
		CHECK(skeys_table_checksum_sorted(e, i, base, &sum) == 1 &&
		      sum == skeys_table_checksum(e, i * sizeof(*e)));

	/* Moved entries keep pointing at the same absolute addresses. */
	s = skeys_entry_site(&e[0], base);
	CHECK(s.key == 0x700000 && s.code == 0x401500 && s.target == 0x401600 && s.flags == 1);
	s = skeys_entry_site(&e[1], base + 12);
	CHECK(s.key == 0x700010 && s.code == 0x401000 && s.flags == 0);
	s = skeys_entry_site(&e[2], base + 24);
	CHECK(s.key == 0x700010 && s.code == 0x401300 && s.flags == 1);
	s = skeys_entry_site(&e[4], base + 48);
	CHECK(s.key == 0x700020 && s.code == 0x401100 && s.target == 0x401200);

	CHECK(skeys_table_lower_bound(e, 5, base, 0x700000) == 0);
	CHECK(skeys_table_lower_bound(e, 5, base, 0x700010) == 1);
	CHECK(skeys_table_lower_bound(e, 5, base, 0x700020) == 3);
	CHECK(skeys_table_lower_bound(e, 5, base, 0x700021) == 5);
	for (i = 0; i < 5; i++)
		CHECK(skeys_entry_key(&e[i], base + i * 12) % 8 == 0);
}

static void test_range(void)
{
	struct skeys_entry e, before;
	struct skeys_site far = { 0x100000000ull + 0x1000, 0x1000, 0x2000, 0 };

	memset(&e, 0x5a, sizeof(e));
	before = e;
	CHECK(skeys_entry_set(&e, 0x1000, &far) == -1);
	CHECK(memcmp(&e, &before, sizeof(e)) == 0); /* untouched on failure */
}

static void test_checksum(void)
{
	const char a[] = "abc", b[] = "abd";

	/* FNV-1a 64 test vector for "a". */
	CHECK(skeys_table_checksum("a", 1) == 0xaf63dc4c8601ec8cull);
	CHECK(skeys_table_checksum(a, 3) != skeys_table_checksum(b, 3));
	CHECK(skeys_table_checksum(NULL, 0) == 0xcbf29ce484222325ull);
	/* In pieces, at every split (tools checksum a table as they write it). */
	for (size_t i = 0; i <= 3; i++)
		CHECK(skeys_table_checksum_more(skeys_table_checksum(a, i), a + i, 3 - i) ==
		      skeys_table_checksum(a, 3));
}

static void test_x86_64(void)
{
	const struct skeys_arch *a = skeys_arch_by_elf(62, 2);
	uint8_t out[SKEYS_SITE_MAX];
	uint64_t t = 0;

	CHECK(a && a == skeys_arch_by_id(1)); /* x86-64 is 1 in every sealed table */
	if (!a)
		return;
	CHECK(a->site_len == 5);
	CHECK(skeys_arch_encode(a, false, 0x401000, 0, out) == 0);
	CHECK(memcmp(out, "\x0f\x1f\x44\x00\x00", 5) == 0);
	CHECK(skeys_arch_encode(a, true, 0x401000, 0x401010, out) == 0);
	CHECK(memcmp(out, "\xe9\x0b\x00\x00\x00", 5) == 0);
	CHECK(a->decode_jump(0x401000, out, &t) && t == 0x401010);
	CHECK(skeys_arch_encode(a, true, 0x401000, 0x400000, out) == 0);
	CHECK(a->decode_jump(0x401000, out, &t) && t == 0x400000);
	CHECK(!a->decode_jump(0x401000, a->nop, &t));
	/* Out of rel32 range: refused, not truncated. */
	CHECK(skeys_arch_encode(a, true, 0x401000, 0x401000 + 0x90000000ull, out) == -1);
	CHECK(skeys_arch_by_elf(62, 1) == NULL);
}

/*
 * Encodings against what the GNU (or LLVM, for loongarch64) assemblers emit
 * for the same jump at the same place: `as` and `objdump` of each
 * cross toolchain, words shown here in memory order.
 */
static const struct enc_case {
	const struct skeys_arch *arch;
	uint64_t site, target;
	const char *bytes; /* NULL: must be refused (range or alignment) */
} enc_cases[] = {
	{ &skeys_arch_i386, 0x1000, 0x1100, "\xe9\xfb\x00\x00\x00" },
	{ &skeys_arch_i386, 0x1000, 0xf00, "\xe9\xfb\xfe\xff\xff" },
	{ &skeys_arch_i386, 0x10, 0xfffffff0, "\xe9\xdb\xff\xff\xff" }, /* wraps */
	{ &skeys_arch_aarch64, 0x4, 0x104, "\x40\x00\x00\x14" },
	{ &skeys_arch_aarch64, 0x8, 0x8 - 0x100, "\xc0\xff\xff\x17" },
	{ &skeys_arch_aarch64, 0xc, 0xc + 0x7fffffc, "\xff\xff\xff\x15" },
	{ &skeys_arch_aarch64, 0x8000010, 0x10, "\x00\x00\x00\x16" },
	{ &skeys_arch_aarch64, 0x10, 0x10 + 0x8000000, NULL },
	{ &skeys_arch_aarch64, 0x10, 0x12, NULL },
	{ &skeys_arch_riscv64, 0x4, 0x104, "\x6f\x00\x00\x10" },
	{ &skeys_arch_riscv64, 0x108, 0x8, "\x6f\xf0\x1f\xf0" },
	{ &skeys_arch_riscv64, 0xc, 0xc + 0xffffe, "\x6f\xf0\xff\x7f" },
	{ &skeys_arch_riscv64, 0x100010, 0x10, "\x6f\x00\x00\x80" },
	{ &skeys_arch_riscv64, 0x14, 0x816, "\x6f\x00\x30\x00" },
	{ &skeys_arch_riscv64, 0x10, 0x10 + 0x100000, NULL },
	{ &skeys_arch_riscv64, 0x10, 0x13, NULL },
	{ &skeys_arch_arm, 0x4, 0x104, "\x3e\x00\x00\xea" },
	{ &skeys_arch_arm, 0x108, 0x8, "\xbe\xff\xff\xea" },
	{ &skeys_arch_arm, 0xc, 0x2000010, "\xff\xff\x7f\xea" },
	{ &skeys_arch_arm, 0x1fffff8, 0x0, "\x00\x00\x80\xea" },
	{ &skeys_arch_arm, 0xc, 0x2000014, NULL },
	{ &skeys_arch_arm_thumb, 0x4, 0x104, "\x00\xf0\x7e\xb8" },
	{ &skeys_arch_arm_thumb, 0x108, 0x8, "\xff\xf7\x7e\xbf" },
	{ &skeys_arch_arm_thumb, 0xc, 0x100000e, "\xff\xf3\xff\x97" },
	{ &skeys_arch_arm_thumb, 0x1000010, 0x14, "\x00\xf4\x00\x90" },
	{ &skeys_arch_arm_thumb, 0x14, 0x400016, "\xff\xf3\xff\xbf" },
	{ &skeys_arch_arm_thumb, 0x14, 0x1000018, NULL },
	{ &skeys_arch_arm_thumb, 0x14, 0x101, NULL },
	{ &skeys_arch_ppc64le, 0x4, 0x104, "\x00\x01\x00\x48" },
	{ &skeys_arch_ppc64le, 0x108, 0x8, "\x00\xff\xff\x4b" },
	{ &skeys_arch_ppc64le, 0xc, 0x2000008, "\xfc\xff\xff\x49" },
	{ &skeys_arch_ppc64le, 0x2000010, 0x10, "\x00\x00\x00\x4a" },
	{ &skeys_arch_ppc64le, 0xc, 0x200000c, NULL },
	{ &skeys_arch_s390x, 0x6, 0x106, "\xc0\xf4\x00\x00\x00\x80" },
	{ &skeys_arch_s390x, 0x10c, 0xc, "\xc0\xf4\xff\xff\xff\x80" },
	{ &skeys_arch_s390x, 0x12, 0x100000010ull, "\xc0\xf4\x7f\xff\xff\xff" },
	{ &skeys_arch_s390x, 0x12, 0x100000012ull, NULL },
	{ &skeys_arch_s390x, 0x12, 0x15, NULL },
	{ &skeys_arch_s390x, 0x12, 0x11, NULL },
	{ &skeys_arch_loongarch64, 0x4, 0x104, "\x00\x00\x01\x50" },
	{ &skeys_arch_loongarch64, 0x108, 0x8, "\xff\x03\xff\x53" },
	{ &skeys_arch_loongarch64, 0xc, 0xc + 0x7fffffc, "\xff\xfd\xff\x53" },
	{ &skeys_arch_loongarch64, 0x8000010, 0x10, "\x00\x02\x00\x50" },
	{ &skeys_arch_loongarch64, 0x10, 0x8000010, NULL },
};

static void test_encodings(void)
{
	static const struct {
		const struct skeys_arch *arch;
		const char *nop;
		unsigned machine, elf_class;
	} rows[] = {
		{ &skeys_arch_i386, "\x3e\x8d\x74\x26\x00", 3, 1 },
		{ &skeys_arch_aarch64, "\x1f\x20\x03\xd5", 183, 2 },
		{ &skeys_arch_riscv64, "\x13\x00\x00\x00", 243, 2 },
		{ &skeys_arch_arm, "\x00\xf0\x20\xe3", 40, 1 },
		{ &skeys_arch_ppc64le, "\x00\x00\x00\x60", 21, 2 },
		{ &skeys_arch_s390x, "\xc0\x04\x00\x00\x00\x00", 22, 2 },
		{ &skeys_arch_loongarch64, "\x00\x00\x40\x03", 258, 2 },
	};
	uint8_t out[SKEYS_SITE_MAX];
	uint64_t t;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct skeys_arch *a = rows[i].arch;

		CHECK(skeys_arch_by_elf(rows[i].machine, rows[i].elf_class) == a);
		CHECK(skeys_arch_by_id(a->id) == a);
		CHECK(memcmp(a->nop, rows[i].nop, a->site_len) == 0);
		CHECK(!a->decode_jump(0x1000, a->nop, &t));
		/* Only arm has a second instruction set. */
		CHECK((skeys_arch_entry_flags(a) == 3) == (a == &skeys_arch_arm));
	}
	CHECK(skeys_arch_for_site(&skeys_arch_arm, SKEYS_ENTRY_MODE) == &skeys_arch_arm_thumb);
	CHECK(skeys_arch_for_site(&skeys_arch_aarch64, SKEYS_ENTRY_MODE) == NULL);
	CHECK(memcmp(skeys_arch_arm_thumb.nop, "\xaf\xf3\x00\x80", 4) == 0);
	for (i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		const struct enc_case *c = &enc_cases[i];
		const struct skeys_arch *a = c->arch;
		int rc = skeys_arch_encode(a, true, c->site, c->target, out);

		if (!c->bytes) {
			if (rc != -1)
				fprintf(stderr, "%s: %#llx -> %#llx encoded, expected refusal\n",
					a->name, (unsigned long long)c->site,
					(unsigned long long)c->target);
			CHECK(rc == -1);
			continue;
		}
		CHECK(rc == 0);
		if (rc == 0 && memcmp(out, c->bytes, a->site_len)) {
			fprintf(stderr, "%s: %#llx -> %#llx: got", a->name,
				(unsigned long long)c->site, (unsigned long long)c->target);
			for (unsigned j = 0; j < a->site_len; j++)
				fprintf(stderr, " %02x", out[j]);
			fprintf(stderr, "\n");
			CHECK(0);
		}
		t = 0;
		CHECK(a->decode_jump(c->site, (const uint8_t *)c->bytes, &t) && t == c->target);
	}
	/* s390x: the nop is brcl 0 with the jump's offset (jgnop 0x106 at 0x6, from gas). */
	CHECK(skeys_arch_encode(&skeys_arch_s390x, false, 0x6, 0x106, out) == 0);
	CHECK(memcmp(out, "\xc0\x04\x00\x00\x00\x80", 6) == 0);
	CHECK(!skeys_arch_s390x.decode_jump(0x6, out, &t));
	CHECK(skeys_arch_encode(&skeys_arch_s390x, false, 0x6, 0x107, out) == -1);
	/* A misaligned site is refused for the nop too: it cannot be rewritten whole. */
	CHECK(skeys_arch_encode(&skeys_arch_aarch64, false, 0x1002, 0, out) == -1);
}

/*
 * The registry: every row once, a mode_alt row right after its own, ids
 * unique but for a mode_alt, and the native row is the one <skeys.h> picks.
 */
static void test_registry(void)
{
	const struct skeys_arch *a, *b;
	size_t i, j;

	for (i = 0; (a = skeys_arch_at(i)); i++) {
		CHECK(a->site_len > 0 && a->site_len <= SKEYS_SITE_MAX);
		/* A row without capstone describes its own jump. */
		CHECK(a->capstone || a->jump_name);
		for (j = 0; j < i; j++) {
			b = skeys_arch_at(j);
			CHECK(strcmp(a->name, b->name) != 0);
			CHECK(a->id != b->id || b->mode_alt == a);
		}
		if (a->mode_alt)
			CHECK(skeys_arch_at(i + 1) == a->mode_alt);
		else
			CHECK(skeys_arch_by_id(a->id) == a || (i > 0 && skeys_arch_at(i - 1)->mode_alt == a));
	}
	CHECK(i > 1);
#ifdef SKEYS__ARCH_ID
	CHECK(skeys_arch_native() && skeys_arch_native()->id == SKEYS__ARCH_ID);
#else
	CHECK(skeys_arch_native() == NULL);
#endif
}

int main(void)
{
	test_sort();
	test_range();
	test_checksum();
	test_x86_64();
	test_encodings();
	test_registry();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
