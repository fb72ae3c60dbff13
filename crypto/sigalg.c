/* Signature schemes and AlgorithmIdentifiers (see sigalg.h). */
#include "crypto/sigalg.h"

#include <errno.h>
#include <gcrypt.h>
#include <string.h>

#include "crypto/der.h"
#include "daemon/ikev2.h"

/* OBJECT IDENTIFIER contents. */
static const uint8_t OID_RSA_PKCS1_SHA1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05};
static const uint8_t OID_RSA_PKCS1_SHA256[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b};
static const uint8_t OID_RSA_PKCS1_SHA384[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c};
static const uint8_t OID_RSA_PKCS1_SHA512[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d};
static const uint8_t OID_RSA_PSS[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
static const uint8_t OID_MGF1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08};
static const uint8_t OID_SHA1[] = {0x2b, 0x0e, 0x03, 0x02, 0x1a};
static const uint8_t OID_SHA256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
static const uint8_t OID_SHA384[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
static const uint8_t OID_SHA512[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03};
static const uint8_t OID_ECDSA_SHA256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const uint8_t OID_ECDSA_SHA384[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
static const uint8_t OID_ECDSA_SHA512[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04};
static const uint8_t OID_ED25519[] = {0x2b, 0x65, 0x70};

/* Whole AlgorithmIdentifiers we send (RFC 7427 appendix A layouts). */
#define RSA_PKCS1(last) \
	{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, last, 0x05, 0x00}
#define ECDSA(last) {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, last}
/*
 * RFC 4055 3.1 RSASSA-PSS-params: hashAlgorithm [0], maskGenAlgorithm [1]
 * (MGF1 with the same hash), saltLength [2] = hash length; trailerField
 * left at its default (1).
 */
#define HASH_ALG(last) 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, last, \
	0x05, 0x00
#define RSA_PSS(last, salt) \
	{0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, \
	 0x30, 0x34, \
	 0xa0, 0x0f, HASH_ALG(last), \
	 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, \
	 HASH_ALG(last), \
	 0xa2, 0x03, 0x02, 0x01, salt}

static const uint8_t DER_RSA_PKCS1_SHA1[] = RSA_PKCS1(0x05);
static const uint8_t DER_RSA_PKCS1_SHA256[] = RSA_PKCS1(0x0b);
static const uint8_t DER_RSA_PKCS1_SHA384[] = RSA_PKCS1(0x0c);
static const uint8_t DER_RSA_PKCS1_SHA512[] = RSA_PKCS1(0x0d);
static const uint8_t DER_RSA_PSS_SHA256[] = RSA_PSS(0x01, 32);
static const uint8_t DER_RSA_PSS_SHA384[] = RSA_PSS(0x02, 48);
static const uint8_t DER_RSA_PSS_SHA512[] = RSA_PSS(0x03, 64);
static const uint8_t DER_ECDSA_SHA256[] = ECDSA(0x02);
static const uint8_t DER_ECDSA_SHA384[] = ECDSA(0x03);
static const uint8_t DER_ECDSA_SHA512[] = ECDSA(0x04);
static const uint8_t DER_ED25519[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};

struct scheme_info {
	const char *name;
	const uint8_t *der;
	size_t der_len;
	uint8_t ike_hash;
	int md;
	size_t hash_len;
	enum key_type key; /* KEY_ECDSA_P256 stands for every curve */
};

#define DER(x) x, sizeof(x)
static const struct scheme_info schemes[SIG_SCHEME_COUNT] = {
	[SIG_NONE] = {"none", NULL, 0, 0, 0, 0, KEY_NONE},
	[SIG_RSA_PKCS1_SHA1] = {"rsa-pkcs1-sha1", DER(DER_RSA_PKCS1_SHA1), HASH_SHA1, GCRY_MD_SHA1,
				20, KEY_RSA},
	[SIG_RSA_PKCS1_SHA256] = {"rsa-pkcs1-sha256", DER(DER_RSA_PKCS1_SHA256), HASH_SHA2_256,
				  GCRY_MD_SHA256, 32, KEY_RSA},
	[SIG_RSA_PKCS1_SHA384] = {"rsa-pkcs1-sha384", DER(DER_RSA_PKCS1_SHA384), HASH_SHA2_384,
				  GCRY_MD_SHA384, 48, KEY_RSA},
	[SIG_RSA_PKCS1_SHA512] = {"rsa-pkcs1-sha512", DER(DER_RSA_PKCS1_SHA512), HASH_SHA2_512,
				  GCRY_MD_SHA512, 64, KEY_RSA},
	[SIG_RSA_PSS_SHA256] = {"rsa-pss-sha256", DER(DER_RSA_PSS_SHA256), HASH_SHA2_256,
				GCRY_MD_SHA256, 32, KEY_RSA},
	[SIG_RSA_PSS_SHA384] = {"rsa-pss-sha384", DER(DER_RSA_PSS_SHA384), HASH_SHA2_384,
				GCRY_MD_SHA384, 48, KEY_RSA},
	[SIG_RSA_PSS_SHA512] = {"rsa-pss-sha512", DER(DER_RSA_PSS_SHA512), HASH_SHA2_512,
				GCRY_MD_SHA512, 64, KEY_RSA},
	[SIG_ECDSA_SHA256] = {"ecdsa-sha256", DER(DER_ECDSA_SHA256), HASH_SHA2_256, GCRY_MD_SHA256,
			      32, KEY_ECDSA_P256},
	[SIG_ECDSA_SHA384] = {"ecdsa-sha384", DER(DER_ECDSA_SHA384), HASH_SHA2_384, GCRY_MD_SHA384,
			      48, KEY_ECDSA_P256},
	[SIG_ECDSA_SHA512] = {"ecdsa-sha512", DER(DER_ECDSA_SHA512), HASH_SHA2_512, GCRY_MD_SHA512,
			      64, KEY_ECDSA_P256},
	[SIG_ED25519] = {"ed25519", DER(DER_ED25519), HASH_IDENTITY, 0, 0, KEY_ED25519},
};
#undef DER

static const struct scheme_info *info(enum sig_scheme s)
{
	return (unsigned)s < SIG_SCHEME_COUNT ? &schemes[s] : &schemes[SIG_NONE];
}

const uint8_t *sigalg_der(enum sig_scheme scheme, size_t *len)
{
	*len = info(scheme)->der_len;
	return info(scheme)->der;
}

uint8_t sigalg_ike_hash(enum sig_scheme scheme)
{
	return info(scheme)->ike_hash;
}

int sigalg_gcry_md(enum sig_scheme scheme)
{
	return info(scheme)->md;
}

size_t sigalg_hash_len(enum sig_scheme scheme)
{
	return info(scheme)->hash_len;
}

bool sigalg_fits_key(enum sig_scheme scheme, enum key_type t)
{
	enum key_type k = info(scheme)->key;

	if (k == KEY_ECDSA_P256)
		return t == KEY_ECDSA_P256 || t == KEY_ECDSA_P384 || t == KEY_ECDSA_P521;
	return k != KEY_NONE && k == t;
}

const char *sigalg_name(enum sig_scheme scheme)
{
	return info(scheme)->name;
}

const char *key_type_name(enum key_type t)
{
	switch (t) {
	case KEY_RSA:
		return "RSA";
	case KEY_ECDSA_P256:
		return "ECDSA P-256";
	case KEY_ECDSA_P384:
		return "ECDSA P-384";
	case KEY_ECDSA_P521:
		return "ECDSA P-521";
	case KEY_ED25519:
		return "Ed25519";
	default:
		return "none";
	}
}

/* Absent parameters, or (when null_ok) an ASN.1 NULL and nothing else. */
static bool params_empty(const struct der *params, bool null_ok)
{
	if (params->left == 0)
		return true;
	struct der p = *params, v;

	return null_ok && der_expect(&p, DER_NULL, &v) == 0 && v.left == 0 && p.left == 0;
}

/* A hash AlgorithmIdentifier (RFC 4055 2.1: parameters NULL or absent): its GCRY_MD_*, 0 if unknown. */
static int parse_hash_alg(struct der *d)
{
	struct der alg, oid;

	if (der_expect(d, DER_SEQUENCE, &alg) < 0 || der_expect(&alg, DER_OID, &oid) < 0 ||
	    !params_empty(&alg, true))
		return -1;
	if (der_oid_is(&oid, OID_SHA256, sizeof(OID_SHA256)))
		return GCRY_MD_SHA256;
	if (der_oid_is(&oid, OID_SHA384, sizeof(OID_SHA384)))
		return GCRY_MD_SHA384;
	if (der_oid_is(&oid, OID_SHA512, sizeof(OID_SHA512)))
		return GCRY_MD_SHA512;
	if (der_oid_is(&oid, OID_SHA1, sizeof(OID_SHA1)))
		return GCRY_MD_SHA1;
	return 0;
}

/* RFC 4055 3.1 RSASSA-PSS-params; every field has a default (SHA-1, MGF1-SHA1, 20, 1). */
static int parse_pss(struct der params, struct sig_alg *out)
{
	struct der seq, f;
	int md = GCRY_MD_SHA1, mgf_md = GCRY_MD_SHA1;
	uint32_t salt = 20, trailer = 1;

	if (der_expect(&params, DER_SEQUENCE, &seq) < 0 || params.left)
		return -EBADMSG;
	if (der_expect(&seq, DER_CTX0 + 0, &f) == 0) {
		md = parse_hash_alg(&f);
		if (md < 0 || f.left)
			return -EBADMSG;
	}
	if (der_expect(&seq, DER_CTX0 + 1, &f) == 0) {
		struct der mgf, oid;

		if (der_expect(&f, DER_SEQUENCE, &mgf) < 0 || f.left ||
		    der_expect(&mgf, DER_OID, &oid) < 0)
			return -EBADMSG;
		if (!der_oid_is(&oid, OID_MGF1, sizeof(OID_MGF1)))
			return -ENOTSUP;
		mgf_md = parse_hash_alg(&mgf);
		if (mgf_md < 0 || mgf.left)
			return -EBADMSG;
	}
	if (der_expect(&seq, DER_CTX0 + 2, &f) == 0 && (der_small_uint(&f, &salt) < 0 || f.left))
		return -EBADMSG;
	if (der_expect(&seq, DER_CTX0 + 3, &f) == 0 &&
	    (der_small_uint(&f, &trailer) < 0 || f.left))
		return -EBADMSG;
	if (seq.left)
		return -EBADMSG;
	/* libgcrypt's PSS uses MGF1 with the message hash: other pairings are not ours. */
	if (md != mgf_md || trailer != 1 || salt > 512)
		return -ENOTSUP;
	switch (md) {
	case GCRY_MD_SHA256:
		out->scheme = SIG_RSA_PSS_SHA256;
		break;
	case GCRY_MD_SHA384:
		out->scheme = SIG_RSA_PSS_SHA384;
		break;
	case GCRY_MD_SHA512:
		out->scheme = SIG_RSA_PSS_SHA512;
		break;
	default:
		return -ENOTSUP;
	}
	out->salt_len = (uint16_t)salt;
	return 0;
}

int sigalg_parse(const uint8_t *der, size_t len, struct sig_alg *out)
{
	struct der d = der_init(der, len), alg, oid;
	static const struct {
		const uint8_t *oid;
		size_t len;
		enum sig_scheme scheme;
		bool null_ok; /* RFC 8017 A.2.4: NULL; RFC 8410 3: absent; RFC 5758 3.2 says absent
			       * for ECDSA, but a NULL from older encoders is harmless */
	} simple[] = {
		{OID_RSA_PKCS1_SHA1, sizeof(OID_RSA_PKCS1_SHA1), SIG_RSA_PKCS1_SHA1, true},
		{OID_RSA_PKCS1_SHA256, sizeof(OID_RSA_PKCS1_SHA256), SIG_RSA_PKCS1_SHA256, true},
		{OID_RSA_PKCS1_SHA384, sizeof(OID_RSA_PKCS1_SHA384), SIG_RSA_PKCS1_SHA384, true},
		{OID_RSA_PKCS1_SHA512, sizeof(OID_RSA_PKCS1_SHA512), SIG_RSA_PKCS1_SHA512, true},
		{OID_ECDSA_SHA256, sizeof(OID_ECDSA_SHA256), SIG_ECDSA_SHA256, true},
		{OID_ECDSA_SHA384, sizeof(OID_ECDSA_SHA384), SIG_ECDSA_SHA384, true},
		{OID_ECDSA_SHA512, sizeof(OID_ECDSA_SHA512), SIG_ECDSA_SHA512, true},
		{OID_ED25519, sizeof(OID_ED25519), SIG_ED25519, false},
	};

	memset(out, 0, sizeof(*out));
	if (der_expect(&d, DER_SEQUENCE, &alg) < 0 || d.left || der_expect(&alg, DER_OID, &oid) < 0)
		return -EBADMSG;
	if (der_oid_is(&oid, OID_RSA_PSS, sizeof(OID_RSA_PSS))) {
		int rc = parse_pss(alg, out);

		if (rc < 0)
			memset(out, 0, sizeof(*out));
		return rc;
	}
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (!der_oid_is(&oid, simple[i].oid, simple[i].len))
			continue;
		if (!params_empty(&alg, simple[i].null_ok))
			return -EBADMSG;
		out->scheme = simple[i].scheme;
		return 0;
	}
	return -ENOTSUP;
}
