/*
 * INFORMATIONAL exchanges (RFC 7296 1.4): deleting Child SAs and the IKE
 * SA, liveness checks, and error notifies.
 *
 *   HDR, SK { D(ESP, SPIs) }   -->   <--  HDR, SK { D(ESP, our SPIs) }
 *   HDR, SK { D(IKE) }         -->   <--  HDR, SK { }
 *   HDR, SK { }                -->   <--  HDR, SK { }          (liveness)
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/engine.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/names.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"

#define DELETE_SPIS_MAX 32

struct del {
	struct task t;
	uint32_t spi_in;  /* initiator: child to delete (network order), 0 = the IKE SA */
	/* responder: our inbound SPIs of the children the peer deleted */
	uint32_t answer[DELETE_SPIS_MAX];
	size_t n_answer;
	bool ike;         /* responder: the peer deletes the IKE SA */
};

static void build_delete(struct ike_builder *b, uint8_t proto, const uint32_t *spis, size_t n)
{
	struct ike_delete d = {.protocol = proto, .spi_len = proto == PROTO_IKE ? 0 : 4,
			       .n_spis = (uint16_t)n,
			       .spis = {(const uint8_t *)spis, proto == PROTO_IKE ? 0 : 4 * n}};
	payload_build_delete(b, &d);
}

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct del *d = (struct del *)t;
	if (!d->spi_in) {
		ikesa_set_state(sa, IKESA_DELETING);
		build_delete(b, PROTO_IKE, NULL, 0);
		return TASK_DONE;
	}
	struct child_sa *c = ikesa_find_child(sa, d->spi_in, true);
	if (c)
		child_set_state(sa, c, CHILD_DELETING);
	build_delete(b, PROTO_ESP, &d->spi_in, 1);
	return TASK_DONE;
}

static enum task_status process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	(void)m;
	struct del *d = (struct del *)t;
	if (!d->spi_in) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: IKE SA deleted", ikesa_tag(sa));
		return TASK_DESTROY;
	}
	struct child_sa *c = ikesa_find_child(sa, d->spi_in, true);
	if (c) {
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s deleted (SPI %08x)", ikesa_tag(sa),
			c->cfg->name, ntohl(c->spi_in));
		ikesa_remove_child(sa, c);
	}
	return TASK_DONE;
}

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct del *d = (struct del *)t;
	struct names_buf nb;
	for (const struct ike_payload *p = message_find(m, PL_NOTIFY, NULL); p;
	     p = message_find(m, PL_NOTIFY, p)) {
		if (p->u.notify.type <= N_ERROR_MAX) {
			log_msg(LOG_IKE, LOG_LVL_WARN, "%s: peer reports %s", ikesa_tag(sa),
				names_notify(p->u.notify.type, &nb));
			if (p->u.notify.type == N_AUTHENTICATION_FAILED) {
				/* RFC 7296 2.21.2: the initiator rejected our authentication. */
				sa_event(sa, EV_AUTH_FAILED, "AUTHENTICATION_FAILED: the peer rejected "
					 "our authentication");
				ikesa_set_reason(sa, "AUTHENTICATION_FAILED: the peer rejected our "
						 "authentication");
				d->ike = true;
			}
		}
	}
	for (const struct ike_payload *p = message_find(m, PL_DELETE, NULL); p;
	     p = message_find(m, PL_DELETE, p)) {
		const struct ike_delete *del = &p->u.del;
		if (del->protocol == PROTO_IKE) {
			log_msg(LOG_IKE, LOG_LVL_INFO, "%s: peer deletes the IKE SA", ikesa_tag(sa));
			ikesa_set_reason(sa, "deleted: by the peer");
			d->ike = true;
			continue;
		}
		if (del->protocol != PROTO_ESP || del->spi_len != 4)
			continue;
		for (uint16_t i = 0; i < del->n_spis; i++) {
			uint32_t spi = htonl(payload_delete_spi32(del, i));
			struct child_sa *c = ikesa_find_child(sa, spi, false);
			if (!c) {
				log_msg(LOG_CHD, LOG_LVL_DEBUG, "%s: Delete for unknown SPI %08x",
					ikesa_tag(sa), ntohl(spi));
				continue;
			}
			log_msg(LOG_CHD, LOG_LVL_INFO, "%s: peer deletes Child SA %s (SPI %08x)",
				ikesa_tag(sa), c->cfg->name, ntohl(spi));
			if (d->n_answer < DELETE_SPIS_MAX)
				d->answer[d->n_answer++] = c->spi_in;
			c->down_why = "deleted: by the peer";
			ikesa_remove_child(sa, c);
		}
	}
	if (d->ike)
		ikesa_set_state(sa, IKESA_DELETING);
	return TASK_DONE;
}

static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	(void)sa;
	struct del *d = (struct del *)t;
	/* RFC 7296 1.4.1: answer a Child SA delete with our own SPIs of those SAs. */
	if (d->n_answer)
		build_delete(b, PROTO_ESP, d->answer, d->n_answer);
	return d->ike ? TASK_DESTROY : TASK_DONE;
}

static void del_free(struct task *t)
{
	free(t);
}

static const struct task_ops delete_ops = {
	.name = "DELETE",
	.exchange = INFORMATIONAL,
	.build_i = build_i,
	.process_i = process_i,
	.process_r = process_r,
	.build_r = build_r,
	.free = del_free,
};

struct task *task_delete_new(uint32_t child_spi_in)
{
	struct del *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->t.ops = &delete_ops;
	d->spi_in = child_spi_in;
	return &d->t;
}

struct task *task_informational_r_new(void)
{
	return task_delete_new(0);
}
