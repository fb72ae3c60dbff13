/*
 * Routes for policy-based Child SAs (issue 11, daemon/child_route.h): one
 * route per remote traffic-selector prefix in xiked's table 220 through the
 * kernel's next hop to the peer, with a source inside the local selectors;
 * shared, kept across rekeys, moved with MOBIKE, an exception for a peer
 * inside a remote selector, removed with the last holder and at exit, and
 * what a killed xiked left removed at start. Two engines against the fake
 * kernel and the fake link seam (netlink/link_fake.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/child_route.h"
#include "daemon/mobike.h"
#include "netlink/link.h"
#include "tests/unit/engine_world.h"

#define T 220

static struct link_fake *lf(int side)
{
	return W->s[side].lfake;
}

static const char *kstr(const struct kaddr *k)
{
	static char buf[4][KADDR_STRLEN];
	static int n;
	n = (n + 1) % 4;
	if (!k->family)
		return "-";
	return kaddr_to_string(k, buf[n], sizeof(buf[n]));
}

/* side's route to prefix in table 220: via gw ("-": none), dev ifindex, src ("-": none). */
static void assert_route(int side, const char *prefix, const char *gw, int ifindex, const char *src)
{
	const struct link_table_route *r = link_fake_troute(lf(side), T, prefix);
	if (!r)
		fail_msg("side %d: no route to %s in table %d", side, prefix, T);
	assert_false(r->throw_);
	assert_string_equal(kstr(&r->gw), gw);
	assert_int_equal(r->ifindex, ifindex);
	assert_string_equal(kstr(&r->src), src);
}

static void assert_throw(int side, const char *prefix)
{
	const struct link_table_route *r = link_fake_troute(lf(side), T, prefix);
	if (!r)
		fail_msg("side %d: no throw route to %s", side, prefix);
	assert_true(r->throw_);
}

static unsigned calls(int side, enum link_fake_op op)
{
	return link_fake_calls(lf(side), op);
}

/* a: 10.1.0.1 is one of its addresses (LAN), b is two hops away through 192.0.2.254 on dev 3. */
static void a_host(void)
{
	link_fake_add_host_addr(lf(0), "192.0.2.1");
	link_fake_add_host_addr(lf(0), "10.1.0.1");
	link_fake_set_path(lf(0), "192.0.2.2", "192.0.2.254", 3);
}

static void up(const struct params *p)
{
	world_new(p);
	a_host();
	establish();
	assert_tunnel();
}

/* The route follows the kernel's route to the peer; src is a's LAN address; b has none. */
static void test_basic(void **st)
{
	(void)st;
	up(&DEFAULTS);
	assert_route(0, "10.2.0.0/24", "192.0.2.254", 3, "10.1.0.1");
	assert_int_equal(link_fake_troute_count(lf(0), T), 1);
	assert_true(link_fake_has_rule(lf(0), AF_INET, 220, T));
	assert_false(link_fake_has_rule(lf(0), AF_INET6, 220, T));
	/* b: no address inside 10.2.0.0/24; its peer is on-link (the fake's default path):
	 * the peer is the next hop. */
	assert_route(1, "10.1.0.0/24", "192.0.2.1", LINK_FAKE_DEFAULT_IFINDEX, "-");
	assert_int_equal(link_fake_rule_count(lf(1)), 1);
	/* down: the route and the rule go with the last Child SA. */
	char err[128];
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(link_fake_troute_count(lf(0), T), 0);
	assert_int_equal(link_fake_rule_count(lf(0)), 0);
	assert_int_equal(link_fake_troute_count(lf(1), T), 0);
	assert_int_equal(link_fake_rule_count(lf(1)), 0);
	assert_int_equal(child_route_count(W->s[0].e), 0);
	world_free();
}

/* A rekey's successor shares the route: nothing deleted, added, replaced, not even looked up. */
static void test_rekey_keeps(void **st)
{
	(void)st;
	up(&DEFAULTS);
	unsigned add = calls(0, LFAKE_TROUTE_ADD), del = calls(0, LFAKE_TROUTE_DEL);
	unsigned rep = calls(0, LFAKE_TROUTE_REPLACE), path = calls(0, LFAKE_GET_PATH);
	unsigned badd = calls(1, LFAKE_TROUTE_ADD), bdel = calls(1, LFAKE_TROUTE_DEL);
	uint32_t spi = sa_of(0)->children->spi_in;
	char err[128];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(engine_rekey(W->s[0].e, "b", false, err, sizeof(err)), 0);
		settle();
		assert_int_equal(engine_rekey(W->s[1].e, "a", false, err, sizeof(err)), 0);
		settle();
	}
	/* and the IKE SA too */
	assert_int_equal(engine_rekey(W->s[0].e, "b", true, err, sizeof(err)), 0);
	settle();
	assert_tunnel();
	assert_int_not_equal(sa_of(0)->children->spi_in, spi);
	assert_int_equal(calls(0, LFAKE_TROUTE_ADD), add);
	assert_int_equal(calls(0, LFAKE_TROUTE_DEL), del);
	assert_int_equal(calls(0, LFAKE_TROUTE_REPLACE), rep);
	assert_int_equal(calls(0, LFAKE_GET_PATH), path);
	assert_int_equal(calls(1, LFAKE_TROUTE_ADD), badd);
	assert_int_equal(calls(1, LFAKE_TROUTE_DEL), bdel);
	assert_route(0, "10.2.0.0/24", "192.0.2.254", 3, "10.1.0.1");
	world_free();
}

/* Two Child SAs with the same remote prefix: one route, removed once with the last. */
static void test_shared(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "[child b.web]\nlocal_ts = 10.1.0.0/24[tcp/80]\n"
		    "[child b.dns]\nlocal_ts = 10.1.0.0/24[udp/53]\n";
	world_new(&p);
	a_host();
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	settle(); /* IKE_SA_INIT, IKE_AUTH with b.web, CREATE_CHILD_SA with b.dns */
	struct ikesa *a = sa_of(0);
	assert_non_null(a);
	assert_non_null(a->children);
	assert_non_null(a->children->next);
	assert_int_equal(link_fake_troute_count(lf(0), T), 1);
	assert_int_equal(calls(0, LFAKE_TROUTE_ADD), 1);
	assert_route(0, "10.2.0.0/24", "192.0.2.254", 3, "10.1.0.1");
	/* b: both Child SAs need 10.1.0.0/24 */
	assert_int_equal(link_fake_troute_count(lf(1), T), 1);
	assert_int_equal(calls(1, LFAKE_TROUTE_ADD), 1);
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	assert_int_equal(calls(0, LFAKE_TROUTE_DEL), 1);
	assert_int_equal(calls(1, LFAKE_TROUTE_DEL), 1);
	assert_int_equal(link_fake_troute_count(lf(0), T), 0);
	assert_int_equal(link_fake_troute_count(lf(1), T), 0);
	world_free();
}

/* MOBIKE: a moves to 192.0.2.11 whose route to b leaves by 192.0.2.253 on dev 4. */
static void test_mobike_move(void **st)
{
	(void)st;
	up(&DEFAULTS);
	assert_true(sa_of(0)->ext & EXT_MOBIKE);
	link_fake_add_host_addr(lf(0), "192.0.2.11");
	link_fake_set_path(lf(0), "192.0.2.2", "192.0.2.253", 4);
	mkaddr(&W->s[0].route_src, "192.0.2.11", 0);
	mobike_roam(W->s[0].e);
	/* a's Child SAs (and routes) follow at once */
	assert_route(0, "10.2.0.0/24", "192.0.2.253", 4, "10.1.0.1");
	assert_int_equal(calls(0, LFAKE_TROUTE_REPLACE), 1);
	assert_int_equal(calls(0, LFAKE_TROUTE_DEL), 0);
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	/* b's next hop was the peer itself: now its new address */
	assert_route(1, "10.1.0.0/24", "192.0.2.11", LINK_FAKE_DEFAULT_IFINDEX, "-");
	assert_int_equal(calls(1, LFAKE_TROUTE_REPLACE), 1);
	assert_int_equal(calls(1, LFAKE_TROUTE_DEL), 0);
	assert_int_equal(link_fake_troute_count(lf(0), T), 1);
	assert_int_equal(link_fake_troute_count(lf(1), T), 1);
	world_free();
}

/*
 * 0.0.0.0/0 as a's remote selector: the route through the next hop, and a
 * throw route for the peer (its IKE and ESP packets, and the RTM_GETROUTE
 * for the next hop, stay on the main table); a MOBIKE move of the peer
 * moves the exception.
 */
static void test_default_route_keeps_peer(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ts_ra = "0.0.0.0/0";
	p.ts_lb = "0.0.0.0/0";
	up(&p);
	assert_route(0, "0.0.0.0/0", "192.0.2.254", 3, "10.1.0.1");
	assert_throw(0, "192.0.2.2/32");
	assert_int_equal(link_fake_troute_count(lf(0), T), 2);
	assert_int_equal(calls(0, LFAKE_TROUTE_ADD), 2);
	/* IKE keeps working across it (a Child SA rekey) */
	char err[128];
	assert_int_equal(engine_rekey(W->s[0].e, "b", false, err, sizeof(err)), 0);
	settle();
	assert_tunnel();
	/* a moves to a path through 192.0.2.253: the RTM_GETROUTE to b finds it because the
	 * throw keeps b out of table 220 (else 0.0.0.0/0 there would answer with the old one) */
	link_fake_add_host_addr(lf(0), "192.0.2.11");
	link_fake_set_path(lf(0), "192.0.2.2", "192.0.2.253", 4);
	mkaddr(&W->s[0].route_src, "192.0.2.11", 0);
	mobike_roam(W->s[0].e);
	settle();
	assert_route(0, "0.0.0.0/0", "192.0.2.253", 4, "10.1.0.1");
	assert_throw(0, "192.0.2.2/32");
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	assert_int_equal(link_fake_troute_count(lf(0), T), 0);
	assert_int_equal(calls(0, LFAKE_TROUTE_DEL), 2);
	world_free();
}

/* The peer inside the remote selector as an initiator's move target: the throw follows. */
static void test_throw_follows_move(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ts_la = "0.0.0.0/0";
	p.ts_rb = "0.0.0.0/0";
	world_new(&p);
	a_host();
	establish();
	assert_tunnel();
	/* b: remote 0/0 covers a at 192.0.2.1 */
	assert_route(1, "0.0.0.0/0", "192.0.2.1", LINK_FAKE_DEFAULT_IFINDEX, "-");
	assert_throw(1, "192.0.2.1/32");
	mkaddr(&W->s[0].route_src, "192.0.2.11", 0);
	link_fake_add_host_addr(lf(0), "192.0.2.11");
	mobike_roam(W->s[0].e);
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_throw(1, "192.0.2.11/32");
	assert_null(link_fake_troute(lf(1), T, "192.0.2.1/32"));
	assert_route(1, "0.0.0.0/0", "192.0.2.11", LINK_FAKE_DEFAULT_IFINDEX, "-");
	assert_int_equal(link_fake_troute_count(lf(1), T), 2);
	world_free();
}

/* IPv6 inner over IPv4 outer: no IPv4 gateway for an IPv6 route (dev only), src in the selector. */
static void test_ipv6_inner(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ts_la = "2001:db8:1::/64";
	p.ts_ra = "2001:db8:2::/64";
	p.ts_lb = "2001:db8:2::/64";
	p.ts_rb = "2001:db8:1::/64";
	world_new(&p);
	a_host();
	link_fake_add_host_addr(lf(0), "2001:db8:1::1");
	establish();
	assert_tunnel();
	assert_route(0, "2001:db8:2::/64", "-", 3, "2001:db8:1::1");
	assert_true(link_fake_has_rule(lf(0), AF_INET6, 220, T));
	assert_false(link_fake_has_rule(lf(0), AF_INET, 220, T));
	world_free();
}

/* A range selector becomes the prefixes that cover it exactly. */
static void test_range(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ts_ra = "10.2.0.1-10.2.0.6";
	p.ts_lb = "10.2.0.1-10.2.0.6";
	world_new(&p);
	a_host();
	establish(); /* 4 selector pairs: 12 policies, not assert_tunnel's 3 */
	assert_route(0, "10.2.0.1/32", "192.0.2.254", 3, "10.1.0.1");
	assert_route(0, "10.2.0.2/31", "192.0.2.254", 3, "10.1.0.1");
	assert_route(0, "10.2.0.4/31", "192.0.2.254", 3, "10.1.0.1");
	assert_route(0, "10.2.0.6/32", "192.0.2.254", 3, "10.1.0.1");
	assert_int_equal(link_fake_troute_count(lf(0), T), 4);
	assert_int_equal(link_fake_rule_count(lf(0)), 1);
	world_free();
}

/* IPv6 outer addresses, IPv6 inner: the gateway from the route to the peer. */
static void test_ipv6_outer(void **st)
{
	(void)st;
	const char *a = "[daemon]\nlog = error\n[conn b]\nlocal_addr = 2001:db8::1\n"
			"remote_addr = 2001:db8::2\nlocal_id = a.example\nremote_id = b.example\n"
			"auth = psk\npsk = \"correct horse battery staple\"\n"
			"local_ts = fd00:1::/48\nremote_ts = fd00:2::/48\n";
	const char *b = "[daemon]\nlog = error\n[conn a]\nlocal_addr = 2001:db8::2\n"
			"remote_addr = %any\nlocal_id = b.example\nremote_id = a.example\n"
			"auth = psk\npsk = \"correct horse battery staple\"\n"
			"local_ts = fd00:2::/48\nremote_ts = fd00:1::/48\n";
	world_new_text(a, b, 42);
	mkaddr(&W->s[0].addr, "2001:db8::1", 500);
	mkaddr(&W->s[1].addr, "2001:db8::2", 500);
	link_fake_add_host_addr(lf(0), "fd00:1::1");
	link_fake_set_path(lf(0), "2001:db8::2", "fe80::1", 5);
	establish();
	assert_route(0, "fd00:2::/48", "fe80::1", 5, "fd00:1::1");
	assert_route(1, "fd00:1::/48", "2001:db8::1", LINK_FAKE_DEFAULT_IFINDEX, "-");
	assert_true(link_fake_has_rule(lf(0), AF_INET6, 220, T));
	world_free();
}

/* routes = no; route_table = 0; transport mode; route-based conns keep route_iface's. */
static void test_off(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "routes = no\n";
	up(&p);
	assert_int_equal(link_fake_troute_count(lf(0), T), 0);
	assert_int_equal(calls(0, LFAKE_GET_PATH), 0);
	assert_int_equal(link_fake_troute_count(lf(1), T), 1); /* b's conn has routes */
	world_free();

	const char *a = "[daemon]\nlog = error\nroute_table = 0\n[conn b]\nlocal_addr = 192.0.2.1\n"
			"remote_addr = 192.0.2.2\nlocal_id = a.example\nremote_id = b.example\n"
			"auth = psk\npsk = \"correct horse battery staple\"\n"
			"local_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\n";
	const char *b = "[daemon]\nlog = error\nroute_table = 100\nroute_rule_priority = 100\n"
			"[conn a]\nlocal_addr = 192.0.2.2\n"
			"remote_addr = %any\nlocal_id = b.example\nremote_id = a.example\n"
			"auth = psk\npsk = \"correct horse battery staple\"\n"
			"local_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/24\n";
	world_new_text(a, b, 42);
	establish();
	assert_tunnel();
	assert_int_equal(calls(0, LFAKE_TROUTE_ADD), 0);
	assert_int_equal(link_fake_troute_count(lf(1), T), 0);
	assert_int_equal(link_fake_troute_count(lf(1), 100), 1);
	assert_true(link_fake_has_rule(lf(1), AF_INET, 100, 100));
	world_free();

	p = DEFAULTS;
	p.mode_a = "transport";
	p.mode_b = "transport";
	p.ts_la = p.ts_rb = "192.0.2.1/32";
	p.ts_ra = p.ts_lb = "192.0.2.2/32";
	world_new(&p);
	establish();
	assert_tunnel();
	assert_int_equal(calls(0, LFAKE_TROUTE_ADD), 0);
	assert_int_equal(calls(1, LFAKE_TROUTE_ADD), 0);
	world_free();

	p = DEFAULTS;
	p.extra_a = "if_id = 7\ninterface = xfrm-a\n";
	up(&p);
	assert_int_equal(calls(0, LFAKE_TROUTE_ADD), 0);
	assert_non_null(link_fake_find(lf(0), "xfrm-a"));
	world_free();
}

/* A selector that is the peer's own address: no route (the main table's is the one). */
static void test_peer_only(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ts_ra = "192.0.2.2/32";
	p.ts_lb = "192.0.2.2/32";
	up(&p);
	assert_int_equal(link_fake_troute_count(lf(0), T), 0);
	assert_int_equal(link_fake_rule_count(lf(0)), 0);
	world_free();
}

/* No route to the peer: the Child SA stays up without routes (logged). */
static void test_no_path(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	link_fake_set_unreachable(lf(0), true);
	establish();
	assert_tunnel();
	assert_int_equal(link_fake_troute_count(lf(0), T), 0);
	assert_int_equal(link_fake_rule_count(lf(0)), 0);
	/* a path comes with a move: the routes come with it */
	link_fake_set_unreachable(lf(0), false);
	link_fake_add_host_addr(lf(0), "10.1.0.1");
	mkaddr(&W->s[0].route_src, "192.0.2.11", 0);
	mobike_roam(W->s[0].e);
	settle();
	assert_route(0, "10.2.0.0/24", "192.0.2.2", LINK_FAKE_DEFAULT_IFINDEX, "10.1.0.1");
	world_free();
}

/* Exit (engine_free) removes routes and rules; start removes what a killed xiked left. */
static void test_exit_and_stale(void **st)
{
	(void)st;
	up(&DEFAULTS);
	engine_free(W->s[0].e);
	W->s[0].e = NULL;
	assert_int_equal(link_fake_troute_count(lf(0), T), 0);
	assert_int_equal(link_fake_rule_count(lf(0)), 0);
	world_free();

	world_new(&DEFAULTS);
	struct link_table_route stale = {.table = T, .ifindex = 3}, other = stale;
	kaddr_from_string("10.9.0.0", &stale.dst.addr);
	stale.dst.plen = 16;
	kaddr_from_string("10.8.0.0", &other.dst.addr);
	other.dst.plen = 16;
	link_fake_plant_troute(lf(0), &stale, true);
	link_fake_plant_troute(lf(0), &other, false); /* the administrator's: stays */
	link_fake_plant_rule(lf(0), AF_INET, 220, T, true);
	link_fake_plant_rule(lf(0), AF_INET, 100, 100, false);
	child_route_start(W->s[0].e);
	assert_int_equal(calls(0, LFAKE_FLUSH), 1);
	assert_null(link_fake_troute(lf(0), T, "10.9.0.0/16"));
	assert_non_null(link_fake_troute(lf(0), T, "10.8.0.0/16"));
	assert_false(link_fake_has_rule(lf(0), AF_INET, 220, T));
	assert_true(link_fake_has_rule(lf(0), AF_INET, 100, 100));
	world_free();
}

/* start = trap: the route exists before any IKE SA (the first packet meets the policy). */
static void test_trap(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "start = trap\n";
	world_new(&p);
	a_host();
	engine_start(W->s[0].e);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_route(0, "10.2.0.0/24", "192.0.2.254", 3, "10.1.0.1");
	establish();
	assert_tunnel();
	/* the Child SA joins the trap's route */
	assert_int_equal(calls(0, LFAKE_TROUTE_ADD), 1);
	char err[128];
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	/* the trap still needs it */
	assert_route(0, "10.2.0.0/24", "192.0.2.254", 3, "10.1.0.1");
	world_free();
}

static void test_child_route_config(void **st)
{
	(void)st;
	struct xiked_config *c = conf("[daemon]\n");
	assert_int_equal(c->d.route_table, 220);
	assert_int_equal(c->d.route_rule_priority, 220);
	config_free(c);
	static const char *const bad[] = {
		"[daemon]\nroute_table = 254\n", "[daemon]\nroute_table = x\n",
		"[daemon]\nroute_rule_priority = 0\n", "[daemon]\nroute_rule_priority = 32766\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xiked_config *x = NULL;
		char err[256];
		assert_int_not_equal(config_parse(bad[i], strlen(bad[i]), "t.conf", &x, err, sizeof(err)), 0);
		assert_null(x);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_route_config),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_rekey_keeps),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_mobike_move),
		cmocka_unit_test(test_default_route_keeps_peer),
		cmocka_unit_test(test_throw_follows_move),
		cmocka_unit_test(test_ipv6_inner),
		cmocka_unit_test(test_ipv6_outer),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_peer_only),
		cmocka_unit_test(test_no_path),
		cmocka_unit_test(test_exit_and_stale),
		cmocka_unit_test(test_trap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
