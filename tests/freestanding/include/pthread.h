/* SPDX-License-Identifier: MIT */
/*
 * The part of <pthread.h> that runtime/internal.h names, for programs with
 * no C library: minirt.c builds runtime/arch/call_loongarch64.c, which
 * includes it, and uses no lock (one thread).
 */
#ifndef SKEYS_FREESTANDING_PTHREAD_H
#define SKEYS_FREESTANDING_PTHREAD_H

typedef struct {
	int unused;
} pthread_mutex_t;

#endif
