/* SPDX-License-Identifier: MIT */
/*
 * The end-to-end program for targets without a C library (minirt.c): the
 * four likely/unlikely x TRUE/FALSE sites through enable, disable, inc and
 * dec; a site whose bytes changed refused with nothing written; an
 * unsealed table refused (--unsealed). Exit 0 when every check holds.
 */
#include <skeys.h>

#include "arch.h"
#include "table.h"

#define NOINLINE __attribute__((noinline))

/* This module's header, defined by <skeys.h>'s module template. */
extern const struct skeys_header skeys__module_header __attribute__((visibility("hidden")));

long fs_syscall3(long nr, long a, long b, long c);
void fs_puts(const char *s);
extern unsigned long fs_page_size;

SKEYS_DEFINE_FALSE(kf);
SKEYS_DEFINE_TRUE(kt);

/* Each returns 1 when it took the key's enabled path. */
NOINLINE int f_unlikely(void)
{
	if (skeys_branch_unlikely(&kf))
		return 1;
	return 0;
}

NOINLINE int f_likely(void)
{
	if (skeys_branch_likely(&kf))
		return 1;
	return 0;
}

NOINLINE int t_unlikely(void)
{
	if (skeys_branch_unlikely(&kt))
		return 1;
	return 0;
}

NOINLINE int t_likely(void)
{
	if (skeys_branch_likely(&kt))
		return 1;
	return 0;
}

int other_f(void);
int other_t(void);

static int failures;

static void put_int(int v)
{
	char num[12];
	int i = 11;
	unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

	num[i] = 0;
	do
		num[--i] = (char)('0' + u % 10);
	while ((u /= 10) && i > 1);
	if (v < 0)
		num[--i] = '-';
	fs_puts(num + i);
}

static void fail(const char *what, int step)
{
	fs_puts("fs: FAIL step ");
	put_int(step);
	fs_puts(": ");
	fs_puts(what);
	fs_puts("\n");
	failures++;
}

static void expect_state(int step, int f_on, int t_on)
{
	if (f_unlikely() != f_on || f_likely() != f_on || other_f() != f_on)
		fail("a site of kf took the wrong path", step);
	if (t_unlikely() != t_on || t_likely() != t_on || other_t() != t_on)
		fail("a site of kt took the wrong path", step);
	if (skeys_enabled(&kf) != f_on || skeys_enabled(&kt) != t_on)
		fail("skeys_enabled disagrees", step);
}

static void expect_rc(int step, int rc, int want)
{
	if (rc == want)
		return;
	fs_puts("fs: returned ");
	put_int(rc);
	fs_puts(", expected ");
	put_int(want);
	fs_puts("\n");
	fail("unexpected return code", step);
}

static const struct step {
	struct skeys_key *key;
	int (*op)(struct skeys_key *);
	int rc, f_on, t_on;
} steps[] = {
	{ &kf.key, skeys_key_enable, 0, 1, 1 },
	{ &kf.key, skeys_key_enable, 0, 1, 1 }, /* no-op */
	{ &kf.key, skeys_key_disable, 0, 0, 1 },
	{ &kf.key, skeys_key_inc, 0, 1, 1 },
	{ &kf.key, skeys_key_inc, 0, 1, 1 },
	{ &kf.key, skeys_key_dec, 0, 1, 1 },
	{ &kf.key, skeys_key_dec, 0, 0, 1 },
	{ &kf.key, skeys_key_dec, SKEYS_ERR_COUNT, 0, 1 },
	{ &kt.key, skeys_key_disable, 0, 0, 0 },
	{ &kt.key, skeys_key_inc, 0, 0, 1 },
	{ &kt.key, skeys_key_dec, 0, 0, 0 },
	{ &kt.key, skeys_key_enable, 0, 0, 1 },
};

/* The first site of kf in the table: overwritten to make the batch fail. */
static uintptr_t first_site_of(const struct skeys_key *key)
{
	const struct skeys_header *h = &skeys__module_header;
	const struct skeys_entry *e = (const void *)((const char *)&h->start + h->start);
	const struct skeys_entry *end = (const void *)((const char *)&h->stop + h->stop);

	for (; e < end; e++)
		if (skeys_entry_key(e, (uintptr_t)e) == (uintptr_t)key)
			return (uintptr_t)skeys_entry_code(e, (uintptr_t)e);
	return 0;
}

static void overwrite(uintptr_t at, const uint8_t *bytes, size_t n)
{
	uintptr_t pg = at & ~(uintptr_t)(fs_page_size - 1);
	long span = (long)(2 * fs_page_size); /* a site may straddle two pages */

	fs_syscall3(226 /* mprotect */, (long)pg, span, 7);
	for (size_t i = 0; i < n; i++)
		((volatile uint8_t *)at)[i] = bytes[i];
	__asm__ volatile("dbar 0\n\tibar 0" ::: "memory");
	fs_syscall3(226, (long)pg, span, 5);
}

static void mismatch(int step)
{
	const struct skeys_arch *a = skeys_arch_native();
	uintptr_t site = first_site_of(&kf.key);
	uint8_t saved[SKEYS_SITE_MAX], junk[SKEYS_SITE_MAX];

	if (!site) {
		fail("no site of kf in the table", step);
		return;
	}
	for (size_t i = 0; i < a->site_len; i++) {
		saved[i] = ((const uint8_t *)site)[i];
		junk[i] = (uint8_t)~saved[i];
	}
	overwrite(site, junk, a->site_len);
	expect_rc(step, skeys_enable(&kf), SKEYS_ERR_MISMATCH);
	overwrite(site, saved, a->site_len);
	/* Nothing of the refused batch was written: kf's other sites are still off. */
	expect_state(step, 0, 1);
	expect_rc(step + 1, skeys_enable(&kf), 0);
	expect_state(step + 1, 1, 1);
}

int main(int argc, char **argv)
{
	int unsealed = argc > 1 && argv[1][0] == '-' && argv[1][2] == 'u';
	int step = 0;

	expect_state(step++, 0, 1);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++, step++) {
		const struct step *s = &steps[i];
		int rc = s->op(s->key);

		if (unsealed) {
			/* Every toggle is refused and no site moves. */
			if (rc != SKEYS_ERR_UNSEALED && rc != 0 && rc != SKEYS_ERR_COUNT)
				fail("unsealed: unexpected return code", step);
			expect_state(step, 0, 1);
			skeys_disable(&kf);
			continue;
		}
		expect_rc(step, rc, s->rc);
		expect_state(step, s->f_on, s->t_on);
	}
	if (unsealed) {
		expect_rc(step, skeys_enable(&kf), SKEYS_ERR_UNSEALED);
		expect_state(step, 0, 1);
	} else {
		mismatch(step);
	}
	fs_puts(failures ? "fs: FAILED\n" : "fs: OK\n");
	return failures ? 1 : 0;
}
