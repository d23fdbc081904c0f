/* SPDX-License-Identifier: MIT */
/*
 * One runtime per process, however many copies are loaded. The static
 * library linked into two shared libraries gives two copies, each with its
 * own registry and lock: they would not see each other's modules (a key
 * imported across them would not be patched) and could write the same
 * pages at once. So every copy carries an ELF note pointing at its
 * `struct skeys_runtime`; the first copy to start leads, and every later
 * copy finds it through the notes of the loaded modules and forwards all
 * calls to it. The leader's module is pinned so it outlives its followers.
 * A copy of another runtime version refuses to work, and says why.
 * On PE the note is a section of its own, `.skeysrt`, found in the section
 * headers of the modules the loader lists. (Mach-O: every copy keeps to
 * itself for now.)
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <string.h>
#if defined(__ELF__)
#include <dlfcn.h>
#include <link.h>
#elif defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <stdlib.h>
#include <windows.h>
#include <psapi.h>
#endif

/* Formats where copies find each other: a note in every module. */
#if defined(__ELF__) || defined(_WIN32)
#define HAS_NOTE 1
#endif

#define RUNTIME_MAGIC 0x534b5254u /* "SKRT" */
/* Of struct skeys_runtime and struct skeys_ops; tests build copies of another. */
#ifdef SKEYS_TEST_RUNTIME_VERSION
#define RUNTIME_VERSION SKEYS_TEST_RUNTIME_VERSION
#else
#define RUNTIME_VERSION 2u /* 2: find, foreach and check_sealed */
#endif
#define NOTE_TYPE RUNTIME_MAGIC

struct skeys_ops {
	void (*registry_add)(const struct skeys_header *h);
	void (*registry_remove)(const struct skeys_header *h);
	int (*key_op)(struct skeys_key *key, enum skeys_key_op op);
	void (*log_set)(skeys_log_fn fn, void *ctx);
	int (*set_write_method)(enum skeys_write_method method);
	int (*find)(const char *name, struct skeys_key **key);
	int (*foreach)(int (*fn)(const char *name, struct skeys_key *k, void *data), void *data);
	int (*check_sealed)(void);
};

struct skeys_runtime {
	uint32_t magic;
	uint32_t version;
	struct skeys_runtime *leader; /* itself when it leads; NULL until resolved */
	const struct skeys_ops *ops;
};

static const struct skeys_ops local_ops = {
	.registry_add = skeys_registry_add,
	.registry_remove = skeys_registry_remove,
	.key_op = skeys_key_op,
	.log_set = skeys_log_set,
	.set_write_method = skeys_write_method_set,
	.find = skeys_find_impl,
	.foreach = skeys_foreach_impl,
	.check_sealed = skeys_check_sealed_impl,
};

static void refused_add(const struct skeys_header *h)
{
	(void)h;
}

static int refused_key_op(struct skeys_key *key, enum skeys_key_op op)
{
	(void)key;
	(void)op;
	return SKEYS_ERR_ABI;
}

static int refused_method(enum skeys_write_method m)
{
	(void)m;
	return SKEYS_ERR_ABI;
}

static int refused_find(const char *name, struct skeys_key **key)
{
	(void)name;
	*key = NULL;
	return SKEYS_ERR_ABI;
}

static int refused_foreach(int (*fn)(const char *name, struct skeys_key *k, void *data),
			   void *data)
{
	(void)fn;
	(void)data;
	return SKEYS_ERR_ABI;
}

static int refused_check(void)
{
	return SKEYS_ERR_ABI;
}

/* A copy that met a leader of another version: everything fails, nothing is written. */
static const struct skeys_ops refused_ops = {
	.registry_add = refused_add,
	.registry_remove = refused_add,
	.key_op = refused_key_op,
	.log_set = skeys_log_set,
	.set_write_method = refused_method,
	.find = refused_find,
	.foreach = refused_foreach,
	.check_sealed = refused_check,
};

/*
 * Named from the note's assembly on ELF and PE; private elsewhere. (A PE
 * global is not exported unless marked: each module keeps its own.)
 */
#if defined(__ELF__)
__attribute__((visibility("hidden"))) struct skeys_runtime skeys__runtime = {
#elif defined(_WIN32)
struct skeys_runtime skeys__runtime = {
#else
static struct skeys_runtime skeys__runtime = {
#endif
	RUNTIME_MAGIC, RUNTIME_VERSION, NULL, &local_ops,
};
static struct skeys_runtime refused = { RUNTIME_MAGIC, RUNTIME_VERSION, NULL, &refused_ops };

struct search {
	struct skeys_runtime *found;
};

#ifdef HAS_NOTE
/* Another copy that leads. */
static bool is_leader(struct skeys_runtime *rt)
{
	return rt != &skeys__runtime && rt->magic == RUNTIME_MAGIC &&
	       __atomic_load_n(&rt->leader, __ATOMIC_ACQUIRE) == rt;
}
#endif

#if defined(__ELF__)
/* The note: name "skeys", a 32-bit offset from the descriptor to skeys__runtime. */
__asm__(".pushsection .note.skeys.runtime,\"a\",%note\n\t"
	".balign 4\n\t"
	".long 6, 4, 0x534b5254\n\t"
	".asciz \"skeys\"\n\t"
	".balign 4\n\t"
	".hidden skeys__runtime_note\n\t"
	".globl skeys__runtime_note\n\t"
	"skeys__runtime_note:\n\t"
	".long skeys__runtime - .\n\t"
	".popsection\n");
extern const int32_t skeys__runtime_note __attribute__((visibility("hidden")));


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
		if (type == NOTE_TYPE && namesz == 6 && !memcmp(p + 12, "skeys", 6) && descsz == 4) {
			const char *desc = p + 12 + name_al;
			int32_t rel;
			struct skeys_runtime *rt;

			memcpy(&rel, desc, 4);
			rt = (struct skeys_runtime *)(uintptr_t)(desc + rel);
			if (is_leader(rt))
				s->found = rt;
		}
		p += total;
		len -= total;
	}
}

static int find_leader(struct dl_phdr_info *info, size_t size, void *data)
{
	struct search *s = data;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum && !s->found; i++)
		if (info->dlpi_phdr[i].p_type == PT_NOTE)
			scan_notes((const char *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr),
				   info->dlpi_phdr[i].p_memsz, s);
	return s->found != NULL;
}

/* The leader's module must outlive this copy: make it impossible to unload. */
static void pin(const struct skeys_runtime *rt)
{
	Dl_info info;

	if (dladdr(rt, &info) && info.dli_fname &&
	    !dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE))
		skeys_log(SKEYS_LOG_WARN, "cannot pin the skeys runtime in %s", info.dli_fname);
}

static void find_leaders(struct search *s)
{
	/* Runs first in a module constructor, under the dynamic loader's lock. */
	(void)*(volatile const int32_t *)&skeys__runtime_note;
	dl_iterate_phdr(find_leader, s);
}

#elif defined(_WIN32)
/*
 * The note: a section `.skeysrt` (eight characters, the most a section
 * header holds without a string table) with the magic and a 32-bit offset
 * from that field to skeys__runtime. `.long x - .` is a REL32: no base
 * relocation, the section stays read-only.
 */
__asm__(".section .skeysrt,\"dr\"\n\t"
	".balign 4\n\t"
	".globl " SKEYS__SYM(skeys__runtime_note) "\n\t"
	SKEYS__SYM(skeys__runtime_note) ":\n\t"
	".long 0x534b5254\n\t"
	".long " SKEYS__SYM(skeys__runtime) " - .\n\t"
	".text\n");
extern const int32_t skeys__runtime_note;

#define NOTE_SECTION ".skeysrt"

/* The leading copy in the module loaded at `h`, if any. */
static void scan_module(HMODULE h, struct search *s)
{
	const IMAGE_DOS_HEADER *dos = (const IMAGE_DOS_HEADER *)h;
	const IMAGE_NT_HEADERS *nt;
	const IMAGE_SECTION_HEADER *sec;
	WORD i;

	if (dos->e_magic != IMAGE_DOS_SIGNATURE)
		return;
	nt = (const IMAGE_NT_HEADERS *)((const char *)h + dos->e_lfanew);
	if (nt->Signature != IMAGE_NT_SIGNATURE)
		return;
	sec = IMAGE_FIRST_SECTION(nt);
	for (i = 0; i < nt->FileHeader.NumberOfSections && !s->found; i++, sec++) {
		const char *p = (const char *)h + sec->VirtualAddress;
		uint32_t magic;
		int32_t rel;

		if (memcmp(sec->Name, NOTE_SECTION, sizeof(sec->Name)) != 0 ||
		    sec->Misc.VirtualSize < 8)
			continue;
		memcpy(&magic, p, 4);
		memcpy(&rel, p + 4, 4);
		if (magic == NOTE_TYPE && is_leader((struct skeys_runtime *)(uintptr_t)(p + 4 + rel)))
			s->found = (struct skeys_runtime *)(uintptr_t)(p + 4 + rel);
	}
}

/*
 * The loader's list of modules, in load order (the EXE first). Runs first
 * in a module constructor, with the loader lock held: the list is read
 * without taking it, and pin() takes it again on this same thread, which
 * the loader allows.
 */
static void find_leaders(struct search *s)
{
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
	for (i = 0; i < need / sizeof(*all) && i < have / sizeof(*all) && !s->found; i++)
		scan_module(all[i], s);
	free(all);
}

/* The leader's module must outlive this copy: make it impossible to unload. */
static void pin(const struct skeys_runtime *rt)
{
	HMODULE h;

	if (!GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS |
					GET_MODULE_HANDLE_EX_FLAG_PIN,
				(LPCSTR)rt, &h))
		skeys_log(SKEYS_LOG_WARN, "cannot pin the skeys runtime at %p (error %lu)",
			  (const void *)rt, (unsigned long)GetLastError());
}

#endif

static struct skeys_runtime *resolve(void)
{
	struct skeys_runtime *l = __atomic_load_n(&skeys__runtime.leader, __ATOMIC_ACQUIRE);
	struct search s = { NULL };

	if (l)
		return l;
#ifdef HAS_NOTE
	find_leaders(&s);
#endif
	if (!s.found) {
		l = &skeys__runtime;
	} else if (s.found->version != RUNTIME_VERSION) {
		skeys_log(SKEYS_LOG_ERROR, "another skeys runtime (version %u, this is %u) "
					   "is loaded: this copy refuses to patch",
			  s.found->version, RUNTIME_VERSION);
		l = &refused;
	} else {
#ifdef HAS_NOTE
		pin(s.found);
#endif
		l = s.found;
	}
	__atomic_store_n(&skeys__runtime.leader, l, __ATOMIC_RELEASE);
	return l;
}

static const struct skeys_ops *ops(void)
{
	return resolve()->ops;
}

/* ---- the public entry points ---------------------------------------------- */

SKEYS_API void skeys_module_register(const struct skeys_header *h)
{
	ops()->registry_add(h);
}

SKEYS_API void skeys_module_unregister(const struct skeys_header *h)
{
	ops()->registry_remove(h);
}

SKEYS_API int skeys_key_enable(struct skeys_key *key)
{
	return ops()->key_op(key, SKEYS_OP_ENABLE);
}

SKEYS_API int skeys_key_disable(struct skeys_key *key)
{
	return ops()->key_op(key, SKEYS_OP_DISABLE);
}

SKEYS_API int skeys_key_inc(struct skeys_key *key)
{
	return ops()->key_op(key, SKEYS_OP_INC);
}

SKEYS_API int skeys_key_dec(struct skeys_key *key)
{
	return ops()->key_op(key, SKEYS_OP_DEC);
}

SKEYS_API void skeys_set_log(skeys_log_fn fn, void *ctx)
{
	ops()->log_set(fn, ctx);
}

SKEYS_API int skeys_set_write_method(enum skeys_write_method method)
{
	return ops()->set_write_method(method);
}

SKEYS_API struct skeys_key *skeys_find(const char *name)
{
	struct skeys_key *key;

	ops()->find(name, &key);
	return key;
}

SKEYS_API int skeys_foreach(int (*fn)(const char *name, struct skeys_key *k, void *data),
			    void *data)
{
	return ops()->foreach(fn, data);
}

SKEYS_API int skeys_check_sealed(void)
{
	return ops()->check_sealed();
}
