/* SPDX-License-Identifier: MIT */
/* C++ keys in a namespace, and sites in a lambda and in the shared inline code. */
#include "cxx.hh"

namespace e2e {
SKEYS_DEFINE_FALSE(cxx_f);
SKEYS_DEFINE_TRUE(cxx_t);
} // namespace e2e

namespace {

E2E_NOINLINE int a_inline() { return e2e::inline_site(); }
E2E_NOINLINE int a_tmpl_int() { return e2e::tmpl_site<int>(1); }
E2E_NOINLINE int a_member() { return e2e::tracer().member_site(); }

E2E_NOINLINE int a_lambda()
{
	auto site = []() { return skeys_branch_unlikely(&e2e::cxx_t); };
	return site() ? 1 : 0;
}

const e2e_site f_sites[] = {
	E2E_SITE(a_inline),
	E2E_SITE(a_member),
};
const e2e_site t_sites[] = {
	E2E_SITE(a_tmpl_int),
	E2E_SITE(a_lambda),
};

using namespace e2e;
E2E_SKEYS_OPS(cxx_f)
E2E_SKEYS_OPS(cxx_t)

const e2e_key keys[] = {
	E2E_KEY(cxx_f, false, f_sites),
	E2E_KEY(cxx_t, true, t_sites),
};

} // namespace

e2e_group e2e_cxx_a_keys(void)
{
	return e2e_group{ keys, sizeof(keys) / sizeof(keys[0]), false };
}
