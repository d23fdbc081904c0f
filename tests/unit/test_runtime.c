/* SPDX-License-Identifier: MIT */
/*
 * Runtime behaviour on a sealed binary: `test_runtime SUBTEST`. Each site
 * lives in its own function, 16 KiB aligned, so that the sites of a key sit
 * in separate page runs and a write can be made to fail on the second run.
 */
#define _GNU_SOURCE
#include <skeys.h>

#include "arch.h"
#include "table.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

extern const struct skeys_header skeys__module_header __attribute__((visibility("hidden")));

SKEYS_DEFINE_FALSE(kf);
SKEYS_DEFINE_TRUE(kt);
SKEYS_DEFINE_FALSE(two); /* two sites, in distant pages */

#define SITE_FN __attribute__((noinline, aligned(16384)))
SITE_FN static int uf(void) { return skeys_branch_unlikely(&kf); }
SITE_FN static int lf(void) { return skeys_branch_likely(&kf); }
SITE_FN static int ut(void) { return skeys_branch_unlikely(&kt); }
SITE_FN static int lt(void) { return skeys_branch_likely(&kt); }
SITE_FN static int two_a(void) { return skeys_branch_unlikely(&two); }
SITE_FN static int two_b(void) { return skeys_branch_unlikely(&two); }
/* Two sites in one page run (the batch is one write): near_b follows near_a. */
SKEYS_DEFINE_FALSE(near);
SITE_FN static int near_a(void) { return skeys_branch_unlikely(&near); }
__attribute__((noinline)) static int near_b(void) { return skeys_branch_unlikely(&near); }

#include "../testing.h"

static char logged[4096];

static void log_cb(enum skeys_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	(void)level;
	strncat(logged, msg, sizeof(logged) - strlen(logged) - 2);
	strcat(logged, "\n");
}

/* Both the expression and the key agree with `on`, for every site of kf and kt. */
static void expect(bool f_on, bool t_on)
{
	CHECK(uf() == f_on);
	CHECK(lf() == f_on);
	CHECK(ut() == t_on);
	CHECK(lt() == t_on);
	CHECK(skeys_enabled(&kf) == f_on);
	CHECK(skeys_enabled(&kt) == t_on);
}

/* No mapping of the process may be writable and executable. */
static void expect_no_wx(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[8];

	CHECK(f != NULL);
	if (!f)
		return;
	/*
	 * Valgrind keeps its translated code in anonymous rwx mappings of its
	 * own; under it (the valgrind test setup) only file-backed code counts.
	 */
	bool own_only = getenv("SKEYS_UNDER_VALGRIND") != NULL;
	char path[256];

	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x' &&
		    !(own_only && sscanf(line, "%*s %*s %*s %*s %*s %255s", path) != 1)) {
			fprintf(stderr, "writable+executable mapping: %s", line);
			failures++;
		}
	fclose(f);
}

static uintptr_t site_of(int (*fn)(void))
{
#ifdef __thumb__
	/* A Thumb function's address has bit 0 set; its code starts one byte lower. */
	fn = (int (*)(void))((uintptr_t)fn & ~(uintptr_t)1);
#endif
	const struct skeys_header *h = &skeys__module_header;
	const struct skeys_entry *e = (const void *)((const char *)&h->start + h->start);
	size_t i, n = h->count;

	/* The site is the first table entry inside fn's first 64 bytes. */
	for (i = 0; i < n; i++) {
		uint64_t c = skeys_entry_code(&e[i], (uintptr_t)&e[i]);

		if (c >= (uintptr_t)fn && c < (uintptr_t)fn + 64)
			return (uintptr_t)c;
	}
	return 0;
}

static void poke(uintptr_t addr, const void *bytes, size_t n)
{
	/* Pages are 16 or 64 KiB on some aarch64, loongarch64 and ppc64le systems. */
	size_t size = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t pg = addr & ~(uintptr_t)(size - 1);

	if (mprotect((void *)pg, 2 * size, PROT_READ | PROT_WRITE | PROT_EXEC) ||
	    (memcpy((void *)addr, bytes, n), 0) ||
	    mprotect((void *)pg, 2 * size, PROT_READ | PROT_EXEC)) {
		perror("poke");
		exit(2);
	}
}

/* ---- subtests ----------------------------------------------------------- */

static void t_combos(void)
{
	CHECK(skeys__module_header.flags & SKEYS_HEADER_SEALED);
	expect(false, true);
	CHECK_ERR(skeys_enable(&kf), 0);
	expect(true, true);
	CHECK_ERR(skeys_enable(&kf), 0); /* no-op */
	expect(true, true);
	CHECK_ERR(skeys_disable(&kt), 0);
	expect(true, false);
	CHECK_ERR(skeys_disable(&kf), 0);
	CHECK_ERR(skeys_disable(&kf), 0); /* no-op */
	expect(false, false);
	CHECK_ERR(skeys_enable(&kt), 0);
	expect(false, true);
	expect_no_wx();
}

static void t_count(void)
{
	CHECK_ERR(skeys_dec(&kf), SKEYS_ERR_COUNT); /* below zero: refused */
	expect(false, true);
	CHECK_ERR(skeys_inc(&kf), 0);
	CHECK_ERR(skeys_inc(&kf), 0);
	expect(true, true);
	CHECK_ERR(skeys_dec(&kf), 0);
	expect(true, true); /* still held once */
	CHECK_ERR(skeys_dec(&kf), 0);
	expect(false, true);
	CHECK_ERR(skeys_dec(&kf), SKEYS_ERR_COUNT);
	CHECK_ERR(skeys_dec(&kt), 0); /* a TRUE key starts with one reference */
	expect(false, false);
	kf.key.count = INT32_MAX; /* as if incremented that often */
	CHECK_ERR(skeys_inc(&kf), SKEYS_ERR_COUNT);
	kf.key.count = 0;
}

static void t_notkey(void)
{
	static struct skeys_key fake;

	CHECK_ERR(skeys_key_enable(&fake), SKEYS_ERR_NOTKEY);
	CHECK_ERR(skeys_key_enable(NULL), -EINVAL);
	CHECK(!skeys_key_enabled(NULL));
	CHECK(strstr(skeys_strerror(SKEYS_ERR_UNSEALED), "skeys-seal") != NULL);
	CHECK(strcmp(skeys_strerror(-ENOMEM), strerror(ENOMEM)) == 0);
	CHECK_ERR(skeys_set_write_method((enum skeys_write_method)7), -EINVAL);
}

/*
 * Switching back a key whose sites are one page run: with a direct write,
 * the sites are checked in the write's copy of the run, still before any
 * byte is written.
 */
static void t_mismatch_one_run(int int3_err)
{
	uintptr_t a = site_of(near_a), b = site_of(near_b);
	uint8_t a_before[5], b_before[5];
	static const uint8_t other = 0xf4, int3 = 0xcc;

	/* The premise: both in one run (the compiler kept near_b after near_a). */
	CHECK(a && b && b > a && b - a < 4096);
	if (!a || !b)
		return;
	CHECK_ERR(skeys_enable(&near), 0);
	CHECK(near_a() == 1 && near_b() == 1);
	memcpy(a_before, (void *)a, 5);
	memcpy(b_before, (void *)b, 5);
	poke(b, &other, 1);
	logged[0] = 0;
	CHECK_ERR(skeys_disable(&near), SKEYS_ERR_MISMATCH);
	CHECK(memcmp((void *)a, a_before, 5) == 0 && near_a() == 1); /* not written */
	CHECK(skeys_enabled(&near));
	CHECK(strstr(logged, "does not hold the expected") != NULL);
	poke(b, &int3, 1);
	CHECK_ERR(skeys_disable(&near), int3_err);
	CHECK(memcmp((void *)a, a_before, 5) == 0 && skeys_enabled(&near));
	poke(b, b_before, 1);
	CHECK_ERR(skeys_disable(&near), 0);
	CHECK(near_a() == 0 && near_b() == 0 && !skeys_enabled(&near));
}

/* A site whose bytes were changed behind our back: refuse, write nothing. */
static void t_mismatch(void)
{
	uintptr_t a = site_of(two_a), b = site_of(two_b);
	uint8_t b_before[5], a_before[5];
	static const uint8_t other = 0xf4, int3 = 0xcc;
#if defined(__x86_64__) || defined(__i386__)
	const int int3_err = SKEYS_ERR_BREAKPOINT; /* a debugger's: named as what it is */
#else
	const int int3_err = SKEYS_ERR_MISMATCH; /* another byte, here */
#endif

	CHECK(a && b);
	if (!a || !b)
		return;
	memcpy(a_before, (void *)a, 5);
	memcpy(b_before, (void *)b, 5);
	poke(b, &other, 1);
	CHECK_ERR(skeys_enable(&two), SKEYS_ERR_MISMATCH);
	CHECK(memcmp((void *)a, a_before, 5) == 0); /* the good site was not written */
	CHECK(!skeys_enabled(&two));
	CHECK(two_a() == 0);
	CHECK(strstr(logged, "does not hold the expected") != NULL);
	poke(b, &int3, 1);
	CHECK_ERR(skeys_enable(&two), int3_err);
	CHECK(memcmp((void *)a, a_before, 5) == 0 && !skeys_enabled(&two));
	CHECK(int3_err != SKEYS_ERR_BREAKPOINT || strstr(logged, "holds a breakpoint") != NULL);
	poke(b, b_before, 1);
	CHECK_ERR(skeys_enable(&two), 0);
	CHECK(two_a() == 1 && two_b() == 1);
	/* Switching straight back turns the last batch round: each site is checked again. */
	memcpy(a_before, (void *)a, 5);
	memcpy(b_before, (void *)b, 5);
	poke(b, &other, 1);
	CHECK_ERR(skeys_disable(&two), SKEYS_ERR_MISMATCH);
	poke(b, &int3, 1);
	CHECK_ERR(skeys_disable(&two), int3_err);
	CHECK(memcmp((void *)a, a_before, 5) == 0);
	CHECK(skeys_enabled(&two));
	CHECK(two_a() == 1);
	poke(b, b_before, 1);
	CHECK_ERR(skeys_disable(&two), 0);
	CHECK(two_a() == 0 && two_b() == 0);
	CHECK_ERR(skeys_enable(&two), 0);
	CHECK(two_a() == 1 && two_b() == 1);
	t_mismatch_one_run(int3_err);
	expect_no_wx();
}

static int install_filter(struct sock_filter *f, unsigned short n)
{
	struct sock_fprog prog = { .len = n, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("seccomp");
		return -1;
	}
	return 0;
}

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define DENY(e) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e))

/* /proc/self/mem refused (as some kernels do): auto mode falls back to mprotect. */
static int t_fallback(void)
{
	struct sock_filter f[] = {
		LOAD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pwrite64, 0, 1),
		DENY(EPERM),
		ALLOW,
	};

	if (getenv("SKEYS_UNDER_VALGRIND")) {
		printf("SKIP: under valgrind the runtime never writes through /proc/self/mem\n");
		return 77;
	}
	if (install_filter(f, sizeof(f) / sizeof(f[0])))
		return 77;
	CHECK_ERR(skeys_set_write_method(SKEYS_WRITE_PROCMEM), 0);
	CHECK_ERR(skeys_enable(&kf), -EPERM); /* forced: fails, writes nothing */
	expect(false, true);
	CHECK_ERR(skeys_set_write_method(SKEYS_WRITE_AUTO), 0);
	CHECK_ERR(skeys_enable(&kf), 0);
	expect(true, true);
	CHECK(strstr(logged, "using mprotect") != NULL);
	CHECK_ERR(skeys_disable(&kf), 0);
	expect(false, true);
	expect_no_wx();
	return 0;
}

/* The second page run cannot be made writable: the first run is put back. */
static int t_rollback(void)
{
	uintptr_t a = site_of(two_a), b = site_of(two_b);
	uint32_t page;

	CHECK(a && b);
	if (!a || !b)
		return 1;
	/* Fail the run written last, so that one run is written before it fails. */
	page = (uint32_t)((a > b ? a : b) & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1));
	{
		struct sock_filter f[] = {
			LOAD_NR,
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 4),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
			BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_WRITE, 0, 2),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, page, 1, 0),
			ALLOW,
			DENY(EACCES),
		};

		if (install_filter(f, sizeof(f) / sizeof(f[0])))
			return 77;
	}
	CHECK_ERR(skeys_set_write_method(SKEYS_WRITE_MPROTECT), 0);
	CHECK_ERR(skeys_enable(&two), -EACCES);
	CHECK(two_a() == 0 && two_b() == 0); /* both still take the old path */
	CHECK(!skeys_enabled(&two));
	expect_no_wx();
	return 0;
}

static int t_method(enum skeys_write_method m)
{
	CHECK_ERR(skeys_set_write_method(m), 0);
	t_combos();
	CHECK_ERR(skeys_enable(&two), 0);
	CHECK(two_a() == 1 && two_b() == 1);
	CHECK_ERR(skeys_disable(&two), 0);
	CHECK(two_a() == 0 && two_b() == 0);
	expect_no_wx();
	return 0;
}

int main(int argc, char **argv)
{
	const char *t = argc > 1 ? argv[1] : "";
	int rc = 0;

	skeys_set_log(log_cb, NULL);
	if (!strcmp(t, "combos"))
		t_combos();
	else if (!strcmp(t, "count"))
		t_count();
	else if (!strcmp(t, "notkey"))
		t_notkey();
	else if (!strcmp(t, "mismatch"))
		t_mismatch(); /* auto: one run written directly checks in its copy */
	else if (!strcmp(t, "mismatch-mprotect")) { /* the sites checked before any store */
		CHECK_ERR(skeys_set_write_method(SKEYS_WRITE_MPROTECT), 0);
		t_mismatch();
	}
	else if (!strcmp(t, "procmem"))
		rc = t_method(SKEYS_WRITE_PROCMEM);
	else if (!strcmp(t, "mprotect"))
		rc = t_method(SKEYS_WRITE_MPROTECT);
	else if (!strcmp(t, "fallback"))
		rc = t_fallback();
	else if (!strcmp(t, "rollback"))
		rc = t_rollback();
	else {
		fprintf(stderr, "usage: %s SUBTEST\n", argv[0]);
		return 64;
	}
	if (failures) {
		fprintf(stderr, "%s: %d check(s) failed\nlog:\n%s", t, failures, logged);
		return 1;
	}
	return rc;
}
