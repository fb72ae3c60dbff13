/* Keys and signatures (see pubkey.h). */
#include "crypto/pubkey.h"

#include <errno.h>
#include <gcrypt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/der.h"
#include "crypto/pem.h"
#include "crypto/secret.h"

struct pubkey {
	enum key_type type;
	unsigned bits;
	gcry_sexp_t sexp;         /* RSA and ECDSA */
	uint8_t ed[32];           /* Ed25519 */
	uint8_t *spki;            /* as received, or canon */
	size_t spki_len;
	uint8_t *canon;           /* our own SPKI encoding: equality */
	size_t canon_len;
};

struct privkey {
	enum key_type type;
	gcry_sexp_t sexp;         /* RSA and ECDSA */
	struct secret *ed_sk;     /* Ed25519: libsodium's 64-octet secret key */
	struct pubkey *pub;
};

static const uint8_t OID_RSA[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
static const uint8_t OID_RSA_PSS[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
static const uint8_t OID_EC[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t OID_ED25519[] = {0x2b, 0x65, 0x70};

static const struct curve {
	enum key_type type;
	const char *gcry;
	uint8_t oid[8];
	size_t oid_len;
	size_t flen; /* field (and order) length, octets */
	unsigned bits;
} curves[] = {
	{KEY_ECDSA_P256, "NIST P-256", {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, 8, 32, 256},
	{KEY_ECDSA_P384, "NIST P-384", {0x2b, 0x81, 0x04, 0x00, 0x22}, 5, 48, 384},
	{KEY_ECDSA_P521, "NIST P-521", {0x2b, 0x81, 0x04, 0x00, 0x23}, 5, 66, 521},
};

static const struct curve *curve_of(enum key_type t)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].type == t)
			return &curves[i];
	return NULL;
}

static const struct curve *curve_by_oid(const struct der *oid)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (der_oid_is(oid, curves[i].oid, curves[i].oid_len))
			return &curves[i];
	return NULL;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- SubjectPublicKeyInfo encoding ---- */

/* SEQ { alg, BIT STRING { 0x00 | key } } with alg = SEQ { OID, [params] } (params: whole TLVs). */
static int encode_spki(const uint8_t *oid, size_t oid_len, const uint8_t *params, size_t plen,
		       const uint8_t *key, size_t klen, uint8_t **out, size_t *out_len)
{
	size_t acap = oid_len + plen + 8, cap = klen + acap + 32;
	uint8_t *alg = malloc(acap), *body = malloc(cap), *bits = malloc(klen + 1);
	uint8_t *buf = malloc(cap);
	struct der_out a = {alg, acap, 0, false}, b = {body, cap, 0, false};
	struct der_out o = {buf, cap, 0, false};
	int rc = -ENOMEM;

	if (!alg || !body || !bits || !buf)
		goto out;
	der_put(&a, DER_OID, oid, oid_len);
	der_put_raw(&a, params, plen);
	bits[0] = 0; /* no unused bits */
	memcpy(bits + 1, key, klen);
	der_put(&b, DER_SEQUENCE, alg, a.pos);
	der_put(&b, DER_BIT_STRING, bits, klen + 1);
	der_put(&o, DER_SEQUENCE, body, b.pos);
	if (a.err || b.err || o.err) {
		rc = -ENOSPC;
		goto out;
	}
	*out = buf;
	*out_len = o.pos;
	buf = NULL;
	rc = 0;
out:
	free(alg);
	free(body);
	free(bits);
	free(buf);
	return rc;
}

/* The canonical SPKI of an RSA key from its modulus and exponent magnitudes. */
static int rsa_spki(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen, uint8_t **out,
		    size_t *out_len)
{
	static const uint8_t null_params[] = {DER_NULL, 0};
	size_t cap = nlen + elen + 32;
	uint8_t *seq = malloc(cap), *ints = malloc(cap);
	struct der_out i = {ints, cap, 0, false}, s = {seq, cap, 0, false};
	int rc = -ENOMEM;

	if (seq && ints) {
		der_put_uint(&i, n, nlen);
		der_put_uint(&i, e, elen);
		der_put(&s, DER_SEQUENCE, ints, i.pos);
		rc = i.err || s.err ? -ENOSPC
				    : encode_spki(OID_RSA, sizeof(OID_RSA), null_params,
						  sizeof(null_params), seq, s.pos, out, out_len);
	}
	free(seq);
	free(ints);
	return rc;
}

static int ec_spki(const struct curve *c, const uint8_t *q, size_t qlen, uint8_t **out,
		   size_t *out_len)
{
	uint8_t params[16];
	struct der_out p = {params, sizeof(params), 0, false};

	der_put(&p, DER_OID, c->oid, c->oid_len);
	return encode_spki(OID_EC, sizeof(OID_EC), params, p.pos, q, qlen, out, out_len);
}

/* ---- public keys ---- */

void pubkey_free(struct pubkey *pk)
{
	if (!pk)
		return;
	gcry_sexp_release(pk->sexp);
	if (pk->spki != pk->canon)
		free(pk->spki);
	free(pk->canon);
	free(pk);
}

/* Fills pk from RSA n, e (magnitudes, borrowed). */
static int rsa_public(struct pubkey *pk, struct der n, struct der e, char *err, size_t errlen)
{
	unsigned bits = (unsigned)n.left * 8;

	for (uint8_t top = n.left ? n.p[0] : 0; bits && !(top & 0x80); top = (uint8_t)(top << 1))
		bits--;
	if (bits < PUBKEY_RSA_MIN_BITS || bits > PUBKEY_RSA_MAX_BITS) {
		seterr(err, errlen, "RSA key of %u bits (%d to %d accepted)", bits,
		       PUBKEY_RSA_MIN_BITS, PUBKEY_RSA_MAX_BITS);
		return -1;
	}
	/* RFC 8017 3.1: e is odd and at least 3. */
	if (e.left == 0 || e.left > 8 || !(e.p[e.left - 1] & 1) || (e.left == 1 && e.p[0] < 3)) {
		seterr(err, errlen, "RSA key with an invalid public exponent");
		return -1;
	}
	if (gcry_sexp_build(&pk->sexp, NULL, "(public-key (rsa (n %b)(e %b)))", (int)n.left, n.p,
			    (int)e.left, e.p) != 0 ||
	    rsa_spki(n.p, n.left, e.p, e.left, &pk->canon, &pk->canon_len) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	pk->type = KEY_RSA;
	pk->bits = bits;
	return 0;
}

/* RFC 8017 A.1.1 RSAPublicKey ::= SEQUENCE { modulus, publicExponent } */
static int parse_rsa_public(struct pubkey *pk, struct der d, char *err, size_t errlen)
{
	struct der seq, n, e;

	if (der_expect(&d, DER_SEQUENCE, &seq) < 0 || d.left || der_uint(&seq, &n) < 0 ||
	    der_uint(&seq, &e) < 0 || seq.left) {
		seterr(err, errlen, "malformed RSA public key");
		return -1;
	}
	return rsa_public(pk, n, e, err, errlen);
}

/* An uncompressed point (SEC 1 2.3.3) on curve c: checked on the curve. */
static int ec_public(struct pubkey *pk, const struct curve *c, const uint8_t *q, size_t qlen,
		     char *err, size_t errlen)
{
	gcry_ctx_t ctx = NULL;
	gcry_mpi_point_t pt = NULL;
	bool on = false;

	if (qlen != 1 + 2 * c->flen || q[0] != 0x04) {
		seterr(err, errlen, "%s public key is not an uncompressed point of %zu octets",
		       c->gcry, 1 + 2 * c->flen);
		return -1;
	}
	if (gcry_sexp_build(&pk->sexp, NULL, "(public-key (ecc (curve %s)(q %b)))", c->gcry,
			    (int)qlen, q) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	if (gcry_mpi_ec_new(&ctx, pk->sexp, NULL) == 0) {
		pt = gcry_mpi_ec_get_point("q", ctx, 0);
		on = pt && gcry_mpi_ec_curve_point(pt, ctx);
	}
	gcry_mpi_point_release(pt);
	gcry_ctx_release(ctx);
	if (!on) {
		seterr(err, errlen, "%s public key is not a point on the curve", c->gcry);
		return -1;
	}
	if (ec_spki(c, q, qlen, &pk->canon, &pk->canon_len) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	pk->type = c->type;
	pk->bits = c->bits;
	return 0;
}

static int ed_public(struct pubkey *pk, const uint8_t *q, size_t qlen, char *err, size_t errlen)
{
	if (qlen != 32) {
		seterr(err, errlen, "Ed25519 public key of %zu octets (32 expected)", qlen);
		return -1;
	}
	memcpy(pk->ed, q, 32);
	if (encode_spki(OID_ED25519, sizeof(OID_ED25519), NULL, 0, q, 32, &pk->canon,
			&pk->canon_len) != 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	pk->type = KEY_ED25519;
	pk->bits = 256;
	return 0;
}

/* Fills pk from a SubjectPublicKeyInfo; pk->spki is set by the caller. */
static int parse_spki(struct pubkey *pk, const uint8_t *der, size_t len, char *err, size_t errlen)
{
	struct der d = der_init(der, len), spki, alg, oid, key;

	if (der_expect(&d, DER_SEQUENCE, &spki) < 0 || d.left ||
	    der_expect(&spki, DER_SEQUENCE, &alg) < 0 || der_expect(&alg, DER_OID, &oid) < 0 ||
	    der_bits(&spki, &key) < 0 || spki.left) {
		seterr(err, errlen, "malformed SubjectPublicKeyInfo");
		return -1;
	}
	/* RFC 4055 1.2: RSASSA-PSS keys carry the same RSAPublicKey. */
	if (der_oid_is(&oid, OID_RSA, sizeof(OID_RSA)) ||
	    der_oid_is(&oid, OID_RSA_PSS, sizeof(OID_RSA_PSS)))
		return parse_rsa_public(pk, key, err, errlen);
	if (der_oid_is(&oid, OID_EC, sizeof(OID_EC))) {
		struct der coid;
		const struct curve *c;

		if (der_expect(&alg, DER_OID, &coid) < 0 || alg.left) {
			seterr(err, errlen, "EC key without a named curve");
			return -1;
		}
		if (!(c = curve_by_oid(&coid))) {
			char t[64];

			der_oid_text(&coid, t, sizeof(t));
			seterr(err, errlen, "EC curve %s is not supported (P-256, P-384, P-521)", t);
			return -1;
		}
		return ec_public(pk, c, key.p, key.left, err, errlen);
	}
	if (der_oid_is(&oid, OID_ED25519, sizeof(OID_ED25519))) {
		if (alg.left) {
			seterr(err, errlen, "Ed25519 key with parameters");
			return -1;
		}
		return ed_public(pk, key.p, key.left, err, errlen);
	}
	char t[64];

	der_oid_text(&oid, t, sizeof(t));
	seterr(err, errlen, "public key algorithm %s is not supported (RSA, ECDSA, Ed25519)", t);
	return -1;
}

struct pubkey *pubkey_from_spki(const uint8_t *der, size_t len, char *err, size_t errlen)
{
	struct pubkey *pk = calloc(1, sizeof(*pk));

	if (!pk || !(pk->spki = malloc(len ? len : 1))) {
		seterr(err, errlen, "out of memory");
		free(pk);
		return NULL;
	}
	memcpy(pk->spki, der, len);
	pk->spki_len = len;
	if (parse_spki(pk, der, len, err, errlen) < 0) {
		pubkey_free(pk);
		return NULL;
	}
	return pk;
}

/* A key whose SPKI is our own encoding. */
static struct pubkey *adopt_canon(struct pubkey *pk)
{
	pk->spki = pk->canon;
	pk->spki_len = pk->canon_len;
	return pk;
}

struct pubkey *pubkey_load(const uint8_t *text, size_t len, char *err, size_t errlen)
{
	struct pem_block b;
	size_t pos = 0;
	struct pubkey *pk = NULL;

	if (!pem_is_pem(text, len))
		return pubkey_from_spki(text, len, err, errlen);
	for (;;) {
		int r = pem_next((const char *)text, len, &pos, &b);

		if (r <= 0) {
			seterr(err, errlen, r < 0 ? "malformed PEM" :
			       "no PUBLIC KEY or RSA PUBLIC KEY block");
			return NULL;
		}
		if (strcmp(b.label, "PUBLIC KEY") == 0) {
			pk = pubkey_from_spki(b.der, b.len, err, errlen);
			break;
		}
		if (strcmp(b.label, "RSA PUBLIC KEY") == 0) {
			pk = calloc(1, sizeof(*pk));
			if (!pk)
				seterr(err, errlen, "out of memory");
			else if (parse_rsa_public(pk, der_init(b.der, b.len), err, errlen) < 0) {
				pubkey_free(pk);
				pk = NULL;
			} else {
				adopt_canon(pk);
			}
			break;
		}
		pem_block_clear(&b);
	}
	pem_block_clear(&b);
	return pk;
}

struct pubkey *pubkey_dup(const struct pubkey *src)
{
	struct pubkey *pk = pubkey_from_spki(src->spki, src->spki_len, NULL, 0);

	return pk;
}

enum key_type pubkey_type(const struct pubkey *pk)
{
	return pk->type;
}

unsigned pubkey_bits(const struct pubkey *pk)
{
	return pk->bits;
}

const uint8_t *pubkey_spki(const struct pubkey *pk, size_t *len)
{
	*len = pk->spki_len;
	return pk->spki;
}

void pubkey_spki_sha1(const struct pubkey *pk, uint8_t out[20])
{
	gcry_md_hash_buffer(GCRY_MD_SHA1, out, pk->spki, pk->spki_len);
}

bool pubkey_equal(const struct pubkey *a, const struct pubkey *b)
{
	return a->canon_len == b->canon_len && memcmp(a->canon, b->canon, a->canon_len) == 0;
}

/* ---- signatures ---- */

/* Octets of the RSA modulus. */
static size_t rsa_len(const struct pubkey *pk)
{
	return (pk->bits + 7) / 8;
}

/* The data S-expression: the hash of data with the scheme's encoding. */
static int data_sexp(enum sig_scheme scheme, const struct sig_alg *alg, bool sign,
		     const uint8_t *data, size_t len, gcry_sexp_t *out)
{
	uint8_t h[64];
	int md = sigalg_gcry_md(scheme);
	size_t hlen = sigalg_hash_len(scheme);
	const char *name = gcry_md_algo_name(md);
	gcry_error_t ge;

	gcry_md_hash_buffer(md, h, data, len);
	switch (scheme) {
	case SIG_RSA_PSS_SHA256:
	case SIG_RSA_PSS_SHA384:
	case SIG_RSA_PSS_SHA512:
		ge = gcry_sexp_build(out, NULL, "(data (flags pss)(hash %s %b)(salt-length %u))",
				     name, (int)hlen, h,
				     (unsigned)(alg ? alg->salt_len : hlen));
		break;
	case SIG_RSA_PKCS1_SHA1:
	case SIG_RSA_PKCS1_SHA256:
	case SIG_RSA_PKCS1_SHA384:
	case SIG_RSA_PKCS1_SHA512:
		ge = gcry_sexp_build(out, NULL, "(data (flags pkcs1)(hash %s %b))", name, (int)hlen,
				     h);
		break;
	default:
		/*
		 * ECDSA: the hash as an opaque value (libgcrypt truncates it to the
		 * order's length, FIPS 186-4 6.4); RFC 6979 nonces when signing.
		 */
		ge = gcry_sexp_build(out, NULL, sign ? "(data (flags rfc6979)(hash %s %b))"
						      : "(data (flags raw)(hash %s %b))",
				     name, (int)hlen, h);
		break;
	}
	return ge ? -EIO : 0;
}

/* r and s of an ECDSA signature into fixed-length r | s (rs has 2 * flen octets). */
static int ecdsa_sig_split(const struct curve *c, enum sig_format fmt, const uint8_t *sig,
			   size_t siglen, uint8_t *rs)
{
	if (fmt == SIG_FMT_RAW) {
		if (siglen != 2 * c->flen)
			return -1;
		memcpy(rs, sig, siglen);
		return 0;
	}
	/* RFC 3279 2.2.3: Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } */
	struct der d = der_init(sig, siglen), seq, r, s;

	if (der_expect(&d, DER_SEQUENCE, &seq) < 0 || d.left || der_uint(&seq, &r) < 0 ||
	    der_uint(&seq, &s) < 0 || seq.left || r.left > c->flen || s.left > c->flen)
		return -1;
	memset(rs, 0, 2 * c->flen);
	memcpy(rs + c->flen - r.left, r.p, r.left);
	memcpy(rs + 2 * c->flen - s.left, s.p, s.left);
	return 0;
}

int pubkey_verify(const struct pubkey *pk, const struct sig_alg *alg, enum sig_format fmt,
		  const uint8_t *data, size_t len, const uint8_t *sig, size_t siglen)
{
	gcry_sexp_t s_data = NULL, s_sig = NULL;
	gcry_error_t ge;
	int rc;

	if (!sigalg_fits_key(alg->scheme, pk->type))
		return -EINVAL;
	if (pk->type == KEY_ED25519) {
		if (siglen != crypto_sign_BYTES)
			return -EBADMSG;
		return crypto_sign_verify_detached(sig, data, len, pk->ed) == 0 ? 0 : -EBADMSG;
	}
	if (pk->type == KEY_RSA) {
		/* RFC 8017 8.1.2/8.2.2 step 1: the signature has the modulus's length. */
		if (siglen != rsa_len(pk))
			return -EBADMSG;
		if (gcry_sexp_build(&s_sig, NULL, "(sig-val (rsa (s %b)))", (int)siglen, sig))
			return -EIO;
	} else {
		const struct curve *c = curve_of(pk->type);
		uint8_t rs[2 * 66];

		if (ecdsa_sig_split(c, fmt, sig, siglen, rs) < 0)
			return -EBADMSG;
		if (gcry_sexp_build(&s_sig, NULL, "(sig-val (ecdsa (r %b)(s %b)))", (int)c->flen, rs,
				    (int)c->flen, rs + c->flen))
			return -EIO;
	}
	rc = data_sexp(alg->scheme, alg, false, data, len, &s_data);
	if (rc == 0) {
		ge = gcry_pk_verify(s_sig, s_data, pk->sexp);
		rc = ge ? -EBADMSG : 0;
	}
	gcry_sexp_release(s_data);
	gcry_sexp_release(s_sig);
	return rc;
}

/* An MPI element of a result S-expression into out[0..len), left-padded. */
static int sexp_uint(gcry_sexp_t s, const char *name, uint8_t *out, size_t len)
{
	gcry_sexp_t t = gcry_sexp_find_token(s, name, 0);
	gcry_mpi_t m = t ? gcry_sexp_nth_mpi(t, 1, GCRYMPI_FMT_USG) : NULL;
	size_t n = 0;
	int rc = -EIO;

	if (m && (gcry_mpi_get_nbits(m) + 7) / 8 <= len) {
		size_t pad = len - (gcry_mpi_get_nbits(m) + 7) / 8;

		memset(out, 0, len);
		if (gcry_mpi_print(GCRYMPI_FMT_USG, out + pad, len - pad, &n, m) == 0 &&
		    n == len - pad)
			rc = 0;
	}
	gcry_mpi_release(m);
	gcry_sexp_release(t);
	return rc;
}

int privkey_sign(const struct privkey *k, enum sig_scheme scheme, enum sig_format fmt,
		 const uint8_t *data, size_t len, uint8_t *sig, size_t cap, size_t *siglen)
{
	gcry_sexp_t s_data = NULL, s_sig = NULL;
	int rc;

	if (!sigalg_fits_key(scheme, k->type))
		return -EINVAL;
	if (k->type == KEY_ED25519) {
		unsigned long long n;

		if (cap < crypto_sign_BYTES)
			return -ENOSPC;
		crypto_sign_detached(sig, &n, data, len, k->ed_sk->data);
		*siglen = (size_t)n;
		return 0;
	}
	rc = data_sexp(scheme, NULL, true, data, len, &s_data);
	if (rc == 0 && gcry_pk_sign(&s_sig, s_data, k->sexp) != 0)
		rc = -EIO;
	if (rc)
		goto out;
	if (k->type == KEY_RSA) {
		size_t n = rsa_len(k->pub);

		if (cap < n) {
			rc = -ENOSPC;
			goto out;
		}
		rc = sexp_uint(s_sig, "s", sig, n);
		*siglen = n;
		goto out;
	}
	const struct curve *c = curve_of(k->type);
	uint8_t rs[2 * 66];

	if (sexp_uint(s_sig, "r", rs, c->flen) != 0 ||
	    sexp_uint(s_sig, "s", rs + c->flen, c->flen) != 0) {
		rc = -EIO;
		goto out;
	}
	if (fmt == SIG_FMT_RAW) {
		if (cap < 2 * c->flen) {
			rc = -ENOSPC;
			goto out;
		}
		memcpy(sig, rs, 2 * c->flen);
		*siglen = 2 * c->flen;
		goto out;
	}
	uint8_t ints[2 * 66 + 8];
	struct der_out i = {ints, sizeof(ints), 0, false}, o = {sig, cap, 0, false};

	der_put_uint(&i, rs, c->flen);
	der_put_uint(&i, rs + c->flen, c->flen);
	der_put(&o, DER_SEQUENCE, ints, i.pos);
	rc = i.err ? -EIO : o.err ? -ENOSPC : 0;
	*siglen = o.pos;
out:
	gcry_sexp_release(s_data);
	gcry_sexp_release(s_sig);
	return rc;
}

/* ---- private keys ---- */

void privkey_free(struct privkey *k)
{
	if (!k)
		return;
	gcry_sexp_release(k->sexp);
	secret_free(k->ed_sk);
	pubkey_free(k->pub);
	free(k);
}

const struct pubkey *privkey_public(const struct privkey *k)
{
	return k->pub;
}

static gcry_mpi_t mpi_of(struct der v)
{
	gcry_mpi_t m = NULL;

	if (gcry_mpi_scan(&m, GCRYMPI_FMT_USG, v.p, v.left, NULL) != 0)
		return NULL;
	return m;
}

/* RFC 8017 A.1.2 RSAPrivateKey (two primes, version 0). */
static int parse_rsa_private(struct privkey *k, struct der d, char *err, size_t errlen)
{
	struct der seq, f[8];
	uint32_t version;
	gcry_mpi_t n = NULL, e = NULL, dd = NULL, p = NULL, q = NULL, u = NULL;
	int rc = -1;

	if (der_expect(&d, DER_SEQUENCE, &seq) < 0 || d.left || der_small_uint(&seq, &version) < 0) {
		seterr(err, errlen, "malformed RSA private key");
		return -1;
	}
	if (version != 0) {
		seterr(err, errlen, "multi-prime RSA keys are not supported");
		return -1;
	}
	for (size_t i = 0; i < 8; i++) {
		if (der_uint(&seq, &f[i]) < 0) {
			seterr(err, errlen, "malformed RSA private key");
			return -1;
		}
	}
	k->pub = calloc(1, sizeof(*k->pub));
	if (!k->pub || rsa_public(k->pub, f[0], f[1], err, errlen) < 0)
		return -1;
	adopt_canon(k->pub);
	n = mpi_of(f[0]);
	e = mpi_of(f[1]);
	dd = mpi_of(f[2]);
	p = mpi_of(f[3]);
	q = mpi_of(f[4]);
	u = gcry_mpi_snew(0);
	if (!n || !e || !dd || !p || !q || !u)
		goto nomem;
	/* libgcrypt wants p < q and u = p^-1 mod q (PKCS#1 has qInv = q^-1 mod p). */
	if (gcry_mpi_cmp(p, q) > 0)
		gcry_mpi_swap(p, q);
	if (!gcry_mpi_invm(u, p, q)) {
		seterr(err, errlen, "RSA private key with p and q not coprime");
		goto out;
	}
	if (gcry_sexp_build(&k->sexp, NULL, "(private-key (rsa (n %m)(e %m)(d %m)(p %m)(q %m)(u %m)))",
			    n, e, dd, p, q, u) != 0)
		goto nomem;
	if (gcry_pk_testkey(k->sexp) != 0) {
		seterr(err, errlen, "inconsistent RSA private key");
		goto out;
	}
	k->type = KEY_RSA;
	rc = 0;
	goto out;
nomem:
	seterr(err, errlen, "out of memory");
out:
	gcry_mpi_release(n);
	gcry_mpi_release(e);
	gcry_mpi_release(dd);
	gcry_mpi_release(p);
	gcry_mpi_release(q);
	gcry_mpi_release(u);
	return rc;
}

/* The public point d*G as SEC 1 uncompressed octets into q[0..1 + 2 * flen). */
static int ec_derive_q(const struct curve *c, const uint8_t *dpad, uint8_t *q)
{
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t d = NULL, qm = NULL;
	int rc = -1;

	if (gcry_mpi_ec_new(&ctx, NULL, c->gcry) != 0 ||
	    gcry_mpi_scan(&d, GCRYMPI_FMT_USG, dpad, c->flen, NULL) != 0 ||
	    gcry_mpi_ec_set_mpi("d", d, ctx) != 0)
		goto out;
	qm = gcry_mpi_ec_get_mpi("q", ctx, 1);
	if (!qm)
		goto out;
	if (gcry_mpi_get_flag(qm, GCRYMPI_FLAG_OPAQUE)) {
		unsigned int nbits;
		const uint8_t *b = gcry_mpi_get_opaque(qm, &nbits);

		if (b && (nbits + 7) / 8 == 1 + 2 * c->flen) {
			memcpy(q, b, 1 + 2 * c->flen);
			rc = 0;
		}
	} else {
		size_t n = 0;

		if (gcry_mpi_print(GCRYMPI_FMT_USG, q, 1 + 2 * c->flen, &n, qm) == 0 &&
		    n == 1 + 2 * c->flen)
			rc = 0;
	}
out:
	gcry_mpi_release(qm);
	gcry_mpi_release(d);
	gcry_ctx_release(ctx);
	return rc;
}

/*
 * RFC 5915 3 ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING,
 * parameters [0] OPTIONAL, publicKey [1] BIT STRING OPTIONAL }; c is the
 * curve from PKCS#8's algorithm, or NULL to take it from [0].
 */
static int parse_ec_private(struct privkey *k, struct der d, const struct curve *c, char *err,
			    size_t errlen)
{
	struct der seq, priv, f;
	uint32_t version;
	uint8_t dpad[66], q[1 + 2 * 66];
	int rc = -1;

	if (der_expect(&d, DER_SEQUENCE, &seq) < 0 || d.left || der_small_uint(&seq, &version) < 0 ||
	    version != 1 || der_expect(&seq, DER_OCTET_STRING, &priv) < 0) {
		seterr(err, errlen, "malformed EC private key");
		return -1;
	}
	if (der_expect(&seq, DER_CTX0 + 0, &f) == 0) {
		struct der oid;
		const struct curve *c2;

		if (der_expect(&f, DER_OID, &oid) < 0 || !(c2 = curve_by_oid(&oid))) {
			seterr(err, errlen, "EC private key on an unsupported curve");
			return -1;
		}
		if (c && c != c2) {
			seterr(err, errlen, "EC private key names two different curves");
			return -1;
		}
		c = c2;
	}
	if (!c) {
		seterr(err, errlen, "EC private key without a named curve");
		return -1;
	}
	if (priv.left == 0 || priv.left > c->flen) {
		seterr(err, errlen, "EC private key of %zu octets (%zu expected)", priv.left, c->flen);
		return -1;
	}
	memset(dpad, 0, sizeof(dpad));
	memcpy(dpad + c->flen - priv.left, priv.p, priv.left);
	if (ec_derive_q(c, dpad, q) < 0) {
		seterr(err, errlen, "invalid %s private key", c->gcry);
		goto out;
	}
	if (der_expect(&seq, DER_CTX0 + 1, &f) == 0) {
		struct der pub;

		if (der_bits(&f, &pub) < 0 || pub.left != 1 + 2 * c->flen ||
		    memcmp(pub.p, q, pub.left) != 0) {
			seterr(err, errlen, "EC private key with a public key that does not match it");
			goto out;
		}
	}
	k->pub = calloc(1, sizeof(*k->pub));
	if (!k->pub || ec_public(k->pub, c, q, 1 + 2 * c->flen, err, errlen) < 0)
		goto out;
	adopt_canon(k->pub);
	if (gcry_sexp_build(&k->sexp, NULL, "(private-key (ecc (curve %s)(q %b)(d %b)))", c->gcry,
			    (int)(1 + 2 * c->flen), q, (int)c->flen, dpad) != 0) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	k->type = c->type;
	rc = 0;
out:
	crypto_wipe(dpad, sizeof(dpad));
	return rc;
}

/* RFC 8410 7: CurvePrivateKey ::= OCTET STRING (the 32-octet seed). */
static int parse_ed_private(struct privkey *k, struct der d, char *err, size_t errlen)
{
	struct der seed;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];

	if (der_expect(&d, DER_OCTET_STRING, &seed) < 0 || d.left ||
	    seed.left != crypto_sign_SEEDBYTES) {
		seterr(err, errlen, "malformed Ed25519 private key");
		return -1;
	}
	k->ed_sk = secret_new(crypto_sign_SECRETKEYBYTES);
	k->pub = calloc(1, sizeof(*k->pub));
	if (!k->ed_sk || !k->pub) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	crypto_sign_seed_keypair(pk, k->ed_sk->data, seed.p);
	if (ed_public(k->pub, pk, sizeof(pk), err, errlen) < 0)
		return -1;
	adopt_canon(k->pub);
	k->type = KEY_ED25519;
	return 0;
}

/* RFC 5208 5 / RFC 5958 2 PrivateKeyInfo (OneAsymmetricKey). */
static int parse_pkcs8(struct privkey *k, struct der d, char *err, size_t errlen)
{
	struct der seq, alg, oid, priv;
	uint32_t version;

	if (der_expect(&d, DER_SEQUENCE, &seq) < 0 || d.left || der_small_uint(&seq, &version) < 0 ||
	    version > 1 || der_expect(&seq, DER_SEQUENCE, &alg) < 0 ||
	    der_expect(&alg, DER_OID, &oid) < 0 || der_expect(&seq, DER_OCTET_STRING, &priv) < 0) {
		seterr(err, errlen, "malformed PKCS#8 private key");
		return -1;
	}
	if (der_oid_is(&oid, OID_RSA, sizeof(OID_RSA)) ||
	    der_oid_is(&oid, OID_RSA_PSS, sizeof(OID_RSA_PSS)))
		return parse_rsa_private(k, priv, err, errlen);
	if (der_oid_is(&oid, OID_EC, sizeof(OID_EC))) {
		struct der coid;
		const struct curve *c;

		if (der_expect(&alg, DER_OID, &coid) < 0 || !(c = curve_by_oid(&coid))) {
			seterr(err, errlen, "EC private key on an unsupported curve (P-256, P-384, "
			       "P-521)");
			return -1;
		}
		return parse_ec_private(k, priv, c, err, errlen);
	}
	if (der_oid_is(&oid, OID_ED25519, sizeof(OID_ED25519)))
		return parse_ed_private(k, priv, err, errlen);
	char t[64];

	der_oid_text(&oid, t, sizeof(t));
	seterr(err, errlen, "private key algorithm %s is not supported (RSA, ECDSA, Ed25519)", t);
	return -1;
}

enum key_format { FMT_PKCS8, FMT_PKCS1, FMT_SEC1 };

static struct privkey *parse_private(const uint8_t *der, size_t len, enum key_format f, char *err,
				     size_t errlen)
{
	struct privkey *k = calloc(1, sizeof(*k));
	int rc;

	if (!k) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	if (f == FMT_PKCS8)
		rc = parse_pkcs8(k, der_init(der, len), err, errlen);
	else if (f == FMT_PKCS1)
		rc = parse_rsa_private(k, der_init(der, len), err, errlen);
	else
		rc = parse_ec_private(k, der_init(der, len), NULL, err, errlen);
	if (rc < 0) {
		privkey_free(k);
		return NULL;
	}
	return k;
}

struct privkey *privkey_load(const uint8_t *text, size_t len, char *err, size_t errlen)
{
	struct pem_block b;
	size_t pos = 0;
	struct privkey *k = NULL;

	if (!pem_is_pem(text, len)) {
		/* DER: whichever of the three formats parses. */
		static const enum key_format order[] = {FMT_PKCS8, FMT_PKCS1, FMT_SEC1};
		char first[160] = "";

		for (size_t i = 0; i < 3 && !k; i++)
			k = parse_private(text, len, order[i], i ? NULL : first,
					  i ? 0 : sizeof(first));
		if (!k)
			seterr(err, errlen, "%s", first);
		return k;
	}
	for (;;) {
		int r = pem_next((const char *)text, len, &pos, &b);

		if (r < 0) {
			seterr(err, errlen, "malformed PEM (or an encrypted key, which is not "
			       "supported)");
			return NULL;
		}
		if (r == 0) {
			seterr(err, errlen, "no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block");
			return NULL;
		}
		if (strcmp(b.label, "PRIVATE KEY") == 0)
			k = parse_private(b.der, b.len, FMT_PKCS8, err, errlen);
		else if (strcmp(b.label, "RSA PRIVATE KEY") == 0)
			k = parse_private(b.der, b.len, FMT_PKCS1, err, errlen);
		else if (strcmp(b.label, "EC PRIVATE KEY") == 0)
			k = parse_private(b.der, b.len, FMT_SEC1, err, errlen);
		else if (strcmp(b.label, "ENCRYPTED PRIVATE KEY") == 0) {
			seterr(err, errlen, "encrypted private keys are not supported");
			pem_block_clear(&b);
			return NULL;
		} else {
			pem_block_clear(&b); /* EC PARAMETERS and the like */
			continue;
		}
		pem_block_clear(&b);
		return k;
	}
}
