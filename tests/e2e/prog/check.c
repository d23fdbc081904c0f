/* SPDX-License-Identifier: MIT */
/*
 * The checker: drives every key through the same sequence and, after each
 * call, compares every site of every key with the state the key must have.
 * Checking all keys, not only the one switched, catches a runtime that
 * patches another key's sites.
 */
#include "e2e.h"

#include <skeys.h>
#include <stdio.h>
#include <string.h>

#define E2E_MAX_KEYS 64

/*
 * One row per entry; entries of one key (sites in several translation units)
 * share their state through `same`, the first row of that key.
 */
struct checker {
	const struct e2e_key *keys[E2E_MAX_KEYS];
	size_t same[E2E_MAX_KEYS];
	bool refused[E2E_MAX_KEYS];
	bool state[E2E_MAX_KEYS];
	size_t n;
	int failures;
	unsigned checks;
	unsigned steps;
};

/* One wrong toggle cascades; the first reports are the ones that matter. */
#define E2E_MAX_REPORTS 40

static bool report(struct checker *c)
{
	c->failures++;
	if (c->failures == E2E_MAX_REPORTS + 1)
		fprintf(stderr, "e2e: (further failures not shown)\n");
	return c->failures <= E2E_MAX_REPORTS;
}

static const char *path_name(int v)
{
	return v == 1 ? "enabled" : v == 0 ? "disabled" : "inconsistent";
}

static void verify_all(struct checker *c, const char *after)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct e2e_key *k = c->keys[i];
		bool want = c->state[c->same[i]];

		c->checks++;
		if (k->enabled() != want && report(c))
			fprintf(stderr, "e2e: FAIL %s: after %s: enabled() is %d, expected %d\n",
				k->name, after, !want, want);
		for (size_t s = 0; s < k->nsites; s++) {
			int got = k->sites[s].eval();

			c->checks++;
			if (got != (int)want && report(c))
				fprintf(stderr,
					"e2e: FAIL %s: after %s: site %s took the %s path, expected the %s path\n",
					k->name, after, k->sites[s].name, path_name(got),
					path_name(want));
		}
	}
}

typedef int (*key_op)(void);

/* Call one switching function; expect its result and the key's new state. */
static void step(struct checker *c, size_t i, const char *what, key_op op, int want_ret,
		 bool want_state)
{
	const struct e2e_key *k = c->keys[i];
	char after[96];
	int ret = op();

	snprintf(after, sizeof(after), "step %u, %s(%s)", ++c->steps, what, k->name);
	if (ret != want_ret && report(c))
		fprintf(stderr, "e2e: FAIL %s: %s returned %d (%s), expected %d (%s)\n",
			k->name, after, ret, skeys_strerror(ret), want_ret,
			skeys_strerror(want_ret));
	c->state[c->same[i]] = want_state;
	verify_all(c, after);
}

static void sequence_sealed(struct checker *c, size_t i)
{
	const struct e2e_key *k = c->keys[i];

	step(c, i, "enable", k->enable, 0, true);
	step(c, i, "enable (no-op)", k->enable, 0, true);
	step(c, i, "disable", k->disable, 0, false);
	step(c, i, "disable (no-op)", k->disable, 0, false);
	step(c, i, "inc", k->inc, 0, true);
	step(c, i, "inc", k->inc, 0, true);
	step(c, i, "dec", k->dec, 0, true);
	step(c, i, "dec", k->dec, 0, false);
	step(c, i, "dec below zero", k->dec, SKEYS_ERR_COUNT, false);
	/* The failed dec must have left the count at zero, not -1. */
	step(c, i, "inc after failed dec", k->inc, 0, true);
	step(c, i, "dec", k->dec, 0, false);
	if (k->initial)
		step(c, i, "restore", k->enable, 0, true);
}

/* Only calls that would change the key: whether a no-op is refused is open. */
static void sequence_refused(struct checker *c, size_t i)
{
	const struct e2e_key *k = c->keys[i];

	if (k->initial) {
		step(c, i, "disable (unsealed)", k->disable, SKEYS_ERR_UNSEALED, true);
		step(c, i, "dec (unsealed)", k->dec, SKEYS_ERR_UNSEALED, true);
	} else {
		step(c, i, "enable (unsealed)", k->enable, SKEYS_ERR_UNSEALED, false);
		step(c, i, "inc (unsealed)", k->inc, SKEYS_ERR_UNSEALED, false);
	}
}

static void check_strerror(struct checker *c, int err)
{
	const char *msg = skeys_strerror(err);

	if ((msg == NULL || msg[0] == '\0') && report(c))
		fprintf(stderr, "e2e: FAIL skeys_strerror(%d) is empty\n", err);
}

int e2e_check(const struct e2e_group *groups, size_t ngroups)
{
	static struct checker c;
	size_t nsites = 0, nrefused = 0;

	memset(&c, 0, sizeof(c));
	for (size_t g = 0; g < ngroups; g++) {
		for (size_t i = 0; i < groups[g].nkeys; i++) {
			if (c.n == E2E_MAX_KEYS) {
				fprintf(stderr, "e2e: FAIL too many keys\n");
				return 1;
			}
			const struct e2e_key *k = &groups[g].keys[i];

			c.keys[c.n] = k;
			c.refused[c.n] = groups[g].refused;
			nrefused += groups[g].refused;
			c.same[c.n] = c.n;
			for (size_t j = 0; j < c.n; j++) {
				if (c.keys[j]->id == k->id) {
					c.same[c.n] = j;
					break;
				}
			}
			if (c.same[c.n] != c.n && c.keys[c.same[c.n]]->initial != k->initial) {
				fprintf(stderr, "e2e: FAIL %s: declared with two initial states\n",
					k->name);
				return 1;
			}
			c.state[c.n] = k->initial;
			nsites += k->nsites;
			c.n++;
		}
	}

	verify_all(&c, "start");
	check_strerror(&c, SKEYS_ERR_COUNT);
	check_strerror(&c, SKEYS_ERR_UNSEALED);
	for (size_t i = 0; i < c.n; i++) {
		if (c.refused[i])
			sequence_refused(&c, i);
		else
			sequence_sealed(&c, i);
	}
	if (nrefused != 0)
		printf("e2e: refusal reads \"%s\"\n", skeys_strerror(SKEYS_ERR_UNSEALED));
	printf("e2e: %zu key entries (%zu expecting refusal), %zu sites, %u checks, %d failures\n",
	       c.n, nrefused, nsites, c.checks, c.failures);
	return c.failures;
}
