/*
 * xiked: the IKEv2 daemon. One thread, one epoll loop (daemon/loop.h) over
 * the UDP sockets, the XFRM event socket, the control socket, a timerfd and
 * a signalfd; the engine does the protocol work.
 *
 *   xiked [-c FILE] [-f] [-d]
 *     -c FILE  configuration (default /etc/xiked/xiked.conf)
 *     -f       stay in the foreground, log to stderr (default: daemonize, syslog)
 *     -d       debug logging (overrides log =)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
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
#include "daemon/keylog.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/metrics_http.h"
#include "daemon/openmetrics.h"
#include "daemon/route_iface.h"
#include "daemon/loop.h"
#include "daemon/mobike.h"
#include "daemon/reload.h"
#include "daemon/natt.h"
#include "daemon/trap.h"
#include "daemon/udp.h"
#include "netlink/kernel_ops.h"
#include "netlink/link.h"
#include "netlink/netmon.h"

/* SYSCONFDIR/xiked/xiked.conf of the build (daemon/meson.build), where meson install puts the example. */
#ifndef XIKED_DEFAULT_CONFIG
#define XIKED_DEFAULT_CONFIG "/etc/xiked/xiked.conf"
#endif
#define DEFAULT_CONFIG XIKED_DEFAULT_CONFIG

struct daemon {
	const char *config_path;
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
	if (reload_file(d->engine, d->config_path, &rep, err, errlen) != 0) {
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
	engine_shutdown(d->engine);
	loop_stop(loop);
}

static void usage(void)
{
	fprintf(stderr, "usage: xiked [-c FILE] [-f] [-d]\n");
}

int main(int argc, char **argv)
{
	struct daemon d = {.config_path = DEFAULT_CONFIG};
	bool foreground = false;
	int opt, rc = 1;
	while ((opt = getopt(argc, argv, "c:fdh")) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'd':
			d.debug = true;
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
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
	if (config_load(d.config_path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "xiked: %s\n", err);
		return 1;
	}
	if (d.debug)
		log_set_level(LOG_LVL_DEBUG);
	else
		log_levels_set(&cfg->d.log_levels);
	if (!foreground) {
		if (daemon(0, 0) != 0) {
			fprintf(stderr, "xiked: daemon: %s\n", strerror(errno));
			config_free(cfg);
			return 1;
		}
		log_use_syslog("xiked");
	}
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
	loop_on_signal(d.loop, SIGTERM, on_signal, &d);
	loop_on_signal(d.loop, SIGINT, on_signal, &d);
	loop_on_signal(d.loop, SIGHUP, on_signal, &d);
	log_msg(LOG_DMN, LOG_LVL_INFO, "xiked started (IKE ports %u/%u, control %s)",
		udp_port(d.udp, false), udp_port(d.udp, true), control_path);
	keylog_warn(cfg);
	engine_start(d.engine);
	rc = loop_run(d.loop) == 0 ? 0 : 1;
out:
	metrics_http_free(d.http);
	control_free(d.control);
	engine_free(d.engine);
	udp_free(d.udp);
	kernel_free(&d.kernel);
	link_free(&d.link);
	netmon_free(d.netmon);
	loop_free(d.loop);
	log_msg(LOG_DMN, LOG_LVL_INFO, "xiked stopped");
	return rc;
}
