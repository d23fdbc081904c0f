/* SPDX-License-Identifier: MIT */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static skeys_log_fn log_fn;
static void *log_ctx;

void skeys_log_set(skeys_log_fn fn, void *ctx)
{
	skeys_lock_take();
	log_fn = fn;
	log_ctx = ctx;
	skeys_lock_release();
}

void skeys_log(enum skeys_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	static const char *const level_names[] = { "error", "warning", "info", "debug" };

	/* Without a callback, SKEYS_LOG may ask for stderr (runtime/env.c). */
	if (!log_fn && (int)level > skeys_env_log_level())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fn)
		log_fn(level, msg, log_ctx);
	else
		fprintf(stderr, "skeys: %s: %s\n",
			(unsigned)level < 4 ? level_names[level] : "log", msg);
}

SKEYS_API const char *skeys_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case SKEYS_ERR_UNSEALED:
		return "module table not sealed: run skeys-seal on the binary after linking";
	case SKEYS_ERR_MISMATCH:
		return "a site does not hold the instruction expected for the key's state";
	case SKEYS_ERR_OUTSIDE:
		return "a site lies outside the executable code of its module";
	case SKEYS_ERR_COUNT:
		return "key reference count would drop below zero or overflow";
	case SKEYS_ERR_CHECKSUM:
		return "module table changed after sealing (checksum mismatch)";
	case SKEYS_ERR_ABI:
		return "module table built for another skeys ABI version or architecture";
	case SKEYS_ERR_NOTKEY:
		return "pointer does not designate a skeys key";
	case SKEYS_ERR_NOTREADY:
		return "the key's module is not registered yet (switched before its constructors "
		       "ran) or any more (after its destructors ran)";
	case SKEYS_ERR_BREAKPOINT:
		return "a site holds a breakpoint, probably a debugger's or a uprobe's: delete it, "
		       "then switch the key";
	case SKEYS_ERR_NOTPATCHABLE:
		return "not a patchable function of a registered module (compile it with "
		       "-fpatchable-function-entry=5 or more, include <skeys.h> in its module)";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown skeys error";
}
