/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
typedef struct dl_info {
	const char *dli_fname;
	void *dli_fbase;
	const char *dli_sname;
	void *dli_saddr;
} Dl_info;
int dladdr(const void *addr, Dl_info *info);
