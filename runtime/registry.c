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

pthread_mutex_t skeys_lock = PTHREAD_MUTEX_INITIALIZER;
struct skeys_module *skeys_modules;

/*
 * Which thread holds skeys_lock, read without it: a signal handler that
 * interrupted a switch on its own thread, and fork(), must know.
 */
static pthread_t lock_owner;
static bool lock_held;

void skeys_lock_take(void)
{
	pthread_t self = pthread_self();

	pthread_mutex_lock(&skeys_lock);
	__atomic_store(&lock_owner, &self, __ATOMIC_RELAXED);
	__atomic_store_n(&lock_held, true, __ATOMIC_RELEASE);
}

void skeys_lock_release(void)
{
	__atomic_store_n(&lock_held, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&skeys_lock);
}

/* Async-signal-safe: only this thread can have set both to itself. */
static bool lock_mine(void)
{
	pthread_t owner;

	if (!__atomic_load_n(&lock_held, __ATOMIC_ACQUIRE))
		return false;
	__atomic_load(&lock_owner, &owner, __ATOMIC_RELAXED);
	return pthread_equal(owner, pthread_self());
}

bool skeys_lock_mine(void)
{
	return lock_mine();
}

/*
 * fork() never happens in the middle of a switch: the child gets a free
 * lock and sites holding whole instructions, none of the protocol's traps.
 * A fork from inside a switch (a signal handler, the log callback) cannot
 * wait for it: there the child's copy of the thread finishes the switch
 * and releases the lock, as the parent's does.
 */
static bool fork_took_lock;

static void fork_prepare(void)
{
	fork_took_lock = !lock_mine();
	if (fork_took_lock)
		skeys_lock_take();
}

/* In the parent and in the child. */
static void fork_after(void)
{
	if (fork_took_lock)
		skeys_lock_release();
}

static void atfork_register(void)
{
	if (skeys_os_atfork(fork_prepare, fork_after, fork_after))
		skeys_log(SKEYS_LOG_WARN, "pthread_atfork failed: a fork during a switch "
					  "may leave the child unable to switch keys");
}

/*
 * Once, and not with skeys_lock held: older C libraries call the fork
 * handlers under a lock of their own, which pthread_atfork takes too.
 */
static void atfork_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, atfork_register);
}

/* Bumped by every toggle: a module registering later may need patching. */
static unsigned long toggles;
/* Bumped when a module comes or goes. */
static unsigned long generation;

static bool header_ok(const struct skeys_header *h)
{
	/* A header of the first size has no names table; see skeys_names_attach(). */
	return memcmp(h->magic, SKEYS_HEADER_MAGIC, sizeof(h->magic)) == 0 &&
	       h->version == SKEYS_ABI_VERSION &&
	       (h->header_size == SKEYS_HEADER_SIZE_V1 ||
		h->header_size == SKEYS_HEADER_SIZE_NAMES ||
		h->header_size == SKEYS_HEADER_SIZE_ENTRIES) &&
	       h->entry_size == sizeof(struct skeys_entry) && skeys_arch_native() &&
	       h->arch == (unsigned)skeys_arch_native()->id;
}

static bool is_key(const struct skeys_key *k);
static struct skeys_key *proxy_target(const struct skeys_key *proxy);

/*
 * Does the table of `m` name `key`, itself or through a proxy bound to it:
 * an import, a cell of <skeys/kernel.h>, or a cell standing for an import
 * (proxy_target() follows the one step more, as binding does).
 */
bool skeys_module_mentions(const struct skeys_module *m, const struct skeys_key *key)
{
	size_t i;

	for (i = 0; i < m->count; i++) {
		const struct skeys_key *k = (const struct skeys_key *)(uintptr_t)skeys_entry_key(
			&m->entries[i], (uintptr_t)&m->entries[i]);

		/* Only keys inside the module are read: its table is not trusted. */
		if (k == key || ((uintptr_t)k >= m->lo && (uintptr_t)k + sizeof(*k) <= m->hi &&
				 is_key(k) && (k->flags & SKEYS_KEY_F_PROXY) &&
				 proxy_target(k) == key))
			return true;
	}
	return false;
}

#ifdef SKEYS_DEV_SORT
/* Development builds only: sort an unsealed table in place at start-up. */
static int dev_sort(struct skeys_module *m)
{
	size_t pg = skeys_os_page_size();
	uintptr_t lo = (uintptr_t)m->entries & ~(pg - 1);
	uintptr_t hi = ((uintptr_t)(m->entries + m->count) + pg - 1) & ~(pg - 1);
	int prot = SKEYS_PROT_READ, err, err2;
	unsigned i;

	/* Linked without separate code, the table may share a page with code. */
	for (i = 0; i < m->n_exec; i++)
		if (lo < m->exec[i].end && hi > m->exec[i].start)
			prot |= SKEYS_PROT_EXEC;
	err = skeys_os_protect(lo, hi - lo, prot | SKEYS_PROT_WRITE);
	if (err)
		return err;
	err = skeys_table_sort((struct skeys_entry *)m->entries, m->count,
			       (uintptr_t)m->entries);
	err2 = skeys_os_protect(lo, hi - lo, prot);
	return err ? err : err2;
}
#endif

static struct skeys_key *key_at(const struct skeys_module *m, size_t i)
{
	return (struct skeys_key *)(uintptr_t)skeys_entry_key(&m->entries[i],
							       (uintptr_t)&m->entries[i]);
}

/* Index of the first entry after the run of entries naming key_at(m, i). */
static size_t next_key(const struct skeys_module *m, size_t i)
{
	const struct skeys_key *k = key_at(m, i);

	while (i < m->count && key_at(m, i) == k)
		i++;
	return i;
}

struct skeys_module *skeys_module_of(const void *p)
{
	struct skeys_module *m;

	for (m = skeys_modules; m; m = m->next)
		if ((uintptr_t)p >= m->lo && (uintptr_t)p < m->hi)
			return m;
	return NULL;
}

/* Inside the writable data of its module (a key's count changes). */
static bool in_data(const struct skeys_module *m, uintptr_t a, size_t len)
{
	unsigned i;

	if (m->n_data == 0)
		return true; /* an OS port that does not report its data segments */
	for (i = 0; i < m->n_data; i++)
		if (a >= m->data[i].start && a + len <= m->data[i].end)
			return skeys_key_place(SKEYS_PLACE_WRITE, a, len, m->relro_lo,
					       m->relro_hi) == SKEYS_KEY_PLACE_OK;
	return false;
}

/* Checked before anything is read through `k`: a forged or stale pointer is never followed. */
static bool is_key(const struct skeys_key *k)
{
	const struct skeys_module *m = skeys_module_of(k);

	return m && (uintptr_t)k % _Alignof(struct skeys_key) == 0 &&
	       in_data(m, (uintptr_t)k, sizeof(*k)) &&
	       (k->flags & SKEYS_KEY_MAGIC_MASK) == SKEYS_KEY_MAGIC;
}

bool skeys_key_valid(const struct skeys_key *k)
{
	return is_key(k);
}

/* What a proxy's slot points at, if that is a key (maybe a proxy itself). */
static struct skeys_key *proxy_next(const struct skeys_key *proxy)
{
	struct skeys_key *const *slot = proxy->link;

	if (!slot || !skeys_module_of(slot) || !skeys_module_of(slot + 1) || !is_key(*slot))
		return NULL;
	return *slot;
}

/*
 * The real key behind a proxy, or NULL when it cannot be trusted. A cell
 * of <skeys/kernel.h> may stand for an import's proxy (a module that both
 * imports a key and names it in cells): one step more, never further.
 */
static struct skeys_key *proxy_target(const struct skeys_key *proxy)
{
	struct skeys_key *real = proxy_next(proxy);

	if (real && (real->flags & SKEYS_KEY_F_PROXY))
		real = proxy_next(real);
	if (!real || (real->flags & SKEYS_KEY_F_PROXY))
		return NULL;
	return real;
}

struct skeys_key *skeys_proxy_target(const struct skeys_key *proxy)
{
	return proxy_target(proxy);
}

static bool key_on(const struct skeys_key *k)
{
	return __atomic_load_n(&k->count, __ATOMIC_RELAXED) > 0;
}

/* The table as sealed: intact, and in the order lookups rely on. */
static int table_verify(const struct skeys_module *m)
{
	uint64_t sum;
	int sorted;

	if (m->header->flags & SKEYS_HEADER_SEALED) {
		sorted = skeys_table_checksum_sorted(m->entries, m->count, (uintptr_t)m->entries,
						     &sum);
		if (sum != m->header->checksum) {
			skeys_log(SKEYS_LOG_ERROR, "%s: skeys table changed after sealing",
				  m->name);
			return SKEYS_ERR_CHECKSUM;
		}
	} else {
		sorted = skeys_table_is_sorted(m->entries, m->count, (uintptr_t)m->entries);
	}
	/* Checksummed but out of order: skeys-seal did not write it. */
	if (!sorted) {
		skeys_log(SKEYS_LOG_ERROR, "%s: skeys table is not in sealed order: "
					   "not sealed by skeys-seal", m->name);
		return SKEYS_ERR_UNSEALED;
	}
	return 0;
}

/* Every key the table names is a key of the module; counts the proxies among them. */
static int keys_verify(const struct skeys_module *m, size_t *n_proxies)
{
	size_t i;

	*n_proxies = 0;
	for (i = 0; i < m->count; i = next_key(m, i)) {
		struct skeys_key *k = key_at(m, i);

		if (skeys_module_of(k) != m || !is_key(k)) {
			skeys_log(SKEYS_LOG_ERROR, "%s: table names %p, not a key of the module",
				  m->name, (void *)k);
			return SKEYS_ERR_NOTKEY;
		}
		*n_proxies += (k->flags & SKEYS_KEY_F_PROXY) != 0;
	}
	return 0;
}

/* The real key behind each of the module's proxies, NULL where it is bound to nothing. */
static int proxies_bind(struct skeys_module *m, size_t n_proxies)
{
	size_t i;

	if (!n_proxies)
		return 0;
	m->proxies = calloc(n_proxies, sizeof(*m->proxies));
	if (!m->proxies)
		return -ENOMEM;
	for (i = 0; i < m->count; i = next_key(m, i)) {
		struct skeys_key *k = key_at(m, i);

		if (!(k->flags & SKEYS_KEY_F_PROXY))
			continue;
		m->proxies[m->n_proxies].proxy = k;
		m->proxies[m->n_proxies].real = proxy_target(k);
		if (!m->proxies[m->n_proxies++].real)
			skeys_log(SKEYS_LOG_ERROR, "%s: imported key %p is not bound to "
						   "a key of a loaded module", m->name, (void *)k);
	}
	return 0;
}

/* Bring the sites of keys that changed since the module was built to their state. */
static int sites_sync(struct skeys_module *m)
{
	struct skeys_batch b = { 0 };
	size_t i, proxy = 0;
	int err;

	for (i = 0; i < m->count; i = next_key(m, i)) {
		struct skeys_key *k = key_at(m, i);
		/* proxies_bind() recorded the proxies in table order. */
		const struct skeys_key *real = k->flags & SKEYS_KEY_F_PROXY
						       ? m->proxies[proxy++].real
						       : k;

		if (!real || key_on(real) == (bool)(k->flags & SKEYS_KEY_F_INITIAL))
			continue;
		err = skeys_batch_collect(&b, m, k, key_on(real));
		if (err) {
			skeys_batch_free(&b);
			return err;
		}
	}
	err = skeys_batch_write(&b);
	skeys_batch_free(&b);
	if (err)
		skeys_log(SKEYS_LOG_ERROR, "%s: cannot bring its sites to their keys' state: %s",
			  m->name, skeys_strerror(err));
	return err;
}

int skeys_module_prepare(struct skeys_module *m)
{
	size_t n_proxies;

	if (m->prepared)
		return m->error;
	m->prepared = true;
	if (!m->error)
		m->error = table_verify(m);
	if (!m->error)
		m->error = keys_verify(m, &n_proxies);
	if (!m->error)
		m->error = proxies_bind(m, n_proxies);
	if (!m->error)
		m->error = sites_sync(m);
	return m->error;
}

static void insert_sorted(struct skeys_module *m)
{
	struct skeys_module **p = &skeys_modules;

	while (*p && (*p)->base < m->base)
		p = &(*p)->next;
	m->next = *p;
	*p = m;
}

void skeys_registry_add(const struct skeys_header *h)
{
	static unsigned long registered;
	struct skeys_module *m = calloc(1, sizeof(*m));
	const char *start, *stop;
	int err;

	atfork_install();
	if (!m)
		return; /* its keys are then refused: skeys_module_of() finds no module */
	skeys_lock_take();
	m->header = h;
	start = (const char *)(uintptr_t)skeys_header_start(h, (uintptr_t)h);
	stop = (const char *)(uintptr_t)skeys_header_stop(h, (uintptr_t)h);
	m->entries = (const struct skeys_entry *)(const void *)start;
	m->count = (size_t)(stop - start) / sizeof(struct skeys_entry);
	err = skeys_os_module_lookup(h, m);
	if (err)
		skeys_log(SKEYS_LOG_ERROR, "module at %p: cannot find its segments: %s",
			  (const void *)h, skeys_strerror(err));
	if (!header_ok(h)) {
		m->state = SKEYS_MODULE_BAD;
		m->error = SKEYS_ERR_ABI;
		skeys_log(SKEYS_LOG_ERROR, "%s: skeys table of another ABI or architecture",
			  m->name);
	} else if (!(h->flags & SKEYS_HEADER_SEALED)) {
		m->state = SKEYS_MODULE_UNSEALED;
		m->error = SKEYS_ERR_UNSEALED;
#ifdef SKEYS_DEV_SORT
		err = dev_sort(m);
		if (!err) {
			m->state = SKEYS_MODULE_OK;
			m->error = 0;
		}
		skeys_log(SKEYS_LOG_WARN, "%s: not sealed, sorted at start-up (%s)", m->name,
			  skeys_strerror(err));
#else
		skeys_log(SKEYS_LOG_WARN, "%s: not sealed by skeys-seal: its keys will not toggle",
			  m->name);
#endif
	} else if (h->count != m->count) {
		m->error = SKEYS_ERR_CHECKSUM;
	}
	m->seq = registered++;
	if (m->state != SKEYS_MODULE_BAD)
		skeys_names_attach(m);
	if (h->header_size >= SKEYS_HEADER_SIZE_ENTRIES && m->state != SKEYS_MODULE_BAD)
		m->fent = (const struct skeys_fentries *)(const void *)((const char *)h +
									 SKEYS_HEADER_SIZE_NAMES);
	insert_sorted(m);
	generation++;
	/* After skeys_entry_attach_all(), its functions are traced too. */
	skeys_entries_added(m);
	/* A key may have changed already: this module then starts out patched. */
	if (toggles)
		skeys_module_prepare(m);
	skeys_env_apply(m);
	skeys_lock_release();
}

void skeys_registry_remove(const struct skeys_header *h)
{
	struct skeys_module **p, *m, *o;
	size_t i;

	/* Nothing switches a key any more; the module goes with the process. */
	if (skeys_os_exiting())
		return;
	skeys_lock_take();
	for (p = &skeys_modules; *p; p = &(*p)->next) {
		if ((*p)->header != h)
			continue;
		m = *p;
		*p = m->next;
		generation++;
		/* Proxies elsewhere bound to its keys are bound to nothing now. */
		for (o = skeys_modules; o; o = o->next)
			for (i = 0; i < o->n_proxies; i++)
				if (o->proxies[i].real && (uintptr_t)o->proxies[i].real >= m->lo &&
				    (uintptr_t)o->proxies[i].real < m->hi)
					o->proxies[i].real = NULL;
		skeys_calls_forget(m);
		skeys_entries_removed(m);
		free(m->proxies);
		free(m);
		break;
	}
	skeys_lock_release();
}

/* ---- keys ---------------------------------------------------------------- */

/*
 * The batch of the last switch, kept: switching the same key back, with
 * the same modules loaded, turns it round instead of collecting and
 * encoding every site again (each site is still checked before the write).
 */
static struct {
	const struct skeys_key *key;
	unsigned long generation; /* of the registry it was collected from */
	bool on;                  /* what it switched the key to */
	struct skeys_batch b;
} last;

/* Every site of `key`, and of the proxies bound to it, to go to state `on`. */
static int collect(struct skeys_batch *b, struct skeys_key *key, bool on)
{
	struct skeys_module *m;
	size_t i;
	int err = 0;

	for (m = skeys_modules; m && !err; m = m->next) {
		if (m->error) {
			if (m->state == SKEYS_MODULE_BAD ? (uintptr_t)key >= m->lo &&
								   (uintptr_t)key < m->hi
							 : skeys_module_mentions(m, key))
				err = m->error;
			continue;
		}
		err = skeys_batch_collect(b, m, key, on);
		for (i = 0; i < m->n_proxies && !err; i++) {
			/*
			 * A proxy whose key was not registered when the module was
			 * prepared (a library's cell for a key that a copy relocation
			 * put into the executable) binds once it is: its sites are
			 * still as compiled, the key's state before this switch.
			 */
			if (!m->proxies[i].real)
				m->proxies[i].real = proxy_target(m->proxies[i].proxy);
			if (m->proxies[i].real == key)
				err = skeys_batch_collect(b, m, m->proxies[i].proxy, on);
		}
	}
	return err;
}

/* Bring every site of `key`, and of the proxies bound to it, to state `on`. */
static int toggle(struct skeys_key *key, bool on)
{
	struct skeys_batch b = last.b;
	struct skeys_module *m;
	int err;

	for (m = skeys_modules; m; m = m->next)
		skeys_module_prepare(m);
	if (last.key == key && last.generation == generation && last.on != on) {
		err = skeys_batch_reverse(&b);
	} else {
		b.n = 0; /* the array is reused */
		err = collect(&b, key, on);
	}
	last.key = NULL;
	if (!err)
		err = skeys_batch_write(&b);
	if (err) {
		skeys_batch_free(&b);
		last.b = b;
		return err;
	}
	last.key = key;
	last.generation = generation;
	last.on = on;
	last.b = b;
	return 0;
}

/* Move the key's count to `count`, patching when enabled-ness changes. */
static int key_set(struct skeys_key *key, int32_t count)
{
	bool was = key->count > 0, now = count > 0;
	int err = 0;

	if (was != now) {
		err = toggle(key, now);
		if (err)
			return err;
		toggles++;
	}
	__atomic_store_n(&key->count, count, __ATOMIC_RELEASE);
	return 0;
}

/*
 * A key in a module that is loaded but not registered: its constructors
 * have not run yet (.preinit_array, a library's constructor using a key of
 * the executable) or its destructors already have (a library's destructor
 * at exit). Only read once the OS says `k` lies in that module's data.
 */
static bool unregistered_key(const struct skeys_key *k)
{
	struct skeys_module m;

	memset(&m, 0, sizeof(m));
	return k && !skeys_module_of(k) && skeys_os_module_lookup(k, &m) == 0 &&
	       (uintptr_t)k % _Alignof(struct skeys_key) == 0 && m.n_data &&
	       in_data(&m, (uintptr_t)k, sizeof(*k)) &&
	       (k->flags & SKEYS_KEY_MAGIC_MASK) == SKEYS_KEY_MAGIC;
}

/* Why a proxy has no real key: the module exporting it is not registered, or no key is there. */
static int unbound_proxy(const struct skeys_key *proxy)
{
	struct skeys_key *const *slot = proxy->link;
	struct skeys_module m;

	memset(&m, 0, sizeof(m));
	if (!slot || (uintptr_t)slot % _Alignof(void *))
		return SKEYS_ERR_NOTKEY;
	if ((!skeys_module_of(slot) || !skeys_module_of(slot + 1)) &&
	    (skeys_os_module_lookup(slot, &m) || (uintptr_t)(slot + 1) > m.hi))
		return SKEYS_ERR_NOTKEY;
	return unregistered_key(*slot) ? SKEYS_ERR_NOTREADY : SKEYS_ERR_NOTKEY;
}

/* The key to operate on: `key` itself, or the real key behind a proxy. */
static int key_resolve(struct skeys_key *key, struct skeys_key **real)
{
	if (!key)
		return -EINVAL;
	/* A key of a module that was unloaded, or no key at all, is never read. */
	if (!is_key(key))
		return unregistered_key(key) ? SKEYS_ERR_NOTREADY : SKEYS_ERR_NOTKEY;
	*real = key;
	if (key->flags & SKEYS_KEY_F_PROXY) {
		*real = proxy_target(key);
		if (!*real)
			return unbound_proxy(key);
	}
	return 0;
}

int skeys_key_op(struct skeys_key *proxy, enum skeys_key_op op)
{
	int err;

	/* A signal handler that interrupted a switch on this thread: waiting would never end. */
	if (lock_mine())
		return -EDEADLK;
	skeys_lock_take();
	err = skeys_key_op_locked(proxy, op);
	skeys_lock_release();
	return err;
}

int skeys_key_op_locked(struct skeys_key *proxy, enum skeys_key_op op)
{
	struct skeys_key *key = NULL;
	int32_t c;
	int err;

	err = key_resolve(proxy, &key);
	if (err)
		return err;
	c = key->count;
	switch (op) {
	case SKEYS_OP_ENABLE:
		err = c > 0 ? 0 : key_set(key, 1);
		break;
	case SKEYS_OP_DISABLE:
		err = c > 0 ? key_set(key, 0) : 0;
		break;
	case SKEYS_OP_INC:
		err = c == INT32_MAX ? SKEYS_ERR_COUNT : key_set(key, c + 1);
		break;
	case SKEYS_OP_DEC:
		err = c <= 0 ? SKEYS_ERR_COUNT : key_set(key, c - 1);
		break;
	case SKEYS_OP_DISABLE_ONE:
		/* The kernel's rule: other users still hold the key. */
		if (c > 1)
			skeys_log(SKEYS_LOG_WARN, "key %p: disable with count %d: left enabled",
				  (void *)proxy, (int)c);
		else
			err = c > 0 ? key_set(key, 0) : 0;
		break;
	case SKEYS_OP_DEC_NOT_LAST:
		err = c <= 0 ? SKEYS_ERR_COUNT : c == 1 ? 1 : key_set(key, c - 1);
		break;
	}
	return err;
}

SKEYS_API int skeys_key_count(const struct skeys_key *key)
{
	/* Lock-free: a query may be made anywhere, also from a site's slow path. */
	if (key && (key->flags & SKEYS_KEY_F_PROXY) && key->link)
		key = *(struct skeys_key *const *)key->link;
	return key ? __atomic_load_n(&key->count, __ATOMIC_ACQUIRE) : -EINVAL;
}

SKEYS_API bool skeys_key_enabled(const struct skeys_key *key)
{
	return skeys_key_count(key) > 0;
}
