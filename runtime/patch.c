/* SPDX-License-Identifier: MIT */
/*
 * One toggle is one batch: collect every site of the key in every module,
 * check all of them, then write them in address order, one write per run of
 * touching pages and phase. Nothing is written unless every site checks
 * out, and a write that fails half-way is walked back to the old state.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int batch_push(struct skeys_batch *b, const struct skeys_patch *p)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct skeys_patch *np = realloc(b->p, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	b->p[b->n++] = *p;
	return 0;
}

static const struct skeys_segment *segment_of(const struct skeys_module *m, uintptr_t a,
					      size_t len)
{
	unsigned i;

	for (i = 0; i < m->n_exec; i++)
		if (a >= m->exec[i].start && a + len <= m->exec[i].end && a + len > a)
			return &m->exec[i];
	return NULL;
}

/* Where the site's instruction leads: its target when a jump, else past it. */
static uintptr_t destination(size_t len, uintptr_t site, uintptr_t target, bool jump)
{
	return jump ? target : site + len;
}

/*
 * A debugger's breakpoint where the site should start, the rest of it as
 * expected (x86: the int3 of gdb, lldb or a uprobe). Writing under it
 * would be undone, half, when the debugger puts its saved byte back.
 */
static bool breakpoint_on(const struct skeys_arch *a, const struct skeys_patch *p)
{
	const uint8_t *code = (const uint8_t *)p->addr;

	if (a->id != SKEYS_ARCH_X86_64 && a->id != SKEYS_ARCH_I386)
		return false;
	return code[0] == 0xcc && p->old[0] != 0xcc && !memcmp(code + 1, p->old + 1, p->len - 1u);
}

int skeys_batch_collect(struct skeys_batch *b, struct skeys_module *m,
			const struct skeys_key *site_key, bool on)
{
	const struct skeys_arch *native = skeys_arch_native(), *a;
	size_t i;
	int err;

	i = skeys_table_lower_bound(m->entries, m->count, (uintptr_t)m->entries,
				    (uintptr_t)site_key);
	for (; i < m->count; i++) {
		const struct skeys_entry *e = &m->entries[i];
		struct skeys_site s = skeys_entry_site(e, (uintptr_t)e);
		bool branch = s.flags & SKEYS_ENTRY_BRANCH;
		bool was_jump = !on ^ branch, jump = on ^ branch;
		struct skeys_patch p = { .addr = (uintptr_t)s.code };

		if (s.key != (uintptr_t)site_key)
			break;
		/* arm: the entry says whether the site is A32 or Thumb-2 code. */
		a = skeys_arch_for_site(native, s.flags);
		if (!a)
			return SKEYS_ERR_MISMATCH;
		p.len = a->site_len;
		p.seg = segment_of(m, p.addr, p.len);
		if (!p.seg) {
			skeys_log(SKEYS_LOG_ERROR, "%s: site %#lx is outside the module's code",
				  m->name, (unsigned long)p.addr);
			return SKEYS_ERR_OUTSIDE;
		}
		if (skeys_arch_encode(a, was_jump, s.code, s.target, p.old) ||
		    skeys_arch_encode(a, jump, s.code, s.target, p.new_))
			return SKEYS_ERR_MISMATCH;
		if (memcmp((const void *)p.addr, p.old, p.len)) {
			if (breakpoint_on(a, &p)) {
				skeys_log(SKEYS_LOG_ERROR,
					  "%s: site %#lx holds a breakpoint (int3 where the site "
					  "starts, the rest of the expected %s as it should be): "
					  "probably a debugger's (gdb, lldb) or a uprobe's (perf "
					  "probe); delete it, then switch again: refusing to patch",
					  m->name, (unsigned long)p.addr, was_jump ? "jump" : "nop");
				return SKEYS_ERR_BREAKPOINT;
			}
			skeys_log(SKEYS_LOG_ERROR,
				  "%s: site %#lx does not hold the expected %s: refusing to patch",
				  m->name, (unsigned long)p.addr, was_jump ? "jump" : "nop");
			return SKEYS_ERR_MISMATCH;
		}
		p.dest_old = destination(p.len, p.addr, (uintptr_t)s.target, was_jump);
		p.dest_new = destination(p.len, p.addr, (uintptr_t)s.target, jump);
		p.dest = p.dest_new;
		err = batch_push(b, &p);
		if (err)
			return err;
	}
	return 0;
}

static int patch_cmp(const void *a, const void *b)
{
	const struct skeys_patch *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* Length of the run starting at p[0]: sites in touching pages of one segment. */
static size_t run_length(const struct skeys_patch *p, size_t n)
{
	size_t pg = skeys_os_page_size(), i;

	for (i = 1; i < n; i++) {
		uintptr_t last_page = (p[i - 1].addr + p[i - 1].len - 1) / pg;

		if (p[i].seg != p[0].seg || p[i].addr / pg > last_page + 1)
			break;
	}
	return i;
}

/* Write buf of the first `n` patches, run by run; returns how many were written. */
static size_t write_runs(struct skeys_patch *p, size_t n, int *err)
{
	size_t done = 0, len;

	*err = 0;
	while (done < n) {
		len = run_length(p + done, n - done);
		*err = skeys_os_write_run(p + done, len);
		if (*err)
			break;
		done += len;
	}
	return done;
}

/* Byte strings a site holds between phases: state 0 is old, state `phases` new. */
static void fill_state(const struct skeys_protocol *proto, struct skeys_patch *p, size_t n,
		       unsigned state)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (state == 0)
			memcpy(p[i].buf, p[i].old, p[i].len);
		else
			proto->fill(&p[i], state - 1);
	}
}

static int sync_cores(void)
{
	int err = skeys_os_sync_cores();

	if (err)
		skeys_log(SKEYS_LOG_ERROR, "core synchronisation failed: %s", skeys_strerror(err));
	return err;
}

/*
 * Walk back from a failure in phase k after `done` sites reached state k+1:
 * the sites move back one state at a time, so that every byte string a
 * thread can meet is one the protocol allows.
 */
static void roll_back(const struct skeys_protocol *proto, struct skeys_batch *b, unsigned k,
		      size_t done, bool sync)
{
	unsigned j;
	int err;

	for (j = k + 1; j-- > 0;) {
		size_t n = j == k ? done : b->n;

		if (n == 0)
			continue;
		for (size_t i = 0; i < b->n; i++)
			b->p[i].dest = b->p[i].dest_old;
		fill_state(proto, b->p, n, j);
		if (write_runs(b->p, n, &err) != n)
			skeys_log(SKEYS_LOG_ERROR, "rollback failed: %s: sites are inconsistent",
				  skeys_strerror(err));
		if (sync)
			sync_cores();
	}
}

static void direct_fill(struct skeys_patch *p, unsigned k)
{
	(void)k;
	memcpy(p->buf, p->new_, p->len);
}

/* A process that never had a second thread: write each site once. */
static const struct skeys_protocol direct = { .phases = 1, .fill = direct_fill };

/* ---- how code is made writable: one setting for every OS port --------- */

enum skeys_write_method skeys_write_method;
static bool method_read;

void skeys_write_method_load(void)
{
	const char *env;

	if (method_read)
		return;
	method_read = true;
	env = getenv("SKEYS_WRITE");
	if (!env)
		return;
	if (!strcmp(env, "procmem"))
		skeys_write_method = SKEYS_WRITE_PROCMEM;
	else if (!strcmp(env, "mprotect"))
		skeys_write_method = SKEYS_WRITE_MPROTECT;
	else if (strcmp(env, "auto"))
		skeys_log(SKEYS_LOG_WARN, "SKEYS_WRITE=%s not understood, using auto", env);
}

int skeys_write_method_set(enum skeys_write_method method)
{
	if (method != SKEYS_WRITE_AUTO && method != SKEYS_WRITE_PROCMEM &&
	    method != SKEYS_WRITE_MPROTECT)
		return -EINVAL;
	skeys_lock_take();
	method_read = true;
	skeys_write_method = method;
	skeys_lock_release();
	return 0;
}

/* Tests only: called after each phase of a multi-threaded write. */
static void (*phase_hook)(unsigned phase, uintptr_t first_site);

void skeys__set_phase_hook(void (*hook)(unsigned phase, uintptr_t first_site))
{
	phase_hook = hook;
}

int skeys_batch_write(struct skeys_batch *b)
{
	bool threads = !skeys_os_single_threaded();
	const struct skeys_protocol *proto = threads ? &skeys_protocol_threads : &direct;
	unsigned k;
	size_t done = 0;
	int err = 0;

	if (b->n == 0)
		goto out;
	qsort(b->p, b->n, sizeof(*b->p), patch_cmp);
	if (proto->publish) {
		err = proto->publish(b->p, b->n);
		if (err)
			goto out;
	}
	for (k = 0; k < proto->phases; k++) {
		fill_state(proto, b->p, b->n, k + 1);
		done = write_runs(b->p, b->n, &err);
		if (err) {
			roll_back(proto, b, k, done, threads);
			break;
		}
		if (threads) {
			err = sync_cores();
			if (err) {
				roll_back(proto, b, k, b->n, threads);
				break;
			}
			if (phase_hook)
				phase_hook(k, b->p[0].addr);
		}
	}
	if (proto->unpublish)
		proto->unpublish();
out:
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
	return err;
}
