/* SPDX-License-Identifier: MIT */
/*
 * Tool fixture: <skeys/kernel.h> keys through cells (docs/kernel.md). Built
 * twice: as a shared library that defines and exports its keys (its sites'
 * cells are filled from the keys' symbols), and as a PIE with the same keys
 * (filled with addresses of this file). skeys-dump lists each key with its
 * sites through cells (cell_sites) and each cell with the key it stands for
 * (cell_of): two sites of cells_off share a cell.
 */
#include <skeys/kernel.h>

DEFINE_STATIC_KEY_FALSE(cells_off);
DEFINE_STATIC_KEY_TRUE(cells_on);
EXPORT_SYMBOL(cells_off);
EXPORT_SYMBOL(cells_on);

__attribute__((visibility("default"))) int cells_sites(int x);

__attribute__((visibility("default"), noinline)) int cells_sites(int x)
{
	if (static_branch_unlikely(&cells_off))
		x += 1;
	if (static_branch_unlikely(&cells_off))
		x += 2;
	if (static_branch_likely(&cells_on))
		x += 4;
	return x;
}

#ifdef CELLS_MAIN
int main(void)
{
	return cells_sites(0) == 4 ? 0 : 1;
}
#endif
