/* SPDX-License-Identifier: MIT */
/*
 * Built against an installed skeys only (pkg-config): both public headers,
 * a site of each kind, a toggle of each key.
 */
#include <skeys.h>
#include <skeys/kernel.h>
#include <stdio.h>

SKEYS_DEFINE_FALSE(feature);
DEFINE_STATIC_KEY_TRUE(kernel_style);

__attribute__((noinline)) static int feature_on(void)
{
	return skeys_branch_unlikely(&feature);
}

__attribute__((noinline)) static int kernel_style_on(void)
{
	return static_branch_likely(&kernel_style);
}

static int expect(const char *what, int got, int want)
{
	printf("%-34s %d (expected %d)%s\n", what, got, want, got == want ? "" : "  FAIL");
	return got == want;
}

int main(void)
{
	int ok = 1, err;

	ok &= expect("feature site, initially", feature_on(), 0);
	ok &= expect("kernel_style site, initially", kernel_style_on(), 1);
	err = skeys_enable(&feature);
	ok &= expect("skeys_enable(&feature)", err, 0);
	if (err)
		printf("  %s\n", skeys_strerror(err));
	ok &= expect("feature site, enabled", feature_on(), 1);
	ok &= expect("static_branch_disable(&kernel_style)", static_branch_disable(&kernel_style), 0);
	ok &= expect("kernel_style site, disabled", kernel_style_on(), 0);
	ok &= expect("static_key_enabled(&kernel_style)", static_key_enabled(&kernel_style), 0);
	printf(ok ? "install: OK\n" : "install: FAILED\n");
	return ok ? 0 : 1;
}
