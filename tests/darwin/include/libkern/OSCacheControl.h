/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
#include <stddef.h>
void sys_icache_invalidate(void *start, size_t len);
