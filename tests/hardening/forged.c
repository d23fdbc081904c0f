/* SPDX-License-Identifier: MIT */
/*
 * The runtime against tables forged after sealing: `hard-forged.MODE MODE`.
 * The executable is sealed, then tests/hardening/forge.py edits a copy:
 *
 *   ok        not edited: the key toggles
 *   checksum  an entry changed, header kept: SKEYS_ERR_CHECKSUM
 *   data      forged_fb's entry names forged_victim in .data (bytes of a
 *             nop, so only the module check can stop it), checksum redone
 *   other     the entry names code in another module (libforgedother at
 *             its fixed address), checksum redone
 *   unsorted  kg's entry moved between kf's two, checksum redone: a lookup
 *             that trusts the order finds only some of kf's sites:
 *             SKEYS_ERR_UNSEALED, as skeys-seal never writes that
 *
 * For every refusal nothing may be written: neither the forged address nor
 * the key's genuine site.
 */
#define _GNU_SOURCE
#include <skeys.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SKEYS_DEFINE_FALSE(kf);
SKEYS_DEFINE_FALSE(kg);

/* Plain data that looks like a FALSE key's unlikely site. */
unsigned char forged_victim[16] __attribute__((aligned(16))) = {
	0x0f, 0x1f, 0x44, 0x00, 0x00, 0xc3,
};

const void *forged_other_site(void);
unsigned long forged_other_base(void);

#define NOINLINE __attribute__((noinline))
int forged_fa(void);
int forged_fb(void);
NOINLINE int forged_fa(void) { return skeys_branch_unlikely(&kf); }
NOINLINE int forged_fb(void) { return skeys_branch_unlikely(&kf); }
int forged_fc(void);
NOINLINE int forged_fc(void) { return skeys_branch_unlikely(&kg); }

#include "../testing.h"

static void expect_err(int got, int want, const char *what)
{
	if (got != want) {
		fprintf(stderr, "%s: returned %d (%s), want %d (%s)\n", what, got,
			skeys_strerror(got), want, skeys_strerror(want));
		failures++;
	}
}

static void log_cb(enum skeys_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)ctx;
	fprintf(stderr, "skeys: %s\n", msg);
}

/*
 * Enabling kf must fail with `want` (any error when 0) and change no byte of
 * `watch` or of the genuine site.
 */
static void refused(int want, const void *watch, size_t len)
{
	unsigned char before[64], fa_before[32];
	int err;

	memcpy(before, watch, len);
	memcpy(fa_before, (const void *)(uintptr_t)forged_fa, sizeof(fa_before));
	err = skeys_enable(&kf);
	if (want || err >= 0)
		expect_err(err, want, "skeys_enable");
	CHECK(memcmp(before, watch, len) == 0);
	CHECK(memcmp(fa_before, (const void *)(uintptr_t)forged_fa, sizeof(fa_before)) == 0);
	CHECK(forged_fa() == 0 && forged_fb() == 0);
	CHECK(!skeys_enabled(&kf));
	/* Refused again, the same way: nothing half-done was remembered. */
	if (want)
		expect_err(skeys_enable(&kf), want, "skeys_enable, again");
	CHECK(memcmp(before, watch, len) == 0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	skeys_set_log(log_cb, NULL);
	if (!strcmp(mode, "ok")) {
		expect_err(skeys_enable(&kf), 0, "skeys_enable");
		CHECK(forged_fa() == 1 && forged_fb() == 1);
		expect_err(skeys_disable(&kf), 0, "skeys_disable");
		CHECK(forged_fa() == 0 && forged_fb() == 0);
	} else if (!strcmp(mode, "checksum")) {
		refused(SKEYS_ERR_CHECKSUM, (const void *)(uintptr_t)forged_fb, 32);
	} else if (!strcmp(mode, "data")) {
		refused(SKEYS_ERR_OUTSIDE, forged_victim, sizeof(forged_victim));
	} else if (!strcmp(mode, "other")) {
		const unsigned char *site = forged_other_site();

		if ((unsigned long)site < forged_other_base() ||
		    (unsigned long)site >= forged_other_base() + 0x100000) {
			printf("SKIP: the loader put libforgedother at %p, not at its "
			       "preferred 0x%lx, so the forged entry misses it\n",
			       (const void *)site, forged_other_base());
			return 77;
		}
		CHECK(memcmp(site, "\x0f\x1f\x44\x00\x00", 5) == 0);
		refused(SKEYS_ERR_OUTSIDE, site, 16);
	} else if (!strcmp(mode, "unsorted")) {
		/* In order is part of being sealed; a partial toggle would be worse. */
		refused(SKEYS_ERR_UNSEALED, (const void *)(uintptr_t)forged_fb, 32);
		CHECK(forged_fc() == 0);
	} else {
		fprintf(stderr, "usage: %s ok|checksum|data|other|unsorted\n", argv[0]);
		return 64;
	}
	if (failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", mode, failures);
		return 1;
	}
	printf("%s: ok\n", mode);
	return 0;
}
