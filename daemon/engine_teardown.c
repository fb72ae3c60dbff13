/* How IKE SAs end (see engine_teardown.h). */
#include "daemon/engine_teardown.h"

#include "daemon/auth.h"
#include "daemon/child_kernel.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/mobike.h"
#include "daemon/sa_event.h"
#include "daemon/task_manager.h"
#include "daemon/task_reauth.h"
#include "daemon/vip.h"

void engine_free_sa(struct ikesa *sa)
{
	if (!sa)
		return;
	tm_clear(sa);
	ikesa_stop_timers(sa);
	while (sa->children)
		child_kernel_remove(sa, sa->children);
	vip_release(sa); /* after the routes that use the addresses */
	sa_auth_free(sa->auth);
	sa->auth = NULL;
	mobike_free(sa->mobike);
	sa->mobike = NULL;
	ikesa_free(sa);
}

void engine_destroy_sa(struct engine *e, struct ikesa *sa)
{
	reauth_on_destroy(sa); /* before the conn role is dropped: a new IKE SA may take it */
	engine_index_remove(e, sa);
	if (sa->state != IKESA_ESTABLISHED && sa->state != IKESA_DELETING &&
	    sa->state != IKESA_DESTROYING)
		log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: IKE SA removed before it was established",
			ikesa_tag(sa));
	ikesa_set_state(sa, IKESA_DESTROYING);
	/* Its Child SAs' child-down events first (engine_free_sa), then its ike-down / ike-failed. */
	struct sa_event_end end;
	sa_event_end_prepare(sa, &end);
	engine_free_sa(sa);
	sa_event_end_emit(e, &end);
}

static void on_half_open_expiry(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct ikesa *sa = ctx;
	if (sa->state == IKESA_ESTABLISHED)
		return;
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: half-open IKE SA expired", ikesa_tag(sa));
	sa->e->stats.half_open_expired++;
	engine_destroy_sa(sa->e, sa);
}

void engine_arm_setup_timeout(struct ikesa *sa)
{
	timer_cancel(sa->e->env.loop, &sa->life_timer);
	timer_init(&sa->life_timer, on_half_open_expiry, sa);
	timer_arm_in(sa->e->env.loop, &sa->life_timer,
		     (uint64_t)sa->e->cfg->cfg->d.half_open_timeout_s * 1000);
}
