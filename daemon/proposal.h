/*
 * Proposal negotiation (RFC 7296 2.7, 3.3): offering our configured
 * proposals, choosing one of the peer's (by our preference), and checking
 * the peer's choice against our offer.
 */
#ifndef XIKED_PROPOSAL_H
#define XIKED_PROPOSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/payload.h"
#include "daemon/proposal_config.h"

/* One chosen transform per type (0 = none of that type). */
struct proposal_sel {
	uint8_t num;     /* the peer's Proposal Num (echoed in the answer) */
	uint8_t protocol;
	uint16_t encr, keylen, prf, integ, dh;
	bool has_esn;
	uint16_t esn;
	uint8_t spi[8];
	uint8_t spi_len;
};

/*
 * Our offer: every configured proposal, numbered from 1, each with spi.
 * with_dh false leaves DH transforms out (ESP in IKE_AUTH, RFC 7296 1.2).
 * first_dh != 0 moves that group to the front of every DH list (the KE we
 * send must match the first choice: RFC 7296 1.2 retry after INVALID_KE).
 */
void proposal_build_offer(struct ike_builder *b, const struct proposal_cfg_list *ours,
			  uint8_t protocol, const uint8_t *spi, size_t spi_len, bool with_dh,
			  uint16_t first_dh);

/* The answer: exactly the chosen transforms under the peer's proposal number. */
void proposal_build_answer(struct ike_builder *b, const struct proposal_sel *sel);

/*
 * Responder's choice: the first of our proposals (our preference) that one
 * of the peer's proposals can satisfy. ke_group: the group of the peer's
 * KE payload, preferred among acceptable DH transforms so that no
 * INVALID_KE round trip is needed (0: none). with_dh false ignores DH.
 * Transforms with unknown attributes are never chosen (RFC 7296 3.3.6).
 */
bool proposal_select(const struct proposal_cfg_list *ours, const struct ike_sa *peer,
		     uint8_t protocol, uint16_t ke_group, bool with_dh, struct proposal_sel *out);

/*
 * For the log line of a failed proposal_select: a sentence saying the
 * peer's proposals of protocol with additional key exchanges (RFC 9370)
 * were ignored, "" when it sent none. Static text.
 */
const char *proposal_addke_note(const struct ike_sa *peer, uint8_t protocol);

/*
 * Initiator's check of the answer: one proposal, one transform per type,
 * all of which we offered in a single proposal. Fills *out.
 */
bool proposal_check_answer(const struct proposal_cfg_list *ours, const struct ike_sa *answer,
			   uint8_t protocol, bool with_dh, struct proposal_sel *out);

/* "AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519" style text for logs and status. */
void proposal_sel_format(const struct proposal_sel *s, char *buf, size_t len);

#endif
