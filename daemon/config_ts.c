/*
 * Traffic selectors in the configuration (RFC 7296 3.13.1): local_ts and
 * remote_ts values into struct ts_cfg, and back into text
 * (config_ts_format, for status and logs).
 */
#include "daemon/config_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	uint8_t proto;
} ip_protos[] = {
	{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "gre", 47 }, { "esp", 50 },
	{ "ah", 51 }, { "icmpv6", 58 }, { "ipv6-icmp", 58 }, { "sctp", 132 },
};

static const char *ip_proto_name(uint8_t proto)
{
	for (size_t i = 0; i < sizeof(ip_protos) / sizeof(ip_protos[0]); i++) {
		if (ip_protos[i].proto == proto)
			return ip_protos[i].name;
	}
	return NULL;
}

/* "[proto]" / "[proto/port]" / "[proto/lo-hi]", text between the brackets. */
static int parse_ts_proto(const char *s, struct ts_cfg *ts, char *msg, size_t msglen)
{
	char proto[32];
	const char *slash = strchr(s, '/');
	size_t plen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long v, hi;

	ts->ip_proto = 0;
	ts->start_port = 0;
	ts->end_port = 65535;
	if (plen >= sizeof(proto)) {
		snprintf(msg, msglen, "unknown protocol '%.*s'", (int)plen, s);
		return -1;
	}
	memcpy(proto, s, plen);
	proto[plen] = '\0';
	if (plen && strcmp(proto, "%any") != 0) {
		bool found = false;

		for (size_t i = 0; i < sizeof(ip_protos) / sizeof(ip_protos[0]); i++) {
			if (strcasecmp(proto, ip_protos[i].name) == 0) {
				ts->ip_proto = ip_protos[i].proto;
				found = true;
			}
		}
		if (!found) {
			if (cfg_parse_uint(proto, 255, &v) < 0) {
				snprintf(msg, msglen, "unknown protocol '%s'", proto);
				return -1;
			}
			ts->ip_proto = (uint8_t)v;
		}
	}
	if (!slash || strcmp(slash + 1, "%any") == 0)
		return 0;

	char port[32];
	const char *dash;

	if (strlen(slash + 1) >= sizeof(port)) {
		snprintf(msg, msglen, "bad port '%s'", slash + 1);
		return -1;
	}
	strcpy(port, slash + 1);
	dash = strchr(port, '-');
	if (dash) {
		port[dash - port] = '\0';
		if (cfg_parse_uint(port, 65535, &v) < 0 || cfg_parse_uint(dash + 1, 65535, &hi) < 0 ||
		    v > hi) {
			snprintf(msg, msglen, "bad port range '%s'", slash + 1);
			return -1;
		}
	} else {
		if (cfg_parse_uint(port, 65535, &v) < 0) {
			snprintf(msg, msglen, "bad port '%s'", slash + 1);
			return -1;
		}
		hi = v;
	}
	/* RFC 7296 3.13.1: ports are only defined together with a protocol. */
	if (ts->ip_proto == 0 && !(v == 0 && hi == 65535)) {
		snprintf(msg, msglen, "a port needs a protocol ('[tcp/%s]')", slash + 1);
		return -1;
	}
	ts->start_port = (uint16_t)v;
	ts->end_port = (uint16_t)hi;
	return 0;
}

static void ss_addr_bytes(const struct sockaddr_storage *ss, uint8_t *out)
{
	if (ss->ss_family == AF_INET)
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

/* One traffic selector: CIDR, address, range a-b or %dynamic, then [proto/port]. */
static int parse_ts(const char *s, struct ts_cfg *ts, char *msg, size_t msglen)
{
	char addr[128];
	const char *br = strchr(s, '[');
	size_t alen = br ? (size_t)(br - s) : strlen(s);
	struct sockaddr_storage a, b;
	char *sep;

	memset(ts, 0, sizeof(*ts));
	ts->end_port = 65535;
	while (alen && cfg_is_ws(s[alen - 1]))
		alen--;
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(msg, msglen, "bad traffic selector '%s'", s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (br) {
		char inner[64];
		size_t ilen = strlen(br + 1);

		if (ilen == 0 || br[ilen] != ']' || ilen - 1 >= sizeof(inner)) {
			snprintf(msg, msglen, "bad protocol/port suffix in '%s'", s);
			return -1;
		}
		memcpy(inner, br + 1, ilen - 1);
		inner[ilen - 1] = '\0';
		if (parse_ts_proto(inner, ts, msg, msglen) < 0)
			return -1;
	}

	if (strcmp(addr, "%dynamic") == 0) {
		ts->dynamic = true;
		return 0;
	}
	if ((sep = strchr(addr, '/'))) {
		unsigned long prefix;
		size_t alen_bytes;

		*sep = '\0';
		if (cfg_parse_addr(addr, &a) < 0) {
			snprintf(msg, msglen, "bad address '%s' in traffic selector", addr);
			return -1;
		}
		alen_bytes = a.ss_family == AF_INET ? 4 : 16;
		if (cfg_parse_uint(sep + 1, alen_bytes * 8, &prefix) < 0) {
			snprintf(msg, msglen, "bad prefix length '/%s' in traffic selector", sep + 1);
			return -1;
		}
		ss_addr_bytes(&a, ts->start);
		memcpy(ts->end, ts->start, alen_bytes);
		/* Host bits cleared in the start, set in the end. */
		for (size_t i = 0; i < alen_bytes; i++) {
			size_t bits = prefix > i * 8 ? prefix - i * 8 : 0;
			uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

			ts->start[i] &= mask;
			ts->end[i] |= (uint8_t)~mask;
		}
	} else if ((sep = strchr(addr, '-'))) {
		*sep = '\0';
		if (cfg_parse_addr(addr, &a) < 0 || cfg_parse_addr(sep + 1, &b) < 0 ||
		    a.ss_family != b.ss_family) {
			snprintf(msg, msglen, "bad address range '%s-%s'", addr, sep + 1);
			return -1;
		}
		ss_addr_bytes(&a, ts->start);
		ss_addr_bytes(&b, ts->end);
		if (memcmp(ts->start, ts->end, a.ss_family == AF_INET ? 4 : 16) > 0) {
			snprintf(msg, msglen, "address range '%s-%s' ends before it starts", addr,
				 sep + 1);
			return -1;
		}
	} else {
		if (cfg_parse_addr(addr, &a) < 0) {
			snprintf(msg, msglen, "bad traffic selector '%s' (address, CIDR, range or %%dynamic)",
				 addr);
			return -1;
		}
		ss_addr_bytes(&a, ts->start);
		ss_addr_bytes(&a, ts->end);
	}
	ts->type = a.ss_family == AF_INET ? TS_IPV4_ADDR_RANGE : TS_IPV6_ADDR_RANGE;
	return 0;
}

static int ts_list_add(void *ctx, const char *item, char *msg, size_t msglen)
{
	struct ts_cfg_list *l = ctx;
	struct ts_cfg ts;
	struct ts_cfg *n;

	if (parse_ts(item, &ts, msg, msglen) < 0)
		return -1;
	if (l->n == IKE_TS_MAX) {
		snprintf(msg, msglen, "more than %d traffic selectors", IKE_TS_MAX);
		return -1;
	}
	n = realloc(l->ts, (l->n + 1) * sizeof(*n));
	if (!n) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	l->ts = n;
	l->ts[l->n++] = ts;
	return 0;
}

int cfg_parse_ts_list(char *s, struct ts_cfg_list *l, char *msg, size_t msglen)
{
	memset(l, 0, sizeof(*l));
	if (cfg_split_list(s, ts_list_add, l, msg, msglen) < 0) {
		free(l->ts);
		memset(l, 0, sizeof(*l));
		return -1;
	}
	return 0;
}

int cfg_ts_list_dynamic(struct ts_cfg_list *l)
{
	l->ts = calloc(1, sizeof(*l->ts));
	if (!l->ts)
		return -1;
	l->ts[0].dynamic = true;
	l->ts[0].end_port = 65535;
	l->n = 1;
	return 0;
}

/* Prefix length if start..end is a CIDR block, else -1. */
static int ts_prefix(const uint8_t *s, const uint8_t *e, size_t n)
{
	int prefix = 0;
	size_t i = 0;

	while (i < n && s[i] == e[i]) {
		prefix += 8;
		i++;
	}
	if (i == n)
		return prefix;
	uint8_t diff = s[i] ^ e[i];
	int bits = 0;

	/* The differing bits must be a run of host bits: s has 0s, e has 1s. */
	while (bits < 8 && !(diff & (0x80 >> bits)))
		bits++;
	uint8_t host = (uint8_t)(0xff >> bits);

	if ((s[i] & host) != 0 || (e[i] & host) != host)
		return -1;
	for (size_t j = i + 1; j < n; j++) {
		if (s[j] != 0 || e[j] != 0xff)
			return -1;
	}
	return prefix + bits;
}

int config_ts_format(const struct ts_cfg *ts, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], addr[2 * INET6_ADDRSTRLEN + 8];
	char suffix[48] = "";

	if (ts->ip_proto || ts->start_port != 0 || ts->end_port != 65535) {
		const char *pn = ip_proto_name(ts->ip_proto);
		char proto[8];

		if (ts->ip_proto == 0)
			pn = "%any";
		else if (!pn) {
			snprintf(proto, sizeof(proto), "%u", ts->ip_proto);
			pn = proto;
		}
		if (ts->start_port == 0 && ts->end_port == 65535)
			snprintf(suffix, sizeof(suffix), "[%s]", pn);
		else if (ts->start_port == ts->end_port)
			snprintf(suffix, sizeof(suffix), "[%s/%u]", pn, ts->start_port);
		else
			snprintf(suffix, sizeof(suffix), "[%s/%u-%u]", pn, ts->start_port,
				 ts->end_port);
	}
	if (ts->dynamic)
		return snprintf(buf, len, "%%dynamic%s", suffix);

	int af = ts->type == TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
	size_t n = af == AF_INET ? 4 : 16;
	int prefix = ts_prefix(ts->start, ts->end, n);

	inet_ntop(af, ts->start, a, sizeof(a));
	inet_ntop(af, ts->end, b, sizeof(b));
	if (prefix == (int)n * 8)
		snprintf(addr, sizeof(addr), "%s", a);
	else if (prefix >= 0)
		snprintf(addr, sizeof(addr), "%s/%d", a, prefix);
	else
		snprintf(addr, sizeof(addr), "%s-%s", a, b);
	return snprintf(buf, len, "%s%s", addr, suffix);
}
