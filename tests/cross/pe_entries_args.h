/* SPDX-License-Identifier: MIT */
/*
 * Function entries on Windows x86-64: functions taking the Windows x64
 * convention's argument shapes, and the check that a handler leaves them
 * unchanged (pe_entries_args.c; used by pe_entries.c and pe_save_modes.c).
 */
#ifndef PE_ENTRIES_ARGS_H
#define PE_ENTRIES_ARGS_H

#include <skeys.h>

double exe_floats(double a, float b, double c, float d);
double exe_mixed(int a, double b, long long c, float d, int e, double f);
double exe_sum(int n, ...);

/*
 * Attach `handler` (which counts its calls in *hits, on this thread) to the
 * three, call each and compare with the untraced results, detach. Returns
 * the number of failed checks, each reported on stderr.
 */
int pe_args_check(skeys_entry_fn *handler, const long *hits);

#endif
