/*
 * Child SA creation (RFC 7296 1.2 inside IKE_AUTH, 1.3.1 CREATE_CHILD_SA):
 *
 *   IKE_AUTH:         SAi2, TSi, TSr [, N(USE_TRANSPORT_MODE)]  -->
 *   CREATE_CHILD_SA:  SA, Ni, [KEi,] TSi, TSr   -->
 *                          <--  SA, [Nr, KEr,] TSi, TSr
 *
 * Traffic selectors are narrowed by the responder (2.9); the KEYMAT comes
 * from SK_d, the optional PFS secret and the nonces (2.17). The responder
 * installs before it answers, so its inbound SA is ready when the
 * initiator starts sending. The same task rekeys a Child SA (1.3.3):
 * the rekey's own steps, its sub-state and the collision rules of 2.8.1
 * are in task_child_rekey.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dh.h"
#include "crypto/keymat.h"
#include "daemon/child_kernel.h"
#include "daemon/child_rekey.h"
#include "daemon/endpoint.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/ke.h"
#include "daemon/log.h"
#include "daemon/names.h"
#include "daemon/nonce.h"
#include "daemon/proposal.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"
#include "daemon/task_child.h"
#include "daemon/task_manager.h"
#include "daemon/task_reauth.h"
#include "daemon/unique.h"
#include "daemon/timers.h"
#include "daemon/trap.h"
#include "daemon/ts.h"
#include "daemon/vip.h"

/* INVALID_KE_PAYLOAD retries per exchange (RFC 7296 1.3). */
#define CHILD_KE_RETRIES_MAX 2

static struct child_sa *child_new(struct ikesa *sa, const struct child_cfg *cfg, uint32_t reqid)
{
	struct child_sa *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = cfg;
	c->mode = cfg->mode;
	/* A trap's Child SA shares the trap's reqid, and so its policies (trap.h). */
	if (!reqid)
		reqid = trap_reqid(sa->e, sa->conn, cfg);
	c->reqid = reqid ? reqid : engine_alloc_reqid(sa->e);
	c->state = CHILD_CREATED;
	timer_init(&c->retry_timer, NULL, c); /* a zeroed timer would look armed */
	timer_init(&c->idle_timer, NULL, c);
	timer_init(&c->out_timer, NULL, c);
	return c;
}

static void add_ts(struct ike_builder *b, uint8_t type, const struct ike_ts *ts, size_t n)
{
	struct ike_ts_list l = {.n = (uint8_t)n, .ts = ts};
	payload_build_ts(b, type, &l);
}

static void log_installed(struct ikesa *sa, struct child_sa *c, const char *what)
{
	char l[TS_STRLEN], r[TS_STRLEN];
	log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s %s: SPIs %08x_i %08x_o, %s === %s%s, %s%s",
		ikesa_tag(sa), c->cfg->name, what, ntohl(c->spi_in), ntohl(c->spi_out),
		ts_to_string(&c->local_ts[0], l, sizeof(l)),
		ts_to_string(&c->remote_ts[0], r, sizeof(r)),
		c->n_local_ts > 1 || c->n_remote_ts > 1 ? " (and more)" : "",
		c->mode == CONFIG_MODE_TUNNEL ? "tunnel" : "transport",
		c->suite.dh ? ", PFS" : "");
}

static void set_min_nonce(struct child_sa *c, const uint8_t *ni, size_t ni_len, const uint8_t *nr,
			  size_t nr_len)
{
	bool i_low = nonce_cmp(ni, ni_len, nr, nr_len) <= 0;
	const uint8_t *m = i_low ? ni : nr;
	size_t len = i_low ? ni_len : nr_len;
	if (len > sizeof(c->min_nonce))
		len = sizeof(c->min_nonce);
	memcpy(c->min_nonce, m, len);
	c->min_nonce_len = len;
}

/* Derive KEYMAT and install; the exchange's nonces are ni/nr. */
static int install(struct ikesa *sa, struct child_sa *c, const struct secret *shared,
		   const uint8_t *ni, size_t ni_len, const uint8_t *nr, size_t nr_len,
		   bool we_initiated, bool defer_out)
{
	size_t len = child_keymat_len(&c->suite);
	struct secret *km = NULL;
	if (len == 0 || keymat_derive_child(sa->suite.prf, sa->keys.sk_d, shared, ni, ni_len, nr,
					    nr_len, len, &km) != 0) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA key derivation failed", ikesa_tag(sa));
		sa_event_child(sa, c, NULL, EV_CHILD_FAILED, "local: Child SA key derivation failed");
		return -1;
	}
	sa->e->kernel_err[0] = 0;
	int rc = child_kernel_install(sa, c, km, we_initiated, defer_out);
	secret_free(km);
	if (rc != 0) {
		sa->e->stats.child_failed++;
		child_set_state(sa, c, CHILD_FAILED);
		if (sa->e->kernel_err[0])
			sa_event_child(sa, c, NULL, EV_CHILD_FAILED, "%s", sa->e->kernel_err);
		else
			sa_event_child(sa, c, NULL, EV_CHILD_FAILED, "kernel: installing the Child SA "
				       "failed (%d)", rc);
		return rc;
	}
	c->installed_ms = engine_now(sa->e);
	set_min_nonce(c, ni, ni_len, nr, nr_len);
	child_set_state(sa, c, CHILD_INSTALLED);
	sa->e->stats.child_installed++;
	trap_on_child_installed(sa->e, sa->conn, c->cfg);
	timers_on_child_installed(c->ike ? c->ike : sa, c);
	log_installed(sa, c, c->replaces ? "rekeyed" : "installed");
	struct ikesa *oo;
	struct child_sa *old = c->replaces ? ikesa_find_child_any(sa->e, c->replaces, &oo) : NULL;
	if (c->replaces)
		sa_event_child_rekeyed(c->ike ? c->ike : sa, c, c->replaces, old ? old->spi_out : 0);
	else if (sa->state == IKESA_ESTABLISHED)
		sa_event_child(c->ike ? c->ike : sa, c, NULL, EV_CHILD_UP, NULL);
	/* else: a responder's IKE_AUTH; ike-up is told first, then this (task_ike_auth.c). */
	return 0;
}

static void set_suite(struct child_sa *c, const struct proposal_sel *s)
{
	c->suite = (struct esp_suite){.encr = s->encr, .encr_keylen = s->keylen, .integ = s->integ,
				      .dh = s->dh, .esn = s->has_esn && s->esn == ESN_YES};
}

static void exchange_nonces(struct child_create *cc, struct ikesa *sa, bool initiator,
			    const uint8_t **ni, size_t *ni_len, const uint8_t **nr, size_t *nr_len)
{
	if (!cc->peer_nonce) {
		/* IKE_AUTH: the IKE SA's nonces (RFC 7296 2.17). */
		*ni = sa->ni, *ni_len = sa->ni_len, *nr = sa->nr, *nr_len = sa->nr_len;
		return;
	}
	if (initiator) {
		*ni = cc->nonce, *ni_len = CHILD_NONCE_LEN;
		*nr = cc->peer_nonce, *nr_len = cc->peer_nonce_len;
	} else {
		*ni = cc->peer_nonce, *ni_len = cc->peer_nonce_len;
		*nr = cc->nonce, *nr_len = CHILD_NONCE_LEN;
	}
}

/* ---- initiator ---- */

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct child_create *cc = (struct child_create *)t;
	struct child_sa *old = NULL;
	bool ccsa = t->ops->exchange == CREATE_CHILD_SA;
	if (cc->rekey_spi) {
		if (!(old = child_rekey_old(cc, sa)))
			return TASK_FAILED;
		cc->cfg = old->cfg;
	}
	struct child_sa *c = child_new(sa, cc->cfg, old ? old->reqid : cc->reqid);
	if (!c)
		return TASK_FAILED;
	if (cc->fixed_ts)
		c->mode = cc->mode;
	/* Linked at once so that the IKE SA's end also releases the SPI. */
	ikesa_link_child(sa, c);
	sa->e->kernel_err[0] = 0;
	if (child_kernel_alloc_spi(sa, c) != 0) {
		/* Negotiating anyway would leave the peer with an SA we cannot install. */
		child_kernel_remove(sa, c);
		sa->e->stats.child_failed++;
		sa_event_child(sa, NULL, cc->cfg, EV_CHILD_FAILED, "%s", sa->e->kernel_err);
		return TASK_FAILED;
	}
	ikesa_link_child(sa, c);
	cc->child = c;
	cc->child_spi = c->spi_in;
	if (old)
		child_rekey_request(sa, old, c, b);
	uint32_t spi = c->spi_in;
	if (c->mode == CONFIG_MODE_TRANSPORT)
		payload_build_notify_simple(b, PROTO_NONE, N_USE_TRANSPORT_MODE, NULL, 0, NULL, 0);
	if (ccsa && !cc->dh_group)
		cc->dh_group = ke_first_group(&cc->cfg->esp); /* PFS */
	proposal_build_offer(b, &cc->cfg->esp, PROTO_ESP, (const uint8_t *)&spi, 4, ccsa,
			     cc->dh_group);
	if (ccsa) {
		rng_fill(sa->e->env.rng, cc->nonce, sizeof(cc->nonce));
		payload_build_nonce(b, &(struct ike_nonce){{cc->nonce, sizeof(cc->nonce)}});
		if (cc->dh_group) {
			dh_free(cc->dh);
			cc->dh = dh_new(cc->dh_group, sa->e->env.rng);
			if (!cc->dh)
				return TASK_FAILED;
			ke_build(b, cc->dh);
		}
	}
	if (old) {
		cc->n_sent_tsi = old->n_local_ts;
		cc->n_sent_tsr = old->n_remote_ts;
		memcpy(cc->sent_tsi, old->local_ts, old->n_local_ts * sizeof(struct ike_ts));
		memcpy(cc->sent_tsr, old->remote_ts, old->n_remote_ts * sizeof(struct ike_ts));
	} else if (!cc->fixed_ts) {
		cc->n_sent_tsi = vip_ts_local(sa, &cc->cfg->local_ts, cc->sent_tsi, CHILD_TS_MAX);
		cc->n_sent_tsr = vip_ts_remote(sa, &cc->cfg->remote_ts, cc->sent_tsr, CHILD_TS_MAX);
	}
	add_ts(b, PL_TSI, cc->sent_tsi, cc->n_sent_tsi);
	add_ts(b, PL_TSR, cc->sent_tsr, cc->n_sent_tsr);
	return TASK_DONE;
}

/* The child lives in c->ike, which an IKE rekey may have changed since the request left. */
void child_create_drop(struct child_create *cc)
{
	if (!cc->child)
		return;
	child_kernel_remove(cc->child->ike, cc->child);
	cc->child = NULL;
}

/* Our request came to nothing (logged): the Child SA being made goes; a rekey may come again. */
static enum task_status give_up(struct ikesa *sa, struct child_create *cc)
{
	child_create_drop(cc);
	child_rekey_abandoned(sa, cc, false);
	return TASK_FAILED;
}

/*
 * The notifies of an answer that ask us to act: INVALID_KE_PAYLOAD (1.3:
 * again with the group named), TEMPORARY_FAILURE (2.25: later),
 * CHILD_SA_NOT_FOUND for a rekey (2.25.1). TASK_DONE when there is none.
 */
static enum task_status answer_notifies(struct child_create *cc, struct ikesa *sa,
					const struct ike_msg *m)
{
	struct names_buf nb;
	const struct ike_notify *n;
	if ((n = message_find_notify(m, N_INVALID_KE_PAYLOAD))) {
		uint16_t g = ke_invalid_group(n);
		child_create_drop(cc);
		if (++cc->ke_retries > CHILD_KE_RETRIES_MAX || g == cc->dh_group ||
		    !ke_group_offered(&cc->cfg->esp, g) || !dh_supported(g)) {
			log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s: peer wants PFS group %s, "
				"which we did not offer", ikesa_tag(sa), cc->cfg->name,
				names_dh(g, &nb));
			sa_event_child(sa, NULL, cc->cfg, EV_CHILD_FAILED, "INVALID_KE_PAYLOAD: the "
				       "peer wants PFS group %s, which we did not offer%s",
				       names_dh(g, &nb), cc->rekey_spi ? " (rekey)" : "");
			child_rekey_abandoned(sa, cc, false);
			return TASK_FAILED;
		}
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s: peer prefers PFS group %s: retrying",
			ikesa_tag(sa), cc->cfg->name, names_dh(g, &nb));
		cc->dh_group = g;
		return TASK_NEED_MORE;
	}
	if (message_find_notify(m, N_TEMPORARY_FAILURE)) {
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s: peer answered TEMPORARY_FAILURE, "
			"retrying later", ikesa_tag(sa), cc->cfg->name);
		child_create_drop(cc);
		child_rekey_abandoned(sa, cc, true);
		return TASK_FAILED;
	}
	if (message_find_notify(m, N_CHILD_SA_NOT_FOUND) && cc->rekey_spi) {
		child_rekey_not_found(sa, cc);
		return TASK_FAILED;
	}
	return TASK_DONE;
}

/*
 * The answer's SA, selectors, mode, and in CREATE_CHILD_SA nonce and KE
 * against our request: false (logged) when they do not fit. Leaves the
 * chosen proposal in cc->sel, the peer's nonce and the PFS secret in cc.
 */
static bool answer_fits(struct child_create *cc, struct ikesa *sa, const struct ike_msg *m)
{
	struct names_buf nb;
	const struct ike_payload *sap = message_find(m, PL_SA, NULL);
	const struct ike_payload *tsi = message_find(m, PL_TSI, NULL);
	const struct ike_payload *tsr = message_find(m, PL_TSR, NULL);
	if (!sap || !tsi || !tsr) {
		const struct ike_notify *n = message_find_error_notify(m);
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s not %s: peer answered %s",
			ikesa_tag(sa), cc->cfg->name, cc->rekey_spi ? "rekeyed" : "created",
			n ? names_notify(n->type, &nb) : "no SA");
		if (n)
			sa_event_child(sa, cc->child, NULL, EV_CHILD_FAILED, "%s: the peer refused "
				       "the Child SA%s", names_notify(n->type, &nb),
				       cc->rekey_spi ? " (rekey)" : "");
		else
			sa_event_child(sa, cc->child, NULL, EV_CHILD_FAILED, "invalid-response: "
				       "answer without SA and TS%s", cc->rekey_spi ? " (rekey)" : "");
		return false;
	}
	bool ccsa = cc->t.ops->exchange == CREATE_CHILD_SA;
	if (!proposal_check_answer(&cc->cfg->esp, &sap->u.sa, PROTO_ESP, ccsa, &cc->sel) ||
	    cc->sel.spi_len != 4 || (ccsa && cc->sel.dh != cc->dh_group)) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s: the peer chose an ESP proposal we "
			"did not offer", ikesa_tag(sa), cc->cfg->name);
		sa_event_child(sa, cc->child, NULL, EV_CHILD_FAILED, "invalid-response: the peer "
			       "chose an ESP proposal we did not offer");
		return false;
	}
	if (!ts_all_within(tsi->u.ts.ts, tsi->u.ts.n, cc->sent_tsi, cc->n_sent_tsi) ||
	    !ts_all_within(tsr->u.ts.ts, tsr->u.ts.n, cc->sent_tsr, cc->n_sent_tsr) ||
	    tsi->u.ts.n > CHILD_TS_MAX || tsr->u.ts.n > CHILD_TS_MAX) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s: the peer's traffic selectors are "
			"not within ours", ikesa_tag(sa), cc->cfg->name);
		sa_event_child(sa, cc->child, NULL, EV_CHILD_FAILED, "invalid-response: the peer's "
			       "traffic selectors are not within ours");
		return false;
	}
	bool transport = message_find_notify(m, N_USE_TRANSPORT_MODE) != NULL;
	if (transport != (cc->child->mode == CONFIG_MODE_TRANSPORT)) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s: the peer did not accept %s mode",
			ikesa_tag(sa), cc->cfg->name, transport ? "tunnel" : "transport");
		sa_event_child(sa, cc->child, NULL, EV_CHILD_FAILED, "invalid-response: the peer "
			       "did not accept %s mode", transport ? "tunnel" : "transport");
		return false;
	}
	if (!ccsa)
		return true;
	const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
	const struct ike_payload *kep = message_find(m, PL_KE, NULL);
	if (!np || (cc->dh_group && (!kep || kep->u.ke.group != cc->dh_group))) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s: answer without %s",
			ikesa_tag(sa), cc->cfg->name, np ? "the KE we asked for" : "Nonce");
		sa_event_child(sa, cc->child, NULL, EV_CHILD_FAILED, "invalid-response: "
			       "answer without %s", np ? "the KE we asked for" : "Nonce");
		return false;
	}
	cc->peer_nonce = np->u.nonce.data.ptr;
	cc->peer_nonce_len = np->u.nonce.data.len;
	if (cc->dh_group &&
	    dh_shared(cc->dh, kep->u.ke.data.ptr, kep->u.ke.data.len, &cc->shared) != 0) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s: invalid KE from the peer",
			ikesa_tag(sa), cc->cfg->name);
		sa_event_child(sa, cc->child, NULL, EV_CHILD_FAILED, "invalid-response: "
			       "invalid KE from the peer");
		return false;
	}
	return true;
}

static enum task_status process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct child_create *cc = (struct child_create *)t;
	/*
	 * While the request was out the child may have gone: a hard expire of
	 * its larval state (XFRM gives ALLOCSPI states a lifetime), or a Delete
	 * from the peer. Find it again by its SPI instead of trusting the pointer.
	 */
	struct ikesa *holder;
	if (cc->child && ikesa_find_child_any(sa->e, cc->child_spi, &holder) != cc->child) {
		log_msg(LOG_CHD, LOG_LVL_WARN, "%s: Child SA %s (%08x) went away during its "
			"CREATE_CHILD_SA exchange", ikesa_tag(sa), cc->cfg->name,
			ntohl(cc->child_spi));
		cc->child = NULL;
		child_rekey_abandoned(sa, cc, false);
	}
	if (!cc->child)
		return TASK_FAILED;
	if (sa->state != IKESA_ESTABLISHED) {
		child_create_drop(cc);
		return TASK_FAILED;
	}
	enum task_status st = answer_notifies(cc, sa, m);
	if (st != TASK_DONE)
		return st;
	if (!answer_fits(cc, sa, m))
		return give_up(sa, cc);
	struct child_sa *c = cc->child;
	const struct ike_payload *tsi = message_find(m, PL_TSI, NULL);
	const struct ike_payload *tsr = message_find(m, PL_TSR, NULL);
	memcpy(&c->spi_out, cc->sel.spi, 4);
	set_suite(c, &cc->sel);
	memcpy(c->local_ts, tsi->u.ts.ts, tsi->u.ts.n * sizeof(struct ike_ts));
	memcpy(c->remote_ts, tsr->u.ts.ts, tsr->u.ts.n * sizeof(struct ike_ts));
	c->n_local_ts = tsi->u.ts.n;
	c->n_remote_ts = tsr->u.ts.n;
	const uint8_t *ni, *nr;
	size_t ni_len, nr_len;
	exchange_nonces(cc, sa, true, &ni, &ni_len, &nr, &nr_len);
	cc->child = NULL;
	/*
	 * Keys come from the IKE SA the exchange ran on (sa); the Child SA lives
	 * in its owner, which differs when the peer rekeyed the IKE SA meanwhile
	 * (RFC 7296 2.25.2: it answered that rekey as usual).
	 */
	struct ikesa *owner = c->ike;
	if (install(sa, c, cc->shared, ni, ni_len, nr, nr_len, true, false) != 0) {
		/* The peer installed its side: tell it to delete it (RFC 7296 1.4.1). */
		uint32_t spi_in = c->spi_in;
		child_kernel_remove(owner, c);
		struct task *d = task_delete_new(spi_in);
		if (d)
			tm_queue(owner, d);
		child_rekey_abandoned(sa, cc, false);
		return TASK_FAILED;
	}
	ikesa_link_child(owner, c); /* index the outbound SPI too */
	child_rekey_finish(sa, cc, c);
	return TASK_DONE;
}

/* ---- responder ---- */

static bool ts_list_same(const struct ike_ts *a, size_t na, const struct ike_ts *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!ts_contains(&a[i], &b[i]) || !ts_contains(&b[i], &a[i]))
			return false;
	return true;
}

/*
 * The peer reauthenticates (task_reauth.h): an installed Child SA of the
 * same conn, peer identity, config, mode and selectors in another IKE SA
 * of ours, which the new one replaces. Walks that peer's IKE SAs only
 * (the engine's (conn, identity) index).
 */
static struct child_sa *like_child(struct ikesa *sa, const struct child_cfg *cfg,
				   enum config_mode mode, const struct ike_ts *l, size_t nl,
				   const struct ike_ts *r, size_t nr, bool rival)
{
	if (!sa->peer_id_type)
		return NULL;
	for (struct ikesa *o = engine_peer_first(sa->e, sa->conn->name, sa->peer_id_type,
						 sa->peer_id, sa->peer_id_len);
	     o; o = o->peer_next) {
		if (o == sa || o->state != IKESA_ESTABLISHED || o->peer_id_type != sa->peer_id_type ||
		    o->peer_id_len != sa->peer_id_len ||
		    memcmp(o->peer_id, sa->peer_id, sa->peer_id_len) != 0 ||
		    strcmp(o->conn->name, sa->conn->name) != 0)
			continue;
		/* The shared policies' templates name the tunnel's addresses (child_kernel.c). */
		bool same_path = endpoint_same_addr(&o->remote, &sa->remote) &&
				 endpoint_same_addr(&o->local, &sa->local);
		if (rival ? same_path || !unique_replaces(sa, o) : !same_path)
			continue;
		for (struct child_sa *c = o->children; c; c = c->next)
			if (child_live(c) &&
			    (rival || !c->heir ||
			     !ikesa_find_child_any(sa->e, c->heir, &(struct ikesa *){0})) &&
			    c->mode == mode && strcmp(c->cfg->name, cfg->name) == 0 &&
			    ts_list_same(c->local_ts, c->n_local_ts, l, nl) &&
			    ts_list_same(c->remote_ts, c->n_remote_ts, r, nr))
				return c;
	}
	return NULL;
}

static struct child_sa *reauth_twin(struct ikesa *sa, const struct child_cfg *cfg,
				    enum config_mode mode, const struct ike_ts *l, size_t nl,
				    const struct ike_ts *r, size_t nr)
{
	return like_child(sa, cfg, mode, l, nl, r, nr, false);
}

/* The old Child SA of a reauthentication outlived REAUTH_OUT_WAIT_MS: send on the new one. */
static void heir_out_timeout(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct child_sa *c = ctx;
	if (!c->ike || !c->pending_out)
		return;
	log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s: the SA it replaces is still there after "
		"%u s: sending on %08x now", ikesa_tag(c->ike), c->cfg->name,
		REAUTH_OUT_WAIT_MS / 1000, ntohl(c->spi_out));
	child_kernel_install_out(c->ike, c);
}

/*
 * Whether sa holds max_child_sas live Child SAs (a rekey replaces one and
 * is not counted; the walk is bounded by the limit itself).
 */
static bool at_child_limit(const struct ikesa *sa)
{
	uint32_t max = sa->conn->max_child_sas, n = 0;
	if (!max)
		return false;
	for (const struct child_sa *c = sa->children; c && n < max; c = c->next)
		n += c->state != CHILD_DELETING && c->state != CHILD_FAILED &&
		     c->rekey != CHILD_REKEY_REPLACED;
	return n >= max;
}

/*
 * CREATE_CHILD_SA's own checks (RFC 7296 1.3, 2.25): the IKE SA is not
 * being rekeyed or closed, a rekey's old SA (*old), the Child SA limit;
 * our nonce drawn. False with cc->error set when the request is refused.
 */
static bool ccsa_request_ok(struct child_create *cc, struct ikesa *sa, const struct ike_msg *m,
			    struct child_sa **old)
{
	const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
	const struct ike_notify *rk = message_find_notify(m, N_REKEY_SA);
	if (sa->state != IKESA_ESTABLISHED || sa->ike_rekeying) {
		/* RFC 7296 2.25.2: not while we rekey (or close) the IKE SA. */
		cc->error = N_TEMPORARY_FAILURE;
		return false;
	}
	if (!np) {
		cc->error = N_INVALID_SYNTAX;
		return false;
	}
	if (rk && !(*old = child_rekey_target(cc, sa, rk)))
		return false;
	if (!*old && at_child_limit(sa)) {
		/* RFC 7296 3.10.1: "the responder is unwilling to accept any more Child SAs". */
		log_msg(LOG_CHD, LOG_LVL_WARN, "%s: peer asks for more than max_child_sas = "
			"%u Child SAs: NO_ADDITIONAL_SAS", ikesa_tag(sa), sa->conn->max_child_sas);
		cc->error = N_NO_ADDITIONAL_SAS;
		return false;
	}
	cc->peer_nonce = np->u.nonce.data.ptr;
	cc->peer_nonce_len = np->u.nonce.data.len;
	rng_fill(sa->e->env.rng, cc->nonce, sizeof(cc->nonce));
	return true;
}

/* The peer's selectors narrowed to ours (RFC 7296 2.9): TSi is its side, TSr ours. */
struct narrowed {
	struct ike_ts tsi[CHILD_TS_MAX], tsr[CHILD_TS_MAX];
	size_t n_tsi, n_tsr;
};

/*
 * The first child config whose selectors and proposals fit (a rekey: the
 * old one's), its proposal in cc->sel and the narrowed selectors in *n;
 * NULL with cc->error set (logged) when none does.
 */
static const struct child_cfg *select_cfg(struct child_create *cc, struct ikesa *sa,
					  const struct ike_msg *m, const struct child_sa *old,
					  const struct ike_payload *kep, struct narrowed *n)
{
	const struct ike_payload *sap = message_find(m, PL_SA, NULL);
	const struct ike_payload *tsi = message_find(m, PL_TSI, NULL);
	const struct ike_payload *tsr = message_find(m, PL_TSR, NULL);
	bool ccsa = m->hdr.exchange == CREATE_CHILD_SA, ts_ok = false;
	for (size_t i = 0; i < sa->conn->n_children; i++) {
		const struct child_cfg *cand = &sa->conn->children[i];
		if (old && cand != old->cfg)
			continue;
		struct ike_ts my_local[CHILD_TS_MAX], my_remote[CHILD_TS_MAX];
		size_t nl = vip_ts_local(sa, &cand->local_ts, my_local, CHILD_TS_MAX);
		/* a road warrior's %dynamic is its virtual IP (vip.h) */
		size_t nr = vip_ts_remote(sa, &cand->remote_ts, my_remote, CHILD_TS_MAX);
		/* TSi describes the initiator's side: our remote. */
		n->n_tsi = ts_narrow(tsi->u.ts.ts, tsi->u.ts.n, my_remote, nr, n->tsi, CHILD_TS_MAX);
		n->n_tsr = ts_narrow(tsr->u.ts.ts, tsr->u.ts.n, my_local, nl, n->tsr, CHILD_TS_MAX);
		if (!n->n_tsi || !n->n_tsr)
			continue;
		ts_ok = true;
		if (proposal_select(&cand->esp, &sap->u.sa, PROTO_ESP, kep ? kep->u.ke.group : 0,
				    ccsa, &cc->sel) &&
		    cc->sel.spi_len == 4)
			return cand;
	}
	cc->error = ts_ok ? N_NO_PROPOSAL_CHOSEN : N_TS_UNACCEPTABLE;
	log_msg(LOG_CHD, LOG_LVL_WARN, "%s: no child config matches: %s%s", ikesa_tag(sa),
		names_notify(cc->error, &(struct names_buf){0}),
		ts_ok ? proposal_addke_note(&sap->u.sa, PROTO_ESP) : "");
	return NULL;
}

/*
 * A new Child SA (not a rekey) may take the place of another of ours:
 * the twin of a reauthentication (returned; sa replaces its IKE SA), or
 * under unique = replace the rival from the identity's other address,
 * removed now (daemon/unique.h).
 */
static struct child_sa *predecessor(struct ikesa *sa, const struct child_cfg *cfg,
				    enum config_mode mode, const struct narrowed *n)
{
	/* Our local selectors are the narrowed TSr, the peer's the narrowed TSi. */
	struct child_sa *twin = reauth_twin(sa, cfg, mode, n->tsr, n->n_tsr, n->tsi, n->n_tsi);
	/*
	 * unique = replace, the identity's IKE SA from another address: the
	 * kernel holds one policy per selector, naming that peer, so its Child
	 * SA with our selectors goes now (the IKE SA follows).
	 */
	struct child_sa *rival = twin || sa->state == IKESA_ESTABLISHED ? NULL :
		like_child(sa, cfg, mode, n->tsr, n->n_tsr, n->tsi, n->n_tsi, true);
	if (rival) {
		struct ikesa *ro = rival->ike;
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s takes the selectors of %08x of IKE SA "
			"%016" PRIx64 "_i, which it replaces (unique = replace)", ikesa_tag(sa),
			cfg->name, ntohl(rival->spi_in), ro->spi_i);
		child_kernel_remove(ro, rival);
	}
	/* The peer reauthenticates the twin's IKE SA: sa replaces it (an if_id = %unique stays). */
	if (twin && !sa->reauth_of)
		sa->reauth_of = twin->ike->local_spi_key;
	return twin;
}

/* c, installed, sends once the twin it replaces goes, or after REAUTH_OUT_WAIT_MS. */
static void follow_twin(struct ikesa *sa, struct child_sa *twin, struct child_sa *c)
{
	log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s replaces %08x of IKE SA %016" PRIx64
		"_i (reauthentication): sending on it once that one goes", ikesa_tag(sa),
		c->cfg->name, ntohl(twin->spi_in), twin->ike->spi_i);
	twin->heir = c->spi_in;
	timer_cancel(sa->e->env.loop, &c->out_timer);
	timer_init(&c->out_timer, heir_out_timeout, c);
	timer_arm_in(sa->e->env.loop, &c->out_timer, REAUTH_OUT_WAIT_MS);
}

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct child_create *cc = (struct child_create *)t;
	struct names_buf nb;
	const struct ike_payload *kep = NULL;
	struct child_sa *old = NULL;
	if (m->hdr.exchange == CREATE_CHILD_SA) {
		if (!ccsa_request_ok(cc, sa, m, &old))
			return TASK_FAILED;
		kep = message_find(m, PL_KE, NULL);
	}
	if (!message_find(m, PL_SA, NULL) || !message_find(m, PL_TSI, NULL) ||
	    !message_find(m, PL_TSR, NULL)) {
		cc->error = N_INVALID_SYNTAX;
		return TASK_FAILED;
	}
	if (vip_failed(sa)) {
		/* RFC 7296 3.10.1: no Child SA without the address it asked for (logged by vip.c). */
		cc->error = N_INTERNAL_ADDRESS_FAILURE;
		return TASK_FAILED;
	}
	bool transport = message_find_notify(m, N_USE_TRANSPORT_MODE) != NULL;
	struct narrowed n;
	const struct child_cfg *cfg = select_cfg(cc, sa, m, old, kep, &n);
	if (!cfg)
		return TASK_FAILED;
	if (cc->sel.dh && (!kep || kep->u.ke.group != cc->sel.dh)) {
		/* RFC 7296 1.3: the PFS group we chose is not the one of the KE. */
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s: KE for %s, we chose %s: "
			"INVALID_KE_PAYLOAD", ikesa_tag(sa), cfg->name,
			kep ? names_dh(kep->u.ke.group, &nb) : "none",
			names_dh(cc->sel.dh, &(struct names_buf){0}));
		cc->invalid_ke = cc->sel.dh;
		return TASK_FAILED;
	}
	if (transport != (cfg->mode == CONFIG_MODE_TRANSPORT)) {
		/* RFC 7296 1.3.1: without USE_TRANSPORT_MODE both sides use tunnel mode. */
		if (!transport) {
			cc->error = N_NO_PROPOSAL_CHOSEN;
			log_msg(LOG_CHD, LOG_LVL_WARN, "%s: Child SA %s needs transport mode, peer asks "
				"for tunnel: NO_PROPOSAL_CHOSEN", ikesa_tag(sa), cfg->name);
			return TASK_FAILED;
		}
		transport = false; /* we answer without the notify: tunnel mode */
	}
	if (cc->sel.dh) {
		cc->dh = dh_new(cc->sel.dh, sa->e->env.rng);
		if (!cc->dh || dh_shared(cc->dh, kep->u.ke.data.ptr, kep->u.ke.data.len,
					 &cc->shared) != 0) {
			log_msg(LOG_CHD, LOG_LVL_WARN, "%s: Child SA %s: invalid KE from the peer",
				ikesa_tag(sa), cfg->name);
			cc->error = N_INVALID_SYNTAX;
			return TASK_FAILED;
		}
	}
	cc->cfg = cfg;
	enum config_mode mode = transport ? CONFIG_MODE_TRANSPORT : CONFIG_MODE_TUNNEL;
	struct child_sa *twin = old ? NULL : predecessor(sa, cfg, mode, &n);
	/* The replaced SA's reqid keeps the policies as they are (child_kernel.c). */
	struct child_sa *c = child_new(sa, cfg, old ? old->reqid : twin ? twin->reqid : 0);
	if (!c) {
		cc->error = N_NO_PROPOSAL_CHOSEN;
		return TASK_FAILED;
	}
	c->mode = mode;
	c->peer_created = true;
	c->replaces = old ? old->spi_in : 0;
	memcpy(&c->spi_out, cc->sel.spi, 4);
	set_suite(c, &cc->sel);
	memcpy(c->local_ts, n.tsr, n.n_tsr * sizeof(struct ike_ts));
	memcpy(c->remote_ts, n.tsi, n.n_tsi * sizeof(struct ike_ts));
	c->n_local_ts = n.n_tsr;
	c->n_remote_ts = n.n_tsi;
	sa->e->kernel_err[0] = 0;
	if (child_kernel_alloc_spi(sa, c) != 0) {
		free(c);
		/* The conn's failure names the kernel's reason; the peer only learns the refusal. */
		sa_event_child(sa, NULL, cc->cfg, EV_CHILD_FAILED, "%s", sa->e->kernel_err);
		cc->told = true;
		cc->error = N_NO_PROPOSAL_CHOSEN;
		return TASK_FAILED;
	}
	/* A successor lives beside the SA it replaces (an IKE rekey may have moved that). */
	struct ikesa *owner = old ? old->ike : sa;
	ikesa_link_child(owner, c);
	const uint8_t *ni, *nr;
	size_t ni_len, nr_len;
	exchange_nonces(cc, sa, false, &ni, &ni_len, &nr, &nr_len);
	/* A rekey's (or reauthentication's) responder sends on the new SA once the old one goes. */
	int irc = install(sa, c, cc->shared, ni, ni_len, nr, nr_len, false, old || twin);
	if (irc != 0) {
		/*
		 * As strongSwan: an SA we cannot install is answered
		 * NO_PROPOSAL_CHOSEN; selectors another tunnel holds (the
		 * kernel's EEXIST, logged with the holder) TS_UNACCEPTABLE.
		 */
		child_kernel_remove(owner, c);
		cc->error = irc == -EEXIST ? N_TS_UNACCEPTABLE : N_NO_PROPOSAL_CHOSEN;
		cc->told = true; /* install() emitted the kernel's reason */
		return TASK_FAILED;
	}
	ikesa_link_child(owner, c); /* index the outbound SPI too */
	if (twin)
		follow_twin(sa, twin, c);
	cc->child = c; /* borrowed: it is linked into the SA */
	cc->sel.spi_len = 4;
	memcpy(cc->sel.spi, &c->spi_in, 4);
	return TASK_DONE;
}

static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct child_create *cc = (struct child_create *)t;
	if (cc->invalid_ke) {
		ke_build_invalid(b, cc->invalid_ke);
		return TASK_FAILED;
	}
	if (cc->error) {
		/* Refused: the conn's failure (not the protocol's own retry signals). */
		if (cc->error != N_TEMPORARY_FAILURE && cc->error != N_CHILD_SA_NOT_FOUND &&
		    !cc->told)
			sa_event_child(sa, NULL, cc->cfg, EV_CHILD_FAILED, "%s: refused the peer's "
				       "Child SA request", names_notify(cc->error, &(struct names_buf){0}));
		/* CHILD_SA_NOT_FOUND carries the SPI of the REKEY_SA (RFC 7296 2.25). */
		if (cc->error == N_CHILD_SA_NOT_FOUND)
			payload_build_notify_simple(b, PROTO_ESP, cc->error, &cc->error_spi, 4, NULL, 0);
		else
			payload_build_notify_simple(b, PROTO_NONE, cc->error, NULL, 0, NULL, 0);
		return TASK_FAILED;
	}
	struct child_sa *c = cc->child;
	if (c->mode == CONFIG_MODE_TRANSPORT)
		payload_build_notify_simple(b, PROTO_NONE, N_USE_TRANSPORT_MODE, NULL, 0, NULL, 0);
	proposal_build_answer(b, &cc->sel);
	if (cc->peer_nonce)
		payload_build_nonce(b, &(struct ike_nonce){{cc->nonce, sizeof(cc->nonce)}});
	if (cc->dh)
		ke_build(b, cc->dh);
	add_ts(b, PL_TSI, c->remote_ts, c->n_remote_ts);
	add_ts(b, PL_TSR, c->local_ts, c->n_local_ts);
	return TASK_DONE;
}

static void child_create_free(struct task *t)
{
	struct child_create *cc = (struct child_create *)t;
	/* cc->child, if any, is linked into its IKE SA, which frees it. */
	dh_free(cc->dh);
	secret_free(cc->shared);
	crypto_wipe(cc->nonce, sizeof(cc->nonce));
	free(cc);
}

static const struct task_ops child_create_ops = {
	.name = "CHILD_CREATE",
	.exchange = IKE_AUTH,
	.build_i = build_i,
	.process_i = process_i,
	.process_r = process_r,
	.build_r = build_r,
	.free = child_create_free,
};

/* The same task for an additional or rekeyed Child SA in its own exchange (RFC 7296 1.3). */
const struct task_ops child_create_ccsa_ops = {
	.name = "CHILD_CREATE",
	.exchange = CREATE_CHILD_SA,
	.build_i = build_i,
	.process_i = process_i,
	.process_r = process_r,
	.build_r = build_r,
	.free = child_create_free,
};

struct task *task_child_create_new(const struct child_cfg *cfg)
{
	struct child_create *cc = calloc(1, sizeof(*cc));
	if (!cc)
		return NULL;
	cc->t.ops = &child_create_ops;
	cc->cfg = cfg;
	return &cc->t;
}

struct task *task_child_create_ccsa_new(const struct child_cfg *cfg)
{
	struct task *t = task_child_create_new(cfg);
	if (t)
		t->ops = &child_create_ccsa_ops;
	return t;
}

struct task *task_child_reauth_new(const struct child_sa *old, bool in_ike_auth)
{
	struct task *t = in_ike_auth ? task_child_create_new(old->cfg)
				     : task_child_create_ccsa_new(old->cfg);
	if (!t)
		return NULL;
	struct child_create *cc = (struct child_create *)t;
	cc->reqid = old->reqid;
	cc->fixed_ts = true;
	cc->mode = old->mode;
	cc->n_sent_tsi = old->n_local_ts;
	cc->n_sent_tsr = old->n_remote_ts;
	memcpy(cc->sent_tsi, old->local_ts, old->n_local_ts * sizeof(struct ike_ts));
	memcpy(cc->sent_tsr, old->remote_ts, old->n_remote_ts * sizeof(struct ike_ts));
	return t;
}
