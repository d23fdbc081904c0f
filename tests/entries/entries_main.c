/* SPDX-License-Identifier: MIT */
/*
 * Function entries end to end (built by run-entries.py with a real
 * compiler and -fpatchable-function-entry, then sealed): redirect and
 * restore, attach and detach, the states' rules, a handler that detaches
 * its own function, NOTPATCHABLE, attach_all/detach_all and a module
 * loaded later (PLUGIN) or unloaded while traced, a call that fails
 * leaving every function as it was (a pad altered in memory; on x86-64,
 * no address space left for stubs), a backtrace from a handler through
 * the stub into the traced function and its caller, and attach and
 * detach (one function, or all of them) while other threads call the
 * function in a loop, a signal handler calls it and children forked
 * between switches call it.
 */
#define _GNU_SOURCE
#include "entries.h"

#include <skeys.h>

#include "testing.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Calls through a volatile pointer: nothing is folded at compile time. */
static int (*volatile add1)(int) = ent_add1;
static int (*volatile add2)(int) = ent_add2;
static int (*volatile mul3)(int) = ent_mul3;
static int (*volatile plain)(int) = ent_plain;

#include "handlers.h"

static void redirection(void)
{
	CHECK(add1(1) == 2);
	CHECK_ERR(skeys_entry_redirect((void *)ent_add1, (void *)ent_mul3), 0);
	CHECK(add1(5) == 15);
	CHECK_ERR(skeys_entry_redirect((void *)ent_add1, (void *)ent_add2), 0); /* to another */
	CHECK(add1(5) == 7);
	CHECK_ERR(skeys_entry_attach((void *)ent_add1, count, NULL), -EBUSY);
	CHECK_ERR(skeys_entry_detach((void *)ent_add1), 0); /* not traced: nothing */
	CHECK(add1(5) == 7);
	CHECK_ERR(skeys_entry_restore((void *)ent_add1), 0);
	CHECK(add1(5) == 6);
	CHECK_ERR(skeys_entry_restore((void *)ent_add1), 0); /* already so */
	CHECK(mul3(2) == 6 && add2(2) == 4);
}

static void tracing(void)
{
	int data;

	hits = 0;
	CHECK_ERR(skeys_entry_attach((void *)ent_add2, count, &data), 0);
	CHECK(add2(1) == 3 && hits == 1 && last_fn == (void *)ent_add2 && last_data == &data);
	CHECK(add2(2) == 4 && hits == 2);
	CHECK(add1(2) == 3 && hits == 2); /* another function: not traced */
	CHECK_ERR(skeys_entry_attach((void *)ent_add2, count, NULL), 0); /* new data */
	CHECK(add2(1) == 3 && hits == 3 && last_data == NULL);
	CHECK_ERR(skeys_entry_redirect((void *)ent_add2, (void *)ent_mul3), -EBUSY);
	CHECK_ERR(skeys_entry_restore((void *)ent_add2), 0); /* not redirected: nothing */
	CHECK(add2(1) == 3 && hits == 4);
	CHECK_ERR(skeys_entry_detach((void *)ent_add2), 0);
	CHECK(add2(1) == 3 && hits == 4);
	CHECK_ERR(skeys_entry_detach((void *)ent_add2), 0);
}

static long (*volatile args_fn)(long, long, long, long, long, long, long, long, double, double,
				double, double, double, double, double, double) = ent_args;
static struct ent_big (*volatile big_fn)(long, double) = ent_big;

/* A one-shot handler: it detaches its own function, from inside the stub. */
static void detach_self(void *fn, void *data)
{
	count(fn, data);
	*(int *)data = skeys_entry_detach(fn);
}

static void one_shot(void)
{
	int r = 1;

	hits = 0;
	CHECK_ERR(skeys_entry_attach((void *)ent_add2, detach_self, &r), 0);
	CHECK(add2(1) == 3 && hits == 1 && r == 0);
	CHECK(add2(1) == 3 && hits == 1);
	CHECK_ERR(skeys_entry_attach((void *)ent_add2, detach_self, &r), 0); /* again */
	r = 1;
	CHECK(add2(2) == 4 && hits == 2 && r == 0);
	CHECK(add2(2) == 4 && hits == 2);
}

static void arguments(void)
{
	long want = args_fn(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5);
	struct ent_big b;

	hits = 0;
	CHECK_ERR(skeys_entry_attach((void *)ent_args, clobber, NULL), 0);
	CHECK_ERR(skeys_entry_attach((void *)ent_big, clobber, NULL), 0);
	CHECK(args_fn(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5) == want);
	b = big_fn(40, 9.0);
	CHECK(b.v[0] == 40 && b.v[1] == 41 && b.v[2] == 42 && b.v[3] == 43 && b.v[4] == 9);
	CHECK(hits == 2 && last_fn == (void *)ent_big);
	CHECK_ERR(skeys_entry_detach((void *)ent_args), 0);
	CHECK_ERR(skeys_entry_detach((void *)ent_big), 0);
	CHECK(args_fn(1, 2, 3, 4, 5, 6, 7, 8, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5) == want);
	CHECK(hits == 2);
#if defined(__i386__)
	{
		typedef int rp_fn(int, int, int) __attribute__((regparm(3)));
		typedef int fc_fn(int, int, int) __attribute__((fastcall));
		rp_fn *volatile rp = ent_regparm;
		fc_fn *volatile fc = ent_fastcall;

		CHECK_ERR(skeys_entry_attach((void *)ent_regparm, clobber, NULL), 0);
		CHECK_ERR(skeys_entry_attach((void *)ent_fastcall, clobber, NULL), 0);
		CHECK(rp(1, 2, 3) == 321 && fc(4, 5, 6) == 654 && hits == 4);
		CHECK_ERR(skeys_entry_detach((void *)ent_regparm), 0);
		CHECK_ERR(skeys_entry_detach((void *)ent_fastcall), 0);
		CHECK(rp(1, 2, 3) == 321 && fc(4, 5, 6) == 654 && hits == 4);
	}
#endif
}

static void refusals(void)
{
	static int not_code;

	CHECK(plain(3) == 3);
	CHECK_ERR(skeys_entry_attach((void *)ent_plain, count, NULL), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_redirect((void *)ent_plain, (void *)ent_add1), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_attach((void *)&not_code, count, NULL), SKEYS_ERR_NOTPATCHABLE);
	/* Inside a patchable function, not its entry. */
	CHECK_ERR(skeys_entry_attach((void *)((char *)ent_add1 + 1), count, NULL),
		  SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_attach(NULL, count, NULL), -EINVAL);
	CHECK_ERR(skeys_entry_attach((void *)ent_add1, NULL, NULL), -EINVAL);
	CHECK_ERR(skeys_entry_redirect((void *)ent_add1, NULL), -EINVAL);
	CHECK(plain(3) == 3 && add1(1) == 2);
}

/*
 * A replacement beyond a branch's reach of the pad (2 GiB on x86-64, 128
 * MiB on aarch64): a few instructions of x + 10 written into a page mapped
 * 4 GiB from ent_add1 (then read-execute), reached through a jump stub.
 * i686: every address is in reach, a rel32 wrapping round the address
 * space; the page lies more than 2 GiB ahead, so the pad's jmp wraps.
 */
static void far_redirect(void)
{
#if defined(__x86_64__)
	static const unsigned char code[] = { 0x8d, 0x47, 0x0a, 0xc3 }; /* lea 10(%rdi),%eax; ret */
#elif defined(__i386__)
	/* mov 4(%esp),%eax; add $10,%eax; ret */
	static const unsigned char code[] = { 0x8b, 0x44, 0x24, 0x04, 0x83, 0xc0, 0x0a, 0xc3 };
#elif defined(__aarch64__)
	static const unsigned int code[] = { 0x11002800, 0xd65f03c0 }; /* add w0, w0, #10; ret */
#endif
#if UINTPTR_MAX == 0xffffffffu
	void *page = MAP_FAILED;

	for (uintptr_t k = 9; k <= 12 && page == MAP_FAILED; k++) {
		uintptr_t want = ((uintptr_t)ent_add1 + (k << 28)) & ~(uintptr_t)0xffff;

		page = mmap((void *)want, 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	}
#else
	uintptr_t want = ((uintptr_t)ent_add1 + ((uintptr_t)4 << 30)) & ~(uintptr_t)0xffff;
	void *page = mmap((void *)want, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#endif
	uintptr_t d;
	int (*far)(int);

	CHECK(page != MAP_FAILED);
	if (page == MAP_FAILED)
		return;
#if UINTPTR_MAX == 0xffffffffu
	d = (uintptr_t)page - (uintptr_t)ent_add1; /* ahead, round the address space */
#else
	d = (uintptr_t)page > (uintptr_t)ent_add1 ? (uintptr_t)page - (uintptr_t)ent_add1
						      : (uintptr_t)ent_add1 - (uintptr_t)page;
#endif
	memcpy(page, code, sizeof(code));
	CHECK(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0);
	__builtin___clear_cache((char *)page, (char *)page + sizeof(code));
	*(void **)&far = page;
	CHECK(far(1) == 11);
	printf("entries: far replacement %#lx bytes from ent_add1\n", (unsigned long)d);
	CHECK(d > ((uintptr_t)1 << 31)); /* beyond a rel32 without wrapping, and a B */
	CHECK_ERR(skeys_entry_redirect((void *)ent_add1, page), 0);
	CHECK(add1(1) == 11 && add1(5) == 15);
	CHECK_ERR(skeys_entry_restore((void *)ent_add1), 0);
	CHECK(add1(1) == 2);
	munmap(page, 4096);
}

static void everything(void)
{
	long before;

	CHECK_ERR(skeys_entry_redirect((void *)ent_mul3, (void *)ent_add2), 0);
	CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0);
	before = all_hits;
	CHECK(add1(1) == 2 && add2(1) == 3);
	CHECK(all_hits == before + 2);
	CHECK(mul3(1) == 3); /* redirected functions stay redirected... */
	/* ...to ent_add2, which is traced: one hit. */
	CHECK(all_hits == before + 3);
#ifdef PLUGIN
	{
		void *h = dlopen(PLUGIN, RTLD_NOW);
		int (*fn)(int);

		CHECK(h != NULL);
		*(void **)&fn = dlsym(h, "ent_plugin_fn");
		CHECK(fn != NULL);
		before = all_hits;
		CHECK(fn(1) == 11 && all_hits == before + 1); /* follows attach_all */
		CHECK_ERR(skeys_entry_detach_all(), 0);
		CHECK(fn(1) == 11 && all_hits == before + 1);
		CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0);
		CHECK(fn(1) == 11 && all_hits == before + 2);
		CHECK_ERR(skeys_entry_detach_all(), 0);
		/* To another module and back. */
		CHECK_ERR(skeys_entry_redirect((void *)ent_add1, (void *)fn), 0);
		CHECK(add1(1) == 11);
		CHECK_ERR(skeys_entry_redirect((void *)fn, (void *)ent_add2), 0);
		CHECK(fn(2) == 4);
		CHECK(add1(1) == 3); /* ent_add1 jumps to fn, whose pad jumps on */
		CHECK_ERR(skeys_entry_restore((void *)fn), 0);
		CHECK_ERR(skeys_entry_restore((void *)ent_add1), 0);
		CHECK(add1(1) == 2 && fn(1) == 11);
		dlclose(h);
		CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0); /* it is gone */
		/*
		 * Unloaded while traced, loaded again: its functions follow
		 * attach_all again, and nothing of what was attached to them
		 * one by one is left (its stubs served the old mapping).
		 */
		h = dlopen(PLUGIN, RTLD_NOW);
		CHECK(h != NULL);
		*(void **)&fn = dlsym(h, "ent_plugin_fn");
		CHECK(fn != NULL);
		CHECK_ERR(skeys_entry_attach((void *)fn, count, &before), 0);
		hits = 0;
		CHECK(fn(1) == 11 && hits == 1 && last_data == &before);
		dlclose(h);
		h = dlopen(PLUGIN, RTLD_NOW);
		CHECK(h != NULL);
		*(void **)&fn = dlsym(h, "ent_plugin_fn");
		CHECK(fn != NULL);
		before = all_hits;
		CHECK(fn(1) == 11 && hits == 1 && all_hits == before + 1);
		CHECK_ERR(skeys_entry_detach_all(), 0);
		CHECK(fn(1) == 11 && hits == 1 && all_hits == before + 1);
		CHECK_ERR(skeys_entry_attach((void *)fn, count, NULL), 0);
		CHECK(fn(1) == 11 && hits == 2 && last_data == NULL);
		dlclose(h); /* traced */
		CHECK_ERR(skeys_entry_attach_all(count_all, NULL), 0);
	}
#endif
	CHECK_ERR(skeys_entry_detach_all(), 0);
	before = all_hits;
	CHECK(add1(1) == 2 && add2(1) == 3 && all_hits == before);
	CHECK_ERR(skeys_entry_restore((void *)ent_mul3), 0);
	CHECK(mul3(1) == 3);
}

/* ---- a call that fails changes nothing -------------------------------- */

/* The patchable functions whose pads the failures below must leave as they were. */
static void *const watched[] = { (void *)ent_add1, (void *)ent_add2, (void *)ent_mul3,
				 (void *)ent_args, (void *)ent_big };
#define WATCHED (sizeof(watched) / sizeof(watched[0]))
#define PAD_BYTES 16

#if defined(__aarch64__)
enum { PATCH_LEN = 4 };
#else
enum { PATCH_LEN = 5 };
#endif

/*
 * Where the runtime patches `fn`: after endbr64 (x86-64) or endbr32
 * (i686), after `bti c` and the seal's `mov x9, x30` (aarch64).
 */
static unsigned char *patch_point(void *fn)
{
	unsigned char *p = fn;
#if defined(__aarch64__)
	static const unsigned char landing[4] = { 0x5f, 0x24, 0x03, 0xd5 }; /* bti c */

	return p + (memcmp(p, landing, 4) ? 0 : 4) + 4;
#else
#if defined(__i386__)
	static const unsigned char landing[4] = { 0xf3, 0x0f, 0x1e, 0xfb }; /* endbr32 */
#else
	static const unsigned char landing[4] = { 0xf3, 0x0f, 0x1e, 0xfa }; /* endbr64 */
#endif

	return p + (memcmp(p, landing, 4) ? 0 : 4);
#endif
}

static void pads_copy(unsigned char (*out)[PAD_BYTES])
{
	for (size_t i = 0; i < WATCHED; i++)
		memcpy(out[i], patch_point(watched[i]), PAD_BYTES);
}

static bool pads_same(unsigned char (*was)[PAD_BYTES])
{
	unsigned char now[WATCHED][PAD_BYTES];

	pads_copy(now);
	return !memcmp(now, was, sizeof(now));
}

/*
 * One bit of the last byte of fn's patch point flipped, as a debugger or
 * another patcher might leave it: the runtime must refuse to write that
 * pad. Twice puts it back. Nothing calls fn meanwhile.
 */
static void pad_alter(void *fn)
{
	unsigned char *b = patch_point(fn) + PATCH_LEN - 1;
	long pg = sysconf(_SC_PAGESIZE);
	void *page = (void *)((uintptr_t)b & ~(uintptr_t)(pg - 1));
	int prot = PROT_READ | PROT_EXEC;

#ifdef BTI_GUARDED
	prot |= 0x10; /* PROT_BTI: the library's code stays guarded (still_guarded()) */
#endif
	CHECK(mprotect(page, (size_t)pg, prot | PROT_WRITE) == 0);
	*(volatile unsigned char *)b ^= 0x01;
	CHECK(mprotect(page, (size_t)pg, prot) == 0);
	__builtin___clear_cache((char *)b, (char *)b + 1);
}

/* ent_add1, ent_add2 and ent_mul3 in address order, and what each makes of 1. */
struct fn1 {
	void *fn;
	int (*call)(int);
	int of1;
};

static int fn1_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct fn1 *)a)->fn;
	uintptr_t y = (uintptr_t)((const struct fn1 *)b)->fn;

	return (x > y) - (x < y);
}

/*
 * Every call that fails leaves every function as it was before it: its
 * pad's bytes, its handler and data, its replacement. The failure: one
 * function's pad altered (pad_alter()), met by the batch after functions
 * it had already dealt with (f[2], last in address order, the order the
 * runtime goes in): f[0] is traced, f[1] was and its stub is kept.
 */
static void failed_calls(void)
{
	struct fn1 f[3] = { { (void *)ent_add1, ent_add1, 2 },
			    { (void *)ent_add2, ent_add2, 3 },
			    { (void *)ent_mul3, ent_mul3, 3 } };
	unsigned char was[WATCHED][PAD_BYTES];
	int d1, d2;
	long before;

	qsort(f, 3, sizeof(f[0]), fn1_cmp);
	CHECK_ERR(skeys_entry_attach(f[0].fn, count, &d1), 0);
	CHECK_ERR(skeys_entry_attach(f[1].fn, count, &d1), 0);
	CHECK_ERR(skeys_entry_detach(f[1].fn), 0);

	/* attach_all: f[0] stays traced by (count, &d1), f[1] untraced, its stub's pair kept. */
	pad_alter(f[2].fn);
	pads_copy(was);
	CHECK_ERR(skeys_entry_attach_all(count_all, &d2), SKEYS_ERR_MISMATCH);
	CHECK(pads_same(was));
	hits = 0;
	before = all_hits;
	CHECK(f[0].call(1) == f[0].of1);
	CHECK(hits == 1 && last_fn == f[0].fn && last_data == &d1 && all_hits == before);
	CHECK(f[1].call(1) == f[1].of1 && hits == 1 && all_hits == before);
	CHECK_ERR(skeys_entry_attach(f[1].fn, count, &d1), 0);
	CHECK(f[1].call(1) == f[1].of1);
	CHECK(hits == 2 && last_fn == f[1].fn && last_data == &d1 && all_hits == before);
	CHECK_ERR(skeys_entry_detach(f[1].fn), 0);
	/* Attach, redirect of the altered pad: refused, nothing changed. */
	CHECK_ERR(skeys_entry_attach(f[2].fn, count, &d2), SKEYS_ERR_MISMATCH);
	CHECK_ERR(skeys_entry_redirect(f[2].fn, f[1].fn), SKEYS_ERR_MISMATCH);
	CHECK(pads_same(was));
	pad_alter(f[2].fn);
	CHECK(f[2].call(1) == f[2].of1 && hits == 2 && all_hits == before);

	/* detach_all: every traced function stays traced by what it had. */
	CHECK_ERR(skeys_entry_attach(f[2].fn, count, &d2), 0);
	pad_alter(f[0].fn);
	pads_copy(was);
	CHECK_ERR(skeys_entry_detach_all(), SKEYS_ERR_MISMATCH);
	CHECK(pads_same(was));
	pad_alter(f[0].fn);
	hits = 0;
	CHECK(f[0].call(1) == f[0].of1 && hits == 1 && last_data == &d1);
	CHECK(f[2].call(1) == f[2].of1 && hits == 2 && last_data == &d2);
	CHECK_ERR(skeys_entry_detach_all(), 0);

	/* restore: the replacement stays. */
	CHECK_ERR(skeys_entry_redirect(f[0].fn, f[1].fn), 0);
	pad_alter(f[0].fn);
	pads_copy(was);
	CHECK_ERR(skeys_entry_restore(f[0].fn), SKEYS_ERR_MISMATCH);
	CHECK(pads_same(was));
	pad_alter(f[0].fn);
	CHECK(f[0].call(1) == f[1].of1);
	CHECK_ERR(skeys_entry_restore(f[0].fn), 0);
	hits = 0;
	CHECK(add1(1) == 2 && add2(1) == 3 && mul3(1) == 3 && hits == 0 && all_hits == before);
}

/* ---- a backtrace from a handler ---------------------------------------- */

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

static void *frames[32];
static int n_frames;

static void backtracing(void *fn, void *data)
{
	(void)fn;
	(void)data;
	n_frames = backtrace(frames, 32);
}

/* ent_add1's caller: its return address lies in these first bytes. */
#define CALLER_SIZE 64

NOINLINE static int add1_caller(int x)
{
	int r = add1(x);

	__asm__ volatile("" : "+r"(r)); /* a call, not a tail call: this frame stays */
	return r;
}

/*
 * backtrace() from a handler walks out of the stub's routine into the
 * traced function (where its pad's call returns: the body) and on to
 * the function's caller, in that order.
 */
static void unwinding(void)
{
	uintptr_t body = (uintptr_t)patch_point((void *)ent_add1) + PATCH_LEN;
	uintptr_t caller = (uintptr_t)add1_caller;
	int at_body = -1, at_caller = -1;

	CHECK(add1_caller(1) == 2); /* backtrace()'s first call loads its unwinder */
	CHECK_ERR(skeys_entry_attach((void *)ent_add1, backtracing, NULL), 0);
	n_frames = 0;
	CHECK(add1_caller(1) == 2);
	CHECK_ERR(skeys_entry_detach((void *)ent_add1), 0);
	for (int i = 0; i < n_frames && at_body < 0; i++)
		if ((uintptr_t)frames[i] == body)
			at_body = i;
	/* The next frame: the call in add1_caller. */
	if (at_body >= 0 && at_body + 1 < n_frames && (uintptr_t)frames[at_body + 1] > caller &&
	    (uintptr_t)frames[at_body + 1] < caller + CALLER_SIZE)
		at_caller = at_body + 1;
	if (at_body < 0 || at_caller != at_body + 1) {
		char **names = backtrace_symbols(frames, n_frames);

		fprintf(stderr, "backtrace from the handler (%d frames): want ent_add1's body %p, "
				"then its caller add1_caller %p:\n",
			n_frames, (void *)body, (void *)caller);
		for (int i = 0; names && i < n_frames; i++)
			fprintf(stderr, "  %s\n", names[i]);
		free(names);
	}
	CHECK(at_body >= 0);
	CHECK(at_caller == at_body + 1);
}

/* ---- out of address space partway through attach_all ------------------ */

#if defined(__x86_64__) && defined(PLUGIN)
/* A function of the program, the module attach_all goes through first (lowest address). */
NOINLINE static int prog_add4(int x)
{
	int r = x + 4;

	__asm__ volatile("" : "+r"(r));
	return r;
}

static int (*volatile add4)(int) = prog_add4;

/* The process's address space now (VmSize), in bytes; 0 if unknown. */
static unsigned long vm_size(void)
{
	char line[128];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

NOINLINE static void stack_grow(void)
{
	volatile char room[1 << 16];

	memset((char *)room, 0, sizeof(room));
}

/*
 * In a child: prog_add4 traced by (count, &d1), whose stubs' page exists;
 * then no address space left but the heap's free room (RLIMIT_AS), so
 * attach_all gets the program's stubs and fails at the first module far
 * from them (the plugin, or in a shared layout the library), which needs
 * a new page of stubs. -ENOMEM, and prog_add4 still runs (count, &d1), no
 * pad changed; with room again attach_all succeeds. Before any other
 * test: those leave pages of stubs near every module. x86-64 only:
 * qemu-user, which runs the aarch64 build, accepts setrlimit(RLIMIT_AS)
 * and ignores it (it would limit the emulator).
 */
static void out_of_memory(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		unsigned char was[WATCHED][PAD_BYTES];
		void *h = dlopen(PLUGIN, RTLD_NOW), *p;
		struct rlimit lim, old;
		long before = all_hits;
		int d1, d2;

		CHECK(h != NULL);
		CHECK_ERR(skeys_entry_attach((void *)prog_add4, count, &d1), 0);
		/* What attach_all allocates comes from the heap's free room; the stack has grown. */
		CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1);
		CHECK(mallopt(M_MMAP_THRESHOLD, 4 << 20) == 1);
		p = malloc(1 << 20);
		free(p);
		stack_grow();
		pads_copy(was);
		CHECK(getrlimit(RLIMIT_AS, &old) == 0);
		lim = old;
		lim.rlim_cur = vm_size() + 4096;
		CHECK(lim.rlim_cur > 4096 && setrlimit(RLIMIT_AS, &lim) == 0);
		CHECK_ERR(skeys_entry_attach_all(count_all, &d2), -ENOMEM);
		CHECK(setrlimit(RLIMIT_AS, &old) == 0);
		CHECK(pads_same(was));
		hits = 0;
		CHECK(add4(1) == 5 && hits == 1 && last_data == &d1 && all_hits == before);
		CHECK(add1(1) == 2 && plain(1) == 1 && hits == 1 && all_hits == before);
		CHECK_ERR(skeys_entry_attach_all(count_all, &d2), 0);
		CHECK(add4(1) == 5 && hits == 1 && all_hits == before + 1);
		CHECK_ERR(skeys_entry_detach_all(), 0);
		_exit(failures ? 1 : 0);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
#endif

/* ---- attach and detach while other threads call the function ---------- */

#define THREADS 3
#define ROUNDS 200
#define MINE 50

static volatile int stop;
static int started;
static long called[THREADS];

static void *caller(void *arg)
{
	long *n = arg;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (add1(1) != 2)
			abort();
		if ((*n)++ == 0)
			__atomic_fetch_add(&started, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* A signal handler that calls the function whenever it interrupts. */
static volatile sig_atomic_t in_signal_calls;

static void on_alarm(int sig)
{
	(void)sig;
	if (add1(41) != 42)
		abort();
	in_signal_calls++;
}

/* A child forked between a switch and the next calls the function and exits. */
static void fork_calls(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(add1(1) == 2 && add2(1) == 3 ? 0 : 1);
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void under_threads(void)
{
	struct itimerval every = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa;
	sigset_t alarm_set;
	pthread_t t[THREADS];
	int r, i, k;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	CHECK(setitimer(ITIMER_REAL, &every, NULL) == 0);

	for (i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, caller, &called[i]) == 0);
	/* The signal goes to the callers: this thread counts its own calls. */
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	CHECK(pthread_sigmask(SIG_BLOCK, &alarm_set, NULL) == 0);
	/* Every thread calls the function before the first attach. */
	while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < THREADS)
		sched_yield();
	for (r = 0; r < ROUNDS; r++) {
		long before = hits;
		bool all = r % 10 == 5; /* every function, one batch, now and then */

		if (all)
			CHECK_ERR(skeys_entry_attach_all(count, NULL), 0);
		else
			CHECK_ERR(skeys_entry_attach((void *)ent_add1, count, NULL), 0);
		/* Once attach returned, every call runs the handler once. */
		for (k = 0; k < MINE; k++)
			CHECK(add1(k) == k + 1);
		CHECK(hits == before + MINE);
		if (all)
			CHECK_ERR(skeys_entry_detach_all(), 0);
		else
			CHECK_ERR(skeys_entry_detach((void *)ent_add1), 0);
		for (k = 0; k < MINE; k++)
			CHECK(add1(k) == k + 1);
		CHECK(hits == before + MINE);
		if (r % 50 == 0)
			fork_calls();
	}
	/* The signal handler called it at least once meanwhile. */
	while (!in_signal_calls)
		sched_yield();
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < THREADS; i++) {
		CHECK(pthread_join(t[i], NULL) == 0);
		CHECK(called[i] > 0);
	}
	CHECK(pthread_sigmask(SIG_UNBLOCK, &alarm_set, NULL) == 0);
}

#ifdef BTI_GUARDED
/*
 * The library's code is still BTI-guarded after all the patching above
 * (aarch64, run-entries.py --bti-lib): an indirect call to ent_add1's
 * patch point, which is no landing pad, kills a child with SIGILL.
 */
static void still_guarded(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int (*volatile past)(int);

		*(void **)&past = (char *)ent_add1 + 8; /* bti c; mov x9, x30; here */
		signal(SIGILL, SIG_DFL);
		_exit(past(1) == 2 ? 0 : 1);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGILL);
}
#endif

int main(void)
{
	CHECK_ERR(skeys_check_sealed(), 0);
#if defined(__x86_64__) && defined(PLUGIN)
	out_of_memory();
#endif
	redirection();
	tracing();
	one_shot();
	arguments();
	refusals();
	far_redirect();
	failed_calls();
	unwinding();
	everything();
	/* qemu-i386 never returns from pthread_create (run-entries.py, under it). */
	if (getenv("SKEYS_TEST_NO_THREADS"))
		puts("entries: threads skipped (SKEYS_TEST_NO_THREADS)");
	else
		under_threads();
#ifdef BTI_GUARDED
	still_guarded();
#endif
	if (failures)
		return 1;
	puts("entries: ok");
	return 0;
}
