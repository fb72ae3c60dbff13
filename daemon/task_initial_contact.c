/*
 * INITIAL_CONTACT (RFC 7296 2.4): a peer that restarted tells us so in its
 * IKE_AUTH request, and we drop all the IKE SAs (and their Child SAs) we
 * still hold with the same authenticated identity on the conn: it has
 * forgotten them, so no Delete is sent (unique = never ignores it,
 * daemon/unique.h). We send it when we have no other IKE SA of the conn.
 * Runs in the IKE_AUTH exchange after task_ike_auth (whose authentication
 * must have succeeded) and before the Child SA is installed, whose
 * policies the stale SAs would otherwise still hold; its build_r applies
 * unique = replace once the new IKE SA and its Child SA are in.
 *
 *   HDR, SK { IDi, [N(INITIAL_CONTACT)], AUTH, SAi2, TSi, TSr }  -->
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/task.h"
#include "daemon/unique.h"

struct initial_contact {
	struct task t;
	bool seen; /* responder: the request carried INITIAL_CONTACT */
};

/*
 * Whether we hold an established IKE SA of conn with this peer identity, from the engine's (conn, identity) index: O(their number),
 * never a walk of all SAs.
 */
static bool have_peer(struct ikesa *sa, const char *conn, uint8_t type, const uint8_t *id,
		      size_t len)
{
	for (struct ikesa *o = engine_peer_first(sa->e, conn, type, id, len); o; o = o->peer_next)
		if (o != sa && o->state == IKESA_ESTABLISHED && o->peer_id_type == type &&
		    o->peer_id_len == len && memcmp(o->peer_id, id, len) == 0 &&
		    strcmp(o->conn->name, conn) == 0)
			return true;
	return false;
}

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	(void)t;
	/*
	 * We hold no other IKE SA between the two identities (2.4: it asserts
	 * "the only IKE SA currently active between the authenticated
	 * identities"), on this conn or another with our local_id; without a
	 * specific remote_id we cannot know, and say so. Walks the conns, once
	 * per IKE SA we initiate.
	 */
	const struct config_id *r = &sa->conn->remote_id, *l = &sa->conn->local_id;
	bool other = false;
	const struct xiked_config *cfg = sa->cfgref->cfg;
	for (size_t i = 0; i < cfg->n_conns && !other && r->type && !r->any && !r->pattern; i++) {
		const struct config_id *li = &cfg->conns[i].local_id;
		if (li->type == l->type && li->len == l->len && memcmp(li->data, l->data, l->len) == 0)
			other = have_peer(sa, cfg->conns[i].name, r->type, r->data, r->len);
	}
	if (!other)
		payload_build_notify_simple(b, PROTO_NONE, N_INITIAL_CONTACT, NULL, 0, NULL, 0);
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct initial_contact *c = (struct initial_contact *)t;
	c->seen = message_find_notify(m, N_INITIAL_CONTACT) != NULL;
	if (c->seen)
		unique_initial_contact(sa); /* all of them, before our Child SA takes its policies */
	return TASK_DONE;
}

/*
 * Runs after every process_r of the exchange (the Child SA is installed)
 * and after task_ike_auth's build_r (the IKE SA is established): the
 * identity's other IKE SAs go if the conn wants one per identity.
 */
static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	(void)b;
	unique_replace(sa, ((struct initial_contact *)t)->seen);
	return TASK_DONE;
}

static void initial_contact_free(struct task *t)
{
	free(t);
}

static const struct task_ops initial_contact_ops = {
	.name = "initial_contact",
	.exchange = IKE_AUTH,
	.build_i = build_i,
	.process_r = process_r,
	.build_r = build_r,
	.free = initial_contact_free,
};

struct task *task_initial_contact_new(void)
{
	struct initial_contact *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->t.ops = &initial_contact_ops;
	return &c->t;
}
