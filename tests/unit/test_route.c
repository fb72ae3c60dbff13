/*
 * Route-based VPN (issue 8): if_id and mark on states and policies,
 * interfaces created once and removed once (only when ours), addresses,
 * routes to the remote traffic selectors, %unique if_ids per IKE SA, the
 * configuration keys. Two engines against the fake kernel and the fake
 * link seam (netlink/link_fake.h).
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

#include "daemon/log.h"
#include "daemon/route_iface.h"
#include "daemon/trap.h"
#include "netlink/link.h"
#include "tests/unit/engine_world.h"

struct want {
	uint32_t if_id, mark;
	size_t n, bad;
};

static void sa_check(void *arg, const struct kernel_fake_sa *s)
{
	struct want *w = arg;
	w->n++;
	if (s->larval)
		return;
	if (s->sa.if_id != w->if_id || s->sa.mark != w->mark ||
	    s->sa.mark_mask != (w->mark ? 0xffffffffu : 0))
		w->bad++;
}

static void pol_check(void *arg, const struct kernel_policy *p)
{
	struct want *w = arg;
	w->n++;
	if (p->if_id != w->if_id || p->mark != w->mark || p->mark_mask != (w->mark ? 0xffffffffu : 0))
		w->bad++;
}

/* Every state and policy of side carries if_id and mark (and there are some). */
static void assert_carry(int side, uint32_t if_id, uint32_t mark)
{
	struct want w = {if_id, mark, 0, 0};
	kernel_fake_foreach_sa(W->s[side].fake, sa_check, &w);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.bad, 0);
	w = (struct want){if_id, mark, 0, 0};
	kernel_fake_foreach_policy(W->s[side].fake, pol_check, &w);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.bad, 0);
}

static void rekey_child(int side, const char *conn)
{
	char err[128];
	assert_int_equal(engine_rekey(W->s[side].e, conn, false, err, sizeof(err)), 0);
	settle();
}

static void down(int side, const char *conn)
{
	char err[128];
	assert_int_equal(engine_down(W->s[side].e, conn, err, sizeof(err)), 0);
	settle();
}

/* XFRM interfaces with static if_ids, mtu, addresses, routes; a rekey; down. */
static void test_xfrmi_static(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "if_id = 7\ninterface = xfrm-a\nmtu = 1400\naddress = 10.255.0.1/30\n"
		    "address = fd00:255::1/64\n";
	p.extra_b = "if_id = 9\ninterface = ipsec%d\n";
	world_new(&p);
	establish();
	assert_tunnel();
	assert_carry(0, 7, 0);
	assert_carry(1, 9, 0);
	const struct link_fake_dev *da = link_fake_find(W->s[0].lfake, "xfrm-a");
	const struct link_fake_dev *db = link_fake_find(W->s[1].lfake, "ipsec9");
	assert_non_null(da);
	assert_non_null(db);
	assert_int_equal(da->spec.kind, LINK_XFRMI);
	assert_int_equal(da->spec.if_id, 7);
	assert_int_equal(db->spec.if_id, 9);
	assert_true(da->up && db->up);
	assert_int_equal(da->mtu, 1400);
	assert_int_equal(da->n_addrs, 2);
	assert_int_equal(db->n_addrs, 0);
	assert_false(da->policy_disabled);
	/* Routes to the remote traffic selectors, through the interface. */
	assert_true(link_fake_has_route(da, "10.2.0.0/24"));
	assert_true(link_fake_has_route(db, "10.1.0.0/24"));
	assert_int_equal(da->n_routes, 1);
	assert_string_equal(route_iface_name(sa_of(0)->children), "xfrm-a");
	/* Its own addresses are never offered to MOBIKE peers. */
	struct sockaddr_storage ss;
	mkaddr(&ss, "10.255.0.1", 0);
	assert_true(route_iface_has_addr(W->s[0].e, &ss));
	assert_false(route_iface_has_addr(W->s[1].e, &ss));
	mkaddr(&ss, "192.0.2.1", 0);
	assert_false(route_iface_has_addr(W->s[0].e, &ss));
	assert_int_equal(sa_of(0)->children->if_id, 7);

	/* Two rekeys from either side: the interface and its route stay. */
	rekey_child(0, "b");
	rekey_child(1, "a");
	assert_tunnel();
	assert_carry(0, 7, 0);
	assert_carry(1, 9, 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(link_fake_calls(W->s[i].lfake, LFAKE_CREATE), 1);
		assert_int_equal(link_fake_calls(W->s[i].lfake, LFAKE_DEL), 0);
		assert_int_equal(link_fake_calls(W->s[i].lfake, LFAKE_ROUTE_ADD), 1);
		assert_int_equal(link_fake_calls(W->s[i].lfake, LFAKE_ROUTE_DEL), 0);
	}
	assert_int_equal(link_fake_find(W->s[0].lfake, "xfrm-a")->n_routes, 1);

	/* down: nothing left, each interface removed exactly once. */
	down(0, "b");
	assert_nothing_left();
	for (int i = 0; i < 2; i++) {
		assert_int_equal(link_fake_dev_count(W->s[i].lfake), 0);
		assert_int_equal(link_fake_calls(W->s[i].lfake, LFAKE_DEL), 1);
		assert_int_equal(route_iface_count(W->s[i].e), 0);
	}
	/* Up again: created again. */
	establish();
	assert_non_null(link_fake_find(W->s[0].lfake, "xfrm-a"));
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_CREATE), 2);
	world_free();
}

/* VTI: marks on states and policies, ikey/okey and endpoints, disable_policy; IPv6 TS routes. */
static void test_vti_mark(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ts_la = p.ts_rb = "10.1.0.0/24,fd01::/64";
	p.ts_ra = p.ts_lb = "10.2.0.0/24,fd02::/64";
	p.extra_a = "vti = vti-a\nmark = 42\nroutes = yes\n";
	p.extra_b = "vti = vti-b\nmark = 43\nroutes = no\n";
	world_new(&p);
	establish();
	/* two selector pairs: 6 policies, so not assert_tunnel's 3 */
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 2);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2);
	struct want w = {0, 42, 0, 0};
	kernel_fake_foreach_sa(W->s[0].fake, sa_check, &w);
	assert_int_equal(w.bad, 0);
	kernel_fake_foreach_policy(W->s[0].fake, pol_check, &w);
	assert_int_equal(w.bad, 0);
	assert_true(w.n > 2);
	const struct link_fake_dev *d = link_fake_find(W->s[0].lfake, "vti-a");
	assert_non_null(d);
	assert_int_equal(d->spec.kind, LINK_VTI);
	assert_int_equal(d->spec.key, 42);
	assert_true(d->policy_disabled);
	struct kaddr l = {.family = AF_INET}, r = {.family = AF_INET};
	inet_pton(AF_INET, "192.0.2.1", l.a);
	inet_pton(AF_INET, "192.0.2.2", r.a);
	assert_true(kaddr_eq(&d->spec.local, &l));
	assert_true(kaddr_eq(&d->spec.remote, &r));
	assert_true(link_fake_has_route(d, "10.2.0.0/24"));
	assert_true(link_fake_has_route(d, "fd02::/64"));
	/* routes = no */
	assert_int_equal(link_fake_find(W->s[1].lfake, "vti-b")->n_routes, 0);
	assert_int_equal(sa_of(1)->children->mark, 43);
	rekey_child(1, "a");
	/* two selector pairs: 6 policies, so not assert_tunnel's 3 */
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 2);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2);
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_CREATE), 1);
	/* Deleting a marked state needs its mark: the fake, like XFRM, ignores others. */
	down(1, "a");
	assert_nothing_left();
	assert_int_equal(link_fake_dev_count(W->s[0].lfake), 0);
	assert_int_equal(link_fake_dev_count(W->s[1].lfake), 0);
	world_free();
}

/* An interface that exists is adopted: used, and left behind with only our additions removed. */
static void test_adopt(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_b = "if_id = 3\ninterface = xfrm-b\naddress = 10.255.1.1/32\n";
	world_new(&p);
	link_fake_add_existing(W->s[1].lfake, "xfrm-b", false);
	establish();
	assert_tunnel();
	assert_carry(1, 3, 0);
	const struct link_fake_dev *d = link_fake_find(W->s[1].lfake, "xfrm-b");
	assert_true(d->up);
	assert_int_equal(d->n_addrs, 1);
	assert_true(link_fake_has_route(d, "10.1.0.0/24"));
	assert_int_equal(link_fake_calls(W->s[1].lfake, LFAKE_CREATE), 0);
	/* Not ours: its link events are the administrator's, netmon passes them on. */
	assert_false(route_iface_owns_ifindex(W->s[1].e, d->ifindex));
	struct sockaddr_storage ss;
	mkaddr(&ss, "10.255.1.1", 0);
	assert_true(route_iface_has_addr(W->s[1].e, &ss));
	/* a has no if_id: plain policies. */
	assert_carry(0, 0, 0);
	down(0, "b");
	assert_nothing_left();
	d = link_fake_find(W->s[1].lfake, "xfrm-b");
	assert_non_null(d);
	assert_int_equal(link_fake_calls(W->s[1].lfake, LFAKE_DEL), 0);
	assert_int_equal(d->n_addrs, 0);
	assert_int_equal(d->n_routes, 0);
	assert_false(route_iface_has_addr(W->s[1].e, &ss));
	world_free();
}

/* A failing interface fails the Child SA cleanly: nothing half-installed, id released. */
static void test_create_fails(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "if_id = 7\ninterface = eth0\n";
	world_new(&p);
	/* The fake refuses names over IFNAMSIZ; an existing non-xfrm name is adopted, so
	 * take the link seam away instead: no link management at all. */
	link_free(&W->s[0].link);
	W->s[0].e->env.link = (struct link){0};
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 0);
	assert_int_equal(route_iface_count(W->s[0].e), 0);
	world_free();
}

#define HUB_A(name, id, ifid) \
	"[conn " name "]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\nlocal_id = " id "\n" \
	"remote_id = b.example\nauth = psk\npsk = \"correct horse battery staple\"\n" \
	"local_ts = 0.0.0.0/0\nremote_ts = 0.0.0.0/0\nif_id = " ifid "\n"

/* if_id = %unique: each IKE SA of a responder conn its own if_id and interface, so two
 * peers both negotiate 0.0.0.0/0 === 0.0.0.0/0 without their policies clashing. */
static void test_unique(void **st)
{
	(void)st;
	const char *a = "[daemon]\nlog = error\n" HUB_A("b", "a.example", "5") HUB_A("b2", "a2.example", "6");
	const char *b = "[daemon]\nlog = error\n[conn a]\nlocal_addr = 192.0.2.2\nremote_addr = %any\n"
			"local_id = b.example\nremote_id = %any\nauth = psk\n"
			"psk = \"correct horse battery staple\"\nlocal_ts = 0.0.0.0/0\n"
			"remote_ts = 0.0.0.0/0\nif_id = %unique\ninterface = xfrm-%d\nmtu = 1380\n";
	world_new_text(a, b, 7);
	establish();
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b2", err, sizeof(err)), 0);
	settle();
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 2);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 6);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 6);
	char n1[16], n2[16];
	snprintf(n1, sizeof(n1), "xfrm-%u", CONFIG_IF_ID_UNIQUE_BASE);
	snprintf(n2, sizeof(n2), "xfrm-%u", CONFIG_IF_ID_UNIQUE_BASE + 1);
	const struct link_fake_dev *d1 = link_fake_find(W->s[1].lfake, n1);
	const struct link_fake_dev *d2 = link_fake_find(W->s[1].lfake, n2);
	assert_non_null(d1);
	assert_non_null(d2);
	assert_int_equal(d1->spec.if_id, CONFIG_IF_ID_UNIQUE_BASE);
	assert_int_equal(d2->mtu, 1380);
	/* Devices xiked made: netmon drops their events (route_iface_owns_ifindex). */
	int if1 = d1->ifindex, if2 = d2->ifindex;
	assert_true(route_iface_owns_ifindex(W->s[1].e, if1));
	assert_true(route_iface_owns_ifindex(W->s[1].e, if2));
	assert_false(route_iface_owns_ifindex(W->s[1].e, 0));
	assert_false(route_iface_owns_ifindex(W->s[0].e, if1));
	assert_int_equal(route_iface_count(W->s[1].e), 2);
	/* 0.0.0.0/0 gets no route: a default route is the administrator's. */
	assert_int_equal(link_fake_calls(W->s[1].lfake, LFAKE_ROUTE_ADD), 0);
	struct ksel any = {.src.family = AF_INET, .dst.family = AF_INET};
	assert_non_null(kernel_fake_find_policy(W->s[1].fake, &any, KDIR_OUT, 0, 0, CONFIG_IF_ID_UNIQUE_BASE));
	assert_non_null(kernel_fake_find_policy(W->s[1].fake, &any, KDIR_OUT, 0, 0, CONFIG_IF_ID_UNIQUE_BASE + 1));
	assert_non_null(kernel_fake_find_policy(W->s[0].fake, &any, KDIR_IN, 0, 0, 6));

	/* Rekeys of both Child SAs on the hub keep each on its own interface. */
	rekey_child(1, "a");
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 4);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 6);
	assert_int_equal(link_fake_calls(W->s[1].lfake, LFAKE_CREATE), 2);
	assert_int_equal(link_fake_dev_count(W->s[1].lfake), 2);

	/* One spoke goes: its interface and if_id go, the other's stay. */
	down(0, "b");
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 1);
	assert_int_equal(link_fake_dev_count(W->s[1].lfake), 1);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 3);
	assert_null(kernel_fake_find_policy(W->s[1].fake, &any, KDIR_OUT, 0, 0, CONFIG_IF_ID_UNIQUE_BASE));
	/* Removed by xiked: its RTM_DELLINK, read later, is still ours. */
	assert_true(route_iface_owns_ifindex(W->s[1].e, if1));
	assert_true(route_iface_owns_ifindex(W->s[1].e, if2));
	assert_false(route_iface_owns_ifindex(W->s[1].e, if2 + 1000));
	assert_int_equal(route_iface_count(W->s[1].e), 1);
	/* It comes back: a fresh if_id and interface (the next candidate, not one in use). */
	establish();
	char n3[16];
	snprintf(n3, sizeof(n3), "xfrm-%u", CONFIG_IF_ID_UNIQUE_BASE + 2);
	assert_non_null(link_fake_find(W->s[1].lfake, n3));
	assert_non_null(kernel_fake_find_policy(W->s[1].fake, &any, KDIR_OUT, 0, 0, CONFIG_IF_ID_UNIQUE_BASE + 2));
	assert_int_equal(link_fake_dev_count(W->s[1].lfake), 2);
	assert_int_equal(link_fake_calls(W->s[1].lfake, LFAKE_CREATE), 3);
	down(0, "b");
	down(0, "b2");
	assert_nothing_left();
	assert_int_equal(link_fake_dev_count(W->s[1].lfake), 0);
	assert_int_equal(link_fake_calls(W->s[1].lfake, LFAKE_DEL), 3);
	assert_int_equal(route_iface_count(W->s[1].e), 0);
	world_free();
}

static struct kaddr kaddr4(const char *ip)
{
	struct kaddr k = {.family = AF_INET};
	inet_pton(AF_INET, ip, k.a);
	return k;
}

/* The first packet routed into the interface: the ACQUIRE of a route-based trap. */
static void trap_acquire(void)
{
	const struct kernel_fake_call *call = kernel_fake_log_at(W->s[0].fake, 0);
	uint32_t reqid = call->reqid;
	struct ksel sel = {.src = kaddr4("10.1.0.5"), .dst = kaddr4("10.2.0.7"), .src_plen = 32,
			   .dst_plen = 32, .proto = 1};
	kernel_fake_inject_acquire(W->s[0].fake, &sel, reqid);
	kernel_events();
	assert_int_equal(W->nq, 1);
	settle();
	assert_tunnel();
	assert_int_equal(sa_of(0)->children->reqid, reqid);
	/* The trap's policies are the Child SA's: none added on top. */
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_ADD_POLICY), 3);
}

/* start = trap with if_id = N: the trap policies carry the if_id, the interface and its
 * route exist before any traffic, the ACQUIRE's Child SA joins them with the same if_id. */
static void test_trap_if_id(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "start = trap\nif_id = 7\ninterface = xfrm-a\n";
	p.extra_b = "if_id = 9\n";
	world_new(&p);
	engine_start(W->s[0].e);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	struct want w = {7, 0, 0, 0};
	kernel_fake_foreach_policy(W->s[0].fake, pol_check, &w);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.bad, 0);
	const struct link_fake_dev *d = link_fake_find(W->s[0].lfake, "xfrm-a");
	assert_non_null(d);
	assert_true(d->up);
	assert_int_equal(d->spec.if_id, 7);
	assert_true(link_fake_has_route(d, "10.2.0.0/24"));
	assert_true(route_iface_owns_ifindex(W->s[0].e, d->ifindex));
	trap_acquire();
	assert_carry(0, 7, 0);
	assert_carry(1, 9, 0);
	assert_int_equal(sa_of(0)->children->if_id, 7);
	assert_string_equal(route_iface_name(sa_of(0)->children), "xfrm-a");
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_CREATE), 1);
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_ROUTE_ADD), 1);
	/* down: the Child SA goes, the trap keeps its policies, interface and route. */
	down(0, "b");
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	w = (struct want){7, 0, 0, 0};
	kernel_fake_foreach_policy(W->s[0].fake, pol_check, &w);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.bad, 0);
	d = link_fake_find(W->s[0].lfake, "xfrm-a");
	assert_non_null(d);
	assert_true(link_fake_has_route(d, "10.2.0.0/24"));
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_DEL), 0);
	world_free();
}

/* start = trap with a mark (no device): the trap policies and the Child SA carry it. */
static void test_trap_mark(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "start = trap\nmark = 42\n";
	world_new(&p);
	engine_start(W->s[0].e);
	struct want w = {0, 42, 0, 0};
	kernel_fake_foreach_policy(W->s[0].fake, pol_check, &w);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.bad, 0);
	trap_acquire();
	assert_carry(0, 0, 42);
	assert_int_equal(sa_of(0)->children->mark, 42);
	world_free();
}

/* dpd_action = trap on a %unique conn: no trap (no if_id without an IKE SA), nothing left. */
static void test_trap_unique_refused(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "if_id = %unique\ninterface = xfrm-%d\ndpd_action = trap\n";
	world_new(&p);
	trap_install_conn(W->s[0].e, "b");
	assert_null(W->s[0].e->trap_list);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 0);
	assert_int_equal(link_fake_dev_count(W->s[0].lfake), 0);
	assert_int_equal(route_iface_count(W->s[0].e), 0);
	world_free();
}

/* Distinct identities: INITIAL_CONTACT from one conn would end the other's IKE SA at b. */
#define SHARED_A(name, lts, rts, ifid) \
	"[conn " name "]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\nlocal_id = " name ".example\n" \
	"remote_id = b.example\nauth = psk\npsk = \"correct horse battery staple\"\n" \
	"local_ts = " lts "\nremote_ts = " rts "\nif_id = " ifid "\ninterface = xa\n"

/* Two conns naming one interface share it: created once, gone with the last Child SA of
 * either; a third conn that wants it with another if_id is refused. */
static void test_shared_iface(void **st)
{
	(void)st;
	const char *a = "[daemon]\nlog = error\n" SHARED_A("b", "10.1.0.0/24", "10.2.0.0/24", "5")
		SHARED_A("b2", "10.1.1.0/24", "10.2.1.0/24", "5")
		SHARED_A("b3", "10.1.2.0/24", "10.2.2.0/24", "6");
	const char *b = "[daemon]\nlog = error\n[conn a]\nlocal_addr = 192.0.2.2\nremote_addr = %any\n"
			"local_id = b.example\nremote_id = %any\nauth = psk\n"
			"psk = \"correct horse battery staple\"\nlocal_ts = 10.2.0.0/16\n"
			"remote_ts = 10.1.0.0/16\n";
	world_new_text(a, b, 11);
	char err[128];
	establish();
	assert_int_equal(engine_up(W->s[0].e, "b2", err, sizeof(err)), 0);
	settle();
	const struct link_fake_dev *d = link_fake_find(W->s[0].lfake, "xa");
	assert_non_null(d);
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_CREATE), 1);
	assert_true(link_fake_has_route(d, "10.2.0.0/24"));
	assert_true(link_fake_has_route(d, "10.2.1.0/24"));
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 4);
	/* b3: the interface is b's and b2's, with if_id 5: its Child SA is not installed. */
	assert_int_equal(engine_up(W->s[0].e, "b3", err, sizeof(err)), 0);
	settle();
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 4);
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_CREATE), 1);
	down(0, "b3");
	/* b goes: the interface stays for b2, b's route goes. */
	down(0, "b");
	d = link_fake_find(W->s[0].lfake, "xa");
	assert_non_null(d);
	assert_false(link_fake_has_route(d, "10.2.0.0/24"));
	assert_true(link_fake_has_route(d, "10.2.1.0/24"));
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_DEL), 0);
	down(0, "b2");
	assert_nothing_left();
	assert_int_equal(link_fake_dev_count(W->s[0].lfake), 0);
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_DEL), 1);
	world_free();
}

/* A device with xiked's alias (a crashed xiked's) is taken over: used and removed. */
static void test_take_over_stale(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "if_id = 7\ninterface = xfrm-a\n";
	world_new(&p);
	link_fake_add_existing(W->s[0].lfake, "xfrm-a", true);
	establish();
	assert_tunnel();
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_CREATE), 0);
	assert_true(link_fake_find(W->s[0].lfake, "xfrm-a")->up);
	down(0, "b");
	assert_nothing_left();
	assert_null(link_fake_find(W->s[0].lfake, "xfrm-a"));
	assert_int_equal(link_fake_calls(W->s[0].lfake, LFAKE_DEL), 1);
	world_free();
}

static int parse(const char *extra, char *err, size_t len)
{
	char text[2048];
	struct xiked_config *c = NULL;
	snprintf(text, sizeof(text),
		 "[conn x]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"correct horse battery\"\n%s",
		 extra);
	int rc = config_parse(text, strlen(text), "t.conf", &c, err, len);
	config_free(c);
	return rc;
}

static void test_route_config(void **st)
{
	(void)st;
	char err[256];
	struct xiked_config *c = NULL;
	const char *ok = "[conn x]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"correct horse battery\"\n"
			 "if_id = %unique\ninterface = xfrm-%d\ninterface_link = eth0\nmtu = 1400\n"
			 "address = 10.0.0.1/24\naddress = 2001:db8::1\nroutes = no\n"
			 "[conn y]\nremote_addr = 192.0.2.3\nauth = psk\npsk = \"correct horse battery\"\n"
			 "vti = vti0\nmark = 42\n";
	assert_int_equal(config_parse(ok, strlen(ok), "t.conf", &c, err, sizeof(err)), 0);
	const struct route_cfg *r = &config_find_conn(c, "x")->route;
	assert_true(r->if_id_unique);
	assert_string_equal(r->interface, "xfrm-%d");
	assert_string_equal(r->interface_link, "eth0");
	assert_int_equal(r->mtu, 1400);
	assert_int_equal(r->n_addresses, 2);
	assert_int_equal(r->addresses[0].plen, 24);
	assert_int_equal(r->addresses[1].plen, 128);
	assert_int_equal(r->addresses[1].addr.ss_family, AF_INET6);
	assert_false(r->routes);
	r = &config_find_conn(c, "y")->route;
	assert_string_equal(r->vti, "vti0");
	assert_int_equal(r->mark, 42);
	assert_true(r->routes);
	assert_int_equal(r->if_id, 0);
	config_free(c);
	/* Traps carry a fixed if_id or mark. */
	assert_int_equal(parse("if_id = 1\ninterface = x0\nstart = trap\n", err, sizeof(err)), 0);
	assert_int_equal(parse("vti = vti0\nmark = 42\nstart = trap\n", err, sizeof(err)), 0);

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"interface = xfrm0\n", "needs an if_id"},
		{"if_id = 0\n", "if_id"},
		{"if_id = 65536\n", "if_id"},
		{"if_id = %unique\ninterface = xfrm0\n", "%d"},
		{"if_id = 1\ninterface = a-name-far-too-long\n", "interface"},
		{"if_id = 1\ninterface = x/y\n", "interface"},
		{"vti = vti0\n", "mark"},
		{"vti = vti0\nmark = 1\nif_id = 2\n", "no if_id"},
		{"mtu = 1400\n", "mtu"},
		{"if_id = 1\ninterface = x%d\nmtu = 100\n", "mtu"},
		{"address = 10.0.0.1/24\n", "address"},
		{"if_id = 1\ninterface = x0\naddress = 10.0.0.1/33\n", "address"},
		{"if_id = 1\nroutes = maybe\n", "routes"},
		{"if_id = %unique\nstart = trap\n", "needs a fixed if_id = N"},
		{"if_id = 1\ninterface_link = eth0\n", "interface_link"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (parse(bad[i].text, err, sizeof(err)) == 0)
			fail_msg("accepted: %s", bad[i].text);
		if (!strstr(err, bad[i].msg))
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].text, err, bad[i].msg);
	}
}

static void test_name_format(void **st)
{
	(void)st;
	char n[LINK_NAME_MAX];
	assert_int_equal(link_name_format("xfrm-%d", 65536, n), 0);
	assert_string_equal(n, "xfrm-65536");
	assert_int_equal(link_name_format("ipsec0", 9, n), 0);
	assert_string_equal(n, "ipsec0");
	assert_int_equal(link_name_format("longname-%d", 4000000000u, n), -ENAMETOOLONG);
	assert_int_equal(link_name_format("a%s", 1, n), -EINVAL);
	assert_int_equal(link_name_format("%d%d", 1, n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_config),
		cmocka_unit_test(test_name_format),
		cmocka_unit_test(test_xfrmi_static),
		cmocka_unit_test(test_vti_mark),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_create_fails),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_shared_iface),
		cmocka_unit_test(test_take_over_stale),
		cmocka_unit_test(test_trap_if_id),
		cmocka_unit_test(test_trap_mark),
		cmocka_unit_test(test_trap_unique_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
