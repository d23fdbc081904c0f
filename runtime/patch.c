/* SPDX-License-Identifier: MIT */
/*
 * One toggle is one batch: collect every site of the key in every module,
 * check all of them, then write them in address order, one write per run of
 * touching pages. Nothing is written unless every site checks out, and a
 * failed write undoes the runs already written.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct batch {
	struct skeys_patch *p;
	size_t n, cap;
};

static int batch_push(struct batch *b, const struct skeys_patch *p)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct skeys_patch *np = realloc(b->p, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	b->p[b->n++] = *p;
	return 0;
}

/* Checked once per module, on its first toggle, to keep registration O(1). */
static int module_checksum(struct skeys_module *m)
{
	if (m->checksum == 1)
		m->checksum = skeys_table_checksum(m->entries, m->count * sizeof(*m->entries)) ==
					      m->header->checksum
				      ? 0
				      : SKEYS_ERR_CHECKSUM;
	return m->checksum;
}

static const struct skeys_segment *segment_of(const struct skeys_module *m, uintptr_t a,
					      size_t len)
{
	unsigned i;

	for (i = 0; i < m->n_exec; i++)
		if (a >= m->exec[i].start && a + len <= m->exec[i].end && a + len > a)
			return &m->exec[i];
	return NULL;
}

/* Queue the module's sites of `key`, checking each against its expected bytes. */
static int collect(struct skeys_module *m, struct skeys_key *key, bool on, struct batch *b)
{
	const struct skeys_arch *native = skeys_arch_native(), *a;
	size_t i;
	int err;

	if (m->state == SKEYS_MODULE_BAD) /* its table cannot be read: refuse its own keys */
		return (uintptr_t)key >= m->lo && (uintptr_t)key < m->hi ? SKEYS_ERR_ABI : 0;
	if (m->state == SKEYS_MODULE_UNSEALED)
		return skeys_module_mentions(m, key) ? SKEYS_ERR_UNSEALED : 0;
	err = module_checksum(m);
	if (err)
		return skeys_module_mentions(m, key) ? err : 0;

	i = skeys_table_lower_bound(m->entries, m->count, (uintptr_t)m->entries,
				    (uintptr_t)key);
	for (; i < m->count; i++) {
		const struct skeys_entry *e = &m->entries[i];
		struct skeys_site s = skeys_entry_site(e, (uintptr_t)e);
		bool branch = s.flags & SKEYS_ENTRY_BRANCH;
		struct skeys_patch p = { .addr = (uintptr_t)s.code };

		if (s.key != (uintptr_t)key)
			break;
		/* arm: the entry says whether the site is A32 or Thumb-2 code. */
		a = skeys_arch_for_site(native, s.flags);
		if (!a)
			return SKEYS_ERR_MISMATCH;
		p.len = a->site_len;
		p.seg = segment_of(m, p.addr, p.len);
		if (!p.seg) {
			skeys_log(SKEYS_LOG_ERROR, "%s: site %#lx is outside the module's code",
				  m->name, (unsigned long)p.addr);
			return SKEYS_ERR_OUTSIDE;
		}
		if (skeys_arch_encode(a, !on ^ branch, s.code, s.target, p.old) ||
		    skeys_arch_encode(a, on ^ branch, s.code, s.target, p.new_))
			return SKEYS_ERR_MISMATCH;
		if (memcmp((const void *)p.addr, p.old, p.len)) {
			skeys_log(SKEYS_LOG_ERROR,
				  "%s: site %#lx does not hold the expected %s: refusing to patch",
				  m->name, (unsigned long)p.addr, (!on ^ branch) ? "jump" : "nop");
			return SKEYS_ERR_MISMATCH;
		}
		err = batch_push(b, &p);
		if (err)
			return err;
	}
	return 0;
}

/* Length of the run starting at p[0]: sites in touching pages of one segment. */
static size_t run_length(const struct skeys_patch *p, size_t n)
{
	size_t pg = skeys_os_page_size(), i;

	for (i = 1; i < n; i++) {
		uintptr_t last_page = (p[i - 1].addr + p[i - 1].len - 1) / pg;

		if (p[i].seg != p[0].seg || p[i].addr / pg > last_page + 1)
			break;
	}
	return i;
}

static int write_batch(const struct batch *b)
{
	size_t done = 0, len;
	int err = 0;

	while (done < b->n) {
		len = run_length(b->p + done, b->n - done);
		err = skeys_os_write_run(b->p + done, len, false);
		if (err)
			break;
		done += len;
	}
	if (!err)
		return 0;
	/* Put back what was written so the key's sites match its old state. */
	for (size_t start = 0, l; start < done; start += l) {
		l = run_length(b->p + start, done - start);
		if (skeys_os_write_run(b->p + start, l, true))
			skeys_log(SKEYS_LOG_ERROR, "rollback failed at %#lx: sites are inconsistent",
				  (unsigned long)b->p[start].addr);
	}
	return err;
}

int skeys_patch_key(struct skeys_key *key, bool on, struct skeys_module *only)
{
	struct batch b = { 0 };
	struct skeys_module *m;
	int err = 0;

	if (!skeys_arch_native())
		return -ENOSYS;
	for (m = only ? only : skeys_modules; m && !err; m = only ? NULL : m->next)
		err = collect(m, key, on, &b);
	if (!err)
		err = write_batch(&b);
	free(b.p);
	return err;
}
