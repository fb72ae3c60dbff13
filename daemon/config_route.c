/* The route-based VPN keys of a [conn] (struct route_cfg, daemon/route_iface.h). */
#include "daemon/config_int.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* A device name (or, with template, an interface name that may hold one "%d"). */
static bool valid_ifname(const char *v, bool template)
{
	size_t n = strlen(v), pct = 0;
	if (n == 0 || n >= CONFIG_IFNAME_MAX || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return false;
	for (const char *p = v; *p; p++) {
		if (*p == '%') {
			if (!template || p[1] != 'd' || pct++)
				return false;
			p++;
		} else if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
			return false;
		}
	}
	return true;
}

/* address = PREFIX lines (repeatable) of an interface = or vti =. */
static int interpret_addresses(struct parse *ps, const struct section *s, struct route_cfg *r,
			       bool iface)
{
	unsigned long v;

	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->e[i].key, "address") != 0)
			continue;
		const struct entry *e = &s->e[i];
		char buf[INET6_ADDRSTRLEN + 8];
		struct config_prefix *p = &r->addresses[r->n_addresses];
		char *slash;
		if (!iface || r->n_addresses == CONFIG_ADDRESSES_MAX || strlen(e->value) >= sizeof(buf)) {
			cfg_err(ps, e->line, "address: at most %u, with an interface = or vti =",
				CONFIG_ADDRESSES_MAX);
			return -1;
		}
		strcpy(buf, e->value);
		slash = strchr(buf, '/');
		if (slash)
			*slash = '\0';
		if (cfg_parse_addr(buf, &p->addr) < 0 ||
		    (slash && cfg_parse_uint(slash + 1, p->addr.ss_family == AF_INET ? 32 : 128, &v) < 0)) {
			cfg_err(ps, e->line, "address: '%s' is not an IPv4 or IPv6 address/prefix", e->value);
			return -1;
		}
		p->plen = (uint8_t)(slash ? v : p->addr.ss_family == AF_INET ? 32 : 128);
		r->n_addresses++;
	}
	return 0;
}

/* The route-based VPN keys of a [conn] (struct route_cfg). */
int cfg_interpret_route(struct parse *ps, const struct section *s, struct conn_cfg *c)
{
	struct route_cfg *r = &c->route;
	const struct entry *e;
	unsigned long v;
	*r = (struct route_cfg){.routes = true};
	if ((e = cfg_find_entry(s, "if_id"))) {
		if (strcmp(e->value, "%unique") == 0) {
			r->if_id_unique = true;
		} else if (cfg_parse_uint(e->value, CONFIG_IF_ID_UNIQUE_BASE - 1, &v) < 0 || v == 0) {
			cfg_err(ps, e->line, "if_id: '%s' is not %%unique or 1-%u", e->value,
				CONFIG_IF_ID_UNIQUE_BASE - 1);
			return -1;
		} else {
			r->if_id = (uint32_t)v;
		}
	}
	if ((e = cfg_find_entry(s, "interface"))) {
		if (!valid_ifname(e->value, true)) {
			cfg_err(ps, e->line, "interface: '%s' is not an interface name (at most %u "
				"characters of A-Z a-z 0-9 - _ ., and one %%d for the if_id)", e->value,
				CONFIG_IFNAME_MAX - 1);
			return -1;
		}
		if (!r->if_id && !r->if_id_unique) {
			cfg_err(ps, e->line, "interface = %s needs an if_id (N or %%unique)", e->value);
			return -1;
		}
		if (r->if_id_unique && !strstr(e->value, "%d")) {
			cfg_err(ps, e->line, "interface: with if_id = %%unique the name needs a %%d "
				"(one interface per IKE SA, e.g. xfrm-%%d)");
			return -1;
		}
		strcpy(r->interface, e->value);
	}
	if ((e = cfg_find_entry(s, "interface_link"))) {
		if (!valid_ifname(e->value, false) || !r->interface[0]) {
			cfg_err(ps, e->line, "interface_link: '%s' must name a device, with interface =",
				e->value);
			return -1;
		}
		strcpy(r->interface_link, e->value);
	}
	if ((e = cfg_find_entry(s, "mark"))) {
		if (cfg_parse_uint(e->value, UINT32_MAX, &v) < 0 || v == 0) {
			cfg_err(ps, e->line, "mark: '%s' is not 1-%u", e->value, UINT32_MAX);
			return -1;
		}
		r->mark = (uint32_t)v;
	}
	if ((e = cfg_find_entry(s, "vti"))) {
		if (!valid_ifname(e->value, false)) {
			cfg_err(ps, e->line, "vti: '%s' is not an interface name", e->value);
			return -1;
		}
		if (!r->mark || r->if_id || r->if_id_unique) {
			cfg_err(ps, e->line, "vti = %s needs a mark = N and no if_id", e->value);
			return -1;
		}
		strcpy(r->vti, e->value);
	}
	bool iface = r->interface[0] || r->vti[0];
	if ((e = cfg_find_entry(s, "mtu"))) {
		if (cfg_parse_uint(e->value, 65535, &v) < 0 || v < 576 || !iface) {
			cfg_err(ps, e->line, "mtu: '%s' needs 576-65535 and an interface = or vti =",
				e->value);
			return -1;
		}
		r->mtu = (uint32_t)v;
	}
	if ((e = cfg_find_entry(s, "routes"))) {
		if (strcmp(e->value, "no") == 0) {
			r->routes = false;
		} else if (strcmp(e->value, "yes") != 0) {
			cfg_err(ps, e->line, "routes: '%s' is not yes or no", e->value);
			return -1;
		}
	}
	if (interpret_addresses(ps, s, r, iface) < 0)
		return -1;
	if (r->if_id_unique && c->start == CONFIG_START_TRAP) {
		/* A trap is installed before any IKE SA exists; %unique if_ids come with one. */
		cfg_err(ps, cfg_find_entry(s, "start")->line, "start = trap needs a fixed if_id = N: "
			"if_id = %%unique is given per IKE SA, so there is none to trap with");
		return -1;
	}
	return 0;
}
