/*
 * libFuzzer target for Configuration payloads (RFC 7296 3.15, RFC 8598):
 * the codec's CP body parser (daemon/payload_parse.c) and the attribute
 * decoder (daemon/cp.c) that the gateway runs on a road warrior's
 * CFG_REQUEST and the road warrior on the gateway's CFG_REPLY.
 * Input: one CP payload body (CFG Type, RESERVED, attributes).
 *
 * Checks, each a crash (abort) when violated:
 *  - a failed decode says why (non-empty); a successful one stays within
 *    its limits, with domains that cp_domain_ok accepts, IPv6 prefix
 *    lengths <= 128 and IPv4 ones <= 32;
 *  - build/decode agreement: what decoded, built again with cp_build and
 *    parsed and decoded again, gives the same struct cp_info (less the
 *    counts of skipped and dropped attributes, which the builder omits).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/cp.h"
#include "daemon/message.h"
#include "daemon/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz_cp: %s\n", what);
	abort();
}

static struct payload_pool pool, pool2;
static uint8_t out[8192];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ike_cp cp;
	struct payload_err err;
	memset(&pool, 0, sizeof(pool));
	if (payload_parse_cp(rd_init(data, size), &pool, &cp, &err) != PAYLOAD_OK)
		return 0;
	struct cp_info a, b;
	char why[CP_WHY_LEN];
	if (cp_decode(&cp, &a, why) < 0) {
		if (!why[0])
			die("decode failed without a reason");
		return 0;
	}
	if (a.n_addrs > CP_ADDRS_MAX || a.n_dns > CP_DNS_MAX || a.n_subnets > CP_SUBNETS_MAX ||
	    a.n_domains > CP_DOMAINS_MAX)
		die("over a limit");
	for (size_t i = 0; i < a.n_domains; i++)
		if (!cp_domain_ok(a.domains[i], strlen(a.domains[i])))
			die("a domain cp_domain_ok refuses");
	for (size_t i = 0; i < a.n_addrs; i++)
		if (a.addrs[i].plen > (a.addrs[i].family == AF_INET ? 32 : 128))
			die("prefix length too long");

	/* A netmask applies to every IPv4 address; the builder sends the first one's. */
	struct ike_builder bld;
	message_build_inner_init(&bld, out, sizeof(out));
	cp_build(&bld, &a);
	size_t len;
	if (message_build_finish(&bld, &len) != 0)
		die("cp_build of a decoded payload failed");
	memset(&pool2, 0, sizeof(pool2));
	struct ike_cp cp2;
	if (payload_parse_cp(rd_init(out + 4, len - 4), &pool2, &cp2, &err) != PAYLOAD_OK)
		die(err.why);
	if (cp_decode(&cp2, &b, why) < 0)
		die(why);
	a.skipped = b.skipped = 0;
	a.dropped = b.dropped = 0;
	if (memcmp(&a, &b, sizeof(a)) != 0)
		die("build(decode(x)) decodes differently");
	return 0;
}
