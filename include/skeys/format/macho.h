/* SPDX-License-Identifier: MIT */
/* Mach-O table emission (clang; ld64 and ld64.lld). Included by <skeys.h>. */
#ifndef SKEYS_FORMAT_MACHO_H
#define SKEYS_FORMAT_MACHO_H

/*
 * One entry per site in __DATA,__skeys. `live_support`: under -dead_strip an
 * entry lives exactly when the code it names lives, so dead functions go
 * with their entries. Each field subtracts a private `l_` label rather than
 * `.`: ld64.lld rejects a SUBTRACTOR relocation whose subtrahend is not a
 * symbol ("must be extern").
 */
#define SKEYS__ASM_SITE_LABEL "Lskeys_site%=:\n\t"

#define SKEYS__ASM_ENTRY                                                       \
	".pushsection __DATA,__skeys,regular,live_support\n\t"                 \
	".p2align 2\n\t"                                                       \
	"l_skeys_entry%=:\n\t"                                                 \
	".long Lskeys_site%= - l_skeys_entry%=\n\t"                            \
	".long %l[skeys__yes] - (l_skeys_entry%= + 4)\n\t"                     \
	".long " SKEYS__KEY_OPERAND " + %c[skeys_br] - (l_skeys_entry%= + 8)\n\t" \
	".popsection\n\t"

/*
 * A key's name (struct skeys_name) in __DATA,__skeys_names, kept whatever
 * dead stripping removes (`no_dead_strip`: a key is named whether or not a
 * site of it survived); the string in __TEXT,__cstring.
 */
#define SKEYS__ASM_NAME(str)                                                   \
	".pushsection __DATA,__skeys_names,regular,no_dead_strip\n\t"          \
	".p2align 2\n\t"                                                       \
	"l_skeys_name%=:\n\t"                                                  \
	".long " SKEYS__KEY_OPERAND " - l_skeys_name%=\n\t"                    \
	".long Lskeys_str%= - (l_skeys_name%= + 4)\n\t"                        \
	".long %c[skeys_n]\n\t"                                                \
	".popsection\n\t"                                                      \
	".pushsection __TEXT,__const\n\t"                                      \
	"Lskeys_str%=:\n\t"                                                    \
	".asciz \"" str "\"\n\t"                                              \
	".popsection\n\t"

/*
 * The module header: a weak definition, so that the linker keeps one per
 * image. Mach-O relocations cannot subtract from the linker's undefined
 * section$start/end symbols, so the table and names bounds are left zero
 * here: the constructor fills them in before registering (the tools take
 * the sections instead). Empty __skeys and __skeys_names contributions
 * make sure the sections exist.
 */
#define SKEYS__ASM_MODULE                                                      \
	".ifndef _skeys__module_header\n\t"                                    \
	".pushsection __DATA,__skeys_hdr\n\t"                                  \
	".p2align 3\n\t"                                                       \
	".globl _skeys__module_header\n\t"                                     \
	".weak_definition _skeys__module_header\n\t"                           \
	".private_extern _skeys__module_header\n\t"                            \
	"_skeys__module_header:\n\t"                                           \
	SKEYS__ASM_HEADER_FIELDS                                               \
	".long 0, 0, 0, 0\n\t"                                                 \
	".popsection\n\t"                                                      \
	".pushsection __DATA,__skeys,regular,live_support\n\t"                 \
	".popsection\n\t"                                                      \
	".pushsection __DATA,__skeys_names,regular,no_dead_strip\n\t"          \
	".popsection\n\t"                                                      \
	".endif\n"

/*
 * A static call (<skeys/call.h>): its trampoline from the architecture's
 * template (SKEYS__ASM_CALL_TRAMP) in __TEXT,__skeys_tramp, its entry in
 * __DATA,__skeys_calls (live_support: it lives while its trampoline does,
 * as a site's entry does) and the module's call table header in
 * __DATA,__skeys_chdr, a weak definition the linker keeps one of per image
 * (section names are 16 bytes at most). As for the key header, Mach-O
 * cannot subtract the linker's section$start/end symbols, so the table's
 * bounds are zero here: skeys-seal writes them (the table is its section),
 * and the runtime refuses an unsealed table anyway. `kind` is 0,
 * SKEYS_CALL_F_NULL or SKEYS_CALL_F_RET0.
 */
#define SKEYS__ASM_CALL(name, kind)                                            \
	".pushsection __TEXT,__skeys_tramp,regular,pure_instructions\n\t"      \
	SKEYS__CALL_ALIGN                                                      \
	".globl _skeys__tramp_" #name "\n\t"                                   \
	".private_extern _skeys__tramp_" #name "\n\t"                          \
	"_skeys__tramp_" #name ":\n\t"                                         \
	SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	SKEYS__CALL_ALIGN                                                      \
	".popsection\n\t"                                                      \
	".pushsection __DATA,__skeys_calls,regular,live_support\n\t"           \
	".p2align 2\n\t"                                                       \
	"l_skeys_call_" #name ":\n\t"                                          \
	".long _skeys__tramp_" #name " + " SKEYS__CALL_SLOT                    \
	" - l_skeys_call_" #name "\n\t"                                        \
	".long _skeys__tramp_" #name " + " SKEYS__CALL_SLOT " + "              \
	SKEYS__CALL_SLOT_LEN " - (l_skeys_call_" #name " + 4)\n\t"             \
	".long _skeys__call_" #name " + " #kind                                \
	" - (l_skeys_call_" #name " + 8)\n\t"                                  \
	".popsection\n\t"                                                      \
	".ifndef _skeys__calls_header\n\t"                                     \
	".pushsection __DATA,__skeys_chdr\n\t"                                 \
	".p2align 3\n\t"                                                       \
	".globl _skeys__calls_header\n\t"                                      \
	".weak_definition _skeys__calls_header\n\t"                            \
	".private_extern _skeys__calls_header\n\t"                             \
	"_skeys__calls_header:\n\t"                                            \
	".ascii \"" SKEYS_CALLS_MAGIC "\"\n\t"                                 \
	".short " SKEYS__STR(SKEYS_CALLS_VERSION) ", 40, "                       \
	SKEYS__STR(SKEYS_ENTRY_SIZE) ", " SKEYS__STR(SKEYS__ARCH_ID) "\n\t"      \
	".long 0, 0\n\t"                                                       \
	".quad 0\n\t"                                                          \
	".long 0, 0\n\t"                                                       \
	".popsection\n\t"                                                      \
	".endif\n"

/*
 * Registration in C: every translation unit emits the same weak constructor
 * and destructor (clang registers the destructor with __cxa_atexit for the
 * image, so a dylib unregisters at dlclose). The linker keeps one copy, but
 * each unit's __mod_init_func slot still calls it: the flag makes the
 * second and later calls do nothing.
 */
#ifndef SKEYS_NO_MODULE
#ifdef __cplusplus
extern "C" {
#endif
extern struct skeys_header skeys__module_header __attribute__((visibility("hidden")));
extern const char skeys__table_start[] __asm__("section$start$__DATA$__skeys")
	__attribute__((visibility("hidden")));
extern const char skeys__table_stop[] __asm__("section$end$__DATA$__skeys")
	__attribute__((visibility("hidden")));
extern const char skeys__names_start[] __asm__("section$start$__DATA$__skeys_names")
	__attribute__((visibility("hidden")));
extern const char skeys__names_stop[] __asm__("section$end$__DATA$__skeys_names")
	__attribute__((visibility("hidden")));
void skeys_module_register(const struct skeys_header *header);
void skeys_module_unregister(const struct skeys_header *header);
void skeys__module_ctor(void);
void skeys__module_dtor(void);
__attribute__((weak, visibility("hidden"))) unsigned char skeys__module_state;

__attribute__((weak, visibility("hidden"), constructor)) void skeys__module_ctor(void)
{
	if (skeys__module_state == 0) {
		skeys__module_state = 1;
		skeys__module_header.start = (int32_t)((uintptr_t)skeys__table_start -
						       (uintptr_t)&skeys__module_header.start);
		skeys__module_header.stop = (int32_t)((uintptr_t)skeys__table_stop -
						      (uintptr_t)&skeys__module_header.stop);
		skeys__module_header.names_start =
			(int32_t)((uintptr_t)skeys__names_start -
				  (uintptr_t)&skeys__module_header.names_start);
		skeys__module_header.names_stop =
			(int32_t)((uintptr_t)skeys__names_stop -
				  (uintptr_t)&skeys__module_header.names_stop);
		skeys_module_register(&skeys__module_header);
	}
}

__attribute__((weak, visibility("hidden"), destructor)) void skeys__module_dtor(void)
{
	if (skeys__module_state == 1) {
		skeys__module_state = 2;
		skeys_module_unregister(&skeys__module_header);
	}
}
#ifdef __cplusplus
}
#endif
#endif

#endif
