/*
 * A [conn]'s remote access keys (struct cp_cfg; daemon/vip.h, RFC 7296
 * 2.19, 3.15): pool, dns, split, dns_domain (RFC 8598) and vip.
 */
#include "daemon/config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "daemon/addr_pool.h"

/* An address or ADDRESS/PLEN (plen_req: the prefix length is required) into *p. */
static int parse_cp_prefix(const char *text, bool plen_req, struct cp_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned long v = 0;
	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	else if (plen_req)
		return -1;
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, p->addr) == 1)
		p->family = AF_INET6;
	else
		return -1;
	unsigned bits = p->family == AF_INET ? 32 : 128;
	if (slash && cfg_parse_uint(slash + 1, bits, &v) < 0)
		return -1;
	p->plen = (uint8_t)(slash ? v : bits);
	return 0;
}

int cfg_interpret_cp(struct parse *ps, const struct section *s, struct conn_cfg *c)
{
	struct cp_cfg *cp = &c->cp;
	char why[160];
	memset(cp, 0, sizeof(*cp));
	for (size_t i = 0; i < s->n; i++) {
		const struct entry *e = &s->e[i];
		if (strcmp(e->key, "pool") == 0) {
			if (cp->n_pools == CONFIG_POOLS_MAX) {
				cfg_err(ps, e->line, "pool: at most %u per conn", CONFIG_POOLS_MAX);
				return -1;
			}
			if (addr_pool_parse(e->value, &cp->pools[cp->n_pools], why, sizeof(why)) < 0) {
				cfg_err(ps, e->line, "%s", why);
				return -1;
			}
			cp->n_pools++;
		} else if (strcmp(e->key, "dns") == 0) {
			if (cp->n_dns == CP_DNS_MAX || parse_cp_prefix(e->value, false, &cp->dns[cp->n_dns]) < 0 ||
			    cp->dns[cp->n_dns].plen != (cp->dns[cp->n_dns].family == AF_INET ? 32 : 128)) {
				cfg_err(ps, e->line, "dns: '%s' is not an IPv4 or IPv6 address (at most %u)",
				     e->value, CP_DNS_MAX);
				return -1;
			}
			cp->n_dns++;
		} else if (strcmp(e->key, "split") == 0) {
			if (cp->n_split == CP_SUBNETS_MAX ||
			    parse_cp_prefix(e->value, true, &cp->split[cp->n_split]) < 0) {
				cfg_err(ps, e->line, "split: '%s' is not ADDRESS/PREFIXLEN (at most %u)",
				     e->value, CP_SUBNETS_MAX);
				return -1;
			}
			cp->n_split++;
		} else if (strcmp(e->key, "dns_domain") == 0) {
			size_t n = strlen(e->value);
			if (cp->n_domains == CP_DOMAINS_MAX || !cp_domain_ok(e->value, n)) {
				cfg_err(ps, e->line, "dns_domain: '%s' is not a domain name (LDH labels of "
				     "1-63, at most %u in all; at most %u of them)", e->value,
				     CP_DOMAIN_LEN, CP_DOMAINS_MAX);
				return -1;
			}
			for (size_t k = 0; k <= n; k++)
				cp->domains[cp->n_domains][k] = (char)tolower((unsigned char)e->value[k]);
			cp->n_domains++;
		} else if (strcmp(e->key, "vip") == 0) {
			if (strcmp(e->value, "%config") == 0) {
				cp->vip4 = cp->vip6 = true;
			} else if (strcmp(e->value, "%config4") == 0) {
				cp->vip4 = true;
			} else if (strcmp(e->value, "%config6") == 0) {
				cp->vip6 = true;
			} else {
				cfg_err(ps, e->line, "vip: '%s' is not %%config, %%config4 or %%config6",
				     e->value);
				return -1;
			}
		}
	}
	if ((cp->vip4 || cp->vip6) && cp->n_pools) {
		cfg_err(ps, c->line, "conn %s: vip = (a client's) and pool = (a gateway's) together",
		     c->name);
		return -1;
	}
	return 0;
}
