/* SPDX-License-Identifier: MIT */
/*
 * Every width at which the Windows x64 stub routine saves xmm0-5 (xmm,
 * ymm, zmm: each the CPU and OS have), chosen through the runtime's test
 * hook, so linked with the static libskeys alone (run-pe-entries.py): the
 * argument check of pe_entries_args.c under a handler that sets every
 * volatile register, in each. Exit 0 and "pe-save-modes: ok", or 1.
 */
#include "pe_entries_args.h"

#include <skeys.h>

#include "testing.h"

#include <stdio.h>
#include <string.h>

#include "handlers.h"

/* runtime/entry_hook.c, for tests: 0 xmm, 1 ymm, 2 zmm; -1 if the CPU lacks it. */
int skeys__entry_hook_save_mode(int mode);

int main(void)
{
	int ran = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	CHECK_ERR(skeys_check_sealed(), 0);
	for (int mode = 2; mode >= 0; mode--) {
		if (skeys__entry_hook_save_mode(mode) < 0) {
			printf("pe-save-modes: mode %d: not on this CPU\n", mode);
			continue;
		}
		printf("pe-save-modes: mode %d\n", mode);
		failures += pe_args_check(clobber, &hits);
		ran++;
	}
	CHECK(ran >= 1); /* xmm, at least */
	if (failures)
		return 1;
	printf("pe-save-modes: ok (%d modes)\n", ran);
	return 0;
}
