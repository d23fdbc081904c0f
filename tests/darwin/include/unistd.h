/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
#define _SC_PAGESIZE 29
long sysconf(int name);
