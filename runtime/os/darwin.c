/* SPDX-License-Identifier: MIT */
/*
 * macOS port: modules from their in-memory Mach-O headers (dladdr finds the
 * image holding the module header), code made writable with mach_vm_protect
 * and VM_PROT_COPY (a private copy of the page, as debuggers do), written,
 * protected again, and the instruction cache invalidated.
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
#include <sys/mman.h>
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
	return ((p & VM_PROT_READ) ? PROT_READ : 0) | ((p & VM_PROT_WRITE) ? PROT_WRITE : 0) |
	       ((p & VM_PROT_EXECUTE) ? PROT_EXEC : 0);
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
	return ((prot & PROT_READ) ? VM_PROT_READ : 0) |
	       ((prot & PROT_WRITE) ? VM_PROT_WRITE : 0) |
	       ((prot & PROT_EXEC) ? VM_PROT_EXECUTE : 0);
}

int skeys_os_write_run(const struct skeys_patch *p, size_t n)
{
	size_t pg = skeys_os_page_size(), i;
	uintptr_t lo = p[0].addr & ~(pg - 1);
	uintptr_t hi = (p[n - 1].addr + p[n - 1].len + pg - 1) & ~(pg - 1);
	/* Apple silicon refuses writable and executable together (see the top). */
#if defined(__aarch64__) || defined(__arm64__)
	vm_prot_t during = VM_PROT_READ | VM_PROT_WRITE | VM_PROT_COPY;
#else
	vm_prot_t during = VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE | VM_PROT_COPY;
#endif
	kern_return_t kr;
	int err = 0;

	skeys_write_method_load();
	if (skeys_write_method == SKEYS_WRITE_PROCMEM)
		return -ENOSYS;
	kr = mach_vm_protect(mach_task_self(), lo, hi - lo, FALSE, during);
	if (kr != KERN_SUCCESS)
		return kern_error(kr);
	for (i = 0; i < n; i++)
		memcpy((void *)p[i].addr, p[i].buf, p[i].len);
	kr = mach_vm_protect(mach_task_self(), lo, hi - lo, FALSE, vm_prot(p[0].seg->prot));
	if (kr != KERN_SUCCESS) {
		err = kern_error(kr);
		skeys_log(SKEYS_LOG_ERROR, "cannot restore protection of %p: %s", (void *)lo,
			  skeys_strerror(err));
	}
	sys_icache_invalidate((void *)p[0].addr, p[n - 1].addr + p[n - 1].len - p[0].addr);
	return err;
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
