/* SPDX-License-Identifier: MIT */
/*
 * The Linux kernel's static-key names (<linux/jump_label.h>), mapped onto
 * skeys, so that kernel code compiles unchanged in user space. What is
 * supported and how it differs from the kernel: docs/kernel.md.
 *
 * Keys of this header have their own types (struct static_key and the typed
 * struct static_key_true / static_key_false, as in the kernel); their
 * layout is skeys' key, so skeys-seal and the runtime treat them as any key.
 * The switching calls return skeys' error code (0 or negative) where the
 * kernel's return void; static_key_slow_inc() returns bool as the kernel's.
 */
#ifndef SKEYS_KERNEL_H
#define SKEYS_KERNEL_H

#include <skeys.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- key types --------------------------------------------------------- */

#define STATIC_KEY_INIT_TRUE { SKEYS__KKEY(1) }
#define STATIC_KEY_INIT_FALSE { SKEYS__KKEY(0) }
#define STATIC_KEY_INIT STATIC_KEY_INIT_FALSE
#define STATIC_KEY_TRUE_INIT { STATIC_KEY_INIT_TRUE }
#define STATIC_KEY_FALSE_INIT { STATIC_KEY_INIT_FALSE }

/*
 * In C++ the members have default initializers, so that an array of keys
 * (DEFINE_STATIC_KEY_ARRAY_*) is initialised without C's range designators.
 */
#define SKEYS__KKEY(on) { (on), SKEYS_KEY_MAGIC | (on), 0 }
#ifdef __cplusplus
#define SKEYS__KDEFAULT(init) = init
#else
#define SKEYS__KDEFAULT(init)
#endif

struct static_key {
	struct skeys_key skeys__key SKEYS__KDEFAULT(SKEYS__KKEY(0));
};
struct static_key_true {
	struct static_key key SKEYS__KDEFAULT(STATIC_KEY_INIT_TRUE);
};
struct static_key_false {
	struct static_key key SKEYS__KDEFAULT(STATIC_KEY_INIT_FALSE);
};

/*
 * Keys named across files and modules the kernel's way: a plain `extern`
 * declaration (or DECLARE_STATIC_KEY_*) of a key that another file or
 * another shared library defines. A site names its key as an assembler
 * constant, which position-independent code can only do for a symbol of
 * its own module; for a default-visibility `extern` the compilers refuse
 * it (clang in a PIE, both under -fPIC). So in position-independent ELF
 * code (C and C++) a site names a cell instead: a proxy key (as
 * SKEYS_IMPORT_* defines) whose `link` is the cell's `slot`, a pointer to
 * the key that the dynamic linker fills in, the way it fills a GOT slot.
 * The site's own asm emits the cell, once per translation unit and key
 * (and initial state): C++ inline functions and templates share it, as
 * the sites of every function of the unit do. The runtime binds the proxy
 * to the key when it prepares the module. The site itself is the same one
 * nop or jump. Keys are then declared and defined without a visibility
 * attribute, as plain C declares them, so another module can name them.
 * docs/kernel.md ("Keys shared between files and modules").
 * SKEYS_KERNEL_DIRECT (defined before including this header) keeps direct
 * sites and hidden keys, as non-PIC code always has.
 */
#if defined(__PIC__) && defined(__ELF__) && !defined(SKEYS_KERNEL_DIRECT)
#define SKEYS__KCELLS 1
#endif
/*
 * Cells as statics next to the sites (below): C, and C++ where the arch
 * says so (s390x: under -fPIC gcc then names them from ordinary functions
 * only, the static of an inline function or template being an object of
 * default visibility; docs/kernel.md).
 */
#if defined(SKEYS__CELL_C_STATIC) && (!defined(__cplusplus) || defined(SKEYS__CELL_CXX_STATIC))
#define SKEYS__KCELL_STATIC 1
#endif

#ifdef SKEYS__KCELLS
/* A cell as the asm lays it out (SKEYS__ASM_CELL, <skeys/format/elf.h>). */
struct skeys_kcell {
	struct skeys_key key;    /* the proxy the site names */
	struct skeys_key *slot;  /* the key, filled in by the dynamic linker */
} __attribute__((aligned(8)));
SKEYS__STATIC_ASSERT(sizeof(struct skeys_kcell) == 24, "a cell is 24 bytes");

/*
 * A site's cell is "skeys__cellN.KEY", a name's "skeys__ncell.KEY": KEY as
 * the operand prints it (symbol+offset), N the initial state the sites
 * were compiled for. Local symbols: two files' static keys of one name
 * have cells of their own.
 */
#define SKEYS__KCELL_SITE                                                      \
	"\"skeys__cell" SKEYS__CONST("skeys_on") "." SKEYS__CELL_OPERAND "\""
#define SKEYS__KCELL_NAME "\"skeys__ncell." SKEYS__CELL_OPERAND "\""

/*
 * gcc's "X" takes anything, and a key named by a runtime expression
 * (&keys[i]) then crashes gcc (x86: output_pic_addr_const): a constant
 * initializer first says "initializer element is not constant" (C) or
 * "'i' is not a constant expression" (C++). Unevaluated: no data.
 */
#if !defined(__clang__)
#ifdef __cplusplus
#define SKEYS__KCONST_DECL constexpr const void *
#else
#define SKEYS__KCONST_DECL static const void *const
#endif
#define SKEYS__KCONST(kp)                                                      \
	(void)sizeof(__extension__({                                           \
		SKEYS__KCONST_DECL skeys__kconst __attribute__((unused)) = (kp); \
		0;                                                             \
	})),
#else
#define SKEYS__KCONST(kp)
#endif

#ifdef SKEYS__KCELL_STATIC
/*
 * Where the architecture's header says that no constraint of this compiler
 * names every key for the asm (gcc for arm and s390x), C (and C++ for
 * s390x) keeps a cell per site as a static next to it, whose initializer
 * the compiler relocates itself: the same layout, so the tools and the
 * runtime see no difference.
 */
#define SKEYS__KCELL_INIT(cell, kp, on, flags)                                 \
	{ { (on), SKEYS_KEY_MAGIC | SKEYS_KEY_F_PROXY | (flags) | (on),        \
	    &(cell).slot },                                                    \
	  (struct skeys_key *)(kp) }
#define SKEYS__KSITE(kp, on, br)                                               \
	__extension__({                                                        \
		static struct skeys_kcell skeys__kcell =                       \
			SKEYS__KCELL_INIT(skeys__kcell, kp, on, 0);            \
		SKEYS__SITE_AT(&skeys__kcell.key, on, br);                     \
	})
#else
/* A site on the key at `kp`, through its cell. */
#define SKEYS__KSITE(kp, on, br)                                               \
	(SKEYS__KCONST(kp) SKEYS__SITE_SCOPE(SKEYS__SITE_ASM(                  \
		SKEYS__ASM_CELL(SKEYS__KCELL_SITE, SKEYS__CELL_OPERAND,        \
				SKEYS__CONST("skeys_on"), "0")                 \
		SKEYS__ASM_ENTRY_KEY(SKEYS__KCELL_SITE),                       \
		SKEYS__CELL_CONSTRAINT, kp, on, br)))
#endif
#else
#define SKEYS__KSITE(kp, on, br) SKEYS__SITE_AT_EXPR(kp, on, br)
#endif

/* skeys' key inside any key of this header. */
static inline struct skeys_key *skeys__kkey(struct static_key *k)
{
	return &k->skeys__key;
}

static inline const struct skeys_key *skeys__kkey_const(const struct static_key *k)
{
	return &k->skeys__key;
}

/* ---- definitions and declarations -------------------------------------- */

/*
 * A key definition that may follow `static`. gcc ignores (and warns about)
 * a visibility attribute on a static, but accepts one on a later `extern`
 * redeclaration, which then hides the non-static key; clang warns about
 * that redeclaration but not about the attribute on a static. The key must
 * be hidden when it is not static: a site names it as an assembler constant.
 * The initializer is the variable part: it may hold commas.
 */
#if defined(__clang__)
#define SKEYS__KDEFINE_HIDDEN(type, name, ...)                                 \
	SKEYS__KEY_ATTR type name = __VA_ARGS__
#else
#define SKEYS__KDEFINE_HIDDEN(type, name, ...)                                 \
	type name = __VA_ARGS__;                                               \
	extern SKEYS__KEY_ATTR type name
#endif
#if defined(SKEYS__KCELLS)
/* No attribute: the key's visibility is the compiler's default (exported). */
#define SKEYS__KDEFINE(type, name, ...) type name = __VA_ARGS__
#else
#define SKEYS__KDEFINE SKEYS__KDEFINE_HIDDEN
#endif

/*
 * Where <skeys.h> records key names (SKEYS__NAME), kernel keys are named
 * too, as SKEYS_DEFINE_* keys are.
 */
#ifdef SKEYS__NAME
#define SKEYS__KNAME(name, tag, key, n) ; SKEYS__NAME(name, tag, key, n)
#else
#define SKEYS__KNAME(name, tag, key, n)
#endif

/*
 * A defined key's name. With cells, the name's entry cannot name the key
 * itself either (it may be exported, or copied into the executable by a
 * copy relocation): it names a cell flagged SKEYS_KEY_F_NAMED, which the
 * runtime treats as the key it is bound to (skeys_find, SKEYS_ENABLE).
 */
#if defined(SKEYS__KCELLS) && defined(SKEYS__KCELL_STATIC)
#define SKEYS__KDEFNAME(name, tag, kp, on)                                     \
	; static struct skeys_kcell skeys__kname_##name =                      \
		SKEYS__KCELL_INIT(skeys__kname_##name, kp, on, SKEYS_KEY_F_NAMED); \
	SKEYS__NAME(name, tag, &skeys__kname_##name.key, 1)
#elif defined(SKEYS__KCELLS)
#define SKEYS__KDEFNAME(name, tag, kp, on)                                     \
	;                                                                      \
	SKEYS__NAME_ASM(name, tag,                                             \
			SKEYS__ASM_CELL(SKEYS__KCELL_NAME, SKEYS__CELL_OPERAND, \
					SKEYS__CONST("skeys_on"),              \
					SKEYS__KEY_F_NAMED_ASM)                \
			SKEYS__ASM_NAME_KEY(#name, SKEYS__KCELL_NAME),         \
			SKEYS__CELL_CONSTRAINT, kp, 1, on)
#else
#define SKEYS__KDEFNAME(name, tag, kp, on) SKEYS__KNAME(name, tag, kp, 1)
#endif

#define DEFINE_STATIC_KEY_TRUE(name)                                           \
	SKEYS__KDEFINE(struct static_key_true, name, STATIC_KEY_TRUE_INIT)     \
	SKEYS__KDEFNAME(name, static_key_true, &(name).key, 1)
#define DEFINE_STATIC_KEY_FALSE(name)                                          \
	SKEYS__KDEFINE(struct static_key_false, name, STATIC_KEY_FALSE_INIT)   \
	SKEYS__KDEFNAME(name, static_key_false, &(name).key, 0)
/* The kernel makes these read-only after boot; skeys keys stay writable. */
#define DEFINE_STATIC_KEY_TRUE_RO(name) DEFINE_STATIC_KEY_TRUE(name)
#define DEFINE_STATIC_KEY_FALSE_RO(name) DEFINE_STATIC_KEY_FALSE(name)

/*
 * With cells, plain declarations: the key may be of another module. Without,
 * hidden: the key is of this module, or an import of it (IMPORT_STATIC_KEY_*).
 */
#ifdef SKEYS__KCELLS
#define SKEYS__KDECL_ATTR
#else
#define SKEYS__KDECL_ATTR SKEYS__KEY_ATTR
#endif
#define DECLARE_STATIC_KEY_TRUE(name)                                          \
	extern SKEYS__KDECL_ATTR struct static_key_true name
#define DECLARE_STATIC_KEY_FALSE(name)                                         \
	extern SKEYS__KDECL_ATTR struct static_key_false name
/* Not a kernel name: the declaration of a struct static_key. */
#define DECLARE_STATIC_KEY(name) extern SKEYS__KDECL_ATTR struct static_key name

/*
 * Arrays. C uses a GNU range designator, as the kernel does (-Wpedantic
 * warns about it); C++ the members' default initializers.
 */
/*
 * Arrays stay hidden with cells too (their name's entry names the first
 * element directly): sites on their elements work in the defining module.
 */
#define SKEYS__KADEFINE SKEYS__KDEFINE_HIDDEN
#ifdef __cplusplus
#define SKEYS__KARRAY(tag, name, count, init)                                  \
	SKEYS__KADEFINE(struct tag, name[count], {})                           \
	SKEYS__KNAME(name, tag, &(name)[0].key, count)
#else
/* A declarator and an initializer list: no parentheses go around them. */
#define SKEYS__KARRAY(tag, name, count, init)                                  \
	SKEYS__KADEFINE(struct tag, name[count], { [0 ... (count) - 1] = init }) /* NOLINT(bugprone-macro-parentheses) */ \
	SKEYS__KNAME(name, tag, &(name)[0].key, count)
#endif
#define DEFINE_STATIC_KEY_ARRAY_TRUE(name, count)                              \
	SKEYS__KARRAY(static_key_true, name, count, STATIC_KEY_TRUE_INIT)
#define DEFINE_STATIC_KEY_ARRAY_FALSE(name, count)                             \
	SKEYS__KARRAY(static_key_false, name, count, STATIC_KEY_FALSE_INIT)

/*
 * Keys across modules. The module defining a key exports it; a module that
 * uses it imports it once, in one of its files, under the key's own name:
 *
 *   base.c (libbase.so):  DEFINE_STATIC_KEY_FALSE(k); EXPORT_SYMBOL_GPL(k);
 *   keys.h:               DECLARE_STATIC_KEY_FALSE(k);
 *   user.c (other module): IMPORT_STATIC_KEY_FALSE(k);  // this line is not kernel code
 *
 * The import is a module-local stand-in that the runtime binds to the real
 * key (see SKEYS_IMPORT_FALSE in <skeys.h>). EXPORT_SYMBOL takes any symbol:
 * for anything but a key it only publishes a pointer nobody reads.
 */
#define EXPORT_SYMBOL(sym)                                                     \
	SKEYS__C_LINKAGE SKEYS__EXPORT_ATTR const void *const                  \
		skeys__export_##sym;                                           \
	const void *const skeys__export_##sym = __extension__(const void *)&(sym)
#define EXPORT_SYMBOL_GPL(sym) EXPORT_SYMBOL(sym)

#define SKEYS__KIMPORT_KEY(on, name)                                           \
	{ (on), SKEYS_KEY_MAGIC | SKEYS_KEY_F_PROXY | (on),                     \
	  (void *)&skeys__export_##name }
#define IMPORT_STATIC_KEY_TRUE(name)                                           \
	SKEYS__KIMPORT_T(static_key_true, 1, name)
#define IMPORT_STATIC_KEY_FALSE(name)                                          \
	SKEYS__KIMPORT_T(static_key_false, 0, name)
/* A struct static_key: `on` is the state it was initialised with (true/false). */
#define IMPORT_STATIC_KEY(name, on) SKEYS__KIMPORT_T(static_key, on, name)
#define SKEYS__KIMPORT_T(tag, on, name)                                        \
	SKEYS__C_LINKAGE SKEYS__IMPORT_ATTR const void *const                  \
		skeys__export_##name;                                          \
	SKEYS__KEY_ATTR struct tag name = SKEYS__KIMPORT_##tag(on, name)    \
	SKEYS__KNAME(name, tag, &(name), 1)
#define SKEYS__KIMPORT_static_key(on, name) { SKEYS__KIMPORT_KEY(on, name) }
#define SKEYS__KIMPORT_static_key_true(on, name)                               \
	{ { SKEYS__KIMPORT_KEY(on, name) } }
#define SKEYS__KIMPORT_static_key_false(on, name)                              \
	{ { SKEYS__KIMPORT_KEY(on, name) } }

/* ---- kconfig-style switches: static_branch_maybe ----------------------- */

/* 1 when `option` is a macro defined as 1, else 0 (a single token). */
#define SKEYS__KSECOND(a, b, ...) b
#define SKEYS__KPROBE_1 ~, 1
#define SKEYS__KIS_ONE3(probe) SKEYS__KSECOND(probe, 0, ~)
#define SKEYS__KIS_ONE2(value) SKEYS__KIS_ONE3(SKEYS__KPROBE_##value)
#define SKEYS__KIS_ONE(option) SKEYS__KIS_ONE2(option)
#define SKEYS__KPASTE2(a, b) a##b
#define SKEYS__KPASTE(a, b) SKEYS__KPASTE2(a, b)

/* The kernel's <linux/kconfig.h> test, if the program has none. */
#ifndef IS_ENABLED
#define IS_ENABLED(option) SKEYS__KIS_ONE(option)
#endif

#define SKEYS__KDEFINE_1(name) DEFINE_STATIC_KEY_TRUE(name)
#define SKEYS__KDEFINE_0(name) DEFINE_STATIC_KEY_FALSE(name)
#define SKEYS__KDECLARE_1(name) DECLARE_STATIC_KEY_TRUE(name)
#define SKEYS__KDECLARE_0(name) DECLARE_STATIC_KEY_FALSE(name)
/* TRUE when cfg##_DEFAULT is defined as 1. */
#define DEFINE_STATIC_KEY_MAYBE(cfg, name)                                     \
	SKEYS__KPASTE(SKEYS__KDEFINE_, SKEYS__KIS_ONE(cfg##_DEFAULT))(name)
#define DECLARE_STATIC_KEY_MAYBE(cfg, name)                                    \
	SKEYS__KPASTE(SKEYS__KDECLARE_, SKEYS__KIS_ONE(cfg##_DEFAULT))(name)
/* False when cfg is off; else a likely or unlikely site, as cfg##_DEFAULT says. */
#define static_branch_maybe(cfg, x)                                            \
	(SKEYS__KIS_ONE(cfg) ? (SKEYS__KIS_ONE(cfg##_DEFAULT)                  \
					? static_branch_likely(x)              \
					: static_branch_unlikely(x))           \
			     : false)

/* ---- sites ------------------------------------------------------------- */

/*
 * The initial state of a typed key, from its type: the kernel's and skeys'
 * own typed keys are both accepted.
 */
#ifdef __cplusplus
}
char (&skeys__initial_tag(const volatile static_key_true *))[2];
char (&skeys__initial_tag(const volatile static_key_false *))[1];
#define SKEYS__KINITIAL(x) SKEYS__INITIAL(x)
/* The untyped struct static_key of the legacy sites. */
#define SKEYS__KLEGACY(x) (x)
extern "C" {
#else
#define SKEYS__KINITIAL(x)                                                     \
	_Generic(*(x), struct static_key_true: 1, struct static_key_false: 0,  \
		 struct skeys_key_true: 1, struct skeys_key_false: 0)
#define SKEYS__KLEGACY(x) _Generic((x), struct static_key *: (x))
#endif

#define static_branch_likely(x)                                                \
	(!SKEYS__KSITE(&(x)->key, SKEYS__KINITIAL(x), 1))
#define static_branch_unlikely(x)                                              \
	SKEYS__KSITE(&(x)->key, SKEYS__KINITIAL(x), 0)

/*
 * The legacy sites take a struct static_key *, which does not tell its
 * initial state: static_key_false() expects a key initialised with
 * STATIC_KEY_INIT_FALSE, static_key_true() one with STATIC_KEY_INIT_TRUE (the
 * kernel's own rule for them). skeys-seal rejects a site of the other kind.
 */
#define static_key_false(x) SKEYS__KSITE(SKEYS__KLEGACY(x), 0, 0)
#define static_key_true(x) (!SKEYS__KSITE(SKEYS__KLEGACY(x), 1, 1))

/* ---- switching --------------------------------------------------------- */

/* Exported by libskeys for this header: use the kernel names above. */
int skeys_key_count(const struct skeys_key *key);
int skeys_kernel_disable(struct skeys_key *key);

static inline int static_key_count(struct static_key *key)
{
	return skeys_key_count(skeys__kkey(key));
}

static inline int static_key_enable(struct static_key *key)
{
	return skeys_key_enable(skeys__kkey(key));
}

/*
 * As the kernel: a key whose count is above 1 (incremented by several
 * users) is left as it is, with a warning through skeys_set_log().
 */
static inline int static_key_disable(struct static_key *key)
{
	return skeys_kernel_disable(skeys__kkey(key));
}

/* true when the count went up, as the kernel's (static_branch_inc returns the error). */
static inline bool static_key_slow_inc(struct static_key *key)
{
	return skeys_key_inc(skeys__kkey(key)) == 0;
}

static inline int static_key_slow_dec(struct static_key *key)
{
	return skeys_key_dec(skeys__kkey(key));
}

/* The kernel's locking variants: skeys takes its own lock either way. */
#define static_key_enable_cpuslocked(k) static_key_enable(k)
#define static_key_disable_cpuslocked(k) static_key_disable(k)
#define static_key_slow_inc_cpuslocked(k) static_key_slow_inc(k)
#define static_key_slow_dec_cpuslocked(k) static_key_slow_dec(k)

/* skeys' key of any key: struct static_key, typed kernel keys, typed skeys keys. */
#ifdef __cplusplus
}
static inline struct skeys_key *skeys__kany(struct static_key *k) { return skeys__kkey(k); }
static inline struct skeys_key *skeys__kany(struct skeys_key *k) { return k; }
static inline const struct skeys_key *skeys__kany(const struct static_key *k)
{
	return skeys__kkey_const(k);
}
static inline const struct skeys_key *skeys__kany(const struct skeys_key *k) { return k; }
static inline const struct skeys_key *skeys__kany(const static_key_true *k)
{
	return skeys__kkey_const(&k->key);
}
static inline const struct skeys_key *skeys__kany(const static_key_false *k)
{
	return skeys__kkey_const(&k->key);
}
static inline const struct skeys_key *skeys__kany(const skeys_key_true *k) { return &k->key; }
static inline const struct skeys_key *skeys__kany(const skeys_key_false *k) { return &k->key; }
#define SKEYS__KANY(p) skeys__kany(p)
extern "C" {
#else
static inline struct skeys_key *skeys__kany_id(struct skeys_key *k)
{
	return k;
}

#define SKEYS__KANY(p)                                                         \
	_Generic((p), struct static_key *: skeys__kkey,                        \
		 struct skeys_key *: skeys__kany_id)(p)
#endif

#define static_branch_enable(x) skeys_key_enable(SKEYS__KANY(&(x)->key))
#define static_branch_disable(x) skeys_kernel_disable(SKEYS__KANY(&(x)->key))
#define static_branch_inc(x) skeys_key_inc(SKEYS__KANY(&(x)->key))
#define static_branch_dec(x) skeys_key_dec(SKEYS__KANY(&(x)->key))
#define static_branch_enable_cpuslocked(x) static_branch_enable(x)
#define static_branch_disable_cpuslocked(x) static_branch_disable(x)
#define static_branch_inc_cpuslocked(x) static_branch_inc(x)
#define static_branch_dec_cpuslocked(x) static_branch_dec(x)

/* Any key: struct static_key *, or a pointer to a typed key. */
#ifdef __cplusplus
#define static_key_enabled(x) skeys_key_enabled(skeys__kany(x))
#else
static inline const struct skeys_key *skeys__kany_true(const struct static_key_true *k)
{
	return &k->key.skeys__key;
}

static inline const struct skeys_key *skeys__kany_false(const struct static_key_false *k)
{
	return &k->key.skeys__key;
}

static inline const struct skeys_key *skeys__kany_strue(const struct skeys_key_true *k)
{
	return &k->key;
}

static inline const struct skeys_key *skeys__kany_sfalse(const struct skeys_key_false *k)
{
	return &k->key;
}

#define static_key_enabled(x)                                                  \
	skeys_key_enabled(_Generic((x),                                        \
		struct static_key *: skeys__kkey_const,                        \
		const struct static_key *: skeys__kkey_const,                  \
		struct static_key_true *: skeys__kany_true,                    \
		const struct static_key_true *: skeys__kany_true,              \
		struct static_key_false *: skeys__kany_false,                  \
		const struct static_key_false *: skeys__kany_false,            \
		struct skeys_key_true *: skeys__kany_strue,                    \
		const struct skeys_key_true *: skeys__kany_strue,              \
		struct skeys_key_false *: skeys__kany_sfalse,                  \
		const struct skeys_key_false *: skeys__kany_sfalse)(x))
#endif

/* ---- deferred (rate-limited) keys -------------------------------------- */

/*
 * A decrement that would disable a deferred key takes effect `timeout`
 * later, unless an increment comes first; the others take effect at once.
 * Timeouts are given in jiffies of HZ per second (1000 unless the program
 * defines HZ) and kept in milliseconds. The delayed decrements run on one
 * thread of the runtime, started by the first of them: docs/kernel.md.
 */
#ifndef HZ
#define HZ 1000
#endif
#define SKEYS__KMS(jiffies) ((unsigned long)(jiffies) * 1000ul / (unsigned long)(HZ))

/* The runtime's record of a pending decrement; zero until the first one. */
struct skeys_deferred_work {
	struct skeys_key *key;
	struct skeys_deferred_work *next;
	int64_t due_ns; /* CLOCK_MONOTONIC */
	int pending;
};

int skeys_kernel_deferred_dec(struct skeys_key *key, struct skeys_deferred_work *work,
			      unsigned long timeout_ms);
void skeys_kernel_deferred_flush(struct skeys_deferred_work *work);

struct static_key_deferred {
	struct static_key key;
	unsigned long timeout; /* milliseconds */
	struct skeys_deferred_work work;
};
struct static_key_true_deferred {
	struct static_key_true key;
	unsigned long timeout;
	struct skeys_deferred_work work;
};
struct static_key_false_deferred {
	struct static_key_false key;
	unsigned long timeout;
	struct skeys_deferred_work work;
};

#define DEFINE_STATIC_KEY_DEFERRED_TRUE(name, rl)                              \
	SKEYS__KDEFINE(struct static_key_true_deferred, name,                  \
		       SKEYS__KDEFERRED_INIT(STATIC_KEY_TRUE_INIT, rl))         \
	SKEYS__KDEFNAME(name, static_key_true_deferred, &(name).key.key, 1)
#define DEFINE_STATIC_KEY_DEFERRED_FALSE(name, rl)                             \
	SKEYS__KDEFINE(struct static_key_false_deferred, name,                 \
		       SKEYS__KDEFERRED_INIT(STATIC_KEY_FALSE_INIT, rl))        \
	SKEYS__KDEFNAME(name, static_key_false_deferred, &(name).key.key, 0)
#define SKEYS__KDEFERRED_INIT(key_init, rl)                                    \
	{ key_init, SKEYS__KMS(rl), { 0, 0, 0, 0 } }

static inline void jump_label_rate_limit_ms(struct static_key_deferred *key,
					    unsigned long ms)
{
	key->timeout = ms;
}
#define jump_label_rate_limit(key, rl) jump_label_rate_limit_ms((key), SKEYS__KMS(rl))

static inline int static_key_slow_dec_deferred(struct static_key_deferred *key)
{
	return skeys_kernel_deferred_dec(skeys__kkey(&key->key), &key->work, key->timeout);
}

#define static_branch_deferred_inc(x) static_branch_inc(&(x)->key)
#define static_branch_slow_dec_deferred(x)                                     \
	skeys_kernel_deferred_dec(skeys__kkey(&(x)->key.key), &(x)->work, (x)->timeout)
/* Runs the pending decrement now, or waits for the one the timer is running. */
#define static_key_deferred_flush(x) skeys_kernel_deferred_flush(&(x)->work)

/* ---- initialisation ---------------------------------------------------- */

/*
 * The kernel patches its own image once at boot; skeys modules register
 * themselves from their constructors, before main, so there is nothing to do.
 */
#define static_key_initialized true
static inline void jump_label_init(void)
{
}

/* ---- static calls (<linux/static_call.h>) ----------------------------- */

/*
 * skeys' static calls (<skeys/call.h>) under the kernel's names. As for
 * keys, static_call_update() returns skeys' error code where the kernel's
 * returns void. EXPORT_STATIC_CALL exports a call; a module using it
 * imports it with SKEYS_IMPORT_CALL (the kernel has one namespace of
 * symbols, user space one per module).
 */
#define DEFINE_STATIC_CALL(name, func) SKEYS_DEFINE_CALL(name, func)
#define DEFINE_STATIC_CALL_NULL(name, func) SKEYS_DEFINE_CALL_NULL(name, func)
#define DEFINE_STATIC_CALL_RET0(name, func) SKEYS_DEFINE_CALL_RET0(name, func)
#define DECLARE_STATIC_CALL(name, func) SKEYS_DECLARE_CALL(name, func)
#define static_call(name) skeys_call(name)
#define static_call_cond(name) skeys_call_cond(name)
#define static_call_update(name, func) skeys_call_update(name, func)
#define static_call_query(name) skeys_call_query(name)
#define EXPORT_STATIC_CALL(name) SKEYS_EXPORT_CALL(name)

#ifdef __cplusplus
}
#endif

#endif
