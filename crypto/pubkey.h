/*
 * Public and private keys for signature authentication: RSA (2048 bits or
 * more), ECDSA on P-256/P-384/P-521 and Ed25519. Signatures are made and
 * checked with libgcrypt, Ed25519 with libsodium.
 *
 * Formats read:
 *   public:  SubjectPublicKeyInfo (RFC 5280 4.1.2.7; PEM "PUBLIC KEY" or
 *            DER), PKCS#1 RSAPublicKey (RFC 8017 A.1.1, "RSA PUBLIC KEY")
 *   private: PKCS#8 PrivateKeyInfo (RFC 5208 5 / RFC 5958, "PRIVATE KEY"),
 *            SEC1 ECPrivateKey (RFC 5915 3, "EC PRIVATE KEY"), PKCS#1
 *            RSAPrivateKey (RFC 8017 A.1.2, "RSA PRIVATE KEY"), PEM or DER.
 *            Encrypted keys are refused.
 *
 * Signature encodings: RSA signatures are modulus-sized octet strings;
 * ECDSA signatures are either DER Ecdsa-Sig-Value (RFC 7427 3, X.509) or
 * r | s of fixed length (RFC 4754 7, the classic IKEv2 ECDSA methods);
 * Ed25519 signatures are 64 octets over the message itself (RFC 8032).
 *
 * Private key material: the DER we parse is wiped; RSA and ECDSA keys then
 * live in a libgcrypt S-expression for the key's lifetime. crypto/rng.c
 * disables libgcrypt's secure memory, so libgcrypt frees those without
 * wiping; Ed25519 keys live in a struct secret.
 */
#ifndef XIKED_CRYPTO_PUBKEY_H
#define XIKED_CRYPTO_PUBKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/sigalg.h"

/* Largest signature we make or accept, octets (RSA 8192 bits). */
#define PUBKEY_SIG_MAX 1024
/* Smallest RSA modulus we accept, bits (RFC 8247 section 4: 2048). */
#define PUBKEY_RSA_MIN_BITS 2048
#define PUBKEY_RSA_MAX_BITS 8192

struct pubkey;
struct privkey;

/* ECDSA signature encoding. */
enum sig_format {
	SIG_FMT_DER, /* RFC 7427, X.509: Ecdsa-Sig-Value */
	SIG_FMT_RAW, /* RFC 4754: r | s, each the curve's length */
};

/*
 * A public key from a DER SubjectPublicKeyInfo (borrowed; the exact octets
 * are kept for pubkey_spki()). NULL and a reason in err (may be NULL).
 */
struct pubkey *pubkey_from_spki(const uint8_t *der, size_t len, char *err, size_t errlen);

/* A public key from a file's contents (PEM or DER; see top). NULL and err. */
struct pubkey *pubkey_load(const uint8_t *text, size_t len, char *err, size_t errlen);

/* A copy of pk (NULL on allocation failure). */
struct pubkey *pubkey_dup(const struct pubkey *pk);
void pubkey_free(struct pubkey *pk); /* NULL-safe */

enum key_type pubkey_type(const struct pubkey *pk);
/* RSA modulus bits, curve bits for ECDSA, 256 for Ed25519. */
unsigned pubkey_bits(const struct pubkey *pk);

/* The SubjectPublicKeyInfo as received (or as we encode it for keys read from other formats), borrowed. */
const uint8_t *pubkey_spki(const struct pubkey *pk, size_t *len);

/* RFC 7296 3.7: SHA-1 of the DER SubjectPublicKeyInfo (CERTREQ CA key hash). */
void pubkey_spki_sha1(const struct pubkey *pk, uint8_t out[20]);

/* Whether a and b are the same key (whatever the SPKI encoding details). */
bool pubkey_equal(const struct pubkey *a, const struct pubkey *b);

/*
 * Checks sig over data[0..len) (everything borrowed). alg->salt_len is used
 * for RSA-PSS; fmt for ECDSA. Returns 0 (valid), -EBADMSG (does not
 * verify), -EINVAL (scheme does not fit the key, malformed signature),
 * -ENOTSUP.
 */
int pubkey_verify(const struct pubkey *pk, const struct sig_alg *alg, enum sig_format fmt,
		  const uint8_t *data, size_t len, const uint8_t *sig, size_t siglen);

/* A private key from a file's contents (see top). NULL and a reason in err. */
struct privkey *privkey_load(const uint8_t *text, size_t len, char *err, size_t errlen);
void privkey_free(struct privkey *k); /* NULL-safe; wipes what it can (see top) */

/* The matching public key, borrowed from k. */
const struct pubkey *privkey_public(const struct privkey *k);

/*
 * Signs data[0..len) with scheme (RSA-PSS: salt length = hash length; the
 * salt from libgcrypt's RNG; ECDSA: RFC 6979 deterministic nonces) into
 * sig[0..cap), setting *siglen. Returns 0, -EINVAL (scheme does not fit
 * the key), -ENOSPC, -EIO.
 */
int privkey_sign(const struct privkey *k, enum sig_scheme scheme, enum sig_format fmt,
		 const uint8_t *data, size_t len, uint8_t *sig, size_t cap, size_t *siglen);

#endif
