/* SPDX-License-Identifier: MIT */
/*
 * Module registry and key state. Registration is O(1) in the number of
 * sites: the table arrives sealed, so the runtime only records where it is.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

pthread_mutex_t skeys_lock = PTHREAD_MUTEX_INITIALIZER;
struct skeys_module *skeys_modules;

/* Bumped by every toggle: a module registering later may need patching. */
static unsigned long toggles;

static bool header_ok(const struct skeys_header *h)
{
	return memcmp(h->magic, SKEYS_HEADER_MAGIC, sizeof(h->magic)) == 0 &&
	       h->version == SKEYS_ABI_VERSION &&
	       h->header_size == sizeof(struct skeys_header) &&
	       h->entry_size == sizeof(struct skeys_entry) && skeys_arch_native() &&
	       h->arch == (unsigned)skeys_arch_native()->id;
}

bool skeys_module_mentions(const struct skeys_module *m, const struct skeys_key *key)
{
	size_t i;

	for (i = 0; i < m->count; i++)
		if (skeys_entry_key(&m->entries[i], (uintptr_t)&m->entries[i]) ==
		    (uintptr_t)key)
			return true;
	return false;
}

#ifdef SKEYS_DEV_SORT
/* Development builds only: sort an unsealed table in place at start-up. */
static int dev_sort(struct skeys_module *m)
{
	size_t pg = skeys_os_page_size();
	uintptr_t lo = (uintptr_t)m->entries & ~(pg - 1);
	uintptr_t hi = ((uintptr_t)(m->entries + m->count) + pg - 1) & ~(pg - 1);
	int prot = PROT_READ, err;
	unsigned i;

	/* Linked without separate code, the table may share a page with code. */
	for (i = 0; i < m->n_exec; i++)
		if (lo < m->exec[i].end && hi > m->exec[i].start)
			prot |= PROT_EXEC;
	if (mprotect((void *)lo, hi - lo, prot | PROT_WRITE))
		return -errno;
	err = skeys_table_sort((struct skeys_entry *)m->entries, m->count,
			       (uintptr_t)m->entries);
	if (mprotect((void *)lo, hi - lo, prot) && !err)
		err = -errno;
	return err;
}
#endif

/* Patch the module's sites of every key that changed before it registered. */
static void sync_module(struct skeys_module *m)
{
	size_t i = 0;

	while (i < m->count) {
		struct skeys_key *key = (struct skeys_key *)(uintptr_t)skeys_entry_key(
			&m->entries[i], (uintptr_t)&m->entries[i]);
		bool on = __atomic_load_n(&key->count, __ATOMIC_RELAXED) > 0;
		int err;

		if (on != (bool)(key->flags & SKEYS_KEY_F_INITIAL)) {
			err = skeys_patch_key(key, on, m);
			if (err)
				skeys_log(SKEYS_LOG_ERROR,
					  "%s: cannot bring key %p to its state: %s",
					  m->name, (void *)key, skeys_strerror(err));
		}
		while (i < m->count &&
		       skeys_entry_key(&m->entries[i], (uintptr_t)&m->entries[i]) ==
			       (uintptr_t)key)
			i++;
	}
}

static void insert_sorted(struct skeys_module *m)
{
	struct skeys_module **p = &skeys_modules;

	while (*p && (*p)->base < m->base)
		p = &(*p)->next;
	m->next = *p;
	*p = m;
}

SKEYS_API void skeys_module_register(const struct skeys_header *h)
{
	struct skeys_module *m = calloc(1, sizeof(*m));
	const char *start, *stop;
	int err;

	if (!m)
		return; /* its keys then fail to toggle: nothing found to patch is not safe */
	pthread_mutex_lock(&skeys_lock);
	m->header = h;
	m->checksum = 1;
	start = (const char *)&h->start + h->start;
	stop = (const char *)&h->stop + h->stop;
	m->entries = (const struct skeys_entry *)(const void *)start;
	m->count = (size_t)(stop - start) / sizeof(struct skeys_entry);
	err = skeys_os_module_lookup(h, m);
	if (err)
		skeys_log(SKEYS_LOG_ERROR, "module at %p: cannot find its segments: %s",
			  (const void *)h, skeys_strerror(err));
	if (!header_ok(h)) {
		m->state = SKEYS_MODULE_BAD;
		skeys_log(SKEYS_LOG_ERROR, "%s: skeys table of another ABI or architecture",
			  m->name);
	} else if (!(h->flags & SKEYS_HEADER_SEALED)) {
		m->state = SKEYS_MODULE_UNSEALED;
#ifdef SKEYS_DEV_SORT
		err = dev_sort(m);
		if (!err)
			m->state = SKEYS_MODULE_OK;
		m->checksum = 0;
		skeys_log(SKEYS_LOG_WARN, "%s: not sealed, sorted at start-up (%s)", m->name,
			  skeys_strerror(err));
#else
		skeys_log(SKEYS_LOG_WARN, "%s: not sealed by skeys-seal: its keys will not toggle",
			  m->name);
#endif
	} else if (h->count != m->count) {
		m->state = SKEYS_MODULE_OK;
		m->checksum = SKEYS_ERR_CHECKSUM;
	}
	insert_sorted(m);
	if (toggles && m->state == SKEYS_MODULE_OK)
		sync_module(m);
	pthread_mutex_unlock(&skeys_lock);
}

SKEYS_API void skeys_module_unregister(const struct skeys_header *h)
{
	struct skeys_module **p, *m;

	pthread_mutex_lock(&skeys_lock);
	for (p = &skeys_modules; *p; p = &(*p)->next) {
		if ((*p)->header == h) {
			m = *p;
			*p = m->next;
			free(m);
			break;
		}
	}
	pthread_mutex_unlock(&skeys_lock);
}

/* ---- keys ---------------------------------------------------------------- */

static int key_check(const struct skeys_key *key)
{
	if (!key)
		return -EINVAL;
	if ((key->flags & SKEYS_KEY_MAGIC_MASK) != SKEYS_KEY_MAGIC)
		return SKEYS_ERR_NOTKEY;
	return 0;
}

/* Move the key's count to `count`, patching when enabled-ness changes. */
static int key_set(struct skeys_key *key, int32_t count)
{
	bool was = key->count > 0, now = count > 0;
	int err = 0;

	if (was != now) {
		err = skeys_patch_key(key, now, NULL);
		if (err)
			return err;
		toggles++;
	}
	__atomic_store_n(&key->count, count, __ATOMIC_RELEASE);
	return 0;
}

enum key_op { OP_ENABLE, OP_DISABLE, OP_INC, OP_DEC };

static int key_op(struct skeys_key *key, enum key_op op)
{
	int err = key_check(key);
	int32_t c;

	if (err)
		return err;
	pthread_mutex_lock(&skeys_lock);
	c = key->count;
	switch (op) {
	case OP_ENABLE:
		err = c > 0 ? 0 : key_set(key, 1);
		break;
	case OP_DISABLE:
		err = c > 0 ? key_set(key, 0) : 0;
		break;
	case OP_INC:
		err = c == INT32_MAX ? SKEYS_ERR_COUNT : key_set(key, c + 1);
		break;
	case OP_DEC:
		err = c <= 0 ? SKEYS_ERR_COUNT : key_set(key, c - 1);
		break;
	}
	pthread_mutex_unlock(&skeys_lock);
	return err;
}

SKEYS_API int skeys_key_enable(struct skeys_key *key)
{
	return key_op(key, OP_ENABLE);
}

SKEYS_API int skeys_key_disable(struct skeys_key *key)
{
	return key_op(key, OP_DISABLE);
}

SKEYS_API int skeys_key_inc(struct skeys_key *key)
{
	return key_op(key, OP_INC);
}

SKEYS_API int skeys_key_dec(struct skeys_key *key)
{
	return key_op(key, OP_DEC);
}

SKEYS_API bool skeys_key_enabled(const struct skeys_key *key)
{
	return key && __atomic_load_n(&key->count, __ATOMIC_ACQUIRE) > 0;
}
