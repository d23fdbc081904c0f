/* SPDX-License-Identifier: MIT */
/*
 * Hook stubs keep a call intact: `hook_args MODE`
 *
 *   c      integer, pointer, double, float, long double, __m128, varargs
 *          and struct-by-value arguments (in registers and in memory), and
 *          a struct returned through memory, through a pad whose stub runs
 *          a handler that clobbers every register it may (memset, memcpy,
 *          snprintf of doubles, every vector register set to ones)
 *   avx    the same with __m256 arguments (77 without AVX)
 *   regs   in assembly: every argument register (rdi rsi rdx rcx r8 r9,
 *          rax, r10, xmm0-7 at full ymm width), callee-saved ones, a stack
 *          argument and the stack pointer, bit for bit
 *   far    `c` with the pads mapped more than 2 GiB from the runtime: the
 *          stubs are near the pads; and redirection (jump) pads near and far
 *   full   a pad whose ±2 GiB are all taken (reserved here): the stub is
 *          refused with -ENOMEM and a log message naming the pad, and a
 *          redirection to a far replacement too
 *
 * Each runs once per width the CPU lets the stubs save the vector
 * registers at (zmm, ymm, xmm; xmm only with SSE arguments, as on a CPU
 * without AVX).
 *
 * i686 (built with -msse2): `c` adds __m64 arguments (in mm0-mm2, the x87
 * unit in MMX mode at the call: the handler's floating point must still
 * work, and the body must see them), regparm(3) and fastcall functions;
 * `regs` checks eax ecx edx ebx esi edi ebp, xmm0-7, a stack argument and
 * the stack pointer; `far` and `full` do not apply (a rel32 reaches every
 * address: 77).
 */
#include "hook_pads.h"
#include "../../testing.h"

#include <skeys.h>

#include <cpuid.h>
#include <immintrin.h>
#include <stdarg.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

static bool have_avx;
static unsigned long handler_calls;
static bool handler_fp_ok = true; /* the handler's own floating point came out right */
static void *handler_fn, *handler_data;

/* ---- the handler: clobbers what it may ---------------------------------- */

/*
 * x86-64: two of the registers above the eight that carry arguments;
 * i686: none (it has eight), but mm0-mm2 carry arguments: set, then
 * emptied as the ABI wants before x87 code.
 */
#if defined(__i386__)
#define CLOBBER_YMM_HIGH ""
#define CLOBBER_YMM_HIGH_REGS
#define CLOBBER_XMM_HIGH                                                                       \
	"pcmpeqd %%mm0, %%mm0\n\t"                                                             \
	"pcmpeqd %%mm1, %%mm1\n\t"                                                             \
	"pcmpeqd %%mm2, %%mm2\n\t"                                                             \
	"pcmpeqd %%mm7, %%mm7\n\t"                                                             \
	"emms\n\t"
#define CLOBBER_XMM_HIGH_REGS , "mm0", "mm1", "mm2", "mm7"
#else
#define CLOBBER_YMM_HIGH                                                                       \
	"vpcmpeqd %%ymm8, %%ymm8, %%ymm8\n\t"                                                  \
	"vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n\t"
#define CLOBBER_YMM_HIGH_REGS , "xmm8", "xmm15"
#define CLOBBER_XMM_HIGH "pcmpeqd %%xmm15, %%xmm15\n\t"
#define CLOBBER_XMM_HIGH_REGS , "xmm15"
#endif

__attribute__((target("avx"))) NOINLINE static void clobber_ymm(void)
{
	__asm__ volatile("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			 "vpcmpeqd %%ymm1, %%ymm1, %%ymm1\n\t"
			 "vpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t"
			 "vpcmpeqd %%ymm3, %%ymm3, %%ymm3\n\t"
			 "vpcmpeqd %%ymm4, %%ymm4, %%ymm4\n\t"
			 "vpcmpeqd %%ymm5, %%ymm5, %%ymm5\n\t"
			 "vpcmpeqd %%ymm6, %%ymm6, %%ymm6\n\t"
			 "vpcmpeqd %%ymm7, %%ymm7, %%ymm7\n\t" CLOBBER_YMM_HIGH
			 "vzeroupper" ::
				 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
				   "xmm7" CLOBBER_YMM_HIGH_REGS);
	/* Upper halves set again after the vzeroupper: both ways of losing them. */
	__asm__ volatile("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			 "vpcmpeqd %%ymm7, %%ymm7, %%ymm7" ::
				 : "xmm0", "xmm7");
}

NOINLINE static void clobber_xmm(void)
{
	__asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\t"
			 "pcmpeqd %%xmm1, %%xmm1\n\t"
			 "pcmpeqd %%xmm2, %%xmm2\n\t"
			 "pcmpeqd %%xmm3, %%xmm3\n\t"
			 "pcmpeqd %%xmm4, %%xmm4\n\t"
			 "pcmpeqd %%xmm5, %%xmm5\n\t"
			 "pcmpeqd %%xmm6, %%xmm6\n\t"
			 "pcmpeqd %%xmm7, %%xmm7\n\t" CLOBBER_XMM_HIGH
			 "fldpi\n\t"
			 "fstp %%st(0)" ::
				 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
				   "xmm7" CLOBBER_XMM_HIGH_REGS);
}

#if defined(__i386__)
NOINLINE static void clobber_gp(void)
{
	__asm__ volatile("movl $-1, %%eax\n\t"
			 "movl $-1, %%ecx\n\t"
			 "movl $-1, %%edx\n\t"
			 "std\n\t"
			 "cld" ::
				 : "eax", "ecx", "edx", "cc");
}
#else
NOINLINE static void clobber_gp(void)
{
	__asm__ volatile("mov $-1, %%rax\n\t"
			 "mov $-1, %%rdi\n\t"
			 "mov $-1, %%rsi\n\t"
			 "mov $-1, %%rdx\n\t"
			 "mov $-1, %%rcx\n\t"
			 "mov $-1, %%r8\n\t"
			 "mov $-1, %%r9\n\t"
			 "mov $-1, %%r10\n\t"
			 "mov $-1, %%r11\n\t"
			 "std\n\t"
			 "cld" ::
				 : "rax", "rdi", "rsi", "rdx", "rcx", "r8", "r9", "r10", "r11", "cc");
}

#endif

static void clobbering_handler(void *fn, void *data)
{
	static char a[8192], b[8192], text[64];
	volatile double x = 1.0;

	handler_calls++;
	handler_fn = fn;
	handler_data = data;
	memset(a, (int)(uintptr_t)fn, sizeof(a));
	memcpy(b, a, sizeof(b));
	for (int i = 0; i < 10; i++)
		x = x * 1.37 + 0.5;
	if (!(x > 53.0 && x < 54.0)) /* 53.416...: not NaN, as with the x87 stack full */
		handler_fp_ok = false;
	snprintf(text, sizeof(text), "%f %g", x, (double)handler_calls);
	if (have_avx)
		clobber_ymm();
	clobber_xmm();
	clobber_gp();
}

/* ---- functions of every kind of argument ------------------------------- */

struct small {
	long a;
	double b;
};
struct big {
	long x[6];
};

NOINLINE static long f_int(int a, long b, void *c, short d, unsigned char e, long long f, long g,
			   long h)
{
	return a * 3 + b * 5 + (long)(uintptr_t)c * 7 + d * 11 + e * 13 + f * 17 + g * 19 + h * 23;
}

NOINLINE static double f_double(double a, double b, double c, double d, double e, double f,
				double g, double h, double i, float j, long double k)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i + 10 * j +
	       (double)(11 * k);
}

NOINLINE static __m128 f_m128(__m128 a, __m128 b, __m128 c, __m128 d, __m128 e, __m128 f,
			      __m128 g, __m128 h, __m128 i)
{
	__m128 s = _mm_add_ps(a, _mm_mul_ps(b, _mm_set1_ps(2)));

	s = _mm_add_ps(s, _mm_mul_ps(c, _mm_set1_ps(3)));
	s = _mm_add_ps(s, _mm_mul_ps(d, _mm_set1_ps(4)));
	s = _mm_add_ps(s, _mm_mul_ps(e, _mm_set1_ps(5)));
	s = _mm_add_ps(s, _mm_mul_ps(f, _mm_set1_ps(6)));
	s = _mm_add_ps(s, _mm_mul_ps(g, _mm_set1_ps(7)));
	s = _mm_add_ps(s, _mm_mul_ps(h, _mm_set1_ps(8)));
	return _mm_add_ps(s, _mm_mul_ps(i, _mm_set1_ps(9)));
}

NOINLINE static double f_varargs(int n, ...)
{
	double s = 0;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		s += i % 2 ? va_arg(ap, double) * (i + 1) : (double)va_arg(ap, long) * (i + 1);
	va_end(ap);
	return s;
}

NOINLINE static struct big f_struct(struct small s, struct big b, int k)
{
	struct big r;

	for (int i = 0; i < 6; i++)
		r.x[i] = b.x[i] * k + s.a - (long)s.b * i;
	return r;
}

#if defined(__i386__)
/* mm0-mm2 carry the first three, the fourth is on the stack. */
NOINLINE static __m64 f_m64(__m64 a, __m64 b, __m64 c, __m64 d)
{
	return _mm_add_pi16(_mm_add_pi16(a, _mm_slli_pi16(b, 1)),
			    _mm_add_pi16(_mm_slli_pi16(c, 2), _mm_slli_pi16(d, 3)));
}

NOINLINE __attribute__((regparm(3))) static long f_regparm(long a, long b, long c, long d)
{
	return a + 10 * b + 100 * c + 1000 * d;
}

NOINLINE __attribute__((fastcall)) static long f_fastcall(long a, long b, long c)
{
	return a + 10 * b + 100 * c;
}

typedef long regparm_fn(long, long, long, long) __attribute__((regparm(3)));
typedef long fastcall_fn(long, long, long) __attribute__((fastcall));

/* Through the pad and straight: the same sums, and the handler's doubles right. */
static void test_i386(struct pads *p)
{
	__m64 (*pm)(__m64, __m64, __m64, __m64);
	regparm_fn *pr;
	fastcall_fn *pf;
	__m64 v[4], want, got;
	uint64_t w, g;
	int marker = 0;

	pm = (__m64(*)(__m64, __m64, __m64, __m64))(uintptr_t)pad_hook(p, FN(f_m64),
								      clobbering_handler, &marker);
	pr = (regparm_fn *)(uintptr_t)pad_hook(p, FN(f_regparm), clobbering_handler, &marker);
	pf = (fastcall_fn *)(uintptr_t)pad_hook(p, FN(f_fastcall), clobbering_handler, &marker);
	CHECK(pm && pr && pf);
	if (!(pm && pr && pf))
		return;
	pads_protect(p, true);
	handler_calls = 0;
	handler_fp_ok = true;
	for (int k = 0; k < 4; k++)
		v[k] = _mm_set_pi16((short)(k + 1), (short)(k * 7), (short)-k, (short)(k * 300));
	want = f_m64(v[0], v[1], v[2], v[3]);
	memcpy(&w, &want, sizeof(w));
	got = pm(v[0], v[1], v[2], v[3]);
	memcpy(&g, &got, sizeof(g));
	_mm_empty();
	CHECK(w == g);
	CHECK(handler_fp_ok); /* the x87 stack was empty for the handler */
	CHECK(pr(1, 2, 3, 4) == f_regparm(1, 2, 3, 4));
	CHECK(pf(5, 6, 7) == f_fastcall(5, 6, 7));
	CHECK(handler_calls == 3 && handler_fn == FN(f_fastcall) && handler_data == &marker);
	/* The body's x87 stack is as the caller left it, empty: long double works. */
	CHECK(pr(1, 2, 3, 4) == 4321 && (double)(11.0L * pf(1, 0, 0)) == 11.0);
	pads_protect(p, false);
}
#endif

/* ---- with AVX ------------------------------------------------------------- */

typedef float v8f __attribute__((vector_size(32)));

__attribute__((target("avx"))) NOINLINE static v8f f_m256(v8f a, v8f b, v8f c, v8f d, v8f e,
							  v8f f, v8f g, v8f h, v8f i)
{
	return a + b * 2 + c * 3 + d * 4 + e * 5 + f * 6 + g * 7 + h * 8 + i * 9;
}

__attribute__((target("avx"))) static void test_avx(struct pads *p)
{
	v8f (*pad)(v8f, v8f, v8f, v8f, v8f, v8f, v8f, v8f, v8f);
	v8f v[9], want, got;

	pad = (v8f(*)(v8f, v8f, v8f, v8f, v8f, v8f, v8f, v8f, v8f))(uintptr_t)pad_hook(
		p, FN(f_m256), clobbering_handler, (void *)&have_avx);
	CHECK(pad != NULL);
	if (!pad)
		return;
	pads_protect(p, true);
	for (int k = 0; k < 9; k++)
		for (int j = 0; j < 8; j++)
			v[k][j] = (float)(k * 8 + j + 1) * 0.5f;
	want = f_m256(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
	handler_calls = 0;
	got = pad(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
	CHECK(handler_calls == 1);
	CHECK(handler_fn == FN(f_m256) && handler_data == (void *)&have_avx);
	for (int j = 0; j < 8; j++)
		if (got[j] != want[j]) {
			fprintf(stderr, "__m256 lane %d: %g, want %g\n", j, (double)got[j],
				(double)want[j]);
			failures++;
		}
	pads_protect(p, false);
}

/* ---- C-level calls -------------------------------------------------------- */

static void test_c(struct pads *p)
{
	long (*pi)(int, long, void *, short, unsigned char, long long, long, long);
	double (*pd)(double, double, double, double, double, double, double, double, double, float,
		     long double);
	__m128 (*pm)(__m128, __m128, __m128, __m128, __m128, __m128, __m128, __m128, __m128);
	double (*pv)(int, ...);
	struct big (*ps)(struct small, struct big, int);
	__m128 m[9], wm, gm;
	struct small s = { -7, 2.5 };
	struct big b = { { 1, 2, 3, 4, 5, 6 } }, wb, gb;
	int marker = 0;

	pi = (long (*)(int, long, void *, short, unsigned char, long long, long, long))(uintptr_t)pad_hook(
		p, FN(f_int), clobbering_handler, &marker);
	pd = (double (*)(double, double, double, double, double, double, double, double, double,
			 float, long double))(uintptr_t)pad_hook(p, FN(f_double), clobbering_handler,
						      &marker);
	pm = (__m128(*)(__m128, __m128, __m128, __m128, __m128, __m128, __m128, __m128,
			__m128))(uintptr_t)pad_hook(p, FN(f_m128), clobbering_handler, &marker);
	pv = (double (*)(int, ...))(uintptr_t)pad_hook(p, FN(f_varargs), clobbering_handler, &marker);
	ps = (struct big(*)(struct small, struct big, int))(uintptr_t)pad_hook(p, FN(f_struct),
								    clobbering_handler, &marker);
	CHECK(pi && pd && pm && pv && ps);
	if (!(pi && pd && pm && pv && ps))
		return;
	pads_protect(p, true);
	handler_calls = 0;

	CHECK(pi(1, -2, (void *)&marker, 300, 250, 1LL << 40, 77, -99) ==
	      f_int(1, -2, (void *)&marker, 300, 250, 1LL << 40, 77, -99));
	CHECK(handler_fn == FN(f_int) && handler_data == &marker);
	CHECK(pd(1.5, 2.25, 3.125, -4, 5e10, 6e-10, 7, 8, 9.5, 10.25f, 11.0L) ==
	      f_double(1.5, 2.25, 3.125, -4, 5e10, 6e-10, 7, 8, 9.5, 10.25f, 11.0L));
	CHECK(handler_fn == FN(f_double));
	for (int k = 0; k < 9; k++)
		m[k] = _mm_set_ps((float)k, (float)k + 0.25f, (float)k * 3, -(float)k);
	wm = f_m128(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]);
	gm = pm(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]);
	CHECK(!memcmp(&wm, &gm, sizeof(wm)));
	/* Varargs: %al says how many vector registers carry arguments. */
	CHECK(pv(9, 1L, 2.5, 3L, 4.5, 5L, 6.5, 7L, 8.5, 9L) ==
	      f_varargs(9, 1L, 2.5, 3L, 4.5, 5L, 6.5, 7L, 8.5, 9L));
	CHECK(pv(17, 1L, 2.5, 3L, 4.5, 5L, 6.5, 7L, 8.5, 9L, 10.5, 11L, 12.5, 13L, 14.5, 15L, 16.5,
		 17L) == f_varargs(17, 1L, 2.5, 3L, 4.5, 5L, 6.5, 7L, 8.5, 9L, 10.5, 11L, 12.5, 13L,
				   14.5, 15L, 16.5, 17L));
	wb = f_struct(s, b, 3);
	gb = ps(s, b, 3);
	CHECK(!memcmp(&wb, &gb, sizeof(wb)));
	CHECK(handler_fn == FN(f_struct));
	CHECK(handler_calls == 6);
	pads_protect(p, false);
}

/* ---- every register, in assembly ------------------------------------------ */

#if defined(__i386__)
/*
 * gp: eax ecx edx ebx esi edi ebp, the stack argument: the address of
 * regs_seen, where the body stores what it got (no register is free to
 * find it otherwise). call_esp: the stack pointer at the call.
 */
struct regs {
	uint32_t gp[8];
	uint8_t vec[8][32];
	uint32_t sp, call_sp;
};

enum { N_GP = 8, N_VEC = 8 };
#define GP_VALUE(i) (0x01234567u * (uint32_t)((i) + 1) + (uint32_t)(i))
#define CALL_SP(in) ((in).call_sp)

struct regs regs_seen;

#define LOAD_GP                                                                                \
	"	pushl 8(%ebp)\n"                                                               \
	"	pushl 28(%eax)\n"                                                              \
	"	movl %esp, 292(%eax)\n"                                                        \
	"	movl 4(%eax), %ecx\n"                                                          \
	"	movl 8(%eax), %edx\n"                                                          \
	"	movl 12(%eax), %ebx\n"                                                         \
	"	movl 16(%eax), %esi\n"                                                         \
	"	movl 20(%eax), %edi\n"                                                         \
	"	movl 24(%eax), %ebp\n"                                                         \
	"	movl 0(%eax), %eax\n"                                                          \
	"	call *4(%esp)\n"                                                               \
	"	addl $8, %esp\n"                                                               \
	"	popl %edi\n"                                                                   \
	"	popl %esi\n"                                                                   \
	"	popl %ebx\n"                                                                   \
	"	popl %ebp\n"                                                                   \
	"	ret\n"

#define ENTER                                                                                  \
	"	pushl %ebp\n"                                                                  \
	"	movl %esp, %ebp\n"                                                             \
	"	pushl %ebx\n"                                                                  \
	"	pushl %esi\n"                                                                  \
	"	pushl %edi\n"                                                                  \
	"	movl 12(%ebp), %eax\n"

#define STORE_GP                                                                               \
	"	pushl %eax\n"                                                                  \
	"	movl 8(%esp), %eax\n"                                                          \
	"	movl %ecx, 4(%eax)\n"                                                          \
	"	movl %edx, 8(%eax)\n"                                                          \
	"	movl %ebx, 12(%eax)\n"                                                         \
	"	movl %esi, 16(%eax)\n"                                                         \
	"	movl %edi, 20(%eax)\n"                                                         \
	"	movl %ebp, 24(%eax)\n"                                                         \
	"	popl 0(%eax)\n"                                                                \
	"	movl %eax, 28(%eax)\n"                                                         \
	"	movl %esp, 288(%eax)\n"

#define VEC(op, reg, i) "	" op " " reg #i ", 32+" #i "*32(%eax)\n"
#define VLOAD(op, reg, i) "	" op " 32+" #i "*32(%eax), " reg #i "\n"
#define VEC8(m, op, reg)                                                                       \
	m(op, reg, 0) m(op, reg, 1) m(op, reg, 2) m(op, reg, 3) m(op, reg, 4) m(op, reg, 5)     \
	m(op, reg, 6) m(op, reg, 7)

__asm__(".text\n"
	".p2align 4\n"
	"regs_call_sse:\n" ENTER VEC8(VLOAD, "movdqu", "%xmm") LOAD_GP);
__asm__(".text\n"
	".p2align 4\n"
	"regs_call_avx:\n" ENTER VEC8(VLOAD, "vmovdqu", "%ymm") LOAD_GP);
__asm__(".text\n"
	".p2align 4\n"
	"regs_body_sse:\n" STORE_GP VEC8(VEC, "movdqu", "%xmm") "	ret\n");
__asm__(".text\n"
	".p2align 4\n"
	"regs_body_avx:\n" STORE_GP VEC8(VEC, "vmovdqu", "%ymm") "	vzeroupper\n	ret\n");

#else
/* gp: rdi rsi rdx rcx r8 r9 rax r10 rbx r12 r13 r14 r15, the stack argument. */
struct regs {
	uint64_t gp[14];
	uint8_t vec[16][32];
	uint64_t sp;
};

enum { N_GP = 14, N_VEC = 16 };
#define GP_VALUE(i) (0x0123456789abcdefull * ((i) + 1) + (i))
#define CALL_SP(in) regs_call_rsp

struct regs regs_seen;
uint64_t regs_call_rsp;

#define LOAD_GP                                                                                \
	"	pushq %rbp\n"                                                                  \
	"	movq %rsp, %rbp\n"                                                             \
	"	pushq %rbx\n"                                                                  \
	"	pushq %r12\n"                                                                  \
	"	pushq %r13\n"                                                                  \
	"	pushq %r14\n"                                                                  \
	"	pushq %r15\n"                                                                  \
	"	movq %rdi, %r11\n"                                                             \
	"	pushq 104(%rsi)\n"                                                             \
	"	movq 64(%rsi), %rbx\n"                                                         \
	"	movq 72(%rsi), %r12\n"                                                         \
	"	movq 80(%rsi), %r13\n"                                                         \
	"	movq 88(%rsi), %r14\n"                                                         \
	"	movq 96(%rsi), %r15\n"                                                         \
	"	movq 56(%rsi), %r10\n"                                                         \
	"	movq 48(%rsi), %rax\n"                                                         \
	"	movq 40(%rsi), %r9\n"                                                          \
	"	movq 32(%rsi), %r8\n"                                                          \
	"	movq 24(%rsi), %rcx\n"                                                         \
	"	movq 16(%rsi), %rdx\n"                                                         \
	"	movq 0(%rsi), %rdi\n"                                                          \
	"	movq 8(%rsi), %rsi\n"                                                          \
	"	movq %rsp, regs_call_rsp(%rip)\n"                                              \
	"	call *%r11\n"                                                                  \
	"	addq $8, %rsp\n"                                                               \
	"	popq %r15\n"                                                                   \
	"	popq %r14\n"                                                                   \
	"	popq %r13\n"                                                                   \
	"	popq %r12\n"                                                                   \
	"	popq %rbx\n"                                                                   \
	"	popq %rbp\n"                                                                   \
	"	ret\n"

#define STORE_GP                                                                               \
	"	movq %rdi, regs_seen+0(%rip)\n"                                                \
	"	movq %rsi, regs_seen+8(%rip)\n"                                                \
	"	movq %rdx, regs_seen+16(%rip)\n"                                               \
	"	movq %rcx, regs_seen+24(%rip)\n"                                               \
	"	movq %r8, regs_seen+32(%rip)\n"                                                \
	"	movq %r9, regs_seen+40(%rip)\n"                                                \
	"	movq %rax, regs_seen+48(%rip)\n"                                               \
	"	movq %r10, regs_seen+56(%rip)\n"                                               \
	"	movq %rbx, regs_seen+64(%rip)\n"                                               \
	"	movq %r12, regs_seen+72(%rip)\n"                                               \
	"	movq %r13, regs_seen+80(%rip)\n"                                               \
	"	movq %r14, regs_seen+88(%rip)\n"                                               \
	"	movq %r15, regs_seen+96(%rip)\n"                                               \
	"	movq 8(%rsp), %r11\n"                                                          \
	"	movq %r11, regs_seen+104(%rip)\n"                                              \
	"	movq %rsp, regs_seen+624(%rip)\n"

#define VEC(op, reg, i) "	" op " " reg #i ", regs_seen+112+" #i "*32(%rip)\n"
#define VEC16(op, reg)                                                                         \
	VEC(op, reg, 0) VEC(op, reg, 1) VEC(op, reg, 2) VEC(op, reg, 3) VEC(op, reg, 4)         \
	VEC(op, reg, 5) VEC(op, reg, 6) VEC(op, reg, 7) VEC(op, reg, 8) VEC(op, reg, 9)         \
	VEC(op, reg, 10) VEC(op, reg, 11) VEC(op, reg, 12) VEC(op, reg, 13) VEC(op, reg, 14)   \
	VEC(op, reg, 15)
#define VLOAD(op, reg, i) "	" op " 112+" #i "*32(%rsi), " reg #i "\n"
#define VLOAD16(op, reg)                                                                       \
	VLOAD(op, reg, 0) VLOAD(op, reg, 1) VLOAD(op, reg, 2) VLOAD(op, reg, 3)                \
	VLOAD(op, reg, 4) VLOAD(op, reg, 5) VLOAD(op, reg, 6) VLOAD(op, reg, 7)                \
	VLOAD(op, reg, 8) VLOAD(op, reg, 9) VLOAD(op, reg, 10) VLOAD(op, reg, 11)              \
	VLOAD(op, reg, 12) VLOAD(op, reg, 13) VLOAD(op, reg, 14) VLOAD(op, reg, 15)

/* One statement each: ISO C's limit on a string literal's length. */
__asm__(".text\n"
	".p2align 4\n"
	"regs_call_sse:\n" VLOAD16("movdqu", "%xmm") LOAD_GP);
__asm__(".text\n"
	".p2align 4\n"
	"regs_call_avx:\n" VLOAD16("vmovdqu", "%ymm") LOAD_GP);
__asm__(".text\n"
	".p2align 4\n"
	"regs_body_sse:\n" STORE_GP VEC16("movdqu", "%xmm") "	ret\n");
__asm__(".text\n"
	".p2align 4\n"
	"regs_body_avx:\n" STORE_GP VEC16("vmovdqu", "%ymm") "	vzeroupper\n	ret\n");

#endif

void regs_call_sse(void *pad, struct regs *in);
void regs_call_avx(void *pad, struct regs *in);
void regs_body_sse(void);
void regs_body_avx(void);

static void test_regs(struct pads *p, bool avx)
{
	void (*call)(void *, struct regs *) = avx ? regs_call_avx : regs_call_sse;
	void *pad = pad_hook(p, avx ? FN(regs_body_avx) : FN(regs_body_sse),
			     clobbering_handler, NULL);
	size_t width = avx ? 32 : 16;
	struct regs in;

	CHECK(pad != NULL);
	if (!pad)
		return;
	pads_protect(p, true);
	for (size_t i = 0; i < N_GP; i++)
		in.gp[i] = GP_VALUE(i);
#if defined(__i386__)
	in.gp[7] = (uint32_t)(uintptr_t)&regs_seen; /* the stack argument: where the body stores */
#endif
	for (size_t i = 0; i < N_VEC; i++)
		for (size_t j = 0; j < 32; j++)
			in.vec[i][j] = (uint8_t)(i * 32 + j + 1);
	memset(&regs_seen, 0, sizeof(regs_seen));
	handler_calls = 0;
	call(pad, &in);
	CHECK(handler_calls == 1);
	for (size_t i = 0; i < N_GP; i++)
		if (regs_seen.gp[i] != in.gp[i]) {
			fprintf(stderr, "integer register %zu: %#llx, want %#llx\n", i,
				(unsigned long long)regs_seen.gp[i], (unsigned long long)in.gp[i]);
			failures++;
		}
	/* The argument registers; the ABI gives xmm8-15 no value at a call. */
	for (size_t i = 0; i < 8; i++)
		if (memcmp(regs_seen.vec[i], in.vec[i], width)) {
			fprintf(stderr, "vector register %zu changed (%zu bytes compared)\n", i,
				width);
			failures++;
		}
	/* The body starts with the stack of a direct call: its return address on top. */
	CHECK(regs_seen.sp == CALL_SP(in) - sizeof(in.sp));
	pads_protect(p, false);
}

/* ---- far from the runtime, and jump pads ---------------------------------- */

NOINLINE static long replacement(long a, long b)
{
	return a * 1000 + b;
}

static void test_jump(struct pads *p, bool far)
{
	long (*pad)(long, long);
	uintptr_t dest = 0;

	pad = (long (*)(long, long))(uintptr_t)pad_jump(p, FN(replacement), &dest);
	CHECK(pad != NULL);
	if (!pad)
		return;
	/* Near: straight to the replacement; far: a stub near the pad. */
	CHECK(far ? dest != (uintptr_t)replacement : dest == (uintptr_t)replacement);
	pads_protect(p, true);
	CHECK(pad(4, 2) == 4002);
	pads_protect(p, false);
}

#if UINTPTR_MAX > 0xffffffffu
/* A mapping for pads at least 4 GiB from the runtime, or false. */
static bool map_far(struct pads *p)
{
	uintptr_t rt = (uintptr_t)&skeys_entry_hook_stub;

	for (uintptr_t gib = 8; gib <= 64; gib *= 2) {
		uintptr_t d = gib << 30;

		if (rt > d + (1ull << 32) && pads_map(p, (rt - d) & ~(uintptr_t)0xffff, 1 << 16))
			return true;
		if (rt + d < (1ull << 47) && pads_map(p, (rt + d) & ~(uintptr_t)0xffff, 1 << 16))
			return true;
	}
	return false;
}

/* ---- no room near the pad ------------------------------------------------ */

static char logged[512];

static void log_to_buffer(enum skeys_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)ctx;
	snprintf(logged, sizeof(logged), "%s", msg);
}

/*
 * Reserve (PROT_NONE, nothing committed) every free page of [lo, hi),
 * hole by hole as /proc/self/maps shows them; false if some page stays free.
 */
static bool reserve(uintptr_t lo, uintptr_t hi)
{
	for (int round = 0; round < 3; round++) {
		char line[512];
		FILE *f = fopen("/proc/self/maps", "re");
		uintptr_t at = lo, holes[64][2];
		size_t n = 0;

		if (!f)
			return false;
		while (at < hi && n < 64) {
			unsigned long s = hi, e = hi;

			if (fgets(line, sizeof(line), f) && sscanf(line, "%lx-%lx", &s, &e) != 2)
				continue;
			if (s > at) {
				holes[n][0] = at;
				holes[n++][1] = s < hi ? s : hi;
			}
			if (e > at)
				at = e;
			if (feof(f))
				break;
		}
		fclose(f);
		if (!n)
			return true;
		for (size_t i = 0; i < n; i++) {
			size_t len = holes[i][1] - holes[i][0];
			void *p = mmap((void *)holes[i][0], len, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
				       -1, 0);

			if (p != MAP_FAILED && (uintptr_t)p != holes[i][0])
				munmap(p, len); /* a kernel without MAP_FIXED_NOREPLACE */
		}
	}
	return false;
}

static int test_full(void)
{
	const uintptr_t rt = (uintptr_t)&skeys_entry_hook_stub, two_gib = (uintptr_t)1 << 31;
	uintptr_t pad = 0, stub = 0, dest = 0, from;
	struct pads p;
	char want[64];

	/* A pad 64 GiB from the runtime, with nothing of ours in its reach. */
	for (uintptr_t gib = 64; gib <= 512 && !pad; gib *= 2) {
		uintptr_t d = gib << 30;

		if ((rt > d + two_gib * 2 && pads_map(&p, (rt - d) & ~(uintptr_t)0xffff, 1 << 16)) ||
		    (rt + d < ((uintptr_t)1 << 47) - two_gib * 2 &&
		     pads_map(&p, (rt + d) & ~(uintptr_t)0xffff, 1 << 16)))
			pad = (uintptr_t)p.base;
	}
	if (!pad) {
		printf("SKIP: no address space 64 GiB away from the runtime\n");
		return 77;
	}
	if (!reserve(pad - two_gib - (1u << 20), pad) ||
	    !reserve(pad + (1 << 16), pad + two_gib + (1u << 20))) {
		printf("SKIP: could not take every page within 2 GiB of %p\n", (void *)pad);
		return 77;
	}
	skeys_set_log(log_to_buffer, NULL);
	from = pad + 5;
	CHECK(hook_stub_locked(from, FN(replacement), clobbering_handler, NULL, &stub) == -ENOMEM);
	snprintf(want, sizeof(want), "%p", (void *)from);
	printf("logged: %s\n", logged);
	CHECK(strstr(logged, want) != NULL);
	CHECK(strstr(logged, "within 2 GiB") != NULL);
	logged[0] = 0;
	skeys_lock_take();
	CHECK(skeys_entry_jump_dest(from, FN(replacement), &dest) == -ENOMEM);
	skeys_lock_release();
	CHECK(strstr(logged, want) != NULL);
	return failures != 0;
}

#endif

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned a, b, c, d;
	int saves = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	have_avx = __builtin_cpu_supports("avx");
	if (__get_cpuid(1, &a, &b, &c, &d) && !(c & (1u << 27)))
		have_avx = false; /* the OS does not save the ymm state */
	if (!strcmp(mode, "avx") && !have_avx) {
		printf("SKIP: this CPU (or OS) has no AVX: no __m256 arguments to check\n");
		return 77;
	}
#if UINTPTR_MAX > 0xffffffffu
	if (!strcmp(mode, "full"))
		return test_full();
#else
	if (!strcmp(mode, "far") || !strcmp(mode, "full")) {
		printf("SKIP: i686: a rel32 reaches every address, no pad is far from anything\n");
		return 77;
	}
#endif
	if (strcmp(mode, "c") && strcmp(mode, "avx") && strcmp(mode, "regs") && strcmp(mode, "far")) {
		fprintf(stderr, "usage: hook_args c|avx|regs|far|full\n");
		return 2;
	}
	/* zmm, ymm, xmm: each the CPU has. */
	for (int save = 2; save >= 0; save--) {
		struct pads p;
		bool wide = save > 0; /* xmm mode keeps only the lower halves */

		if (skeys__entry_hook_save_mode(save) < 0)
			continue;
		if (!wide && have_avx && !strcmp(mode, "avx"))
			continue;
		saves++;
		printf("save mode %d\n", save);
#if UINTPTR_MAX > 0xffffffffu
		if (!strcmp(mode, "far")) {
			if (!map_far(&p)) {
				printf("SKIP: no address space 4 GiB away from the runtime\n");
				return 77;
			}
		} else
#endif
		if (!pads_map(&p, 0, 1 << 16)) {
			perror("mmap");
			return 1;
		}
		if (!strcmp(mode, "c") || !strcmp(mode, "far"))
			test_c(&p);
#if defined(__i386__)
		if (!strcmp(mode, "c"))
			test_i386(&p);
#endif
		if (!strcmp(mode, "avx"))
			test_avx(&p);
		if (!strcmp(mode, "regs"))
			test_regs(&p, wide && have_avx);
#if UINTPTR_MAX > 0xffffffffu
		if (!strcmp(mode, "far")) {
			uintptr_t pad = (uintptr_t)p.base, rt = (uintptr_t)&skeys_entry_hook_stub;

			CHECK(!pads_reach(pad, rt));
			test_jump(&p, true);
		}
#endif
		if (!strcmp(mode, "c")) {
			/* A pad near the test's code: its replacement is reached directly. */
			struct pads nearp;
			uintptr_t here = (uintptr_t)replacement & ~(uintptr_t)0xffff;
			bool mapped = false;

			/* Below the program, else above it (valgrind loads it low). */
			for (uintptr_t k = 16; k < 1024 && !mapped; k += 16)
				mapped = (here > (k << 20) + (1u << 24) &&
					  pads_map(&nearp, here - (k << 20), 1 << 16)) ||
					 pads_map(&nearp, here + (k << 20), 1 << 16);
			CHECK(mapped);
			if (mapped) {
				test_jump(&nearp, false);
				munmap(nearp.base, nearp.size);
			}
		}
		/* The pads' mapping stays: the stubs stay assigned to its addresses. */
	}
	CHECK(saves > 0);
	return failures != 0;
}
