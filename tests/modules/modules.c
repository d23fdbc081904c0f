/* SPDX-License-Identifier: MIT */
/*
 * Keys across modules: `modules cross|loop|unloaded PLUGIN`. The executable
 * links libcore (which defines and exports `feature` and `fast`) and
 * imports `feature`; PLUGIN is loaded at run time and imports both. The
 * same program on Windows (core.dll, pe_modules.exe, PLUGIN.dll).
 */
#define _GNU_SOURCE
#include "modules.h"
#include "loader.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

SKEYS_IMPORT_FALSE(feature);
/* Keys of the executable's own, for the names test. */
SKEYS_DEFINE_TRUE(main_own);
/* An array of keys, named as the kernel's DEFINE_STATIC_KEY_ARRAY_* name theirs. */
SKEYS__KEY_ATTR struct skeys_key_false main_arr[3] = { SKEYS__KEY_INIT(0), SKEYS__KEY_INIT(0),
						       SKEYS__KEY_INIT(0) };
SKEYS__NAME(main_arr, skeys_key_false, &main_arr[0].key, 3);

__attribute__((noinline)) static int main_arr1(void)
{
	return skeys_branch_unlikely(&main_arr[1]);
}

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
	p->h = test_load(path);
	if (!p->h)
		return -1;
	TEST_SYM(p->h, p->feature, "plugin_feature");
	TEST_SYM(p->h, p->feature_likely, "plugin_feature_likely");
	TEST_SYM(p->h, p->fast, "plugin_fast");
	TEST_SYM(p->h, p->set_feature, "plugin_set_feature");
	TEST_SYM(p->h, p->own_key, "plugin_own_key");
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
	CHECK(test_unload(p.h) == 0);
	/* The plugin is gone: the rest still toggles. */
	CHECK(core_set_feature(0) == 0);
	expect_feature(NULL, 0);
	return 0;
}

static atomic_bool stop, pause_req, paused;
static atomic_ulong started, done;

/* For skeys_foreach() racing dlopen/dlclose: the names only, never the keys. */
static int count_named(const char *name, struct skeys_key *k, void *data)
{
	(void)k;
	*(size_t *)data += strlen(name) > 0;
	return 0;
}

static void *toggler(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		if (atomic_load(&pause_req)) {
			atomic_store(&paused, true);
			while (atomic_load(&pause_req))
				sched_yield();
			atomic_store(&paused, false);
			continue;
		}
		atomic_store(&started, n + 1);
		if ((n % 2 ? skeys_disable(&feature) : skeys_enable(&feature)) != 0) {
			fprintf(stderr, "toggle failed\n");
			failures++;
		}
		atomic_store(&done, ++n);
		if (n % 4 == 0) {
			/* The program's and the library's names, the plugin's maybe. */
			size_t named = 0;

			if (skeys_foreach(count_named, &named) != 0 || named < 7 || named > 10) {
				fprintf(stderr, "skeys_foreach: %zu names\n", named);
				failures++;
			}
		}
		usleep(200); /* quiet windows, so that loads can be checked */
	}
	return NULL;
}

/* Bring the toggler to a stop between two toggles (on) or let it go (off). */
static void quiesce(bool on)
{
	atomic_store(&pause_req, on);
	while (atomic_load(&paused) != on)
		sched_yield();
}

/* Bytes the C library's heap holds for the program: what a leak grows. */
static size_t heap_in_use(void)
{
#ifdef _WIN32
	_HEAPINFO hi;
	size_t n = 0;
	int st;

	memset(&hi, 0, sizeof(hi));
	while ((st = _heapwalk(&hi)) == _HEAPOK)
		if (hi._useflag == _USEDENTRY)
			n += hi._size;
	if (st != _HEAPEND) {
		fprintf(stderr, "_heapwalk: status %d\n", st);
		failures++;
	}
	return n;
#else
	return mallinfo2().uordblks;
#endif
}

/* Load and unload in a loop while another thread toggles the key. */
static int loop(const char *path)
{
	pthread_t t;
	size_t heap_100 = 0, heap_end = 0;
	int i, checked = 0;

	pthread_create(&t, NULL, toggler, NULL);
	for (i = 0; i < 300; i++) {
		struct plugin p;
		unsigned long d;
		bool quiet;
		int v;

		if (plugin_open(&p, path))
			return 1;
		CHECK(skeys_find("plugin_own") == p.own_key());
		/*
		 * Every fourth plugin is read with the toggler held between two
		 * toggles, so that some reads are always checked (Windows'
		 * sleeps are too coarse to leave quiet gaps of their own); the
		 * others race with it, and count when no toggle overlapped.
		 */
		if (i % 4 == 0)
			quiesce(true);
		d = atomic_load(&done);
		v = p.feature();
		quiet = atomic_load(&started) == d && atomic_load(&done) == d;
		if (i % 4 == 0)
			quiesce(false);
		if (quiet) {
			checked++;
			if (v != (int)(d % 2)) {
				fprintf(stderr, "iteration %d: plugin site stale after %lu toggles\n",
					i, d);
				failures++;
			}
		}
		/*
		 * Both with the plugin loaded and the toggler between two
		 * toggles, so that no switch holds memory at that moment.
		 */
		if (i == 100 || i == 299) {
			quiesce(true);
			*(i == 100 ? &heap_100 : &heap_end) = heap_in_use();
			quiesce(false);
		}
		CHECK(test_unload(p.h) == 0);
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	/*
	 * 199 more load/unload cycles may not grow the heap: nothing leaks per
	 * module (a leak of even 16 bytes a cycle would show as 3184).
	 */
	printf("%lu toggles, %d quiet checks; heap %zu -> %zu bytes\n", atomic_load(&done),
	       checked, heap_100, heap_end);
	CHECK(heap_end <= heap_100 + 1024);
	CHECK(checked > 0 && atomic_load(&done) > 0);
	return 0;
}

/* Looks like a key, in read-only data: refused before anything is written. */
static const struct skeys_key rodata_key = { 0, SKEYS_KEY_MAGIC, 0 };

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
	CHECK(test_unload(p.h) == 0);
	CHECK(!test_loaded(path));
	CHECK(skeys_key_enable(k) == SKEYS_ERR_NOTKEY);
	CHECK(skeys_key_dec(k) == SKEYS_ERR_NOTKEY);
	/* Nor an object of a loaded module that is no key. */
	CHECK(skeys_key_enable((struct skeys_key *)(uintptr_t)&rodata_key) == SKEYS_ERR_NOTKEY);
	return 0;
}

/* ---- keys by name ---------------------------------------------------------- */

struct seen {
	const char *names[64];
	struct skeys_key *keys[64];
	int n, stop_at, enable_at;
};

static int record(const char *name, struct skeys_key *k, void *data)
{
	struct seen *s = data;

	if (s->n < 64) {
		/* Only valid during the call: keep a copy. */
		char *copy = malloc(strlen(name) + 1);

		if (copy)
			memcpy(copy, name, strlen(name) + 1);
		s->names[s->n] = copy ? copy : "";
		s->keys[s->n] = k;
	}
	s->n++;
	/* The lock is not held: switching a key from here must work. */
	if (s->n == s->enable_at)
		CHECK(skeys_key_enable(k) == 0);
	return s->n == s->stop_at ? 42 : 0;
}

/* Index of the i-th (0-based) listing of `name`, or -1. */
static int seen_at(const struct seen *s, const char *name, int i)
{
	for (int j = 0; j < s->n && j < 64; j++)
		if (!strcmp(s->names[j], name) && i-- == 0)
			return j;
	return -1;
}

static void seen_free(struct seen *s)
{
	for (int j = 0; j < s->n && j < 64; j++)
		if (*s->names[j])
			free((void *)s->names[j]);
	memset(s, 0, sizeof(*s));
}

static int names(const char *path)
{
	struct seen s = { .stop_at = -1, .enable_at = -1 };
	struct skeys_key *f = skeys_find("feature");
	struct plugin p;
	int core_f, main_f, at;

	/* The defining module's key, not the executable's proxy of it. */
	CHECK(f && f != &feature.key && !(f->flags & SKEYS_KEY_F_PROXY));
	CHECK(skeys_key_enable(f) == 0);
	CHECK(core_feature() == 1 && main_feature() == 1);
	CHECK(skeys_key_disable(f) == 0);
	CHECK(skeys_find("fast") != NULL);
	CHECK(skeys_find("main_own") == &main_own.key);
	CHECK(skeys_find("main_arr[2]") == &main_arr[2].key);
	CHECK(skeys_find("main_arr[0]") == &main_arr[0].key);
	CHECK(skeys_find("main_arr") == NULL);
	CHECK(skeys_find("main_arr[3]") == NULL);
	CHECK(skeys_find("main_arr[01]") == NULL);
	CHECK(skeys_find("main_ow") == NULL);
	CHECK(skeys_find("plugin_own") == NULL);
	CHECK(skeys_find("") == NULL);
	CHECK(skeys_find(NULL) == NULL);
	CHECK(skeys_key_enable(skeys_find("main_arr[1]")) == 0);
	CHECK(main_arr1() == 1);

	/* Every name of every module, load order: the library, then the program. */
	CHECK(skeys_foreach(record, &s) == 0);
	core_f = seen_at(&s, "feature", 0);
	main_f = seen_at(&s, "feature", 1);
	CHECK(core_f >= 0 && main_f > core_f && seen_at(&s, "feature", 2) < 0);
	CHECK(core_f >= 0 && s.keys[core_f] == f);
	CHECK(main_f >= 0 && s.keys[main_f] == &feature.key);
	CHECK(seen_at(&s, "fast", 0) >= 0 && seen_at(&s, "main_own", 0) > seen_at(&s, "fast", 0));
	CHECK(seen_at(&s, "main_arr[0]", 0) >= 0 && seen_at(&s, "main_arr[1]", 0) >= 0 &&
	      seen_at(&s, "main_arr[2]", 0) >= 0 && seen_at(&s, "main_arr", 0) < 0);
	CHECK(s.n == 7); /* feature, fast; feature (import), main_own, main_arr[0..2] */
	seen_free(&s);

	/* A non-zero return stops the walk and is returned. */
	s.stop_at = 2;
	s.enable_at = -1;
	CHECK(skeys_foreach(record, &s) == 42 && s.n == 2);
	seen_free(&s);
	CHECK(skeys_foreach(NULL, NULL) == -EINVAL);

	/* A plugin's keys are found while it is loaded, and listed last. */
	if (plugin_open(&p, path))
		return 1;
	CHECK(skeys_find("plugin_own") == p.own_key());
	CHECK(skeys_find("feature") == f);
	s.stop_at = s.enable_at = -1;
	CHECK(skeys_foreach(record, &s) == 0);
	CHECK(s.n == 10 && seen_at(&s, "plugin_own", 0) > seen_at(&s, "main_own", 0));
	CHECK(seen_at(&s, "feature", 2) > seen_at(&s, "main_own", 0));
	/* fn may switch keys: enable the plugin's key from inside the walk. */
	at = seen_at(&s, "plugin_own", 0);
	seen_free(&s);
	s.stop_at = -1;
	s.enable_at = at + 1;
	CHECK(at >= 0 && skeys_foreach(record, &s) == 0);
	CHECK(skeys_key_enabled(p.own_key()));
	seen_free(&s);
	CHECK(skeys_check_sealed() == 0);
	CHECK(test_unload(p.h) == 0);
	CHECK(skeys_find("plugin_own") == NULL);
	s.stop_at = s.enable_at = -1;
	CHECK(skeys_foreach(record, &s) == 0 && s.n == 7);
	seen_free(&s);
	return 0;
}

/*
 * Run with SKEYS_ENABLE=feature,main_arr[2],plugin_own,nosuch
 * SKEYS_DISABLE=fast,main_own: the keys were switched before main().
 */
static int env(const char *path)
{
	struct plugin p;

	CHECK(core_feature() == 1 && main_feature() == 1 && skeys_enabled(&feature));
	CHECK(core_fast() == 0);
	CHECK(!skeys_enabled(&main_own));
	CHECK(skeys_enabled(&main_arr[2]) && !skeys_enabled(&main_arr[1]));
	if (plugin_open(&p, path))
		return 1;
	/* The plugin's own key, at its registration; its imports follow theirs. */
	CHECK(skeys_key_enabled(p.own_key()));
	CHECK(p.feature() == 1 && p.fast() == 0);
	CHECK(test_unload(p.h) == 0);
	return 0;
}

/* The program is not sealed (its libraries are): the check says so. */
static int unsealed(const char *path)
{
	(void)path;
	fprintf(stderr, "main: start\n");
	CHECK_ERR(skeys_check_sealed(), SKEYS_ERR_UNSEALED);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s cross|loop|unloaded|names|env|unsealed PLUGIN\n",
			argv[0]);
		return 64;
	}
	if (!strcmp(argv[1], "cross"))
		rc = cross(argv[2]);
	else if (!strcmp(argv[1], "loop"))
		rc = loop(argv[2]);
	else if (!strcmp(argv[1], "unloaded"))
		rc = unloaded(argv[2]);
	else if (!strcmp(argv[1], "names"))
		rc = names(argv[2]);
	else if (!strcmp(argv[1], "env"))
		rc = env(argv[2]);
	else if (!strcmp(argv[1], "unsealed"))
		rc = unsealed(argv[2]);
	else
		return 64;
	if (rc || failures)
		return 1;
	printf("modules: OK\n");
	return 0;
}
