/* SPDX-License-Identifier: MIT */
/*
 * Function entries tests: the handlers entries_main.c (ELF) and
 * tests/cross/pe_entries.c (Windows) attach. Include once, after <stdio.h>
 * and <string.h>.
 */
#ifndef ENTRIES_HANDLERS_H
#define ENTRIES_HANDLERS_H

/* Handler calls on this thread, and the function and data of the last one. */
static __thread long hits;
static __thread void *last_fn, *last_data;

static void count(void *fn, void *data)
{
	hits++;
	last_fn = fn;
	last_data = data;
}

static long all_hits; /* attach_all's handler: calls from every thread */

static __attribute__((unused)) void count_all(void *fn, void *data)
{
	(void)fn;
	(void)data;
	__atomic_fetch_add(&all_hits, 1, __ATOMIC_RELAXED);
}

/*
 * A handler that leaves every argument register changed: x0-x8 and d0-d7
 * on aarch64, eax ecx edx on i686 (regparm and fastcall arguments) and the
 * Windows x64 convention's volatile registers (rax rcx rdx r8-r11, xmm0-5)
 * written outright, elsewhere through the calls it makes.
 */
static void clobber(void *fn, void *data)
{
	char buf[64];

	count(fn, data);
	snprintf(buf, sizeof(buf), "%p %g %g", fn, 1.5 * (double)hits, 0.25);
	memset(buf, 0x5a, sizeof(buf));
	__asm__ volatile("" : : "r"(buf) : "memory");
#if defined(__aarch64__)
	__asm__ volatile("mov x0, #-1\n\tmov x1, #-1\n\tmov x2, #-1\n\tmov x3, #-1\n\t"
			 "mov x4, #-1\n\tmov x5, #-1\n\tmov x6, #-1\n\tmov x7, #-1\n\t"
			 "mov x8, #-1\n\tmovi v0.2d, #0xffffffffffffffff\n\tmovi v1.2d, #0xffffffffffffffff\n\t"
			 "movi v2.2d, #0xffffffffffffffff\n\tmovi v3.2d, #0xffffffffffffffff\n\tmovi v4.2d, #0xffffffffffffffff\n\t"
			 "movi v5.2d, #0xffffffffffffffff\n\tmovi v6.2d, #0xffffffffffffffff\n\tmovi v7.2d, #0xffffffffffffffff"
			 :
			 :
			 : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "v0", "v1", "v2",
			   "v3", "v4", "v5", "v6", "v7", "memory");
#elif defined(__i386__)
	__asm__ volatile("movl $-1, %%eax\n\tmovl $-1, %%ecx\n\tmovl $-1, %%edx"
			 :
			 :
			 : "eax", "ecx", "edx", "memory");
#elif defined(__x86_64__) && defined(_WIN64)
	__asm__ volatile("movq $-1, %%rax\n\tmovq $-1, %%rcx\n\tmovq $-1, %%rdx\n\t"
			 "movq $-1, %%r8\n\tmovq $-1, %%r9\n\tmovq $-1, %%r10\n\tmovq $-1, %%r11\n\t"
			 "pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\tpcmpeqd %%xmm2, %%xmm2\n\t"
			 "pcmpeqd %%xmm3, %%xmm3\n\tpcmpeqd %%xmm4, %%xmm4\n\tpcmpeqd %%xmm5, %%xmm5"
			 :
			 :
			 : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2",
			   "xmm3", "xmm4", "xmm5", "memory");
#endif
}

#endif
