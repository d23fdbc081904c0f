/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
#include <stdarg.h>
#include <stddef.h>
int snprintf(char *restrict s, size_t n, const char *restrict fmt, ...);
int vsnprintf(char *restrict s, size_t n, const char *restrict fmt, va_list ap);
typedef struct __sFILE FILE;
extern FILE *__stderrp; /* the SDK's name behind stderr */
#define stderr __stderrp
int fprintf(FILE *restrict f, const char *restrict fmt, ...);
