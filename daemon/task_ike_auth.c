/*
 * IKE_AUTH (RFC 7296 1.2, 2.15):
 *
 *   HDR, SK { IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, SAi2, TSi, TSr }  -->
 *                        <--  HDR, SK { IDr, [CERT,] AUTH, SAr2, TSi, TSr }
 *
 * Identities and the choice of connection are here; AUTH itself (a
 * pre-shared key MIC or a signature, each side with its own method) and
 * the certificates are daemon/auth.h's. The SA/TS payloads belong to the
 * child_create task that rides along.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/auth.h"
#include "daemon/dos.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/sa_event.h"
#include "daemon/text.h"
#include "daemon/names.h"
#include "daemon/ppk.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/unique.h"
#include "daemon/timers.h"

struct auth_task {
	struct task t;
	uint16_t error;       /* responder: notify to answer with instead */
	struct auth_out *out; /* responder: our AUTH, made in process_r */
	/* RFC 8784: initiator: the unmixed keys until the response says whether the PPK was used. */
	struct ppk_saved unmixed;
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
		return config_id_match(want, id->type, id->data.ptr, id->data.len);
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
	return config_id_match(me, id->type, id->data.ptr, id->data.len);
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

/* An identity as text for log lines (printable characters only). */
static void id_text(const struct ike_id *id, char *buf, size_t len)
{
	struct config_id c = {.type = id->type};
	size_t n = id->data.len < sizeof(c.data) ? id->data.len : sizeof(c.data);
	memcpy(c.data, id->data.ptr, n);
	c.len = (uint16_t)n;
	if (id->type == ID_IPV4_ADDR && n != 4)
		c.type = 0;
	if (id->type == ID_IPV6_ADDR && n != 16)
		c.type = 0;
	char raw[CONFIG_ID_MAX * 4 + 64];
	config_id_format(&c, raw, sizeof(raw));
	text_escape(raw, strlen(raw), buf, len); /* the peer chose it: valid UTF-8 kept, controls escaped */
}

/* "a pre-shared key", "ecdsa-sha256 (certificate 'C=.., CN=..')"... of the peer's side. */
static const char *auth_text(const struct ikesa *sa)
{
	static char buf[AUTH_WHY_MAX];
	const struct sa_auth *st = sa->auth;
	if (sa->conn->remote_auth == CONFIG_AUTH_PSK || !st)
		return "a pre-shared key";
	if (st->remote_subject)
		snprintf(buf, sizeof(buf), "%s signature, certificate '%s' issued by '%s'",
			 sigalg_name(st->remote_scheme), st->remote_subject,
			 st->remote_issuer ? st->remote_issuer : "?");
	else
		snprintf(buf, sizeof(buf), "%s signature, %s", sigalg_name(st->remote_scheme),
			 st->remote_raw_key ? "pinned public key" : "key");
	return buf;
}

/* Our ID payload body into body; its length, 0 on failure. */
static size_t id_body(const struct ikesa *sa, uint8_t body[CONFIG_ID_MAX + 4])
{
	size_t len = own_id(sa, body, CONFIG_ID_MAX + 4);
	return len >= 4 ? len : 0;
}

/*
 * Our ID payload, CERT (and, initiator, CERTREQ), the optional IDr
 * (initiator, RFC 7296 3.5: before AUTH), then AUTH (made beforehand).
 */
static void add_id_auth(struct ikesa *sa, struct ike_builder *b, uint8_t id_type_pl,
			const uint8_t *body, size_t len, const struct ike_id *idr,
			struct auth_out *out)
{
	struct ike_id id = {.type = body[0], .data = {body + 4, len - 4}};
	payload_build_id(b, id_type_pl, &id);
	auth_build_certs(sa, b, sa->initiator);
	if (idr)
		payload_build_id(b, PL_IDR, idr);
	auth_build(b, out);
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
	sa_auth_established(sa->auth);
	sa->established_ms = engine_now(sa->e);
	sa->e->stats.ike_established++;
	engine_set_established(sa);
	timers_on_ike_established(sa);
	sa_event(sa, EV_IKE_UP, NULL);
	/* A responder installed its Child SA before (task_child_create.c): said now, in order. */
	for (struct child_sa *c = sa->children; c; c = c->next)
		if (c->state == CHILD_INSTALLED)
			sa_event_child(sa, c, NULL, EV_CHILD_UP, NULL);
}

/* ---- initiator ---- */

/*
 * RFC 8784 3, initiator: with a PPK both sides support, SK_pi/SK_pr/SK_d
 * are mixed with it before our AUTH, and without ppk_required our AUTH
 * with the unmixed keys goes along in NO_PPK_AUTH (into *no_ppk). -1 with
 * why when the IKE SA cannot go on.
 */
static int ppk_prepare_i(struct auth_task *a, struct ikesa *sa, const uint8_t *body, size_t len,
			 struct auth_out **no_ppk, char *why, size_t whylen)
{
	const struct conn_cfg *c = sa->conn;
	ppk_unmix(sa, &a->unmixed); /* a rebuilt request starts from the unmixed keys */
	if (!(sa->ext & EXT_PPK)) {
		if (c->ppk_required) {
			snprintf(why, whylen, "ppk_required = yes, but the peer did not answer "
				 "USE_PPK (RFC 8784)");
			return -1;
		}
		return 0;
	}
	if (!c->ppk_required) {
		*no_ppk = malloc(sizeof(**no_ppk));
		if (!*no_ppk || auth_make(sa, body, len, *no_ppk, why, whylen) != 0) {
			if (!*no_ppk)
				snprintf(why, whylen, "out of memory");
			return -1;
		}
	}
	if (ppk_mix(sa, &a->unmixed) != 0) {
		snprintf(why, whylen, "cannot mix the PPK into the keys");
		return -1;
	}
	return 0;
}

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct auth_task *a = (struct auth_task *)t;
	char why[AUTH_WHY_MAX];
	uint8_t body[CONFIG_ID_MAX + 4];
	struct auth_out *out = malloc(sizeof(*out)), *no_ppk = NULL;
	size_t len = id_body(sa, body);
	const char *fail = !out ? "out of memory" : !len ? "no identity" : NULL;
	if (!fail && (ppk_prepare_i(a, sa, body, len, &no_ppk, why, sizeof(why)) != 0 ||
		      auth_make(sa, body, len, out, why, sizeof(why)) != 0))
		fail = why;
	if (fail) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: cannot authenticate: %s", ikesa_tag(sa), fail);
		ikesa_set_reason(sa, "local: cannot authenticate: %s", fail);
		if (out)
			crypto_wipe(out, sizeof(*out));
		if (no_ppk)
			crypto_wipe(no_ppk, sizeof(*no_ppk));
		free(no_ppk);
		free(out);
		return TASK_DESTROY;
	}
	/* IDr tells the responder which of its identities we expect (RFC 7296 3.5). */
	const struct config_id *r = &sa->conn->remote_id;
	struct ike_id idr = {.type = r->type, .data = {r->data, r->len}};
	add_id_auth(sa, b, PL_IDI, body, len, r->type && !r->any && !r->pattern ? &idr : NULL, out);
	free(out);
	if (a->unmixed.sk_d)
		ppk_build_identity(b, sa->conn);
	if (no_ppk) {
		if (a->unmixed.sk_d)
			payload_build_notify_simple(b, PROTO_NONE, N_NO_PPK_AUTH, NULL, 0, no_ppk->data,
						    no_ppk->len);
		crypto_wipe(no_ppk, sizeof(*no_ppk));
		free(no_ppk);
	}
	return b->err ? TASK_DESTROY : TASK_DONE;
}

/*
 * RFC 7296 2.21.2: when the responder fails authentication at the
 * initiator, the responder has its SAs up already: tell it in an
 * INFORMATIONAL exchange (no answer awaited; the SA goes now).
 */
static enum task_status auth_failed_i(struct ikesa *sa, const char *why)
{
	sa_event(sa, EV_AUTH_FAILED, "AUTHENTICATION_FAILED: %s", why);
	ikesa_set_reason(sa, "AUTHENTICATION_FAILED: %s", why);
	sa->e->stats.ike_failed++;
	tm_send_notify_once(sa, N_AUTHENTICATION_FAILED);
	return TASK_DESTROY;
}

/*
 * RFC 8784 3, initiator: a PPK_IDENTITY in the response says the
 * responder used our PPK; without it, it took NO_PPK_AUTH and the keys go
 * back to the unmixed ones, unless ppk_required. -1 with why.
 */
static int ppk_settle_i(struct auth_task *a, struct ikesa *sa, const struct ike_msg *m,
			char *why, size_t whylen)
{
	if (!a->unmixed.sk_d)
		return 0;
	if (message_find_notify(m, N_PPK_IDENTITY)) {
		ppk_saved_free(&a->unmixed);
		sa->ext |= EXT_PPK_USED;
		return 0;
	}
	if (sa->conn->ppk_required) {
		snprintf(why, whylen, "ppk_required = yes, but the responder did not use our PPK "
			 "(no PPK_IDENTITY in its answer)");
		return -1;
	}
	ppk_unmix(sa, &a->unmixed);
	log_msg(LOG_IKE, LOG_LVL_WARN, "%s: the responder has no PPK for our ppk_id: going on "
		"without it (ppk_required = no)", ikesa_tag(sa));
	return 0;
}

static enum task_status process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct auth_task *a = (struct auth_task *)t;
	struct names_buf nb;
	const struct ike_payload *idp = message_find(m, PL_IDR, NULL);
	const struct ike_payload *authp = message_find(m, PL_AUTH, NULL);
	const struct ike_notify *err = message_find_error_notify(m);
	char idtxt[CONFIG_ID_MAX * 2 + 8], why[AUTH_WHY_MAX];
	if (!idp || !authp) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: IKE_AUTH failed: peer answered %s", ikesa_tag(sa),
			err ? names_notify(err->type, &nb) : "without IDr/AUTH");
		if (err && err->type == N_AUTHENTICATION_FAILED)
			sa_event(sa, EV_AUTH_FAILED, "AUTHENTICATION_FAILED: the peer refused our "
				 "authentication");
		if (err)
			ikesa_set_reason(sa, "%s: the peer refused IKE_AUTH",
					 names_notify(err->type, &nb));
		else
			ikesa_set_reason(sa, "invalid-response: IKE_AUTH answer without IDr/AUTH");
		sa->e->stats.ike_failed++;
		return TASK_DESTROY;
	}
	id_text(&idp->u.id, idtxt, sizeof(idtxt));
	if (!peer_id_ok(sa->conn, &sa->remote, &idp->u.id)) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: peer identity '%s' (%s) is not the configured "
			"remote_id: AUTHENTICATION_FAILED", ikesa_tag(sa), idtxt,
			names_id_type(idp->u.id.type, &nb));
		char w[AUTH_WHY_MAX + CONFIG_ID_MAX * 2 + 64];
		snprintf(w, sizeof(w), "peer identity '%s' is not the configured remote_id", idtxt);
		return auth_failed_i(sa, w);
	}
	if (ppk_settle_i(a, sa, m, why, sizeof(why)) != 0) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: %s: AUTHENTICATION_FAILED", ikesa_tag(sa), why);
		return auth_failed_i(sa, why);
	}
	if (auth_verify(sa, m, idp, authp, why, sizeof(why)) != 0) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: peer '%s' not authenticated: %s: "
			"AUTHENTICATION_FAILED", ikesa_tag(sa), idtxt, why);
		char w[AUTH_WHY_MAX + CONFIG_ID_MAX * 2 + 64];
		snprintf(w, sizeof(w), "peer '%s' not authenticated: %s", idtxt, why);
		return auth_failed_i(sa, w);
	}
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: peer '%s' authenticated with %s", ikesa_tag(sa), idtxt,
		auth_text(sa));
	remember_peer(sa, &idp->u.id);
	established(sa);
	return TASK_DONE;
}

/* ---- responder ---- */

/*
 * Pick the conn for this peer now that its identity is known: the current
 * one if it fits, else another with matching addresses and identities
 * (RFC 7296 2.15 leaves the lookup to the implementation). A conn that
 * expects the peer's kind of AUTH (psk or signature) goes first.
 */
static const struct conn_cfg *find_conn(struct ikesa *sa, const struct ike_id *idi,
					const struct ike_id *idr, uint8_t method)
{
	const struct xiked_config *cfg = sa->cfgref->cfg;
	const struct conn_cfg *cur = sa->conn, *other_kind = NULL;
	for (size_t i = 0; i <= cfg->n_conns; i++) {
		/* The current conn first, then the others in file order. */
		const struct conn_cfg *c = i == 0 ? cur : &cfg->conns[i - 1];
		if (i > 0 && (c == cur || !addr_match(&c->remote_addr, &sa->remote) ||
			      !addr_match(&c->local_addr, &sa->local)))
			continue;
		if (!peer_id_ok(c, &sa->remote, idi) || (idr && !own_id_is(c, idr)))
			continue;
		if (auth_method_fits(method, c->remote_auth))
			return c;
		if (!other_kind)
			other_kind = c;
	}
	return other_kind;
}

/*
 * The peer failed to authenticate: counted per source and claimed identity
 * (dos.h back-off), and logged unless that source's lines are being
 * summarized (a wrong-PSK storm would otherwise write a line per attempt).
 */
static void peer_failed(struct ikesa *sa, const struct ike_payload *idp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void peer_failed(struct ikesa *sa, const struct ike_payload *idp, const char *fmt, ...)
{
	const struct ike_id *id = idp ? &idp->u.id : NULL;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* The event even when the log line is summed up (listeners bound their own output). */
	const char *what = strstr(line, ": ");
	what = what ? what + 2 : line;
	sa_event(sa, EV_AUTH_FAILED, "AUTHENTICATION_FAILED: %s", what);
	ikesa_set_reason(sa, "AUTHENTICATION_FAILED: %s", what);
	if (!dos_auth_failed(sa->e->dos, &sa->remote, id ? id->type : 0, id ? id->data.ptr : NULL,
			     id ? id->data.len : 0))
		return;
	log_msg(LOG_IKE, LOG_LVL_WARN, "%s", line);
}

/*
 * RFC 8784 3, responder, once the conn is known: the peer's PPK_IDENTITY
 * names the conn's ppk_id: the keys are mixed with it and AUTH checked
 * against them. Otherwise, unless ppk_required, the AUTH to check is the
 * peer's NO_PPK_AUTH (same method, made with the unmixed keys) when it
 * sent a PPK_IDENTITY, else its AUTH payload. *check is what to verify.
 * -1 with why (AUTHENTICATION_FAILED).
 */
static int ppk_choose_r(struct ikesa *sa, const struct ike_msg *m, const struct ike_payload *authp,
			struct ike_payload *no_ppk_auth, const struct ike_payload **check,
			char *why, size_t whylen)
{
	const struct conn_cfg *c = sa->conn;
	const struct ike_notify *pid = message_find_notify(m, N_PPK_IDENTITY);
	const struct ike_notify *np = message_find_notify(m, N_NO_PPK_AUTH);
	char idt[128]; /* shortened: a log line, not a key */
	*check = authp;
	if (!(sa->ext & EXT_PPK))
		pid = np = NULL; /* not negotiated in IKE_SA_INIT: ignored (RFC 8784 3) */
	if (pid && c->ppk && ppk_identity_is(pid, c)) {
		struct ppk_saved unmixed = {0};
		if (ppk_mix(sa, &unmixed) != 0) {
			snprintf(why, whylen, "cannot mix the PPK into the keys");
			return -1;
		}
		ppk_saved_free(&unmixed); /* no way back once the peer proved the PPK */
		sa->ext |= EXT_PPK_USED;
		return 0;
	}
	ppk_identity_text(pid, idt, sizeof(idt));
	if (c->ppk_required) {
		if (!(sa->ext & EXT_PPK))
			snprintf(why, whylen, "ppk_required = yes, but the peer did not send USE_PPK "
				 "(RFC 8784)");
		else
			snprintf(why, whylen, "ppk_required = yes, but the peer's PPK_ID '%s' is not "
				 "this conn's ppk_id", idt);
		return -1;
	}
	if (pid && !np) {
		snprintf(why, whylen, "its AUTH is made with PPK_ID '%s', which is not this conn's "
			 "ppk_id, and it sent no NO_PPK_AUTH", idt);
		return -1;
	}
	if (pid) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: no PPK for the peer's PPK_ID '%s': checking its "
			"NO_PPK_AUTH instead (ppk_required = no)", ikesa_tag(sa), idt);
		*no_ppk_auth = *authp;
		no_ppk_auth->u.auth.data = np->data;
		*check = no_ppk_auth;
	}
	return 0;
}

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct auth_task *a = (struct auth_task *)t;
	const struct ike_payload *idp = message_find(m, PL_IDI, NULL);
	const struct ike_payload *idrp = message_find(m, PL_IDR, NULL);
	const struct ike_payload *authp = message_find(m, PL_AUTH, NULL);
	char idtxt[CONFIG_ID_MAX * 2 + 8], why[AUTH_WHY_MAX];
	uint8_t body[CONFIG_ID_MAX + 4];
	size_t len;
	/*
	 * The acceptance table lets through IKE_AUTH requests without AUTH
	 * (asking for EAP, RFC 7296 2.16) and EAP rounds without IDi; xiked
	 * has no EAP, so both fail here.
	 */
	if (!idp || !authp) {
		peer_failed(sa, idp, "%s: IKE_AUTH request without %s (EAP is not supported): "
			    "AUTHENTICATION_FAILED", ikesa_tag(sa), idp ? "AUTH" : "IDi");
		goto fail;
	}
	id_text(&idp->u.id, idtxt, sizeof(idtxt));
	if (dos_auth_blocked_id(sa->e->dos, idp->u.id.type, idp->u.id.data.ptr,
				idp->u.id.data.len)) {
		/* dos.h: an identity that keeps failing is not verified while it backs off. */
		peer_failed(sa, idp, "%s: peer identity '%s' backs off after repeated "
			    "authentication failures: AUTHENTICATION_FAILED", ikesa_tag(sa), idtxt);
		goto fail;
	}
	const struct conn_cfg *c = find_conn(sa, &idp->u.id, idrp ? &idrp->u.id : NULL,
					     authp->u.auth.method);
	if (!c) {
		peer_failed(sa, idp, "%s: no connection for peer identity '%s': "
			    "AUTHENTICATION_FAILED", ikesa_tag(sa), idtxt);
		goto fail;
	}
	if (c != sa->conn) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: peer '%s' switches to connection %s",
			ikesa_tag(sa), idtxt, c->name);
		sa->conn = c;
	}
	auth_note_certreq(sa, m);
	struct ike_payload no_ppk_auth;
	const struct ike_payload *check;
	if (ppk_choose_r(sa, m, authp, &no_ppk_auth, &check, why, sizeof(why)) != 0) {
		peer_failed(sa, idp, "%s: peer '%s': %s: AUTHENTICATION_FAILED", ikesa_tag(sa), idtxt,
			    why);
		goto fail;
	}
	if (auth_verify(sa, m, idp, check, why, sizeof(why)) != 0) {
		peer_failed(sa, idp, "%s: peer '%s' not authenticated: %s: AUTHENTICATION_FAILED",
			    ikesa_tag(sa), idtxt, why);
		goto fail;
	}
	/* Our AUTH now, so that a failure answers AUTHENTICATION_FAILED alone. */
	a->out = malloc(sizeof(*a->out));
	len = id_body(sa, body);
	if (!a->out || !len || auth_make(sa, body, len, a->out, why, sizeof(why)) != 0) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: cannot authenticate to peer '%s': %s: "
			"AUTHENTICATION_FAILED", ikesa_tag(sa), idtxt,
			!a->out ? "out of memory" : !len ? "no identity" : why);
		ikesa_set_reason(sa, "local: cannot authenticate to peer '%s': %s", idtxt,
				 !a->out ? "out of memory" : !len ? "no identity" : why);
		goto fail;
	}
	remember_peer(sa, &idp->u.id);
	dos_auth_ok(sa->e->dos, idp->u.id.type, idp->u.id.data.ptr, idp->u.id.data.len);
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: peer '%s' authenticated with %s", ikesa_tag(sa), idtxt,
		auth_text(sa));
	/* unique = keep: refused while the identity has an IKE SA (INITIAL_CONTACT drops it). */
	if (!message_find_notify(m, N_INITIAL_CONTACT) && unique_refuse(sa))
		goto fail;
	return TASK_DONE;
fail:
	a->error = N_AUTHENTICATION_FAILED;
	sa->e->stats.ike_failed++;
	return TASK_DESTROY;
}

static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct auth_task *a = (struct auth_task *)t;
	uint8_t body[CONFIG_ID_MAX + 4];
	size_t len = id_body(sa, body);
	if (a->error || !a->out || !len) {
		payload_build_notify_simple(b, PROTO_NONE, N_AUTHENTICATION_FAILED, NULL, 0, NULL, 0);
		return TASK_DESTROY;
	}
	add_id_auth(sa, b, PL_IDR, body, len, NULL, a->out);
	if (sa->ext & EXT_PPK_USED) /* RFC 8784 3: no data, the PPK is the initiator's */
		payload_build_notify_simple(b, PROTO_NONE, N_PPK_IDENTITY, NULL, 0, NULL, 0);
	if (b->err)
		return TASK_DESTROY;
	established(sa);
	return TASK_DONE;
}

static void ike_auth_free(struct task *t)
{
	struct auth_task *a = (struct auth_task *)t;
	if (a->out)
		crypto_wipe(a->out, sizeof(*a->out));
	free(a->out);
	ppk_saved_free(&a->unmixed);
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
