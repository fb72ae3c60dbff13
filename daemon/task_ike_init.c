/*
 * IKE_SA_INIT (RFC 7296 1.2): proposals, KE, nonces, INVALID_KE_PAYLOAD
 * retry, COOKIE echo (2.6), NAT_DETECTION_* (2.23), and
 * SIGNATURE_HASH_ALGORITHMS (RFC 7427 4).
 *
 *   HDR, SAi1, KEi, Ni, N(NAT_DETECTION_*), N(SIGNATURE_HASH_ALGORITHMS)  -->
 *                 <--  HDR, SAr1, KEr, Nr, N(NAT_DETECTION_*), N(SIGNATURE_HASH_ALGORITHMS)
 */
#include <errno.h>
#include <gcrypt.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dh.h"
#include "daemon/auth.h"
#include "daemon/engine_ctx.h"
#include "daemon/fragment.h"
#include "daemon/ikesa.h"
#include "daemon/ke.h"
#include "daemon/keylog.h"
#include "daemon/log.h"
#include "daemon/names.h"
#include "daemon/natt.h"
#include "daemon/proposal.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"

#define NONCE_LEN 32
/* How often we follow INVALID_KE_PAYLOAD or COOKIE before giving up. */
#define INIT_RETRIES_MAX 3

struct ike_init {
	struct task t;
	uint16_t group;        /* the KE group we send */
	unsigned retries;
	uint16_t error;        /* responder: error notify to send instead */
	uint16_t invalid_ke;   /* responder: group for INVALID_KE_PAYLOAD */
	bool peer_sig_hash;
	struct proposal_sel sel;
};

/* Compare the peer's NAT-D hashes with what we see (RFC 7296 2.23). */
static void check_natd(struct ikesa *sa, const struct ike_msg *m)
{
	bool src_match, dst_match;
	if (!natt_match_natd(sa, m, m->hdr.spi_i, m->hdr.spi_r, &src_match, &dst_match))
		return;
	sa->ext |= EXT_NATT;
	if (!src_match)
		sa->ext |= EXT_NAT_REMOTE;
	if (!dst_match)
		sa->ext |= EXT_NAT_LOCAL;
	if (!src_match || !dst_match)
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: NAT detected (%s%s)", ikesa_tag(sa),
			!dst_match ? "we are behind a NAT" : "",
			!src_match ? (!dst_match ? ", peer too" : "the peer is behind a NAT") : "");
}

static void add_sig_hash(struct ike_builder *b)
{
	/* RFC 7427 4: the hashes we can use for signature authentication. */
	uint8_t algs[] = {0, HASH_SHA2_256, 0, HASH_SHA2_384, 0, HASH_SHA2_512, 0, HASH_IDENTITY};
	payload_build_notify_simple(b, PROTO_NONE, N_SIGNATURE_HASH_ALGORITHMS, NULL, 0, algs,
				    sizeof(algs));
}

static int make_nonce(struct ikesa *sa, uint8_t **n, size_t *len)
{
	free(*n);
	*n = malloc(NONCE_LEN);
	if (!*n)
		return -ENOMEM;
	rng_fill(sa->e->env.rng, *n, NONCE_LEN);
	*len = NONCE_LEN;
	return 0;
}

static int make_dh(struct ikesa *sa, uint16_t group)
{
	dh_free(sa->dh);
	sa->dh = dh_new(group, sa->e->env.rng);
	return sa->dh ? 0 : -ENOTSUP;
}

/* Copy the message as it travelled: RFC 7296 2.15 signs it. */
static int keep_copy(const struct ike_msg *m, uint8_t **dst, size_t *len)
{
	free(*dst);
	*dst = malloc(m->hdr.length);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, m->raw, m->hdr.length);
	*len = m->hdr.length;
	return 0;
}

static int derive(struct ikesa *sa, const struct ike_ke *ke)
{
	struct secret *shared = NULL;
	int rc = dh_shared(sa->dh, ke->data.ptr, ke->data.len, &shared);
	if (rc != 0) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: invalid %s public value from the peer (%zu octets)",
			ikesa_tag(sa), names_dh(ke->group, &(struct names_buf){0}), ke->data.len);
		return rc;
	}
	rc = ikesa_derive_keys(sa, shared, NULL, 0);
	secret_free(shared);
	if (rc != 0)
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: key derivation failed (%d)", ikesa_tag(sa), rc);
	else
		keylog_ike_sa(sa); /* keylog = (debugging only): before the keys protect anything */
	return rc;
}

static void set_suite(struct ikesa *sa, const struct proposal_sel *s)
{
	sa->suite = (struct ike_suite){
		.encr = s->encr, .encr_keylen = s->keylen, .prf = s->prf, .integ = s->integ,
		.dh = s->dh};
	proposal_sel_format(s, sa->proposal_text, sizeof(sa->proposal_text));
}

/* ---- initiator ---- */

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct ike_init *it = (struct ike_init *)t;
	if (!it->group)
		it->group = ke_first_group(&sa->conn->ike);
	if (!it->group || make_dh(sa, it->group) != 0 ||
	    (!sa->ni && make_nonce(sa, &sa->ni, &sa->ni_len) != 0))
		return TASK_DESTROY;
	ikesa_set_state(sa, IKESA_CONNECTING);
	/* RFC 7296 2.6: the cookie goes first. */
	if (sa->cookie)
		payload_build_notify_simple(b, PROTO_NONE, N_COOKIE, NULL, 0, sa->cookie,
					    sa->cookie_len);
	proposal_build_offer(b, &sa->conn->ike, PROTO_IKE, NULL, 0, true, it->group);
	ke_build(b, sa->dh);
	payload_build_nonce(b, &(struct ike_nonce){{sa->ni, sa->ni_len}});
	natt_build_natd(sa, b, sa->spi_i, 0); /* spi_r: 0 in the request's header */
	add_sig_hash(b);
	frag_build_init_notify(sa, b, false); /* RFC 7383 2.3 */
	if (sa->conn->ppk) /* RFC 8784 3: we would mix in a PPK */
		payload_build_notify_simple(b, PROTO_NONE, N_USE_PPK, NULL, 0, NULL, 0);
	return TASK_DONE;
}

static enum task_status process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct ike_init *it = (struct ike_init *)t;
	const struct ike_notify *n;
	struct names_buf nb;
	if ((n = message_find_notify(m, N_COOKIE))) {
		if (++it->retries > INIT_RETRIES_MAX || n->data.len < 1 || n->data.len > 64)
			return TASK_DESTROY;
		free(sa->cookie);
		sa->cookie = malloc(n->data.len);
		if (!sa->cookie)
			return TASK_DESTROY;
		memcpy(sa->cookie, n->data.ptr, n->data.len);
		sa->cookie_len = n->data.len;
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: responder asks for a cookie: retrying",
			ikesa_tag(sa));
		return TASK_NEED_MORE;
	}
	if ((n = message_find_notify(m, N_INVALID_KE_PAYLOAD))) {
		uint16_t g = ke_invalid_group(n);
		if (++it->retries > INIT_RETRIES_MAX || !ke_group_offered(&sa->conn->ike, g) ||
		    !dh_supported(g) || g == it->group) {
			log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: peer wants DH group %s, which we did not "
				"offer", ikesa_tag(sa), names_dh(g, &nb));
			ikesa_set_reason(sa, "INVALID_KE_PAYLOAD: the peer wants DH group %s, which we "
					 "did not offer", names_dh(g, &nb));
			return TASK_DESTROY;
		}
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: peer prefers %s (INVALID_KE_PAYLOAD): retrying",
			ikesa_tag(sa), names_dh(g, &nb));
		it->group = g;
		return TASK_NEED_MORE;
	}
	if ((n = message_find_error_notify(m))) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: IKE_SA_INIT refused by the peer: %s", ikesa_tag(sa),
			names_notify(n->type, &nb));
		ikesa_set_reason(sa, "%s: the peer refused IKE_SA_INIT", names_notify(n->type, &nb));
		return TASK_DESTROY;
	}
	const struct ike_payload *sap = message_find(m, PL_SA, NULL);
	const struct ike_payload *kep = message_find(m, PL_KE, NULL);
	const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
	struct proposal_sel sel;
	if (!sap || !kep || !np) {
		/* The acceptance table waives SA/KE/Nr for REDIRECT (RFC 5685), which we do not follow. */
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: IKE_SA_INIT response without SA, KE and Nonce",
			ikesa_tag(sa));
		ikesa_set_reason(sa, "invalid-response: IKE_SA_INIT response without SA, KE and Nonce");
		return TASK_DESTROY;
	}
	if (!proposal_check_answer(&sa->conn->ike, &sap->u.sa, PROTO_IKE, true, &sel)) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: the peer chose a proposal we did not offer",
			ikesa_tag(sa));
		ikesa_set_reason(sa, "invalid-response: the peer chose an IKE proposal we did not "
				 "offer");
		return TASK_DESTROY;
	}
	if (kep->u.ke.group != it->group || sel.dh != it->group) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: KE group %s does not match the one we sent (%s)",
			ikesa_tag(sa), names_dh(kep->u.ke.group, &nb),
			names_dh(it->group, &(struct names_buf){0}));
		ikesa_set_reason(sa, "invalid-response: KE group does not match the one we sent");
		return TASK_DESTROY;
	}
	if (m->hdr.spi_r == 0)
		return TASK_DESTROY;
	sa->spi_r = m->hdr.spi_r;
	set_suite(sa, &sel);
	free(sa->nr);
	sa->nr = malloc(np->u.nonce.data.len);
	if (!sa->nr)
		return TASK_DESTROY;
	memcpy(sa->nr, np->u.nonce.data.ptr, np->u.nonce.data.len);
	sa->nr_len = np->u.nonce.data.len;
	if (keep_copy(m, &sa->init_resp, &sa->init_resp_len) != 0)
		return TASK_DESTROY;
	check_natd(sa, m);
	natt_float(sa); /* RFC 7296 2.23: IKE_AUTH goes to the NAT-T port */
	if (message_find_notify(m, N_SIGNATURE_HASH_ALGORITHMS))
		sa->ext |= EXT_SIG_HASH;
	frag_note_init(sa, m);
	auth_note_init(sa, m); /* the peer's hash list and CERTREQ, for IKE_AUTH */
	if (sa->conn->ppk && message_find_notify(m, N_USE_PPK))
		sa->ext |= EXT_PPK;
	int rc = derive(sa, &kep->u.ke);
	dh_free(sa->dh);
	sa->dh = NULL;
	if (rc != 0)
		return TASK_DESTROY;
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: IKE_SA_INIT done: %s", ikesa_tag(sa), sa->proposal_text);
	return TASK_DONE;
}

/* ---- responder ---- */

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct ike_init *it = (struct ike_init *)t;
	const struct ike_payload *sap = message_find(m, PL_SA, NULL);
	const struct ike_payload *kep = message_find(m, PL_KE, NULL);
	const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
	struct names_buf nb;
	ikesa_set_state(sa, IKESA_CONNECTING);
	if (!sap || !kep || !np) { /* the acceptance table requires them: defence in depth */
		it->error = N_INVALID_SYNTAX;
		return TASK_DESTROY;
	}
	if (!proposal_select(&sa->conn->ike, &sap->u.sa, PROTO_IKE, kep->u.ke.group, true,
			     &it->sel) ||
	    !dh_supported(it->sel.dh)) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: no acceptable proposal in IKE_SA_INIT: "
			"NO_PROPOSAL_CHOSEN%s", ikesa_tag(sa),
			proposal_addke_note(&sap->u.sa, PROTO_IKE));
		ikesa_set_reason(sa, "NO_PROPOSAL_CHOSEN: no acceptable proposal in the peer's "
				 "IKE_SA_INIT");
		it->error = N_NO_PROPOSAL_CHOSEN;
		return TASK_DESTROY;
	}
	if (kep->u.ke.group != it->sel.dh) {
		/* RFC 7296 1.2: tell the initiator which group to use. */
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: KE for %s, we chose %s: INVALID_KE_PAYLOAD",
			ikesa_tag(sa), names_dh(kep->u.ke.group, &nb),
			names_dh(it->sel.dh, &(struct names_buf){0}));
		it->invalid_ke = it->sel.dh;
		return TASK_DESTROY;
	}
	set_suite(sa, &it->sel);
	free(sa->ni);
	sa->ni = malloc(np->u.nonce.data.len);
	if (!sa->ni)
		return TASK_DESTROY;
	memcpy(sa->ni, np->u.nonce.data.ptr, np->u.nonce.data.len);
	sa->ni_len = np->u.nonce.data.len;
	if (keep_copy(m, &sa->init_req, &sa->init_req_len) != 0 || make_dh(sa, it->sel.dh) != 0 ||
	    make_nonce(sa, &sa->nr, &sa->nr_len) != 0)
		return TASK_DESTROY;
	if (derive(sa, &kep->u.ke) != 0) {
		it->error = N_INVALID_SYNTAX;
		return TASK_DESTROY;
	}
	check_natd(sa, m);
	it->peer_sig_hash = message_find_notify(m, N_SIGNATURE_HASH_ALGORITHMS) != NULL;
	if (it->peer_sig_hash)
		sa->ext |= EXT_SIG_HASH;
	frag_note_init(sa, m);
	auth_note_init(sa, m);
	/* RFC 8784 3: the conn is not known yet; some conn having a PPK is enough to answer. */
	if (sa->cfgref->cfg->any_ppk && message_find_notify(m, N_USE_PPK))
		sa->ext |= EXT_PPK;
	return TASK_DONE;
}

static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct ike_init *it = (struct ike_init *)t;
	if (it->error) {
		payload_build_notify_simple(b, PROTO_NONE, it->error, NULL, 0, NULL, 0);
		return TASK_DESTROY;
	}
	if (it->invalid_ke) {
		ke_build_invalid(b, it->invalid_ke);
		return TASK_DESTROY;
	}
	if (!sa->dh)
		return TASK_DESTROY;
	proposal_build_answer(b, &it->sel);
	ke_build(b, sa->dh);
	dh_free(sa->dh);
	sa->dh = NULL;
	payload_build_nonce(b, &(struct ike_nonce){{sa->nr, sa->nr_len}});
	natt_build_natd(sa, b, sa->spi_i, sa->spi_r);
	if (it->peer_sig_hash)
		add_sig_hash(b);
	frag_build_init_notify(sa, b, true);
	if (sa->ext & EXT_PPK)
		payload_build_notify_simple(b, PROTO_NONE, N_USE_PPK, NULL, 0, NULL, 0);
	auth_build_init_certreq(sa, b); /* RFC 7296 1.2: [CERTREQ] */
	return TASK_DONE;
}

static void ike_init_free(struct task *t)
{
	free(t);
}

static const struct task_ops ike_init_ops = {
	.name = "IKE_INIT",
	.exchange = IKE_SA_INIT,
	.build_i = build_i,
	.process_i = process_i,
	.process_r = process_r,
	.build_r = build_r,
	.free = ike_init_free,
};

struct task *task_ike_init_new(void)
{
	struct ike_init *it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->t.ops = &ike_init_ops;
	return &it->t;
}
