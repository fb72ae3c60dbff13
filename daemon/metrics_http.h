/*
 * The optional HTTP listener of the metrics ([daemon] metrics =
 * ADDR:PORT, doc/xiked.conf.5 METRICS): GET /metrics answered on
 * xiked's own loop through libmicrohttpd in its external-loop epoll mode
 * (no thread of its own): MHD's epoll fd is one more fd in the loop, and
 * one loop timer follows MHD_get_timeout() for its connection timeouts.
 *
 * Bounded: at most METRICS_HTTP_CONNS_MAX connections (4 per client
 * address), each closed after timeout_s without progress, 32 KiB of
 * request memory each; only GET and HEAD of /metrics (404 for other
 * paths, 405 for other methods, requests with a body refused). Sockets
 * are non-blocking: a slow client never holds the loop, and the text is
 * made once per request (the scrape's work, see metrics.h).
 *
 * No TLS and no authentication: bind it to a loopback or management
 * address.
 */
#ifndef XIKED_METRICS_HTTP_H
#define XIKED_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct loop;
struct metrics_http;

#define METRICS_HTTP_CONNS_MAX 16
#define METRICS_HTTP_CONNS_PER_IP 4
#define METRICS_HTTP_TIMEOUT_S 10
#define METRICS_HTTP_MEMORY 32768

/*
 * Makes the exposition: openmetrics (the client's Accept asked for
 * application/openmetrics-text) or Prometheus' 0.0.4 text. 0 with
 * *text (malloc'd, taken by the caller) and *len, or -1.
 */
typedef int (*metrics_http_render_fn)(void *ctx, bool openmetrics, char **text, size_t *len);

/*
 * Listens on addr (borrowed; IPv4 or IPv6 with its port) and serves in
 * loop (borrowed, must outlive it). timeout_s: an idle connection's
 * life. 0 and *out, or -errno (-EADDRINUSE, -EACCES...).
 */
int metrics_http_new(struct loop *loop, const struct sockaddr_storage *addr, unsigned timeout_s,
		     metrics_http_render_fn render, void *ctx, struct metrics_http **out);
/* Closes the listener and every connection. NULL-safe. */
void metrics_http_free(struct metrics_http *h);
/* The bound port (addr's, or the one the kernel chose for port 0). */
uint16_t metrics_http_port(const struct metrics_http *h);
/* Requests answered 200 so far (tests, logs). */
uint64_t metrics_http_served(const struct metrics_http *h);

#endif
