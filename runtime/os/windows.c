/* SPDX-License-Identifier: MIT */
/*
 * Windows port: modules are the EXE and DLLs the loader mapped, read from
 * their in-memory PE headers; code is written through WriteProcessMemory
 * (the kernel lifts the protection for the write) or, where that is
 * refused, through VirtualProtect to PAGE_EXECUTE_READWRITE and back. Every
 * write ends with FlushInstructionCache.
 */
#define WIN32_LEAN_AND_MEAN
#include "../internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <windows.h>


size_t skeys_os_page_size(void)
{
	static size_t pg;

	if (!pg) {
		SYSTEM_INFO si;

		GetSystemInfo(&si);
		pg = si.dwPageSize;
	}
	return pg;
}

static int win_error(void)
{
	switch (GetLastError()) {
	case ERROR_ACCESS_DENIED:
	case ERROR_NOACCESS:
		return -EACCES;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return -ENOMEM;
	case ERROR_INVALID_ADDRESS:
		return -EFAULT;
	default:
		return -EIO;
	}
}

static DWORD page_prot(int prot)
{
	if (prot & PROT_EXEC)
		return (prot & PROT_WRITE) ? PAGE_EXECUTE_READWRITE : PAGE_EXECUTE_READ;
	return (prot & PROT_WRITE) ? PAGE_READWRITE : PAGE_READONLY;
}

int skeys_win_mprotect(void *addr, size_t len, int prot)
{
	DWORD old;

	if (VirtualProtect(addr, len, page_prot(prot), &old))
		return 0;
	errno = -win_error();
	return -1;
}

/* ---- modules ------------------------------------------------------------- */

int skeys_os_module_lookup(const void *addr, struct skeys_module *m)
{
	const IMAGE_DOS_HEADER *dos;
	const IMAGE_NT_HEADERS *nt;
	const IMAGE_SECTION_HEADER *sec;
	uintptr_t base;
	HMODULE h;
	WORD i;

	snprintf(m->name, sizeof(m->name), "module at %p", addr);
	if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
				       GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
			       (LPCSTR)addr, &h))
		return -ENOENT;
	base = (uintptr_t)h;
	dos = (const IMAGE_DOS_HEADER *)base;
	nt = (const IMAGE_NT_HEADERS *)(base + (uintptr_t)dos->e_lfanew);
	m->lo = base;
	m->hi = base + nt->OptionalHeader.SizeOfImage;
	m->base = UINTPTR_MAX;
	sec = IMAGE_FIRST_SECTION(nt);
	for (i = 0; i < nt->FileHeader.NumberOfSections; i++, sec++) {
		DWORD c = sec->Characteristics;
		struct skeys_segment *s;

		/*
		 * Writable data is where keys may live (their count changes):
		 * a pointer into code or read-only data is then refused as
		 * not a key, before anything is written through it.
		 */
		if ((c & IMAGE_SCN_MEM_WRITE) && !(c & IMAGE_SCN_MEM_EXECUTE)) {
			if (m->n_data == SKEYS_MAX_SEGMENTS)
				continue;
			s = &m->data[m->n_data++];
			s->prot = PROT_READ | PROT_WRITE;
		} else if (c & IMAGE_SCN_MEM_EXECUTE) {
			if (m->n_exec == SKEYS_MAX_SEGMENTS)
				continue;
			s = &m->exec[m->n_exec++];
			s->prot = PROT_READ | PROT_EXEC | ((c & IMAGE_SCN_MEM_WRITE) ? PROT_WRITE : 0);
		} else {
			continue;
		}
		s->start = base + sec->VirtualAddress;
		s->end = s->start + (sec->Misc.VirtualSize ? sec->Misc.VirtualSize
							    : sec->SizeOfRawData);
		if ((s->prot & PROT_EXEC) && s->start < m->base)
			m->base = s->start;
	}
	if (!GetModuleFileNameA(h, m->name, sizeof(m->name)))
		snprintf(m->name, sizeof(m->name), "module at %p", (void *)h);
	return 0;
}

/* ---- writing code -------------------------------------------------------- */

/* The "procmem" method here: one WriteProcessMemory per run. */
static int wpm_write(const struct skeys_patch *p, size_t n)
{
	uintptr_t lo = p[0].addr, hi = p[n - 1].addr + p[n - 1].len;
	unsigned char *buf;
	SIZE_T w = 0;
	size_t i;
	int err = 0;

	buf = malloc(2 * (hi - lo));
	if (!buf)
		return -ENOMEM;
	memcpy(buf, (const void *)lo, hi - lo);
	memcpy(buf + (hi - lo), buf, hi - lo);
	for (i = 0; i < n; i++)
		memcpy(buf + (p[i].addr - lo), p[i].buf, p[i].len);
	if (!WriteProcessMemory(GetCurrentProcess(), (void *)lo, buf, hi - lo, &w) ||
	    w != hi - lo) {
		err = w ? -EIO : win_error();
		/* A torn run must not stay: put the old bytes back. */
		if (w && !WriteProcessMemory(GetCurrentProcess(), (void *)lo, buf + (hi - lo), w,
					     NULL))
			skeys_log(SKEYS_LOG_ERROR, "short write at %p could not be undone",
				  (void *)lo);
	}
	free(buf);
	return err;
}

static int vp_write(const struct skeys_patch *p, size_t n)
{
	size_t pg = skeys_os_page_size(), i;
	uintptr_t lo = p[0].addr & ~(pg - 1);
	uintptr_t hi = (p[n - 1].addr + p[n - 1].len + pg - 1) & ~(pg - 1);
	DWORD old, ignored;
	int err = 0;

	/* Writable and executable, never writable alone: another thread may run there. */
	if (!VirtualProtect((void *)lo, hi - lo, PAGE_EXECUTE_READWRITE, &old))
		return win_error();
	for (i = 0; i < n; i++)
		memcpy((void *)p[i].addr, p[i].buf, p[i].len);
	if (!VirtualProtect((void *)lo, hi - lo, page_prot(p[0].seg->prot), &ignored)) {
		err = win_error();
		skeys_log(SKEYS_LOG_ERROR, "cannot restore protection of %p: %s", (void *)lo,
			  skeys_strerror(err));
	}
	return err;
}

int skeys_os_write_run(const struct skeys_patch *p, size_t n)
{
	uintptr_t lo = p[0].addr, hi = p[n - 1].addr + p[n - 1].len;
	int err;

	skeys_write_method_load();
	if (skeys_write_method != SKEYS_WRITE_MPROTECT) {
		err = wpm_write(p, n);
		if (!err || skeys_write_method == SKEYS_WRITE_PROCMEM)
			goto out;
		skeys_log(SKEYS_LOG_INFO,
			  "WriteProcessMemory refused (%s): using VirtualProtect from now on",
			  skeys_strerror(err));
		skeys_write_method = SKEYS_WRITE_MPROTECT;
	}
	err = vp_write(p, n);
out:
	if (!err)
		FlushInstructionCache(GetCurrentProcess(), (void *)lo, hi - lo);
	return err;
}

/* ---- threads ------------------------------------------------------------- */

/*
 * Windows has no cross-thread patching protocol yet (README): sites are
 * rewritten with one write each, as in a one-thread process, and other
 * processors are made to drain their write buffers after each batch.
 */
bool skeys_os_single_threaded(void)
{
	return false;
}

int skeys_os_sync_cores(void)
{
	FlushProcessWriteBuffers();
	return 0;
}
