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

#include <string.h>

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

/* ---- static calls ------------------------------------------------------------ */

long fs_syscall6(long nr, long a, long b, long c, long d, long e, long f);

NOINLINE int add1(int x);
NOINLINE int add2(int x);
NOINLINE void bump(void);
static int bumps;

NOINLINE int add1(int x)
{
	return x + 1;
}

NOINLINE int add2(int x)
{
	return x + 2;
}

NOINLINE void bump(void)
{
	bumps++;
}

SKEYS_DEFINE_CALL(op, add1);
SKEYS_DEFINE_CALL_RET0(r0, add1);
SKEYS_DEFINE_CALL_NULL(hook, bump);

#define LA_NOP 0x03400000u

/* The trampoline's slot word, and where it jumps (0: not a b). */
static uint32_t slot_of(const void *tramp, uint64_t *to)
{
	uint32_t w = *(const volatile uint32_t *)tramp;

	*to = 0;
	if (!skeys_arch_native()->decode_jump((uintptr_t)tramp, (const uint8_t *)tramp, to))
		*to = 0;
	return w;
}

/*
 * x + 5, mapped 1 GiB past the code: out of b's +-128 MiB, so an update to
 * it leaves the slot far (a nop) and jumps through `lit`.
 */
static int (*far_function(void))(int)
{
	static const uint32_t code[2] = { 0x02801484u /* addi.w $a0, $a0, 5 */,
					  0x4c000020u /* ret */ };
	uintptr_t hint = ((uintptr_t)&add1 + (1ul << 30)) & ~(uintptr_t)(fs_page_size - 1);
	long p = fs_syscall6(222 /* mmap */, (long)hint, (long)fs_page_size, 3 /* RW */,
			     0x22 /* MAP_PRIVATE | MAP_ANONYMOUS */, -1, 0);
	int (*fn)(int);

	if (p < 0 && p > -4096)
		return 0;
	memcpy((void *)p, code, sizeof(code));
	if (fs_syscall3(226 /* mprotect */, p, (long)fs_page_size, 5 /* RX */))
		return 0;
	__asm__ volatile("dbar 0\n\tibar 0" ::: "memory");
	memcpy(&fn, &p, sizeof(fn));
	return fn;
}

static void expect_call(int step, int got, int want, const char *what)
{
	if (got != want) {
		fs_puts("fs: call returned ");
		put_int(got);
		fs_puts(", expected ");
		put_int(want);
		fs_puts("\n");
		fail(what, step);
	}
}

static int calls(int step, int unsealed)
{
	const void *t = (const void *)(uintptr_t)skeys_call(op);
	int (*far)(int) = far_function();
	uint64_t to;
	uint32_t saved, junk;

	/* As compiled: far (a nop, on through lit), RET0 and NULL through b ret0. */
	expect_call(step, skeys_call(op)(1), 2, "op as compiled");
	if (slot_of(t, &to) != LA_NOP || skeys_call_query(op) != add1)
		fail("op's slot is not the far form as compiled", step);
	expect_call(step, skeys_call(r0)(5), 0, "r0 as compiled");
	skeys_call_cond(hook)();
	expect_call(step, bumps, 0, "hook as compiled");
	step++;
	if (unsealed) {
		expect_rc(step, skeys_call_update(op, add2), SKEYS_ERR_UNSEALED);
		expect_call(step, skeys_call(op)(1), 2, "op after a refused update");
		return step + 1;
	}
	/* Near: b add2. */
	expect_rc(step, skeys_call_update(op, add2), 0);
	expect_call(step, skeys_call(op)(1), 3, "op near");
	if (slot_of(t, &to) == LA_NOP || to != (uintptr_t)&add2 || skeys_call_query(op) != add2)
		fail("op's slot is not b add2", step);
	step++;
	/* No target: b ret0, 16 bytes on. */
	expect_rc(step, skeys_call_update(op, NULL), 0);
	expect_call(step, skeys_call(op)(1), 0, "op without a target");
	if (slot_of(t, &to) == LA_NOP || to != (uintptr_t)t + 16 || skeys_call_query(op) != NULL)
		fail("op's slot is not b ret0", step);
	step++;
	/* Far: a nop, through lit. */
	if (!far) {
		fail("no far function could be mapped", step);
	} else {
		expect_rc(step, skeys_call_update(op, far), 0);
		expect_call(step, skeys_call(op)(1), 6, "op far");
		if (slot_of(t, &to) != LA_NOP || skeys_call_query(op) != far)
			fail("op's slot is not the far form", step);
	}
	step++;
	/* Far to near, and the other two calls. */
	expect_rc(step, skeys_call_update(op, add1), 0);
	expect_call(step, skeys_call(op)(1), 2, "op near again");
	expect_rc(step, skeys_call_update(r0, add2), 0);
	expect_call(step, skeys_call(r0)(5), 7, "r0 updated");
	expect_rc(step, skeys_call_update(r0, NULL), 0);
	expect_call(step, skeys_call(r0)(5), 0, "r0 back to no target");
	expect_rc(step, skeys_call_update(hook, bump), 0);
	skeys_call_cond(hook)();
	expect_call(step, bumps, 1, "hook updated");
	step++;
	/* A slot whose bytes changed: refused, nothing written, lit unchanged. */
	saved = *(const volatile uint32_t *)t;
	junk = ~saved;
	overwrite((uintptr_t)t, (const uint8_t *)&junk, 4);
	expect_rc(step, skeys_call_update(op, add2), SKEYS_ERR_MISMATCH);
	overwrite((uintptr_t)t, (const uint8_t *)&saved, 4);
	expect_call(step, skeys_call(op)(1), 2, "op after a refused update");
	if (skeys_call_query(op) != add1 || skeys__call_op.lit != (void (*)(void))add1)
		fail("a refused update changed the call", step);
	return step + 1;
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
	calls(step + 2, unsealed);
	fs_puts(failures ? "fs: FAILED\n" : "fs: OK\n");
	return failures ? 1 : 0;
}
