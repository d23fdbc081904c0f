/* Declarations-only stand-in for the macOS SDK header (see README). */
#pragma once
typedef int kern_return_t;
typedef int boolean_t;
typedef unsigned int mach_port_t;
typedef mach_port_t vm_map_t;
typedef int vm_prot_t;
#define KERN_SUCCESS 0
#define KERN_INVALID_ADDRESS 1
#define KERN_PROTECTION_FAILURE 2
#define KERN_RESOURCE_SHORTAGE 6
#define VM_PROT_NONE ((vm_prot_t)0x00)
#define VM_PROT_READ ((vm_prot_t)0x01)
#define VM_PROT_WRITE ((vm_prot_t)0x02)
#define VM_PROT_EXECUTE ((vm_prot_t)0x04)
#define VM_PROT_COPY ((vm_prot_t)0x10)
#define FALSE 0
#define TRUE 1
extern mach_port_t mach_task_self_;
#define mach_task_self() mach_task_self_
