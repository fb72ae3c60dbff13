/*
 * INITIAL_CONTACT (RFC 7296 2.4): a peer that restarted tells us so in its
 * IKE_AUTH request, and we drop the IKE SAs (and their Child SAs) we still
 * hold with the same authenticated identity: it has forgotten them, so no
 * Delete is sent. We send it when we have no other IKE SA of the conn.
 * Runs in the IKE_AUTH exchange after task_ike_auth (whose authentication
 * must have succeeded) and before the Child SA is installed, whose
 * policies the stale SAs would otherwise still hold.
 *
 *   HDR, SK { IDi, [N(INITIAL_CONTACT)], AUTH, SAi2, TSi, TSr }  -->
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/task.h"

#define CONTACT_SAS_MAX 64 /* stale SAs dropped per INITIAL_CONTACT at most */

/*
 * Other established IKE SAs of sa's conn with this peer identity, from the
 * engine's (conn, identity) index: O(their number), never a walk of all SAs.
 */
static size_t same_peer(struct ikesa *sa, uint8_t type, const uint8_t *id, size_t len,
			struct ikesa **found, size_t cap)
{
	size_t n = 0;
	for (struct ikesa *o = engine_peer_first(sa->e, sa->conn->name, type, id, len);
	     o && n < cap; o = o->peer_next)
		if (o != sa && o->state == IKESA_ESTABLISHED && o->peer_id_type == type &&
		    o->peer_id_len == len && memcmp(o->peer_id, id, len) == 0)
			found[n++] = o;
	return n;
}

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	(void)t;
	/*
	 * We hold no other IKE SA with the peer we expect (its configured
	 * identity); without a specific remote_id we cannot know, and say so.
	 */
	const struct config_id *r = &sa->conn->remote_id;
	struct ikesa *found[1];
	if (!r->type || r->any || r->pattern ||
	    same_peer(sa, r->type, r->data, r->len, found, 1) == 0)
		payload_build_notify_simple(b, PROTO_NONE, N_INITIAL_CONTACT, NULL, 0, NULL, 0);
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	(void)t;
	if (!message_find_notify(m, N_INITIAL_CONTACT) || !sa->peer_id_len)
		return TASK_DONE;
	struct ikesa *found[CONTACT_SAS_MAX];
	size_t n = same_peer(sa, sa->peer_id_type, sa->peer_id, sa->peer_id_len, found,
			     CONTACT_SAS_MAX);
	for (size_t i = 0; i < n; i++) {
		struct ikesa *o = found[i];
		char tag[CONFIG_NAME_MAX + 32];
		snprintf(tag, sizeof(tag), "%s", ikesa_tag(o));
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: INITIAL_CONTACT: the peer restarted, dropping "
			"its stale IKE SA %s", ikesa_tag(sa), tag);
		engine_destroy_sa(sa->e, o);
	}
	return TASK_DONE;
}

static void contact_free(struct task *t)
{
	free(t);
}

static const struct task_ops contact_ops = {
	.name = "initial_contact",
	.exchange = IKE_AUTH,
	.build_i = build_i,
	.process_r = process_r,
	.free = contact_free,
};

struct task *task_initial_contact_new(void)
{
	struct task *t = calloc(1, sizeof(*t));
	if (t)
		t->ops = &contact_ops;
	return t;
}
