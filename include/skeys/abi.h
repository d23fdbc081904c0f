/* SPDX-License-Identifier: MIT */
/*
 * skeys binary interface: the key object, the table entry and the per-module
 * header, as laid out in memory and in files. Shared by the site macros, the
 * runtime and skeys-seal/skeys-dump; any change here bumps SKEYS_ABI_VERSION
 * (static calls' objects and table: SKEYS_CALLS_VERSION).
 */
#ifndef SKEYS_ABI_H
#define SKEYS_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SKEYS_ABI_VERSION 1

/*
 * A key. `count` is the reference count (enabled while > 0); `flags` holds a
 * magic in its upper half so that the tool and the runtime can tell a key
 * from anything else a forged entry might point at, and the initial state in
 * bit 0. Aligned to 8 so that the two low bits of an entry's key field are
 * free for flags.
 */
struct skeys_key {
	int32_t count;
	uint32_t flags;
	/*
	 * NULL for a key. For a proxy (SKEYS_KEY_F_PROXY), the address of the
	 * exporting module's pointer to the real key: see SKEYS_IMPORT_FALSE.
	 */
	void *link;
} __attribute__((aligned(8)));

#define SKEYS_KEY_MAGIC 0x534b0000u /* "SK" */
#define SKEYS_KEY_MAGIC_MASK 0xffff0000u
#define SKEYS_KEY_F_INITIAL 0x1u
#define SKEYS_KEY_F_PROXY 0x2u /* stands in for a key of another module */
/*
 * With SKEYS_KEY_F_PROXY: a proxy that a names table entry names in place
 * of a key the module defines (<skeys/kernel.h>'s cells): the key it is
 * bound to is looked up and switched by that name as a defined key.
 */
#define SKEYS_KEY_F_NAMED 0x4u
/* The flags of a cell's proxy and of a named cell, as the assembler writes them. */
#define SKEYS__KEY_PROXY_ASM "0x534b0002"  /* SKEYS_KEY_MAGIC | SKEYS_KEY_F_PROXY */
#define SKEYS__KEY_F_NAMED_ASM "4"         /* SKEYS_KEY_F_NAMED */

/* Distinct types so that a site can pick its initial instruction at compile time. */
struct skeys_key_true {
	struct skeys_key key;
};
struct skeys_key_false {
	struct skeys_key key;
};

/*
 * A site. Each field is relative to its own address, so the table needs no
 * dynamic relocations and can be sorted in place: moving an entry by d bytes
 * subtracts d from each field. The low two bits of `key` are flags.
 */
struct skeys_entry {
	int32_t code;
	int32_t target;
	int32_t key;
};

#define SKEYS_ENTRY_BRANCH 0x1u /* site is a likely site: jump when disabled */
/*
 * The site is in the architecture's other instruction set. Only arm uses it:
 * set for a Thumb-2 site, clear for an A32 one. Zero on every other
 * architecture (the tools reject it there). Not a version bump: tables of
 * version 1 never set it.
 */
#define SKEYS_ENTRY_MODE 0x2u
#define SKEYS_ENTRY_FLAGS 0x3u

/* One per module, in its own section, filled by skeys-seal. */
struct skeys_header {
	char magic[8];         /* SKEYS_HEADER_MAGIC, no terminator */
	uint16_t version;      /* SKEYS_ABI_VERSION (a call table: SKEYS_CALLS_VERSION) */
	uint16_t header_size;  /* sizeof(struct skeys_header) */
	uint16_t entry_size;   /* sizeof(struct skeys_entry) */
	uint16_t arch;         /* SKEYS__ARCH_ID of the module's architecture */
	uint32_t flags;        /* SKEYS_HEADER_SEALED */
	uint32_t count;        /* entries, filled when sealed */
	uint64_t checksum;     /* skeys_table_checksum() of the sealed entries */
	int32_t start;         /* table start, relative to this field */
	int32_t stop;          /* table end, relative to this field */
	/*
	 * The names table (struct skeys_name entries), relative to each field.
	 * Only in a header of SKEYS_HEADER_SIZE_NAMES bytes: a header of
	 * SKEYS_HEADER_SIZE_V1 bytes (modules built before names were
	 * recorded) ends before them. Same ABI version: header_size says which.
	 */
	int32_t names_start;
	int32_t names_stop;
};

#define SKEYS_HEADER_MAGIC "SKEYSHDR"
#define SKEYS_HEADER_SEALED 0x1u
#define SKEYS_HEADER_SIZE_V1 40u /* without the names table's bounds */
#define SKEYS_HEADER_SIZE_NAMES 48u /* with them: SKEYS_HEADER_SIZE, sizeof(struct skeys_header) */
/* With struct skeys_fentries after them (ELF): see below. */
#define SKEYS_HEADER_SIZE_ENTRIES 80 /* no suffix: the assembler reads it too */

/*
 * Function entries (<skeys/entry.h>). An ELF module header is followed, in
 * its section, by this part (header_size SKEYS_HEADER_SIZE_ENTRIES): the
 * bounds of the compiler's __patchable_function_entries section, one
 * absolute address (addr_size bytes) per function compiled with
 * -fpatchable-function-entry (relocated at load), and what skeys-seal found there, so that the
 * runtime reads the table where it lies and decodes nothing. An entry
 * points at the function's first nop: its symbol is `prefix` bytes further
 * (the nops before it), or 4 bytes back when the prefix is 0 and the
 * function starts with endbr64. After the symbol, and after its endbr64 if
 * it has one, come `pad` bytes of nops, which skeys-seal rewrites into the
 * patch point, the 5-byte nop 0f 1f 44 00 00, followed by nops for the rest.
 */
struct skeys_fentries {
	int32_t start;     /* the first entry, relative to this field */
	int32_t stop;      /* the end of the entries, relative to this field */
	uint32_t flags;    /* SKEYS_FENTRIES_*, filled by skeys-seal */
	uint32_t count;    /* entries, filled when sealed */
	uint8_t addr_size; /* bytes of an entry: the module's pointer size */
	uint8_t prefix;    /* sealed: nops before each function's symbol */
	uint8_t pad;       /* sealed: nops at each function's entry (5 or more) */
	uint8_t reserved[5];
	/*
	 * Sealed: skeys_table_checksum() of the entries as 8-byte offsets from
	 * the module header (entry minus header address, signed, in the
	 * module's byte order), which relocation does not change.
	 */
	uint64_t checksum;
};

#define SKEYS_FENTRIES_SEALED 0x1u
#define SKEYS_FENTRIES_ENDBR 0x2u  /* some function starts with endbr64 */
#define SKEYS_FENTRIES_SIZE 32
#define SKEYS_FENTRY_PATCH 5u       /* bytes of the patch point (x86) */
/* The patch point's forms (x86): idle, call STUB, jmp DEST. */
#define SKEYS_FENTRY_NOP5 { 0x0f, 0x1f, 0x44, 0x00, 0x00 }
#define SKEYS_FENTRY_CALL 0xe8
#define SKEYS_FENTRY_JMP 0xe9
#define SKEYS_FENTRY_ENDBR64 { 0xf3, 0x0f, 0x1e, 0xfa }
/*
 * i386: the patch point is keys' 5-byte nop there (ds lea 0(%esi,%eiz),%esi,
 * which every i686 runs: the long nop 0f 1f is not in every one); endbr32
 * plays endbr64's part. The call and jmp forms are x86-64's.
 */
#define SKEYS_FENTRY_I386_NOP5 { 0x3e, 0x8d, 0x74, 0x26, 0x00 }
#define SKEYS_FENTRY_ENDBR32 { 0xf3, 0x0f, 0x1e, 0xfb }
/*
 * aarch64: a pad is at least two nops (after `bti c` under BTI, which
 * SKEYS_FENTRIES_ENDBR then records); skeys-seal makes the first a
 * permanent `mov x9, x30` and the second, the patch point, stays a nop,
 * later `bl STUB` or `b DEST` (little-endian words).
 */
#define SKEYS_FENTRY_BTI_C { 0x5f, 0x24, 0x03, 0xd5 }
#define SKEYS_FENTRY_A64_NOP 0xd503201fu
#define SKEYS_FENTRY_A64_MOV_X9_X30 0xaa1e03e9u
#define SKEYS_FENTRY_A64_BL 0x94000000u
#define SKEYS_FENTRY_A64_B 0x14000000u
#define SKEYS_SECTION_FENTRIES "__patchable_function_entries"

/*
 * A key's name, one per SKEYS_DEFINE_* and SKEYS_IMPORT_* (not sealed, not
 * sorted: skeys-seal only verifies it). `key` and `name` are relative to
 * their own address like an entry's fields: the key (an import's proxy)
 * and its NUL-terminated name in read-only data. `count` is 1 for a key,
 * n for an array of n keys (elements 16 bytes apart on every target),
 * whose element i is called "name[i]".
 */
struct skeys_name {
	int32_t key;
	int32_t name;
	uint32_t count;
};
#define SKEYS_KEY_STRIDE 16u /* sizeof(struct skeys_key) on every target */

/*
 * `arch` is the SKEYS__ARCH_ID that the architecture's header of site
 * templates defines (<skeys/arch/NAME.h>, picked by <skeys/arches.h>): the
 * one place each number is written. A number is never reused.
 */

/*
 * The layout as the format headers' assembly writes it (their module
 * header), tied to the structures by the assertions below.
 */
#define SKEYS_HEADER_SIZE 48
#define SKEYS_ENTRY_SIZE 12

#define SKEYS__STR2(x) #x
#define SKEYS__STR(x) SKEYS__STR2(x)

/*
 * The header's fields before `start`, in assembler syntax, as every format
 * header's module header begins: magic, version, sizes, arch (the
 * architecture header's SKEYS__ARCH_ID), and flags, count and checksum
 * left zero for skeys-seal. The format then writes `start` and `stop`,
 * `names_start` and `names_stop`.
 */
#define SKEYS__ASM_HEADER_FIELDS_SIZED(size)                                   \
	".ascii \"" SKEYS_HEADER_MAGIC "\"\n\t"                                \
	".short " SKEYS__STR(SKEYS_ABI_VERSION) ", " size ", "                 \
	SKEYS__STR(SKEYS_ENTRY_SIZE) ", "                                      \
	SKEYS__STR(SKEYS__ARCH_ID) "\n\t"                                      \
	".long 0, 0\n\t"                                                       \
	".quad 0\n\t"
#define SKEYS__ASM_HEADER_FIELDS SKEYS__ASM_HEADER_FIELDS_SIZED(SKEYS__STR(SKEYS_HEADER_SIZE))

#ifdef __cplusplus
#define SKEYS__STATIC_ASSERT(c, msg) static_assert(c, msg)
#else
#define SKEYS__STATIC_ASSERT(c, msg) _Static_assert(c, msg)
#endif
SKEYS__STATIC_ASSERT(sizeof(struct skeys_entry) == SKEYS_ENTRY_SIZE,
		     "struct skeys_entry is SKEYS_ENTRY_SIZE bytes");
SKEYS__STATIC_ASSERT(sizeof(struct skeys_header) == SKEYS_HEADER_SIZE,
		     "struct skeys_header is SKEYS_HEADER_SIZE bytes");
/* Each field where SKEYS__ASM_HEADER_FIELDS puts it: 8 + 4 * 2 + 2 * 4 + 8. */
SKEYS__STATIC_ASSERT(offsetof(struct skeys_header, version) == 8 &&
			     offsetof(struct skeys_header, header_size) == 10 &&
			     offsetof(struct skeys_header, entry_size) == 12 &&
			     offsetof(struct skeys_header, arch) == 14 &&
			     offsetof(struct skeys_header, flags) == 16 &&
			     offsetof(struct skeys_header, count) == 20 &&
			     offsetof(struct skeys_header, checksum) == 24 &&
			     offsetof(struct skeys_header, start) == 32 &&
			     offsetof(struct skeys_header, stop) == 36 &&
			     offsetof(struct skeys_header, names_start) == SKEYS_HEADER_SIZE_V1 &&
			     sizeof(struct skeys_header) == SKEYS_HEADER_SIZE_NAMES,
		     "struct skeys_header is laid out as SKEYS__ASM_HEADER_FIELDS writes it");
SKEYS__STATIC_ASSERT(sizeof(struct skeys_fentries) == SKEYS_FENTRIES_SIZE &&
			     offsetof(struct skeys_fentries, flags) == 8 &&
			     offsetof(struct skeys_fentries, addr_size) == 16 &&
			     offsetof(struct skeys_fentries, checksum) == 24 &&
			     SKEYS_HEADER_SIZE_NAMES + SKEYS_FENTRIES_SIZE == SKEYS_HEADER_SIZE_ENTRIES,
		     "struct skeys_fentries is laid out as <skeys/format/elf.h> writes it");

/* Section names (ELF). */
#define SKEYS_SECTION_TABLE "__skeys"
#define SKEYS_SECTION_HEADER "__skeys_hdr"
#define SKEYS_SECTION_NAMES "__skeys_names"

/*
 * A static call (<skeys/call.h>), in the defining module's writable data.
 * Its trampoline, in .text.skeys_call (PE: .text$skeysc), is the architecture's (its template
 * in <skeys/arch/NAME.h>, docs/architectures.md): a slot the runtime
 * rewrites, then a fixed tail that jumps through `lit`. On x86-64 (16
 * bytes) the slot is 6 bytes holding one of three forms:
 *
 *   near:  e9 rel32 cc          jmp target
 *   far:   ff 25 rel32          jmp *lit(%rip), through this object's `lit`
 *   ret0:  eb 0a cc cc cc cc    jmp to offset 12
 *
 * followed at offset 6 by a fixed `ff 25 rel32`, jmp *lit(%rip) (where a
 * thread trapped in the slot may be sent: `lit` holds the current target
 * whenever the call has one), and at offset 12 a fixed stub returning 0:
 * 31 c0 c3 cc, xor %eax,%eax; ret (i386: 31 c0 99 c3, with cltd clearing
 * %edx). Each form is one instruction, so a thread stopped inside the slot
 * is always at its start, the one byte the int3 protocol traps. A call as
 * compiled is in the far form (SKEYS_DEFINE_CALL) or the ret0 form (_NULL,
 * _RET0). i386 (PE) has no %rip: its jmp *lit is `ff 25 abs32`, the
 * address of `lit` itself, and rel32 reaches every address, so an update
 * there is always near or ret0.
 */
struct skeys_call {
	void (*lit)(void);    /* the far form's target; written before the slot */
	void (*target)(void); /* the current target, NULL for none (skeys_call_query) */
	const struct skeys_header *table; /* the module's call table header */
	uint32_t flags;       /* SKEYS_CALL_MAGIC | SKEYS_CALL_F_* */
	uint32_t form;        /* runtime only: SKEYS_CALL_FORM_*, 0 as compiled */
	/*
	 * NULL for a call. For a proxy (SKEYS_CALL_F_PROXY, SKEYS_IMPORT_CALL),
	 * the address of the exporting module's pointer to the real call.
	 */
	void *link;
} __attribute__((aligned(8)));

#define SKEYS_CALL_MAGIC 0x53430000u /* "SC" */
#define SKEYS_CALL_MAGIC_MASK 0xffff0000u
#define SKEYS_CALL_F_NULL 0x1u /* defined with no target (_NULL) */
#define SKEYS_CALL_F_RET0 0x2u /* defined returning 0 (_RET0) */
#define SKEYS_CALL_F_PROXY 0x4u /* stands in for a call of another module */

enum skeys_call_form {
	SKEYS_CALL_FORM_COMPILED = 0, /* far, or ret0 when defined without a target */
	SKEYS_CALL_FORM_NEAR = 1,
	SKEYS_CALL_FORM_FAR = 2,
	SKEYS_CALL_FORM_RET0 = 3,
};

/*
 * The call table: one struct skeys_entry per call, with its fields read as
 * code = the trampoline's slot (x86-64: the trampoline itself), target = the
 * tail right after the slot (x86-64: its jmp *lit at offset 6), key = the
 * call object with SKEYS_CALL_F_NULL/RET0 in the flag bits. It has a struct
 * skeys_header of its own (magic SKEYS_CALLS_MAGIC) in SKEYS_SECTION_CALLS_
 * HEADER, which each call object points at; skeys-seal sorts, counts,
 * checksums and seals it as it does the key table.
 */
#define SKEYS_CALLS_MAGIC "SKEYSCAL"
/*
 * The call table's own version, in its header's `version` (and the inline
 * call-site header's), in place of SKEYS_ABI_VERSION: it changes with
 * struct skeys_call and the call table, not with the key table. Version 1
 * was struct skeys_call without `link` (32 bytes on LP64, 20 on ILP32);
 * version 2 has it (40 and 24). The runtime and the tools read their own
 * version only: a module built against other headers has its call table
 * refused (updates SKEYS_ERR_ABI, skeys-seal and skeys-dump exit 1), its
 * keys unaffected.
 */
#define SKEYS_CALLS_VERSION 2
#define SKEYS_SECTION_CALLS "__skeys_calls"
#define SKEYS_SECTION_CALLS_HEADER "__skeys_calls_hdr"
/* x86-64's trampoline; other architectures': their template and row. */
#define SKEYS_CALL_TRAMP_SIZE 16
#define SKEYS_CALL_SLOT_SIZE 6
#define SKEYS_CALL_TAIL_OFFSET 6 /* the fixed jmp *lit(%rip) */

/*
 * Inline call sites (x86-64): `call trampoline` (e8 rel32) or a tail call
 * `jmp trampoline` (e9 rel32) in the module's code, which an update
 * rewrites to reach the target directly. skeys-seal finds them from the
 * relocations a link with --emit-relocs keeps, and records them in a table
 * the module reserves: the file cannot grow, so every SKEYS_DEFINE_CALL*
 * reserves SKEYS_CALL_SITES slots in SKEYS_SECTION_CSITES, and
 * SKEYS_RESERVE_CALL_SITES(n) n more; sites beyond them keep calling the
 * trampoline. An entry's fields read code = the site (its opcode byte),
 * target = the trampoline it calls as compiled, key = the call object with
 * SKEYS_CSITE_* in the flag bits; sorted and sealed as the call table, its
 * header (magic SKEYS_CSITES_MAGIC, `count` the sites recorded) follows the
 * call table's header, whose flags say SKEYS_CALLS_F_SITES.
 */
#define SKEYS_CSITES_MAGIC "SKEYSCST"
#define SKEYS_SECTION_CSITES "__skeys_csites"
#define SKEYS_CALLS_F_SITES 0x2u /* call table header: the sites header follows it */
#define SKEYS_CALL_SITES 32      /* slots each definition reserves */
#define SKEYS_CSITE_COND 0x1u    /* skeys_call_cond: a 5-byte nop while there is no target */
#define SKEYS_CSITE_JMP 0x2u     /* a tail call, e9 rel32 */

#ifdef __cplusplus
}
#endif

#endif
