/* Traffic selector narrowing and kernel selector conversion (see ts.h). */
#include "daemon/ts.h"

#include <netinet/in.h>

#include "daemon/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

typedef unsigned __int128 u128;

static size_t alen(uint8_t type)
{
	return payload_ts_addr_len(type);
}

static u128 to_u128(const uint8_t *a, size_t len)
{
	u128 v = 0;
	for (size_t i = 0; i < len; i++)
		v = (v << 8) | a[i];
	return v;
}

/* Big-endian store of the low len octets (len <= 16). Counts upwards: the
 * downward `i-- > 0` form made gcc 12 at -O3 see a store at offset -1
 * (-Wstringop-overflow) after unrolling. */
static void from_u128(u128 v, uint8_t *a, size_t len)
{
	for (size_t i = 0; i < len; i++)
		a[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
}

bool ts_intersect(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *out)
{
	size_t n = alen(a->type);
	if (a->type != b->type || n == 0)
		return false;
	struct ike_ts r = {.type = a->type};
	if (a->ip_proto && b->ip_proto && a->ip_proto != b->ip_proto)
		return false;
	r.ip_proto = a->ip_proto ? a->ip_proto : b->ip_proto;
	r.start_port = a->start_port > b->start_port ? a->start_port : b->start_port;
	r.end_port = a->end_port < b->end_port ? a->end_port : b->end_port;
	if (r.start_port > r.end_port)
		return false;
	memcpy(r.start, memcmp(a->start, b->start, n) > 0 ? a->start : b->start, n);
	memcpy(r.end, memcmp(a->end, b->end, n) < 0 ? a->end : b->end, n);
	if (memcmp(r.start, r.end, n) > 0)
		return false;
	*out = r;
	return true;
}

bool ts_contains(const struct ike_ts *outer, const struct ike_ts *inner)
{
	size_t n = alen(outer->type);
	if (outer->type != inner->type || n == 0)
		return false;
	if (outer->ip_proto && outer->ip_proto != inner->ip_proto)
		return false;
	return inner->start_port >= outer->start_port && inner->end_port <= outer->end_port &&
	       memcmp(inner->start, outer->start, n) >= 0 && memcmp(inner->end, outer->end, n) <= 0;
}

static bool ts_eq(const struct ike_ts *a, const struct ike_ts *b)
{
	size_t n = alen(a->type);
	return a->type == b->type && a->ip_proto == b->ip_proto &&
	       a->start_port == b->start_port && a->end_port == b->end_port &&
	       memcmp(a->start, b->start, n) == 0 && memcmp(a->end, b->end, n) == 0;
}

size_t ts_narrow(const struct ike_ts *proposed, size_t n_proposed, const struct ike_ts *cfg,
		 size_t n_cfg, struct ike_ts *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < n_proposed; i++) {
		for (size_t j = 0; j < n_cfg && n < cap; j++) {
			struct ike_ts r;
			if (!ts_intersect(&proposed[i], &cfg[j], &r))
				continue;
			bool dup = false;
			for (size_t k = 0; k < n && !dup; k++)
				dup = ts_eq(&out[k], &r);
			if (!dup)
				out[n++] = r;
		}
	}
	return n;
}

bool ts_all_within(const struct ike_ts *got, size_t n_got, const struct ike_ts *sent,
		   size_t n_sent)
{
	for (size_t i = 0; i < n_got; i++) {
		bool ok = false;
		for (size_t j = 0; j < n_sent && !ok; j++)
			ok = ts_contains(&sent[j], &got[i]);
		if (!ok)
			return false;
	}
	return n_got > 0;
}

size_t ts_from_cfg(const struct ts_cfg_list *l, const struct sockaddr_storage *addr,
		   struct ike_ts *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n && n < cap; i++) {
		const struct ts_cfg *c = &l->ts[i];
		struct ike_ts *t = &out[n++];
		if (c->dynamic) {
			const uint8_t *a = addr->ss_family == AF_INET
						   ? (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr
						   : (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
			ts_from_prefix(t, addr->ss_family, a, addr->ss_family == AF_INET ? 32 : 128,
				       c->ip_proto, c->start_port, c->end_port);
		} else {
			*t = (struct ike_ts){.type = c->type, .ip_proto = c->ip_proto,
					     .start_port = c->start_port, .end_port = c->end_port};
			memcpy(t->start, c->start, 16);
			memcpy(t->end, c->end, 16);
		}
	}
	return n;
}

void ts_from_prefix(struct ike_ts *ts, int family, const uint8_t *addr, unsigned plen,
		    uint8_t proto, uint16_t start_port, uint16_t end_port)
{
	size_t n = family == AF_INET6 ? 16 : 4;
	*ts = (struct ike_ts){
		.type = family == AF_INET6 ? TS_IPV6_ADDR_RANGE : TS_IPV4_ADDR_RANGE,
		.ip_proto = proto,
		.start_port = start_port,
		.end_port = end_port,
	};
	if (plen > n * 8)
		plen = (unsigned)(n * 8);
	u128 a = to_u128(addr, n);
	unsigned host = (unsigned)(n * 8) - plen;
	u128 hostmask = host >= 128 ? ~(u128)0 : (((u128)1 << host) - 1);
	from_u128(a & ~hostmask, ts->start, n);
	from_u128(a | hostmask, ts->end, n);
}

/* Largest aligned block [start, start + 2^k) within [start, end]; returns k. */
static unsigned block_bits(u128 start, u128 end, unsigned width)
{
	unsigned k = 0;
	while (k < width) {
		u128 size = (u128)1 << (k + 1);
		if ((start & (size - 1)) != 0)
			break;
		if (start + size - 1 > end || start + size - 1 < start)
			break;
		k++;
	}
	return k;
}

struct prefix {
	uint8_t a[16];
	uint8_t plen;
};

static int split_addrs(const struct ike_ts *ts, struct prefix *out, size_t cap)
{
	size_t n = alen(ts->type);
	unsigned width = (unsigned)n * 8;
	u128 s = to_u128(ts->start, n), e = to_u128(ts->end, n);
	size_t cnt = 0;
	for (;;) {
		if (cnt == cap)
			return -E2BIG;
		unsigned k = block_bits(s, e, width);
		memset(out[cnt].a, 0, sizeof(out[cnt].a));
		from_u128(s, out[cnt].a, n);
		out[cnt].plen = (uint8_t)(width - k);
		cnt++;
		if (k == width)
			break;
		u128 next = s + ((u128)1 << k);
		if (next - 1 >= e)
			break;
		s = next;
	}
	return (int)cnt;
}

struct portblk {
	uint16_t port, mask;
};

static int split_ports(uint16_t lo, uint16_t hi, struct portblk *out, size_t cap)
{
	if (lo == 0 && hi == 65535) {
		out[0] = (struct portblk){0, 0};
		return 1;
	}
	size_t cnt = 0;
	uint32_t s = lo, e = hi;
	while (s <= e) {
		if (cnt == cap)
			return -E2BIG;
		unsigned k = block_bits(s, e, 16);
		out[cnt++] = (struct portblk){(uint16_t)s, (uint16_t)(0xffffu << k)};
		s += 1u << k;
	}
	return (int)cnt;
}

int ts_to_ksel(const struct ike_ts *local, const struct ike_ts *remote, struct ksel *out,
	       size_t cap)
{
	enum { MAXP = 16 };
	struct prefix lp[MAXP], rp[MAXP];
	struct portblk lb[MAXP], rb[MAXP];
	if (local->type != remote->type || alen(local->type) == 0)
		return -EINVAL;
	/* Both sides carry one protocol in XFRM: they must agree (or one is any). */
	if (local->ip_proto && remote->ip_proto && local->ip_proto != remote->ip_proto)
		return -EINVAL;
	int nl = split_addrs(local, lp, MAXP), nr = split_addrs(remote, rp, MAXP);
	int nlb = split_ports(local->start_port, local->end_port, lb, MAXP);
	int nrb = split_ports(remote->start_port, remote->end_port, rb, MAXP);
	if (nl < 0 || nr < 0 || nlb < 0 || nrb < 0)
		return -E2BIG;
	uint8_t family = local->type == TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET;
	size_t cnt = 0;
	for (int i = 0; i < nl; i++)
		for (int j = 0; j < nr; j++)
			for (int p = 0; p < nlb; p++)
				for (int q = 0; q < nrb; q++) {
					if (cnt == cap)
						return -E2BIG;
					struct ksel *k = &out[cnt++];
					*k = (struct ksel){0};
					k->src.family = k->dst.family = family;
					memcpy(k->src.a, lp[i].a, 16);
					memcpy(k->dst.a, rp[j].a, 16);
					k->src_plen = lp[i].plen;
					k->dst_plen = rp[j].plen;
					k->proto = local->ip_proto ? local->ip_proto : remote->ip_proto;
					k->sport = lb[p].port;
					k->sport_mask = lb[p].mask;
					k->dport = rb[q].port;
					k->dport_mask = rb[q].mask;
				}
	return (int)cnt;
}

const char *ts_to_string(const struct ike_ts *ts, char *buf, size_t len)
{
	size_t n = alen(ts->type);
	if (n == 0) {
		snprintf(buf, len, "ts-type-%u", ts->type);
		return buf;
	}
	int af = n == 16 ? AF_INET6 : AF_INET;
	char s[INET6_ADDRSTRLEN], e[INET6_ADDRSTRLEN];
	inet_ntop(af, ts->start, s, sizeof(s));
	inet_ntop(af, ts->end, e, sizeof(e));
	struct prefix p[1];
	int np = split_addrs(ts, p, 1);
	int off;
	if (np == 1)
		off = snprintf(buf, len, "%s/%u", s, p[0].plen);
	else
		off = snprintf(buf, len, "%s-%s", s, e);
	if (off < 0 || (size_t)off >= len)
		return buf;
	if (ts->ip_proto || ts->start_port != 0 || ts->end_port != 65535) {
		char proto[16];
		if (ts->ip_proto == 6)
			snprintf(proto, sizeof(proto), "tcp");
		else if (ts->ip_proto == 17)
			snprintf(proto, sizeof(proto), "udp");
		else if (ts->ip_proto == 1)
			snprintf(proto, sizeof(proto), "icmp");
		else
			snprintf(proto, sizeof(proto), "%u", ts->ip_proto);
		if (ts->start_port == 0 && ts->end_port == 65535)
			snprintf(buf + off, len - (size_t)off, "[%s]", proto);
		else if (ts->start_port == ts->end_port)
			snprintf(buf + off, len - (size_t)off, "[%s/%u]", proto, ts->start_port);
		else
			snprintf(buf + off, len - (size_t)off, "[%s/%u-%u]", proto, ts->start_port,
				 ts->end_port);
	}
	return buf;
}
