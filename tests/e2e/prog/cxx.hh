/* SPDX-License-Identifier: MIT */
/*
 * Sites in C++ code that every translation unit including this header
 * emits: an inline function, an inline member function and a template. The
 * linker keeps one copy of each (COMDAT); the table must keep exactly one
 * entry per kept copy, which run-case.py checks with skeys-dump.
 */
#ifndef E2E_CXX_HH
#define E2E_CXX_HH

#include "e2e.h"

#include <skeys.h>

namespace e2e {

SKEYS_DECLARE_FALSE(cxx_f);
SKEYS_DECLARE_TRUE(cxx_t);

E2E_NOINLINE inline int inline_site()
{
	return skeys_branch_unlikely(&cxx_f) ? 1 : 0;
}

template <typename T> E2E_NOINLINE int tmpl_site(T scale)
{
	return skeys_branch_likely(&cxx_t) ? static_cast<int>(scale) : 0;
}

class tracer {
public:
	E2E_NOINLINE int member_site() const
	{
		return skeys_branch_likely(&cxx_f) ? on_ : 0;
	}

private:
	int on_ = 1;
};

} // namespace e2e

#endif
