/*
 * IKE_AUTH with a pre-shared key (RFC 7296 1.2, 2.15):
 *
 *   HDR, SK { IDi, [IDr,] AUTH, SAi2, TSi, TSr }  -->
 *                               <--  HDR, SK { IDr, AUTH, SAr2, TSi, TSr }
 *
 * AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <SignedOctets>), where the
 * initiator signs its IKE_SA_INIT request, Nr and prf(SK_pi, IDi'), and the
 * responder its IKE_SA_INIT response, Ni and prf(SK_pr, IDr'). The SA/TS
 * payloads belong to the child_create task that rides along.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keymat.h"
#include "crypto/prf.h"
#include "daemon/engine.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/names.h"
#include "daemon/task.h"
#include "daemon/timers.h"

struct auth_task {
	struct task t;
	uint16_t error; /* responder: notify to answer with instead */
};

/* The ID payload body (RFC 7296 3.5: type, 3 reserved octets, data) of our identity. */
static size_t own_id(const struct ikesa *sa, uint8_t *out, size_t cap)
{
	const struct config_id *id = &sa->conn->local_id;
	if (id->type) {
		if ((size_t)id->len + 4 > cap)
			return 0;
		out[0] = id->type;
		memset(out + 1, 0, 3);
		memcpy(out + 4, id->data, id->len);
		return (size_t)id->len + 4;
	}
	/* No local_id: our address (RFC 7296 3.5 allows address identities). */
	memset(out, 0, 4);
	if (sa->local.ss_family == AF_INET) {
		out[0] = ID_IPV4_ADDR;
		memcpy(out + 4, &((const struct sockaddr_in *)&sa->local)->sin_addr, 4);
		return 8;
	}
	out[0] = ID_IPV6_ADDR;
	memcpy(out + 4, &((const struct sockaddr_in6 *)&sa->local)->sin6_addr, 16);
	return 20;
}

/* Whether the identity the peer sent is the one conn expects of it. */
static bool peer_id_ok(const struct conn_cfg *conn, const struct sockaddr_storage *remote,
		       const struct ike_id *id)
{
	const struct config_id *want = &conn->remote_id;
	if (want->any)
		return true;
	if (want->type)
		return want->type == id->type && want->len == id->data.len &&
		       memcmp(want->data, id->data.ptr, want->len) == 0;
	/* No remote_id: the peer's address. */
	if (remote->ss_family == AF_INET)
		return id->type == ID_IPV4_ADDR && id->data.len == 4 &&
		       memcmp(id->data.ptr, &((const struct sockaddr_in *)remote)->sin_addr, 4) == 0;
	return id->type == ID_IPV6_ADDR && id->data.len == 16 &&
	       memcmp(id->data.ptr, &((const struct sockaddr_in6 *)remote)->sin6_addr, 16) == 0;
}

static bool own_id_is(const struct conn_cfg *conn, const struct ike_id *id)
{
	const struct config_id *me = &conn->local_id;
	if (!me->type)
		return true; /* address identity: whatever the peer calls us */
	return me->type == id->type && me->len == id->data.len &&
	       memcmp(me->data, id->data.ptr, me->len) == 0;
}

static bool addr_match(const struct sockaddr_storage *cfg, const struct sockaddr_storage *a)
{
	if (cfg->ss_family == AF_UNSPEC)
		return true;
	if (cfg->ss_family != a->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)cfg)->sin_addr,
			      &((const struct sockaddr_in *)a)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)cfg)->sin6_addr,
		      &((const struct sockaddr_in6 *)a)->sin6_addr, 16) == 0;
}

/* AUTH value for one side; 0 on success. */
static int compute_auth(struct ikesa *sa, bool of_initiator, const uint8_t *id_body, size_t idlen,
			uint8_t *out)
{
	if (!sa->conn->psk)
		return -1;
	const uint8_t *msg = of_initiator ? sa->init_req : sa->init_resp;
	size_t msglen = of_initiator ? sa->init_req_len : sa->init_resp_len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nlen = of_initiator ? sa->nr_len : sa->ni_len;
	const struct secret *skp = of_initiator ? sa->keys.sk_pi : sa->keys.sk_pr;
	if (!msg || !nonce)
		return -1;
	return keymat_psk_auth(sa->suite.prf, sa->conn->psk->data, sa->conn->psk->len, msg, msglen,
			       nonce, nlen, skp, id_body, idlen, out);
}

/* Our ID payload, the optional IDr (initiator, RFC 7296 3.5: before AUTH), then AUTH. */
static void add_id_auth(struct ikesa *sa, struct ike_builder *b, uint8_t id_type_pl,
			const struct ike_id *idr)
{
	uint8_t body[CONFIG_ID_MAX + 4] = {0};
	size_t len = own_id(sa, body, sizeof(body));
	if (len < 4) {
		b->err = true;
		return;
	}
	struct ike_id id = {.type = body[0], .data = {body + 4, len - 4}};
	payload_build_id(b, id_type_pl, &id);
	if (idr)
		payload_build_id(b, PL_IDR, idr);
	uint8_t mac[PRF_OUT_MAX];
	if (compute_auth(sa, sa->initiator, body, len, mac) != 0) {
		b->err = true;
		return;
	}
	struct ike_auth a = {.method = AUTH_SHARED_KEY_MIC,
			     .data = {mac, prf_out_len(sa->suite.prf)}};
	payload_build_auth(b, &a);
	crypto_wipe(mac, sizeof(mac));
}

/* Verify the peer's AUTH over its ID payload body. */
static bool verify_auth(struct ikesa *sa, const struct ike_payload *idp,
			const struct ike_payload *authp)
{
	const struct ike_auth *a = &authp->u.auth;
	struct names_buf nb;
	if (a->method != AUTH_SHARED_KEY_MIC) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: peer authenticates with %s, we expect a "
			"pre-shared key", ikesa_tag(sa), names_auth_method(a->method, &nb));
		return false;
	}
	uint8_t mac[PRF_OUT_MAX];
	size_t mlen = prf_out_len(sa->suite.prf);
	if (compute_auth(sa, !sa->initiator, idp->body.ptr, idp->body.len, mac) != 0)
		return false;
	bool ok = a->data.len == mlen && sodium_memcmp(mac, a->data.ptr, mlen) == 0;
	crypto_wipe(mac, sizeof(mac));
	return ok;
}

static void remember_peer(struct ikesa *sa, const struct ike_id *id)
{
	size_t n = id->data.len < sizeof(sa->peer_id) ? id->data.len : sizeof(sa->peer_id);
	sa->peer_id_type = id->type;
	memcpy(sa->peer_id, id->data.ptr, n);
	sa->peer_id_len = (uint16_t)n;
}

static void established(struct ikesa *sa)
{
	/* RFC 7296 2.15: the IKE_SA_INIT messages are no longer needed. */
	free(sa->init_req);
	free(sa->init_resp);
	sa->init_req = sa->init_resp = NULL;
	sa->established_ms = engine_now(sa->e);
	sa->e->stats.ike_established++;
	ikesa_set_state(sa, IKESA_ESTABLISHED);
	timers_on_ike_established(sa);
}

/* ---- initiator ---- */

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	(void)t;
	/* IDr tells the responder which of its identities we expect (RFC 7296 3.5). */
	const struct config_id *r = &sa->conn->remote_id;
	struct ike_id idr = {.type = r->type, .data = {r->data, r->len}};
	add_id_auth(sa, b, PL_IDI, r->type && !r->any ? &idr : NULL);
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static enum task_status process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	(void)t;
	struct names_buf nb;
	const struct ike_payload *idp = message_find(m, PL_IDR, NULL);
	const struct ike_payload *authp = message_find(m, PL_AUTH, NULL);
	const struct ike_notify *err = message_find_error_notify(m);
	if (!idp || !authp) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: IKE_AUTH failed: peer answered %s", ikesa_tag(sa),
			err ? names_notify(err->type, &nb) : "without IDr/AUTH");
		sa->e->stats.ike_failed++;
		return TASK_DESTROY;
	}
	if (!peer_id_ok(sa->conn, &sa->remote, &idp->u.id)) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: peer identity (%s) is not the configured "
			"remote_id: AUTHENTICATION_FAILED", ikesa_tag(sa),
			names_id_type(idp->u.id.type, &nb));
		sa->e->stats.ike_failed++;
		return TASK_DESTROY;
	}
	if (!verify_auth(sa, idp, authp)) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: the peer's AUTH payload does not verify "
			"(wrong pre-shared key?): AUTHENTICATION_FAILED", ikesa_tag(sa));
		sa->e->stats.ike_failed++;
		return TASK_DESTROY;
	}
	remember_peer(sa, &idp->u.id);
	established(sa);
	return TASK_DONE;
}

/* ---- responder ---- */

/*
 * Pick the conn for this peer now that its identity is known: the current
 * one if it fits, else another with matching addresses and identities
 * (RFC 7296 2.15 leaves the lookup to the implementation).
 */
static const struct conn_cfg *find_conn(struct ikesa *sa, const struct ike_id *idi,
					const struct ike_id *idr)
{
	const struct xiked_config *cfg = sa->cfgref->cfg;
	const struct conn_cfg *cur = sa->conn;
	if (peer_id_ok(cur, &sa->remote, idi) && (!idr || own_id_is(cur, idr)))
		return cur;
	for (size_t i = 0; i < cfg->n_conns; i++) {
		const struct conn_cfg *c = &cfg->conns[i];
		if (c == cur || !addr_match(&c->remote_addr, &sa->remote) ||
		    !addr_match(&c->local_addr, &sa->local))
			continue;
		if (peer_id_ok(c, &sa->remote, idi) && (!idr || own_id_is(c, idr)))
			return c;
	}
	return NULL;
}

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct auth_task *a = (struct auth_task *)t;
	const struct ike_payload *idp = message_find(m, PL_IDI, NULL);
	const struct ike_payload *idrp = message_find(m, PL_IDR, NULL);
	const struct ike_payload *authp = message_find(m, PL_AUTH, NULL);
	char idtxt[64] = "";
	/*
	 * The acceptance table lets through IKE_AUTH requests without AUTH
	 * (asking for EAP, RFC 7296 2.16) and EAP rounds without IDi; xiked
	 * authenticates with pre-shared keys only, so both fail here.
	 */
	if (!idp || !authp) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: IKE_AUTH request without %s (EAP is not "
			"supported): AUTHENTICATION_FAILED", ikesa_tag(sa), idp ? "AUTH" : "IDi");
		a->error = N_AUTHENTICATION_FAILED;
		sa->e->stats.ike_failed++;
		return TASK_DESTROY;
	}
	if (idp->u.id.type == ID_FQDN || idp->u.id.type == ID_RFC822_ADDR) {
		size_t n = idp->u.id.data.len < sizeof(idtxt) - 1 ? idp->u.id.data.len
								  : sizeof(idtxt) - 1;
		memcpy(idtxt, idp->u.id.data.ptr, n);
		idtxt[n] = 0;
		for (size_t i = 0; i < n; i++)
			if (idtxt[i] < 0x20 || idtxt[i] > 0x7e)
				idtxt[i] = '?';
	} else if (idp->u.id.type == ID_IPV4_ADDR && idp->u.id.data.len == 4) {
		inet_ntop(AF_INET, idp->u.id.data.ptr, idtxt, sizeof(idtxt));
	} else if (idp->u.id.type == ID_IPV6_ADDR && idp->u.id.data.len == 16) {
		inet_ntop(AF_INET6, idp->u.id.data.ptr, idtxt, sizeof(idtxt));
	}
	const struct conn_cfg *c = find_conn(sa, &idp->u.id, idrp ? &idrp->u.id : NULL);
	if (!c) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: no connection for peer identity '%s': "
			"AUTHENTICATION_FAILED", ikesa_tag(sa), idtxt);
		a->error = N_AUTHENTICATION_FAILED;
		sa->e->stats.ike_failed++;
		return TASK_DESTROY;
	}
	if (c != sa->conn) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: peer '%s' switches to connection %s",
			ikesa_tag(sa), idtxt, c->name);
		sa->conn = c;
	}
	if (!verify_auth(sa, idp, authp)) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: AUTH of peer '%s' does not verify (wrong "
			"pre-shared key?): AUTHENTICATION_FAILED", ikesa_tag(sa), idtxt);
		a->error = N_AUTHENTICATION_FAILED;
		sa->e->stats.ike_failed++;
		return TASK_DESTROY;
	}
	remember_peer(sa, &idp->u.id);
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: peer '%s' authenticated with a pre-shared key",
		ikesa_tag(sa), idtxt);
	return TASK_DONE;
}

static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct auth_task *a = (struct auth_task *)t;
	if (a->error) {
		payload_build_notify_simple(b, PROTO_NONE, a->error, NULL, 0, NULL, 0);
		return TASK_DESTROY;
	}
	add_id_auth(sa, b, PL_IDR, NULL);
	if (b->err)
		return TASK_DESTROY;
	established(sa);
	return TASK_DONE;
}

static void ike_auth_free(struct task *t)
{
	free(t);
}

static const struct task_ops ike_auth_ops = {
	.name = "IKE_AUTH",
	.exchange = IKE_AUTH,
	.build_i = build_i,
	.process_i = process_i,
	.process_r = process_r,
	.build_r = build_r,
	.free = ike_auth_free,
};

struct task *task_ike_auth_new(void)
{
	struct auth_task *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->t.ops = &ike_auth_ops;
	return &a->t;
}
