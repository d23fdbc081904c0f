/* SPDX-License-Identifier: MIT */
/*
 * x86: rewriting a 5-byte instruction that other threads may be executing.
 * A thread must never run a mix of old and new bytes, so every site first
 * gets an int3 on its first byte, then its last bytes, then its first byte:
 *
 *   phase 0: cc + old tail     (a thread reaching the site traps)
 *   phase 1: cc + new tail
 *   phase 2: new
 *
 * with all cores synchronised after each phase (skeys_os_sync_cores). A
 * thread that traps is sent by the OS port's trap handler (a SIGTRAP
 * handler on Linux, a vectored exception handler on Windows), through
 * skeys_x86_trap(), to where the site's new instruction leads (back to
 * the site itself for a call site, skeys_patch.retry: it runs the site
 * once written); the port only reads and sets the instruction pointer of
 * its trap context. One that
 * trapped but reaches the handler after the int3 is gone re-executes the
 * site. Traps that are not ours go on to whoever would have had them.
 */
#include "../internal.h"

#include <sched.h>
#include <string.h>

enum { INT3 = 0xcc };

struct inflight {
	const struct skeys_patch *p;
	size_t n;
	bool forward; /* false while the batch is walked back */
};

/* The batch being written, for the trap handler. */
static struct inflight *current;
static unsigned handlers_running;

static const struct skeys_patch *find(const struct skeys_patch *p, size_t n, uintptr_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p[mid].addr == a)
			return &p[mid];
		if (p[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * A trap whose int3 is gone was one of ours that reached the handler late
 * (the thread was descheduled between the trap and the handler, while
 * batches finished): only we put int3 into code and take it out again, a
 * debugger takes its own traps before any handler. `int $3` (cd 03), the
 * only other instruction raising this trap, is told apart by its bytes:
 * its site is then one byte past the cd.
 */
static bool int3_gone(uintptr_t site, uint8_t first)
{
	const volatile uint8_t *b = (const volatile uint8_t *)site;

	if (first == INT3)
		return false;
	if (site % 4096 && first == 0x03 && b[-1] == 0xcd)
		return false;
	return true;
}

/*
 * Lock-free and allocation-free: on Linux this runs in a signal handler,
 * on Windows possibly while the toggling thread holds the heap lock.
 */
bool skeys_x86_trap(uintptr_t ip, bool executed_int3, uintptr_t *resume)
{
	uintptr_t site = ip - 1; /* int3 traps: the CPU reports the byte after it */
	const struct inflight *in;
	const struct skeys_patch *p;
	bool ours = false;
	uint8_t first;

	__atomic_add_fetch(&handlers_running, 1, __ATOMIC_SEQ_CST);
	in = __atomic_load_n(&current, __ATOMIC_SEQ_CST);
	p = in ? find(in->p, in->n, site) : NULL;
	/* One read of the site decides; a later batch may write it again meanwhile. */
	first = *(volatile const uint8_t *)site;
	/*
	 * No batch was published when we looked, yet the site holds an int3:
	 * a thread that trapped in one batch of this site reached us late,
	 * between that batch and the next batch of the same site (an update
	 * between them that wrote nothing: far to far), which published
	 * before writing its int3. Look again: it is published now, and stays
	 * so until we leave (unpublish waits for handlers_running).
	 */
	if (!in && first == INT3) {
		in = __atomic_load_n(&current, __ATOMIC_SEQ_CST);
		p = in ? find(in->p, in->n, site) : NULL;
		first = *(volatile const uint8_t *)site;
	}
	if (p && first == INT3) {
		ours = true;
		*resume = skeys_patch_dest(p, __atomic_load_n(&in->forward, __ATOMIC_SEQ_CST));
	} else if (executed_int3 && int3_gone(site, first)) {
		ours = true;
		*resume = site; /* run the site's new bytes */
	}
	__atomic_sub_fetch(&handlers_running, 1, __ATOMIC_SEQ_CST);
	return ours;
}

static int publish(const struct skeys_patch *p, size_t n, bool forward)
{
	static struct inflight in;
	int err;

	if (__atomic_load_n(&current, __ATOMIC_SEQ_CST) == &in && in.p == p && in.n == n) {
		/* Walking the batch in flight back: trapped threads go back. */
		__atomic_store_n(&in.forward, forward, __ATOMIC_SEQ_CST);
		return 0;
	}
	err = skeys_os_trap_install();
	if (err)
		return err;
	in.p = p;
	in.n = n;
	__atomic_store_n(&in.forward, forward, __ATOMIC_SEQ_CST);
	__atomic_store_n(&current, &in, __ATOMIC_SEQ_CST);
	return 0;
}

static void unpublish(void)
{
	__atomic_store_n(&current, NULL, __ATOMIC_SEQ_CST);
	/* The batch's memory goes once no handler can be reading it. */
	while (__atomic_load_n(&handlers_running, __ATOMIC_SEQ_CST))
		sched_yield();
}

/* Phases 0 and 1; phase 2 writes new_ itself. */
static void fill(const struct skeys_patch *p, unsigned k, uint8_t *out)
{
	memcpy(out, k == 0 ? p->old : p->new_, SKEYS_SITE_MAX);
	out[0] = INT3;
}

bool skeys_arch_breakpoint_on(const struct skeys_patch *p)
{
	const volatile uint8_t *code = (const volatile uint8_t *)p->addr;
	size_t i;

	if (code[0] != INT3 || p->old[0] == INT3)
		return false;
	for (i = 1; i < p->len; i++)
		if (code[i] != p->old[i])
			return false;
	return true;
}

const struct skeys_protocol skeys_protocol_threads = {
	.phases = 3,
	.one_store = false, /* a torn phase still starts with int3 */
	.fill = fill,
	.publish = publish,
	.unpublish = unpublish,
};

void skeys_arch_serialise(void)
{
	unsigned a = 0, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
}
