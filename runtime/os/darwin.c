/* SPDX-License-Identifier: MIT */
/*
 * macOS port: modules from their in-memory Mach-O headers (dladdr finds the
 * image holding the module header), protection changed with
 * mach_vm_protect, with VM_PROT_COPY when it makes code writable (a private
 * copy of the page, as debuggers do), and the instruction cache
 * invalidated. There is no direct write.
 *
 * Apple silicon never maps a page writable and executable at once outside
 * MAP_JIT, so on arm64 a page is read-write (not executable) during the
 * write: another thread running code in that page then faults. Toggle keys
 * while such threads are quiescent there.
 *
 * Built and type-checked for x86_64 and arm64 macOS in the test suite; not
 * yet run on macOS.
 */
#include "../internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <libkern/OSCacheControl.h>
#include <mach-o/loader.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


size_t skeys_os_page_size(void)
{
	static size_t pg;

	if (!pg)
		pg = (size_t)sysconf(_SC_PAGESIZE);
	return pg;
}

/* ---- modules ------------------------------------------------------------- */

static int prot_of(vm_prot_t p)
{
	return ((p & VM_PROT_READ) ? SKEYS_PROT_READ : 0) |
	       ((p & VM_PROT_WRITE) ? SKEYS_PROT_WRITE : 0) |
	       ((p & VM_PROT_EXECUTE) ? SKEYS_PROT_EXEC : 0);
}

int skeys_os_module_lookup(const void *addr, struct skeys_module *m)
{
	const struct mach_header_64 *mh;
	const struct load_command *lc;
	uintptr_t slide = 0;
	bool have_slide = false;
	Dl_info info;
	uint32_t i;

	snprintf(m->name, sizeof(m->name), "module at %p", addr);
	if (!dladdr(addr, &info) || !info.dli_fbase)
		return -ENOENT;
	mh = info.dli_fbase;
	if (mh->magic != MH_MAGIC_64)
		return -ENOEXEC;
	m->base = m->lo = UINTPTR_MAX;
	m->hi = 0;
	/* The header is mapped at the start of __TEXT: that gives the slide. */
	lc = (const struct load_command *)(mh + 1);
	for (i = 0; i < mh->ncmds; i++) {
		const struct segment_command_64 *seg = (const struct segment_command_64 *)lc;

		if (lc->cmd == LC_SEGMENT_64 && seg->fileoff == 0 && seg->filesize) {
			slide = (uintptr_t)mh - (uintptr_t)seg->vmaddr;
			have_slide = true;
		}
		lc = (const struct load_command *)((const char *)lc + lc->cmdsize);
	}
	if (!have_slide)
		return -ENOEXEC;
	lc = (const struct load_command *)(mh + 1);
	for (i = 0; i < mh->ncmds; i++) {
		const struct segment_command_64 *seg = (const struct segment_command_64 *)lc;
		uintptr_t s, e;

		lc = (const struct load_command *)((const char *)lc + lc->cmdsize);
		if (seg->cmd != LC_SEGMENT_64 || seg->initprot == VM_PROT_NONE)
			continue; /* __PAGEZERO */
		s = (uintptr_t)seg->vmaddr + slide;
		e = s + (uintptr_t)seg->vmsize;
		if (s < m->lo)
			m->lo = s;
		if (e > m->hi)
			m->hi = e;
		if (!(seg->initprot & VM_PROT_EXECUTE) || m->n_exec == SKEYS_MAX_SEGMENTS)
			continue;
		m->exec[m->n_exec].start = s;
		m->exec[m->n_exec].end = e;
		m->exec[m->n_exec].prot = prot_of(seg->initprot);
		if (s < m->base)
			m->base = s;
		m->n_exec++;
	}
	m->program = mh->filetype == 2; /* MH_EXECUTE */
	snprintf(m->name, sizeof(m->name), "%s", info.dli_fname ? info.dli_fname : "image");
	return 0;
}

/* ---- writing code -------------------------------------------------------- */

static int kern_error(kern_return_t kr)
{
	switch (kr) {
	case KERN_PROTECTION_FAILURE:
		return -EACCES;
	case KERN_INVALID_ADDRESS:
		return -EFAULT;
	case KERN_RESOURCE_SHORTAGE:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static vm_prot_t vm_prot(int prot)
{
	return ((prot & SKEYS_PROT_READ) ? VM_PROT_READ : 0) |
	       ((prot & SKEYS_PROT_WRITE) ? VM_PROT_WRITE | VM_PROT_COPY : 0) |
	       ((prot & SKEYS_PROT_EXEC) ? VM_PROT_EXECUTE : 0);
}

int skeys_os_protect(uintptr_t start, size_t len, int prot)
{
	kern_return_t kr = mach_vm_protect(mach_task_self(), start, len, FALSE, vm_prot(prot));

	return kr == KERN_SUCCESS ? 0 : kern_error(kr);
}

int skeys_os_write_direct(uintptr_t addr, const void *buf, size_t len, size_t *done)
{
	(void)addr;
	(void)buf;
	(void)len;
	*done = 0;
	return -ENOSYS;
}

bool skeys_os_wx_exclusive(void)
{
#if defined(__aarch64__) || defined(__arm64__)
	return true;
#else
	return false;
#endif
}

void skeys_os_flush_icache(uintptr_t start, size_t len)
{
	sys_icache_invalidate((void *)start, len);
}

/* ---- threads ------------------------------------------------------------- */

/*
 * Darwin has no cross-thread patching protocol yet (README): sites are
 * rewritten with one write each; sys_icache_invalidate after each write is
 * the only synchronisation.
 */
bool skeys_os_single_threaded(void)
{
	return false;
}

/* exit() runs destructors with every thread still there to release its locks. */
bool skeys_os_exiting(void)
{
	return false;
}

int skeys_os_sync_cores(void)
{
	__sync_synchronize();
	return 0;
}

/* ---- copies of the runtime ------------------------------------------------ */

/* Not yet: every copy keeps to itself (README). */
struct skeys_runtime *skeys_os_runtime_find(bool (*accept)(struct skeys_runtime *rt))
{
	(void)accept;
	return NULL;
}

void skeys_os_runtime_pin(const struct skeys_runtime *rt)
{
	(void)rt;
}
