/* SPDX-License-Identifier: MIT */
/*
 * The Linux kernel's static-key names, mapped onto skeys. Code written
 * against <linux/jump_label.h> compiles unchanged in user space; the
 * switching calls return skeys' error code where the kernel's return void.
 */
#ifndef SKEYS_KERNEL_H
#define SKEYS_KERNEL_H

#include <skeys.h>

#define DEFINE_STATIC_KEY_TRUE(name) SKEYS_DEFINE_TRUE(name)
#define DEFINE_STATIC_KEY_FALSE(name) SKEYS_DEFINE_FALSE(name)
#define DECLARE_STATIC_KEY_TRUE(name) SKEYS_DECLARE_TRUE(name)
#define DECLARE_STATIC_KEY_FALSE(name) SKEYS_DECLARE_FALSE(name)

#define static_branch_likely(k) skeys_branch_likely(k)
#define static_branch_unlikely(k) skeys_branch_unlikely(k)

#define static_branch_enable(k) skeys_enable(k)
#define static_branch_disable(k) skeys_disable(k)
#define static_branch_inc(k) skeys_inc(k)
#define static_branch_dec(k) skeys_dec(k)
#define static_key_enabled(k) skeys_enabled(k)

#endif
