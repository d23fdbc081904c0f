/* SPDX-License-Identifier: MIT */
/*
 * One runtime per process, however many copies are loaded. The static
 * library linked into two shared libraries gives two copies, each with its
 * own registry and lock: they would not see each other's modules (a key
 * imported across them would not be patched) and could write the same
 * pages at once. So every copy carries a note pointing at its
 * `struct skeys_runtime`; the first copy to start leads, and every later
 * copy finds it through the notes of the loaded modules and forwards all
 * calls to it. The leader's module is pinned so it outlives its followers.
 * A copy of another runtime version refuses to work, and says why.
 * How a copy marks itself and finds the others (an ELF note, a PE section;
 * on Mach-O every copy keeps to itself for now) is the OS port's part.
 */
#include "internal.h"


/* Of struct skeys_runtime and struct skeys_ops; tests build copies of another. */
#ifdef SKEYS_TEST_RUNTIME_VERSION
#define RUNTIME_VERSION SKEYS_TEST_RUNTIME_VERSION
#else
#define RUNTIME_VERSION 4u /* 2: call_set; 3: find, foreach and check_sealed; 4: entry_op */
#endif

struct skeys_ops {
	void (*registry_add)(const struct skeys_header *h);
	void (*registry_remove)(const struct skeys_header *h);
	int (*key_op)(struct skeys_key *key, enum skeys_key_op op);
	void (*log_set)(skeys_log_fn fn, void *ctx);
	int (*set_write_method)(enum skeys_write_method method);
	int (*find)(const char *name, struct skeys_key **key);
	int (*foreach)(int (*fn)(const char *name, struct skeys_key *k, void *data), void *data);
	int (*check_sealed)(void);
	int (*call_set)(struct skeys_call *call, void (*fn)(void));
	int (*entry_op)(enum skeys_entry_op op, void *function, skeys_entry_fn *handler, void *arg);
};

struct skeys_runtime {
	uint32_t magic;
	uint32_t version;
	struct skeys_runtime *leader; /* itself when it leads; NULL until resolved */
	const struct skeys_ops *ops;
};

static const struct skeys_ops local_ops = {
	.registry_add = skeys_registry_add,
	.registry_remove = skeys_registry_remove,
	.key_op = skeys_key_op,
	.log_set = skeys_log_set,
	.set_write_method = skeys_write_method_set,
	.find = skeys_find_impl,
	.foreach = skeys_foreach_impl,
	.check_sealed = skeys_check_sealed_impl,
	.call_set = skeys_call_op,
	.entry_op = skeys_entry_op,
};

static void refused_add(const struct skeys_header *h)
{
	(void)h;
}

static int refused_key_op(struct skeys_key *key, enum skeys_key_op op)
{
	(void)key;
	(void)op;
	return SKEYS_ERR_ABI;
}

static int refused_method(enum skeys_write_method m)
{
	(void)m;
	return SKEYS_ERR_ABI;
}

static int refused_find(const char *name, struct skeys_key **key)
{
	(void)name;
	*key = NULL;
	return SKEYS_ERR_ABI;
}

static int refused_foreach(int (*fn)(const char *name, struct skeys_key *k, void *data),
			   void *data)
{
	(void)fn;
	(void)data;
	return SKEYS_ERR_ABI;
}

static int refused_check(void)
{
	return SKEYS_ERR_ABI;
}

static int refused_call_set(struct skeys_call *call, void (*fn)(void))
{
	(void)call;
	(void)fn;
	return SKEYS_ERR_ABI;
}

static int refused_entry_op(enum skeys_entry_op op, void *function, skeys_entry_fn *handler,
			    void *arg)
{
	(void)op;
	(void)function;
	(void)handler;
	(void)arg;
	return SKEYS_ERR_ABI;
}

/* A copy that met a leader of another version: everything fails, nothing is written. */
static const struct skeys_ops refused_ops = {
	.registry_add = refused_add,
	.registry_remove = refused_add,
	.key_op = refused_key_op,
	.log_set = skeys_log_set,
	.set_write_method = refused_method,
	.find = refused_find,
	.foreach = refused_foreach,
	.check_sealed = refused_check,
	.call_set = refused_call_set,
	.entry_op = refused_entry_op,
};

/* Named from the port's note, which other copies read. */
struct skeys_runtime skeys__runtime = {
	SKEYS_RUNTIME_MAGIC, RUNTIME_VERSION, NULL, &local_ops,
};
static struct skeys_runtime refused = { SKEYS_RUNTIME_MAGIC, RUNTIME_VERSION, NULL, &refused_ops };

/* Another copy that leads. */
static bool is_leader(struct skeys_runtime *rt)
{
	return rt != &skeys__runtime && rt->magic == SKEYS_RUNTIME_MAGIC &&
	       __atomic_load_n(&rt->leader, __ATOMIC_ACQUIRE) == rt;
}

static struct skeys_runtime *resolve(void)
{
	struct skeys_runtime *l = __atomic_load_n(&skeys__runtime.leader, __ATOMIC_ACQUIRE);
	struct skeys_runtime *found;

	if (l)
		return l;
	found = skeys_os_runtime_find(is_leader);
	if (!found) {
		l = &skeys__runtime;
	} else if (found->version != RUNTIME_VERSION) {
		skeys_log(SKEYS_LOG_ERROR, "another skeys runtime (version %u, this is %u) "
					   "is loaded: this copy refuses to patch",
			  found->version, RUNTIME_VERSION);
		l = &refused;
	} else {
		skeys_os_runtime_pin(found);
		l = found;
	}
	__atomic_store_n(&skeys__runtime.leader, l, __ATOMIC_RELEASE);
	return l;
}

static const struct skeys_ops *ops(void)
{
	return resolve()->ops;
}

/* ---- the public entry points ---------------------------------------------- */

SKEYS_API void skeys_module_register(const struct skeys_header *h)
{
	ops()->registry_add(h);
}

SKEYS_API void skeys_module_unregister(const struct skeys_header *h)
{
	ops()->registry_remove(h);
}

int skeys_leader_key_op(struct skeys_key *key, enum skeys_key_op op)
{
	return ops()->key_op(key, op);
}

SKEYS_API int skeys_key_enable(struct skeys_key *key)
{
	return ops()->key_op(key, SKEYS_OP_ENABLE);
}

SKEYS_API int skeys_key_disable(struct skeys_key *key)
{
	return ops()->key_op(key, SKEYS_OP_DISABLE);
}

SKEYS_API int skeys_key_inc(struct skeys_key *key)
{
	return ops()->key_op(key, SKEYS_OP_INC);
}

SKEYS_API int skeys_key_dec(struct skeys_key *key)
{
	return ops()->key_op(key, SKEYS_OP_DEC);
}

SKEYS_API void skeys_set_log(skeys_log_fn fn, void *ctx)
{
	ops()->log_set(fn, ctx);
}

SKEYS_API int skeys_set_write_method(enum skeys_write_method method)
{
	return ops()->set_write_method(method);
}

SKEYS_API struct skeys_key *skeys_find(const char *name)
{
	struct skeys_key *key;

	ops()->find(name, &key);
	return key;
}

SKEYS_API int skeys_foreach(int (*fn)(const char *name, struct skeys_key *k, void *data),
			    void *data)
{
	return ops()->foreach(fn, data);
}

SKEYS_API int skeys_check_sealed(void)
{
	return ops()->check_sealed();
}

SKEYS_API int skeys_call_set(struct skeys_call *call, void (*fn)(void))
{
	return ops()->call_set(call, fn);
}

SKEYS_API int skeys_entry_attach(void *function, skeys_entry_fn *handler, void *data)
{
	return ops()->entry_op(SKEYS_ENTRY_OP_ATTACH, function, handler, data);
}

SKEYS_API int skeys_entry_detach(void *function)
{
	return ops()->entry_op(SKEYS_ENTRY_OP_DETACH, function, NULL, NULL);
}

SKEYS_API int skeys_entry_redirect(void *function, void *replacement)
{
	return ops()->entry_op(SKEYS_ENTRY_OP_REDIRECT, function, NULL, replacement);
}

SKEYS_API int skeys_entry_restore(void *function)
{
	return ops()->entry_op(SKEYS_ENTRY_OP_RESTORE, function, NULL, NULL);
}

SKEYS_API int skeys_entry_attach_all(skeys_entry_fn *handler, void *data)
{
	return ops()->entry_op(SKEYS_ENTRY_OP_ATTACH_ALL, NULL, handler, data);
}

SKEYS_API int skeys_entry_detach_all(void)
{
	return ops()->entry_op(SKEYS_ENTRY_OP_DETACH_ALL, NULL, NULL, NULL);
}
