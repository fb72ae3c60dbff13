/*
 * A small DER (ITU-T X.690) reader and writer for the structures xiked
 * handles itself: AlgorithmIdentifier (RFC 5280 4.1.1.2, RFC 7427 3),
 * SubjectPublicKeyInfo (RFC 5280 4.1.2.7), private keys (RFC 8017 A.1.2,
 * RFC 5915 3, RFC 5208 5), ECDSA signatures (RFC 3279 2.2.3), Names and
 * GeneralNames (RFC 5280 4.1.2.4, 4.2.1.6) and the outer layers of a
 * certificate (4.1).
 *
 * The reader is a bounds-checked cursor (design.md rule 2): every read
 * checks what is left first, only definite lengths of at most 4 length
 * octets are accepted, and only single-octet tags (X.509 uses no others).
 * Values are borrowed from the input.
 */
#ifndef XIKED_CRYPTO_DER_H
#define XIKED_CRYPTO_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Universal tags and the context-specific ones X.509 uses. */
enum der_tag {
	DER_BOOLEAN = 0x01,
	DER_INTEGER = 0x02,
	DER_BIT_STRING = 0x03,
	DER_OCTET_STRING = 0x04,
	DER_NULL = 0x05,
	DER_OID = 0x06,
	DER_UTF8_STRING = 0x0c,
	DER_PRINTABLE_STRING = 0x13,
	DER_T61_STRING = 0x14,
	DER_IA5_STRING = 0x16,
	DER_UTC_TIME = 0x17,
	DER_GENERALIZED_TIME = 0x18,
	DER_UNIVERSAL_STRING = 0x1c,
	DER_BMP_STRING = 0x1e,
	DER_SEQUENCE = 0x30,
	DER_SET = 0x31,
	DER_CTX0 = 0xa0, /* [0] constructed; [n] is DER_CTX0 + n */
	DER_CTX_PRIM0 = 0x80, /* [0] primitive; [n] is DER_CTX_PRIM0 + n */
};

/* A cursor over DER octets (borrowed). */
struct der {
	const uint8_t *p;
	size_t left;
};

static inline struct der der_init(const void *p, size_t len)
{
	return (struct der){(const uint8_t *)p, len};
}

/*
 * Reads the next TLV: its tag, its value (a cursor over the contents) and,
 * if whole is non-NULL, the whole TLV (tag and length octets included).
 * Returns 0, or -1 (truncated, indefinite or oversized length, multi-octet
 * tag) leaving d unchanged.
 */
int der_next(struct der *d, uint8_t *tag, struct der *value, struct der *whole);

/* Reads the next TLV if it has tag; -1 otherwise (d unchanged). */
int der_expect(struct der *d, uint8_t tag, struct der *value);

/* True when the next TLV has tag. */
bool der_peek(const struct der *d, uint8_t tag);

/*
 * A non-negative INTEGER's magnitude without its sign octet (a leading 0x00
 * before a high bit). -1 for negative or empty integers.
 */
int der_uint(struct der *d, struct der *mag);

/* A small non-negative INTEGER into *v (at most 4 octets). */
int der_small_uint(struct der *d, uint32_t *v);

/*
 * BIT STRING contents without unused bits: -1 unless the unused-bits octet
 * is 0 (keys and signatures are whole octets).
 */
int der_bits(struct der *d, struct der *bits);

/* Whether an OID value (contents of an OBJECT IDENTIFIER) equals oid[0..len). */
bool der_oid_is(const struct der *oid, const uint8_t *want, size_t len);

/* ---- writing ---- */

/*
 * A growing output: octets go to buf[0..cap); pos counts what would have
 * been written, so err (or pos > cap) tells that it did not fit.
 */
struct der_out {
	uint8_t *buf;
	size_t cap, pos;
	bool err;
};

/* Length octets for len (1..5 octets). */
void der_put_len(struct der_out *o, size_t len);
/* Octets as they are (already encoded TLVs); n may be 0. */
void der_put_raw(struct der_out *o, const void *p, size_t n);
/* A whole TLV with the given contents (borrowed). */
void der_put(struct der_out *o, uint8_t tag, const void *val, size_t len);
/* An INTEGER from an unsigned big-endian magnitude (leading zeros dropped, sign octet added). */
void der_put_uint(struct der_out *o, const uint8_t *mag, size_t len);

/* Prints an OID value as dotted decimal ("2.5.4.3") into buf; "?" when malformed. */
void der_oid_text(const struct der *oid, char *buf, size_t len);

#endif
