/*
 * A [conn] section and its [child] sections into struct conn_cfg: the
 * addresses, identities, proposals, start, lifetimes, liveness,
 * fragmentation and uniqueness keys here; authentication in
 * config_cred.c, route-based VPN keys in config_route.c.
 */
#include "daemon/config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pubkey.h"
#include "crypto/secret.h"
#include "crypto/x509.h"

/* Settings a [conn] may give to its children: [child] values override them. */
struct child_defaults {
	char *local_ts, *remote_ts, *esp, *mode; /* borrowed entry values or NULL */
	unsigned local_ts_line, remote_ts_line, esp_line, mode_line;
};

static void child_cfg_clear(struct child_cfg *c)
{
	free(c->local_ts.ts);
	free(c->remote_ts.ts);
	proposal_cfg_list_free(&c->esp);
	memset(c, 0, sizeof(*c));
}

void cfg_conn_clear(struct conn_cfg *c)
{
	for (size_t i = 0; i < c->n_children; i++)
		child_cfg_clear(&c->children[i]);
	free(c->children);
	secret_free(c->psk);
	secret_free(c->ppk);
	privkey_free(c->key);
	for (size_t i = 0; i < c->n_certs; i++)
		x509_free(c->certs[i]);
	free(c->certs);
	for (size_t i = 0; i < c->n_cacerts; i++)
		x509_free(c->cacerts[i]);
	free(c->cacerts);
	pubkey_free(c->remote_pubkey);
	proposal_cfg_list_free(&c->ike);
	memset(c, 0, sizeof(*c));
}

/*
 * Builds a child from its own section (may be NULL: the implicit child of a
 * conn without [child] sections) on top of the conn's defaults.
 */
static int build_child(struct parse *ps, const struct section *s, const char *name, unsigned line,
		       const struct child_defaults *def, struct child_cfg *c)
{
	char *lts = def->local_ts, *rts = def->remote_ts, *esp = def->esp, *mode = def->mode;
	unsigned lts_l = def->local_ts_line, rts_l = def->remote_ts_line, esp_l = def->esp_line,
		 mode_l = def->mode_line;
	char msg[256];

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->line = line;
	for (size_t i = 0; s && i < s->n; i++) {
		const struct entry *e = &s->e[i];

		if (strcmp(e->key, "local_ts") == 0) {
			lts = e->value;
			lts_l = e->line;
		} else if (strcmp(e->key, "remote_ts") == 0) {
			rts = e->value;
			rts_l = e->line;
		} else if (strcmp(e->key, "esp") == 0) {
			esp = e->value;
			esp_l = e->line;
		} else if (strcmp(e->key, "mode") == 0) {
			mode = e->value;
			mode_l = e->line;
		} else {
			cfg_err(ps, e->line, "unknown key '%s' in [child %s.%s]", e->key, s->conn,
				s->name);
			return -1;
		}
	}

	if (lts ? cfg_parse_ts_list(lts, &c->local_ts, msg, sizeof(msg)) < 0 :
		  cfg_ts_list_dynamic(&c->local_ts) < 0) {
		cfg_err(ps, lts_l, "local_ts: %s", lts ? msg : "out of memory");
		goto fail;
	}
	if (rts ? cfg_parse_ts_list(rts, &c->remote_ts, msg, sizeof(msg)) < 0 :
		  cfg_ts_list_dynamic(&c->remote_ts) < 0) {
		cfg_err(ps, rts_l, "remote_ts: %s", rts ? msg : "out of memory");
		goto fail;
	}
	if (proposal_cfg_parse(esp ? esp : PROPOSAL_CFG_ESP_DEFAULT, PROTO_ESP, &c->esp, msg,
			       sizeof(msg)) < 0) {
		cfg_err(ps, esp_l, "esp: %s", msg);
		goto fail;
	}
	c->mode = CONFIG_MODE_TUNNEL;
	if (mode) {
		if (strcmp(mode, "tunnel") == 0) {
			c->mode = CONFIG_MODE_TUNNEL;
		} else if (strcmp(mode, "transport") == 0) {
			c->mode = CONFIG_MODE_TRANSPORT;
		} else {
			cfg_err(ps, mode_l, "mode: '%s' is not tunnel or transport", mode);
			goto fail;
		}
	}
	return 0;
fail:
	child_cfg_clear(c);
	return -1;
}

static const char *const conn_keys[] = {
	"local_addr", "remote_addr", "local_id", "remote_id", "auth", "psk", "psk_file",
	"local_auth", "remote_auth", "cert", "key", "cacert", "remote_pubkey", "rsa_padding",
	"ike", "esp", "local_ts", "remote_ts", "mode", "start",
	"lifetime", "lifetime_bytes", "lifetime_packets", "rekey_margin", "rand_margin",
	"ike_lifetime", "idle_timeout", "reauth",
	"encap", "keepalive", "dpd", "dpd_action", "mobike", "mobike_check", "mobike_no_nats",
	"fragmentation", "fragment_size", "max_child_sas", "unique",
	"if_id", "interface", "interface_link", "vti", "mark", "mtu", "address", "routes",
	"ppk", "ppk_file", "ppk_id", "ppk_required",
	"pool", "dns", "split", "dns_domain", "vip",
};

/* unique = replace|keep|never of a [conn] (enum config_unique). */
static int interpret_unique(struct parse *ps, const struct section *s, struct conn_cfg *c)
{
	static const char *const names[] = {"replace", "keep", "never"};
	const struct entry *e = cfg_find_entry(s, "unique");
	c->unique = CONFIG_UNIQUE_REPLACE;
	if (!e)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(e->value, names[i]) == 0) {
			c->unique = (enum config_unique)i;
			return 0;
		}
	cfg_err(ps, e->line, "unique: '%s' is not replace, keep or never", e->value);
	return -1;
}

/* fragmentation = yes|no and fragment_size of a [conn] (RFC 7383). */
static int interpret_fragmentation(struct parse *ps, const struct section *s,
				   struct conn_cfg *c)
{
	const struct entry *e;
	c->fragmentation = true;
	if ((e = cfg_find_entry(s, "fragmentation"))) {
		if (strcmp(e->value, "no") == 0) {
			c->fragmentation = false;
		} else if (strcmp(e->value, "yes") != 0) {
			cfg_err(ps, e->line, "fragmentation: '%s' is not yes or no", e->value);
			return -1;
		}
	}
	if ((e = cfg_find_entry(s, "fragment_size")) && cfg_parse_fragment_size(ps, e, &c->fragment_size) < 0)
		return -1;
	/* Not fragmentation, but a per-peer limit read with the other single knobs. */
	unsigned long v = 128;
	if ((e = cfg_find_entry(s, "max_child_sas")) &&
	    (cfg_parse_uint(e->value, 65535, &v) < 0 || v == 0)) {
		cfg_err(ps, e->line, "max_child_sas: '%s' is not a number of 1-65535", e->value);
		return -1;
	}
	c->max_child_sas = (uint32_t)v;
	return 0;
}

/* The lifetime keys of a [conn] (struct lifetime_cfg in config.h). */
static int interpret_lifetimes(struct parse *ps, const struct section *s, struct lifetime_cfg *l)
{
	static const struct {
		const char *key;
		size_t off;
	} durations[] = {
		{"lifetime", offsetof(struct lifetime_cfg, lifetime_s)},
		{"rekey_margin", offsetof(struct lifetime_cfg, rekey_margin_s)},
		{"rand_margin", offsetof(struct lifetime_cfg, rand_margin_s)},
		{"ike_lifetime", offsetof(struct lifetime_cfg, ike_lifetime_s)},
		{"idle_timeout", offsetof(struct lifetime_cfg, idle_timeout_s)},
	};
	const struct entry *e;
	*l = (struct lifetime_cfg){
		.lifetime_s = CONFIG_LIFETIME_DEFAULT,
		.rekey_margin_s = CONFIG_REKEY_MARGIN_DEFAULT,
		.ike_lifetime_s = CONFIG_IKE_LIFETIME_DEFAULT,
	};
	bool rand_given = false;
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		if (!(e = cfg_find_entry(s, durations[i].key)))
			continue;
		if (cfg_parse_duration(e->value, (uint32_t *)((char *)l + durations[i].off)) < 0) {
			cfg_err(ps, e->line, "%s: '%s' is not a duration (e.g. 3600, 60s, 15m, 4h, 1d)",
				e->key, e->value);
			return -1;
		}
		rand_given |= strcmp(e->key, "rand_margin") == 0;
	}
	if (!rand_given)
		l->rand_margin_s = l->rekey_margin_s;
	if ((e = cfg_find_entry(s, "lifetime_bytes")) && cfg_parse_count(e->value, &l->lifetime_bytes) < 0) {
		cfg_err(ps, e->line, "lifetime_bytes: '%s' is not a count (e.g. 1000000, 500k, 2G)",
			e->value);
		return -1;
	}
	if ((e = cfg_find_entry(s, "lifetime_packets")) &&
	    cfg_parse_count(e->value, &l->lifetime_packets) < 0) {
		cfg_err(ps, e->line, "lifetime_packets: '%s' is not a count", e->value);
		return -1;
	}
	if ((e = cfg_find_entry(s, "reauth"))) {
		if (strcmp(e->value, "yes") == 0) {
			l->reauth = true; /* make-before-break, daemon/task_reauth.h */
		} else if (strcmp(e->value, "no") != 0) {
			cfg_err(ps, e->line, "reauth: '%s' is not yes or no", e->value);
			return -1;
		}
	}
	/* The soft limit must come before the hard one, with room for the random part. */
	const struct entry *le = cfg_find_entry(s, "lifetime");
	if (l->lifetime_s && (uint64_t)l->rekey_margin_s + l->rand_margin_s >= l->lifetime_s) {
		cfg_err(ps, le ? le->line : s->line,
			"lifetime %us must exceed rekey_margin + rand_margin (%us + %us)", l->lifetime_s,
			l->rekey_margin_s, l->rand_margin_s);
		return -1;
	}
	if (l->ike_lifetime_s && (uint64_t)l->rekey_margin_s + l->rand_margin_s >= l->ike_lifetime_s) {
		e = cfg_find_entry(s, "ike_lifetime");
		cfg_err(ps, e ? e->line : s->line,
			"ike_lifetime %us must exceed rekey_margin + rand_margin (%us + %us)",
			l->ike_lifetime_s, l->rekey_margin_s, l->rand_margin_s);
		return -1;
	}
	return 0;
}

/* The NAT traversal and dead peer detection keys of a [conn] (struct liveness_cfg). */
static int interpret_liveness(struct parse *ps, const struct section *s, struct liveness_cfg *l)
{
	const struct entry *e;
	*l = (struct liveness_cfg){
		.keepalive_s = CONFIG_KEEPALIVE_DEFAULT,
		.dpd_s = CONFIG_DPD_DEFAULT,
		.dpd_action = CONFIG_DPD_CLEAR,
		.mobike = true,
	};
	static const char *const flags[] = {"mobike", "mobike_check", "mobike_no_nats"};
	bool *const dst[] = {&l->mobike, &l->mobike_check, &l->mobike_no_nats};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (!(e = cfg_find_entry(s, flags[i])))
			continue;
		if (strcmp(e->value, "yes") == 0) {
			*dst[i] = true;
		} else if (strcmp(e->value, "no") == 0) {
			*dst[i] = false;
		} else {
			cfg_err(ps, e->line, "%s: '%s' is not yes or no", flags[i], e->value);
			return -1;
		}
	}
	if ((e = cfg_find_entry(s, "encap"))) {
		if (strcmp(e->value, "yes") == 0) {
			l->encap = true;
		} else if (strcmp(e->value, "no") != 0) {
			cfg_err(ps, e->line, "encap: '%s' is not yes or no", e->value);
			return -1;
		}
	}
	if ((e = cfg_find_entry(s, "keepalive")) && cfg_parse_duration(e->value, &l->keepalive_s) < 0) {
		cfg_err(ps, e->line, "keepalive: '%s' is not a duration (e.g. 20, 20s, 1m)", e->value);
		return -1;
	}
	if ((e = cfg_find_entry(s, "dpd")) && cfg_parse_duration(e->value, &l->dpd_s) < 0) {
		cfg_err(ps, e->line, "dpd: '%s' is not a duration (e.g. 30, 30s, 2m; 0 = off)", e->value);
		return -1;
	}
	if ((e = cfg_find_entry(s, "dpd_action"))) {
		if (strcmp(e->value, "clear") == 0) {
			l->dpd_action = CONFIG_DPD_CLEAR;
		} else if (strcmp(e->value, "restart") == 0) {
			l->dpd_action = CONFIG_DPD_RESTART;
		} else if (strcmp(e->value, "trap") == 0) {
			l->dpd_action = CONFIG_DPD_TRAP;
		} else {
			cfg_err(ps, e->line, "dpd_action: '%s' is not clear, restart or trap", e->value);
			return -1;
		}
	}
	return 0;
}

/* The child settings a [conn] gives (local_ts, remote_ts, esp, mode), with their lines. */
static void child_defaults_of(const struct section *s, struct child_defaults *def)
{
	const struct entry *e;

#define DEFAULT_FROM(field, key)                \
	if ((e = cfg_find_entry(s, key))) {     \
		def->field = e->value;          \
		def->field##_line = e->line;    \
	}
	DEFAULT_FROM(local_ts, "local_ts")
	DEFAULT_FROM(remote_ts, "remote_ts")
	DEFAULT_FROM(esp, "esp")
	DEFAULT_FROM(mode, "mode")
#undef DEFAULT_FROM
	/* Messages about the built-in defaults point at the conn header. */
	if (!def->local_ts_line)
		def->local_ts_line = s->line;
	if (!def->remote_ts_line)
		def->remote_ts_line = s->line;
	if (!def->esp_line)
		def->esp_line = s->line;
	if (!def->mode_line)
		def->mode_line = s->line;
}

/*
 * c's children: one from each [child] section (indexes in kids[0..n_kids)),
 * or the implicit one of a conn without them, on top of def. 1 when a
 * [child] was refused (reported; the others are built, packed), -1 when
 * none can be (out of memory, or the implicit child refused).
 */
static int build_children(struct parse *ps, const struct section *s, const size_t *kids,
			  size_t n_kids, const struct child_defaults *def, struct conn_cfg *c)
{
	bool bad = false;

	c->children = calloc(n_kids ? n_kids : 1, sizeof(*c->children));
	if (!c->children) {
		cfg_err(ps, s->line, "out of memory");
		return -1;
	}
	if (n_kids == 0) {
		if (build_child(ps, NULL, c->name, s->line, def, &c->children[0]) < 0)
			return -1;
		c->n_children = 1;
	}
	/* Built children are packed: children[0..n_children) are all valid. */
	for (size_t i = 0; i < n_kids; i++) {
		const struct section *k = &ps->secs[kids[i]];

		for (size_t j = 0; j < i; j++) {
			if (strcmp(ps->secs[kids[j]].name, k->name) == 0) {
				cfg_err(ps, k->line, "[child %s.%s] already defined at line %u",
					k->conn, k->name, ps->secs[kids[j]].line);
				bad = true;
			}
		}
		if (build_child(ps, k, k->name, k->line, def, &c->children[c->n_children]) < 0)
			bad = true;
		else
			c->n_children++;
	}
	return bad ? 1 : 0;
}

/* start = none|initiate|trap; not checked against remote_addr when that was refused. */
static int interpret_start(struct parse *ps, const struct section *s, bool remote_bad,
			   struct conn_cfg *c)
{
	const struct entry *e;
	int rc = 0;

	c->start = CONFIG_START_NONE;
	if ((e = cfg_find_entry(s, "start"))) {
		if (strcmp(e->value, "none") == 0) {
			c->start = CONFIG_START_NONE;
		} else if (strcmp(e->value, "initiate") == 0) {
			c->start = CONFIG_START_INITIATE;
		} else if (strcmp(e->value, "trap") == 0) {
			c->start = CONFIG_START_TRAP;
		} else {
			cfg_err(ps, e->line, "start: '%s' is not initiate, none or trap", e->value);
			rc = -1;
		}
		/* Not when remote_addr is there but wrong (reported above). */
		if (c->start != CONFIG_START_NONE && c->remote_addr.ss_family == AF_UNSPEC &&
		    !remote_bad) {
			cfg_err(ps, e->line, "start = %s needs a remote_addr", e->value);
			rc = -1;
		}
	}
	return rc;
}

/*
 * Interprets a [conn] section; children (sections whose indexes are in
 * kids[0..n_kids)) are built on top of its child defaults.
 */
int cfg_interpret_conn(struct parse *ps, const struct section *s, const size_t *kids,
		       size_t n_kids, struct conn_cfg *c)
{
	struct child_defaults def = { 0 };
	const struct entry *e;
	char msg[256];
	bool bad = false; /* an error reported: go on checking, fail at the end */

	memset(c, 0, sizeof(*c));
	memcpy(c->name, s->name, sizeof(c->name));
	c->line = s->line;

	for (size_t i = 0; i < s->n; i++) {
		bool known = false;

		for (size_t k = 0; k < sizeof(conn_keys) / sizeof(conn_keys[0]); k++)
			known |= strcmp(s->e[i].key, conn_keys[k]) == 0;
		if (!known) {
			cfg_err(ps, s->e[i].line, "unknown key '%s' in [conn %s]", s->e[i].key, s->name);
			bad = true;
		}
	}

	if ((e = cfg_find_entry(s, "local_addr")) && strcmp(e->value, "%any") != 0 &&
	    cfg_parse_addr(e->value, &c->local_addr) < 0) {
		cfg_err(ps, e->line, "local_addr: '%s' is not an IP address", e->value);
		bad = true;
		memset(&c->local_addr, 0, sizeof(c->local_addr));
	}
	if ((e = cfg_find_entry(s, "remote_addr")) && strcmp(e->value, "%any") != 0 &&
	    cfg_parse_addr(e->value, &c->remote_addr) < 0) {
		cfg_err(ps, e->line, "remote_addr: '%s' is not an IP address (host names are not supported)",
			e->value);
		bad = true;
		memset(&c->remote_addr, 0, sizeof(c->remote_addr));
	}
	bool remote_bad = bad && cfg_find_entry(s, "remote_addr");
	if (c->local_addr.ss_family != AF_UNSPEC && c->remote_addr.ss_family != AF_UNSPEC &&
	    c->local_addr.ss_family != c->remote_addr.ss_family) {
		cfg_err(ps, cfg_find_entry(s, "remote_addr")->line,
			"local_addr and remote_addr are of different address families");
		bad = true;
	}
	if ((e = cfg_find_entry(s, "local_id")) && cfg_parse_id(e->value, false, &c->local_id, msg,
							 sizeof(msg)) < 0) {
		cfg_err(ps, e->line, "local_id: %s", msg);
		bad = true;
	}
	if ((e = cfg_find_entry(s, "remote_id")) && cfg_parse_id(e->value, true, &c->remote_id, msg,
							  sizeof(msg)) < 0) {
		cfg_err(ps, e->line, "remote_id: %s", msg);
		bad = true;
	}

	if (cfg_interpret_auth(ps, s, c) < 0 || cfg_interpret_ppk(ps, s, c) < 0)
		bad = true;

	e = cfg_find_entry(s, "ike");
	if (proposal_cfg_parse(e ? e->value : PROPOSAL_CFG_IKE_DEFAULT, PROTO_IKE, &c->ike, msg,
			       sizeof(msg)) < 0) {
		cfg_err(ps, e ? e->line : s->line, "ike: %s", msg);
		bad = true;
	}

	bad |= interpret_start(ps, s, remote_bad, c) < 0;

	/* Each group stops at its first error. */
	bad |= interpret_lifetimes(ps, s, &c->life) < 0;
	bad |= interpret_fragmentation(ps, s, c) < 0;
	bad |= interpret_unique(ps, s, c) < 0;
	bad |= interpret_liveness(ps, s, &c->live) < 0;
	bad |= cfg_interpret_route(ps, s, c) < 0;
	bad |= cfg_interpret_cp(ps, s, c) < 0;

	child_defaults_of(s, &def);
	int kr = build_children(ps, s, kids, n_kids, &def, c);

	if (kr < 0)
		goto fail;
	bad |= kr > 0;
	if (bad)
		goto fail;
	return 0;
fail:
	cfg_conn_clear(c);
	return -1;
}
