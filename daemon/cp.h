/*
 * What a Configuration payload means (RFC 7296 3.15, 3.15.1; RFC 8598 split
 * DNS): the attributes of a parsed struct ike_cp (daemon/payload.h checks
 * their syntax: header, lengths) decoded into addresses, DNS servers, split
 * subnets and DNS domains, and the other way round for the payload we send.
 *
 * Decoding borrows nothing: everything is copied into struct cp_info, so it
 * outlives the message. Attributes xiked does not use (NBNS, DHCP,
 * APPLICATION_VERSION, P_CSCF, DNSSEC_TA, unassigned types) are skipped
 * and counted, as 3.15.1 lets a peer ignore what it does not understand;
 * beyond the limits below further values are dropped and counted too.
 * A value that is well-sized but meaningless (a non-contiguous netmask, an
 * IPv6 prefix length over 128, a domain that is no domain name) fails the
 * decode with got-vs-needed in why (design.md rule 7).
 */
#ifndef XIKED_CP_H
#define XIKED_CP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/payload.h"

#define CP_ADDRS_MAX 4    /* INTERNAL_IP4/6_ADDRESS values kept */
#define CP_DNS_MAX 8      /* INTERNAL_IP4/6_DNS values kept */
#define CP_SUBNETS_MAX 16 /* INTERNAL_IP4/6_SUBNET values kept */
#define CP_DOMAINS_MAX 8  /* INTERNAL_DNS_DOMAIN values kept */
#define CP_DOMAIN_LEN 253 /* RFC 1035 2.3.4: a name in text, without the root dot */
#define CP_WHY_LEN 128

/* An address (plen 32/128 for a host) of family AF_INET or AF_INET6. */
struct cp_prefix {
	uint8_t family;
	uint8_t plen;
	uint8_t addr[16]; /* 4 octets used for IPv4 */
};

struct cp_info {
	uint8_t type; /* enum ike_cfg_type */
	/*
	 * Attributes present with an empty value: what a CFG_REQUEST asks for
	 * (3.15.1: "a zero-length value ... requests that attribute").
	 */
	bool want_ip4, want_ip6, want_dns4, want_dns6, want_domain;
	/* Values: ADDRESS (IPv4 plen from INTERNAL_IP4_NETMASK, else 32), DNS, SUBNET. */
	struct cp_prefix addrs[CP_ADDRS_MAX];
	size_t n_addrs;
	struct cp_prefix dns[CP_DNS_MAX]; /* plen unused (32/128) */
	size_t n_dns;
	struct cp_prefix subnets[CP_SUBNETS_MAX];
	size_t n_subnets;
	char domains[CP_DOMAINS_MAX][CP_DOMAIN_LEN + 1]; /* lower case, no trailing dot */
	size_t n_domains;
	unsigned skipped; /* attributes of types xiked does not use */
	unsigned dropped; /* values beyond the limits above */
};

/*
 * Decodes cp into *out (zeroed first). 0, or -1 with why (NUL-terminated,
 * got vs. needed) when a value is meaningless; *out is then partial.
 */
int cp_decode(const struct ike_cp *cp, struct cp_info *out, char why[CP_WHY_LEN]);

/*
 * Appends one CP payload of info->type with: an empty attribute for each
 * want_* (a request), then every value (addresses, DNS servers, subnets,
 * domains). An IPv4 address with plen < 32 also gets INTERNAL_IP4_NETMASK.
 * Errors are sticky in b (payload.h).
 */
void cp_build(struct ike_builder *b, const struct cp_info *info);

/* Whether s[0..len) is a domain name RFC 8598 4 accepts: LDH labels of 1..63, <= 253 in all. */
bool cp_domain_ok(const char *s, size_t len);

/* IPv4 netmask (network order) -> prefix length, or -1 when not contiguous. */
int cp_netmask_plen(const uint8_t mask[4]);

#endif
