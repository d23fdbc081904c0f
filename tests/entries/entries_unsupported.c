/* SPDX-License-Identifier: MIT */
/*
 * Function entries where no function is patchable (riscv64; built by
 * run-entries.py --mode unsupported with -fpatchable-function-entry and
 * sealed): every call naming a function, and attach_all, is
 * SKEYS_ERR_NOTPATCHABLE, the log says why once, arguments are still
 * checked first, detach_all has nothing to undo, and the function runs as
 * it was compiled.
 */
#include <skeys.h>

#include "testing.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static volatile int zero;
static char logged[512];
static int log_lines;

__attribute__((noinline)) int ent_unsupported(int x);
__attribute__((noinline)) int ent_unsupported(int x)
{
	return x + 1 + zero;
}

static int (*volatile fn)(int) = ent_unsupported;

static void handler(void *function, void *data)
{
	(void)function;
	(void)data;
}

static void to_buffer(enum skeys_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)ctx;
	log_lines++;
	snprintf(logged, sizeof(logged), "%s", msg);
}

int main(void)
{
	void *f = (void *)ent_unsupported;

	CHECK_ERR(skeys_check_sealed(), 0);
	skeys_set_log(to_buffer, NULL);
	CHECK_ERR(skeys_entry_attach(NULL, handler, NULL), -EINVAL);
	CHECK_ERR(skeys_entry_attach(f, NULL, NULL), -EINVAL);
	CHECK_ERR(skeys_entry_redirect(f, NULL), -EINVAL);
	CHECK(log_lines == 0);
	CHECK_ERR(skeys_entry_attach(f, handler, NULL), SKEYS_ERR_NOTPATCHABLE);
	printf("logged: %s\n", logged);
	CHECK(strstr(logged, "not patchable on riscv64") != NULL);
	CHECK(strstr(logged, "docs/architectures.md") != NULL);
	CHECK_ERR(skeys_entry_redirect(f, (void *)handler), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_detach(f), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_restore(f), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_attach_all(handler, NULL), SKEYS_ERR_NOTPATCHABLE);
	CHECK_ERR(skeys_entry_detach_all(), 0);
	CHECK(log_lines == 1); /* said once */
	CHECK(fn(1) == 2);
	if (failures)
		return 1;
	puts("entries: unsupported ok");
	return 0;
}
