/* Trap policies and ACQUIRE (see trap.h). */
#include "daemon/trap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/child_kernel.h"
#include "daemon/config_diff.h"
#include "daemon/engine.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/child_route.h"
#include "daemon/route_iface.h"
#include "daemon/spi_table.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/ts.h"

struct trap {
	struct trap *next;
	struct cfg_ref *ref;              /* keeps conn and cfg alive */
	const struct conn_cfg *conn;
	struct child_sa pol;              /* reqid, mode and selectors for the policy code */
	struct sockaddr_storage local, remote;
	uint64_t pending_until;           /* ignore ACQUIREs until then (clock ms) */
	bool by_dpd;                      /* installed by dpd_action = trap, not by start = trap */
	char tag[CONFIG_NAME_MAX + 16];
};

/* Trap table key: the reqid with bit 33 set (apart from the SPI keys of other tables). */
#define TRAP_KEY(reqid) ((uint64_t)(reqid) | (1ULL << 33))

static bool install_one(struct engine *e, const struct conn_cfg *conn, const struct child_cfg *cfg,
			bool by_dpd)
{
	struct trap *t = calloc(1, sizeof(*t));
	if (!t)
		return false;
	t->by_dpd = by_dpd;
	t->ref = cfg_ref_get(e->cfg);
	t->conn = conn;
	t->remote = conn->remote_addr;
	if (conn->local_addr.ss_family)
		t->local = conn->local_addr;
	else if (engine_source_for(e, &t->remote, &t->local) != 0) {
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: no route to the peer: trap for %s not installed",
			conn->name, cfg->name);
		cfg_ref_put(t->ref);
		free(t);
		return false;
	}
	snprintf(t->tag, sizeof(t->tag), "%s[trap]", conn->name);
	t->pol.cfg = cfg;
	t->pol.mode = cfg->mode;
	t->pol.reqid = engine_alloc_reqid(e);
	t->pol.n_local_ts = ts_from_cfg(&cfg->local_ts, &t->local, t->pol.local_ts, CHILD_TS_MAX);
	t->pol.n_remote_ts = ts_from_cfg(&cfg->remote_ts, &t->remote, t->pol.remote_ts,
					 CHILD_TS_MAX);
	/*
	 * Route-based (if_id = N, mark = N): the trap policies carry the
	 * conn's if_id and mark like the Child SA's will, and its device and
	 * routes exist now, so that traffic routed into the interface finds
	 * the policy and the kernel sends the ACQUIRE.
	 */
	if (conn->route.if_id_unique) {
		/* config_route.c refuses start = trap; dpd_action = trap comes here too. */
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: no trap for %s: if_id = %%unique has no if_id "
			"without an IKE SA", conn->name, cfg->name);
		cfg_ref_put(t->ref);
		free(t);
		return false;
	}
	if (route_iface_attach_trap(e, conn, &t->local, &t->remote, t->tag, &t->pol) != 0 ||
	    child_kernel_hold_policies(e, &t->local, &t->remote, t->tag, &t->pol) != 0 ||
	    spi_table_add(e->traps, TRAP_KEY(t->pol.reqid), t) != 0) {
		child_kernel_release_policies(e, &t->local, &t->remote, t->tag, &t->pol);
		route_iface_detach(e, &t->pol);
		cfg_ref_put(t->ref);
		free(t);
		return false;
	}
	route_iface_add_routes_trap(e, conn, t->tag, &t->pol);
	child_route_add(e, conn, &t->local, &t->remote, t->tag, &t->pol);
	t->next = e->trap_list;
	e->trap_list = t;
	char l[TS_STRLEN], r[TS_STRLEN];
	log_msg(LOG_CHD, LOG_LVL_INFO, "%s: trap policies for %s installed: %s === %s (reqid %u)",
		conn->name, cfg->name, ts_to_string(&t->pol.local_ts[0], l, sizeof(l)),
		ts_to_string(&t->pol.remote_ts[0], r, sizeof(r)), t->pol.reqid);
	return true;
}

static size_t install_conn(struct engine *e, const char *name, bool by_dpd)
{
	const struct conn_cfg *c = config_find_conn(e->cfg->cfg, name);
	size_t n = 0;
	if (!c || c->remote_addr.ss_family == AF_UNSPEC)
		return 0; /* a trap needs the peer's address */
	for (size_t j = 0; j < c->n_children; j++)
		if (!trap_reqid(e, c, &c->children[j]))
			n += install_one(e, c, &c->children[j], by_dpd);
	return n;
}

void trap_install_conn(struct engine *e, const char *name)
{
	install_conn(e, name, true);
}

size_t trap_install_start(struct engine *e, const char *name)
{
	return install_conn(e, name, false);
}

void trap_install_all(struct engine *e)
{
	const struct xiked_config *cfg = e->cfg->cfg;
	for (size_t i = 0; i < cfg->n_conns; i++) {
		const struct conn_cfg *c = &cfg->conns[i];
		if (c->start != CONFIG_START_TRAP)
			continue;
		for (size_t j = 0; j < c->n_children; j++)
			install_one(e, c, &c->children[j], false);
	}
}

/* Unlinked from the list by the caller. */
static void remove_one(struct engine *e, struct trap *t)
{
	spi_table_del(e->traps, TRAP_KEY(t->pol.reqid));
	child_kernel_release_policies(e, &t->local, &t->remote, t->tag, &t->pol);
	child_route_del(e, &t->pol);
	route_iface_detach(e, &t->pol);
	cfg_ref_put(t->ref);
	free(t);
}

void trap_remove_all(struct engine *e)
{
	while (e->trap_list) {
		struct trap *t = e->trap_list;
		e->trap_list = t->next;
		remove_one(e, t);
	}
}

void trap_reload(struct engine *e, void (*removed)(void *ctx, const char *conn), void *ctx)
{
	struct trap **pp = &e->trap_list;
	while (*pp) {
		struct trap *t = *pp;
		const struct conn_cfg *c = config_find_conn(e->cfg->cfg, t->conn->name);
		const struct child_cfg *ch = c ? config_find_child(c, t->pol.cfg->name) : NULL;
		bool wanted = c && (t->by_dpd ? c->live.dpd_action == CONFIG_DPD_TRAP
					      : c->start == CONFIG_START_TRAP);
		if (wanted && ch && config_diff_same_policies(t->conn, t->pol.cfg, c, ch)) {
			/* The same policies: keep them and the reqid (no gap), on the new config. */
			struct cfg_ref *old = t->ref;
			t->ref = cfg_ref_get(e->cfg);
			t->conn = c;
			t->pol.cfg = ch;
			cfg_ref_put(old);
			pp = &t->next;
			continue;
		}
		log_msg(LOG_CHD, LOG_LVL_INFO, "%s: trap policies for %s removed (reqid %u): %s",
			t->conn->name, t->pol.cfg->name, t->pol.reqid,
			!c ? "connection removed" : !ch ? "child removed"
			: !wanted ? "no trap asked for" : "policies changed");
		if (removed)
			removed(ctx, t->conn->name);
		*pp = t->next;
		remove_one(e, t);
	}
}

/*
 * The trap of child config cfg of conn: the same config, or (after a
 * reload) one of the same names making the same policies, so that a Child
 * SA made from either configuration shares the trap's reqid and policies.
 */
static struct trap *find_cfg(struct engine *e, const struct conn_cfg *conn,
			     const struct child_cfg *cfg)
{
	/* Few traps, and only on SA creation: a list walk is fine here. */
	for (struct trap *t = e->trap_list; t; t = t->next)
		if (t->pol.cfg == cfg ||
		    (strcmp(t->pol.cfg->name, cfg->name) == 0 &&
		     strcmp(t->conn->name, conn->name) == 0 &&
		     config_diff_same_policies(t->conn, t->pol.cfg, conn, cfg)))
			return t;
	return NULL;
}

uint32_t trap_reqid(struct engine *e, const struct conn_cfg *conn, const struct child_cfg *cfg)
{
	struct trap *t = find_cfg(e, conn, cfg);
	return t ? t->pol.reqid : 0;
}

void trap_on_child_installed(struct engine *e, const struct conn_cfg *conn,
			     const struct child_cfg *cfg)
{
	struct trap *t = find_cfg(e, conn, cfg);
	if (t)
		t->pending_until = 0;
}

void trap_on_acquire(void *ctx, const struct ksel *sel, uint32_t reqid)
{
	(void)sel;
	struct engine *e = ctx;
	struct trap *t = spi_table_get(e->traps, TRAP_KEY(reqid));
	if (!t)
		return;
	uint64_t now = engine_now(e);
	if (now < t->pending_until)
		return; /* the burst's negotiation is under way */
	t->pending_until = now + TRAP_PENDING_MS;
	/* An installed Child SA with this reqid makes the ACQUIRE stale (a rekey's gap). */
	struct ikesa *sa = engine_conn_sa(e, t->conn->name);
	if (sa) {
		for (struct child_sa *c = sa->children; c; c = c->next)
			if (c->reqid == reqid && c->state == CHILD_INSTALLED)
				return;
		/*
		 * The Child SA comes from the IKE SA's own configuration (it may
		 * predate a reload): its child config of that name, if it makes
		 * the trap's policies.
		 */
		const struct child_cfg *cc = config_find_child(sa->conn, t->pol.cfg->name);
		if (cc && !config_diff_same_policies(sa->conn, cc, t->conn, t->pol.cfg))
			cc = NULL;
		if (sa->state == IKESA_ESTABLISHED && !cc) {
			log_msg(LOG_CHD, LOG_LVL_WARN, "%s: traffic for %s (ACQUIRE): the IKE SA has "
				"the settings from before the reload; 'xikectl down %s' applies the "
				"new ones", ikesa_tag(sa), t->pol.cfg->name, t->conn->name);
		} else if (sa->state == IKESA_ESTABLISHED) {
			log_msg(LOG_CHD, LOG_LVL_INFO, "%s: traffic for %s (ACQUIRE): creating the "
				"Child SA", ikesa_tag(sa), t->pol.cfg->name);
			struct task *task = task_child_create_ccsa_new(cc);
			if (task)
				tm_queue(sa, task);
		}
		return; /* connecting: the Child SA comes with IKE_AUTH */
	}
	log_msg(LOG_CHD, LOG_LVL_INFO, "%s: traffic for %s (ACQUIRE): initiating", t->conn->name,
		t->pol.cfg->name);
	char err[160];
	if (engine_up(e, t->conn->name, err, sizeof(err)) != 0)
		log_msg(LOG_CHD, LOG_LVL_ERROR, "%s: %s", t->conn->name, err);
}
