/* IKE SA rekey timers (the rules are in timers.h). */
#include "daemon/timers.h"

#include "daemon/engine.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"

#define REKEY_RETRY_MS 5000

static void on_rekey(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct ikesa *sa = ctx;
	sa->rekey_ms = 0;
	if (sa->state != IKESA_ESTABLISHED || sa->ike_rekeying)
		return;
	struct task *r = task_ike_rekey_new();
	if (r)
		tm_queue(sa, r);
}

static void arm(struct ikesa *sa, uint64_t delay_ms)
{
	timer_init(&sa->rekey_timer, on_rekey, sa);
	timer_arm_in(sa->e->env.loop, &sa->rekey_timer, delay_ms);
	sa->rekey_ms = engine_now(sa->e) + delay_ms;
}

void timers_on_ike_established(struct ikesa *sa)
{
	const struct lifetime_cfg *l = &sa->conn->life;
	sa->rekey_deferred_since = 0;
	if (!l->ike_lifetime_s) {
		timer_cancel(sa->e->env.loop, &sa->rekey_timer);
		sa->rekey_ms = 0;
		return;
	}
	uint32_t r = 0;
	if (l->rand_margin_s) {
		rng_fill(sa->e->env.rng, &r, sizeof(r));
		r %= l->rand_margin_s + 1;
	}
	uint64_t margin = (uint64_t)l->rekey_margin_s + r;
	uint64_t at = l->ike_lifetime_s > margin ? l->ike_lifetime_s - margin : 1;
	arm(sa, at * 1000);
}

void timers_on_ike_rekey_deferred(struct ikesa *sa)
{
	uint64_t now = engine_now(sa->e);
	if (!sa->rekey_deferred_since)
		sa->rekey_deferred_since = now;
	if (now - sa->rekey_deferred_since > IKE_REKEY_GIVE_UP_MS) {
		/* RFC 7296 2.25: state out of sync; close the IKE SA. */
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: the peer refused the IKE rekey for %u s: "
			"deleting the IKE SA", ikesa_tag(sa), IKE_REKEY_GIVE_UP_MS / 1000);
		struct task *d = task_delete_new(0);
		if (d)
			tm_queue(sa, d);
		return;
	}
	uint32_t r = 0;
	rng_fill(sa->e->env.rng, &r, sizeof(r));
	arm(sa, REKEY_RETRY_MS + r % REKEY_RETRY_MS);
}

int64_t timers_ike_rekey_in_s(const struct ikesa *sa)
{
	if (!sa->rekey_ms)
		return -1;
	uint64_t now = engine_now(sa->e);
	return sa->rekey_ms > now ? (int64_t)((sa->rekey_ms - now) / 1000) : 0;
}
