/*
 * What only the configuration parser's files share; the rest of xiked uses
 * daemon/config.h. The parser, one concept a file:
 *   config.c         the whole file: reading it, the sections' structure,
 *                    staging, lookups, the error reporter
 *   config_lex.c     the lexer: text into sections of (key, value, line)
 *   config_value.c   value parsers: numbers, durations, sizes, addresses,
 *                    hex, lists, identities
 *   config_ts.c      traffic selectors (RFC 7296 3.13.1), parsed and as text
 *   config_daemon.c  the [daemon] keys and their defaults
 *   config_conn.c    a [conn] and its [child] sections
 *   config_route.c   a [conn]'s route-based VPN keys
 *   config_cp.c      a [conn]'s remote access keys (pools, DNS, vip)
 *   config_cred.c    a [conn]'s authentication and the credential files
 * Identities, used at run time too, are a module of their own
 * (daemon/config_id.h) that knows nothing of the parser.
 */
#ifndef XIKED_CONFIG_INT_H
#define XIKED_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/config.h"

enum sec_kind {
	SEC_DAEMON,
	SEC_CONN,
	SEC_CHILD,
};

struct entry {
	char *key;
	char *value; /* unquoted; may hold a key, wiped on free */
	bool quoted;
	unsigned line;
};

struct section {
	enum sec_kind kind;
	char name[CONFIG_NAME_MAX + 1]; /* conn name, or child name */
	char conn[CONFIG_NAME_MAX + 1]; /* child: its connection */
	unsigned line;
	bool dup; /* a [conn] defined before: reported, not interpreted */
	struct entry *e;
	size_t n, cap;
};

struct parse {
	const char *name; /* file name for messages */
	char *err;
	size_t errlen;
	config_error_fn on_error; /* every error, or NULL */
	void *on_error_ctx;
	unsigned n_err;
	bool skip; /* entries after a bad section header are dropped, not misfiled */
	struct section *secs;
	size_t n_secs, cap_secs;
	bool has_psk; /* the text itself holds a psk = value */
};

/*
 * Reports an error, "name:line: message" (line 0: "name: message"): the
 * first one into ps->err, every one to ps->on_error. config.c.
 */
void cfg_err(struct parse *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline bool cfg_is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* ---- config_lex.c ---- */
/* The text into ps->secs; -1 after reporting errors (the rest is still lexed). */
int cfg_lex(struct parse *ps, const char *text, size_t len);
/* Frees ps->secs, wiping the values. */
void cfg_free_sections(struct parse *ps);

/* ---- config_value.c: 0, or -1 (filling msg where there is one) ---- */
int cfg_parse_uint(const char *s, unsigned long max, unsigned long *out);
/* An IPv4 or IPv6 literal into ss (port 0). */
int cfg_parse_addr(const char *s, struct sockaddr_storage *ss);
/* "192.0.2.1:9" or "[2001:db8::1]:9" (port 1-65535) into ss. */
int cfg_parse_addr_port(const char *s, struct sockaddr_storage *ss);
/* Splits a comma-separated list in place: calls fn on each trimmed item. */
int cfg_split_list(char *s, int (*fn)(void *ctx, const char *item, char *msg, size_t msglen),
		   void *ctx, char *msg, size_t msglen);
/* Hex digits (even count, optional ':' between octets) into out; length or -1. */
int cfg_parse_hex(const char *s, uint8_t *out, size_t max);
/* An identity (strongSwan's notation; %any and patterns only if allow_any). */
int cfg_parse_id(const char *s, bool allow_any, struct config_id *id, char *msg, size_t msglen);
/* "90", "90s", "15m", "4h", "1d" -> seconds. */
int cfg_parse_duration(const char *s, uint32_t *out);
/* "65536", "64k", "16M", "1G" (powers of 1024) -> octets. */
int cfg_parse_size(const char *s, uint64_t *out);
/* "1000000", "500k", "100M", "2G" (powers of 1000) -> count. */
int cfg_parse_count(const char *s, uint64_t *out);
/* fragment_size ([daemon] or [conn]), reported through cfg_err. */
int cfg_parse_fragment_size(struct parse *ps, const struct entry *e, uint16_t *out);
/* The entry of key in s (the first, for repeatable keys), borrowed; NULL if none. */
const struct entry *cfg_find_entry(const struct section *s, const char *key);

/* ---- config_ts.c ---- */
/* A local_ts / remote_ts value (edited in place) into l (owned by the caller after 0). */
int cfg_parse_ts_list(char *s, struct ts_cfg_list *l, char *msg, size_t msglen);
/* l = one %dynamic selector (the default); -1: out of memory. */
int cfg_ts_list_dynamic(struct ts_cfg_list *l);

/* ---- config_daemon.c ---- */
void cfg_daemon_defaults(struct daemon_cfg *d);
/* The [daemon] section over the defaults; -1 after reporting every bad key. */
int cfg_interpret_daemon(struct parse *ps, const struct section *s, struct daemon_cfg *d);

/* ---- config_conn.c ---- */
/*
 * A [conn] section s and its [child] sections (indexes into ps->secs in
 * kids[0..n_kids)) into c; -1 after reporting, c cleared.
 */
int cfg_interpret_conn(struct parse *ps, const struct section *s, const size_t *kids,
		       size_t n_kids, struct conn_cfg *c);
/* Frees what c owns (credentials wiped) and zeroes it. */
void cfg_conn_clear(struct conn_cfg *c);

/* ---- config_route.c ---- */
/* The route-based VPN keys of s into c->route (c->start already set). */
int cfg_interpret_route(struct parse *ps, const struct section *s, struct conn_cfg *c);

/* ---- config_cp.c ---- */
/* The remote access keys of s (pool, dns, split, dns_domain, vip) into c->cp. */
int cfg_interpret_cp(struct parse *ps, const struct section *s, struct conn_cfg *c);

/* ---- config_cred.c ---- */
/* auth, local_auth, remote_auth and what each needs into c (c->local_id already parsed). */
int cfg_interpret_auth(struct parse *ps, const struct section *s, struct conn_cfg *c);
/*
 * RFC 8784 post-quantum preshared key: ppk (or ppk_file), its ppk_id (the
 * PPK_ID octets: "text" or 0xHEX), ppk_required = yes|no.
 */
int cfg_interpret_ppk(struct parse *ps, const struct section *s, struct conn_cfg *c);

#endif
