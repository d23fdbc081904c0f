/* SPDX-License-Identifier: MIT */
/* The live patch for livepatch.c: February with the Gregorian rule. */
int days_in_february_fixed(int year);

int days_in_february_fixed(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28;
}
