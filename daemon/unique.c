/* One IKE SA per peer identity and conn, and INITIAL_CONTACT (see unique.h). */
#include "daemon/unique.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "daemon/endpoint.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/engine_teardown.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/task_reauth.h"
#include "daemon/timers.h"

/* o is another IKE SA with sa's conn and authenticated peer identity (the index hashes them). */
static bool same_identity(const struct ikesa *sa, const struct ikesa *o)
{
	return o != sa && o->peer_id_type == sa->peer_id_type &&
	       o->peer_id_len == sa->peer_id_len &&
	       memcmp(o->peer_id, sa->peer_id, sa->peer_id_len) == 0 &&
	       strcmp(o->conn->name, sa->conn->name) == 0;
}

/* An established IKE SA of the identity that a new one would duplicate. */
static bool duplicate(struct ikesa *sa, struct ikesa *o)
{
	return same_identity(sa, o) && o->state == IKESA_ESTABLISHED && !o->ike_rekeyed &&
	       engine_conn_sa(sa->e, o->conn->name) != o;
}

static struct ikesa *first_of(struct ikesa *sa)
{
	return engine_peer_first(sa->e, sa->conn->name, sa->peer_id_type, sa->peer_id,
				 sa->peer_id_len);
}

bool unique_refuse(struct ikesa *sa)
{
	if (sa->conn->unique != CONFIG_UNIQUE_KEEP || !sa->peer_id_len)
		return false;
	for (struct ikesa *o = first_of(sa); o; o = o->peer_next)
		if (duplicate(sa, o)) {
			char tag[CONFIG_NAME_MAX + 32];
			snprintf(tag, sizeof(tag), "%s", ikesa_tag(o));
			log_msg(LOG_IKE, LOG_LVL_WARN, "%s: the peer's identity has IKE SA %s already "
				"(unique = keep): AUTHENTICATION_FAILED", ikesa_tag(sa), tag);
			ikesa_set_reason(sa, "AUTHENTICATION_FAILED: the peer's identity has an IKE SA "
					 "already (unique = keep)");
			return true;
		}
	return false;
}

void unique_initial_contact(struct ikesa *sa)
{
	if (sa->conn->unique == CONFIG_UNIQUE_NEVER || !sa->peer_id_len)
		return;
	/*
	 * Every other IKE SA of the identity, whatever its state (one being
	 * deleted waits for an answer that will not come). Each destroy
	 * unlinks it from the index, so the list is read again from its head:
	 * only sa and SAs of other conns or identities (hash collisions) are
	 * ever passed over.
	 */
	size_t n = 0;
	for (;;) {
		struct ikesa *o = first_of(sa);
		while (o && (!same_identity(sa, o) || o->state == IKESA_DESTROYING))
			o = o->peer_next;
		if (!o)
			break;
		char tag[CONFIG_NAME_MAX + 32];
		snprintf(tag, sizeof(tag), "%s", ikesa_tag(o));
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: INITIAL_CONTACT: the peer restarted, dropping "
			"its stale IKE SA %s", ikesa_tag(sa), tag);
		ikesa_set_reason(o, "replaced: INITIAL_CONTACT, the peer restarted");
		engine_destroy_sa(sa->e, o);
		n++;
	}
	if (n > 1)
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: INITIAL_CONTACT: %zu stale IKE SAs dropped",
			ikesa_tag(sa), n);
}

bool unique_replaces(const struct ikesa *sa, const struct ikesa *o)
{
	return sa->conn->unique == CONFIG_UNIQUE_REPLACE && sa->peer_id_len &&
	       duplicate((struct ikesa *)sa, (struct ikesa *)o);
}

void unique_replace(struct ikesa *sa, bool initial_contact)
{
	if (sa->conn->unique != CONFIG_UNIQUE_REPLACE || !sa->peer_id_len ||
	    sa->state != IKESA_ESTABLISHED)
		return;
	struct ikesa *next;
	for (struct ikesa *o = first_of(sa); o; o = next) {
		next = o->peer_next; /* a Delete that cannot be sent destroys o */
		if (!duplicate(sa, o))
			continue;
		/* Replaced: no rekey or reauthentication of it any more, only its Delete. */
		o->ike_rekeyed = true;
		ikesa_set_reason(o, "replaced: a new IKE SA of the same identity (unique = replace)");
		timer_cancel(sa->e->env.loop, &o->rekey_timer);
		o->rekey_ms = 0;
		char tag[CONFIG_NAME_MAX + 32];
		snprintf(tag, sizeof(tag), "%s", ikesa_tag(o));
		if (!initial_contact && endpoint_same_addr(&o->remote, &sa->remote)) {
			/* The peer reauthenticates (2.8.3): it deletes the old one itself. */
			log_msg(LOG_IKE, LOG_LVL_INFO, "%s: replaces IKE SA %s of the same identity and "
				"address (unique = replace): deleting it in %u s unless the peer does",
				ikesa_tag(sa), tag, REAUTH_OUT_WAIT_MS / 1000);
			timers_on_ike_replaced(o, REAUTH_OUT_WAIT_MS);
			continue;
		}
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: replaces IKE SA %s of the same identity "
			"(unique = replace): deleting it", ikesa_tag(sa), tag);
		struct task *d = task_delete_new(0);
		if (d)
			tm_queue(o, d);
		else
			timers_on_ike_replaced(o, 0);
	}
}
