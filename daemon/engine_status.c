/* Status of the IKE and Child SAs and the engine's counters (see engine_status.h). */
#include "daemon/engine_status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/auth.h"
#include "daemon/child_kernel.h"
#include "daemon/dos.h"
#include "daemon/engine_index.h"
#include "daemon/event.h"
#include "daemon/ikesa.h"
#include "daemon/names.h"
#include "daemon/route_iface.h"
#include "daemon/timers.h"
#include "daemon/ts.h"
#include "daemon/vip.h"

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

/* "conn_errors": the last error of each configured conn that had one (conn NULL), or conn's. */
static void status_conn_errors(struct engine *e, const char *conn, struct json_writer *w)
{
	const struct xiked_config *cfg = e->cfg->cfg;
	json_key(w, "conn_errors");
	json_arr_begin(w);
	for (size_t i = 0; i < cfg->n_conns; i++) {
		const char *name = cfg->conns[i].name;
		const struct event_error *le;
		char t[40];
		if ((conn && strcmp(conn, name) != 0) || !(le = event_last_error(e->events, name)))
			continue;
		json_obj_begin(w);
		json_kv_str(w, "conn", name);
		json_kv_str(w, "event", event_type_name(le->type));
		json_kv_str(w, "reason", le->reason);
		json_kv_str(w, "time", event_time_text(le->wall_ms, t, sizeof(t)));
		json_obj_end(w);
	}
	json_arr_end(w);
}

void engine_status(struct engine *e, struct json_writer *w)
{
	engine_status_conn(e, NULL, w);
}

int engine_status_conn(struct engine *e, const char *conn, struct json_writer *w)
{
	if (conn && !config_find_conn(e->cfg->cfg, conn) && !engine_has_conn_sa(e, conn))
		return -ENOENT;
	struct engine_sa_list l = engine_all_sas(e);
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
	status_conn_errors(e, conn, w);
	free(l.v);
	return 0;
}

bool engine_has_conn_sa(struct engine *e, const char *conn)
{
	struct engine_sa_list l = engine_all_sas(e);
	bool found = false;
	for (size_t i = 0; i < l.n && !found; i++)
		found = strcmp(l.v[i]->conn->name, conn) == 0;
	free(l.v);
	return found;
}
