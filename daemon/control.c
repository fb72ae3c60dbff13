/* Control socket server; see control.h. */
#include "daemon/control.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/event.h"
#include "daemon/json.h"
#include "daemon/text.h"
#include "daemon/log.h"
#include "daemon/loop.h"

/* Error text the handlers may return, octets. */
#define CONTROL_ERR_MAX 256
/* Client-supplied names in log lines, octets. */
#define CONTROL_SHOWN_MAX 80
/* Longest conn name a waiting or monitoring client names (config.h's is shorter). */
#define CONTROL_CONN_MAX 128

/*
 * What a client is doing: asking (one request, one response), waiting for
 * the outcome of its up or down (its next request is not read until the
 * response is written), or monitoring (event lines until it goes).
 */
enum client_mode { CL_REQUEST, CL_WAIT_UP, CL_WAIT_DOWN, CL_MONITOR };

struct client {
	int fd;
	struct control *ctl;
	struct client *prev, *next;
	char *in; /* request bytes not yet handled */
	size_t in_len, in_cap;
	char *out; /* response bytes not yet written */
	size_t out_len, out_off;
	bool eof; /* the client closed its side */
	bool overflow; /* line too long: close after the error is written */
	struct timer idle; /* closes a client that does nothing (CONTROL_IDLE_MS) */
	size_t out_cap;
	enum client_mode mode;
	char conn[CONTROL_CONN_MAX]; /* waited for, or monitored ("" = all) */
	struct timer wait_timer;     /* the end of a wait (the request's timeout_ms) */
	uint32_t wait_ms;
	bool in_handler;             /* events now come from the up/down handler itself */
	bool failed;                 /* an event said the up failed: fail_text */
	char fail_text[EVENT_REASON_MAX + CONTROL_CONN_MAX + 32];
};

struct control {
	struct loop *loop;
	struct control_handlers h;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client *clients;
	size_t n_clients;
	uint32_t idle_ms; /* CONTROL_IDLE_MS; tests shorten it */
	struct event_bus *events; /* subscribed to (control_attach_events), or NULL */
	size_t monitor_max; /* CONTROL_MONITOR_MAX; tests shorten it */
};

static void client_free(struct client *cl)
{
	struct control *c = cl->ctl;

	timer_cancel(c->loop, &cl->idle);
	timer_cancel(c->loop, &cl->wait_timer);
	loop_del_fd(c->loop, cl->fd);
	close(cl->fd);
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->n_clients--;
	free(cl->in);
	free(cl->out);
	free(cl);
}

/*
 * Queues one response line (copies s). The buffer grows by doubling and
 * what was written is dropped from its front, so a monitor's stream of
 * small lines costs no copy of everything pending per line.
 */
static int queue_out(struct client *cl, const char *s, size_t len)
{
	size_t pending = cl->out_len - cl->out_off;

	if (cl->out_off && pending + len + 1 > cl->out_cap - cl->out_len) {
		memmove(cl->out, cl->out + cl->out_off, pending);
		cl->out_len = pending;
		cl->out_off = 0;
	}
	if (cl->out_len + len + 1 > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *p;

		while (cap < cl->out_len + len + 1)
			cap *= 2;
		p = realloc(cl->out, cap);
		if (!p)
			return -ENOMEM;
		cl->out = p;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, s, len);
	cl->out[cl->out_len + len] = '\n';
	cl->out_len += len + 1;
	return 0;
}

static void error_response(struct json_writer *w, const char *msg)
{
	json_writer_reset(w);
	json_obj_begin(w);
	json_kv_bool(w, "ok", false);
	json_kv_str(w, "error", msg);
	json_obj_end(w);
}

static void ok_response(struct json_writer *w)
{
	json_writer_reset(w);
	json_obj_begin(w);
	json_kv_bool(w, "ok", true);
	json_obj_end(w);
}

/* s for a log line: truncated and escaped (text.h: no log injection). */
static const char *printable(const char *s, char *buf, size_t len)
{
	return text_escape(s, strlen(s), buf, len);
}

/*
 * {"cmd":"log"[,"group":"KNL"][,"level":"debug"]}: sets one group's or
 * every group's threshold (until a reload changes log =) and answers with
 * all of them, as "levels" and as a "message" line in log = syntax.
 */
static void handle_log(const struct json_value *req, struct json_writer *w)
{
	const char *gs = json_get_str(req, "group"), *ls = json_get_str(req, "level");
	struct log_levels lv;
	enum log_group g = LOG_DMN;
	enum log_level l = LOG_LVL_INFO;
	char msg[256], shown[CONTROL_SHOWN_MAX];
	size_t off = 0;

	if ((json_get(req, "group") && !gs) || (json_get(req, "level") && !ls) || (gs && !ls)) {
		error_response(w, "log: \"group\" and \"level\" must be strings, \"group\" only "
				  "with \"level\"");
		return;
	}
	if (gs && log_group_parse(gs, &g) < 0) {
		snprintf(msg, sizeof(msg), "log: unknown group '%s' (one of dmn, net, enc, ike, chd, "
			 "knl, cfg, ctl)", printable(gs, shown, sizeof(shown)));
		error_response(w, msg);
		return;
	}
	if (ls && log_level_parse(ls, &l) < 0) {
		snprintf(msg, sizeof(msg), "log: '%s' is not one of error, warn, info, debug",
			 printable(ls, shown, sizeof(shown)));
		error_response(w, msg);
		return;
	}
	if (ls) {
		/* Logged before it applies, so that lowering CTL's level still leaves a trace. */
		log_msg(LOG_CTL, LOG_LVL_INFO, "log %s %s", gs ? log_group_name(g) : "(all groups)",
			log_level_name(l));
		if (gs)
			log_set_group_level(g, l);
		else
			log_set_level(l);
	}
	log_levels_get(&lv);
	json_writer_reset(w);
	json_obj_begin(w);
	json_kv_bool(w, "ok", true);
	json_key(w, "levels");
	json_obj_begin(w);
	for (size_t i = 0; i < LOG_GROUP_COUNT; i++) {
		const char *gk = log_group_key((enum log_group)i), *lk = log_level_key(lv.level[i]);

		json_kv_str(w, gk, lk);
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s=%s", i ? ", " : "", gk, lk);
	}
	json_obj_end(w);
	json_kv_str(w, "message", msg);
	json_obj_end(w);
}

static void client_update_events(struct client *cl);
static int flush_out(struct client *cl);

/* A client back to asking: the idle timer runs again. */
static void end_wait(struct client *cl)
{
	timer_cancel(cl->ctl->loop, &cl->wait_timer);
	cl->mode = CL_REQUEST;
	cl->failed = false;
	timer_arm_in(cl->ctl->loop, &cl->idle, cl->ctl->idle_ms);
}

/*
 * Writes the line in w to a client the loop is not serving right now (an
 * event, a timer): queued, sent as far as the socket takes it, and the
 * client is closed when that fails. false when the client is gone.
 */
static bool send_now(struct client *cl, struct json_writer *w)
{
	if (!json_writer_ok(w) || queue_out(cl, json_writer_str(w), json_writer_len(w)) < 0 ||
	    flush_out(cl) < 0) {
		client_free(cl);
		return false;
	}
	client_update_events(cl);
	return true;
}

/*
 * The outcome of a waiting up or down: done (the progress handler says
 * so), failed (an event said why), or not yet. Answers and ends the wait
 * when there is one; false when the client is gone.
 */
static bool wait_check(struct client *cl)
{
	struct control *c = cl->ctl;
	struct json_writer w;
	char msg[256] = "";
	bool up = cl->mode == CL_WAIT_UP, alive = true;
	int rc;

	json_writer_init(&w);
	if (cl->failed) {
		error_response(&w, cl->fail_text);
	} else {
		rc = c->h.progress(c->h.ctx, cl->conn, up, msg, sizeof(msg));
		if (rc == 0)
			goto out;
		if (rc < 0) {
			error_response(&w, msg[0] ? msg : "failed");
		} else {
			json_writer_reset(&w);
			json_obj_begin(&w);
			json_kv_bool(&w, "ok", true);
			if (msg[0])
				json_kv_str(&w, "message", msg);
			json_obj_end(&w);
		}
	}
	end_wait(cl);
	alive = send_now(cl, &w);
out:
	json_writer_free(&w);
	return alive;
}

static void wait_timeout_cb(struct loop *loop, struct timer *t, void *ctx)
{
	struct client *cl = ctx;
	struct json_writer w;
	char msg[CONTROL_CONN_MAX * 4 + 128], shown[CONTROL_SHOWN_MAX];
	(void)loop;
	(void)t;
	snprintf(msg, sizeof(msg), "%s '%s': no outcome within %u s (%s; see xikectl status)",
		 cl->mode == CL_WAIT_UP ? "up" : "down", printable(cl->conn, shown, sizeof(shown)),
		 cl->wait_ms / 1000 ? cl->wait_ms / 1000 : 1,
		 cl->mode == CL_WAIT_UP ? "still connecting" : "the peer has not answered the Delete");
	json_writer_init(&w);
	error_response(&w, msg);
	end_wait(cl);
	send_now(cl, &w);
	json_writer_free(&w);
}

/*
 * An event for a client waiting for its conn's up: a failure of an IKE
 * SA we initiated (or of a Child SA in it) ends the wait with the reason.
 */
static void wait_event(struct client *cl, const struct event *ev)
{
	if (cl->mode == CL_WAIT_UP && ev->initiator && !cl->failed &&
	    (ev->type == EV_IKE_FAILED || ev->type == EV_AUTH_FAILED ||
	     ev->type == EV_CHILD_FAILED || ev->type == EV_IKE_DOWN)) {
		char shown[CONTROL_SHOWN_MAX];
		cl->failed = true;
		snprintf(cl->fail_text, sizeof(cl->fail_text), "%s: %s (%s)",
			 printable(cl->conn, shown, sizeof(shown)),
			 ev->reason && ev->reason[0] ? ev->reason : "failed",
			 event_type_name(ev->type));
	}
	if (!cl->in_handler)
		wait_check(cl);
}

/* Another event line for a monitor; one that cannot keep up is dropped. */
static void monitor_event(struct client *cl, const struct event *ev, uint64_t wall_ms)
{
	struct control *c = cl->ctl;
	struct json_writer w;

	if (cl->conn[0] && strcmp(cl->conn, ev->conn) != 0)
		return;
	if (cl->out_len - cl->out_off > c->monitor_max) {
		/* Never block the daemon on a slow reader: it has missed events, so it goes. */
		log_msg(LOG_CTL, LOG_LVL_WARN, "monitor client reads too slowly (%zu octets "
			"pending): closed", cl->out_len - cl->out_off);
		client_free(cl);
		return;
	}
	json_writer_init(&w);
	event_json(ev, wall_ms, &w);
	send_now(cl, &w);
	json_writer_free(&w);
}

static void on_event(void *ctx, const struct event *ev)
{
	struct control *c = ctx;
	uint64_t wall_ms = event_wall_ms();
	struct client *next;

	for (struct client *cl = c->clients; cl; cl = next) {
		next = cl->next; /* cl may be freed */
		if (cl->mode == CL_MONITOR)
			monitor_event(cl, ev, wall_ms);
		else if ((cl->mode == CL_WAIT_UP || cl->mode == CL_WAIT_DOWN) &&
			 strcmp(cl->conn, ev->conn) == 0)
			wait_event(cl, ev);
	}
}

/* up and down: answered at once, or (wait) once the outcome is known. */
static void handle_updown(struct client *cl, const struct json_value *req, const char *cmd,
			  const char *conn, struct json_writer *w)
{
	struct control *c = cl->ctl;
	bool up = cmd[0] == 'u', wait = false;
	int (*fn)(void *, const char *, char *, size_t) = up ? c->h.up : c->h.down;
	char err[CONTROL_ERR_MAX] = "", shown[CONTROL_SHOWN_MAX];
	int64_t timeout_ms = CONTROL_WAIT_DEFAULT_MS;
	int rc;

	if (!conn) {
		error_response(w, up ? "up: \"conn\" missing" : "down: \"conn\" missing");
		return;
	}
	if (!fn) {
		error_response(w, up ? "up: not supported" : "down: not supported");
		return;
	}
	if (json_get(req, "wait") && !json_get_bool(req, "wait", &wait)) {
		error_response(w, "\"wait\" must be true or false");
		return;
	}
	if (json_get(req, "timeout_ms") &&
	    (!json_get_int(req, "timeout_ms", &timeout_ms) || timeout_ms < 1 ||
	     timeout_ms > CONTROL_WAIT_MAX_MS)) {
		error_response(w, "\"timeout_ms\" must be an integer from 1 to 86400000");
		return;
	}
	/* Without a progress handler nothing can be waited for: answered at once. */
	wait = wait && c->h.progress && c->events && strlen(conn) < sizeof(cl->conn);
	log_msg(LOG_CTL, LOG_LVL_INFO, "%s %s", cmd, printable(conn, shown, sizeof(shown)));
	if (wait) {
		/* Events the handler itself causes (a failure at once) count too. */
		cl->mode = up ? CL_WAIT_UP : CL_WAIT_DOWN;
		snprintf(cl->conn, sizeof(cl->conn), "%s", conn);
		cl->failed = false;
		cl->in_handler = true;
	}
	rc = fn(c->h.ctx, conn, err, sizeof(err));
	cl->in_handler = false;
	if (rc < 0) {
		cl->mode = CL_REQUEST;
		error_response(w, err[0] ? err : "failed");
		return;
	}
	if (!wait) {
		ok_response(w);
		return;
	}
	/* Waiting: no idle close; the wait has its own end. */
	timer_cancel(c->loop, &cl->idle);
	cl->wait_ms = (uint32_t)timeout_ms;
	timer_arm_in(c->loop, &cl->wait_timer, cl->wait_ms);
	json_writer_reset(w); /* nothing to answer yet (wait_check may answer now) */
}

/* Handles one request line into w (left empty when the answer comes later). */
static void handle_request(struct client *cl, const char *line, size_t len, struct json_writer *w)
{
	struct control *c = cl->ctl;
	struct json_value *req = NULL;
	char err[CONTROL_ERR_MAX] = "";
	const char *cmd, *conn;
	char shown[CONTROL_SHOWN_MAX];
	int rc;

	json_writer_reset(w);
	if (json_parse(line, len, JSON_FLAT, &req, err, sizeof(err)) < 0) {
		char msg[CONTROL_ERR_MAX + 32];

		snprintf(msg, sizeof(msg), "bad request: %s", err);
		error_response(w, msg);
		return;
	}
	cmd = json_get_str(req, "cmd");
	conn = json_get_str(req, "conn");
	if (!cmd) {
		error_response(w, "bad request: \"cmd\" (a string) missing");
		goto out;
	}
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "list-conns") == 0) {
		bool list = cmd[0] == 'l';
		int (*fn)(void *, const char *, struct json_writer *) = list ? c->h.list_conns
									     : c->h.status;
		if (!fn) {
			error_response(w, list ? "list-conns: not supported" : "status: not supported");
			goto out;
		}
		json_writer_reset(w);
		json_obj_begin(w);
		json_kv_bool(w, "ok", true);
		rc = fn(c->h.ctx, conn, w);
		json_obj_end(w);
		if (rc < 0 || !json_writer_ok(w)) {
			char msg[CONTROL_ERR_MAX + 64];

			if (rc < 0 && conn)
				snprintf(msg, sizeof(msg), "no connection named '%s'",
					 printable(conn, shown, sizeof(shown)));
			else
				snprintf(msg, sizeof(msg), "%s%s", cmd,
					 rc < 0 ? " failed" : ": out of memory");
			error_response(w, msg);
		}
	} else if (strcmp(cmd, "up") == 0 || strcmp(cmd, "down") == 0) {
		handle_updown(cl, req, cmd, conn, w);
		if (cl->mode != CL_REQUEST) {
			json_value_free(req);
			wait_check(cl); /* the outcome may be known already; may free cl */
			return;
		}
	} else if (strcmp(cmd, "monitor") == 0) {
		if (!c->events) {
			error_response(w, "monitor: not supported");
			goto out;
		}
		if (conn && strlen(conn) >= sizeof(cl->conn)) {
			error_response(w, "monitor: \"conn\" too long");
			goto out;
		}
		log_msg(LOG_CTL, LOG_LVL_INFO, "monitor%s%s", conn ? " " : "",
			conn ? printable(conn, shown, sizeof(shown)) : "");
		snprintf(cl->conn, sizeof(cl->conn), "%s", conn ? conn : "");
		cl->mode = CL_MONITOR;
		timer_cancel(c->loop, &cl->idle); /* a monitor listens; it need not talk */
		json_writer_reset(w);
		json_obj_begin(w);
		json_kv_bool(w, "ok", true);
		json_kv_bool(w, "monitor", true);
		json_obj_end(w);
	} else if (strcmp(cmd, "rekey") == 0) {
		bool ike = false, reauth = false;
		if (json_get(req, "ike") && !json_get_bool(req, "ike", &ike)) {
			error_response(w, "rekey: \"ike\" must be true or false");
			goto out;
		}
		if (json_get(req, "reauth") && !json_get_bool(req, "reauth", &reauth)) {
			error_response(w, "rekey: \"reauth\" must be true or false");
			goto out;
		}
		if (!conn) {
			error_response(w, "rekey: \"conn\" missing");
			goto out;
		}
		if (reauth ? !c->h.reauth : !c->h.rekey) {
			error_response(w, "rekey: not supported");
			goto out;
		}
		log_msg(LOG_CTL, LOG_LVL_INFO, "rekey %s%s", printable(conn, shown, sizeof(shown)),
			reauth ? " (reauthentication)" : ike ? " (IKE SA)" : "");
		rc = reauth ? c->h.reauth(c->h.ctx, conn, err, sizeof(err))
			    : c->h.rekey(c->h.ctx, conn, ike, err, sizeof(err));
		if (rc < 0)
			error_response(w, err[0] ? err : "rekey failed");
		else
			ok_response(w);
	} else if (strcmp(cmd, "log") == 0) {
		handle_log(req, w);
	} else if (strcmp(cmd, "reload") == 0) {
		if (!c->h.reload) {
			error_response(w, "reload: not supported");
			goto out;
		}
		log_msg(LOG_CTL, LOG_LVL_INFO, "reload");
		json_writer_reset(w);
		json_obj_begin(w);
		json_kv_bool(w, "ok", true);
		rc = c->h.reload(c->h.ctx, w, err, sizeof(err));
		json_obj_end(w);
		if (rc < 0)
			error_response(w, err[0] ? err : "reload failed");
		else if (!json_writer_ok(w))
			error_response(w, "reload: out of memory (the configuration was reloaded)");
	} else if (strcmp(cmd, "metrics") == 0) {
		const char *fmt = json_get_str(req, "format");
		bool prom = fmt && strcmp(fmt, "prometheus") == 0;
		if (fmt && !prom && strcmp(fmt, "openmetrics") != 0) {
			error_response(w, "metrics: \"format\" must be \"openmetrics\" or \"prometheus\"");
			goto out;
		}
		if (!c->h.metrics) {
			error_response(w, "metrics: not supported");
			goto out;
		}
		json_writer_reset(w);
		json_obj_begin(w);
		json_kv_bool(w, "ok", true);
		rc = c->h.metrics(c->h.ctx, prom, w);
		json_obj_end(w);
		if (rc < 0 || !json_writer_ok(w))
			error_response(w, "metrics: out of memory");
	} else {
		char msg[96];

		snprintf(msg, sizeof(msg), "unknown command '%.40s'", cmd);
		error_response(w, msg);
	}
out:
	json_value_free(req);
}

/*
 * Asking clients are read only while nothing waits to be written (they read
 * their response before we look at their next request); waiting and
 * monitoring ones are always read, to notice when they go.
 */
static void client_update_events(struct client *cl)
{
	bool pending = cl->out_len > cl->out_off;
	uint32_t ev;

	if (cl->mode == CL_REQUEST)
		ev = pending ? EPOLLOUT : EPOLLIN;
	else
		ev = (cl->eof ? 0 : EPOLLIN) | (pending ? EPOLLOUT : 0);
	loop_mod_fd(cl->ctl->loop, cl->fd, ev);
}

/*
 * Answers the complete lines in the input buffer, one at a time, while
 * nothing is waiting to be written and the client is not waiting for an
 * outcome or monitoring. 1 when the client is gone (freed), 0, or -errno.
 */
static int process_lines(struct client *cl)
{
	struct json_writer w;
	int rc = 0;

	json_writer_init(&w);
	while (cl->out_len == cl->out_off && cl->mode == CL_REQUEST) {
		char *nl = memchr(cl->in, '\n', cl->in_len);
		size_t len;

		if (!nl) {
			if (cl->in_len >= CONTROL_LINE_MAX) {
				char msg[64];

				snprintf(msg, sizeof(msg), "request longer than %d octets",
					 CONTROL_LINE_MAX);
				error_response(&w, msg);
				cl->overflow = true;
				cl->in_len = 0;
				rc = queue_out(cl, json_writer_str(&w), json_writer_len(&w));
			}
			break;
		}
		len = (size_t)(nl - cl->in);
		if (len && cl->in[len - 1] == '\r')
			len--;
		/* Taken off the buffer first: the request may end with the client freed. */
		char *line = malloc(len + 1);
		if (!line) {
			rc = -ENOMEM;
			break;
		}
		memcpy(line, cl->in, len);
		line[len] = 0;
		cl->in_len -= (size_t)(nl - cl->in) + 1;
		memmove(cl->in, nl + 1, cl->in_len);
		if (len == 0) {
			/* Blank lines are harmless (interactive use): skip. */
			free(line);
			continue;
		}
		struct control *c = cl->ctl;
		struct client *was = cl;
		handle_request(cl, line, len, &w);
		free(line);
		/* A wait answered at once may have failed to write and freed the client. */
		bool alive = false;
		for (struct client *x = c->clients; x && !alive; x = x->next)
			alive = x == was;
		if (!alive) {
			json_writer_free(&w);
			return 1;
		}
		if (json_writer_len(&w))
			rc = queue_out(cl, json_writer_str(&w), json_writer_len(&w));
		if (rc < 0)
			break;
	}
	json_writer_free(&w);
	return rc;
}

/* Writes what is pending; 0 when done or blocked, -errno on error. */
static int flush_out(struct client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		cl->out_off += (size_t)n;
	}
	/* All written: a big buffer goes (a monitor's burst), a small one is kept. */
	cl->out_len = cl->out_off = 0;
	if (cl->out_cap > 65536) {
		free(cl->out);
		cl->out = NULL;
		cl->out_cap = 0;
	}
	return 0;
}

static void client_cb(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct client *cl = ctx;

	if (cl->mode == CL_REQUEST)
		timer_arm_in(loop, &cl->idle, cl->ctl->idle_ms); /* it did something */
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))
		goto close;
	if (events & EPOLLIN) {
		if (cl->in_cap < CONTROL_LINE_MAX) {
			char *p = realloc(cl->in, CONTROL_LINE_MAX);

			if (!p)
				goto close;
			cl->in = p;
			cl->in_cap = CONTROL_LINE_MAX;
		}
		/* A waiting client whose buffer is full of requests sent ahead: no room to read. */
		if (cl->in_len == cl->in_cap)
			goto close;
		ssize_t n = recv(fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, MSG_DONTWAIT);

		if (n == 0)
			cl->eof = true;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			goto close;
		else if (n > 0 && cl->mode == CL_MONITOR)
			cl->in_len = 0; /* a monitor's input means nothing */
		else if (n > 0)
			cl->in_len += (size_t)n;
	}
	for (;;) {
		int rc = process_lines(cl);

		if (rc == 1)
			return; /* freed */
		if (rc < 0 || flush_out(cl) < 0)
			goto close;
		if (cl->out_len > cl->out_off)
			break; /* blocked: wait for EPOLLOUT */
		if (cl->overflow)
			goto close;
		if (cl->mode != CL_REQUEST)
			break; /* waiting or monitoring: no requests read meanwhile */
		if (!memchr(cl->in, '\n', cl->in_len) && cl->in_len < CONTROL_LINE_MAX)
			break; /* need more input */
	}
	/*
	 * A client that closed its side is done once answered; one that waits
	 * or monitors may have closed only its writing side: it is closed when
	 * a write fails or it hangs up.
	 */
	if (cl->eof && cl->mode == CL_REQUEST && cl->out_len == cl->out_off)
		goto close;
	client_update_events(cl);
	return;
close:
	client_free(cl);
}

static void idle_cb(struct loop *loop, struct timer *t, void *ctx)
{
	struct client *cl = ctx;

	(void)loop;
	(void)t;
	log_msg(LOG_CTL, LOG_LVL_INFO, "control client idle for %u ms: closed", cl->ctl->idle_ms);
	client_free(cl);
}

/*
 * A client beyond CONTROL_CLIENTS_MAX: told why, then closed (the
 * response fits the socket buffer; a client that connects and then
 * writes still reads it, xikectl does).
 */
static void refuse_client(int cfd)
{
	char line[128];
	int n = snprintf(line, sizeof(line),
			 "{\"ok\":false,\"error\":\"xiked serves %d control clients already: try again later\"}\n",
			 CONTROL_CLIENTS_MAX);
	(void)!send(cfd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(cfd);
}

static void accept_cb(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct control *c = ctx;

	(void)events;
	for (;;) {
		struct client *cl;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_msg(LOG_CTL, LOG_LVL_WARN, "accept: %s", strerror(errno));
			return;
		}
		if (c->n_clients >= CONTROL_CLIENTS_MAX) {
			log_msg(LOG_CTL, LOG_LVL_WARN, "refusing client: %d already connected",
				CONTROL_CLIENTS_MAX);
			refuse_client(cfd);
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (!cl || loop_add_fd(loop, cfd, EPOLLIN, client_cb, cl) < 0) {
			free(cl);
			close(cfd);
			continue;
		}
		cl->fd = cfd;
		cl->ctl = c;
		timer_init(&cl->idle, idle_cb, cl);
		timer_init(&cl->wait_timer, wait_timeout_cb, cl);
		timer_arm_in(loop, &cl->idle, c->idle_ms);
		cl->next = c->clients;
		if (c->clients)
			c->clients->prev = cl;
		c->clients = cl;
		c->n_clients++;
	}
}

/* mkdir -p of path's parent directory. */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A socket file at the path: live daemon (-EADDRINUSE) or stale (removed). */
static int clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0)
		return -EADDRINUSE;
	if (unlink(sun->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int control_new(struct loop *loop, const char *path, const struct control_handlers *h,
		struct control **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *c;
	mode_t old_umask;
	int err;

	*out = NULL;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->idle_ms = CONTROL_IDLE_MS;
	c->monitor_max = CONTROL_MONITOR_MAX;
	c->loop = loop;
	c->h = *h;
	c->fd = -1;

	err = make_parent(path);
	if (err)
		goto fail;
	err = clear_stale(&sun);
	if (err)
		goto fail;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = -errno;
		goto fail;
	}
	/* The socket is created with mode 0600 from the start: no window. */
	old_umask = umask(0177);
	err = bind(c->fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	umask(old_umask);
	if (err)
		goto fail;
	strcpy(c->path, path);
	if (chmod(path, 0600) < 0 || listen(c->fd, 16) < 0) {
		err = -errno;
		goto fail;
	}
	err = loop_add_fd(loop, c->fd, EPOLLIN, accept_cb, c);
	if (err)
		goto fail;
	log_msg(LOG_CTL, LOG_LVL_INFO, "control socket %s", path);
	*out = c;
	return 0;
fail:
	log_msg(LOG_CTL, LOG_LVL_ERROR, "control socket %s: %s", path,
		err == -EADDRINUSE ? "another daemon is listening there" : strerror(-err));
	if (c->fd >= 0)
		close(c->fd);
	if (c->path[0])
		unlink(c->path);
	free(c);
	return err;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	event_unsubscribe(c->events, on_event, c);
	while (c->clients)
		client_free(c->clients);
	loop_del_fd(c->loop, c->fd);
	close(c->fd);
	unlink(c->path);
	free(c);
}

void control_set_idle_ms(struct control *c, uint32_t ms)
{
	c->idle_ms = ms;
}

int control_attach_events(struct control *c, struct event_bus *b)
{
	int rc = event_subscribe(b, on_event, c);

	if (rc == 0)
		c->events = b;
	return rc;
}

void control_set_monitor_max(struct control *c, size_t octets)
{
	c->monitor_max = octets;
}
