/*
 * xikectl: talks to xiked over its control socket (one JSON object per
 * line each way; see xiked.conf(5), CONTROL PROTOCOL).
 *
 *   xikectl [-s SOCKET] status [--json] | up CONN | down CONN | rekey CONN [--ike|--reauth] |
 *           reload [--json] | log [[GROUP] LEVEL] [--json] | metrics [--prometheus]
 *
 * Exit status: 0 on success, 1 when the daemon reports an error or cannot
 * be reached, 2 on a usage error.
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
#include <unistd.h>

#include "daemon/json.h"
#include "daemon/text.h"

#define DEFAULT_SOCKET "/run/xiked/xiked.sock"
/* How long we wait for xiked's answer (a status of 100,000 SAs takes about a second). */
#define RESPONSE_TIMEOUT_S 120
#define STR(x) #x
#define XSTR(x) STR(x)
/* Largest response we accept, octets (a status of many SAs can be large). */
#define RESPONSE_MAX (256u << 20)

static void usage(FILE *f)
{
	fprintf(f, "usage: xikectl [-s SOCKET] status [--json] | up CONN | down CONN | "
		   "rekey CONN [--ike|--reauth] | reload [--json] | log [[GROUP] LEVEL] [--json] |\n"
		   "       metrics [--prometheus]\n"
		   "  -s SOCKET   control socket (default " DEFAULT_SOCKET ")\n");
}

static int connect_socket(const char *path)
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
	struct timeval tv = {.tv_sec = RESPONSE_TIMEOUT_S};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
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

/* Reads one line (without the newline) into a new buffer; NULL on error (said unless quiet). */
static char *read_line(int fd, size_t *out_len, bool quiet)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	for (;;) {
		char *nl;
		ssize_t n;

		if (len == cap) {
			char *p;

			if (cap >= RESPONSE_MAX) {
				fprintf(stderr, "xikectl: response larger than %u octets\n", RESPONSE_MAX);
				goto fail;
			}
			p = realloc(buf, cap * 2);
			if (!p)
				goto fail;
			buf = p;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (!quiet)
				fprintf(stderr, "xikectl: reading the response: %s\n",
					errno == EAGAIN || errno == EWOULDBLOCK
						? "no answer within " XSTR(RESPONSE_TIMEOUT_S) " s"
						: strerror(errno));
			goto fail;
		}
		if (n == 0) {
			if (!quiet)
				fprintf(stderr, "xikectl: xiked closed the connection without answering\n");
			goto fail;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*out_len = (size_t)(nl - buf);
			*nl = '\0';
			return buf;
		}
	}
fail:
	free(buf);
	return NULL;
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

/* swanctl --list-sas style: one block per IKE SA, Child SAs indented. */
static void print_status(const struct json_value *resp)
{
	const struct json_value *sas = json_get(resp, "ike_sas");

	if (!sas || sas->type != JSON_ARRAY || sas->u.arr.n == 0) {
		printf("no IKE SAs\n");
		return;
	}
	for (size_t i = 0; i < sas->u.arr.n; i++) {
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
}

int main(int argc, char **argv)
{
	const char *sock = DEFAULT_SOCKET, *cmd, *conn = NULL, *err;
	const char *log_group = NULL, *log_level = NULL;
	bool as_json = false, ok = false, rekey_ike = false, rekey_reauth = false, prometheus = false;
	struct json_writer w;
	struct json_value *resp = NULL;
	char perr[160], *line = NULL;
	size_t line_len = 0;
	int fd = -1, rc = 1, i = 1;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (i < argc && strcmp(argv[i], "-s") == 0) {
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
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "reload") == 0) {
		if (i < argc && strcmp(argv[i], "--json") == 0) {
			as_json = true;
			i++;
		}
	} else if (strcmp(cmd, "up") == 0 || strcmp(cmd, "down") == 0) {
		if (i >= argc) {
			usage(stderr);
			return 2;
		}
		conn = argv[i++];
	} else if (strcmp(cmd, "log") == 0) {
		/* log: show the levels; log LEVEL: every group; log GROUP LEVEL: one group. */
		if (argc > i && strcmp(argv[argc - 1], "--json") == 0) {
			as_json = true;
			argc--;
		}
		if (argc - i == 2)
			log_group = argv[i++];
		if (argc - i == 1)
			log_level = argv[i++];
	} else if (strcmp(cmd, "rekey") == 0) {
		if (i >= argc) {
			usage(stderr);
			return 2;
		}
		conn = argv[i++];
		if (i < argc && strcmp(argv[i], "--ike") == 0) {
			rekey_ike = true;
			i++;
		} else if (i < argc && strcmp(argv[i], "--reauth") == 0) {
			rekey_reauth = true;
			i++;
		}
	} else if (strcmp(cmd, "metrics") == 0) {
		/* OpenMetrics, or Prometheus' older text format (promtool check metrics reads that). */
		if (i < argc && strcmp(argv[i], "--prometheus") == 0) {
			prometheus = true;
			i++;
		}
	} else {
		fprintf(stderr, "xikectl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	if (i != argc) {
		usage(stderr);
		return 2;
	}

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
	json_obj_end(&w);
	if (!json_writer_ok(&w)) {
		fprintf(stderr, "xikectl: out of memory\n");
		goto out;
	}

	fd = connect_socket(sock);
	if (fd < 0)
		goto out;
	if (write_all(fd, json_writer_str(&w), json_writer_len(&w)) < 0 ||
	    write_all(fd, "\n", 1) < 0) {
		/* A daemon that refuses us (too many clients) has answered before closing. */
		int e = errno;
		line = read_line(fd, &line_len, true);
		if (!line) {
			fprintf(stderr, "xikectl: sending the request: %s\n", strerror(e));
			goto out;
		}
	} else {
		line = read_line(fd, &line_len, false);
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
		err = json_get_str(resp, "error");
		fprintf(stderr, "xikectl: %s\n", err ? err : "failed (no message)");
		goto out;
	}
	if (as_json)
		printf("%s\n", line);
	else if (strcmp(cmd, "status") == 0)
		print_status(resp);
	else if (strcmp(cmd, "metrics") == 0 && (err = json_get_str(resp, "text")))
		fputs(err, stdout); /* the exposition as it is: ends with a newline */
	else if ((err = json_get_str(resp, "message"))) {
		printf("%s\n", err);
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	json_value_free(resp);
	free(line);
	json_writer_free(&w);
	if (fd >= 0)
		close(fd);
	return rc;
}
