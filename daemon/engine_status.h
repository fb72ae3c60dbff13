/*
 * xikectl status (--json): the IKE SAs, their Child SAs, the engine's
 * counters and the conns' last errors, written by this file alone. The
 * JSON members (xiked.conf(5), CONTROL PROTOCOL, and xikectl(8) render
 * them; keep the three in step):
 *
 *   "ike_sas": [ { "ike_id", "name", "state", "role",
 *       "local"/"remote": { "addr", "port", "id", and auth.h's members },
 *       "spi_i", "spi_r", "ike_proposal", "established_s", ["rekey_in_s"],
 *       "nat_local", "nat_remote", "mobike", "moves", "ppk",
 *       [vip.h: "virtual_ips", "dns", "dns_domains", "split"],
 *       "child_sas": [ { "name", "state", "mode", "spi_in", "spi_out",
 *           "esp_proposal", "reqid", ["interface"], ["if_id"], ["mark"],
 *           ["rekey_in_s"], "local_ts", "remote_ts",
 *           "bytes_in", "bytes_out", "packets_in", "packets_out" } ] } ],
 *   "stats": { struct engine_stats and struct dos_stats, one member each },
 *   ["pools": vip.h's, one object per pool with its leases],
 *   "conn_errors": [ { "conn", "event", "reason", "time" } ]
 *
 * Control operations only: it walks the SA table.
 */
#ifndef XIKED_ENGINE_STATUS_H
#define XIKED_ENGINE_STATUS_H

#include <stdbool.h>

#include "daemon/engine_ctx.h"
#include "daemon/json.h"

/* "ike_sas", "stats" and "conn_errors" of every conn, into an object the caller has opened. */
void engine_status(struct engine *e, struct json_writer *w);
/*
 * The same for conn's IKE SAs only (conn NULL: all) and its last error;
 * -ENOENT when conn is neither configured nor has an IKE SA.
 */
int engine_status_conn(struct engine *e, const char *conn, struct json_writer *w);
/* Whether any IKE SA belongs to conn (a walk: control operations only). */
bool engine_has_conn_sa(struct engine *e, const char *conn);

#endif
