/* IKE and Child SA timers (the rules are in timers.h). */
#include "daemon/timers.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "daemon/child_kernel.h"
#include "daemon/engine.h"
#include "daemon/engine_index.h"
#include "daemon/engine_teardown.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/task_reauth.h"
#include "daemon/trap.h"

static void on_rekey(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct ikesa *sa = ctx;
	sa->rekey_ms = 0;
	if (sa->state != IKESA_ESTABLISHED || sa->ike_rekeying || sa->ike_rekeyed || sa->reauth_by)
		return;
	if (reauth_wanted(sa)) {
		/* RFC 7296 2.8.3: a new IKE SA with fresh authentication (retries itself on failure). */
		reauth_start(sa);
		return;
	}
	struct task *r = task_ike_rekey_new();
	if (r)
		tm_queue(sa, r);
}

static void arm(struct ikesa *sa, uint64_t delay_ms)
{
	timer_cancel(sa->e->env.loop, &sa->rekey_timer); /* re-initing an armed timer corrupts the heap */
	timer_init(&sa->rekey_timer, on_rekey, sa);
	timer_arm_in(sa->e->env.loop, &sa->rekey_timer, delay_ms);
	sa->rekey_ms = engine_now(sa->e) + delay_ms;
}

static void arm_liveness(struct ikesa *sa);

void timers_on_ike_established(struct ikesa *sa)
{
	const struct lifetime_cfg *l = &sa->conn->life;
	arm_liveness(sa);
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
	if (!sa || sa->state != IKESA_ESTABLISHED || c->state != CHILD_INSTALLED ||
	    c->rekey == CHILD_REKEY_REPLACED)
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
		c->down_why = "idle: no traffic for idle_timeout";
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
	timer_cancel(sa->e->env.loop, &c->idle_timer);
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

/* Sums the kernel's byte counters of sa's installed Child SAs, one direction. */
static uint64_t child_bytes(struct ikesa *sa, bool inbound)
{
	uint64_t sum = 0;
	for (struct child_sa *c = sa->children; c; c = c->next) {
		struct kernel_sa_stats in, out;
		if (!c->installed_in && !c->installed_out)
			continue;
		child_kernel_query(sa, c, &in, &out);
		sum += inbound ? in.bytes : out.bytes;
	}
	return sum;
}

static void on_keepalive(struct loop *loop, struct timer *t, void *ctx)
{
	(void)t;
	struct ikesa *sa = ctx;
	struct engine *e = sa->e;
	if (sa->state != IKESA_ESTABLISHED || !(sa->ext & EXT_NAT_LOCAL))
		return;
	uint64_t now = engine_now(e), every = (uint64_t)sa->conn->live.keepalive_s * 1000;
	uint64_t out = child_bytes(sa, false);
	if (out != sa->ka_bytes_out) {
		sa->ka_bytes_out = out;
		sa->last_tx_ms = now; /* ESP in UDP keeps the NAT mapping too */
	}
	if (now - sa->last_tx_ms >= every) {
		/* RFC 3948 2.3: from our NAT-T port, to the peer's. */
		log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: sending NAT keepalive", ikesa_tag(sa));
		e->stats.keepalives_sent++;
		e->env.keepalive(e->env.send_ctx, &sa->local, &sa->remote);
		sa->last_tx_ms = now;
	}
	timer_arm_in(loop, &sa->keepalive_timer, sa->last_tx_ms + every - now);
}

void timers_on_path_changed(struct ikesa *sa)
{
	struct engine *e = sa->e;
	const struct liveness_cfg *l = &sa->conn->live;
	if (!l->keepalive_s || !(sa->ext & EXT_NAT_LOCAL) || !e->env.keepalive ||
	    timer_armed(&sa->keepalive_timer))
		return;
	timer_init(&sa->keepalive_timer, on_keepalive, sa);
	timer_arm_in(e->env.loop, &sa->keepalive_timer, (uint64_t)l->keepalive_s * 1000);
}

static void on_dpd(struct loop *loop, struct timer *t, void *ctx)
{
	(void)t;
	struct ikesa *sa = ctx;
	if (sa->state != IKESA_ESTABLISHED)
		return;
	uint64_t now = engine_now(sa->e), dpd = (uint64_t)sa->conn->live.dpd_s * 1000;
	uint64_t in = child_bytes(sa, true);
	if (in != sa->dpd_bytes_in) {
		/* A busy tunnel proves the peer alive: no probe (RFC 7296 2.4). */
		log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: inbound ESP moved (%llu octets in all): no "
			"liveness check", ikesa_tag(sa), (unsigned long long)in);
		sa->dpd_bytes_in = in;
		sa->last_rx_ms = now;
	}
	if (now - sa->last_rx_ms < dpd) {
		timer_arm_in(loop, &sa->dpd_timer, sa->last_rx_ms + dpd - now);
		return;
	}
	if (!tm_busy(sa)) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: nothing from the peer for %u s: checking liveness",
			ikesa_tag(sa), (unsigned)((now - sa->last_rx_ms) / 1000));
		struct task *p = task_dpd_new();
		if (p) {
			sa->e->stats.dpd_probes++;
			tm_queue(sa, p);
		}
	}
	/* Any exchange under way ends in a response (checked again then) or in give-up. */
	timer_arm_in(loop, &sa->dpd_timer, dpd);
}

static void arm_liveness(struct ikesa *sa)
{
	struct engine *e = sa->e;
	const struct liveness_cfg *l = &sa->conn->live;
	uint64_t now = engine_now(e);
	sa->last_rx_ms = sa->last_tx_ms = now;
	sa->dpd_bytes_in = sa->ka_bytes_out = 0;
	if (l->keepalive_s && (sa->ext & EXT_NAT_LOCAL) && e->env.keepalive) {
		timer_cancel(sa->e->env.loop, &sa->keepalive_timer);
		timer_init(&sa->keepalive_timer, on_keepalive, sa);
		timer_arm_in(e->env.loop, &sa->keepalive_timer, (uint64_t)l->keepalive_s * 1000);
	}
	if (l->dpd_s) {
		timer_cancel(sa->e->env.loop, &sa->dpd_timer);
		timer_init(&sa->dpd_timer, on_dpd, sa);
		timer_arm_in(e->env.loop, &sa->dpd_timer, (uint64_t)l->dpd_s * 1000);
	}
}

void timers_on_peer_dead(struct ikesa *sa)
{
	struct engine *e = sa->e;
	/* Not when the peer died during our own Delete or an IKE rekey's end. */
	bool was_up = sa->state == IKESA_ESTABLISHED && !sa->ike_rekeyed;
	/*
	 * A restart that found the peer still down is tried again, so the
	 * tunnel returns whenever the peer does (each try lasts the whole
	 * retransmission schedule, so this never spins).
	 */
	bool retry = sa->dpd_restart && !sa->established_ms;
	enum config_dpd_action act = sa->conn->live.dpd_action;
	char name[CONFIG_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", sa->conn->name);
	bool has_remote = sa->conn->remote_addr.ss_family != AF_UNSPEC;
	if (was_up)
		e->stats.peers_dead++;
	engine_destroy_sa(e, sa);
	if (e->shutting_down || act == CONFIG_DPD_CLEAR)
		return;
	if (!was_up && !(retry && act == CONFIG_DPD_RESTART))
		return;
	if (act == CONFIG_DPD_TRAP) {
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: dpd_action = trap: installing its trap policies",
			name);
		trap_install_conn(e, name);
		return;
	}
	if (!has_remote)
		return; /* nowhere to go: the peer must come back to us */
	char err[128];
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: dpd_action = restart: initiating again%s", name,
		retry ? " (the peer is still unreachable)" : "");
	if (engine_up(e, name, err, sizeof(err)) != 0) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: restart failed: %s", name, err);
		return;
	}
	struct ikesa *n = engine_conn_sa(e, name);
	if (n)
		n->dpd_restart = true;
}

static void on_replaced(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct ikesa *sa = ctx;
	if (sa->state != IKESA_ESTABLISHED)
		return; /* its Delete is under way */
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: replaced, and the peer has not deleted it: deleting "
		"it", ikesa_tag(sa));
	struct task *d = task_delete_new(0);
	if (d)
		tm_queue(sa, d);
	else
		engine_destroy_sa(sa->e, sa);
}

void timers_on_ike_replaced(struct ikesa *sa, uint32_t ms)
{
	timer_cancel(sa->e->env.loop, &sa->reap_timer);
	timer_init(&sa->reap_timer, on_replaced, sa);
	timer_arm_in(sa->e->env.loop, &sa->reap_timer, ms);
}
