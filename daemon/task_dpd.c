/*
 * Dead peer detection probe (RFC 7296 2.4): an empty INFORMATIONAL request,
 * queued by the DPD timer (timers.c) when nothing came from the peer for
 * dpd seconds. Its response proves the peer alive; without one, the task
 * manager retransmits and finally gives up (timers_on_peer_dead).
 *
 *   HDR, SK { }  -->
 *                <--  HDR, SK { }
 */
#include <stdlib.h>

#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/task.h"

static enum task_status build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	(void)t;
	(void)sa;
	(void)b; /* no payloads inside SK */
	return TASK_DONE;
}

static enum task_status process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	(void)t;
	(void)m;
	log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: the peer answered the liveness check", ikesa_tag(sa));
	return TASK_DONE;
}

static void dpd_free(struct task *t)
{
	free(t);
}

static const struct task_ops dpd_ops = {
	.name = "dpd",
	.exchange = INFORMATIONAL,
	.build_i = build_i,
	.process_i = process_i,
	.free = dpd_free,
};

struct task *task_dpd_new(void)
{
	struct task *t = calloc(1, sizeof(*t));
	if (t)
		t->ops = &dpd_ops;
	return t;
}
