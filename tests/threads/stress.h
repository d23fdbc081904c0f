/* SPDX-License-Identifier: MIT */
/*
 * tests/threads: what stress.c shares with the modes of its OS
 * (stress-linux.c, stress-windows.c), whose trap handling differs.
 */
#ifndef SKEYS_TESTS_THREADS_STRESS_H
#define SKEYS_TESTS_THREADS_STRESS_H

#include <skeys.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

SKEYS_DECLARE_FALSE(k0);
SKEYS_DECLARE_FALSE(k1);

/* k0's site at the very start of the function (the trap tests rely on it). */
int k0_u(void);

/* Set to end idle() and the runners. */
extern atomic_bool stop;

/* Runs k0's site until `stop`. */
void *idle(void *arg);

double now(void);

/* True (and says which) when a mapping is writable and executable. */
bool wx_mapping(void);

/* The runtime's test hook: called after each phase of a multi-threaded write. */
void skeys__set_phase_hook(void (*hook)(unsigned phase, uintptr_t first_site));

/* The OS's own modes (`chain`, `single`, ...): their status, or -1 for another mode. */
int stress_os_mode(const char *mode, const char *arg);

/* Linux: signals, fork, debuggers (hostile-linux.c); -1 for another mode. */
int hostile_mode(const char *mode, const char *arg);

/* Its modes for the usage line. */
extern const char stress_os_modes[];

#endif
