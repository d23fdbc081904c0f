/* SPDX-License-Identifier: MIT */
/*
 * The PE and Mach-O readers against LIEF's C API: every section LIEF lists
 * must be in the image our reader made, at the same address and file
 * offset, with the same size; the skeys table and header must be where LIEF
 * puts the skeys sections. LIEF only gets files our reader accepted (it
 * aborts on malformed input), as a second opinion on well-formed ones.
 *
 *   lief-check FILE    exit 0 agree, 1 disagree, 2 cannot read
 */
/* LIEF's C headers typedef `bool` themselves: they go before <stdbool.h>. */
#include <LIEF/MachO.h>
#include <LIEF/PE.h>

#include "arch.h"
#include "file.h"
#include "format.h"

#include <inttypes.h>
#include <stdarg.h>
#include <skeys/abi.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: section %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

/* Our section at `addr` that holds file bytes, if any. */
static const struct skeys_section *ours_at(const struct skeys_image *img, uint64_t addr)
{
	size_t i;

	for (i = 0; i < img->n_sections; i++)
		if (img->sections[i].addr == addr && !(img->sections[i].flags & SKEYS_SEC_NOBITS))
			return &img->sections[i];
	return NULL;
}

static void compare(const struct skeys_image *img, const char *name, uint64_t addr,
		    uint64_t size, uint64_t offset, bool mapped, unsigned *n)
{
	const struct skeys_section *s;

	if (!size)
		return;
	s = ours_at(img, addr);
	if (!s) {
		if (mapped)
			fail(name, "at 0x%" PRIx64 " is missing from our image", addr);
		return;
	}
	(*n)++;
	if (s->size != size)
		fail(name, "size 0x%" PRIx64 " in LIEF, 0x%" PRIx64 " here", size, s->size);
	if (s->offset != offset)
		fail(name, "offset 0x%" PRIx64 " in LIEF, 0x%" PRIx64 " here", offset, s->offset);
	if (name[0] != '/' && strcmp(name, s->name))
		fail(name, "is named %s here", s->name);
}

static void check_pe(const struct skeys_image *img, const char *path)
{
	Pe_Binary_t *b = pe_parse(path);
	unsigned n = 0;

	if (!b) {
		printf("FAIL: LIEF cannot parse %s\n", path);
		failures++;
		return;
	}
	for (Pe_Section_t **p = b->sections; *p; p++) {
		const Pe_Section_t *s = *p;
		uint64_t addr = b->optional_header.imagebase + s->virtual_address;
		uint64_t vsize = s->virtual_size ? s->virtual_size : s->size;
		uint64_t fsize = vsize < s->size ? vsize : s->size;
		bool discardable = s->characteristics & 0x02000000u;

		compare(img, s->name, addr, fsize, s->offset, !discardable, &n);
		if (!strcmp(s->name, ".skeys")) {
			n++;
			/*
			 * A header with the function entries part and the names
			 * table's bounds (80 bytes), the names' only (48) or
			 * neither (40).
			 */
			uint64_t h = img->header.size;

			if (img->header.addr != addr || (h != 40 && h != 48 && h != 80) ||
			    img->table.addr != addr + h || img->table.size != vsize - h)
				fail(s->name, "header 0x%" PRIx64 " / table at 0x%" PRIx64 " disagree",
				     addr, img->table.addr);
		}
	}
	printf("pe: %u sections agree with LIEF\n", n);
	pe_binary_destroy(b);
}

static void check_macho_one(const struct skeys_image *img, const Macho_Binary_t *b)
{
	unsigned n = 0;

	for (Macho_Section_t **p = b->sections; *p; p++) {
		const Macho_Section_t *s = *p;
		unsigned type = s->flags & 0xff;
		bool zerofill = type == 0x1 || type == 0xc || type == 0x12;

		if (!zerofill)
			compare(img, s->name, s->virtual_address, s->size, s->offset, true, &n);
		if (!strcmp(s->name, SKEYS_SECTION_TABLE) &&
		    (img->table.addr != s->virtual_address || img->table.size != s->size))
			fail(s->name, "is not our table (0x%" PRIx64 " vs 0x%" PRIx64 ")",
			     s->virtual_address, img->table.addr);
		if (!strcmp(s->name, SKEYS_SECTION_HEADER) && img->header.addr != s->virtual_address)
			fail(s->name, "is not our header (0x%" PRIx64 " vs 0x%" PRIx64 ")",
			     s->virtual_address, img->header.addr);
	}
	printf("macho %s: %u sections agree with LIEF\n", img->arch->name, n);
}

static void check_macho(const struct skeys_image *img, const char *path)
{
	Macho_Binary_t **bs = macho_parse(path);
	size_t n = 0, want = img->n_slices ? img->n_slices : 1;

	if (!bs) {
		printf("FAIL: LIEF cannot parse %s\n", path);
		failures++;
		return;
	}
	for (; bs[n]; n++)
		if (n < want)
			check_macho_one(img->n_slices ? img->slices[n] : img, bs[n]);
	if (n != want) {
		printf("FAIL: LIEF sees %zu images, we see %zu\n", n, want);
		failures++;
	}
	macho_binaries_destroy(bs);
}

int main(int argc, char **argv)
{
	char err[SKEYS_ERR_LEN];
	struct skeys_image *img;
	struct skeys_file file;

	if (argc != 2) {
		fprintf(stderr, "usage: lief-check FILE\n");
		return 2;
	}
	/* Our reader first: it checks the format before LIEF sees the file. */
	if (skeys_file_open(&file, argv[1], 0, err, sizeof(err)) ||
	    skeys_image_open_mem(&img, file.buf, file.len, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		skeys_file_close(&file);
		return 2;
	}
	if (!strcmp(img->format->name, "pe"))
		check_pe(img, argv[1]);
	else if (!strcmp(img->format->name, "macho"))
		check_macho(img, argv[1]);
	else
		printf("format %s: nothing to compare\n", img->format->name);
	skeys_image_close(img);
	skeys_file_close(&file);
	return failures ? 1 : 0;
}
