/* SPDX-License-Identifier: MIT */
/*
 * The tests' assertions: a failed CHECK or CHECK_ERR says where and what,
 * counts in `failures`, and lets the test go on; main() returns
 * `failures != 0`. CHECK_ERR needs <skeys.h> (skeys_strerror).
 */
#ifndef SKEYS_TESTS_TESTING_H
#define SKEYS_TESTS_TESTING_H

#include <stdio.h>

static int failures;

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                 \
			failures++;                                            \
		}                                                              \
	} while (0)

#define CHECK_ERR(call, want)                                                  \
	do {                                                                   \
		int got_ = (call);                                             \
		if (got_ != (want)) {                                          \
			fprintf(stderr, "%s:%d: %s returned %d (%s), want %d (%s)\n", \
				__FILE__, __LINE__, #call, got_,               \
				skeys_strerror(got_), (want), skeys_strerror(want)); \
			failures++;                                            \
		}                                                              \
	} while (0)

#endif
