// SPDX-License-Identifier: MIT
#define CXXCORE_BUILDING 1
#include "cxx_shared.hh"

SKEYS_DEFINE_FALSE(cxx_feature);
SKEYS_EXPORT(cxx_feature);

namespace cxxcore {

int lib_inline()
{
	return inline_site();
}

int lib_tmpl()
{
	return tmpl_site(7);
}

int lib_set(bool on)
{
	return on ? skeys_enable(&cxx_feature) : skeys_disable(&cxx_feature);
}

} // namespace cxxcore
