/* SPDX-License-Identifier: MIT */
/*
 * A Mach-O image's embedded code signature. Sealing changes code pages'
 * neighbours (the table), so a signed image's page hashes must change too:
 * an ad-hoc signature (what ld64 and ld64.lld put on every arm64 image) has
 * them recomputed; any other signature is refused, since only its owner can
 * sign again. The signature is walked once, when the image is read.
 */
#include "macho.h"

#include "sha256.h"

/*
 * The embedded signature: a superblob of blobs, each inside it, and the code
 * directory's page hashes inside the code directory, covering the file up to
 * the signature. skeys-seal rewrites those hashes in place, so they must lie
 * where this says, and nowhere near a section. A signature that breaks
 * this is damaged: macOS would refuse the file too. Records the code
 * directory (the last one) and whether a CMS blob signs the file.
 */
int macho_signature_check(struct skeys_image *img, char *err, size_t errlen)
{
	struct macho_priv *p = img->priv;
	const uint8_t *sb = img->buf + p->sig_off;
	uint32_t count, i;
	size_t k;

	for (k = 0; k < img->n_sections; k++) {
		const struct skeys_section *s = &img->sections[k];

		if (!(s->flags & SKEYS_SEC_NOBITS) &&
		    s->offset < p->sig_off + (uint64_t)p->sig_size &&
		    p->sig_off < s->offset + s->size)
			FAIL("the code signature [0x%x, +0x%x) overlaps section %s", p->sig_off,
			     p->sig_size, s->name);
	}
	if (p->sig_size < 12 || be32(sb) != CSMAGIC_EMBEDDED_SIGNATURE)
		FAIL("the code signature at 0x%x is not an embedded signature (magic 0x%x, "
		     "expected 0x%x)", p->sig_off, p->sig_size >= 4 ? be32(sb) : 0,
		     CSMAGIC_EMBEDDED_SIGNATURE);
	count = be32(sb + 8);
	if (count > (p->sig_size - 12) / 8)
		FAIL("the code signature lists %u blobs, more than its 0x%x bytes hold", count,
		     p->sig_size);
	for (i = 0; i < count; i++) {
		uint32_t type = be32(sb + 12 + (size_t)8 * i), off = be32(sb + 16 + (size_t)8 * i);
		const uint8_t *cd = sb + off;
		uint32_t len, hash_off, n_code, limit;

		if (off > p->sig_size - 8 || be32(sb + off + 4) > p->sig_size - off ||
		    be32(sb + off + 4) < 8)
			FAIL("code signature blob %u (type 0x%x) at +0x%x does not fit the "
			     "signature's 0x%x bytes", i, type, off, p->sig_size);
		if (type == CSSLOT_SIGNATURESLOT && be32(sb + off + 4) > 8)
			p->cms = true;
		if (type != CSSLOT_CODEDIRECTORY || be32(cd) != CSMAGIC_CODEDIRECTORY)
			continue;
		len = be32(cd + 4);
		if (len < 44)
			FAIL("code directory of %u bytes, shorter than its 44-byte header", len);
		hash_off = be32(cd + 16);
		n_code = be32(cd + 28);
		limit = be32(cd + 32);
		if (hash_off > len || (uint64_t)n_code * cd[36] > len - hash_off)
			FAIL("code directory: %u hashes of %u bytes at +0x%x do not fit its 0x%x "
			     "bytes", n_code, cd[36], hash_off, len);
		if (limit > p->sig_off)
			FAIL("code directory: code limit 0x%x is past the signature at 0x%x",
			     limit, p->sig_off);
		p->cd = cd;
	}
	return 0;
}

int macho_signature_prepare(const struct skeys_image *img, char *err, size_t errlen)
{
	const struct macho_priv *p = img->priv;
	const uint8_t *cd = p->cd;

	if (!p->sig_size)
		return 0;
	if (!cd)
		FAIL("the code signature cannot be read: sealing would invalidate it");
	if (p->cms || !(be32(cd + 12) & CS_ADHOC))
		FAIL("the file is signed (not ad hoc), and sealing would break the signature: "
		     "run skeys-seal before codesign");
	if (cd[37] != CS_HASHTYPE_SHA256 || cd[36] != 32 || cd[39] < 9 || cd[39] > 20)
		FAIL("ad-hoc signature with hash type %u, page size 2^%u: only SHA-256 is "
		     "updated", cd[37], cd[39]);
	return 0;
}

/* Rehash the pages of an ad-hoc signature that macho_signature_prepare() accepted. */
void macho_signature_rehash(const struct skeys_image *img, uint8_t *out)
{
	const struct macho_priv *p = img->priv;
	const uint8_t *cd = p->cd;
	uint32_t hash_off, n_code, limit, i;
	size_t page, cd_off;

	if (!p->sig_size || !cd)
		return;
	cd_off = (size_t)(cd - img->buf);
	hash_off = be32(cd + 16);
	n_code = be32(cd + 28);
	limit = be32(cd + 32);
	page = (size_t)1 << cd[39];
	if (limit > img->len || hash_off > be32(cd + 4) ||
	    n_code > (be32(cd + 4) - hash_off) / 32)
		return;
	for (i = 0; i < n_code && (size_t)i * page < limit; i++) {
		size_t at = (size_t)i * page, len = limit - at < page ? limit - at : page;

		skeys_sha256(out + at, len, out + cd_off + hash_off + (size_t)i * 32);
	}
}
