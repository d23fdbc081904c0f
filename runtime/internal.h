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
#include <string.h>

#if defined(_WIN32)
#define SKEYS_API    /* libskeys.def lists the DLL's exports */
#define SKEYS_HIDDEN /* a PE symbol is not exported unless listed */
#else
#if defined(SKEYS_STATIC_HIDDEN)
/*
 * The static archive: its API stays hidden, so that a user's shared
 * library linking it does not re-export skeys_* (runtime/meson.build).
 */
#define SKEYS_API
#else
#define SKEYS_API __attribute__((visibility("default")))
#endif
#define SKEYS_HIDDEN __attribute__((visibility("hidden")))
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
	int prot; /* SKEYS_PROT_* it has outside of a write */
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
	/* Function entries (runtime/entry.c): the header's part, or NULL. */
	const struct skeys_fentries *fent;
	struct skeys_fn_state *fn; /* one per entry, once checked */
	int fn_error;              /* why its entries cannot be patched, once checked */
	struct skeys_module *next;
};

/*
 * Everything below is called with skeys_lock held. Take it with
 * skeys_lock_take(): a switch from a signal handler on the thread that
 * holds it is then refused (-EDEADLK) instead of waiting forever.
 */
extern pthread_mutex_t skeys_lock;
void skeys_lock_take(void);
void skeys_lock_release(void);
/* This thread holds skeys_lock (a handler interrupted its switch). Async-signal-safe. */
bool skeys_lock_mine(void);
extern struct skeys_module *skeys_modules;

/*
 * One site to rewrite: 48 bytes, what a direct write reads of it first (a
 * switch of many sites streams through the array).
 */
struct skeys_patch {
	uintptr_t addr;
	uint8_t old[SKEYS_SITE_MAX];
	uint8_t new_[SKEYS_SITE_MAX];
	uint32_t run; /* patches in the run of pages this one starts, once known; else 0 */
	uint8_t len;
	bool jumps; /* new_ is the jump */
	/*
	 * A trapped thread runs the site again once it is written, wherever
	 * it leads (a call: sending the thread on would lose its return address).
	 */
	bool retry;
	const struct skeys_segment *seg;
	uintptr_t target; /* where its jump goes */
};

/*
 * Where a thread trapped at site p goes while a batch is written (x86
 * protocol): where its new instruction leads, or going back (`forward`
 * false) its old one.
 */
static inline uintptr_t skeys_patch_dest(const struct skeys_patch *p, bool forward)
{
	return p->retry ? p->addr : p->jumps == forward ? p->target : p->addr + p->len;
}

/* The bytes a write puts at each site: patch i's SKEYS_SITE_MAX at at + i * stride. */
struct skeys_src {
	const uint8_t *at;
	size_t stride;
};

/*
 * A site's bytes travel as the first `len` bytes of a 64-bit word (len <=
 * SKEYS_SITE_MAX = 8): loads, compares and merges without a call.
 */
static inline uint64_t skeys_site_mask(size_t len)
{
	/* A load, not compares and shifts: every site a switch checks and merges computes it. */
	static const uint64_t mask[SKEYS_SITE_MAX + 1] = {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffffull, 0xffffffffffffull,
		0xffffffffffffffull, 0xffffffffffffffffull,
#else
		0, 0xff00000000000000ull, 0xffff000000000000ull, 0xffffff0000000000ull,
		0xffffffff00000000ull, 0xffffffffff000000ull, 0xffffffffffff0000ull,
		0xffffffffffffff00ull, 0xffffffffffffffffull,
#endif
	};

	return mask[len <= SKEYS_SITE_MAX ? len : SKEYS_SITE_MAX];
}

static inline uint64_t skeys_word_load(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

struct skeys_batch {
	struct skeys_patch *p;
	size_t n, cap;
	bool sorted; /* in address order, its runs known */
	bool turn; /* to be turned round (skeys_batch_reverse), then checked */
	/*
	 * Turned round without touching the array: each patch's old and new_
	 * are the other way round, and its jumps is flipped. A direct write
	 * reads the patches so; anything else has them swapped in place first.
	 */
	bool swapped;
	/* A several-phase write's bytes for its phase in between: one word a patch. */
	uint64_t *phase;
	size_t phase_cap;
};

/* Queue the sites of module `m` whose entries name `site_key`, to go to state `on`. */
int skeys_batch_collect(struct skeys_batch *b, struct skeys_module *m,
			const struct skeys_key *site_key, bool on);
/*
 * Queue one rewrite of `p->len` bytes of module `m`'s code at p->addr, from
 * p->old to p->new_, with p->target and p->jumps saying where a trapped
 * thread goes (as for a site: p->target, or p->addr + p->len): checks that
 * the code is the module's and holds p->old. For code that is not a key's
 * site (runtime/call.c).
 */
int skeys_batch_queue(struct skeys_batch *b, struct skeys_module *m, const struct skeys_patch *p);
/*
 * The same without a copy: skeys_batch_room() makes room for `more`
 * patches, the caller fills b->p[b->n] (addr, target, old, new_, len,
 * jumps) and skeys_batch_add() checks and queues it as skeys_batch_queue()
 * does. For many rewrites in a row (runtime/entry.c).
 */
int skeys_batch_room(struct skeys_batch *b, size_t more);
int skeys_batch_add_checked(struct skeys_batch *b, struct skeys_module *m);
static inline int skeys_batch_add(struct skeys_batch *b, struct skeys_module *m)
{
	struct skeys_patch *q = &b->p[b->n];
	const struct skeys_segment *seg = b->n ? b->p[b->n - 1].seg : NULL;
	uint64_t mask = skeys_site_mask(q->len);

	/*
	 * Inline, the common case: in the last patch's segment, a word from
	 * its end, holding q->old. Anything else is checked (and named) by
	 * skeys_batch_add_checked().
	 */
	if (seg && q->addr >= seg->start && q->addr + 8 > q->addr && q->addr + 8 <= seg->end &&
	    !((skeys_word_load((const void *)q->addr) ^ skeys_word_load(q->old)) & mask)) {
		q->run = 0;
		q->seg = seg;
		b->n++;
		b->sorted = false;
		return 0;
	}
	return skeys_batch_add_checked(b, m);
}
/* Tests only, never exported: see a multi-threaded write between its phases
 * (tests/threads links the static archive to reach it). */
void skeys__set_phase_hook(void (*hook)(unsigned phase, uintptr_t first_site));

/* Sort and write the batch, with the cross-thread protocol when needed. */
int skeys_batch_write(struct skeys_batch *b);
void skeys_batch_free(struct skeys_batch *b);

/*
 * Turn a batch that was written round, to write the sites back: marks it,
 * and skeys_batch_write() turns each patch round (old and new swapped) and
 * checks it again against what it must hold before it writes any. 0.
 */
int skeys_batch_reverse(struct skeys_batch *b);

/* Checksum, proxies and state of a module, once. 0 or an error code. */
int skeys_module_prepare(struct skeys_module *m);

/* Does the module's table name `key`? Linear: for unsorted tables. */
bool skeys_module_mentions(const struct skeys_module *m, const struct skeys_key *key);

/* The registered module whose mapping holds `p`, or NULL. */
struct skeys_module *skeys_module_of(const void *p);

/* Is `k` a key of a registered module (its module's data, aligned, magic)? */
bool skeys_key_valid(const struct skeys_key *k);
/* The key a proxy stands for, or NULL when it is bound to none. */
struct skeys_key *skeys_proxy_target(const struct skeys_key *proxy);

enum skeys_key_op {
	SKEYS_OP_ENABLE,
	SKEYS_OP_DISABLE,
	SKEYS_OP_INC,
	SKEYS_OP_DEC,
	/* <skeys/kernel.h>: */
	SKEYS_OP_DISABLE_ONE, /* disable unless the count is above 1 (then warn) */
	SKEYS_OP_DEC_NOT_LAST, /* decrement unless the count is 1 (then return 1) */
};

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
/* Declared for users in <skeys/kernel.h>. */
int skeys_key_count(const struct skeys_key *key);
/* skeys_key_op of the runtime copy that leads the process (runtime/shared.c). */
int skeys_leader_key_op(struct skeys_key *key, enum skeys_key_op op);
/* skeys_call_set() (runtime/call.c). */
int skeys_call_op(struct skeys_call *call, void (*fn)(void));
/* Module m goes: forget the proxies of its calls, and of calls it defines (runtime/call.c). */
void skeys_calls_forget(const struct skeys_module *m);

/* ---- function entries (runtime/entry.c) -------------------------------- */

enum skeys_entry_op {
	SKEYS_ENTRY_OP_ATTACH,   /* handler, arg: its data */
	SKEYS_ENTRY_OP_DETACH,
	SKEYS_ENTRY_OP_REDIRECT, /* arg: the replacement */
	SKEYS_ENTRY_OP_RESTORE,
	SKEYS_ENTRY_OP_ATTACH_ALL, /* handler, arg: its data; function NULL */
	SKEYS_ENTRY_OP_DETACH_ALL,
};
int skeys_entry_op(enum skeys_entry_op op, void *function, skeys_entry_fn *handler, void *arg);
/* A module registered (its entries follow attach_all) or leaving. Lock held. */
void skeys_entries_added(struct skeys_module *m);
void skeys_entries_removed(struct skeys_module *m);

/* ---- static-call slots (runtime/arch/call_<arch>.c) -------------------- */

/*
 * Bytes of a trampoline's slot: what an update rewrites, at the address its
 * table entry's `code` names; the trampoline's fixed tail (a jump through
 * the call object's `lit`) follows it. 0 where there are no trampolines.
 */
extern const size_t skeys_call_slot_len;

/*
 * The slot's bytes in `form` (not SKEYS_CALL_FORM_COMPILED) into out, for
 * the slot at `slot` of call object `call`: near jumps to `target`, far goes
 * through call->lit, ret0 returns 0. Returns 0, or -1 when `target` is out
 * of the near form's reach.
 */
int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out);

/* ---- text writing protocol (runtime/arch/<arch>.c) --------------------- */

/*
 * Write a batch while other threads may run its sites: phases of byte
 * strings per site, each phase followed by a core synchronisation. The
 * architecture says how many phases and fills each patch's buf for each.
 */
struct skeys_protocol {
	unsigned phases;
	/*
	 * Each site must change with one aligned store: the OS's direct write
	 * (a kernel copy) may tear it, so runtime/write.c stores it itself.
	 */
	bool one_store;
	/*
	 * Fill out (SKEYS_SITE_MAX bytes) with what site p holds after phase
	 * `k` (0-based) of a write going forward, for every phase but the last
	 * (which leaves new_); NULL with one phase.
	 */
	void (*fill)(const struct skeys_patch *p, unsigned k, uint8_t *out);
	/*
	 * Make trapped threads go to skeys_patch_dest(p, forward) while the
	 * batch is in flight (called again, `forward` false, to walk it
	 * back); NULL if none.
	 */
	int (*publish)(const struct skeys_patch *p, size_t n, bool forward);
	void (*unpublish)(void);
};

extern const struct skeys_protocol skeys_protocol_threads;

/* Make this core fetch instructions afresh (x86 cpuid, arm isb, riscv fence.i). */
void skeys_arch_serialise(void);

/*
 * Does the site hold a debugger's breakpoint where it starts, the rest of
 * p->old as expected (x86: gdb's, lldb's or a uprobe's int3)? False where
 * the architecture layer cannot tell.
 */
bool skeys_arch_breakpoint_on(const struct skeys_patch *p);

/*
 * The x86 protocol's trap (runtime/arch/x86.c). The OS port installs a
 * handler for the breakpoint trap and calls this with the instruction
 * pointer as the CPU leaves it after an int3 (one byte past it), and
 * whether an int3 instruction raised the trap (rather than raise(), kill()
 * or RaiseException()). True when the trap is ours: the thread goes on at
 * *resume. False: the port passes the trap on to whoever would have had it.
 */
bool skeys_x86_trap(uintptr_t ip, bool executed_int3, uintptr_t *resume);

/* ---- write policy (runtime/write.c) -------------------------------------- */

/*
 * Write every patch in [first, first + n) (sites in touching pages of one
 * segment, in address order) with its bytes in `src` (patch first + i has
 * src.at + i * src.stride). `one_store` as in struct skeys_protocol. 0 or
 * an error; *touched tells whether any byte may have changed, so that the
 * caller walks the run back too. With `bad`, which only a direct write of
 * a batch's new bytes takes (skeys_write_direct_first()), the patches are
 * a batch turned round and not yet checked: each site is checked to hold
 * its bytes in `chk`, in the same pass; if one does not, nothing is
 * written, SKEYS_ERR_MISMATCH and *bad its index (n once all were checked).
 */
int skeys_write_run(const struct skeys_patch *first, size_t n, struct skeys_src src,
		    struct skeys_src chk, bool one_store, size_t *bad, bool *touched);
/* Will skeys_write_run() try a direct write first? */
bool skeys_write_direct_first(bool one_store);

/* The SKEYS_WRITE setting and skeys_set_write_method(). */
int skeys_write_method_set(enum skeys_write_method method);

/* ---- OS port (runtime/os/<os>.c) -----------------------------------------
 *
 * A port is one file of primitives: it chooses nothing (runtime/write.c
 * picks the write method, falls back and buffers; runtime/patch.c orders,
 * checks and walks back). Each returns 0 or a negated errno unless it says
 * otherwise. A new OS is one more such file and its line in meson.build.
 */

/* Protections, as segments record them and skeys_os_protect() takes them. */
#define SKEYS_PROT_READ 0x1
#define SKEYS_PROT_WRITE 0x2
#define SKEYS_PROT_EXEC 0x4
/*
 * aarch64 Linux: the code is BTI-guarded (the loader mapped it PROT_BTI);
 * every protection change keeps it so, or patching would drop the guard.
 */
#define SKEYS_PROT_BTI 0x8

/* Size of a page, the unit of skeys_os_protect(). */
size_t skeys_os_page_size(void);

/* Fill m->exec, m->data, m->relro_lo/hi, m->base, m->lo/hi and m->name for the module mapping `addr`. */
int skeys_os_module_lookup(const void *addr, struct skeys_module *m);

/* Give the pages of [start, start + len) (page-aligned) the protection `prot` (SKEYS_PROT_*). */
int skeys_os_protect(uintptr_t start, size_t len, int prot);

/* True when the OS never maps a page writable and executable at once (Apple silicon). */
bool skeys_os_wx_exclusive(void);

/*
 * Write len bytes at addr without changing any protection (Linux:
 * /proc/self/mem, Windows: WriteProcessMemory); -ENOSYS where the OS has no
 * such write. On error *done is how many bytes did reach memory.
 */
int skeys_os_write_direct(uintptr_t addr, const void *buf, size_t len, size_t *done);

/* Make [start, start + len), just written, what this core's instruction fetch sees. */
void skeys_os_flush_icache(uintptr_t start, size_t len);

/*
 * Hold off this thread's asynchronous signals while sites are stored in
 * several pieces (none of its handlers may run a half-written site), and
 * let them in again. With skeys_lock held; no-ops where there are none.
 */
void skeys_os_signals_hold(void);
void skeys_os_signals_release(void);

/*
 * Have prepare run before this process forks, parent and child after it in
 * each (pthread_atfork); 0 or a negative errno. 0 and nothing else where
 * processes do not fork (Windows).
 */
int skeys_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

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

/*
 * x86 ports: install the breakpoint trap handler that calls
 * skeys_x86_trap(), once (again if it was replaced).
 */
int skeys_os_trap_install(void);

/*
 * Copies of the runtime (runtime/shared.c). The port marks this copy's
 * skeys__runtime in its module the way its loader lets other copies find
 * it (an ELF note, a PE section), and skeys_os_runtime_find() offers the
 * runtime marked in each loaded module, in load order, to accept() until
 * it takes one: that one, or NULL (also where copies cannot see each
 * other: Mach-O for now).
 */
struct skeys_runtime;
extern SKEYS_HIDDEN struct skeys_runtime skeys__runtime;
#define SKEYS_RUNTIME_MAGIC 0x534b5254 /* "SKRT", also the ELF note type */
struct skeys_runtime *skeys_os_runtime_find(bool (*accept)(struct skeys_runtime *rt));

/* Make the module holding `rt` impossible to unload (a warning when it cannot). */
void skeys_os_runtime_pin(const struct skeys_runtime *rt);

#endif
