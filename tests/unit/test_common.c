/* SPDX-License-Identifier: MIT */
/* The table encoding and the x86-64 row, shared by the runtime and the tools. */
#include "arch.h"
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                 \
			failures++;                                            \
		}                                                              \
	} while (0)

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
	size_t i;

	set(e, 0, base, 0x401300, 0x401400, 0x700010, 1);
	set(e, 1, base, 0x401100, 0x401200, 0x700020, 0);
	set(e, 2, base, 0x401000, 0x401010, 0x700010, 0);
	set(e, 3, base, 0x401500, 0x401600, 0x700000, 1);
	set(e, 4, base, 0x401050, 0x401060, 0x700020, 1);
	CHECK(!skeys_table_is_sorted(e, 5, base));
	CHECK(skeys_table_sort(e, 5, base) == 0);
	CHECK(skeys_table_is_sorted(e, 5, base));

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
}

static void test_x86_64(void)
{
	const struct skeys_arch *a = skeys_arch_by_elf(62, 2);
	uint8_t out[SKEYS_SITE_MAX];
	uint64_t t = 0;

	CHECK(a && a == skeys_arch_by_id(SKEYS_ARCH_X86_64));
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

int main(void)
{
	test_sort();
	test_range();
	test_checksum();
	test_x86_64();
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
