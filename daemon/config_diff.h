/*
 * What a reload changes: two configurations compared conn by conn (by
 * name), each conn added, removed, changed (and in what) or unchanged, and
 * the [daemon] settings that only a restart applies. Pure: it reads both
 * configurations and acts on nothing (daemon/reload.c applies the result).
 */
#ifndef XIKED_CONFIG_DIFF_H
#define XIKED_CONFIG_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"

enum config_diff_kind {
	CONFIG_DIFF_ADDED,
	CONFIG_DIFF_REMOVED,
	CONFIG_DIFF_CHANGED,
	CONFIG_DIFF_UNCHANGED,
};

/* What changed in a conn (bits; config_diff_what_name gives the names used in output). */
enum config_change {
	CONFIG_CHG_ADDRESSES = 1u << 0,     /* local_addr, remote_addr */
	CONFIG_CHG_IDENTITIES = 1u << 1,    /* local_id, remote_id */
	CONFIG_CHG_AUTH = 1u << 2,          /* auth methods, psk, key, cert, cacert, remote_pubkey */
	CONFIG_CHG_IKE = 1u << 3,           /* ike = proposals */
	CONFIG_CHG_LIFETIMES = 1u << 4,     /* lifetime, margins, ike_lifetime, reauth, idle... */
	CONFIG_CHG_LIVENESS = 1u << 5,      /* dpd, dpd_action, keepalive, encap, mobike */
	CONFIG_CHG_FRAGMENTATION = 1u << 6, /* fragmentation, fragment_size */
	CONFIG_CHG_ROUTE = 1u << 7,         /* route-based settings (if_id, interface, mark...) */
	CONFIG_CHG_START = 1u << 8,         /* start = */
	CONFIG_CHG_CHILDREN = 1u << 9,      /* a child config added or removed */
	CONFIG_CHG_ESP = 1u << 10,          /* a child's esp = proposals */
	CONFIG_CHG_SELECTORS = 1u << 11,    /* a child's local_ts / remote_ts */
	CONFIG_CHG_MODE = 1u << 12,         /* a child's mode */
	CONFIG_CHG_REMOTE_ACCESS = 1u << 13, /* pool, dns, split, dns_domain, vip */
	CONFIG_CHG_COUNT = 14,
};

/* [daemon] settings read only at start-up (sockets), bits. */
enum config_daemon_change {
	CONFIG_DCHG_LISTEN = 1u << 0,
	CONFIG_DCHG_PORTS = 1u << 1,   /* port, natt_port */
	CONFIG_DCHG_CONTROL = 1u << 2, /* control socket path */
	CONFIG_DCHG_ROUTE_TABLE = 1u << 3, /* route_table, route_rule_priority */
	CONFIG_DCHG_USER = 1u << 4,    /* user = (privileges are dropped once, at start) */
	CONFIG_DCHG_COUNT = 5,
};

struct config_diff_conn {
	enum config_diff_kind kind;
	const struct conn_cfg *old_conn, *new_conn; /* borrowed; NULL when added / removed */
	uint32_t what;                              /* CHANGED: enum config_change bits */
};

/*
 * v[i] for i < n_new is new->conns[i] (added, changed or unchanged), in
 * file order; then the removed conns in the old file's order.
 */
struct config_diff {
	struct config_diff_conn *v; /* owned */
	size_t n, n_new;
	size_t added, removed, changed, unchanged;
	uint32_t daemon_restart; /* enum config_daemon_change bits */
};

/*
 * Compares old and new (both borrowed; they must outlive *out). 0, or
 * -ENOMEM with *out empty. O(n log n) in the number of conns.
 */
int config_diff(const struct xiked_config *old, const struct xiked_config *new,
		struct config_diff *out);
void config_diff_free(struct config_diff *d);

/* The enum config_change bits that differ between two conns of the same name. */
uint32_t config_diff_conns(const struct conn_cfg *a, const struct conn_cfg *b);
/*
 * Whether child a of conn ca and child b of conn cb make the same kernel
 * policies (addresses, route-based settings, selectors, mode): a trap or
 * Child SA of one can stand for the other.
 */
bool config_diff_same_policies(const struct conn_cfg *ca, const struct child_cfg *a,
			       const struct conn_cfg *cb, const struct child_cfg *b);

/* "addresses", "esp"...: the name of one bit; NULL for none. */
const char *config_diff_what_name(uint32_t bit);
const char *config_diff_daemon_name(uint32_t bit);
/* The names of bits joined by ", " into buf (what snprintf returns). */
int config_diff_what_text(uint32_t what, char *buf, size_t len);

#endif
