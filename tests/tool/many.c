/* SPDX-License-Identifier: MIT */
/* Keys and entry point of the 1M-site fixture; the sites are in many_sites.S. */
#include <skeys.h>

SKEYS_DEFINE_FALSE(many_key_a);
SKEYS_DEFINE_FALSE(many_key_b);

void many_sites(void);

int main(void)
{
	many_sites();
	return 0;
}
