/*
 * The control socket, server side: a SOCK_STREAM unix socket (mode 0600)
 * speaking one JSON object per line each way (doc/xiked.conf.5, CONTROL
 * PROTOCOL). Requests:
 *   {"cmd":"status"[,"conn":"NAME"]}  {"cmd":"list-conns"[,"conn":"NAME"]}
 *   {"cmd":"up","conn":"NAME"[,"wait":true[,"timeout_ms":N]]}  (down alike)
 *   {"cmd":"reload"}  {"cmd":"rekey","conn":"NAME"[,"ike":true|"reauth":true]}
 *   {"cmd":"metrics"[,"format":"openmetrics"|"prometheus"]}
 *   {"cmd":"monitor"[,"conn":"NAME"]}
 * Responses: {"ok":true,...} or {"ok":false,"error":"message"}. A client
 * may send any number of requests on one connection; each is answered in
 * order, and the connection stays open until the client closes it.
 *
 * up/down with "wait": the answer comes when the outcome is known (the
 * progress handler says the conn is up, or down; or an event of the bus
 * says why the up failed), or after timeout_ms (default
 * CONTROL_WAIT_DEFAULT_MS) with an error. monitor: {"ok":true,
 * "monitor":true}, then one event line (event_json) per event of the
 * conn (or all) until the client goes; a monitor more than
 * CONTROL_MONITOR_MAX octets behind is closed, so a slow reader never
 * blocks the daemon.
 *
 * Clients are served from the loop without blocking; a request line is at
 * most CONTROL_LINE_MAX octets, and a client's next request is not read
 * until its previous response has been written, so memory per client
 * stays bounded.
 */
#ifndef XIKED_CONTROL_H
#define XIKED_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_writer;
struct loop;
struct control;
struct event_bus;

/* Longest request line, octets, newline included. */
#define CONTROL_LINE_MAX 65536
/* Clients served at once; more get an error response and are closed. */
#define CONTROL_CLIENTS_MAX 64
/*
 * A client that neither sends a request nor reads its response for this
 * long is closed, so silent clients cannot fill the table.
 */
#define CONTROL_IDLE_MS 30000
/* up/down "wait": how long by default, and at most (the request's timeout_ms), ms. */
#define CONTROL_WAIT_DEFAULT_MS 30000
#define CONTROL_WAIT_MAX_MS 86400000
/* A monitor this many octets behind is dropped (with a log line). */
#define CONTROL_MONITOR_MAX (1u << 20)

/*
 * Provided by the engine. Each returns 0 on success or a negative value on
 * failure. status writes its members into the response object (already
 * open, "ok":true written), e.g. json_key(out, "ike_sas") and an array; on
 * failure whatever it wrote is discarded (conn given: a failure means no
 * such conn). The others fill err (a message for the user) on failure. A
 * NULL handler answers "not supported". Handlers must not free the struct
 * control.
 */
struct control_handlers {
	/* conn NULL: everything; else that conn's SAs only. */
	int (*status)(void *ctx, const char *conn, struct json_writer *out);
	/* {"cmd":"list-conns"}: the configured conns (conn NULL) or one, as status. */
	int (*list_conns)(void *ctx, const char *conn, struct json_writer *out);
	/*
	 * Whether an up (up true) or down of conn has come to its end: 1 (msg:
	 * what is there now, for the user), 0 not yet, <0 never (msg: why).
	 * NULL: up and down never wait.
	 */
	int (*progress)(void *ctx, const char *conn, bool up, char *msg, size_t msglen);
	int (*up)(void *ctx, const char *conn, char *err, size_t errlen);
	int (*down)(void *ctx, const char *conn, char *err, size_t errlen);
	/* Writes what the reload did into the response, as status does (reload.h has the members). */
	int (*reload)(void *ctx, struct json_writer *out, char *err, size_t errlen);
	/* {"cmd":"rekey","conn":"NAME","ike":BOOL}: rekey the conn's Child SAs, or its IKE SA. */
	int (*rekey)(void *ctx, const char *conn, bool ike, char *err, size_t errlen);
	/* {"cmd":"rekey","conn":"NAME","reauth":true}: reauthenticate its IKE SA (RFC 7296 2.8.3). */
	int (*reauth)(void *ctx, const char *conn, char *err, size_t errlen);
	/*
	 * {"cmd":"metrics"[,"format":"prometheus"]}: writes "text", the
	 * OpenMetrics exposition (metrics.h), or Prometheus' 0.0.4 text.
	 */
	int (*metrics)(void *ctx, bool prometheus, struct json_writer *out);
	void *ctx;
};

/*
 * Creates the socket at path (borrowed; parent directories are created;
 * a stale socket left by a dead daemon is replaced, a live one is an
 * error, -EADDRINUSE) and serves it in loop (borrowed, must outlive the
 * control). h is copied. 0 and *out, or -errno.
 */
int control_new(struct loop *loop, const char *path, const struct control_handlers *h,
		struct control **out);
/* Closes every client and the socket and removes the socket file. NULL-safe. */
void control_free(struct control *c);

/* Shortens CONTROL_IDLE_MS (tests); clients accepted from now on get ms. */
void control_set_idle_ms(struct control *c, uint32_t ms);

/*
 * Listens to b (borrowed; must outlive c, or c be freed first): up and
 * down can wait, monitor streams. 0 or -ENOMEM.
 */
int control_attach_events(struct control *c, struct event_bus *b);
/* Lowers CONTROL_MONITOR_MAX (tests). */
void control_set_monitor_max(struct control *c, size_t octets);

#endif
