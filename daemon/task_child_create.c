/*
 * Child SA creation (RFC 7296 1.2 inside IKE_AUTH, 1.3.1 CREATE_CHILD_SA):
 *
 *   SAi2, TSi, TSr [, N(USE_TRANSPORT_MODE)]  -->
 *                          <--  SAr2, TSi, TSr [, N(USE_TRANSPORT_MODE)]
 *
 * Traffic selectors are narrowed by the responder (2.9); the KEYMAT comes
 * from SK_d and the nonces (2.17). The responder installs before it
 * answers, so its inbound SA is ready when the initiator starts sending.
 * Rekeying (REKEY_SA) and PFS come with the rekey work.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keymat.h"
#include "daemon/child_kernel.h"
#include "daemon/engine.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/names.h"
#include "daemon/proposal.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/ts.h"

#define CHILD_NONCE_LEN 32

struct child_create {
	struct task t;
	const struct child_cfg *cfg;
	struct child_sa *child;  /* being negotiated; linked into the SA once created */
	uint16_t error;          /* responder: notify instead of SA/TS */
	struct ike_ts sent_tsi[CHILD_TS_MAX], sent_tsr[CHILD_TS_MAX];
	size_t n_sent_tsi, n_sent_tsr;
	uint8_t nonce[CHILD_NONCE_LEN]; /* CREATE_CHILD_SA: our nonce */
	const uint8_t *peer_nonce;
	size_t peer_nonce_len;
	struct proposal_sel sel;
};

/* Config selectors -> wire selectors, %dynamic becoming the SA's address. */
static size_t cfg_ts(const struct ts_cfg_list *l, const struct sockaddr_storage *addr,
		     struct ike_ts *out)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n && n < CHILD_TS_MAX; i++) {
		const struct ts_cfg *c = &l->ts[i];
		if (c->dynamic) {
			const uint8_t *a = addr->ss_family == AF_INET
						   ? (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr
						   : (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
			ts_from_prefix(&out[n], addr->ss_family, a,
				       addr->ss_family == AF_INET ? 32 : 128, c->ip_proto,
				       c->start_port, c->end_port);
		} else {
			out[n] = (struct ike_ts){.type = c->type, .ip_proto = c->ip_proto,
						 .start_port = c->start_port, .end_port = c->end_port};
			memcpy(out[n].start, c->start, 16);
			memcpy(out[n].end, c->end, 16);
		}
		n++;
	}
	return n;
}

static struct child_sa *child_new(struct ikesa *sa, const struct child_cfg *cfg)
{
	struct child_sa *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = cfg;
	c->mode = cfg->mode;
	c->reqid = engine_alloc_reqid(sa->e);
	c->state = CHILD_CREATED;
	return c;
}

static void add_ts(struct ike_builder *b, uint8_t type, const struct ike_ts *ts, size_t n)
{
	struct ike_ts_list l = {.n = (uint8_t)n, .ts = ts};
	payload_build_ts(b, type, &l);
}

static void log_installed(struct ikesa *sa, struct child_sa *c)
{
	char l[TS_STRLEN], r[TS_STRLEN];
	log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s installed: SPIs %08x_i %08x_o, %s === %s%s, %s",
		ikesa_tag(sa), c->cfg->name, ntohl(c->spi_in), ntohl(c->spi_out),
		ts_to_string(&c->local_ts[0], l, sizeof(l)),
		ts_to_string(&c->remote_ts[0], r, sizeof(r)),
		c->n_local_ts > 1 || c->n_remote_ts > 1 ? " (and more)" : "",
		c->mode == CONFIG_MODE_TUNNEL ? "tunnel" : "transport");
}

/* Derive KEYMAT and install; the exchange's nonces are ni/nr. */
static int install(struct ikesa *sa, struct child_sa *c, const uint8_t *ni, size_t ni_len,
		   const uint8_t *nr, size_t nr_len)
{
	size_t len = child_keymat_len(&c->suite);
	struct secret *km = NULL;
	if (len == 0 || keymat_derive_child(sa->suite.prf, sa->keys.sk_d, NULL, ni, ni_len, nr,
					    nr_len, len, &km) != 0) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA key derivation failed", ikesa_tag(sa));
		return -1;
	}
	int rc = child_kernel_install(sa, c, km, false);
	secret_free(km);
	if (rc != 0) {
		sa->e->stats.child_failed++;
		child_set_state(sa, c, CHILD_FAILED);
		return rc;
	}
	c->installed_ms = engine_now(sa->e);
	child_set_state(sa, c, CHILD_INSTALLED);
	sa->e->stats.child_installed++;
	log_installed(sa, c);
	return 0;
}

static void set_suite(struct child_sa *c, const struct proposal_sel *s)
{
	c->suite = (struct esp_suite){.encr = s->encr, .encr_keylen = s->keylen, .integ = s->integ,
				      .dh = s->dh, .esn = s->has_esn && s->esn == ESN_YES};
}

static bool exchange_nonces(struct child_create *cc, struct ikesa *sa, bool initiator,
			    const uint8_t **ni, size_t *ni_len, const uint8_t **nr, size_t *nr_len)
{
	if (!cc->peer_nonce) {
		/* IKE_AUTH: the IKE SA's nonces (RFC 7296 2.17). */
		*ni = sa->ni, *ni_len = sa->ni_len, *nr = sa->nr, *nr_len = sa->nr_len;
		return true;
	}
	if (initiator) {
		*ni = cc->nonce, *ni_len = CHILD_NONCE_LEN;
		*nr = cc->peer_nonce, *nr_len = cc->peer_nonce_len;
	} else {
		*ni = cc->peer_nonce, *ni_len = cc->peer_nonce_len;
		*nr = cc->nonce, *nr_len = CHILD_NONCE_LEN;
	}
	return true;
}

/* ---- initiator ---- */

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct child_create *cc = (struct child_create *)t;
	struct child_sa *c = child_new(sa, cc->cfg);
	if (!c)
		return TASK_FAILED;
	/* Linked at once so that the IKE SA's end also releases the SPI. */
	ikesa_link_child(sa, c);
	if (child_kernel_alloc_spi(sa, c) != 0) {
		/* Negotiating anyway would leave the peer with an SA we cannot install. */
		ikesa_remove_child(sa, c);
		return TASK_FAILED;
	}
	ikesa_link_child(sa, c);
	cc->child = c;
	uint32_t spi = c->spi_in;
	if (t->ops->exchange == CREATE_CHILD_SA) {
		rng_fill(sa->e->env.rng, cc->nonce, sizeof(cc->nonce));
		payload_build_nonce(b, &(struct ike_nonce){{cc->nonce, sizeof(cc->nonce)}});
	}
	if (cc->cfg->mode == CONFIG_MODE_TRANSPORT)
		payload_build_notify_simple(b, PROTO_NONE, N_USE_TRANSPORT_MODE, NULL, 0, NULL, 0);
	proposal_build_offer(b, &cc->cfg->esp, PROTO_ESP, (const uint8_t *)&spi, 4, false, 0);
	cc->n_sent_tsi = cfg_ts(&cc->cfg->local_ts, &sa->local, cc->sent_tsi);
	cc->n_sent_tsr = cfg_ts(&cc->cfg->remote_ts, &sa->remote, cc->sent_tsr);
	add_ts(b, PL_TSI, cc->sent_tsi, cc->n_sent_tsi);
	add_ts(b, PL_TSR, cc->sent_tsr, cc->n_sent_tsr);
	return TASK_DONE;
}

static void drop_child(struct ikesa *sa, struct child_create *cc)
{
	if (!cc->child)
		return;
	ikesa_remove_child(sa, cc->child);
	cc->child = NULL;
}

static enum task_status process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct child_create *cc = (struct child_create *)t;
	struct names_buf nb;
	if (!cc->child)
		return TASK_FAILED;
	if (sa->state != IKESA_ESTABLISHED) {
		drop_child(sa, cc);
		return TASK_FAILED;
	}
	const struct ike_payload *sap = message_find(m, PL_SA, NULL);
	const struct ike_payload *tsi = message_find(m, PL_TSI, NULL);
	const struct ike_payload *tsr = message_find(m, PL_TSR, NULL);
	if (!sap || !tsi || !tsr) {
		const struct ike_notify *n = message_find_error_notify(m);
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s not created: peer answered %s",
			ikesa_tag(sa), cc->cfg->name, n ? names_notify(n->type, &nb) : "no SA");
		drop_child(sa, cc);
		return TASK_FAILED;
	}
	struct child_sa *c = cc->child;
	if (!proposal_check_answer(&cc->cfg->esp, &sap->u.sa, PROTO_ESP, false, &cc->sel) ||
	    cc->sel.spi_len != 4) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s: the peer chose an ESP proposal we "
			"did not offer", ikesa_tag(sa), cc->cfg->name);
		drop_child(sa, cc);
		return TASK_FAILED;
	}
	if (!ts_all_within(tsi->u.ts.ts, tsi->u.ts.n, cc->sent_tsi, cc->n_sent_tsi) ||
	    !ts_all_within(tsr->u.ts.ts, tsr->u.ts.n, cc->sent_tsr, cc->n_sent_tsr) ||
	    tsi->u.ts.n > CHILD_TS_MAX || tsr->u.ts.n > CHILD_TS_MAX) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s: the peer's traffic selectors are "
			"not within ours", ikesa_tag(sa), cc->cfg->name);
		drop_child(sa, cc);
		return TASK_FAILED;
	}
	bool transport = message_find_notify(m, N_USE_TRANSPORT_MODE) != NULL;
	if (transport != (cc->cfg->mode == CONFIG_MODE_TRANSPORT)) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: Child SA %s: the peer did not accept %s mode",
			ikesa_tag(sa), cc->cfg->name, transport ? "tunnel" : "transport");
		drop_child(sa, cc);
		return TASK_FAILED;
	}
	memcpy(&c->spi_out, cc->sel.spi, 4);
	set_suite(c, &cc->sel);
	memcpy(c->local_ts, tsi->u.ts.ts, tsi->u.ts.n * sizeof(struct ike_ts));
	memcpy(c->remote_ts, tsr->u.ts.ts, tsr->u.ts.n * sizeof(struct ike_ts));
	c->n_local_ts = tsi->u.ts.n;
	c->n_remote_ts = tsr->u.ts.n;
	const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
	if (np) {
		cc->peer_nonce = np->u.nonce.data.ptr;
		cc->peer_nonce_len = np->u.nonce.data.len;
	}
	const uint8_t *ni, *nr;
	size_t ni_len, nr_len;
	exchange_nonces(cc, sa, true, &ni, &ni_len, &nr, &nr_len);
	cc->child = NULL;
	if (install(sa, c, ni, ni_len, nr, nr_len) != 0) {
		/* The peer installed its side: tell it to delete it (RFC 7296 1.4.1). */
		uint32_t spi_in = c->spi_in;
		ikesa_remove_child(sa, c);
		struct task *d = task_delete_new(spi_in);
		if (d)
			tm_queue(sa, d);
		return TASK_FAILED;
	}
	return TASK_DONE;
}

/* ---- responder ---- */

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct child_create *cc = (struct child_create *)t;
	struct names_buf nb;
	const struct ike_payload *sap = message_find(m, PL_SA, NULL);
	const struct ike_payload *tsi = message_find(m, PL_TSI, NULL);
	const struct ike_payload *tsr = message_find(m, PL_TSR, NULL);
	if (m->hdr.exchange == CREATE_CHILD_SA) {
		const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
		if (sa->state != IKESA_ESTABLISHED || message_find_notify(m, N_REKEY_SA) ||
		    message_find(m, PL_KE, NULL) || !np ||
		    (sap && sap->u.sa.n_proposals && sap->u.sa.proposals[0].protocol == PROTO_IKE)) {
			/* Rekeying and PFS are not implemented yet: refuse cleanly. */
			log_msg(LOG_CHD, LOG_LVL_WARN, "%s: CREATE_CHILD_SA (rekey/PFS) not supported "
				"yet: NO_ADDITIONAL_SAS", ikesa_tag(sa));
			cc->error = N_NO_ADDITIONAL_SAS;
			return TASK_FAILED;
		}
		cc->peer_nonce = np->u.nonce.data.ptr;
		cc->peer_nonce_len = np->u.nonce.data.len;
		rng_fill(sa->e->env.rng, cc->nonce, sizeof(cc->nonce));
	}
	if (!sap || !tsi || !tsr) {
		cc->error = N_INVALID_SYNTAX;
		return TASK_FAILED;
	}
	bool transport = message_find_notify(m, N_USE_TRANSPORT_MODE) != NULL;
	/* The first child config whose selectors and proposals fit. */
	struct ike_ts n_tsi[CHILD_TS_MAX], n_tsr[CHILD_TS_MAX];
	size_t nn_tsi = 0, nn_tsr = 0;
	const struct child_cfg *cfg = NULL;
	bool ts_ok = false;
	for (size_t i = 0; i < sa->conn->n_children && !cfg; i++) {
		const struct child_cfg *cand = &sa->conn->children[i];
		struct ike_ts my_local[CHILD_TS_MAX], my_remote[CHILD_TS_MAX];
		size_t nl = cfg_ts(&cand->local_ts, &sa->local, my_local);
		size_t nr = cfg_ts(&cand->remote_ts, &sa->remote, my_remote);
		/* TSi describes the initiator's side: our remote. */
		nn_tsi = ts_narrow(tsi->u.ts.ts, tsi->u.ts.n, my_remote, nr, n_tsi, CHILD_TS_MAX);
		nn_tsr = ts_narrow(tsr->u.ts.ts, tsr->u.ts.n, my_local, nl, n_tsr, CHILD_TS_MAX);
		if (!nn_tsi || !nn_tsr)
			continue;
		ts_ok = true;
		if (!proposal_select(&cand->esp, &sap->u.sa, PROTO_ESP, 0, false, &cc->sel) ||
		    cc->sel.spi_len != 4)
			continue;
		cfg = cand;
	}
	if (!cfg) {
		cc->error = ts_ok ? N_NO_PROPOSAL_CHOSEN : N_TS_UNACCEPTABLE;
		log_msg(LOG_CHD, LOG_LVL_WARN, "%s: no child config matches: %s", ikesa_tag(sa),
			names_notify(cc->error, &nb));
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
	cc->cfg = cfg;
	struct child_sa *c = child_new(sa, cfg);
	if (!c) {
		cc->error = N_NO_PROPOSAL_CHOSEN;
		return TASK_FAILED;
	}
	c->mode = transport ? CONFIG_MODE_TRANSPORT : CONFIG_MODE_TUNNEL;
	memcpy(&c->spi_out, cc->sel.spi, 4);
	set_suite(c, &cc->sel);
	memcpy(c->local_ts, n_tsr, nn_tsr * sizeof(struct ike_ts));
	memcpy(c->remote_ts, n_tsi, nn_tsi * sizeof(struct ike_ts));
	c->n_local_ts = nn_tsr;
	c->n_remote_ts = nn_tsi;
	if (child_kernel_alloc_spi(sa, c) != 0) {
		free(c);
		cc->error = N_NO_PROPOSAL_CHOSEN;
		return TASK_FAILED;
	}
	ikesa_link_child(sa, c);
	const uint8_t *ni, *nr;
	size_t ni_len, nr_len;
	exchange_nonces(cc, sa, false, &ni, &ni_len, &nr, &nr_len);
	if (install(sa, c, ni, ni_len, nr, nr_len) != 0) {
		/* As strongSwan: an SA we cannot install is answered NO_PROPOSAL_CHOSEN. */
		ikesa_remove_child(sa, c);
		cc->error = N_NO_PROPOSAL_CHOSEN;
		return TASK_FAILED;
	}
	cc->child = c; /* borrowed: it is linked into the SA */
	cc->sel.spi_len = 4;
	memcpy(cc->sel.spi, &c->spi_in, 4);
	return TASK_DONE;
}

static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	(void)sa;
	struct child_create *cc = (struct child_create *)t;
	if (cc->error) {
		payload_build_notify_simple(b, PROTO_NONE, cc->error, NULL, 0, NULL, 0);
		return TASK_FAILED;
	}
	struct child_sa *c = cc->child;
	if (cc->peer_nonce)
		payload_build_nonce(b, &(struct ike_nonce){{cc->nonce, sizeof(cc->nonce)}});
	if (c->mode == CONFIG_MODE_TRANSPORT)
		payload_build_notify_simple(b, PROTO_NONE, N_USE_TRANSPORT_MODE, NULL, 0, NULL, 0);
	proposal_build_answer(b, &cc->sel);
	add_ts(b, PL_TSI, c->remote_ts, c->n_remote_ts);
	add_ts(b, PL_TSR, c->local_ts, c->n_local_ts);
	return TASK_DONE;
}

static void child_create_free(struct task *t)
{
	struct child_create *cc = (struct child_create *)t;
	/* cc->child, if any, is linked into its IKE SA, which frees it. */
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

/* The same task for an additional Child SA in its own exchange (RFC 7296 1.3.1). */
static const struct task_ops child_create_ccsa_ops = {
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
