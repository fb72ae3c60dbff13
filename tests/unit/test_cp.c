/*
 * Configuration payload attributes (daemon/cp.c): a request and a reply
 * built, parsed by the codec and decoded back; RFC 8598 domains; netmasks;
 * unknown attributes skipped; meaningless values refused with got vs.
 * needed; limits counted, not failed.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/cp.h"
#include "daemon/message.h"
#include "daemon/payload.h"

static uint8_t buf[4096];
static struct payload_pool pool;

/* Builds info as one CP payload and parses it back with the codec. */
static struct ike_cp roundtrip(const struct cp_info *info)
{
	struct ike_builder b;
	message_build_inner_init(&b, buf, sizeof(buf));
	cp_build(&b, info);
	size_t len;
	assert_int_equal(message_build_finish(&b, &len), 0);
	memset(&pool, 0, sizeof(pool));
	struct ike_cp cp;
	struct payload_err err;
	assert_int_equal(payload_parse_cp(rd_init(buf + 4, len - 4), &pool, &cp, &err), PAYLOAD_OK);
	return cp;
}

static struct cp_prefix pfx(const char *ip, uint8_t plen)
{
	struct cp_prefix p = { 0 };
	p.family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	p.plen = plen;
	assert_int_equal(inet_pton(p.family, ip, p.addr), 1);
	return p;
}

static void test_cp_request_roundtrip(void **state)
{
	(void)state;
	struct cp_info in = { .type = CFG_REQUEST, .want_ip4 = true, .want_ip6 = true,
			      .want_dns4 = true, .want_dns6 = true, .want_domain = true };
	struct ike_cp cp = roundtrip(&in);
	assert_int_equal(cp.type, CFG_REQUEST);
	assert_int_equal(cp.n_attrs, 5);
	struct cp_info out;
	char why[CP_WHY_LEN];
	assert_int_equal(cp_decode(&cp, &out, why), 0);
	assert_true(out.want_ip4 && out.want_ip6 && out.want_dns4 && out.want_dns6 && out.want_domain);
	assert_int_equal(out.n_addrs + out.n_dns + out.n_subnets + out.n_domains, 0);
}

static void test_cp_reply_roundtrip(void **state)
{
	(void)state;
	struct cp_info in = { .type = CFG_REPLY };
	in.addrs[in.n_addrs++] = pfx("10.3.0.1", 32);
	in.addrs[in.n_addrs++] = pfx("fd00:3::1", 128);
	in.dns[in.n_dns++] = pfx("10.0.0.53", 32);
	in.dns[in.n_dns++] = pfx("fd00::53", 128);
	in.subnets[in.n_subnets++] = pfx("10.1.0.0", 16);
	in.subnets[in.n_subnets++] = pfx("fd00:1::", 64);
	strcpy(in.domains[in.n_domains++], "corp.example");
	struct ike_cp cp = roundtrip(&in);
	assert_int_equal(cp.n_attrs, 7);
	struct cp_info out;
	char why[CP_WHY_LEN];
	assert_int_equal(cp_decode(&cp, &out, why), 0);
	assert_int_equal(out.type, CFG_REPLY);
	assert_int_equal(out.n_addrs, 2);
	assert_memory_equal(&out.addrs[0], &in.addrs[0], sizeof(in.addrs[0]));
	assert_memory_equal(&out.addrs[1], &in.addrs[1], sizeof(in.addrs[1]));
	assert_int_equal(out.n_dns, 2);
	assert_memory_equal(&out.dns[1], &in.dns[1], sizeof(in.dns[1]));
	assert_int_equal(out.n_subnets, 2);
	assert_memory_equal(&out.subnets[0], &in.subnets[0], sizeof(in.subnets[0]));
	assert_memory_equal(&out.subnets[1], &in.subnets[1], sizeof(in.subnets[1]));
	assert_int_equal(out.n_domains, 1);
	assert_string_equal(out.domains[0], "corp.example");
	assert_false(out.want_ip4);
}

/* 3.15.1: INTERNAL_IP4_NETMASK gives the address its prefix; the builder sends it for plen < 32. */
static void test_cp_netmask(void **state)
{
	(void)state;
	struct cp_info in = { .type = CFG_REPLY };
	in.addrs[in.n_addrs++] = pfx("10.3.0.7", 24);
	struct ike_cp cp = roundtrip(&in);
	assert_int_equal(cp.n_attrs, 2);
	assert_int_equal(cp.attrs[1].type, CFG_INTERNAL_IP4_NETMASK);
	struct cp_info out;
	char why[CP_WHY_LEN];
	assert_int_equal(cp_decode(&cp, &out, why), 0);
	assert_int_equal(out.addrs[0].plen, 24);
	static const uint8_t m1[4] = { 255, 255, 255, 0 }, m2[4] = { 255, 0, 255, 0 },
			     m3[4] = { 0, 0, 0, 0 }, m4[4] = { 255, 255, 255, 255 };
	assert_int_equal(cp_netmask_plen(m1), 24);
	assert_int_equal(cp_netmask_plen(m2), -1);
	assert_int_equal(cp_netmask_plen(m3), 0);
	assert_int_equal(cp_netmask_plen(m4), 32);
	/* a non-contiguous one is refused, naming what it got */
	struct ike_cp_attr a[2] = { { CFG_INTERNAL_IP4_ADDRESS, { (const uint8_t *)"\x0a\x03\x00\x07", 4 } },
				    { CFG_INTERNAL_IP4_NETMASK, { m2, 4 } } };
	struct ike_cp bad = { CFG_REPLY, 2, a };
	assert_int_equal(cp_decode(&bad, &out, why), -1);
	assert_non_null(strstr(why, "255.0.255.0"));
}

/* RFC 8598 4: presentation format, not NUL-terminated; a trailing dot is the same name. */
static void test_cp_dns_domain(void **state)
{
	(void)state;
	assert_true(cp_domain_ok("corp.example", 12));
	assert_true(cp_domain_ok("_srv.a-b.example", 16));
	assert_false(cp_domain_ok("", 0));
	assert_false(cp_domain_ok("a..b", 4));
	assert_false(cp_domain_ok(".a", 2));
	assert_false(cp_domain_ok("a b", 3));
	assert_false(cp_domain_ok("a\0b", 3));
	char label[70];
	memset(label, 'x', 64);
	assert_false(cp_domain_ok(label, 64));
	assert_true(cp_domain_ok(label, 63));

	struct ike_cp_attr a[2] = { { CFG_INTERNAL_DNS_DOMAIN, { (const uint8_t *)"Corp.Example.", 13 } },
				    { CFG_INTERNAL_DNS_DOMAIN, { (const uint8_t *)"bad\nname", 8 } } };
	struct ike_cp cp = { CFG_REPLY, 1, a };
	struct cp_info out;
	char why[CP_WHY_LEN];
	assert_int_equal(cp_decode(&cp, &out, why), 0);
	assert_string_equal(out.domains[0], "corp.example");
	cp.n_attrs = 2;
	assert_int_equal(cp_decode(&cp, &out, why), -1);
	assert_non_null(strstr(why, "INTERNAL_DNS_DOMAIN: 8 octets"));
}

/* Attributes xiked does not use are skipped; values beyond the limits are dropped and counted. */
static void test_cp_unknown_and_limits(void **state)
{
	(void)state;
	static const uint8_t v4[4] = { 10, 0, 0, 1 };
	struct ike_cp_attr a[IKE_CP_ATTRS_MAX];
	size_t n = 0;
	a[n++] = (struct ike_cp_attr){ CFG_APPLICATION_VERSION, { (const uint8_t *)"x", 1 } };
	a[n++] = (struct ike_cp_attr){ 16383, { v4, 3 } };
	a[n++] = (struct ike_cp_attr){ CFG_INTERNAL_IP4_NBNS, { v4, 4 } };
	for (int i = 0; i < CP_DNS_MAX + 3; i++)
		a[n++] = (struct ike_cp_attr){ CFG_INTERNAL_IP4_DNS, { v4, 4 } };
	struct ike_cp cp = { CFG_REPLY, (uint16_t)n, a };
	struct cp_info out;
	char why[CP_WHY_LEN];
	assert_int_equal(cp_decode(&cp, &out, why), 0);
	assert_int_equal(out.skipped, 3);
	assert_int_equal(out.n_dns, CP_DNS_MAX);
	assert_int_equal(out.dropped, 3);
	/* a wrong length (a hand-built attribute the codec would have refused) */
	a[0] = (struct ike_cp_attr){ CFG_INTERNAL_IP4_ADDRESS, { v4, 3 } };
	cp.n_attrs = 1;
	assert_int_equal(cp_decode(&cp, &out, why), -1);
	assert_string_equal(why, "INTERNAL_IP4_ADDRESS: 3 octets, needs 0 or 4");
	uint8_t v6[17] = { 0xfd };
	v6[16] = 129;
	a[0] = (struct ike_cp_attr){ CFG_INTERNAL_IP6_ADDRESS, { v6, 17 } };
	assert_int_equal(cp_decode(&cp, &out, why), -1);
	assert_string_equal(why, "INTERNAL_IP6_ADDRESS/SUBNET: prefix length 129, needs <= 128");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cp_request_roundtrip),
		cmocka_unit_test(test_cp_reply_roundtrip),
		cmocka_unit_test(test_cp_netmask),
		cmocka_unit_test(test_cp_dns_domain),
		cmocka_unit_test(test_cp_unknown_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
