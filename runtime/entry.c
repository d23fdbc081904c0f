/* SPDX-License-Identifier: MIT */
/*
 * Function entries (<skeys/entry.h>): each patchable function's patch
 * point, the 5-byte nop skeys-seal left at its entry (after endbr64), is
 * rewritten as one batch of the patching core, so it gets what key sites
 * get: the bytes checked before the write, W^X, rollback, and with other
 * threads the int3 + core-sync protocol. Its three forms:
 *
 *   idle:       0f 1f 44 00 00   the nop: the body runs
 *   traced:     e8 rel32         call the function's handler stub, which
 *                                returns to the body (runtime/entry_hook.c)
 *   redirected: e9 rel32         jmp to the replacement (or a stub near
 *                                the pad that jumps there)
 *
 * A thread that meets the protocol's int3 while a pad changes goes on at
 * the body (offset 5), or at the new jump's destination when the pad is
 * becoming a jump: never into a handler stub, which needs the call's
 * return address. Calls in flight then run the old path or the new one;
 * once the write returns every core sees the new bytes.
 *
 * The module's list of patchable functions is the compiler's
 * __patchable_function_entries section, whose bounds and sealed shape the
 * module header carries (struct skeys_fentries). Registration only notes
 * where it is; the list is checked (sealed, checksum, order, in the code)
 * on first use.
 */
#include "internal.h"
#include "entry_hook.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { FN_IDLE, FN_TRACED, FN_REDIRECTED };

/* One per entry, in address order (the list is in link order). */
struct skeys_fn_state {
	uintptr_t entry; /* the list's address: the first nop */
	uintptr_t to;    /* traced: the stub the pad calls; redirected: where it jumps */
	uintptr_t patch; /* the patch point (entry_places()) */
	uint8_t state;
	uint8_t endbr; /* bytes between the function and its patch point (endbr64; aarch64: bti c, mov) */
	/*
	 * The pad's handler stub and the pair it runs, as the last batch
	 * that wrote them left them (changes_write): only this file changes
	 * this pad's stub, so the stub runs that pair until it does again
	 * (attach_all after detach_all: no lookup). hook 0: none yet.
	 */
	uintptr_t hook;
	skeys_entry_fn *hook_handler;
	void *hook_data;
};

/* attach_all's handler, which modules registered later get too. */
static struct {
	bool on;
	skeys_entry_fn *handler;
	void *data;
} all;

#ifdef SKEYS_ENTRY_PATCHING

#ifdef __aarch64__
/*
 * aarch64: skeys-seal made each pad `mov x9, x30; nop`; the patch point is
 * the nop (the word after the mov): nop, `bl STUB` or `b DEST`, one
 * aligned 4-byte store, and each of the three is one of the instructions
 * the architecture allows to be rewritten while other cores run it.
 */
enum { PATCH_OFF = 4, PATCH_LEN = 4, PAD_MIN = 8 };
static const uint8_t endbr64[4] = SKEYS_FENTRY_BTI_C; /* the landing pad */
#else
enum { PATCH_OFF = 0, PATCH_LEN = SKEYS_FENTRY_PATCH, PAD_MIN = SKEYS_FENTRY_PATCH };
#ifdef __i386__
/* i686: keys' 5-byte nop there (every i686 runs it), endbr32. */
static const uint8_t nop5[SKEYS_SITE_MAX] = SKEYS_FENTRY_I386_NOP5;
static const uint8_t endbr64[4] = SKEYS_FENTRY_ENDBR32;
#else
/* Whole words: a pad's bytes are compared and written as the first bytes of one. */
static const uint8_t nop5[SKEYS_SITE_MAX] = SKEYS_FENTRY_NOP5;
static const uint8_t endbr64[4] = SKEYS_FENTRY_ENDBR64;
#endif
#endif

/* Bytes of an entry of the list: the module's pointer size, as the runtime's. */
enum { ENTRY_SIZE = sizeof(uintptr_t) };

static uintptr_t list_start(const struct skeys_fentries *f)
{
	return (uintptr_t)&f->start + (uintptr_t)(intptr_t)f->start;
}

static uintptr_t list_stop(const struct skeys_fentries *f)
{
	return (uintptr_t)&f->stop + (uintptr_t)(intptr_t)f->stop;
}

/*
 * The list's start is not known yet: a PE module that skeys-seal has not
 * sealed (<skeys/format/coff.h>; an ELF part always has it).
 */
static bool list_unknown(const struct skeys_module *m)
{
	return m->fent && m->fent->start == 0;
}

/* Entries the module's list holds, as its bounds say (0 without a list). */
static size_t list_length(const struct skeys_module *m)
{
	uintptr_t a, b;

	if (!m->fent || list_unknown(m))
		return 0;
	a = list_start(m->fent);
	b = list_stop(m->fent);
	return b > a ? (b - a) / ENTRY_SIZE : 0;
}

static bool in_code(const struct skeys_module *m, uintptr_t a, size_t len)
{
	unsigned i;

	for (i = 0; i < m->n_exec; i++)
		if (a >= m->exec[i].start && a + len <= m->exec[i].end && a + len > a)
			return true;
	return false;
}

/* The list's entry i: the address of a function's first nop, as relocated. */
static uintptr_t list_at(const struct skeys_module *m, size_t i)
{
	uintptr_t e;

	memcpy(&e, (const void *)(list_start(m->fent) + i * ENTRY_SIZE), sizeof(e));
	return e;
}

/* Entry i in address order, once the list is checked. */
static uintptr_t entry_at(const struct skeys_module *m, size_t i)
{
	return m->fn[i].entry;
}

static int state_cmp(const void *a, const void *b)
{
	uintptr_t x = ((const struct skeys_fn_state *)a)->entry;
	uintptr_t y = ((const struct skeys_fn_state *)b)->entry;

	return (x > y) - (x < y);
}

static bool endbr_at(const struct skeys_module *m, uintptr_t a)
{
	return (m->fent->flags & SKEYS_FENTRIES_ENDBR) && in_code(m, a, 4) &&
	       !memcmp((const void *)a, endbr64, sizeof(endbr64));
}

/*
 * The function (its symbol) and patch point of the entry at `e`, as
 * skeys-seal found and recorded them (struct skeys_fentries).
 */
static void entry_places(const struct skeys_module *m, uintptr_t e, uintptr_t *fn,
			 uintptr_t *patch)
{
	unsigned prefix = m->fent->prefix;

	if (prefix == 0) {
		*patch = e;
		*fn = e >= 4 && endbr_at(m, e - 4) ? e - 4 : e;
	} else {
		*fn = e + prefix;
		*patch = *fn + (endbr_at(m, *fn) ? 4 : 0);
	}
}

/*
 * The module's list as sealed: marked so, counted, its checksum intact,
 * every patch point in the module's code; then its states, in address
 * order. Once per module; 0 or why its functions cannot be patched.
 */
static int list_check(struct skeys_module *m)
{
	const struct skeys_fentries *f = m->fent;
	uintptr_t start, stop, e, fn, patch;
	uint64_t sum = SKEYS_TABLE_CHECKSUM_INIT, delta;
	struct skeys_fn_state *st;
	size_t i, n;

	if (m->fn || m->fn_error)
		return m->fn_error;
	if (m->state == SKEYS_MODULE_BAD)
		return m->fn_error = SKEYS_ERR_ABI;
	start = list_start(f);
	stop = list_stop(f);
	n = (stop - start) / ENTRY_SIZE;
	if (stop < start || (stop - start) % ENTRY_SIZE || f->addr_size != ENTRY_SIZE || start < m->lo ||
	    stop > m->hi) {
		skeys_log(SKEYS_LOG_ERROR, "%s: function entries of another ABI", m->name);
		return m->fn_error = SKEYS_ERR_ABI;
	}
	if (!(f->flags & SKEYS_FENTRIES_SEALED)) {
		skeys_log(SKEYS_LOG_ERROR, "%s: function entries not sealed by skeys-seal", m->name);
		return m->fn_error = SKEYS_ERR_UNSEALED;
	}
	if (f->count != n || f->pad < PAD_MIN)
		goto changed;
	for (i = 0; i < n; i++) {
		e = list_at(m, i);
		/* Signed, as skeys-seal computes it from the file's 32- or 64-bit addresses. */
		delta = (uint64_t)(int64_t)(intptr_t)(e - (uintptr_t)m->header);
		sum = skeys_table_checksum_more(sum, &delta, sizeof(delta));
		entry_places(m, e, &fn, &patch);
		if (!in_code(m, patch, f->pad)) {
			skeys_log(SKEYS_LOG_ERROR, "%s: function entry %#lx is outside the module's "
						   "code", m->name, (unsigned long)e);
			return m->fn_error = SKEYS_ERR_OUTSIDE;
		}
	}
	if (sum != f->checksum)
		goto changed;
	st = calloc(n ? n : 1, sizeof(*st));
	if (!st)
		return -ENOMEM; /* not kept: a later call may find memory */
	for (i = 0; i < n; i++)
		st[i].entry = list_at(m, i);
	qsort(st, n, sizeof(*st), state_cmp);
	for (i = 1; i < n; i++) {
		if (st[i].entry == st[i - 1].entry) {
			free(st);
			goto changed; /* skeys-seal refuses a list naming a function twice */
		}
	}
	/* Found once here, not at each change. */
	for (i = 0; i < n; i++) {
		entry_places(m, st[i].entry, &fn, &patch);
		st[i].patch = patch + PATCH_OFF;
		st[i].endbr = (uint8_t)(st[i].patch - fn);
	}
	m->fn = st;
	return 0;
changed:
	skeys_log(SKEYS_LOG_ERROR, "%s: function entries changed after sealing", m->name);
	return m->fn_error = SKEYS_ERR_CHECKSUM;
}

/* The module and index of `function`'s entry. */
static int entry_find(void *function, struct skeys_module **mp, size_t *ip)
{
	uintptr_t f = (uintptr_t)function, want, fn, patch;
	struct skeys_module *m = skeys_module_of(function);
	size_t lo = 0, hi, mid;
	int err;

	if (!function)
		return -EINVAL;
	if (m && list_unknown(m) && in_code(m, f, 1))
		return SKEYS_ERR_UNSEALED;
	if (!m || !list_length(m) || !in_code(m, f, 1))
		return SKEYS_ERR_NOTPATCHABLE;
	err = list_check(m);
	if (err)
		return err;
	if (m->fent->prefix)
		want = f - m->fent->prefix;
	else
		want = endbr_at(m, f) ? f + 4 : f;
	hi = list_length(m);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (entry_at(m, mid) < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == list_length(m) || entry_at(m, lo) != want)
		return SKEYS_ERR_NOTPATCHABLE;
	entry_places(m, want, &fn, &patch);
	if (fn != f)
		return SKEYS_ERR_NOTPATCHABLE;
	*mp = m;
	*ip = lo;
	return 0;
}

/* A pad's patch point in `state`, as the first bytes of a word (little-endian). */
#ifdef __aarch64__
static uint64_t pad_word(unsigned state, uintptr_t patch, uintptr_t to)
{
	uint32_t imm = (uint32_t)((to - patch) >> 2) & 0x3ffffff;

	if (state == FN_IDLE)
		return SKEYS_FENTRY_A64_NOP;
	return (state == FN_TRACED ? SKEYS_FENTRY_A64_BL : SKEYS_FENTRY_A64_B) | imm;
}

/* A B/BL at `from` - 4 reaches `to`. */
static bool rel32_reaches(uintptr_t from, uintptr_t to)
{
	int64_t d = (int64_t)(to - (from - PATCH_LEN));

	return !(d & 3) && d >= -(INT64_C(1) << 27) && d < (INT64_C(1) << 27);
}
#else
static uint64_t pad_word(unsigned state, uintptr_t patch, uintptr_t to)
{
	uint32_t d = (uint32_t)(to - (patch + SKEYS_FENTRY_PATCH));

	if (state == FN_IDLE)
		return skeys_word_load(nop5);
	return (state == FN_TRACED ? SKEYS_FENTRY_CALL : SKEYS_FENTRY_JMP) | (uint64_t)d << 8;
}

static bool rel32_reaches(uintptr_t from, uintptr_t to)
{
	int64_t d = (int64_t)(intptr_t)(to - from); /* i686: wraps, always in reach */

	return d >= INT32_MIN && d <= INT32_MAX;
}
#endif

/*
 * One function going to the batch's state: what is queued, kept once
 * written. Going traced, with a pair its stub did not run: `rec`, the
 * pair, and `prev`, what the stub ran. A pad that calls its stub already
 * (attached again with another pair) has no patch: its stub takes the
 * pair once the batch is written. Any other pad's stub takes it before,
 * so that the first call through the pad runs it, and gets `prev` back
 * if the batch fails (changes_write).
 */
struct change {
	struct skeys_fn_state *s;
	uintptr_t to;
	const struct skeys_hook_record *rec, *prev;
};

/*
 * The changes and the batch that writes them, patch k for change k until
 * written. Every change of one batch goes to one state (all_set, one_set).
 */
struct changes {
	struct skeys_batch b;
	struct change *c;
	size_t n, cap;
	uint8_t state;
};

/* Room for `more` changes, in both arrays: one allocation for a whole attach_all. */
static int changes_room(struct changes *cs, size_t more)
{
	if (cs->cap - cs->n >= more && cs->b.cap - cs->b.n >= more)
		return 0;
	if (cs->cap - cs->n < more) {
		size_t cap = cs->n + more > 2 * cs->cap ? cs->n + more : 2 * cs->cap;
		struct change *nc = realloc(cs->c, cap * sizeof(*nc));

		if (!nc)
			return -ENOMEM;
		cs->c = nc;
		cs->cap = cap;
	}
	return skeys_batch_room(&cs->b, more);
}

static void changes_free(struct changes *cs)
{
	skeys_batch_free(&cs->b);
	free(cs->c);
}

/*
 * Queue the change of `s` (of module m) to `state`, unless it is so: the
 * pad's bytes now and then, and where a thread trapped while it changes
 * goes: the body, or where the pad jumps once it is a jump; never into a
 * stub (see above).
 */
static inline __attribute__((always_inline)) int
changes_add(struct changes *cs, struct skeys_module *m, struct skeys_fn_state *s, unsigned state,
	    uintptr_t to)
{
	struct skeys_patch *p;
	uint64_t old, new_;
	int err;

	if (s->state == state && (state == FN_IDLE || s->to == to))
		return 0; /* already so: nothing to write */
	if (state != FN_IDLE && !rel32_reaches(s->patch + PATCH_LEN, to))
		return -ERANGE;
	err = changes_room(cs, 1);
	if (err)
		return err;
	old = pad_word(s->state, s->patch, s->to);
	new_ = pad_word(state, s->patch, to);
	p = &cs->b.p[cs->b.n];
	p->addr = s->patch;
	p->len = PATCH_LEN;
	memcpy(p->old, &old, sizeof(p->old));
	memcpy(p->new_, &new_, sizeof(p->new_));
	p->jumps = state == FN_REDIRECTED;
	if (p->jumps)
		p->target = to;
	else if (s->state == FN_REDIRECTED)
		p->target = s->to; /* walking back a restore: the old jump's */
	else
		p->target = s->patch + PATCH_LEN;
	err = skeys_batch_add(&cs->b, m);
	if (err)
		return err;
	cs->c[cs->n++] = (struct change){ s, to, NULL, NULL };
	cs->state = (uint8_t)state;
	return 0;
}

/* Where a call from the pad of `s` returns to: the body. */
static uintptr_t from_of(const struct skeys_fn_state *s)
{
	return s->patch + PATCH_LEN;
}

/*
 * Write every change as one batch, then keep the new states and pairs;
 * `err`: queueing them failed, write nothing. A batch that fails wrote no
 * pad (the batch core's rollback): every stub then gets back the pair it
 * ran, so every function is left as it was. 0 or the error.
 */
static int changes_write(struct changes *cs, int err)
{
	size_t k;

	if (!err)
		err = skeys_batch_write(&cs->b);

	for (k = 0; k < cs->n; k++) {
		const struct change *c = &cs->c[k];
		struct skeys_fn_state *s = c->s;

		if (err) {
			if (c->rec && s->state != FN_TRACED)
				skeys_entry_hook_use(from_of(s), c->prev);
			continue;
		}
		if (c->rec) {
			if (s->state == FN_TRACED)
				skeys_entry_hook_use(from_of(s), c->rec);
			s->hook = c->to;
			s->hook_handler = c->rec->handler;
			s->hook_data = c->rec->data;
		}
		s->state = cs->state;
		s->to = cs->state == FN_IDLE ? 0 : c->to;
	}
	return err;
}

/* `s` (of m) traced by (handler, data), unless it is redirected. */
static int add_attach(struct changes *cs, struct skeys_module *m, struct skeys_fn_state *s,
		      skeys_entry_fn *handler, void *data)
{
	const struct skeys_hook_record *now = NULL, *want = NULL;
	uintptr_t stub = 0;
	int err;

	if (s->state == FN_REDIRECTED)
		return -EBUSY;
	/* Its stub runs that pair already (attach_all after detach_all). */
	if (s->hook && s->hook_handler == handler && s->hook_data == data)
		return changes_add(cs, m, s, FN_TRACED, s->hook);
	err = skeys_entry_hook_prepare(from_of(s), (void *)(s->patch - s->endbr), handler, data,
				       &stub, &now, &want);
	if (!err && s->state == FN_TRACED) {
		/* No patch: the pair only, once the batch is written. */
		err = changes_room(cs, 1);
		if (!err)
			cs->c[cs->n++] = (struct change){ s, stub, want, now };
		cs->state = FN_TRACED;
		return err;
	}
	if (!err) {
		skeys_entry_hook_use(from_of(s), want);
		err = changes_add(cs, m, s, FN_TRACED, stub);
		if (err)
			skeys_entry_hook_use(from_of(s), now);
		else
			cs->c[cs->n - 1] = (struct change){ s, stub, want, now };
	}
	return err;
}

/* Every function of every module (`only`: of that one) traced, or detached (handler NULL). */
static int all_set(struct skeys_module *only, skeys_entry_fn *handler, void *data)
{
	struct changes cs = { { 0 }, NULL, 0, 0, FN_IDLE };
	struct skeys_module *m;
	size_t i, n, total = 0;
	int err = 0;

	for (m = only ? only : skeys_modules; m && !err; m = only ? NULL : m->next) {
		n = list_length(m);
		if (n)
			err = list_check(m);
		total += n;
	}
	if (!err)
		err = changes_room(&cs, total);
	for (m = only ? only : skeys_modules; m && !err; m = only ? NULL : m->next) {
		struct skeys_fn_state *s = m->fn;

		n = list_length(m);
		for (i = 0; i < n && !err; i++) {
			if (!handler)
				err = s[i].state == FN_TRACED ? changes_add(&cs, m, &s[i], FN_IDLE, 0)
							       : 0;
			else if (s[i].state != FN_REDIRECTED)
				err = add_attach(&cs, m, &s[i], handler, data);
		}
	}
	err = changes_write(&cs, err);
	changes_free(&cs);
	return err;
}

/* `function` to `state`; going idle, only from state `from`. */
static int one_set(void *function, unsigned state, unsigned from, skeys_entry_fn *handler,
		   void *arg)
{
	struct changes cs = { { 0 }, NULL, 0, 0, FN_IDLE };
	struct skeys_module *m = NULL;
	struct skeys_fn_state *s;
	uintptr_t to = 0;
	size_t i = 0;
	int err = entry_find(function, &m, &i);

	if (err)
		return err;
	s = &m->fn[i];
	switch (state) {
	case FN_TRACED:
		err = add_attach(&cs, m, s, handler, arg);
		break;
	case FN_REDIRECTED:
		if (s->state == FN_TRACED)
			err = -EBUSY;
		else
			err = skeys_entry_jump_dest(from_of(s), arg, &to);
		if (!err)
			err = changes_add(&cs, m, s, FN_REDIRECTED, to);
		break;
	default: /* detach or restore */
		if (s->state == from)
			err = changes_add(&cs, m, s, FN_IDLE, 0);
		break;
	}
	err = changes_write(&cs, err);
	changes_free(&cs);
	return err;
}

int skeys_entry_op(enum skeys_entry_op op, void *function, skeys_entry_fn *handler, void *arg)
{
	static const char *const names[] = { "attach", "detach", "redirect", "restore",
					     "attach_all", "detach_all" };
	int err;

	if ((op == SKEYS_ENTRY_OP_ATTACH || op == SKEYS_ENTRY_OP_ATTACH_ALL) && !handler)
		return -EINVAL;
	if (op == SKEYS_ENTRY_OP_REDIRECT && !arg)
		return -EINVAL;
	/* A signal handler that interrupted a switch on this thread: waiting would never end. */
	if (skeys_lock_mine())
		return -EDEADLK;
	skeys_lock_take();
	switch (op) {
	case SKEYS_ENTRY_OP_ATTACH:
		err = one_set(function, FN_TRACED, FN_IDLE, handler, arg);
		break;
	case SKEYS_ENTRY_OP_DETACH:
		err = one_set(function, FN_IDLE, FN_TRACED, NULL, NULL);
		break;
	case SKEYS_ENTRY_OP_REDIRECT:
		err = one_set(function, FN_REDIRECTED, FN_IDLE, NULL, arg);
		break;
	case SKEYS_ENTRY_OP_RESTORE:
		err = one_set(function, FN_IDLE, FN_REDIRECTED, NULL, NULL);
		break;
	case SKEYS_ENTRY_OP_ATTACH_ALL:
		err = all_set(NULL, handler, arg);
		if (!err) {
			all.on = true;
			all.handler = handler;
			all.data = arg;
		}
		break;
	default:
		err = all_set(NULL, NULL, NULL);
		if (!err)
			all.on = false;
		break;
	}
	if (err && err != SKEYS_ERR_NOTPATCHABLE)
		skeys_log(SKEYS_LOG_ERROR, "skeys_entry_%s(%p): %s", names[op], function,
			  skeys_strerror(err));
	skeys_lock_release();
	return err;
}

void skeys_entries_added(struct skeys_module *m)
{
	int err;

	if (!all.on || !list_length(m))
		return;
	err = all_set(m, all.handler, all.data);
	if (err)
		skeys_log(SKEYS_LOG_ERROR, "%s: cannot attach the handler of "
					   "skeys_entry_attach_all to its functions: %s",
			  m->name, skeys_strerror(err));
}

#elif defined(__riscv) && defined(__ELF__)

/*
 * riscv64: no function is patchable (docs/architectures.md, "Function
 * entries", says why). Arguments are checked as elsewhere; then every
 * call that names a function, and attach_all, is SKEYS_ERR_NOTPATCHABLE,
 * said once in the log; detach_all has nothing to undo.
 */
int skeys_entry_op(enum skeys_entry_op op, void *function, skeys_entry_fn *handler, void *arg)
{
	static int said; /* int: riscv64 has no one-byte atomics without libatomic */

	(void)all;
	if ((op == SKEYS_ENTRY_OP_ATTACH || op == SKEYS_ENTRY_OP_ATTACH_ALL) && !handler)
		return -EINVAL;
	if ((op == SKEYS_ENTRY_OP_REDIRECT && !arg) || (op < SKEYS_ENTRY_OP_ATTACH_ALL && !function))
		return -EINVAL;
	if (op == SKEYS_ENTRY_OP_DETACH_ALL)
		return 0;
	if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		skeys_log(SKEYS_LOG_ERROR,
			  "function entries are not patchable on riscv64: a one-word patch "
			  "(jal) reaches only 1 MiB (docs/architectures.md, \"riscv64: not "
			  "patchable, and why\")");
	return SKEYS_ERR_NOTPATCHABLE;
}

void skeys_entries_added(struct skeys_module *m)
{
	(void)m;
}

#else

int skeys_entry_op(enum skeys_entry_op op, void *function, skeys_entry_fn *handler, void *arg)
{
	(void)op;
	(void)handler;
	(void)arg;
	(void)all;
	/* No patch points on this architecture or format yet. */
	return function || op >= SKEYS_ENTRY_OP_ATTACH_ALL ? -ENOSYS : -EINVAL;
}

void skeys_entries_added(struct skeys_module *m)
{
	(void)m;
}

#endif

void skeys_entries_removed(struct skeys_module *m)
{
#ifdef SKEYS_ENTRY_PATCHING
	/* Its pads' stubs may serve other modules' functions now. */
	if (m->fn)
		skeys_entry_hook_forget(m->lo, m->hi);
#endif
	free(m->fn);
	m->fn = NULL;
}
