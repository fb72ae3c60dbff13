/*
 * X.509 certificates (RFC 5280): parsed with libksba (structure, validity,
 * basicConstraints, keyUsage, extensions) and xiked's DER reader (the
 * signed TBSCertificate octets, the signature, names, the public key);
 * signatures checked with crypto/pubkey.
 *
 * Path validation (RFC 5280 6, the parts IKEv2 peers need): from the
 * end-entity certificate up through the certificates the peer sent to one
 * of the configured CA certificates (trust anchors). Every link's issuer
 * name and signature, every certificate's validity period, basicConstraints
 * cA and pathLenConstraint and keyUsage keyCertSign of every issuer, the
 * end-entity's keyUsage (digitalSignature when present), and no unknown
 * critical extension. SHA-1 signatures are refused. Revocation is not
 * checked.
 */
#ifndef XIKED_CRYPTO_X509_H
#define XIKED_CRYPTO_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "crypto/pubkey.h"

struct x509;

/* Longest chain we build, certificates (end entity and anchor included). */
#define X509_CHAIN_MAX 8
/* Most certificates one file may hold. */
#define X509_FILE_MAX 16

enum x509_status {
	X509_OK = 0,
	X509_UNKNOWN_CA,      /* no path to a configured CA certificate */
	X509_EXPIRED,
	X509_NOT_YET_VALID,
	X509_BAD_SIGNATURE,   /* an issuer was found by name, its signature does not verify */
	X509_NOT_CA,          /* an issuer lacks basicConstraints cA or keyCertSign */
	X509_PATH_LEN,        /* an issuer's pathLenConstraint is exceeded */
	X509_BAD_USAGE,       /* the end entity's keyUsage does not allow signatures */
	X509_UNSUPPORTED_ALG, /* a signature algorithm or hash we do not accept (SHA-1...) */
	X509_CRITICAL_EXT,    /* an unknown critical extension */
	X509_CHAIN_TOO_LONG,
};

/* "unknown CA", "expired"... for log lines. */
const char *x509_status_text(enum x509_status st);

/*
 * Parses one DER certificate (copied). NULL and a reason in err (may be
 * NULL) when libksba or our own walk rejects it, or its key is not one we
 * support.
 */
struct x509 *x509_parse(const uint8_t *der, size_t len, char *err, size_t errlen);

/*
 * Reads a file's contents: PEM with one or more CERTIFICATE blocks (other
 * blocks are skipped) or one DER certificate. Fills out[0..*n) (caller
 * frees each with x509_free), at most cap. -1 and err when none parses or
 * any block is bad.
 */
int x509_load(const uint8_t *text, size_t len, struct x509 **out, size_t cap, size_t *n,
	      char *err, size_t errlen);

void x509_free(struct x509 *c); /* NULL-safe */

/* Borrowed from c. */
const uint8_t *x509_der(const struct x509 *c, size_t *len);
const struct pubkey *x509_pubkey(const struct x509 *c);
const uint8_t *x509_subject_der(const struct x509 *c, size_t *len);
const uint8_t *x509_issuer_der(const struct x509 *c, size_t *len);
const char *x509_subject_text(const struct x509 *c); /* "C=CH, O=..., CN=..." */
const char *x509_issuer_text(const struct x509 *c);
time_t x509_not_before(const struct x509 *c);
time_t x509_not_after(const struct x509 *c);
bool x509_is_ca(const struct x509 *c);
/* Subject equals issuer (a root, or a self-issued certificate). */
bool x509_self_issued(const struct x509 *c);
bool x509_equal(const struct x509 *a, const struct x509 *b);

/*
 * Whether the certificate names identity (IKEv2 ID type and data,
 * borrowed): ID_FQDN a subjectAltName dNSName, ID_RFC822_ADDR an
 * rfc822Name (both ignoring ASCII case), ID_IPV4_ADDR/ID_IPV6_ADDR an
 * iPAddress, ID_DER_ASN1_DN the subject (dn_equal).
 */
bool x509_matches_id(const struct x509 *c, uint8_t id_type, const uint8_t *id, size_t len);

/*
 * The subjectAltNames as text ("DNS:a.example, IP:192.0.2.1, email:x@y"),
 * for messages. "" when there are none.
 */
void x509_san_text(const struct x509 *c, char *buf, size_t len);

/*
 * Validates ee at time now against the trust anchors, using pool (the
 * peer's other certificates; order does not matter) for intermediates.
 * Everything borrowed. On X509_OK and when chain is non-NULL, chain[0..*n)
 * is the path from ee to its anchor (borrowed pointers). On failure, why
 * says which certificate and what ("issuer 'C=CH, CN=Root' expired on
 * 2020-01-01").
 */
enum x509_status x509_verify(const struct x509 *ee, struct x509 *const *pool, size_t npool,
			     struct x509 *const *anchors, size_t nanchors, time_t now,
			     const struct x509 **chain, size_t *n, char *why, size_t whylen);

/* Checks only c's signature with issuer's key (X509_OK, X509_BAD_SIGNATURE, X509_UNSUPPORTED_ALG). */
enum x509_status x509_check_signature(const struct x509 *c, const struct x509 *issuer);

#endif
