/*
 * xikectl: talks to xiked over its control socket (one JSON object per
 * line each way; see xiked.conf(5), CONTROL PROTOCOL, and xikectl(8)).
 *
 *   xikectl [-s SOCKET] COMMAND [ARGS]    (xikectl --help lists them)
 *
 * up and down wait for the outcome (the daemon answers when the conn is
 * up, or down, or says why not) unless --no-wait; monitor prints the
 * daemon's event lines until interrupted.
 *
 * Exit status: 0 on success, 1 when the daemon reports an error (an up
 * that failed: its reason) or cannot be reached, 2 on a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <stdint.h>
#include <unistd.h>

#include "daemon/json.h"
#include "daemon/text.h"

#define DEFAULT_SOCKET "/run/xiked/xiked.sock"
#ifndef XIKED_VERSION
#define XIKED_VERSION "?"
#endif
/* up/down: how long the daemon waits for the outcome unless --timeout (seconds). */
#define WAIT_DEFAULT_S 30
/* How long we wait for xiked's answer (a status of 100,000 SAs takes about a second). */
#define RESPONSE_TIMEOUT_S 120
#define STR(x) #x
#define XSTR(x) STR(x)
/* Largest response we accept, octets (a status of many SAs can be large). */
#define RESPONSE_MAX (256u << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: xikectl [-s SOCKET] COMMAND [ARGS]\n"
		   "  status [CONN] [--json]      IKE and Child SAs (of CONN), last errors\n"
		   "  list-conns [CONN] [--json]  configured conns: state, proposals, selectors\n"
		   "  up CONN [--no-wait] [--timeout S]\n"
		   "                              initiate CONN and wait until it is up (or why not)\n"
		   "  down CONN [--no-wait] [--timeout S]\n"
		   "                              delete CONN's IKE SAs and wait until they are gone\n"
		   "  rekey CONN [--ike|--reauth] rekey CONN's Child SAs (or IKE SA, or reauthenticate)\n"
		   "  reload [--json]             read the configuration again\n"
		   "  monitor [CONN]              print events as JSON lines until interrupted\n"
		   "  log [[GROUP] LEVEL] [--json] set (and show) the log levels\n"
		   "  metrics [--prometheus]      OpenMetrics text (or Prometheus 0.0.4)\n"
		   "  -s SOCKET     control socket (default " DEFAULT_SOCKET ")\n"
		   "  --timeout S   up/down: give up waiting after S seconds (default %d)\n"
		   "  -h, --help    this text;  -V, --version  the version\n", WAIT_DEFAULT_S);
}

/* rcv_timeout_s 0: wait for ever (monitor). */
static int connect_socket(const char *path, unsigned rcv_timeout_s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "xikectl: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "xikectl: socket: %s\n", strerror(errno));
		return -1;
	}
	/* Never wait for ever on a daemon that does not answer. */
	struct timeval tv = {.tv_sec = rcv_timeout_s};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	tv.tv_sec = RESPONSE_TIMEOUT_S;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		fprintf(stderr, "xikectl: cannot connect to xiked at %s: %s%s\n", path, strerror(e),
			e == ENOENT || e == ECONNREFUSED ? " (is xiked running?)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Lines from the daemon: what was read past a line stays for the next one (monitor). */
struct reader {
	char *buf;
	size_t len, cap, used; /* used: the line handed out last, with its newline */
	unsigned timeout_s;    /* for the message */
};

/* The next line (without the newline, NUL-terminated; valid until the next call); NULL on error. */
static char *read_line(int fd, struct reader *r, size_t *out_len, bool quiet)
{
	if (r->used) {
		memmove(r->buf, r->buf + r->used, r->len - r->used);
		r->len -= r->used;
		r->used = 0;
	}
	for (;;) {
		char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
		ssize_t n;

		if (nl) {
			*out_len = (size_t)(nl - r->buf);
			*nl = '\0';
			r->used = *out_len + 1;
			return r->buf;
		}
		if (r->len + 1 >= r->cap) {
			char *p;

			if (r->cap >= RESPONSE_MAX) {
				fprintf(stderr, "xikectl: response larger than %u octets\n", RESPONSE_MAX);
				return NULL;
			}
			p = realloc(r->buf, r->cap ? r->cap * 2 : 4096);
			if (!p)
				return NULL;
			r->buf = p;
			r->cap = r->cap ? r->cap * 2 : 4096;
		}
		n = recv(fd, r->buf + r->len, r->cap - r->len - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!quiet && (errno == EAGAIN || errno == EWOULDBLOCK))
				fprintf(stderr, "xikectl: reading the response: no answer within %u s\n",
					r->timeout_s);
			else if (!quiet)
				fprintf(stderr, "xikectl: reading the response: %s\n", strerror(errno));
			return NULL;
		}
		if (n == 0) {
			if (!quiet)
				fprintf(stderr, "xikectl: xiked closed the connection%s\n",
					r->len ? " in the middle of a line" : "");
			return NULL;
		}
		r->len += (size_t)n;
	}
}

/* Longest member text shown (an escaped octet takes four). */
#define FIELD_MAX 1024

/* A member as text: strings escaped (text.h), integers in decimal, else NULL. */
static const char *field(const struct json_value *obj, const char *key, char *buf, size_t len)
{
	const struct json_value *v = json_get(obj, key);

	if (!v)
		return NULL;
	/* Peers choose identities and certificate subjects: escaped for the terminal. */
	if (v->type == JSON_STRING)
		return text_escape(v->u.str.s, v->u.str.len, buf, len);
	if (v->type == JSON_NUMBER) {
		if (v->u.num.is_int)
			snprintf(buf, len, "%" PRId64, v->u.num.i);
		else
			snprintf(buf, len, "%g", v->u.num.d);
		return buf;
	}
	if (v->type == JSON_BOOL)
		return v->u.b ? "true" : "false";
	return NULL;
}

#define FIELD(obj, key) field(obj, key, (char[FIELD_MAX]){ 0 }, FIELD_MAX)

static const char *or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* "'a.example' @ 192.0.2.1[500]" */
static void print_endpoint(const char *label, const struct json_value *ep)
{
	const char *id = FIELD(ep, "id"), *addr = FIELD(ep, "addr"), *port = FIELD(ep, "port");

	printf("  %-6s ", label);
	if (id)
		printf("'%s' @ ", id);
	printf("%s", or(addr, "?"));
	if (port)
		printf("[%s]", port);
	/* Authentication: "psk", "pubkey ecdsa-sha256", then the certificate or "raw key". */
	const char *auth = FIELD(ep, "auth"), *sig = FIELD(ep, "signature"), *v;
	const char *subject = FIELD(ep, "cert_subject"), *issuer = FIELD(ep, "cert_issuer");

	if (auth)
		printf(" %s%s%s", auth, sig ? " " : "", sig ? sig : "");
	if ((v = FIELD(ep, "raw_key")) && strcmp(v, "true") == 0)
		printf(", raw key");
	printf("\n");
	if (subject)
		printf("         cert '%s' issued by '%s'\n", subject, or(issuer, "?"));
}

static void print_ts_list(const char *label, const struct json_value *list)
{
	printf("    %-6s", label);
	if (!list || list->type != JSON_ARRAY || list->u.arr.n == 0) {
		printf(" -\n");
		return;
	}
	for (size_t i = 0; i < list->u.arr.n; i++) {
		const struct json_value *t = &list->u.arr.items[i];

		printf(" %s", t->type == JSON_STRING ? t->u.str.s : "?");
	}
	printf("\n");
}

static void print_child(const struct json_value *ch)
{
	printf("  %s: %s", or(FIELD(ch, "name"), "?"), or(FIELD(ch, "state"), "?"));
	if (FIELD(ch, "mode"))
		printf(", %s", FIELD(ch, "mode"));
	if (FIELD(ch, "esp_proposal"))
		printf(", ESP:%s", FIELD(ch, "esp_proposal"));
	if (FIELD(ch, "rekey_in_s"))
		printf(", rekeying in %ss", FIELD(ch, "rekey_in_s"));
	printf("\n");
	/* Route-based (xiked.conf.5): the interface, and what the SAs carry. */
	if (FIELD(ch, "interface") || FIELD(ch, "if_id") || FIELD(ch, "mark"))
		printf("    interface %s%s%s%s%s\n", or(FIELD(ch, "interface"), "-"),
		       FIELD(ch, "if_id") ? ", if_id " : "", or(FIELD(ch, "if_id"), ""),
		       FIELD(ch, "mark") ? ", mark " : "", or(FIELD(ch, "mark"), ""));
	printf("    in  %s, %s bytes, %s packets\n", or(FIELD(ch, "spi_in"), "-"),
	       or(FIELD(ch, "bytes_in"), "0"), or(FIELD(ch, "packets_in"), "0"));
	printf("    out %s, %s bytes, %s packets\n", or(FIELD(ch, "spi_out"), "-"),
	       or(FIELD(ch, "bytes_out"), "0"), or(FIELD(ch, "packets_out"), "0"));
	print_ts_list("local", json_get(ch, "local_ts"));
	print_ts_list("remote", json_get(ch, "remote_ts"));
}

/* "last error of CONN: TIME event: reason" lines (status, list-conns). */
static void print_error(const char *indent, const char *conn, const struct json_value *e)
{
	printf("%slast error%s%s%s: %s %s: %s\n", indent, conn ? " of " : "", conn ? conn : "",
	       "", or(FIELD(e, "time"), "?"), or(FIELD(e, "event"), "?"),
	       or(FIELD(e, "reason"), "?"));
}

/* "LABEL a, b" when list is a non-empty array of strings (status). */
static void print_addr_list(const char *label, const struct json_value *list)
{
	if (!list || list->type != JSON_ARRAY || list->u.arr.n == 0)
		return;
	printf("%s", label);
	for (size_t i = 0; i < list->u.arr.n; i++) {
		const struct json_value *t = &list->u.arr.items[i];
		char b[FIELD_MAX];

		printf("%s %s", i ? "," : "",
		       t->type == JSON_STRING ? text_escape(t->u.str.s, t->u.str.len, b, sizeof(b)) : "?");
	}
	printf("\n");
}

/* swanctl --list-pools style: each pool with its leases. */
static void print_pools(const struct json_value *pools)
{
	for (size_t i = 0; pools && pools->type == JSON_ARRAY && i < pools->u.arr.n; i++) {
		const struct json_value *p = &pools->u.arr.items[i], *l;

		if (p->type != JSON_OBJECT)
			continue;
		printf("pool %s: %s online, %s offline of %s addresses\n", or(FIELD(p, "pool"), "?"),
		       or(FIELD(p, "online"), "0"), or(FIELD(p, "offline"), "0"),
		       or(FIELD(p, "size"), "?"));
		l = json_get(p, "leases");
		for (size_t j = 0; l && l->type == JSON_ARRAY && j < l->u.arr.n; j++) {
			const struct json_value *x = &l->u.arr.items[j];
			const char *on = FIELD(x, "online");

			if (x->type != JSON_OBJECT)
				continue;
			printf("  %s %s '%s'\n", or(FIELD(x, "address"), "?"),
			       on && strcmp(on, "true") == 0 ? "online " : "offline",
			       or(FIELD(x, "identity"), "?"));
		}
	}
}

/* swanctl --list-sas style: one block per IKE SA, Child SAs indented; then the last errors. */
static void print_status(const struct json_value *resp)
{
	const struct json_value *sas = json_get(resp, "ike_sas");
	const struct json_value *errs = json_get(resp, "conn_errors");

	if (!sas || sas->type != JSON_ARRAY || sas->u.arr.n == 0)
		printf("no IKE SAs\n");
	for (size_t i = 0; sas && sas->type == JSON_ARRAY && i < sas->u.arr.n; i++) {
		const struct json_value *sa = &sas->u.arr.items[i];
		const struct json_value *ep, *children;
		const char *v;

		if (sa->type != JSON_OBJECT)
			continue;
		printf("%s: %s", or(FIELD(sa, "name"), "?"), or(FIELD(sa, "state"), "?"));
		if ((v = FIELD(sa, "spi_i")))
			printf(", %s_i", v);
		if ((v = FIELD(sa, "spi_r")))
			printf(" %s_r", v);
		printf("\n");
		if ((ep = json_get(sa, "local")))
			print_endpoint("local", ep);
		if ((ep = json_get(sa, "remote")))
			print_endpoint("remote", ep);
		const struct json_value *mob = json_get(sa, "mobike");
		if ((v = FIELD(sa, "moves")) && (strcmp(v, "0") != 0 || (mob && mob->type == JSON_BOOL && mob->u.b)))
			printf("  path moved %s time%s%s\n", v, strcmp(v, "1") == 0 ? "" : "s",
			       mob && mob->type == JSON_BOOL && mob->u.b ? " (MOBIKE)" : "");
		/* Remote access: the virtual IPs, and on a laptop what the gateway said. */
		print_addr_list("  virtual IP", json_get(sa, "virtual_ips"));
		print_addr_list("  DNS", json_get(sa, "dns"));
		print_addr_list("  DNS domains", json_get(sa, "dns_domains"));
		print_addr_list("  split", json_get(sa, "split"));
		if ((v = FIELD(sa, "ike_proposal")))
			printf("  %s\n", v);
		if ((v = FIELD(sa, "established_s")))
			printf("  established %ss ago", v);
		if ((v = FIELD(sa, "rekey_in_s")))
			printf(", rekeying in %ss", v);
		printf("\n");
		children = json_get(sa, "child_sas");
		if (children && children->type == JSON_ARRAY) {
			for (size_t j = 0; j < children->u.arr.n; j++) {
				if (children->u.arr.items[j].type == JSON_OBJECT)
					print_child(&children->u.arr.items[j]);
			}
		}
	}
	print_pools(json_get(resp, "pools"));
	for (size_t i = 0; errs && errs->type == JSON_ARRAY && i < errs->u.arr.n; i++)
		if (errs->u.arr.items[i].type == JSON_OBJECT)
			print_error("", FIELD(&errs->u.arr.items[i], "conn"), &errs->u.arr.items[i]);
}

/* An array of strings on one line, escaped ("-" when empty). */
static void print_list(const char *label, const struct json_value *list)
{
	printf("%s", label);
	if (!list || list->type != JSON_ARRAY || list->u.arr.n == 0)
		printf(" -");
	for (size_t i = 0; list && list->type == JSON_ARRAY && i < list->u.arr.n; i++) {
		const struct json_value *t = &list->u.arr.items[i];
		char b[FIELD_MAX];

		printf("%s %s", i ? "," : "",
		       t->type == JSON_STRING ? text_escape(t->u.str.s, t->u.str.len, b, sizeof(b)) : "?");
	}
	printf("\n");
}

/* swanctl --list-conns style: one block per configured conn. */
static void print_conns(const struct json_value *resp)
{
	const struct json_value *conns = json_get(resp, "conns");

	if (!conns || conns->type != JSON_ARRAY || conns->u.arr.n == 0) {
		printf("no connections configured\n");
		return;
	}
	for (size_t i = 0; i < conns->u.arr.n; i++) {
		const struct json_value *c = &conns->u.arr.items[i], *ch, *e;
		const char *v;

		if (c->type != JSON_OBJECT)
			continue;
		printf("%s: %s", or(FIELD(c, "name"), "?"), or(FIELD(c, "state"), "?"));
		if ((v = FIELD(c, "ike_sas")) && strcmp(v, "0") != 0)
			printf(" (%s IKE SA%s)", v, strcmp(v, "1") == 0 ? "" : "s");
		printf(", start %s\n", or(FIELD(c, "start"), "?"));
		printf("  local  %s", or(FIELD(c, "local_addr"), "?"));
		if ((v = FIELD(c, "local_id")) && v[0])
			printf(", id '%s'", v);
		printf(", auth %s\n", or(FIELD(c, "local_auth"), "?"));
		printf("  remote %s", or(FIELD(c, "remote_addr"), "?"));
		if ((v = FIELD(c, "remote_id")) && v[0])
			printf(", id '%s'", v);
		printf(", auth %s\n", or(FIELD(c, "remote_auth"), "?"));
		print_list("  ike   ", json_get(c, "ike_proposals"));
		bool mobike = (v = FIELD(c, "mobike")) && strcmp(v, "true") == 0;
		bool reauth = (v = FIELD(c, "reauth")) && strcmp(v, "true") == 0;
		printf("  dpd %ss (%s), mobike %s, unique %s, lifetime %ss, ike_lifetime %ss%s\n",
		       or(FIELD(c, "dpd_s"), "?"), or(FIELD(c, "dpd_action"), "?"), mobike ? "yes" : "no",
		       or(FIELD(c, "unique"), "?"), or(FIELD(c, "lifetime_s"), "?"),
		       or(FIELD(c, "ike_lifetime_s"), "?"), reauth ? ", reauth" : "");
		if (FIELD(c, "if_id") || FIELD(c, "mark") || FIELD(c, "interface") || FIELD(c, "vti"))
			printf("  route-based:%s%s%s%s%s%s%s%s\n",
			       FIELD(c, "if_id") ? " if_id " : "", or(FIELD(c, "if_id"), ""),
			       FIELD(c, "mark") ? " mark " : "", or(FIELD(c, "mark"), ""),
			       FIELD(c, "interface") ? " interface " : "", or(FIELD(c, "interface"), ""),
			       FIELD(c, "vti") ? " vti " : "", or(FIELD(c, "vti"), ""));
		if (json_get(c, "pools"))
			print_list("  pools ", json_get(c, "pools"));
		if (json_get(c, "dns"))
			print_list("  dns   ", json_get(c, "dns"));
		if (json_get(c, "split"))
			print_list("  split ", json_get(c, "split"));
		if (json_get(c, "dns_domains"))
			print_list("  dns_domain", json_get(c, "dns_domains"));
		if ((v = FIELD(c, "vip")))
			printf("  vip %s\n", v);
		ch = json_get(c, "children");
		for (size_t j = 0; ch && ch->type == JSON_ARRAY && j < ch->u.arr.n; j++) {
			const struct json_value *x = &ch->u.arr.items[j];

			if (x->type != JSON_OBJECT)
				continue;
			printf("  %s: %s\n", or(FIELD(x, "name"), "?"), or(FIELD(x, "mode"), "?"));
			print_list("    esp   ", json_get(x, "esp_proposals"));
			print_ts_list("local", json_get(x, "local_ts"));
			print_ts_list("remote", json_get(x, "remote_ts"));
		}
		if ((e = json_get(c, "last_error")) && e->type == JSON_OBJECT)
			print_error("  ", NULL, e);
	}
}

/*
 * A JSON line with every non-ASCII character as a \u escape: still the
 * same JSON, and nothing a peer put in an identity can drive the terminal
 * (the daemon's JSON escapes the ASCII controls already).
 */
static void print_ascii_json(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n;

		if (p[i] < 0x80) {
			putchar(p[i++]);
			continue;
		}
		/* The daemon writes valid UTF-8 (json.c); anything else becomes U+FFFD. */
		if ((p[i] & 0xe0) == 0xc0 && i + 1 < len)
			cp = p[i] & 0x1f, n = 2;
		else if ((p[i] & 0xf0) == 0xe0 && i + 2 < len)
			cp = p[i] & 0x0f, n = 3;
		else if ((p[i] & 0xf8) == 0xf0 && i + 3 < len)
			cp = p[i] & 0x07, n = 4;
		else
			cp = 0xfffd, n = 1;
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				cp = 0xfffd;
				n = k;
				break;
			}
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp > 0xffff) {
			cp -= 0x10000;
			printf("\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
		} else {
			printf("\\u%04x", cp);
		}
		i += n;
	}
	putchar('\n');
}

/* monitor: the daemon's event lines, until it closes the connection (or we are interrupted). */
static int run_monitor(int fd, struct reader *r)
{
	char *line;
	size_t len;

	while ((line = read_line(fd, r, &len, false))) {
		print_ascii_json(line, len);
		if (fflush(stdout) != 0)
			return 1; /* the reader went (a pipe closed) */
	}
	return 1;
}

static bool is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

int main(int argc, char **argv)
{
	const char *sock = DEFAULT_SOCKET, *cmd, *conn = NULL, *err;
	bool as_json = false, ok = false, rekey_ike = false, rekey_reauth = false, wait = true;
	bool prometheus = false;
	unsigned long timeout_s = WAIT_DEFAULT_S;
	/* log: show the levels; log LEVEL: every group; log GROUP LEVEL: one group. */
	const char *log_group = NULL, *log_level = NULL, *log_args[2];
	size_t n_log = 0;
	struct json_writer w;
	struct json_value *resp = NULL;
	struct reader r = {0};
	char perr[160], *line = NULL;
	size_t line_len = 0;
	int fd = -1, rc = 1, i = 1;

	if (argc > 1 && (is(argv[1], "-h") || is(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && (is(argv[1], "-V") || is(argv[1], "--version"))) {
		printf("xikectl (xiked) %s\n", XIKED_VERSION);
		return 0;
	}
	if (i < argc && is(argv[i], "-s")) {
		if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		sock = argv[i + 1];
		i += 2;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[i++];
	if (is(cmd, "-h") || is(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	if (is(cmd, "-V") || is(cmd, "--version")) {
		printf("xikectl (xiked) %s\n", XIKED_VERSION);
		return 0;
	}
	bool takes_conn = is(cmd, "up") || is(cmd, "down") || is(cmd, "rekey");
	bool may_conn = is(cmd, "status") || is(cmd, "list-conns") || is(cmd, "monitor");
	if (!takes_conn && !may_conn && !is(cmd, "reload") && !is(cmd, "log") &&
	    !is(cmd, "metrics")) {
		fprintf(stderr, "xikectl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];
		bool updown = is(cmd, "up") || is(cmd, "down");

		if (is(a, "--json") && (is(cmd, "status") || is(cmd, "reload") || is(cmd, "list-conns") ||
					is(cmd, "log"))) {
			as_json = true;
		} else if (is(a, "--prometheus") && is(cmd, "metrics")) {
			/* OpenMetrics, or Prometheus' older text format (promtool check metrics reads that). */
			prometheus = true;
		} else if (is(cmd, "log") && a[0] != '-' && n_log < 2) {
			log_args[n_log++] = a;
		} else if (is(a, "--ike") && is(cmd, "rekey") && !rekey_reauth) {
			rekey_ike = true;
		} else if (is(a, "--reauth") && is(cmd, "rekey") && !rekey_ike) {
			rekey_reauth = true;
		} else if (is(a, "--no-wait") && updown) {
			wait = false;
		} else if (is(a, "--timeout") && updown && i + 1 < argc) {
			char *end;

			errno = 0;
			timeout_s = strtoul(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || timeout_s < 1 || timeout_s > 86400) {
				fprintf(stderr, "xikectl: --timeout: seconds from 1 to 86400\n");
				return 2;
			}
		} else if (a[0] != '-' && !conn && (takes_conn || may_conn)) {
			conn = a;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (takes_conn && !conn) {
		usage(stderr);
		return 2;
	}
	if (n_log == 2)
		log_group = log_args[0];
	if (n_log)
		log_level = log_args[n_log - 1];

	json_writer_init(&w);
	json_obj_begin(&w);
	json_kv_str(&w, "cmd", cmd);
	if (conn)
		json_kv_str(&w, "conn", conn);
	if (rekey_ike)
		json_kv_bool(&w, "ike", true);
	if (rekey_reauth)
		json_kv_bool(&w, "reauth", true);
	if (log_group)
		json_kv_str(&w, "group", log_group);
	if (log_level)
		json_kv_str(&w, "level", log_level);
	if (prometheus)
		json_kv_str(&w, "format", "prometheus");
	if ((is(cmd, "up") || is(cmd, "down")) && wait) {
		json_kv_bool(&w, "wait", true);
		json_kv_uint(&w, "timeout_ms", (uint64_t)timeout_s * 1000);
	}
	json_obj_end(&w);
	if (!json_writer_ok(&w)) {
		fprintf(stderr, "xikectl: out of memory\n");
		goto out;
	}

	/* The daemon answers a wait when it ends; we wait a little longer than it does. */
	r.timeout_s = is(cmd, "monitor") ? 0
		    : (is(cmd, "up") || is(cmd, "down")) && wait ? (unsigned)timeout_s + 10
								   : RESPONSE_TIMEOUT_S;
	fd = connect_socket(sock, r.timeout_s);
	if (fd < 0)
		goto out;
	if (write_all(fd, json_writer_str(&w), json_writer_len(&w)) < 0 ||
	    write_all(fd, "\n", 1) < 0) {
		/* A daemon that refuses us (too many clients) has answered before closing. */
		int e = errno;
		line = read_line(fd, &r, &line_len, true);
		if (!line) {
			fprintf(stderr, "xikectl: sending the request: %s\n", strerror(e));
			goto out;
		}
	} else {
		line = read_line(fd, &r, &line_len, false);
	}
	if (!line)
		goto out;
	if (json_parse(line, line_len, 0, &resp, perr, sizeof(perr)) < 0) {
		fprintf(stderr, "xikectl: bad response from xiked: %s\n", perr);
		goto out;
	}
	if (!json_get_bool(resp, "ok", &ok)) {
		fprintf(stderr, "xikectl: bad response from xiked: no \"ok\"\n");
		goto out;
	}
	if (!ok) {
		char b[FIELD_MAX];

		err = FIELD(resp, "error");
		fprintf(stderr, "xikectl: %s\n", err ? text_escape(err, strlen(err), b, sizeof(b))
						    : "failed (no message)");
		goto out;
	}
	if (is(cmd, "monitor")) {
		rc = run_monitor(fd, &r);
		goto out;
	}
	if (as_json)
		print_ascii_json(line, line_len);
	else if (is(cmd, "status"))
		print_status(resp);
	else if (strcmp(cmd, "metrics") == 0 && (err = json_get_str(resp, "text")))
		fputs(err, stdout); /* the exposition as it is: ends with a newline */
	else if (is(cmd, "list-conns"))
		print_conns(resp);
	else if ((err = json_get_str(resp, "message"))) {
		/* Line by line, each escaped: conn names come from the configuration file. */
		for (const char *p = err, *nl; *p; p = nl + 1) {
			char b[FIELD_MAX];

			nl = strchr(p, '\n');
			if (!nl)
				nl = p + strlen(p);
			printf("%s\n", text_escape(p, (size_t)(nl - p), b, sizeof(b)));
			if (!*nl)
				break;
		}
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	json_value_free(resp);
	free(r.buf);
	json_writer_free(&w);
	if (fd >= 0)
		close(fd);
	return rc;
}
