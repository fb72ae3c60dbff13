/*
 * Identities (RFC 7296 3.5) as configured (local_id, remote_id), written as
 * text and compared with a peer's at run time (authentication, status,
 * logs). A module of its own: it knows nothing of the configuration parser
 * (config_value.c parses them from text).
 */
#ifndef XIKED_CONFIG_ID_H
#define XIKED_CONFIG_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest identity, octets (keeps the ID payload small; FQDNs are <= 255). */
#define CONFIG_ID_MAX 255

/*
 * An identity as it goes into an IDi/IDr payload (RFC 7296 3.5): ID type
 * and Identification Data (IPv4/IPv6: 4/16 address octets; FQDN, RFC822:
 * the text without NUL; KEY_ID: the octets; DER_ASN1_DN: the DER Name).
 * type 0 means none was configured: for local_id the IKE SA's local
 * address is used (or the certificate's subject), for remote_id the peer's
 * address if remote_addr is an address, else any identity. any: remote_id
 * = %any, any identity accepted. pattern (remote_id only): an FQDN or
 * RFC822 identity with '*' (matching any run of characters, ignoring
 * case), or a DN with a "*" value (matching any value): never sent as IDr.
 */
struct config_id {
	uint8_t type; /* enum ike_id_type, or 0 */
	bool any;
	bool pattern;
	uint16_t len;
	uint8_t data[CONFIG_ID_MAX];
};

/* Writes id as text ("a.example", "192.0.2.1", "keyid:0a0b", "%any",
 * "C=CH, O=x, CN=y", "" when unset). Returns what snprintf returns. */
int config_id_format(const struct config_id *id, char *buf, size_t len);

/*
 * Whether an identity received from a peer (IKEv2 ID type and data,
 * borrowed) is the configured one: equal (FQDN and RFC822 ignoring ASCII
 * case, DNs by dn_equal), or matched by a pattern. Not for %any or unset
 * ids (false).
 */
bool config_id_match(const struct config_id *want, uint8_t type, const uint8_t *data,
		     size_t len);

#endif
