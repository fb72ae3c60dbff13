/*
 * MOBIKE (RFC 4555) between two engines: the path changes of a roaming
 * initiator ("a"), UPDATE_SA_ADDRESSES, NAT detection on the new path,
 * NO_NATS_ALLOWED, COOKIE2 and the return routability check, address
 * lists, and updates crossing rekeys. The Child SAs must move with
 * XFRM_MSG_MIGRATE (same SPIs and keys; the counters the kernel starts
 * at zero are carried by the engine), never be re-created.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/child_kernel.h"
#include "daemon/log.h"
#include "daemon/mobike.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/timing.h"
#include "tests/unit/engine_world.h"

static struct kaddr kaddr_of(const char *ip)
{
	struct kaddr k;
	assert_int_equal(kaddr_from_string(ip, &k), 0);
	return k;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static const char *ip_of(const struct sockaddr_storage *ss)
{
	static char buf[2][INET6_ADDRSTRLEN];
	static int n;
	n ^= 1;
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf[n], sizeof(buf[n]));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf[n], sizeof(buf[n]));
	return buf[n];
}

static const struct kernel_fake_sa *state(int side, const char *dst, uint32_t spi)
{
	struct kaddr k = kaddr_of(dst);
	return kernel_fake_find_sa(W->s[side].fake, &k, spi, IPPROTO_ESP);
}

/* a's routes now leave from ip (an address came, went, or a link went down). */
static void roam_a(const char *ip)
{
	mkaddr(&W->s[0].route_src, ip, 0);
	mobike_roam(W->s[0].e);
}

/* Every installed Child SA state of side between its IKE SA's current addresses, SPIs kept. */
static void assert_children_at(int side, const char *local, const char *remote)
{
	struct ikesa *sa = sa_of(side);
	assert_non_null(sa);
	assert_string_equal(ip_of(&sa->local), local);
	assert_string_equal(ip_of(&sa->remote), remote);
	for (struct child_sa *c = sa->children; c; c = c->next) {
		const struct kernel_fake_sa *in = state(side, local, c->spi_in);
		const struct kernel_fake_sa *out = state(side, remote, c->spi_out);
		assert_non_null(in);
		assert_non_null(out);
		struct kaddr l = kaddr_of(local), r = kaddr_of(remote);
		assert_true(kaddr_eq(&in->sa.src, &r));
		assert_true(kaddr_eq(&out->sa.src, &l));
	}
}

/* Index of the first queued message for side `to` of this exchange and direction. */
static size_t q_which(int to, uint8_t exchange, bool response)
{
	for (size_t i = 0; i < W->nq; i++) {
		struct ike_hdr h = qhdr(i);
		if (W->q[i].to == to && h.exchange == exchange && ike_hdr_is_response(&h) == response)
			return i;
	}
	fail_msg("no such message queued for side %d", to);
	return 0;
}

static void establish_mobike(const struct params *p)
{
	world_new(p);
	establish();
	assert_tunnel();
	assert_true(sa_of(0)->ext & EXT_MOBIKE);
	assert_true(sa_of(1)->ext & EXT_MOBIKE);
}

static void test_negotiated(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	/* a announces one more address of its own (ADDITIONAL_IP4_ADDRESS, 3.4). */
	mkaddr(&W->s[0].local_addrs[0], "192.0.2.1", 0);
	mkaddr(&W->s[0].local_addrs[1], "198.51.100.1", 0);
	W->s[0].n_local_addrs = 2;
	establish();
	assert_tunnel();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_true(a->ext & EXT_MOBIKE);
	assert_true(b->ext & EXT_MOBIKE);
	/* RFC 4555 3.3: to the NAT-T port for IKE_AUTH on, although there is no NAT ... */
	assert_int_equal(port_of(&a->local), 4500);
	assert_int_equal(port_of(&b->remote), 4500);
	assert_false(a->ext & (EXT_NAT_LOCAL | EXT_NAT_REMOTE));
	/* ... and ESP stays plain. */
	assert_false(state(0, "192.0.2.2", a->children->spi_out)->sa.encap);
	/* b kept a's other address; nothing moved yet. */
	assert_non_null(b->mobike);
	assert_int_equal(a->moves, 0);
	/* No change of path: nothing is sent. */
	roam_a("192.0.2.1");
	assert_int_equal(W->nq, 0);
	world_free();
}

static void test_mobike_not_negotiated(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_b = "mobike = no\n";
	world_new(&p);
	establish();
	assert_tunnel();
	assert_false(sa_of(0)->ext & EXT_MOBIKE);
	assert_false(sa_of(1)->ext & EXT_MOBIKE);
	roam_a("192.0.2.11");
	assert_int_equal(W->nq, 0);
	assert_string_equal(ip_of(&sa_of(0)->local), "192.0.2.1");
	world_free();
}

/* The path changes: a moves, tells b, b moves; SPIs, keys and counters (as xiked reports them) stay. */
static void test_move(void **st)
{
	(void)st;
	establish_mobike(&DEFAULTS);
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	uint64_t spi_i = a->spi_i, spi_r = a->spi_r;
	uint32_t a_in = a->children->spi_in, a_out = a->children->spi_out;
	struct kaddr kb = kaddr_of("192.0.2.2");
	struct kaddr ka = kaddr_of("192.0.2.1");
	struct kernel_sa_stats stats = {.bytes = 4242, .packets = 42}, in, out;
	assert_int_equal(kernel_fake_set_stats(W->s[1].fake, &kb, b->children->spi_in, IPPROTO_ESP, &stats), 0);
	assert_int_equal(kernel_fake_set_stats(W->s[0].fake, &kb, a_out, IPPROTO_ESP, &stats), 0);
	assert_int_equal(kernel_fake_set_stats(W->s[0].fake, &ka, a_in, IPPROTO_ESP,
					       &(struct kernel_sa_stats){.bytes = 777, .packets = 7}),
			 0);
	unsigned dels_a = kernel_fake_calls(W->s[0].fake, KFAKE_DEL_SA);
	unsigned dels_b = kernel_fake_calls(W->s[1].fake, KFAKE_DEL_SA);
	roam_a("192.0.2.11");
	/* a's Child SAs follow at once: the old path is gone. */
	assert_children_at(0, "192.0.2.11", "192.0.2.2");
	assert_int_equal(a->moves, 1);
	/* INFORMATIONAL { HDR, SK { N(UPDATE_SA_ADDRESSES), N(NAT_D*), N(COOKIE2) } } --> */
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&W->q[0].from), "192.0.2.11");
	assert_int_equal(port_of(&W->q[0].from), 4500);
	step(1, INFORMATIONAL, false);
	assert_int_equal(b->moves, 1);
	assert_int_equal(port_of(&b->remote), 4500);
	assert_children_at(1, "192.0.2.2", "192.0.2.11");
	/* <-- { HDR, SK { N(NAT_D*), N(COOKIE2) } } */
	assert_string_equal(ip_of(&W->q[0].dst), "192.0.2.11");
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	/* Same IKE SA, same Child SA, moved with MIGRATE. */
	assert_ptr_equal(sa_of(0), a);
	assert_int_equal(a->spi_i, spi_i);
	assert_int_equal(a->spi_r, spi_r);
	assert_int_equal(a->children->spi_in, a_in);
	assert_int_equal(a->children->spi_out, a_out);
	/* The kernel's clones count from zero; xiked's counters go on (status, idle, DPD). */
	assert_int_equal(state(1, "192.0.2.2", b->children->spi_in)->stats.bytes, 0);
	assert_int_equal(state(0, "192.0.2.2", a_out)->stats.bytes, 0);
	child_kernel_query(b, b->children, &in, &out);
	assert_int_equal(in.bytes, 4242);
	assert_int_equal(in.packets, 42);
	child_kernel_query(a, a->children, &in, &out);
	assert_int_equal(in.bytes, 777);
	assert_int_equal(in.packets, 7);
	assert_int_equal(out.bytes, 4242);
	assert_int_equal(out.packets, 42);
	/* Traffic on the new path adds to what went before. */
	assert_int_equal(kernel_fake_set_stats(W->s[0].fake, &kb, a_out, IPPROTO_ESP,
					       &(struct kernel_sa_stats){.bytes = 100, .packets = 1}),
			 0);
	child_kernel_query(a, a->children, &in, &out);
	assert_int_equal(out.bytes, 4342);
	assert_int_equal(out.packets, 43);
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_DEL_SA), dels_a);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_DEL_SA), dels_b);
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_MIGRATE), 3);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_MIGRATE), 3);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 2);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 3);
	assert_false(a->ext & (EXT_NAT_LOCAL | EXT_NAT_REMOTE));
	/* The keys still agree crosswise at the new addresses. */
	const struct kernel_fake_sa *ao = state(0, "192.0.2.2", a_out), *bi = state(1, "192.0.2.2", a_out);
	assert_memory_equal(ao->sa.enc_key, bi->sa.enc_key, ao->sa.enc_key_len);
	/* And back to the first address; the counters still go on. */
	roam_a("192.0.2.1");
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_tunnel();
	child_kernel_query(a, a->children, &in, &out);
	assert_int_equal(out.bytes, 4342);
	assert_int_equal(in.bytes, 777);
	child_kernel_query(b, b->children, &in, &out);
	assert_int_equal(in.bytes, 4242);
	assert_int_equal(a->moves, 2);
	assert_int_equal(b->moves, 2);
	/* A request from an unexpected address without UPDATE moves nothing (3.5). */
	tm_queue(a, task_dpd_new());
	struct sockaddr_storage other;
	mkaddr(&other, "192.0.2.99", 4500);
	q_rewrite(0, &other, NULL);
	step(1, INFORMATIONAL, false);
	assert_string_equal(ip_of(&b->remote), "192.0.2.1");
	/* ... but its answer goes back where it came from (RFC 7296 2.11): a peer probing a path. */
	assert_string_equal(ip_of(&W->q[0].dst), "192.0.2.99");
	world_free();
}

/* The peer's NAT_DETECTION hashes find a NAT on the new path: encapsulation on (3.8). */
static void test_nat_on_new_path(void **st)
{
	(void)st;
	establish_mobike(&DEFAULTS);
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	roam_a("10.9.0.2");
	struct sockaddr_storage pub;
	mkaddr(&pub, "203.0.113.5", 40000);
	q_rewrite(0, &pub, NULL); /* the lte uplink's NAT */
	step(1, INFORMATIONAL, false);
	assert_true(b->ext & EXT_NAT_REMOTE);
	assert_string_equal(ip_of(&b->remote), "203.0.113.5");
	const struct kernel_fake_sa *bo = state(1, "203.0.113.5", b->children->spi_out);
	assert_non_null(bo);
	assert_true(bo->sa.encap);
	assert_int_equal(bo->sa.encap_dport, 40000);
	step(0, INFORMATIONAL, true);
	assert_true(a->ext & EXT_NAT_LOCAL);
	const struct kernel_fake_sa *ao = state(0, "192.0.2.2", a->children->spi_out);
	assert_non_null(ao);
	assert_true(ao->sa.encap);
	assert_int_equal(ao->sa.encap_sport, 4500);
	assert_true(state(0, "10.9.0.2", a->children->spi_in)->sa.encap);
	/* Behind a NAT now: NAT keepalives start (RFC 3948 2.3), from the new path. */
	advance(20000);
	assert_true(W->s[0].keepalives >= 1);
	assert_string_equal(ip_of(&W->s[0].ka_from), "10.9.0.2");
	/* Back on a path without NAT: b's states lose the encapsulation again. */
	roam_a("192.0.2.1");
	step(1, INFORMATIONAL, false);
	assert_false(b->ext & EXT_NAT_REMOTE);
	assert_false(state(1, "192.0.2.1", b->children->spi_out)->sa.encap);
	step(0, INFORMATIONAL, true);
	assert_false(a->ext & EXT_NAT_LOCAL);
	assert_false(state(0, "192.0.2.2", a->children->spi_out)->sa.encap);
	assert_tunnel();
	world_free();
}

/* NO_NATS_ALLOWED (3.9): a NAT on the path is refused and b stays put. */
static void test_no_nats_allowed(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "mobike_no_nats = yes\n";
	establish_mobike(&p);
	struct ikesa *b = sa_of(1);
	roam_a("10.9.0.2");
	struct sockaddr_storage pub;
	mkaddr(&pub, "203.0.113.5", 40000);
	q_rewrite(0, &pub, NULL);
	step(1, INFORMATIONAL, false);
	/* <-- { HDR, SK { N(UNEXPECTED_NAT_DETECTED) } } */
	assert_string_equal(ip_of(&b->remote), "192.0.2.1");
	assert_int_equal(b->moves, 0);
	assert_non_null(state(1, "192.0.2.1", b->children->spi_out));
	step(0, INFORMATIONAL, true);
	assert_non_null(sa_of(0));
	/* Without a NAT the same update goes through. */
	roam_a("192.0.2.12");
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_children_at(1, "192.0.2.2", "192.0.2.12");
	world_free();
}

/* Return routability (3.5, mobike_check = yes): b moves the Child SAs once a answers there. */
static void test_return_routability(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_b = "mobike_check = yes\n";
	establish_mobike(&p);
	struct ikesa *b = sa_of(1);
	roam_a("192.0.2.11");
	step(1, INFORMATIONAL, false);
	/* The IKE SA moved, the Child SAs wait at the old address. */
	assert_string_equal(ip_of(&b->remote), "192.0.2.11");
	assert_non_null(state(1, "192.0.2.1", b->children->spi_out));
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_MIGRATE), 0);
	/* <-- INFORMATIONAL { HDR, SK { N(COOKIE2) } } to the new address, and the update's answer */
	assert_int_equal(W->nq, 2);
	assert_string_equal(ip_of(&W->q[0].dst), "192.0.2.11");
	step(0, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	/* { HDR, SK { N(COOKIE2) } } --> echoed */
	step(1, INFORMATIONAL, true);
	assert_children_at(1, "192.0.2.2", "192.0.2.11");
	assert_int_equal(W->nq, 0);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_MIGRATE), 3);
	world_free();
}

/*
 * The layout of task_mobike.c's COOKIE2 tasks (a task, then its cookie):
 * the test turns the cookie a expects into another, which is what an old
 * or forged answer would carry.
 */
struct cookie_view {
	struct task t;
	uint8_t cookie2[16];
};

/* A COOKIE2 that is not ours: the answer is ignored and the update asked again (3.6). */
static void test_cookie2_mismatch(void **st)
{
	(void)st;
	establish_mobike(&DEFAULTS);
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	roam_a("192.0.2.11");
	assert_non_null(a->tm.active_i);
	assert_string_equal(a->tm.active_i->ops->name, "mobike_update");
	((struct cookie_view *)a->tm.active_i)->cookie2[0] ^= 0xff;
	uint32_t id = a->tm.req_id;
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	/* Ignored: a asks again with a new message ID and a new cookie. */
	assert_int_equal(W->nq, 1);
	assert_int_equal(qhdr(0).msg_id, id + 1);
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_null(a->tm.active_i);
	assert_children_at(1, "192.0.2.2", "192.0.2.11");
	assert_int_equal(b->moves, 1); /* the second update found b already there */
	world_free();
}

/* b rekeys the Child SA while a's update is on its way (window 1 each side). */
static void test_update_crosses_child_rekey(void **st)
{
	(void)st;
	establish_mobike(&DEFAULTS);
	roam_a("192.0.2.11");
	struct kaddr kb = kaddr_of("192.0.2.2");
	assert_int_equal(kernel_fake_inject_expire(W->s[1].fake, sa_of(1)->children->spi_in, IPPROTO_ESP, &kb,
						   false), 0);
	kernel_events();
	/* a's UPDATE_SA_ADDRESSES and b's CREATE_CHILD_SA cross. */
	assert_int_equal(W->nq, 2);
	step_at(q_which(0, CREATE_CHILD_SA, false), 0, CREATE_CHILD_SA, false); /* a answers */
	/* b installs the new Child SA toward a's old address: it has not heard of the move yet */
	step_at(q_which(1, CREATE_CHILD_SA, true), 1, CREATE_CHILD_SA, true);
	/* then the update: both of b's Child SAs (one reqid) go to the new path */
	step_at(q_which(1, INFORMATIONAL, false), 1, INFORMATIONAL, false);
	assert_children_at(1, "192.0.2.2", "192.0.2.11");
	/* the rest: the update's answer, the old Child SA's Delete */
	for (int i = 0; i < 8 && W->nq; i++)
		pop(0, true);
	assert_int_equal(W->nq, 0);
	assert_children_at(0, "192.0.2.11", "192.0.2.2");
	assert_children_at(1, "192.0.2.2", "192.0.2.11");
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 2);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 3);
	world_free();
}

/* b rekeys the IKE SA while a's update is unanswered: the new IKE SA gets the update too. */
static void test_update_crosses_ike_rekey(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_b = "ike_lifetime = 100\nrekey_margin = 10\nrand_margin = 0\n";
	establish_mobike(&p);
	uint32_t child_in = sa_of(0)->children->spi_in;
	advance(89000);
	roam_a("192.0.2.11");
	advance(1000); /* b's IKE rekey is due */
	assert_int_equal(W->nq, 2);
	/* b's CREATE_CHILD_SA(IKE) reaches a first; a answers. */
	step_at(q_which(0, CREATE_CHILD_SA, false), 0, CREATE_CHILD_SA, false);
	step_at(q_which(1, CREATE_CHILD_SA, true), 1, CREATE_CHILD_SA, true);
	/* Now the update on the old IKE SA, and everything after it, and a's new IKE SA's update. */
	for (int i = 0; i < 16 && W->nq; i++) {
		pop(0, true);
		if (!W->nq)
			advance(1);
	}
	assert_int_equal(W->nq, 0);
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a->ext & EXT_MOBIKE);
	assert_int_equal(a->children->spi_in, child_in);
	assert_children_at(0, "192.0.2.11", "192.0.2.2");
	assert_children_at(1, "192.0.2.2", "192.0.2.11");
	assert_int_equal(a->spi_i, b->spi_i);
	assert_true(a->moves >= 1);
	/* The new IKE SA roams on. */
	roam_a("192.0.2.12");
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_children_at(1, "192.0.2.2", "192.0.2.12");
	world_free();
}

/* No answer on the current path: after the second retransmit, the peer's other address. */
static void test_path_failed_next_address(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	mkaddr(&W->s[1].local_addrs[0], "192.0.2.2", 0);
	mkaddr(&W->s[1].local_addrs[1], "192.0.2.22", 0);
	W->s[1].n_local_addrs = 2;
	establish();
	struct ikesa *a = sa_of(0);
	assert_true(a->ext & EXT_MOBIKE);
	tm_queue(a, task_dpd_new());
	drop(INFORMATIONAL, false);
	advance(4000);
	drop(INFORMATIONAL, false); /* retransmit 1 */
	advance(7200);
	/* retransmit 2 goes to b's other address, and an update waits behind it */
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&W->q[0].dst), "192.0.2.22");
	assert_string_equal(ip_of(&a->remote), "192.0.2.22");
	assert_children_at(0, "192.0.2.1", "192.0.2.22");
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	step(1, INFORMATIONAL, false); /* UPDATE_SA_ADDRESSES */
	assert_string_equal(ip_of(&W->q[0].from), "192.0.2.22");
	step(0, INFORMATIONAL, true);
	assert_children_at(1, "192.0.2.22", "192.0.2.1");
	world_free();
}

/* No route to the peer at all: nothing moves, nothing is sent, until a route is back. */
static void test_no_route(void **st)
{
	(void)st;
	establish_mobike(&DEFAULTS);
	W->s[0].no_route = true;
	mobike_roam(W->s[0].e);
	assert_int_equal(W->nq, 0);
	assert_int_equal(sa_of(0)->moves, 0);
	/* Our other addresses are for a failed path, not for no route at all. */
	mkaddr(&W->s[0].local_addrs[0], "192.0.2.14", 0);
	W->s[0].n_local_addrs = 1;
	mobike_roam(W->s[0].e);
	assert_int_equal(W->nq, 0);
	assert_int_equal(sa_of(0)->moves, 0);
	W->s[0].no_route = false;
	roam_a("192.0.2.13");
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_children_at(1, "192.0.2.2", "192.0.2.13");
	world_free();
}

/* Address, link and route events come in bursts: one roam, MOBIKE_DEBOUNCE_MS after the first. */
static void test_debounce(void **st)
{
	(void)st;
	establish_mobike(&DEFAULTS);
	mkaddr(&W->s[0].route_src, "192.0.2.11", 0);
	mobike_net_changed(W->s[0].e); /* RTM_DELADDR */
	advance(50);
	mobike_net_changed(W->s[0].e); /* RTM_DELROUTE */
	mobike_net_changed(W->s[0].e); /* RTM_NEWLINK */
	advance(MOBIKE_DEBOUNCE_MS - 51);
	assert_int_equal(W->nq, 0);
	assert_string_equal(ip_of(&sa_of(0)->local), "192.0.2.1");
	advance(1);
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&sa_of(0)->local), "192.0.2.11");
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	advance(1000);
	assert_int_equal(W->nq, 0);
	assert_int_equal(sa_of(0)->moves, 1);
	/* A later event runs again; an engine freed with one pending cancels it. */
	mobike_net_changed(W->s[0].e);
	world_free();
}

/* side's addresses (local_addrs) are ips, in order. */
static void set_addrs(int side, const char *const *ips, size_t n)
{
	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++)
		mkaddr(&W->s[side].local_addrs[i], ips[i], 0);
	W->s[side].n_local_addrs = n;
}

/*
 * a's DPD goes unanswered on 192.0.2.1 - 192.0.2.2: after the second
 * retransmit the routes' source to b's other address, 2001:db8::2
 * (ADDITIONAL_IP6_ADDRESS), which b's conn (local_addr = 192.0.2.2) does
 * not allow: UNACCEPTABLE_ADDRESSES.
 */
static void refused_v6(void)
{
	static const char *const b_ips[] = {"192.0.2.2", "2001:db8::2"};
	set_addrs(1, b_ips, 2);
	establish();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_true(a->ext & EXT_MOBIKE);
	tm_queue(a, task_dpd_new());
	drop(INFORMATIONAL, false);
	advance(4000);
	drop(INFORMATIONAL, false); /* retransmit 1 */
	advance(7200);              /* retransmit 2: on the other path */
	assert_string_equal(ip_of(&a->local), "2001:db8::1");
	assert_string_equal(ip_of(&a->remote), "2001:db8::2");
	assert_int_equal(port_of(&a->local), 4500);
	assert_children_at(0, "2001:db8::1", "2001:db8::2");
	step(1, INFORMATIONAL, false); /* the DPD, answered where it came from */
	step(0, INFORMATIONAL, true);
	/* UPDATE_SA_ADDRESSES --> */
	size_t moves_b = b->moves;
	step(1, INFORMATIONAL, false);
	/* b keeps the old addresses (3.5) ... */
	assert_int_equal(b->moves, moves_b);
	assert_children_at(1, "192.0.2.2", "192.0.2.1");
	/* <-- N(UNACCEPTABLE_ADDRESSES), to where the update came from */
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&W->q[0].dst), "2001:db8::1");
	step(0, INFORMATIONAL, true);
}

/* RFC 4555 3.5, 3.6: refused addresses; the initiator tries its next local address. */
static void test_unacceptable_next_local(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	static const char *const a_ips[] = {"192.0.2.1", "2001:db8::1", "192.0.2.11"};
	set_addrs(0, a_ips, 3);
	refused_v6();
	struct ikesa *a = sa_of(0);
	/* Not staying on the refused path: 192.0.2.1 went unanswered, so 192.0.2.11. */
	assert_children_at(0, "192.0.2.11", "192.0.2.2");
	assert_int_equal(W->nq, 1);
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_children_at(1, "192.0.2.2", "192.0.2.11");
	assert_ptr_equal(sa_of(0), a);
	world_free();
}

/* Refused with no other path: a logs, sends nothing more, and tries again on the next change. */
static void test_unacceptable_no_other_path(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	static const char *const a_ips[] = {"192.0.2.1", "2001:db8::1"};
	set_addrs(0, a_ips, 2);
	refused_v6();
	struct ikesa *a = sa_of(0);
	assert_int_equal(W->nq, 0);
	advance(30000);
	assert_int_equal(W->nq, 0);
	/* An address or route change: the paths that failed may do now. Same route, sent again. */
	mobike_roam(W->s[0].e);
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&W->q[0].from), "192.0.2.1");
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_children_at(0, "192.0.2.1", "192.0.2.2");
	assert_children_at(1, "192.0.2.2", "192.0.2.1");
	assert_ptr_equal(sa_of(0), a);
	/* Settled: a further change with the same route sends nothing. */
	mobike_roam(W->s[0].e);
	assert_int_equal(W->nq, 0);
	world_free();
}

/* The responder's policy (3.5): a conn pinned to IPv4 refuses an IPv6 path, whatever the cause. */
static void test_unacceptable_responder(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	static const char *const b_ips[] = {"192.0.2.2", "2001:db8::2"};
	set_addrs(1, b_ips, 2);
	establish();
	struct ikesa *b = sa_of(1);
	roam_a("192.0.2.11");
	struct sockaddr_storage from, to;
	mkaddr(&from, "2001:db8::11", 4500);
	mkaddr(&to, "2001:db8::2", 4500);
	q_rewrite(0, &from, &to);
	step(1, INFORMATIONAL, false);
	assert_int_equal(b->moves, 0);
	assert_children_at(1, "192.0.2.2", "192.0.2.1");
	world_free();
}

/*
 * No answer on the current path and the peer has no other address: after
 * the second retransmit, our next local address (env local_addrs), not
 * only the routes' source. If that path is silent too, nothing more is
 * tried (192.0.2.1 failed already): no loop, the peer is declared dead.
 */
static void test_path_failed_next_local(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	static const char *const a_ips[] = {"192.0.2.1", "192.0.2.11"};
	set_addrs(0, a_ips, 2);
	establish();
	struct ikesa *a = sa_of(0);
	assert_true(a->ext & EXT_MOBIKE);
	uint64_t spi = a->spi_i, key = a->local_spi_key; /* a may go */
	tm_queue(a, task_dpd_new());
	drop(INFORMATIONAL, false);
	advance(4000);
	drop(INFORMATIONAL, false); /* retransmit 1 */
	advance(7200);
	/* retransmit 2 from our other address, the update behind it */
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&W->q[0].from), "192.0.2.11");
	assert_children_at(0, "192.0.2.11", "192.0.2.2");
	assert_int_equal(a->moves, 1);
	/* Silent there too: every datagram lost until a gives up. */
	unsigned sent = 0;
	for (int i = 0; i < 400 && engine_find(W->s[0].e, key); i++) {
		while (W->nq) {
			assert_int_equal(W->q[0].to, 1);
			assert_string_equal(ip_of(&W->q[0].from), "192.0.2.11");
			pop(0, false);
			sent++;
		}
		if (engine_find(W->s[0].e, key))
			assert_int_equal(a->moves, 1);
		advance(1000);
	}
	assert_null(engine_find(W->s[0].e, key));
	assert_true(!sa_of(0) || sa_of(0)->spi_i != spi);
	assert_true(sent >= 1 && sent <= 8);
	world_free();
}

/* ... and the update that follows the move succeeds on the new local address. */
static void test_path_failed_next_local_answered(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	static const char *const a_ips[] = {"192.0.2.1", "192.0.2.11"};
	set_addrs(0, a_ips, 2);
	establish();
	struct ikesa *a = sa_of(0);
	tm_queue(a, task_dpd_new());
	drop(INFORMATIONAL, false);
	advance(4000);
	drop(INFORMATIONAL, false);
	advance(7200);
	step(1, INFORMATIONAL, false); /* the DPD */
	step(0, INFORMATIONAL, true);
	step(1, INFORMATIONAL, false); /* UPDATE_SA_ADDRESSES */
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_children_at(1, "192.0.2.2", "192.0.2.11");
	assert_children_at(0, "192.0.2.11", "192.0.2.2");
	world_free();
}

/*
 * How many additional addresses each side took from the other's list
 * (RFC 4555 3.4), read from their logs ("the peer has N additional
 * addresses"); -1 when a side logged none. a's tags start with its conn
 * "b", b's with "a".
 */
static int peer_addrs_of[2];

static void addrs_sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx, (void)g, (void)l;
	const char *p = strstr(msg, ": the peer has ");
	if (p && (msg[0] == 'a' || msg[0] == 'b') && msg[1] == '[')
		peer_addrs_of[msg[0] == 'b' ? 0 : 1] = atoi(p + strlen(": the peer has "));
}

static void establish_counting_addrs(void)
{
	peer_addrs_of[0] = peer_addrs_of[1] = -1;
	log_set_level(LOG_LVL_INFO);
	log_set_sink(addrs_sink, NULL);
	establish();
	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_ERROR);
	assert_tunnel();
	assert_true(sa_of(0)->ext & EXT_MOBIKE);
}

/*
 * Only addresses the peer can reach outside the tunnel are offered (3.4):
 * not b's LAN address 10.2.0.1, inside its local selector 10.2.0.0/24
 * (on lo: netmon leaves loopback devices out itself). When a's path
 * fails, it tries b's other address 192.0.2.22, never 10.2.0.1.
 */
static void test_addresses_outside_tunnel(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	static const char *const b_ips[] = {"192.0.2.2", "10.2.0.1", "192.0.2.22"};
	static const char *const a_ips[] = {"192.0.2.1", "10.1.0.7"};
	set_addrs(1, b_ips, 3);
	set_addrs(0, a_ips, 2);
	establish_counting_addrs();
	assert_int_equal(peer_addrs_of[0], 1); /* a took 192.0.2.22 */
	assert_int_equal(peer_addrs_of[1], 0); /* b got NO_ADDITIONAL_ADDRESSES */
	struct ikesa *a = sa_of(0);
	tm_queue(a, task_dpd_new());
	drop(INFORMATIONAL, false);
	advance(4000);
	drop(INFORMATIONAL, false); /* retransmit 1 */
	advance(7200);
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&W->q[0].dst), "192.0.2.22");
	world_free();
}

/* a's own addresses inside its local selector are no path source when a path fails either. */
static void test_local_path_outside_tunnel(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	static const char *const a_ips[] = {"192.0.2.1", "10.1.0.7", "192.0.2.11"};
	set_addrs(0, a_ips, 3);
	establish_counting_addrs();
	assert_int_equal(peer_addrs_of[1], 1); /* b took 192.0.2.11 only */
	struct ikesa *a = sa_of(0);
	tm_queue(a, task_dpd_new());
	drop(INFORMATIONAL, false);
	advance(4000);
	drop(INFORMATIONAL, false);
	advance(7200);
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&W->q[0].from), "192.0.2.11");
	step(1, INFORMATIONAL, false); /* the DPD */
	step(0, INFORMATIONAL, true);
	step(1, INFORMATIONAL, false); /* UPDATE_SA_ADDRESSES */
	step(0, INFORMATIONAL, true);
	assert_children_at(0, "192.0.2.11", "192.0.2.2");
	world_free();
}

/*
 * Selectors that span a whole family (0.0.0.0/0, ::/0) or hold the IKE
 * SA's own address say nothing about reachability: the addresses they
 * cover are offered.
 */
static void test_addresses_wide_selectors(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ts_lb = "0.0.0.0/0";
	p.ts_ra = "0.0.0.0/0";
	world_new(&p);
	static const char *const b_ips[] = {"192.0.2.2", "10.2.0.1", "198.51.100.2"};
	set_addrs(1, b_ips, 3);
	establish_counting_addrs();
	assert_int_equal(peer_addrs_of[0], 2);
	world_free();
	p = DEFAULTS;
	p.ts_lb = "192.0.2.0/24";
	p.ts_ra = "192.0.2.0/24";
	world_new(&p);
	static const char *const b2_ips[] = {"192.0.2.2", "192.0.2.22", "10.2.0.1"};
	set_addrs(1, b2_ips, 3);
	establish_counting_addrs();
	assert_int_equal(peer_addrs_of[0], 2);
	world_free();
}

/* The default two sites (engine_world.c), with the addresses given; "%any" allowed. */
static void world_addrs(const char *la, const char *ra, const char *lb)
{
	static const char fmt_a[] = "[daemon]\nlog = error\n[conn b]\nlocal_addr = %s\nremote_addr = %s\n"
		"local_id = a.example\nremote_id = b.example\nauth = psk\n"
		"psk = \"correct horse battery staple\"\nike = aes256gcm16-prfsha256-x25519\n"
		"esp = aes256gcm16\nlocal_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\nmode = tunnel\n";
	static const char fmt_b[] = "[daemon]\nlog = error\n[conn a]\nlocal_addr = %s\nremote_addr = %%any\n"
		"local_id = b.example\nremote_id = a.example\nauth = psk\n"
		"psk = \"correct horse battery staple\"\nike = aes256gcm16-prfsha256-x25519\n"
		"esp = aes256gcm16\nlocal_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/24\nmode = tunnel\n";
	char a[1024], b[1024];
	snprintf(a, sizeof(a), fmt_a, la, ra);
	snprintf(b, sizeof(b), fmt_b, lb);
	world_new_text(a, b, 42);
}

/* IPv6 only: a moves from 2001:db8::1 to 2001:db8::11 and back. */
static void test_ipv6_move(void **st)
{
	(void)st;
	world_addrs("2001:db8::1", "2001:db8::2", "2001:db8::2");
	mkaddr(&W->s[0].route_src, "2001:db8::1", 0);
	mkaddr(&W->s[1].route_src, "2001:db8::2", 0);
	establish();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_true(a->ext & EXT_MOBIKE);
	assert_true(b->ext & EXT_MOBIKE);
	assert_children_at(0, "2001:db8::1", "2001:db8::2");
	uint32_t a_in = a->children->spi_in, a_out = a->children->spi_out;
	roam_a("2001:db8::11");
	assert_children_at(0, "2001:db8::11", "2001:db8::2");
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&W->q[0].from), "2001:db8::11");
	assert_int_equal(port_of(&W->q[0].from), 4500);
	step(1, INFORMATIONAL, false);
	assert_children_at(1, "2001:db8::2", "2001:db8::11");
	assert_int_equal(port_of(&b->remote), 4500);
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_false(a->ext & (EXT_NAT_LOCAL | EXT_NAT_REMOTE));
	roam_a("2001:db8::1");
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_children_at(1, "2001:db8::2", "2001:db8::1");
	assert_children_at(0, "2001:db8::1", "2001:db8::2");
	assert_int_equal(a->moves, 2);
	assert_int_equal(b->moves, 2);
	assert_int_equal(a->children->spi_in, a_in);
	assert_int_equal(a->children->spi_out, a_out);
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_DEL_SA), 0);
	world_free();
}

/*
 * IPv4 -> IPv6: a loses its IPv4 routes; b announced ADDITIONAL_IP6_ADDRESS
 * and its conn (local_addr = %any) allows both families: the IKE SA and the
 * Child SAs (tunnel mode: outer addresses only) move to IPv6, and back.
 */
static void test_ipv4_to_ipv6(void **st)
{
	(void)st;
	world_addrs("192.0.2.1", "192.0.2.2", "%any");
	static const char *const b_ips[] = {"192.0.2.2", "2001:db8::2"};
	set_addrs(1, b_ips, 2);
	establish();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_true(a->ext & EXT_MOBIKE);
	uint32_t a_in = a->children->spi_in;
	/* Only an IPv6 address and routes left on a. */
	static const char *const a_ips[] = {"2001:db8::1"};
	set_addrs(0, a_ips, 1);
	roam_a("2001:db8::1");
	assert_children_at(0, "2001:db8::1", "2001:db8::2");
	assert_int_equal(W->nq, 1);
	assert_string_equal(ip_of(&W->q[0].dst), "2001:db8::2");
	step(1, INFORMATIONAL, false);
	assert_children_at(1, "2001:db8::2", "2001:db8::1");
	assert_int_equal(b->moves, 1);
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_int_equal(a->children->spi_in, a_in);
	/* IPv4 back: the routes prefer it again; b's IPv4 address is still one of its own. */
	static const char *const a_ips2[] = {"192.0.2.1", "2001:db8::1"};
	set_addrs(0, a_ips2, 2);
	W->s[0].route_src.ss_family = 0;
	/* the routes' source toward b's current (IPv6) address is unchanged: a path failure moves */
	mobike_roam(W->s[0].e);
	assert_int_equal(W->nq, 0);
	assert_true(mobike_path_failed(a));
	assert_children_at(0, "192.0.2.1", "192.0.2.2");
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_children_at(1, "192.0.2.2", "192.0.2.1");
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_DEL_SA), 0);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_DEL_SA), 0);
	world_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negotiated),
		cmocka_unit_test(test_mobike_not_negotiated),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_nat_on_new_path),
		cmocka_unit_test(test_no_nats_allowed),
		cmocka_unit_test(test_return_routability),
		cmocka_unit_test(test_cookie2_mismatch),
		cmocka_unit_test(test_update_crosses_child_rekey),
		cmocka_unit_test(test_update_crosses_ike_rekey),
		cmocka_unit_test(test_path_failed_next_address),
		cmocka_unit_test(test_no_route),
		cmocka_unit_test(test_debounce),
		cmocka_unit_test(test_unacceptable_next_local),
		cmocka_unit_test(test_unacceptable_no_other_path),
		cmocka_unit_test(test_unacceptable_responder),
		cmocka_unit_test(test_path_failed_next_local),
		cmocka_unit_test(test_path_failed_next_local_answered),
		cmocka_unit_test(test_ipv6_move),
		cmocka_unit_test(test_ipv4_to_ipv6),
		cmocka_unit_test(test_addresses_outside_tunnel),
		cmocka_unit_test(test_local_path_outside_tunnel),
		cmocka_unit_test(test_addresses_wide_selectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
