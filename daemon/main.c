/*
 * xiked: the IKEv2 daemon. One thread, one epoll loop (daemon/loop.h) over
 * the UDP sockets, the XFRM event socket, the control socket, a timerfd and
 * a signalfd; the engine does the protocol work.
 *
 *   xiked [-c FILE] [-f] [-d] | -t [-c FILE] | --help | --version
 *     -c FILE  configuration (default /etc/xiked/xiked.conf; made absolute,
 *              so reload finds it after the daemon's chdir("/"))
 *     -f       stay in the foreground, log to stderr (default: daemonize, syslog)
 *     -d       debug logging (overrides log =)
 *
 * Start-up order: configuration, kernel, IKE sockets, engine, control
 * socket, all in the first process, so every error reaches the caller's
 * terminal and exit status; only then does it daemonize (daemonize()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "crypto/rng.h"
#include "daemon/clock.h"
#include "daemon/child_route.h"
#include "daemon/config.h"
#include "daemon/conn_list.h"
#include "daemon/control.h"
#include "daemon/engine.h"
#include "daemon/engine_status.h"
#include "daemon/keylog.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/metrics_http.h"
#include "daemon/openmetrics.h"
#include "daemon/route_iface.h"
#include "daemon/loop.h"
#include "daemon/mobike.h"
#include "daemon/privs.h"
#include "daemon/reload.h"
#include "daemon/sdnotify.h"
#include "daemon/spi_table.h"
#include "daemon/natt.h"
#include "daemon/trap.h"
#include "daemon/udp.h"
#include "netlink/kernel_ops.h"
#include "netlink/link.h"
#include "netlink/netmon.h"
#include "version.h"

/* SYSCONFDIR/xiked/xiked.conf of the build (daemon/meson.build), where meson install puts the example. */
#ifndef XIKED_DEFAULT_CONFIG
#define XIKED_DEFAULT_CONFIG "/etc/xiked/xiked.conf"
#endif
#define DEFAULT_CONFIG XIKED_DEFAULT_CONFIG

struct daemon {
	char *config_path; /* absolute */
	bool debug;
	struct loop *loop;
	struct udp *udp;
	struct kernel kernel;
	struct link link; /* rtnetlink: route-based interfaces (route_iface.h), routes (child_route.h) */
	struct engine *engine;
	struct control *control;
	struct netmon *netmon; /* rtnetlink events for MOBIKE (netlink/netmon.h), or NULL */
	struct metrics_http *http; /* [daemon] metrics = listener, or NULL */
	struct sockaddr_storage http_addr; /* where it listens */
};

static int send_cb(void *ctx, const struct sockaddr_storage *from, const struct sockaddr_storage *to,
		   const uint8_t *buf, size_t len)
{
	struct daemon *d = ctx;
	return udp_send(d->udp, from && from->ss_family ? from : NULL, to, buf, len);
}

static int keepalive_cb(void *ctx, const struct sockaddr_storage *from,
			const struct sockaddr_storage *to)
{
	struct daemon *d = ctx;
	return udp_send_keepalive(d->udp, from && from->ss_family ? from : NULL, to);
}

static void recv_cb(void *ctx, const struct sockaddr_storage *local,
		    const struct sockaddr_storage *remote, const uint8_t *buf, size_t len)
{
	struct daemon *d = ctx;
	engine_receive(d->engine, local, remote, buf, len);
}

static void on_kernel_event(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)fd;
	(void)events;
	struct daemon *d = ctx;
	d->kernel.ops->event_dispatch(d->kernel.k);
}

static void on_netmon_event(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)fd;
	(void)events;
	struct daemon *d = ctx;
	if (netmon_dispatch(d->netmon) && d->engine)
		mobike_net_changed(d->engine);
}

/* Events on the interfaces xiked made for route-based Child SAs are no path change. */
static bool netmon_skip(void *ctx, int ifindex)
{
	struct daemon *d = ctx;
	return route_iface_owns_ifindex(d->engine, ifindex);
}

/* The kernel is opened before the engine exists: events reach it through the daemon. */
static void on_expire(void *ctx, uint32_t spi, uint8_t proto, const struct kaddr *dst, bool hard)
{
	struct daemon *d = ctx;
	if (d->engine)
		engine_on_expire(d->engine, spi, proto, dst, hard);
}

static void on_acquire(void *ctx, const struct ksel *sel, uint32_t reqid)
{
	struct daemon *d = ctx;
	if (d->engine)
		trap_on_acquire(d->engine, sel, reqid);
}

static void on_mapping(void *ctx, uint32_t spi, const struct kaddr *old_addr, uint16_t old_port,
		       const struct kaddr *new_addr, uint16_t new_port)
{
	struct daemon *d = ctx;
	if (d->engine)
		natt_on_mapping(d->engine, spi, old_addr, old_port, new_addr, new_port);
}

static int ctl_status(void *ctx, const char *conn, struct json_writer *out)
{
	struct daemon *d = ctx;
	return engine_status_conn(d->engine, conn, out);
}

static int ctl_list_conns(void *ctx, const char *conn, struct json_writer *out)
{
	struct daemon *d = ctx;
	return conn_list_json(d->engine, conn, out);
}

static int ctl_progress(void *ctx, const char *conn, bool up, char *msg, size_t msglen)
{
	struct daemon *d = ctx;
	return conn_progress(d->engine, conn, up, msg, msglen);
}

static int ctl_up(void *ctx, const char *conn, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	return engine_up(d->engine, conn, err, errlen);
}

static int ctl_down(void *ctx, const char *conn, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	return engine_down(d->engine, conn, err, errlen);
}

static int ctl_reauth(void *ctx, const char *conn, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	return engine_reauth(d->engine, conn, err, errlen);
}

static int ctl_rekey(void *ctx, const char *conn, bool ike, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	return engine_rekey(d->engine, conn, ike, err, errlen);
}

static int ctl_metrics(void *ctx, bool prometheus, struct json_writer *out)
{
	struct daemon *d = ctx;
	struct om_writer w;
	om_init(&w, prometheus ? OM_PROMETHEUS : OM_OPENMETRICS);
	metrics_write(d->engine, &w);
	int rc = om_ok(&w) ? 0 : -1;
	if (rc == 0)
		json_kv_str(out, "text", om_str(&w));
	om_free(&w);
	return rc;
}

/* The HTTP listener's scrape: the text handed over (metrics_http.h). */
static int http_render(void *ctx, bool openmetrics, char **text, size_t *len)
{
	struct daemon *d = ctx;
	struct om_writer w;
	om_init(&w, openmetrics ? OM_OPENMETRICS : OM_PROMETHEUS);
	metrics_write(d->engine, &w);
	if (!om_ok(&w)) {
		om_free(&w);
		return -1;
	}
	*len = om_len(&w);
	*text = w.buf;
	return 0;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(a, b, sizeof(struct sockaddr_in)) == 0;
	return a->ss_family != AF_INET6 || memcmp(a, b, sizeof(struct sockaddr_in6)) == 0;
}

/*
 * [daemon] metrics =: starts, moves or stops the HTTP listener. A new
 * address is bound before the old listener closes: on an error the old
 * one stays. 0 or -errno (logged).
 */
static int metrics_listen(struct daemon *d, const struct sockaddr_storage *addr)
{
	char a[INET6_ADDRSTRLEN];
	struct metrics_http *h = NULL;
	if (same_addr(addr, &d->http_addr))
		return 0;
	if (addr->ss_family != AF_UNSPEC) {
		const void *ip = addr->ss_family == AF_INET
					 ? (const void *)&((const struct sockaddr_in *)addr)->sin_addr
					 : (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
		unsigned port = ntohs(addr->ss_family == AF_INET
					      ? ((const struct sockaddr_in *)addr)->sin_port
					      : ((const struct sockaddr_in6 *)addr)->sin6_port);
		inet_ntop(addr->ss_family, ip, a, sizeof(a));
		int rc = metrics_http_new(d->loop, addr, METRICS_HTTP_TIMEOUT_S, http_render, d, &h);
		if (rc != 0) {
			log_msg(LOG_CTL, LOG_LVL_ERROR, "metrics listener %s%s%s:%u: %s",
				addr->ss_family == AF_INET6 ? "[" : "", a,
				addr->ss_family == AF_INET6 ? "]" : "", port, strerror(-rc));
			return rc;
		}
		log_msg(LOG_CTL, LOG_LVL_INFO, "metrics on http://%s%s%s:%u/metrics",
			addr->ss_family == AF_INET6 ? "[" : "", a,
			addr->ss_family == AF_INET6 ? "]" : "", port);
	} else if (d->http) {
		log_msg(LOG_CTL, LOG_LVL_INFO, "metrics listener closed");
	}
	metrics_http_free(d->http);
	d->http = h;
	d->http_addr = *addr;
	return 0;
}

static void log_reload_line(void *ctx, const char *text)
{
	(void)ctx;
	log_msg(LOG_CFG, LOG_LVL_INFO, "reload: %s", text);
}

/* SIGHUP and xikectl reload: out (may be NULL) gets what changed (reload.h). */
static int reload(struct daemon *d, struct json_writer *out, char *err, size_t errlen)
{
	struct reload_report rep;
	struct log_levels old_levels = d->engine->cfg->cfg->d.log_levels;
	sdnotify_reloading();
	int rc = reload_file(d->engine, d->config_path, &rep, err, errlen);
	sdnotify_ready();
	if (rc != 0) {
		log_msg(LOG_CFG, LOG_LVL_ERROR, "reload failed, keeping the running configuration: %s",
			err);
		return -1;
	}
	/*
	 * A changed log = applies; an unchanged one leaves what -d or
	 * xikectl log set at run time.
	 */
	const struct log_levels *levels = &d->engine->cfg->cfg->d.log_levels;
	if (!log_levels_equal(&old_levels, levels)) {
		log_levels_set(levels);
		log_msg(LOG_CFG, LOG_LVL_INFO, "reload: log levels changed");
	}
	log_msg(LOG_CFG, LOG_LVL_INFO, "configuration reloaded from %s", d->config_path);
	keylog_warn(d->engine->cfg->cfg);
	reload_report_lines(&rep, log_reload_line, NULL);
	metrics_listen(d, &d->engine->cfg->cfg->d.metrics); /* a failure keeps the old listener */
	if (out)
		reload_report_json(&rep, out);
	reload_report_free(&rep);
	return 0;
}

static int ctl_reload(void *ctx, struct json_writer *out, char *err, size_t errlen)
{
	return reload(ctx, out, err, errlen);
}

static void on_signal(struct loop *loop, int signo, void *ctx)
{
	struct daemon *d = ctx;
	if (signo == SIGHUP) {
		char err[512];
		reload(d, NULL, err, sizeof(err));
		return;
	}
	log_msg(LOG_DMN, LOG_LVL_INFO, "signal %d: deleting all SAs and exiting", signo);
	sdnotify_stopping();
	engine_shutdown(d->engine);
	loop_stop(loop);
}

/* STATUS= for systemd: both counts are table sizes, O(1). */
static void sa_counts(void *ctx, size_t *ike_sas, size_t *child_sas)
{
	struct daemon *d = ctx;
	*ike_sas = engine_ike_sa_count(d->engine);
	/* Not the table's size: it holds each Child SA's outbound SPI as well. */
	*child_sas = d->engine->child_sa_count;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: xiked [-c FILE] [-f] [-d]\n"
		"       xiked -t [-c FILE]\n"
		"  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
		"  -f, --foreground   stay in the foreground and log to stderr\n"
		"  -d, --debug        log at debug level (overrides log =)\n"
		"  -t, --test         check the configuration, report every error, exit\n"
		"  -h, --help         this text\n"
		"  -V, --version      the version\n");
}

/* path made absolute against the working directory (the daemon chdirs to /). */
static char *absolute_path(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

/*
 * Start-up handshake with the daemonized child: it writes 'R' when it
 * runs, or 'E' and a message before it exits. The parent exits 0 only on
 * 'R' (so `xiked && ...` and init scripts see start-up errors).
 */
static _Noreturn void parent_wait(int fd)
{
	char buf[512];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
		if (buf[0] == 'R')
			_exit(0);
	}
	buf[len] = '\0';
	if (len > 1 && buf[0] == 'E')
		fprintf(stderr, "xiked: %s\n", buf + 1);
	else
		fprintf(stderr, "xiked: the daemon exited during start-up\n");
	_exit(1);
}

static void child_fail(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_fail(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	buf[0] = 'E';
	va_start(ap, fmt);
	n = vsnprintf(buf + 1, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	if (write(fd, buf, (size_t)n + 1) < 0)
		log_msg(LOG_DMN, LOG_LVL_ERROR, "%s", buf + 1);
}

/*
 * fork; the parent waits for the child's word (parent_wait) and exits. The
 * child detaches from the terminal (setsid, stdio on /dev/null, cwd /), logs
 * to syslog and returns the write end of the pipe (-1 on failure, reported
 * to the parent). Every fd opened so far (epoll, signalfd, timerfd, sockets)
 * is the child's now: signalfd reads the child's signals after fork.
 */
static int daemonize(void)
{
	int p[2], nul;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_msg(LOG_DMN, LOG_LVL_ERROR, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		log_msg(LOG_DMN, LOG_LVL_ERROR, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		parent_wait(p[0]);
	}
	close(p[0]);
	log_use_syslog("xiked");
	if (setsid() < 0) {
		child_fail(p[1], "setsid: %s", strerror(errno));
		return -1;
	}
	if (chdir("/") != 0) {
		child_fail(p[1], "chdir /: %s", strerror(errno));
		return -1;
	}
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0) {
		child_fail(p[1], "/dev/null: %s", strerror(errno));
		return -1;
	}
	if (nul > 2)
		close(nul);
	return p[1];
}

/* Every configuration error, one "FILE:LINE: message" line each (-t and start-up). */
static void print_config_error(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"debug", no_argument, NULL, 'd'},
		{"test", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d = {0};
	const char *config_arg = DEFAULT_CONFIG;
	bool foreground = false, test = false;
	int opt, rc = 1, ready_fd = -1;
	while ((opt = getopt_long(argc, argv, "c:fdthV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_arg = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'd':
			d.debug = true;
			break;
		case 't':
			test = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("xiked %s\n", XIKED_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xiked: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	d.config_path = absolute_path(config_arg);
	if (!d.config_path) {
		fprintf(stderr, "xiked: %s: %s\n", config_arg, strerror(errno));
		return 1;
	}
	/*
	 * Before any key exists: no core file and no ptrace by other users'
	 * processes (keys live in memory a dump would hold; the secret arena
	 * is MADV_DONTDUMP too, for a dump forced by a privileged tool).
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "xiked: prctl(PR_SET_DUMPABLE): %s\n", strerror(errno));
	if (crypto_init() != 0) {
		fprintf(stderr, "xiked: crypto libraries failed to initialise\n");
		return 1;
	}
	struct xiked_config *cfg = NULL;
	char err[512];
	unsigned nerr = config_load_report(d.config_path, &cfg, print_config_error, NULL, err,
					   sizeof(err));
	if (test) {
		/* The user must exist (its name was checked by the parser). */
		if (cfg && cfg->d.user[0] && !getpwnam(cfg->d.user)) {
			fprintf(stderr, "%s: user = %s: no such user\n", d.config_path, cfg->d.user);
			nerr++;
		}
		config_free(cfg);
		if (nerr) {
			fprintf(stderr, "xiked: %s: %u error%s\n", d.config_path, nerr,
				nerr == 1 ? "" : "s");
			free(d.config_path);
			return 1;
		}
		printf("xiked: %s: configuration OK\n", d.config_path);
		free(d.config_path);
		return 0;
	}
	if (nerr) {
		free(d.config_path);
		return 1;
	}
	if (d.debug)
		log_set_level(LOG_LVL_DEBUG);
	else
		log_levels_set(&cfg->d.log_levels);
	struct clock clk = clock_boottime();
	d.loop = loop_new(&clk);
	struct kernel_events ev = {.expire = on_expire, .acquire = on_acquire,
				   .mapping = on_mapping, .ctx = &d};
	int krc = kernel_netlink_new(&ev, &d.kernel);
	if (!d.loop || krc != 0) {
		log_msg(LOG_DMN, LOG_LVL_ERROR, "cannot open the XFRM netlink socket: %s",
			strerror(-krc));
		config_free(cfg);
		goto out;
	}
	/* Entries a crashed xiked left behind (our reqid range only). */
	krc = d.kernel.ops->flush_stale(d.kernel.k);
	if (krc != 0)
		log_msg(LOG_KNL, LOG_LVL_WARN, "removing stale XFRM entries failed: %s", strerror(-krc));
	/* Without it only conns with interface = or vti = fail (logged when they come up). */
	krc = link_netlink_new(&d.link);
	if (krc != 0)
		log_msg(LOG_KNL, LOG_LVL_WARN, "cannot open the rtnetlink socket: %s", strerror(-krc));
	struct udp_config ucfg = {.listen = cfg->d.listen, .n_listen = cfg->d.n_listen,
				  .port = cfg->d.port, .natt_port = cfg->d.natt_port};
	char control_path[CONFIG_PATH_MAX];
	snprintf(control_path, sizeof(control_path), "%s", cfg->d.control);
	int urc = udp_new(d.loop, &ucfg, recv_cb, &d, &d.udp);
	if (urc != 0) {
		log_msg(LOG_NET, LOG_LVL_ERROR, "cannot open the IKE sockets (ports %u/%u): %s",
			cfg->d.port, cfg->d.natt_port, strerror(-urc));
		config_free(cfg);
		goto out;
	}
	struct engine_env env = {
		.loop = d.loop,
		.rng = rng_system(),
		.kernel = d.kernel,
		.link = d.link,
		.send = send_cb,
		.keepalive = keepalive_cb,
		.send_ctx = &d,
		.port = udp_port(d.udp, false),
		.natt_port = udp_port(d.udp, true),
	};
	/* RFC 4555 roaming: address/route events and RTM_GETROUTE source selection. */
	int nrc = netmon_new(&d.netmon);
	if (nrc == 0) {
		env.route_source = netmon_route_source;
		env.local_addrs = netmon_local_addrs;
		env.net_ctx = d.netmon;
		netmon_set_skip(d.netmon, netmon_skip, &d);
	} else {
		log_msg(LOG_KNL, LOG_LVL_WARN, "cannot watch addresses and routes (rtnetlink): %s; "
			"MOBIKE will not follow address changes", strerror(-nrc));
	}
	d.engine = engine_new(&env, cfg);
	if (!d.engine)
		goto out;
	/* Routes and rules a killed xiked left in its table (child_route.h). */
	child_route_start(d.engine);
	loop_add_fd(d.loop, d.kernel.ops->event_fd(d.kernel.k), EPOLLIN, on_kernel_event, &d);
	if (d.netmon)
		loop_add_fd(d.loop, netmon_fd(d.netmon), EPOLLIN, on_netmon_event, &d);
	struct control_handlers h = {.status = ctl_status, .list_conns = ctl_list_conns,
				     .progress = ctl_progress, .up = ctl_up, .down = ctl_down,
				     .reload = ctl_reload, .rekey = ctl_rekey, .reauth = ctl_reauth,
				     .metrics = ctl_metrics, .ctx = &d};
	int crc = control_new(d.loop, control_path, &h, &d.control);
	if (crc != 0) {
		log_msg(LOG_CTL, LOG_LVL_ERROR, "cannot create the control socket %s: %s", control_path,
			strerror(-crc));
		goto out;
	}
	if (metrics_listen(&d, &d.engine->cfg->cfg->d.metrics) != 0)
		goto out;
	/* xikectl up/down wait for their outcome and monitor streams, from the engine's events. */
	if (control_attach_events(d.control, d.engine->events) != 0)
		log_msg(LOG_CTL, LOG_LVL_WARN, "out of memory: xikectl up/down cannot wait, no monitor");
	if (!foreground) {
		ready_fd = daemonize();
		if (ready_fd < 0)
			goto out;
	}
	/* Every socket is open: keep only what the rest needs (privs.h). */
	const char *user = d.engine->cfg->cfg->d.user;
	if (privs_drop(user, err, sizeof(err)) != 0) {
		if (ready_fd >= 0)
			child_fail(ready_fd, "%s", err);
		else
			log_msg(LOG_DMN, LOG_LVL_ERROR, "%s", err);
		goto out;
	}
	if (user[0] && access(d.config_path, R_OK) != 0)
		log_msg(LOG_CFG, LOG_LVL_WARN, "%s: not readable by user %s: reload will fail (%s)",
			d.config_path, user, strerror(errno));
	/*
	 * After the fork: an epoll watch of a signalfd wakes for the signals of
	 * the process that added it, so the child must create its own.
	 */
	loop_on_signal(d.loop, SIGTERM, on_signal, &d);
	loop_on_signal(d.loop, SIGINT, on_signal, &d);
	loop_on_signal(d.loop, SIGHUP, on_signal, &d);
	log_msg(LOG_DMN, LOG_LVL_INFO, "xiked started (version %s, IKE ports %u/%u, control %s)",
		XIKED_VERSION, udp_port(d.udp, false), udp_port(d.udp, true), control_path);
	keylog_warn(cfg);
	if (ready_fd >= 0) {
		if (write(ready_fd, "R", 1) != 1)
			log_msg(LOG_DMN, LOG_LVL_WARN, "start-up pipe: %s", strerror(errno));
		close(ready_fd);
	}
	int src = sdnotify_start(d.loop, sa_counts, &d);
	if (src != 0)
		log_msg(LOG_DMN, LOG_LVL_WARN, "systemd status timer: %s", strerror(-src));
	sdnotify_ready();
	engine_start(d.engine);
	rc = loop_run(d.loop) == 0 ? 0 : 1;
out:
	sdnotify_stop(d.loop);
	metrics_http_free(d.http);
	control_free(d.control);
	engine_free(d.engine);
	udp_free(d.udp);
	kernel_free(&d.kernel);
	link_free(&d.link);
	netmon_free(d.netmon);
	loop_free(d.loop);
	log_msg(LOG_DMN, LOG_LVL_INFO, "xiked stopped");
	free(d.config_path);
	return rc;
}
