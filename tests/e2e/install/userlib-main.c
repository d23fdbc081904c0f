/* SPDX-License-Identifier: MIT */
/* Drives userlib.c's key through the library's own functions. */
#include <stdio.h>

int userlib_on(void);
int userlib_enable(void);

int main(void)
{
	int before = userlib_on(), err = userlib_enable(), after = userlib_on();

	printf("userlib: site %d, enable %d, site %d\n", before, err, after);
	return before == 0 && err == 0 && after == 1 ? 0 : 1;
}
