/* SPDX-License-Identifier: MIT */
/*
 * Architectures whose nop and jump may be swapped while other threads run
 * them, with one aligned store (aarch64: B and NOP; see docs): write each
 * site once, then synchronise the cores. Serialising a core is one
 * instruction on each; elsewhere a full barrier is all there is.
 */
#include "../internal.h"

const struct skeys_protocol skeys_protocol_threads = {
	.phases = 1,
	.one_store = true,
};

/* Breakpoint instructions vary within these architectures (arm: A32 and Thumb): not told. */
bool skeys_arch_breakpoint_on(const struct skeys_patch *p)
{
	(void)p;
	return false;
}

void skeys_arch_serialise(void)
{
#if defined(__aarch64__) || defined(__arm__)
	__asm__ volatile("isb" ::: "memory");
#elif defined(__riscv)
	__asm__ volatile("fence.i" ::: "memory");
#else
	__sync_synchronize();
#endif
}
