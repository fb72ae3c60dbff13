/*
 * Diffie-Hellman key exchange for IKEv2 (RFC 7296 2.14, transform type 4).
 *
 * Groups: MODP 14..18 (RFC 3526, generator 2), ECP 19/20/21 (RFC 5903,
 * NIST P-256/384/521), 31 Curve25519 and 32 Curve448 (RFC 8031, RFC 7748).
 *
 * Wire encodings (the KE payload's Key Exchange Data):
 *  - MODP: g^x mod p, big-endian, left-padded with zeros to the length of p.
 *  - ECP: x | y, each left-padded to the field size, no 0x04 prefix
 *    (RFC 5903 section 7); the shared secret is the x coordinate only.
 *  - Curve25519/Curve448: the 32/56-octet u-coordinate (RFC 7748 section 5).
 *
 * Peer values are validated per RFC 6989: dh_shared() returns -EINVAL for
 * a wrong length, a MODP value outside 1 < y < p-1, an ECP point not on the
 * curve, and an all-zero X25519/X448 result (low-order peer point).
 */
#ifndef XIKED_CRYPTO_DH_H
#define XIKED_CRYPTO_DH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/rng.h"
#include "crypto/secret.h"

struct dh;

/* Largest public value / shared secret of any supported group, octets (MODP 8192). */
#define DH_PUBLIC_MAX 1024

/* True when group (enum ike_dh_group) is implemented. */
bool dh_supported(uint16_t group);

/* Length of the KE payload's key exchange data for group, 0 if unsupported. */
size_t dh_public_len(uint16_t group);

/* Length of the shared secret g^ir for group, 0 if unsupported. */
size_t dh_shared_len(uint16_t group);

/*
 * Generates a key pair with randomness from rng (borrowed, used only during
 * the call). MODP private exponents have twice the group's symmetric
 * strength in bits (RFC 3526 section 8, the larger "exponent size" column);
 * ECP private keys are uniform in [1, n-1]; X25519/X448 take full-size
 * scalars (clamped per RFC 7748). NULL if group is unsupported or on
 * allocation failure. Caller owns the result (dh_free).
 */
struct dh *dh_new(uint16_t group, const struct rng *rng);

/*
 * Builds a key pair from a given private value (known-answer tests):
 * MODP: big-endian exponent (any length up to the prime's); ECP: big-endian
 * scalar of the order's size, 1 <= d < n; X25519/X448: the 32/56-octet
 * scalar as in RFC 7748. Borrows priv. NULL when invalid or unsupported.
 */
struct dh *dh_new_from_private(uint16_t group, const uint8_t *priv, size_t len);

/* The group this key pair belongs to. */
uint16_t dh_group(const struct dh *dh);

/*
 * Writes our public value to out. len must equal dh_public_len(group).
 * Returns 0 or -EINVAL (wrong len).
 */
int dh_public(const struct dh *dh, uint8_t *out, size_t len);

/*
 * Computes the shared secret with the peer's public value (borrowed) into a
 * new secret *out (caller owns it; dh_shared_len(group) octets).
 * Returns 0, -EINVAL for an invalid peer value (see top comment; *out is
 * left NULL), -ENOMEM.
 */
int dh_shared(struct dh *dh, const uint8_t *peer, size_t len, struct secret **out);

/* Wipes the private value and frees. NULL-safe. */
void dh_free(struct dh *dh);

#endif
