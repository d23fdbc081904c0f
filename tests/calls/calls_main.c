/* SPDX-License-Identifier: MIT */
/*
 * Static calls end to end (built as C and as C++ by run-calls.py): near
 * and far targets, NULL and RET0, query, threads calling while another
 * thread updates. With -DWITH_LIB, calls across a shared library too.
 * Run as `calls inline` (x86-64, linked with --emit-relocs), its call
 * sites are checked to call the target directly; as `calls`, the trampoline.
 * Also built for Windows (tests/cross/run-pe-calls.py), the library a DLL.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "../testing.h"
#include "calls.h"

#include <ctype.h>
#ifdef __ELF__
#include <dlfcn.h>
#endif
#include <errno.h>
#include <pthread.h>
#include <skeys.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
/* <windows.h> defines `far` and `near` away (16-bit pointers): a call here is named far. */
#undef far
#undef near
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

int add1(int x);
int add2(int x);
int add3(int x);
/* calls_other.c */
int other_call(int x);
int other_update(int (*fn)(int));
int other_own(int x);
/* calls_kernel.c */
int kernel_call(int x);
int kernel_update(int (*fn)(int));
int (*kernel_query(void))(int);
void kernel_hook(void);
int kernel_hook_update(void (*fn)(void));
int add1(int x)
{
	return x + 1;
}
int add2(int x)
{
	return x + 2;
}
static int counter;
static void bump(void)
{
	counter++;
}
static void bump_hook(void)
{
	bump();
}
static int twice(int x)
{
	return 2 * x;
}

SKEYS_DEFINE_CALL(op, add1);
SKEYS_DEFINE_CALL_NULL(hook, bump);
SKEYS_DEFINE_CALL_RET0(r0, add1);
SKEYS_DEFINE_CALL(far, twice);
#if defined(__i386__)
static long long wide(void)
{
	return 0x100000001LL;
}

/* A 64-bit result comes back in %edx:%eax: the return-0 stub clears both. */
SKEYS_DEFINE_CALL_RET0(r64, wide);

/* r64's trampoline called with %edx = -1, as a caller's leftover could be. */
static long long call_r64_dirty_edx(void)
{
	long long (*fn)(void) = skeys_call(r64);
	long long r;

	__asm__ volatile("movl $-1, %%edx\n\tcall *%1" : "=A"(r), "+c"(fn) : : "cc", "memory");
	return r;
}

static int __attribute__((regparm(3))) sum3(int a, int b, int c)
{
	return a + 2 * b + 3 * c;
}
SKEYS_DEFINE_CALL(rp, sum3);
#endif

/*
 * The trampoline's slot, as each architecture writes it
 * (docs/architectures.md): which form, and whether a target is beyond the
 * near form's reach.
 */
enum { F_NEAR = 1, F_FAR, F_RET0, F_OTHER };

/* i686: a rel32 reaches everything, no target is ever far (only as compiled). */
#if defined(__i386__)
#define HAS_FAR 0
#else
#define HAS_FAR 1
#endif

#if defined(__aarch64__)
#define SLOT_NOP 0xd503201fu
#define SLOT_J_RET0 0x14000004u /* b slot + 16 */
#define SLOT_J_MASK 0xfc000000u
#define SLOT_J 0x14000000u /* b */
#define SLOT_REACH 27 /* +-2^27 bytes */
#elif defined(__riscv)
#define SLOT_NOP 0x00000013u
#define SLOT_J_RET0 0x0100006fu /* j slot + 16 */
#define SLOT_J_MASK 0x00000fffu
#define SLOT_J 0x0000006fu /* jal x0 */
#define SLOT_REACH 20
#elif defined(__arm__)
/* The trampoline is A32 in Thumb units too. */
#define SLOT_NOP 0xe320f000u
#define SLOT_J_RET0 0xea000003u /* b slot + 20 */
#define SLOT_J_MASK 0xff000000u
#define SLOT_J 0xea000000u /* b */
#define SLOT_REACH 25
#elif defined(__powerpc64__)
#define SLOT_NOP 0x60000000u
#define SLOT_J_RET0 0x48000028u /* b slot + 40 */
#define SLOT_J_MASK 0xfc000003u
#define SLOT_J 0x48000000u /* b (never written: no near form) */
#define SLOT_REACH 25
#endif

#if !defined(__x86_64__) && !defined(__i386__) && !defined(__s390x__)
/* An instruction word, in the code's (the machine's) byte order. */
static uint32_t word_at(const unsigned char *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return w;
}
#endif

static const unsigned char *slot_of(const unsigned char *p)
{
#if defined(__aarch64__)
	if (word_at(p) == 0xd503245fu) /* bti c */
		p += 4;
#endif
	return p;
}

static int form_at(const unsigned char *p)
{
	p = slot_of(p);
#if defined(__x86_64__) || (defined(__i386__) && defined(_WIN32))
	/* (PE's i386 trampoline is x86-64's: <skeys/arch/i386.h>) */
	return p[0] == 0xe9 ? F_NEAR : p[0] == 0xff ? F_FAR : p[0] == 0xeb ? F_RET0 : F_OTHER;
#elif defined(__i386__)
	return p[0] == 0xe9 ? F_NEAR : p[0] == 0x66 ? F_FAR : p[0] == 0xeb ? F_RET0 : F_OTHER;
#elif defined(__s390x__)
	/* brcl 0 (on through lit) or brcl 15 (to ret0), always to ret0, 10 halfwords on */
	if (p[0] != 0xc0 || p[2] || p[3] || p[4] || p[5] != 10)
		return F_OTHER;
	return p[1] == 0x04 ? F_FAR : p[1] == 0xf4 ? F_RET0 : F_OTHER;
#else
	{
		/* One word: nop (through lit), a jump to the return-0 stub, or a jump. */
		uint32_t w = word_at(p);

		if (w == SLOT_NOP)
			return F_FAR;
		if (w == SLOT_J_RET0)
			return F_RET0;
		return (w & SLOT_J_MASK) == SLOT_J ? F_NEAR : F_OTHER;
	}
#endif
}

static const unsigned char *bytes_of(int (*tramp)(int))
{
	const unsigned char *p;

	memcpy(&p, &tramp, sizeof(p));
	return p;
}

static int form_of(int (*tramp)(int))
{
	return form_at(bytes_of(tramp));
}

/* Whether fn is out of the near jump's reach from the trampoline's slot. */
static int is_far(int (*tramp)(int), int (*fn)(int))
{
	uintptr_t t = (uintptr_t)slot_of(bytes_of(tramp)), f;

	memcpy(&f, &fn, sizeof(f));
#if defined(__x86_64__)
	f -= t + 5;
	return (intptr_t)f != (intptr_t)(int32_t)(intptr_t)f;
#elif defined(__i386__)
	(void)t;
	(void)f;
	return 0; /* a rel32 reaches every address */
#elif defined(__s390x__)
	(void)t;
	(void)f;
	return 1; /* no near form: every target is called through lit */
#elif defined(__powerpc64__)
	(void)t;
	(void)f;
	return 1; /* no near form: a target's global entry wants r12 = its address */
#else
#if defined(__arm__)
	if (f & 1)
		return 1; /* Thumb: b cannot reach it, whatever the distance */
	t += 8;
#endif
	f -= t;
	return (intptr_t)f < -((intptr_t)1 << SLOT_REACH) ||
	       (intptr_t)f >= ((intptr_t)1 << SLOT_REACH);
#endif
}

/* The form an update to fn must leave: near where the slot's jump reaches fn. */
static int expected_form(int (*tramp)(int), int (*fn)(int))
{
	return is_far(tramp, fn) ? F_FAR : F_NEAR;
}

static long page_size(void)
{
#ifdef _WIN32
	SYSTEM_INFO si;

	GetSystemInfo(&si);
	return (long)si.dwPageSize;
#else
	return sysconf(_SC_PAGESIZE);
#endif
}

/* `len` bytes of code in a page of its own at `hint` (or NULL), made executable. */
static void *map_code(uintptr_t hint, size_t pg, const void *code, size_t len)
{
#ifdef _WIN32
	DWORD old;
	void *p = VirtualAlloc((void *)hint, pg, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);

	if (!p)
		return NULL;
	memcpy(p, code, len);
	if (!VirtualProtect(p, pg, PAGE_EXECUTE_READ, &old)) {
		VirtualFree(p, 0, MEM_RELEASE);
		return NULL;
	}
	FlushInstructionCache(GetCurrentProcess(), p, len);
	return p;
#else
	void *p = mmap((void *)hint, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, code, len);
	__builtin___clear_cache((char *)p, (char *)p + len);
	if (mprotect(p, pg, PROT_READ | PROT_EXEC)) {
		munmap(p, pg);
		return NULL;
	}
	return p;
#endif
}

static void unmap_code(void *p, size_t pg)
{
#ifdef _WIN32
	(void)pg;
	VirtualFree(p, 0, MEM_RELEASE);
#else
	munmap(p, pg);
#endif
}

/*
 * A function out of every near form's reach, on every architecture and in
 * every link mode: `x + add` as machine code in a page mapped out of the
 * near form's reach (NULL if no such page could be had).
 */
static int (*far_function(int (*tramp)(int), int add))(int)
{
#if defined(__x86_64__) && defined(_WIN32)
	const unsigned char code[] = { 0x8d, 0x41, (unsigned char)add, 0xc3 }; /* lea add(%rcx),%eax; ret */
#elif defined(__x86_64__)
	const unsigned char code[] = { 0x8d, 0x47, (unsigned char)add, 0xc3 }; /* lea add(%rdi),%eax; ret */
#elif defined(__i386__)
	/* mov 4(%esp),%eax; add $add,%eax; ret */
	const unsigned char code[] = { 0x8b, 0x44, 0x24, 0x04, 0x83, 0xc0, (unsigned char)add, 0xc3 };
#elif defined(__aarch64__)
	/* add w0, w0, #add; ret */
	const uint32_t code[] = { 0x11000000u | (uint32_t)add << 10, 0xd65f03c0u };
#elif defined(__riscv)
	/* addiw a0, a0, add; ret */
	const uint32_t code[] = { (uint32_t)add << 20 | 0x0005051bu, 0x00008067u };
#elif defined(__s390x__)
	/* aghi %r2, add; br %r14 */
	const unsigned char code[] = { 0xa7, 0x2b, 0x00, (unsigned char)add, 0x07, 0xfe };
#elif defined(__powerpc64__)
	/* addi 3, 3, add; extsw 3, 3; blr */
	const uint32_t code[] = { 0x38630000u | (uint32_t)add, 0x7c6307b4u, 0x4e800020u };
#elif defined(__arm__)
	/* A32: add r0, r0, #add; bx lr */
	const uint32_t code[] = { 0xe2800000u | (uint32_t)add, 0xe12fff1eu };
#endif
	uintptr_t t = (uintptr_t)slot_of(bytes_of(tramp));
	long pg = page_size();
	int (*fn)(int);
	int i;

	for (i = 1; i < 64; i++) {
		/* 4 GiB steps; 256 MiB in a 32-bit address space */
		uintptr_t step = sizeof(void *) == 8 ? (uintptr_t)1 << 16 << 16 : (uintptr_t)1 << 28;
		uintptr_t hint = (t & ~(uintptr_t)(pg - 1)) + (uintptr_t)i * step;
		void *p = map_code(hint, (size_t)pg, code, sizeof(code));

		if (!p)
			continue;
		memcpy(&fn, &p, sizeof(fn));
		if (is_far(tramp, fn) || !HAS_FAR)
			return fn;
		unmap_code(p, (size_t)pg);
	}
	return NULL;
}

static int (*far5)(int), (*far7)(int); /* x + 5, x + 7: far from op's trampoline */

#ifdef __cplusplus
/* A call defined in a namespace, calling a function of it; overloads. */
namespace ns {
static int ov(int x)
{
	return x + 100;
}
[[maybe_unused]] static long ov(long x)
{
	return x + 200;
}
static int thousand(int x)
{
	return x + 1000;
}
SKEYS_DEFINE_CALL(ns_call, thousand);
} // namespace ns
#endif

/* Inline call sites: a call whose result is used, a tail call, a cond call. */
static int inline_mode;
static int counter2;
__attribute__((noinline)) static int via_op(int x)
{
	return skeys_call(op)(x) * 2;
}
__attribute__((noinline)) static int via_op_tail(int x)
{
	return skeys_call(op)(x);
}
__attribute__((noinline)) static void via_hook(void)
{
	skeys_call_cond(hook)();
	counter2++;
}

#define CODE(f) ((const void *)(uintptr_t)(f))

#if defined(__x86_64__) && defined(__ELF__)
/* Whether a call or jmp rel32 in fn's first bytes leads to dest. */
static int reaches(const void *fn, const void *dest)
{
	const unsigned char *p = (const unsigned char *)fn;
	int32_t d;
	int i;

	for (i = 0; i < 32; i++) {
		if (p[i] != 0xe8 && p[i] != 0xe9)
			continue;
		memcpy(&d, p + i + 1, 4);
		if (p + i + 5 + d == (const unsigned char *)dest)
			return 1;
	}
	return 0;
}

/*
 * The sites of `via_op` and `via_op_tail` lead to fn directly when they
 * are inline sites and fn is in reach (else through the trampoline), and
 * they call it.
 */
static void check_sites(int (*fn)(int), int arg, int want)
{
	int (*tramp)(int) = skeys_call(op);
	int direct = inline_mode && fn && !is_far(via_op, fn);

	CHECK(via_op(arg) == 2 * want && via_op_tail(arg) == want);
	CHECK(reaches(CODE(via_op), direct ? CODE(fn) : CODE(tramp)));
	CHECK(reaches(CODE(via_op_tail), direct ? CODE(fn) : CODE(tramp)));
}

static void inline_sites(void)
{
	void (*tcond)(void) = skeys_call_cond(hook);

	CHECK(skeys_call_update(op, add2) == 0);
	check_sites(add2, 1, 3);
	CHECK(skeys_call_update(op, far5) == 0); /* out of a rel32's reach */
	check_sites(far5, 1, 6);
	CHECK(skeys_call_update(op, abs) == 0); /* libc: far from a PIE executable */
	check_sites(abs, -5, 5);
	CHECK(skeys_call_update(op, NULL) == 0); /* not a cond site: the trampoline returns 0 */
	CHECK(via_op(1) == 0 && via_op_tail(1) == 0);
	CHECK(reaches(CODE(via_op), CODE(skeys_call(op))));
	CHECK(skeys_call_update(op, add1) == 0);
	check_sites(add1, 1, 2);

	/* A cond site: a nop while there is no target. */
	CHECK(skeys_call_update(hook, NULL) == 0);
	counter = counter2 = 0;
	via_hook();
	CHECK(counter == 0 && counter2 == 1);
	CHECK(inline_mode ? !reaches(CODE(via_hook), CODE(tcond)) && !reaches(CODE(via_hook), CODE(bump))
			  : reaches(CODE(via_hook), CODE(tcond)));
	CHECK(skeys_call_update(hook, bump) == 0);
	via_hook();
	CHECK(counter == 1 && counter2 == 2);
	CHECK(reaches(CODE(via_hook), inline_mode ? CODE(bump) : CODE(tcond)));
	CHECK(skeys_call_update(hook, NULL) == 0);
	via_hook();
	CHECK(counter == 1 && counter2 == 3);
	CHECK(reaches(CODE(via_hook), CODE(tcond)) == !inline_mode);
	counter = 0;
}
#endif

/* Calls across modules (SKEYS_EXPORT_CALL, SKEYS_IMPORT_CALL): ELF (every architecture), and PE. */
#if defined(WITH_LIB) && (defined(__ELF__) || defined(_WIN32))
#define CALLS_ACROSS 1
#endif

#ifdef CALLS_ACROSS
/* The library's call, imported: a proxy with its own trampoline and sites. */
SKEYS_IMPORT_CALL(shared_op, lib_add10);
__attribute__((noinline)) static int via_shared(int x)
{
	return skeys_call(shared_op)(x) * 2;
}

/* Both sides reach the target, and the importer's site calls it directly once rewritten. */
static void check_shared(int (*fn)(int), int arg, int want, int direct)
{
	CHECK(lib_shared_call(arg) == want && skeys_call(shared_op)(arg) == want);
	CHECK(via_shared(arg) == 2 * want);
	CHECK(skeys_call_query(shared_op) == fn);
	/*
	 * The proxy's own slot: as compiled, through its lit (the exporter's
	 * trampoline); once an update reached it, the form the target's
	 * distance asks for (a target in another module is far from a PIE on
	 * x86-64 and aarch64).
	 */
	CHECK(form_of(skeys_call(shared_op)) ==
	      (direct ? expected_form(skeys_call(shared_op), fn) : F_FAR));
#if defined(__x86_64__) && defined(__ELF__)
	if (inline_mode && direct)
		CHECK(reaches(CODE(via_shared), is_far(via_shared, fn) ? CODE(skeys_call(shared_op))
									: CODE(fn)));
#endif
}

/* A plugin: dlopen on ELF, LoadLibrary on Windows. */
#ifdef _WIN32
static void *plugin_open(const char *path)
{
	return (void *)LoadLibraryA(path);
}
static void *plugin_sym(void *h, const char *name)
{
	return (void *)(uintptr_t)GetProcAddress((HMODULE)h, name);
}
static int plugin_close(void *h)
{
	return FreeLibrary((HMODULE)h) ? 0 : -1;
}
static int plugin_loaded(const char *path)
{
	return GetModuleHandleA(path) != NULL;
}
#else
static void *plugin_open(const char *path)
{
	return dlopen(path, RTLD_NOW);
}
static void *plugin_sym(void *h, const char *name)
{
	return dlsym(h, name);
}
static int plugin_close(void *h)
{
	return dlclose(h);
}
static int plugin_loaded(const char *path)
{
	return dlopen(path, RTLD_NOW | RTLD_NOLOAD) != NULL;
}
#endif

/*
 * A plugin importing the call (CALLS_PLUGIN): updated through its proxy,
 * then unloaded; the next update must not reach for the proxy that went.
 */
static void plugin_unload(void)
{
	const char *path = getenv("CALLS_PLUGIN");
	int (*call)(int), (*update)(int (*)(int));
	void *h;

	if (!path)
		return;
	/* Loaded after an update: the plugin's proxy reaches the current target. */
	CHECK(lib_shared_update(add3) == 0);
	h = plugin_open(path);
	CHECK(h != NULL);
	if (!h)
		return;
	*(void **)&call = plugin_sym(h, "plugin_call");
	*(void **)&update = plugin_sym(h, "plugin_update");
	CHECK(call && update);
	if (!call || !update)
		return;
	CHECK(call(1) == 4);
	CHECK(update(add1) == 0);
	CHECK(call(1) == 2 && lib_shared_call(1) == 2 && via_shared(1) == 4);
	CHECK(plugin_close(h) == 0);
	CHECK(!plugin_loaded(path)); /* gone */
	CHECK(lib_shared_update(add2) == 0);
	CHECK(lib_shared_call(1) == 3 && via_shared(1) == 6);
	CHECK(skeys_call_update(shared_op, lib_add10) == 0);
	puts("plugin unloaded");
}

static void across_modules(void)
{
	/* As loaded: the proxy jumps through the exporter's trampoline. */
	check_shared(lib_add10, 1, 11, 0);
	/* From the exporter's side: the proxy, never updated, follows. */
	CHECK(lib_shared_update(add2) == 0);
	check_shared(add2, 1, 3, 0);
	/* From the importer's side: both, and its site calls the target. */
	CHECK(skeys_call_update(shared_op, add1) == 0);
	check_shared(add1, 1, 2, 1);
	/* The exporter's side again: the proxy is rewritten with it. */
	CHECK(lib_shared_update(add2) == 0);
	check_shared(add2, 1, 3, 1);
	/* Far targets (mapped out of every near form's reach), from either side. */
	if (far5 && far7) {
		CHECK(skeys_call_update(shared_op, far5) == 0);
		check_shared(far5, 1, 6, 1);
		CHECK(lib_shared_update(far7) == 0);
		check_shared(far7, 1, 8, 1);
	}
	CHECK(lib_shared_update(NULL) == 0);
	CHECK(lib_shared_call(1) == 0 && via_shared(1) == 0 && skeys_call_query(shared_op) == NULL);
	CHECK(form_of(skeys_call(shared_op)) == F_RET0);
	CHECK(skeys_call_update(shared_op, lib_add10) == 0);
	check_shared(lib_add10, 1, 11, 1);
	/*
	 * The library's function from the executable's proxy: far on x86-64
	 * (run-calls.py checks, natively); under qemu-user the emulator may map
	 * the library within a near jump's reach; i686's rel32 reaches all.
	 */
	printf("across: library target %s\n", is_far(skeys_call(shared_op), lib_add10) ? "far" : "near");
	plugin_unload();
}
#endif

/* Code at p made writable (on) or not, as a debugger would. 0 or -1. */
static int code_writable(void *p, int on)
{
#ifdef _WIN32
	DWORD old;

	return VirtualProtect(p, 16, on ? PAGE_EXECUTE_READWRITE : PAGE_EXECUTE_READ, &old) ? 0 : -1;
#else
	long pg = page_size();
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)(pg - 1);

	return mprotect((void *)page, (size_t)pg, PROT_READ | PROT_EXEC | (on ? PROT_WRITE : 0));
#endif
}

/* Looks like a call object, but no sealed call table lists it. */
static struct skeys_call forged = { 0, 0, 0, SKEYS_CALL_MAGIC, 0, 0 };

static volatile int stop;
static unsigned long ticks;

static void tick(void)
{
	__atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
}

/* One result of op: add1, add2, abs, far5, far7 or none, nothing else. */
static void expect_op(int r)
{
	if (r != 2 && r != 3 && r != 1 && r != 0 && r != 6 && r != 8) {
		fprintf(stderr, "caller: got %d\n", r);
		abort();
	}
}

static void *caller(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!stop) {
		expect_op(skeys_call(op)(1));
		/* Inline sites (a call, a tail call) and a cond site, when linked to have them. */
		expect_op(via_op(1) / 2);
		expect_op(via_op_tail(1));
		skeys_call_cond(hook)();
		via_hook();
		n++;
	}
	return (void *)(uintptr_t)n;
}

static void threads(void)
{
	/* Every change of form: near to far, far to far (the literal alone), far
	 * to none, none to libc's, far to near, near to near. */
	int (*const targets[])(int) = { add2, far5, far7, NULL, abs, far7, add1 };
	const int expect[] = { 3, 6, 8, 0, 1, 8, 2 };
	pthread_t t[3];
	unsigned long calls = 0;
	int i, k;

	for (i = 0; i < 3; i++)
		CHECK(pthread_create(&t[i], NULL, caller, NULL) == 0);
	for (i = 0; i < 2000; i++) {
		k = i % 7;
		CHECK(skeys_call_update(op, targets[k]) == 0);
		CHECK(skeys_call_update(hook, i % 2 ? tick : NULL) == 0);
		/* Once update returns, only the new target. */
		CHECK(skeys_call(op)(1) == expect[k]);
		CHECK(via_op(1) == 2 * expect[k] && via_op_tail(1) == expect[k]);
	}
	CHECK(skeys_call_update(hook, NULL) == 0);
	stop = 1;
	for (i = 0; i < 3; i++) {
		void *n;

		CHECK(pthread_join(t[i], &n) == 0);
		calls += (unsigned long)(uintptr_t)n;
	}
	printf("threads: %lu calls during 2000 updates\n", calls);
}

int main(int argc, char **argv)
{
	int far_seen = 0;

	/* Not sealed by skeys-seal: refused, and the call stays as it was. */
	if (argc > 1 && !strcmp(argv[1], "unsealed")) {
		CHECK_ERR(skeys_call_update(op, add2), SKEYS_ERR_UNSEALED);
		CHECK(skeys_call(op)(1) == 2 && skeys_call_query(op) == add1);
		return failures != 0;
	}
	/* Its call table's header says another version (built against other headers). */
	if (argc > 1 && !strcmp(argv[1], "other-version")) {
		CHECK_ERR(skeys_call_update(op, add2), SKEYS_ERR_ABI);
		CHECK(skeys_call(op)(1) == 2 && skeys_call_query(op) == add1);
		return failures != 0;
	}
	/* One of its inline call sites changed after sealing (--mode tamper --relocs). */
	if (argc > 1 && !strcmp(argv[1], "tampered-site")) {
		CHECK_ERR(skeys_call_update(op, add2), SKEYS_ERR_MISMATCH);
		CHECK(skeys_call(op)(1) == 2 && skeys_call_query(op) == add1);
		return failures != 0;
	}
	if (argc > 1 && !strcmp(argv[1], "inline"))
		inline_mode = 1;
#if defined(__x86_64__) && defined(__ELF__)
	/* As compiled, every site calls the trampoline. */
	CHECK(reaches(CODE(via_op), CODE(skeys_call(op))));
	CHECK(reaches(CODE(via_op_tail), CODE(skeys_call(op))));
#endif
	/* Its sealed call table changed afterwards (run-calls.py --mode tamper). */
	if (argc > 1 && !strcmp(argv[1], "tampered")) {
		CHECK_ERR(skeys_call_update(op, add2), SKEYS_ERR_CHECKSUM);
		CHECK(skeys_call(op)(1) == 2);
		return failures != 0;
	}

	/* As compiled: through the call object, then near once updated. */
	CHECK(skeys_call(op)(1) == 2);
	CHECK(skeys_call_query(op) == add1);
	CHECK(form_of(skeys_call(op)) == F_FAR);
	CHECK(skeys_call_update(op, add2) == 0);
	CHECK(skeys_call(op)(1) == 3);
	CHECK(skeys_call_query(op) == add2);
	CHECK(form_of(skeys_call(op)) == expected_form(skeys_call(op), add2));

	/* The same call from another file (SKEYS_DECLARE_CALL), and that file's own. */
	CHECK(other_call(1) == 3);
	CHECK(other_update(add3) == 0);
	CHECK(skeys_call(op)(1) == 4 && other_call(1) == 4);
	CHECK(skeys_call_update(op, add2) == 0);
	CHECK(other_own(1) == 4);

#ifdef __cplusplus
	using namespace ns; /* its call's names are found as any of its names */

	/* An overloaded name: the update takes the overload of the call's type. */
	CHECK(skeys_call_update(op, ns::ov) == 0);
	CHECK(skeys_call(op)(1) == 101 && skeys_call(ns_call)(1) == 1001);
	CHECK(skeys_call_update(ns_call, ns::ov) == 0 && skeys_call(ns_call)(1) == 101);
	CHECK(skeys_call_update(op, add2) == 0);
#endif

	/* The kernel's names (<skeys/kernel.h>). */
	CHECK(kernel_call(1) == 2 && kernel_query() == add1);
	CHECK(kernel_update(add3) == 0);
	CHECK(kernel_call(1) == 4 && kernel_query() == add3);
	kernel_hook(); /* no target: nothing */
	CHECK(kernel_hook_update(bump_hook) == 0);
	kernel_hook();
	CHECK(counter == 1 && kernel_hook_update(NULL) == 0);
	counter = 0;

	/*
	 * A debugger's breakpoint on the trampoline's slot: refused, nothing
	 * written. x86 tells an int3 and says so; elsewhere (a brk) the slot
	 * does not hold what the runtime wrote.
	 */
	{
		unsigned char *p = (unsigned char *)(uintptr_t)slot_of(bytes_of(skeys_call(op)));
		unsigned char saved[4];

		memcpy(saved, p, 4);
		CHECK(code_writable(p, 1) == 0);
#if defined(__x86_64__) || defined(__i386__)
		p[0] = 0xcc;
		CHECK_ERR(skeys_call_update(op, add1), SKEYS_ERR_BREAKPOINT);
#elif defined(__aarch64__)
		memcpy(p, "\x00\x00\x20\xd4", 4); /* brk #0 */
		CHECK_ERR(skeys_call_update(op, add1), SKEYS_ERR_MISMATCH);
#elif defined(__riscv)
		memcpy(p, "\x73\x00\x10\x00", 4); /* ebreak */
		CHECK_ERR(skeys_call_update(op, add1), SKEYS_ERR_MISMATCH);
#elif defined(__arm__)
		memcpy(p, "\xf0\x00\xf0\xe7", 4); /* udf #0 */
		CHECK_ERR(skeys_call_update(op, add1), SKEYS_ERR_MISMATCH);
#elif defined(__powerpc64__)
		memcpy(p, "\x08\x00\xe0\x7f", 4); /* trap */
		CHECK_ERR(skeys_call_update(op, add1), SKEYS_ERR_MISMATCH);
#elif defined(__s390x__)
		memcpy(p, "\x00\x00", 2); /* an invalid opcode */
		CHECK_ERR(skeys_call_update(op, add1), SKEYS_ERR_MISMATCH);
#endif
		memcpy(p, saved, 4);
		__builtin___clear_cache((char *)p, (char *)p + 4);
		CHECK(code_writable(p, 0) == 0);
		CHECK(skeys_call(op)(1) == 3);
	}

	/* Only call objects of a sealed table are updated. */
	CHECK_ERR(skeys_call_set(&forged, 0), SKEYS_ERR_NOTKEY);
	CHECK_ERR(skeys_call_set(NULL, 0), -EINVAL);

	/* NULL: cond calls do nothing, non-void calls return 0. */
	skeys_call_cond(hook)();
	CHECK(counter == 0 && skeys_call_query(hook) == NULL);
	CHECK(skeys_call_update(hook, bump) == 0);
	skeys_call_cond(hook)();
	CHECK(counter == 1);
	CHECK(skeys_call_update(hook, NULL) == 0);
	skeys_call_cond(hook)();
	CHECK(counter == 1);
	CHECK(skeys_call_update(op, NULL) == 0);
	CHECK(skeys_call(op)(1) == 0 && skeys_call_query(op) == NULL);

	/* RET0: returns 0 until updated. */
	CHECK(skeys_call(r0)(5) == 0 && skeys_call_query(r0) == NULL);
	CHECK(skeys_call_update(r0, add2) == 0);
	CHECK(skeys_call(r0)(5) == 7);
#if defined(__i386__)
	CHECK(call_r64_dirty_edx() == 0);
	CHECK(skeys_call_update(r64, wide) == 0 && call_r64_dirty_edx() == 0x100000001LL);
	CHECK(skeys_call_update(r64, NULL) == 0 && call_r64_dirty_edx() == 0);
#endif

	/* A libc function: far from a PIE executable, possibly near otherwise. */
	CHECK(skeys_call(far)(4) == 8);
	CHECK(skeys_call_update(far, abs) == 0);
	CHECK(skeys_call(far)(-4) == 4);
	far_seen |= is_far(skeys_call(far), abs);
	CHECK(form_of(skeys_call(far)) == expected_form(skeys_call(far), abs));
	CHECK(skeys_call_update(far, toupper) == 0); /* far to far: the literal alone */
	CHECK(skeys_call(far)('a') == 'A');
	CHECK(skeys_call_update(far, twice) == 0);
	CHECK(skeys_call(far)(4) == 8 &&
	      form_of(skeys_call(far)) == expected_form(skeys_call(far), twice));

#ifdef WITH_LIB
	/* Across a shared library: each call's trampoline is in its own module. */
	CHECK(lib_call(1) == 11);
	CHECK(lib_update(add2) == 0);
	CHECK(lib_call(1) == 3 && lib_query() == add2);
	far_seen |= form_at(lib_tramp()) == F_FAR;
	CHECK(skeys_call_update(op, lib_add10) == 0);
	CHECK(skeys_call(op)(1) == 11);
	far_seen |= is_far(skeys_call(op), lib_add10);
	CHECK(lib_update(NULL) == 0 && lib_call(1) == 0);
#endif

	/* Functions mapped far away: the far form, far to far, none, back near. */
	far5 = far_function(skeys_call(op), 5);
	far7 = far_function(skeys_call(op), 7);
	CHECK(far5 && far7);
#ifdef CALLS_ACROSS
	across_modules();
#endif
	if (far5 && far7) {
		CHECK(skeys_call_update(op, far5) == 0);
		CHECK(skeys_call(op)(1) == 6 &&
		      form_of(skeys_call(op)) == expected_form(skeys_call(op), far5));
		CHECK(skeys_call_update(op, far7) == 0);
		CHECK(skeys_call(op)(1) == 8 &&
		      form_of(skeys_call(op)) == expected_form(skeys_call(op), far7) &&
		      skeys_call_query(op) == far7);
		CHECK(skeys_call_update(op, NULL) == 0);
		CHECK(skeys_call(op)(1) == 0 && form_of(skeys_call(op)) == F_RET0);
		CHECK(skeys_call_update(op, far5) == 0);
		CHECK(skeys_call(op)(1) == 6 &&
		      form_of(skeys_call(op)) == expected_form(skeys_call(op), far5));
		CHECK(skeys_call_update(op, add2) == 0);
		CHECK(skeys_call(op)(1) == 3 &&
		      form_of(skeys_call(op)) == expected_form(skeys_call(op), add2));
		far_seen = HAS_FAR;
	}
	CHECK(skeys_call_update(op, add1) == 0);
#if defined(__x86_64__) && defined(__ELF__)
	if (far5 && far7)
		inline_sites();
#endif
	if (HAS_FAR)
		printf("far=%d\n", far_seen);
	else
		puts("far=n/a (no target is out of the near form's reach)");

#if defined(__i386__)
	/* Arguments in registers: the compiled form's tail keeps them all. */
	CHECK(skeys_call(rp)(1, 2, 3) == 14 &&
	      form_at(bytes_of((int (*)(int))(void (*)(void))skeys_call(rp))) == F_FAR);
	CHECK(skeys_call_update(rp, sum3) == 0 && skeys_call(rp)(1, 2, 3) == 14);
#endif

	/* qemu-i386 never returns from pthread_create (run-calls.py --no-threads). */
	if (getenv("SKEYS_TEST_NO_THREADS"))
		puts("threads: skipped (SKEYS_TEST_NO_THREADS)");
	else if (!failures)
		threads();
	if (!failures)
		puts("calls ok");
	return failures != 0;
}
