/* SPDX-License-Identifier: MIT */
/*
 * Linux port (any ELF system with dl_iterate_phdr): modules and the runtime
 * notes of other copies from the loader's program headers, direct writes
 * through /proc/self/mem, mprotect, membarrier (or a signal to each thread
 * where it is missing) and a SIGTRAP handler for the x86 protocol.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include "../internal.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static int mem_fd = -1;
static bool atfork_done;

size_t skeys_os_page_size(void)
{
	static size_t pg;

	if (!pg)
		pg = (size_t)sysconf(_SC_PAGESIZE);
	return pg;
}

/* ---- modules ------------------------------------------------------------- */

struct lookup {
	uintptr_t addr;
	struct skeys_module *m;
	bool found;
};

static int prot_of(unsigned pflags)
{
	return ((pflags & PF_R) ? SKEYS_PROT_READ : 0) | ((pflags & PF_W) ? SKEYS_PROT_WRITE : 0) |
	       ((pflags & PF_X) ? SKEYS_PROT_EXEC : 0);
}

#ifdef __aarch64__
#ifndef PT_GNU_PROPERTY
#define PT_GNU_PROPERTY 0x6474e553
#endif
#ifndef PROT_BTI
#define PROT_BTI 0x10
#endif
#ifndef HWCAP2_BTI
#define HWCAP2_BTI (1 << 17)
#endif

/*
 * The module's code is BTI-guarded: it is marked so (its PT_GNU_PROPERTY
 * note's GNU_PROPERTY_AARCH64_FEATURE_1_AND has BTI) and the CPU has BTI,
 * which is when the kernel (the program, the loader) and glibc's loader
 * (libraries) map it PROT_BTI.
 */
static bool bti_guarded(const struct dl_phdr_info *info)
{
	int i;

	if (!(getauxval(AT_HWCAP2) & HWCAP2_BTI))
		return false;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint32_t *n = (const uint32_t *)(info->dlpi_addr + ph->p_vaddr);
		size_t off;

		/* One note: name "GNU", type NT_GNU_PROPERTY_TYPE_0, properties of 8-aligned size. */
		if (ph->p_type != PT_GNU_PROPERTY || ph->p_memsz < 16 || n[0] != 4 || n[2] != 5 ||
		    memcmp(&n[3], "GNU", 4) || n[1] > ph->p_memsz - 16)
			continue;
		for (off = 0; off + 8 <= n[1];) {
			const uint32_t *pr = (const uint32_t *)((const char *)&n[4] + off);

			if (pr[0] == 0xc0000000u && pr[1] >= 4 && off + 12 <= n[1])
				return pr[2] & 1; /* GNU_PROPERTY_AARCH64_FEATURE_1_BTI */
			off += 8 + ((pr[1] + 7) & ~7u);
		}
	}
	return false;
}
#endif

static bool maps(const struct dl_phdr_info *info, uintptr_t addr)
{
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && addr >= s && addr < s + ph->p_memsz)
			return true;
	}
	return false;
}

static int lookup_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct lookup *l = data;
	struct skeys_module *m = l->m;
	int i;

	if (!maps(info, l->addr))
		return 0;
	m->base = m->lo = UINTPTR_MAX;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_GNU_RELRO) {
			m->relro_lo = s;
			m->relro_hi = s + ph->p_memsz;
		}
		if (ph->p_type != PT_LOAD)
			continue;
		if (s < m->lo)
			m->lo = s;
		if (s + ph->p_memsz > m->hi)
			m->hi = s + ph->p_memsz;
		if ((ph->p_flags & PF_W) && m->n_data < SKEYS_MAX_SEGMENTS) {
			m->data[m->n_data].start = s;
			m->data[m->n_data].end = s + ph->p_memsz;
			m->data[m->n_data++].prot = prot_of(ph->p_flags);
		}
		if (!(ph->p_flags & PF_X) || m->n_exec == SKEYS_MAX_SEGMENTS)
			continue;
		m->exec[m->n_exec].start = info->dlpi_addr + ph->p_vaddr;
		m->exec[m->n_exec].end = m->exec[m->n_exec].start + ph->p_memsz;
		m->exec[m->n_exec].prot = prot_of(ph->p_flags);
#ifdef __aarch64__
		if (bti_guarded(info))
			m->exec[m->n_exec].prot |= SKEYS_PROT_BTI;
#endif
		if (m->exec[m->n_exec].start < m->base)
			m->base = m->exec[m->n_exec].start;
		m->n_exec++;
	}
	/* The program has no name here: the path it was started by (logs name it). */
	m->program = !info->dlpi_name || !info->dlpi_name[0];
	if (m->program && getauxval(AT_EXECFN))
		snprintf(m->name, sizeof(m->name), "%s", (const char *)getauxval(AT_EXECFN));
	else
		snprintf(m->name, sizeof(m->name), "%s",
			 m->program ? "main program" : info->dlpi_name);
	l->found = true;
	return 1;
}

int skeys_os_module_lookup(const void *addr, struct skeys_module *m)
{
	struct lookup l = { .addr = (uintptr_t)addr, .m = m };

	snprintf(m->name, sizeof(m->name), "module at %p", addr);
	dl_iterate_phdr(lookup_cb, &l);
	return l.found ? 0 : -ENOENT;
}

/* ---- writing code -------------------------------------------------------- */

static void reset_mem_fd(void)
{
	/* A child's inherited descriptor still writes into the parent. */
	if (mem_fd >= 0)
		close(mem_fd);
	mem_fd = -1;
}

int skeys_os_write_direct(uintptr_t addr, const void *buf, size_t len, size_t *done)
{
	ssize_t w;

	*done = 0;
	if (mem_fd < 0) {
		if (!atfork_done && pthread_atfork(NULL, NULL, reset_mem_fd) == 0)
			atfork_done = true;
		mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		if (mem_fd < 0)
			return -errno;
	}
	w = pwrite(mem_fd, buf, len, (off_t)addr);
	if (w >= 0 && (size_t)w == len)
		return 0;
	if (w > 0)
		*done = (size_t)w;
	/* Refused: keep no descriptor open that is not used. */
	reset_mem_fd();
	return w < 0 ? -errno : -EIO;
}

static int mprot(int prot)
{
	return ((prot & SKEYS_PROT_READ) ? PROT_READ : 0) |
	       ((prot & SKEYS_PROT_WRITE) ? PROT_WRITE : 0) |
	       ((prot & SKEYS_PROT_EXEC) ? PROT_EXEC : 0) |
#ifdef __aarch64__
	       ((prot & SKEYS_PROT_BTI) ? PROT_BTI : 0) |
#endif
	       0;
}

int skeys_os_protect(uintptr_t start, size_t len, int prot)
{
	return mprotect((void *)start, len, mprot(prot)) ? -errno : 0;
}

bool skeys_os_wx_exclusive(void)
{
	return false;
}

void skeys_os_flush_icache(uintptr_t start, size_t len)
{
	__builtin___clear_cache((char *)start, (char *)(start + len));
}

/* ---- threads ------------------------------------------------------------- */

/* exit() runs destructors with every thread still there to release its locks. */
bool skeys_os_exiting(void)
{
	return false;
}

bool skeys_os_single_threaded(void)
{
	return __libc_single_threaded;
}

#if defined(__x86_64__) || defined(__i386__)
/*
 * The x86 protocol's trap handler (runtime/arch/x86.c). It must stay
 * installed: a process whose threads block SIGTRAP, or that replaces the
 * handler while a toggle runs, is not supported.
 */
#if defined(__x86_64__)
#define IP_REG REG_RIP
#else
#define IP_REG REG_EIP
#endif

static struct sigaction chained;
static bool trap_installed;

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
	uintptr_t resume;

	/*
	 * SI_KERNEL: an int3 ran (TRAP_BRKPT under valgrind, which may run an
	 * int3 of a translation made before the byte changed, until the
	 * runtime has it discarded).
	 */
	if (skeys_x86_trap((uintptr_t)uc->uc_mcontext.gregs[IP_REG],
			   si->si_code == SI_KERNEL || si->si_code == TRAP_BRKPT, &resume))
		uc->uc_mcontext.gregs[IP_REG] = (greg_t)resume;
	else
		chain(sig, si, ucv);
}

int skeys_os_trap_install(void)
{
	struct sigaction sa, now;

	if (trap_installed && sigaction(SIGTRAP, NULL, &now) == 0 &&
	    (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_trap)
		return 0;
	/* First time, or someone replaced ours: chain to whatever is there now. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	/*
	 * SA_NODEFER: a signal handler that interrupts this one may meet another
	 * site of the batch, and a trap while SIGTRAP is blocked kills the
	 * process. on_trap is reentrant: it only reads the published batch.
	 */
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, &chained))
		return -errno;
	if (trap_installed)
		skeys_log(SKEYS_LOG_WARN, "SIGTRAP handler was replaced: reinstalled, chaining to the new one");
	trap_installed = true;
	return 0;
}
#endif

static int membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

/*
 * Without membarrier: signal every other thread and wait until each has run
 * a serialising instruction in the handler (or is gone). Slower, and it
 * takes a real-time signal (SKEYS_SYNC_SIGNAL, default SIGRTMAX - 1) that
 * the application must leave to us and not block.
 */
#define MAX_SYNC_THREADS 4096

static pid_t sync_tids[MAX_SYNC_THREADS];
static unsigned char sync_acked[MAX_SYNC_THREADS];
static size_t sync_n;

static void on_sync_signal(int sig)
{
	pid_t me = (pid_t)syscall(SYS_gettid);
	size_t i;

	(void)sig;
	skeys_arch_serialise();
	for (i = 0; i < __atomic_load_n(&sync_n, __ATOMIC_ACQUIRE); i++)
		if (sync_tids[i] == me)
			__atomic_store_n(&sync_acked[i], 1, __ATOMIC_RELEASE);
}

static int sync_signal(void)
{
	const char *env = getenv("SKEYS_SYNC_SIGNAL");

	long sig = env ? strtol(env, NULL, 10) : 0;

	return sig > 0 && sig <= SIGRTMAX ? (int)sig : SIGRTMAX - 1;
}

static int sync_by_signals(void)
{
	static bool installed;
	int sig = sync_signal();
	pid_t pid = getpid(), self = (pid_t)syscall(SYS_gettid);
	DIR *d;
	struct dirent *e;
	size_t i, n = 0;
	int spins;

	if (!installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sync_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(sig, &sa, NULL))
			return -errno;
		installed = true;
	}
	d = opendir("/proc/self/task");
	if (!d) {
		int err = -errno;

		/* No other way to find every thread: a documented limit (README). */
		skeys_log(SKEYS_LOG_ERROR, "no membarrier, and /proc/self/task cannot be read "
					   "(%s) to find the other threads: mount /proc or allow "
					   "membarrier", strerror(-err));
		return err;
	}
	__atomic_store_n(&sync_n, 0, __ATOMIC_RELEASE);
	while ((e = readdir(d)) != NULL && n < MAX_SYNC_THREADS) {
		pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);

		if (tid > 0 && tid != self) {
			sync_tids[n] = tid;
			sync_acked[n++] = 0;
		}
	}
	closedir(d);
	if (e) /* more threads than we can track */
		return -E2BIG;
	__atomic_store_n(&sync_n, n, __ATOMIC_RELEASE);
	for (i = 0; i < n; i++)
		if (syscall(SYS_tgkill, pid, sync_tids[i], sig) && errno == ESRCH)
			sync_acked[i] = 1; /* exited: nothing to serialise */
	skeys_arch_serialise();
	/* A thread that never acknowledges has exited, or blocks the signal. */
	for (spins = 0; spins < 20000; spins++) {
		size_t waiting = 0;

		for (i = 0; i < n; i++)
			if (!__atomic_load_n(&sync_acked[i], __ATOMIC_ACQUIRE) &&
			    (syscall(SYS_tgkill, pid, sync_tids[i], 0) == 0 || errno != ESRCH))
				waiting++;
		if (!waiting)
			return 0;
		usleep(20); /* let the signalled threads run */
	}
	skeys_log(SKEYS_LOG_ERROR, "a thread did not answer signal %d: is it blocked?", sig);
	return -ETIMEDOUT;
}

int skeys_os_sync_cores(void)
{
	static int cmd; /* 0 until registered, -1 when signals are used */
	const char *force = getenv("SKEYS_SYNC");

	if (!cmd && force && !strcmp(force, "signals"))
		cmd = -1;
	if (!cmd) {
		if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0) {
			cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE;
		} else {
			cmd = -1;
			skeys_log(SKEYS_LOG_WARN, "membarrier SYNC_CORE unavailable (%s): "
						  "synchronising threads with signal %d",
				  strerror(errno), sync_signal());
		}
	}
	if (cmd < 0)
		return sync_by_signals();
	return membarrier(cmd) ? -errno : 0;
}

/* ---- copies of the runtime ------------------------------------------------ */

/* The note: name "skeys", a 32-bit offset from the descriptor to skeys__runtime. */
__asm__(".pushsection .note.skeys.runtime,\"a\",%note\n\t"
	".balign 4\n\t"
	".long 6, 4, " SKEYS__STR(SKEYS_RUNTIME_MAGIC) "\n\t"
	".asciz \"skeys\"\n\t"
	".balign 4\n\t"
	".hidden skeys__runtime_note\n\t"
	".globl skeys__runtime_note\n\t"
	"skeys__runtime_note:\n\t"
	".long skeys__runtime - .\n\t"
	".popsection\n");
extern const int32_t skeys__runtime_note __attribute__((visibility("hidden")));

struct search {
	bool (*accept)(struct skeys_runtime *rt);
	struct skeys_runtime *found;
	const char *path; /* the file of the module holding `found` ("" for the executable) */
};

/* Set by skeys_os_runtime_find(), read by skeys_os_runtime_pin(). */
static const char *leader_path;

static void scan_notes(const char *p, size_t len, struct search *s)
{
	while (len >= 12 && !s->found) {
		uint32_t namesz, descsz, type;
		size_t name_al, desc_al, total;

		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		name_al = (namesz + 3u) & ~3u;
		desc_al = (descsz + 3u) & ~3u;
		total = 12 + name_al + desc_al;
		if (total > len || name_al < namesz || desc_al < descsz)
			return;
		if (type == SKEYS_RUNTIME_MAGIC && namesz == 6 && !memcmp(p + 12, "skeys", 6) &&
		    descsz == 4) {
			const char *desc = p + 12 + name_al;
			int32_t rel;
			struct skeys_runtime *rt;

			memcpy(&rel, desc, 4);
			rt = (struct skeys_runtime *)(uintptr_t)(desc + rel);
			if (s->accept(rt))
				s->found = rt;
		}
		p += total;
		len -= total;
	}
}

static int find_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct search *s = data;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum && !s->found; i++)
		if (info->dlpi_phdr[i].p_type == PT_NOTE)
			scan_notes((const char *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr),
				   info->dlpi_phdr[i].p_memsz, s);
	if (s->found)
		s->path = info->dlpi_name;
	return s->found != NULL;
}

struct skeys_runtime *skeys_os_runtime_find(bool (*accept)(struct skeys_runtime *rt))
{
	struct search s = { accept, NULL, NULL };

	/* Runs first in a module constructor, under the dynamic loader's lock. */
	(void)*(volatile const int32_t *)&skeys__runtime_note;
	dl_iterate_phdr(find_cb, &s);
	leader_path = s.path;
	return s.found;
}

/*
 * dlopen is looked up, never named: glibc's static dlopen carries a
 * link-time warning for every object that names it, and a fully static
 * program (`cc -static ... $(pkg-config --static --libs skeys)`) must link
 * under -Wl,--fatal-warnings (install@pkg-config-static). There the
 * executable's copy leads and nothing is pinned.
 */
typedef void *skeys_dlopen_fn(const char *file, int mode);

void skeys_os_runtime_pin(const struct skeys_runtime *rt)
{
	skeys_dlopen_fn *open_module;
	void *sym;

	(void)rt;
	if (!leader_path || !leader_path[0]) /* the executable is never unloaded */
		return;
	sym = dlsym(RTLD_DEFAULT, "dlopen");
	memcpy(&open_module, &sym, sizeof(sym)); /* ISO C has no object-to-function cast */
	if (!open_module || !open_module(leader_path, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE))
		skeys_log(SKEYS_LOG_WARN, "cannot pin the skeys runtime in %s", leader_path);
}
