/* SPDX-License-Identifier: MIT */
/*
 * Windows port: modules are the EXE and DLLs the loader mapped, read from
 * their in-memory PE headers; code is written through WriteProcessMemory
 * (the kernel lifts the protection for the write) or, where that is
 * refused, through VirtualProtect to PAGE_EXECUTE_READWRITE and back. Every
 * write ends with FlushInstructionCache. With other threads, x86 sites go
 * through the int3 protocol of runtime/arch/x86.c, with a vectored
 * exception handler for the traps.
 */
#define WIN32_LEAN_AND_MEAN
#include "../internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include <psapi.h>


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
	if (prot & SKEYS_PROT_EXEC)
		return (prot & SKEYS_PROT_WRITE) ? PAGE_EXECUTE_READWRITE : PAGE_EXECUTE_READ;
	return (prot & SKEYS_PROT_WRITE) ? PAGE_READWRITE : PAGE_READONLY;
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
			s->prot = SKEYS_PROT_READ | SKEYS_PROT_WRITE;
		} else if (c & IMAGE_SCN_MEM_EXECUTE) {
			if (m->n_exec == SKEYS_MAX_SEGMENTS)
				continue;
			s = &m->exec[m->n_exec++];
			s->prot = SKEYS_PROT_READ | SKEYS_PROT_EXEC |
				  ((c & IMAGE_SCN_MEM_WRITE) ? SKEYS_PROT_WRITE : 0);
		} else {
			continue;
		}
		s->start = base + sec->VirtualAddress;
		s->end = s->start + (sec->Misc.VirtualSize ? sec->Misc.VirtualSize
							    : sec->SizeOfRawData);
		if ((s->prot & SKEYS_PROT_EXEC) && s->start < m->base)
			m->base = s->start;
	}
	m->program = h == GetModuleHandleA(NULL);
	if (!GetModuleFileNameA(h, m->name, sizeof(m->name)))
		snprintf(m->name, sizeof(m->name), "module at %p", (void *)h);
	return 0;
}

/* ---- writing code -------------------------------------------------------- */

/* The kernel lifts the protection for the write. */
int skeys_os_write_direct(uintptr_t addr, const void *buf, size_t len, size_t *done)
{
	SIZE_T w = 0;

	*done = 0;
	if (WriteProcessMemory(GetCurrentProcess(), (void *)addr, buf, len, &w) && w == len)
		return 0;
	*done = w;
	return w ? -EIO : win_error();
}

int skeys_os_protect(uintptr_t start, size_t len, int prot)
{
	DWORD old;

	return VirtualProtect((void *)start, len, page_prot(prot), &old) ? 0 : win_error();
}

bool skeys_os_wx_exclusive(void)
{
	return false;
}

/* What Windows documents for code written at run time (x86: nothing to flush). */
void skeys_os_flush_icache(uintptr_t start, size_t len)
{
	FlushInstructionCache(GetCurrentProcess(), (void *)start, len);
}

/* No asynchronous signals: nothing interrupts a thread's stores with code of its own. */
void skeys_os_signals_hold(void)
{
}

void skeys_os_signals_release(void)
{
}

/* No fork(). */
int skeys_os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	(void)prepare;
	(void)parent;
	(void)child;
	return 0;
}

/* ---- threads ------------------------------------------------------------- */

/*
 * One thread when the kernel says this thread is the process's last one
 * (ThreadAmILastThread, which wine implements as well). Nothing else can
 * then run a site while we write: only this thread could start another.
 * Threads that another process injects (CreateRemoteThread, a debugger's
 * break-in thread) and that run our sites are not supported. Where the
 * query fails the process is taken to have threads, which is always safe.
 */
typedef LONG(WINAPI *query_thread_fn)(HANDLE, ULONG, void *, ULONG, ULONG *);
enum { THREAD_AM_I_LAST_THREAD = 12 };

static query_thread_fn query_thread;
static BOOLEAN(WINAPI *shutdown_in_progress)(void);

/*
 * Both looked up while the runtime's module is being loaded, never later: the
 * lookup takes the loader lock, and a switch holds skeys_lock, which a
 * module constructor takes under the loader lock (LoadLibrary of a module
 * with sites while another thread switches a key would deadlock).
 */
__attribute__((constructor)) static void find_ntdll_calls(void)
{
	HMODULE ntdll = GetModuleHandleA("ntdll.dll");

	if (!ntdll)
		return;
	query_thread = (query_thread_fn)(void (*)(void))GetProcAddress(
		ntdll, "NtQueryInformationThread");
	shutdown_in_progress = (BOOLEAN(WINAPI *)(void))(void (*)(void))GetProcAddress(
		ntdll, "RtlDllShutdownInProgress");
}

/*
 * ExitProcess ends every other thread, then runs the DLLs' destructors
 * (DLL_PROCESS_DETACH), ours included: a thread ended in the middle of a
 * switch never releases skeys_lock.
 */
bool skeys_os_exiting(void)
{
	return shutdown_in_progress && shutdown_in_progress();
}

bool skeys_os_single_threaded(void)
{
	ULONG last = 0;

	return query_thread &&
	       query_thread(GetCurrentThread(), THREAD_AM_I_LAST_THREAD, &last, sizeof(last),
			    NULL) == 0 &&
	       last;
}

/*
 * Serialise every processor running a thread of the process.
 *
 * FlushProcessWriteBuffers interrupts every such processor (an IPI; x86
 * serialises on the return from the interrupt), which is what the kernel's
 * own text patching does with its IPIs. Wine 8 implements it as an empty
 * stub, so the runtime also drops the write permission of a page of its
 * own that it has just written: the kernel must then flush that page from
 * the TLB of every processor the process runs on, again with an IPI (on
 * Windows, and under wine, whose VirtualProtect is an mprotect on Linux).
 * A thread that was in the kernel when the IPI came returns to the site
 * without a serialising instruction, as with Linux's membarrier without
 * SYNC_CORE; it cannot hold stale instruction bytes across a kernel entry.
 * FlushInstructionCache is what Windows documents for code written at run
 * time; on x86 it flushes nothing, the instruction cache being coherent.
 */
int skeys_os_sync_cores(void)
{
	static volatile char *page;
	size_t pg = skeys_os_page_size();
	DWORD old;
	int err = 0;

	FlushProcessWriteBuffers();
	if (!page) {
		page = VirtualAlloc(NULL, pg, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
		if (!page)
			return win_error();
	}
	page[0]++; /* present and dirty, so that taking write away must flush it */
	if (!VirtualProtect((void *)page, pg, PAGE_READONLY, &old) ||
	    !VirtualProtect((void *)page, pg, PAGE_READWRITE, &old))
		err = win_error();
	FlushInstructionCache(GetCurrentProcess(), NULL, 0);
	return err;
}

#if defined(__x86_64__) || defined(__i386__)
/*
 * The x86 protocol's trap handler (runtime/arch/x86.c): a vectored
 * exception handler, first in the chain, so that an application's vectored
 * handler cannot step over one of our int3 by mistake. Every breakpoint
 * that is not ours goes on down the chain (EXCEPTION_CONTINUE_SEARCH) to
 * the application's vectored and frame handlers; a debugger sees each
 * breakpoint before any handler, ours included.
 */
#if defined(__x86_64__)
#define IP(c) ((c)->Rip)
#else
#define IP(c) ((c)->Eip)
#endif

static void *trap_handler;

static LONG CALLBACK on_breakpoint(EXCEPTION_POINTERS *ep)
{
	const EXCEPTION_RECORD *r = ep->ExceptionRecord;
	CONTEXT *c = ep->ContextRecord;
	uintptr_t site = (uintptr_t)r->ExceptionAddress, resume;
	bool int3;

	if (r->ExceptionCode != EXCEPTION_BREAKPOINT)
		return EXCEPTION_CONTINUE_SEARCH;
	/*
	 * For an int3, Windows x64 and wine 8 report both ExceptionAddress and
	 * the context's instruction pointer at the int3 itself (measured under
	 * wine; it is what debuggers rely on when they step over __debugbreak).
	 * Take ExceptionAddress, and leave alone a breakpoint whose context is
	 * neither there nor one byte past it: then it is not an int3 we know.
	 * The protocol takes the address past the int3, where the CPU left it.
	 * An int3 that ran carries one parameter, 0 (BREAKPOINT_BREAK);
	 * RaiseException() without parameters carries none.
	 */
	if (IP(c) != site && IP(c) != site + 1)
		return EXCEPTION_CONTINUE_SEARCH;
	int3 = r->NumberParameters == 1 && r->ExceptionInformation[0] == 0;
	if (!skeys_x86_trap(site + 1, int3, &resume))
		return EXCEPTION_CONTINUE_SEARCH;
	IP(c) = resume;
	return EXCEPTION_CONTINUE_EXECUTION;
}

int skeys_os_trap_install(void)
{
	if (trap_handler)
		return 0;
	trap_handler = AddVectoredExceptionHandler(1, on_breakpoint);
	return trap_handler ? 0 : -ENOMEM;
}

/* A DLL of the runtime that is unloaded must not leave its handler behind. */
__attribute__((destructor)) static void trap_uninstall(void)
{
	if (trap_handler)
		RemoveVectoredExceptionHandler(trap_handler);
	trap_handler = NULL;
}
#endif

/* ---- copies of the runtime ------------------------------------------------ */

/*
 * The mark: a section `.skeysrt` (eight characters, the most a section
 * header holds without a string table) with the magic and a 32-bit offset
 * from that field to skeys__runtime. `.long x - .` is a REL32: no base
 * relocation, the section stays read-only.
 */
__asm__(".section .skeysrt,\"dr\"\n\t"
	".balign 4\n\t"
	".globl " SKEYS__SYM(skeys__runtime_note) "\n\t"
	SKEYS__SYM(skeys__runtime_note) ":\n\t"
	".long " SKEYS__STR(SKEYS_RUNTIME_MAGIC) "\n\t"
	".long " SKEYS__SYM(skeys__runtime) " - .\n\t"
	".text\n");
extern const int32_t skeys__runtime_note;

#define NOTE_SECTION ".skeysrt"

/* The runtime the module loaded at `h` marks, if accept() takes it. */
static struct skeys_runtime *scan_module(HMODULE h, bool (*accept)(struct skeys_runtime *rt))
{
	const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)h;
	const IMAGE_NT_HEADERS *nt;
	const IMAGE_SECTION_HEADER *sec;
	WORD i;

	if (dos->e_magic != IMAGE_DOS_SIGNATURE)
		return NULL;
	nt = (const IMAGE_NT_HEADERS *)((const char *)h + dos->e_lfanew);
	if (nt->Signature != IMAGE_NT_SIGNATURE)
		return NULL;
	sec = IMAGE_FIRST_SECTION(nt);
	for (i = 0; i < nt->FileHeader.NumberOfSections; i++, sec++) {
		const char *p = (const char *)h + sec->VirtualAddress;
		struct skeys_runtime *rt;
		uint32_t magic;
		int32_t rel;

		if (memcmp(sec->Name, NOTE_SECTION, sizeof(sec->Name)) != 0 ||
		    sec->Misc.VirtualSize < 8)
			continue;
		memcpy(&magic, p, 4);
		memcpy(&rel, p + 4, 4);
		rt = (struct skeys_runtime *)(uintptr_t)(p + 4 + rel);
		if (magic == SKEYS_RUNTIME_MAGIC && accept(rt))
			return rt;
	}
	return NULL;
}

/*
 * The loader's list of modules, in load order (the EXE first). Runs first
 * in a module constructor, with the loader lock held: the list is read
 * without taking it, and skeys_os_runtime_pin() takes it again on this same
 * thread, which the loader allows.
 */
struct skeys_runtime *skeys_os_runtime_find(bool (*accept)(struct skeys_runtime *rt))
{
	struct skeys_runtime *found = NULL;
	HMODULE *all = NULL;
	DWORD need = 64 * sizeof(*all), have = 0, i;

	(void)*(volatile const int32_t *)&skeys__runtime_note;
	while (need > have) {
		HMODULE *more = realloc(all, need);

		if (!more)
			break;
		all = more;
		have = need;
		if (!K32EnumProcessModules(GetCurrentProcess(), all, have, &need)) {
			skeys_log(SKEYS_LOG_WARN, "cannot list the loaded modules (error %lu): "
						  "this copy of the runtime may not be the only one",
				  (unsigned long)GetLastError());
			need = 0;
		}
	}
	for (i = 0; i < need / sizeof(*all) && i < have / sizeof(*all) && !found; i++)
		found = scan_module(all[i], accept);
	free(all);
	return found;
}

void skeys_os_runtime_pin(const struct skeys_runtime *rt)
{
	HMODULE h;

	if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
					GET_MODULE_HANDLE_EX_FLAG_PIN,
				(LPCSTR)rt, &h))
		skeys_log(SKEYS_LOG_WARN, "cannot pin the skeys runtime at %p (error %lu)",
			  (const void *)rt, (unsigned long)GetLastError());
}
