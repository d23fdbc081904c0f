/* SPDX-License-Identifier: MIT */
/* Two shared libraries, each with its own static copy of the runtime. */
#ifndef SKEYS_TEST_COPIES_H
#define SKEYS_TEST_COPIES_H

#include <skeys.h>

#ifdef _WIN32
#define EXPORTED __declspec(dllexport)
#else
#define EXPORTED __attribute__((visibility("default")))
#endif

EXPORTED int a_feature(void);
EXPORTED int a_set(int on);
EXPORTED struct skeys_key *a_key(void);
EXPORTED int b_feature(void);
EXPORTED int b_set(int on);
EXPORTED int b_own(void);
EXPORTED int b_set_own(int on);

#endif
