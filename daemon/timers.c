/* IKE SA rekey timers (the rules are in timers.h). */
#include "daemon/timers.h"

#include <arpa/inet.h>

#include "daemon/child_kernel.h"
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

static uint64_t idle_interval_ms(const struct ikesa *sa)
{
	uint64_t ms = (uint64_t)sa->conn->life.idle_timeout_s * 1000 / 4;
	return ms < 1000 ? 1000 : ms;
}

static void on_idle_check(struct loop *loop, struct timer *t, void *ctx)
{
	(void)t;
	struct child_sa *c = ctx;
	struct ikesa *sa = c->ike;
	if (!sa || sa->state != IKESA_ESTABLISHED || c->state != CHILD_INSTALLED || c->rekeyed)
		return;
	struct kernel_sa_stats in, out;
	child_kernel_query(sa, c, &in, &out);
	uint64_t bytes = in.bytes + out.bytes, now = engine_now(sa->e);
	if (bytes != c->idle_bytes) {
		c->idle_bytes = bytes;
		c->idle_since = now;
	} else if (now - c->idle_since >= (uint64_t)sa->conn->life.idle_timeout_s * 1000) {
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s (%08x) idle for %u s: deleting",
			ikesa_tag(sa), c->cfg->name, ntohl(c->spi_in), sa->conn->life.idle_timeout_s);
		struct task *d = task_delete_new(c->spi_in);
		if (d)
			tm_queue(sa, d);
		return;
	}
	timer_arm_in(loop, &c->idle_timer, idle_interval_ms(sa));
}

void timers_on_child_installed(struct ikesa *sa, struct child_sa *c)
{
	if (!sa->conn->life.idle_timeout_s)
		return;
	c->idle_bytes = 0;
	c->idle_since = engine_now(sa->e);
	timer_init(&c->idle_timer, on_idle_check, c);
	timer_arm_in(sa->e->env.loop, &c->idle_timer, idle_interval_ms(sa));
}

int64_t timers_ike_rekey_in_s(const struct ikesa *sa)
{
	if (!sa->rekey_ms)
		return -1;
	uint64_t now = engine_now(sa->e);
	return sa->rekey_ms > now ? (int64_t)((sa->rekey_ms - now) / 1000) : 0;
}
