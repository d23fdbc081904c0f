/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the tools' reader and verifier, driven as a library:
 *   tool-unit endian | emit | keys | lookup FILE | seal FILE | truncate FILE
 *   tool-unit mutate FILE [ITERATIONS [SEED]] | mapped FILE | holes
 * The truncate and mutate subtests feed damaged copies of a fixture to
 * skeys_image_open_mem(): every one must fail cleanly or verify, never crash.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "arch.h"
#include "check.h"
#include "emit.h"
#include "file.h"
#include "format.h"
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../testing.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	char err[SKEYS_ERR_LEN];
	uint8_t *buf;

	if (skeys_file_read(path, &buf, len, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", path, err);
		exit(2);
	}
	return buf;
}

static int test_endian(void)
{
	struct skeys_image img = { 0 };
	uint8_t b[8];

	img.big_endian = true;
	skeys_image_put32(&img, b, 0x11223344u);
	CHECK(b[0] == 0x11 && b[3] == 0x44);
	CHECK(skeys_image_get32(&img, b) == 0x11223344u);
	skeys_image_put64(&img, b, 0x0102030405060708ull);
	CHECK(b[0] == 1 && b[7] == 8);
	CHECK(skeys_image_get64(&img, b) == 0x0102030405060708ull);
	img.big_endian = false;
	skeys_image_put16(&img, b, 0xabcd);
	CHECK(b[0] == 0xcd && b[1] == 0xab);
	CHECK(skeys_image_get16(&img, b) == 0xabcd);
	CHECK(skeys_image_get64(&img, (const uint8_t *)"\x08\x07\x06\x05\x04\x03\x02\x01") ==
	       0x0102030405060708ull);
	return 0;
}

/* Print one object both ways through the emitter. */
static char *emit_sample(bool json)
{
	struct skeys_emit e;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	skeys_emit_begin(&e, f, json);
	skeys_emit_str(&e, "name", "a\"b\\c\x01\xff");
	skeys_emit_bool(&e, "sealed", true, NULL, NULL);
	skeys_emit_array_begin(&e, "sites", 1);
	skeys_emit_elem_begin(&e);
	skeys_emit_addr(&e, "address", 0x401136);
	skeys_emit_str(&e, "error", "two words");
	skeys_emit_null(&e, "initial");
	skeys_emit_elem_end(&e);
	skeys_emit_array_end(&e);
	skeys_emit_array_begin(&e, "errors", 0);
	skeys_emit_array_end(&e);
	skeys_emit_end(&e);
	fclose(f);
	return out;
}

static int test_emit(void)
{
	char *j = emit_sample(true), *t = emit_sample(false);

	CHECK(j && t);
	if (!j || !t)
		return 1;
	CHECK(strcmp(j, "{\n  \"name\": \"a\\\"b\\\\c\\u0001\\u00ff\",\n"
			 "  \"sealed\": true,\n"
			 "  \"sites\": [\n"
			 "    {\"address\": \"0x401136\", \"error\": \"two words\", \"initial\": null}\n"
			 "  ],\n"
			 "  \"errors\": []\n}\n") == 0);
	CHECK(strcmp(t, "name:         a\"b\\c\x01\xff\n"
			 "sealed:       yes\n"
			 "sites (1):\n"
			 "  address=0x401136 error=\"two words\" initial=?\n"
			 "errors (0):\n") == 0);
	if (failures)
		fprintf(stderr, "json:\n%s\ntext:\n%s\n", j, t);
	free(j);
	free(t);
	return 0;
}

static struct skeys_image *open_or_die(const uint8_t *buf, size_t len)
{
	char err[SKEYS_ERR_LEN];
	struct skeys_image *img;

	if (skeys_image_open_mem(&img, buf, len, err, sizeof(err))) {
		fprintf(stderr, "open: %s\n", err);
		exit(1);
	}
	return img;
}

static int test_lookup(const char *path)
{
	size_t len, i;
	uint8_t *buf = slurp(path, &len);
	struct skeys_image *img = open_or_die(buf, len);

	CHECK(strcmp(img->format->name, "elf") == 0);
	CHECK(img->has_header && img->has_table);
	CHECK(img->n_funcs > 5 && img->n_objects >= 2);
	for (i = 0; i < img->n_funcs; i++) {
		const struct skeys_symbol *s = &img->funcs[i];

		CHECK(skeys_image_func_at(img, s->addr) == s);
		if (s->size > 1)
			CHECK(skeys_image_func_at(img, s->addr + s->size - 1) == s);
		CHECK(i == 0 || img->funcs[i - 1].addr < s->addr);
	}
	for (i = 0; i < img->n_objects; i++)
		CHECK(skeys_image_object_at(img, img->objects[i].addr) == &img->objects[i]);
	for (i = 0; i < img->n_sections; i++) {
		const struct skeys_section *s = &img->sections[i];

		CHECK(skeys_image_section_at(img, s->addr, s->size) == s);
		CHECK(skeys_image_section_at(img, s->addr, s->size + 1) != s);
	}
	CHECK(skeys_image_section_at(img, 0, 1) == NULL);
	CHECK(skeys_image_section_at(img, UINT64_MAX, 1) == NULL);
	skeys_image_close(img);
	free(buf);
	return 0;
}

static int test_seal(const char *path)
{
	char err[SKEYS_ERR_LEN];
	size_t len;
	uint8_t *buf = slurp(path, &len), *out = malloc(len), *again = malloc(len);
	struct skeys_image *img = open_or_die(buf, len), *img2;
	struct skeys_check c, c2;

	CHECK(out && again);
	CHECK(skeys_check_open(&c, img, err, sizeof(err)) == 0);
	CHECK(skeys_check_ok(&c) && !c.sealed && c.n > 0);
	memcpy(out, buf, len);
	CHECK(skeys_check_seal(&c, out, err, sizeof(err)) == 0);
	img2 = open_or_die(out, len);
	CHECK(skeys_check_open(&c2, img2, err, sizeof(err)) == 0);
	CHECK(skeys_check_ok(&c2) && c2.sealed && c2.intact && c2.n == c.n);
	CHECK(skeys_table_is_sorted(c2.entries, c2.n, c2.table_addr));
	/* Sealing changes the table and header bytes, nothing else. */
	for (size_t i = 0; i < len; i++) {
		bool in_table = i >= c.table_off && i < c.table_off + c.n * 12;
		bool in_hdr = i >= c.hdr_off && i < c.hdr_off + 40;

		if (!in_table && !in_hdr && out[i] != buf[i]) {
			CHECK(!"byte outside table and header changed");
			break;
		}
	}
	/* The proof of a sealed copy agrees with the full check. */
	CHECK(skeys_check_sealed(&c, out, err, sizeof(err)) == 0);
	CHECK(c.n >= 2);
	/* It catches a changed table byte (the checksum), ... */
	memcpy(again, out, len);
	again[c.table_off] ^= 1;
	CHECK(skeys_check_sealed(&c, again, err, sizeof(err)) == -EINVAL);
	/*
	 * ... an entry repeated in place of the next (checksum recomputed), and
	 * a last entry moved one byte on: still in order, but not a verified site.
	 */
	for (int tamper = 0; tamper < 2; tamper++) {
		struct skeys_entry e;
		size_t at = tamper ? c.n - 1 : 1;
		struct skeys_site s0 = skeys_check_site_at(&c2, tamper ? c.n - 1 : 0);
		uint8_t *t = again + c.table_off;

		memcpy(again, out, len);
		s0.code += (uint64_t)tamper;
		CHECK(skeys_entry_set(&e, c.table_addr + at * 12, &s0) == 0);
		skeys_image_put32(img, t + at * 12, (uint32_t)e.code);
		skeys_image_put32(img, t + at * 12 + 4, (uint32_t)e.target);
		skeys_image_put32(img, t + at * 12 + 8, (uint32_t)e.key);
		skeys_image_put64(img, again + c.hdr_off + offsetof(struct skeys_header, checksum),
				  skeys_table_checksum(t, c.n * 12));
		CHECK(skeys_check_sealed(&c, again, err, sizeof(err)) == -EINVAL);
		CHECK(strstr(err, tamper ? "not one of the verified entries"
					  : "not in strictly sorted order") != NULL);
	}
	/* Sealed in pieces of 3 entries rather than one: the same bytes. */
	{
		struct skeys_check_stream st;
		uint8_t *piece = malloc(3 * 12);
		size_t done, k;

		memcpy(again, buf, len);
		CHECK(piece && skeys_check_stream_begin(&c, &st, err, sizeof(err)) == 0);
		for (done = 0; done < c.n; done += k) {
			k = c.n - done < 3 ? c.n - done : 3;
			CHECK(skeys_check_stream_table(&c, &st, piece, k, err, sizeof(err)) == 0);
			memcpy(again + c.table_off + done * 12, piece, k * 12);
		}
		CHECK(skeys_check_stream_table(&c, &st, piece, 1, err, sizeof(err)) == -EINVAL);
		CHECK(skeys_check_stream_header(&c, &st, again, err, sizeof(err)) == 0);
		CHECK(memcmp(again, out, len) == 0);
		skeys_check_stream_end(&st);
		free(piece);
	}
	/* Sealing what is sealed gives the same bytes. */
	memcpy(again, out, len);
	CHECK(skeys_check_seal(&c2, again, err, sizeof(err)) == 0);
	CHECK(memcmp(again, out, len) == 0);
	skeys_check_close(&c2);
	skeys_check_close(&c);
	skeys_image_close(img2);
	skeys_image_close(img);
	free(again);
	free(out);
	free(buf);
	return 0;
}

/*
 * Open and verify a damaged buffer; whatever it holds, the result must be
 * an error message or a consistent verdict. Returns 1 when it opened.
 */
/* Verify one image and seal a copy if it verifies; 1 when it could be checked. */
static int check_damaged(struct skeys_image *img, const uint8_t *bytes, size_t len)
{
	char err[SKEYS_ERR_LEN] = "";
	struct skeys_check c;

	if (skeys_check_open(&c, img, err, sizeof(err))) {
		CHECK(err[0]);
		return 0;
	}
	CHECK(!skeys_check_ok(&c) || (c.usable && c.n_bad == 0 && c.n_errors == 0));
	if (skeys_check_ok(&c) && !c.sealed) {
		uint8_t *out = malloc(len);

		CHECK(out && skeys_check_seal(&c, (memcpy(out, bytes, len), out), err,
					       sizeof(err)) == 0);
		free(out);
	}
	skeys_check_close(&c);
	return 1;
}

static int open_damaged(const uint8_t *buf, size_t len)
{
	char err[SKEYS_ERR_LEN] = "";
	struct skeys_image *img;
	int opened = 0;
	size_t i;

	/* An exact-size copy, so that a read past the end is a real overread. */
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		exit(2);
	memcpy(copy, buf, len);
	if (skeys_image_open_mem(&img, copy, len, err, sizeof(err))) {
		CHECK(err[0]);
		free(copy);
		return 0;
	}
	if (img->n_slices) { /* a universal file: every slice */
		opened = 1;
		for (i = 0; i < img->n_slices; i++)
			opened &= check_damaged(img->slices[i], img->slices[i]->buf,
						img->slices[i]->len);
	} else {
		opened = check_damaged(img, copy, len);
	}
	skeys_image_close(img);
	free(copy);
	return opened;
}

static int test_truncate(const char *path)
{
	size_t len, cut;
	uint8_t *buf = slurp(path, &len);

	for (cut = 0; cut < len; cut += cut < 4096 ? 1 : 97)
		CHECK(!open_damaged(buf, cut));
	CHECK(open_damaged(buf, len));
	free(buf);
	return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A byte offset, mostly in the parts a reader interprets. */
static size_t pick_offset(const struct skeys_image *img, size_t len)
{
	const uint8_t *eh = img->buf;
	uint64_t shoff = skeys_image_get64(img, eh + 0x28);

	switch (rng() % 5) {
	case 0:
		return rng() % 64; /* ELF header */
	case 1:
		if (shoff < len)
			return (size_t)(shoff + rng() % (len - shoff)); /* section headers */
		break;
	case 2:
		return (size_t)(img->table.offset + rng() % (img->table.size + 1)) % len;
	case 3:
		return (size_t)(img->header.offset + rng() % 40) % len;
	default:
		break;
	}
	return rng() % len;
}

static int test_mutate(const char *path, size_t iterations, uint64_t seed)
{
	size_t len, i, opened = 0;
	uint8_t *buf = slurp(path, &len), *m = malloc(len);
	struct skeys_image *img = open_or_die(buf, len);

	if (!m)
		return 2;
	if (seed)
		rng_state = seed;
	for (i = 0; i < iterations; i++) {
		unsigned flips = 1 + rng() % 4, k;

		memcpy(m, buf, len);
		for (k = 0; k < flips; k++)
			m[pick_offset(img, len)] ^= (uint8_t)(1u << (rng() % 8));
		opened += (size_t)open_damaged(m, len);
	}
	printf("mutate: %zu of %zu damaged copies opened\n", opened, i);
	skeys_image_close(img);
	free(m);
	free(buf);
	return 0;
}

/*
 * A table built in memory, in no reader's format: n x86-64 nop sites spread
 * over k keys, its entries in an order that is neither by address nor by
 * key. Sections by address: .text, .data (the keys), __skeys, __skeys_hdr;
 * file offsets equal addresses.
 */
struct synth {
	struct skeys_image img;
	struct skeys_section sec[4];
	uint8_t *buf;
};

#define SYNTH_TEXT 0x1000u

static void synth_entry(struct synth *y, size_t i, uint64_t code, uint64_t key)
{
	const struct skeys_section *t = &y->sec[2];
	struct skeys_site s = { .code = code, .target = code + 5, .key = key, .flags = 0 };
	struct skeys_entry e;

	CHECK(skeys_entry_set(&e, t->addr + i * 12, &s) == 0);
	memcpy(y->buf + t->offset + i * 12, &e, 12);
}

static void synth_build(struct synth *y, size_t n, size_t k)
{
	uint64_t text = SYNTH_TEXT, data = text + 8 * n, table = data + 16 * k,
		 hdr = table + 12 * n, len = hdr + 40;
	/* A header without the names table's bounds: the tools read both sizes. */
	struct skeys_header h = { .version = SKEYS_ABI_VERSION, .header_size = SKEYS_HEADER_SIZE_V1,
				  .entry_size = SKEYS_ENTRY_SIZE, .arch = skeys_arch_x86_64.id };
	size_t i;

	memset(y, 0, sizeof(*y));
	y->buf = calloc(1, len);
	CHECK(y->buf != NULL);
	y->sec[0] = (struct skeys_section){ ".text", text, 8 * n, text,
					    SKEYS_SEC_ALLOC | SKEYS_SEC_EXEC };
	y->sec[1] = (struct skeys_section){ ".data", data, 16 * k, data,
					    SKEYS_SEC_ALLOC | SKEYS_SEC_WRITE };
	y->sec[2] = (struct skeys_section){ SKEYS_SECTION_TABLE, table, 12 * n, table,
					    SKEYS_SEC_ALLOC | SKEYS_SEC_WRITE };
	y->sec[3] = (struct skeys_section){ SKEYS_SECTION_HEADER, hdr, 40, hdr,
					    SKEYS_SEC_ALLOC | SKEYS_SEC_WRITE };
	for (i = 0; i < n; i++)
		memcpy(y->buf + text + 8 * i, "\x0f\x1f\x44\x00\x00", 5);
	for (i = 0; i < k; i++) {
		uint32_t flags = SKEYS_KEY_MAGIC;

		memcpy(y->buf + data + 16 * i + offsetof(struct skeys_key, flags), &flags, 4);
	}
	/*
	 * Entry i: site (i * 7919) mod n, key k - 1 - (i * 37) mod k (both
	 * factors prime to the n and k used): neither addresses nor keys come
	 * in order, nor do keys in the order of their first entries.
	 */
	for (i = 0; i < n; i++)
		synth_entry(y, i, text + 8 * ((i * 7919) % n),
			    data + 16 * (k - 1 - (i * 37) % k));
	memcpy(h.magic, SKEYS_HEADER_MAGIC, 8);
	h.start = (int32_t)(table - (hdr + offsetof(struct skeys_header, start)));
	h.stop = (int32_t)(table + 12 * n - (hdr + offsetof(struct skeys_header, stop)));
	memcpy(y->buf + hdr, &h, SKEYS_HEADER_SIZE_V1);
	y->img.arch = &skeys_arch_x86_64;
	y->img.buf = y->buf;
	y->img.len = len;
	y->img.sections = y->sec;
	y->img.n_sections = 4;
	y->img.has_table = y->img.has_header = true;
	y->img.table = y->sec[2];
	y->img.header = y->sec[3];
}

/*
 * Many keys (the key map grows several times) and a table in no order:
 * every site finds its key, keys come out by address with their site
 * counts, sealing sorts it, and a repeated site is found wherever it is.
 */
static int test_keys(void)
{
	enum { N = 6000, K = 1500 };
	char err[SKEYS_ERR_LEN];
	struct synth y;
	struct skeys_check c;
	uint8_t *out;
	size_t i, bad = 0;

	synth_build(&y, N, K);
	CHECK(skeys_check_open(&c, &y.img, err, sizeof(err)) == 0);
	CHECK(skeys_check_ok(&c) && c.n == N && c.n_keys == K);
	for (i = 0; i < c.n_keys; i++) {
		CHECK(c.keys[i].valid && c.keys[i].sites == N / K);
		CHECK(i == 0 || c.keys[i - 1].addr < c.keys[i].addr);
	}
	for (i = 0; i < c.n; i++) {
		CHECK(c.keys[c.sites[i].key].addr == skeys_check_site_at(&c, i).key);
		CHECK(c.sites[i].insn == SKEYS_INSN_NOP);
	}
	out = malloc(y.img.len);
	CHECK(out != NULL);
	memcpy(out, y.buf, y.img.len);
	CHECK(skeys_check_seal(&c, out, err, sizeof(err)) == 0);
	CHECK(skeys_check_sealed(&c, out, err, sizeof(err)) == 0);
	skeys_check_close(&c);
	free(out);
	/* Entries 10 and 4000 name one site: both are reported, nothing else. */
	synth_entry(&y, 4000, SYNTH_TEXT + 8 * ((10 * 7919) % N), y.sec[1].addr);
	CHECK(skeys_check_open(&c, &y.img, err, sizeof(err)) == 0);
	for (i = 0; i < c.n; i++) {
		const char *error = skeys_check_site_error(&c, i);

		if (!error)
			continue;
		bad++;
		CHECK(i == 10 || i == 4000);
		CHECK(strstr(error, "2 table entries name this site") != NULL);
	}
	CHECK(bad == 2 && c.n_bad == 2 && !skeys_check_ok(&c));
	skeys_check_close(&c);
	free(y.buf);
	return 0;
}

/* Append `bytes` to the file at `path`. */
static void append(const char *path, const char *bytes)
{
	FILE *f = fopen(path, "ab");

	CHECK(f && fputs(bytes, f) >= 0 && fclose(f) == 0);
}

/*
 * A file opened by skeys_file_open() is read where it lies: its copy for
 * sealing must not write through to the file, and a change to the file
 * after opening must be seen (skeys-seal then writes nothing).
 */
static int test_mapped(const char *path)
{
	char err[SKEYS_ERR_LEN], tmp[] = "/tmp/skeys-unit-mapped.XXXXXX";
	size_t len, len2;
	uint8_t *buf = slurp(path, &len), *copy, *again;
	struct skeys_file file;
	FILE *f;
	int fd = mkstemp(tmp);

	CHECK(fd >= 0 && (f = fdopen(fd, "wb")) && fwrite(buf, 1, len, f) == len &&
	       fclose(f) == 0);
	CHECK(skeys_file_open(&file, tmp, 0, err, sizeof(err)) == 0);
	CHECK(file.len == len && memcmp(file.buf, buf, len) == 0);
	CHECK(skeys_file_changed(&file, err, sizeof(err)) == 0);
	CHECK(skeys_file_copy(&file, &copy, err, sizeof(err)) == 0);
	CHECK(memcmp(copy, buf, len) == 0);
	memset(copy, 0xa5, len);
	skeys_file_copy_free(&file, copy);
	again = slurp(tmp, &len2);
	CHECK(len2 == len && memcmp(again, buf, len) == 0);
	CHECK(memcmp(file.buf, buf, len) == 0);
	CHECK(skeys_file_changed(&file, err, sizeof(err)) == 0);
	append(tmp, "x");
	CHECK(skeys_file_changed(&file, err, sizeof(err)) == -1);
	CHECK(strstr(err, "changed") != NULL);
	skeys_file_close(&file);
	unlink(tmp);
	free(again);
	free(buf);
	return 0;
}

/* A file of HOLES_SIZE bytes: data in the ranges below, holes between. */
#define HOLES_SIZE (4u << 20)
static const struct {
	uint64_t off, len;
} holes_data[] = { { 0, 65536 }, { 1u << 20, 8192 }, { (4u << 20) - 4096, 4096 } };

static uint8_t holes_byte(uint64_t at)
{
	return (uint8_t)(at * 7 + 1) | 1; /* never 0: data is told from a hole */
}

static bool all_zero(const uint8_t *b, uint64_t len)
{
	for (uint64_t at = 0; at < len; at++)
		if (b[at])
			return false;
	return true;
}

/*
 * skeys_output_copy() and skeys_output_replace() on a sparse file: every
 * range of the input, starting and ending in data or in holes, comes out
 * with the same bytes and without the holes filled; a change inside a hole
 * is written.
 */
static int test_holes(void)
{
	static const uint64_t ranges[][2] = {
		{ 0, HOLES_SIZE },	       /* all */
		{ 32768, (1u << 20) + 4096 }, /* from data into data, a hole between */
		{ 100000, 200000 },	       /* a hole only */
		{ (1u << 20) + 100, 50 },      /* inside data */
		{ 2u << 20, (2u << 20) - 10 }, /* a hole into the last data */
	};
	char err[SKEYS_ERR_LEN], in[] = "/tmp/skeys-unit-holes.XXXXXX", out[64];
	struct skeys_output o;
	struct skeys_file f;
	uint8_t *b, *changed;
	struct stat st;
	size_t i, len;
	int fd = mkstemp(in);

	CHECK(fd >= 0 && ftruncate(fd, HOLES_SIZE) == 0);
	for (i = 0; i < sizeof(holes_data) / sizeof(holes_data[0]); i++) {
		uint8_t chunk[65536];

		for (uint64_t k = 0; k < holes_data[i].len; k++)
			chunk[k] = holes_byte(holes_data[i].off + k);
		CHECK(pwrite(fd, chunk, holes_data[i].len, (off_t)holes_data[i].off) ==
		      (ssize_t)holes_data[i].len);
	}
	close(fd);
	CHECK(stat(in, &st) == 0);
	if ((uint64_t)st.st_blocks * 512 >= HOLES_SIZE) {
		unlink(in);
		printf("SKIP: /tmp does not keep holes\n");
		return 77;
	}
	CHECK(skeys_file_open(&f, in, 0, err, sizeof(err)) == 0);
	snprintf(out, sizeof(out), "%s.out", in);
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		uint64_t off = ranges[i][0], n = ranges[i][1];

		CHECK(skeys_output_begin(&o, out, err, sizeof(err)) == 0);
		CHECK(skeys_output_copy(&o, &f, off, n, err, sizeof(err)) == 0);
		CHECK(skeys_output_commit(&o, &f, NULL, NULL, err, sizeof(err)) == 0);
		b = slurp(out, &len);
		CHECK(len == off + n);
		/* Before the range: nothing copied, so zeros; in it, the input. */
		CHECK(all_zero(b, off));
		CHECK(memcmp(b + off, f.buf + off, n) == 0);
		free(b);
		CHECK(stat(out, &st) == 0 && (uint64_t)st.st_blocks * 512 <= (1u << 20));
	}
	/* A change in a hole and one in data, through replace. */
	changed = malloc(f.len);
	CHECK(changed != NULL);
	memcpy(changed, f.buf, f.len);
	changed[3u << 20] = 0x5a;
	changed[10] ^= 0xff;
	CHECK(skeys_output_replace(out, &f, changed, NULL, NULL, err, sizeof(err)) == 0);
	b = slurp(out, &len);
	CHECK(len == f.len && memcmp(b, changed, len) == 0);
	CHECK(stat(out, &st) == 0 && (uint64_t)st.st_blocks * 512 <= (1u << 20));
	free(b);
	free(changed);
	skeys_file_close(&f);
	unlink(out);
	unlink(in);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 64;

	if (argc == 2 && !strcmp(argv[1], "endian"))
		rc = test_endian();
	else if (argc == 2 && !strcmp(argv[1], "emit"))
		rc = test_emit();
	else if (argc == 3 && !strcmp(argv[1], "lookup"))
		rc = test_lookup(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "seal"))
		rc = test_seal(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "truncate"))
		rc = test_truncate(argv[2]);
	else if (argc >= 3 && argc <= 5 && !strcmp(argv[1], "mutate"))
		rc = test_mutate(argv[2], argc > 3 ? strtoul(argv[3], NULL, 0) : 3000,
				 argc > 4 ? strtoull(argv[4], NULL, 0) : 0);
	else if (argc == 2 && !strcmp(argv[1], "keys"))
		rc = test_keys();
	else if (argc == 3 && !strcmp(argv[1], "mapped"))
		rc = test_mapped(argv[2]);
	else if (argc == 2 && !strcmp(argv[1], "holes"))
		rc = test_holes();
	else
		fprintf(stderr, "usage: tool-unit endian|emit|keys|lookup|seal|truncate|mutate|mapped"
				"|holes [FILE]\n");
	if (rc == 0 && failures) {
		fprintf(stderr, "%d expectation(s) failed\n", failures);
		rc = 1;
	}
	return rc;
}
