/*
 * MOBIKE, RFC 4555 (see mobike.h).
 *
 * IKE_AUTH (3.1, 3.4):
 *   HDR, SK { IDi, AUTH, N(MOBIKE_SUPPORTED), [N(ADDITIONAL_*_ADDRESS)+ | N(NO_ADDITIONAL_ADDRESSES)], ... } -->
 *                  <-- HDR, SK { IDr, AUTH, N(MOBIKE_SUPPORTED), [addresses], ... }
 *
 * The original initiator changes the path (3.5, 3.8, 3.9):
 *   HDR, SK { N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP),
 *             N(COOKIE2), [N(NO_NATS_ALLOWED)], [addresses] } -->
 *                  <-- HDR, SK { N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP), N(COOKIE2) }
 *
 * Return routability check by the responder before it moves the Child SAs
 * (3.5, mobike_check = yes), and the peer's answer echoing COOKIE2 (3.6):
 *   HDR, SK { N(COOKIE2) } -->
 *                  <-- HDR, SK { N(COOKIE2) }
 *
 * Address list changes alone (3.6): HDR, SK { [addresses] } --> <-- HDR, SK { }
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/child_kernel.h"
#include "daemon/endpoint.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/route_iface.h"
#include "daemon/mobike.h"
#include "daemon/names.h"
#include "daemon/natt.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"
#include "daemon/spi_table.h"
#include "daemon/task_manager.h"
#include "daemon/timers.h"
#include "daemon/timing.h"
#include "daemon/ts.h"
#include "daemon/vip.h"
#include "netlink/kaddr.h"

#define MOBIKE_COOKIE2_LEN 16     /* RFC 4555 4.2.6: 8 to 64 octets */
#define MOBIKE_COOKIE2_MAX 64
#define MOBIKE_PEER_ADDRS_MAX 8   /* the peer's additional addresses we keep */
#define MOBIKE_LOCAL_ADDRS_MAX 16 /* our addresses we announce */
#define MOBIKE_BAD_MAX 8          /* paths that failed or were refused, until the network changes */

struct mobike {
	/* The peer's additional addresses (3.4), from IKE_AUTH or INFORMATIONAL. */
	struct kaddr peer_addrs[MOBIKE_PEER_ADDRS_MAX];
	size_t n_peer_addrs;
	size_t next_peer_addr;  /* round robin when a path fails */
	bool update_queued;     /* an UPDATE_SA_ADDRESSES waits in the queue */
	bool update_in_flight;  /* ours is sent and not answered yet */
	/*
	 * Initiator: local/remote address pairs that went unanswered or that
	 * the peer refused (UNACCEPTABLE_ADDRESSES, 3.5), not tried again
	 * until an address or route changes or an update succeeds: each
	 * failure marks one more, so trying the next path cannot loop.
	 */
	struct sockaddr_storage bad_local[MOBIKE_BAD_MAX], bad_remote[MOBIKE_BAD_MAX];
	bool bad_refused[MOBIKE_BAD_MAX]; /* by the peer's policy: kept across our network changes */
	size_t n_bad;
	bool stuck; /* every path refused or failed: retry on the next change */
	/* Responder: Child SAs still at rr_local/rr_remote until the return routability check passes. */
	bool rr_pending;
	struct sockaddr_storage rr_local, rr_remote;
	bool rr_encap;
	/* Starts the successor's queue after an IKE rekey we answered (mobike_adopt). */
	struct timer kick;
	struct loop *loop;
};

void mobike_free(struct mobike *m)
{
	if (!m)
		return;
	if (m->loop)
		timer_cancel(m->loop, &m->kick);
	free(m);
}

static void on_kick(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	tm_initiate(ctx);
}

static struct mobike *state_of(struct ikesa *sa)
{
	if (!sa->mobike)
		sa->mobike = calloc(1, sizeof(*sa->mobike));
	return sa->mobike;
}

/* The address octets of ss (4 or 16) into out; their number, 0 for another family. */
static size_t addr_bytes(const struct sockaddr_storage *ss, uint8_t out[16])
{
	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 4;
	}
	if (ss->ss_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return 16;
	}
	return 0;
}

/*
 * NO_NATS_ALLOWED data (RFC 4555 4.2.7): source address, destination
 * address, source port, destination port; its length, 0 if the families
 * differ or are unknown.
 */
#define NO_NATS_MAX (2 * 16 + 4)
static size_t no_nats_data(const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
			   uint8_t d[NO_NATS_MAX])
{
	uint8_t a[16];
	size_t n = addr_bytes(src, a);
	if (!n || addr_bytes(dst, d + n) != n)
		return 0;
	memcpy(d, a, n);
	uint16_t sp = htons(endpoint_port(src)), dp = htons(endpoint_port(dst));
	memcpy(d + 2 * n, &sp, 2);
	memcpy(d + 2 * n + 2, &dp, 2);
	return 2 * n + 4;
}

static int route_source(struct engine *e, const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	return engine_source_for(e, dst, src);
}

static const struct ike_notify *find_notify(const struct ike_msg *m, uint16_t type)
{
	return message_find_notify(m, type);
}

/* ---- address lists (3.4, 3.6) ---- */

/* Whether the address range of ts holds the len octets of a (ports and protocol aside). */
static bool ts_holds(const struct ike_ts *ts, const uint8_t *a, size_t len)
{
	size_t n = ts->type == TS_IPV4_ADDR_RANGE ? 4 : ts->type == TS_IPV6_ADDR_RANGE ? 16 : 0;
	return n == len && memcmp(ts->start, a, n) <= 0 && memcmp(a, ts->end, n) <= 0;
}

/* Whether ts spans its whole address family (0.0.0.0/0, ::/0). */
static bool ts_whole_family(const struct ike_ts *ts)
{
	size_t n = ts->type == TS_IPV4_ADDR_RANGE ? 4 : ts->type == TS_IPV6_ADDR_RANGE ? 16 : 0;
	static const uint8_t zero[16], ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	return n && memcmp(ts->start, zero, n) == 0 && memcmp(ts->end, ones, n) == 0;
}

/*
 * Whether a is an address inside the tunnel rather than a way to reach us
 * (3.4 asks for the addresses the peer can use for the IKE SA): one within
 * a local traffic selector of sa's conn, a gateway's LAN address, is
 * reached only through the tunnel. A selector that spans a whole family
 * or holds the IKE SA's own address (a road warrior's 0.0.0.0/0) tells
 * nothing about that and is left out.
 */
static bool inside_tunnel(const struct ikesa *sa, const struct sockaddr_storage *a)
{
	uint8_t raw[16], own[16];
	size_t len = addr_bytes(a, raw), own_len = addr_bytes(&sa->local, own);
	for (size_t i = 0; len && i < sa->conn->n_children; i++) {
		struct ike_ts ts[CHILD_TS_MAX];
		size_t n = ts_from_cfg(&sa->conn->children[i].local_ts, &sa->local, ts, CHILD_TS_MAX);
		for (size_t j = 0; j < n; j++)
			if (ts_holds(&ts[j], raw, len) && !ts_whole_family(&ts[j]) &&
			    !ts_holds(&ts[j], own, own_len))
				return true;
	}
	return false;
}

/* Whether our address a may be offered to the peer or used as a path's source. */
static bool usable_local(const struct ikesa *sa, const struct sockaddr_storage *a)
{
	/* Our tunnel's own addresses and virtual IPs carry no IKE, nor do those behind it. */
	return !route_iface_has_addr(sa->e, a) && !vip_is_ours(sa->e, a) && !inside_tunnel(sa, a);
}

/* Our addresses other than the IKE SA's own, or NO_ADDITIONAL_ADDRESSES; nothing if unknown. */
static void build_addresses(struct ikesa *sa, struct ike_builder *b)
{
	struct engine *e = sa->e;
	if (!e->env.local_addrs)
		return;
	struct sockaddr_storage a[MOBIKE_LOCAL_ADDRS_MAX];
	size_t n = e->env.local_addrs(e->env.net_ctx, a, MOBIKE_LOCAL_ADDRS_MAX), sent = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t raw[16];
		size_t len = addr_bytes(&a[i], raw);
		if (!len || endpoint_same_addr(&a[i], &sa->local) || !usable_local(sa, &a[i]))
			continue;
		payload_build_notify_simple(b, PROTO_NONE,
					    len == 4 ? N_ADDITIONAL_IP4_ADDRESS : N_ADDITIONAL_IP6_ADDRESS,
					    NULL, 0, raw, len);
		sent++;
	}
	if (!sent)
		payload_build_notify_simple(b, PROTO_NONE, N_NO_ADDITIONAL_ADDRESSES, NULL, 0, NULL, 0);
}

/* The peer's list, replaced whole when the message carries one (3.6). */
static void take_addresses(struct ikesa *sa, const struct ike_msg *m)
{
	bool any = find_notify(m, N_NO_ADDITIONAL_ADDRESSES) != NULL;
	struct kaddr got[MOBIKE_PEER_ADDRS_MAX];
	size_t n = 0;
	for (const struct ike_payload *p = message_find(m, PL_NOTIFY, NULL); p;
	     p = message_find(m, PL_NOTIFY, p)) {
		const struct ike_notify *no = &p->u.notify;
		size_t want = no->type == N_ADDITIONAL_IP4_ADDRESS ? 4 :
			      no->type == N_ADDITIONAL_IP6_ADDRESS ? 16 : 0;
		if (!want)
			continue;
		any = true;
		if (no->data.len != want || n == MOBIKE_PEER_ADDRS_MAX) {
			log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: additional address of %zu octets (need %zu) "
				"or beyond %d ignored", ikesa_tag(sa), no->data.len, want,
				MOBIKE_PEER_ADDRS_MAX);
			continue;
		}
		memset(&got[n], 0, sizeof(got[n]));
		got[n].family = want == 4 ? AF_INET : AF_INET6;
		memcpy(got[n].a, no->data.ptr, want);
		n++;
	}
	if (!any)
		return;
	struct mobike *mb = state_of(sa);
	if (!mb)
		return;
	memcpy(mb->peer_addrs, got, n * sizeof(got[0]));
	mb->n_peer_addrs = n;
	mb->next_peer_addr = 0;
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: the peer has %zu additional address%s", ikesa_tag(sa), n,
		n == 1 ? "" : "es");
}

/* ---- NAT detection in UPDATE_SA_ADDRESSES (3.8), as in IKE_SA_INIT (RFC 7296 2.23) ---- */

/* The NAT bits anew from m's hashes against local/remote; false if m has none. */
static bool check_natd(struct ikesa *sa, const struct ike_msg *m)
{
	bool src_match, dst_match;
	if (!natt_match_natd(sa, m, sa->spi_i, sa->spi_r, &src_match, &dst_match))
		return false;
	uint32_t before = sa->ext & (EXT_NAT_LOCAL | EXT_NAT_REMOTE);
	sa->ext &= ~(uint32_t)(EXT_NAT_LOCAL | EXT_NAT_REMOTE);
	sa->ext |= EXT_NATT;
	if (!src_match)
		sa->ext |= EXT_NAT_REMOTE;
	if (!dst_match)
		sa->ext |= EXT_NAT_LOCAL;
	if (before != (sa->ext & (EXT_NAT_LOCAL | EXT_NAT_REMOTE)))
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: NAT on the new path: %s%s%s", ikesa_tag(sa),
			!dst_match ? "we are behind a NAT" : "",
			!src_match ? (!dst_match ? ", peer too" : "the peer is behind a NAT") : "",
			src_match && dst_match ? "none" : "");
	return true;
}

/* ---- moving ---- */

/*
 * sa's endpoints moved from old_local/old_remote (old_encap: the Child SAs'
 * encapsulation then): its Child SAs follow with XFRM_MSG_MIGRATE.
 */
static void children_follow(struct ikesa *sa, const struct sockaddr_storage *old_local,
			    const struct sockaddr_storage *old_remote, bool old_encap)
{
	if (endpoint_same(old_local, &sa->local) && endpoint_same(old_remote, &sa->remote) &&
	    old_encap == natt_encap(sa))
		return;
	if (!sa->children)
		return;
	if (child_kernel_migrate(sa, old_local, old_remote, old_encap) == 0)
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: Child SAs moved to the new path", ikesa_tag(sa));
}

static void log_move(struct ikesa *sa, const struct sockaddr_storage *ol, const struct sockaddr_storage *orr,
		     const char *why)
{
	char a[64], b[64], c[64], d[64];
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: %s: path %s - %s -> %s - %s (move %u)", ikesa_tag(sa), why,
		endpoint_str(ol, a, sizeof(a)), endpoint_str(orr, b, sizeof(b)), endpoint_str(&sa->local, c, sizeof(c)),
		endpoint_str(&sa->remote, d, sizeof(d)), sa->moves);
	sa_event(sa, EV_MOBIKE_MOVE, "MOBIKE: %s: from %s - %s", why, a, b);
}

static struct task *task_mobike_update_new(void);

/*
 * The address we leave is still one of the peer's (3.4: its list names
 * the others than the one in use): kept as a path to try, until the peer
 * sends a new list.
 */
static void keep_peer_addr(struct mobike *mb, const struct sockaddr_storage *addr)
{
	struct kaddr k = {0};
	uint8_t raw[16];
	size_t n = addr_bytes(addr, raw);
	if (!n)
		return;
	k.family = n == 4 ? AF_INET : AF_INET6;
	memcpy(k.a, raw, n);
	for (size_t i = 0; i < mb->n_peer_addrs; i++)
		if (kaddr_eq(&mb->peer_addrs[i], &k))
			return;
	if (mb->n_peer_addrs < MOBIKE_PEER_ADDRS_MAX)
		mb->peer_addrs[mb->n_peer_addrs++] = k;
}

/* Initiator: sa now uses local -> remote; the Child SAs follow, the peer is told. */
static void move_to(struct ikesa *sa, const struct sockaddr_storage *local,
		    const struct sockaddr_storage *remote, const char *why)
{
	struct sockaddr_storage ol = sa->local, orr = sa->remote;
	sa->local = *local;
	sa->remote = *remote;
	sa->moves++;
	log_move(sa, &ol, &orr, why);
	children_follow(sa, &ol, &orr, natt_encap(sa));
	struct mobike *mb = state_of(sa);
	if (mb && !endpoint_same_addr(&orr, remote))
		keep_peer_addr(mb, &orr);
	if (mb && mb->update_queued)
		return; /* the queued update is built from the addresses it finds then */
	struct task *t = task_mobike_update_new();
	if (!t)
		return;
	if (mb)
		mb->update_queued = true;
	tm_queue(sa, t);
}

/*
 * The original initiator decides the path (3.1), whoever rekeyed the IKE
 * SA since: the engine's by_conn role, which follows IKE rekeys.
 */
static bool original_initiator(struct ikesa *sa)
{
	return engine_conn_sa(sa->e, sa->conn->name) == sa;
}

static bool roams(struct ikesa *sa)
{
	return (sa->ext & EXT_MOBIKE) && sa->state == IKESA_ESTABLISHED && !sa->ike_rekeyed &&
	       original_initiator(sa);
}

static bool is_bad(const struct mobike *mb, const struct sockaddr_storage *l,
		   const struct sockaddr_storage *r)
{
	for (size_t i = 0; mb && i < mb->n_bad; i++)
		if (endpoint_same_addr(&mb->bad_local[i], l) && endpoint_same_addr(&mb->bad_remote[i], r))
			return true;
	return false;
}

/*
 * sa's current path is not to be tried again until the network changes
 * (no answer) or an update succeeds (refused by the peer's policy, which
 * our network changes do not change).
 */
static void mark_bad(struct ikesa *sa, bool refused)
{
	struct mobike *mb = state_of(sa);
	if (!mb || is_bad(mb, &sa->local, &sa->remote))
		return;
	if (mb->n_bad == MOBIKE_BAD_MAX) { /* the oldest goes */
		memmove(mb->bad_local, mb->bad_local + 1, (MOBIKE_BAD_MAX - 1) * sizeof(mb->bad_local[0]));
		memmove(mb->bad_remote, mb->bad_remote + 1, (MOBIKE_BAD_MAX - 1) * sizeof(mb->bad_remote[0]));
		memmove(mb->bad_refused, mb->bad_refused + 1, (MOBIKE_BAD_MAX - 1) * sizeof(mb->bad_refused[0]));
		mb->n_bad--;
	}
	mb->bad_local[mb->n_bad] = sa->local;
	mb->bad_remote[mb->n_bad] = sa->remote;
	mb->bad_refused[mb->n_bad] = refused;
	mb->n_bad++;
}

/* Forgets the paths that went unanswered, and with refused_too the refused ones. */
static void clear_bad(struct ikesa *sa, bool refused_too)
{
	struct mobike *mb = sa->mobike;
	if (!mb)
		return;
	size_t k = 0;
	for (size_t i = 0; i < mb->n_bad; i++) {
		if (refused_too || !mb->bad_refused[i])
			continue;
		mb->bad_local[k] = mb->bad_local[i];
		mb->bad_remote[k] = mb->bad_remote[i];
		mb->bad_refused[k] = true;
		k++;
	}
	mb->n_bad = k;
	mb->stuck = false;
}

/* Candidate local -> r: a path, unless marked bad or (skip_current) the current one. */
static bool candidate(struct ikesa *sa, bool skip_current, const struct sockaddr_storage *l,
		      const struct sockaddr_storage *r)
{
	if (skip_current && endpoint_same_addr(l, &sa->local) && endpoint_same_addr(r, &sa->remote))
		return false;
	return l->ss_family == r->ss_family && !is_bad(sa->mobike, l, r);
}

/*
 * A new path for sa, first found of (3.5 leaves the order to us):
 * 1. the routes' source to the peer's current address,
 * 2. the routes' source to each of the peer's other addresses (3.4),
 * 3. with skip_current (a path failed or was refused), each of our other
 *    addresses (env local_addrs) to the peer's current address, then to
 *    its other addresses: a route may exist from a source the routing
 *    table does not prefer (another uplink).
 * Paths marked bad (failed, refused) are skipped, and with skip_current
 * the current one. Remote addresses come from the peer's list, at most
 * MOBIKE_PEER_ADDRS_MAX, and ours MOBIKE_LOCAL_ADDRS_MAX: bounded.
 */
static bool find_path(struct ikesa *sa, bool skip_current, struct sockaddr_storage *local,
		      struct sockaddr_storage *remote)
{
	struct engine *e = sa->e;
	uint16_t lp = endpoint_port(&sa->local), rp = endpoint_port(&sa->remote);
	struct mobike *mb = sa->mobike;
	struct sockaddr_storage rs[1 + MOBIKE_PEER_ADDRS_MAX];
	size_t nr = 0;
	rs[nr++] = sa->remote;
	for (size_t i = 0; mb && i < mb->n_peer_addrs; i++) {
		struct sockaddr_storage r;
		kaddr_to_sockaddr(&mb->peer_addrs[(mb->next_peer_addr + i) % mb->n_peer_addrs], rp, &r);
		if (!endpoint_same_addr(&r, &sa->remote))
			rs[nr++] = r;
	}
	struct sockaddr_storage l;
	for (size_t i = 0; i < nr; i++) {
		if (route_source(e, &rs[i], &l) != 0)
			continue;
		endpoint_set_port(&l, lp);
		if (!candidate(sa, skip_current, &l, &rs[i]))
			continue;
		if (i && mb)
			mb->next_peer_addr = (mb->next_peer_addr + i) % mb->n_peer_addrs;
		*local = l;
		*remote = rs[i];
		return true;
	}
	/*
	 * Our other addresses only when a path failed or was refused: a
	 * change of routes with no route to the peer waits for one rather
	 * than move to an address the routes do not use.
	 */
	if (!skip_current || !e->env.local_addrs)
		return false;
	struct sockaddr_storage ls[MOBIKE_LOCAL_ADDRS_MAX];
	size_t nl = e->env.local_addrs(e->env.net_ctx, ls, MOBIKE_LOCAL_ADDRS_MAX);
	for (size_t i = 0; i < nr; i++) {
		for (size_t j = 0; j < nl; j++) {
			if (!usable_local(sa, &ls[j]))
				continue;
			endpoint_set_port(&ls[j], lp);
			if (!candidate(sa, skip_current, &ls[j], &rs[i]))
				continue;
			*local = ls[j];
			*remote = rs[i];
			return true;
		}
	}
	return false;
}

struct collect {
	uint64_t *keys; /* local SPIs (engine_find), as SAs may go while we walk */
	size_t n, cap;
};

static void collect_one(uint64_t key, void *val, void *ctx)
{
	(void)key;
	struct collect *c = ctx;
	const struct ikesa *sa = val;
	if (c->n < c->cap)
		c->keys[c->n++] = sa->local_spi_key;
}

void mobike_roam(struct engine *e)
{
	/*
	 * The IKE SAs we initiated, one per conn (the engine's by_conn table);
	 * collected first: moving queues tasks, which send, and a send that
	 * fails may destroy an SA, which must not disturb the table walk.
	 */
	struct collect c = {.cap = spi_table_count(e->by_conn)};
	if (!c.cap)
		return;
	c.keys = calloc(c.cap, sizeof(*c.keys));
	if (!c.keys)
		return;
	spi_table_each(e->by_conn, collect_one, &c);
	for (size_t i = 0; i < c.n; i++) {
		struct ikesa *sa = engine_find(e, c.keys[i]);
		if (!sa)
			continue;
		if (!roams(sa))
			continue;
		/* The network changed: paths that failed or were refused may do now. */
		bool was_stuck = sa->mobike && sa->mobike->stuck;
		clear_bad(sa, false);
		struct sockaddr_storage l, r;
		if (!find_path(sa, false, &l, &r)) {
			char ra[64];
			log_msg(LOG_IKE, LOG_LVL_WARN, "%s: no route to %s or the peer's other addresses: "
				"waiting for one", ikesa_tag(sa), endpoint_str(&sa->remote, ra, sizeof(ra)));
			continue;
		}
		if (endpoint_same(&l, &sa->local) && endpoint_same(&r, &sa->remote) && !was_stuck)
			continue;
		move_to(sa, &l, &r, was_stuck ? "local addresses or routes changed, trying again" :
						"local addresses or routes changed");
	}
	free(c.keys);
}

static void on_roam_timer(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct engine *e = ctx;
	e->roam_pending = false;
	mobike_roam(e);
}

void mobike_net_changed(struct engine *e)
{
	if (e->roam_pending)
		return;
	log_msg(LOG_IKE, LOG_LVL_DEBUG, "address, link or route change: checking paths in %u ms",
		MOBIKE_DEBOUNCE_MS);
	e->roam_pending = true;
	timer_init(&e->roam_timer, on_roam_timer, e);
	timer_arm_in(e->env.loop, &e->roam_timer, MOBIKE_DEBOUNCE_MS);
}

/* The initiator's current path failed or was refused: the next one, or wait for a change. */
static bool next_path(struct ikesa *sa, bool refused, const char *why)
{
	mark_bad(sa, refused);
	struct sockaddr_storage l, r;
	if (!find_path(sa, true, &l, &r)) {
		struct mobike *mb = state_of(sa);
		if (mb)
			mb->stuck = true;
		char a[64], b[64];
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: %s on %s - %s and no other path to try: staying, "
			"trying again on the next address or route change", ikesa_tag(sa), why,
			endpoint_str(&sa->local, a, sizeof(a)), endpoint_str(&sa->remote, b, sizeof(b)));
		return false;
	}
	move_to(sa, &l, &r, why);
	return true;
}

bool mobike_path_failed(struct ikesa *sa)
{
	if (!roams(sa))
		return false;
	return next_path(sa, false, "no answer on the current path");
}

void mobike_adopt(struct ikesa *old, struct ikesa *n)
{
	n->moves = old->moves;
	if (!old->mobike)
		return;
	mobike_free(n->mobike);
	n->mobike = old->mobike;
	old->mobike = NULL;
	struct mobike *mb = n->mobike;
	/*
	 * Our update went on the old SA and the peer may have made its
	 * successor from the addresses it had before: tell the new SA too
	 * (a queued update has come along with the queue).
	 */
	if (mb->update_in_flight && !mb->update_queued) {
		mb->update_in_flight = false;
		struct task *t = task_mobike_update_new();
		if (t) {
			mb->update_queued = true;
			struct task **pp = &n->tm.queue;
			while (*pp)
				pp = &(*pp)->next;
			*pp = t;
		}
	}
	/*
	 * The rekey's answer goes out first (n does not exist for the peer
	 * before), then n's queue starts, from the loop. A kick still armed
	 * for the old SA (rekeyed again before the loop ran it) points at an
	 * SA about to be freed: it is n's now.
	 */
	bool kicked = mb->loop && timer_armed(&mb->kick);
	if (mb->loop)
		timer_cancel(mb->loop, &mb->kick);
	if (mb->update_queued || kicked) {
		mb->loop = n->e->env.loop;
		timer_init(&mb->kick, on_kick, n);
		timer_arm_in(mb->loop, &mb->kick, 0);
	}
}

bool mobike_moves_itself(const struct ikesa *sa, const struct ike_msg *m)
{
	return (sa->ext & EXT_MOBIKE) && !ike_hdr_is_response(&m->hdr) &&
	       m->hdr.exchange == INFORMATIONAL && message_find_notify(m, N_UPDATE_SA_ADDRESSES);
}

bool mobike_informational(const struct ike_msg *m)
{
	static const uint16_t types[] = {N_UPDATE_SA_ADDRESSES, N_COOKIE2, N_ADDITIONAL_IP4_ADDRESS,
					 N_ADDITIONAL_IP6_ADDRESS, N_NO_ADDITIONAL_ADDRESSES};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (message_find_notify(m, types[i]))
			return true;
	return false;
}

/* ---- IKE_AUTH: MOBIKE_SUPPORTED (3.1) ---- */

struct auth_task {
	struct task t;
	bool sent, agreed;
};

static enum task_status auth_build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct auth_task *a = (struct auth_task *)t;
	if (!sa->conn->live.mobike)
		return TASK_DONE;
	payload_build_notify_simple(b, PROTO_NONE, N_MOBIKE_SUPPORTED, NULL, 0, NULL, 0);
	build_addresses(sa, b);
	a->sent = true;
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static enum task_status auth_process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct auth_task *a = (struct auth_task *)t;
	if (a->sent && find_notify(m, N_MOBIKE_SUPPORTED)) {
		sa->ext |= EXT_MOBIKE;
		take_addresses(sa, m);
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: MOBIKE negotiated", ikesa_tag(sa));
	}
	return TASK_DONE;
}

static enum task_status auth_process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct auth_task *a = (struct auth_task *)t;
	if (!find_notify(m, N_MOBIKE_SUPPORTED) || !sa->conn->live.mobike)
		return TASK_DONE;
	a->agreed = true;
	sa->ext |= EXT_MOBIKE;
	take_addresses(sa, m);
	return TASK_DONE;
}

static enum task_status auth_build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct auth_task *a = (struct auth_task *)t;
	if (!a->agreed || sa->state != IKESA_ESTABLISHED)
		return TASK_DONE;
	payload_build_notify_simple(b, PROTO_NONE, N_MOBIKE_SUPPORTED, NULL, 0, NULL, 0);
	build_addresses(sa, b);
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: MOBIKE negotiated", ikesa_tag(sa));
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static void plain_free(struct task *t)
{
	free(t);
}

static const struct task_ops auth_ops = {
	.name = "mobike_auth",
	.exchange = IKE_AUTH,
	.build_i = auth_build_i,
	.process_i = auth_process_i,
	.process_r = auth_process_r,
	.build_r = auth_build_r,
	.free = plain_free,
};

struct task *task_mobike_auth_new(void)
{
	struct auth_task *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->t.ops = &auth_ops;
	return &a->t;
}

/* ---- UPDATE_SA_ADDRESSES, initiator (3.5) ---- */

struct cookie_task {
	struct task t;
	uint8_t cookie2[MOBIKE_COOKIE2_LEN];
};

/* The peer's COOKIE2 must be ours, octet for octet (3.6); a mismatch is a replayed or forged answer. */
static bool cookie2_ok(struct ikesa *sa, const struct ike_msg *m, const uint8_t *want)
{
	const struct ike_notify *n = find_notify(m, N_COOKIE2);
	if (n && n->data.len == MOBIKE_COOKIE2_LEN &&
	    sodium_memcmp(n->data.ptr, want, MOBIKE_COOKIE2_LEN) == 0)
		return true;
	log_msg(LOG_IKE, LOG_LVL_WARN, "%s: %s in the answer: ignored, asking again", ikesa_tag(sa),
		n ? "COOKIE2 does not match ours" : "no COOKIE2");
	return false;
}

static enum task_status update_build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct cookie_task *u = (struct cookie_task *)t;
	if (sa->mobike)
		sa->mobike->update_queued = false;
	if (sa->state != IKESA_ESTABLISHED || !(sa->ext & EXT_MOBIKE))
		return TASK_FAILED;
	struct mobike *mb = state_of(sa);
	if (mb)
		mb->update_in_flight = true;
	payload_build_notify_simple(b, PROTO_NONE, N_UPDATE_SA_ADDRESSES, NULL, 0, NULL, 0);
	natt_build_natd(sa, b, sa->spi_i, sa->spi_r);
	rng_fill(sa->e->env.rng, u->cookie2, sizeof(u->cookie2));
	payload_build_notify_simple(b, PROTO_NONE, N_COOKIE2, NULL, 0, u->cookie2, sizeof(u->cookie2));
	if (sa->conn->live.mobike_no_nats) {
		uint8_t d[NO_NATS_MAX];
		size_t n = no_nats_data(&sa->local, &sa->remote, d);
		if (n)
			payload_build_notify_simple(b, PROTO_NONE, N_NO_NATS_ALLOWED, NULL, 0, d, n);
	}
	build_addresses(sa, b);
	char l[64], r[64];
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: UPDATE_SA_ADDRESSES from %s to %s", ikesa_tag(sa),
		endpoint_str(&sa->local, l, sizeof(l)), endpoint_str(&sa->remote, r, sizeof(r)));
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static enum task_status update_process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct cookie_task *u = (struct cookie_task *)t;
	const struct ike_notify *err = message_find_error_notify(m);
	if (sa->mobike)
		sa->mobike->update_in_flight = false;
	if (err) {
		struct names_buf nb;
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: the peer refused UPDATE_SA_ADDRESSES: %s%s", ikesa_tag(sa),
			names_notify(err->type, &nb),
			err->type == N_UNEXPECTED_NAT_DETECTED ? " (NO_NATS_ALLOWED and a NAT on the path)" : "");
		/*
		 * 3.5, 3.6: the peer kept the old addresses; our Child SAs are
		 * on the refused path already: not staying there.
		 */
		if ((err->type == N_UNACCEPTABLE_ADDRESSES || err->type == N_UNEXPECTED_NAT_DETECTED) &&
		    roams(sa))
			next_path(sa, true, err->type == N_UNACCEPTABLE_ADDRESSES ? "the peer refused the addresses" :
									  "a NAT the peer does not allow");
		return TASK_FAILED;
	}
	if (!cookie2_ok(sa, m, u->cookie2))
		return TASK_NEED_MORE;
	clear_bad(sa, true);
	bool old_encap = natt_encap(sa);
	check_natd(sa, m);
	/* The NAT came or went: the Child SAs' encapsulation follows (3.8), and keepalives. */
	children_follow(sa, &sa->local, &sa->remote, old_encap);
	timers_on_path_changed(sa);
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: the peer moved the IKE SA to the new path", ikesa_tag(sa));
	return TASK_DONE;
}

static const struct task_ops update_ops = {
	.name = "mobike_update",
	.exchange = INFORMATIONAL,
	.build_i = update_build_i,
	.process_i = update_process_i,
	.free = plain_free,
};

static struct task *task_mobike_update_new(void)
{
	struct cookie_task *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->t.ops = &update_ops;
	return &u->t;
}

/* ---- return routability check, responder (3.5) ---- */

static enum task_status rr_build_i(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct cookie_task *u = (struct cookie_task *)t;
	if (sa->state != IKESA_ESTABLISHED || !sa->mobike || !sa->mobike->rr_pending)
		return TASK_FAILED;
	rng_fill(sa->e->env.rng, u->cookie2, sizeof(u->cookie2));
	payload_build_notify_simple(b, PROTO_NONE, N_COOKIE2, NULL, 0, u->cookie2, sizeof(u->cookie2));
	char r[64];
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: return routability check of %s", ikesa_tag(sa),
		endpoint_str(&sa->remote, r, sizeof(r)));
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static enum task_status rr_process_i(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct cookie_task *u = (struct cookie_task *)t;
	struct mobike *mb = sa->mobike;
	if (!mb || !mb->rr_pending)
		return TASK_DONE;
	if (!cookie2_ok(sa, m, u->cookie2))
		return TASK_NEED_MORE;
	mb->rr_pending = false;
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: return routability confirmed", ikesa_tag(sa));
	children_follow(sa, &mb->rr_local, &mb->rr_remote, mb->rr_encap);
	return TASK_DONE;
}

static const struct task_ops rr_ops = {
	.name = "mobike_rr",
	.exchange = INFORMATIONAL,
	.build_i = rr_build_i,
	.process_i = rr_process_i,
	.free = plain_free,
};

/* ---- the peer's INFORMATIONAL with MOBIKE notifies ---- */

struct resp_task {
	struct task t;
	uint8_t cookie2[MOBIKE_COOKIE2_MAX];
	size_t cookie2_len;
	uint16_t error;
	bool natd;
};

/*
 * 3.5: our policy for a peer's new address. A conn whose local_addr or
 * remote_addr is an address allows only that address's family (the
 * kernel states and policies of a conn are of one family); %any allows
 * both. Unspecified and multicast addresses never. The address itself is
 * not checked against remote_addr: a roaming peer's new address is not
 * known in advance.
 */
static bool acceptable(const struct ikesa *sa, const struct sockaddr_storage *local,
		       const struct sockaddr_storage *remote)
{
	const struct conn_cfg *c = sa->conn;
	if (remote->ss_family != AF_INET && remote->ss_family != AF_INET6)
		return false;
	if (local->ss_family && local->ss_family != remote->ss_family)
		return false;
	if (c->remote_addr.ss_family && c->remote_addr.ss_family != remote->ss_family)
		return false;
	if (c->local_addr.ss_family && c->local_addr.ss_family != remote->ss_family)
		return false;
	uint8_t a[16];
	size_t n = addr_bytes(remote, a), zero = 0;
	for (size_t i = 0; i < n; i++)
		zero += a[i] == 0;
	if (zero == n)
		return false;
	if (n == 4 ? (a[0] & 0xf0) == 0xe0 || (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) :
		     a[0] == 0xff)
		return false;
	return true;
}

/* 4.2.7: what the initiator saw must be what we see, else a NAT is on the path. */
static bool no_nats_ok(const struct ike_notify *n, const struct sockaddr_storage *from,
		       const struct sockaddr_storage *to)
{
	uint8_t d[NO_NATS_MAX];
	size_t len = no_nats_data(from, to, d);
	return len && n->data.len == len && memcmp(n->data.ptr, d, len) == 0;
}

static enum task_status resp_process_r(struct task *t, struct ikesa *sa, const struct ike_msg *m)
{
	struct resp_task *r = (struct resp_task *)t;
	if (!(sa->ext & EXT_MOBIKE))
		return TASK_DONE; /* not negotiated: the notifies mean nothing (3.1) */
	const struct ike_notify *c2 = find_notify(m, N_COOKIE2);
	if (c2 && c2->data.len >= 8 && c2->data.len <= MOBIKE_COOKIE2_MAX) {
		memcpy(r->cookie2, c2->data.ptr, c2->data.len);
		r->cookie2_len = c2->data.len;
	}
	take_addresses(sa, m);
	if (!find_notify(m, N_UPDATE_SA_ADDRESSES))
		return TASK_DONE;
	if (original_initiator(sa)) {
		/* 3.5: only the original initiator decides the addresses. */
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: UPDATE_SA_ADDRESSES from the responder ignored",
			ikesa_tag(sa));
		return TASK_DONE;
	}
	if (!m->rx_local || !m->rx_remote)
		return TASK_DONE;
	const struct ike_notify *nn = find_notify(m, N_NO_NATS_ALLOWED);
	if (nn && !no_nats_ok(nn, m->rx_remote, m->rx_local)) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: NO_NATS_ALLOWED, but the addresses changed on the way: "
			"not moving", ikesa_tag(sa));
		r->error = N_UNEXPECTED_NAT_DETECTED;
		return TASK_DONE;
	}
	if (!acceptable(sa, m->rx_local, m->rx_remote)) {
		char ra[64];
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: UPDATE_SA_ADDRESSES from %s, which this conn does not "
			"allow: UNACCEPTABLE_ADDRESSES, keeping the old addresses", ikesa_tag(sa),
			endpoint_str(m->rx_remote, ra, sizeof(ra)));
		r->error = N_UNACCEPTABLE_ADDRESSES;
		return TASK_DONE;
	}
	struct sockaddr_storage ol = sa->local, orr = sa->remote;
	bool old_encap = natt_encap(sa);
	if (m->rx_local->ss_family)
		sa->local = *m->rx_local;
	sa->remote = *m->rx_remote;
	r->natd = check_natd(sa, m);
	bool moved = !endpoint_same(&ol, &sa->local) || !endpoint_same(&orr, &sa->remote);
	if (!moved && old_encap == natt_encap(sa))
		return TASK_DONE;
	/*
	 * Only the NAT came or went: the path is the one the SA already has
	 * (an XFRM_MSG_MAPPING may have moved it there first, natt.c).
	 */
	if (moved) {
		sa->moves++;
		log_move(sa, &ol, &orr, "UPDATE_SA_ADDRESSES");
	}
	struct mobike *mb = state_of(sa);
	if (sa->conn->live.mobike_check && mb && !endpoint_same_addr(&orr, &sa->remote)) {
		/* 3.5: the Child SAs stay where they were until the new address answers. */
		if (!mb->rr_pending) {
			mb->rr_local = ol;
			mb->rr_remote = orr;
			mb->rr_encap = old_encap;
		}
		mb->rr_pending = true;
		struct cookie_task *rr = calloc(1, sizeof(*rr));
		if (rr) {
			rr->t.ops = &rr_ops;
			tm_queue(sa, &rr->t); /* sent once our answer is out (task manager) */
		}
		return TASK_DONE;
	}
	if (mb && mb->rr_pending) {
		/* Moved again before the check answered: from where the Child SAs still are. */
		mb->rr_pending = false;
		children_follow(sa, &mb->rr_local, &mb->rr_remote, mb->rr_encap);
	} else {
		children_follow(sa, &ol, &orr, old_encap);
	}
	return TASK_DONE;
}

static enum task_status resp_build_r(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	struct resp_task *r = (struct resp_task *)t;
	if (r->error) {
		payload_build_notify_simple(b, PROTO_NONE, r->error, NULL, 0, NULL, 0);
		return b->err ? TASK_DESTROY : TASK_DONE;
	}
	if (r->natd)
		natt_build_natd(sa, b, sa->spi_i, sa->spi_r);
	if (r->cookie2_len)
		payload_build_notify_simple(b, PROTO_NONE, N_COOKIE2, NULL, 0, r->cookie2, r->cookie2_len);
	return b->err ? TASK_DESTROY : TASK_DONE;
}

static const struct task_ops resp_ops = {
	.name = "mobike_r",
	.exchange = INFORMATIONAL,
	.process_r = resp_process_r,
	.build_r = resp_build_r,
	.free = plain_free,
};

struct task *task_mobike_r_new(void)
{
	struct resp_task *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->t.ops = &resp_ops;
	return &r->t;
}
