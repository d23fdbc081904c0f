/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
#include <mach/mach.h>
#include <stdint.h>
struct mach_header_64 {
	uint32_t magic;
	int32_t cputype;
	int32_t cpusubtype;
	uint32_t filetype;
	uint32_t ncmds;
	uint32_t sizeofcmds;
	uint32_t flags;
	uint32_t reserved;
};
#define MH_MAGIC_64 0xfeedfacf
struct load_command {
	uint32_t cmd;
	uint32_t cmdsize;
};
#define LC_SEGMENT_64 0x19
struct segment_command_64 {
	uint32_t cmd;
	uint32_t cmdsize;
	char segname[16];
	uint64_t vmaddr;
	uint64_t vmsize;
	uint64_t fileoff;
	uint64_t filesize;
	vm_prot_t maxprot;
	vm_prot_t initprot;
	uint32_t nsects;
	uint32_t flags;
};
