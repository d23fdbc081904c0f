/* SPDX-License-Identifier: MIT */
/* PE/COFF table emission (mingw-w64 gcc and clang). Included by <skeys.h>. */
#ifndef SKEYS_FORMAT_COFF_H
#define SKEYS_FORMAT_COFF_H

/*
 * COFF assemblers (GNU as 2.40, LLVM MC 14) have no .pushsection/.popsection,
 * so the entry goes to a grouped section and the site's function must be in
 * plain `.text` for the switch back to land where it left. The linker merges
 * .skeys$a (header), .skeys$m (entries) and .skeys$z (end) into one `.skeys`
 * section, in that order.
 *
 * A site in any other section (gcc's .text.startup and .text.unlikely,
 * -ffunction-sections, a C++ inline function or template in its COMDAT
 * section) would silently put the rest of its function into .text: the
 * `.if` below makes such a build fail in the assembler instead, because
 * the distance between two labels of different sections is not a constant.
 */
#define SKEYS__ASM_SITE_LABEL ".Lskeys_site%=:\n\t"

#define SKEYS__ASM_ENTRY                                                       \
	".Lskeys_end%=:\n\t"                                                   \
	".section .skeys$m,\"dr\"\n\t"                                         \
	".balign 4\n\t"                                                        \
	".long .Lskeys_site%= - .\n\t"                                         \
	".long %l[skeys__yes] - .\n\t"                                         \
	".long " SKEYS__KEY_OPERAND " + %c[skeys_br] - .\n\t"                  \
	".text\n\t"                                                            \
	".Lskeys_back%=:\n\t"                                                  \
	".section .skeys_in_text_only,\"n\"\n\t"                               \
	".uleb128 .Lskeys_back%= - .Lskeys_end%=\n\t"                            \
	".text\n\t"

/*
 * A key's name (struct skeys_name): entries in .skeysn$m, between the
 * module's .skeysn$a and .skeysn$z, which the linker merges into one
 * `.skeysn` section; the string in .rdata. SKEYS__NAME's function is plain
 * .text, where the switch back lands.
 */
#define SKEYS__ASM_NAME(str)                                                   \
	".section .skeysn$m,\"dr\"\n\t"                                        \
	".balign 4\n\t"                                                        \
	".long " SKEYS__KEY_OPERAND " - .\n\t"                                 \
	".long .Lskeys_name%= - .\n\t"                                         \
	".long %c[skeys_n]\n\t"                                                \
	".section .rdata$skeysn,\"dr\"\n\t"                                    \
	".Lskeys_name%=:\n\t"                                                  \
	".asciz \"" str "\"\n\t"                                              \
	".text\n\t"

/*
 * COFF has no hidden visibility, but clang takes the attribute as "defined in
 * this module", which its mingw target needs to accept a declared key as a
 * constant. gcc ignores it with a warning; it needs -mcmodel=small instead
 * (its default medium model reaches external data through a .refptr).
 */
#if defined(__clang__)
#define SKEYS__KEY_ATTR __attribute__((visibility("hidden")))
#else
#define SKEYS__KEY_ATTR
#endif

/*
 * Keys across modules. The exporter's pointer is a DLL (or EXE) export, so
 * that an import library and GetProcAddress see it. The importer declares
 * it as plain external data: `dllimport` would make its address a load-time
 * value, not the constant the proxy's initializer needs, so the linker
 * auto-imports it instead (a pseudo-relocation the mingw-w64 CRT applies
 * before any constructor runs, hence before the module registers). This is
 * the dynamic linker's symbol binding of ELF: the importer is linked against
 * the exporter (its import library) and cannot load without it.
 */
#define SKEYS__EXPORT_ATTR __attribute__((dllexport))
#define SKEYS__IMPORT_ATTR

/*
 * The assembler name of a C symbol: i386 COFF prefixes C names with `_`
 * (__USER_LABEL_PREFIX__), x86-64 does not. The module's own symbols are
 * spelled that way too, as GNU ld exports every global symbol of a DLL
 * without a .def file and takes each for a decorated C name.
 */
#define SKEYS__SYM(name) SKEYS__STR(__USER_LABEL_PREFIX__) #name

/*
 * The CRT calls every pointer of .ctors up to a null one: padding between
 * two contributions would be called too (GNU as fills it with nop bytes;
 * with zeros it would end the walk early), so align the entries to the
 * pointer size exactly (4 bytes on i386; pe_prot.c checks).
 */
#if __SIZEOF_POINTER__ == 8
#define SKEYS__PTR_ALIGN ".balign 8\n\t"
#else
#define SKEYS__PTR_ALIGN ".balign 4\n\t"
#endif

/*
 * The function entries part of the module header (struct skeys_fentries).
 * mingw-w64 gcc lists its patchable functions in a data section
 * `__patchable_function_entries`, like ELF (clang for mingw lists none).
 * Its end is a label in `__patchable_function_entries$z`, which the linker
 * sorts after the compiler's contributions into the same section. Its
 * start has no label: the compiler's own contributions, which have no `$`,
 * sort first, and lld defines no __start_ symbols on COFF. So `start` is 0
 * ("not known yet") until skeys-seal, which finds the section in the
 * image, writes it; the rest is sealed as on ELF.
 */
#define SKEYS__ASM_FENTRIES_COFF                                               \
	".long 0\n\t"                                                          \
	".long " SKEYS__SYM(skeys__fentries_stop) " - .\n\t"                   \
	".long 0, 0\n\t"                                                       \
	".byte " SKEYS__STR(__SIZEOF_POINTER__) ", 0, 0, 0, 0, 0, 0, 0\n\t"    \
	".quad 0\n\t"

/*
 * The module header (with the function entries part), the end of the
 * table, the bounds of the names and of the function entries, and the
 * constructor and destructor that register the module, each in a `.linkonce discard`
 * (COMDAT "any") section: every translation unit emits them, the linker
 * keeps one copy per EXE or DLL. Constructors and destructors go through
 * .ctors/.dtors, which the mingw-w64 CRT runs for EXEs and DLLs alike
 * (the destructor at exit and at FreeLibrary). Each function starts its own
 * section: GNU as (2.40) stores a wrong in-place addend in an ADDR64
 * relocation against a global symbol that is not at offset 0 of its
 * section, which sent the .dtors entry 12 bytes past the destructor.
 * The .ctors/.dtors entries carry a global label each: ld.lld keeps a
 * COMDAT section only through a symbol defined in it, and dropped them,
 * so the module never registered (`e2e-pe@clang-O2-lld`). GNU as writes an
 * empty COMDAT section (.skeys$z and the other end labels) without the
 * section symbol lld needs: mingw-w64 gcc's objects cannot be linked by
 * ld.lld (README). A word after the names' end label keeps `.skeysn` from
 * being empty in a module without names: lld removes an empty output
 * section, and with it the places of both names labels
 * (`calls-pe@clang-O2-c-lld`).
 */
#define SKEYS__ASM_MODULE                                                      \
	".ifndef " SKEYS__SYM(skeys__module_header) "\n\t"                     \
	".section .skeys$a,\"dr\"\n\t"                                         \
	".linkonce discard\n\t"                                                \
	".balign 8\n\t"                                                        \
	".globl " SKEYS__SYM(skeys__module_header) "\n\t"                      \
	SKEYS__SYM(skeys__module_header) ":\n\t"                               \
	SKEYS__ASM_HEADER_FIELDS_SIZED(SKEYS__STR(SKEYS_HEADER_SIZE_ENTRIES)) \
	".long " SKEYS__SYM(skeys__module_header) " + "                        \
	SKEYS__STR(SKEYS_HEADER_SIZE_ENTRIES) " - .\n\t"                       \
	".long " SKEYS__SYM(skeys__table_end) " - .\n\t"                       \
	".long " SKEYS__SYM(skeys__names_start) " - .\n\t"                     \
	".long " SKEYS__SYM(skeys__names_end) " - .\n\t"                       \
	SKEYS__ASM_FENTRIES_COFF                                               \
	".section __patchable_function_entries$z,\"dw\"\n\t"                   \
	".linkonce discard\n\t"                                                \
	".globl " SKEYS__SYM(skeys__fentries_stop) "\n\t"                      \
	SKEYS__SYM(skeys__fentries_stop) ":\n\t"                               \
	".section .skeys$z,\"dr\"\n\t"                                         \
	".linkonce discard\n\t"                                                \
	".globl " SKEYS__SYM(skeys__table_end) "\n\t"                          \
	SKEYS__SYM(skeys__table_end) ":\n\t"                                   \
	".section .skeysn$a,\"dr\"\n\t"                                        \
	".linkonce discard\n\t"                                                \
	".balign 4\n\t"                                                        \
	".globl " SKEYS__SYM(skeys__names_start) "\n\t"                        \
	SKEYS__SYM(skeys__names_start) ":\n\t"                                 \
	".section .skeysn$z,\"dr\"\n\t"                                        \
	".linkonce discard\n\t"                                                \
	".globl " SKEYS__SYM(skeys__names_end) "\n\t"                          \
	SKEYS__SYM(skeys__names_end) ":\n\t"                                   \
	".long 0\n\t"                                                          \
	".section .ctors.65435$skeys,\"dw\"\n\t"                               \
	".linkonce discard\n\t"                                                \
	SKEYS__PTR_ALIGN                                                       \
	".globl " SKEYS__SYM(skeys__module_ctor_ptr) "\n\t"                    \
	SKEYS__SYM(skeys__module_ctor_ptr) ":\n\t"                             \
	SKEYS__PTR_DIRECTIVE " " SKEYS__SYM(skeys__module_ctor) "\n\t"         \
	".section .dtors.65435$skeys,\"dw\"\n\t"                               \
	".linkonce discard\n\t"                                                \
	SKEYS__PTR_ALIGN                                                       \
	".globl " SKEYS__SYM(skeys__module_dtor_ptr) "\n\t"                    \
	SKEYS__SYM(skeys__module_dtor_ptr) ":\n\t"                             \
	SKEYS__PTR_DIRECTIVE " " SKEYS__SYM(skeys__module_dtor) "\n\t"         \
	".section .text$skeys_ctor,\"xr\"\n\t"                                 \
	".linkonce discard\n\t"                                                \
	".globl " SKEYS__SYM(skeys__module_ctor) "\n\t"                        \
	SKEYS__SYM(skeys__module_ctor) ":\n\t"                                 \
	SKEYS__ASM_TAILCALL("skeys_module_register", "skeys__module_ctor")     \
	".section .text$skeys_dtor,\"xr\"\n\t"                                 \
	".linkonce discard\n\t"                                                \
	".globl " SKEYS__SYM(skeys__module_dtor) "\n\t"                        \
	SKEYS__SYM(skeys__module_dtor) ":\n\t"                                 \
	SKEYS__ASM_TAILCALL("skeys_module_unregister", "skeys__module_dtor")   \
	".text\n\t"                                                            \
	".endif\n"

/*
 * Static calls (<skeys/call.h>), where the architecture header has a
 * trampoline template (x86-64, i386). COFF cannot push a section and pop
 * back to the compiler's, and a top-level asm statement that switches
 * sections leaves the compiler wrong about where it is (gcc with
 * -fno-toplevel-reorder then puts the next variable into the section the
 * statement left). So a call's trampoline is the body of a naked function
 * in a section named here, .text$skeysc, which the body switches back to
 * after writing the call's entry: the compiler emitted that directive
 * itself, and whatever it emits after the body (gcc: ud2, SEH's end) lands
 * there, past the trampoline. The linker merges .text$skeysc into .text.
 *
 * The call table: the header in .skeysc$a (COMDAT "any", one per EXE or
 * DLL, emitted by the first call of each translation unit), the entries in
 * .skeysc$m, the end label in .skeysc$z; the linker merges them into one
 * `.skeysc` section in that order. `kind` is 0, SKEYS_CALL_F_NULL or
 * SKEYS_CALL_F_RET0.
 */
#define SKEYS__ASM_CALL_COFF(name, kind)                                       \
	SKEYS__CALL_ALIGN                                                      \
	".globl " SKEYS__SYM(skeys__tramp_##name) "\n\t"                       \
	".def " SKEYS__SYM(skeys__tramp_##name) "; .scl 2; .type 32; .endef\n\t" \
	SKEYS__SYM(skeys__tramp_##name) ":\n\t"                                \
	SKEYS__ASM_CALL_TRAMP(name, kind)                                      \
	SKEYS__CALL_ALIGN                                                      \
	".section .skeysc$m,\"dr\"\n\t"                                        \
	".balign 4\n\t"                                                        \
	".long " SKEYS__SYM(skeys__tramp_##name) " + " SKEYS__CALL_SLOT " - .\n\t" \
	".long " SKEYS__SYM(skeys__tramp_##name) " + " SKEYS__CALL_SLOT " + "  \
	SKEYS__CALL_SLOT_LEN " - .\n\t"                                        \
	".long " SKEYS__SYM(skeys__call_##name) " + " #kind " - .\n\t"         \
	".ifndef " SKEYS__SYM(skeys__calls_header) "\n\t"                      \
	".section .skeysc$a,\"dr\"\n\t"                                        \
	".linkonce discard\n\t"                                                \
	".balign 8\n\t"                                                        \
	".globl " SKEYS__SYM(skeys__calls_header) "\n\t"                       \
	SKEYS__SYM(skeys__calls_header) ":\n\t"                                \
	".ascii \"" SKEYS_CALLS_MAGIC "\"\n\t"                                 \
	".short " SKEYS__STR(SKEYS_CALLS_VERSION) ", 40, "                       \
	SKEYS__STR(SKEYS_ENTRY_SIZE) ", " SKEYS__STR(SKEYS__ARCH_ID) "\n\t"      \
	".long 0, 0\n\t"                                                       \
	".quad 0\n\t"                                                          \
	".long " SKEYS__SYM(skeys__calls_header) " + 40 - .\n\t"              \
	".long " SKEYS__SYM(skeys__calls_end) " - .\n\t"                       \
	".section .skeysc$z,\"dr\"\n\t"                                        \
	".linkonce discard\n\t"                                                \
	".globl " SKEYS__SYM(skeys__calls_end) "\n\t"                          \
	SKEYS__SYM(skeys__calls_end) ":\n\t"                                   \
	".endif\n\t"                                                           \
	".section .text$skeysc,\"x\"\n"

/*
 * SKEYS_EXPORT_CALL: the trampoline under a second name, skeys__xtramp_NAME,
 * exported from the DLL (or EXE) by the linker directive that `dllexport`
 * writes (.drectve `-export:`, undecorated on i386 as well), so that an
 * importer's proxy links to it through the import library: its `lit` is
 * then the importer's import thunk, which jumps to this trampoline. Like
 * the call's own, in the body of a naked function that returns to
 * .text$skeysc, which the compiler left it in.
 */
#define SKEYS__CALL_EXPORT_EMIT(name)                                          \
	__attribute__((naked, used, section(".text$skeysc"))) static void     \
	skeys__callexp_##name(void)                                            \
	{                                                                      \
		__asm__(".globl " SKEYS__SYM(skeys__xtramp_##name) "\n\t"      \
			".set " SKEYS__SYM(skeys__xtramp_##name) ", "          \
			SKEYS__SYM(skeys__tramp_##name) "\n\t"                 \
			".section .drectve,\"yn\"\n\t"                           \
			".ascii \" -export:skeys__xtramp_" #name "\"\n\t"        \
			".section .text$skeysc,\"x\"\n");                       \
	}

#ifdef SKEYS__ASM_CALL_TRAMP
#define SKEYS__CALL_EMIT(name, kind)                                           \
	__attribute__((naked, used, section(".text$skeysc"))) static void     \
	skeys__calldef_##name(void)                                            \
	{                                                                      \
		__asm__(SKEYS__ASM_CALL_COFF(name, kind));                     \
	}
#endif

#endif
