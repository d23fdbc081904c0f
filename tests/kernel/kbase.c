/* SPDX-License-Identifier: MIT */
/*
 * The base module: keys that another module uses, exported under their
 * kernel names. At load it flips the *_flipped keys, so that the module
 * using them sees keys whose state differs from their definition.
 */
#include "kbase.h"

struct static_key kbase_old_on = STATIC_KEY_INIT_TRUE;
struct static_key kbase_old_off = STATIC_KEY_INIT_FALSE;
struct static_key kbase_old_on_flipped = STATIC_KEY_INIT_TRUE;
struct static_key kbase_old_off_flipped = STATIC_KEY_INIT_FALSE;
EXPORT_SYMBOL_GPL(kbase_old_on);
EXPORT_SYMBOL_GPL(kbase_old_off);
EXPORT_SYMBOL_GPL(kbase_old_on_flipped);
EXPORT_SYMBOL_GPL(kbase_old_off_flipped);

DEFINE_STATIC_KEY_TRUE(kbase_on);
DEFINE_STATIC_KEY_FALSE(kbase_off);
DEFINE_STATIC_KEY_TRUE(kbase_on_flipped);
DEFINE_STATIC_KEY_FALSE(kbase_off_flipped);
EXPORT_SYMBOL(kbase_on);
EXPORT_SYMBOL(kbase_off);
EXPORT_SYMBOL(kbase_on_flipped);
EXPORT_SYMBOL(kbase_off_flipped);

static int flipped;

__attribute__((visibility("default"))) int kbase_flipped_count(void)
{
	return flipped;
}
EXPORT_SYMBOL(kbase_flipped_count);

static void flip(struct static_key *k)
{
	int err = static_key_enabled(k) ? static_key_disable(k) : static_key_enable(k);

	flipped += err == 0;
}

/* The kernel would call this from module_init(); here the loader does. */
__attribute__((constructor(200))) static void kbase_init(void)
{
	flip(&kbase_old_on_flipped);
	flip(&kbase_old_off_flipped);
	flip(&kbase_on_flipped.key);
	flip(&kbase_off_flipped.key);
}
