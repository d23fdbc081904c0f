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
 * with all cores synchronised after each phase. A thread that traps is sent
 * by the SIGTRAP handler to where the site's new instruction leads. One that
 * trapped but reaches the handler after the int3 is gone re-executes the
 * site. Traps that are not ours go to the handler installed before ours.
 */
#define _GNU_SOURCE
#include "../internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#if defined(__x86_64__)
#define IP_REG REG_RIP
#else
#define IP_REG REG_EIP
#endif

enum { INT3 = 0xcc };

struct inflight {
	const struct skeys_patch *p;
	size_t n;
};

/* The batch being written, and the sites of the one before (handlers may lag). */
static struct inflight *current;
static uintptr_t *previous;
static size_t n_previous;
static unsigned handlers_running;
static struct sigaction chained;
static bool installed;

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

static bool was_site(const uintptr_t *a, size_t n, uintptr_t site)
{
	size_t lo = 0, hi = a ? n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a[mid] == site)
			return true;
		if (a[mid] < site)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void chain(int sig, siginfo_t *si, void *uc)
{
	if (chained.sa_flags & SA_SIGINFO) {
		chained.sa_sigaction(sig, si, uc);
	} else if (chained.sa_handler == SIG_IGN) {
		return;
	} else if (chained.sa_handler == SIG_DFL) {
		/* What would have happened without us: the default action. */
		signal(sig, SIG_DFL);
		raise(sig);
	} else {
		chained.sa_handler(sig);
	}
}

/* Async-signal-safe: no locks, no allocation. */
static void on_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uintptr_t site = (uintptr_t)uc->uc_mcontext.gregs[IP_REG] - 1;
	const struct inflight *in;
	const struct skeys_patch *p;
	bool ours = false;

	__atomic_add_fetch(&handlers_running, 1, __ATOMIC_SEQ_CST);
	in = __atomic_load_n(&current, __ATOMIC_SEQ_CST);
	if (in && (p = find(in->p, in->n, site)) != NULL) {
		ours = true;
		if (*(volatile const uint8_t *)site == INT3)
			uc->uc_mcontext.gregs[IP_REG] = (greg_t)__atomic_load_n(&p->dest, __ATOMIC_RELAXED);
		else
			uc->uc_mcontext.gregs[IP_REG] = (greg_t)site;
	} else if (was_site(__atomic_load_n(&previous, __ATOMIC_SEQ_CST),
			    __atomic_load_n(&n_previous, __ATOMIC_SEQ_CST), site) &&
		   *(volatile const uint8_t *)site != INT3) {
		ours = true;
		uc->uc_mcontext.gregs[IP_REG] = (greg_t)site;
	}
	__atomic_sub_fetch(&handlers_running, 1, __ATOMIC_SEQ_CST);
	if (!ours)
		chain(sig, si, ucv);
}

static void wait_handlers(void)
{
	while (__atomic_load_n(&handlers_running, __ATOMIC_SEQ_CST))
		sched_yield(); /* handlers are a few dozen instructions */
}

static int install(void)
{
	struct sigaction sa, now;

	if (installed && sigaction(SIGTRAP, NULL, &now) == 0 &&
	    (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_trap)
		return 0;
	/* First time, or someone replaced ours: chain to whatever is there now. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, &chained))
		return -errno;
	if (installed)
		skeys_log(SKEYS_LOG_WARN, "SIGTRAP handler was replaced: reinstalled, chaining to the new one");
	installed = true;
	return 0;
}

static int publish(struct skeys_patch *p, size_t n)
{
	static struct inflight in;
	int err = install();

	if (err)
		return err;
	in.p = p;
	in.n = n;
	__atomic_store_n(&current, &in, __ATOMIC_SEQ_CST);
	return 0;
}

static void unpublish(void)
{
	const struct inflight *in = current;
	uintptr_t *keep = malloc((in->n ? in->n : 1) * sizeof(*keep)), *old;
	size_t i;

	for (i = 0; keep && i < in->n; i++)
		keep[i] = in->p[i].addr;
	old = previous;
	__atomic_store_n(&previous, NULL, __ATOMIC_SEQ_CST);
	__atomic_store_n(&n_previous, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&current, NULL, __ATOMIC_SEQ_CST);
	wait_handlers();
	free(old);
	if (keep) {
		__atomic_store_n(&n_previous, in->n, __ATOMIC_SEQ_CST);
		__atomic_store_n(&previous, keep, __ATOMIC_SEQ_CST);
	}
}

static void fill(struct skeys_patch *p, unsigned k)
{
	memcpy(p->buf, k == 0 ? p->old : p->new_, p->len);
	if (k < 2)
		p->buf[0] = INT3;
}

const struct skeys_protocol skeys_protocol_threads = {
	.phases = 3,
	.fill = fill,
	.publish = publish,
	.unpublish = unpublish,
};
