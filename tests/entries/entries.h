/* SPDX-License-Identifier: MIT */
/* Function entries test: the functions a library (or the program itself) defines. */
#ifndef ENTRIES_TEST_H
#define ENTRIES_TEST_H

int ent_add1(int x);
int ent_add2(int x);
int ent_mul3(int x);
/* Every integer and floating-point argument register, and a struct
 * returned in memory (x8 on aarch64, a hidden pointer on x86-64). */
struct ent_big {
	long v[5];
};
long ent_args(long a, long b, long c, long d, long e, long f, long g, long h, double d0, double d1,
	      double d2, double d3, double d4, double d5, double d6, double d7);
struct ent_big ent_big(long a, double x);
#if defined(__i386__)
/* Arguments in registers: eax, edx, ecx (regparm) and ecx, edx (fastcall). */
__attribute__((regparm(3))) int ent_regparm(int a, int b, int c);
__attribute__((fastcall)) int ent_fastcall(int a, int b, int c);
#endif
/* Not patchable: the attribute takes its nops away. */
int ent_plain(int x);

#endif
