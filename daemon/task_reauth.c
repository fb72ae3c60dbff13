/*
 * Make-before-break reauthentication (RFC 7296 2.8.3; see task_reauth.h):
 *
 *   new IKE SA:  IKE_SA_INIT, IKE_AUTH { IDi, AUTH, SAi2, TSi, TSr } (no INITIAL_CONTACT)
 *                [CREATE_CHILD_SA { SA, Ni, [KEi,] TSi, TSr }] for each further Child SA
 *   old IKE SA:  INFORMATIONAL { D(IKE) }, once the new one holds its Child SAs
 */
#include "daemon/sa_event.h"
#include "daemon/task_reauth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "daemon/child_rekey.h"
#include "daemon/endpoint.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/engine_teardown.h"
#include "daemon/exchange.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/timers.h"

bool reauth_wanted(struct ikesa *sa)
{
	return sa->conn->life.reauth && engine_conn_sa(sa->e, sa->conn->name) == sa;
}

/*
 * Runs on the new IKE SA after the exchanges that made its Child SAs (it
 * sends nothing): the old IKE SA can go. Queued as an INFORMATIONAL task,
 * so that the task manager never bundles it into another exchange.
 */
static enum task_status done_build_i(struct task *t, struct ikesa *n, struct ike_builder *b)
{
	(void)t;
	(void)b;
	struct engine *e = n->e;
	struct ikesa *old = n->reauth_of ? engine_find(e, n->reauth_of) : NULL;
	n->reauth_of = 0;
	if (!old || old->reauth_by != n->local_spi_key)
		return TASK_FAILED; /* the old IKE SA went meanwhile (reauth_on_destroy) */
	old->reauth_by = 0;
	size_t had = 0, has = 0;
	for (const struct child_sa *c = old->children; c; c = c->next)
		had += child_live(c);
	for (const struct child_sa *c = n->children; c; c = c->next)
		has += c->state == CHILD_INSTALLED;
	engine_take_conn_role(e, old, n);
	if (has < had)
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: reauthenticated with %zu of the %zu Child SAs of "
			"the old IKE SA", ikesa_tag(n), has, had);
	if (old->state != IKESA_ESTABLISHED || old->ike_rekeyed)
		return TASK_FAILED;
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: reauthenticated (%zu Child SAs): deleting the old IKE "
		"SA %016" PRIx64 "_i %016" PRIx64 "_r", ikesa_tag(n), has, old->spi_i, old->spi_r);
	/* Replaced: no rekey or reauthentication of it any more, only its Delete (2.8.3). */
	old->ike_rekeyed = true;
	ikesa_set_reason(old, "reauthenticated");
	sa_event_ike_rekeyed(old, n, "reauthenticated");
	n->predecessor = old->local_spi_key;
	timer_cancel(e->env.loop, &old->rekey_timer);
	old->rekey_ms = 0;
	struct task *d = task_delete_new(0);
	if (d)
		tm_queue(old, d);
	return TASK_FAILED; /* nothing to send on the new IKE SA */
}

static void done_free(struct task *t)
{
	free(t);
}

static const struct task_ops reauth_done_ops = {
	.name = "REAUTH_DONE",
	.exchange = INFORMATIONAL,
	.build_i = done_build_i,
	.free = done_free,
};

static struct task *reauth_done_new(void)
{
	struct task *t = calloc(1, sizeof(*t));
	if (t)
		t->ops = &reauth_done_ops;
	return t;
}

/* Whether an earlier child of old than c has c's reqid (a rekey's old and new SA). */
static bool reqid_seen(const struct ikesa *old, const struct child_sa *c)
{
	for (const struct child_sa *x = old->children; x && x != c; x = x->next)
		if (x->reqid == c->reqid && child_live(x))
			return true;
	return false;
}

int reauth_start(struct ikesa *old)
{
	struct engine *e = old->e;
	if (old->state != IKESA_ESTABLISHED || old->ike_rekeyed ||
	    engine_conn_sa(e, old->conn->name) != old)
		return -EINVAL;
	if (old->reauth_by || old->ike_rekeying)
		return -EALREADY;
	size_t kids = 0;
	for (const struct child_sa *c = old->children; c; c = c->next)
		kids += child_live(c);
	if (!kids) {
		/*
		 * Nothing to carry over (idle Child SAs deleted, say): as strongSwan,
		 * the IKE SA goes instead; a trap brings a new one up, freshly
		 * authenticated, with the next packet.
		 */
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: reauthentication of an IKE SA without Child "
			"SAs: deleting it", ikesa_tag(old));
		old->ike_rekeyed = true;
		struct task *d = task_delete_new(0);
		if (d)
			tm_queue(old, d);
		return 0;
	}
	struct ikesa *n = ikesa_new(e, old->cfgref, old->conn, true);
	if (!n || engine_index(e, n) != 0) {
		engine_free_sa(n);
		timers_on_ike_rekey_deferred(old);
		return -ENOMEM;
	}
	n->local = old->local;
	n->remote = old->remote;
	endpoint_set_port(&n->local, e->env.port);
	endpoint_set_port(&n->remote, e->env.port);
	n->reauth_of = old->local_spi_key;
	old->reauth_by = n->local_spi_key;
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: reauthenticating: new IKE SA %016" PRIx64 "_i "
		"(make-before-break, RFC 7296 2.8.3)", ikesa_tag(old), n->spi_i);
	/*
	 * The setup exchanges of the table (exchange.c), as a reauthentication:
	 * no INITIAL_CONTACT, the peer must keep the old IKE SA until we delete
	 * it (2.4); the first Child SA again in IKE_AUTH, the others each in a
	 * CREATE_CHILD_SA.
	 */
	uint64_t key = n->local_spi_key;
	if (exchange_queue(n, EXCH_IKE_SA_INIT, &(struct exchange_args){.reauth = true}) != 0) {
		engine_destroy_sa(e, n);
		return -ENOMEM;
	}
	if (!engine_find(e, key))
		return -EIO; /* failed at once (logged); reauth_on_destroy planned a retry */
	size_t queued = 0;
	int rc = 0;
	for (const struct child_sa *c = old->children; c && rc == 0; c = c->next) {
		if (!child_live(c) || reqid_seen(old, c))
			continue;
		rc = exchange_queue(n, queued == 0 ? EXCH_IKE_AUTH : EXCH_CHILD_SA,
				    &(struct exchange_args){.remake = c, .reauth = true});
		queued++;
	}
	if (rc != 0 || !queued || tm_queue(n, reauth_done_new()) != 0) {
		engine_destroy_sa(e, n);
		return -ENOMEM;
	}
	return 0;
}

void reauth_on_destroy(struct ikesa *sa)
{
	struct engine *e = sa->e;
	if (sa->reauth_of) {
		/* A reauthentication that did not finish: the old IKE SA stays, for now. */
		struct ikesa *old = engine_find(e, sa->reauth_of);
		sa->reauth_of = 0;
		if (old && old->reauth_by == sa->local_spi_key) {
			old->reauth_by = 0;
			if (old->state == IKESA_ESTABLISHED && !old->ike_rekeyed && !e->shutting_down) {
				log_msg(LOG_IKE, LOG_LVL_WARN, "%s: reauthentication failed: the IKE SA "
					"stays, trying again later", ikesa_tag(old));
				timers_on_ike_rekey_deferred(old);
			}
		}
	}
	if (sa->reauth_by) {
		/* The old IKE SA goes first (the peer deleted it): the new one carries on alone. */
		struct ikesa *n = engine_find(e, sa->reauth_by);
		sa->reauth_by = 0;
		if (n && n->reauth_of == sa->local_spi_key) {
			n->reauth_of = 0;
			engine_take_conn_role(e, sa, n);
		}
	}
}
