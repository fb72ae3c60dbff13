/*
 * Virtual IPs through the CP exchange (task_config.c, vip.c) in the
 * two-engine world: a laptop (a, vip = %config4) and a gateway (b, a pool,
 * DNS, a split network and a DNS domain).
 *
 *   IKE_AUTH { IDi, IDr, CP(CFG_REQUEST), AUTH, SAi2, TSi(0.0.0.0/0), TSr } -->
 *   <-- { IDr, AUTH, CP(CFG_REPLY: 10.3.0.1, DNS, SUBNET, DNS_DOMAIN), SAr2,
 *         TSi(10.3.0.1/32), TSr }
 *
 * The gateway's Child SA takes the lease as its remote selector, the
 * laptop's as its local one; the laptop puts the address on the device
 * toward the gateway, and both give it back when the IKE SA goes; the
 * same identity gets the same address again. An exhausted pool answers
 * INTERNAL_ADDRESS_FAILURE: the IKE SA stays, without a Child SA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/addr_pool.h"
#include "daemon/json.h"
#include "daemon/metrics.h"
#include "daemon/openmetrics.h"
#include "daemon/ts.h"
#include "daemon/vip.h"
#include "netlink/link_fake.h"
#include "tests/unit/engine_world.h"

static int eth0;

static void world_with(const char *pool, const char *laptop)
{
	static char gw[512];
	snprintf(gw, sizeof(gw),
		 "pool = %s\npool = fd00:3::/120\ndns = 10.0.0.53\nsplit = 10.2.0.0/16\n"
		 "dns_domain = Corp.Example\n",
		 pool);
	struct params p = DEFAULTS;
	p.ts_la = "%dynamic";
	p.ts_rb = "%dynamic";
	p.extra_a = laptop;
	p.extra_b = gw;
	world_new(&p);
	eth0 = link_fake_add_existing(W->s[0].lfake, "eth0", false);
	link_fake_set_path(W->s[0].lfake, "192.0.2.2", "", eth0);
}

static void world(const char *pool)
{
	world_with(pool, "vip = %config4\n");
}

static const char *ts_text(const struct ike_ts *ts)
{
	static char b[2][TS_STRLEN];
	static int n;
	return ts_to_string(ts, b[n ^= 1], TS_STRLEN);
}

static bool dev_has_on(const char *dev, const char *text)
{
	const struct link_fake_dev *d = link_fake_find(W->s[0].lfake, dev);
	char buf[64];
	for (size_t i = 0; d && i < d->n_addrs; i++) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(d->addrs[i].addr.family, d->addrs[i].addr.a, a, sizeof(a));
		snprintf(buf, sizeof(buf), "%s/%u", a, d->addrs[i].plen);
		if (strcmp(buf, text) == 0)
			return true;
	}
	return false;
}

static bool dev_has(const char *text)
{
	return dev_has_on("eth0", text);
}

static struct addr_pool *pool_of(const char *text)
{
	struct cp_prefix p;
	char why[128];
	assert_int_equal(addr_pool_parse(text, &p, why, sizeof(why)), 0);
	return W->s[1].e->pools ? addr_pools_find(W->s[1].e->pools, &p) : NULL;
}

/* Whether engine side's status (conn NULL: all) holds needle. */
static bool status_has(int side, const char *conn, const char *needle)
{
	struct json_writer w;
	json_writer_init(&w);
	json_obj_begin(&w);
	assert_int_equal(engine_status_conn(W->s[side].e, conn, &w), 0);
	json_obj_end(&w);
	bool has = strstr(json_writer_str(&w), needle) != NULL;
	if (!has)
		print_message("status: %s\n", json_writer_str(&w));
	json_writer_free(&w);
	return has;
}

static bool metrics_has(int side, const char *needle)
{
	struct om_writer w;
	om_init(&w, OM_PROMETHEUS);
	metrics_write(W->s[side].e, &w);
	bool has = strstr(om_str(&w), needle) != NULL;
	om_free(&w);
	return has;
}

static void down(void)
{
	char err[128];
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	/* INFORMATIONAL { D(IKE) } --> <-- { } */
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_null(sa_of(0));
	assert_null(sa_of(1));
}

static void test_vip_lease_narrow_release(void **state)
{
	(void)state;
	world("10.3.0.0/24");
	establish();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_non_null(a);
	assert_non_null(b);
	/* the gateway: the lease is the Child SA's remote selector */
	assert_non_null(b->vip);
	assert_int_equal(b->vip->n, 1);
	assert_non_null(b->children);
	assert_int_equal(b->children->n_remote_ts, 1);
	assert_string_equal(ts_text(&b->children->remote_ts[0]), "10.3.0.1/32");
	/* the laptop: its local selector, on eth0 as a /32, and what the gateway said */
	assert_non_null(a->children);
	assert_string_equal(ts_text(&a->children->local_ts[0]), "10.3.0.1/32");
	assert_true(dev_has("10.3.0.1/32"));
	assert_int_equal(a->vip->got.n_dns, 1);
	assert_int_equal(a->vip->got.n_subnets, 1);
	assert_int_equal(a->vip->got.n_domains, 1);
	assert_string_equal(a->vip->got.domains[0], "corp.example");
	/* never a MOBIKE path */
	struct sockaddr_storage v;
	mkaddr(&v, "10.3.0.1", 0);
	assert_true(vip_is_ours(W->s[0].e, &v));
	struct addr_pool *p = pool_of("10.3.0.0/24");
	assert_non_null(p);
	assert_int_equal(addr_pool_online(p), 1);
	/* only IPv4 asked for: the IPv6 pool was not touched */
	assert_null(pool_of("fd00:3::/120"));
	/* xikectl status on both sides, metrics on the gateway */
	assert_true(status_has(1, "a", "\"virtual_ips\":[\"10.3.0.1\"]"));
	assert_true(status_has(1, NULL, "\"pool\":\"10.3.0.0/24\",\"size\":254,\"online\":1,"
					"\"offline\":0,\"leases\":[{\"address\":\"10.3.0.1\","
					"\"identity\":\"a.example\",\"online\":true}]"));
	assert_true(status_has(0, "b", "\"virtual_ips\":[\"10.3.0.1\"],\"dns\":[\"10.0.0.53\"],"
					"\"dns_domains\":[\"corp.example\"],\"split\":[\"10.2.0.0/16\"]"));
	assert_true(metrics_has(1, "xiked_pool_leases{pool=\"10.3.0.0/24\",state=\"online\"} 1"));
	assert_true(metrics_has(1, "xiked_pool_addresses{pool=\"10.3.0.0/24\"} 254"));

	down();
	assert_false(dev_has("10.3.0.1/32"));
	assert_false(vip_is_ours(W->s[0].e, &v));
	assert_int_equal(addr_pool_online(p), 0);
	assert_int_equal(addr_pool_offline(p), 1);
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_ADDR_DEL), 1);

	/* the same identity, the same address */
	establish();
	assert_string_equal(ts_text(&sa_of(1)->children->remote_ts[0]), "10.3.0.1/32");
	assert_true(dev_has("10.3.0.1/32"));
	world_free();
}

/* vip = %config: one address of each family, from the IPv4 and the IPv6 pool. */
static void test_vip_dual_stack(void **state)
{
	(void)state;
	world_with("10.3.0.0/24", "vip = %config\n");
	establish();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_int_equal(b->vip->n, 2);
	assert_int_equal(a->vip->n, 2);
	assert_true(dev_has("10.3.0.1/32"));
	assert_true(dev_has("fd00:3::1/128"));
	/* IPv4 selectors only in this child: the IPv6 lease narrows nothing in */
	assert_string_equal(ts_text(&b->children->remote_ts[0]), "10.3.0.1/32");
	assert_int_equal(addr_pool_online(pool_of("fd00:3::/120")), 1);
	down();
	assert_false(dev_has("fd00:3::1/128"));
	assert_int_equal(addr_pool_online(pool_of("fd00:3::/120")), 0);
	world_free();
}

/* A route-based laptop: the virtual IP goes on its XFRM interface, not on the uplink. */
static void test_vip_route_based(void **state)
{
	(void)state;
	world_with("10.3.0.0/24", "vip = %config4\nif_id = 7\ninterface = xfrm-vip\n");
	establish();
	assert_non_null(sa_of(0)->children);
	assert_true(dev_has_on("xfrm-vip", "10.3.0.1/32"));
	assert_false(dev_has("10.3.0.1/32"));
	const struct link_fake_dev *d = link_fake_find(W->s[0].lfake, "xfrm-vip");
	assert_true(link_fake_has_route(d, "10.2.0.0/24"));
	down();
	assert_null(link_fake_find(W->s[0].lfake, "xfrm-vip")); /* made by xiked, gone with it */
	struct sockaddr_storage v;
	mkaddr(&v, "10.3.0.1", 0);
	assert_false(vip_is_ours(W->s[0].e, &v));
	world_free();
}

/*
 * RFC 7296 2.8.3 reauthentication: the new IKE SA gets the same lease
 * while the old one still holds it; the laptop's address stays on the
 * device throughout (counted), and neither side loses anything.
 */
static void test_vip_reauth_keeps(void **state)
{
	(void)state;
	world("10.3.0.0/24");
	establish();
	char err[128];
	uint64_t old_spi = sa_of(0)->spi_i;
	assert_int_equal(engine_reauth(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_non_null(a);
	assert_true(a->spi_i != old_spi); /* a new IKE SA, the old one gone */
	assert_non_null(b);
	assert_string_equal(ts_text(&b->children->remote_ts[0]), "10.3.0.1/32");
	assert_true(dev_has("10.3.0.1/32"));
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_ADDR_ADD), 1);
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_ADDR_DEL), 0);
	struct addr_pool *p = pool_of("10.3.0.0/24");
	assert_int_equal(addr_pool_online(p), 1);
	down();
	assert_false(dev_has("10.3.0.1/32"));
	assert_int_equal(addr_pool_online(p), 0);
	world_free();
}

/* RFC 7296 3.10.1: no address to lease: INTERNAL_ADDRESS_FAILURE, no Child SA, the IKE SA stays. */
static void test_vip_pool_exhausted(void **state)
{
	(void)state;
	world("10.3.0.0/30");
	/* two other road warriors hold the pool's two addresses */
	struct cp_prefix pre, got;
	char why[128];
	assert_int_equal(addr_pool_parse("10.3.0.0/30", &pre, why, sizeof(why)), 0);
	struct engine *gw = W->s[1].e;
	gw->pools = addr_pools_new();
	struct addr_pool *p = addr_pools_get(gw->pools, &pre);
	assert_int_equal(addr_pool_acquire(p, (const uint8_t *)"x", 1, "x", 0, &got), 0);
	assert_int_equal(addr_pool_acquire(p, (const uint8_t *)"y", 1, "y", 0, &got), 0);
	establish();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(b->state, IKESA_ESTABLISHED);
	assert_null(b->children);
	assert_null(a->children);
	assert_false(dev_has("10.3.0.1/32"));
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_ADDR_ADD), 0);
	world_free();
}

#define RA_CONN "[conn c]\nremote_addr = %%any\nauth = psk\npsk = \"x\"\nlocal_ts = 10.2.0.0/16\n"

static void cfg_err(const char *lines, const char *expect)
{
	char text[512], err[512];
	struct xiked_config *c = NULL;
	snprintf(text, sizeof(text), RA_CONN "%s", lines);
	assert_int_equal(config_parse(text, strlen(text), "t.conf", &c, err, sizeof(err)), -1);
	if (strcmp(err, expect) != 0)
		fail_msg("error\n  got:  %s\n  want: %s", err, expect);
}

/* The remote access keys (xiked.conf.5): several of each, checked, and in list-conns. */
static void test_vip_config(void **state)
{
	(void)state;
	char text[512];
	snprintf(text, sizeof(text), RA_CONN
		 "pool = 10.3.0.0/24\npool = fd00:3::/112\ndns = 10.0.0.53\ndns = fd00::53\n"
		 "split = 10.2.0.0/16\nsplit = fd00:2::/64\ndns_domain = Corp.Example\n"
		 "dns_domain = lab.example\n");
	struct xiked_config *c = conf(text);
	const struct cp_cfg *cp = &c->conns[0].cp;
	assert_int_equal(cp->n_pools, 2);
	assert_int_equal(cp->n_dns, 2);
	assert_int_equal(cp->n_split, 2);
	assert_int_equal(cp->split[1].plen, 64);
	assert_int_equal(cp->n_domains, 2);
	assert_string_equal(cp->domains[0], "corp.example");
	assert_false(cp->vip4 || cp->vip6);
	config_free(c);
	snprintf(text, sizeof(text), RA_CONN "vip = %%config\n");
	c = conf(text);
	assert_true(c->conns[0].cp.vip4 && c->conns[0].cp.vip6);
	config_free(c);
	snprintf(text, sizeof(text), RA_CONN "vip = %%config6\n");
	c = conf(text);
	assert_true(!c->conns[0].cp.vip4 && c->conns[0].cp.vip6);
	config_free(c);

	cfg_err("pool = 10.3.0.1/24\n",
		"t.conf:6: pool '10.3.0.1/24': host bits set, needs the network address");
	cfg_err("pool = 10.3.0.0\n", "t.conf:6: pool '10.3.0.0': needs ADDRESS/PREFIXLEN");
	cfg_err("dns = 10.0.0.0/8\n",
		"t.conf:6: dns: '10.0.0.0/8' is not an IPv4 or IPv6 address (at most 8)");
	cfg_err("split = 10.2.0.0\n",
		"t.conf:6: split: '10.2.0.0' is not ADDRESS/PREFIXLEN (at most 16)");
	cfg_err("dns_domain = a..b\n",
		"t.conf:6: dns_domain: 'a..b' is not a domain name (LDH labels of 1-63, at most 253 "
		"in all; at most 8 of them)");
	cfg_err("vip = 10.3.0.1\n", "t.conf:6: vip: '10.3.0.1' is not %config, %config4 or %config6");
	cfg_err("vip = %config\npool = 10.3.0.0/24\n",
		"t.conf:1: conn c: vip = (a client's) and pool = (a gateway's) together");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vip_lease_narrow_release),
		cmocka_unit_test(test_vip_reauth_keeps),
		cmocka_unit_test(test_vip_route_based),
		cmocka_unit_test(test_vip_dual_stack),
		cmocka_unit_test(test_vip_pool_exhausted),
		cmocka_unit_test(test_vip_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
