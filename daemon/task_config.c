/*
 * The Configuration payload exchange in IKE_AUTH (RFC 7296 2.19, 3.15):
 *
 *   HDR, SK { IDi, [CERT,] CP(CFG_REQUEST), AUTH, SAi2, TSi, TSr }  -->
 *   <--  HDR, SK { IDr, [CERT,] AUTH, CP(CFG_REPLY), SAr2, TSi, TSr }
 *
 * A laptop's conn with vip = asks for addresses and DNS; a gateway's conn
 * with pool = leases them (daemon/vip.h). The step runs after the
 * authentication (the lease is the authenticated identity's) and before
 * the Child SA, whose selectors take the addresses. A gateway that leases
 * nothing to a peer that asked lets the Child SA be refused with
 * INTERNAL_ADDRESS_FAILURE (3.10.1) and keeps the IKE SA. A CP the peer
 * did not ask for, or one of another type, is ignored and logged.
 */
#include <stdlib.h>

#include "daemon/config.h"
#include "daemon/cp.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/names.h"
#include "daemon/task.h"
#include "daemon/vip.h"

struct task_config {
	struct task t;
	bool asked;         /* initiator: sent a CFG_REQUEST */
	bool reply;         /* responder: answer with reply */
	struct cp_info out; /* responder: the CFG_REPLY */
};

/* The message's CP decoded into *info; false (logged) when none or it means nothing. */
static bool decode(struct ikesa *sa, const struct ike_msg *m, uint8_t want_type,
		   struct cp_info *info)
{
	const struct ike_payload *p = message_find(m, PL_CP, NULL);
	if (!p || !p->known)
		return false;
	char why[CP_WHY_LEN];
	struct names_buf nb;
	if (p->u.cp.type != want_type) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: CP(%s) ignored: only %s is answered here",
			ikesa_tag(sa), names_cfg_type(p->u.cp.type, &nb),
			names_cfg_type(want_type, &(struct names_buf){0}));
		return false;
	}
	if (cp_decode(&p->u.cp, info, why) != 0) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: CP(%s) ignored: %s", ikesa_tag(sa),
			names_cfg_type(p->u.cp.type, &nb), why);
		return false;
	}
	if (info->skipped || info->dropped)
		log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: CP: %u attributes not used, %u over the limits",
			ikesa_tag(sa), info->skipped, info->dropped);
	return true;
}

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct task_config *c = (struct task_config *)t;
	struct cp_info req;
	c->asked = vip_request(sa, &req);
	if (c->asked)
		cp_build(b, &req);
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static enum task_status process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct task_config *c = (struct task_config *)t;
	if (!c->asked)
		return TASK_DONE;
	struct cp_info reply;
	if (message_find_notify(m, N_INTERNAL_ADDRESS_FAILURE) || !decode(sa, m, CFG_REPLY, &reply)) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: the gateway answered no virtual IP%s", ikesa_tag(sa),
			message_find_notify(m, N_INTERNAL_ADDRESS_FAILURE) ? " (INTERNAL_ADDRESS_FAILURE)"
									   : "");
		return TASK_FAILED;
	}
	return vip_accept(sa, &reply) == 0 ? TASK_DONE : TASK_FAILED;
}

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct task_config *c = (struct task_config *)t;
	struct cp_info req;
	if (!decode(sa, m, CFG_REQUEST, &req))
		return TASK_DONE;
	if (!sa->conn->cp.n_pools && !sa->conn->cp.n_dns && !sa->conn->cp.n_split &&
	    !sa->conn->cp.n_domains) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: CP(CFG_REQUEST) ignored: the conn has no pool, "
			"dns, split or dns_domain", ikesa_tag(sa));
		return TASK_DONE;
	}
	/* an empty pool: INTERNAL_ADDRESS_FAILURE from the Child SA's step (vip_failed) */
	c->reply = vip_assign(sa, &req, &c->out) == 0;
	return TASK_DONE;
}

static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct task_config *c = (struct task_config *)t;
	(void)sa;
	if (c->reply)
		cp_build(b, &c->out);
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static void task_config_free(struct task *t)
{
	free(t);
}

static const struct task_ops config_ops = {
	.name = "config",
	.exchange = IKE_AUTH,
	.build_i = build_i,
	.process_i = process_i,
	.process_r = process_r,
	.build_r = build_r,
	.free = task_config_free,
};

struct task *task_config_new(void)
{
	struct task_config *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->t.ops = &config_ops;
	return &c->t;
}
