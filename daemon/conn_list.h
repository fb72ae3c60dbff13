/*
 * The configured conns as the control socket shows them (xikectl
 * list-conns, as swanctl --list-conns), their last errors (status), and
 * whether an up or down has come to its end (xikectl up/down waiting).
 * Control operations: they may walk the SA table, never per packet.
 */
#ifndef XIKED_CONN_LIST_H
#define XIKED_CONN_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct engine;
struct json_writer;

/*
 * "conns": one object per configured conn (conn NULL), or conn's only,
 * into an open object. 0, or -ENOENT when conn is not configured.
 */
int conn_list_json(struct engine *e, const char *conn, struct json_writer *w);
/*
 * up: 1 when the IKE SA we initiated for conn is established with a Child
 * SA of each of its child configs, 0 while it is getting there, -1 when
 * there is no such IKE SA. down: 1 when conn has no IKE SA left, else 0.
 * msg: what there is now, or why not.
 */
int conn_progress(struct engine *e, const char *conn, bool up, char *msg, size_t len);

#endif
