/*
 * Configuration payload attributes (see cp.h): RFC 7296 3.15.1, RFC 8598 4.
 */
#include "daemon/cp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/cursor.h"

int cp_netmask_plen(const uint8_t mask[4])
{
	uint32_t m = (uint32_t)mask[0] << 24 | (uint32_t)mask[1] << 16 | (uint32_t)mask[2] << 8 |
		     mask[3];
	int plen = 0;
	while (plen < 32 && (m & (0x80000000u >> plen)))
		plen++;
	/* every bit after the first zero must be zero too */
	if (plen < 32 && (m << plen) != 0)
		return -1;
	return plen;
}

static void plen_mask4(uint8_t plen, uint8_t out[4])
{
	uint32_t m = plen ? 0xffffffffu << (32 - plen) : 0;
	out[0] = (uint8_t)(m >> 24);
	out[1] = (uint8_t)(m >> 16);
	out[2] = (uint8_t)(m >> 8);
	out[3] = (uint8_t)m;
}

/*
 * RFC 8598 4: "a Fully Qualified Domain Name ... in DNS presentation format
 * and using an IDNA A-label": letters, digits, '-' (and '_', which real
 * zones carry) in labels of 1..63 octets, at most 253 in all; no NUL.
 */
bool cp_domain_ok(const char *s, size_t len)
{
	if (len == 0 || len > CP_DOMAIN_LEN)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '_';
		if (!ok || ++label > 63)
			return false;
	}
	return label > 0;
}

static bool put(struct cp_prefix *arr, size_t max, size_t *n, unsigned *dropped, uint8_t family,
		const uint8_t *addr, uint8_t plen)
{
	if (*n >= max) {
		(*dropped)++;
		return false;
	}
	struct cp_prefix *p = &arr[(*n)++];
	memset(p, 0, sizeof(*p));
	p->family = family;
	p->plen = plen;
	memcpy(p->addr, addr, family == AF_INET ? 4 : 16);
	return true;
}

__attribute__((format(printf, 2, 3))) static int fail(char why[CP_WHY_LEN], const char *fmt,
							   ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, CP_WHY_LEN, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * One attribute into *out (*netmask: INTERNAL_IP4_NETMASK's prefix length).
 * payload_parse_cp checked each length against its type; checked again
 * here before reading, as this may get attributes built by hand.
 */
static int decode_attr(const struct ike_cp_attr *a, struct cp_info *out, int *netmask,
		       char why[CP_WHY_LEN])
{
	const uint8_t *v = a->value.ptr;
	size_t len = a->value.len;
	switch (a->type) {
	case CFG_INTERNAL_IP4_ADDRESS:
		if (len == 0) {
			out->want_ip4 = true;
		} else if (len != 4) {
			return fail(why, "INTERNAL_IP4_ADDRESS: %u octets, needs 0 or %u",
				    (unsigned)len, 4);
		} else {
			put(out->addrs, CP_ADDRS_MAX, &out->n_addrs, &out->dropped, AF_INET, v,
			    32);
		}
		break;
	case CFG_INTERNAL_IP4_NETMASK:
		if (len == 0)
			break;
		if (len != 4)
			return fail(why, "INTERNAL_IP4_NETMASK: %u octets, needs 0 or %u",
				    (unsigned)len, 4);
		*netmask = cp_netmask_plen(v);
		if (*netmask < 0) {
			snprintf(why, CP_WHY_LEN,
				 "INTERNAL_IP4_NETMASK: %u.%u.%u.%u is not contiguous, needs "
				 "ones then zeros",
				 v[0], v[1], v[2], v[3]);
			return -1;
		}
		break;
	case CFG_INTERNAL_IP6_ADDRESS:
	case CFG_INTERNAL_IP6_SUBNET: {
		bool addr = a->type == CFG_INTERNAL_IP6_ADDRESS;
		if (len == 0) {
			if (addr)
				out->want_ip6 = true;
			break;
		}
		if (len != 17)
			return fail(why, "INTERNAL_IP6_ADDRESS/SUBNET: %u octets, needs 0 or %u",
				    (unsigned)len, 17);
		if (v[16] > 128)
			return fail(why, "INTERNAL_IP6_ADDRESS/SUBNET: prefix length %u, needs <= %u",
				    v[16], 128);
		if (addr)
			put(out->addrs, CP_ADDRS_MAX, &out->n_addrs, &out->dropped, AF_INET6, v,
			    v[16]);
		else
			put(out->subnets, CP_SUBNETS_MAX, &out->n_subnets, &out->dropped,
			    AF_INET6, v, v[16]);
		break;
	}
	case CFG_INTERNAL_IP4_DNS:
	case CFG_INTERNAL_IP6_DNS: {
		bool v4 = a->type == CFG_INTERNAL_IP4_DNS;
		size_t want = v4 ? 4 : 16;
		if (len == 0) {
			if (v4)
				out->want_dns4 = true;
			else
				out->want_dns6 = true;
		} else if (len != want) {
			return fail(why, "INTERNAL_IP_DNS: %u octets, needs 0 or %u",
				    (unsigned)len, (unsigned)want);
		} else {
			put(out->dns, CP_DNS_MAX, &out->n_dns, &out->dropped,
			    v4 ? AF_INET : AF_INET6, v, v4 ? 32 : 128);
		}
		break;
	}
	case CFG_INTERNAL_IP4_SUBNET: {
		if (len == 0)
			break;
		if (len != 8)
			return fail(why, "INTERNAL_IP4_SUBNET: %u octets, needs 0 or %u",
				    (unsigned)len, 8);
		int plen = cp_netmask_plen(v + 4);
		if (plen < 0) {
			snprintf(why, CP_WHY_LEN,
				 "INTERNAL_IP4_SUBNET: netmask %u.%u.%u.%u not contiguous, "
				 "needs ones then zeros",
				 v[4], v[5], v[6], v[7]);
			return -1;
		}
		put(out->subnets, CP_SUBNETS_MAX, &out->n_subnets, &out->dropped, AF_INET, v,
		    (uint8_t)plen);
		break;
	}
	case CFG_INTERNAL_DNS_DOMAIN: {
		if (len == 0) {
			out->want_domain = true;
			break;
		}
		/* RFC 8598 4: presentation format; a trailing root dot is the same name. */
		size_t n = len;
		if (n > 1 && v[n - 1] == '.')
			n--;
		if (!cp_domain_ok((const char *)v, n))
			return fail(why,
				    "INTERNAL_DNS_DOMAIN: %u octets that are no domain name, "
				    "needs LDH labels of 1..63, <= %u in all",
				    (unsigned)len, CP_DOMAIN_LEN);
		if (out->n_domains >= CP_DOMAINS_MAX) {
			out->dropped++;
			break;
		}
		char *d = out->domains[out->n_domains++];
		for (size_t k = 0; k < n; k++)
			d[k] = (char)(v[k] >= 'A' && v[k] <= 'Z' ? v[k] + 32 : v[k]);
		d[n] = '\0';
		break;
	}
	default:
		out->skipped++;
		break;
	}
	return 0;
}

int cp_decode(const struct ike_cp *cp, struct cp_info *out, char why[CP_WHY_LEN])
{
	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	out->type = cp->type;
	int netmask = -1; /* 3.15.1: one netmask, for the IPv4 address */
	for (uint16_t i = 0; i < cp->n_attrs; i++)
		if (decode_attr(&cp->attrs[i], out, &netmask, why) != 0)
			return -1;
	if (netmask >= 0)
		for (size_t i = 0; i < out->n_addrs; i++)
			if (out->addrs[i].family == AF_INET)
				out->addrs[i].plen = (uint8_t)netmask;
	return 0;
}

/* One attribute: type, length, value (3.15.1; the R bit is zero). */
static void attr(struct ike_builder *b, uint16_t type, const void *v, size_t len)
{
	wr_u16(&b->w, type & CFG_ATTR_TYPE_MASK);
	wr_u16(&b->w, (uint16_t)len);
	if (len)
		wr_bytes(&b->w, v, len);
}

void cp_build(struct ike_builder *b, const struct cp_info *in)
{
	size_t off = payload_begin(b, PL_CP, false);
	wr_u8(&b->w, in->type);
	wr_zeros(&b->w, 3);
	if (in->want_ip4)
		attr(b, CFG_INTERNAL_IP4_ADDRESS, NULL, 0);
	if (in->want_ip6)
		attr(b, CFG_INTERNAL_IP6_ADDRESS, NULL, 0);
	if (in->want_dns4)
		attr(b, CFG_INTERNAL_IP4_DNS, NULL, 0);
	if (in->want_dns6)
		attr(b, CFG_INTERNAL_IP6_DNS, NULL, 0);
	if (in->want_domain)
		attr(b, CFG_INTERNAL_DNS_DOMAIN, NULL, 0);
	bool mask_sent = false;
	for (size_t i = 0; i < in->n_addrs && i < CP_ADDRS_MAX; i++) {
		const struct cp_prefix *p = &in->addrs[i];
		if (p->family == AF_INET) {
			attr(b, CFG_INTERNAL_IP4_ADDRESS, p->addr, 4);
			if (p->plen < 32 && !mask_sent) {
				uint8_t m[4];
				plen_mask4(p->plen, m);
				attr(b, CFG_INTERNAL_IP4_NETMASK, m, 4);
				mask_sent = true;
			}
		} else {
			uint8_t v[17];
			memcpy(v, p->addr, 16);
			v[16] = p->plen;
			attr(b, CFG_INTERNAL_IP6_ADDRESS, v, 17);
		}
	}
	for (size_t i = 0; i < in->n_dns && i < CP_DNS_MAX; i++) {
		const struct cp_prefix *p = &in->dns[i];
		if (p->family == AF_INET)
			attr(b, CFG_INTERNAL_IP4_DNS, p->addr, 4);
		else
			attr(b, CFG_INTERNAL_IP6_DNS, p->addr, 16);
	}
	for (size_t i = 0; i < in->n_subnets && i < CP_SUBNETS_MAX; i++) {
		const struct cp_prefix *p = &in->subnets[i];
		uint8_t v[17];
		if (p->family == AF_INET) {
			memcpy(v, p->addr, 4);
			plen_mask4(p->plen, v + 4);
			attr(b, CFG_INTERNAL_IP4_SUBNET, v, 8);
		} else {
			memcpy(v, p->addr, 16);
			v[16] = p->plen;
			attr(b, CFG_INTERNAL_IP6_SUBNET, v, 17);
		}
	}
	for (size_t i = 0; i < in->n_domains && i < CP_DOMAINS_MAX; i++)
		attr(b, CFG_INTERNAL_DNS_DOMAIN, in->domains[i], strnlen(in->domains[i], CP_DOMAIN_LEN));
	payload_end(b, off);
}
