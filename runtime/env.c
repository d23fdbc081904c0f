/* SPDX-License-Identifier: MIT */
/*
 * Control from outside the code: SKEYS_ENABLE and SKEYS_DISABLE switch keys
 * by name when their module registers, SKEYS_LOG sends the log to stderr.
 * See skeys_set_log() in <skeys.h> for what users are told.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct token {
	const char *s;
	size_t len;
	bool matched;  /* a key of a registered module has this name */
	bool reported; /* logged as unknown */
	bool waiting;  /* names a key not bound yet: applied again with the program */
};

struct list {
	const char *var;
	enum skeys_key_op op;
	const char *done; /* what the log says happened */
	char *buf;        /* the variable's value, which the tokens point into */
	struct token *t;
	size_t n;
};

/* Applied in this order: a name in both lists ends up disabled. */
static struct list lists[] = {
	{ "SKEYS_ENABLE", SKEYS_OP_ENABLE, "enabled", NULL, NULL, 0 },
	{ "SKEYS_DISABLE", SKEYS_OP_DISABLE, "disabled", NULL, NULL, 0 },
};
#define N_LISTS (sizeof(lists) / sizeof(lists[0]))

static bool loaded;

/* Comma-separated names, blanks around them ignored, empty ones skipped. */
static void parse(struct list *l)
{
	const char *v = getenv(l->var);
	char *copy;
	size_t cap, i;

	if (!v || !*v)
		return;
	copy = malloc(strlen(v) + 1);
	if (copy)
		memcpy(copy, v, strlen(v) + 1);
	cap = 1;
	for (i = 0; v[i]; i++)
		cap += v[i] == ',';
	l->t = calloc(cap, sizeof(*l->t));
	if (!copy || !l->t) {
		skeys_log(SKEYS_LOG_ERROR, "%s: out of memory, not applied", l->var);
		free(copy);
		free(l->t);
		l->t = NULL;
		return;
	}
	l->buf = copy; /* kept for the life of the process */
	for (char *p = copy, *end; p; p = end ? end + 1 : NULL) {
		size_t len;

		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len) {
			l->t[l->n].s = p;
			l->t[l->n++].len = len;
		}
	}
}

/*
 * Apply the token to every key of m it names; true if one has that name.
 * A named cell not bound yet (<skeys/kernel.h>: a key that a copy
 * relocation put into the program, which registers last) is left for the
 * program's registration, which applies the token again (`waiting`).
 */
static bool apply_token(struct skeys_module *m, const struct list *l, struct token *t,
			bool defer)
{
	bool named = false;
	size_t e;

	for (e = 0; e < m->n_names; e++) {
		struct skeys_key *k;
		uint32_t count, idx;
		const char *s = skeys_names_entry(m, e, &k, &count);
		int err;

		if (!s || !skeys_names_match(s, count, t->s, t->len, &idx))
			continue;
		named = true;
		k = (struct skeys_key *)((char *)k + (size_t)idx * SKEYS_KEY_STRIDE);
		/*
		 * An import follows the key it imports, which its own module set.
		 * A named cell (SKEYS_KEY_F_NAMED) is a defined key whose own
		 * module is not registered yet: switching it says so.
		 */
		if ((k->flags & (SKEYS_KEY_F_PROXY | SKEYS_KEY_F_NAMED)) == SKEYS_KEY_F_PROXY)
			continue;
		if ((k->flags & SKEYS_KEY_F_NAMED) && defer) {
			t->waiting = true;
			continue;
		}
		err = skeys_key_op_locked(k, l->op);
		if (err)
			skeys_log(SKEYS_LOG_ERROR, "%s: cannot switch %.*s in %s: %s", l->var,
				  (int)t->len, t->s, m->name, skeys_strerror(err));
		else
			skeys_log(SKEYS_LOG_INFO, "%s: %.*s %s in %s", l->var, (int)t->len, t->s,
				  l->done, m->name);
	}
	return named;
}

void skeys_env_apply(struct skeys_module *m)
{
	size_t i, j;

	if (!loaded) {
		loaded = true;
		for (i = 0; i < N_LISTS; i++)
			parse(&lists[i]);
	}
	for (i = 0; i < N_LISTS; i++) {
		struct list *l = &lists[i];

		for (j = 0; l->t && j < l->n; j++)
			if (apply_token(m, l, &l->t[j], !m->program))
				l->t[j].matched = true;
	}
	/* The program: the tokens that waited for it, on every module (switching is idempotent). */
	for (i = 0; m->program && i < N_LISTS; i++) {
		struct list *l = &lists[i];
		struct skeys_module *o;

		for (j = 0; l->t && j < l->n; j++) {
			if (!l->t[j].waiting)
				continue;
			l->t[j].waiting = false;
			for (o = skeys_modules; o; o = o->next)
				if (o != m)
					apply_token(o, l, &l->t[j], false);
		}
	}
	/*
	 * The program registers after the libraries it was linked with: a name
	 * none of them has by then is most likely misspelt.
	 */
	if (!m->program)
		return;
	for (i = 0; i < N_LISTS; i++) {
		struct list *l = &lists[i];

		for (j = 0; l->t && j < l->n; j++) {
			struct token *t = &l->t[j];

			if (t->matched || t->reported)
				continue;
			t->reported = true;
			skeys_log(SKEYS_LOG_WARN, "%s: no key named \"%.*s\" in %s or the "
						  "libraries loaded with it (a module loaded "
						  "later may still have one)",
				  l->var, (int)t->len, t->s, m->name);
		}
	}
}

int skeys_env_log_level(void)
{
	/* -2: not read yet. Every thread computes the same value: a race is harmless. */
	static int level = -2;
	int v = __atomic_load_n(&level, __ATOMIC_RELAXED);
	static const struct {
		const char *name;
		int level;
	} names[] = {
		{ "0", -1 }, { "1", SKEYS_LOG_WARN }, { "error", SKEYS_LOG_ERROR },
		{ "warn", SKEYS_LOG_WARN }, { "warning", SKEYS_LOG_WARN },
		{ "info", SKEYS_LOG_INFO }, { "debug", SKEYS_LOG_DEBUG },
	};
	const char *e;
	size_t i;

	if (v != -2)
		return v;
	e = getenv("SKEYS_LOG");
	v = -1;
	if (e && *e) {
		v = SKEYS_LOG_WARN; /* a value not understood still asks for a log */
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(e, names[i].name))
				v = names[i].level;
	}
	__atomic_store_n(&level, v, __ATOMIC_RELAXED);
	return v;
}
