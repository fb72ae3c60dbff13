/* Configured conns, their last errors, up/down progress; see conn_list.h. */
#include "daemon/conn_list.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/child_rekey.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/event.h"
#include "daemon/ikesa.h"
#include "daemon/json.h"
#include "daemon/proposal_config.h"
#include "daemon/spi_table.h"
#include "daemon/vip.h"

/* Per conn (index in the current configuration): its IKE SAs by state. */
struct conn_count {
	size_t established, connecting;
};

struct count_walk {
	const struct xiked_config *cfg;
	struct conn_count *n;
	const char *only; /* count SAs of this conn only (NULL: all) */
};

static void count_sa(uint64_t key, void *val, void *ctx)
{
	(void)key;
	struct count_walk *cw = ctx;
	const struct ikesa *sa = val;
	if (cw->only && strcmp(sa->conn->name, cw->only) != 0)
		return;
	/* SAs keep the configuration they were made with: found by name in the current one. */
	const struct conn_cfg *c = config_find_conn(cw->cfg, sa->conn->name);
	if (!c)
		return;
	struct conn_count *n = &cw->n[c - cw->cfg->conns];
	if (sa->state == IKESA_ESTABLISHED)
		n->established++;
	else if (sa->state < IKESA_ESTABLISHED)
		n->connecting++;
}

static const char *start_name(enum config_start s)
{
	switch (s) {
	case CONFIG_START_INITIATE:
		return "initiate";
	case CONFIG_START_TRAP:
		return "trap";
	default:
		return "none";
	}
}

static const char *unique_name(enum config_unique u)
{
	switch (u) {
	case CONFIG_UNIQUE_KEEP:
		return "keep";
	case CONFIG_UNIQUE_NEVER:
		return "never";
	default:
		return "replace";
	}
}

static const char *dpd_action_name(enum config_dpd_action a)
{
	switch (a) {
	case CONFIG_DPD_RESTART:
		return "restart";
	case CONFIG_DPD_TRAP:
		return "trap";
	default:
		return "clear";
	}
}

static void kv_addr(struct json_writer *w, const char *key, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN] = "%any";
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
	json_kv_str(w, key, a);
}

static void kv_id(struct json_writer *w, const char *key, const struct config_id *id)
{
	char b[CONFIG_ID_MAX * 2 + 8];
	config_id_format(id, b, sizeof(b));
	json_kv_str(w, key, b);
}

static void kv_proposals(struct json_writer *w, const char *key, const struct proposal_cfg_list *l)
{
	json_key(w, key);
	json_arr_begin(w);
	for (size_t i = 0; i < l->n; i++) {
		char b[512];
		proposal_cfg_format(&l->p[i], b, sizeof(b));
		json_str(w, b);
	}
	json_arr_end(w);
}

static void kv_ts(struct json_writer *w, const char *key, const struct ts_cfg_list *l)
{
	json_key(w, key);
	json_arr_begin(w);
	for (size_t i = 0; i < l->n; i++) {
		char b[128];
		config_ts_format(&l->ts[i], b, sizeof(b));
		json_str(w, b);
	}
	json_arr_end(w);
}

static void kv_error(struct json_writer *w, const char *key, const struct event_error *le)
{
	char t[40];
	json_key(w, key);
	json_obj_begin(w);
	json_kv_str(w, "event", event_type_name(le->type));
	json_kv_str(w, "reason", le->reason);
	json_kv_str(w, "time", event_time_text(le->wall_ms, t, sizeof(t)));
	json_obj_end(w);
}

static void conn_json(struct engine *e, const struct conn_cfg *c, const struct conn_count *n,
		      struct json_writer *w)
{
	json_obj_begin(w);
	json_kv_str(w, "name", c->name);
	json_kv_str(w, "state", n->established ? "established" : n->connecting ? "connecting"
									   : "configured");
	json_kv_uint(w, "ike_sas", n->established + n->connecting);
	json_kv_str(w, "start", start_name(c->start));
	kv_addr(w, "local_addr", &c->local_addr);
	kv_addr(w, "remote_addr", &c->remote_addr);
	kv_id(w, "local_id", &c->local_id);
	kv_id(w, "remote_id", &c->remote_id);
	json_kv_str(w, "local_auth", config_auth_name(c->local_auth));
	json_kv_str(w, "remote_auth", config_auth_name(c->remote_auth));
	kv_proposals(w, "ike_proposals", &c->ike);
	json_kv_str(w, "unique", unique_name(c->unique));
	json_kv_bool(w, "mobike", c->live.mobike);
	json_kv_uint(w, "dpd_s", c->live.dpd_s);
	json_kv_str(w, "dpd_action", dpd_action_name(c->live.dpd_action));
	json_kv_uint(w, "lifetime_s", c->life.lifetime_s);
	json_kv_uint(w, "ike_lifetime_s", c->life.ike_lifetime_s);
	json_kv_bool(w, "reauth", c->life.reauth);
	if (c->route.if_id_unique)
		json_kv_str(w, "if_id", "%unique");
	else if (c->route.if_id)
		json_kv_uint(w, "if_id", c->route.if_id);
	if (c->route.mark)
		json_kv_uint(w, "mark", c->route.mark);
	if (c->route.interface[0])
		json_kv_str(w, "interface", c->route.interface);
	if (c->route.vti[0])
		json_kv_str(w, "vti", c->route.vti);
	vip_conn_json(c, w);
	json_key(w, "children");
	json_arr_begin(w);
	for (size_t i = 0; i < c->n_children; i++) {
		const struct child_cfg *ch = &c->children[i];
		json_obj_begin(w);
		json_kv_str(w, "name", ch->name);
		json_kv_str(w, "mode", ch->mode == CONFIG_MODE_TRANSPORT ? "transport" : "tunnel");
		kv_proposals(w, "esp_proposals", &ch->esp);
		kv_ts(w, "local_ts", &ch->local_ts);
		kv_ts(w, "remote_ts", &ch->remote_ts);
		json_obj_end(w);
	}
	json_arr_end(w);
	const struct event_error *le = event_last_error(e->events, c->name);
	if (le)
		kv_error(w, "last_error", le);
	json_obj_end(w);
}

int conn_list_json(struct engine *e, const char *conn, struct json_writer *w)
{
	const struct xiked_config *cfg = e->cfg->cfg;
	const struct conn_cfg *one = conn ? config_find_conn(cfg, conn) : NULL;
	if (conn && !one)
		return -ENOENT;
	struct count_walk cw = {.cfg = cfg, .n = calloc(cfg->n_conns + 1, sizeof(*cw.n)),
				.only = conn};
	if (!cw.n)
		return -ENOMEM;
	spi_table_each(e->by_spi, count_sa, &cw);
	json_key(w, "conns");
	json_arr_begin(w);
	for (size_t i = 0; i < cfg->n_conns; i++)
		if (!one || one == &cfg->conns[i])
			conn_json(e, &cfg->conns[i], &cw.n[i], w);
	json_arr_end(w);
	free(cw.n);
	return 0;
}

struct any_walk {
	const char *conn;
	size_t n;
};

static void count_conn(uint64_t key, void *val, void *ctx)
{
	(void)key;
	struct any_walk *aw = ctx;
	const struct ikesa *sa = val;
	aw->n += strcmp(sa->conn->name, aw->conn) == 0;
}

int conn_progress(struct engine *e, const char *conn, bool up, char *msg, size_t len)
{
	if (!up) {
		struct any_walk aw = {.conn = conn};
		spi_table_each(e->by_spi, count_conn, &aw);
		if (aw.n)
			return 0;
		snprintf(msg, len, "%s: no IKE SA left", conn);
		return 1;
	}
	struct ikesa *sa = engine_conn_sa(e, conn);
	if (!sa) {
		snprintf(msg, len, "%s: the IKE SA is gone (see the log)", conn);
		return -1;
	}
	if (sa->state != IKESA_ESTABLISHED)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < sa->conn->n_children; i++) {
		const struct child_cfg *want = &sa->conn->children[i];
		bool found = false;
		for (const struct child_sa *c = sa->children; c && !found; c = c->next)
			found = child_live(c) && strcmp(c->cfg->name, want->name) == 0;
		if (!found)
			return 0;
		n++;
	}
	snprintf(msg, len, "%s: up, IKE SA #%u %016" PRIx64 "_i %016" PRIx64 "_r, %zu Child SA%s",
		 conn, sa->uid, sa->spi_i, sa->spi_r, n, n == 1 ? "" : "s");
	return 1;
}
