/*
 * The metrics HTTP listener (daemon/metrics_http.h) on a real loop and
 * loopback sockets: GET and HEAD of /metrics with content negotiation,
 * 404 and 405, the per-address connection bound, idle connections closed
 * after the timeout, and the loop serving others meanwhile. Clients run
 * in child processes (blocking sockets), the listener in this one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/loop.h"
#include "daemon/metrics_http.h"

static unsigned renders;

static int render(void *ctx, bool openmetrics, char **text, size_t *len)
{
	(void)ctx;
	renders++;
	*text = strdup(openmetrics ? "# TYPE x_up gauge\nx_up 1\n# EOF\n" : "# TYPE x_up gauge\nx_up 1\n");
	if (!*text)
		return -1;
	*len = strlen(*text);
	return 0;
}

struct reader {
	char buf[8192];
	size_t len;
	bool done;
};

static void on_pipe(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct reader *r = ctx;
	(void)events;
	ssize_t n = read(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
	if (n > 0) {
		r->len += (size_t)n;
		r->buf[r->len] = '\0';
		return;
	}
	r->done = true;
	loop_del_fd(loop, fd);
	loop_stop(loop);
}

static void on_guard(struct loop *loop, struct timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	loop_stop(loop);
}

/* Runs the loop for ms (a guard timer stops it). */
static void run_for(struct loop *loop, uint64_t ms)
{
	struct timer g;
	timer_init(&g, on_guard, NULL);
	timer_arm_in(loop, &g, ms);
	loop_run(loop);
	timer_cancel(loop, &g);
}

static int connect_from(const char *src, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	inet_pton(AF_INET, src, &a.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	to.sin_port = htons(port);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	return fd;
}

/*
 * Sends request from src in a child process and returns what came back
 * (the listener is served by this process's loop meanwhile).
 */
static void http(struct loop *loop, uint16_t port, const char *src, const char *request,
		 struct reader *r)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		int fd = connect_from(src, port);
		struct timeval tv = { .tv_sec = 5 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0)
			_exit(1);
		char buf[4096];
		ssize_t n;
		while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
			if (write(p[1], buf, (size_t)n) != n)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	memset(r, 0, sizeof(*r));
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, on_pipe, r), 0);
	run_for(loop, 5000);
	if (!r->done)
		loop_del_fd(loop, p[0]);
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(r->done);
}

static struct metrics_http *start(struct loop *loop, unsigned timeout_s)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct metrics_http *h;
	s4->sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &s4->sin_addr); /* port 0: the kernel picks */
	assert_int_equal(metrics_http_new(loop, &ss, timeout_s, render, NULL, &h), 0);
	assert_int_not_equal(metrics_http_port(h), 0);
	return h;
}

static void test_metrics_http_requests(void **st)
{
	(void)st;
	struct loop *loop = loop_new(NULL);
	struct metrics_http *h = start(loop, METRICS_HTTP_TIMEOUT_S);
	uint16_t port = metrics_http_port(h);
	struct reader r;

	http(loop, port, "127.0.0.1",
	     "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	     "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n\r\n",
	     &r);
	assert_non_null(strstr(r.buf, "HTTP/1.1 200"));
	assert_non_null(strstr(r.buf, "Content-Type: application/openmetrics-text; version=1.0.0"));
	assert_non_null(strstr(r.buf, "\r\n\r\n# TYPE x_up gauge\nx_up 1\n# EOF\n"));

	/* No Accept (curl, a browser): Prometheus' 0.0.4 text. */
	http(loop, port, "127.0.0.1", "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_non_null(strstr(r.buf, " 200 "));
	assert_non_null(strstr(r.buf, "Content-Type: text/plain; version=0.0.4"));
	assert_null(strstr(r.buf, "# EOF"));

	http(loop, port, "127.0.0.1", "HEAD /metrics HTTP/1.0\r\n\r\n", &r);
	assert_non_null(strstr(r.buf, " 200 "));
	assert_null(strstr(r.buf, "x_up"));

	http(loop, port, "127.0.0.1", "GET /other HTTP/1.0\r\n\r\n", &r);
	assert_non_null(strstr(r.buf, " 404 "));
	http(loop, port, "127.0.0.1",
	     "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", &r);
	assert_non_null(strstr(r.buf, " 405 "));
	assert_non_null(strstr(r.buf, "Allow: GET, HEAD"));
	/* Garbage is answered 400 or closed, and the listener goes on. */
	http(loop, port, "127.0.0.1", "\x01\x02 nonsense\r\n\r\n", &r);
	assert_null(strstr(r.buf, " 200 "));
	http(loop, port, "127.0.0.1", "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_non_null(strstr(r.buf, " 200 "));
	assert_int_equal(metrics_http_served(h), 4); /* 3 GET + 1 HEAD of /metrics */
	metrics_http_free(h);
	loop_free(loop);
}

static bool closed_by_peer(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/*
 * Silent clients: at most METRICS_HTTP_CONNS_PER_IP from one address (one
 * more is closed at once), others are served meanwhile, and the silent
 * ones are closed after the timeout.
 */
static void test_metrics_http_bounds(void **st)
{
	(void)st;
	struct loop *loop = loop_new(NULL);
	struct metrics_http *h = start(loop, 1);
	uint16_t port = metrics_http_port(h);
	int idle[METRICS_HTTP_CONNS_PER_IP + 1];
	struct reader r;

	for (int i = 0; i <= METRICS_HTTP_CONNS_PER_IP; i++)
		idle[i] = connect_from("127.0.0.1", port);
	run_for(loop, 300);
	int refused = 0;
	for (int i = 0; i <= METRICS_HTTP_CONNS_PER_IP; i++)
		refused += closed_by_peer(idle[i]);
	assert_int_equal(refused, 1);

	/* Another client is served while they sit there. */
	http(loop, port, "127.0.0.2", "GET /metrics HTTP/1.0\r\n\r\n", &r);
	assert_non_null(strstr(r.buf, " 200 "));

	/* The idle ones go after the timeout (1 s here). */
	run_for(loop, 2500);
	for (int i = 0; i <= METRICS_HTTP_CONNS_PER_IP; i++) {
		assert_true(closed_by_peer(idle[i]));
		close(idle[i]);
	}
	metrics_http_free(h);
	loop_free(loop);
}

/* A port in use is an error the daemon can report, and port 0 listeners can coexist. */
static void test_metrics_http_addr_in_use(void **st)
{
	(void)st;
	struct loop *loop = loop_new(NULL);
	struct metrics_http *h = start(loop, 1), *h2 = NULL;
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(metrics_http_port(h));
	inet_pton(AF_INET, "127.0.0.1", &s4->sin_addr);
	assert_int_equal(metrics_http_new(loop, &ss, 1, render, NULL, &h2), -EADDRINUSE);
	assert_null(h2);
	/* IPv6 loopback too, when the host has it. */
	struct sockaddr_storage s6 = { 0 };
	((struct sockaddr_in6 *)&s6)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)&s6)->sin6_addr = in6addr_loopback;
	int rc = metrics_http_new(loop, &s6, 1, render, NULL, &h2);
	assert_true(rc == 0 || rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT);
	metrics_http_free(h2);
	metrics_http_free(h);
	loop_free(loop);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_http_requests),
		cmocka_unit_test(test_metrics_http_bounds),
		cmocka_unit_test(test_metrics_http_addr_in_use),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
