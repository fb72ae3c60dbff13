/*
 * Protection of the Encrypted (SK) and Encrypted Fragment (SKF) payloads:
 * RFC 7296 3.14 (AES-CBC + HMAC), RFC 5282 (AES-GCM-16), RFC 7634
 * (ChaCha20-Poly1305), RFC 4868 (HMAC-SHA2 truncated ICVs), RFC 2404
 * (HMAC-SHA1-96), RFC 7383 2.5 (SKF).
 *
 * One struct sk_cipher holds one direction's keys (SK_ei + SK_ai, or
 * SK_er + SK_ar) with the library handles keyed once.
 *
 * Body layout written/read at buf + body_off:
 *
 *    IV | Encrypted( inner payloads | Padding | Pad Length ) | ICV
 *
 * buf[0..body_off) is the IKE header (with its final Length) and every
 * octet through the SK (4-octet) or SKF (8-octet) payload header. AEAD: it
 * is the associated data (RFC 5282 5.1, RFC 7383 2.5.3), the 8-octet IV
 * follows a per-cipher counter and the nonce is salt(4) | IV(8). CBC+HMAC:
 * the IV is random (RFC 7296 3.14) and the ICV covers buf[0 .. end of the
 * ciphertext).
 */
#ifndef XIKED_CRYPTO_SK_H
#define XIKED_CRYPTO_SK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/rng.h"
#include "crypto/secret.h"

struct sk_cipher;

/*
 * Supported: ENCR_AES_GCM_16 (keylen_bits 128/192/256, integ AUTH_NONE),
 * ENCR_CHACHA20_POLY1305 (keylen_bits 0 or 256, integ AUTH_NONE),
 * ENCR_AES_CBC (128/192/256) with AUTH_HMAC_SHA1_96,
 * AUTH_HMAC_SHA2_256_128, AUTH_HMAC_SHA2_384_192 or AUTH_HMAC_SHA2_512_256.
 * sk_e must be suite_encr_key_len() long (key | salt for AEAD); sk_a
 * suite_integ_key_len(integ) long, NULL for AEAD. Borrows sk_e/sk_a (the
 * keys are copied into the handles). NULL when unsupported, on a wrong key
 * length, or on allocation failure. Caller owns the result.
 */
struct sk_cipher *sk_cipher_new(uint16_t encr, uint16_t keylen_bits, uint16_t integ,
				const struct secret *sk_e, const struct secret *sk_a);

/* Closes handles (libgcrypt wipes keyed contexts) and frees. NULL-safe. */
void sk_cipher_free(struct sk_cipher *c);

/* IV length, octets (16 for AES-CBC, 8 for AEAD). */
size_t sk_iv_len(const struct sk_cipher *c);

/* ICV length, octets (truncated HMAC length, or the 16-octet AEAD tag). */
size_t sk_icv_len(const struct sk_cipher *c);

/*
 * Octets sk_seal() writes for inner_len octets of inner payloads:
 * IV + (inner | padding | pad length octet) + ICV. CBC pads to the 16-octet
 * block; AEAD uses no padding (pad length octet 0).
 */
size_t sk_sealed_len(const struct sk_cipher *c, size_t inner_len);

/*
 * Encrypts and integrity-protects inner[0..inner_len) (borrowed), writing
 * sk_sealed_len(c, inner_len) octets at buf + body_off; the caller sized
 * buf and filled buf[0..body_off) (see top comment). rng (borrowed) gives
 * the CBC IV. inner may not overlap buf. Returns 0, -EOVERFLOW (the AEAD
 * IV counter is exhausted: rekey), -EIO.
 */
int sk_seal(struct sk_cipher *c, uint8_t *buf, size_t body_off,
	    const uint8_t *inner, size_t inner_len, const struct rng *rng);

/*
 * Verifies and decrypts the body buf[body_off .. body_off + body_len)
 * (IV | ciphertext | ICV), buf[0..body_off) being authenticated as above.
 * Verifies the ICV (constant time) before releasing any plaintext, then
 * checks and strips the padding. out (capacity >= body_len, not
 * overlapping buf) receives the inner payload chain; *out_len its length.
 * On success out[*out_len .. body_len - IV - ICV) still holds the padding
 * and the pad length octet (the whole decrypted text); on failure out is wiped.
 * Returns 0, -EBADMSG (ICV mismatch; out holds nothing useful), -EINVAL
 * (body too short, ciphertext not a block multiple, pad length too long).
 */
int sk_open(struct sk_cipher *c, const uint8_t *buf, size_t body_off, size_t body_len,
	    uint8_t *out, size_t *out_len);

#endif
