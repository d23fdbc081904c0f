/* SPDX-License-Identifier: MIT */
/*
 * Function entries, hook side: the stubs a patched pad reaches.
 *
 * A stub is 16 bytes of code in an arena mapped near the pads it serves
 * (a rel32 must reach it from the pad), and a 32-byte slot of data in the
 * same arena:
 *
 *   stub i:  endbr64                 f3 0f 1e fa
 *            lea  slot_i(%rip), %r11 4c 8d 1d rel32
 *            jmp  *(%r11)            41 ff 23
 *            int3; int3
 *   slot i:  target, record, function, next-free
 *
 * Every stub of an arena is written when the arena is mapped, read-write,
 * and its code page is then made read-execute: code is never writable and
 * executable at once, and nothing writes it again. What a stub does lives
 * in its slot (a read-write data page, never executable): a hook stub's
 * target is skeys__entry_hook_common (runtime/arch/x86_64-entry.S), which
 * saves the argument registers (the vector ones at full width), calls
 * skeys__entry_hook_run(slot) and returns into the body; a jump stub's target is the replacement. Both are
 * changed with single aligned 8-byte stores: a caller sees the old value
 * or the new one. (handler, data) travel together as a pointer to an
 * immutable record, so a call never mixes one pair's handler with
 * another's data; records are interned, one per pair ever used, and never
 * freed (a thread may still be reading an old one).
 *
 * r11 is the one register a stub may clobber: it carries nothing into a
 * function under the SysV ABI (r10 does: the static chain), nor under the
 * Windows x64 one (runtime/arch/x86_64-win64-entry.S). endbr64 comes
 * first whatever the build: a pad reaches a stub by a direct call or jump,
 * and on a CPU without CET it is a nop.
 *
 * i686: no register is free at a function's entry (eax, edx and ecx may
 * carry arguments) and a rel32 reaches every address, so a stub is
 *
 *   stub i:  endbr32                 f3 0f 1e fb
 *            push $slot_i            68 imm32
 *            jmp  *slot_i.target     ff 25 abs32
 *            int3
 *
 * the slot travels on the stack to runtime/arch/i686-entry.S, which drops
 * it before it returns into the body. A redirection never needs a stub
 * there (the pad's jmp reaches the replacement), and arenas go anywhere.
 *
 * Stubs are kept per pad (`from`) in a hash table, for as long as the
 * module is loaded: a thread may be inside a stub after its pad went back
 * to a nop, so a stub never serves another pad until the module is gone.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "entry_hook.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef SKEYS_ENTRY_PATCHING

#include <stdio.h>
#ifndef _WIN32
#include <sys/mman.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#ifdef __x86_64__
#define REACH_TEXT "2 GiB"
#elif defined(__i386__)
#define REACH_TEXT "4 GiB (the whole address space)"
#else
#define REACH_TEXT "128 MiB"
#endif

enum {
	STUB_SIZE = 16,
	SLOT_SIZE = 32,
#if defined(__x86_64__) || defined(__i386__)
	REACH = 0x7fffffff, /* a rel32's reach, either way (i686: wrapping, everywhere) */
#else
	/*
	 * aarch64: a B/BL's reach (+-128 MiB from the branch, `from` - 4),
	 * less a margin so that every stub byte counts from `from`.
	 */
	REACH = (1 << 27) - 16,
#endif
};

struct hook_slot {
	uintptr_t target;                 /* where the stub jumps */
	const struct skeys_hook_record *record; /* hook stubs: the current pair */
	uintptr_t function;               /* hook stubs: the handler's first argument */
	uintptr_t next_free;              /* index + 1 of the next free stub, or 0 */
};

/* A mapping: one page of stubs, the pages of their slots after it. */
struct arena {
	uintptr_t code;
	struct hook_slot *slots;
	size_t n;        /* stubs it holds */
	size_t used;     /* stubs handed out at least once */
	size_t free_top; /* index + 1 of a recycled stub, or 0 */
	struct arena *next;
};

/* The stubs of one pad. */
struct pad_stubs {
	uintptr_t from; /* 0: empty; 1: removed */
	uintptr_t hook, jump;
	struct hook_slot *hook_slot, *jump_slot;
};

static struct arena *arenas;
static struct pad_stubs *pads;
static size_t pads_cap, pads_used; /* used counts removed entries too */

#define RECORD_BUCKETS 256
static struct skeys_hook_record *records[RECORD_BUCKETS];

/* Read by runtime/arch/x86_64-entry.S and i686-entry.S: how wide the vector registers it saves are. */
SKEYS_HIDDEN uint32_t skeys__entry_save_mode; /* enum save_mode */
void skeys__entry_hook_common(void);
void skeys__entry_hook_run(const struct hook_slot *slot);

#if defined(__x86_64__) || defined(__i386__)
/* SAVE_X87: i686 without FXSR, so without SSE (FNSAVE, runtime/arch/i686-entry.S). */
enum save_mode { SAVE_XMM, SAVE_YMM, SAVE_ZMM, SAVE_X87 };

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* The widest vector registers the CPU has and the OS saves (XCR0). */
static enum save_mode save_widest(void)
{
	unsigned a, b, c, d;
	uint64_t xcr0;

#ifdef __i386__
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(d & (1u << 24)))
		return SAVE_X87; /* no FXSAVE */
#endif
	/* AVX and OSXSAVE: the OS enabled XSAVE, so XCR0 is readable. */
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)) || !(c & (1u << 28)))
		return SAVE_XMM;
	xcr0 = xgetbv0();
	if ((xcr0 & 0x6) != 0x6)
		return SAVE_XMM;
	/* AVX-512F, its opmask, upper-zmm and zmm16-31 state enabled. */
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		if (b & (1u << 16) && (xcr0 & 0xe0) == 0xe0)
			return SAVE_ZMM;
	}
	return SAVE_YMM;
}

static void save_probe(void)
{
	static bool done;

	if (!done) {
		skeys__entry_save_mode = save_widest();
		done = true;
	}
}

/*
 * Tests only, never exported: save the vector registers `mode` wide (0
 * xmm, 1 ymm, 2 zmm); -1 if the CPU lacks them.
 */
int skeys__entry_hook_save_mode(int mode);
int skeys__entry_hook_save_mode(int mode)
{
	enum save_mode widest;

	skeys_lock_take();
	save_probe();
	widest = save_widest();
	if (mode < 0 || mode > (int)widest || widest == SAVE_X87)
		mode = -1;
	else
		__atomic_store_n(&skeys__entry_save_mode, (uint32_t)mode, __ATOMIC_SEQ_CST);
	skeys_lock_release();
	return mode;
}
#else
/* aarch64-entry.S saves q0-q7 whole, whatever the CPU: nothing to probe. */
static void save_probe(void)
{
}
#endif

#ifdef _WIN32
/*
 * Windows: the guard is a TLS slot of the OS port (mingw-w64 emulates
 * __thread, which allocates on a thread's first use), which also keeps the
 * thread's last-error value as the caller left it for the body.
 */
void skeys__entry_hook_run(const struct hook_slot *slot)
{
	const struct skeys_hook_record *r;
	unsigned long last_error;

	if (!skeys_os_handler_enter(&last_error))
		return;
	r = __atomic_load_n(&slot->record, __ATOMIC_ACQUIRE);
	if (r)
		r->handler((void *)slot->function, r->data);
	skeys_os_handler_leave(last_error);
}
#else
/*
 * The per-thread guard: set while this thread runs a handler. initial-exec
 * so that reading it never allocates (a handler may trace malloc) and is
 * async-signal-safe.
 */
static __thread __attribute__((tls_model("initial-exec"))) volatile int in_handler;

void skeys__entry_hook_run(const struct hook_slot *slot)
{
	const struct skeys_hook_record *r;

	if (in_handler)
		return;
	r = __atomic_load_n(&slot->record, __ATOMIC_ACQUIRE);
	if (!r)
		return;
	in_handler = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	r->handler((void *)slot->function, r->data);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	in_handler = 0;
}
#endif

static bool reaches(uintptr_t from, uintptr_t to)
{
#if UINTPTR_MAX == 0xffffffffu
	(void)from;
	(void)to;
	return true; /* i686: a rel32 wraps round the whole address space */
#else
	return to >= from ? to - from <= REACH : from - to <= (uintptr_t)REACH + 1;
#endif
}

/* ---- finding address space near a pad ----------------------------------- */

#ifdef _WIN32
/* The OS port finds it (VirtualQuery, VirtualAlloc). */
static void *map_near(uintptr_t from, size_t size)
{
	return skeys_os_map_near(from, size, REACH);
}

static void unmap(void *p, size_t size)
{
	skeys_os_unmap(p, size);
}
#elif UINTPTR_MAX > 0xffffffffu

static uintptr_t align_down(uintptr_t v, uintptr_t a)
{
	return v & ~(a - 1);
}

/* The range "start-end ..." a line of /proc/self/maps starts with. */
static bool maps_line(const char *line, unsigned long *start, unsigned long *end)
{
	char *p;

	*start = strtoul(line, &p, 16);
	if (p == line || *p != '-')
		return false;
	line = p + 1;
	*end = strtoul(line, &p, 16);
	return p != line && *end > *start;
}

/*
 * A free range of `size` bytes whose every byte a rel32 from `from`
 * reaches, from /proc/self/maps: the closest below `from` (below a module
 * is the loader's side of it; above a program lies its brk heap), else
 * the closest above. 0 if none or the maps cannot be read.
 */
static uintptr_t gap_near(uintptr_t from, size_t size)
{
	const uintptr_t pg = skeys_os_page_size(), top = (uintptr_t)1 << 47;
	uintptr_t lo, hi, prev_end = 0, below = 0, above = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	/* [lo, hi): the addresses a rel32 from `from` reaches. */
	lo = from > (uintptr_t)REACH + 1 + pg * 16 ? from - ((uintptr_t)REACH + 1) : pg * 16;
	lo = (lo + pg - 1) & ~(pg - 1);
	hi = from < top - REACH ? from + REACH + 1 : top;
	for (;;) {
		unsigned long s = 0, e = 0;
		uintptr_t gs = prev_end, ge = top;
		bool eof = !fgets(line, sizeof(line), f);

		if (!eof) {
			bool ok = maps_line(line, &s, &e);

			if (!strchr(line, '\n')) { /* a long path: skip the rest of its line */
				int ch;

				while ((ch = fgetc(f)) != EOF && ch != '\n')
					;
			}
			if (!ok)
				continue;
			ge = (uintptr_t)s;
			/* Leave room for the stack to grow into. */
			if (strstr(line, " [stack]"))
				ge = ge > (1u << 20) ? ge - (1u << 20) : 0;
		}
		if (gs < lo)
			gs = lo;
		if (ge > hi)
			ge = hi;
		if (ge > gs && ge - gs >= size) {
			uintptr_t end = ge < from ? ge : from;

			/* Gaps come in address order: the last below, the first above. */
			if (end >= gs + size)
				below = align_down(end - size, pg);
			if (!above && gs >= from)
				above = gs;
		}
		if (eof)
			break;
		if ((uintptr_t)e > prev_end)
			prev_end = (uintptr_t)e;
	}
	fclose(f);
	return below ? below : above;
}

static void *map_at(uintptr_t want, size_t size)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p;

#ifdef MAP_FIXED_NOREPLACE
	flags |= MAP_FIXED_NOREPLACE;
#endif
	p = mmap((void *)want, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* An arena's mapping, every byte of it reached from `from`, read-write. */
static void *map_near(uintptr_t from, size_t size)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		uintptr_t want = gap_near(from, size);
		void *p;

		/* Without /proc: hints, walking down from the pad 64 MiB at a time. */
		if (!want && attempt == 0) {
			for (uintptr_t step = 1; step <= 31; step++) {
				uintptr_t h = from > (step << 26) + size ? align_down(from - (step << 26), 1u << 16) : 0;

				if (!h)
					break;
				p = map_at(h, size);
				if (p && reaches(from, (uintptr_t)p) && reaches(from, (uintptr_t)p + size - 1))
					return p;
				if (p)
					munmap(p, size);
			}
			return NULL;
		}
		if (!want)
			return NULL;
		p = map_at(want, size);
		if (p && reaches(from, (uintptr_t)p) && reaches(from, (uintptr_t)p + size - 1))
			return p;
		if (p)
			munmap(p, size); /* an old kernel took the address as a hint */
		/* Another thread mapped there since we read the maps: again. */
	}
	return NULL;
}

#else
/* i686: every address is in reach; anywhere will do. */
static void *map_near(uintptr_t from, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)from;
	return p == MAP_FAILED ? NULL : p;
}
#endif

#ifndef _WIN32
static void unmap(void *p, size_t size)
{
	munmap(p, size);
}
#endif

/* ---- arenas ---------------------------------------------------------------- */

#ifdef __aarch64__
/*
 * adr x17, slot; ldr x16, [x17]; br x16; brk #0. x16 and x17 carry
 * nothing into a function (the linker's veneers may take them), and a
 * BTI landing pad's `bti c` accepts a br through x16.
 */
static void stub_write(uint8_t *code, uintptr_t at, uintptr_t slot)
{
	uint32_t d = (uint32_t)(slot - at), w[4];

	w[0] = 0x10000000u | (d & 3) << 29 | (d >> 2 & 0x7ffff) << 5 | 17; /* adr x17 */
	w[1] = 0xf9400230u; /* ldr x16, [x17] */
	w[2] = 0xd61f0200u; /* br x16 */
	w[3] = 0xd4200000u; /* brk #0 */
	memcpy(code, w, sizeof(w));
}
#elif defined(__i386__)
static void stub_write(uint8_t *code, uintptr_t at, uintptr_t slot)
{
	static const uint8_t tmpl[STUB_SIZE] = {
		0xf3, 0x0f, 0x1e, 0xfb, /* endbr32 */
		0x68, 0, 0, 0, 0,       /* push $slot */
		0xff, 0x25, 0, 0, 0, 0, /* jmp *slot (its target, the first field) */
		0xcc,
	};
	uint32_t abs = (uint32_t)slot;

	(void)at;
	memcpy(code, tmpl, sizeof(tmpl));
	memcpy(code + 5, &abs, 4);
	memcpy(code + 11, &abs, 4);
}
#else
static void stub_write(uint8_t *code, uintptr_t at, uintptr_t slot)
{
	static const uint8_t tmpl[STUB_SIZE] = {
		0xf3, 0x0f, 0x1e, 0xfa,             /* endbr64 */
		0x4c, 0x8d, 0x1d, 0, 0, 0, 0,       /* lea rel32(%rip), %r11 */
		0x41, 0xff, 0x23,                   /* jmp *(%r11) */
		0xcc, 0xcc,
	};
	int32_t rel = (int32_t)(int64_t)(slot - (at + 11));

	memcpy(code, tmpl, sizeof(tmpl));
	memcpy(code + 7, &rel, 4);
}
#endif

static struct arena *arena_new(uintptr_t from, int *err)
{
	const size_t pg = skeys_os_page_size();
	const size_t n = pg / STUB_SIZE;
	const size_t size = pg + n * SLOT_SIZE;
	struct arena *a = calloc(1, sizeof(*a));
	uint8_t *p;

	if (!a) {
		*err = -ENOMEM;
		return NULL;
	}
	p = map_near(from, size);
	if (!p) {
		skeys_log(SKEYS_LOG_ERROR,
			  "entry stubs for the pad at %p: no free address space of %zu bytes "
			  "within " REACH_TEXT " of it",
			  (void *)from, size);
		free(a);
		*err = -ENOMEM;
		return NULL;
	}
	a->code = (uintptr_t)p;
	a->slots = (struct hook_slot *)(void *)(p + pg);
	a->n = n;
	for (size_t i = 0; i < n; i++)
		stub_write(p + i * STUB_SIZE, a->code + i * STUB_SIZE, (uintptr_t)&a->slots[i]);
	*err = skeys_os_protect(a->code, pg, SKEYS_PROT_READ | SKEYS_PROT_EXEC);
	if (*err) {
		skeys_log(SKEYS_LOG_ERROR, "entry stubs: cannot make %p executable: %s", (void *)p,
			  skeys_strerror(*err));
		unmap(p, size); /* never executable: nobody can be inside */
		free(a);
		return NULL;
	}
	skeys_os_flush_icache(a->code, pg);
	a->next = arenas;
	arenas = a;
	return a;
}

/* A stub reached from `from`: its code address, its slot. */
static int stub_alloc(uintptr_t from, uintptr_t *code, struct hook_slot **slot)
{
	struct arena *a;
	size_t i;
	int err = 0;

	for (a = arenas; a; a = a->next) {
		if (!reaches(from, a->code) || !reaches(from, a->code + skeys_os_page_size() - 1))
			continue;
		if (a->free_top || a->used < a->n)
			break;
	}
	if (!a && !(a = arena_new(from, &err)))
		return err;
	if (a->free_top) {
		i = a->free_top - 1;
		a->free_top = a->slots[i].next_free;
	} else {
		i = a->used++;
	}
	a->slots[i].next_free = 0;
	*code = a->code + i * STUB_SIZE;
	*slot = &a->slots[i];
	return 0;
}

static void stub_free(struct hook_slot *slot)
{
	for (struct arena *a = arenas; a; a = a->next) {
		size_t i = (size_t)(slot - a->slots);

		if (slot < a->slots || i >= a->n)
			continue;
		__atomic_store_n(&slot->record, NULL, __ATOMIC_RELEASE);
		slot->target = 0;
		slot->function = 0;
		slot->next_free = a->free_top;
		a->free_top = i + 1;
		return;
	}
}

/* ---- pads ------------------------------------------------------------------ */

static inline size_t pad_hash(uintptr_t from, size_t cap)
{
	return (size_t)((from * 0x9e3779b97f4a7c15ull) >> 40) & (cap - 1);
}

/* Twice the room for pads (all their entries moved). False when out of memory. */
static bool pads_grow(void)
{
	size_t cap = pads_cap ? pads_cap * 2 : 256, i;
	struct pad_stubs *t = calloc(cap, sizeof(*t));

	if (!t)
		return false;
	pads_used = 0;
	for (size_t k = 0; k < pads_cap; k++) {
		if (pads[k].from <= 1)
			continue;
		for (i = pad_hash(pads[k].from, cap); t[i].from; i = (i + 1) & (cap - 1))
			;
		t[i] = pads[k];
		pads_used++;
	}
	free(pads);
	pads = t;
	pads_cap = cap;
	return true;
}

/* The pad's entry; a new one (all zero but from) when `add`; NULL if none or out of memory. */
static inline struct pad_stubs *pad_find(uintptr_t from, bool add)
{
	size_t i;

	if (add && (pads_used + 1) * 4 > pads_cap * 3 && !pads_grow())
		return NULL;
	if (!pads_cap)
		return NULL;
	for (i = pad_hash(from, pads_cap); pads[i].from; i = (i + 1) & (pads_cap - 1))
		if (pads[i].from == from)
			return &pads[i];
	if (!add)
		return NULL;
	pads_used++;
	pads[i].from = from;
	return &pads[i];
}

static const struct skeys_hook_record *record_get(skeys_entry_fn *handler, void *data)
{
	size_t b = (size_t)((((uintptr_t)handler ^ (uintptr_t)data * 31) * 0x9e3779b97f4a7c15ull) >>
			    40) %
		   RECORD_BUCKETS;
	struct skeys_hook_record *r;

	for (r = records[b]; r; r = r->next)
		if (r->handler == handler && r->data == data)
			return r;
	r = malloc(sizeof(*r));
	if (!r)
		return NULL;
	r->handler = handler;
	r->data = data;
	r->next = records[b];
	records[b] = r;
	return r;
}

int skeys_entry_hook_prepare(uintptr_t from, void *function, skeys_entry_fn *handler, void *data,
			     uintptr_t *stub, const struct skeys_hook_record **now,
			     const struct skeys_hook_record **want)
{
	struct pad_stubs *p;
	int err;

	if (!from || !function || !handler || !stub)
		return -EINVAL;
	save_probe();
#ifdef _WIN32
	err = skeys_os_handler_init();
	if (err)
		return err;
#endif
	*want = record_get(handler, data);
	p = *want ? pad_find(from, true) : NULL;
	if (!p)
		return -ENOMEM;
	if (!p->hook) {
		err = stub_alloc(from, &p->hook, &p->hook_slot);
		if (err)
			return err;
		p->hook_slot->function = (uintptr_t)function;
		p->hook_slot->target = (uintptr_t)skeys__entry_hook_common;
	}
	*now = p->hook_slot->record;
	*stub = p->hook;
	return 0;
}

void skeys_entry_hook_use(uintptr_t from, const struct skeys_hook_record *r)
{
	struct pad_stubs *p = pad_find(from, false);

	/* One aligned store: a call sees the old record or the new one. */
	if (p && p->hook_slot)
		__atomic_store_n(&p->hook_slot->record, r, __ATOMIC_RELEASE);
}

int skeys_entry_hook_stub(uintptr_t from, void *function, skeys_entry_fn *handler, void *data,
			  uintptr_t *stub)
{
	const struct pad_stubs *p;
	const struct skeys_hook_record *r, *now;
	int err;

	if (!from || !function || !handler || !stub)
		return -EINVAL;
	/* Attached again with the pair it has (attach_all after detach_all): one lookup. */
	p = pad_find(from, false);
	r = p && p->hook ? p->hook_slot->record : NULL;
	if (r && r->handler == handler && r->data == data) {
		*stub = p->hook;
		return 0;
	}
	err = skeys_entry_hook_prepare(from, function, handler, data, stub, &now, &r);
	if (!err)
		skeys_entry_hook_use(from, r);
	return err;
}

int skeys_entry_jump_dest(uintptr_t from, void *replacement, uintptr_t *dest)
{
	struct pad_stubs *p;
	int err;

	if (!from || !replacement || !dest)
		return -EINVAL;
	if (reaches(from, (uintptr_t)replacement)) {
		*dest = (uintptr_t)replacement;
		return 0;
	}
	p = pad_find(from, true);
	if (!p)
		return -ENOMEM;
	if (!p->jump) {
		err = stub_alloc(from, &p->jump, &p->jump_slot);
		if (err)
			return err;
	}
	__atomic_store_n(&p->jump_slot->target, (uintptr_t)replacement, __ATOMIC_RELEASE);
	*dest = p->jump;
	return 0;
}

void skeys_entry_hook_forget(uintptr_t lo, uintptr_t hi)
{
	for (size_t i = 0; i < pads_cap; i++) {
		struct pad_stubs *p = &pads[i];

		if (p->from <= 1 || p->from < lo || p->from >= hi)
			continue;
		if (p->hook_slot)
			stub_free(p->hook_slot);
		if (p->jump_slot)
			stub_free(p->jump_slot);
		memset(p, 0, sizeof(*p));
		p->from = 1; /* removed: probing goes on past it */
	}
}

#else

int skeys_entry_hook_stub(uintptr_t from, void *function, skeys_entry_fn *handler, void *data,
			  uintptr_t *stub)
{
	(void)from;
	(void)function;
	(void)handler;
	(void)data;
	(void)stub;
	return -ENOSYS; /* no stubs on this architecture or format yet */
}

int skeys_entry_hook_prepare(uintptr_t from, void *function, skeys_entry_fn *handler, void *data,
			     uintptr_t *stub, const struct skeys_hook_record **now,
			     const struct skeys_hook_record **want)
{
	(void)from;
	(void)function;
	(void)handler;
	(void)data;
	(void)stub;
	(void)now;
	(void)want;
	return -ENOSYS;
}

void skeys_entry_hook_use(uintptr_t from, const struct skeys_hook_record *r)
{
	(void)from;
	(void)r;
}

int skeys_entry_jump_dest(uintptr_t from, void *replacement, uintptr_t *dest)
{
	(void)from;
	(void)replacement;
	(void)dest;
	return -ENOSYS;
}

void skeys_entry_hook_forget(uintptr_t lo, uintptr_t hi)
{
	(void)lo;
	(void)hi;
}

#endif
