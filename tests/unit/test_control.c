/*
 * Control socket server (daemon/control.c) against raw clients and the real
 * xikectl (path in $XIKECTL), served by the real loop. Clients run in a
 * child process; the parent serves until SIGCHLD.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/event.h"
#include "daemon/json.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/reload.h"

static char tmpdir[64];
static char sock_path[128];

struct fake {
	int status_calls;
	char last_up[64], last_down[64];
	int reloads;
	int reload_ok;
	int status_fail;
	int hostile; /* the peer's identity carries terminal escapes (issue 12.6) */
	struct event_bus *bus; /* the events the fake engine emits (up/down waiting, monitor) */
	int progress;          /* what the progress handler answers */
	int with_errors;       /* status carries conn_errors */
};

/* {"cmd":"metrics"}: the text as the daemon would write it, per format. */
static int fake_metrics(void *ctx, bool prometheus, struct json_writer *w)
{
	(void)ctx;
	json_kv_str(w, "text", prometheus ? "# TYPE x_total counter\nx_total 1\n"
					  : "# TYPE x counter\nx_total 1\n# EOF\n");
	return 0;
}

static int fake_status(void *ctx, const char *conn, struct json_writer *w)
{
	struct fake *f = ctx;

	(void)conn;
	f->status_calls++;
	if (f->status_fail)
		return -1;
	json_key(w, "ike_sas");
	json_arr_begin(w);
	json_obj_begin(w);
	json_kv_str(w, "name", "site-b");
	json_kv_str(w, "state", "ESTABLISHED");
	json_key(w, "local");
	json_obj_begin(w);
	json_kv_str(w, "addr", "192.0.2.1");
	json_kv_uint(w, "port", 500);
	json_kv_str(w, "id", "a.example");
	json_obj_end(w);
	json_key(w, "remote");
	json_obj_begin(w);
	json_kv_str(w, "addr", "192.0.2.2");
	json_kv_uint(w, "port", 4500);
	json_kv_str(w, "id", f->hostile ? "b\x1b[31mRED caf\xc3\xa9" : "b.example");
	if (f->hostile)
		json_kv_str(w, "cert_subject", "CN=x\x1b]0;owned\x07");
	json_obj_end(w);
	json_kv_str(w, "spi_i", "0123456789abcdef");
	json_kv_str(w, "spi_r", "fedcba9876543210");
	json_kv_str(w, "ike_proposal", "aes256gcm16-prfsha256-x25519");
	json_kv_uint(w, "established_s", 42);
	json_key(w, "child_sas");
	json_arr_begin(w);
	json_obj_begin(w);
	json_kv_str(w, "name", "site-b");
	json_kv_str(w, "state", "INSTALLED");
	json_kv_str(w, "mode", "TUNNEL");
	json_kv_str(w, "spi_in", "c1234567");
	json_kv_str(w, "spi_out", "c7654321");
	json_kv_str(w, "esp_proposal", "aes256gcm16");
	json_kv_str(w, "interface", "xfrm-b");
	json_kv_uint(w, "if_id", 7);
	json_key(w, "local_ts");
	json_arr_begin(w);
	json_str(w, "10.1.0.0/24");
	json_arr_end(w);
	json_key(w, "remote_ts");
	json_arr_begin(w);
	json_str(w, "10.2.0.0/24");
	json_str(w, "10.3.0.0/24[tcp/443]");
	json_arr_end(w);
	json_kv_uint(w, "bytes_in", 1234);
	json_kv_uint(w, "bytes_out", 5678);
	json_kv_uint(w, "packets_in", 12);
	json_kv_uint(w, "packets_out", 34);
	json_obj_end(w);
	json_arr_end(w);
	json_obj_end(w);
	json_arr_end(w);
	if (f->with_errors) {
		json_key(w, "conn_errors");
		json_arr_begin(w);
		json_obj_begin(w);
		json_kv_str(w, "conn", "site-c");
		json_kv_str(w, "event", "child-failed");
		json_kv_str(w, "reason", "TS_UNACCEPTABLE: the peer refused the Child SA");
		json_kv_str(w, "time", "2026-12-07T16:48:31.123Z");
		json_obj_end(w);
		json_arr_end(w);
	}
	return 0;
}

static int fake_progress(void *ctx, const char *conn, bool up, char *msg, size_t len)
{
	struct fake *f = ctx;

	if (f->progress > 0)
		snprintf(msg, len, "%s: %s", conn, up ? "up, IKE SA #1, 1 Child SA" : "no IKE SA left");
	return f->progress;
}

static int fake_list_conns(void *ctx, const char *conn, struct json_writer *w)
{
	(void)ctx;
	if (conn && strcmp(conn, "site-b") != 0)
		return -1;
	json_key(w, "conns");
	json_arr_begin(w);
	json_obj_begin(w);
	json_kv_str(w, "name", "site-b");
	json_kv_str(w, "state", "established");
	json_kv_uint(w, "ike_sas", 1);
	json_kv_str(w, "start", "initiate");
	json_kv_str(w, "local_addr", "192.0.2.1");
	json_kv_str(w, "remote_addr", "192.0.2.2");
	json_kv_str(w, "local_id", "a.example");
	json_kv_str(w, "remote_id", "b\x1b[31m.example");
	json_kv_str(w, "local_auth", "psk");
	json_kv_str(w, "remote_auth", "psk");
	json_key(w, "ike_proposals");
	json_arr_begin(w);
	json_str(w, "aes256gcm16-prfsha256-x25519");
	json_str(w, "aes128-sha256-ecp256");
	json_arr_end(w);
	json_kv_str(w, "unique", "replace");
	json_kv_bool(w, "mobike", true);
	json_kv_uint(w, "dpd_s", 30);
	json_kv_str(w, "dpd_action", "clear");
	json_kv_uint(w, "lifetime_s", 3600);
	json_kv_uint(w, "ike_lifetime_s", 14400);
	json_kv_bool(w, "reauth", false);
	json_kv_uint(w, "if_id", 7);
	json_kv_str(w, "interface", "xfrm-b");
	json_key(w, "children");
	json_arr_begin(w);
	json_obj_begin(w);
	json_kv_str(w, "name", "net");
	json_kv_str(w, "mode", "tunnel");
	json_key(w, "esp_proposals");
	json_arr_begin(w);
	json_str(w, "aes256gcm16");
	json_arr_end(w);
	json_key(w, "local_ts");
	json_arr_begin(w);
	json_str(w, "10.1.0.0/24");
	json_arr_end(w);
	json_key(w, "remote_ts");
	json_arr_begin(w);
	json_str(w, "10.2.0.0/24");
	json_arr_end(w);
	json_obj_end(w);
	json_arr_end(w);
	json_key(w, "last_error");
	json_obj_begin(w);
	json_kv_str(w, "event", "ike-failed");
	json_kv_str(w, "reason", "timeout: no response after 5 retransmits");
	json_kv_str(w, "time", "2026-12-07T16:48:31.123Z");
	json_obj_end(w);
	json_obj_end(w);
	json_arr_end(w);
	return 0;
}

static int fake_up(void *ctx, const char *conn, char *err, size_t errlen)
{
	struct fake *f = ctx;

	snprintf(f->last_up, sizeof(f->last_up), "%s", conn);
	if (strcmp(conn, "fast-fail") == 0 && f->bus) {
		/* Refused before the handler returns (an error at once): the wait still sees it. */
		event_emit(f->bus, &(struct event){.type = EV_IKE_FAILED, .conn = conn,
			   .initiator = true, .reason = "NO_PROPOSAL_CHOSEN: the peer refused IKE_SA_INIT"});
		return 0;
	}
	if (strcmp(conn, "site-b") != 0) {
		snprintf(err, errlen, "no connection named '%s'", conn);
		return -1;
	}
	return 0;
}

static int fake_down(void *ctx, const char *conn, char *err, size_t errlen)
{
	struct fake *f = ctx;

	(void)err;
	(void)errlen;
	snprintf(f->last_down, sizeof(f->last_down), "%s", conn);
	return 0;
}

/* A failing reload (a syntax error), or one that changed a little of everything. */
static int fake_reload(void *ctx, struct json_writer *w, char *err, size_t errlen)
{
	struct fake *f = ctx;

	f->reloads++;
	if (!f->reload_ok) {
		snprintf(err, errlen, "xiked.conf:3: log: 'loud' is not one of error, warn, info, debug");
		return -1;
	}
	struct reload_conn v[] = {
		{ .name = "site-b", .kind = CONFIG_DIFF_CHANGED,
		  .what = CONFIG_CHG_ESP | CONFIG_CHG_LIFETIMES, .ike_sas = 1 },
		{ .name = "lab", .kind = CONFIG_DIFF_ADDED, .traps_installed = 2 },
		{ .name = "hq", .kind = CONFIG_DIFF_ADDED, .initiated = true },
		{ .name = "dc", .kind = CONFIG_DIFF_ADDED, .error = "no route to 192.0.2.9[500]" },
		{ .name = "same", .kind = CONFIG_DIFF_UNCHANGED },
		{ .name = "trapped", .kind = CONFIG_DIFF_CHANGED, .what = CONFIG_CHG_SELECTORS,
		  .traps_installed = 1, .traps_removed = 1 },
		{ .name = "old", .kind = CONFIG_DIFF_REMOVED, .ike_sas = 2, .traps_removed = 1 },
	};
	struct reload_report r = { .v = v, .n = sizeof(v) / sizeof(v[0]), .added = 3,
				   .removed = 1, .changed = 2, .unchanged = 1,
				   .daemon_restart = CONFIG_DCHG_LISTEN };
	reload_report_json(&r, w);
	return 0;
}

/* What xikectl reload prints for fake_reload, and the JSON response carrying it. */
#define RELOAD_TEXT                                                                          \
	"changed site-b (lifetimes, esp): 1 IKE SA kept with the previous settings until "   \
	"re-established\n"                                                                   \
	"added lab: trap policies installed\n"                                               \
	"added hq: initiating\n"                                                             \
	"added dc: not initiated: no route to 192.0.2.9[500]\n"                              \
	"changed trapped (selectors): trap policies re-installed\n"                          \
	"removed old: trap policies removed, 2 IKE SAs deleted\n"                            \
	"[daemon] listen: changed, applies at the next start"
static const char reload_line[] =
	"{\"ok\":true,"
	"\"added\":[{\"name\":\"lab\",\"traps_installed\":2,\"traps_removed\":0,\"initiated\":false},"
	"{\"name\":\"hq\",\"traps_installed\":0,\"traps_removed\":0,\"initiated\":true},"
	"{\"name\":\"dc\",\"traps_installed\":0,\"traps_removed\":0,\"initiated\":false,"
	"\"error\":\"no route to 192.0.2.9[500]\"}],"
	"\"removed\":[{\"name\":\"old\",\"ike_sas_deleted\":2,\"traps_installed\":0,\"traps_removed\":1}],"
	"\"changed\":[{\"name\":\"site-b\",\"what\":[\"lifetimes\",\"esp\"],\"ike_sas_kept\":1,"
	"\"traps_installed\":0,\"traps_removed\":0,\"initiated\":false},"
	"{\"name\":\"trapped\",\"what\":[\"selectors\"],\"ike_sas_kept\":0,"
	"\"traps_installed\":1,\"traps_removed\":1,\"initiated\":false}],"
	"\"unchanged\":1,\"restart_needed\":[\"listen\"],"
	"\"message\":\"changed site-b (lifetimes, esp): 1 IKE SA kept with the previous settings until "
	"re-established\\nadded lab: trap policies installed\\nadded hq: initiating\\n"
	"added dc: not initiated: no route to 192.0.2.9[500]\\n"
	"changed trapped (selectors): trap policies re-installed\\n"
	"removed old: trap policies removed, 2 IKE SAs deleted\\n"
	"[daemon] listen: changed, applies at the next start\"}";

static const char status_line[] =
	"{\"ok\":true,\"ike_sas\":[{\"name\":\"site-b\",\"state\":\"ESTABLISHED\","
	"\"local\":{\"addr\":\"192.0.2.1\",\"port\":500,\"id\":\"a.example\"},"
	"\"remote\":{\"addr\":\"192.0.2.2\",\"port\":4500,\"id\":\"b.example\"},"
	"\"spi_i\":\"0123456789abcdef\",\"spi_r\":\"fedcba9876543210\","
	"\"ike_proposal\":\"aes256gcm16-prfsha256-x25519\",\"established_s\":42,"
	"\"child_sas\":[{\"name\":\"site-b\",\"state\":\"INSTALLED\",\"mode\":\"TUNNEL\","
	"\"spi_in\":\"c1234567\",\"spi_out\":\"c7654321\",\"esp_proposal\":\"aes256gcm16\","
	"\"interface\":\"xfrm-b\",\"if_id\":7,"
	"\"local_ts\":[\"10.1.0.0/24\"],\"remote_ts\":[\"10.2.0.0/24\",\"10.3.0.0/24[tcp/443]\"],"
	"\"bytes_in\":1234,\"bytes_out\":5678,\"packets_in\":12,\"packets_out\":34}]}]}";

/* ---- serving until a child exits ---- */

struct run {
	pid_t pid;
	int status;
};

static void on_sigchld(struct loop *loop, int signo, void *ctx)
{
	struct run *r = ctx;

	(void)signo;
	if (waitpid(r->pid, &r->status, WNOHANG) == r->pid)
		loop_stop(loop);
}

/* Forks; the child runs fn and exits with its result; the parent serves c. */
static int serve_while(struct loop *loop, int (*fn)(void *), void *arg)
{
	struct run r = { 0 };

	assert_int_equal(loop_on_signal(loop, SIGCHLD, on_sigchld, &r), 0);
	r.pid = fork();
	assert_true(r.pid >= 0);
	if (r.pid == 0)
		_exit(fn(arg));
	assert_int_equal(loop_run(loop), 0);
	assert_true(WIFEXITED(r.status));
	return WEXITSTATUS(r.status);
}

/* ---- raw clients ---- */

static int client_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sun.sun_path, sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -1;
	return fd;
}

/* Reads one line into buf (no newline); -1 on EOF/error. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r <= 0)
			return -1;
		if (c == '\n') {
			buf[n] = '\0';
			return 0;
		}
		buf[n++] = c;
	}
	return -1;
}

static int expect_line(int fd, const char *want)
{
	static char buf[1 << 16];

	if (read_line(fd, buf, sizeof(buf)) < 0) {
		fprintf(stderr, "no line, wanted %s\n", want);
		return -1;
	}
	if (strcmp(buf, want) != 0) {
		fprintf(stderr, "got  %s\nwant %s\n", buf, want);
		return -1;
	}
	return 0;
}

static int raw_client(void *arg)
{
	const char *reqs =
		"{\"cmd\":\"status\"}\n"
		"\n"
		"{\"cmd\":\"up\",\"conn\":\"site-b\"}\r\n"
		"{\"cmd\":\"up\",\"conn\":\"nope\\\"x\"}\n"
		"{\"cmd\":\"down\",\"conn\":\"site-b\",\"extra\":1}\n"
		"{\"cmd\":\"down\"}\n"
		"{\"cmd\":\"reload\"}\n"
		"{\"cmd\":\"fly\"}\n"
		"{\"cmd\":\"metrics\",\"format\":\"xml\"}\n"
		"{\"conn\":\"x\"}\n"
		"[\"cmd\",\"status\"]\n"
		"{\"cmd\":{\"a\":1}}\n"
		"not json\n";
	int fd = client_connect();

	(void)arg;
	if (fd < 0)
		return 10;
	/* Everything at once: requests are answered one by one, in order. */
	if (write(fd, reqs, strlen(reqs)) != (ssize_t)strlen(reqs))
		return 11;
	if (expect_line(fd, status_line) ||
	    expect_line(fd, "{\"ok\":true}") ||
	    expect_line(fd, "{\"ok\":false,\"error\":\"no connection named 'nope\\\"x'\"}") ||
	    expect_line(fd, "{\"ok\":true}") ||
	    expect_line(fd, "{\"ok\":false,\"error\":\"down: \\\"conn\\\" missing\"}") ||
	    expect_line(fd, "{\"ok\":false,\"error\":\"xiked.conf:3: log: 'loud' is not one of "
			    "error, warn, info, debug\"}") ||
	    expect_line(fd, "{\"ok\":false,\"error\":\"unknown command 'fly'\"}") ||
	    expect_line(fd, "{\"ok\":false,\"error\":\"metrics: \\\"format\\\" must be "
			    "\\\"openmetrics\\\" or \\\"prometheus\\\"\"}") ||
	    expect_line(fd, "{\"ok\":false,\"error\":\"bad request: \\\"cmd\\\" (a string) missing\"}") ||
	    expect_line(fd, "{\"ok\":false,\"error\":\"bad request: offset 0: an object expected\"}") ||
	    expect_line(fd, "{\"ok\":false,\"error\":\"bad request: offset 7: nested value not accepted here\"}") ||
	    expect_line(fd, "{\"ok\":false,\"error\":\"bad request: offset 0: an object expected\"}"))
		return 12;
	/* The connection stays open for more. */
	if (write(fd, "{\"cmd\":\"status\"}\n", 17) != 17 || expect_line(fd, status_line))
		return 13;
	close(fd);

	/* A second client at the same time as a third. */
	int a = client_connect(), b = client_connect();

	if (a < 0 || b < 0)
		return 14;
	if (write(b, "{\"cmd\":\"up\",\"conn\":\"site-b\"}\n", 29) != 29 ||
	    write(a, "{\"cmd\":\"status\"}\n", 17) != 17)
		return 15;
	if (expect_line(b, "{\"ok\":true}") || expect_line(a, status_line))
		return 16;
	close(a);
	close(b);

	/* An over-long line: an error, then the server hangs up. */
	static char big[CONTROL_LINE_MAX + 100];
	char buf[256];

	memset(big, 'x', sizeof(big));
	fd = client_connect();
	if (fd < 0)
		return 17;
	if (write(fd, big, sizeof(big)) < 0)
		return 18;
	if (expect_line(fd, "{\"ok\":false,\"error\":\"request longer than 65536 octets\"}"))
		return 19;
	if (read_line(fd, buf, sizeof(buf)) != -1)
		return 20;
	close(fd);
	return 0;
}

static int setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/xiked-test-control-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	/* A parent directory that does not exist yet: control_new creates it. */
	snprintf(sock_path, sizeof(sock_path), "%s/run/xiked/x.sock", tmpdir);
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_requests(void **state)
{
	struct fake f = { 0 };
	struct control_handlers h = { .status = fake_status, .up = fake_up, .down = fake_down,
				      .reload = fake_reload, .ctx = &f };
	struct loop *loop = loop_new(NULL);
	struct control *c;
	struct stat st;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(control_new(loop, sock_path, &h, &c), 0);
	assert_int_equal(stat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(serve_while(loop, (int (*)(void *))raw_client, NULL), 0);
	assert_int_equal(f.status_calls, 3);
	assert_string_equal(f.last_up, "site-b");
	assert_string_equal(f.last_down, "site-b");
	assert_int_equal(f.reloads, 1);

	control_free(c);
	assert_int_equal(stat(sock_path, &st), -1); /* removed */
	loop_free(loop);
}

static void test_socket_file(void **state)
{
	struct control_handlers h = { 0 };
	struct loop *loop = loop_new(NULL);
	struct control *c, *c2;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	(void)state;
	/* A stale socket (daemon died) is replaced. */
	strcpy(sun.sun_path, sock_path);
	assert_int_equal(system("true"), 0);
	{
		char dir[128];

		snprintf(dir, sizeof(dir), "mkdir -p '%s/run/xiked'", tmpdir);
		assert_int_equal(system(dir), 0);
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(control_new(loop, sock_path, &h, &c), 0);
	/* A live one is not. */
	assert_int_equal(control_new(loop, sock_path, &h, &c2), -EADDRINUSE);
	assert_null(c2);
	control_free(c);
	/* A regular file is left alone. */
	fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(control_new(loop, sock_path, &h, &c), -EEXIST);
	unlink(sock_path);
	control_free(NULL);
	loop_free(loop);
}

/* ---- xikectl ---- */

#define USAGE                                                                                  \
	"usage: xikectl [-s SOCKET] COMMAND [ARGS]\n"                                          \
	"  status [CONN] [--json]      IKE and Child SAs (of CONN), last errors\n"             \
	"  list-conns [CONN] [--json]  configured conns: state, proposals, selectors\n"        \
	"  up CONN [--no-wait] [--timeout S]\n"                                                \
	"                              initiate CONN and wait until it is up (or why not)\n"   \
	"  down CONN [--no-wait] [--timeout S]\n"                                              \
	"                              delete CONN's IKE SAs and wait until they are gone\n"   \
	"  rekey CONN [--ike|--reauth] rekey CONN's Child SAs (or IKE SA, or reauthenticate)\n" \
	"  reload [--json]             read the configuration again\n"                         \
	"  monitor [CONN]              print events as JSON lines until interrupted\n"         \
	"  log [[GROUP] LEVEL] [--json] set (and show) the log levels\n"                      \
	"  metrics [--prometheus]      OpenMetrics text (or Prometheus 0.0.4)\n"              \
	"  -s SOCKET     control socket (default /run/xiked/xiked.sock)\n"                     \
	"  --timeout S   up/down: give up waiting after S seconds (default 30)\n"              \
	"  -h, --help    this text;  -V, --version  the version\n"

struct ctl_run {
	const char *const *argv;
	char out[256], err[256]; /* file paths */
};

static int exec_xikectl(void *arg)
{
	struct ctl_run *r = arg;
	int o = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int e = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
		return 100;
	execv(r->argv[0], (char *const *)r->argv);
	return 101;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Runs xikectl with args (NULL-terminated after the socket) and checks output and exit. */
static void xikectl(struct loop *loop, int want_rc, const char *want_out, const char *want_err,
		    const char *sock, ...)
{
	const char *argv[10] = { getenv("XIKECTL"), "-s", sock };
	struct ctl_run r = { .argv = argv };
	va_list ap;
	int n = 3, rc;

	va_start(ap, sock);
	while (n < 9 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	snprintf(r.out, sizeof(r.out), "%s/out", tmpdir);
	snprintf(r.err, sizeof(r.err), "%s/err", tmpdir);
	rc = serve_while(loop, exec_xikectl, &r);
	if (strcmp(slurp(r.out), want_out) != 0)
		fail_msg("xikectl %s: stdout\n%s\nwanted\n%s", argv[3], slurp(r.out), want_out);
	if (strcmp(slurp(r.err), want_err) != 0)
		fail_msg("xikectl %s: stderr\n%s\nwanted\n%s", argv[3], slurp(r.err), want_err);
	assert_int_equal(rc, want_rc);
}

static void test_xikectl(void **state)
{
	struct fake f = { 0 };
	struct control_handlers h = { .status = fake_status, .up = fake_up, .down = fake_down,
				      .reload = fake_reload, .metrics = fake_metrics, .ctx = &f };
	struct loop *loop;
	struct control *c;
	char missing[160], msg[300];

	(void)state;
	if (!getenv("XIKECTL")) {
		print_message("XIKECTL not set: skipped\n");
		skip();
	}
	loop = loop_new(NULL);
	assert_int_equal(control_new(loop, sock_path, &h, &c), 0);

	xikectl(loop, 0, "site-b: ESTABLISHED, 0123456789abcdef_i fedcba9876543210_r\n"
			 "  local  'a.example' @ 192.0.2.1[500]\n"
			 "  remote 'b.example' @ 192.0.2.2[4500]\n"
			 "  aes256gcm16-prfsha256-x25519\n"
			 "  established 42s ago\n"
			 "  site-b: INSTALLED, TUNNEL, ESP:aes256gcm16\n"
			 "    interface xfrm-b, if_id 7\n"
			 "    in  c1234567, 1234 bytes, 12 packets\n"
			 "    out c7654321, 5678 bytes, 34 packets\n"
			 "    local  10.1.0.0/24\n"
			 "    remote 10.2.0.0/24 10.3.0.0/24[tcp/443]\n",
		"", sock_path, "status", NULL);
	{
		char want[sizeof(status_line) + 1];

		snprintf(want, sizeof(want), "%s\n", status_line);
		xikectl(loop, 0, want, "", sock_path, "status", "--json", NULL);
	}
	xikectl(loop, 0, "", "", sock_path, "up", "site-b", NULL);
	xikectl(loop, 1, "", "xikectl: no connection named 'other'\n", sock_path, "up", "other",
		NULL);
	xikectl(loop, 0, "", "", sock_path, "down", "site-b", NULL);
	xikectl(loop, 1, "",
		"xikectl: xiked.conf:3: log: 'loud' is not one of error, warn, info, debug\n",
		sock_path, "reload", NULL);
	/* A peer's identity and certificate subject cannot drive the terminal; UTF-8 stays. */
	f.hostile = 1;
	xikectl(loop, 0, "site-b: ESTABLISHED, 0123456789abcdef_i fedcba9876543210_r\n"
			 "  local  'a.example' @ 192.0.2.1[500]\n"
			 "  remote 'b\\x1b[31mRED caf\xc3\xa9' @ 192.0.2.2[4500]\n"
			 "         cert 'CN=x\\x1b]0;owned\\x07' issued by '?'\n"
			 "  aes256gcm16-prfsha256-x25519\n"
			 "  established 42s ago\n"
			 "  site-b: INSTALLED, TUNNEL, ESP:aes256gcm16\n"
			 "    interface xfrm-b, if_id 7\n"
			 "    in  c1234567, 1234 bytes, 12 packets\n"
			 "    out c7654321, 5678 bytes, 34 packets\n"
			 "    local  10.1.0.0/24\n"
			 "    remote 10.2.0.0/24 10.3.0.0/24[tcp/443]\n",
		"", sock_path, "status", NULL);
	f.hostile = 0;
	/* A reload that worked: one line per added, removed and changed conn. */
	f.reload_ok = 1;
	xikectl(loop, 0, RELOAD_TEXT "\n", "", sock_path, "reload", NULL);
	{
		char want[sizeof(reload_line) + 1];

		snprintf(want, sizeof(want), "%s\n", reload_line);
		xikectl(loop, 0, want, "", sock_path, "reload", "--json", NULL);
	}
	xikectl(loop, 2, "", USAGE, sock_path, "reload", "now", NULL);
	assert_int_equal(f.reloads, 3); /* the usage error never connects */
	/* metrics: the text as it is, OpenMetrics or (--prometheus) the 0.0.4 format. */
	xikectl(loop, 0, "# TYPE x counter\nx_total 1\n# EOF\n", "", sock_path, "metrics", NULL);
	xikectl(loop, 0, "# TYPE x_total counter\nx_total 1\n", "", sock_path, "metrics",
		"--prometheus", NULL);
	xikectl(loop, 2, "", USAGE, sock_path, "metrics", "--json", NULL);
	f.status_fail = 1;
	xikectl(loop, 1, "", "xikectl: status failed\n", sock_path, "status", NULL);
	assert_string_equal(f.last_down, "site-b");

	/* usage errors: exit 2 before any connection */
	xikectl(loop, 2, "", USAGE, sock_path, "up", NULL);

	/* no daemon there */
	snprintf(missing, sizeof(missing), "%s/none.sock", tmpdir);
	snprintf(msg, sizeof(msg),
		 "xikectl: cannot connect to xiked at %s: No such file or directory (is xiked running?)\n",
		 missing);
	xikectl(loop, 1, "", msg, missing, "status", NULL);

	control_free(c);
	loop_free(loop);
}

/* Issue 13.4: xikectl log [[GROUP] LEVEL] changes the running levels through the socket. */
static void test_control_log(void **state)
{
	struct control_handlers h = { 0 };
	struct loop *loop;
	struct control *c;

	(void)state;
	if (!getenv("XIKECTL")) {
		print_message("XIKECTL not set: skipped\n");
		skip();
	}
	loop = loop_new(NULL);
	assert_int_equal(control_new(loop, sock_path, &h, &c), 0);
	log_set_level(LOG_LVL_INFO);
	xikectl(loop, 0, "dmn=info, net=info, enc=info, ike=info, chd=info, knl=info, cfg=info, "
			 "ctl=info\n", "", sock_path, "log", NULL);
	xikectl(loop, 0, "dmn=info, net=info, enc=info, ike=info, chd=info, knl=debug, cfg=info, "
			 "ctl=info\n", "", sock_path, "log", "knl", "debug", NULL);
	assert_true(log_enabled(LOG_KNL, LOG_LVL_DEBUG));
	assert_false(log_enabled(LOG_IKE, LOG_LVL_DEBUG));
	xikectl(loop, 0, "dmn=warn, net=warn, enc=warn, ike=warn, chd=warn, knl=warn, cfg=warn, "
			 "ctl=warn\n", "", sock_path, "log", "WARN", NULL);
	assert_false(log_enabled(LOG_KNL, LOG_LVL_INFO));
	assert_true(log_enabled(LOG_KNL, LOG_LVL_WARN));
	xikectl(loop, 1, "", "xikectl: log: unknown group 'foo' (one of dmn, net, enc, ike, chd, "
			     "knl, cfg, ctl)\n", sock_path, "log", "foo", "debug", NULL);
	xikectl(loop, 1, "", "xikectl: log: 'loud' is not one of error, warn, info, debug\n",
		sock_path, "log", "ike", "loud", NULL);
	xikectl(loop, 2, "", USAGE, sock_path, "log", "ike", "debug", "extra", NULL);
	assert_false(log_enabled(LOG_IKE, LOG_LVL_INFO)); /* errors changed nothing */
	xikectl(loop, 0, "{\"ok\":true,\"levels\":{\"dmn\":\"error\",\"net\":\"error\","
			 "\"enc\":\"error\",\"ike\":\"error\",\"chd\":\"error\",\"knl\":\"error\","
			 "\"cfg\":\"error\",\"ctl\":\"error\"},\"message\":\"dmn=error, net=error, "
			 "enc=error, ike=error, chd=error, knl=error, cfg=error, ctl=error\"}\n",
		"", sock_path, "log", "error", "--json", NULL);
	log_set_level(LOG_LVL_INFO);
	control_free(c);
	loop_free(loop);
}

/*
 * Issue 12.7: silent clients cannot lock xikectl out. CONTROL_CLIENTS_MAX
 * clients that send nothing fill the table: the next one is answered with
 * an error (raw, and xikectl says it and exits 1, instead of hanging); a
 * silent client is closed after the idle time, one that talks is not.
 */
static int stuck_clients(void *arg)
{
	int fds[CONTROL_CLIENTS_MAX];
	char buf[256];
	(void)arg;
	for (int i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if ((fds[i] = client_connect()) < 0)
			return 30;
	int fd = client_connect();
	if (fd < 0 || read_line(fd, buf, sizeof(buf)) < 0 ||
	    strcmp(buf, "{\"ok\":false,\"error\":\"xiked serves 64 control clients already: try again later\"}") != 0)
		return 31;
	close(fd);
	/* xikectl, as an administrator runs it now: an answer, not a hang */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "timeout 20 %s -s %s status >%s/out 2>%s/err", getenv("XIKECTL"),
		 sock_path, tmpdir, tmpdir);
	int rc = system(cmd);
	if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 1)
		return 32;
	snprintf(cmd, sizeof(cmd), "%s/err", tmpdir);
	if (strcmp(slurp(cmd), "xikectl: xiked serves 64 control clients already: try again later\n") != 0)
		return 33;
	/* The silent ones are closed after the idle time (2 s here); a talking one is not. */
	/* The silent ones' idle time passes: the table has room again (polled: a loaded machine). */
	int talk = -1;
	for (int tries = 0; tries < 100 && talk < 0; tries++) {
		usleep(100 * 1000);
		talk = client_connect();
		if (talk >= 0 && (write(talk, "{\"cmd\":\"status\"}\n", 17) != 17 ||
				  expect_line(talk, status_line))) {
			close(talk);
			talk = -1;
		}
	}
	if (talk < 0)
		return 34;
	/* Requests 100 ms apart for 2.5 s keep a client with a 2 s idle time open. */
	for (int i = 0; i < 25; i++) {
		usleep(100 * 1000);
		if (write(talk, "{\"cmd\":\"status\"}\n", 17) != 17 || expect_line(talk, status_line))
			return 35;
	}
	for (int i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		if (read(fds[i], buf, sizeof(buf)) != 0)
			return 36; /* EOF: the server closed it */
		close(fds[i]);
	}
	close(talk);
	return 0;
}

static void test_stuck_clients(void **state)
{
	struct fake f = { 0 };
	struct control_handlers h = { .status = fake_status, .up = fake_up, .down = fake_down,
				      .reload = fake_reload, .ctx = &f };
	struct loop *loop = loop_new(NULL);
	struct control *c;

	(void)state;
	if (!getenv("XIKECTL")) {
		print_message("XIKECTL not set: skipped\n");
		skip();
	}
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(control_new(loop, sock_path, &h, &c), 0);
	control_set_idle_ms(c, 2000); /* long enough for xikectl to run on a loaded machine */
	assert_int_equal(serve_while(loop, stuck_clients, NULL), 0);
	control_free(c);
	loop_free(loop);
}

/* ---- waiting for the outcome, and the event stream ---- */

/* What the fake engine does while xikectl waits: progress becomes `progress`, then ev. */
struct script {
	struct fake *f;
	struct event ev;
	int progress;
	unsigned count; /* emit ev this many times (1 when 0) */
	struct timer t;
};

static void script_cb(struct loop *loop, struct timer *t, void *ctx)
{
	struct script *sc = ctx;
	(void)loop;
	(void)t;
	sc->f->progress = sc->progress;
	for (unsigned i = 0; i < (sc->count ? sc->count : 1); i++)
		event_emit(sc->f->bus, &sc->ev);
}

/* Arms sc to happen in ms. */
static void script_at(struct loop *loop, struct script *sc, uint64_t ms)
{
	timer_init(&sc->t, script_cb, sc);
	assert_int_equal(timer_arm_in(loop, &sc->t, ms), 0);
}

static void test_control_wait(void **state)
{
	struct fake f = { 0 };
	struct control_handlers h = { .status = fake_status, .up = fake_up, .down = fake_down,
				      .progress = fake_progress, .list_conns = fake_list_conns,
				      .reload = fake_reload, .ctx = &f };
	struct loop *loop;
	struct control *c;
	struct script sc = { .f = &f };

	(void)state;
	if (!getenv("XIKECTL")) {
		print_message("XIKECTL not set: skipped\n");
		skip();
	}
	loop = loop_new(NULL);
	f.bus = event_bus_new();
	assert_non_null(f.bus);
	assert_int_equal(control_new(loop, sock_path, &h, &c), 0);
	assert_int_equal(control_attach_events(c, f.bus), 0);

	/* The Child SA fails later: xikectl up says why and exits 1. */
	sc.ev = (struct event){ .type = EV_CHILD_FAILED, .conn = "site-b", .child = "net",
				.initiator = true,
				.reason = "kernel: ENOSYS installing the inbound SA: no algorithm" };
	script_at(loop, &sc, 300);
	xikectl(loop, 1, "", "xikectl: site-b: kernel: ENOSYS installing the inbound SA: no "
		"algorithm (child-failed)\n", sock_path, "up", "site-b", NULL);
	/* An event of another conn, or of an SA the peer initiated, is not ours; ours comes up. */
	sc.ev = (struct event){ .type = EV_IKE_FAILED, .conn = "site-c", .initiator = true,
				.reason = "timeout: x" };
	script_at(loop, &sc, 100);
	struct script sc2 = { .f = &f, .progress = 0,
			      .ev = { .type = EV_IKE_FAILED, .conn = "site-b", .initiator = false,
				      .reason = "AUTHENTICATION_FAILED: responder side" } };
	script_at(loop, &sc2, 200);
	struct script sc3 = { .f = &f, .progress = 1,
			      .ev = { .type = EV_CHILD_UP, .conn = "site-b", .initiator = true } };
	script_at(loop, &sc3, 400);
	xikectl(loop, 0, "site-b: up, IKE SA #1, 1 Child SA\n", "", sock_path, "up", "site-b",
		NULL);
	/* A failure before the handler returns. */
	f.progress = 0;
	xikectl(loop, 1, "", "xikectl: fast-fail: NO_PROPOSAL_CHOSEN: the peer refused "
		"IKE_SA_INIT (ike-failed)\n", sock_path, "up", "fast-fail", NULL);
	/* Nothing happens: the daemon's timeout. */
	xikectl(loop, 1, "", "xikectl: up 'site-b': no outcome within 1 s (still connecting; "
		"see xikectl status)\n", sock_path, "up", "site-b", "--timeout", "1", NULL);
	/* --no-wait: today's answer at once. */
	xikectl(loop, 0, "", "", sock_path, "up", "site-b", "--no-wait", NULL);
	/* down waits for the IKE SAs to go. */
	sc.ev = (struct event){ .type = EV_IKE_DOWN, .conn = "site-b", .initiator = true,
				.reason = "deleted: down requested" };
	sc.progress = 1;
	script_at(loop, &sc, 300);
	xikectl(loop, 0, "site-b: no IKE SA left\n", "", sock_path, "down", "site-b", NULL);
	/* Usage errors. */
	xikectl(loop, 2, "", "xikectl: --timeout: seconds from 1 to 86400\n", sock_path, "up",
		"site-b", "--timeout", "0", NULL);
	xikectl(loop, 2, "", USAGE, sock_path, "status", "--no-wait", NULL);

	/* status: the last errors; list-conns: the configured conns (escaped ids). */
	f.with_errors = 1;
	f.progress = 0;
	xikectl(loop, 0, "site-b: ESTABLISHED, 0123456789abcdef_i fedcba9876543210_r\n"
			 "  local  'a.example' @ 192.0.2.1[500]\n"
			 "  remote 'b.example' @ 192.0.2.2[4500]\n"
			 "  aes256gcm16-prfsha256-x25519\n"
			 "  established 42s ago\n"
			 "  site-b: INSTALLED, TUNNEL, ESP:aes256gcm16\n"
			 "    interface xfrm-b, if_id 7\n"
			 "    in  c1234567, 1234 bytes, 12 packets\n"
			 "    out c7654321, 5678 bytes, 34 packets\n"
			 "    local  10.1.0.0/24\n"
			 "    remote 10.2.0.0/24 10.3.0.0/24[tcp/443]\n"
			 "last error of site-c: 2026-12-07T16:48:31.123Z child-failed: "
			 "TS_UNACCEPTABLE: the peer refused the Child SA\n",
		"", sock_path, "status", NULL);
	const char *conns =
		"site-b: established (1 IKE SA), start initiate\n"
		"  local  192.0.2.1, id 'a.example', auth psk\n"
		"  remote 192.0.2.2, id 'b\\x1b[31m.example', auth psk\n"
		"  ike    aes256gcm16-prfsha256-x25519, aes128-sha256-ecp256\n"
		"  dpd 30s (clear), mobike yes, unique replace, lifetime 3600s, ike_lifetime 14400s\n"
		"  route-based: if_id 7 interface xfrm-b\n"
		"  net: tunnel\n"
		"    esp    aes256gcm16\n"
		"    local  10.1.0.0/24\n"
		"    remote 10.2.0.0/24\n"
		"  last error: 2026-12-07T16:48:31.123Z ike-failed: timeout: no response after 5 "
		"retransmits\n";
	xikectl(loop, 0, conns, "", sock_path, "list-conns", NULL);
	xikectl(loop, 0, conns, "", sock_path, "list-conns", "site-b", NULL);
	xikectl(loop, 1, "", "xikectl: no connection named 'nope'\n", sock_path, "list-conns",
		"nope", NULL);
	xikectl(loop, 0, "xikectl (xiked) 0.1.0\n", "", sock_path, "--version", NULL);

	control_free(c);
	event_bus_free(f.bus);
	loop_free(loop);
}

/* A monitor: the ok line, then one event line each (ASCII JSON), until it goes. */
static int monitor_client(void *arg)
{
	char buf[2048];
	(void)arg;
	int fd = client_connect();
	if (fd < 0 || write(fd, "{\"cmd\":\"monitor\"}\n", 18) != 18 ||
	    expect_line(fd, "{\"ok\":true,\"monitor\":true}"))
		return 40;
	const char *want[] = { "\"event\":\"ike-up\"", "\"event\":\"child-up\"",
			       "\"event\":\"ike-down\"" };
	for (int i = 0; i < 3; i++) {
		if (read_line(fd, buf, sizeof(buf)) < 0)
			return 41 + i;
		if (!strstr(buf, want[i]) || !strstr(buf, "\"conn\":\"site-b\"") ||
		    !strstr(buf, "\"time\":\"20"))
			return 45 + i;
	}
	close(fd);
	return 0;
}

/* A monitor that does not read: dropped once far behind; the daemon never blocks. */
static int slow_monitor_client(void *arg)
{
	char buf[65536];
	(void)arg;
	int fd = client_connect();
	if (fd < 0 || write(fd, "{\"cmd\":\"monitor\",\"conn\":\"site-b\"}\n", 34) != 34)
		return 50;
	sleep(2); /* the server emits meanwhile */
	size_t lines = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	if (n != 0)
		return 51; /* EOF: the server closed it */
	if (lines < 2 || lines >= 20000)
		return 52; /* some came, not all */
	close(fd);
	return 0;
}

static void test_control_monitor(void **state)
{
	struct fake f = { 0 };
	struct control_handlers h = { .status = fake_status, .ctx = &f };
	struct loop *loop = loop_new(NULL);
	struct control *c;
	struct sockaddr_storage l = { .ss_family = AF_INET }, r = { .ss_family = AF_INET };

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	f.bus = event_bus_new();
	assert_int_equal(control_new(loop, sock_path, &h, &c), 0);
	assert_int_equal(control_attach_events(c, f.bus), 0);
	struct script s1 = { .f = &f, .ev = { .type = EV_IKE_UP, .conn = "site-b", .local = &l,
					       .remote = &r, .remote_id = "b\xc2\x9b" "31m" } };
	struct script s2 = { .f = &f, .ev = { .type = EV_CHILD_UP, .conn = "site-b" } };
	struct script s0 = { .f = &f, .ev = { .type = EV_CHILD_UP, .conn = "other" } };
	struct script s3 = { .f = &f, .ev = { .type = EV_IKE_DOWN, .conn = "site-b",
					       .reason = "deleted: by the peer" } };
	script_at(loop, &s1, 300);
	script_at(loop, &s2, 310);
	script_at(loop, &s3, 320);
	assert_int_equal(serve_while(loop, monitor_client, NULL), 0);
	/* Far more than the socket buffer and the limit: the reader is dropped. */
	control_set_monitor_max(c, 8192);
	s2.count = 20000;
	script_at(loop, &s0, 300); /* another conn's: not sent to this monitor */
	script_at(loop, &s2, 500);
	assert_int_equal(serve_while(loop, slow_monitor_client, NULL), 0);
	control_free(c);
	event_bus_free(f.bus);
	loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_requests, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_socket_file, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_xikectl, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_stuck_clients, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_control_log, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_control_wait, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_control_monitor, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
