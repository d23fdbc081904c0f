/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the whole path skeys-seal takes, from memory: find
 * the format, read the image, verify the table and every site, and when it
 * verifies unsealed, seal a copy. Properties checked beyond "no crash":
 * a failure always has a message; sealing changes only the table and header
 * bytes; a sealed copy verifies again and is intact, and the proof of a
 * sealed copy (skeys_check_sealed) agrees; sealing it in pieces of other
 * sizes (skeys_check_stream_*) gives the same bytes; a file that verifies as
 * sealed is intact.
 */
#include "check.h"
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

/* Bytes of out[] that differ from data[] lie in the table or the header. */
static void only_table_changed(const struct skeys_check *c, const uint8_t *data,
			       const uint8_t *out, size_t size)
{
	uint64_t t0 = c->table_off, t1 = c->table_off + c->n * sizeof(struct skeys_entry);
	uint64_t h0 = c->hdr_off, h1 = c->hdr_off + c->img->header.size;
	size_t i;

	for (i = 0; i < size; i++)
		if (data[i] != out[i])
			REQUIRE((i >= t0 && i < t1) || (i >= h0 && i < h1));
}

/*
 * skeys-seal streams an ELF table out in pieces: the pieces (sizes taken
 * from the input's bytes) must give the bytes sealing in one piece gave.
 */
static void stream_agrees(struct skeys_check *c, const uint8_t *data, size_t size,
			  const uint8_t *sealed)
{
	char err[SKEYS_ERR_LEN] = "";
	struct skeys_check_stream st;
	uint8_t *out = malloc(size ? size : 1), *piece = malloc(64 * sizeof(struct skeys_entry));
	size_t done, k;

	if (!out || !piece || skeys_check_stream_begin(c, &st, err, sizeof(err))) {
		free(out);
		free(piece);
		return;
	}
	memcpy(out, data, size);
	for (done = 0; done < c->n; done += k) {
		k = 1 + (size ? data[done % size] % 64 : 0);
		if (k > c->n - done)
			k = c->n - done;
		REQUIRE(skeys_check_stream_table(c, &st, piece, k, err, sizeof(err)) == 0);
		memcpy(out + c->table_off + done * sizeof(struct skeys_entry), piece,
		       k * sizeof(struct skeys_entry));
	}
	REQUIRE(skeys_check_stream_header(c, &st, out, err, sizeof(err)) == 0);
	REQUIRE(memcmp(out, sealed, size) == 0);
	skeys_check_stream_end(&st);
	free(piece);
	free(out);
}

static void seal_and_recheck(struct skeys_check *c, const uint8_t *data, size_t size)
{
	char err[SKEYS_ERR_LEN] = "";
	struct skeys_image *img = NULL;
	struct skeys_check again;
	uint8_t *out = malloc(size ? size : 1);

	if (!out)
		return;
	memcpy(out, data, size);
	if (skeys_check_seal(c, out, err, sizeof(err))) {
		/* Only an entry that cannot be moved may stop a verified table. */
		REQUIRE(err[0]);
		free(out);
		return;
	}
	only_table_changed(c, data, out, size);
	/* The proof of a sealed copy must accept what the full check does. */
	REQUIRE(skeys_check_sealed(c, out, err, sizeof(err)) == 0);
	stream_agrees(c, data, size, out);
	REQUIRE(skeys_image_open_mem(&img, out, size, err, sizeof(err)) == 0);
	REQUIRE(skeys_check_open(&again, img, err, sizeof(err)) == 0);
	REQUIRE(skeys_check_ok(&again) && again.sealed && again.intact);
	REQUIRE(again.n == c->n);
	skeys_check_close(&again);
	skeys_image_close(img);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct skeys_image *img = NULL;
	struct skeys_check c;
	char err[SKEYS_ERR_LEN] = "", name[256];
	size_t i;

	if (skeys_image_open_mem(&img, data, size, err, sizeof(err))) {
		REQUIRE(err[0]);
		return 0;
	}
	if (skeys_check_open(&c, img, err, sizeof(err))) {
		REQUIRE(err[0]);
		skeys_image_close(img);
		return 0;
	}
	/* What skeys-dump and the diagnostics print for every site and key. */
	for (i = 0; i < c.n; i++) {
		const struct skeys_site s = skeys_check_site_at(&c, i);

		skeys_check_func_name(img, s.code, name, sizeof(name));
		skeys_check_func_name(img, s.target, name, sizeof(name));
		REQUIRE(c.sites[i].key < c.n_keys);
	}
	for (i = 0; i < c.n_keys; i++)
		skeys_check_key_name(img, c.keys[i].addr, name, sizeof(name));
	if (skeys_check_ok(&c)) {
		if (c.sealed)
			REQUIRE(c.intact);
		else
			seal_and_recheck(&c, data, size);
	}
	skeys_check_close(&c);
	skeys_image_close(img);
	return 0;
}
