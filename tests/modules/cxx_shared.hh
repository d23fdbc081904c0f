// SPDX-License-Identifier: MIT
// Sites in an inline function and a template, in a header that a shared
// library and the executable both use. The library defines and exports the
// key; every other module imports it (the usual export/import switch).
#ifndef SKEYS_TEST_CXX_SHARED_HH
#define SKEYS_TEST_CXX_SHARED_HH

#include <skeys.h>

#ifdef CXXCORE_BUILDING
SKEYS_DECLARE_FALSE(cxx_feature);
#else
SKEYS_IMPORT_FALSE(cxx_feature);
#endif

namespace cxxcore {

__attribute__((noinline)) inline int inline_site()
{
	return skeys_branch_unlikely(&cxx_feature) ? 1 : 0;
}

template <typename T> __attribute__((noinline)) int tmpl_site(T v)
{
	return skeys_branch_likely(&cxx_feature) ? static_cast<int>(v) : 0;
}

// What the library itself computes with the same inline code.
__attribute__((visibility("default"))) int lib_inline();
__attribute__((visibility("default"))) int lib_tmpl();
__attribute__((visibility("default"))) int lib_set(bool on);

} // namespace cxxcore

#endif
