/* SPDX-License-Identifier: MIT */
/* Function entries test: the functions a library (or the program itself) defines. */
#ifndef ENTRIES_TEST_H
#define ENTRIES_TEST_H

int ent_add1(int x);
int ent_add2(int x);
int ent_mul3(int x);
/* Not patchable: the attribute takes its nops away. */
int ent_plain(int x);

#endif
