/*
 * Keys, signatures, AlgorithmIdentifiers, distinguished names and X.509
 * path validation (crypto/pubkey, sigalg, dn, x509) against the test PKI
 * in tests/fixtures/pki (made by its make.sh with openssl and strongSwan's
 * pki). Signatures are checked against openssl in both directions: ours
 * verified by `openssl dgst`/`pkeyutl`, openssl's verified by ours.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/der.h"
#include "crypto/dn.h"
#include "crypto/pem.h"
#include "crypto/pubkey.h"
#include "crypto/rng.h"
#include "crypto/sigalg.h"
#include "crypto/x509.h"
#include "daemon/ikev2.h"

static char pki_dir[512];
static char tmp_dir[64];

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	*len = 0;
	if (!f)
		return NULL;
	uint8_t *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static uint8_t *fixture(const char *name, size_t *len)
{
	char p[700];
	snprintf(p, sizeof(p), "%s/%s", pki_dir, name);
	uint8_t *b = slurp(p, len);
	if (!b)
		fail_msg("cannot read %s", p);
	return b;
}

static struct x509 *cert(const char *name)
{
	size_t len, n = 0;
	uint8_t *b = fixture(name, &len);
	struct x509 *c[1];
	char err[200];
	if (x509_load(b, len, c, 1, &n, err, sizeof(err)) != 0)
		fail_msg("%s: %s", name, err);
	free(b);
	return c[0];
}

static struct privkey *key(const char *name)
{
	size_t len;
	uint8_t *b = fixture(name, &len);
	char err[200];
	struct privkey *k = privkey_load(b, len, err, sizeof(err));
	if (!k)
		fail_msg("%s: %s", name, err);
	free(b);
	return k;
}

static void write_file(const char *name, const void *p, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

/* Runs a shell command in tmp_dir; its exit status. */
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n = snprintf(cmd, sizeof(cmd), "cd %s && OPENSSL_CONF=/dev/null ", tmp_dir);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* ---- keys ---- */

static void test_keys_load(void **state)
{
	(void)state;
	static const struct {
		const char *key, *crt;
		enum key_type type;
	} k[] = {
		{"a-rsa.key", "a-rsa.crt", KEY_RSA},           /* PKCS#1 */
		{"b-rsa.key", "b-rsa.crt", KEY_RSA},           /* PKCS#8 */
		{"a-ecdsa.key", "a-ecdsa.crt", KEY_ECDSA_P256}, /* SEC1 after EC PARAMETERS */
		{"b-ecdsa.key", "b-ecdsa.crt", KEY_ECDSA_P256}, /* PKCS#8 */
		{"c-p384.key", "c-p384.crt", KEY_ECDSA_P384},   /* SEC1 */
		{"d-p521.key", "d-p521.crt", KEY_ECDSA_P521},   /* PKCS#8 */
		{"a-ed25519.key", "a-ed25519.crt", KEY_ED25519},
		{"b-ed25519.key", "b-ed25519.crt", KEY_ED25519},
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		struct privkey *p = key(k[i].key);
		struct x509 *c = cert(k[i].crt);
		assert_int_equal(pubkey_type(privkey_public(p)), k[i].type);
		assert_true(pubkey_equal(privkey_public(p), x509_pubkey(c)));
		/* The SPKI we encode for a private key's public half is the certificate's. */
		size_t l1, l2;
		const uint8_t *s1 = pubkey_spki(privkey_public(p), &l1);
		const uint8_t *s2 = pubkey_spki(x509_pubkey(c), &l2);
		assert_int_equal(l1, l2);
		assert_memory_equal(s1, s2, l1);
		privkey_free(p);
		x509_free(c);
	}
	/* A key and a certificate that do not belong together. */
	struct privkey *p = key("a-ecdsa.key");
	struct x509 *c = cert("b-ecdsa.crt");
	assert_false(pubkey_equal(privkey_public(p), x509_pubkey(c)));
	privkey_free(p);
	x509_free(c);
}

static void test_pubkeys_load(void **state)
{
	(void)state;
	static const char *const pairs[][2] = {
		{"a-ecdsa.pub", "a-ecdsa.crt"}, {"a-ed25519.pub", "a-ed25519.crt"},
		{"b-ed25519.pub", "b-ed25519.crt"}, {"b-rsa.pub", "b-rsa.crt"},
		{"b-rsa.pub1", "b-rsa.crt"},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		size_t len;
		uint8_t *b = fixture(pairs[i][0], &len);
		char err[160];
		struct pubkey *pk = pubkey_load(b, len, err, sizeof(err));
		if (!pk)
			fail_msg("%s: %s", pairs[i][0], err);
		struct x509 *c = cert(pairs[i][1]);
		assert_true(pubkey_equal(pk, x509_pubkey(c)));
		/* CERTREQ key hashes (RFC 7296 3.7) agree with openssl's SHA-1 of the SPKI. */
		uint8_t h1[20], h2[20];
		pubkey_spki_sha1(pk, h1);
		pubkey_spki_sha1(x509_pubkey(c), h2);
		assert_memory_equal(h1, h2, 20);
		free(b);
		pubkey_free(pk);
		x509_free(c);
	}
}

static void test_bad_key_files(void **state)
{
	(void)state;
	char err[200];
	static const char garbage[] = "not a key\n";
	assert_null(privkey_load((const uint8_t *)garbage, sizeof(garbage) - 1, err, sizeof(err)));
	assert_null(pubkey_load((const uint8_t *)garbage, sizeof(garbage) - 1, err, sizeof(err)));
	/* A certificate is not a private key. */
	size_t len;
	uint8_t *b = fixture("a-ecdsa.crt", &len);
	assert_null(privkey_load(b, len, err, sizeof(err)));
	assert_non_null(strstr(err, "no PRIVATE KEY"));
	free(b);
	/* Truncated PEM. */
	b = fixture("b-ecdsa.key", &len);
	assert_null(privkey_load(b, len / 2, err, sizeof(err)));
	/* A corrupted body (base64 of something that is no key). */
	b[40] = b[40] == 'A' ? 'B' : 'A';
	assert_null(privkey_load(b, len, err, sizeof(err)));
	free(b);
	/* Encrypted PKCS#8, made here by openssl. */
	assert_int_equal(sh("openssl pkey -in %s/b-ecdsa.key -aes256 -passout pass:x -out enc.key",
			    pki_dir), 0);
	char p[128];
	snprintf(p, sizeof(p), "%s/enc.key", tmp_dir);
	b = slurp(p, &len);
	assert_non_null(b);
	assert_null(privkey_load(b, len, err, sizeof(err)));
	assert_non_null(strstr(err, "encrypted"));
	free(b);
	/* A small RSA key is refused. */
	assert_int_equal(sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 "
			    "-out small.key 2>/dev/null"), 0);
	snprintf(p, sizeof(p), "%s/small.key", tmp_dir);
	b = slurp(p, &len);
	assert_null(privkey_load(b, len, err, sizeof(err)));
	assert_non_null(strstr(err, "1024 bits"));
	free(b);
	/* DER private keys (PKCS#8 and SEC1) load too. */
	assert_int_equal(sh("openssl pkey -in %s/c-p384.key -outform DER -out p8.der && "
			    "openssl pkey -in %s/c-p384.key -outform DER -traditional -out sec1.der",
			    pki_dir, pki_dir), 0);
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", tmp_dir, i ? "sec1.der" : "p8.der");
		b = slurp(p, &len);
		struct privkey *k = privkey_load(b, len, err, sizeof(err));
		if (!k)
			fail_msg("%s: %s", p, err);
		assert_int_equal(pubkey_type(privkey_public(k)), KEY_ECDSA_P384);
		privkey_free(k);
		free(b);
	}
}

/* ---- signatures against openssl ---- */

struct sig_case {
	const char *key; /* fixture */
	enum sig_scheme scheme;
	const char *dgst_opts; /* openssl dgst options; NULL: pkeyutl -rawin (Ed25519) */
};

static const struct sig_case SIG_CASES[] = {
	{"a-rsa.key", SIG_RSA_PSS_SHA256,
	 "-sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32"},
	{"b-rsa.key", SIG_RSA_PSS_SHA384,
	 "-sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48"},
	{"b-rsa.key", SIG_RSA_PSS_SHA512,
	 "-sha512 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:64"},
	{"a-rsa.key", SIG_RSA_PKCS1_SHA256, "-sha256"},
	{"b-rsa.key", SIG_RSA_PKCS1_SHA384, "-sha384"},
	{"b-rsa.key", SIG_RSA_PKCS1_SHA512, "-sha512"},
	{"b-rsa.key", SIG_RSA_PKCS1_SHA1, "-sha1"},
	{"a-ecdsa.key", SIG_ECDSA_SHA256, "-sha256"},
	{"b-ecdsa.key", SIG_ECDSA_SHA384, "-sha384"},
	{"c-p384.key", SIG_ECDSA_SHA384, "-sha384"},
	{"c-p384.key", SIG_ECDSA_SHA256, "-sha256"},
	{"d-p521.key", SIG_ECDSA_SHA512, "-sha512"},
	{"a-ed25519.key", SIG_ED25519, NULL},
	{"b-ed25519.key", SIG_ED25519, NULL},
};

static void test_sign_openssl_verifies(void **state)
{
	(void)state;
	uint8_t data[333], sig[PUBKEY_SIG_MAX];
	rng_fill(rng_system(), data, sizeof(data));
	write_file("data", data, sizeof(data));
	for (size_t i = 0; i < sizeof(SIG_CASES) / sizeof(SIG_CASES[0]); i++) {
		const struct sig_case *c = &SIG_CASES[i];
		struct privkey *k = key(c->key);
		size_t siglen = 0;
		assert_int_equal(privkey_sign(k, c->scheme, SIG_FMT_DER, data, sizeof(data), sig,
					      sizeof(sig), &siglen), 0);
		write_file("sig", sig, siglen);
		size_t slen;
		const uint8_t *spki = pubkey_spki(privkey_public(k), &slen);
		write_file("pub.der", spki, slen);
		int rc = c->dgst_opts
			? sh("openssl dgst %s -keyform DER -verify pub.der -signature sig data "
			     ">/dev/null", c->dgst_opts)
			: sh("openssl pkeyutl -verify -pubin -keyform DER -inkey pub.der -rawin "
			     "-in data -sigfile sig >/dev/null");
		if (rc != 0)
			fail_msg("openssl does not verify our %s signature with %s",
				 sigalg_name(c->scheme), c->key);
		/* Our own verification, and a tampered message. */
		struct sig_alg alg = {c->scheme, (uint16_t)sigalg_hash_len(c->scheme)};
		assert_int_equal(pubkey_verify(privkey_public(k), &alg, SIG_FMT_DER, data,
					       sizeof(data), sig, siglen), 0);
		data[7] ^= 1;
		assert_int_equal(pubkey_verify(privkey_public(k), &alg, SIG_FMT_DER, data,
					       sizeof(data), sig, siglen), -EBADMSG);
		data[7] ^= 1;
		privkey_free(k);
	}
}

static void test_openssl_signs_we_verify(void **state)
{
	(void)state;
	uint8_t data[200];
	rng_fill(rng_system(), data, sizeof(data));
	write_file("data", data, sizeof(data));
	for (size_t i = 0; i < sizeof(SIG_CASES) / sizeof(SIG_CASES[0]); i++) {
		const struct sig_case *c = &SIG_CASES[i];
		int rc = c->dgst_opts
			? sh("openssl dgst %s -sign %s/%s -out sig data", c->dgst_opts, pki_dir, c->key)
			: sh("openssl pkeyutl -sign -inkey %s/%s -rawin -in data -out sig", pki_dir,
			     c->key);
		assert_int_equal(rc, 0);
		char p[128];
		size_t siglen;
		snprintf(p, sizeof(p), "%s/sig", tmp_dir);
		uint8_t *sig = slurp(p, &siglen);
		struct privkey *k = key(c->key);
		struct sig_alg alg = {c->scheme, (uint16_t)sigalg_hash_len(c->scheme)};
		if (pubkey_verify(privkey_public(k), &alg, SIG_FMT_DER, data, sizeof(data), sig,
				  siglen) != 0)
			fail_msg("openssl's %s signature with %s does not verify",
				 sigalg_name(c->scheme), c->key);
		/* Another scheme of the same key family does not verify it. */
		if (c->scheme == SIG_RSA_PSS_SHA256) {
			struct sig_alg other = {SIG_RSA_PKCS1_SHA256, 0};
			assert_int_equal(pubkey_verify(privkey_public(k), &other, SIG_FMT_DER, data,
						       sizeof(data), sig, siglen), -EBADMSG);
		}
		free(sig);
		privkey_free(k);
	}
}

static void test_sign_mismatch(void **state)
{
	(void)state;
	uint8_t data[10] = {0}, sig[PUBKEY_SIG_MAX];
	size_t n;
	struct privkey *rsa = key("a-rsa.key"), *ec = key("a-ecdsa.key"), *ed = key("a-ed25519.key");
	/* Schemes that do not fit the key. */
	assert_int_equal(privkey_sign(rsa, SIG_ECDSA_SHA256, SIG_FMT_DER, data, 10, sig, sizeof(sig),
				      &n), -EINVAL);
	assert_int_equal(privkey_sign(ec, SIG_ED25519, SIG_FMT_DER, data, 10, sig, sizeof(sig), &n),
			 -EINVAL);
	assert_int_equal(privkey_sign(ed, SIG_RSA_PSS_SHA256, SIG_FMT_DER, data, 10, sig,
				      sizeof(sig), &n), -EINVAL);
	/* RSA signatures must be exactly the modulus's length (RFC 8017 8.2.2). */
	assert_int_equal(privkey_sign(rsa, SIG_RSA_PSS_SHA256, SIG_FMT_DER, data, 10, sig,
				      sizeof(sig), &n), 0);
	struct sig_alg alg = {SIG_RSA_PSS_SHA256, 32};
	assert_int_equal(pubkey_verify(privkey_public(rsa), &alg, SIG_FMT_DER, data, 10, sig, n - 1),
			 -EBADMSG);
	/* A different salt length than the signer's does not verify. */
	alg.salt_len = 20;
	assert_int_equal(pubkey_verify(privkey_public(rsa), &alg, SIG_FMT_DER, data, 10, sig, n),
			 -EBADMSG);
	/* ECDSA r|s (RFC 4754) round trip; DER and raw are not interchangeable. */
	struct sig_alg ea = {SIG_ECDSA_SHA256, 0};
	assert_int_equal(privkey_sign(ec, SIG_ECDSA_SHA256, SIG_FMT_RAW, data, 10, sig, sizeof(sig),
				      &n), 0);
	assert_int_equal(n, 64);
	assert_int_equal(pubkey_verify(privkey_public(ec), &ea, SIG_FMT_RAW, data, 10, sig, n), 0);
	assert_int_equal(pubkey_verify(privkey_public(ec), &ea, SIG_FMT_DER, data, 10, sig, n),
			 -EBADMSG);
	privkey_free(rsa);
	privkey_free(ec);
	privkey_free(ed);
}

/* ---- AlgorithmIdentifiers ---- */

/* The signatureAlgorithm of a certificate made by openssl (last TLV before the signature). */
static void cert_sigalg(const char *name, uint8_t *out, size_t *len)
{
	struct x509 *c = cert(name);
	size_t dl;
	const uint8_t *d = x509_der(c, &dl);
	struct der r = der_init(d, dl), certseq, tbs, alg;
	assert_int_equal(der_expect(&r, DER_SEQUENCE, &certseq), 0);
	assert_int_equal(der_next(&certseq, NULL, &tbs, NULL), 0);
	assert_int_equal(der_next(&certseq, NULL, NULL, &alg), 0);
	memcpy(out, alg.p, alg.left);
	*len = alg.left;
	x509_free(c);
}

static void test_sigalg_der(void **state)
{
	(void)state;
	/* Our AlgorithmIdentifiers equal what openssl wrote into the fixtures. */
	static const struct {
		const char *crt;
		enum sig_scheme scheme;
	} from_certs[] = {
		{"a-rsa.crt", SIG_RSA_PSS_SHA256},   /* -sigopt rsa_pss_saltlen:-1 = hash length */
		{"b-rsa.crt", SIG_RSA_PKCS1_SHA256}, {"d-p521.crt", SIG_RSA_PKCS1_SHA512},
		{"c-p384.crt", SIG_ECDSA_SHA384},    {"a-int.crt", SIG_ECDSA_SHA256},
	};
	for (size_t i = 0; i < sizeof(from_certs) / sizeof(from_certs[0]); i++) {
		uint8_t alg[128];
		size_t len, ours_len;
		cert_sigalg(from_certs[i].crt, alg, &len);
		const uint8_t *ours = sigalg_der(from_certs[i].scheme, &ours_len);
		assert_int_equal(len, ours_len);
		assert_memory_equal(alg, ours, len);
	}
	/* Every scheme's blob parses back to itself. */
	for (int s = SIG_RSA_PKCS1_SHA1; s < SIG_SCHEME_COUNT; s++) {
		size_t len;
		const uint8_t *d = sigalg_der((enum sig_scheme)s, &len);
		struct sig_alg a;
		assert_int_equal(sigalg_parse(d, len, &a), 0);
		assert_int_equal(a.scheme, s);
		if (s >= SIG_RSA_PSS_SHA256 && s <= SIG_RSA_PSS_SHA512)
			assert_int_equal(a.salt_len, sigalg_hash_len((enum sig_scheme)s));
	}
	/* RFC 7427 A.4.3 RSASSA-PSS SHA-256, typed in from the RFC. */
	static const uint8_t pss256[] = {
		0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
		0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
		0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
		0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20};
	size_t len;
	const uint8_t *ours = sigalg_der(SIG_RSA_PSS_SHA256, &len);
	assert_int_equal(len, sizeof(pss256));
	assert_memory_equal(ours, pss256, len);
	/* Hash parameters absent instead of NULL, salt 20 (RFC 4055 allows both). */
	static const uint8_t pss_absent[] = {
		0x30, 0x3d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
		0x30, 0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
		0x02, 0x01, 0xa1, 0x1a, 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x01, 0x08, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
		0x02, 0x01, 0xa2, 0x03, 0x02, 0x01, 0x14};
	struct sig_alg a;
	assert_int_equal(sigalg_parse(pss_absent, sizeof(pss_absent), &a), 0);
	assert_int_equal(a.scheme, SIG_RSA_PSS_SHA256);
	assert_int_equal(a.salt_len, 20);
	/* PSS with default (SHA-1) parameters: not ours. */
	static const uint8_t pss_sha1[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
					   0x0d, 0x01, 0x01, 0x0a, 0x30, 0x00};
	assert_int_equal(sigalg_parse(pss_sha1, sizeof(pss_sha1), &a), -ENOTSUP);
	/* ecdsa-with-SHA224 and a truncated blob. */
	static const uint8_t ecdsa224[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
					   0x04, 0x03, 0x01};
	assert_int_equal(sigalg_parse(ecdsa224, sizeof(ecdsa224), &a), -ENOTSUP);
	assert_int_equal(sigalg_parse(pss256, sizeof(pss256) - 1, &a), -EBADMSG);
	/* Trailing octets after the AlgorithmIdentifier. */
	uint8_t longer[sizeof(pss256) + 1];
	memcpy(longer, pss256, sizeof(pss256));
	longer[sizeof(pss256)] = 0;
	assert_int_equal(sigalg_parse(longer, sizeof(longer), &a), -EBADMSG);
}

/* ---- names ---- */

static void test_dn(void **state)
{
	(void)state;
	struct x509 *c = cert("b-rsa.crt");
	assert_string_equal(x509_subject_text(c), "C=CH, O=xiked test, CN=b.example");
	assert_string_equal(x509_issuer_text(c), "C=CH, O=xiked test, CN=xiked Root CA");
	size_t sl;
	const uint8_t *subj = x509_subject_der(c, &sl);
	uint8_t der[256];
	size_t len;
	char msg[160], text[256];
	static const char *const same[] = {
		"C=CH, O=xiked test, CN=b.example", "/C=CH/O=xiked test/CN=b.example",
		"c=ch,o=XIKED TEST,cn=B.Example", "C=CH, O=xiked test, commonName=b.example",
		"2.5.4.6=CH, O=xiked test, CN=b.example",
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		if (dn_from_text(same[i], der, sizeof(der), &len, msg, sizeof(msg)) != 0)
			fail_msg("%s: %s", same[i], msg);
		assert_true(dn_equal(der, len, subj, sl));
		assert_true(x509_matches_id(c, ID_DER_ASN1_DN, der, len));
	}
	/* Round trip through text. */
	assert_int_equal(dn_to_text(der, len, text, sizeof(text)), 0);
	assert_string_equal(text, "C=CH, O=xiked test, CN=b.example");
	static const char *const differ[] = {
		"C=CH, O=xiked test, CN=a.example", "C=CH, CN=b.example",
		"O=xiked test, C=CH, CN=b.example", "C=CH, O=xiked test, CN=b.example, OU=x",
	};
	for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		assert_int_equal(dn_from_text(differ[i], der, sizeof(der), &len, msg, sizeof(msg)), 0);
		assert_false(dn_equal(der, len, subj, sl));
	}
	/* Wildcards match any value, only as patterns. */
	assert_int_equal(dn_from_text("C=CH, O=xiked test, CN=*", der, sizeof(der), &len, msg,
				      sizeof(msg)), 0);
	assert_true(dn_has_wildcard(der, len));
	assert_true(dn_match(der, len, subj, sl));
	assert_false(dn_equal(der, len, subj, sl));
	/* Escapes and multi-valued RDNs. */
	assert_int_equal(dn_from_text("O=a\\, b + OU=c, CN=d", der, sizeof(der), &len, msg,
				      sizeof(msg)), 0);
	assert_int_equal(dn_to_text(der, len, text, sizeof(text)), 0);
	assert_string_equal(text, "O=a, b + OU=c, CN=d");
	/* Errors. */
	assert_int_equal(dn_from_text("CN", der, sizeof(der), &len, msg, sizeof(msg)), -1);
	assert_int_equal(dn_from_text("XX=1", der, sizeof(der), &len, msg, sizeof(msg)), -1);
	assert_int_equal(dn_from_text("CN=", der, sizeof(der), &len, msg, sizeof(msg)), -1);
	x509_free(c);
}

static void test_cert_ids(void **state)
{
	(void)state;
	struct x509 *c = cert("b-rsa.crt");
	uint8_t ip[16];
	assert_true(x509_matches_id(c, ID_FQDN, (const uint8_t *)"b.example", 9));
	assert_true(x509_matches_id(c, ID_FQDN, (const uint8_t *)"B.EXAMPLE", 9));
	assert_false(x509_matches_id(c, ID_FQDN, (const uint8_t *)"a.example", 9));
	assert_false(x509_matches_id(c, ID_FQDN, (const uint8_t *)"b.exampl", 8));
	assert_true(x509_matches_id(c, ID_RFC822_ADDR, (const uint8_t *)"b@example", 9));
	assert_false(x509_matches_id(c, ID_FQDN, (const uint8_t *)"b@example", 9));
	inet_pton(AF_INET, "192.0.2.2", ip);
	assert_true(x509_matches_id(c, ID_IPV4_ADDR, ip, 4));
	inet_pton(AF_INET, "192.0.2.3", ip);
	assert_false(x509_matches_id(c, ID_IPV4_ADDR, ip, 4));
	assert_false(x509_matches_id(c, ID_KEY_ID, (const uint8_t *)"b.example", 9));
	char san[256];
	x509_san_text(c, san, sizeof(san));
	assert_string_equal(san, "DNS:b.example, email:b@example, IP:192.0.2.2");
	x509_free(c);
}

/* ---- path validation ---- */

static enum x509_status verify(const char *ee_name, const char *const *pool_names,
			       const char *const *anchor_names, size_t *chain_len, char *why,
			       size_t whylen)
{
	struct x509 *ee = cert(ee_name), *pool[8], *anchors[8];
	size_t np = 0, na = 0;
	for (; pool_names && pool_names[np]; np++)
		pool[np] = cert(pool_names[np]);
	for (; anchor_names[na]; na++)
		anchors[na] = cert(anchor_names[na]);
	const struct x509 *chain[X509_CHAIN_MAX];
	size_t n = 0;
	enum x509_status st = x509_verify(ee, pool, np, anchors, na, time(NULL), chain, &n, why,
					  whylen);
	if (chain_len)
		*chain_len = st == X509_OK ? n : 0;
	x509_free(ee);
	while (np)
		x509_free(pool[--np]);
	while (na)
		x509_free(anchors[--na]);
	return st;
}

static const char *const ROOT[] = {"root.crt", NULL};

static void test_chain_good(void **state)
{
	(void)state;
	static const char *const direct[] = {"a-rsa.crt", "a-ecdsa.crt", "a-ed25519.crt",
					     "b-rsa.crt", "b-ecdsa.crt", "b-ed25519.crt",
					     "d-p521.crt"};
	char why[256];
	size_t n;
	for (size_t i = 0; i < sizeof(direct) / sizeof(direct[0]); i++) {
		enum x509_status st = verify(direct[i], NULL, ROOT, &n, why, sizeof(why));
		if (st != X509_OK)
			fail_msg("%s: %s", direct[i], why);
		assert_int_equal(n, 2);
	}
	/* Intermediate CA: from the peer's certificates, in any order, among others. */
	static const char *const pool[] = {"b-ecdsa.crt", "int.crt", NULL};
	assert_int_equal(verify("c-p384.crt", pool, ROOT, &n, why, sizeof(why)), X509_OK);
	assert_int_equal(n, 3);
	assert_int_equal(verify("a-int.crt", pool, ROOT, &n, why, sizeof(why)), X509_OK);
	/* The intermediate itself configured as the trusted CA. */
	static const char *const int_anchor[] = {"int.crt", NULL};
	assert_int_equal(verify("c-p384.crt", NULL, int_anchor, &n, why, sizeof(why)), X509_OK);
	assert_int_equal(n, 2);
	/* The peer's own certificate configured as trusted. */
	static const char *const pinned[] = {"a-ecdsa.crt", NULL};
	assert_int_equal(verify("a-ecdsa.crt", NULL, pinned, &n, why, sizeof(why)), X509_OK);
	assert_int_equal(n, 1);
}

static void test_chain_bad(void **state)
{
	(void)state;
	char why[256];
	static const char *const other[] = {"other.crt", NULL};
	static const char *const int_pool[] = {"int.crt", NULL};
	static const char *const imposter_pool[] = {"imposter.crt", NULL};
	static const char *const sub_pool[] = {"sub.crt", "int.crt", NULL};
	static const struct {
		const char *ee;
		const char *const *pool;
		const char *const *anchors;
		enum x509_status want;
		const char *why; /* substring of the reason */
	} cases[] = {
		{"a-wrongca.crt", NULL, ROOT, X509_UNKNOWN_CA, "xiked Other CA"},
		{"a-ecdsa.crt", NULL, other, X509_UNKNOWN_CA, "xiked Root CA"},
		{"c-p384.crt", NULL, ROOT, X509_UNKNOWN_CA, "xiked Intermediate CA"},
		{"a-expired.crt", NULL, ROOT, X509_EXPIRED, "expired on 2011-01-01"},
		{"a-notyet.crt", NULL, ROOT, X509_NOT_YET_VALID, "not valid before 2090-01-01"},
		{"a-badsig.crt", NULL, ROOT, X509_BAD_SIGNATURE, "does not verify"},
		{"a-crit.crt", NULL, ROOT, X509_CRITICAL_EXT, "1.3.6.1.4.1.55555.1"},
		{"a-nosign.crt", NULL, ROOT, X509_BAD_USAGE, "may not sign"},
		{"a-byimposter.crt", imposter_pool, ROOT, X509_NOT_CA, "not a CA"},
		{"e-sub.crt", sub_pool, ROOT, X509_PATH_LEN, "allows 0 intermediate"},
		/* The peer sends the intermediate, but only an unrelated root is trusted. */
		{"c-p384.crt", int_pool, other, X509_UNKNOWN_CA, "xiked Root CA"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum x509_status st = verify(cases[i].ee, cases[i].pool, cases[i].anchors, NULL, why,
					     sizeof(why));
		if (st != cases[i].want)
			fail_msg("%s: got %s (%s), want %s", cases[i].ee, x509_status_text(st), why,
				 x509_status_text(cases[i].want));
		if (!strstr(why, cases[i].why))
			fail_msg("%s: reason '%s' lacks '%s'", cases[i].ee, why, cases[i].why);
	}
}

static void test_cert_parse_errors(void **state)
{
	(void)state;
	char err[200];
	size_t len, n;
	uint8_t *b = fixture("b-ecdsa.crt", &len);
	struct x509 *c[2];
	/* A private key is not a certificate. */
	uint8_t *k = fixture("b-ecdsa.key", &len);
	assert_int_equal(x509_load(k, len, c, 2, &n, err, sizeof(err)), -1);
	free(k);
	/* DER truncated, trailing octets, one flipped length octet. */
	assert_int_equal(sh("openssl x509 -in %s/b-ecdsa.crt -outform DER -out c.der", pki_dir), 0);
	char p[128];
	snprintf(p, sizeof(p), "%s/c.der", tmp_dir);
	free(b);
	b = slurp(p, &len);
	struct x509 *ok = x509_parse(b, len, err, sizeof(err));
	assert_non_null(ok);
	x509_free(ok);
	assert_null(x509_parse(b, len - 1, err, sizeof(err)));
	uint8_t *longer = malloc(len + 1);
	memcpy(longer, b, len);
	longer[len] = 0;
	assert_null(x509_parse(longer, len + 1, err, sizeof(err)));
	free(longer);
	b[3] ^= 0x40;
	assert_null(x509_parse(b, len, err, sizeof(err)));
	free(b);
	/* A chain file: both certificates, in order. */
	b = fixture("a-int-chain.pem", &len);
	assert_int_equal(x509_load(b, len, c, 2, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(x509_subject_text(c[1]), "C=CH, O=xiked test, CN=xiked Intermediate CA");
	assert_true(x509_is_ca(c[1]));
	assert_false(x509_is_ca(c[0]));
	x509_free(c[0]);
	x509_free(c[1]);
	/* More certificates than room. */
	assert_int_equal(x509_load(b, len, c, 1, &n, err, sizeof(err)), -1);
	free(b);
}

/* ---- DER and PEM ---- */

static void test_der_pem(void **state)
{
	(void)state;
	/* Indefinite length and 5-octet lengths are refused. */
	static const uint8_t indef[] = {0x30, 0x80, 0x00, 0x00};
	static const uint8_t five[] = {0x04, 0x85, 0, 0, 0, 0, 1, 0};
	struct der d = der_init(indef, sizeof(indef)), v;
	assert_int_equal(der_next(&d, NULL, &v, NULL), -1);
	d = der_init(five, sizeof(five));
	assert_int_equal(der_next(&d, NULL, &v, NULL), -1);
	/* Length beyond the input. */
	static const uint8_t over[] = {0x04, 0x05, 1, 2};
	d = der_init(over, sizeof(over));
	assert_int_equal(der_next(&d, NULL, &v, NULL), -1);
	assert_int_equal(d.left, sizeof(over));
	/* INTEGER writing: sign octet added, leading zeros dropped. */
	uint8_t out[16];
	struct der_out o = {out, sizeof(out), 0, false};
	static const uint8_t mag[] = {0x00, 0x80, 0x01};
	der_put_uint(&o, mag, sizeof(mag));
	static const uint8_t want[] = {0x02, 0x03, 0x00, 0x80, 0x01};
	assert_int_equal(o.pos, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* OID text. */
	static const uint8_t oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a};
	char t[64];
	der_oid_text(&(struct der){oid, sizeof(oid)}, t, sizeof(t));
	assert_string_equal(t, "1.2.840.113549.1.1.10");
	/* PEM: headers (encrypted), no END, bad base64. */
	static const char enc[] = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
				  "AAAA\n-----END RSA PRIVATE KEY-----\n";
	static const char noend[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n";
	static const char bad64[] = "-----BEGIN X-----\nA*AA\n-----END X-----\n";
	static const char good[] = "junk\n-----BEGIN X-----\nAAEC\nAw==\n-----END X-----\ntail";
	struct pem_block b;
	size_t pos = 0;
	assert_int_equal(pem_next(enc, sizeof(enc) - 1, &pos, &b), -1);
	pos = 0;
	assert_int_equal(pem_next(noend, sizeof(noend) - 1, &pos, &b), -1);
	pos = 0;
	assert_int_equal(pem_next(bad64, sizeof(bad64) - 1, &pos, &b), -1);
	pos = 0;
	assert_int_equal(pem_next(good, sizeof(good) - 1, &pos, &b), 1);
	assert_string_equal(b.label, "X");
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.der, "\x00\x01\x02\x03", 4);
	pem_block_clear(&b);
	assert_int_equal(pem_next(good, sizeof(good) - 1, &pos, &b), 0);
}

static int setup(void **state)
{
	(void)state;
	const char *f = getenv("XIKED_FIXTURES");
	snprintf(pki_dir, sizeof(pki_dir), "%s/pki", f ? f : "tests/fixtures");
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/xiked-pki-XXXXXX");
	if (!mkdtemp(tmp_dir))
		return -1;
	if (system("command -v openssl >/dev/null") != 0) {
		fprintf(stderr, "test_pki needs openssl (tools/setup installs it)\n");
		return -1;
	}
	return crypto_init() == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_load),
		cmocka_unit_test(test_pubkeys_load),
		cmocka_unit_test(test_bad_key_files),
		cmocka_unit_test(test_sign_openssl_verifies),
		cmocka_unit_test(test_openssl_signs_we_verify),
		cmocka_unit_test(test_sign_mismatch),
		cmocka_unit_test(test_sigalg_der),
		cmocka_unit_test(test_dn),
		cmocka_unit_test(test_cert_ids),
		cmocka_unit_test(test_chain_good),
		cmocka_unit_test(test_chain_bad),
		cmocka_unit_test(test_cert_parse_errors),
		cmocka_unit_test(test_der_pem),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
