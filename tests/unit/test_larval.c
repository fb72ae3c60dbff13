/*
 * Slow exchanges keep their Child SA. The inbound SPI reserved with
 * XFRM_MSG_ALLOCSPI is a larval state that the kernel deletes after
 * net.core.xfrm_acq_expires (30 s by default), reporting a hard expire for
 * it (kernel_fake_expire_larval does the same). An IKE_AUTH or
 * CREATE_CHILD_SA that outlives it must still install its Child SA under
 * the SPI the peer was given: the engine reserves the SPI again when the
 * expire is read, and adds the state with NEWSA when the exchange ends
 * before that (the expire read afterwards is then stale and ignored).
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

#include "daemon/engine.h"
#include "tests/unit/engine_world.h"

static const char *ADDR[2] = {"192.0.2.1", "192.0.2.2"};

static struct kaddr kaddr4(const char *ip)
{
	struct kaddr k = {.family = AF_INET};
	inet_pton(AF_INET, ip, k.a);
	return k;
}

/* How the larval state's end reaches the engine. */
enum when {
	EVENT_FIRST,   /* the hard expire is read before the exchange's answer */
	EVENT_LATE,    /* the answer first (update_sa finds nothing), then the stale expire */
	RESERVE_FAILS, /* the expire first, and reserving the SPI again fails */
};

/* The kernel's xfrm_acq_expires timer fires on side `side`: its larval states go. */
static size_t larval_expires(int side, enum when w)
{
	size_t n = kernel_fake_expire_larval(W->s[side].fake);
	assert_int_equal(kernel_fake_larval_count(W->s[side].fake), 0);
	if (w == RESERVE_FAILS)
		kernel_fake_fail(W->s[side].fake, KFAKE_GET_SPI, -ENOENT, (unsigned)n);
	if (w != EVENT_LATE)
		kernel_events();
	if (w == EVENT_FIRST)
		/* Reserved again, same SPIs. */
		assert_int_equal(kernel_fake_larval_count(W->s[side].fake), n);
	return n;
}

static size_t n_children(int side)
{
	size_t n = 0;
	for (struct child_sa *c = sa_of(side)->children; c; c = c->next)
		n++;
	return n;
}

/*
 * Both sides hold n installed Child SAs that pair crosswise (a's outbound
 * SPI is b's inbound one and the reverse), each with its two states in the
 * kernel, filled (nothing larval) and with keys that match; 2n states per
 * side in all.
 */
static void assert_pairs(size_t n)
{
	struct kaddr ka = kaddr4(ADDR[0]), kb = kaddr4(ADDR[1]);
	assert_non_null(sa_of(0));
	assert_non_null(sa_of(1));
	assert_int_equal(sa_of(0)->state, IKESA_ESTABLISHED);
	assert_int_equal(sa_of(1)->state, IKESA_ESTABLISHED);
	assert_int_equal(n_children(0), n);
	assert_int_equal(n_children(1), n);
	for (struct child_sa *ca = sa_of(0)->children; ca; ca = ca->next) {
		struct child_sa *cb = sa_of(1)->children;
		while (cb && cb->spi_in != ca->spi_out)
			cb = cb->next;
		assert_non_null(cb);
		assert_int_equal(cb->spi_out, ca->spi_in);
		assert_int_equal(ca->state, CHILD_INSTALLED);
		assert_int_equal(cb->state, CHILD_INSTALLED);
		assert_true(ca->installed_in && ca->installed_out);
		assert_true(cb->installed_in && cb->installed_out);
		const struct kernel_fake_sa *a_out = kernel_fake_find_sa(W->s[0].fake, &kb, ca->spi_out, IPPROTO_ESP);
		const struct kernel_fake_sa *b_in = kernel_fake_find_sa(W->s[1].fake, &kb, cb->spi_in, IPPROTO_ESP);
		const struct kernel_fake_sa *a_in = kernel_fake_find_sa(W->s[0].fake, &ka, ca->spi_in, IPPROTO_ESP);
		const struct kernel_fake_sa *b_out = kernel_fake_find_sa(W->s[1].fake, &ka, cb->spi_out, IPPROTO_ESP);
		assert_non_null(a_out);
		assert_non_null(b_in);
		assert_non_null(a_in);
		assert_non_null(b_out);
		assert_false(a_in->larval);
		assert_false(b_in->larval);
		assert_int_equal(a_in->sa.reqid, ca->reqid);
		assert_int_equal(a_in->sa.enc_key_len, b_out->sa.enc_key_len);
		assert_memory_equal(a_in->sa.enc_key, b_out->sa.enc_key, a_in->sa.enc_key_len);
		assert_memory_equal(a_out->sa.enc_key, b_in->sa.enc_key, a_out->sa.enc_key_len);
	}
	for (int s = 0; s < 2; s++) {
		assert_int_equal(kernel_fake_sa_count(W->s[s].fake), 2 * n);
		assert_int_equal(kernel_fake_larval_count(W->s[s].fake), 0);
		assert_int_equal(kernel_fake_pending_events(W->s[s].fake), 0);
	}
}

/* IKE_AUTH, initiator: the larval state ends between the request and the answer. */
static void auth_initiator(enum when w)
{
	char err[128];
	world_new(&DEFAULTS);
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	/* IKE_SA_INIT --> <-- */
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	/* IKE_AUTH { HDR, SK { IDi, AUTH, SAi2(SPI), TSi, TSr } } --> */
	step(1, IKE_AUTH, false);
	uint32_t spi = sa_of(0)->children->spi_in;
	assert_int_equal(larval_expires(0, w), 1);
	/* Still there, with the SPI the peer was given. */
	assert_non_null(sa_of(0)->children);
	assert_int_equal(sa_of(0)->children->spi_in, spi);
	unsigned adds = kernel_fake_calls(W->s[0].fake, KFAKE_ADD_SA);
	/* <-- IKE_AUTH { HDR, SK { IDr, AUTH, SAr2, TSi, TSr } } */
	step(0, IKE_AUTH, true);
	/* Filled in place (update_sa), or added: inbound and outbound, or outbound alone. */
	assert_int_equal(kernel_fake_calls(W->s[0].fake, KFAKE_ADD_SA) - adds, w == EVENT_FIRST ? 1 : 2);
	if (w == EVENT_LATE)
		kernel_events(); /* the stale hard expire: the new state is there, nothing happens */
	assert_tunnel();
	assert_int_equal(sa_of(0)->children->spi_in, spi);
	assert_pairs(1);
	world_free();
}

static void test_auth_initiator_reserved_again(void **st)
{
	(void)st;
	auth_initiator(EVENT_FIRST);
}

static void test_auth_initiator_event_late(void **st)
{
	(void)st;
	auth_initiator(EVENT_LATE);
}

static void test_auth_initiator_reserve_fails(void **st)
{
	(void)st;
	auth_initiator(RESERVE_FAILS);
}

/*
 * IKE_AUTH, responder: its answers are lost for 35 s (the VM's nftables
 * case). The responder installed its Child SA when it answered; the
 * initiator's larval state expires on the way; the initiator's
 * retransmission meets the responder's cached answer and both agree.
 */
static void test_auth_responder_answers_lost(void **st)
{
	(void)st;
	char err[128];
	world_new(&DEFAULTS);
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	drop(IKE_AUTH, true);
	struct child_sa *cb = sa_of(1)->children;
	assert_non_null(cb);
	uint32_t b_in = cb->spi_in, b_out = cb->spi_out;
	unsigned b_sa_calls = kernel_fake_calls(W->s[1].fake, KFAKE_ADD_SA) +
			      kernel_fake_calls(W->s[1].fake, KFAKE_UPDATE_SA);
	unsigned retransmits = 0;
	for (int t = 1; t <= 35; t++) {
		advance(1000);
		if (t == 30) {
			/* xfrm_acq_expires: a's reservation goes; b has nothing larval. */
			assert_int_equal(larval_expires(0, EVENT_FIRST), 1);
			assert_int_equal(larval_expires(1, EVENT_FIRST), 0);
		}
		while (W->nq) {
			/* IKE_AUTH request retransmitted --> ; <-- answer from b's cache, lost. */
			retransmits++;
			step(1, IKE_AUTH, false);
			drop(IKE_AUTH, true);
		}
	}
	assert_true(retransmits >= 2);
	/* The path heals: the next retransmission gets through. */
	for (int t = 0; t < 60 && !W->nq; t++)
		advance(1000);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	assert_pairs(1);
	/* b's Child SA is the one it made when it first answered, untouched since. */
	assert_int_equal(sa_of(1)->children->spi_in, b_in);
	assert_int_equal(sa_of(1)->children->spi_out, b_out);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_ADD_SA) +
				 kernel_fake_calls(W->s[1].fake, KFAKE_UPDATE_SA),
			 b_sa_calls);
	world_free();
}

/* CREATE_CHILD_SA rekeying a's Child SA; the new SA's larval state ends on the way. */
static void rekey(enum when w)
{
	world_new(&DEFAULTS);
	establish();
	uint32_t old_in = sa_of(0)->children->spi_in;
	struct kaddr ka = kaddr4(ADDR[0]);
	/* The soft lifetime starts the rekey. */
	assert_int_equal(kernel_fake_inject_expire(W->s[0].fake, old_in, IPPROTO_ESP, &ka, false), 0);
	kernel_events();
	/* CREATE_CHILD_SA { HDR, SK { N(REKEY_SA), SA(new SPI), Ni, TSi, TSr } } --> */
	step(1, CREATE_CHILD_SA, false);
	assert_int_equal(n_children(0), 2);
	assert_int_equal(larval_expires(0, w), 1);
	assert_int_equal(n_children(0), 2);
	/* <-- { HDR, SK { SA, Nr, TSi, TSr } }, then the Delete of the old SA both ways */
	step(0, CREATE_CHILD_SA, true);
	if (w == EVENT_LATE)
		kernel_events();
	settle();
	assert_pairs(1);
	assert_int_not_equal(sa_of(0)->children->spi_in, old_in);
	assert_int_equal(sa_of(0)->children->replaces, old_in);
	world_free();
}

static void test_rekey_reserved_again(void **st)
{
	(void)st;
	rekey(EVENT_FIRST);
}

static void test_rekey_event_late(void **st)
{
	(void)st;
	rekey(EVENT_LATE);
}

#define CONF2_A                                                                                   \
	"[conn b]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\nlocal_id = a.example\n"      \
	"remote_id = b.example\nauth = psk\npsk = \"k\"\n"                                        \
	"[child b.one]\nlocal_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\n"                        \
	"[child b.two]\nlocal_ts = 10.1.1.0/24\nremote_ts = 10.2.1.0/24\n"
#define CONF2_B                                                                                   \
	"[conn a]\nlocal_addr = 192.0.2.2\nremote_addr = %any\nlocal_id = b.example\n"            \
	"remote_id = a.example\nauth = psk\npsk = \"k\"\n"                                        \
	"[child a.one]\nlocal_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/24\n"                        \
	"[child a.two]\nlocal_ts = 10.2.1.0/24\nremote_ts = 10.1.1.0/24\n"

/* CREATE_CHILD_SA for a conn's second child; its larval state ends on the way. */
static void new_child(enum when w)
{
	char err[128];
	world_new_text(CONF2_A, CONF2_B, 7);
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	/* CREATE_CHILD_SA { HDR, SK { SA, Ni, TSi, TSr } } --> */
	step(1, CREATE_CHILD_SA, false);
	assert_int_equal(larval_expires(0, w), 1);
	/* <-- { HDR, SK { SA, Nr, TSi, TSr } } */
	step(0, CREATE_CHILD_SA, true);
	if (w == EVENT_LATE)
		kernel_events();
	assert_int_equal(W->nq, 0);
	assert_pairs(2);
	world_free();
}

static void test_new_child_reserved_again(void **st)
{
	(void)st;
	new_child(EVENT_FIRST);
}

static void test_new_child_event_late(void **st)
{
	(void)st;
	new_child(EVENT_LATE);
}

static void test_new_child_reserve_fails(void **st)
{
	(void)st;
	new_child(RESERVE_FAILS);
}

/* A real hard lifetime still deletes the Child SA (and tells the peer). */
static void test_hard_expire_still_deletes(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	struct kaddr ka = kaddr4(ADDR[0]);
	assert_int_equal(kernel_fake_inject_expire(W->s[0].fake, sa_of(0)->children->spi_in, IPPROTO_ESP, &ka,
						   true),
			 0);
	kernel_events();
	assert_null(sa_of(0)->children);
	/* INFORMATIONAL { HDR, SK { D(ESP, SPI) } } --> and its answer */
	settle();
	assert_null(sa_of(1)->children);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 0);
	world_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_initiator_reserved_again),
		cmocka_unit_test(test_auth_initiator_event_late),
		cmocka_unit_test(test_auth_initiator_reserve_fails),
		cmocka_unit_test(test_auth_responder_answers_lost),
		cmocka_unit_test(test_rekey_reserved_again),
		cmocka_unit_test(test_rekey_event_late),
		cmocka_unit_test(test_new_child_reserved_again),
		cmocka_unit_test(test_new_child_event_late),
		cmocka_unit_test(test_new_child_reserve_fails),
		cmocka_unit_test(test_hard_expire_still_deletes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
