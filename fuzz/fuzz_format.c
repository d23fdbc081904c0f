/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for one object-file reader, chosen at build time with
 * -DSKEYS_FUZZ_FORMAT=skeys_format_<name>. Any bytes must give an image or
 * a message, never a crash, a leak or an out-of-bounds read; an image must
 * keep the promises format.h makes (sections sorted, disjoint and inside the
 * file), checked here through the lookups the verifier uses.
 */
#include "format.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                             \
	do {                                                                   \
		if (!(c))                                                      \
			__builtin_trap();                                      \
	} while (0)

static void image_probe(const struct skeys_image *img)
{
	size_t i;

	for (i = 0; i < img->n_sections; i++) {
		const struct skeys_section *s = &img->sections[i];

		REQUIRE(s->name && s->size);
		REQUIRE(i == 0 || img->sections[i - 1].addr < s->addr);
		if (!(s->flags & SKEYS_SEC_NOBITS))
			REQUIRE(s->offset <= img->len && s->size <= img->len - s->offset);
		REQUIRE(skeys_image_section_at(img, s->addr, 1) == s);
		REQUIRE(skeys_image_section_at(img, s->addr + s->size - 1, 1) == s);
		if (!(s->flags & SKEYS_SEC_NOBITS)) {
			int64_t off = skeys_image_offset(img, s->addr, s->size);
			volatile uint8_t sum = 0;
			uint64_t k;

			/* Read every byte so that ASan sees a wrong offset. */
			REQUIRE(off >= 0);
			for (k = 0; k < s->size; k++)
				sum ^= img->buf[off + k];
			(void)sum;
		}
	}
	for (i = 0; i < img->n_funcs; i++) {
		REQUIRE(img->funcs[i].name);
		(void)skeys_image_func_at(img, img->funcs[i].addr);
		(void)skeys_image_func_at(img, img->funcs[i].addr + img->funcs[i].size);
	}
	for (i = 0; i < img->n_objects; i++)
		REQUIRE(skeys_image_object_at(img, img->objects[i].addr) != NULL);
	if (img->has_table)
		(void)skeys_image_offset(img, img->table.addr, img->table.size);
	if (img->has_header)
		(void)skeys_image_offset(img, img->header.addr, img->header.size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct skeys_image *img = NULL;
	char err[SKEYS_ERR_LEN] = "";

	if (skeys_image_open_format(&img, &SKEYS_FUZZ_FORMAT, data, size, err, sizeof(err))) {
		REQUIRE(img == NULL && err[0]); /* a failure always says why */
		return 0;
	}
	REQUIRE(img->buf == data && img->len == size);
	if (img->n_slices) {
		/* A universal Mach-O file: every slice is an image of its own. */
		for (size_t i = 0; i < img->n_slices; i++) {
			REQUIRE(img->slices[i] && img->slices[i]->arch);
			image_probe(img->slices[i]);
		}
	} else {
		REQUIRE(img->arch);
		image_probe(img);
	}
	skeys_image_close(img);
	return 0;
}
