/* SPDX-License-Identifier: MIT */
/*
 * Keys by name: each module's names table (struct skeys_name entries,
 * emitted by SKEYS_DEFINE_* and SKEYS_IMPORT_*), skeys_find(),
 * skeys_foreach() and skeys_check_sealed(). skeys-seal verifies the table,
 * but the runtime reads it as it reads everything a module hands it: an
 * entry outside the module, a string that does not end inside it, or a
 * pointer that is not a key of the module is skipped, never followed.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct skeys_key) == SKEYS_KEY_STRIDE,
	       "key arrays are SKEYS_KEY_STRIDE bytes an element");
_Static_assert(sizeof(struct skeys_header) == SKEYS_HEADER_SIZE_NAMES,
	       "a header with names is SKEYS_HEADER_SIZE_NAMES bytes");

/* Longest name handed to skeys_foreach()'s callback, "[index]" included. */
#define NAME_MAX_LEN 256
/* A string is looked for its end this far at most: a name is an identifier. */
#define NAME_SCAN 1024u

static bool in_module(const struct skeys_module *m, uintptr_t a, size_t len)
{
	return a >= m->lo && a <= m->hi && len <= m->hi - a;
}

void skeys_names_attach(struct skeys_module *m)
{
	const struct skeys_header *h = m->header;
	uintptr_t start, stop;

	if (h->header_size < SKEYS_HEADER_SIZE_NAMES)
		return; /* built before names were recorded */
	start = (uintptr_t)&h->names_start + (uintptr_t)(intptr_t)h->names_start;
	stop = (uintptr_t)&h->names_stop + (uintptr_t)(intptr_t)h->names_stop;
	if (start > stop || start % _Alignof(struct skeys_name) ||
	    (stop - start) % sizeof(struct skeys_name) || !in_module(m, start, stop - start)) {
		skeys_log(SKEYS_LOG_WARN, "%s: names table [%p, %p) is not inside the module: "
					  "its keys have no names", m->name, (void *)start,
			  (void *)stop);
		return;
	}
	m->names = (const struct skeys_name *)start;
	m->n_names = (stop - start) / sizeof(struct skeys_name);
}

const char *skeys_names_entry(const struct skeys_module *m, size_t i, struct skeys_key **key,
			      uint32_t *count)
{
	const struct skeys_name *e = &m->names[i];
	uintptr_t k = (uintptr_t)&e->key + (uintptr_t)(intptr_t)e->key;
	uintptr_t s = (uintptr_t)&e->name + (uintptr_t)(intptr_t)e->name;
	uint32_t j;

	if (!in_module(m, s, 1) ||
	    !memchr((const void *)s, 0, m->hi - s < NAME_SCAN ? m->hi - s : NAME_SCAN) ||
	    e->count == 0 ||
	    e->count > (m->hi - m->lo) / SKEYS_KEY_STRIDE)
		return NULL;
	for (j = 0; j < e->count; j++)
		if (skeys_module_of((const void *)(k + (size_t)j * SKEYS_KEY_STRIDE)) != m ||
		    !skeys_key_valid((const struct skeys_key *)(k + (size_t)j * SKEYS_KEY_STRIDE)))
			return NULL;
	*key = (struct skeys_key *)k;
	/* A cell named for a key of <skeys/kernel.h> (SKEYS_KEY_F_NAMED): the key, once bound. */
	if (e->count == 1 && ((*key)->flags & (SKEYS_KEY_F_PROXY | SKEYS_KEY_F_NAMED)) ==
				     (SKEYS_KEY_F_PROXY | SKEYS_KEY_F_NAMED) &&
	    skeys_proxy_target(*key))
		*key = skeys_proxy_target(*key);
	*count = e->count;
	return (const char *)s;
}

bool skeys_names_match(const char *name, uint32_t count, const char *query, size_t qlen,
		       uint32_t *index)
{
	size_t n = strlen(name);
	unsigned long i = 0;
	size_t p;

	if (qlen < n || memcmp(name, query, n))
		return false;
	if (qlen == n) {
		*index = 0;
		return count == 1;
	}
	/* "[digits]": no sign, no spaces, no leading zero but "0" itself. */
	if (query[n] != '[' || query[qlen - 1] != ']' || qlen - n < 3 ||
	    (query[n + 1] == '0' && qlen - n > 3))
		return false;
	for (p = n + 1; p < qlen - 1; p++) {
		if (query[p] < '0' || query[p] > '9' || i >= count)
			return false;
		i = i * 10 + (unsigned long)(query[p] - '0');
	}
	if (i >= count)
		return false;
	*index = (uint32_t)i;
	return true;
}

/* The registered modules in registration order, in a new array (NULL: none or no memory). */
static struct skeys_module **by_seq(size_t *n, int *err)
{
	struct skeys_module *m, **all;
	size_t i = 0, j;

	*n = 0;
	*err = 0;
	for (m = skeys_modules; m; m = m->next)
		(*n)++;
	if (!*n)
		return NULL;
	all = malloc(*n * sizeof(struct skeys_module *));
	if (!all) {
		*err = -ENOMEM;
		return NULL;
	}
	/* Insertion sort: a process has few modules, and they arrive nearly in order. */
	for (m = skeys_modules; m; m = m->next) {
		for (j = i; j > 0 && all[j - 1]->seq > m->seq; j--)
			all[j] = all[j - 1];
		all[j] = m;
		i++;
	}
	return all;
}

int skeys_find_impl(const char *name, struct skeys_key **found)
{
	struct skeys_module **all;
	struct skeys_key *proxy = NULL;
	size_t n, i, e;
	int err;

	*found = NULL;
	if (!name)
		return -EINVAL;
	skeys_lock_take();
	all = by_seq(&n, &err);
	for (i = 0; i < n && !*found; i++) {
		for (e = 0; e < all[i]->n_names && !*found; e++) {
			struct skeys_key *k;
			uint32_t count, idx;
			const char *s = skeys_names_entry(all[i], e, &k, &count);

			if (!s || !skeys_names_match(s, count, name, strlen(name), &idx))
				continue;
			k = (struct skeys_key *)((char *)k + (size_t)idx * SKEYS_KEY_STRIDE);
			if (!(k->flags & SKEYS_KEY_F_PROXY))
				*found = k;
			else if (!proxy)
				proxy = k;
		}
	}
	if (!*found)
		*found = proxy;
	skeys_lock_release();
	free(all);
	return err;
}

struct named {
	char *name;
	struct skeys_key *key;
};

static int collect(struct named **out, size_t *n_out)
{
	struct skeys_module **all;
	struct named *list = NULL;
	size_t n, i, e, have = 0, cap = 0;
	int err;

	all = by_seq(&n, &err);
	for (i = 0; i < n && !err; i++) {
		for (e = 0; e < all[i]->n_names && !err; e++) {
			struct skeys_key *k;
			uint32_t count, j;
			const char *s = skeys_names_entry(all[i], e, &k, &count);

			for (j = 0; s && j < count && !err; j++) {
				char buf[NAME_MAX_LEN];

				if (have == cap) {
					struct named *more;

					cap = cap ? 2 * cap : 64;
					more = realloc(list, cap * sizeof(*list));
					if (!more) {
						err = -ENOMEM;
						break;
					}
					list = more;
				}
				if (count == 1)
					snprintf(buf, sizeof(buf), "%s", s);
				else
					snprintf(buf, sizeof(buf), "%s[%u]", s, (unsigned)j);
				list[have].key = (struct skeys_key *)((char *)k + (size_t)j * SKEYS_KEY_STRIDE);
				list[have].name = malloc(strlen(buf) + 1);
				if (list[have].name)
					memcpy(list[have].name, buf, strlen(buf) + 1);
				if (!list[have].name)
					err = -ENOMEM;
				else
					have++;
			}
		}
	}
	free(all);
	*out = list;
	*n_out = have;
	return err;
}

int skeys_foreach_impl(int (*fn)(const char *name, struct skeys_key *k, void *data),
		       void *data)
{
	struct named *list;
	size_t n, i;
	int r;

	if (!fn)
		return -EINVAL;
	skeys_lock_take();
	r = collect(&list, &n);
	skeys_lock_release();
	/* Called without the lock: fn may switch keys. */
	for (i = 0; i < n && !r; i++)
		r = fn(list[i].name, list[i].key, data);
	for (i = 0; i < n; i++)
		free(list[i].name);
	free(list);
	return r;
}

int skeys_check_sealed_impl(void)
{
	struct skeys_module *m;
	int first = 0, err;

	skeys_lock_take();
	for (m = skeys_modules; m; m = m->next) {
		if (m->state == SKEYS_MODULE_BAD) {
			err = SKEYS_ERR_ABI;
		} else if (!(m->header->flags & SKEYS_HEADER_SEALED)) {
			/* Also in a dev_sort build, where the module works unsealed. */
			err = SKEYS_ERR_UNSEALED;
		} else {
			/* Checksum and order, as the first switch would find them. */
			err = skeys_module_prepare(m);
		}
		if (err) {
			skeys_log(SKEYS_LOG_ERROR, "%s: %s", m->name, skeys_strerror(err));
			if (!first)
				first = err;
		}
	}
	skeys_lock_release();
	return first;
}
