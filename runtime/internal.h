/* SPDX-License-Identifier: MIT */
/* Runtime internals shared by registry.c, patch.c and the OS port. */
#ifndef SKEYS_RUNTIME_INTERNAL_H
#define SKEYS_RUNTIME_INTERNAL_H

#define SKEYS_NO_MODULE 1 /* the runtime has no sites of its own */
#include <skeys.h>

#include "arch.h"
#include "table.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define SKEYS_API /* libskeys.def lists the DLL's exports */
#else
#define SKEYS_API __attribute__((visibility("default")))
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define SKEYS_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define SKEYS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

#define SKEYS_MAX_SEGMENTS 8

/* An executable segment of a module, as mapped. */
struct skeys_segment {
	uintptr_t start;
	uintptr_t end;
	int prot; /* PROT_* it has outside of a write */
};

enum skeys_module_state {
	SKEYS_MODULE_OK,       /* sealed and usable */
	SKEYS_MODULE_UNSEALED, /* skeys-seal never ran: its keys cannot be toggled */
	SKEYS_MODULE_BAD,      /* header of another ABI or architecture */
};

/* A proxy key of a module and the real key it stands for. */
struct skeys_proxy {
	struct skeys_key *proxy;
	struct skeys_key *real;
};

struct skeys_module {
	const struct skeys_header *header;
	const struct skeys_entry *entries;
	size_t count;
	enum skeys_module_state state;
	/*
	 * Prepared once, on the first toggle after the module registered (or at
	 * registration if a key already changed): the checksum verified, its
	 * proxies bound, its sites brought to their keys' current state. This
	 * keeps registration O(1) in the number of sites.
	 */
	bool prepared;
	int error; /* 0, or why its keys cannot be toggled */
	struct skeys_proxy *proxies;
	size_t n_proxies;
	uintptr_t base; /* lowest executable address: modules are kept in this order */
	uintptr_t lo, hi; /* span of all its loaded segments */
	struct skeys_segment exec[SKEYS_MAX_SEGMENTS];
	unsigned n_exec;
	/* Where its keys may live: writable segments, less what turns read-only after relocation. */
	struct skeys_segment data[SKEYS_MAX_SEGMENTS];
	unsigned n_data;
	uintptr_t relro_lo, relro_hi;
	char name[128];
	bool program; /* the main program (the OS port says; false when it cannot tell) */
	unsigned long seq; /* registration order: skeys_find's "first module" */
	/* Its names table (runtime/names.c), empty for a header without one. */
	const struct skeys_name *names;
	size_t n_names;
	struct skeys_module *next;
};

/* Everything below is called with skeys_lock held. */
extern pthread_mutex_t skeys_lock;
extern struct skeys_module *skeys_modules;

/* One site to rewrite. */
struct skeys_patch {
	uintptr_t addr;
	const struct skeys_segment *seg;
	uintptr_t dest; /* where a thread trapped at this site goes (x86 protocol) */
	uintptr_t dest_old, dest_new;
	uint8_t old[SKEYS_SITE_MAX];
	uint8_t new_[SKEYS_SITE_MAX];
	uint8_t buf[SKEYS_SITE_MAX]; /* what the next write puts there */
	uint8_t len;
};

struct skeys_batch {
	struct skeys_patch *p;
	size_t n, cap;
};

/* Queue the sites of module `m` whose entries name `site_key`, to go to state `on`. */
int skeys_batch_collect(struct skeys_batch *b, struct skeys_module *m,
			const struct skeys_key *site_key, bool on);
/* Tests only: see a multi-threaded write between its phases. */
void skeys__set_phase_hook(void (*hook)(unsigned phase, uintptr_t first_site));

/* Sort, write (with the cross-thread protocol when needed) and free the batch. */
int skeys_batch_write(struct skeys_batch *b);

/* Checksum, proxies and state of a module, once. 0 or an error code. */
int skeys_module_prepare(struct skeys_module *m);

/* Does the module's table name `key`? Linear: for unsorted tables. */
bool skeys_module_mentions(const struct skeys_module *m, const struct skeys_key *key);

/* The registered module whose mapping holds `p`, or NULL. */
struct skeys_module *skeys_module_of(const void *p);

/* Is `k` a key of a registered module (its module's data, aligned, magic)? */
bool skeys_key_valid(const struct skeys_key *k);

enum skeys_key_op { SKEYS_OP_ENABLE, SKEYS_OP_DISABLE, SKEYS_OP_INC, SKEYS_OP_DEC };

/* skeys_key_op() for a caller that holds skeys_lock. */
int skeys_key_op_locked(struct skeys_key *key, enum skeys_key_op op);

/* ---- names (runtime/names.c) and environment (runtime/env.c) ---------- */

/* Record m's names table from its header (registration, before insertion). */
void skeys_names_attach(struct skeys_module *m);

/*
 * Name entry i of m, checked to lie in the module, its string
 * NUL-terminated there: the name, the first key and the number of keys
 * (array elements, SKEYS_KEY_STRIDE apart). NULL for an entry that fails.
 */
const char *skeys_names_entry(const struct skeys_module *m, size_t i,
			      struct skeys_key **key, uint32_t *count);

/*
 * Does `query` (qlen bytes) name element `*index` of the entry `name` of
 * `count` keys? "name" for a single key, "name[i]" for any.
 */
bool skeys_names_match(const char *name, uint32_t count, const char *query, size_t qlen,
		       uint32_t *index);

/* SKEYS_ENABLE / SKEYS_DISABLE for the module that has just registered. */
void skeys_env_apply(struct skeys_module *m);

/* The stderr log level SKEYS_LOG asks for, -1 for none. */
int skeys_env_log_level(void);

int skeys_find_impl(const char *name, struct skeys_key **key);
int skeys_foreach_impl(int (*fn)(const char *name, struct skeys_key *k, void *data),
		       void *data);
int skeys_check_sealed_impl(void);

void skeys_log(enum skeys_log_level level, const char *fmt, ...) SKEYS_PRINTF(2, 3);
void skeys_log_set(skeys_log_fn fn, void *ctx);

/* ---- this copy's implementation, behind the shared entry points ------- */


void skeys_registry_add(const struct skeys_header *h);
void skeys_registry_remove(const struct skeys_header *h);
int skeys_key_op(struct skeys_key *key, enum skeys_key_op op);

/* ---- text writing protocol (runtime/arch/<arch>.c) --------------------- */

/*
 * Write a batch while other threads may run its sites: phases of byte
 * strings per site, each phase followed by a core synchronisation. The
 * architecture says how many phases and fills each patch's buf for each.
 */
struct skeys_protocol {
	unsigned phases;
	/* Fill p->buf for phase `k` (0-based) going forward. */
	void (*fill)(struct skeys_patch *p, unsigned k);
	/* Make trapped threads go to p->dest while the batch is in flight; NULL if none. */
	int (*publish)(struct skeys_patch *p, size_t n);
	void (*unpublish)(void);
};

extern const struct skeys_protocol skeys_protocol_threads;

/*
 * The x86 protocol (runtime/arch/x86.c) and its trap handler in the OS
 * port: the port installs a handler for the breakpoint trap, which calls
 * skeys_x86_trap() with the address of the byte that trapped (the int3)
 * and whether an int3 instruction raised it (rather than raise(), kill()
 * or RaiseException()). True when the trap is ours: the thread goes on at
 * *resume. False: pass the trap on to whoever would have had it.
 */
bool skeys_x86_trap(uintptr_t site, bool executed_int3, uintptr_t *resume);
/* Install that handler once (again if it was replaced); 0 or a negated errno. */
int skeys_os_trap_install(void);

/* ---- OS port (runtime/os/<os>.c): each returns 0 or a negated errno ---- */

/* Fill m->exec, m->base, m->lo/hi and m->name for the module mapping `addr`. */
int skeys_os_module_lookup(const void *addr, struct skeys_module *m);

/* Write buf of every patch in [first, first + n): sites in touching pages of one segment. */
int skeys_os_write_run(const struct skeys_patch *first, size_t n);

/* Serialise every core running a thread of the process. */
int skeys_os_sync_cores(void);

/*
 * True when no other thread can run a site while this one writes (Linux:
 * the process never had a second thread; Windows: this is its last one).
 */
bool skeys_os_single_threaded(void);

/*
 * True once the process is exiting with its other threads already gone
 * (Windows: DLL destructors run after ExitProcess killed them). A killed
 * thread may have held skeys_lock, so module destructors must not wait
 * for it then.
 */
bool skeys_os_exiting(void);

size_t skeys_os_page_size(void);


/*
 * The write method (runtime/patch.c): the ports read it after
 * skeys_write_method_load() (which applies SKEYS_WRITE once) and switch it
 * to MPROTECT when their direct writes are refused.
 */
extern enum skeys_write_method skeys_write_method;
void skeys_write_method_load(void);
int skeys_write_method_set(enum skeys_write_method method);

#endif
