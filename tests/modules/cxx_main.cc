// SPDX-License-Identifier: MIT
// C++ inline and template sites on both sides of a shared-library boundary
// follow the one key, whichever module switches it.
#include "cxx_shared.hh"

#include <cstdio>

static int failures;

static void expect(bool on, const char *when)
{
	int got[4] = { cxxcore::inline_site(), cxxcore::tmpl_site(7), cxxcore::lib_inline(),
		       cxxcore::lib_tmpl() };
	int want[4] = { on ? 1 : 0, on ? 7 : 0, on ? 1 : 0, on ? 7 : 0 };

	for (int i = 0; i < 4; i++)
		if (got[i] != want[i]) {
			std::fprintf(stderr, "%s: site %d gave %d, want %d\n", when, i, got[i],
				     want[i]);
			failures++;
		}
}

int main()
{
	expect(false, "initially");
	if (cxxcore::lib_set(true))
		failures++;
	expect(true, "enabled by the library");
	if (skeys_disable(&cxx_feature))
		failures++;
	expect(false, "disabled through the executable's import");
	if (skeys_inc(&cxx_feature))
		failures++;
	expect(true, "inc through the executable's import");
	if (skeys_dec(&cxx_feature))
		failures++;
	expect(false, "dec");
	return failures ? 1 : 0;
}
