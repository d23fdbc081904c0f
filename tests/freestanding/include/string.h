/* SPDX-License-Identifier: MIT */
/*
 * The part of <string.h> that common/ uses, for programs with no C library
 * (loongarch64 under Debian 12 has none); minirt.c defines them.
 */
#ifndef SKEYS_FREESTANDING_STRING_H
#define SKEYS_FREESTANDING_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
