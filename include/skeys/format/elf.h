/* SPDX-License-Identifier: MIT */
/* ELF table emission. Included by <skeys.h>; not a public header. */
#ifndef SKEYS_FORMAT_ELF_H
#define SKEYS_FORMAT_ELF_H

/*
 * One entry per site, in a section linked ("o") to the site's label and in
 * the site's COMDAT group ("?"): the entry lives and dies with the code that
 * holds the site, so C++ inline functions keep one entry per kept copy and
 * --gc-sections drops the entries of dead functions.
 */
#define SKEYS__ASM_ENTRY_KEY(key)                                              \
	".pushsection __skeys,\"ao?\"," SKEYS__SECTION_TYPE_EXT                \
	",.Lskeys_site%=\n\t"                                                  \
	".balign 4\n\t"                                                        \
	".long .Lskeys_site%= - .\n\t"                                         \
	".long %l[skeys__yes] - .\n\t"                                         \
	".long " key " + " SKEYS__CONST("skeys_br") " + "                      \
	SKEYS__SITE_MODE " - .\n\t"                                            \
	".popsection\n\t"
#define SKEYS__ASM_ENTRY SKEYS__ASM_ENTRY_KEY(SKEYS__KEY_OPERAND)

#define SKEYS__ASM_SITE_LABEL ".Lskeys_site%=:\n\t"

/*
 * A key's name (struct skeys_name), emitted by SKEYS__NAME's function. The
 * entry is retained ("R"): a key is named whether or not a site of it
 * survived --gc-sections, and the entry keeps the key it names. The string
 * goes to a read-only section of its own, kept by the entry's reference.
 */
#define SKEYS__ASM_NAME_KEY(str, key)                                          \
	".pushsection __skeys_names,\"aR\"," SKEYS__SECTION_TYPE_EXT "\n\t"   \
	".balign 4\n\t"                                                        \
	".long " key " - .\n\t"                                                \
	".long .Lskeys_name%= - .\n\t"                                         \
	".long " SKEYS__CONST("skeys_n") "\n\t"                                \
	".popsection\n\t"                                                      \
	".pushsection __skeys_str,\"a\"," SKEYS__SECTION_TYPE_EXT "\n\t"      \
	".Lskeys_name%=:\n\t"                                                  \
	".asciz \"" str "\"\n\t"                                              \
	".popsection\n\t"
#define SKEYS__ASM_NAME(str) SKEYS__ASM_NAME_KEY(str, SKEYS__KEY_OPERAND)

/*
 * Cells (<skeys/kernel.h>): a site or a name entry names a proxy key of
 * its translation unit, whose slot, a pointer to the key that the dynamic
 * linker fills in, lets position-independent code name a key that may be
 * of another module (struct skeys_kcell: the proxy, `link` = the slot,
 * then the slot; 24 bytes on every target). The asm defines the cell once
 * per translation unit and symbol `sym` (`.ifndef`), in writable data
 * outside any COMDAT group: the sites of every function of the unit,
 * inline and template ones included, share it. `key` is the key as the
 * operand prints it (symbol+offset), `on` its initial state, `flags`
 * added to the proxy's (SKEYS_KEY_F_NAMED for a name's cell).
 */
#define SKEYS__ASM_CELL(sym, key, on, flags)                                   \
	".ifndef " sym "\n\t"                                                   \
	".pushsection .data.rel.skeys_cells,\"aw\"," SKEYS__SECTION_TYPE_EXT   \
	"\n\t"                                                                  \
	".balign 8\n\t"                                                        \
	".type " sym ", %%object\n\t"                                          \
	".size " sym ", 24\n\t"                                                \
	sym ":\n\t"                                                             \
	".long " on ", " SKEYS__KEY_PROXY_ASM " | " flags " | " on "\n\t"        \
	SKEYS__PTR_DIRECTIVE " " sym " + 16\n\t"                                \
	".balign 8\n\t"                                                        \
	SKEYS__PTR_DIRECTIVE " " key "\n\t"                                     \
	".balign 8\n\t"                                                        \
	".popsection\n\t"                                                       \
	".endif\n\t"

/*
 * Constructor arrays are plain pointer arrays: padding in one would be
 * called as a null function, so align them to the pointer size exactly.
 */
#if __SIZEOF_POINTER__ == 8
#define SKEYS__PTR_ALIGN ".balign 8\n\t"
#else
#define SKEYS__PTR_ALIGN ".balign 4\n\t"
#endif

/*
 * The function entries part of the module header (struct skeys_fentries):
 * the bounds of the compiler's table of patchable functions, the rest left
 * for skeys-seal.
 */
#define SKEYS__ASM_FENTRIES                                                    \
	".long __start___patchable_function_entries - .\n\t"                  \
	".long __stop___patchable_function_entries - .\n\t"                   \
	".long 0, 0\n\t"                                                       \
	".byte " SKEYS__STR(__SIZEOF_POINTER__) ", 0, 0, 0, 0, 0, 0, 0\n\t"    \
	".quad 0\n\t"

/*
 * An empty contribution to that table, so that its bounds exist in a
 * module without a patchable function. Like the compiler's own, it is
 * linked ("o") to code, here the module constructor, and in the module's
 * COMDAT group: it goes with the copy that is kept, and --gc-sections
 * keeps it with that code. GNU as (2.35 on) and clang from 18 read the
 * linked-to symbol before the group, clang before 18 after it.
 */
#if defined(__clang__) && __clang_major__ < 18
#define SKEYS__FENTRIES_EMPTY_ARGS ",skeys__module,comdat,skeys__module_ctor"
#else
#define SKEYS__FENTRIES_EMPTY_ARGS ",skeys__module_ctor,skeys__module,comdat"
#endif
#define SKEYS__ASM_FENTRIES_EMPTY                                              \
	".pushsection __patchable_function_entries,\"awoG\","                  \
	SKEYS__SECTION_TYPE SKEYS__FENTRIES_EMPTY_ARGS "\n\t"                  \
	SKEYS__PTR_ALIGN                                                       \
	".popsection\n\t"

/*
 * The module header, its constructor and destructor, and empty retained
 * table and names contributions (so __start___skeys and
 * __start___skeys_names exist even when every site was collected), all in one COMDAT group: every translation unit that includes
 * <skeys.h> emits them, the linker keeps one copy per module. Symbols are
 * weak so that LTO's symbol tables accept the copies; `.ifndef` keeps one
 * copy when LTO merges translation units into one assembly file.
 */
#define SKEYS__ASM_MODULE                                                      \
	".ifndef skeys__module_header\n\t"                                     \
	".pushsection __skeys_hdr,\"aG\"," SKEYS__SECTION_TYPE                 \
	",skeys__module,comdat\n\t"                                            \
	".balign 8\n\t"                                                        \
	".weak skeys__module_header\n\t"                                       \
	".hidden skeys__module_header\n\t"                                     \
	".type skeys__module_header, %object\n\t"                              \
	"skeys__module_header:\n\t"                                            \
	".hidden __start___skeys\n\t"                                         \
	".hidden __stop___skeys\n\t"                                          \
	".hidden __start___skeys_names\n\t"                                   \
	".hidden __stop___skeys_names\n\t"                                    \
	".hidden __start___patchable_function_entries\n\t"                   \
	".hidden __stop___patchable_function_entries\n\t"                    \
	SKEYS__ASM_HEADER_FIELDS_SIZED(SKEYS__STR(SKEYS_HEADER_SIZE_ENTRIES)) \
	".long __start___skeys - .\n\t"                                        \
	".long __stop___skeys - .\n\t"                                         \
	".long __start___skeys_names - .\n\t"                                  \
	".long __stop___skeys_names - .\n\t"                                   \
	SKEYS__ASM_FENTRIES                                                    \
	".size skeys__module_header, " SKEYS__STR(SKEYS_HEADER_SIZE_ENTRIES) "\n\t" \
	".popsection\n\t"                                                      \
	".pushsection __skeys,\"aGR\"," SKEYS__SECTION_TYPE                    \
	",skeys__module,comdat\n\t"                                            \
	".balign 4\n\t"                                                        \
	".popsection\n\t"                                                      \
	".pushsection __skeys_names,\"aGR\"," SKEYS__SECTION_TYPE              \
	",skeys__module,comdat\n\t"                                            \
	".balign 4\n\t"                                                        \
	".popsection\n\t"                                                      \
	".pushsection .init_array.00100,\"awG\",%init_array,skeys__module,comdat\n\t" \
	SKEYS__PTR_ALIGN                                                       \
	SKEYS__PTR_DIRECTIVE " skeys__module_ctor\n\t"                         \
	".popsection\n\t"                                                      \
	".pushsection .fini_array.00100,\"awG\",%fini_array,skeys__module,comdat\n\t" \
	SKEYS__PTR_ALIGN                                                       \
	SKEYS__PTR_DIRECTIVE " skeys__module_dtor\n\t"                         \
	".popsection\n\t"                                                      \
	".pushsection .text.skeys__module,\"axG\"," SKEYS__SECTION_TYPE        \
	",skeys__module,comdat\n\t"                                            \
	SKEYS__ASM_TEXT_ENTER                                                  \
	".weak skeys__module_ctor\n\t"                                         \
	".hidden skeys__module_ctor\n\t"                                       \
	".type skeys__module_ctor, %function\n\t"                              \
	"skeys__module_ctor:\n\t"                                              \
	SKEYS__ASM_TAILCALL("skeys_module_register", "skeys__module_ctor")     \
	".size skeys__module_ctor, . - skeys__module_ctor\n\t"                 \
	".weak skeys__module_dtor\n\t"                                         \
	".hidden skeys__module_dtor\n\t"                                       \
	".type skeys__module_dtor, %function\n\t"                              \
	"skeys__module_dtor:\n\t"                                              \
	SKEYS__ASM_TAILCALL("skeys_module_unregister", "skeys__module_dtor")   \
	".size skeys__module_dtor, . - skeys__module_dtor\n\t"                 \
	SKEYS__ASM_TEXT_LEAVE                                                  \
	".popsection\n\t"                                                      \
	SKEYS__ASM_FENTRIES_EMPTY                                              \
	".endif\n"

/*
 * Inline call sites, where the architecture rewrites them (SKEYS__CALL_SITES,
 * <skeys/abi.h>): `n` empty entries of the module's site table, and its
 * header, which follows the call table's header (then 80 bytes, flagged
 * SKEYS_CALLS_F_SITES). skeys_call_cond() sites call the trampoline under a
 * second name, skeys__tcond_NAME, so that skeys-seal can tell them apart;
 * untyped, so that the tools name the trampoline by its first name.
 */
#if defined(__x86_64__)
/* Calls to a trampoline may be rewritten in place (inline call sites, <skeys/abi.h>). */
#define SKEYS__CALL_SITES 1
#endif
#ifdef SKEYS__CALL_SITES
#define SKEYS__ASM_CALL_SITES(n)                                               \
	".pushsection " SKEYS_SECTION_CSITES ",\"aR\"," SKEYS__SECTION_TYPE "\n\t" \
	".balign 4\n\t"                                                        \
	".zero " SKEYS__STR(SKEYS_ENTRY_SIZE) " * (" n ")\n\t"                 \
	".popsection\n\t"
#define SKEYS__ASM_CALL_COND(name)                                             \
	".globl skeys__tcond_" #name "\n\t"                                    \
	".hidden skeys__tcond_" #name "\n\t"                                   \
	"skeys__tcond_" #name ":\n\t"
#define SKEYS__CALL_HDR_FLAGS "2" /* SKEYS_CALLS_F_SITES */
#define SKEYS__CALL_HDR_SIZE "80"
#define SKEYS__ASM_CALL_SITES_HDR                                              \
	".hidden __start___skeys_csites\n\t"                                   \
	".hidden __stop___skeys_csites\n\t"                                    \
	".ascii \"" SKEYS_CSITES_MAGIC "\"\n\t"                                \
	".short " SKEYS__STR(SKEYS_CALLS_VERSION) ", 40, "                       \
	SKEYS__STR(SKEYS_ENTRY_SIZE) ", " SKEYS__STR(SKEYS__ARCH_ID) "\n\t"    \
	".long 0, 0\n\t"                                                       \
	".quad 0\n\t"                                                          \
	".long __start___skeys_csites - .\n\t"                                 \
	".long __stop___skeys_csites - .\n\t"
#else
#define SKEYS__ASM_CALL_SITES(n) ""
#define SKEYS__ASM_CALL_COND(name) ""
#define SKEYS__CALL_HDR_FLAGS "0"
#define SKEYS__CALL_HDR_SIZE "40"
#define SKEYS__ASM_CALL_SITES_HDR ""
#endif

/*
 * SKEYS_EXPORT_CALL: the trampoline under a name other modules can bind
 * to, skeys__xtramp_NAME, which an importer's proxy jumps through until an
 * update rewrites it. Typed in the trampoline's instruction set (arm: A32;
 * LLVM's assembler marks a function symbol typed in Thumb mode as Thumb,
 * and an importer's bx to it would run the A32 trampoline as Thumb).
 */
#define SKEYS__ASM_CALL_EXPORT(name)                                           \
	SKEYS__ASM_MODE_ENTER                                                  \
	".globl skeys__xtramp_" #name "\n\t"                                   \
	".type skeys__xtramp_" #name ", %function\n\t"                         \
	".set skeys__xtramp_" #name ", skeys__tramp_" #name "\n\t"             \
	SKEYS__ASM_TEXT_LEAVE

/*
 * A static call (<skeys/call.h>): its trampoline, from the architecture's
 * template (SKEYS__ASM_CALL_TRAMP, in .text.skeys_call, in the instruction
 * set SKEYS__ASM_TEXT_ENTER selects, as the module constructor), its entry in the
 * retained call table (code = the slot the runtime rewrites, target = the
 * tail after it, key = the call object plus `kind`), and the module's call
 * table header, once per module (COMDAT, as the key header), of the first
 * size (SKEYS_HEADER_SIZE_V1, 40: no names table). `kind` is 0,
 * SKEYS_CALL_F_NULL or SKEYS_CALL_F_RET0.
 */
#define SKEYS__ASM_CALL(name, kind)                                            \
	".pushsection .text.skeys_call,\"ax\"," SKEYS__SECTION_TYPE "\n\t"     \
	SKEYS__ASM_TEXT_ENTER                                                  \
	SKEYS__CALL_ALIGN                                                      \
	".globl skeys__tramp_" #name "\n\t"                                    \
	".hidden skeys__tramp_" #name "\n\t"                                   \
	".type skeys__tramp_" #name ", %function\n\t"                          \
	"skeys__tramp_" #name ":\n\t"                                          \
	SKEYS__ASM_CALL_COND(name)                                             \
	SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	SKEYS__CALL_ALIGN                                                      \
	".size skeys__tramp_" #name ", " SKEYS__CALL_SIZE "\n\t"               \
	SKEYS__ASM_TEXT_LEAVE                                                  \
	".popsection\n\t"                                                      \
	".pushsection __skeys_calls,\"aR\"," SKEYS__SECTION_TYPE "\n\t"        \
	".balign 4\n\t"                                                        \
	".long skeys__tramp_" #name " + " SKEYS__CALL_SLOT " - .\n\t"          \
	".long skeys__tramp_" #name " + " SKEYS__CALL_SLOT " + "               \
	SKEYS__CALL_SLOT_LEN " - .\n\t"                                        \
	".long skeys__call_" #name " + " #kind " - .\n\t"                      \
	".popsection\n\t"                                                      \
	SKEYS__ASM_CALL_SITES(SKEYS__STR(SKEYS_CALL_SITES))                    \
	".ifndef skeys__calls_header\n\t"                                      \
	".pushsection __skeys_calls_hdr,\"aG\"," SKEYS__SECTION_TYPE           \
	",skeys__calls,comdat\n\t"                                             \
	".balign 8\n\t"                                                        \
	".weak skeys__calls_header\n\t"                                        \
	".hidden skeys__calls_header\n\t"                                      \
	".type skeys__calls_header, %object\n\t"                               \
	"skeys__calls_header:\n\t"                                             \
	".hidden __start___skeys_calls\n\t"                                    \
	".hidden __stop___skeys_calls\n\t"                                     \
	".ascii \"" SKEYS_CALLS_MAGIC "\"\n\t"                                 \
	".short " SKEYS__STR(SKEYS_CALLS_VERSION) ", 40, "                       \
	SKEYS__STR(SKEYS_ENTRY_SIZE) ", " SKEYS__STR(SKEYS__ARCH_ID) "\n\t"      \
	".long " SKEYS__CALL_HDR_FLAGS ", 0\n\t"                                \
	".quad 0\n\t"                                                          \
	".long __start___skeys_calls - .\n\t"                                  \
	".long __stop___skeys_calls - .\n\t"                                   \
	SKEYS__ASM_CALL_SITES_HDR                                              \
	".size skeys__calls_header, " SKEYS__CALL_HDR_SIZE "\n\t"              \
	".popsection\n\t"                                                      \
	".endif\n"

#endif
