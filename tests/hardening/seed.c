/* SPDX-License-Identifier: MIT */
/*
 * The seed of the hostile-input corpus: a tiny, freestanding, sealed x86-64
 * ELF executable with every kind of site, two keys, data and bss. It is
 * committed as seed.elf (built once by `gen_corpus.py --rebuild-seed`) so
 * that the corpus is the same bytes whatever compiler a machine has.
 */
#include <skeys.h>

SKEYS_DEFINE_FALSE(seed_false);
SKEYS_DEFINE_TRUE(seed_true);

int seed_data[4] = { 1, 2, 3, 4 }; /* writable data that is not a key */
int seed_bss[4];                   /* zero-filled */

/* The runtime is not linked in: the module constructor calls these. */
void skeys_module_register(const struct skeys_header *h) { (void)h; }
void skeys_module_unregister(const struct skeys_header *h) { (void)h; }

#define NOINLINE __attribute__((noinline, used))
int f_unlikely_false(int x);
int f_likely_false(int x);
int f_unlikely_true(int x);
int f_likely_true(int x);
NOINLINE int f_unlikely_false(int x) { return skeys_branch_unlikely(&seed_false) ? x + 1 : x; }
NOINLINE int f_likely_false(int x) { return skeys_branch_likely(&seed_false) ? x + 2 : x; }
NOINLINE int f_unlikely_true(int x) { return skeys_branch_unlikely(&seed_true) ? x + 3 : x; }
NOINLINE int f_likely_true(int x) { return skeys_branch_likely(&seed_true) ? x + 4 : seed_bss[x & 3]; }

void _start(void);
void _start(void)
{
	int r = f_unlikely_false(seed_data[0]) + f_likely_false(1) + f_unlikely_true(2) +
		f_likely_true(3);

#if defined(__x86_64__)
	__asm__ volatile("mov %0, %%edi\n\tmov $60, %%eax\n\tsyscall" : : "r"(r) : "rax", "rdi");
#else
	/* The arm64 Mach-O seed is only read, never run. */
	__asm__ volatile("" : : "r"(r));
	for (;;)
		;
#endif
	__builtin_unreachable();
}
