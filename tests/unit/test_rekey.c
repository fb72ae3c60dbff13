/*
 * Child SA rekeying (RFC 7296 1.3.3, 2.8) and its collisions (2.8.1, 2.25)
 * between two engines, message by message. After every case each side
 * holds exactly one pair of states (one in, one out) per child config,
 * the policies of one reqid, and keys that match crosswise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/child_kernel.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "daemon/timers.h"
#include "tests/unit/engine_world.h"

static struct kaddr kaddr4(const char *ip)
{
	struct kaddr k = {.family = AF_INET};
	inet_pton(AF_INET, ip, k.a);
	return k;
}

static const char *ADDR[2] = {"192.0.2.1", "192.0.2.2"};

/* The kernel tells side `side` that its Child SA's inbound state hit a limit. */
static void expire(int side, bool hard)
{
	struct child_sa *c = sa_of(side)->children;
	struct kaddr dst = kaddr4(ADDR[side]);
	assert_int_equal(kernel_fake_inject_expire(W->s[side].fake, c->spi_in, IPPROTO_ESP, &dst,
						   hard), 0);
	kernel_events();
}

static size_t n_children(int side)
{
	size_t n = 0;
	for (struct child_sa *c = sa_of(side)->children; c; c = c->next)
		n++;
	return n;
}

/* Let ms pass in 100 ms steps, delivering every message as it is sent. */
static void run_for(uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += 100) {
		advance(100);
		settle();
	}
}

/* A rekey initiated by a (soft expire), every message in order. */
static void test_rekey_simple(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	uint32_t old_in = sa_of(0)->children->spi_in, old_out = sa_of(0)->children->spi_out;
	uint32_t reqid = sa_of(0)->children->reqid;
	expire(0, false);
	/* CREATE_CHILD_SA { HDR, SK { N(REKEY_SA), SA, Ni, TSi, TSr } } --> */
	step(1, CREATE_CHILD_SA, false);
	/* b installed the new inbound state only: old pair + new inbound */
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 3);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 3);
	/* <-- { HDR, SK { SA, Nr, TSi, TSr } } */
	step(0, CREATE_CHILD_SA, true);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 4);
	/* INFORMATIONAL { HDR, SK { D(ESP, old) } } --> */
	step(1, INFORMATIONAL, false);
	/* b removed the old pair and now sends on the new SA */
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2);
	/* <-- { HDR, SK { D(ESP, old) } } */
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_tunnel();
	struct child_sa *c = sa_of(0)->children;
	assert_int_not_equal(c->spi_in, old_in);
	assert_int_not_equal(c->spi_out, old_out);
	assert_int_equal(c->reqid, reqid);
	/* The policies were never touched: 3 added once, none deleted. */
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_ADD_POLICY), 3);
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_DEL_POLICY), 0);
	world_free();
}

/* Five rekeys from alternating sides, with PFS. */
static void test_rekey_pfs_repeated(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.esp_a = p.esp_b = "aes256gcm16-x25519";
	world_new(&p);
	establish();
	for (int i = 0; i < 5; i++) {
		uint32_t before = sa_of(0)->children->spi_in;
		expire(i % 2, false);
		settle();
		assert_tunnel();
		assert_int_not_equal(sa_of(0)->children->spi_in, before);
		assert_int_equal(sa_of(0)->children->suite.dh, 31);
	}
	world_free();
}

/* PFS group mismatch: INVALID_KE_PAYLOAD, then the retry with the group b wants. */
static void test_rekey_invalid_ke(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.esp_a = "aes256gcm16-ecp256-x25519";
	p.esp_b = "aes256gcm16-x25519";
	world_new(&p);
	establish();
	expire(0, false);
	/* CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi(ECP_256), TSi, TSr } --> */
	step(1, CREATE_CHILD_SA, false);
	/* <-- { N(INVALID_KE_PAYLOAD, Curve25519) } */
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2);
	step(0, CREATE_CHILD_SA, true);
	/* CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi(Curve25519), TSi, TSr } --> ... */
	step(1, CREATE_CHILD_SA, false);
	settle();
	assert_tunnel();
	assert_int_equal(sa_of(1)->children->suite.dh, 31);
	world_free();
}

/*
 * Both rekey at once (2.8.1): each answers the other's request, then the
 * lowest of the four nonces decides which new SA goes. Several seeds cover
 * both outcomes; every ordering ends with one pair.
 */
static void run_collision(uint64_t seed, int order, int *a_won)
{
	char a[2048], b[2048];
	snprintf(a, sizeof(a),
		 "[conn b]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\nlocal_id = a.example\n"
		 "remote_id = b.example\nauth = psk\npsk = \"k\"\nlocal_ts = 10.1.0.0/24\n"
		 "remote_ts = 10.2.0.0/24\n");
	snprintf(b, sizeof(b),
		 "[conn a]\nlocal_addr = 192.0.2.2\nremote_addr = %%any\nlocal_id = b.example\n"
		 "remote_id = a.example\nauth = psk\npsk = \"k\"\nlocal_ts = 10.2.0.0/24\n"
		 "remote_ts = 10.1.0.0/24\n");
	world_new_text(a, b, seed);
	establish();
	uint32_t old_a = sa_of(0)->children->spi_in;
	expire(0, false);
	expire(1, false);
	assert_int_equal(W->nq, 2);
	if (order == 0) {
		/* req_a --> b, req_b --> a, then both responses */
		step(1, CREATE_CHILD_SA, false);
		step_at(0, 0, CREATE_CHILD_SA, false);
		step(0, CREATE_CHILD_SA, true);
		step(1, CREATE_CHILD_SA, true);
	} else {
		/* req_b --> a first, a's response overtakes req_a's processing at b */
		step_at(1, 0, CREATE_CHILD_SA, false);
		step(1, CREATE_CHILD_SA, false);
		step(1, CREATE_CHILD_SA, true);
		step(0, CREATE_CHILD_SA, true);
	}
	/* Both have the old SA and two successors until the Deletes run. */
	settle();
	assert_tunnel();
	assert_int_equal(n_children(0), 1);
	assert_int_equal(n_children(1), 1);
	assert_int_not_equal(sa_of(0)->children->spi_in, old_a);
	*a_won += !sa_of(0)->children->peer_created;
	world_free();
}

static void test_rekey_collision(void **st)
{
	(void)st;
	int a_won = 0, runs = 0;
	for (uint64_t seed = 1; seed <= 8; seed++)
		for (int order = 0; order < 2; order++, runs++)
			run_collision(seed, order, &a_won);
	/* Both outcomes of the nonce comparison were exercised. */
	assert_true(a_won > 0);
	assert_true(a_won < runs);
}

static bool is_addr(const struct kaddr *k, int side)
{
	struct kaddr a = kaddr4(ADDR[side]);
	return k->family == a.family && memcmp(k->a, a.a, 4) == 0;
}

/*
 * Replays side's kernel calls from log index `from`, when it had `out`
 * outbound states: their number never drops to 0 (make-before-break: a
 * policy without an outbound state drops the packets and raises ACQUIREs).
 */
static void assert_always_sending(int side, size_t from, int out)
{
	const struct kernel_fake *f = W->s[side].fake;
	for (size_t i = from; i < kernel_fake_log_len(f); i++) {
		const struct kernel_fake_call *c = kernel_fake_log_at(f, i);
		if (c->result != 0 || c->proto != IPPROTO_ESP || !is_addr(&c->dst, !side))
			continue;
		if (c->op == KFAKE_ADD_SA)
			out++;
		else if (c->op == KFAKE_DEL_SA)
			out--;
		assert_true(out >= 1);
	}
}

/*
 * The outbound state side's kernel sends on (the newest one still
 * installed, as XFRM picks the most recently added valid state) is one the
 * peer has installed inbound: nothing side sends is dropped.
 */
static void assert_peer_receives(int side)
{
	const struct kernel_fake *f = W->s[side].fake;
	struct kaddr peer = kaddr4(ADDR[!side]);
	for (size_t i = kernel_fake_log_len(f); i-- > 0;) {
		const struct kernel_fake_call *c = kernel_fake_log_at(f, i);
		if (c->op != KFAKE_ADD_SA || c->result != 0 || !is_addr(&c->dst, !side) ||
		    !kernel_fake_find_sa(f, &peer, c->spi, IPPROTO_ESP))
			continue;
		const struct kernel_fake_sa *in = kernel_fake_find_sa(W->s[!side].fake, &peer, c->spi,
								      IPPROTO_ESP);
		assert_non_null(in);
		assert_false(in->larval);
		return;
	}
	fail_msg("side %d has no outbound state", side);
}

/*
 * Regression (VM test, ping through rekeys): the responder of a rekey
 * removed the old outbound state before it installed the new one, so
 * packets sent in between were dropped (XfrmOutNoStates, an ACQUIRE).
 */
static void test_rekey_never_without_outbound(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	size_t from0 = kernel_fake_log_len(W->s[0].fake), from1 = kernel_fake_log_len(W->s[1].fake);
	for (int i = 0; i < 4; i++) {
		expire(i % 2, false);
		settle();
		assert_tunnel();
	}
	assert_always_sending(0, from0, 1);
	assert_always_sending(1, from1, 1);
	world_free();
}

/*
 * Regression (VM test, forced collisions): the side whose successor had
 * the lowest nonce kept sending on it, the newest outbound state, until the
 * answer to its Delete came back; the peer had dropped its inbound copy
 * when the Delete arrived, and the packets between were lost. After every
 * message of a collision, what each side sends is received.
 */
static void test_rekey_collision_no_loss(void **st)
{
	(void)st;
	char a[2048], b[2048];
	snprintf(a, sizeof(a),
		 "[conn b]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\nlocal_id = a.example\n"
		 "remote_id = b.example\nauth = psk\npsk = \"k\"\nlocal_ts = 10.1.0.0/24\n"
		 "remote_ts = 10.2.0.0/24\n");
	snprintf(b, sizeof(b),
		 "[conn a]\nlocal_addr = 192.0.2.2\nremote_addr = %%any\nlocal_id = b.example\n"
		 "remote_id = a.example\nauth = psk\npsk = \"k\"\nlocal_ts = 10.2.0.0/24\n"
		 "remote_ts = 10.1.0.0/24\n");
	for (uint64_t seed = 1; seed <= 6; seed++) {
		world_new_text(a, b, seed);
		establish();
		expire(0, false);
		expire(1, false);
		/* The requests cross, then every message in order, checked after each. */
		for (int i = 0; i < 40 && W->nq; i++) {
			pop(0, true);
			assert_peer_receives(0);
			assert_peer_receives(1);
		}
		assert_int_equal(W->nq, 0);
		assert_tunnel();
		world_free();
	}
}

/*
 * b rekeys the Child SA; a's own soft expiry of the old SA comes after it
 * answered (VM test: both sides' soft lifetimes fire within moments). a
 * must not rekey an SA the peer has already replaced: its request could
 * reach b after b forgot the old SA (a lost request retransmitted after the
 * Delete), and CHILD_SA_NOT_FOUND then made a create a second Child SA of
 * the same config (RFC 7296 2.25.1: a new one only "if the Child SA does
 * not yet exist").
 */
static void test_rekey_after_peer_rekeyed(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	uint32_t old = sa_of(0)->children->spi_in;
	expire(1, false);
	step(0, CREATE_CHILD_SA, false); /* a answers b's rekey */
	/* a's soft expiry of the old SA: nothing to send, the peer replaced it */
	struct kaddr me = kaddr4(ADDR[0]);
	assert_int_equal(kernel_fake_inject_expire(W->s[0].fake, old, IPPROTO_ESP, &me, false), 0);
	kernel_events();
	assert_int_equal(W->nq, 1); /* only a's answer */
	settle();
	run_for(20000);
	assert_tunnel();
	assert_int_equal(n_children(0), 1);
	assert_int_equal(n_children(1), 1);
	world_free();
}

/*
 * The same race where a's request left first (it was lost and comes again
 * after b's Delete of the old SA was answered): CHILD_SA_NOT_FOUND, and a
 * already has the successor, so it creates nothing.
 */
static void test_rekey_not_found_after_peer_rekeyed(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	expire(0, false);
	drop(CREATE_CHILD_SA, false); /* a's request is lost */
	expire(1, false);
	step(0, CREATE_CHILD_SA, false); /* a answers b's rekey */
	step(1, CREATE_CHILD_SA, true);
	step(0, INFORMATIONAL, false);   /* b deletes the old SA */
	step(1, INFORMATIONAL, true);
	advance(4000);                   /* a retransmits its request */
	settle();                        /* CHILD_SA_NOT_FOUND */
	run_for(20000);
	assert_tunnel();
	assert_int_equal(n_children(0), 1);
	assert_int_equal(n_children(1), 1);
	world_free();
}

/* a rekeys while b deletes the same Child SA (2.25.1): TEMPORARY_FAILURE, SA gone. */
static void test_rekey_crossing_delete(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	expire(0, false);
	tm_queue(sa_of(1), task_delete_new(sa_of(1)->children->spi_in));
	/* req_a (rekey) and req_b (delete) cross */
	step_at(1, 0, INFORMATIONAL, false); /* a: deletes, answers with its D */
	step(1, CREATE_CHILD_SA, false);     /* b: closing it: TEMPORARY_FAILURE */
	settle();
	assert_non_null(sa_of(0));
	assert_int_equal(sa_of(0)->state, IKESA_ESTABLISHED);
	assert_int_equal(n_children(0), 0);
	assert_int_equal(n_children(1), 0);
	assert_nothing_left();
	/* The retry timer finds nothing to rekey. */
	advance(20000);
	assert_int_equal(W->nq, 0);
	world_free();
}

/* b lost the Child SA: CHILD_SA_NOT_FOUND, a deletes its copy and creates a new one. */
static void test_rekey_not_found(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	child_kernel_remove(sa_of(1), sa_of(1)->children);
	expire(0, false);
	step(1, CREATE_CHILD_SA, false);
	/* <-- { N(CHILD_SA_NOT_FOUND) }; then CREATE_CHILD_SA { SA, Ni, TSi, TSr } --> */
	step(0, CREATE_CHILD_SA, true);
	settle();
	assert_tunnel();
	world_free();
}

/* The rekey response is lost: the retransmission gets the cached answer. */
static void test_rekey_lost_response(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	expire(0, false);
	step(1, CREATE_CHILD_SA, false);
	drop(CREATE_CHILD_SA, true);
	unsigned spis = kernel_fake_calls(W->s[1].fake, KFAKE_GET_SPI);
	advance(4000);
	step(1, CREATE_CHILD_SA, false);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_GET_SPI), spis);
	settle();
	assert_tunnel();
	world_free();
}

/* A hard expire deletes the Child SA on both sides and keeps the IKE SA. */
static void test_hard_expire(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	expire(1, true);
	settle();
	assert_int_equal(n_children(0), 0);
	assert_int_equal(n_children(1), 0);
	assert_int_equal(sa_of(0)->state, IKESA_ESTABLISHED);
	assert_nothing_left();
	world_free();
}

/* The lifetimes reach the kernel: hard as configured, soft earlier by margin + jitter. */
static void test_lifetimes_installed(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "lifetime = 100\nrekey_margin = 20\nrand_margin = 10\nlifetime_bytes = 1M\n";
	world_new(&p);
	establish();
	struct child_sa *c = sa_of(0)->children;
	struct kaddr me = kaddr4("192.0.2.1");
	const struct kernel_fake_sa *k = kernel_fake_find_sa(W->s[0].fake, &me, c->spi_in,
							     IPPROTO_ESP);
	assert_non_null(k);
	assert_int_equal(k->sa.hard_add_s, 100);
	assert_true(k->sa.soft_add_s >= 70 && k->sa.soft_add_s <= 80);
	assert_int_equal(k->sa.hard_bytes, 1000000);
	assert_true(k->sa.soft_bytes >= 700000 && k->sa.soft_bytes <= 800000);
	world_free();
}

/* Configs for IKE rekey tests: both sides rekey the IKE SA after 90 s (no jitter). */
static void ike_world(uint64_t seed, const char *life_a, const char *life_b)
{
	char a[2048], b[2048];
	snprintf(a, sizeof(a),
		 "[conn b]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\nlocal_id = a.example\n"
		 "remote_id = b.example\nauth = psk\npsk = \"k\"\nlocal_ts = 10.1.0.0/24\n"
		 "remote_ts = 10.2.0.0/24\n%s", life_a);
	snprintf(b, sizeof(b),
		 "[conn a]\nlocal_addr = 192.0.2.2\nremote_addr = %%any\nlocal_id = b.example\n"
		 "remote_id = a.example\nauth = psk\npsk = \"k\"\nlocal_ts = 10.2.0.0/24\n"
		 "remote_ts = 10.1.0.0/24\n%s", life_b);
	world_new_text(a, b, seed);
}

#define IKE_LIFE "ike_lifetime = 100\nrekey_margin = 10\nrand_margin = 0\n"

/* Each side: one IKE SA, established, not the old one, with the same Child SA. */
static void assert_rekeyed(uint64_t old_a, uint64_t old_b, uint32_t child_in)
{
	assert_non_null(sa_of(0));
	assert_non_null(sa_of(1));
	assert_int_equal(sa_of(0)->state, IKESA_ESTABLISHED);
	assert_int_equal(sa_of(1)->state, IKESA_ESTABLISHED);
	assert_true(sa_of(0)->spi_i != old_a || sa_of(0)->spi_r != old_b);
	assert_true(sa_of(0)->spi_i == sa_of(1)->spi_i && sa_of(0)->spi_r == sa_of(1)->spi_r);
	assert_int_equal(sa_of(0)->children->spi_in, child_in);
	assert_tunnel();
}

static void test_ike_rekey(void **st)
{
	(void)st;
	ike_world(3, IKE_LIFE, "");
	establish();
	uint64_t si = sa_of(0)->spi_i, sr = sa_of(0)->spi_r;
	uint32_t child = sa_of(0)->children->spi_in;
	assert_int_equal(timers_ike_rekey_in_s(sa_of(0)), 90);
	advance(90000);
	/* CREATE_CHILD_SA { HDR, SK { SA(IKE, SPIi'), Ni, KEi } } --> */
	step(1, CREATE_CHILD_SA, false);
	/* b: old and new IKE SA; the Child SA is the new one's */
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 2);
	/* <-- { HDR, SK { SA(IKE, SPIr'), Nr, KEr } } */
	step(0, CREATE_CHILD_SA, true);
	/* INFORMATIONAL (old IKE SA) { D(IKE) } -->, <-- { } */
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_rekeyed(si, sr, child);
	/* The kernel never noticed. */
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_DEL_SA), 0);
	/* The new IKE SA works: message IDs from 0, keys from 2.18; a Child rekey on it. */
	assert_int_equal(sa_of(0)->tm.next_out_id, 0);
	expire(1, false);
	settle();
	assert_tunnel();
	assert_int_equal(sa_of(1)->tm.next_out_id, 2); /* rekey + delete */
	world_free();
}

/*
 * xikectl down while our IKE rekey is in flight: the peer has made the
 * successor (and moved the Child SA to it), so the rekey completes and the
 * down then deletes the successor as well as the old SA; nothing is left
 * on either side (CI once found the peer holding the successor).
 */
static void test_ike_rekey_down_in_flight(void **st)
{
	(void)st;
	ike_world(3, IKE_LIFE, "");
	establish();
	advance(90000);
	/* CREATE_CHILD_SA { HDR, SK { SA(IKE, SPIi'), Ni, KEi } } --> */
	step(1, CREATE_CHILD_SA, false);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 2);
	char err[128];
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	assert_nothing_left();
	world_free();
}

static void test_ike_rekey_by_responder(void **st)
{
	(void)st;
	ike_world(4, "", IKE_LIFE);
	establish();
	uint64_t si = sa_of(0)->spi_i, sr = sa_of(0)->spi_r;
	uint32_t child = sa_of(0)->children->spi_in;
	advance(90000);
	settle();
	assert_rekeyed(si, sr, child);
	/* b initiated the rekey: it is the new IKE SA's initiator (RFC 7296 2.18). */
	assert_true(sa_of(1)->initiator);
	assert_false(sa_of(0)->initiator);
	world_free();
}

/* Both rekey the IKE SA at once (2.8.2): one new IKE SA survives, with the children. */
static void test_ike_rekey_collision(void **st)
{
	(void)st;
	int a_won = 0, runs = 0;
	for (uint64_t seed = 1; seed <= 6; seed++) {
		for (int order = 0; order < 2; order++, runs++) {
			ike_world(seed, IKE_LIFE, IKE_LIFE);
			establish();
			uint64_t si = sa_of(0)->spi_i, sr = sa_of(0)->spi_r;
			uint32_t child = sa_of(0)->children->spi_in;
			advance(90000);
			assert_int_equal(W->nq, 2);
			/* The crossing requests, one order or the other; then everything else. */
			step_at(q_find(order), order, CREATE_CHILD_SA, false);
			step_at(q_find(!order), !order, CREATE_CHILD_SA, false);
			settle();
			assert_rekeyed(si, sr, child);
			a_won += sa_of(0)->initiator;
			world_free();
		}
	}
	assert_true(a_won > 0 && a_won < runs);
}

static char coll_line[512];

static void coll_sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx;
	(void)g;
	(void)l;
	if (strstr(msg, "IKE rekey collision: ours"))
		snprintf(coll_line, sizeof(coll_line), "%s", msg);
}

/*
 * Regression (VM test log): the loser of an IKE rekey collision named the
 * surviving IKE SA with a second ikesa_tag() in one log call, which printed
 * the old SA's tag twice. The line must name the survivor's SPIs.
 */
static void test_ike_rekey_collision_log(void **st)
{
	(void)st;
	ike_world(1, IKE_LIFE, IKE_LIFE);
	establish();
	advance(90000);
	log_set_level(LOG_LVL_INFO);
	log_set_sink(coll_sink, NULL);
	coll_line[0] = 0;
	step_at(q_find(0), 0, CREATE_CHILD_SA, false);
	step_at(q_find(1), 1, CREATE_CHILD_SA, false);
	settle();
	log_set_sink(NULL, NULL);
	char want[96];
	snprintf(want, sizeof(want), "the peer's (%016" PRIx64 "_i %016" PRIx64 "_r) stays",
		 sa_of(0)->spi_i, sa_of(0)->spi_r);
	assert_non_null(strstr(coll_line, want));
	world_free();
}

/* A Child SA rekey while the IKE SA is being rekeyed: TEMPORARY_FAILURE, then later fine. */
/*
 * A Child SA rekey and an IKE SA rekey cross (2.25.2): the Child rekey
 * request meets an IKE rekey in flight and gets TEMPORARY_FAILURE; the IKE
 * rekey request is answered as usual, the in-flight Child SA exchange
 * moving its SAs to the new IKE SA. The Child rekey is retried 5-10 s
 * later on the new IKE SA. Both orders of delivery.
 */
static void run_crossing(int ike_side, int deliver_first)
{
	ike_world(5 + (uint64_t)ike_side, ike_side == 0 ? IKE_LIFE : "",
		  ike_side == 1 ? IKE_LIFE : "");
	establish();
	uint64_t si = sa_of(0)->spi_i;
	uint32_t child = sa_of(0)->children->spi_in;
	advance(90000);           /* IKE rekey request from ike_side */
	expire(!ike_side, false); /* Child rekey request from the other */
	assert_int_equal(W->nq, 2);
	step_at(q_find(deliver_first), deliver_first, CREATE_CHILD_SA, false);
	settle();
	assert_tunnel();
	assert_true(sa_of(0)->spi_i != si);
	run_for(30000);
	assert_tunnel();
	assert_int_not_equal(sa_of(0)->children->spi_in, child);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 1);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 1);
	world_free();
}

static void test_child_and_ike_rekey_cross(void **st)
{
	(void)st;
	for (int ike_side = 0; ike_side < 2; ike_side++)
		for (int first = 0; first < 2; first++)
			run_crossing(ike_side, first);
}

/* start = trap: policies without SAs; the first packet's ACQUIRE brings the tunnel up once. */
static void test_trap_acquire(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "start = trap\nidle_timeout = 10\n";
	world_new(&p);
	engine_start(W->s[0].e);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 3);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	assert_int_equal(W->nq, 0);
	/* The trap's out policy carries its reqid: the kernel's ACQUIRE names it. */
	const struct kernel_fake_call *call = kernel_fake_log_at(W->s[0].fake, 0);
	uint32_t reqid = call->reqid;
	struct ksel sel = {.src = kaddr4("10.1.0.5"), .dst = kaddr4("10.2.0.7"), .src_plen = 32,
			   .dst_plen = 32, .proto = 1};
	kernel_fake_inject_acquire(W->s[0].fake, &sel, reqid);
	kernel_fake_inject_acquire(W->s[0].fake, &sel, reqid); /* the same burst */
	kernel_events();
	assert_int_equal(W->nq, 1);
	step(1, IKE_SA_INIT, false);
	kernel_fake_inject_acquire(W->s[0].fake, &sel, reqid); /* while negotiating */
	kernel_events();
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_int_equal(W->nq, 0);
	assert_tunnel(); /* 2 states, 3 policies: the trap's, shared */
	assert_int_equal(sa_of(0)->children->reqid, reqid);
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_ADD_POLICY), 3);

	/* No traffic for idle_timeout: the Child SA goes, the IKE SA and the trap stay. */
	run_for(16000);
	assert_non_null(sa_of(0));
	assert_int_equal(n_children(0), 0);
	assert_int_equal(n_children(1), 0);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 3);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 0);
	/* The next packet brings it back on the same IKE SA. */
	kernel_fake_inject_acquire(W->s[0].fake, &sel, reqid);
	kernel_events();
	step(1, CREATE_CHILD_SA, false);
	step(0, CREATE_CHILD_SA, true);
	assert_tunnel();
	assert_int_equal(sa_of(0)->children->reqid, reqid);
	world_free();
}

/* Traffic keeps a Child SA with idle_timeout alive. */
static void test_idle_with_traffic(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "idle_timeout = 10\n";
	world_new(&p);
	establish();
	struct child_sa *c = sa_of(0)->children;
	struct kaddr me = kaddr4("192.0.2.1");
	for (int i = 1; i <= 12; i++) {
		struct kernel_sa_stats stats = {.bytes = 1000u * (unsigned)i, .packets = (unsigned)i};
		kernel_fake_set_stats(W->s[0].fake, &me, c->spi_in, IPPROTO_ESP, &stats);
		run_for(2500);
	}
	assert_int_equal(n_children(0), 1);
	run_for(25000); /* then silence */
	assert_int_equal(n_children(0), 0);
	world_free();
}

/*
 * TEMPORARY_FAILURE near the hard lifetime (2.25): the retry comes within
 * half the time left, not 5-10 s later when the kernel would have deleted
 * the SA already; far from it, 5-10 s.
 */
static void run_temp_failure(uint64_t at_ms, uint64_t min_ms, uint64_t max_ms)
{
	struct params p = DEFAULTS;
	p.extra_a = "lifetime = 20\nrekey_margin = 5\nrand_margin = 0\n";
	world_new(&p);
	establish();
	advance(at_ms);
	/* b rekeys the IKE SA (its request held back), so it refuses Child rekeys meanwhile */
	tm_queue(sa_of(1), task_ike_rekey_new());
	assert_int_equal(W->nq, 1);
	expire(0, false);
	/* CREATE_CHILD_SA { N(REKEY_SA), ... } --> b, <-- { N(TEMPORARY_FAILURE) } */
	step_at(q_find(1), 1, CREATE_CHILD_SA, false);
	step_at(W->nq - 1, 0, CREATE_CHILD_SA, true);
	struct child_sa *c = sa_of(0)->children;
	uint32_t old_in = c->spi_in;
	uint64_t in = c->retry_timer.deadline_ms - engine_now(W->s[0].e);
	assert_true(in >= min_ms && in <= max_ms);
	/* b's IKE rekey, then a's retry: one new pair before the hard lifetime */
	settle();
	run_for(max_ms + 200);
	assert_tunnel();
	assert_int_not_equal(sa_of(0)->children->spi_in, old_in);
	assert_true(sa_of(0)->children->installed_ms > at_ms);
	world_free();
}

static void test_rekey_retry_before_hard(void **st)
{
	(void)st;
	run_temp_failure(17000, 1300, 1500); /* hard lifetime in 3 s: within 1.5 s */
	run_temp_failure(19800, 200, 200);   /* in 0.2 s: the 200 ms floor */
	run_temp_failure(1000, 5000, 10000); /* far from it: 5-10 s */
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rekey_simple),
		cmocka_unit_test(test_rekey_pfs_repeated),
		cmocka_unit_test(test_rekey_invalid_ke),
		cmocka_unit_test(test_rekey_collision),
		cmocka_unit_test(test_rekey_never_without_outbound),
		cmocka_unit_test(test_rekey_collision_no_loss),
		cmocka_unit_test(test_rekey_after_peer_rekeyed),
		cmocka_unit_test(test_rekey_not_found_after_peer_rekeyed),
		cmocka_unit_test(test_rekey_crossing_delete),
		cmocka_unit_test(test_rekey_not_found),
		cmocka_unit_test(test_rekey_lost_response),
		cmocka_unit_test(test_hard_expire),
		cmocka_unit_test(test_lifetimes_installed),
		cmocka_unit_test(test_ike_rekey),
		cmocka_unit_test(test_ike_rekey_down_in_flight),
		cmocka_unit_test(test_ike_rekey_by_responder),
		cmocka_unit_test(test_ike_rekey_collision),
		cmocka_unit_test(test_ike_rekey_collision_log),
		cmocka_unit_test(test_child_and_ike_rekey_cross),
		cmocka_unit_test(test_trap_acquire),
		cmocka_unit_test(test_idle_with_traffic),
		cmocka_unit_test(test_rekey_retry_before_hard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
