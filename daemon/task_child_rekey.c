/*
 * Child SA rekeying (RFC 7296 1.3.3, 2.8), a CHILD_CREATE task in its own
 * CREATE_CHILD_SA exchange whose request names the old SA:
 *
 *   N(REKEY_SA, old SPI), SA, Ni, [KEi,] TSi, TSr   -->
 *                          <--  SA, Nr, [KEr,] TSi, TSr
 *
 * Rekeying is make-before-break (design.md rule 12): the successor keeps the reqid, so the
 * policies never change. The initiator installs both new states and then
 * deletes the old SA; the responder installs the new inbound state at
 * once and the new outbound state when the old SA goes (child_kernel.h),
 * so neither side ever sends on an SA the other lacks.
 *
 * Each Child SA has a rekey sub-state (enum child_rekey): NONE, ACTIVE
 * while our request is out, REPLACED once our successor is installed,
 * REDUNDANT for a successor that lost a collision; child_set_rekey is its
 * one setter, child_may_rekey the one question whether a rekey may start.
 *
 * Collisions (2.8.1, 2.25.1): a rekey request for an SA we are closing
 * gets TEMPORARY_FAILURE, for an unknown SA CHILD_SA_NOT_FOUND. When both
 * sides rekey the same SA at once, both answer normally; when our exchange
 * completes, the successor made by the exchange with the lowest of the
 * four nonces is redundant and is deleted by the side that created it
 * (octet-wise comparison, a shorter prefix being lower), and the creator
 * of the surviving successor deletes the old SA. After TEMPORARY_FAILURE
 * we try again after a random while (2.25), sooner when the hard lifetime
 * is near.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/child_kernel.h"
#include "daemon/child_rekey.h"
#include "daemon/engine_ctx.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/nonce.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"
#include "daemon/task_child.h"
#include "daemon/task_manager.h"
#include "daemon/timing.h" /* CHILD_RETRY_MS, CHILD_RETRY_MIN_MS */

/* ---- the sub-state ---- */

static const char *const rekey_names[CHILD_REKEY_COUNT] = {
	[CHILD_REKEY_NONE] = "NONE",
	[CHILD_REKEY_ACTIVE] = "ACTIVE",
	[CHILD_REKEY_REPLACED] = "REPLACED",
	[CHILD_REKEY_REDUNDANT] = "REDUNDANT",
};

const char *child_rekey_name(enum child_rekey r)
{
	return (unsigned)r < CHILD_REKEY_COUNT ? rekey_names[r] : "?";
}

void child_set_rekey(struct ikesa *sa, struct child_sa *c, enum child_rekey r)
{
	if (c->rekey == r)
		return;
	log_msg(LOG_CHD, LOG_LVL_DEBUG, "%s: Child SA %s (%08x) rekey %s -> %s", ikesa_tag(sa),
		c->cfg->name, ntohl(c->spi_in), child_rekey_name(c->rekey), child_rekey_name(r));
	c->rekey = r;
}

bool child_may_rekey(const struct ikesa *sa, const struct child_sa *c)
{
	return sa && sa->state == IKESA_ESTABLISHED && c->state == CHILD_INSTALLED &&
	       c->rekey == CHILD_REKEY_NONE;
}

bool child_live(const struct child_sa *c)
{
	return c->state == CHILD_INSTALLED && c->rekey != CHILD_REKEY_REPLACED &&
	       c->rekey != CHILD_REKEY_REDUNDANT;
}

/*
 * Another Child SA of cfg in sa than `not`, installed and not redundant;
 * with successor_of, only one that the peer made to replace `not`.
 */
static bool child_of_cfg(struct ikesa *sa, const struct child_cfg *cfg,
			 const struct child_sa *not, bool successor_of)
{
	for (const struct child_sa *c = sa->children; c; c = c->next)
		if (c != not && c->cfg == cfg && c->state == CHILD_INSTALLED &&
		    c->rekey != CHILD_REKEY_REDUNDANT &&
		    (!successor_of || (not && c->peer_created && c->replaces == not->spi_in)))
			return true;
	return false;
}

/* ---- initiator ---- */

struct child_sa *child_rekey_old(struct child_create *cc, struct ikesa *sa)
{
	struct child_sa *old = ikesa_find_child(sa, cc->rekey_spi, true);
	/* ACTIVE: our own request again, after INVALID_KE_PAYLOAD (1.3). */
	if (!old || !(child_may_rekey(sa, old) ||
		      (old->rekey == CHILD_REKEY_ACTIVE && old->state == CHILD_INSTALLED))) {
		log_msg(LOG_CHD, LOG_LVL_DEBUG, "%s: rekey of %08x no longer needed", ikesa_tag(sa),
			ntohl(cc->rekey_spi));
		return NULL;
	}
	/*
	 * The peer rekeyed it already and will delete it (RFC 7296 2.8):
	 * our request would only meet TEMPORARY_FAILURE, or after the
	 * Delete CHILD_SA_NOT_FOUND (2.25.1).
	 */
	if (child_of_cfg(sa, old->cfg, old, true)) {
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %08x was rekeyed by the peer: "
			"not rekeying it", ikesa_tag(sa), ntohl(cc->rekey_spi));
		return NULL;
	}
	return old;
}

void child_rekey_request(struct ikesa *sa, struct child_sa *old, struct child_sa *c,
			 struct ike_builder *b)
{
	/* RFC 7296 1.3.3: the new SA keeps the mode and selectors of the old one. */
	c->mode = old->mode;
	c->replaces = old->spi_in;
	child_set_rekey(sa, old, CHILD_REKEY_ACTIVE);
	payload_build_notify_simple(b, PROTO_ESP, N_REKEY_SA, &old->spi_in, 4, NULL, 0);
}

static void child_retry_rekey(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct child_sa *c = ctx;
	if (child_may_rekey(c->ike, c))
		tm_queue(c->ike, task_child_rekey_new(c->spi_in));
}

void child_rekey_abandoned(struct ikesa *sa, struct child_create *cc, bool retry)
{
	/* Looked up engine-wide: an IKE rekey may have moved it meanwhile. */
	struct ikesa *owner;
	struct child_sa *old = cc->rekey_spi ? ikesa_find_child_any(sa->e, cc->rekey_spi, &owner)
					     : NULL;
	if (!old)
		return;
	sa = owner;
	if (old->rekey == CHILD_REKEY_ACTIVE)
		child_set_rekey(sa, old, CHILD_REKEY_NONE); /* may be rekeyed again later */
	if (!retry)
		return;
	/* RFC 7296 2.25: not at once; wait for the peer's own operation to finish. */
	uint32_t r = 0;
	rng_fill(sa->e->env.rng, &r, sizeof(r));
	uint64_t delay = CHILD_RETRY_MS + r % CHILD_RETRY_MS, now = engine_now(sa->e);
	/*
	 * The hard lifetime comes sooner: retry within half of what is left,
	 * so that a successor can still be made before the kernel deletes the
	 * SA. (Byte and packet limits cannot be foreseen: time only.)
	 */
	if (old->hard_ms > now && delay > (old->hard_ms - now) / 2) {
		delay = (old->hard_ms - now) / 2;
		if (delay < CHILD_RETRY_MIN_MS)
			delay = CHILD_RETRY_MIN_MS;
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s (%08x) expires in %u ms: "
			"retrying its rekey in %u ms", ikesa_tag(sa), old->cfg->name,
			ntohl(old->spi_in), (unsigned)(old->hard_ms - now), (unsigned)delay);
	}
	/* A retry may still be armed (a second soft expire rekeyed meanwhile):
	 * timer_init on an armed timer would leave it in the loop's heap twice. */
	timer_cancel(sa->e->env.loop, &old->retry_timer);
	timer_init(&old->retry_timer, child_retry_rekey, old);
	timer_arm_in(sa->e->env.loop, &old->retry_timer, delay);
}

void child_rekey_not_found(struct ikesa *sa, struct child_create *cc)
{
	/*
	 * RFC 7296 2.25.1: delete ours silently and create a new one from
	 * scratch "if the Child SA does not yet exist": when the peer's
	 * rekey replaced it meanwhile, its successor is that Child SA.
	 */
	struct child_sa *old = ikesa_find_child(sa, cc->rekey_spi, true);
	const struct child_cfg *cfg = cc->cfg;
	child_create_drop(cc);
	if (old)
		child_kernel_remove(sa, old);
	if (child_of_cfg(sa, cfg, NULL, false)) {
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %08x unknown to the peer "
			"(CHILD_SA_NOT_FOUND), replaced already", ikesa_tag(sa),
			ntohl(cc->rekey_spi));
		return;
	}
	log_msg(LOG_CHD, LOG_LVL_WARN, "%s: Child SA %s unknown to the peer "
		"(CHILD_SA_NOT_FOUND): creating it again", ikesa_tag(sa), cfg->name);
	struct task *c = task_child_create_ccsa_new(cfg);
	if (c)
		tm_queue(sa, c);
}

/*
 * Our rekey completed with successor `ours`. If the peer rekeyed the same
 * SA meanwhile (its successor is here too), the nonces decide (2.8.1).
 */
static void finish(struct ikesa *sa, struct child_sa *old, struct child_sa *ours)
{
	struct child_sa *theirs = NULL;
	for (struct child_sa *c = sa->children; c; c = c->next)
		if (c != ours && c->replaces == old->spi_in && c->peer_created &&
		    c->rekey != CHILD_REKEY_REDUNDANT)
			theirs = c;
	child_set_rekey(sa, old, CHILD_REKEY_REPLACED);
	struct task *d;
	if (theirs && nonce_cmp(ours->min_nonce, ours->min_nonce_len, theirs->min_nonce,
				theirs->min_nonce_len) < 0) {
		/* Ours has the lowest nonce: we close it; the peer closes the old SA. */
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: rekey collision on %08x: ours (%08x) has the "
			"lowest nonce and is deleted, the peer's (%08x) stays", ikesa_tag(sa),
			ntohl(old->spi_in), ntohl(ours->spi_in), ntohl(theirs->spi_in));
		sa_event_child(sa, old, NULL, EV_COLLISION, "Child SA rekey: ours (%08x) has the "
			       "lowest nonce and is deleted, the peer's (%08x) stays",
			       ntohl(ours->spi_in), ntohl(theirs->spi_in));
		child_set_rekey(sa, ours, CHILD_REKEY_REDUNDANT);
		/*
		 * Stop sending on it before the Delete leaves (RFC 7296 1.4.1):
		 * the peer drops its inbound state when the Delete arrives, and
		 * ours is the newest outbound state, which the kernel prefers.
		 * The old SA carries our traffic until the peer's Delete of it
		 * brings the surviving SA's outbound state.
		 */
		child_kernel_uninstall_out(ours->ike, ours);
		d = task_delete_new(ours->spi_in);
	} else {
		if (theirs) {
			log_msg(LOG_CHD, LOG_LVL_INFO, "%s: rekey collision on %08x: the peer's (%08x) "
				"has the lowest nonce, ours (%08x) stays", ikesa_tag(sa),
				ntohl(old->spi_in), ntohl(theirs->spi_in), ntohl(ours->spi_in));
			sa_event_child(sa, old, NULL, EV_COLLISION, "Child SA rekey: the peer's (%08x) "
				       "has the lowest nonce, ours (%08x) stays",
				       ntohl(theirs->spi_in), ntohl(ours->spi_in));
			/* the peer deletes it; never send on it */
			child_set_rekey(sa, theirs, CHILD_REKEY_REDUNDANT);
		}
		d = task_delete_new(old->spi_in);
	}
	if (d)
		tm_queue(sa, d);
}

void child_rekey_finish(struct ikesa *sa, struct child_create *cc, struct child_sa *ours)
{
	struct ikesa *old_owner;
	struct child_sa *old = cc->rekey_spi ? ikesa_find_child_any(sa->e, cc->rekey_spi, &old_owner)
					     : NULL;
	if (old)
		finish(old_owner, old, ours);
}

/* ---- responder ---- */

struct child_sa *child_rekey_target(struct child_create *cc, struct ikesa *sa,
				    const struct ike_notify *rk)
{
	uint32_t spi;
	if (rk->protocol != PROTO_ESP || rk->spi.len != 4) {
		cc->error = N_INVALID_SYNTAX;
		return NULL;
	}
	memcpy(&spi, rk->spi.ptr, 4);
	/* The SPI the initiator receives on: our outbound one (in whichever IKE SA holds it now). */
	struct ikesa *owner;
	struct child_sa *old = ikesa_find_child_any(sa->e, spi, &owner);
	if (old && old->spi_out != spi)
		old = NULL; /* that was one of our inbound SPIs */
	if (!old || old->state == CHILD_FAILED) {
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: rekey of unknown Child SA %08x: "
			"CHILD_SA_NOT_FOUND", ikesa_tag(sa), ntohl(spi));
		cc->error = N_CHILD_SA_NOT_FOUND;
		cc->error_spi = spi;
		return NULL;
	}
	if (old->state == CHILD_DELETING || old->rekey == CHILD_REKEY_REPLACED) {
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: rekey of Child SA %08x, which we are closing: "
			"TEMPORARY_FAILURE", ikesa_tag(sa), ntohl(old->spi_in));
		cc->error = N_TEMPORARY_FAILURE;
		return NULL;
	}
	if (old->rekey == CHILD_REKEY_ACTIVE)
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: the peer rekeys Child SA %08x as we do: the "
			"nonces will decide (RFC 7296 2.8.1)", ikesa_tag(sa), ntohl(old->spi_in));
	return old;
}

struct task *task_child_rekey_new(uint32_t spi_in)
{
	struct child_create *cc = calloc(1, sizeof(*cc));
	if (!cc)
		return NULL;
	cc->t.ops = &child_create_ccsa_ops;
	cc->rekey_spi = spi_in;
	return &cc->t;
}
