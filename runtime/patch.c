/* SPDX-License-Identifier: MIT */
/*
 * One toggle is one batch: collect every site of the key in every module,
 * check all of them, then write them in address order, one write per run of
 * touching pages and phase. Nothing is written unless every site checks
 * out, and a write that fails half-way is walked back to the old state.
 */
#include "internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Swap old and new_ of every patch of a batch turned round in its flag only. */
static void batch_settle(struct skeys_batch *b)
{
	struct skeys_patch *p, *end = b->p + b->n;

	if (!b->swapped)
		return;
	for (p = b->p; p < end; p++) {
		uint64_t was = skeys_word_load(p->old);

		memcpy(p->old, p->new_, sizeof(p->old));
		memcpy(p->new_, &was, sizeof(p->new_));
		p->jumps = !p->jumps;
	}
	b->swapped = false;
}

/* Where the patches' old (or new) bytes are, as the batch is turned. */
static struct skeys_src patch_bytes(const struct skeys_batch *b, bool new_)
{
	struct skeys_src src = { (const uint8_t *)b->p, sizeof(*b->p) };

	src.at += new_ != b->swapped ? offsetof(struct skeys_patch, new_)
				     : offsetof(struct skeys_patch, old);
	return src;
}

/* Room for `more` patches at b->p[b->n], which are filled the right way round. */
static int batch_reserve(struct skeys_batch *b, size_t more)
{
	batch_settle(b);
	if (b->cap - b->n < more) {
		size_t cap = b->cap * 2 > b->n + more ? b->cap * 2 : b->n + more;
		struct skeys_patch *np = realloc(b->p, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
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

/* Both forms of a site: its nop and its jump. 0, or -1 where it has none. */
static int site_encode(const struct skeys_arch *a, uintptr_t code, uintptr_t target,
		       uint8_t *nop, uint8_t *jump)
{
	if (code & (a->site_align - 1u)) /* a power of two */
		return -1;
	if (a->encode_nop) {
		memset(nop, 0, SKEYS_SITE_MAX);
		if (a->encode_nop(code, target, nop))
			return -1;
	} else {
		memcpy(nop, a->nop, SKEYS_SITE_MAX);
	}
	memset(jump, 0, SKEYS_SITE_MAX); /* compared and merged as whole words: all defined */
	return a->encode_jump(code, target, jump);
}

/*
 * A site's bytes against what they should be, read as one word where the
 * word stays inside its segment.
 */
/* Byte by byte: a site that ends less than a word before the end of its segment. */
__attribute__((noinline)) static bool site_holds_bytes(const struct skeys_patch *p,
							 const uint8_t *want)
{
	size_t i;

	for (i = 0; i < p->len; i++)
		if (((const volatile uint8_t *)p->addr)[i] != want[i])
			return false;
	return true;
}

static inline bool site_holds(const struct skeys_patch *p, const uint8_t *want)
{
	if (p->addr + 8 <= p->seg->end)
		return !((skeys_word_load((const void *)p->addr) ^ skeys_word_load(want)) &
			 skeys_site_mask(p->len));
	return site_holds_bytes(p, want);
}

/*
 * Why a site that does not hold p->old is refused. A debugger's breakpoint
 * where it starts, the rest as expected, is named as such: writing under it
 * would be undone, half, when the debugger puts its saved byte back.
 * `module`: its name, or NULL.
 */
static int site_refused(const struct skeys_patch *p, const char *module)
{
	const char *sep = module ? ": " : "", *want = p->jumps ? "nop" : "jump";

	if (skeys_arch_breakpoint_on(p)) {
		skeys_log(SKEYS_LOG_ERROR,
			  "%s%ssite %#lx holds a breakpoint (int3 where the site starts, the rest "
			  "of the expected %s as it should be): probably a debugger's (gdb, lldb) "
			  "or a uprobe's (perf probe); delete it, then switch again: refusing to "
			  "patch", module ? module : "", sep, (unsigned long)p->addr, want);
		return SKEYS_ERR_BREAKPOINT;
	}
	skeys_log(SKEYS_LOG_ERROR, "%s%ssite %#lx does not hold the expected %s: refusing to patch",
		  module ? module : "", sep, (unsigned long)p->addr, want);
	return SKEYS_ERR_MISMATCH;
}

int skeys_batch_collect(struct skeys_batch *b, struct skeys_module *m,
			const struct skeys_key *site_key, bool on)
{
	const struct skeys_arch *native = skeys_arch_native(), *a;
	const struct skeys_segment *seg = NULL;
	size_t i, end;
	int err;

	/* The key's run of entries: the table is sorted by key address. */
	i = skeys_table_lower_bound(m->entries, m->count, (uintptr_t)m->entries,
				    (uintptr_t)site_key);
	end = skeys_table_lower_bound(m->entries, m->count, (uintptr_t)m->entries,
				      (uintptr_t)site_key + 1);
	err = batch_reserve(b, end - i);
	if (err)
		return err;
	for (; i < end; i++) {
		const struct skeys_entry *e = &m->entries[i];
		struct skeys_site s = skeys_entry_site(e, (uintptr_t)e);
		struct skeys_patch *p = &b->p[b->n];

		if (s.key != (uintptr_t)site_key)
			break;
		p->addr = (uintptr_t)s.code;
		p->target = (uintptr_t)s.target;
		p->jumps = on ^ (bool)(s.flags & SKEYS_ENTRY_BRANCH);
		/* arm: the entry says whether the site is A32 or Thumb-2 code. */
		a = s.flags & SKEYS_ENTRY_MODE ? skeys_arch_for_site(native, s.flags) : native;
		if (!a)
			return SKEYS_ERR_MISMATCH;
		p->len = a->site_len;
		p->retry = false;
		p->run = 0;
		/* Sites of one key come in address order: mostly in the last one's segment. */
		if (!seg || p->addr < seg->start || p->addr + p->len > seg->end ||
		    p->addr + p->len < p->addr)
			seg = segment_of(m, p->addr, p->len);
		p->seg = seg;
		if (!seg) {
			skeys_log(SKEYS_LOG_ERROR, "%s: site %#lx is outside the module's code",
				  m->name, (unsigned long)p->addr);
			return SKEYS_ERR_OUTSIDE;
		}
		if (site_encode(a, p->addr, p->target, p->jumps ? p->old : p->new_,
				p->jumps ? p->new_ : p->old))
			return SKEYS_ERR_MISMATCH;
		if (!site_holds(p, p->old))
			return site_refused(p, m->name);
		b->n++;
		b->sorted = false;
	}
	return 0;
}

int skeys_batch_room(struct skeys_batch *b, size_t more)
{
	return batch_reserve(b, more);
}

int skeys_batch_add_checked(struct skeys_batch *b, struct skeys_module *m)
{
	struct skeys_patch *q = &b->p[b->n];
	const struct skeys_segment *seg = b->n ? b->p[b->n - 1].seg : NULL;

	q->run = 0;
	/* Code queued in address order is mostly in the last one's segment. */
	if (!seg || q->addr < seg->start || q->addr + q->len > seg->end ||
	    q->addr + q->len < q->addr)
		seg = segment_of(m, q->addr, q->len);
	q->seg = seg;
	if (!seg) {
		skeys_log(SKEYS_LOG_ERROR, "%s: code at %#lx is outside the module's code",
			  m->name, (unsigned long)q->addr);
		return SKEYS_ERR_OUTSIDE;
	}
	if (!site_holds(q, q->old)) {
		bool bp = skeys_arch_breakpoint_on(q);

		skeys_log(SKEYS_LOG_ERROR, "%s: code at %#lx %s: refusing to patch", m->name,
			  (unsigned long)q->addr,
			  bp ? "holds a breakpoint (a debugger's or a uprobe's?)"
			     : "does not hold the expected bytes");
		return bp ? SKEYS_ERR_BREAKPOINT : SKEYS_ERR_MISMATCH;
	}
	b->n++;
	b->sorted = false;
	return 0;
}

int skeys_batch_queue(struct skeys_batch *b, struct skeys_module *m, const struct skeys_patch *p)
{
	int err = batch_reserve(b, 1);

	if (err)
		return err;
	b->p[b->n] = *p;
	return skeys_batch_add_checked(b, m);
}

static int patch_cmp(const void *a, const void *b)
{
	const struct skeys_patch *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/*
 * Address order, which one key's sites in one module already have (the
 * sealed table) and modules too (kept by address): sorting is then a check.
 */
static void batch_sort(struct skeys_batch *b)
{
	size_t i;

	if (b->sorted)
		return;
	for (i = 1; i < b->n; i++)
		if (b->p[i - 1].addr > b->p[i].addr)
			break;
	if (i < b->n)
		qsort(b->p, b->n, sizeof(*b->p), patch_cmp);
	b->sorted = true;
}

/* Length of the run starting at p[0]: sites in touching pages of one segment. */
static size_t run_length(const struct skeys_patch *p, size_t n, size_t pg)
{
	/* The run goes on below `end`: the end of the page after the last site's. */
	uintptr_t end = ((p[0].addr + p[0].len - 1) | (pg - 1)) + 1 + pg;
	size_t i;

	for (i = 1; i < n; i++) {
		if (p[i].seg != p[0].seg || p[i].addr >= end)
			break;
		end = ((p[i].addr + p[i].len - 1) | (pg - 1)) + 1 + pg;
	}
	return i;
}

/*
 * Write the first `n` patches with their bytes in `src`, run by run (with
 * `bad`, checked against `chk` as skeys_write_run() does). Returns how many
 * may have changed: on an error, the run that failed counts when it was
 * written in part, so that a walk back covers it.
 */
static size_t write_runs(const struct skeys_protocol *proto, struct skeys_patch *p, size_t n,
			 struct skeys_src src, struct skeys_src chk, size_t *bad, int *err)
{
	size_t pg = skeys_os_page_size(), done = 0, len;
	bool touched;

	*err = 0;
	while (done < n) {
		struct skeys_src s = { src.at + done * src.stride, src.stride };
		struct skeys_src c = { chk.at + done * chk.stride, chk.stride };

		/* Known from an earlier write of the batch (turned round since), or found now. */
		len = p[done].run;
		if (!len)
			len = p[done].run = (uint32_t)run_length(p + done, n - done, pg);
		if (len > n - done) /* a walk back over part of the batch */
			len = n - done;
		*err = skeys_write_run(p + done, len, s, c, proto->one_store, bad, &touched);
		if (*err) {
			if (touched)
				done += len;
			break;
		}
		done += len;
	}
	return done;
}

/*
 * Where the bytes the first n sites hold in `state` are: 0 is old,
 * `phases` new, and the protocol fills the batch's phase words for each
 * state in between.
 */
static struct skeys_src state_bytes(const struct skeys_protocol *proto, struct skeys_batch *b,
				    size_t n, unsigned state)
{
	struct skeys_src src = { (const uint8_t *)b->phase, sizeof(*b->phase) };
	size_t i;

	if (state == 0 || state == proto->phases)
		return patch_bytes(b, state != 0);
	for (i = 0; i < n; i++) /* several phases: the batch was settled */
		proto->fill(&b->p[i], state - 1, (uint8_t *)&b->phase[i]);
	return src;
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
		if (proto->publish)
			(void)proto->publish(b->p, b->n, false); /* published already: cannot fail */
		if (write_runs(proto, b->p, n, state_bytes(proto, b, n, j), patch_bytes(b, false),
			       NULL, &err) != n ||
		    err)
			skeys_log(SKEYS_LOG_ERROR, "rollback failed: %s: sites are inconsistent",
				  skeys_strerror(err));
		if (sync)
			sync_cores();
	}
}

/* A process that never had a second thread: write each site once. */
static const struct skeys_protocol direct = { .phases = 1 };

/* Tests only: called after each phase of a multi-threaded write. */
static void (*phase_hook)(unsigned phase, uintptr_t first_site);

void skeys__set_phase_hook(void (*hook)(unsigned phase, uintptr_t first_site))
{
	phase_hook = hook;
}

/* Check that every site holds its old bytes. */
static int batch_check(struct skeys_batch *b)
{
	const struct skeys_patch *p, *end = b->p + b->n;
	/* The patches' own bytes: an offset into each. */
	size_t old = (size_t)(patch_bytes(b, false).at - (const uint8_t *)b->p);

	for (p = b->p; p < end; p++)
		if (!site_holds(p, (const uint8_t *)p + old)) {
			batch_settle(b);
			return site_refused(p, NULL);
		}
	return 0;
}

/*
 * Turn a batch to turn round (its flag: the array is not touched), and
 * check it: all of it before anything is written, or, when it is one run
 * that goes to a direct write, in the write's pass over its copy of the
 * run (write.c). Returns where the write reports a site that fails, or
 * NULL. Several phases (threads) read the patches: they are swapped then.
 */
static size_t *turn_where(struct skeys_batch *b, const struct skeys_protocol *proto,
			  size_t *bad, int *err)
{
	*err = 0;
	if (b->turn) {
		b->swapped = !b->swapped;
		if (!b->p[0].run)
			b->p[0].run = (uint32_t)run_length(b->p, b->n, skeys_os_page_size());
		if (proto == &direct && b->p[0].run == b->n &&
		    skeys_write_direct_first(proto->one_store))
			return bad;
	}
	if (proto != &direct)
		batch_settle(b);
	if (b->turn)
		*err = batch_check(b);
	return NULL;
}

int skeys_batch_write(struct skeys_batch *b)
{
	bool threads = !skeys_os_single_threaded();
	const struct skeys_protocol *proto = threads ? &skeys_protocol_threads : &direct;
	unsigned k;
	size_t done = 0, bad, *check;
	int err = 0;

	if (b->n == 0)
		goto out;
	if (proto->phases > 1 && b->phase_cap < b->n) {
		uint64_t *more = realloc(b->phase, b->n * sizeof(*more));

		err = -ENOMEM;
		if (!more)
			goto out;
		b->phase = more;
		b->phase_cap = b->n;
	}
	batch_sort(b);
	check = turn_where(b, proto, &bad, &err);
	if (err)
		goto out;
	if (proto->publish) {
		err = proto->publish(b->p, b->n, true);
		if (err)
			goto out;
	}
	for (k = 0; k < proto->phases; k++) {
		done = write_runs(proto, b->p, b->n, state_bytes(proto, b, b->n, k + 1),
				  patch_bytes(b, false), check, &err);
		if (err == SKEYS_ERR_MISMATCH && check && bad < b->n) {
			batch_settle(b);
			err = site_refused(&b->p[bad], NULL); /* nothing was written */
			break;
		}
		check = NULL;
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
	b->turn = false;
	return err;
}

void skeys_batch_free(struct skeys_batch *b)
{
	free(b->p);
	free(b->phase);
	b->p = NULL;
	b->phase = NULL;
	b->n = b->cap = b->phase_cap = 0;
	b->swapped = false;
}

int skeys_batch_reverse(struct skeys_batch *b)
{
	b->turn = b->n > 0; /* skeys_batch_write() turns and checks before it writes */
	return 0;
}
