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
	return h->version == SKEYS_ABI_VERSION &&
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

int skeys_call_op(struct skeys_call *call, void (*fn)(void))
{
	struct skeys_batch b = { 0 };
	struct skeys_patch p = { .len = (uint8_t)skeys_call_slot_len };
	enum skeys_call_form old, new_;
	struct skeys_module *m = NULL;
	void (*old_lit)(void);
	uintptr_t tramp = 0;
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
	old = (enum skeys_call_form)call->form;
	if (old == SKEYS_CALL_FORM_COMPILED)
		old = call->flags & (SKEYS_CALL_F_NULL | SKEYS_CALL_F_RET0) ? SKEYS_CALL_FORM_RET0
									     : SKEYS_CALL_FORM_FAR;
	new_ = fn ? SKEYS_CALL_FORM_NEAR : SKEYS_CALL_FORM_RET0;
	p.addr = tramp;
	old_lit = call->lit;
	/* Near when the slot's jump reaches fn, else far. */
	if (skeys_call_slot(new_, tramp, (uintptr_t)fn, call, p.new_)) {
		new_ = SKEYS_CALL_FORM_FAR;
		(void)skeys_call_slot(new_, tramp, (uintptr_t)fn, call, p.new_);
	}
	if (skeys_call_slot(old, tramp, (uintptr_t)call->target, call, p.old)) {
		err = SKEYS_ERR_MISMATCH; /* a recorded near form out of reach: memory damaged */
		goto failed;
	}
	p.jumps = fn != NULL;
	if (fn)
		p.target = (uintptr_t)fn;
	else if (old == SKEYS_CALL_FORM_NEAR)
		p.target = (uintptr_t)call->target;
	else
		p.target = tramp + skeys_call_slot_len; /* far: through lit, still the old target */
	err = skeys_batch_queue(&b, m, &p);
	if (err)
		goto failed;
	/* Far to far, ret0 to ret0: the slot stays; checked, nothing to write. */
	if (!memcmp(p.old, p.new_, p.len))
		b.n = 0;
	if (fn)
		__atomic_store_n(&call->lit, fn, __ATOMIC_SEQ_CST);
	err = skeys_batch_write(&b);
	skeys_batch_free(&b);
	if (err) {
		__atomic_store_n(&call->lit, old_lit, __ATOMIC_SEQ_CST);
		goto failed;
	}
	call->form = new_;
	__atomic_store_n(&call->target, fn, __ATOMIC_RELEASE);
	goto out;
failed:
	skeys_batch_free(&b);
	skeys_log(SKEYS_LOG_ERROR, "%s: static call %p not updated: %s", m->name, (void *)call,
		  skeys_strerror(err));
out:
	skeys_lock_release();
	return err;
}
