/* SPDX-License-Identifier: MIT */
/*
 * The supported architectures, one branch each: the compiler's macros that
 * select it, and its header of site templates, which defines SKEYS__ARCH_ID
 * (the module header's `arch`). <skeys.h> and the runtime's
 * skeys_arch_native() both include this, so they cannot disagree on the
 * architecture; the build reads the #include lines as its list of
 * architectures, in this order (common/meson.build). Not a public header.
 *
 * Nothing is defined for an architecture that is not listed: <skeys.h>
 * refuses to compile there, and skeys_arch_native() returns NULL.
 */
#ifndef SKEYS_ARCHES_H
#define SKEYS_ARCHES_H

#if defined(__x86_64__)
#include <skeys/arch/x86_64.h>
#elif defined(__i386__)
#include <skeys/arch/i386.h>
#elif defined(__aarch64__) || defined(__arm64__)
#include <skeys/arch/aarch64.h>
#elif defined(__riscv) && __riscv_xlen == 64
#include <skeys/arch/riscv64.h>
#elif defined(__arm__)
#include <skeys/arch/arm.h>
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ &&   \
	defined(_CALL_ELF) && _CALL_ELF == 2
#include <skeys/arch/ppc64le.h>
#elif defined(__s390x__)
#include <skeys/arch/s390x.h>
#elif defined(__loongarch__) && __loongarch_grlen == 64
#include <skeys/arch/loongarch64.h>
#endif

#endif
