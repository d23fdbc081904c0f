/* SPDX-License-Identifier: MIT */
/*
 * `exe-export PLUGIN`: the executable defines and exports the keys that
 * PLUGIN imports (`feature`, `fast`), as libcore does for `modules`. Linked
 * with -rdynamic on ELF; on Windows PLUGIN is linked against the EXE's
 * import library.
 */
#include "modules.h"
#include "loader.h"

SKEYS_DEFINE_FALSE(feature);
SKEYS_EXPORT(feature);
SKEYS_DEFINE_TRUE(fast);
SKEYS_EXPORT(fast);

__attribute__((noinline)) static int exe_feature(void)
{
	return skeys_branch_unlikely(&feature);
}

int main(int argc, char **argv)
{
	int (*feature_p)(void), (*fast_p)(void), (*set_feature_p)(int);
	void *h;

	if (argc != 2)
		return 64;
	/* A plugin loaded after a switch starts out patched. */
	CHECK(skeys_enable(&feature) == 0 && exe_feature() == 1);
	h = test_load(argv[1]);
	if (!h)
		return 1;
	TEST_SYM(h, feature_p, "plugin_feature");
	TEST_SYM(h, fast_p, "plugin_fast");
	TEST_SYM(h, set_feature_p, "plugin_set_feature");
	if (!feature_p || !fast_p || !set_feature_p)
		return 1;
	CHECK(feature_p() == 1 && fast_p() == 1);
	/* Through the plugin's import: the executable's own sites follow. */
	CHECK(set_feature_p(0) == 0 && exe_feature() == 0 && feature_p() == 0);
	CHECK(skeys_disable(&fast) == 0 && fast_p() == 0);
	CHECK(skeys_enable(&feature) == 0 && feature_p() == 1);
	CHECK(test_unload(h) == 0);
	CHECK(skeys_disable(&feature) == 0 && exe_feature() == 0);
	if (failures)
		return 1;
	printf("exe-export: OK\n");
	return 0;
}
