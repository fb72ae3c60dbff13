/*
 * ESP transforms as the kernel knows them: IANA transform ids -> XFRM
 * algorithm names and key sizes (RFC 4106 AES-GCM, RFC 7634
 * ChaCha20-Poly1305, RFC 3602 AES-CBC, RFC 3686 AES-CTR, RFC 4868 HMAC-SHA2,
 * RFC 2404 HMAC-SHA1-96).
 */
#ifndef XIKED_ESP_ALG_H
#define XIKED_ESP_ALG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A negotiated ESP suite. */
struct esp_suite {
	uint16_t encr, encr_keylen; /* keylen in bits, 0 if the transform has none */
	uint16_t integ;             /* AUTH_NONE for AEAD */
	uint16_t dh;                /* PFS group, DH_NONE without */
	bool esn;
};

/* The kernel's view of one suite. */
struct esp_xfrm {
	const char *enc_name;   /* XFRM name, e.g. "rfc4106(gcm(aes))" */
	size_t enc_key_len;     /* octets incl. salt/nonce for AEAD and CTR */
	uint32_t icv_bits;      /* AEAD only, else 0 */
	const char *integ_name; /* NULL for AEAD */
	size_t integ_key_len;   /* octets */
	uint32_t integ_trunc_bits;
};

/* Fills *out for s; false if the kernel mapping is unknown (never offer/accept such). */
bool esp_alg_xfrm(const struct esp_suite *s, struct esp_xfrm *out);
/* Whether xiked can install this encryption transform with this key length (bits). */
bool esp_alg_encr_ok(uint16_t encr, uint16_t keylen);
/* Whether xiked can install this integrity transform. */
bool esp_alg_integ_ok(uint16_t integ);
/* True for combined-mode (AEAD) encryption transforms. */
bool esp_alg_is_aead(uint16_t encr);

#endif
