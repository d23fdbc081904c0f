/* SPDX-License-Identifier: MIT */
/*
 * Keys across modules: `modules cross|loop|unloaded PLUGIN`. The executable
 * links libcore (which defines and exports `feature` and `fast`) and
 * imports `feature`; PLUGIN is dlopen'd and imports both.
 */
#define _GNU_SOURCE
#include "modules.h"

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

SKEYS_IMPORT_FALSE(feature);

static int failures;

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #c);                                 \
			failures++;                                            \
		}                                                              \
	} while (0)

__attribute__((noinline)) static int main_feature(void)
{
	return skeys_branch_unlikely(&feature);
}

struct plugin {
	void *h;
	int (*feature)(void), (*feature_likely)(void), (*fast)(void);
	int (*set_feature)(int);
	struct skeys_key *(*own_key)(void);
};

static int plugin_open(struct plugin *p, const char *path)
{
	p->h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->h) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	*(void **)&p->feature = dlsym(p->h, "plugin_feature");
	*(void **)&p->feature_likely = dlsym(p->h, "plugin_feature_likely");
	*(void **)&p->fast = dlsym(p->h, "plugin_fast");
	*(void **)&p->set_feature = dlsym(p->h, "plugin_set_feature");
	*(void **)&p->own_key = dlsym(p->h, "plugin_own_key");
	return p->feature && p->fast && p->set_feature && p->own_key && p->feature_likely ? 0 : -1;
}

/* Every module's sites of `feature` agree with the key. */
static void expect_feature(struct plugin *p, int on)
{
	CHECK(skeys_enabled(&feature) == on);
	CHECK(core_feature() == on);
	CHECK(main_feature() == on);
	if (p) {
		CHECK(p->feature() == on);
		CHECK(p->feature_likely() == on);
	}
}

static int cross(const char *path)
{
	struct plugin p;

	expect_feature(NULL, 0);
	CHECK(core_fast() == 1);
	/* Through the executable's proxy: the core's own sites follow. */
	CHECK(skeys_enable(&feature) == 0);
	expect_feature(NULL, 1);
	/* A plugin loaded now starts out patched. */
	if (plugin_open(&p, path))
		return 1;
	expect_feature(&p, 1);
	CHECK(p.fast() == 1);
	/* Through the defining module: every module follows. */
	CHECK(core_set_feature(0) == 0);
	expect_feature(&p, 0);
	/* Through the plugin's proxy. */
	CHECK(p.set_feature(1) == 0);
	expect_feature(&p, 1);
	CHECK(skeys_inc(&feature) == 0 && skeys_dec(&feature) == 0);
	expect_feature(&p, 1);
	dlclose(p.h);
	/* The plugin is gone: the rest still toggles. */
	CHECK(core_set_feature(0) == 0);
	expect_feature(NULL, 0);
	return 0;
}

static atomic_bool stop;
static atomic_ulong started, done;

static void *toggler(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		atomic_store(&started, n + 1);
		if ((n % 2 ? skeys_disable(&feature) : skeys_enable(&feature)) != 0) {
			fprintf(stderr, "toggle failed\n");
			failures++;
		}
		atomic_store(&done, ++n);
		usleep(200); /* quiet windows, so that loads can be checked */
	}
	return NULL;
}

static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/* dlopen/dlclose in a loop while another thread toggles the key. */
static int loop(const char *path)
{
	pthread_t t;
	size_t heap_100 = 0, heap_end;
	int i, checked = 0;

	pthread_create(&t, NULL, toggler, NULL);
	for (i = 0; i < 300; i++) {
		struct plugin p;
		unsigned long d;
		int v;

		if (plugin_open(&p, path))
			return 1;
		d = atomic_load(&done);
		v = p.feature();
		if (atomic_load(&started) == d && atomic_load(&done) == d) {
			checked++;
			if (v != (int)(d % 2)) {
				fprintf(stderr, "iteration %d: plugin site stale after %lu toggles\n",
					i, d);
				failures++;
			}
		}
		dlclose(p.h);
		if (i == 100)
			heap_100 = heap_in_use();
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	/*
	 * 200 more load/unload cycles may not grow the heap: nothing leaks per
	 * module (a leak of even 16 bytes a cycle would show as 3200).
	 */
	heap_end = heap_in_use();
	printf("%d quiet checks; heap %zu -> %zu bytes\n", checked, heap_100, heap_end);
	CHECK(heap_end <= heap_100 + 1024);
	CHECK(checked > 0);
	return 0;
}

/* A key of a module that was unloaded: an error, never a crash. */
static int unloaded(const char *path)
{
	struct plugin p;
	struct skeys_key *k;

	if (plugin_open(&p, path))
		return 1;
	k = p.own_key();
	CHECK(skeys_key_enable(k) == 0);
	CHECK(skeys_key_disable(k) == 0);
	dlclose(p.h);
	CHECK(skeys_key_enable(k) == SKEYS_ERR_NOTKEY);
	CHECK(skeys_key_dec(k) == SKEYS_ERR_NOTKEY);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s cross|loop|unloaded PLUGIN\n", argv[0]);
		return 64;
	}
	if (!strcmp(argv[1], "cross"))
		rc = cross(argv[2]);
	else if (!strcmp(argv[1], "loop"))
		rc = loop(argv[2]);
	else if (!strcmp(argv[1], "unloaded"))
		rc = unloaded(argv[2]);
	else
		return 64;
	return rc || failures ? 1 : 0;
}
