/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
#include <stddef.h>
#define PROT_NONE 0x00
#define PROT_READ 0x01
#define PROT_WRITE 0x02
#define PROT_EXEC 0x04
int mprotect(void *addr, size_t len, int prot);
