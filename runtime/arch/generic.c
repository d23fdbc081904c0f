/* SPDX-License-Identifier: MIT */
/*
 * Architectures whose nop and jump may be swapped while other threads run
 * them, with one aligned store (aarch64: B and NOP; see docs): write each
 * site once, then synchronise the cores.
 */
#include "../internal.h"

#include <string.h>

static void fill(struct skeys_patch *p, unsigned k)
{
	(void)k;
	memcpy(p->buf, p->new_, p->len);
}

const struct skeys_protocol skeys_protocol_threads = {
	.phases = 1,
	.fill = fill,
};
