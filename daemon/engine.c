/* The IKEv2 engine: dispatch, connections, kernel expire events (see engine.h). */
#include "daemon/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/child_kernel.h"
#include "daemon/child_rekey.h"
#include "daemon/child_route.h"
#include "daemon/dos.h"
#include "daemon/endpoint.h"
#include "daemon/engine_index.h"
#include "daemon/engine_teardown.h"
#include "daemon/exchange.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/vip.h"
#include "daemon/message.h"
#include "daemon/metrics.h"
#include "daemon/names.h"
#include "daemon/reload.h"
#include "daemon/sa_event.h"
#include "daemon/route_iface.h"
#include "daemon/spi_table.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/task_reauth.h"
#include "daemon/timers.h"
#include "daemon/trap.h"

static bool addr_eq(const struct sockaddr_storage *cfg, const struct sockaddr_storage *a)
{
	if (cfg->ss_family != a->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)cfg)->sin_addr,
			      &((const struct sockaddr_in *)a)->sin_addr, 4) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)cfg)->sin6_addr,
			      &((const struct sockaddr_in6 *)a)->sin6_addr, 16) == 0;
	return false;
}

/* ---- life cycle ---- */

/* Retransmission settings from [daemon] (RFC 7296 2.4). */
static void engine_timing_from(struct engine *e, const struct xiked_config *cfg)
{
	e->timing = (struct engine_timing){
		.retransmit_timeout_ms = cfg->d.retransmit_timeout_ms,
		.retransmit_base = cfg->d.retransmit_base_tenths / 10.0,
		.retransmit_tries = cfg->d.retransmit_tries,
	};
}

struct engine *engine_new(const struct engine_env *env, struct xiked_config *cfg)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->env = *env;
	engine_timing_from(e, cfg);
	e->cfg = cfg_ref_new(cfg);
	e->by_spi = spi_table_new();
	e->half_open = spi_table_new();
	e->child_by_spi = spi_table_new();
	e->by_conn = spi_table_new();
	e->policy_refs = spi_table_new();
	e->policy_by_sel = spi_table_new();
	e->by_peer = spi_table_new();
	e->traps = spi_table_new();
	e->dos = dos_new(e);
	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		e->metrics = metrics_new((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
	}
	e->scratch_msg = malloc(sizeof(*e->scratch_msg));
	e->rxbuf = malloc(2 * IKE_MSG_MAX);
	e->txbuf = malloc(IKE_MSG_MAX);
	e->next_reqid = XIKED_REQID_BASE + 1;
	e->next_unique_if_id = CONFIG_IF_ID_UNIQUE_BASE;
	e->events = event_bus_new();
	/* The metrics count what the bus tells (metrics.h). */
	bool counted = e->events && e->metrics &&
		       event_subscribe(e->events, metrics_on_event, e->metrics) == 0;
	if (!counted || !e->events || !e->cfg || !e->by_spi || !e->half_open || !e->child_by_spi || !e->by_conn ||
	    !e->by_peer ||
	    !e->policy_refs || !e->policy_by_sel || !e->traps || !e->dos || !e->metrics || !e->scratch_msg || !e->rxbuf || !e->txbuf) {
		if (!e->cfg)
			config_free(cfg);
		engine_free(e);
		return NULL;
	}
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->by_spi) {
		struct engine_sa_list l = engine_all_sas(e);
		for (size_t i = 0; i < l.n; i++)
			engine_destroy_sa(e, l.v[i]);
		free(l.v);
	}
	if (e->traps)
		trap_remove_all(e);
	if (e->roam_pending)
		timer_cancel(e->env.loop, &e->roam_timer);
	route_iface_free_all(e);
	child_route_free_all(e);
	vip_free_all(e);
	spi_table_free(e->by_spi);
	spi_table_free(e->half_open);
	spi_table_free(e->child_by_spi);
	spi_table_free(e->by_conn);
	spi_table_free(e->policy_refs);
	spi_table_free(e->policy_by_sel);
	spi_table_free(e->by_peer);
	spi_table_free(e->traps);
	dos_free(e->dos);
	metrics_free(e->metrics);
	free(e->scratch_msg);
	free(e->rxbuf);
	free(e->txbuf);
	cfg_ref_put(e->cfg);
	event_bus_free(e->events);
	free(e);
}

size_t engine_ike_sa_count(const struct engine *e)
{
	return spi_table_count(e->by_spi);
}

/* ---- receiving ---- */

/* A responder conn for a new IKE_SA_INIT: addresses only, identities come in IKE_AUTH. */
static const struct conn_cfg *responder_conn(struct engine *e, const struct sockaddr_storage *local,
					     const struct sockaddr_storage *remote)
{
	const struct xiked_config *cfg = e->cfg->cfg;
	const struct conn_cfg *any = NULL;
	for (size_t i = 0; i < cfg->n_conns; i++) {
		const struct conn_cfg *c = &cfg->conns[i];
		if (c->local_addr.ss_family && !addr_eq(&c->local_addr, local))
			continue;
		if (c->remote_addr.ss_family == AF_UNSPEC) {
			if (!any)
				any = c;
			continue;
		}
		if (addr_eq(&c->remote_addr, remote))
			return c;
	}
	return any;
}

static void new_responder(struct engine *e, const struct ike_hdr *h, const uint8_t *buf,
			  size_t len, const struct sockaddr_storage *local,
			  const struct sockaddr_storage *remote)
{
	char ra[64];
	/* RFC 7296 2.6: judged before any state or DH work. */
	struct payload_err perr;
	uint8_t cookie[DOS_COOKIE_LEN];
	if (message_parse(e->scratch_msg, buf, len, &perr) != PAYLOAD_OK) {
		e->stats.rx_malformed++;
		log_msg(LOG_NET, LOG_LVL_DEBUG, "malformed IKE_SA_INIT from %s dropped: %s",
			endpoint_str(remote, ra, sizeof(ra)), perr.why);
		return;
	}
	switch (dos_check_init(e->dos, e->scratch_msg, remote, cookie)) {
	case DOS_DROP:
		e->stats.rx_dropped++;
		return;
	case DOS_SEND_COOKIE:
		tm_send_stateless_notify(e, h, IKE_SA_INIT, N_COOKIE, cookie, sizeof(cookie), local,
					 remote);
		return;
	case DOS_ACCEPT_EVICT:
		/* A full table and a proven initiator: the oldest half-open SA goes (dos.h). */
		if (e->ho_first) {
			log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: oldest half-open IKE SA replaced",
				ikesa_tag(e->ho_first));
			engine_destroy_sa(e, e->ho_first);
		}
		break;
	case DOS_ACCEPT:
		break;
	}
	const struct conn_cfg *conn = responder_conn(e, local, remote);
	if (!conn) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "IKE_SA_INIT from %s: no connection configured for "
			"this peer: NO_PROPOSAL_CHOSEN", endpoint_str(remote, ra, sizeof(ra)));
		tm_send_stateless_notify(e, h, IKE_SA_INIT, N_NO_PROPOSAL_CHOSEN, NULL, 0, local,
					 remote);
		return;
	}
	struct ikesa *sa = ikesa_new(e, e->cfg, conn, false);
	if (!sa)
		return;
	sa->spi_i = h->spi_i;
	sa->local = *local;
	sa->remote = *remote;
	if (engine_index(e, sa) != 0) {
		engine_free_sa(sa);
		return;
	}
	engine_half_open_add(e, sa, h->spi_i, remote);
	engine_arm_setup_timeout(sa);
	/*
	 * Not a line per attempt from a source that keeps failing
	 * authentication, nor under cookie pressure (dos.c sums those up).
	 */
	bool quiet = dos_quiet(e->dos, remote) ||
		     dos_half_open(e->dos) > e->cfg->cfg->d.cookie_threshold;
	log_msg(LOG_IKE, quiet ? LOG_LVL_DEBUG : LOG_LVL_INFO,
		"%s: IKE_SA_INIT from %s", ikesa_tag(sa), endpoint_str(remote, ra, sizeof(ra)));
	tm_receive(sa, h, buf, len, local, remote);
}

void engine_receive(struct engine *e, const struct sockaddr_storage *local,
		    const struct sockaddr_storage *remote, const uint8_t *buf, size_t len)
{
	struct ike_hdr h;
	struct payload_err err;
	char ra[64];
	e->stats.rx++;
	enum payload_status st = message_parse_header(buf, len, &h, &err);
	if (st == PAYLOAD_BAD_MAJOR) {
		/* RFC 7296 2.5; RFC 9395 deprecates IKEv1, which we never speak. */
		log_msg(LOG_NET, LOG_LVL_WARN, "%s message (version %u.%u) from %s: xiked speaks "
			"only IKEv2%s; answering INVALID_MAJOR_VERSION",
			h.major == 1 ? "IKEv1" : "unknown IKE", h.major, h.minor,
			endpoint_str(remote, ra, sizeof(ra)),
			h.major == 1 ? " (IKEv1 is deprecated, RFC 9395)" : "");
		if (!ike_hdr_is_response(&h) || h.major == 1)
			tm_send_stateless_notify(e, &h, INFORMATIONAL, N_INVALID_MAJOR_VERSION, NULL, 0,
						 local, remote);
		return;
	}
	if (st != PAYLOAD_OK) {
		e->stats.rx_malformed++;
		log_msg(LOG_NET, LOG_LVL_DEBUG, "malformed datagram from %s dropped: %s",
			endpoint_str(remote, ra, sizeof(ra)), err.why);
		return;
	}
	if (h.exchange == IKE_SA_INIT && !ike_hdr_is_response(&h) && h.spi_r == 0 &&
	    ike_hdr_is_initiator(&h)) {
		if (h.msg_id != 0)
			return;
		struct ikesa *sa = engine_half_open_find(e, h.spi_i, remote);
		if (sa && sa->spi_i == h.spi_i) {
			tm_receive(sa, &h, buf, len, local, remote);
			return;
		}
		if (e->shutting_down)
			return;
		new_responder(e, &h, buf, len, local, remote);
		return;
	}
	/* Our SPI is the responder's when the sender is the original initiator. */
	uint64_t ours = ike_hdr_is_initiator(&h) ? h.spi_r : h.spi_i;
	struct ikesa *sa = engine_find(e, ours);
	if (!sa || (sa->spi_i != h.spi_i && !(h.exchange == IKE_SA_INIT && sa->initiator)) ||
	    (sa->spi_r && sa->spi_r != h.spi_r) || sa->initiator == ike_hdr_is_initiator(&h)) {
		e->stats.rx_dropped++;
		log_msg(LOG_NET, LOG_LVL_DEBUG, "%s %s %u from %s for unknown IKE SA "
			"%016" PRIx64 "_i %016" PRIx64 "_r: dropped",
			names_exchange(h.exchange, &(struct names_buf){0}),
			ike_hdr_is_response(&h) ? "response" : "request", h.msg_id,
			endpoint_str(remote, ra, sizeof(ra)), h.spi_i, h.spi_r);
		return;
	}
	tm_receive(sa, &h, buf, len, local, remote);
	sa = engine_find(e, ours);
	if (sa && sa->state == IKESA_ESTABLISHED && sa->in_half_open) {
		engine_half_open_end(e, sa);
		timer_cancel(e->env.loop, &sa->life_timer);
	}
}

/* ---- connections ---- */

/* The IKE SA we initiated for conn, if it is still up or connecting (O(1)). */
static struct ikesa *conn_active(struct engine *e, const struct conn_cfg *conn)
{
	return engine_conn_sa(e, conn->name);
}

int engine_up(struct engine *e, const char *name, char *err, size_t errlen)
{
	const struct conn_cfg *conn = config_find_conn(e->cfg->cfg, name);
	if (!conn) {
		snprintf(err, errlen, "no connection named '%s'", name);
		return -ENOENT;
	}
	if (conn->remote_addr.ss_family == AF_UNSPEC) {
		snprintf(err, errlen, "connection '%s' has remote_addr = %%any: responder only", name);
		return -EINVAL;
	}
	if (conn_active(e, conn)) {
		snprintf(err, errlen, "connection '%s' is already up or connecting", name);
		return -EALREADY;
	}
	struct ikesa *sa = ikesa_new(e, e->cfg, conn, true);
	if (!sa) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sa->remote = conn->remote_addr;
	endpoint_set_port(&sa->remote, e->env.port);
	if (conn->local_addr.ss_family) {
		sa->local = conn->local_addr;
	} else {
		int rc = engine_source_for(e, &sa->remote, &sa->local);
		if (rc != 0) {
			char ra[64];
			snprintf(err, errlen, "no route to %s", endpoint_str(&sa->remote, ra, sizeof(ra)));
			engine_free_sa(sa);
			return rc;
		}
	}
	endpoint_set_port(&sa->local, e->env.port);
	if (engine_index(e, sa) != 0) {
		engine_free_sa(sa);
		snprintf(err, errlen, "no free SPI");
		return -EEXIST;
	}
	engine_set_conn_sa(e, sa);
	char ra[64];
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: initiating to %s", ikesa_tag(sa),
		endpoint_str(&sa->remote, ra, sizeof(ra)));
	/* The exchanges of the table (exchange.c): IKE_SA_INIT, IKE_AUTH, one Child SA each. */
	uint64_t key = sa->local_spi_key;
	if (exchange_queue(sa, EXCH_IKE_SA_INIT, &(struct exchange_args){0}) != 0) {
		engine_destroy_sa(e, sa);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!engine_find(e, key))
		return 0; /* failed at once; logged */
	int rc = exchange_queue(sa, EXCH_IKE_AUTH, &(struct exchange_args){
		.child = conn->n_children ? &conn->children[0] : NULL});
	for (size_t i = 1; i < conn->n_children && rc == 0; i++)
		rc = exchange_queue(sa, EXCH_CHILD_SA,
				    &(struct exchange_args){.child = &conn->children[i]});
	if (rc != 0) {
		engine_destroy_sa(e, sa);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int engine_down(struct engine *e, const char *name, char *err, size_t errlen)
{
	struct engine_sa_list l = engine_all_sas(e);
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct ikesa *sa = l.v[i];
		if (strcmp(sa->conn->name, name) != 0)
			continue;
		n++;
		ikesa_set_reason(sa, "deleted: down requested");
		/* The successor of our IKE rekey in flight: completed, it takes the Delete (below). */
		if (sa->is_successor && sa->state != IKESA_ESTABLISHED)
			continue;
		if (sa->state == IKESA_ESTABLISHED) {
			/*
			 * An exchange in flight completes first (window 1, RFC 7296
			 * 2.3): dropping it would orphan what the peer made, e.g. the
			 * successor of an IKE rekey, which keeps the Child SAs. Its
			 * queued Delete moves to that successor (task_ike_rekey.c adopt).
			 */
			if (sa->tm.req_pending)
				tm_drop_queued(sa);
			else
				tm_clear(sa);
			tm_queue(sa, task_delete_new(0));
		} else {
			engine_destroy_sa(e, sa);
		}
	}
	free(l.v);
	if (n == 0 && !config_find_conn(e->cfg->cfg, name)) {
		snprintf(err, errlen, "no connection named '%s'", name);
		return -ENOENT;
	}
	return 0;
}

int engine_rekey(struct engine *e, const char *name, bool ike, char *err, size_t errlen)
{
	struct engine_sa_list l = engine_all_sas(e);
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct ikesa *sa = l.v[i];
		if (strcmp(sa->conn->name, name) != 0 || sa->state != IKESA_ESTABLISHED ||
		    sa->ike_rekeyed)
			continue;
		n++;
		if (ike) {
			if (!sa->ike_rekeying)
				tm_queue(sa, task_ike_rekey_new());
			continue;
		}
		for (struct child_sa *c = sa->children; c; c = c->next)
			if (child_may_rekey(sa, c))
				tm_queue(sa, task_child_rekey_new(c->spi_in));
	}
	free(l.v);
	if (n == 0) {
		snprintf(err, errlen, "%s '%s'", config_find_conn(e->cfg->cfg, name)
							 ? "no established IKE SA for"
							 : "no connection named", name);
		return -ENOENT;
	}
	return 0;
}

int engine_reauth(struct engine *e, const char *name, char *err, size_t errlen)
{
	struct ikesa *sa = engine_conn_sa(e, name);
	if (!sa || sa->state != IKESA_ESTABLISHED) {
		snprintf(err, errlen, "%s '%s'", config_find_conn(e->cfg->cfg, name)
							 ? "no established IKE SA initiated by us for"
							 : "no connection named", name);
		return -ENOENT;
	}
	int rc = reauth_start(sa);
	if (rc == -EALREADY)
		snprintf(err, errlen, "'%s': a rekey or reauthentication is under way", name);
	else if (rc != 0)
		snprintf(err, errlen, "'%s': reauthentication failed to start", name);
	return rc;
}

void engine_start(struct engine *e)
{
	const struct xiked_config *cfg = e->cfg->cfg;
	trap_install_all(e);
	for (size_t i = 0; i < cfg->n_conns; i++) {
		if (cfg->conns[i].start != CONFIG_START_INITIATE)
			continue;
		char err[160];
		if (engine_up(e, cfg->conns[i].name, err, sizeof(err)) != 0)
			log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: cannot initiate: %s", cfg->conns[i].name,
				err);
	}
}

int engine_reload(struct engine *e, struct xiked_config *cfg, struct reload_report *rep)
{
	struct config_diff d;
	memset(rep, 0, sizeof(*rep));
	struct cfg_ref *r = cfg_ref_new(cfg);
	if (!r) {
		config_free(cfg);
		return -ENOMEM;
	}
	if (config_diff(e->cfg->cfg, cfg, &d) != 0) {
		cfg_ref_put(r);
		return -ENOMEM;
	}
	if (reload_report_init(rep, &d) != 0) {
		config_diff_free(&d);
		cfg_ref_put(r);
		return -ENOMEM;
	}
	/* The old configuration stays alive (d points into it) until applied. */
	struct cfg_ref *old = e->cfg;
	e->cfg = r;
	engine_timing_from(e, cfg);
	reload_apply(e, old->cfg, &d, rep);
	vip_reload(e);
	config_diff_free(&d);
	cfg_ref_put(old);
	return 0;
}

void engine_shutdown(struct engine *e)
{
	e->shutting_down = true;
	struct engine_sa_list l = engine_all_sas(e);
	for (size_t i = 0; i < l.n; i++) {
		struct ikesa *sa = l.v[i];
		ikesa_set_reason(sa, "deleted: xiked stopping");
		if (sa->state == IKESA_ESTABLISHED) {
			/* One Delete, no wait (RFC 7296 1.4.1 lets us go without the answer). */
			tm_clear(sa);
			tm_queue(sa, task_delete_new(0));
		}
	}
	free(l.v);
	l = engine_all_sas(e);
	for (size_t i = 0; i < l.n; i++)
		engine_destroy_sa(e, l.v[i]);
	free(l.v);
}

/* ---- kernel events ---- */

void engine_on_expire(void *ctx, uint32_t spi, uint8_t proto, const struct kaddr *dst, bool hard)
{
	struct engine *e = ctx;
	struct ikesa *sa;
	if (proto != IPPROTO_ESP)
		return;
	struct child_sa *c = ikesa_find_child_any(e, spi, &sa);
	if (!c)
		return;
	if (!hard) {
		/* RFC 7296 2.8: the soft limit (lifetime less the jittered margin) starts a rekey. */
		if (!child_may_rekey(sa, c))
			return;
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s (%08x) reached its soft lifetime: "
			"rekeying", ikesa_tag(sa), c->cfg->name, ntohl(c->spi_in));
		struct task *t = task_child_rekey_new(c->spi_in);
		if (t)
			tm_queue(sa, t);
		return;
	}
	if (spi == c->spi_in && !c->installed_in && c->state == CHILD_CREATED) {
		/* Only the SPI's reservation expired (a larval state): the exchange goes on. */
		child_kernel_larval_expired(sa, c);
		return;
	}
	if (dst && child_kernel_has_state(sa, c, dst, spi)) {
		/*
		 * The kernel deletes a state before reporting its hard expire: a
		 * state there now is a newer one under the same SPI (added when
		 * the larval state had expired before its event was read).
		 */
		log_msg(LOG_CHD, LOG_LVL_DEBUG, "%s: Child SA %s: hard expire of an earlier state "
			"%08x ignored", ikesa_tag(sa), c->cfg->name, ntohl(spi));
		return;
	}
	log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SA %s (%08x) reached its hard lifetime: deleting",
		ikesa_tag(sa), c->cfg->name, ntohl(c->spi_in));
	uint32_t spi_in = c->spi_in;
	bool tell = sa->state == IKESA_ESTABLISHED && c->rekey != CHILD_REKEY_REPLACED;
	c->down_why = "expired: hard lifetime";
	child_kernel_remove(sa, c);
	if (tell) {
		struct task *t = task_delete_new(spi_in);
		if (t)
			tm_queue(sa, t);
	}
}
