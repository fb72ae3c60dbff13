/*
 * IKEv2 key derivation (RFC 7296 2.14, 2.17, 2.18) and the AUTH payload
 * computation for pre-shared keys (RFC 7296 2.15).
 */
#ifndef XIKED_CRYPTO_KEYMAT_H
#define XIKED_CRYPTO_KEYMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/secret.h"

/* A negotiated IKE SA suite (transform ids of enum ike_encr/prf/integ/dh_group). */
struct ike_suite {
	uint16_t encr;
	uint16_t encr_keylen; /* bits, the Key Length attribute; 0 when absent */
	uint16_t prf;
	uint16_t integ; /* AUTH_NONE with AEAD */
	uint16_t dh;
};

/*
 * Octets of SK_ei/SK_er for the suite, including the salt of AEAD ciphers
 * (RFC 5282 7.1: AES-GCM key | 4-octet salt; RFC 7634 2: 32-octet
 * ChaCha20 key | 4-octet salt). 0 when encr/encr_keylen is unsupported.
 */
size_t suite_encr_key_len(const struct ike_suite *s);

/* Octets of SK_ai/SK_ar for integ (RFC 4868 2.1.1: key = hash output); 0 for AUTH_NONE or unsupported. */
size_t suite_integ_key_len(uint16_t integ);

/* True for combined-mode ciphers (AES-GCM, ChaCha20-Poly1305), which take no integrity transform. */
bool suite_is_aead(uint16_t encr);

/* The seven IKE SA keys; each owned by the struct. sk_ai/sk_ar are NULL for AEAD suites. */
struct ike_keys {
	struct secret *sk_d, *sk_ai, *sk_ar, *sk_ei, *sk_er, *sk_pi, *sk_pr;
};

/* Frees (wiping) every member and sets them to NULL. NULL-safe. */
void ike_keys_free(struct ike_keys *k);

/*
 * Derives the IKE SA keys.
 *  old_sk_d == NULL (IKE_SA_INIT, RFC 7296 2.14):
 *    SKEYSEED = prf(Ni | Nr, g^ir)
 *  old_sk_d != NULL (IKE SA rekey, RFC 7296 2.18), old_prf = the old SA's PRF:
 *    SKEYSEED = prf_old(SK_d (old), g^ir (new) | Ni | Nr)
 *  then {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *       = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) with the suite's PRF.
 * Borrows every input. On success fills *out (caller frees with
 * ike_keys_free) and, if skeyseed_out is non-NULL, stores a copy of
 * SKEYSEED there (caller owns it). Returns 0, -ENOTSUP (suite), -EINVAL,
 * -ENOMEM, -EIO; on failure *out is all NULL.
 */
int keymat_derive_ike(const struct ike_suite *s, const struct secret *dh_shared,
		      const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
		      const uint8_t spi_i[8], const uint8_t spi_r[8],
		      const struct secret *old_sk_d, uint16_t old_prf,
		      struct ike_keys *out, struct secret **skeyseed_out);

/*
 * Child SA keying material (RFC 7296 2.17):
 *   KEYMAT = prf+(SK_d, Ni | Nr)             (dh_shared == NULL)
 *   KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr) (PFS)
 * len octets into a new secret *out (caller owns it). The caller splits it:
 * inbound/outbound order and per-SA key lengths are the engine's business.
 * Returns 0, -ENOTSUP, -EINVAL (len beyond prf+'s 255 iterations), -ENOMEM, -EIO.
 */
int keymat_derive_child(uint16_t prf, const struct secret *sk_d,
			const struct secret *dh_shared_or_NULL,
			const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
			size_t len, struct secret **out);

/*
 * Post-quantum preshared key mixing (RFC 8784 3):
 *   SK_d = prf+(PPK, SK_d'), SK_pi = prf+(PPK, SK_pi'), SK_pr = prf+(PPK, SK_pr')
 * each as long as the key it replaces. *out is a new secret (caller owns
 * it). Returns 0, -ENOTSUP, -EINVAL, -ENOMEM, -EIO.
 */
int keymat_ppk_mix(uint16_t prf, const struct secret *ppk, const struct secret *key,
		   struct secret **out);

/*
 * Length of the signed octets for keymat_auth_octets(): msglen + noncelen +
 * prf_out_len(prf); 0 if prf is unsupported.
 */
size_t keymat_auth_octets_len(uint16_t prf, size_t msglen, size_t noncelen);

/*
 * Builds the signed octets of RFC 7296 2.15 into out[0..cap):
 *   RealMessage | Nonce(peer) | prf(SK_p, IDx')
 * msg is our (resp. the peer's) whole first message (IKE_SA_INIT request
 * for the initiator, response for the responder), nonce the other side's
 * nonce data, sk_p our SK_pi/SK_pr, id_body the ID payload body from the ID
 * type octet on (type, 3 reserved octets, data) without the generic header.
 * Sets *out_len. Returns 0, -ENOTSUP, -ENOSPC (cap too small), -EIO.
 */
int keymat_auth_octets(uint16_t prf, const uint8_t *msg, size_t msglen,
		       const uint8_t *nonce, size_t noncelen, const struct secret *sk_p,
		       const uint8_t *id_body, size_t idlen,
		       uint8_t *out, size_t cap, size_t *out_len);

/*
 * Shared-key AUTH data (RFC 7296 2.15, AUTH_SHARED_KEY_MIC):
 *   AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 * with the signed octets as in keymat_auth_octets(). out receives
 * prf_out_len(prf) octets. Compare received AUTH values with
 * sodium_memcmp (constant time). Returns 0, -ENOTSUP, -ENOMEM, -EIO.
 */
int keymat_psk_auth(uint16_t prf, const uint8_t *psk, size_t psklen,
		    const uint8_t *msg, size_t msglen, const uint8_t *nonce, size_t noncelen,
		    const struct secret *sk_p, const uint8_t *id_body, size_t idlen,
		    uint8_t *out);

#endif
