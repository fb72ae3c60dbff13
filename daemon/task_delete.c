/*
 * Our Delete requests (RFC 7296 1.4.1): a Child SA or the IKE SA. The
 * peer's INFORMATIONAL requests (its Deletes among them) are answered by
 * task_informational.c.
 *
 *   HDR, SK { D(ESP, SPIs) }   -->   <--  HDR, SK { D(ESP, its SPIs) }
 *   HDR, SK { D(IKE) }         -->   <--  HDR, SK { }
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/child_kernel.h"
#include "daemon/engine_ctx.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/task.h"

struct del {
	struct task t;
	uint32_t spi_in;  /* child to delete (network order), 0 = the IKE SA */
};

void task_build_delete(struct ike_builder *b, uint8_t proto, const uint32_t *spis, size_t n)
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
		task_build_delete(b, PROTO_IKE, NULL, 0);
		return TASK_DONE;
	}
	struct child_sa *c = ikesa_find_child(sa, d->spi_in, true);
	if (c)
		child_set_state(sa, c, CHILD_DELETING);
	task_build_delete(b, PROTO_ESP, &d->spi_in, 1);
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
		child_kernel_remove(sa, c);
	}
	return TASK_DONE;
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
