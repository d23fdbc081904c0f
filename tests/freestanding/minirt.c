/* SPDX-License-Identifier: MIT */
/*
 * A runtime for a program without a C library: process start-up, raw
 * system calls, and the skeys entry points reduced to what a
 * single-threaded static executable needs. It patches with the encodings
 * of common/ (the same the runtime and the tools use) through mprotect,
 * checks every site of a batch before writing any, and refuses unsealed
 * tables, as runtime/ does; static calls are updated likewise, with the
 * runtime's slot forms (runtime/arch/call_loongarch64.c). It does not
 * verify the table checksums and has no /proc/self/mem path (qemu-user
 * would not see those writes anyway).
 *
 * Used for loongarch64, which Debian 12 has a compiler and qemu for but no
 * C library; it would build for the others as well. Linux only.
 */
#include <skeys.h>

#include "arch.h"
#include "table.h"

#include <string.h>

#if !defined(__loongarch__)
#error "minirt: system calls are written for loongarch64 only"
#endif

enum { SYS_write = 64, SYS_exit_group = 94, SYS_mprotect = 226 };
enum { PROT_R = 1, PROT_W = 2, PROT_X = 4, AT_PAGESZ_ = 6 };

/* From the auxiliary vector: loongarch64 Linux (and qemu) use 16 KiB pages. */
unsigned long fs_page_size = 4096;

long fs_syscall6(long nr, long a, long b, long c, long d, long e, long f);
long fs_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long a0 __asm__("$a0") = a;
	register long a1 __asm__("$a1") = b;
	register long a2 __asm__("$a2") = c;
	register long a3 __asm__("$a3") = d;
	register long a4 __asm__("$a4") = e;
	register long a5 __asm__("$a5") = f;
	register long a7 __asm__("$a7") = nr;

	__asm__ volatile("syscall 0"
			 : "+r"(a0)
			 : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7)
			 : "$t0", "$t1", "$t2", "$t3", "$t4", "$t5", "$t6", "$t7", "$t8",
			   "memory");
	return a0;
}

long fs_syscall3(long nr, long a, long b, long c);
long fs_syscall3(long nr, long a, long b, long c)
{
	return fs_syscall6(nr, a, b, c, 0, 0, 0);
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

/* ---- start-up --------------------------------------------------------------- */

int main(int argc, char **argv);
void fs_start(long *sp);

/* The linker defines these for a static executable with constructors. */
typedef void (*fs_fn)(void);
extern const fs_fn __init_array_start[] __attribute__((weak, visibility("hidden")));
extern const fs_fn __init_array_end[] __attribute__((weak, visibility("hidden")));

__asm__(".text\n"
	".globl _start\n"
	".type _start, @function\n"
	"_start:\n\t"
	"move $fp, $zero\n\t"
	"move $a0, $sp\n\t"
	"bl fs_start\n\t"
	".size _start, . - _start\n");

void fs_start(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	long *p = sp + 1 + argc + 1; /* past argv and its NULL: the environment */
	const fs_fn *f;

	while (*p)
		p++;
	for (p++; p[0]; p += 2) /* auxv: (type, value) pairs up to AT_NULL */
		if (p[0] == AT_PAGESZ_)
			fs_page_size = (unsigned long)p[1];

	/* Module constructors: skeys' registers the table, as under a C library. */
	for (f = __init_array_start; f && f < __init_array_end; f++)
		(*f)();
	fs_syscall3(SYS_exit_group, main(argc, argv), 0, 0);
	for (;;)
		;
}

/* ---- the skeys entry points -------------------------------------------------- */

static const struct skeys_header *module;

void skeys_module_register(const struct skeys_header *h)
{
	module = h;
}

void skeys_module_unregister(const struct skeys_header *h)
{
	if (module == h)
		module = NULL;
}

void skeys_set_log(skeys_log_fn fn, void *ctx)
{
	(void)fn;
	(void)ctx;
}

int skeys_set_write_method(enum skeys_write_method method)
{
	return method == SKEYS_WRITE_PROCMEM ? -22 /* EINVAL */ : 0;
}

const char *skeys_strerror(int err)
{
	return err ? "skeys error" : "success";
}

static const struct skeys_entry *entries(size_t *n)
{
	const char *start = (const char *)&module->start + module->start;
	const char *stop = (const char *)&module->stop + module->stop;

	*n = (size_t)(stop - start) / sizeof(struct skeys_entry);
	return (const struct skeys_entry *)(const void *)start;
}

/* Write `bytes` over the site, page writable and executable only meanwhile. */
static int poke(uintptr_t at, const uint8_t *bytes, size_t len)
{
	uintptr_t pg = at & ~(uintptr_t)(fs_page_size - 1);
	size_t span = (at + len - pg + fs_page_size - 1) & ~(size_t)(fs_page_size - 1);
	long err = fs_syscall3(SYS_mprotect, (long)pg, (long)span, PROT_R | PROT_W | PROT_X);

	if (err)
		return (int)err;
	memcpy((void *)at, bytes, len);
	/* Make this core's instruction fetch see the store. */
	__asm__ volatile("dbar 0\n\tibar 0" ::: "memory");
	return (int)fs_syscall3(SYS_mprotect, (long)pg, (long)span, PROT_R | PROT_X);
}

/* Every site of `key` to state `on`: all checked first, then all written. */
static int patch_key(struct skeys_key *key, bool on)
{
	const struct skeys_arch *a = skeys_arch_native();
	const struct skeys_entry *e;
	size_t n, i;
	int pass, err;

	if (!module || !a)
		return SKEYS_ERR_ABI;
	if (!(module->flags & SKEYS_HEADER_SEALED))
		return SKEYS_ERR_UNSEALED;
	e = entries(&n);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			struct skeys_site s = skeys_entry_site(&e[i], (uintptr_t)&e[i]);
			bool branch = s.flags & SKEYS_ENTRY_BRANCH;
			uint8_t old[SKEYS_SITE_MAX], new_[SKEYS_SITE_MAX];

			if (s.key != (uintptr_t)key)
				continue;
			if (skeys_arch_encode(a, !on ^ branch, s.code, s.target, old) ||
			    skeys_arch_encode(a, on ^ branch, s.code, s.target, new_))
				return SKEYS_ERR_MISMATCH;
			if (pass == 0 && memcmp((const void *)(uintptr_t)s.code, old, a->site_len))
				return SKEYS_ERR_MISMATCH;
			if (pass == 1 && (err = poke((uintptr_t)s.code, new_, a->site_len)))
				return err;
		}
	}
	return 0;
}

static int key_set(struct skeys_key *key, int32_t count)
{
	if ((key->flags & SKEYS_KEY_MAGIC_MASK) != SKEYS_KEY_MAGIC)
		return SKEYS_ERR_NOTKEY;
	if ((key->count > 0) != (count > 0)) {
		int err = patch_key(key, count > 0);

		if (err)
			return err;
	}
	key->count = count;
	return 0;
}

int skeys_key_enable(struct skeys_key *key)
{
	return key->count > 0 ? 0 : key_set(key, 1);
}

int skeys_key_disable(struct skeys_key *key)
{
	return key->count > 0 ? key_set(key, 0) : 0;
}

int skeys_key_inc(struct skeys_key *key)
{
	return key->count == INT32_MAX ? SKEYS_ERR_COUNT : key_set(key, key->count + 1);
}

int skeys_key_dec(struct skeys_key *key)
{
	return key->count <= 0 ? SKEYS_ERR_COUNT : key_set(key, key->count - 1);
}

bool skeys_key_enabled(const struct skeys_key *key)
{
	return key->count > 0;
}

/* ---- static calls ------------------------------------------------------------ */

/*
 * skeys_call_set() for one thread: the call's entry in its module's sealed
 * call table gives the slot; the slot's bytes as the call's state says
 * are checked, `lit` is written before the slot (as runtime/call.c does),
 * then the slot, with the forms of runtime/arch/call_loongarch64.c.
 */
int skeys_call_slot(enum skeys_call_form form, uintptr_t slot, uintptr_t target,
		    const struct skeys_call *call, uint8_t *out);
extern const size_t skeys_call_slot_len;

int skeys_call_set(struct skeys_call *call, void (*fn)(void))
{
	const struct skeys_header *h = call->table;
	const struct skeys_entry *e, *end;
	enum skeys_call_form old, new_;
	uint8_t was[SKEYS_SITE_MAX], want[SKEYS_SITE_MAX];
	uintptr_t slot = 0;

	if ((call->flags & SKEYS_CALL_MAGIC_MASK) != SKEYS_CALL_MAGIC ||
	    (call->flags & SKEYS_CALL_F_PROXY))
		return SKEYS_ERR_NOTKEY;
	if (memcmp(h->magic, SKEYS_CALLS_MAGIC, 8) || h->version != SKEYS_CALLS_VERSION ||
	    h->header_size != SKEYS_HEADER_SIZE_V1 || h->arch != SKEYS_ARCH_LOONGARCH64)
		return SKEYS_ERR_ABI;
	if (!(h->flags & SKEYS_HEADER_SEALED))
		return SKEYS_ERR_UNSEALED;
	e = (const void *)((const char *)&h->start + h->start);
	end = (const void *)((const char *)&h->stop + h->stop);
	for (; e < end; e++) {
		struct skeys_site s = skeys_entry_site(e, (uintptr_t)e);

		if (s.key != (uintptr_t)call)
			continue;
		if (s.target != s.code + skeys_call_slot_len)
			return SKEYS_ERR_MISMATCH;
		slot = (uintptr_t)s.code;
	}
	if (!slot)
		return SKEYS_ERR_NOTKEY;
	old = (enum skeys_call_form)call->form;
	if (old == SKEYS_CALL_FORM_COMPILED)
		old = call->flags & (SKEYS_CALL_F_NULL | SKEYS_CALL_F_RET0) ? SKEYS_CALL_FORM_RET0
									     : SKEYS_CALL_FORM_FAR;
	new_ = fn ? SKEYS_CALL_FORM_NEAR : SKEYS_CALL_FORM_RET0;
	if (skeys_call_slot(new_, slot, (uintptr_t)fn, call, want)) {
		new_ = SKEYS_CALL_FORM_FAR; /* out of b's reach: through lit */
		(void)skeys_call_slot(new_, slot, (uintptr_t)fn, call, want);
	}
	if (skeys_call_slot(old, slot, (uintptr_t)call->target, call, was) ||
	    memcmp((const void *)slot, was, skeys_call_slot_len))
		return SKEYS_ERR_MISMATCH;
	if (fn)
		__atomic_store_n(&call->lit, fn, __ATOMIC_SEQ_CST);
	if (memcmp(was, want, skeys_call_slot_len)) {
		int err = poke(slot, want, skeys_call_slot_len);

		if (err)
			return err;
	}
	call->form = new_;
	__atomic_store_n(&call->target, fn, __ATOMIC_RELEASE);
	return 0;
}

/* ---- output ------------------------------------------------------------------ */

void fs_puts(const char *s);
void fs_puts(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	fs_syscall3(SYS_write, 1, (long)s, (long)n);
}
