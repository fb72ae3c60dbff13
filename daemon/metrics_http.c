/* The metrics HTTP listener on libmicrohttpd's external epoll mode; see metrics_http.h. */
#include "daemon/metrics_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/log.h"
#include "daemon/loop.h"

struct metrics_http {
	struct loop *loop;
	struct MHD_Daemon *mhd;
	int epfd;            /* MHD's epoll fd, watched by our loop; -1 before */
	struct timer timer;  /* MHD_get_timeout(): connection timeouts */
	metrics_http_render_fn render;
	void *ctx;
	uint16_t port;
	uint64_t served;
};

static void mhd_logger(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_msg(LOG_CTL, LOG_LVL_DEBUG, "metrics http: %s", line);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *text,
			     const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* The client asks for OpenMetrics (Prometheus does, with a q-value list, since 2.5). */
static bool wants_openmetrics(struct MHD_Connection *conn)
{
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_ACCEPT);
	return accept && strstr(accept, "application/openmetrics-text");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct metrics_http *h = cls;
	struct MHD_Response *r;
	enum MHD_Result rc;
	bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0, om;
	char *text = NULL;
	size_t len = 0;

	(void)version;
	(void)upload_data;
	(void)req_cls;
	if (!head && strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", "GET, HEAD");
	if (*upload_data_size)
		return MHD_NO; /* a GET with a body: not HTTP we serve */
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n", NULL);
	om = wants_openmetrics(conn);
	if (h->render(h->ctx, om, &text, &len) != 0)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	/* MHD frees text with free() once it is sent. */
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
				   : "text/plain; version=0.0.4; charset=utf-8");
	rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	h->served++;
	return rc;
}

/* Points our timer at MHD's next deadline (an idle connection's timeout), if any. */
static void rearm(struct metrics_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
		timer_arm_in(h->loop, &h->timer, ms);
	else
		timer_cancel(h->loop, &h->timer);
}

static void on_epoll(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct metrics_http *h = ctx;

	(void)loop;
	(void)fd;
	(void)events;
	MHD_run(h->mhd); /* non-blocking: MHD waits on its epoll fd with timeout 0 */
	rearm(h);
}

static void on_timer(struct loop *loop, struct timer *t, void *ctx)
{
	struct metrics_http *h = ctx;

	(void)loop;
	(void)t;
	MHD_run(h->mhd);
	rearm(h);
}

static int listen_socket(const struct sockaddr_storage *addr, int *out)
{
	socklen_t alen = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						      : sizeof(struct sockaddr_in);
	int one = 1, fd;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, alen) < 0 || listen(fd, 16) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

int metrics_http_new(struct loop *loop, const struct sockaddr_storage *addr, unsigned timeout_s,
		     metrics_http_render_fn render, void *ctx, struct metrics_http **out)
{
	struct metrics_http *h;
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int fd = -1, err;

	*out = NULL;
	if (addr->ss_family != AF_INET && addr->ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->loop = loop;
	h->render = render;
	h->ctx = ctx;
	h->epfd = -1;
	timer_init(&h->timer, on_timer, h);
	err = listen_socket(addr, &fd);
	if (err)
		goto fail;
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
		h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
							     : ((struct sockaddr_in *)&bound)->sin_port);
	/* No MHD_USE_INTERNAL_POLLING_THREAD: MHD_run() from our loop does all the work. */
	h->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (addr->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_CONNS_MAX,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_HTTP_CONNS_PER_IP,
		MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_HTTP_MEMORY,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, h, MHD_OPTION_END);
	if (!h->mhd) {
		err = -EINVAL;
		close(fd);
		goto fail;
	}
	/* MHD owns fd now (closed by MHD_stop_daemon). */
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		err = -EINVAL;
		goto fail;
	}
	err = loop_add_fd(loop, info->epoll_fd, EPOLLIN, on_epoll, h);
	if (err)
		goto fail;
	h->epfd = info->epoll_fd;
	rearm(h);
	*out = h;
	return 0;
fail:
	metrics_http_free(h);
	return err;
}

void metrics_http_free(struct metrics_http *h)
{
	if (!h)
		return;
	timer_cancel(h->loop, &h->timer);
	if (h->epfd >= 0)
		loop_del_fd(h->loop, h->epfd);
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h);
}

uint16_t metrics_http_port(const struct metrics_http *h)
{
	return h->port;
}

uint64_t metrics_http_served(const struct metrics_http *h)
{
	return h->served;
}
