/* SPDX-License-Identifier: MIT */
/*
 * Windows: after every toggle, with either write method, the code pages
 * are back to PAGE_EXECUTE_READ; a site whose first byte became an int3 is
 * refused with SKEYS_ERR_BREAKPOINT, nothing written, the protection
 * unchanged. A DLL loaded with LoadLibrary registers its module and
 * FreeLibrary unregisters it: toggles keep working after it is gone, and
 * again when it comes back.
 * The program's own constructors run beside the module's.
 * Exit 0 and "pe-prot: OK", or 1.
 */
#include <skeys.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

SKEYS_DEFINE_FALSE(prot_key);

static int failures;

/*
 * The CRT runs .ctors as one array of pointers: the module's constructor
 * entry must not end it early or put padding in it (an i386 entry aligned
 * to 8 did, and the CRT called the padding).
 */
static int ctor_default, ctor_prio;
__attribute__((constructor)) static void ctor_a(void)
{
	ctor_default = 1;
}
__attribute__((constructor(200))) static void ctor_b(void)
{
	ctor_prio = 1;
}

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("pe-prot: FAIL line %d: %s\n", __LINE__, #cond);  \
			failures++;                                            \
		}                                                              \
	} while (0)

__attribute__((noinline)) int prot_site(void);
__attribute__((noinline)) int prot_site(void)
{
	if (skeys_branch_unlikely(&prot_key))
		return 1;
	return 0;
}

/* The site's nop (common/arch/): what the search looks for and a disable restores. */
#if defined(__i386__)
static const uint8_t nop[5] = { 0x3e, 0x8d, 0x74, 0x26, 0x00 };
#else
static const uint8_t nop[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
#endif

static uint8_t *site_address(void)
{
	int (*fn)(void) = prot_site;
	uint8_t *p;
	int i;

	memcpy(&p, &fn, sizeof(p));
	for (i = 0; i < 64; i++)
		if (!memcmp(p + i, nop, sizeof(nop)))
			return p + i;
	return NULL;
}

static DWORD protection(const void *p)
{
	MEMORY_BASIC_INFORMATION mi;

	if (!VirtualQuery(p, &mi, sizeof(mi)))
		return 0;
	return mi.Protect;
}

int main(void)
{
	static const enum skeys_write_method methods[] = { SKEYS_WRITE_PROCMEM,
							    SKEYS_WRITE_MPROTECT };
	uint8_t *site = site_address(), saved, trap = 0xcc;
	size_t i;

	CHECK(ctor_default && ctor_prio);
	CHECK(site != NULL);
	if (!site)
		return 1;
	CHECK(protection(site) == PAGE_EXECUTE_READ);
	for (i = 0; i < 2; i++) {
		CHECK(skeys_set_write_method(methods[i]) == 0);
		CHECK(skeys_enable(&prot_key) == 0 && prot_site() == 1);
		CHECK(site[0] == 0xe9);
		CHECK(protection(site) == PAGE_EXECUTE_READ);
		CHECK(skeys_disable(&prot_key) == 0 && prot_site() == 0);
		CHECK(site[0] == nop[0]);
		CHECK(protection(site) == PAGE_EXECUTE_READ);
	}
	/* A changed site: refused, left as it is, protection as it was. */
	saved = site[0];
	CHECK(WriteProcessMemory(GetCurrentProcess(), site, &trap, 1, NULL));
	FlushInstructionCache(GetCurrentProcess(), site, 1);
	for (i = 0; i < 2; i++) {
		CHECK(skeys_set_write_method(methods[i]) == 0);
		CHECK(skeys_enable(&prot_key) == SKEYS_ERR_BREAKPOINT);
		CHECK(site[0] == 0xcc && site[1] == nop[1]);
		CHECK(!skeys_enabled(&prot_key));
		CHECK(protection(site) == PAGE_EXECUTE_READ);
	}
	CHECK(WriteProcessMemory(GetCurrentProcess(), site, &saved, 1, NULL));
	FlushInstructionCache(GetCurrentProcess(), site, 1);
	CHECK(skeys_enable(&prot_key) == 0 && prot_site() == 1);
	CHECK(protection(site) == PAGE_EXECUTE_READ);
	for (i = 0; i < 3; i++) {
		HMODULE plugin = LoadLibraryA("pe_plugin.dll");
		int (*check)(void) = NULL;
		FARPROC f = plugin ? GetProcAddress(plugin, "plugin_check") : NULL;
		int k;

		CHECK(f != NULL);
		if (!f)
			break;
		memcpy(&check, &f, sizeof(check));
		CHECK(check() == 0);
		CHECK(FreeLibrary(plugin));
		/* The plugin's table is unmapped: its module must be gone too. */
		for (k = 0; k < 4; k++) {
			CHECK(skeys_disable(&prot_key) == 0 && prot_site() == 0);
			CHECK(skeys_enable(&prot_key) == 0 && prot_site() == 1);
		}
	}
	printf(failures ? "pe-prot: FAILED\n" : "pe-prot: OK\n");
	return failures ? 1 : 0;
}
