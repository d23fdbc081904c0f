/* SPDX-License-Identifier: MIT */
/*
 * A key in .data.rel.ro: writable data in the file, but the loader makes it
 * read-only once relocated (PT_GNU_RELRO), so the runtime could never
 * switch it. skeys-seal must refuse the file (tool-negative@relro-key), and
 * the runtime must refuse the key: run unsealed, this program enables it
 * and expects SKEYS_ERR_NOTKEY, where a key in .data gets
 * SKEYS_ERR_UNSEALED (the module is not sealed) instead.
 */
#include <skeys.h>
#include <stdio.h>

__attribute__((section(".data.rel.ro"))) SKEYS_DEFINE_FALSE(relro_key);
SKEYS_DEFINE_FALSE(data_key);

__attribute__((noinline)) static int relro_site(int x)
{
	if (skeys_branch_unlikely(&relro_key))
		return x + 1;
	return x;
}

__attribute__((noinline)) static int data_site(int x)
{
	if (skeys_branch_unlikely(&data_key))
		return x + 2;
	return x;
}

int main(void)
{
	int relro = skeys_enable(&relro_key), data = skeys_enable(&data_key);

	printf("relro_key: %s\ndata_key: %s\n", skeys_strerror(relro), skeys_strerror(data));
	if (relro != SKEYS_ERR_NOTKEY || data != SKEYS_ERR_UNSEALED || relro_site(0) != 0 ||
	    data_site(0) != 0)
		return 1;
	return 0;
}
