/*
 * Signature schemes and their ASN.1 AlgorithmIdentifiers, as RFC 7427
 * (IKEv2 Digital Signature authentication, section 3 and appendix A) and
 * X.509 certificates (RFC 5280 4.1.1.2) name them:
 *   sha{256,384,512}WithRSAEncryption   RFC 8017 A.2.4 (PKCS#1 v1.5)
 *   id-RSASSA-PSS with SHA-2 and MGF1    RFC 4055 3.1, RFC 8017 A.2.3
 *   ecdsa-with-SHA{256,384,512}          RFC 5758 3.2
 *   id-Ed25519                           RFC 8410 3 (RFC 8420 for IKEv2)
 * and sha1WithRSAEncryption for the classic RSA method of RFC 7296 3.8.
 */
#ifndef XIKED_CRYPTO_SIGALG_H
#define XIKED_CRYPTO_SIGALG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sig_scheme {
	SIG_NONE = 0,
	SIG_RSA_PKCS1_SHA1, /* AUTH_RSA_SIG (RFC 7296 3.8) only: never in certificates */
	SIG_RSA_PKCS1_SHA256,
	SIG_RSA_PKCS1_SHA384,
	SIG_RSA_PKCS1_SHA512,
	SIG_RSA_PSS_SHA256,
	SIG_RSA_PSS_SHA384,
	SIG_RSA_PSS_SHA512,
	SIG_ECDSA_SHA256,
	SIG_ECDSA_SHA384,
	SIG_ECDSA_SHA512,
	SIG_ED25519,
	SIG_SCHEME_COUNT,
};

/* Key types (what a scheme needs, what a public key is). */
enum key_type {
	KEY_NONE = 0,
	KEY_RSA,
	KEY_ECDSA_P256,
	KEY_ECDSA_P384,
	KEY_ECDSA_P521,
	KEY_ED25519,
};

/* A parsed AlgorithmIdentifier. salt_len: RSA-PSS only, octets. */
struct sig_alg {
	enum sig_scheme scheme;
	uint16_t salt_len;
};

/* Largest DER AlgorithmIdentifier we build (RSA-PSS with SHA-512: 67 octets). */
#define SIGALG_DER_MAX 80

/*
 * The DER AlgorithmIdentifier of scheme (RSA-PSS: salt length = hash
 * length, RFC 8247 3.2's recommendation; hash parameters NULL as in RFC
 * 7427 A.4.3), borrowed static octets, or NULL for SIG_NONE.
 */
const uint8_t *sigalg_der(enum sig_scheme scheme, size_t *len);

/*
 * Parses a DER AlgorithmIdentifier (borrowed). 0 and *out; -ENOTSUP for an
 * algorithm or parameters we do not implement (other hashes, an MGF1 hash
 * different from the message hash, a trailer field other than 1); -EBADMSG
 * when it is not valid DER. The whole input must be one AlgorithmIdentifier.
 */
int sigalg_parse(const uint8_t *der, size_t len, struct sig_alg *out);

/* The RFC 7427 section 7 hash number of scheme (HASH_IDENTITY for Ed25519, 0 for SIG_NONE). */
uint8_t sigalg_ike_hash(enum sig_scheme scheme);
/* The libgcrypt message digest of scheme (GCRY_MD_*), 0 for Ed25519 / SIG_NONE. */
int sigalg_gcry_md(enum sig_scheme scheme);
/* Digest length, octets (0 for Ed25519). */
size_t sigalg_hash_len(enum sig_scheme scheme);
/* Whether scheme can be made with a key of type t. */
bool sigalg_fits_key(enum sig_scheme scheme, enum key_type t);
/* "rsa-pss-sha256", "ecdsa-sha384", "ed25519", "rsa-pkcs1-sha1"... ("none" for SIG_NONE). */
const char *sigalg_name(enum sig_scheme scheme);
/* "RSA", "ECDSA P-256", "Ed25519"... */
const char *key_type_name(enum key_type t);

#endif
