/* SPDX-License-Identifier: MIT */
/* What the test modules export to each other. */
#ifndef SKEYS_TEST_MODULES_H
#define SKEYS_TEST_MODULES_H

#include <skeys.h>

#ifdef _WIN32
#define EXPORTED __declspec(dllexport)
#else
#define EXPORTED __attribute__((visibility("default")))
#endif

EXPORTED int core_feature(void);
EXPORTED int core_fast(void);
EXPORTED int core_set_feature(int on);

EXPORTED int plugin_feature(void);
EXPORTED int plugin_feature_likely(void);
EXPORTED int plugin_fast(void);
EXPORTED int plugin_set_feature(int on);
EXPORTED struct skeys_key *plugin_own_key(void);

#endif
