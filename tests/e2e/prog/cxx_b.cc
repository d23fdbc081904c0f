/* SPDX-License-Identifier: MIT */
/* The same inline function and template used from a second translation unit. */
#include "cxx.hh"

namespace {

E2E_NOINLINE int b_inline() { return e2e::inline_site(); }
E2E_NOINLINE int b_tmpl_int() { return e2e::tmpl_site<int>(1); }
E2E_NOINLINE int b_tmpl_double() { return e2e::tmpl_site<double>(1.0); }
E2E_NOINLINE int b_member() { return e2e::tracer().member_site(); }

const e2e_site f_sites[] = {
	E2E_SITE(b_inline),
	E2E_SITE(b_member),
};
const e2e_site t_sites[] = {
	E2E_SITE(b_tmpl_int),
	E2E_SITE(b_tmpl_double),
};

using namespace e2e;
E2E_SKEYS_OPS(cxx_f)
E2E_SKEYS_OPS(cxx_t)

const e2e_key keys[] = {
	E2E_KEY(cxx_f, false, f_sites),
	E2E_KEY(cxx_t, true, t_sites),
};

} // namespace

e2e_group e2e_cxx_b_keys(void)
{
	return e2e_group{ keys, sizeof(keys) / sizeof(keys[0]), false };
}
