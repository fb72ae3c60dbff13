/* xiked's metrics: per-conn counters and the exposition; see metrics.h. */
#include "daemon/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "daemon/addr_pool.h"
#include "daemon/child_kernel.h"
#include "daemon/config.h"
#include "daemon/dos.h"
#include "daemon/engine_ctx.h"
#include "daemon/event.h"
#include "daemon/ikesa.h"
#include "daemon/openmetrics.h"
#include "daemon/spi_table.h"
#include "daemon/text.h"

#ifndef XIKED_VERSION
#define XIKED_VERSION "unknown"
#endif

struct metrics {
	struct metrics_conn **buckets;
	size_t n_buckets, n_conns;
	uint64_t start_wall_ms;
	size_t query_cursor; /* the Child SA (in walk order) the next scrape queries first */
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

struct metrics *metrics_new(uint64_t start_wall_ms)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->n_buckets = 64;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return NULL;
	}
	m->start_wall_ms = start_wall_ms;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct metrics_conn *mc = m->buckets[i], *next;
		for (; mc; mc = next) {
			next = mc->next;
			free(mc->name);
			free(mc);
		}
	}
	free(m->buckets);
	free(m);
}

/* Doubles the table when it holds more entries than buckets (not in the hot path: new names only). */
static void grow(struct metrics *m)
{
	size_t n = m->n_buckets * 2;
	struct metrics_conn **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct metrics_conn *mc = m->buckets[i], *next;
		for (; mc; mc = next) {
			next = mc->next;
			size_t j = name_hash(mc->name) & (n - 1);
			mc->next = b[j];
			b[j] = mc;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

static struct metrics_conn *find(const struct metrics *m, const char *conn)
{
	struct metrics_conn *mc = m->buckets[name_hash(conn) & (m->n_buckets - 1)];
	for (; mc; mc = mc->next)
		if (strcmp(mc->name, conn) == 0)
			return mc;
	return NULL;
}

struct metrics_conn *metrics_conn(struct metrics *m, const char *conn)
{
	struct metrics_conn *mc;
	size_t i;

	if (!m || !conn)
		return NULL;
	mc = find(m, conn);
	if (mc)
		return mc;
	mc = calloc(1, sizeof(*mc));
	if (!mc || !(mc->name = strdup(conn))) {
		free(mc);
		return NULL;
	}
	i = name_hash(conn) & (m->n_buckets - 1);
	mc->next = m->buckets[i];
	m->buckets[i] = mc;
	if (++m->n_conns > m->n_buckets)
		grow(m);
	return mc;
}

/* reason cut to METRICS_REASON_LEN - 1 octets at a UTF-8 character boundary. */
static void cut_reason(const char *reason, char *out)
{
	const unsigned char *p = (const unsigned char *)reason;
	size_t len = strlen(reason), i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (n == 0)
			n = 1; /* escaped when written */
		if (i + n > METRICS_REASON_LEN - 1)
			break;
		i += n;
	}
	memcpy(out, reason, i);
	out[i] = '\0';
}

void metrics_count_failure(struct metrics_conn *mc, enum metrics_fail_kind kind,
			   const char *reason)
{
	char text[METRICS_REASON_LEN];

	if (!mc || kind >= METRICS_FAIL_KINDS)
		return;
	cut_reason(reason && *reason ? reason : "unknown", text);
	for (size_t i = 0; i < mc->n_reasons[kind]; i++) {
		if (strcmp(mc->reasons[kind][i].text, text) == 0) {
			mc->reasons[kind][i].count++;
			return;
		}
	}
	/* Bounded label values: a peer cannot grow the series without limit. */
	if (mc->n_reasons[kind] == METRICS_REASONS_MAX) {
		mc->other_reasons[kind]++;
		return;
	}
	struct metrics_reason *r = &mc->reasons[kind][mc->n_reasons[kind]++];
	memcpy(r->text, text, sizeof(text));
	r->count = 1;
}

void metrics_reason_code(const char *reason, char *out)
{
	size_t n = 0;

	if (!reason || !*reason) {
		snprintf(out, METRICS_REASON_LEN, "unknown");
		return;
	}
	while (reason[n] && reason[n] != ':') {
		char c = reason[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-') || n + 1 >= METRICS_REASON_LEN) {
			snprintf(out, METRICS_REASON_LEN, "other");
			return;
		}
		n++;
	}
	if (n == 0) {
		snprintf(out, METRICS_REASON_LEN, "other");
		return;
	}
	memcpy(out, reason, n);
	out[n] = '\0';
}

void metrics_on_event(void *ctx, const struct event *ev)
{
	struct metrics_conn *mc = metrics_conn(ctx, ev->conn);
	char code[METRICS_REASON_LEN];

	if (!mc)
		return;
	switch (ev->type) {
	case EV_IKE_UP:
		mc->ike_setups++;
		break;
	case EV_IKE_DOWN:
		mc->ike_down++;
		break;
	case EV_IKE_REKEYED:
		mc->ike_rekeys++;
		break;
	case EV_IKE_FAILED:
	case EV_CHILD_FAILED:
		metrics_reason_code(ev->reason, code);
		metrics_count_failure(mc, ev->type == EV_IKE_FAILED ? METRICS_FAIL_IKE : METRICS_FAIL_CHILD,
				      code);
		break;
	case EV_AUTH_FAILED:
		mc->auth_failures++;
		break;
	case EV_CHILD_UP:
		mc->child_setups++;
		break;
	case EV_CHILD_DOWN:
		mc->child_down++;
		break;
	case EV_CHILD_REKEYED:
		mc->child_rekeys++;
		break;
	case EV_MOBIKE_MOVE:
		mc->mobike_moves++;
		break;
	case EV_DPD_DEAD:
		mc->dpd_dead++;
		break;
	case EV_COLLISION:
		mc->collisions++;
		break;
	case EV_TYPE_COUNT:
		break;
	}
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Reads c's kernel counters (with what moves carried) into its seen_* totals. */
static void refresh_child(struct ikesa *sa, struct child_sa *c)
{
	struct kernel_sa_stats in, out;

	child_kernel_query(sa, c, &in, &out);
	c->seen_bytes_in = max_u64(c->seen_bytes_in, in.bytes);
	c->seen_packets_in = max_u64(c->seen_packets_in, in.packets);
	c->seen_bytes_out = max_u64(c->seen_bytes_out, out.bytes);
	c->seen_packets_out = max_u64(c->seen_packets_out, out.packets);
}

void metrics_child_gone(struct ikesa *sa, struct child_sa *c)
{
	struct metrics_conn *mc;

	if (!c->installed_in && !c->installed_out)
		return;
	mc = metrics_conn(sa->e->metrics, sa->conn->name);
	if (!mc)
		return;
	refresh_child(sa, c);
	mc->gone_bytes_in += c->seen_bytes_in;
	mc->gone_packets_in += c->seen_packets_in;
	mc->gone_bytes_out += c->seen_bytes_out;
	mc->gone_packets_out += c->seen_packets_out;
	c->seen_bytes_in = c->seen_packets_in = c->seen_bytes_out = c->seen_packets_out = 0;
}

/* ---- the scrape ---- */

/* IKE SA states a conn's SAs are counted in (DESTROYING ones are gone at the end of the event). */
static const enum ikesa_state ike_states[] = { IKESA_CREATED, IKESA_CONNECTING,
					       IKESA_ESTABLISHED, IKESA_DELETING };
#define N_IKE_STATES (sizeof(ike_states) / sizeof(ike_states[0]))
static const enum child_state child_states[] = { CHILD_CREATED, CHILD_INSTALLED, CHILD_DELETING };
#define N_CHILD_STATES (sizeof(child_states) / sizeof(child_states[0]))

/* One conn of the running configuration, as the walk over the SAs found it. */
struct conn_agg {
	uint64_t ike[IKESA_STATE_COUNT];
	uint64_t *child; /* [n_children][CHILD_STATE_COUNT] */
	uint64_t bytes_in, bytes_out, packets_in, packets_out;
};

struct scrape {
	struct engine *e;
	const struct xiked_config *cfg;
	struct conn_agg *conns; /* [cfg->n_conns] */
	size_t child_idx, query_from, queried;
};

static void walk_sa(uint64_t key, void *val, void *ctx)
{
	struct scrape *s = ctx;
	struct ikesa *sa = val;
	const struct conn_cfg *cc = config_find_conn(s->cfg, sa->conn->name);
	struct conn_agg *a;

	(void)key;
	if (!cc)
		return; /* its conn was removed by a reload: it is being deleted */
	a = &s->conns[cc - s->cfg->conns];
	if (sa->state < IKESA_STATE_COUNT)
		a->ike[sa->state]++;
	for (struct child_sa *c = sa->children; c; c = c->next) {
		const struct child_cfg *ch = config_find_child(cc, c->cfg->name);
		if (ch && c->state < CHILD_STATE_COUNT)
			a->child[(size_t)(ch - cc->children) * CHILD_STATE_COUNT + c->state]++;
		if (!c->installed_in && !c->installed_out)
			continue;
		/* METRICS_QUERY_MAX per scrape, from where the last one stopped. */
		if (s->child_idx++ >= s->query_from && s->queried < METRICS_QUERY_MAX) {
			refresh_child(sa, c);
			s->queried++;
		}
		a->bytes_in += c->seen_bytes_in;
		a->bytes_out += c->seen_bytes_out;
		a->packets_in += c->seen_packets_in;
		a->packets_out += c->seen_packets_out;
	}
}

/* A state name as a label value: "ESTABLISHED" -> "established". */
static const char *lower(const char *s, char *buf, size_t len)
{
	size_t i = 0;
	for (; s[i] && i + 1 < len; i++)
		buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	buf[i] = '\0';
	return buf;
}

static const char *start_name(enum config_start s)
{
	return s == CONFIG_START_INITIATE ? "initiate" : s == CONFIG_START_TRAP ? "trap" : "none";
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len);
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)len);
	else
		snprintf(buf, len, "%%any");
}

static const char *conn_state(const struct conn_agg *a)
{
	if (a->ike[IKESA_ESTABLISHED])
		return "established";
	if (a->ike[IKESA_CREATED] || a->ike[IKESA_CONNECTING])
		return "connecting";
	return "configured";
}

/* A per-conn counter family: one sample per conn of the running configuration. */
static void conn_counter(struct scrape *s, struct om_writer *w, const char *name, const char *help,
			 size_t off)
{
	om_family(w, name, OM_COUNTER, NULL, help);
	for (size_t i = 0; i < s->cfg->n_conns; i++) {
		const char *cn = s->cfg->conns[i].name;
		struct metrics_conn *mc = metrics_conn(s->e->metrics, cn);
		uint64_t v = mc ? *(const uint64_t *)((const char *)mc + off) : 0;
		om_sample(w, (struct om_label[]){ { "conn", cn } }, 1, v);
	}
}

static void conn_failures(struct scrape *s, struct om_writer *w, const char *name, const char *help,
			  enum metrics_fail_kind kind)
{
	om_family(w, name, OM_COUNTER, NULL, help);
	for (size_t i = 0; i < s->cfg->n_conns; i++) {
		const char *cn = s->cfg->conns[i].name;
		struct metrics_conn *mc = metrics_conn(s->e->metrics, cn);
		if (!mc)
			continue;
		for (size_t j = 0; j < mc->n_reasons[kind]; j++)
			om_sample(w, (struct om_label[]){ { "conn", cn }, { "reason", mc->reasons[kind][j].text } },
				  2, mc->reasons[kind][j].count);
		if (mc->other_reasons[kind])
			om_sample(w, (struct om_label[]){ { "conn", cn }, { "reason", "other" } }, 2,
				  mc->other_reasons[kind]);
	}
}

static void conn_traffic(struct scrape *s, struct om_writer *w, bool bytes)
{
	if (bytes)
		om_family(w, "xiked_conn_esp_bytes", OM_COUNTER, "bytes",
			  "ESP payload bytes of the conn's Child SAs (the kernel's counters), removed ones included.");
	else
		om_family(w, "xiked_conn_esp_packets", OM_COUNTER, NULL,
			  "ESP packets of the conn's Child SAs (the kernel's counters), removed ones included.");
	for (size_t i = 0; i < s->cfg->n_conns; i++) {
		const char *cn = s->cfg->conns[i].name;
		const struct conn_agg *a = &s->conns[i];
		struct metrics_conn *mc = metrics_conn(s->e->metrics, cn);
		uint64_t in = bytes ? a->bytes_in : a->packets_in;
		uint64_t out = bytes ? a->bytes_out : a->packets_out;
		if (mc) {
			in += bytes ? mc->gone_bytes_in : mc->gone_packets_in;
			out += bytes ? mc->gone_bytes_out : mc->gone_packets_out;
		}
		om_sample(w, (struct om_label[]){ { "conn", cn }, { "direction", "in" } }, 2, in);
		om_sample(w, (struct om_label[]){ { "conn", cn }, { "direction", "out" } }, 2, out);
	}
}

static void conn_families(struct scrape *s, struct om_writer *w)
{
	const struct xiked_config *cfg = s->cfg;
	char lb[32];

	om_family(w, "xiked_conn", OM_INFO, NULL,
		  "A configured conn: its addresses, identities and start mode.");
	for (size_t i = 0; i < cfg->n_conns; i++) {
		const struct conn_cfg *c = &cfg->conns[i];
		char la[INET6_ADDRSTRLEN + 8], ra[INET6_ADDRSTRLEN + 8];
		char lid[CONFIG_ID_MAX * 4 + 8], rid[CONFIG_ID_MAX * 4 + 8];
		addr_text(&c->local_addr, la, sizeof(la));
		addr_text(&c->remote_addr, ra, sizeof(ra));
		config_id_format(&c->local_id, lid, sizeof(lid));
		config_id_format(&c->remote_id, rid, sizeof(rid));
		om_sample(w, (struct om_label[]){ { "conn", c->name }, { "local", la }, { "remote", ra },
						  { "local_id", lid }, { "remote_id", rid },
						  { "start", start_name(c->start) } },
			  6, 1);
	}
	om_family(w, "xiked_conn_up", OM_GAUGE, NULL,
		  "1 when the conn has an established IKE SA, else 0.");
	for (size_t i = 0; i < cfg->n_conns; i++)
		om_sample(w, (struct om_label[]){ { "conn", cfg->conns[i].name } }, 1,
			  s->conns[i].ike[IKESA_ESTABLISHED] ? 1 : 0);
	om_family(w, "xiked_conn_state", OM_STATESET, NULL,
		  "The conn's state: configured (no IKE SA), connecting, established.");
	static const char *const states[] = { "configured", "connecting", "established" };
	for (size_t i = 0; i < cfg->n_conns; i++) {
		const char *st = conn_state(&s->conns[i]);
		for (size_t j = 0; j < 3; j++)
			om_sample(w, (struct om_label[]){ { "conn", cfg->conns[i].name },
							  { "xiked_conn_state", states[j] } },
				  2, strcmp(st, states[j]) == 0);
	}
	om_family(w, "xiked_ike_sas", OM_GAUGE, NULL, "IKE SAs of the conn, by state.");
	for (size_t i = 0; i < cfg->n_conns; i++)
		for (size_t j = 0; j < N_IKE_STATES; j++)
			om_sample(w, (struct om_label[]){ { "conn", cfg->conns[i].name },
							  { "state", lower(ikesa_state_name(ike_states[j]), lb, sizeof(lb)) } },
				  2, s->conns[i].ike[ike_states[j]]);
	om_family(w, "xiked_child_sas", OM_GAUGE, NULL,
		  "Child SAs of the conn's child section, by state.");
	for (size_t i = 0; i < cfg->n_conns; i++) {
		const struct conn_cfg *c = &cfg->conns[i];
		for (size_t k = 0; k < c->n_children; k++)
			for (size_t j = 0; j < N_CHILD_STATES; j++)
				om_sample(w, (struct om_label[]){ { "conn", c->name }, { "child", c->children[k].name },
								  { "state", lower(child_state_name(child_states[j]), lb, sizeof(lb)) } },
					  3, s->conns[i].child[k * CHILD_STATE_COUNT + child_states[j]]);
	}
	conn_traffic(s, w, true);
	conn_traffic(s, w, false);
	conn_counter(s, w, "xiked_ike_setups", "IKE SAs established (IKE_AUTH done).",
		     offsetof(struct metrics_conn, ike_setups));
	conn_failures(s, w, "xiked_ike_setup_failures",
		      "IKE SAs that were not established, by the reason's code.", METRICS_FAIL_IKE);
	conn_counter(s, w, "xiked_auth_failures", "Authentications that failed (either side).",
		     offsetof(struct metrics_conn, auth_failures));
	conn_counter(s, w, "xiked_child_setups", "Child SAs set up (not by a rekey).",
		     offsetof(struct metrics_conn, child_setups));
	conn_failures(s, w, "xiked_child_setup_failures",
		      "Child SAs that were not created or rekeyed, by the reason's code.", METRICS_FAIL_CHILD);
	conn_counter(s, w, "xiked_ike_rekeys", "IKE SAs replaced by a rekey.",
		     offsetof(struct metrics_conn, ike_rekeys));
	conn_counter(s, w, "xiked_child_rekeys", "Child SAs replaced by a rekey.",
		     offsetof(struct metrics_conn, child_rekeys));
	conn_counter(s, w, "xiked_rekey_collisions",
		     "Rekey collisions (RFC 7296 2.8.1, 2.8.2), IKE and Child SA.",
		     offsetof(struct metrics_conn, collisions));
	conn_counter(s, w, "xiked_ike_down", "Established IKE SAs that went away.",
		     offsetof(struct metrics_conn, ike_down));
	conn_counter(s, w, "xiked_child_down", "Installed Child SAs deleted (not by a rekey).",
		     offsetof(struct metrics_conn, child_down));
	conn_counter(s, w, "xiked_path_moves", "IKE SAs moved to a new path (MOBIKE or NAT).",
		     offsetof(struct metrics_conn, mobike_moves));
	conn_counter(s, w, "xiked_dpd_dead", "Peers declared dead (RFC 7296 2.4).",
		     offsetof(struct metrics_conn, dpd_dead));
	conn_counter(s, w, "xiked_ike_retransmissions",
		     "IKE requests sent again for want of a response (RFC 7296 2.1).",
		     offsetof(struct metrics_conn, retransmits));
}

static void counter1(struct om_writer *w, const char *name, const char *help, uint64_t v)
{
	om_family(w, name, OM_COUNTER, NULL, help);
	om_sample(w, NULL, 0, v);
}

static void gauge1(struct om_writer *w, const char *name, const char *unit, const char *help,
		   uint64_t v)
{
	om_family(w, name, OM_GAUGE, unit, help);
	om_sample(w, NULL, 0, v);
}

static void daemon_families(struct engine *e, struct om_writer *w)
{
	const struct engine_stats *st = &e->stats;
	const struct dos_stats *ds = dos_stats(e->dos);

	om_family(w, "xiked_ike_messages_received", OM_COUNTER, NULL,
		  "IKE datagrams received, by what became of them.");
	om_sample(w, (struct om_label[]){ { "result", "accepted" } }, 1,
		  st->rx > st->rx_dropped + st->rx_malformed ? st->rx - st->rx_dropped - st->rx_malformed : 0);
	om_sample(w, (struct om_label[]){ { "result", "dropped" } }, 1, st->rx_dropped);
	om_sample(w, (struct om_label[]){ { "result", "malformed" } }, 1, st->rx_malformed);
	counter1(w, "xiked_ike_messages_sent", "IKE datagrams sent (retransmissions included).", st->tx);
	counter1(w, "xiked_retransmissions", "IKE requests sent again, all conns.", st->retransmits);
	om_family(w, "xiked_ike_fragments", OM_COUNTER, NULL,
		  "RFC 7383 fragments: sent, received, dropped; messages reassembled.");
	om_sample(w, (struct om_label[]){ { "event", "sent" } }, 1, st->frag_tx);
	om_sample(w, (struct om_label[]){ { "event", "received" } }, 1, st->frag_rx);
	om_sample(w, (struct om_label[]){ { "event", "dropped" } }, 1, st->frag_dropped);
	om_sample(w, (struct om_label[]){ { "event", "reassembled" } }, 1, st->frag_reassembled);
	counter1(w, "xiked_nat_keepalives_sent", "NAT keepalives sent (RFC 3948 2.3).",
		 st->keepalives_sent);
	counter1(w, "xiked_nat_mapping_changes",
		 "NATed peers that moved (kernel mapping events and IKE messages).",
		 st->nat_mapping_events + st->nat_peer_moves);
	counter1(w, "xiked_dpd_probes_sent", "Liveness checks sent (RFC 7296 2.4).", st->dpd_probes);
	counter1(w, "xiked_peers_dead", "Peers declared dead, all conns.", st->peers_dead);

	/* Denial-of-service protection (dos.h). */
	gauge1(w, "xiked_dos_half_open", NULL, "Half-open IKE SAs now (RFC 7296 2.6).",
	       dos_half_open(e->dos));
	gauge1(w, "xiked_dos_half_open_peak", NULL, "Most half-open IKE SAs at once.",
	       ds->half_open_peak);
	counter1(w, "xiked_dos_half_open_expired",
		 "Half-open IKE SAs dropped at half_open_timeout.", st->half_open_expired);
	counter1(w, "xiked_dos_half_open_replaced",
		 "Half-open IKE SAs replaced by an initiator that echoed a cookie.",
		 ds->half_open_evicted);
	om_family(w, "xiked_dos_cookies", OM_COUNTER, NULL,
		  "COOKIE notifies sent, and echoed cookies accepted and rejected.");
	om_sample(w, (struct om_label[]){ { "event", "sent" } }, 1, ds->cookies_sent);
	om_sample(w, (struct om_label[]){ { "event", "accepted" } }, 1, ds->cookies_accepted);
	om_sample(w, (struct om_label[]){ { "event", "rejected" } }, 1, ds->cookies_rejected);
	om_family(w, "xiked_dos_dropped", OM_COUNTER, NULL,
		  "IKE_SA_INIT requests dropped unanswered, by the limit that dropped them.");
	om_sample(w, (struct om_label[]){ { "limit", "half_open_max" } }, 1, ds->dropped_total_cap);
	om_sample(w, (struct om_label[]){ { "limit", "half_open_per_ip" } }, 1, ds->dropped_per_ip_cap);
	om_sample(w, (struct om_label[]){ { "limit", "ike_sa_per_ip" } }, 1, ds->dropped_ike_per_ip);
	om_sample(w, (struct om_label[]){ { "limit", "auth_backoff" } }, 1, ds->dropped_auth_backoff);
	counter1(w, "xiked_dos_auth_failures", "Authentication failures of peers (responder).",
		 ds->auth_failures);
	counter1(w, "xiked_dos_auth_id_backoff",
		 "IKE_AUTH requests of a backing-off identity answered without verifying.",
		 ds->auth_id_backoff);
	gauge1(w, "xiked_dos_fragment_memory_bytes", "bytes",
	       "Memory held by RFC 7383 reassembly now.", dos_frag_bytes(e->dos));
	counter1(w, "xiked_dos_fragments_over_budget",
		 "Fragments dropped over frag_mem_per_ip or frag_mem_max.", ds->frag_over_budget);
	counter1(w, "xiked_dos_fragment_reassemblies_evicted",
		 "Partial messages dropped to make room under frag_mem_max.", st->frag_evicted);
}

/* Address pools (vip.h): size and leases per pool, one walk of the pools, not of the leases. */
static void pool_sample(struct addr_pool *p, void *ctx)
{
	struct om_writer *w = ctx;
	char b[64];
	addr_prefix_format(addr_pool_prefix(p), b, sizeof(b));
	om_sample(w, (struct om_label[]){ { "pool", b }, { "state", "online" } }, 2,
		  addr_pool_online(p));
	om_sample(w, (struct om_label[]){ { "pool", b }, { "state", "offline" } }, 2,
		  addr_pool_offline(p));
}

static void pool_size(struct addr_pool *p, void *ctx)
{
	struct om_writer *w = ctx;
	char b[64];
	addr_prefix_format(addr_pool_prefix(p), b, sizeof(b));
	om_sample(w, (struct om_label[]){ { "pool", b } }, 1, addr_pool_size(p));
}

static void pool_families(struct engine *e, struct om_writer *w)
{
	if (!e->pools)
		return;
	om_family(w, "xiked_pool_addresses", OM_GAUGE, NULL,
		  "Addresses a virtual IP pool can hand out.");
	addr_pools_each(e->pools, pool_size, w);
	om_family(w, "xiked_pool_leases", OM_GAUGE, NULL,
		  "Leases of a virtual IP pool: online (held by IKE SAs) or offline (kept for the "
		  "identity).");
	addr_pools_each(e->pools, pool_sample, w);
}

void metrics_write(struct engine *e, struct om_writer *w)
{
	const struct xiked_config *cfg = e->cfg->cfg;
	struct scrape s = { .e = e, .cfg = cfg };
	uint64_t *child_cells = NULL;
	size_t n_cells = 0;

	/* One walk over the SAs fills every conn's gauges. */
	s.conns = calloc(cfg->n_conns ? cfg->n_conns : 1, sizeof(*s.conns));
	for (size_t i = 0; i < cfg->n_conns; i++)
		n_cells += cfg->conns[i].n_children * CHILD_STATE_COUNT;
	child_cells = calloc(n_cells ? n_cells : 1, sizeof(*child_cells));
	if (!s.conns || !child_cells) {
		free(s.conns);
		free(child_cells);
		w->err = true;
		return;
	}
	for (size_t i = 0, off = 0; i < cfg->n_conns; i++) {
		s.conns[i].child = child_cells + off;
		off += cfg->conns[i].n_children * CHILD_STATE_COUNT;
	}
	struct metrics *m = e->metrics;
	s.query_from = m ? m->query_cursor : 0;
	spi_table_each(e->by_spi, walk_sa, &s);
	if (m) {
		/* The next scrape starts after the last Child SA this one queried (wraps). */
		m->query_cursor = s.query_from + s.queried;
		if (m->query_cursor >= s.child_idx)
			m->query_cursor = 0;
	}
	om_family(w, "xiked_build", OM_INFO, NULL, "xiked's version.");
	om_sample(w, (struct om_label[]){ { "version", XIKED_VERSION } }, 1, 1);
	om_family(w, "xiked_start_time_seconds", OM_GAUGE, "seconds",
		  "When xiked started, seconds since the Unix epoch.");
	om_sample_double(w, NULL, 0, m ? (double)m->start_wall_ms / 1000.0 : 0);
	gauge1(w, "xiked_conns", NULL, "Conns in the running configuration.", cfg->n_conns);
	conn_families(&s, w);
	daemon_families(e, w);
	pool_families(e, w);
	om_eof(w);
	free(s.conns);
	free(child_cells);
}
