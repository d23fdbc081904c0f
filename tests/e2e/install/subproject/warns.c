/* SPDX-License-Identifier: MIT */
/* Warns (an unused variable) and must still build: skeys's werror is its own. */
int main(void)
{
	int unused;

	return 0;
}
