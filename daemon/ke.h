/*
 * Key exchange negotiation, shared by the three tasks that carry a KE
 * payload: IKE_SA_INIT (RFC 7296 1.2), CREATE_CHILD_SA for a Child SA with
 * PFS (1.3.1, 1.3.3) and for an IKE rekey (1.3.2). Each picks the group
 * of its first KE, answers or follows INVALID_KE_PAYLOAD (1.2, 3.10.1:
 * "the accepted group in the notification data") and builds a KE payload
 * (3.4) from its Diffie-Hellman state. IKE_FOLLOWUP_KE (RFC 9370) will
 * build on the same calls.
 */
#ifndef XIKED_KE_H
#define XIKED_KE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/payload.h"
#include "daemon/proposal_config.h"

struct dh;

/* The first DH group of the proposals that we implement, 0 = none (no PFS). */
uint16_t ke_first_group(const struct proposal_cfg_list *l);
/* Whether the proposals name group g: a peer's INVALID_KE_PAYLOAD may only ask for one. */
bool ke_group_offered(const struct proposal_cfg_list *l, uint16_t g);
/* The group an INVALID_KE_PAYLOAD notify asks for (2 octets, 3.10.1), 0 when malformed. */
uint16_t ke_invalid_group(const struct ike_notify *n);
/* KE payload with our public value of dh, whose group it names. */
void ke_build(struct ike_builder *b, const struct dh *dh);
/* N(INVALID_KE_PAYLOAD) naming the group we chose (the responder's answer). */
void ke_build_invalid(struct ike_builder *b, uint16_t group);

#endif
