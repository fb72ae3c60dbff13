/*
 * Distinguished names (RFC 5280 4.1.2.4: Name ::= SEQUENCE OF
 * RelativeDistinguishedName, each a SET OF AttributeTypeAndValue), as
 * certificates carry them and as ID_DER_ASN1_DN identities do (RFC 7296
 * 3.5: "the binary DER encoding of an ASN.1 X.500 Distinguished Name").
 *
 * Text form, as strongSwan writes it: RDNs in DER order separated by ", ",
 * "C=CH, O=strongSwan, CN=moon.example"; several values in one RDN joined
 * with " + "; attribute types by their short names (C, ST, L, O, OU, CN,
 * E, DC, SN, GN, serialNumber, T, UID) or dotted OIDs. openssl's
 * "/C=CH/O=strongSwan/CN=moon" is read too. In a value, "\," "\+" "\/"
 * "\\" escape the separators.
 */
#ifndef XIKED_CRYPTO_DN_H
#define XIKED_CRYPTO_DN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Writes the text form of the DER Name der[0..len) into buf (always
 * terminated). Returns 0, or -1 when der is not a Name (buf then holds
 * "?").
 */
int dn_to_text(const uint8_t *der, size_t len, char *buf, size_t buflen);

/*
 * Encodes text as a DER Name into der[0..cap), setting *len: C,
 * serialNumber as PrintableString, E and DC as IA5String, everything else
 * UTF8String. Returns 0, -1 (syntax: msg says what), -2 (does not fit).
 */
int dn_from_text(const char *text, uint8_t *der, size_t cap, size_t *len, char *msg,
		 size_t msglen);

/*
 * Whether the Name dn matches pattern (both DER, borrowed): the same RDNs
 * in the same order with the same attribute types, values equal ignoring
 * ASCII case and the string type (RFC 5280 7.1 asks for more
 * normalisation; strongSwan compares the same way). A value "*" in
 * pattern matches any value. False when either is malformed.
 */
bool dn_match(const uint8_t *pattern, size_t plen, const uint8_t *dn, size_t dlen);

/* dn_match() without wildcards: both directions literal. */
bool dn_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Whether the DER Name has a "*" value (a pattern rather than a name). */
bool dn_has_wildcard(const uint8_t *der, size_t len);

#endif
