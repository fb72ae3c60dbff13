/*
 * Make-before-break reauthentication (RFC 7296 2.8.3, daemon/task_reauth.h)
 * between two engines, message by message: a (reauth = yes, the conn's
 * initiator) builds a new IKE SA with both Child SAs again, then deletes
 * the old one. After every case each side holds one IKE SA, one pair of
 * states per child config, the policies of the two reqids (never removed
 * and added again), and nothing larval; after every message, each side
 * sends on states the peer has installed.
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
#include <string.h>

#include "crypto/rng.h"
#include "daemon/log.h"
#include "daemon/task_reauth.h"
#include "daemon/timers.h"
#include "tests/unit/engine_world.h"

static const char *ADDR[2] = {"192.0.2.1", "192.0.2.2"};

static struct kaddr kaddr4(const char *ip)
{
	struct kaddr k = {.family = AF_INET};
	inet_pton(AF_INET, ip, k.a);
	return k;
}

#define CONF_A                                                                                     \
	"[conn b]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\nlocal_id = a.example\n"      \
	"remote_id = b.example\nauth = psk\npsk = \"k\"\nike_lifetime = 100\n"                    \
	"rekey_margin = 10\nrand_margin = 0\nreauth = yes\n%s"                                    \
	"[child b.one]\nlocal_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\n"                        \
	"[child b.two]\nlocal_ts = 10.1.1.0/24\nremote_ts = 10.2.1.0/24\n"
#define CONF_B                                                                                     \
	"[conn a]\nlocal_addr = 192.0.2.2\nremote_addr = %%any\nlocal_id = b.example\n"           \
	"remote_id = a.example\nauth = psk\npsk = \"k\"\n%s"                                       \
	"[child a.one]\nlocal_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/24\n"                        \
	"[child a.two]\nlocal_ts = 10.2.1.0/24\nremote_ts = 10.1.1.0/24\n"

static uint32_t reqids[2][2]; /* per side, the reqids of the two child configs */

static void reauth_world(uint64_t seed, const char *extra_a, const char *extra_b)
{
	char a[2048], b[2048];
	snprintf(a, sizeof(a), CONF_A, extra_a);
	snprintf(b, sizeof(b), CONF_B, extra_b);
	world_new_text(a, b, seed);
}

/* Let ms pass in 100 ms steps, delivering every message as it is sent. */
static void run_for(uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += 100) {
		advance(100);
		settle();
	}
}

static size_t n_children(struct ikesa *sa)
{
	size_t n = 0;
	for (struct child_sa *c = sa->children; c; c = c->next)
		n++;
	return n;
}

static struct child_sa *child_named(struct ikesa *sa, const char *suffix)
{
	for (struct child_sa *c = sa->children; c; c = c->next)
		if (strcmp(c->cfg->name, suffix) == 0)
			return c;
	return NULL;
}

/* a's conn up, both Child SAs (IKE_AUTH, then CREATE_CHILD_SA); the reqids noted. */
static void up(void)
{
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	/* IKE_SA_INIT, IKE_AUTH (child one), CREATE_CHILD_SA (child two) */
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	step(1, CREATE_CHILD_SA, false);
	step(0, CREATE_CHILD_SA, true);
	assert_int_equal(W->nq, 0);
	for (int s = 0; s < 2; s++) {
		assert_int_equal(n_children(sa_of(s)), 2);
		reqids[s][0] = child_named(sa_of(s), "one")->reqid;
		reqids[s][1] = child_named(sa_of(s), "two")->reqid;
		assert_int_not_equal(reqids[s][0], reqids[s][1]);
	}
}

/*
 * The end of every case: one IKE SA per side, both Child SAs installed
 * with their reqids, keys matching crosswise, 4 states and 6 policies per
 * side (nothing larval, nothing leaked).
 */
static void assert_converged(void)
{
	for (int s = 0; s < 2; s++) {
		assert_int_equal(engine_ike_sa_count(W->s[s].e), 1);
		struct ikesa *sa = sa_of(s);
		assert_non_null(sa);
		assert_int_equal(sa->state, IKESA_ESTABLISHED);
		assert_int_equal(n_children(sa), 2);
		assert_int_equal(kernel_fake_sa_count(W->s[s].fake), 4);
		assert_int_equal(kernel_fake_larval_count(W->s[s].fake), 0);
		assert_int_equal(kernel_fake_policy_count(W->s[s].fake), 6);
		assert_int_equal(child_named(sa, "one")->reqid, reqids[s][0]);
		assert_int_equal(child_named(sa, "two")->reqid, reqids[s][1]);
	}
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "two" : "one";
		struct child_sa *ca = child_named(sa_of(0), name), *cb = child_named(sa_of(1), name);
		assert_int_equal(ca->state, CHILD_INSTALLED);
		assert_int_equal(cb->state, CHILD_INSTALLED);
		assert_int_equal(ca->spi_out, cb->spi_in);
		assert_int_equal(ca->spi_in, cb->spi_out);
		struct kaddr ka = kaddr4(ADDR[0]), kb = kaddr4(ADDR[1]);
		const struct kernel_fake_sa *a_out = kernel_fake_find_sa(W->s[0].fake, &kb, ca->spi_out,
									 IPPROTO_ESP);
		const struct kernel_fake_sa *b_in = kernel_fake_find_sa(W->s[1].fake, &kb, cb->spi_in,
									IPPROTO_ESP);
		const struct kernel_fake_sa *b_out = kernel_fake_find_sa(W->s[1].fake, &ka, cb->spi_out,
									 IPPROTO_ESP);
		const struct kernel_fake_sa *a_in = kernel_fake_find_sa(W->s[0].fake, &ka, ca->spi_in,
									IPPROTO_ESP);
		assert_non_null(a_out);
		assert_non_null(b_in);
		assert_non_null(b_out);
		assert_non_null(a_in);
		assert_memory_equal(a_out->sa.enc_key, b_in->sa.enc_key, a_out->sa.enc_key_len);
		assert_memory_equal(a_in->sa.enc_key, b_out->sa.enc_key, a_in->sa.enc_key_len);
	}
}

static bool is_addr(const struct kaddr *k, int side)
{
	struct kaddr a = kaddr4(ADDR[side]);
	return k->family == a.family && memcmp(k->a, a.a, 4) == 0;
}

/*
 * For each reqid of side: the outbound state the kernel sends on (the
 * newest one still installed, as XFRM prefers the most recently added) is
 * installed inbound at the peer. So nothing sent is dropped: no gap.
 */
static void assert_no_gap(int side)
{
	const struct kernel_fake *f = W->s[side].fake;
	struct kaddr peer = kaddr4(ADDR[!side]);
	for (int r = 0; r < 2; r++) {
		bool found = false;
		for (size_t i = kernel_fake_log_len(f); i-- > 0 && !found;) {
			const struct kernel_fake_call *c = kernel_fake_log_at(f, i);
			if (c->op != KFAKE_ADD_SA || c->result != 0 || !is_addr(&c->dst, !side) ||
			    c->reqid != reqids[side][r] || !kernel_fake_find_sa(f, &peer, c->spi,
										 IPPROTO_ESP))
				continue;
			const struct kernel_fake_sa *in =
				kernel_fake_find_sa(W->s[!side].fake, &peer, c->spi, IPPROTO_ESP);
			assert_non_null(in);
			assert_false(in->larval);
			found = true;
		}
		if (!found)
			fail_msg("side %d has no outbound state for reqid %08x", side,
				 reqids[side][r]);
	}
}

/* Deliver the first queued message, then check that neither side sends into a gap. */
static void step_checked(int to, uint8_t exchange, bool response)
{
	step(to, exchange, response);
	assert_no_gap(0);
	assert_no_gap(1);
}

/* The whole reauthentication with two Child SAs, each message checked. */
static void test_reauth_two_children(void **st)
{
	(void)st;
	reauth_world(1, "", "");
	up();
	uint64_t old_i = sa_of(0)->spi_i, old_r = sa_of(0)->spi_r;
	uint32_t one_in = child_named(sa_of(0), "one")->spi_in;
	uint32_t two_in = child_named(sa_of(0), "two")->spi_in;
	unsigned pol_a = kernel_fake_calls(W->s[0].fake, KFAKE_ADD_POLICY);
	unsigned pol_b = kernel_fake_calls(W->s[1].fake, KFAKE_ADD_POLICY);
	uint64_t est_a = W->s[0].e->stats.ike_established;
	assert_int_equal(timers_ike_rekey_in_s(sa_of(0)), 90);
	advance(90000);
	/* New IKE SA: IKE_SA_INIT { SAi1, KEi, Ni, N(NATD_*) } --> */
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 2);
	step_checked(1, IKE_SA_INIT, false);
	/* <-- { SAr1, KEr, Nr, N(NATD_*) } */
	step_checked(0, IKE_SA_INIT, true);
	/* IKE_AUTH { IDi, IDr, AUTH, SAi2, TSi(one), TSr(one) } (no INITIAL_CONTACT) --> */
	step_checked(1, IKE_AUTH, false);
	/* b keeps the old IKE SA: no INITIAL_CONTACT; the new Child SA has the old reqid. */
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 2);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 5); /* old 2 pairs + new inbound */
	/* <-- { IDr, AUTH, SAr2, TSi, TSr } */
	step_checked(0, IKE_AUTH, true);
	/* old 2 pairs, new pair of one, the larval inbound state of two (its request left) */
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 7);
	assert_int_equal(kernel_fake_larval_count(W->s[0].fake), 1);
	/* CREATE_CHILD_SA { SA, Ni, TSi(two), TSr(two) } -->, <-- { SA, Nr, TSi, TSr } */
	step_checked(1, CREATE_CHILD_SA, false);
	step_checked(0, CREATE_CHILD_SA, true);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 8);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 6); /* outbound of the new deferred */
	/* Old IKE SA: INFORMATIONAL { D(IKE) } --> */
	step_checked(1, INFORMATIONAL, false);
	/* b sends on the new Child SAs and dropped the old IKE SA with its Child SAs */
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 4);
	/* <-- { } */
	step_checked(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_converged();
	/* A brand-new IKE SA, really authenticated (IKE_SA_INIT + IKE_AUTH), new Child SAs. */
	assert_true(sa_of(0)->spi_i != old_i && sa_of(0)->spi_r != old_r);
	assert_int_equal(W->s[0].e->stats.ike_established, est_a + 1);
	assert_true(sa_of(0)->initiator);
	assert_int_not_equal(child_named(sa_of(0), "one")->spi_in, one_in);
	assert_int_not_equal(child_named(sa_of(0), "two")->spi_in, two_in);
	/* The policies stayed: never deleted, never added again. */
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_ADD_POLICY), pol_a);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_ADD_POLICY), pol_b);
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_DEL_POLICY), 0);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_DEL_POLICY), 0);
	/* The new IKE SA reauthenticates again at its own ike_lifetime. */
	assert_int_equal(timers_ike_rekey_in_s(sa_of(0)), 90);
	run_for(91000);
	assert_converged();
	assert_int_equal(W->s[0].e->stats.ike_established, est_a + 2);
	world_free();
}

/*
 * Any one message of the reauthentication lost (the 8 of IKE_SA_INIT,
 * IKE_AUTH, CREATE_CHILD_SA and the old SA's Delete, request or
 * response): the retransmission finishes the job, and the end is the same.
 */
static void test_reauth_lost_message(void **st)
{
	(void)st;
	for (int lost = 0; lost < 8; lost++) {
		reauth_world(2 + (uint64_t)lost, "", "");
		up();
		advance(90000);
		int seen = 0;
		bool dropped = false;
		for (int i = 0; i < 4000 && (W->nq || i < 2000); i++) {
			if (W->nq && !dropped && seen == lost) {
				pop(0, false);
				dropped = true;
				continue;
			}
			if (W->nq) {
				pop(0, true);
				seen++;
				assert_no_gap(0);
				/* b's new SAs may be ahead of a's only while a's response is lost */
				if (lost != 1 && lost != 3 && lost != 5)
					assert_no_gap(1);
				continue;
			}
			advance(100);
		}
		assert_true(dropped);
		assert_converged();
		world_free();
	}
}

/*
 * A Child SA rekey crosses the reauthentication: b rekeys child one of the
 * old IKE SA (its soft lifetime) at each point of the reauthentication,
 * or a does. The end is one of each, whatever the order.
 */
static void test_reauth_crossing_child_rekey(void **st)
{
	(void)st;
	for (int side = 0; side < 2; side++) {
		for (int at = 0; at < 7; at++) {
			reauth_world(20 + (uint64_t)at, "", "");
			up();
			struct ikesa *old = sa_of(side);
			uint32_t in = child_named(old, "one")->spi_in;
			struct kaddr me = kaddr4(ADDR[side]);
			advance(90000);
			for (int i = 0; i < at && W->nq; i++)
				pop(0, true);
			/* The old IKE SA may be gone already: then there is nothing to rekey. */
			if (kernel_fake_find_sa(W->s[side].fake, &me, in, IPPROTO_ESP)) {
				assert_int_equal(kernel_fake_inject_expire(W->s[side].fake, in,
									   IPPROTO_ESP, &me, false),
						 0);
				kernel_events();
			}
			run_for(40000);
			assert_converged();
			world_free();
		}
	}
}

/*
 * The peer does not answer: the new IKE SA gives up, the old one stays
 * with its Child SAs untouched, and the reauthentication is tried again
 * 5-10 s later, which works.
 */
static void test_reauth_fails_then_retries(void **st)
{
	(void)st;
	reauth_world(3, "", "");
	up();
	uint64_t old_i = sa_of(0)->spi_i;
	unsigned del_a = kernel_fake_calls(W->s[0].fake, KFAKE_DEL_SA);
	advance(90000);
	/* Every IKE_SA_INIT of the new SA lost, until the task manager gives up (~165 s). */
	for (int i = 0; i < 1800; i++) {
		while (W->nq)
			pop(0, false);
		advance(100);
		if (engine_ike_sa_count(W->s[0].e) == 1)
			break;
	}
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 1);
	assert_int_equal(sa_of(0)->spi_i, old_i);
	assert_int_equal(sa_of(0)->state, IKESA_ESTABLISHED);
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_DEL_SA), del_a);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 4);
	int64_t again = timers_ike_rekey_in_s(sa_of(0));
	assert_true(again >= 4 && again <= 10);
	run_for(12000);
	assert_converged();
	assert_true(sa_of(0)->spi_i != old_i);
	world_free();
}

/* xikectl rekey CONN --reauth: engine_reauth, only where we initiated the conn. */
static void test_reauth_on_request(void **st)
{
	(void)st;
	char err[160];
	/* reauth = no on a: the request still reauthenticates. */
	char a[2048], b[2048];
	snprintf(a, sizeof(a), CONF_A, "");
	char *p = strstr(a, "reauth = yes");
	memcpy(p, "reauth = no ", 12);
	snprintf(b, sizeof(b), CONF_B, "");
	world_new_text(a, b, 4);
	assert_int_equal(engine_reauth(W->s[0].e, "b", err, sizeof(err)), -ENOENT);
	up();
	uint64_t old_i = sa_of(0)->spi_i;
	assert_int_equal(engine_reauth(W->s[1].e, "a", err, sizeof(err)), -ENOENT);
	assert_int_equal(engine_reauth(W->s[0].e, "nope", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no connection named 'nope'");
	assert_int_equal(engine_reauth(W->s[0].e, "b", err, sizeof(err)), 0);
	assert_int_equal(engine_reauth(W->s[0].e, "b", err, sizeof(err)), -EALREADY);
	/* a conn up request meanwhile is refused: it is up */
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), -EALREADY);
	settle();
	assert_converged();
	assert_true(sa_of(0)->spi_i != old_i);
	/* reauth = no: the IKE SA is rekeyed at its lifetime (same Child SAs, no IKE_AUTH). */
	uint32_t in = child_named(sa_of(0), "one")->spi_in;
	run_for(91000);
	assert_converged();
	assert_int_equal(child_named(sa_of(0), "one")->spi_in, in);
	world_free();
}

/*
 * b (the conn's responder) has reauth = yes too and ike_lifetime: it
 * cannot reach a on its own conn (remote_addr = %any), so it rekeys in
 * place (2.18), and a's reauthentication follows the IKE SA it replaced.
 */
static unsigned n_rekeyed, n_reauthed;

static void count_sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx;
	(void)g;
	(void)l;
	n_rekeyed += strstr(msg, "IKE SA rekeyed") != NULL;
	n_reauthed += strstr(msg, "reauthenticated (") != NULL;
}

static void test_reauth_responder_rekeys(void **st)
{
	(void)st;

	reauth_world(5, "",
		     "ike_lifetime = 100\nrekey_margin = 5\nrand_margin = 0\nreauth = yes\n");
	up();
	uint32_t in = child_named(sa_of(0), "one")->spi_in;
	n_rekeyed = n_reauthed = 0;
	log_set_level(LOG_LVL_INFO);
	log_set_sink(count_sink, NULL);
	/* b's rekey (at 95 s) comes after a's reauthentication began (at 90 s). */
	advance(90000);
	step(1, IKE_SA_INIT, false);
	advance(5000);
	run_for(20000);
	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_ERROR);
	/* both happened: b's rekey (logged by both sides), then a's reauthentication */
	assert_int_equal(n_rekeyed, 2);
	assert_int_equal(n_reauthed, 1);
	assert_converged();
	assert_int_not_equal(child_named(sa_of(0), "one")->spi_in, in);
	world_free();
}

/*
 * start = trap with reauth: the reauthenticated Child SA keeps the trap's
 * reqid and policies; an IKE SA whose Child SAs went idle is deleted
 * instead of reauthenticated, and the next packet brings a new one up.
 */
static void test_reauth_trap(void **st)
{
	(void)st;
	char err[160];
	reauth_world(6, "start = trap\nidle_timeout = 30\n", "");
	engine_start(W->s[0].e);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 6);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	uint32_t trap_reqid = kernel_fake_log_at(W->s[0].fake, 0)->reqid;
	struct ksel sel = {.src = kaddr4("10.1.0.5"), .dst = kaddr4("10.2.0.7"), .src_plen = 32,
			   .dst_plen = 32, .proto = 1};
	/* The first packet brings up the conn: IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA. */
	kernel_fake_inject_acquire(W->s[0].fake, &sel, trap_reqid);
	kernel_events();
	settle();
	assert_int_equal(n_children(sa_of(0)), 2);
	assert_int_equal(child_named(sa_of(0), "one")->reqid, trap_reqid);
	for (int s = 0; s < 2; s++) {
		reqids[s][0] = child_named(sa_of(s), "one")->reqid;
		reqids[s][1] = child_named(sa_of(s), "two")->reqid;
	}
	uint64_t old_i = sa_of(0)->spi_i;
	uint32_t old_in = child_named(sa_of(0), "one")->spi_in;
	/* xikectl rekey b --reauth */
	assert_int_equal(engine_reauth(W->s[0].e, "b", err, sizeof(err)), 0);
	for (int i = 0; i < 20 && W->nq; i++) {
		pop(0, true);
		/* never a gap; 6 policies (the traps', shared) on each side */
		assert_no_gap(0);
		assert_no_gap(1);
		assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 6);
		assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 6);
	}
	assert_converged();
	assert_int_equal(child_named(sa_of(0), "one")->reqid, trap_reqid);
	assert_true(sa_of(0)->spi_i != old_i);
	assert_int_not_equal(child_named(sa_of(0), "one")->spi_in, old_in);
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_ADD_POLICY), 6);
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_DEL_POLICY), 0);
	/* Idle: the Child SA goes, the IKE SA stays. */
	run_for(40000);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 1);
	assert_null(sa_of(0)->children);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	/* Its ike_lifetime: nothing to carry over, so it is deleted, the traps stay. */
	run_for(60000);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 6);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 0);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 0);
	/* The next packet: a new IKE SA. */
	kernel_fake_inject_acquire(W->s[0].fake, &sel, trap_reqid);
	kernel_events();
	settle();
	/* b has no traps: its new Child SAs have new reqids; a's are the traps' */
	reqids[1][0] = child_named(sa_of(1), "one")->reqid;
	reqids[1][1] = child_named(sa_of(1), "two")->reqid;
	assert_converged();
	assert_int_equal(child_named(sa_of(0), "one")->reqid, trap_reqid);
	world_free();
}

/*
 * if_id = %unique (one if_id per IKE SA, issue 8): the new IKE SA of a
 * reauthentication keeps the old one's, on both sides, so its Child SAs'
 * states match the policies that stay.
 */
static void if_ids(int side, uint32_t out[2])
{
	out[0] = child_named(sa_of(side), "one")->if_id;
	out[1] = child_named(sa_of(side), "two")->if_id;
}

static void test_reauth_unique_if_id(void **st)
{
	(void)st;
	reauth_world(7, "if_id = %unique\n", "if_id = %unique\n");
	up();
	uint32_t before[2][2], after[2][2];
	for (int s = 0; s < 2; s++) {
		if_ids(s, before[s]);
		assert_int_not_equal(before[s][0], 0);
		assert_int_equal(before[s][0], before[s][1]);
	}
	run_for(91000); /* the reauthentication at 90 s */
	assert_converged();
	for (int s = 0; s < 2; s++) {
		if_ids(s, after[s]);
		assert_int_equal(after[s][0], before[s][0]);
		assert_int_equal(after[s][1], before[s][1]);
		struct child_sa *c = child_named(sa_of(s), "one");
		struct kaddr me = kaddr4(ADDR[s]);
		const struct kernel_fake_sa *k = kernel_fake_find_sa(W->s[s].fake, &me, c->spi_in,
								     IPPROTO_ESP);
		assert_non_null(k);
		assert_int_equal(k->sa.if_id, before[s][0]);
	}
	world_free();
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reauth_two_children),
		cmocka_unit_test(test_reauth_lost_message),
		cmocka_unit_test(test_reauth_crossing_child_rekey),
		cmocka_unit_test(test_reauth_fails_then_retries),
		cmocka_unit_test(test_reauth_on_request),
		cmocka_unit_test(test_reauth_responder_rekeys),
		cmocka_unit_test(test_reauth_trap),
		cmocka_unit_test(test_reauth_unique_if_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
