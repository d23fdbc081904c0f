/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
#include <mach/mach.h>
#include <stdint.h>
typedef uint64_t mach_vm_address_t;
typedef uint64_t mach_vm_size_t;
kern_return_t mach_vm_protect(vm_map_t target_task, mach_vm_address_t address,
			      mach_vm_size_t size, boolean_t set_maximum,
			      vm_prot_t new_protection);
