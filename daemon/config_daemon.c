/* The [daemon] section: its keys and their defaults (struct daemon_cfg, doc/xiked.conf.5). */
#include "daemon/config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every [daemon] value a file does not give. */
void cfg_daemon_defaults(struct daemon_cfg *d)
{
	for (size_t g = 0; g < LOG_GROUP_COUNT; g++)
		d->log_levels.level[g] = LOG_LVL_INFO;
	d->port = IKE_PORT;
	d->natt_port = IKE_NATT_PORT;
	d->cookie_threshold = 10;
	d->half_open_max = 5000;
	d->half_open_per_ip = 20;
	d->half_open_timeout_s = CONFIG_HALF_OPEN_TIMEOUT_DEFAULT;
	d->ike_sa_per_ip = 1000;
	d->auth_fail_limit = 5;
	d->auth_backoff_max_s = CONFIG_AUTH_BACKOFF_MAX_DEFAULT;
	d->frag_mem_max = 16u << 20;
	d->frag_mem_per_ip = 1u << 20;
	d->retransmit_timeout_ms = CONFIG_RETRANSMIT_TIMEOUT_MS_DEFAULT;
	d->retransmit_base_tenths = CONFIG_RETRANSMIT_BASE_TENTHS_DEFAULT;
	d->retransmit_tries = CONFIG_RETRANSMIT_TRIES_DEFAULT;
	d->route_table = 220;
	d->route_rule_priority = 220;
	strcpy(d->control, CONFIG_CONTROL_DEFAULT);
}

struct listen_ctx {
	struct daemon_cfg *d;
	bool any;
};

static int listen_add(void *ctx, const char *item, char *msg, size_t msglen)
{
	struct listen_ctx *lc = ctx;

	if (strcmp(item, "%any") == 0) {
		lc->any = true;
		return 0;
	}
	if (lc->d->n_listen == CONFIG_LISTEN_MAX) {
		snprintf(msg, msglen, "more than %d listen addresses", CONFIG_LISTEN_MAX);
		return -1;
	}
	if (cfg_parse_addr(item, &lc->d->listen[lc->d->n_listen]) < 0) {
		snprintf(msg, msglen, "bad listen address '%s'", item);
		return -1;
	}
	lc->d->n_listen++;
	return 0;
}

/* listen = ADDRESS, ... or %any: -1 after reporting its error. */
static int daemon_listen(struct parse *ps, const struct entry *e, struct daemon_cfg *d)
{
	struct listen_ctx lc = { .d = d };
	char *copy = strdup(e->value);
	char msg[256];
	int r;

	if (!copy) {
		cfg_err(ps, e->line, "out of memory");
		return -1;
	}
	d->n_listen = 0;
	r = cfg_split_list(copy, listen_add, &lc, msg, sizeof(msg));
	free(copy);
	if (r < 0) {
		cfg_err(ps, e->line, "listen: %s", msg);
		return -1;
	}
	if (lc.any && d->n_listen) {
		cfg_err(ps, e->line, "listen: %%any together with addresses");
		return -1;
	}
	return 0;
}

/*
 * The limits of DoS protection (dos.h): 1 when e is none of them, else 0,
 * or -1 after reporting its error.
 */
static int daemon_limit(struct parse *ps, const struct entry *e, struct daemon_cfg *d)
{
	unsigned long v;

	if (strcmp(e->key, "cookie_threshold") == 0 || strcmp(e->key, "half_open_max") == 0 ||
	    strcmp(e->key, "half_open_per_ip") == 0 || strcmp(e->key, "half_open_timeout") == 0) {
		uint32_t *dst = e->key[0] == 'c'	 ? &d->cookie_threshold
				: strcmp(e->key, "half_open_max") == 0 ? &d->half_open_max
				: strcmp(e->key, "half_open_per_ip") == 0 ? &d->half_open_per_ip
							      : &d->half_open_timeout_s;
		if (dst == &d->half_open_timeout_s ? cfg_parse_duration(e->value, dst) < 0
						   : cfg_parse_uint(e->value, UINT32_MAX, &v) < 0) {
			cfg_err(ps, e->line, "%s: '%s' is not a %s", e->key, e->value,
				dst == &d->half_open_timeout_s ? "duration" : "number");
			return -1;
		}
		if (dst != &d->half_open_timeout_s)
			*dst = (uint32_t)v;
		if (dst != &d->cookie_threshold && *dst == 0) {
			cfg_err(ps, e->line, "%s: must be at least 1", e->key);
			return -1;
		}
	} else if (strcmp(e->key, "ike_sa_per_ip") == 0 ||
		   strcmp(e->key, "auth_fail_limit") == 0) {
		if (cfg_parse_uint(e->value, UINT32_MAX, &v) < 0 ||
		    (v == 0 && e->key[0] == 'i')) {
			cfg_err(ps, e->line, "%s: '%s' is not a number%s", e->key, e->value,
				e->key[0] == 'i' ? " of at least 1" : "");
			return -1;
		}
		*(e->key[0] == 'i' ? &d->ike_sa_per_ip : &d->auth_fail_limit) = (uint32_t)v;
	} else if (strcmp(e->key, "auth_backoff_max") == 0) {
		if (cfg_parse_duration(e->value, &d->auth_backoff_max_s) < 0 ||
		    d->auth_backoff_max_s > 86400) {
			cfg_err(ps, e->line, "auth_backoff_max: '%s' is not a duration of 0-1d",
				e->value);
			return -1;
		}
	} else if (strcmp(e->key, "frag_mem_max") == 0 ||
		   strcmp(e->key, "frag_mem_per_ip") == 0) {
		uint64_t *dst = e->key[9] == 'm' ? &d->frag_mem_max : &d->frag_mem_per_ip;
		if (cfg_parse_size(e->value, dst) < 0 || *dst < 65536) {
			cfg_err(ps, e->line, "%s: '%s' is not a size of at least 64k (octets, "
				"k/M/G suffixes: 1024s)", e->key, e->value);
			return -1;
		}
	} else {
		return 1;
	}
	return 0;
}

/*
 * Retransmission (RFC 7296 2.1, 2.4): 1 when e is none of its keys, else 0,
 * or -1 after reporting its error.
 */
static int daemon_retransmit(struct parse *ps, const struct entry *e, struct daemon_cfg *d)
{
	unsigned long v;

	if (strcmp(e->key, "retransmit_timeout") == 0) {
		uint32_t secs;
		if (cfg_parse_duration(e->value, &secs) < 0 || secs == 0 || secs > 3600) {
			cfg_err(ps, e->line, "retransmit_timeout: '%s' is not a duration of 1s-1h",
				e->value);
			return -1;
		}
		d->retransmit_timeout_ms = secs * 1000;
	} else if (strcmp(e->key, "retransmit_tries") == 0) {
		if (cfg_parse_uint(e->value, 20, &v) < 0) {
			cfg_err(ps, e->line, "retransmit_tries: '%s' is not a number of 0-20",
				e->value);
			return -1;
		}
		d->retransmit_tries = (uint32_t)v;
	} else if (strcmp(e->key, "retransmit_base") == 0) {
		char *end;
		double b = strtod(e->value, &end);
		if (*end || b < 1.0 || b > 4.0) {
			cfg_err(ps, e->line, "retransmit_base: '%s' is not a factor of 1.0-4.0",
				e->value);
			return -1;
		}
		d->retransmit_base_tenths = (uint32_t)(b * 10 + 0.5);
	} else {
		return 1;
	}
	return 0;
}

/* One [daemon] entry: -1 after reporting its error. */
static int daemon_entry(struct parse *ps, const struct entry *e, struct daemon_cfg *d,
			unsigned *port_line)
{
	char msg[256];
	unsigned long v;

	if (strcmp(e->key, "listen") == 0) {
		if (daemon_listen(ps, e, d) < 0)
			return -1;
	} else if (strcmp(e->key, "control") == 0) {
		if (e->value[0] != '/') {
			cfg_err(ps, e->line, "control: '%s' is not an absolute path", e->value);
			return -1;
		}
		if (strlen(e->value) >= sizeof(d->control)) {
			cfg_err(ps, e->line, "control: path longer than %zu characters",
				sizeof(d->control) - 1);
			return -1;
		}
		strcpy(d->control, e->value);
	} else if (strcmp(e->key, "keylog") == 0) {
		if (e->value[0] != '/' || strlen(e->value) >= sizeof(d->keylog)) {
			cfg_err(ps, e->line, "keylog: '%s' is not an absolute path of at most %zu "
				"characters", e->value, sizeof(d->keylog) - 1);
			return -1;
		}
		strcpy(d->keylog, e->value);
	} else if (strcmp(e->key, "user") == 0) {
		/* A POSIX portable user name; whether it exists is checked at start (xiked -t too). */
		size_t n = strspn(e->value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789._-");
		if (e->value[n] || e->value[0] == '-' || n > CONFIG_USER_MAX) {
			cfg_err(ps, e->line, "user: '%s' is not a user name (1-%d letters, digits, '.', "
				"'_' or '-', not first)", e->value, CONFIG_USER_MAX);
			return -1;
		}
		strcpy(d->user, e->value);
	} else if (strcmp(e->key, "log") == 0) {
		if (log_levels_parse(e->value, &d->log_levels, msg, sizeof(msg)) < 0) {
			cfg_err(ps, e->line, "log: %s", msg);
			return -1;
		}
	} else if (strcmp(e->key, "port") == 0 || strcmp(e->key, "natt_port") == 0) {
		if (cfg_parse_uint(e->value, 65535, &v) < 0) {
			cfg_err(ps, e->line, "%s: '%s' is not a port number (0-65535)", e->key,
				e->value);
			return -1;
		}
		if (e->key[0] == 'p')
			d->port = (uint16_t)v;
		else
			d->natt_port = (uint16_t)v;
		*port_line = e->line;
	} else if (strcmp(e->key, "route_table") == 0) {
		/* 253-255 are the kernel's default, main and local tables. */
		if (cfg_parse_uint(e->value, UINT32_MAX, &v) < 0 || (v >= 253 && v <= 255)) {
			cfg_err(ps, e->line, "route_table: '%s' is not 0 (no routes) or a table "
				"number other than 253-255 (default, main, local)", e->value);
			return -1;
		}
		d->route_table = (uint32_t)v;
	} else if (strcmp(e->key, "route_rule_priority") == 0) {
		/* Before the main table's rule (32766); 0 is the local table's. */
		if (cfg_parse_uint(e->value, 32765, &v) < 0 || v == 0) {
			cfg_err(ps, e->line, "route_rule_priority: '%s' is not 1-32765", e->value);
			return -1;
		}
		d->route_rule_priority = (uint32_t)v;
	} else if (strcmp(e->key, "metrics") == 0) {
		if (strcmp(e->value, "off") == 0) {
			memset(&d->metrics, 0, sizeof(d->metrics));
		} else if (cfg_parse_addr_port(e->value, &d->metrics) < 0) {
			cfg_err(ps, e->line, "metrics: '%s' is not ADDRESS:PORT (192.0.2.1:9100, "
				"[::1]:9100) or off", e->value);
			return -1;
		}
	} else if (strcmp(e->key, "fragment_size") == 0) {
		if (cfg_parse_fragment_size(ps, e, &d->fragment_size) < 0)
			return -1;
	} else {
		int r = daemon_limit(ps, e, d);

		if (r == 1)
			r = daemon_retransmit(ps, e, d);
		if (r == 1) {
			cfg_err(ps, e->line, "unknown key '%s' in [daemon]", e->key);
			return -1;
		}
		return r;
	}
	return 0;
}

int cfg_interpret_daemon(struct parse *ps, const struct section *s, struct daemon_cfg *d)
{
	unsigned port_line = 0;
	int rc = 0;

	for (size_t i = 0; i < s->n; i++)
		if (daemon_entry(ps, &s->e[i], d, &port_line) < 0)
			rc = -1;
	if (rc == 0 && d->port != 0 && d->port == d->natt_port) {
		cfg_err(ps, port_line, "port and natt_port must differ (both %u)", d->port);
		return -1;
	}
	return rc;
}
