/* SPDX-License-Identifier: MIT */
/* Runtime internals shared by registry.c, patch.c and the OS port. */
#ifndef SKEYS_RUNTIME_INTERNAL_H
#define SKEYS_RUNTIME_INTERNAL_H

#define SKEYS_NO_MODULE 1 /* the runtime has no sites of its own */
#include <skeys.h>

#include "arch.h"
#include "table.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define SKEYS_API __declspec(dllexport)
#else
#define SKEYS_API __attribute__((visibility("default")))
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define SKEYS_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define SKEYS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

#define SKEYS_MAX_SEGMENTS 8

/* An executable segment of a module, as mapped. */
struct skeys_segment {
	uintptr_t start;
	uintptr_t end;
	int prot; /* PROT_* it has outside of a write */
};

enum skeys_module_state {
	SKEYS_MODULE_OK,       /* sealed and usable */
	SKEYS_MODULE_UNSEALED, /* skeys-seal never ran: its keys cannot be toggled */
	SKEYS_MODULE_BAD,      /* header of another ABI or architecture */
};

struct skeys_module {
	const struct skeys_header *header;
	const struct skeys_entry *entries;
	size_t count;
	enum skeys_module_state state;
	int checksum; /* 1 unchecked, 0 fine, SKEYS_ERR_CHECKSUM */
	uintptr_t base; /* lowest executable address: modules are kept in this order */
	uintptr_t lo, hi; /* span of all its loaded segments */
	struct skeys_segment exec[SKEYS_MAX_SEGMENTS];
	unsigned n_exec;
	char name[128];
	struct skeys_module *next;
};

/* Everything below is called with skeys_lock held. */
extern pthread_mutex_t skeys_lock;
extern struct skeys_module *skeys_modules;

/* Bring every site of `key` (in `only`, or in all modules when NULL) to state `on`. */
int skeys_patch_key(struct skeys_key *key, bool on, struct skeys_module *only);

/* Does the module's table name `key`? Linear: for unsorted tables. */
bool skeys_module_mentions(const struct skeys_module *m, const struct skeys_key *key);

void skeys_log(enum skeys_log_level level, const char *fmt, ...) SKEYS_PRINTF(2, 3);

/* ---- OS port (runtime/os/<os>.c): each returns 0 or a negated errno ---- */

/* Fill m->exec, m->base and m->name for the module mapping `addr`. */
int skeys_os_module_lookup(const void *addr, struct skeys_module *m);

/* One write: the sites [first, first + n) lie in pages that touch, inside `seg`. */
struct skeys_patch {
	uintptr_t addr;
	const struct skeys_segment *seg;
	uint8_t old[SKEYS_SITE_MAX];
	uint8_t new_[SKEYS_SITE_MAX];
	uint8_t len;
};

/* Write new_ (or old, when `undo`) of every patch; nothing written on failure. */
int skeys_os_write_run(const struct skeys_patch *first, size_t n, bool undo);

size_t skeys_os_page_size(void);

extern enum skeys_write_method skeys_write_method;

#endif
