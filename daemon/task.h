/*
 * Tasks, as in strongSwan's libcharon: each protocol feature is one file
 * with build_i/process_i (we initiate the exchange) and process_r/build_r
 * (we respond). An exchange carries one or more tasks (IKE_AUTH: ike_auth
 * and child_create); the task manager (task_manager.h) owns message IDs,
 * retransmission and the response cache, and runs the tasks of an
 * exchange in order.
 *
 * build_* add payloads through the builder: for IKE_SA_INIT the outer
 * chain, for every other exchange the plaintext chain inside SK.
 */
#ifndef XIKED_TASK_H
#define XIKED_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/message.h"

struct ikesa;

enum task_status {
	TASK_DONE,      /* finished; the manager frees it */
	TASK_NEED_MORE, /* initiator: send this exchange again (INVALID_KE, COOKIE) */
	TASK_FAILED,    /* failed; the IKE SA survives (e.g. a Child SA not created) */
	TASK_DESTROY,   /* the IKE SA must go (authentication failed, deleted...) */
};

struct task;

struct task_ops {
	const char *name;
	uint8_t exchange; /* the exchange this task initiates */
	enum task_status (*build_i)(struct task *t, struct ikesa *sa, struct ike_builder *b);
	enum task_status (*process_i)(struct task *t, struct ikesa *sa, const struct ike_msg *m);
	enum task_status (*process_r)(struct task *t, struct ikesa *sa, const struct ike_msg *m);
	enum task_status (*build_r)(struct task *t, struct ikesa *sa, struct ike_builder *b);
	void (*free)(struct task *t); /* frees t and what it owns */
};

struct task {
	const struct task_ops *ops;
	struct task *next;
};

/* Constructors (each in its own file). A child_cfg is borrowed from the SA's config. */
struct child_cfg;
struct task *task_ike_init_new(void);
struct task *task_ike_auth_new(void);
struct task *task_child_create_new(const struct child_cfg *cfg);
/* An additional Child SA in its own CREATE_CHILD_SA exchange. */
struct task *task_child_create_ccsa_new(const struct child_cfg *cfg);
/*
 * Make old's Child SA again in a new IKE SA (reauthentication,
 * task_reauth.h): its config, mode, selectors and reqid (borrowed, copied
 * now); in IKE_AUTH when in_ike_auth, else in its own CREATE_CHILD_SA.
 */
struct child_sa;
struct task *task_child_reauth_new(const struct child_sa *old, bool in_ike_auth);
/* Rekey the Child SA with inbound SPI spi_in (network order; RFC 7296 1.3.3). */
struct task *task_child_rekey_new(uint32_t spi_in);
/* Rekey the IKE SA (RFC 7296 1.3.2, 2.18): children move to the new one. */
struct task *task_ike_rekey_new(void);
/* Delete a Child SA (by its inbound SPI, network order) or, with 0, the IKE SA (task_delete.c). */
struct task *task_delete_new(uint32_t child_spi_in);
/* A Delete payload (RFC 7296 3.11): SPIs (network order) of proto, none for PROTO_IKE. */
void task_build_delete(struct ike_builder *b, uint8_t proto, const uint32_t *spis, size_t n);
/* INFORMATIONAL's responder: the peer's Deletes, liveness, errors (task_informational.c). */
struct task *task_informational_r_new(void);
/* Liveness check (RFC 7296 2.4): an empty INFORMATIONAL request (task_dpd.c). */
struct task *task_dpd_new(void);
/*
 * IKE_AUTH: N(INITIAL_CONTACT) out, and on receipt the peer's stale IKE SAs
 * dropped (RFC 7296 2.4; task_initial_contact.c).
 */
struct task *task_initial_contact_new(void);
/* RFC 4555 (task_mobike.c): N(MOBIKE_SUPPORTED) in IKE_AUTH; the peer's MOBIKE INFORMATIONAL. */
struct task *task_mobike_auth_new(void);
struct task *task_mobike_r_new(void);
/* RFC 7296 2.19: the CP exchange in IKE_AUTH, virtual IPs and DNS (task_config.c). */
struct task *task_config_new(void);

#endif
