/*
 * Proposal keyword parsing: strongSwan's syntax ("aes256gcm16-prfsha256-
 * x25519, aes128-sha256-ecp256") into lists of proposals, each a set of
 * transforms with IANA ids from daemon/ikev2.h (RFC 7296 3.3).
 *
 * Keywords are joined by '-' within a proposal and proposals by ','. A
 * proposal may list several algorithms of one type
 * ("aes128-aes256-sha256-x25519-ecp256"): the peer picks one of each type.
 * Rules, checked per proposal:
 *  - IKE: at least one encryption, PRF and DH transform. Without an
 *    explicit prf* keyword each integrity algorithm also adds the PRF of
 *    the same hash (strongSwan's convention); an AEAD cipher has no
 *    integrity algorithm, so it needs an explicit prf*.
 *  - ESP: at least one encryption; integrity unless the cipher is AEAD; a
 *    DH group asks for PFS in CREATE_CHILD_SA; esn/noesn select Extended
 *    Sequence Numbers (noesn when neither is given).
 *  - AEAD and integrity algorithms never share a proposal (RFC 5282 8,
 *    RFC 7296 3.3.3), nor do AEAD and non-AEAD ciphers.
 *  - Additional key exchanges (RFC 9370), strongSwan's way: "keN_" (N 1-7)
 *    before a key exchange keyword puts it in transform type ADDKEn
 *    ("aes256gcm16-prfsha384-x25519-ke1_mlkem768"); several per slot are
 *    alternatives, "keN_none" makes the slot optional. Allowed in IKE and
 *    ESP proposals; the IKE rules above still ask for a type 4 group.
 */
#ifndef XIKED_PROPOSAL_CONFIG_H
#define XIKED_PROPOSAL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/ikev2.h"

/* One transform: type (enum ike_transform_type), IANA id and, for ciphers
 * with variable key sizes, the Key Length attribute in bits (else 0). */
struct transform_cfg {
	uint8_t type;
	uint16_t id;
	uint16_t keylen;
};

struct proposal_cfg {
	uint8_t protocol; /* PROTO_IKE or PROTO_ESP */
	size_t n;
	struct transform_cfg t[IKE_TRANSFORMS_MAX]; /* in keyword order */
};

struct proposal_cfg_list {
	struct proposal_cfg *p; /* owned */
	size_t n; /* 1..IKE_PROPOSALS_MAX after a successful parse */
};

/* Defaults used when a connection has no ike = / esp = line. */
#define PROPOSAL_CFG_IKE_DEFAULT "aes256gcm16-prfsha256-x25519, aes128-sha256-ecp256"
#define PROPOSAL_CFG_ESP_DEFAULT "aes256gcm16, aes128-sha256"

/*
 * Parses text (borrowed) for protocol PROTO_IKE or PROTO_ESP into *out
 * (overwritten; free with proposal_cfg_list_free). 0, or -1 with a message
 * in err naming the offending keyword or rule. Only what the engine can
 * negotiate: additional key exchanges (keN_, no IKE_INTERMEDIATE yet) and
 * groups crypto/dh.c does not implement (the mlkem* keywords) are refused
 * with the reason.
 */
int proposal_cfg_parse(const char *text, enum ike_protocol protocol,
		       struct proposal_cfg_list *out, char *err, size_t errlen);
/* The same syntax without the engine's limits (the keyword language alone). */
int proposal_cfg_parse_syntax(const char *text, enum ike_protocol protocol,
			      struct proposal_cfg_list *out, char *err, size_t errlen);
void proposal_cfg_list_free(struct proposal_cfg_list *l);
/* Deep copy of src into *dst. 0 or -1 (out of memory). */
int proposal_cfg_list_copy(struct proposal_cfg_list *dst, const struct proposal_cfg_list *src);

/* Number of transforms of one type in p. */
size_t proposal_cfg_count(const struct proposal_cfg *p, enum ike_transform_type type);
/* True if p's ciphers are AEAD (RFC 5282). */
bool proposal_cfg_is_aead(const struct proposal_cfg *p);

/*
 * Writes p back in keyword form ("aes256gcm16-prfsha256-x25519"), for logs
 * and status output: ciphers, integrity, PRFs, DH groups, ADDKE1-7, ESN, in that
 * order. Derived PRFs are written too, so the text lists exactly what is
 * offered; a lone noesn is left out (it is the default), so parsing the
 * text gives the same proposal back. Returns what snprintf would.
 */
int proposal_cfg_format(const struct proposal_cfg *p, char *buf, size_t len);

#endif
