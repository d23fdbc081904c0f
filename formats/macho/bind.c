/* SPDX-License-Identifier: MIT */
/*
 * What dyld binds where: the bind opcodes of LC_DYLD_INFO(_ONLY), walked
 * to find the symbol bound at one address (a static call's `lit` whose
 * initial target is in another image). Every read is bounds-checked: the
 * stream comes from the file. An image with chained fixups
 * (LC_DYLD_CHAINED_FIXUPS, what ld64 makes for macOS 12 and later) holds
 * no address in such a pointer but a link of its page's chain: decoded
 * here into the address it rebases to or the symbol it binds.
 */
#include "macho.h"

#include <inttypes.h>
#include <string.h>

enum {
	LC_DYLD_INFO = 0x22,
	BIND_OPCODE_MASK = 0xf0,
	BIND_IMMEDIATE_MASK = 0x0f,
	BIND_OPCODE_DONE = 0x00,
	BIND_OPCODE_SET_DYLIB_ORDINAL_IMM = 0x10,
	BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB = 0x20,
	BIND_OPCODE_SET_DYLIB_SPECIAL_IMM = 0x30,
	BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM = 0x40,
	BIND_OPCODE_SET_TYPE_IMM = 0x50,
	BIND_OPCODE_SET_ADDEND_SLEB = 0x60,
	BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB = 0x70,
	BIND_OPCODE_ADD_ADDR_ULEB = 0x80,
	BIND_OPCODE_DO_BIND = 0x90,
	BIND_OPCODE_DO_BIND_ADD_ADDR_ULEB = 0xa0,
	BIND_OPCODE_DO_BIND_ADD_ADDR_IMM_SCALED = 0xb0,
	BIND_OPCODE_DO_BIND_ULEB_TIMES_SKIPPING_ULEB = 0xc0,
};
#define LC_DYLD_INFO_ONLY 0x80000022u
#define LC_DYLD_CHAINED_FIXUPS 0x80000034u
enum {
	DYLD_CHAINED_PTR_64 = 2,
	DYLD_CHAINED_PTR_64_OFFSET = 6,
	DYLD_CHAINED_IMPORT = 1,
	DYLD_CHAINED_IMPORT_ADDEND = 2,
	DYLD_CHAINED_IMPORT_ADDEND64 = 3,
};

struct stream {
	const uint8_t *p, *end;
	bool bad;
};

/* A LEB128 number's bits, how many there are, and its last byte. */
static uint64_t leb(struct stream *s, unsigned *bits, uint8_t *last)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (s->p < s->end && shift < 64) {
		uint8_t b = *s->p++;

		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			*bits = shift;
			*last = b;
			return v;
		}
	}
	s->bad = true;
	*bits = 64;
	*last = 0;
	return 0;
}

static uint64_t uleb(struct stream *s)
{
	unsigned bits;
	uint8_t last;

	return leb(s, &bits, &last);
}

static int64_t sleb(struct stream *s)
{
	unsigned bits;
	uint8_t last;
	uint64_t v = leb(s, &bits, &last);

	if (bits < 64 && (last & 0x40))
		v |= ~(uint64_t)0 << bits;
	return (int64_t)v;
}

/* The vmaddr of segment command number `index`, and where the bind stream is. */
static bool find_commands(const struct skeys_image *img, unsigned index, uint64_t *seg_addr,
			  struct stream *bind)
{
	const uint8_t *b = img->buf;
	uint32_t ncmds, sizeofcmds, i;
	uint64_t off = HDR64, end;
	unsigned seg = 0;
	bool found_seg = false, found_bind = false;

	if (img->len < HDR64)
		return false;
	ncmds = le32(b + 16);
	sizeofcmds = le32(b + 20);
	end = HDR64 + (uint64_t)sizeofcmds;
	if (end > img->len)
		return false;
	for (i = 0; i < ncmds && off + 8 <= end; i++) {
		const uint8_t *lc = b + off;
		uint32_t cmd = le32(lc), cmdsize = le32(lc + 4);

		if (cmdsize < 8 || off + cmdsize > end)
			return false;
		if (cmd == LC_SEGMENT_64 && cmdsize >= SEG64) {
			if (seg++ == index) {
				*seg_addr = le64(lc + 24);
				found_seg = true;
			}
		} else if ((cmd == LC_DYLD_INFO || cmd == LC_DYLD_INFO_ONLY) && cmdsize >= 48) {
			uint32_t bind_off = le32(lc + 16), bind_size = le32(lc + 20);

			if (bind_off > img->len || bind_size > img->len - bind_off)
				return false;
			bind->p = b + bind_off;
			bind->end = bind->p + bind_size;
			found_bind = true;
		}
		off += cmdsize;
	}
	return found_seg && found_bind;
}

static bool bind_opcodes(const struct skeys_image *img, uint64_t addr, char *out, size_t len)
{
	struct stream s = { 0 };
	const char *name = NULL;
	uint64_t a = 0, seg_addr, count, skip;
	int64_t addend = 0;
	bool have_addr = false;
	const uint8_t *q;

	if (!find_commands(img, 0, &seg_addr, &s))
		return false;
	while (s.p < s.end && !s.bad) {
		uint8_t op = *s.p & BIND_OPCODE_MASK, imm = *s.p & BIND_IMMEDIATE_MASK;

		s.p++;
		switch (op) {
		case BIND_OPCODE_DONE:
		case BIND_OPCODE_SET_DYLIB_ORDINAL_IMM:
		case BIND_OPCODE_SET_DYLIB_SPECIAL_IMM:
		case BIND_OPCODE_SET_TYPE_IMM:
			break;
		case BIND_OPCODE_SET_DYLIB_ORDINAL_ULEB:
			(void)uleb(&s);
			break;
		case BIND_OPCODE_SET_SYMBOL_TRAILING_FLAGS_IMM:
			q = memchr(s.p, 0, (size_t)(s.end - s.p));
			if (!q)
				return false;
			name = (const char *)s.p;
			s.p = q + 1;
			break;
		case BIND_OPCODE_SET_ADDEND_SLEB:
			addend = sleb(&s);
			break;
		case BIND_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB:
			if (!find_commands(img, imm, &seg_addr, &(struct stream){ 0 }))
				return false;
			a = seg_addr + uleb(&s);
			have_addr = true;
			break;
		case BIND_OPCODE_ADD_ADDR_ULEB:
			a += uleb(&s);
			break;
		case BIND_OPCODE_DO_BIND:
		case BIND_OPCODE_DO_BIND_ADD_ADDR_ULEB:
		case BIND_OPCODE_DO_BIND_ADD_ADDR_IMM_SCALED:
			skip = op == BIND_OPCODE_DO_BIND_ADD_ADDR_ULEB ? uleb(&s)
			       : op == BIND_OPCODE_DO_BIND_ADD_ADDR_IMM_SCALED ? (uint64_t)imm * 8
										: 0;
			count = 1;
			goto bind;
		case BIND_OPCODE_DO_BIND_ULEB_TIMES_SKIPPING_ULEB:
			count = uleb(&s);
			skip = uleb(&s);
			goto bind;
		default:
			return false; /* threaded binds and unknown opcodes: not read */
		}
		continue;
bind:
		/*
		 * `count` binds, `8 + skip` bytes apart, from `a`: found in
		 * constant time, so that a hostile count cannot keep us here.
		 */
		if (have_addr && name && count && addr >= a) {
			uint64_t step = 8 + skip, k = step ? (addr - a) / step : 0;

			if (k < count && a + k * step == addr) {
				/* C names carry a leading underscore; the symbol table's are shown without. */
				snprintf(out, len, "%s+0x%" PRIx64, name[0] == '_' ? name + 1 : name,
					 (uint64_t)addend);
				return true;
			}
		}
		a += count * (8 + skip);
	}
	return false;
}

/* The bytes [off, off + len) of the file, or NULL. */
static const uint8_t *at(const struct skeys_image *img, uint64_t off, uint64_t len)
{
	return off <= img->len && len <= img->len - off ? img->buf + off : NULL;
}

/*
 * The chained-fixup pointer at `addr`: 1 and the address it rebases to, 2
 * and the symbol it binds, 0 when the image has no chained fixups, -1 when
 * `addr` is not a link of a chain.
 */
static int chained(const struct skeys_image *img, uint64_t addr, uint64_t *value, char *out,
		   size_t len)
{
	const uint8_t *b = img->buf, *fx = NULL, *hdr, *p;
	uint64_t off = HDR64, end, base = 0, seg_addr = 0, fx_size = 0, v, link, starts, seg_starts;
	uint32_t ncmds, i, seg = 0, found = UINT32_MAX, seg_count, page, stride = 4;
	uint16_t format, page_size, page_count, start;

	if (img->len < HDR64)
		return 0;
	ncmds = le32(b + 16);
	end = HDR64 + (uint64_t)le32(b + 20);
	if (end > img->len)
		return 0;
	for (i = 0; i < ncmds && off + 8 <= end; i++) {
		const uint8_t *lc = b + off;
		uint32_t cmd = le32(lc), cmdsize = le32(lc + 4);

		if (cmdsize < 8 || off + cmdsize > end)
			return 0;
		if (cmd == LC_SEGMENT_64 && cmdsize >= SEG64) {
			uint64_t va = le64(lc + 24), vs = le64(lc + 32);

			if (le64(lc + 40) == 0 && le64(lc + 48)) /* fileoff 0: the header's segment */
				base = va;
			if (addr >= va && addr - va < vs) {
				found = seg;
				seg_addr = va;
			}
			seg++;
		} else if (cmd == LC_DYLD_CHAINED_FIXUPS && cmdsize >= 16) {
			fx = at(img, le32(lc + 8), le32(lc + 12));
			fx_size = le32(lc + 12);
		}
		off += cmdsize;
	}
	if (!fx)
		return 0;
	if (fx_size < 28 || found == UINT32_MAX)
		return -1;
	hdr = fx;
	/*
	 * dyld_chained_starts_in_image (its segment count, an offset per
	 * segment), then the segment's dyld_chained_starts_in_segment: all
	 * offsets into the fixups' [0, fx_size), checked before any read.
	 */
	starts = le32(hdr + 4);
	if (starts > fx_size - 4)
		return -1;
	seg_count = le32(fx + starts);
	if (found >= seg_count || starts + 4 + 4 * (uint64_t)seg_count > fx_size ||
	    !le32(fx + starts + 4 + 4 * (uint64_t)found))
		return -1;
	seg_starts = starts + le32(fx + starts + 4 + 4 * (uint64_t)found);
	if (seg_starts + 22 > fx_size)
		return -1;
	page_size = (uint16_t)(fx[seg_starts + 4] | fx[seg_starts + 5] << 8);
	format = (uint16_t)(fx[seg_starts + 6] | fx[seg_starts + 7] << 8);
	page_count = (uint16_t)(fx[seg_starts + 20] | fx[seg_starts + 21] << 8);
	if ((format != DYLD_CHAINED_PTR_64 && format != DYLD_CHAINED_PTR_64_OFFSET) || !page_size)
		return -1;
	page = (uint32_t)((addr - seg_addr) / page_size);
	if (page >= page_count || seg_starts + 22 + 2 * (uint64_t)page + 2 > fx_size)
		return -1;
	start = (uint16_t)(fx[seg_starts + 22 + 2 * (uint64_t)page] |
			   fx[seg_starts + 23 + 2 * (uint64_t)page] << 8);
	if (start == 0xffff) /* DYLD_CHAINED_PTR_START_NONE */
		return -1;
	/* Walk the page's chain to `addr`: a pointer outside every chain is no fixup. */
	link = seg_addr + (uint64_t)page * page_size + start;
	for (;;) {
		int64_t f = skeys_image_offset(img, link, 8);

		if (f < 0 || !(p = at(img, (uint64_t)f, 8)))
			return -1;
		v = le64(p);
		if (link == addr)
			break;
		if (!((v >> 51) & 0xfff) || link > addr)
			return -1;
		link += ((v >> 51) & 0xfff) * stride;
	}
	if (!(v >> 63)) { /* rebase: target (36 bits), high8 */
		*value = (v & 0xfffffffffull) | ((v >> 36) & 0xff) << 56;
		if (format == DYLD_CHAINED_PTR_64_OFFSET)
			*value += base;
		return 1;
	} else { /* bind: import ordinal (24 bits), addend (8 bits) */
		uint32_t ordinal = (uint32_t)(v & 0xffffff), imports_format = le32(hdr + 20);
		uint64_t entry = imports_format == DYLD_CHAINED_IMPORT_ADDEND64 ? 16
				 : imports_format == DYLD_CHAINED_IMPORT_ADDEND ? 8 : 4;
		uint64_t imp = le32(hdr + 8) + (uint64_t)ordinal * entry, name_off, addend = (v >> 24) & 0xff;
		const char *name;

		if (ordinal >= le32(hdr + 16) || imp + entry > fx_size || le32(hdr + 24))
			return -1; /* out of the table, or compressed symbol names */
		if (imports_format == DYLD_CHAINED_IMPORT_ADDEND64) {
			name_off = le64(fx + imp) >> 32;
			addend += le64(fx + imp + 8);
		} else {
			name_off = le32(fx + imp) >> 9;
			if (imports_format == DYLD_CHAINED_IMPORT_ADDEND)
				addend += (uint64_t)(int64_t)(int32_t)le32(fx + imp + 4);
		}
		if ((uint64_t)le32(hdr + 12) + name_off >= fx_size)
			return -1;
		name = (const char *)fx + le32(hdr + 12) + name_off;
		if (!memchr(name, 0, fx_size - (le32(hdr + 12) + name_off)))
			return -1;
		snprintf(out, len, "%s+0x%" PRIx64, name[0] == '_' ? name + 1 : name, addend);
		return 2;
	}
}

int macho_pointer(const struct skeys_image *img, uint64_t addr, uint64_t *value, char *out,
		  size_t len)
{
	int how = chained(img, addr, value, out, len);

	if (how)
		return how;
	return bind_opcodes(img, addr, out, len) ? 2 : 0;
}
