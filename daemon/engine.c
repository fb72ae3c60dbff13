/* The IKEv2 engine: dispatch, SA tables, connections, status (see engine.h). */
#include "daemon/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/fnv.h"
#include "daemon/auth.h"
#include "daemon/child_kernel.h"
#include "daemon/child_rekey.h"
#include "daemon/child_route.h"
#include "daemon/conn_list.h"
#include "daemon/dos.h"
#include "daemon/endpoint.h"
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
#include "daemon/ts.h"

/* ---- configuration references ---- */

struct cfg_ref *cfg_ref_get(struct cfg_ref *r)
{
	if (r)
		r->refs++;
	return r;
}

void cfg_ref_put(struct cfg_ref *r)
{
	if (r && --r->refs == 0) {
		config_free(r->cfg);
		free(r);
	}
}

static struct cfg_ref *cfg_ref_new(struct xiked_config *cfg)
{
	struct cfg_ref *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->cfg = cfg;
	r->refs = 1;
	return r;
}

/* ---- helpers ---- */

uint64_t engine_now(const struct engine *e)
{
	return loop_now(e->env.loop);
}

uint64_t engine_random_spi(struct engine *e)
{
	uint64_t v = 0;
	while (v == 0)
		rng_fill(e->env.rng, &v, sizeof(v));
	return v;
}

uint32_t engine_alloc_reqid(struct engine *e)
{
	uint32_t r = e->next_reqid++;
	if (e->next_reqid > XIKED_REQID_MAX)
		e->next_reqid = XIKED_REQID_BASE + 1;
	return r;
}

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

/* Key of the half-open table: the peer's SPIi and its address (RFC 7296 2.1 retransmits). */
static uint64_t half_open_key(uint64_t spi_i, const struct sockaddr_storage *remote)
{
	uint64_t h = spi_i ^ 0x9e3779b97f4a7c15ULL;
	const uint8_t *p = (const uint8_t *)remote;
	size_t n = remote->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in);
	return fnv64(h, p, n);
}

/* ---- tables ---- */

static void peer_index_del(struct engine *e, struct ikesa *sa);

/* FNV-1a of a conn name: the key of the by_conn table. */
static uint64_t conn_key(const char *name)
{
	return fnv64(FNV64_OFFSET, name, strlen(name));
}

struct ikesa *engine_find(struct engine *e, uint64_t local_spi)
{
	return spi_table_get(e->by_spi, local_spi);
}

int engine_index(struct engine *e, struct ikesa *sa)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t spi = engine_random_spi(e);
		if (sa->initiator)
			sa->spi_i = spi;
		else
			sa->spi_r = spi;
		if (spi_table_add(e->by_spi, spi, sa) == 0) {
			sa->local_spi_key = spi;
			sa->in_table = true;
			return 0;
		}
	}
	return -EEXIST;
}

/* The half-open list, oldest first: a full table replaces its head (dos.h). */
static void half_open_link(struct engine *e, struct ikesa *sa)
{
	sa->ho_next = NULL;
	sa->ho_prev = e->ho_last;
	if (e->ho_last)
		e->ho_last->ho_next = sa;
	else
		e->ho_first = sa;
	e->ho_last = sa;
}

/* sa is no longer half-open: out of the table, the list and the counts. */
static void half_open_end(struct engine *e, struct ikesa *sa)
{
	if (!sa->in_half_open)
		return;
	spi_table_del(e->half_open, sa->half_open_key);
	dos_half_open_del(e->dos, &sa->half_open_from);
	if (sa->ho_prev)
		sa->ho_prev->ho_next = sa->ho_next;
	else
		e->ho_first = sa->ho_next;
	if (sa->ho_next)
		sa->ho_next->ho_prev = sa->ho_prev;
	else
		e->ho_last = sa->ho_prev;
	sa->ho_prev = sa->ho_next = NULL;
	sa->in_half_open = false;
}

void engine_destroy_sa(struct engine *e, struct ikesa *sa)
{
	reauth_on_destroy(sa); /* before the conn role is dropped: a new IKE SA may take it */
	if (sa->in_table)
		spi_table_del(e->by_spi, sa->local_spi_key);
	if (sa->in_half_open)
		dos_released(e->dos, sizeof(*sa) + sa->init_req_len + sa->init_resp_len);
	half_open_end(e, sa);
	if (sa->dos_counted)
		dos_ike_sa_del(e->dos, &sa->half_open_from);
	sa->dos_counted = false;
	peer_index_del(e, sa);
	if (spi_table_get(e->by_conn, conn_key(sa->conn->name)) == sa)
		spi_table_del(e->by_conn, conn_key(sa->conn->name));
	sa->in_table = sa->in_half_open = false;
	if (sa->state != IKESA_ESTABLISHED && sa->state != IKESA_DELETING &&
	    sa->state != IKESA_DESTROYING)
		log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: IKE SA removed before it was established",
			ikesa_tag(sa));
	ikesa_set_state(sa, IKESA_DESTROYING);
	/* Its Child SAs' child-down events first (ikesa_free), then its ike-down / ike-failed. */
	struct sa_event_end end;
	sa_event_end_prepare(sa, &end);
	ikesa_free(sa);
	sa_event_end_emit(e, &end);
}

int engine_send(struct engine *e, const struct ikesa *sa, const uint8_t *buf, size_t len)
{
	e->stats.tx++;
	return e->env.send(e->env.send_ctx, &sa->local, &sa->remote, buf, len);
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

struct sa_list {
	struct ikesa **v;
	size_t n, cap;
};

static void collect(uint64_t key, void *val, void *ctx)
{
	(void)key;
	struct sa_list *l = ctx;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct ikesa **nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = val;
}

/* A snapshot of all SAs (control operations only, never per packet). */
static struct sa_list all_sas(struct engine *e)
{
	struct sa_list l = {0};
	spi_table_each(e->by_spi, collect, &l);
	return l;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->by_spi) {
		struct sa_list l = all_sas(e);
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
		ikesa_free(sa);
		return;
	}
	sa->half_open_key = half_open_key(h->spi_i, remote);
	sa->in_half_open = spi_table_add(e->half_open, sa->half_open_key, sa) == 0;
	sa->half_open_from = *remote;
	if (sa->in_half_open) {
		dos_half_open_add(e->dos, remote);
		half_open_link(e, sa);
	}
	dos_ike_sa_add(e->dos, remote);
	sa->dos_counted = true;
	timer_init(&sa->life_timer, on_half_open_expiry, sa);
	timer_arm_in(e->env.loop, &sa->life_timer,
		     (uint64_t)e->cfg->cfg->d.half_open_timeout_s * 1000);
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
		struct ikesa *sa = spi_table_get(e->half_open, half_open_key(h.spi_i, remote));
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
		half_open_end(e, sa);
		timer_cancel(e->env.loop, &sa->life_timer);
	}
}

/* ---- connections ---- */

int engine_route_source(const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	int fd = socket(dst->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	socklen_t sl = dst->ss_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6);
	struct sockaddr_storage d = *dst;
	endpoint_set_port(&d, IKE_PORT);
	int rc = 0;
	if (connect(fd, (const struct sockaddr *)&d, sl) != 0 ||
	    getsockname(fd, (struct sockaddr *)src, &sl) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int engine_source_for(struct engine *e, const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	if (e->env.route_source)
		return e->env.route_source(e->env.net_ctx, dst, src);
	return engine_route_source(dst, src);
}

static uint64_t peer_key(const char *conn, uint8_t type, const uint8_t *id, size_t len)
{
	return fnv64(conn_key(conn) ^ ((uint64_t)type << 56), id, len);
}

struct ikesa *engine_peer_first(struct engine *e, const char *conn, uint8_t type,
				const uint8_t *id, size_t len)
{
	return spi_table_get(e->by_peer, peer_key(conn, type, id, len));
}

void engine_peer_index_add(struct engine *e, struct ikesa *sa)
{
	if (sa->in_peer_index || !sa->peer_id_type)
		return;
	sa->peer_key = peer_key(sa->conn->name, sa->peer_id_type, sa->peer_id, sa->peer_id_len);
	struct ikesa *head = spi_table_del(e->by_peer, sa->peer_key);
	sa->peer_next = head;
	sa->peer_prev = NULL;
	if (head)
		head->peer_prev = &sa->peer_next;
	if (spi_table_add(e->by_peer, sa->peer_key, sa) != 0) {
		/* out of memory: keep the old list reachable, leave sa out */
		if (head) {
			head->peer_prev = NULL;
			spi_table_add(e->by_peer, sa->peer_key, head);
		}
		return;
	}
	sa->in_peer_index = true;
}

static void peer_index_del(struct engine *e, struct ikesa *sa)
{
	if (!sa->in_peer_index)
		return;
	if (sa->peer_prev) {
		*sa->peer_prev = sa->peer_next;
	} else {
		spi_table_del(e->by_peer, sa->peer_key);
		if (sa->peer_next)
			spi_table_add(e->by_peer, sa->peer_key, sa->peer_next);
	}
	if (sa->peer_next)
		sa->peer_next->peer_prev = sa->peer_prev;
	sa->in_peer_index = false;
}

void engine_take_conn_role(struct engine *e, struct ikesa *old, struct ikesa *n)
{
	uint64_t k = conn_key(old->conn->name);
	if (spi_table_get(e->by_conn, k) == old) {
		spi_table_del(e->by_conn, k);
		spi_table_add(e->by_conn, k, n);
	}
}

struct ikesa *engine_conn_sa(struct engine *e, const char *conn)
{
	struct ikesa *sa = spi_table_get(e->by_conn, conn_key(conn));
	if (sa && strcmp(sa->conn->name, conn) == 0 && sa->state <= IKESA_ESTABLISHED)
		return sa;
	return NULL;
}

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
			ikesa_free(sa);
			return rc;
		}
	}
	endpoint_set_port(&sa->local, e->env.port);
	if (engine_index(e, sa) != 0) {
		ikesa_free(sa);
		snprintf(err, errlen, "no free SPI");
		return -EEXIST;
	}
	spi_table_del(e->by_conn, conn_key(conn->name));
	spi_table_add(e->by_conn, conn_key(conn->name), sa);
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
	struct sa_list l = all_sas(e);
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct ikesa *sa = l.v[i];
		if (strcmp(sa->conn->name, name) != 0)
			continue;
		n++;
		ikesa_set_reason(sa, "deleted: down requested");
		if (sa->state == IKESA_ESTABLISHED) {
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
	struct sa_list l = all_sas(e);
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
	struct sa_list l = all_sas(e);
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
	l = all_sas(e);
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
	ikesa_remove_child(sa, c);
	if (tell) {
		struct task *t = task_delete_new(spi_in);
		if (t)
			tm_queue(sa, t);
	}
}

/* ---- status ---- */

static void status_addr(struct json_writer *w, const char *key, const struct sockaddr_storage *ss,
		      const char *id, const struct ikesa *sa, bool local)
{
	char a[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	json_key(w, key);
	json_obj_begin(w);
	json_kv_str(w, "addr", a);
	json_kv_uint(w, "port", port);
	json_kv_str(w, "id", id);
	auth_status(sa, local, w);
	json_obj_end(w);
}

static void peer_id_text(const struct ikesa *sa, char *buf, size_t len)
{
	struct config_id id = {.type = sa->peer_id_type, .len = sa->peer_id_len};
	memcpy(id.data, sa->peer_id, sa->peer_id_len);
	if (!id.type)
		buf[0] = 0;
	else
		config_id_format(&id, buf, len);
}

static void status_ts(struct json_writer *w, const char *key, const struct ike_ts *ts, size_t n)
{
	json_key(w, key);
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		char b[TS_STRLEN];
		json_str(w, ts_to_string(&ts[i], b, sizeof(b)));
	}
	json_arr_end(w);
}

static void status_child(struct engine *e, struct ikesa *sa, struct child_sa *c,
		       struct json_writer *w)
{
	char spi[16];
	struct kernel_sa_stats in, out;
	(void)e;
	child_kernel_query(sa, c, &in, &out);
	json_obj_begin(w);
	json_kv_str(w, "name", c->cfg->name);
	json_kv_str(w, "state", child_state_name(c->state));
	json_kv_str(w, "mode", c->mode == CONFIG_MODE_TUNNEL ? "tunnel" : "transport");
	snprintf(spi, sizeof(spi), "%08x", ntohl(c->spi_in));
	json_kv_str(w, "spi_in", spi);
	snprintf(spi, sizeof(spi), "%08x", ntohl(c->spi_out));
	json_kv_str(w, "spi_out", spi);
	struct proposal_sel_text {
		char s[96];
	} pt;
	struct names_buf nb;
	if (c->suite.integ)
		snprintf(pt.s, sizeof(pt.s), "%s_%u/%s", names_encr(c->suite.encr, &nb),
			 c->suite.encr_keylen, names_integ(c->suite.integ, &(struct names_buf){0}));
	else if (c->suite.encr_keylen)
		snprintf(pt.s, sizeof(pt.s), "%s_%u", names_encr(c->suite.encr, &nb),
			 c->suite.encr_keylen);
	else
		snprintf(pt.s, sizeof(pt.s), "%s", names_encr(c->suite.encr, &nb));
	json_kv_str(w, "esp_proposal", pt.s);
	json_kv_uint(w, "reqid", c->reqid);
	if (route_iface_name(c))
		json_kv_str(w, "interface", route_iface_name(c));
	if (c->if_id)
		json_kv_uint(w, "if_id", c->if_id);
	if (c->mark)
		json_kv_uint(w, "mark", c->mark);
	uint64_t now = engine_now(e);
	if (c->soft_ms && c->rekey != CHILD_REKEY_REPLACED)
		json_kv_uint(w, "rekey_in_s", c->soft_ms > now ? (c->soft_ms - now) / 1000 : 0);
	status_ts(w, "local_ts", c->local_ts, c->n_local_ts);
	status_ts(w, "remote_ts", c->remote_ts, c->n_remote_ts);
	json_kv_uint(w, "bytes_in", in.bytes);
	json_kv_uint(w, "bytes_out", out.bytes);
	json_kv_uint(w, "packets_in", in.packets);
	json_kv_uint(w, "packets_out", out.packets);
	json_obj_end(w);
}

void engine_status(struct engine *e, struct json_writer *w)
{
	engine_status_conn(e, NULL, w);
}

int engine_status_conn(struct engine *e, const char *conn, struct json_writer *w)
{
	if (conn && !config_find_conn(e->cfg->cfg, conn) && !engine_has_conn_sa(e, conn))
		return -ENOENT;
	struct sa_list l = all_sas(e);
	uint64_t now = engine_now(e);
	json_key(w, "ike_sas");
	json_arr_begin(w);
	for (size_t i = 0; i < l.n; i++) {
		struct ikesa *sa = l.v[i];
		char spi[24], lid[CONFIG_ID_MAX + 8], rid[CONFIG_ID_MAX + 8];
		if (conn && strcmp(sa->conn->name, conn) != 0)
			continue;
		json_obj_begin(w);
		json_kv_uint(w, "ike_id", sa->uid);
		json_kv_str(w, "name", sa->conn->name);
		json_kv_str(w, "state", ikesa_state_name(sa->state));
		json_kv_str(w, "role", sa->initiator ? "initiator" : "responder");
		config_id_format(&sa->conn->local_id, lid, sizeof(lid));
		peer_id_text(sa, rid, sizeof(rid));
		status_addr(w, "local", &sa->local, lid, sa, true);
		status_addr(w, "remote", &sa->remote, rid, sa, false);
		snprintf(spi, sizeof(spi), "%016" PRIx64, sa->spi_i);
		json_kv_str(w, "spi_i", spi);
		snprintf(spi, sizeof(spi), "%016" PRIx64, sa->spi_r);
		json_kv_str(w, "spi_r", spi);
		json_kv_str(w, "ike_proposal", sa->proposal_text);
		json_kv_uint(w, "established_s",
			     sa->established_ms ? (now - sa->established_ms) / 1000 : 0);
		int64_t rk = timers_ike_rekey_in_s(sa);
		if (rk >= 0)
			json_kv_uint(w, "rekey_in_s", (uint64_t)rk);
		json_kv_bool(w, "nat_local", (sa->ext & EXT_NAT_LOCAL) != 0);
		json_kv_bool(w, "nat_remote", (sa->ext & EXT_NAT_REMOTE) != 0);
		/* RFC 4555: the current path is local/remote above; how often it changed. */
		json_kv_bool(w, "mobike", (sa->ext & EXT_MOBIKE) != 0);
		json_kv_uint(w, "moves", sa->moves);
		/* RFC 8784: the keys are mixed with a post-quantum preshared key. */
		json_kv_bool(w, "ppk", (sa->ext & EXT_PPK_USED) != 0);
		vip_status_sa(sa, w);
		json_key(w, "child_sas");
		json_arr_begin(w);
		for (struct child_sa *c = sa->children; c; c = c->next)
			status_child(e, sa, c, w);
		json_arr_end(w);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_key(w, "stats");
	json_obj_begin(w);
	json_kv_uint(w, "rx", e->stats.rx);
	json_kv_uint(w, "tx", e->stats.tx);
	json_kv_uint(w, "rx_dropped", e->stats.rx_dropped);
	json_kv_uint(w, "rx_malformed", e->stats.rx_malformed);
	json_kv_uint(w, "retransmits", e->stats.retransmits);
	json_kv_uint(w, "ike_established", e->stats.ike_established);
	json_kv_uint(w, "ike_failed", e->stats.ike_failed);
	json_kv_uint(w, "child_installed", e->stats.child_installed);
	json_kv_uint(w, "child_failed", e->stats.child_failed);
	json_kv_uint(w, "frag_tx", e->stats.frag_tx);
	json_kv_uint(w, "frag_rx", e->stats.frag_rx);
	json_kv_uint(w, "frag_reassembled", e->stats.frag_reassembled);
	json_kv_uint(w, "frag_dropped", e->stats.frag_dropped);
	json_kv_uint(w, "keepalives_sent", e->stats.keepalives_sent);
	json_kv_uint(w, "nat_mapping_events", e->stats.nat_mapping_events);
	json_kv_uint(w, "nat_peer_moves", e->stats.nat_peer_moves);
	json_kv_uint(w, "dpd_probes", e->stats.dpd_probes);
	json_kv_uint(w, "peers_dead", e->stats.peers_dead);
	json_kv_uint(w, "half_open_expired", e->stats.half_open_expired);
	const struct dos_stats *ds = dos_stats(e->dos);
	json_kv_uint(w, "half_open", dos_half_open(e->dos));
	json_kv_uint(w, "half_open_peak", ds->half_open_peak);
	json_kv_uint(w, "cookies_sent", ds->cookies_sent);
	json_kv_uint(w, "cookies_accepted", ds->cookies_accepted);
	json_kv_uint(w, "cookies_rejected", ds->cookies_rejected);
	json_kv_uint(w, "dropped_half_open_max", ds->dropped_total_cap);
	json_kv_uint(w, "dropped_half_open_per_ip", ds->dropped_per_ip_cap);
	json_kv_uint(w, "dropped_ike_sa_per_ip", ds->dropped_ike_per_ip);
	json_kv_uint(w, "half_open_replaced", ds->half_open_evicted);
	json_kv_uint(w, "auth_failures", ds->auth_failures);
	json_kv_uint(w, "dropped_auth_backoff", ds->dropped_auth_backoff);
	json_kv_uint(w, "auth_id_backoff", ds->auth_id_backoff);
	json_kv_uint(w, "auth_logs_suppressed", ds->auth_logs_suppressed);
	json_kv_uint(w, "frag_mem", dos_frag_bytes(e->dos));
	json_kv_uint(w, "frag_mem_peak", ds->frag_bytes_peak);
	json_kv_uint(w, "frag_over_budget", ds->frag_over_budget);
	json_kv_uint(w, "frag_evicted", e->stats.frag_evicted);
	json_obj_end(w);
	const struct conn_cfg *cc = conn ? config_find_conn(e->cfg->cfg, conn) : NULL;
	if (!conn || cc)
		vip_status_pools(e, cc, w);
	conn_errors_json(e, conn, w);
	free(l.v);
	return 0;
}

bool engine_has_conn_sa(struct engine *e, const char *conn)
{
	struct sa_list l = all_sas(e);
	bool found = false;
	for (size_t i = 0; i < l.n && !found; i++)
		found = strcmp(l.v[i]->conn->name, conn) == 0;
	free(l.v);
	return found;
}
