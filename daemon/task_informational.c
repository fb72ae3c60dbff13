/*
 * The responder of INFORMATIONAL (RFC 7296 1.4): the peer's Deletes of
 * Child SAs and of the IKE SA, its error notifies, and liveness checks
 * (an empty request, 2.4). RFC 4555's address updates in the same
 * exchange run in task_mobike.c, after this task (daemon/exchange.c).
 *
 *   HDR, SK { D(ESP, SPIs) }   -->   <--  HDR, SK { D(ESP, our SPIs) }
 *   HDR, SK { D(IKE) }         -->   <--  HDR, SK { }
 *   HDR, SK { N(error) }       -->   <--  HDR, SK { }
 *   HDR, SK { }                -->   <--  HDR, SK { }          (liveness)
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/child_kernel.h"
#include "daemon/engine_ctx.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/names.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"

#define DELETE_SPIS_MAX 32

struct info_r {
	struct task t;
	uint32_t answer[DELETE_SPIS_MAX]; /* our inbound SPIs of the children the peer deleted */
	size_t n_answer;
	bool ike;                         /* the peer deletes the IKE SA */
};

static enum task_status process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct info_r *d = (struct info_r *)t;
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
			child_kernel_remove(sa, c);
		}
	}
	if (d->ike)
		ikesa_set_state(sa, IKESA_DELETING);
	return TASK_DONE;
}

static enum task_status build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	(void)sa;
	struct info_r *d = (struct info_r *)t;
	/* RFC 7296 1.4.1: answer a Child SA delete with our own SPIs of those SAs. */
	if (d->n_answer)
		task_build_delete(b, PROTO_ESP, d->answer, d->n_answer);
	return d->ike ? TASK_DESTROY : TASK_DONE;
}

static void info_r_free(struct task *t)
{
	free(t);
}

static const struct task_ops informational_r_ops = {
	.name = "INFORMATIONAL_R",
	.exchange = INFORMATIONAL,
	.process_r = process_r,
	.build_r = build_r,
	.free = info_r_free,
};

struct task *task_informational_r_new(void)
{
	struct info_r *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->t.ops = &informational_r_ops;
	return &d->t;
}
