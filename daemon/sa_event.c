/* Events about IKE and Child SAs; see sa_event.h. */
#include "daemon/sa_event.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine_ctx.h"
#include "daemon/ikesa.h"

static void peer_text(const struct ikesa *sa, char *buf, size_t len)
{
	struct config_id id = {.type = sa->peer_id_type, .len = sa->peer_id_len};
	memcpy(id.data, sa->peer_id, sa->peer_id_len);
	buf[0] = 0;
	if (id.type)
		config_id_format(&id, buf, len);
}

/* The IKE SA's members of an event. */
static void fill(struct event *ev, const struct ikesa *sa, char *idbuf, size_t idlen)
{
	ev->conn = sa->conn->name;
	ev->ike_id = sa->uid;
	ev->initiator = sa->initiator;
	ev->spi_i = sa->spi_i;
	ev->spi_r = sa->spi_r;
	ev->local = &sa->local;
	ev->remote = &sa->remote;
	peer_text(sa, idbuf, idlen);
	ev->remote_id = idbuf;
}

void sa_event(struct ikesa *sa, enum event_type t, const char *fmt, ...)
{
	char reason[EVENT_REASON_MAX] = "", id[CONFIG_ID_MAX * 2 + 8];
	struct event ev = {.type = t};
	if (!sa->e->events)
		return;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
	}
	fill(&ev, sa, id, sizeof(id));
	ev.reason = reason;
	event_emit(sa->e->events, &ev);
}

void sa_event_child(struct ikesa *sa, const struct child_sa *c, const struct child_cfg *cfg,
		    enum event_type t, const char *fmt, ...)
{
	char reason[EVENT_REASON_MAX] = "", id[CONFIG_ID_MAX * 2 + 8];
	struct event ev = {.type = t};
	if (!sa->e->events)
		return;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
	}
	fill(&ev, sa, id, sizeof(id));
	ev.reason = reason;
	if (c) {
		cfg = c->cfg;
		ev.spi_in = ntohl(c->spi_in);
		ev.spi_out = ntohl(c->spi_out);
		ev.reqid = c->reqid;
	}
	ev.child = cfg ? cfg->name : NULL;
	event_emit(sa->e->events, &ev);
}

void sa_event_ike_rekeyed(struct ikesa *old, struct ikesa *n, const char *reason)
{
	char id[CONFIG_ID_MAX * 2 + 8];
	struct event ev = {.type = EV_IKE_REKEYED, .reason = reason};
	old->rekey_told = true;
	if (!old->e->events)
		return;
	fill(&ev, old, id, sizeof(id));
	ev.new_ike_id = n->uid;
	ev.new_spi_i = n->spi_i;
	ev.new_spi_r = n->spi_r;
	event_emit(old->e->events, &ev);
}

void sa_event_child_rekeyed(struct ikesa *sa, const struct child_sa *c, uint32_t old_in,
			    uint32_t old_out)
{
	char id[CONFIG_ID_MAX * 2 + 8];
	struct event ev = {.type = EV_CHILD_REKEYED};
	if (!sa->e->events)
		return;
	fill(&ev, sa, id, sizeof(id));
	ev.child = c->cfg->name;
	ev.spi_in = ntohl(c->spi_in);
	ev.spi_out = ntohl(c->spi_out);
	ev.old_spi_in = ntohl(old_in);
	ev.old_spi_out = ntohl(old_out);
	ev.reqid = c->reqid;
	event_emit(sa->e->events, &ev);
}

void ikesa_set_reason(struct ikesa *sa, const char *fmt, ...)
{
	char buf[EVENT_REASON_MAX];
	va_list ap;
	if (sa->end_reason)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sa->end_reason = strdup(buf); /* NULL on no memory: the default reason then */
}

void sa_event_end_prepare(struct ikesa *sa, struct sa_event_end *end)
{
	memset(end, 0, sizeof(*end));
	if (!sa->e->events || !sa->conn)
		return;
	if (sa->established_ms) {
		/* A rekeyed IKE SA lives on in its successor (ike-rekey said so). */
		if (sa->rekey_told || sa->redundant_successor)
			return;
		end->type = EV_IKE_DOWN;
		snprintf(end->reason, sizeof(end->reason), "%s",
			 sa->end_reason ? sa->end_reason : "deleted");
	} else {
		/*
		 * Not a responder's half-open SA that simply expired (scans and
		 * floods would bury the conn's real last error), nor an IKE
		 * rekey's successor that never took over.
		 */
		if (sa->is_successor || (!sa->initiator && !sa->end_reason))
			return;
		end->type = EV_IKE_FAILED;
		snprintf(end->reason, sizeof(end->reason), "%s",
			 sa->end_reason ? sa->end_reason : "removed before it was established");
	}
	end->emit = true;
	snprintf(end->conn, sizeof(end->conn), "%s", sa->conn->name);
	peer_text(sa, end->remote_id, sizeof(end->remote_id));
	end->local = sa->local;
	end->remote = sa->remote;
	end->spi_i = sa->spi_i;
	end->spi_r = sa->spi_r;
	end->uid = sa->uid;
	end->initiator = sa->initiator;
}

void sa_event_end_emit(struct engine *e, const struct sa_event_end *end)
{
	if (!end->emit)
		return;
	struct event ev = {.type = end->type, .conn = end->conn, .ike_id = end->uid,
			   .initiator = end->initiator, .spi_i = end->spi_i, .spi_r = end->spi_r,
			   .local = &end->local, .remote = &end->remote,
			   .remote_id = end->remote_id, .reason = end->reason};
	event_emit(e->events, &ev);
}
