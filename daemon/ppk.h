/*
 * Post-quantum preshared keys in IKE_AUTH (RFC 8784): after IKE_SA_INIT
 * both sides announced USE_PPK (EXT_PPK), the initiator names its PPK in
 * PPK_IDENTITY and computes AUTH with SK_pi/SK_pr mixed with it; SK_d is
 * mixed too, so every Child SA and every later IKE SA rekey inherits the
 * PPK. Without ppk_required, NO_PPK_AUTH carries AUTH made with the
 * unmixed keys, for a responder that lacks the PPK. task_ike_auth.c
 * decides; this file holds the keys and the notify octets.
 */
#ifndef XIKED_PPK_H
#define XIKED_PPK_H

#include <stdbool.h>

#include "daemon/config.h"
#include "daemon/message.h"

struct ikesa;
struct secret;

/* RFC 8784 5.1: PPK_ID types. */
enum ppk_id_type {
	PPK_ID_OPAQUE = 1,
	PPK_ID_FIXED = 2,
};

/* The unmixed SK_d, SK_pi, SK_pr while IKE_AUTH may still fall back to them. */
struct ppk_saved {
	struct secret *sk_d, *sk_pi, *sk_pr;
};

/*
 * Mixes sa->conn's PPK into sa->keys (SK_d, SK_pi, SK_pr = prf+(PPK, key),
 * RFC 8784 3), the unmixed keys into *saved (which must be empty). 0, or
 * a negative errno with sa->keys unchanged.
 */
int ppk_mix(struct ikesa *sa, struct ppk_saved *saved);

/* Puts the unmixed keys back into sa->keys (the mixed ones are wiped). No-op when *saved is empty. */
void ppk_unmix(struct ikesa *sa, struct ppk_saved *saved);

/* Wipes what *saved holds: the mixed keys stay. NULL-safe members. */
void ppk_saved_free(struct ppk_saved *saved);

/* Appends PPK_IDENTITY naming conn's ppk_id (PPK_ID_FIXED, as strongSwan sends it). */
void ppk_build_identity(struct ike_builder *b, const struct conn_cfg *conn);

/* Whether PPK_IDENTITY notify data names conn's ppk_id (either PPK_ID type). */
bool ppk_identity_is(const struct ike_notify *n, const struct conn_cfg *conn);

/* The PPK_ID of a PPK_IDENTITY notify as printable text for log lines. */
void ppk_identity_text(const struct ike_notify *n, char *buf, size_t len);

#endif
