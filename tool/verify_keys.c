/* SPDX-License-Identifier: MIT */
/*
 * The keys a table names: each distinct key address once, sorted, with its
 * site count, and checked to be a key object the runtime will accept.
 */
#include "verify.h"

#include "arch.h"

#include <stdlib.h>

/* struct skeys_key is aligned(8) for every target, 32- and 64-bit alike. */
#define KEY_ALIGN 8u
/* The tools read count and flags; `link` differs in size between targets. */
#define KEY_READ_SIZE 8u

/* The runtime's test of where a key may live (common/table.h), on the file's sections. */
static enum skeys_key_place key_place(const struct skeys_image *img,
				      const struct skeys_section *s, uint64_t addr)
{
	unsigned prot = ((s->flags & SKEYS_SEC_WRITE) ? SKEYS_PLACE_WRITE : 0) |
			((s->flags & SKEYS_SEC_EXEC) ? SKEYS_PLACE_EXEC : 0);

	return skeys_key_place(prot, addr, KEY_READ_SIZE, img->relro_lo, img->relro_hi);
}

/*
 * A key in zero-filled data that the loader fills from another module's by
 * a copy relocation: the file names a shared library's key directly (a
 * non-PIE executable, or a gcc PIE, using a plain `extern`). Say which
 * import line to write. False when `addr` is no such copy.
 */
static bool copy_note(struct skeys_check *c, struct skeys_check_key *k,
		      const struct skeys_section *s)
{
	const struct skeys_image *img = c->img;
	const struct skeys_symbol *obj = skeys_image_object_in(img, k->addr);
	const char *name = obj ? obj->name : "NAME";
	struct skeys_reloc r;
	const char *reloc;

	if (!img->format->reloc_at || !img->format->reloc_at(img, obj ? obj->addr : k->addr, 1, &r) ||
	    r.kind != SKEYS_RELOC_COPY)
		return false;
	reloc = r.type;
	skeys_check_note(c, &k->error,
			 "in zero-filled section %s, a copy of another module's key that the "
			 "loader makes (%s): this file names a shared library's key directly, "
			 "and its sites would follow the copy, not the key. Import the key "
			 "instead, with the initial state the library defined it with: "
			 "SKEYS_IMPORT_FALSE(%s) or SKEYS_IMPORT_TRUE(%s) (<skeys.h>), "
			 "IMPORT_STATIC_KEY_FALSE(%s) or IMPORT_STATIC_KEY_TRUE(%s) "
			 "(<skeys/kernel.h>; IMPORT_STATIC_KEY(%s, false) or (%s, true) for a "
			 "struct static_key); the library exports it with SKEYS_EXPORT(%s) "
			 "or EXPORT_SYMBOL(%s). Or, for <skeys/kernel.h> sites in C, compile "
			 "this file -fPIE or -fPIC: its sites then reach the key through cells",
			 s->name, reloc, name, name, name, name, name, name, name, name);
	return true;
}

/*
 * Another image's key named directly, as a plain `extern` of <skeys/kernel.h>
 * names it where there are no cells: in a PE file the entry holds the slot
 * of the import address table that the linker's auto-import made; in a
 * Mach-O file, whose entries are relative, the linker resolved the dylib's
 * key to address 0. Say which import line to write. False otherwise
 * (`s`: the key's section, NULL when none holds it).
 */
static bool foreign_note(struct skeys_check *c, struct skeys_check_key *k,
			 const struct skeys_section *s)
{
	/* An image built in memory (the unit tests') has no format. */
	const char *format = c->img->format ? c->img->format->name : "";
	const char *where;

	if (s && strcmp(format, "pe") == 0 && strcmp(s->name, ".idata") == 0)
		where = "in section .idata, the import address table: this file names "
			"another DLL's key directly (a plain extern, auto-imported by the "
			"linker), and a site cannot reach a key through that table";
	else if (!s && k->addr == 0 && strcmp(format, "macho") == 0)
		where = "at address 0: this file names another image's key directly (a "
			"plain extern of a dylib's key), which a table entry, relative to "
			"itself, cannot reach, and the linker left unresolved";
	else
		return false;
	skeys_check_note(c, &k->error,
			 "%s. Import the key instead, under its own name, with the initial "
			 "state its module defined it with: SKEYS_IMPORT_FALSE(NAME) or "
			 "SKEYS_IMPORT_TRUE(NAME) (<skeys.h>), IMPORT_STATIC_KEY_FALSE(NAME) or "
			 "IMPORT_STATIC_KEY_TRUE(NAME) (<skeys/kernel.h>; IMPORT_STATIC_KEY(NAME, "
			 "false) or (NAME, true) for a struct static_key); its module exports "
			 "it with SKEYS_EXPORT(NAME) or EXPORT_SYMBOL(NAME)", where);
	return true;
}

/* A pointer of the file's architecture at `addr`, if the file holds it. */
static bool read_ptr(const struct skeys_image *img, uint64_t addr, uint64_t *v)
{
	size_t n = img->arch->elf_class == 2 /* ELFCLASS64 */ ? 8 : 4;
	int64_t at = skeys_image_offset(img, addr, n);

	if (at < 0)
		return false;
	*v = n == 8 ? skeys_image_get64(img, img->buf + at) : skeys_image_get32(img, img->buf + at);
	return true;
}

/* A pointer the loader will hold at `addr`: a RELATIVE relocation's, else the file's; false if unknown. */
static bool loaded_ptr(const struct skeys_image *img, uint64_t addr, uint64_t *v)
{
	struct skeys_reloc r;

	if (img->format->reloc_at && img->format->reloc_at(img, addr, 1, &r)) {
		*v = r.addend;
		return r.kind == SKEYS_RELOC_RELATIVE;
	}
	return read_ptr(img, addr, v);
}

bool skeys_check_cell(const struct skeys_image *img, uint64_t addr, uint64_t *key,
		      const char **symbol, bool *named)
{
	uint64_t slot = addr + SKEYS_KEY_STRIDE, link;
	int64_t at = skeys_image_offset(img, addr, KEY_READ_SIZE);
	struct skeys_reloc r;
	uint32_t flags;

	if (at < 0)
		return false;
	flags = skeys_image_get32(img, img->buf + at + offsetof(struct skeys_key, flags));
	if ((flags & SKEYS_KEY_MAGIC_MASK) != SKEYS_KEY_MAGIC || !(flags & SKEYS_KEY_F_PROXY) ||
	    !loaded_ptr(img, addr + 8, &link) || link != slot)
		return false;
	*key = 0;
	*symbol = NULL;
	*named = flags & SKEYS_KEY_F_NAMED;
	if (img->format->reloc_at && img->format->reloc_at(img, slot, 1, &r)) {
		if (r.kind == SKEYS_RELOC_RELATIVE)
			*key = r.addend;
		else
			*symbol = r.symbol;
	} else if (!read_ptr(img, slot, key)) {
		*key = 0;
	}
	return true;
}

/*
 * A proxy key: an import's (its link is the exporter's pointer, bound by
 * the runtime) or a cell of <skeys/kernel.h> (its link is its own slot,
 * 16 bytes on, struct skeys_kcell). A cell whose slot the loader fills
 * with a symbol's address is bound by the runtime; one whose slot holds an
 * address of this file must name a key of this file whose initial state
 * is the one its sites were compiled for.
 */
static void proxy_verify(struct skeys_check *c, struct skeys_check_key *k, uint32_t flags)
{
	const struct skeys_image *img = c->img;
	uint64_t slot = k->addr + SKEYS_KEY_STRIDE, link, target;
	const struct skeys_section *ts;
	const struct skeys_symbol *obj;
	uint32_t tflags;
	int64_t at;

	if (!loaded_ptr(img, k->addr + 8, &link) || link != slot) {
		if (flags & SKEYS_KEY_F_NAMED)
			skeys_check_note(c, &k->error, "a named cell (flags 0x%08x) whose link "
					 "is not its own slot 0x%llx", flags,
					 (unsigned long long)slot);
		return; /* an import: the runtime checks what its link points at */
	}
	if (!loaded_ptr(img, slot, &target))
		return; /* a symbol's address, filled in by the loader: bound at run time */
	k->import = false; /* a cell for a key of this file */
	obj = skeys_image_object_in(img, target);
	ts = skeys_image_section_at(img, target, KEY_READ_SIZE);
	at = skeys_image_offset(img, target, KEY_READ_SIZE);
	if (!ts || at < 0 || key_place(img, ts, target) != SKEYS_KEY_PLACE_OK ||
	    target % KEY_ALIGN ||
	    ((tflags = skeys_image_get32(img, img->buf + at + offsetof(struct skeys_key, flags))) &
	     SKEYS_KEY_MAGIC_MASK) != SKEYS_KEY_MAGIC) {
		skeys_check_note(c, &k->error, "a cell whose slot 0x%llx names 0x%llx (%s), "
				 "which is not a key", (unsigned long long)slot,
				 (unsigned long long)target, obj ? obj->name : "no symbol");
		return;
	}
	if ((tflags & SKEYS_KEY_F_INITIAL) != (flags & SKEYS_KEY_F_INITIAL))
		skeys_check_note(c, &k->error, "a cell for sites of a %s key names key %s "
				 "(0x%llx), which is %s: each site must be of the kind its key's "
				 "initial state needs (static_key_false() for STATIC_KEY_INIT_FALSE)",
				 (flags & SKEYS_KEY_F_INITIAL) ? "TRUE" : "FALSE",
				 obj ? obj->name : "?", (unsigned long long)target,
				 (tflags & SKEYS_KEY_F_INITIAL) ? "TRUE" : "FALSE");
}

static void key_verify(struct skeys_check *c, struct skeys_check_key *k)
{
	const struct skeys_image *img = c->img;
	const struct skeys_section *s = skeys_image_section_at(img, k->addr, KEY_READ_SIZE);
	enum skeys_key_place place;
	uint32_t flags;

	if (!s) {
		if (!foreign_note(c, k, NULL))
			skeys_check_note(c, &k->error, "not inside any section");
	} else if ((place = key_place(img, s, k->addr)) == SKEYS_KEY_PLACE_NOT_DATA) {
		skeys_check_note(c, &k->error, "in section %s, which is not writable data",
				 s->name);
	} else if (place == SKEYS_KEY_PLACE_RELRO) {
		skeys_check_note(c, &k->error, "in section %s, which becomes read-only after "
				 "relocation (RELRO): the runtime could not switch it", s->name);
	} else if (((s->flags & SKEYS_SEC_NOBITS) && copy_note(c, k, s)) || foreign_note(c, k, s)) {
		/* noted: another module's key, named directly */
	} else if (s->flags & SKEYS_SEC_NOBITS) {
		skeys_check_note(c, &k->error,
				 "in zero-filled section %s, so without the key magic", s->name);
	} else if (k->addr % KEY_ALIGN) {
		skeys_check_note(c, &k->error, "not %u-byte aligned", KEY_ALIGN);
	} else {
		const uint8_t *p = img->buf + skeys_image_offset(img, k->addr, KEY_READ_SIZE);

		flags = skeys_image_get32(img, p + offsetof(struct skeys_key, flags));
		if ((flags & SKEYS_KEY_MAGIC_MASK) != SKEYS_KEY_MAGIC)
			skeys_check_note(c, &k->error, "flags 0x%08x lack the key magic 0x%08x",
					 flags, SKEYS_KEY_MAGIC);
		k->initial = flags & SKEYS_KEY_F_INITIAL;
		/* A named cell stands for a key the module defines. */
		k->import = (flags & (SKEYS_KEY_F_PROXY | SKEYS_KEY_F_NAMED)) == SKEYS_KEY_F_PROXY;
		if ((flags & (SKEYS_KEY_F_PROXY | SKEYS_KEY_F_NAMED)) == SKEYS_KEY_F_NAMED)
			skeys_check_note(c, &k->error, "flags 0x%08x: a named cell (0x%x) that "
					 "is no proxy (0x%x)", flags, SKEYS_KEY_F_NAMED,
					 SKEYS_KEY_F_PROXY);
		else if (!k->error && (flags & SKEYS_KEY_F_PROXY))
			proxy_verify(c, k, flags);
	}
	k->valid = !k->error;
}

void skeys_check_key_verify(struct skeys_check *c, struct skeys_check_key *k)
{
	key_verify(c, k);
}

/* Key address -> index of first appearance, open addressing; grows at half full. */
struct key_map {
	uint64_t *addr; /* slot's key address; KEY_FREE marks a free slot */
	uint32_t *idx;
	size_t mask, used;
};

/* Never a key's address: those have the entry flag bits clear. */
#define KEY_FREE 1u

static uint64_t key_hash(uint64_t a)
{
	/* Keys are 8-byte aligned and near one another: mix the bits that vary. */
	a ^= a >> 29;
	a *= 0xbf58476d1ce4e5b9ull;
	return a ^ (a >> 32);
}

static bool key_map_init(struct key_map *m, size_t slots)
{
	size_t i;

	m->addr = malloc(slots * sizeof(*m->addr));
	m->idx = malloc(slots * sizeof(*m->idx));
	if (!m->addr || !m->idx)
		return false;
	for (i = 0; i < slots; i++)
		m->addr[i] = KEY_FREE;
	m->mask = slots - 1;
	m->used = 0;
	return true;
}

static void key_map_free(struct key_map *m)
{
	free(m->addr);
	free(m->idx);
}

/* The slot of `a`, free when `a` is not in the map. */
static size_t key_map_slot(const struct key_map *m, uint64_t a)
{
	size_t h = (size_t)key_hash(a) & m->mask;

	while (m->addr[h] != KEY_FREE && m->addr[h] != a)
		h = (h + 1) & m->mask;
	return h;
}

static bool key_map_grow(struct key_map *m)
{
	struct key_map g;
	size_t i, h;

	if (!key_map_init(&g, (m->mask + 1) * 2)) {
		key_map_free(&g);
		return false;
	}
	for (i = 0; i <= m->mask; i++) {
		if (m->addr[i] == KEY_FREE)
			continue;
		h = key_map_slot(&g, m->addr[i]);
		g.addr[h] = m->addr[i];
		g.idx[h] = m->idx[i];
	}
	g.used = m->used;
	key_map_free(m);
	*m = g;
	return true;
}

/* A key address and its number in order of first appearance. */
struct key_seen {
	uint64_t addr;
	uint32_t first;
};

static int key_seen_cmp(const void *x, const void *y)
{
	const struct key_seen *a = x, *b = y;

	return (a->addr > b->addr) - (a->addr < b->addr);
}

/*
 * Number each site's key by first appearance, into c->sites[i].key, with
 * the keys in `m`. A run of sites of one key needs no lookup.
 */
static bool keys_number(struct skeys_check *c, struct key_map *m)
{
	uint64_t last = KEY_FREE;
	uint32_t last_idx = 0;
	size_t i, h;

	for (i = 0; i < c->n; i++) {
		uint64_t a = skeys_entry_key(&c->entries[i], c->table_addr + i * ENTRY_SIZE);

		if (a != last) {
			h = key_map_slot(m, a);
			if (m->addr[h] == KEY_FREE) {
				if (2 * (m->used + 1) > m->mask + 1) {
					if (!key_map_grow(m))
						return false;
					h = key_map_slot(m, a);
				}
				m->addr[h] = a;
				m->idx[h] = (uint32_t)m->used++;
			}
			last = a;
			last_idx = m->idx[h];
		}
		c->sites[i].key = last_idx;
	}
	return true;
}

/*
 * One key record per distinct key address, by address, and each site's
 * index into them. A table has few keys for many sites: each site finds
 * its key in a small hash map (numbered by first appearance), then the
 * few keys are sorted and the sites renumbered, with no sort of the sites.
 */
bool skeys_check_keys_collect(struct skeys_check *c)
{
	size_t n = c->n, i, k = 0, nk;
	struct key_map m = { 0 };
	struct key_seen *seen = NULL;
	uint32_t *rank = NULL; /* first-appearance number -> index by address */
	bool ok = false;

	if (n > UINT32_MAX || !key_map_init(&m, 64) || !keys_number(c, &m))
		goto out;
	nk = m.used;
	c->keys = calloc(nk ? nk : 1, sizeof(*c->keys));
	seen = malloc((nk ? nk : 1) * sizeof(*seen));
	rank = calloc(nk ? nk : 1, sizeof(*rank));
	if (!c->keys || !seen || !rank)
		goto out;
	c->n_keys = nk;
	for (i = 0; i <= m.mask; i++) {
		if (m.addr[i] != KEY_FREE) {
			seen[k].addr = m.addr[i];
			seen[k++].first = m.idx[i];
		}
	}
	qsort(seen, nk, sizeof(*seen), key_seen_cmp);
	for (i = 0; i < nk; i++) {
		c->keys[i].addr = seen[i].addr;
		rank[seen[i].first] = (uint32_t)i;
	}
	for (i = 0; i < n; i++) {
		c->sites[i].key = rank[c->sites[i].key];
		c->keys[c->sites[i].key].sites++;
	}
	for (i = 0; i < nk; i++)
		key_verify(c, &c->keys[i]);
	ok = true;
out:
	key_map_free(&m);
	free(seen);
	free(rank);
	if (!ok)
		c->oom = true;
	return ok;
}
