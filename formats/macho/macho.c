/* SPDX-License-Identifier: MIT */
/*
 * Mach-O reader: 64-bit little-endian images (x86_64, arm64) and universal
 * (fat) files holding them, one image per slice. This file is the format's
 * row and the universal container; thin.c reads one image, signature.c its
 * code signature.
 */
#include "macho.h"

#include "arch.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

static bool macho_probe(const uint8_t *buf, size_t len)
{
	uint32_t n;

	if (len < 8)
		return false;
	/* Every Mach-O magic, so that the ones not read get a message of their own. */
	if (le32(buf) == MH_MAGIC_64 || le32(buf) == MH_MAGIC || be32(buf) == MH_MAGIC_64 ||
	    be32(buf) == MH_MAGIC)
		return true;
	/*
	 * 0xcafebabe also starts Java class files, whose next word is their
	 * version, 45 or more; anything below is a universal file, even a bad one.
	 */
	n = be32(buf + 4);
	return (be32(buf) == FAT_MAGIC || be32(buf) == FAT_MAGIC_64) && n < JAVA_MIN_MAJOR;
}

/* ---- universal files ------------------------------------------------------- */

static int macho_open_fat(struct skeys_image *img, char *err, size_t errlen)
{
	const uint8_t *b = img->buf;
	bool wide = be32(b) == FAT_MAGIC_64;
	uint32_t n = be32(b + 4), i, j;
	size_t entsize = wide ? 32 : 20;

	if (!n)
		FAIL("the universal header lists no slices");
	if (n > FAT_MAX_SLICES)
		FAIL("the universal header lists %u slices, more than %u", n,
		     (unsigned)FAT_MAX_SLICES);
	if (!in_file(img, 8, (uint64_t)n * entsize))
		FAIL("truncated: the universal header lists %u slices past the end of the file",
		     n);
	img->slices = calloc(n, sizeof(struct skeys_image *));
	if (!img->slices)
		FAIL("out of memory");
	for (i = 0; i < n; i++) {
		const uint8_t *a = b + 8 + (size_t)i * entsize;
		uint64_t off = wide ? be64(a + 8) : be32(a + 8);
		uint64_t size = wide ? be64(a + 16) : be32(a + 12);
		char sub[SKEYS_ERR_LEN];
		struct skeys_image *s;

		uint32_t align = be32(a + (wide ? 24 : 16));

		if (!in_file(img, off, size))
			FAIL("truncated: slice %u [0x%llx, +0x%llx) extends past the end of the "
			     "file (0x%zx bytes)", i, (unsigned long long)off,
			     (unsigned long long)size, img->len);
		if (off < 8 + (uint64_t)n * entsize)
			FAIL("slice %u at 0x%llx overlaps the universal header", i,
			     (unsigned long long)off);
		if (align > FAT_MAX_ALIGN || off % ((uint64_t)1 << align))
			FAIL("slice %u at 0x%llx is not aligned to 2^%u, as the universal header "
			     "says it is", i, (unsigned long long)off, align);
		/* Sealing one slice must not rewrite another's bytes. */
		for (j = 0; j < i; j++) {
			const uint8_t *o = b + 8 + (size_t)j * entsize;
			uint64_t o_off = wide ? be64(o + 8) : be32(o + 8);
			uint64_t o_size = wide ? be64(o + 16) : be32(o + 12);

			if (off < o_off + o_size && o_off < off + size)
				FAIL("slices %u and %u overlap in the file", j, i);
		}
		if (size < 4 || le32(b + off) != MH_MAGIC_64)
			FAIL("slice %u (cputype 0x%x) is not a 64-bit little-endian Mach-O image",
			     i, be32(a));
		s = calloc(1, sizeof(*s));
		if (!s)
			FAIL("out of memory");
		img->slices[img->n_slices++] = s;
		s->format = img->format;
		s->buf = b + off;
		s->len = size;
		s->slice_offset = off;
		if (macho_open_thin(s, sub, sizeof(sub)))
			FAIL("slice %u: %s", i, sub);
		if (be32(a) != le32(s->buf + 4))
			FAIL("slice %u: the universal header says cputype 0x%x, the image 0x%x", i,
			     be32(a), le32(s->buf + 4));
	}
	return 0;
}

static int macho_open(struct skeys_image *img, char *err, size_t errlen)
{
	/* The registry probes first; a reader called directly (fuzzing) must not trust it. */
	if (!macho_probe(img->buf, img->len)) {
		snprintf(err, errlen, "not a Mach-O file or universal file");
		return -1;
	}
	if (le32(img->buf) == MH_MAGIC_64)
		return macho_open_thin(img, err, errlen);
	if (le32(img->buf) == MH_MAGIC || be32(img->buf) == MH_MAGIC_64 ||
	    be32(img->buf) == MH_MAGIC) {
		snprintf(err, errlen, "%s-endian %s-bit Mach-O image: only 64-bit little-endian "
			 "images (x86_64, arm64) are read",
			 le32(img->buf) == MH_MAGIC ? "little" : "big",
			 be32(img->buf) == MH_MAGIC_64 ? "64" : "32");
		return -1;
	}
	return macho_open_fat(img, err, errlen);
}

static void macho_close(struct skeys_image *img)
{
	struct macho_priv *p = img->priv;

	if (!p)
		return;
	free(p->names);
	free(p->segs);
	free(p);
	img->priv = NULL;
}

/* ---- sealing: each image's table bounds and code signature ------------ */

static int macho_seal_prepare(const struct skeys_image *img, char *err, size_t errlen)
{
	char sub[SKEYS_ERR_LEN];
	size_t i;

	if (!img->n_slices)
		return macho_signature_prepare(img, err, errlen);
	for (i = 0; i < img->n_slices; i++)
		if (macho_signature_prepare(img->slices[i], sub, sizeof(sub)))
			FAIL("slice %zu (%s): %s", i, img->slices[i]->arch->name, sub);
	return 0;
}

static void seal_finish_one(const struct skeys_image *img, uint8_t *out)
{
	uint8_t *p = out + img->header.offset;
	struct skeys_header h;

	/* The bounds the module's constructor computes, so the file says it too. */
	if (img->has_header && img->has_table) {
		skeys_header_set_bounds(&h, img->header.addr, img->table.addr,
					img->table.addr + img->table.size);
		skeys_image_put32(img, p + offsetof(struct skeys_header, start), (uint32_t)h.start);
		skeys_image_put32(img, p + offsetof(struct skeys_header, stop), (uint32_t)h.stop);
	}
	macho_signature_rehash(img, out);
}

static void macho_seal_finish(const struct skeys_image *img, uint8_t *out)
{
	size_t i;

	if (!img->n_slices) {
		seal_finish_one(img, out);
		return;
	}
	for (i = 0; i < img->n_slices; i++)
		seal_finish_one(img->slices[i], out + img->slices[i]->slice_offset);
}

const struct skeys_format skeys_format_macho = {
	.name = "macho",
	.probe = macho_probe,
	.open = macho_open,
	.close = macho_close,
	.seal_prepare = macho_seal_prepare,
	.seal_finish = macho_seal_finish,
	.calls_section = "__skeys_chdr", /* <skeys/format/macho.h> */
	.pointer = macho_pointer,
};
