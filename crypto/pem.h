/*
 * PEM (RFC 7468): "-----BEGIN LABEL-----", base64 lines, "-----END LABEL-----".
 * Text outside blocks is ignored (openssl writes comments there); RFC 1421
 * headers ("Proc-Type: 4,ENCRYPTED") mark encrypted keys, which are
 * refused.
 */
#ifndef XIKED_CRYPTO_PEM_H
#define XIKED_CRYPTO_PEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEM_LABEL_MAX 40

struct pem_block {
	char label[PEM_LABEL_MAX + 1];
	uint8_t *der; /* owned; pem_block_clear wipes and frees it */
	size_t len;
};

/*
 * Finds the next block in text[*pos..len) (borrowed) and decodes it into
 * *out, advancing *pos past it. Returns 1 (a block), 0 (no more blocks:
 * *out is empty), -1 (malformed: no END line, bad base64, label too long,
 * encrypted; *out is empty).
 */
int pem_next(const char *text, size_t len, size_t *pos, struct pem_block *out);

/* Wipes and frees out->der. */
void pem_block_clear(struct pem_block *b);

/* Whether text[0..len) contains "-----BEGIN " (PEM rather than DER). */
bool pem_is_pem(const uint8_t *text, size_t len);

#endif
