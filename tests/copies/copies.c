/* SPDX-License-Identifier: MIT */
/*
 * `copies LIBB`: libcopya and libcopyb each link the static runtime with
 * its symbols hidden, so the process holds two copies. They must act as
 * one: a key toggled through either copy patches the sites of both
 * libraries, also while both are used from several threads at once.
 */
#define _GNU_SOURCE
#define SKEYS_NO_MODULE 1 /* the executable has no sites and no runtime */
#include "copies.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static int (*a_feature_p)(void), (*a_set_p)(int);
static int (*b_feature_p)(void), (*b_set_p)(int), (*b_own_p)(void), (*b_set_own_p)(int);
static int failures;

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                 \
			failures++;                                            \
		}                                                              \
	} while (0)

static void *flip_own(void *arg)
{
	(void)arg;
	for (int i = 0; i < 300; i++)
		if (b_set_own_p(i % 2 == 0))
			failures++;
	return NULL;
}

static void *flip_shared(void *arg)
{
	(void)arg;
	for (int i = 0; i < 300; i++)
		if ((i % 2 ? b_set_p : a_set_p)(i % 3 == 0))
			failures++;
	return NULL;
}

int main(int argc, char **argv)
{
	void *b;
	pthread_t t1, t2;

	if (argc != 2)
		return 64;
	b = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!b) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	*(void **)&a_feature_p = dlsym(b, "a_feature");
	*(void **)&a_set_p = dlsym(b, "a_set");
	*(void **)&b_feature_p = dlsym(b, "b_feature");
	*(void **)&b_set_p = dlsym(b, "b_set");
	*(void **)&b_own_p = dlsym(b, "b_own");
	*(void **)&b_set_own_p = dlsym(b, "b_set_own");
	if (!a_feature_p || !a_set_p || !b_feature_p || !b_set_p || !b_own_p || !b_set_own_p)
		return 1;
	CHECK(!a_feature_p() && !b_feature_p());
	CHECK(a_set_p(1) == 0); /* through the defining library's copy */
	CHECK(a_feature_p() && b_feature_p());
	CHECK(b_set_p(0) == 0); /* through the importing library's copy */
	CHECK(!a_feature_p() && !b_feature_p());

	pthread_create(&t1, NULL, flip_own, NULL);
	pthread_create(&t2, NULL, flip_shared, NULL);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK(b_own_p() == 0);
	CHECK(a_feature_p() == b_feature_p());
	CHECK(b_set_p(1) == 0 && a_feature_p() && b_feature_p());
	return failures ? 1 : 0;
}
