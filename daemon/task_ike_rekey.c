/*
 * IKE SA rekeying (RFC 7296 1.3.2, 2.18):
 *
 *   CREATE_CHILD_SA { SA(IKE, new SPIi), Ni, KEi }  -->
 *                        <--  { SA(IKE, new SPIr), Nr, KEr }
 *
 * SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr); the new IKE SA's
 * initiator is the rekey's initiator, its message IDs start at 0, and the
 * Child SAs move to it. The initiator then deletes the old IKE SA (whose
 * Delete no longer touches the children).
 *
 * Collisions (2.8.2, 2.25.2): while rekeying we answer the peer's IKE
 * rekey as usual and remember its successor; when ours completes, the new
 * IKE SA made with the lowest of the four nonces is redundant: its creator
 * deletes it, the children go to the other one, and the creator of that
 * one deletes the old SA. A CREATE_CHILD_SA for a Child SA while we rekey
 * the IKE SA gets TEMPORARY_FAILURE (task_child_create.c). An IKE rekey
 * while our Child SA exchange is in flight is answered as usual: that
 * exchange completes with the old IKE SA's keys and its Child SA joins the
 * children in the new IKE SA (task_child_create.c looks them up by owner).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dh.h"
#include "daemon/auth.h"
#include "daemon/dos.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/engine_teardown.h"
#include "daemon/ikesa.h"
#include "daemon/ke.h"
#include "daemon/keylog.h"
#include "daemon/log.h"
#include "daemon/mobike.h"
#include "daemon/names.h"
#include "daemon/nonce.h"
#include "daemon/proposal.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/timers.h"

#define NONCE_LEN 32
#define KE_RETRIES_MAX 2

struct ike_rekey {
	struct task t;
	struct ikesa *new_sa;   /* being negotiated; in the engine's table, not yet established */
	uint64_t new_key;       /* its local SPI: look it up, it may be gone */
	uint16_t group;
	unsigned ke_retries;
	uint16_t error;         /* responder: notify instead */
	uint16_t invalid_ke;    /* responder: group for INVALID_KE_PAYLOAD */
	struct proposal_sel sel;
};

static void spi_to_bytes(uint64_t v, uint8_t out[8])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t spi_from_bytes(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* The lower of a successor's two nonces (RFC 7296 2.8.2 compares the four). */
static void min_nonce(const struct ikesa *n, const uint8_t **p, size_t *len)
{
	bool i_low = nonce_cmp(n->ni, n->ni_len, n->nr, n->nr_len) <= 0;
	*p = i_low ? n->ni : n->nr;
	*len = i_low ? n->ni_len : n->nr_len;
}

static int copy_bytes(uint8_t **dst, size_t *dlen, const uint8_t *src, size_t len)
{
	free(*dst);
	*dst = malloc(len);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, len);
	*dlen = len;
	return 0;
}

/* A successor inherits the old SA's addresses, identities and state of the world. */
static struct ikesa *successor_new(struct ikesa *old, bool initiator)
{
	struct ikesa *n = ikesa_new(old->e, old->cfgref, old->conn, initiator);
	if (!n)
		return NULL;
	n->local = old->local;
	n->remote = old->remote;
	n->ext = old->ext;
	n->peer_id_type = old->peer_id_type;
	memcpy(n->peer_id, old->peer_id, old->peer_id_len);
	n->peer_id_len = old->peer_id_len;
	/* What each side authenticated with stays (for status): RFC 7296 2.18 keeps the peers. */
	n->peer_sig_hashes = old->peer_sig_hashes;
	n->auth = sa_auth_dup(old->auth);
	n->is_successor = true;
	return n;
}

/* An indexed successor counts for the source that opened the old SA (ike_sa_per_ip, dos.h). */
static void count_source(struct ikesa *old, struct ikesa *n)
{
	if (!old->dos_counted)
		return;
	n->half_open_from = old->half_open_from;
	n->dos_counted = true;
	dos_ike_sa_add(old->e->dos, &n->half_open_from);
}

static void set_suite(struct ikesa *n, const struct proposal_sel *s)
{
	n->suite = (struct ike_suite){.encr = s->encr, .encr_keylen = s->keylen, .prf = s->prf,
				      .integ = s->integ, .dh = s->dh};
	proposal_sel_format(s, n->proposal_text, sizeof(n->proposal_text));
}

static int derive(struct ikesa *old, struct ikesa *n, const struct ike_ke *ke)
{
	struct secret *shared = NULL;
	int rc = dh_shared(n->dh, ke->data.ptr, ke->data.len, &shared);
	if (rc == 0)
		rc = ikesa_derive_keys(n, shared, old->keys.sk_d, old->suite.prf);
	secret_free(shared);
	if (rc == 0)
		keylog_ike_sa(n); /* keylog = (debugging only): before the keys protect anything */
	return rc;
}

/* Children, queued tasks and the initiated-conn role go to the successor. */
static void adopt(struct ikesa *old, struct ikesa *n)
{
	/*
	 * The old SA may have moved since n was made from it (MOBIKE, a NATed
	 * peer followed): its Child SAs' states are at its current endpoints,
	 * which n must have to delete or move them later (RFC 4555 3.5).
	 */
	uint32_t nat = EXT_NATT | EXT_NAT_LOCAL | EXT_NAT_REMOTE;
	n->local = old->local;
	n->remote = old->remote;
	n->ext = (n->ext & ~nat) | (old->ext & nat);
	while (old->children)
		ikesa_move_child(old, n, old->children);
	struct task **tail = &n->tm.queue;
	while (*tail)
		tail = &(*tail)->next;
	*tail = old->tm.queue;
	old->tm.queue = NULL;
	mobike_adopt(old, n); /* RFC 4555 state and a pending path update (mobike.h) */
	engine_take_conn_role(old->e, old, n);
	/* A reauthentication under way follows the IKE SA to its successor (task_reauth.h). */
	struct ikesa *x;
	if (old->reauth_by && (x = engine_find(old->e, old->reauth_by)) &&
	    x->reauth_of == old->local_spi_key) {
		x->reauth_of = n->local_spi_key;
		n->reauth_by = x->local_spi_key;
	}
	if (old->reauth_of && (x = engine_find(old->e, old->reauth_of)) &&
	    x->reauth_by == old->local_spi_key) {
		x->reauth_by = n->local_spi_key;
		n->reauth_of = x->local_spi_key;
	}
	old->reauth_by = old->reauth_of = 0;
	sa_event_ike_rekeyed(old, n, NULL);
}

static void established(struct ikesa *n)
{
	n->established_ms = engine_now(n->e);
	engine_set_established(n);
	timers_on_ike_established(n);
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: IKE SA rekeyed (%s)", ikesa_tag(n), n->proposal_text);
}

/* ---- initiator ---- */

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct ike_rekey *r = (struct ike_rekey *)t;
	if (sa->state != IKESA_ESTABLISHED)
		return TASK_FAILED;
	if (!r->group)
		r->group = sa->suite.dh;
	struct ikesa *n = r->new_sa ? engine_find(sa->e, r->new_key) : NULL;
	if (!n) {
		n = successor_new(sa, true);
		if (!n || engine_index(sa->e, n) != 0) {
			engine_free_sa(n);
			return TASK_FAILED;
		}
		count_source(sa, n);
		r->new_sa = n;
		r->new_key = n->local_spi_key;
		ikesa_set_state(n, IKESA_CONNECTING);
		/* If the exchange is abandoned (the old SA deleted under it), the successor goes too. */
		engine_arm_setup_timeout(n);
	}
	dh_free(n->dh);
	n->dh = dh_new(r->group, sa->e->env.rng);
	uint8_t ni[NONCE_LEN];
	rng_fill(sa->e->env.rng, ni, sizeof(ni));
	if (!n->dh || copy_bytes(&n->ni, &n->ni_len, ni, sizeof(ni)) != 0)
		return TASK_FAILED;
	sa->ike_rekeying = true;
	uint8_t spi[8];
	spi_to_bytes(n->spi_i, spi);
	proposal_build_offer(b, &sa->conn->ike, PROTO_IKE, spi, 8, true, r->group);
	payload_build_nonce(b, &(struct ike_nonce){{n->ni, n->ni_len}});
	ke_build(b, n->dh);
	return TASK_DONE;
}

static void drop_new(struct ike_rekey *r, struct ikesa *sa)
{
	struct ikesa *n = r->new_sa ? engine_find(sa->e, r->new_key) : NULL;
	if (n)
		engine_destroy_sa(sa->e, n);
	r->new_sa = NULL;
}

static enum task_status process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct ike_rekey *r = (struct ike_rekey *)t;
	struct names_buf nb;
	const struct ike_notify *no;
	sa->ike_rekeying = false;
	struct ikesa *n = r->new_sa ? engine_find(sa->e, r->new_key) : NULL;
	if (!n)
		return TASK_FAILED;
	if ((no = message_find_notify(m, N_INVALID_KE_PAYLOAD))) {
		uint16_t g = ke_invalid_group(no);
		if (++r->ke_retries <= KE_RETRIES_MAX && g != r->group && dh_supported(g)) {
			log_msg(LOG_IKE, LOG_LVL_INFO, "%s: IKE rekey: peer prefers %s: retrying",
				ikesa_tag(sa), names_dh(g, &nb));
			r->group = g;
			return TASK_NEED_MORE;
		}
	}
	if (message_find_notify(m, N_TEMPORARY_FAILURE)) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: IKE rekey: peer answered TEMPORARY_FAILURE, "
			"retrying later", ikesa_tag(sa));
		drop_new(r, sa);
		timers_on_ike_rekey_deferred(sa);
		return TASK_FAILED;
	}
	const struct ike_payload *sap = message_find(m, PL_SA, NULL);
	const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
	const struct ike_payload *kep = message_find(m, PL_KE, NULL);
	struct proposal_sel sel;
	if (!sap || !np || !kep) {
		no = message_find_error_notify(m);
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: IKE rekey refused: %s; trying again later",
			ikesa_tag(sa), no ? names_notify(no->type, &nb) : "no SA/Nonce/KE");
		drop_new(r, sa);
		timers_on_ike_rekey_deferred(sa);
		return TASK_FAILED;
	}
	if (!proposal_check_answer(&sa->conn->ike, &sap->u.sa, PROTO_IKE, true, &sel) ||
	    sel.spi_len != 8 || sel.dh != r->group || kep->u.ke.group != r->group ||
	    copy_bytes(&n->nr, &n->nr_len, np->u.nonce.data.ptr, np->u.nonce.data.len) != 0) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: IKE rekey: unacceptable answer", ikesa_tag(sa));
		drop_new(r, sa);
		timers_on_ike_rekey_deferred(sa);
		return TASK_FAILED;
	}
	n->spi_r = spi_from_bytes(sel.spi);
	set_suite(n, &sel);
	if (derive(sa, n, &kep->u.ke) != 0) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: IKE rekey: key derivation failed", ikesa_tag(sa));
		drop_new(r, sa);
		return TASK_FAILED;
	}
	dh_free(n->dh);
	n->dh = NULL;
	r->new_sa = NULL;
	established(n);
	/* 2.8.2: did the peer rekey this IKE SA too? */
	struct ikesa *theirs = sa->peer_successor ? engine_find(sa->e, sa->peer_successor) : NULL;
	const uint8_t *mo, *mt;
	size_t lo, lt;
	min_nonce(n, &mo, &lo);
	if (theirs)
		min_nonce(theirs, &mt, &lt);
	if (theirs && nonce_cmp(mo, lo, mt, lt) < 0) {
		/* SPIs, not ikesa_tag(theirs): ikesa_tag's buffer holds one tag at a time. */
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: IKE rekey collision: ours (%016" PRIx64 "_i %016"
			PRIx64 "_r) has the lowest nonce and is deleted, the peer's (%016" PRIx64
			"_i %016" PRIx64 "_r) stays", ikesa_tag(sa), n->spi_i, n->spi_r, theirs->spi_i,
			theirs->spi_r);
		sa_event(sa, EV_COLLISION, "IKE rekey: ours (%016" PRIx64 "_i) has the lowest nonce "
			 "and is deleted, the peer's (%016" PRIx64 "_i) stays", n->spi_i, theirs->spi_i);
		n->rekey_told = true; /* deleted as the loser: no ike-down */
		adopt(sa, theirs);
		sa->ike_rekeyed = true; /* the peer deletes it, or we do (timers.h) */
		timers_on_ike_replaced(sa, IKE_REPLACED_WAIT_MS);
		tm_queue(n, task_delete_new(0));
		return TASK_DONE;
	}
	if (theirs) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: IKE rekey collision: the peer's (%016" PRIx64
			"_i %016" PRIx64 "_r) has the lowest nonce, ours (%016" PRIx64 "_i %016" PRIx64
			"_r) stays", ikesa_tag(sa), theirs->spi_i, theirs->spi_r, n->spi_i, n->spi_r);
		sa_event(sa, EV_COLLISION, "IKE rekey: the peer's (%016" PRIx64 "_i) has the lowest "
			 "nonce, ours (%016" PRIx64 "_i) stays", theirs->spi_i, n->spi_i);
		theirs->redundant_successor = true;
	}
	adopt(sa, n);
	sa->ike_rekeyed = true;
	/* The old IKE SA goes; its Delete no longer concerns the children (1.3.2). */
	struct task *d = task_delete_new(0);
	if (d)
		tm_queue(sa, d);
	tm_initiate(n);
	return TASK_DONE;
}

/* ---- responder ---- */

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct ike_rekey *r = (struct ike_rekey *)t;
	struct names_buf nb;
	const struct ike_payload *sap = message_find(m, PL_SA, NULL);
	const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
	const struct ike_payload *kep = message_find(m, PL_KE, NULL);
	if (sa->state != IKESA_ESTABLISHED || sa->ike_rekeyed) {
		/* 2.25.2: an IKE SA we are closing (or have replaced) is not rekeyed again. */
		r->error = N_TEMPORARY_FAILURE;
		return TASK_FAILED;
	}
	if (!sap || !np || !kep) {
		r->error = N_INVALID_SYNTAX;
		return TASK_FAILED;
	}
	if (!proposal_select(&sa->conn->ike, &sap->u.sa, PROTO_IKE, kep->u.ke.group, true,
			     &r->sel) ||
	    r->sel.spi_len != 8 || !dh_supported(r->sel.dh)) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: IKE rekey: no acceptable proposal%s",
			ikesa_tag(sa), proposal_addke_note(&sap->u.sa, PROTO_IKE));
		r->error = N_NO_PROPOSAL_CHOSEN;
		return TASK_FAILED;
	}
	if (kep->u.ke.group != r->sel.dh) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: IKE rekey: KE for %s, we chose %s: "
			"INVALID_KE_PAYLOAD", ikesa_tag(sa), names_dh(kep->u.ke.group, &nb),
			names_dh(r->sel.dh, &(struct names_buf){0}));
		r->invalid_ke = r->sel.dh;
		return TASK_FAILED;
	}
	struct ikesa *n = successor_new(sa, false);
	if (!n) {
		r->error = N_NO_PROPOSAL_CHOSEN;
		return TASK_FAILED;
	}
	n->spi_i = spi_from_bytes(r->sel.spi);
	set_suite(n, &r->sel);
	uint8_t nr[NONCE_LEN];
	rng_fill(sa->e->env.rng, nr, sizeof(nr));
	n->dh = dh_new(r->sel.dh, sa->e->env.rng);
	if (!n->dh || copy_bytes(&n->ni, &n->ni_len, np->u.nonce.data.ptr, np->u.nonce.data.len) ||
	    copy_bytes(&n->nr, &n->nr_len, nr, sizeof(nr)) || engine_index(sa->e, n) != 0) {
		engine_free_sa(n);
		r->error = N_NO_PROPOSAL_CHOSEN;
		return TASK_FAILED;
	}
	count_source(sa, n);
	if (derive(sa, n, &kep->u.ke) != 0) {
		engine_destroy_sa(sa->e, n);
		r->error = N_INVALID_SYNTAX;
		return TASK_FAILED;
	}
	r->new_sa = n;
	r->new_key = n->local_spi_key;
	return TASK_DONE;
}

static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct ike_rekey *r = (struct ike_rekey *)t;
	if (r->invalid_ke) {
		ke_build_invalid(b, r->invalid_ke);
		return TASK_FAILED;
	}
	if (r->error) {
		payload_build_notify_simple(b, PROTO_NONE, r->error, NULL, 0, NULL, 0);
		return TASK_FAILED;
	}
	struct ikesa *n = engine_find(sa->e, r->new_key);
	if (!n)
		return TASK_FAILED;
	spi_to_bytes(n->spi_r, r->sel.spi);
	proposal_build_answer(b, &r->sel);
	payload_build_nonce(b, &(struct ike_nonce){{n->nr, n->nr_len}});
	ke_build(b, n->dh);
	dh_free(n->dh);
	n->dh = NULL;
	established(n);
	if (sa->ike_rekeying) {
		/* Our own rekey is in flight: the nonces decide when it completes (2.8.2). */
		sa->peer_successor = n->local_spi_key;
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: the peer rekeys the IKE SA as we do: the nonces "
			"will decide (RFC 7296 2.8.2)", ikesa_tag(sa));
	} else {
		adopt(sa, n);
		sa->ike_rekeyed = true; /* the peer deletes it, or we do after a while (timers.h) */
		timers_on_ike_replaced(sa, IKE_REPLACED_WAIT_MS);
	}
	return TASK_DONE;
}

static void ike_rekey_free(struct task *t)
{
	free(t);
}

static const struct task_ops ike_rekey_ops = {
	.name = "IKE_REKEY",
	.exchange = CREATE_CHILD_SA,
	.build_i = build_i,
	.process_i = process_i,
	.process_r = process_r,
	.build_r = build_r,
	.free = ike_rekey_free,
};

struct task *task_ike_rekey_new(void)
{
	struct ike_rekey *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->t.ops = &ike_rekey_ops;
	return &r->t;
}
