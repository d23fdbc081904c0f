/* SPDX-License-Identifier: MIT */
/*
 * Compile-only: two sites in one C++ function, the second in a declaration's
 * initialiser. clang++ < 17 rejects this when the site is a plain statement
 * expression ("cannot jump from this asm goto statement to one of its possible
 * targets", LLVM 17 fixed it; ClangBuiltLinux issue 1886): <skeys.h> wraps
 * sites in an always-inline lambda for those compilers.
 */
#include <skeys.h>

SKEYS_DEFINE_FALSE(e2e_pair_key);

int e2e_init_pair();
int e2e_init_pair()
{
	bool a = skeys_branch_unlikely(&e2e_pair_key);
	bool b = skeys_branch_likely(&e2e_pair_key);

	return a + b;
}
