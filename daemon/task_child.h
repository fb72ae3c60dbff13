/*
 * The CHILD_CREATE task's state, shared by the two files that run it:
 * task_child_create.c (a new Child SA, in IKE_AUTH or CREATE_CHILD_SA) and
 * task_child_rekey.c (rekeying one, RFC 7296 1.3.3, and the collision
 * rules of 2.8.1 and 2.25.1). Private to them.
 */
#ifndef XIKED_TASK_CHILD_H
#define XIKED_TASK_CHILD_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/ikesa.h"
#include "daemon/proposal.h"
#include "daemon/task.h"

#define CHILD_NONCE_LEN 32

struct child_create {
	struct task t;
	const struct child_cfg *cfg;
	uint32_t rekey_spi;      /* initiator: spi_in of the SA we rekey, 0 = a new Child SA */
	uint32_t reqid;          /* initiator: reqid to take (reauthentication), 0 = new or trap's */
	bool fixed_ts;           /* initiator: sent_ts* and mode given (reauthentication) */
	enum config_mode mode;
	struct child_sa *child;  /* being negotiated; linked into the SA once created */
	uint32_t child_spi;      /* initiator: child's spi_in, to find it again (process_i) */
	uint16_t error;          /* responder: notify instead of SA/TS */
	uint32_t error_spi;      /* responder: SPI for CHILD_SA_NOT_FOUND (network order) */
	uint16_t invalid_ke;     /* responder: group for INVALID_KE_PAYLOAD */
	bool told;               /* responder: the child-failed event is out already */
	uint16_t dh_group;       /* our KE group (PFS), 0 = none */
	unsigned ke_retries;
	struct dh *dh;
	struct secret *shared;   /* PFS result */
	struct ike_ts sent_tsi[CHILD_TS_MAX], sent_tsr[CHILD_TS_MAX];
	size_t n_sent_tsi, n_sent_tsr;
	uint8_t nonce[CHILD_NONCE_LEN]; /* CREATE_CHILD_SA: our nonce */
	const uint8_t *peer_nonce;
	size_t peer_nonce_len;
	struct proposal_sel sel;
};

/* The task's operations in its own CREATE_CHILD_SA exchange (task_child_create.c). */
extern const struct task_ops child_create_ccsa_ops;

/* Drops the Child SA being negotiated (it lives in cc->child->ike, task_child_create.c). */
void child_create_drop(struct child_create *cc);

/* ---- task_child_rekey.c: the rekey's steps in the task ---- */

/*
 * Initiator, building the request: the SA to rekey (cc->rekey_spi in sa),
 * or NULL (logged) when no rekey is needed any more.
 */
struct child_sa *child_rekey_old(struct child_create *cc, struct ikesa *sa);
/* Initiator: c is to replace old (1.3.3: its mode), with N(REKEY_SA) in the request. */
void child_rekey_request(struct ikesa *sa, struct child_sa *old, struct child_sa *c,
			 struct ike_builder *b);
/* Initiator: our rekey did not happen; with retry, it is tried again later (2.25). */
void child_rekey_abandoned(struct ikesa *sa, struct child_create *cc, bool retry);
/* Initiator: the peer answered our rekey CHILD_SA_NOT_FOUND (2.25.1). */
void child_rekey_not_found(struct ikesa *sa, struct child_create *cc);
/* Initiator: our rekey installed successor ours: the collision rules (2.8.1) and the Delete. */
void child_rekey_finish(struct ikesa *sa, struct child_create *cc, struct child_sa *ours);
/* Responder: the checks of a REKEY_SA request (2.25.1): the old SA, or NULL with cc->error. */
struct child_sa *child_rekey_target(struct child_create *cc, struct ikesa *sa,
				    const struct ike_notify *rk);

#endif
