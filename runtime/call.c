/* SPDX-License-Identifier: MIT */
/*
 * Static calls: an update rewrites the slot of the call's trampoline (the
 * bytes its table entry's `code` names; their forms are the architecture's,
 * runtime/arch/call_<arch>.c, docs/architectures.md) as one batch of the
 * patching core, so it gets what key sites get: the bytes checked before
 * the write, W^X, rollback, and with other threads the architecture's
 * protocol (x86: int3 + core sync; elsewhere one aligned store, then core
 * sync). Below, x86-64's slot (6 bytes; forms in <skeys/abi.h>); every
 * architecture's is built the same way: near, far through `lit`, ret0,
 * and a fixed tail after the slot that jumps through `lit`.
 *
 * Every state a thread can meet is a valid call, to the old or the new
 * target:
 *  - the slot holds the old form, the new one, or (multi-threaded) an int3
 *    whose trap sends the thread on; a thread already past the slot is in
 *    the old target.
 *  - `lit` holds the current target whenever the call has one: it is
 *    written, with one aligned 8-byte sequentially consistent store, before
 *    the slot changes, and never when going to no target. A thread that
 *    reads it (the far form, or the fixed `jmp *lit(%rip)` at offset 6)
 *    gets the old or the new target, never a torn one. Far to far is that
 *    store alone; the slot's bytes are still checked first.
 *  - a trapped thread goes where the core sends a site's: `target` when
 *    the patch "jumps", else the slot's end (offset 6, `jmp *lit`). Going to
 *    a target, the patch jumps to it: forward the new target, walking back
 *    offset 6, that is `lit`, already the new target. Going to no target,
 *    it does not jump and `target` is the old destination: forward `lit`
 *    (still the old target), back the old destination.
 * The slot's write ends with every core synchronised (or there is one
 * thread), so once an update returns every next call reaches the new
 * target.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool calls_header_ok(const struct skeys_header *h)
{
	return h->version == SKEYS_CALLS_VERSION &&
	       /* The call table's header has no names table: the first size. */
	       h->header_size == SKEYS_HEADER_SIZE_V1 &&
	       h->entry_size == sizeof(struct skeys_entry) && skeys_arch_native() &&
	       h->arch == skeys_arch_native()->id;
}

static bool inside(const struct skeys_module *m, const void *p, size_t len)
{
	return (uintptr_t)p >= m->lo && (uintptr_t)p + len <= m->hi &&
	       (uintptr_t)p + len >= (uintptr_t)p;
}

/*
 * A call of a module that is mapped but not registered: its constructors
 * have not run yet, or its destructors have. Read only once the OS says
 * the object lies in that module.
 */
static bool unregistered_call(const struct skeys_call *call)
{
	struct skeys_module m;

	memset(&m, 0, sizeof(m));
	return (uintptr_t)call % 8 == 0 && skeys_os_module_lookup(call, &m) == 0 &&
	       inside(&m, call, sizeof(*call)) &&
	       (call->flags & SKEYS_CALL_MAGIC_MASK) == SKEYS_CALL_MAGIC;
}

/*
 * The call's module and its trampoline, from the module's sealed call
 * table: a call object is trusted only once that table lists it.
 */
static int call_find(struct skeys_call *call, struct skeys_module **mp, uintptr_t *tramp)
{
	struct skeys_module *m = skeys_module_of(call);
	const struct skeys_header *h;
	const struct skeys_entry *e;
	const char *start, *stop;
	struct skeys_site s;
	size_t n, i;

	if (!m)
		return unregistered_call(call) ? SKEYS_ERR_NOTREADY : SKEYS_ERR_NOTKEY;
	if ((uintptr_t)call % 8 || !inside(m, call, sizeof(*call)) ||
	    (call->flags & SKEYS_CALL_MAGIC_MASK) != SKEYS_CALL_MAGIC)
		return SKEYS_ERR_NOTKEY;
	if (m->state != SKEYS_MODULE_OK)
		return m->error ? m->error : SKEYS_ERR_UNSEALED;
	h = call->table;
	/* Not pointing at its module's call table: not a static call at all. */
	if (!inside(m, h, SKEYS_HEADER_SIZE_V1) || memcmp(h->magic, SKEYS_CALLS_MAGIC, sizeof(h->magic)))
		return SKEYS_ERR_NOTKEY;
	if (!calls_header_ok(h)) {
		if (h->version != SKEYS_CALLS_VERSION)
			skeys_log(SKEYS_LOG_ERROR, "%s: static call %p: call table version %u, this "
				  "runtime reads version %u (struct skeys_call differs): rebuild the "
				  "module against this skeys's headers", m->name, (void *)call,
				  (unsigned)h->version, (unsigned)SKEYS_CALLS_VERSION);
		else
			skeys_log(SKEYS_LOG_ERROR, "%s: static call %p has no call table of this ABI",
				  m->name, (void *)call);
		return SKEYS_ERR_ABI;
	}
	if (!(h->flags & SKEYS_HEADER_SEALED)) {
		skeys_log(SKEYS_LOG_ERROR, "%s: call table not sealed by skeys-seal", m->name);
		return SKEYS_ERR_UNSEALED;
	}
	start = (const char *)&h->start + h->start;
	stop = (const char *)&h->stop + h->stop;
	n = (size_t)(stop - start) / sizeof(*e);
	e = (const struct skeys_entry *)(const void *)start;
	if (stop < start || !inside(m, start, (size_t)(stop - start)) || n != h->count ||
	    skeys_table_checksum(e, n * sizeof(*e)) != h->checksum ||
	    !skeys_table_is_sorted(e, n, (uintptr_t)e)) {
		skeys_log(SKEYS_LOG_ERROR, "%s: call table changed after sealing", m->name);
		return SKEYS_ERR_CHECKSUM;
	}
	i = skeys_table_lower_bound(e, n, (uintptr_t)e, (uintptr_t)call);
	if (i == n)
		return SKEYS_ERR_NOTKEY;
	s = skeys_entry_site(&e[i], (uintptr_t)&e[i]);
	if (s.key != (uintptr_t)call)
		return SKEYS_ERR_NOTKEY;
	if (s.target != s.code + skeys_call_slot_len ||
	    s.flags != (call->flags & (SKEYS_CALL_F_NULL | SKEYS_CALL_F_RET0)))
		return SKEYS_ERR_MISMATCH;
	*mp = m;
	*tramp = (uintptr_t)s.code;
	return 0;
}

/*
 * The module's inline call-site table (<skeys/abi.h>), sealed and
 * unchanged: its entries and how many, or n = 0 for none. 0 or an error.
 */
static int csites_find(const struct skeys_module *m, const struct skeys_header *calls,
		       const struct skeys_entry **e, size_t *n)
{
	const struct skeys_header *h =
		(const struct skeys_header *)(const void *)((const char *)calls + SKEYS_HEADER_SIZE_V1);
	const char *start, *stop;

	*n = 0;
	if (!(calls->flags & SKEYS_CALLS_F_SITES))
		return 0; /* an architecture without inline sites, or built before them */
	if (!inside(m, h, SKEYS_HEADER_SIZE_V1) ||
	    memcmp(h->magic, SKEYS_CSITES_MAGIC, sizeof(h->magic)) || !calls_header_ok(h) ||
	    !(h->flags & SKEYS_HEADER_SEALED) || !skeys_arch_native()->encode_call)
		goto bad;
	start = (const char *)&h->start + h->start;
	stop = (const char *)&h->stop + h->stop;
	*e = (const struct skeys_entry *)(const void *)start;
	if (stop < start || !inside(m, start, (size_t)(stop - start)) ||
	    h->count > (size_t)(stop - start) / sizeof(**e) ||
	    skeys_table_checksum(*e, h->count * sizeof(**e)) != h->checksum ||
	    !skeys_table_is_sorted(*e, h->count, (uintptr_t)*e))
		goto bad;
	*n = h->count;
	return 0;
bad:
	skeys_log(SKEYS_LOG_ERROR, "%s: inline call-site table changed after sealing", m->name);
	return SKEYS_ERR_CHECKSUM;
}

/*
 * What an inline site holds: a call (a jump for a tail call) to the target
 * when the sites follow it (form not COMPILED) and it is in reach, the nop
 * for a cond call site with no target, else a call to the trampoline.
 */
static void csite_encode(const struct skeys_arch *a, uintptr_t site, unsigned flags,
			 enum skeys_call_form form, uintptr_t target, uintptr_t tramp,
			 uint8_t *out)
{
	int (*encode)(uint64_t, uint64_t, uint8_t *) =
		flags & SKEYS_CSITE_JMP ? a->encode_jump : a->encode_call;

	memset(out, 0, SKEYS_SITE_MAX);
	if (form != SKEYS_CALL_FORM_COMPILED && !target && (flags & SKEYS_CSITE_COND) &&
	    !(flags & SKEYS_CSITE_JMP))
		memcpy(out, a->nop, a->site_len);
	else if (form == SKEYS_CALL_FORM_COMPILED || !target || encode(site, target, out))
		(void)encode(site, tramp, out); /* verified by skeys-seal: in reach */
}

/* Queue the rewrite of every inline site of `call` from its state now to calling fn. */
static int csites_queue(struct skeys_batch *b, struct skeys_module *m, struct skeys_call *call,
			uintptr_t tramp, enum skeys_call_form new_, uintptr_t fn)
{
	const struct skeys_arch *a = skeys_arch_native();
	const struct skeys_entry *e = NULL;
	size_t n, i;
	int err = csites_find(m, call->table, &e, &n);

	if (err)
		return err;
	for (i = skeys_table_lower_bound(e, n, (uintptr_t)e, (uintptr_t)call); i < n; i++) {
		struct skeys_site s = skeys_entry_site(&e[i], (uintptr_t)&e[i]);
		/* A trapped thread runs the site again once written: it is a call. */
		struct skeys_patch p = { .len = a->site_len, .retry = true, .jumps = true };

		if (s.key != (uintptr_t)call)
			break;
		if (s.target != tramp)
			return SKEYS_ERR_MISMATCH;
		p.addr = p.target = (uintptr_t)s.code;
		csite_encode(a, p.addr, s.flags, (enum skeys_call_form)call->form,
			     (uintptr_t)call->target, tramp, p.old);
		csite_encode(a, p.addr, s.flags, new_, fn, tramp, p.new_);
		if (!memcmp(p.old, p.new_, p.len))
			continue;
		err = skeys_batch_queue(b, m, &p);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Proxies (SKEYS_IMPORT_CALL) an update has reached: each later update of
 * their call rewrites them too. One never updated needs nothing: as
 * compiled it jumps through `lit`, the exporter's trampoline, which is
 * always current. Dropped when their module or their call's goes.
 */
static struct skeys_call **proxies;
static size_t n_proxies, cap_proxies;

/* The real call behind a proxy, when its exporter is registered; else NULL. */
static struct skeys_call *proxy_real(const struct skeys_call *p)
{
	struct skeys_call *const *slot = (struct skeys_call *const *)p->link;

	if (!slot || (uintptr_t)slot % _Alignof(void *) || !skeys_module_of(slot) ||
	    !skeys_module_of(slot + 1))
		return NULL;
	return *slot;
}

void skeys_calls_forget(const struct skeys_module *m)
{
	size_t i, k = 0;

	for (i = 0; i < n_proxies; i++) {
		struct skeys_call *real;

		/* Its module, or the exporter's pointer's (m is off the list already: read it here). */
		if (inside(m, proxies[i], sizeof(*proxies[i])) ||
		    inside(m, proxies[i]->link, sizeof(void *)))
			continue;
		real = proxy_real(proxies[i]);
		if (!real || !inside(m, real, sizeof(*real)))
			proxies[k++] = proxies[i];
	}
	n_proxies = k;
}

/* One call object an update rewrites: the real call or one of its proxies. */
struct call_job {
	struct skeys_call *call;
	void (*old_lit)(void);
	enum skeys_call_form form; /* the new one */
};

/* Queue the trampoline's slot and the inline sites of j->call, to call fn. */
static int call_queue(struct skeys_batch *b, struct call_job *j, void (*fn)(void))
{
	struct skeys_call *call = j->call;
	struct skeys_patch p = { .len = (uint8_t)skeys_call_slot_len };
	enum skeys_call_form old, new_;
	struct skeys_module *m = NULL;
	uintptr_t tramp = 0;
	size_t n = b->n;
	int err = call_find(call, &m, &tramp);

	if (err)
		return err;
	old = (enum skeys_call_form)call->form;
	if (old == SKEYS_CALL_FORM_COMPILED)
		old = call->flags & (SKEYS_CALL_F_NULL | SKEYS_CALL_F_RET0) ? SKEYS_CALL_FORM_RET0
									     : SKEYS_CALL_FORM_FAR;
	new_ = fn ? SKEYS_CALL_FORM_NEAR : SKEYS_CALL_FORM_RET0;
	p.addr = tramp;
	j->old_lit = call->lit;
	/* Near when the slot's jump reaches fn, else far. */
	if (skeys_call_slot(new_, tramp, (uintptr_t)fn, call, p.new_)) {
		new_ = SKEYS_CALL_FORM_FAR;
		(void)skeys_call_slot(new_, tramp, (uintptr_t)fn, call, p.new_);
	}
	if (skeys_call_slot(old, tramp, (uintptr_t)call->target, call, p.old))
		return SKEYS_ERR_MISMATCH; /* a recorded near form out of reach: memory damaged */
	j->form = new_;
	p.jumps = fn != NULL;
	if (fn)
		p.target = (uintptr_t)fn;
	else if (old == SKEYS_CALL_FORM_NEAR)
		p.target = (uintptr_t)call->target;
	else
		p.target = tramp + skeys_call_slot_len; /* far: through lit, still the old target */
	err = skeys_batch_queue(b, m, &p);
	if (err)
		return err;
	/* Far to far, ret0 to ret0: the slot stays; checked, nothing to write. */
	if (!memcmp(p.old, p.new_, p.len))
		b->n = n;
	/* The sites in the same batch: each thread reaches the old target or the new one. */
	return csites_queue(b, m, call, tramp, new_, (uintptr_t)fn);
}

/* The real call and its proxies, rewritten in one batch. */
static int calls_update(struct call_job *jobs, size_t n, void (*fn)(void))
{
	struct skeys_batch b = { 0 };
	size_t i;
	int err = 0;

	for (i = 0; i < n && !err; i++)
		err = call_queue(&b, &jobs[i], fn);
	if (!err) {
		for (i = 0; fn && i < n; i++)
			__atomic_store_n(&jobs[i].call->lit, fn, __ATOMIC_SEQ_CST);
		err = skeys_batch_write(&b);
		for (i = 0; err && fn && i < n; i++)
			__atomic_store_n(&jobs[i].call->lit, jobs[i].old_lit, __ATOMIC_SEQ_CST);
	}
	skeys_batch_free(&b);
	for (i = 0; !err && i < n; i++) {
		jobs[i].call->form = jobs[i].form;
		__atomic_store_n(&jobs[i].call->target, fn, __ATOMIC_RELEASE);
	}
	return err;
}

int skeys_call_op(struct skeys_call *call, void (*fn)(void))
{
	struct skeys_module *m = NULL;
	struct skeys_call *real = call;
	struct call_job *jobs = NULL;
	uintptr_t tramp = 0;
	size_t i, n = 0;
	int err;

	if (!call)
		return -EINVAL;
	if (!skeys_call_slot_len)
		return -ENOSYS; /* no trampolines on this architecture yet */
	/* A signal handler that interrupted a switch on this thread: waiting would never end. */
	if (skeys_lock_mine())
		return -EDEADLK;
	skeys_lock_take();
	err = call_find(call, &m, &tramp);
	if (err)
		goto out;
	if (call->flags & SKEYS_CALL_F_PROXY) {
		real = proxy_real(call);
		if (!real) {
			err = SKEYS_ERR_NOTREADY; /* its exporter is not loaded, or not yet registered */
			goto failed;
		}
		for (i = 0; i < n_proxies && proxies[i] != call; i++)
			;
		if (i == n_proxies) {
			if (n_proxies == cap_proxies) {
				size_t cap = cap_proxies ? 2 * cap_proxies : 8;
				struct skeys_call **np =
					realloc(proxies, cap * sizeof(struct skeys_call *));

				if (!np) {
					err = -ENOMEM;
					goto failed;
				}
				proxies = np;
				cap_proxies = cap;
			}
			proxies[n_proxies++] = call; /* rewritten below, then by every update */
		}
	} else if (real->flags & SKEYS_CALL_F_PROXY) {
		err = SKEYS_ERR_NOTKEY;
		goto failed;
	}
	jobs = malloc((n_proxies + 1) * sizeof(*jobs));
	if (!jobs) {
		err = -ENOMEM;
		goto failed;
	}
	jobs[n++].call = real;
	for (i = 0; i < n_proxies; i++)
		if (proxy_real(proxies[i]) == real)
			jobs[n++].call = proxies[i];
	err = calls_update(jobs, n, fn);
	free(jobs);
	if (!err)
		goto out;
failed:
	skeys_log(SKEYS_LOG_ERROR, "%s: static call %p not updated: %s", m ? m->name : "?",
		  (void *)call, skeys_strerror(err));
out:
	skeys_lock_release();
	return err;
}
