/* SPDX-License-Identifier: MIT */
/*
 * The part of <sys/mman.h> the portable runtime files use (the dev_sort
 * start-up sort), on top of VirtualProtect. Windows builds only.
 */
#ifndef SKEYS_WINDOWS_SYS_MMAN_H
#define SKEYS_WINDOWS_SYS_MMAN_H

#include <errno.h>
#include <stddef.h>

#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4

int skeys_win_mprotect(void *addr, size_t len, int prot);
#define mprotect skeys_win_mprotect

#endif
