/*
 * Virtual IPs of an IKE SA (RFC 7296 2.19), both roles; the CP exchange
 * itself is task_config.c.
 *
 * Gateway (conn with pool =): a road warrior that asks for an address in
 * IKE_AUTH gets a lease from the conn's pools for its authenticated
 * identity (daemon/addr_pool.h), one per family it asked for, and its
 * Child SAs' remote selectors %dynamic become the leased addresses, so
 * the peer's proposed 0.0.0.0/0 is narrowed to its own address (2.9). The
 * leases go back to the pool when the IKE SA goes; a reauthentication's
 * new IKE SA takes the same ones first, and MOBIKE moves nothing.
 *
 * Laptop (conn with vip = %config...): IKE_AUTH asks for addresses and
 * DNS; the local selectors %dynamic are 0.0.0.0/0 and ::/0 in that
 * request and the addresses once given. Each address is put on the device
 * of the route to the gateway as a /32 or /128 (route-based conns: on the
 * tunnel interface, when the Child SA attaches to it), counted per address over
 * the engine's IKE SAs (a reauthentication adds it again before the old
 * SA removes it), never offered by MOBIKE, and removed with the last IKE
 * SA holding it. The routes to the remote selectors (child_route.h) take
 * it as their source, being the one local address inside the selectors.
 */
#ifndef XIKED_VIP_H
#define XIKED_VIP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "daemon/cp.h"

struct ikesa;
struct engine;
struct ike_ts;
struct ts_cfg_list;
struct addr_pool;

struct vip_state {
	struct cp_prefix addrs[CP_ADDRS_MAX]; /* leased (gateway) or given (laptop), plen 32/128 */
	size_t n;
	struct addr_pool *pools[CP_ADDRS_MAX]; /* gateway: each lease's pool */
	int ifindex[CP_ADDRS_MAX];             /* laptop: where it was put, 0 = not put */
	bool asked;                            /* gateway: the peer asked for an address */
	bool failed;                           /* gateway: asked, none could be leased */
	struct cp_info got;                    /* laptop: the reply (DNS, split, domains) */
};

/* Gateway: leases for what req asks (logged); fills reply. 0, or -ENOSPC (none leased). */
int vip_assign(struct ikesa *sa, const struct cp_info *req, struct cp_info *reply);
/* Gateway: the peer asked for an address and got none (INTERNAL_ADDRESS_FAILURE, 3.10.1). */
bool vip_failed(const struct ikesa *sa);
/* Laptop: the CFG_REQUEST of sa's conn into *req; false when the conn asks for nothing. */
bool vip_request(const struct ikesa *sa, struct cp_info *req);
/* Laptop: the gateway's CFG_REPLY: addresses kept and put on the device. 0, or -1 (logged). */
int vip_accept(struct ikesa *sa, const struct cp_info *reply);
/*
 * Laptop, route-based conn (interface =, vti =): the Child SA's tunnel
 * interface ifindex is up; the virtual IPs go on it (once per IKE SA), so
 * the routes through it take them as source.
 */
void vip_on_iface(struct ikesa *sa, int ifindex);
/* Both: leases back to their pools, addresses removed (ikesa_free). Idempotent. */
void vip_release(struct ikesa *sa);

/* Child SA selectors with %dynamic as above (else ts_from_cfg's): local (ours), remote (peer's). */
size_t vip_ts_local(const struct ikesa *sa, const struct ts_cfg_list *l, struct ike_ts *out,
		    size_t cap);
size_t vip_ts_remote(const struct ikesa *sa, const struct ts_cfg_list *l, struct ike_ts *out,
		     size_t cap);

/* Whether a is a virtual IP xiked put on a device (never a MOBIKE path). */
bool vip_is_ours(const struct engine *e, const struct sockaddr_storage *a);
struct json_writer;
struct conn_cfg;
/*
 * Status (xikectl status): an IKE SA's "virtual_ips" and, on a laptop,
 * what the gateway said ("dns", "dns_domains", "split"); nothing without.
 */
void vip_status_sa(const struct ikesa *sa, struct json_writer *w);
/*
 * "pools": each pool (of conn's, or all with NULL) with its size, online
 * and offline leases, and the leases (address, identity, online).
 */
void vip_status_pools(struct engine *e, const struct conn_cfg *conn, struct json_writer *w);
/* list-conns: the conn's pool, dns, split, dns_domain and vip keys. */
void vip_conn_json(const struct conn_cfg *c, struct json_writer *w);

/*
 * After a reload: pools the configuration still names keep their leases,
 * the others go once no IKE SA holds a lease of theirs (addr_pools_sweep).
 */
void vip_reload(struct engine *e);
/* Removes every address left (engine_free) and frees the engine's pools and index. */
void vip_free_all(struct engine *e);

#endif
