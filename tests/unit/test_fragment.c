/*
 * IKE fragmentation (RFC 7383) between two engines (tests/unit/engine_world.h):
 * negotiation, IKE_AUTH split into SKF fragments with a tiny fragment_size,
 * loss and retransmission of all fragments, duplicates and reordering, and
 * forged, inconsistent or oversized fragments dropped without harm.
 * Authentic but wrong fragments are sealed here with the initiator's own
 * keys (sa->c_out), as a broken or hostile peer holding the keys could.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sk.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/ikesa.h"
#include "daemon/message.h"
#include "daemon/timing.h"
#include "tests/unit/engine_world.h"

#define FRAG_SIZE 150

static void frag_world(const char *extra_a, const char *extra_b)
{
	struct params p = DEFAULTS;
	p.extra_a = extra_a;
	p.extra_b = extra_b;
	world_new(&p);
}

/* IKE_SA_INIT both ways: both announce IKEV2_FRAGMENTATION_SUPPORTED (or not). */
static void init_exchange(bool expect_frag)
{
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	/* IKE_SA_INIT { HDR, SAi1, KEi, Ni, ..., N(FRAGMENTATION_SUPPORTED) } --> */
	step(1, IKE_SA_INIT, false);
	/* <-- { HDR, SAr1, KEr, Nr, ..., N(FRAGMENTATION_SUPPORTED) } */
	step(0, IKE_SA_INIT, true);
	assert_int_equal(!!(sa_of(0)->ext & EXT_FRAGMENTATION), expect_frag);
	assert_int_equal(!!(sa_of(1)->ext & EXT_FRAGMENTATION), expect_frag);
}

/* Queued message i parsed: checks it is one SKF fragment and returns it. */
static struct ike_skf skf_of(size_t i)
{
	static struct ike_msg m;
	struct payload_err err;
	assert_int_equal(message_parse(&m, W->q[i].buf, W->q[i].len, &err), PAYLOAD_OK);
	const struct ike_payload *p = message_sk(&m);
	assert_non_null(p);
	assert_int_equal(p->type, PL_SKF);
	return p->u.skf;
}

/*
 * The n fragments queued for side `to` (all of the queue), checking that
 * they are 1..n of n and that each datagram fits FRAG_SIZE (IPv4 + UDP).
 */
static size_t check_fragments(int to, uint8_t exchange, bool response)
{
	size_t n = W->nq;
	assert_true(n >= 2);
	for (size_t i = 0; i < n; i++) {
		struct ike_hdr h = qhdr(i);
		assert_int_equal(W->q[i].to, to);
		assert_int_equal(h.exchange, exchange);
		assert_int_equal(ike_hdr_is_response(&h), response);
		assert_true(W->q[i].len + 28 <= FRAG_SIZE);
		struct ike_skf f = skf_of(i);
		assert_int_equal(f.frag_num, i + 1);
		assert_int_equal(f.total, n);
		/* RFC 7383 2.5: only fragment 1 names the first inner payload. */
		if (i == 0)
			assert_int_not_equal(f.first_inner, PL_NONE);
		else
			assert_int_equal(f.first_inner, PL_NONE);
	}
	return n;
}

static void deliver_all(void)
{
	while (W->nq)
		pop(0, true);
}

/* Delivers the queued datagrams up to the first one for the other side. */
static void deliver_to(int to)
{
	while (W->nq && W->q[0].to == to)
		pop(0, true);
}

static void test_fragmented_auth(void **st)
{
	(void)st;
	frag_world("fragment_size = 150\n", "fragment_size = 150\n");
	init_exchange(true);
	/* IKE_AUTH { HDR, SKF(1/n) }, ..., { HDR, SKF(n/n) } --> */
	size_t n = check_fragments(1, IKE_AUTH, false);
	for (size_t i = 0; i + 1 < n; i++) {
		pop(0, true);
		assert_int_equal(W->nq, n - i - 1); /* nothing answered before the last one */
	}
	pop(0, true);
	/* <-- { HDR, SKF(1/m) }, ..., { HDR, SKF(m/m) } */
	size_t m = check_fragments(0, IKE_AUTH, true);
	deliver_all();
	assert_tunnel();
	assert_int_equal(W->s[0].e->stats.frag_tx, n);
	assert_int_equal(W->s[1].e->stats.frag_rx, n);
	assert_int_equal(W->s[1].e->stats.frag_tx, m);
	assert_int_equal(W->s[0].e->stats.frag_rx, m);
	assert_int_equal(W->s[0].e->stats.frag_reassembled, 1);
	assert_int_equal(W->s[1].e->stats.frag_reassembled, 1);
	assert_int_equal(W->s[0].e->stats.frag_dropped + W->s[1].e->stats.frag_dropped, 0);
	/* Nothing pending: no reassembly state is kept on an idle IKE SA. */
	assert_null(sa_of(0)->tm.frag);
	assert_null(sa_of(1)->tm.frag);
	/* The Delete that follows is small: one datagram each way. */
	char err[128];
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	while (W->nq)
		pop(0, true);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	assert_nothing_left();
	world_free();
}

static void test_default_size_not_fragmented(void **st)
{
	(void)st;
	/* 576 octets for IPv4 (RFC 7383 2.5.1): a PSK IKE_AUTH fits in one datagram. */
	frag_world(NULL, NULL);
	init_exchange(true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	assert_int_equal(W->s[0].e->stats.frag_tx + W->s[1].e->stats.frag_tx, 0);
	world_free();
}

static void test_fragment_not_negotiated(void **st)
{
	(void)st;
	/* The responder does not announce it: big messages go whole. */
	frag_world("fragment_size = 150\n", "fragmentation = no\nfragment_size = 150\n");
	init_exchange(false);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	world_free();
	/* Nor when the initiator does not. */
	frag_world("fragmentation = no\nfragment_size = 150\n", "fragment_size = 150\n");
	init_exchange(false);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	world_free();
}

static void test_lost_fragment(void **st)
{
	(void)st;
	frag_world("fragment_size = 150\n", "fragment_size = 150\n");
	init_exchange(true);
	size_t n = check_fragments(1, IKE_AUTH, false);
	/* Fragment 2 is lost; the others arrive and wait. */
	pop(0, true);
	pop(0, false);
	while (W->nq)
		pop(0, true);
	assert_int_equal(W->nq, 0);
	/* The retransmission resends every fragment (RFC 7383 2.6). */
	advance(4000);
	assert_int_equal(check_fragments(1, IKE_AUTH, false), n);
	deliver_all();
	assert_tunnel();
	assert_int_equal(W->s[0].e->stats.retransmits, 1);
	assert_int_equal(W->s[1].e->stats.frag_reassembled, 1);
	world_free();
}

static void test_lost_response_fragment(void **st)
{
	(void)st;
	frag_world("fragment_size = 150\n", "fragment_size = 150\n");
	init_exchange(true);
	size_t n = check_fragments(1, IKE_AUTH, false);
	deliver_to(1);
	size_t m = check_fragments(0, IKE_AUTH, true);
	/* <-- the last response fragment is lost */
	for (size_t i = 0; i + 1 < m; i++)
		pop(0, true);
	pop(0, false);
	advance(4000);
	/*
	 * The retransmitted request: only its fragment 1 makes the cached
	 * response go again (RFC 7383 2.6.1), once, all fragments of it.
	 */
	assert_int_equal(check_fragments(1, IKE_AUTH, false), n);
	pop(0, true);
	assert_int_equal(W->nq, n - 1 + m);
	while (W->q[0].to == 1)
		pop(0, true);
	assert_int_equal(check_fragments(0, IKE_AUTH, true), m);
	deliver_all();
	assert_tunnel();
	world_free();
}

static void test_reordered_and_duplicated(void **st)
{
	(void)st;
	frag_world("fragment_size = 150\n", "fragment_size = 150\n");
	init_exchange(true);
	size_t n = check_fragments(1, IKE_AUTH, false);
	/* Deliver each fragment twice, last to first. */
	for (size_t k = n; k-- > 0;) {
		struct pkt p = W->q[k];
		if (k > 0) {
			engine_receive(W->s[1].e, &p.dst, &p.from, p.buf, p.len);
			engine_receive(W->s[1].e, &p.dst, &p.from, p.buf, p.len);
		}
	}
	/* Fragment 1 last: completes the message. */
	pop(0, true);
	while (W->nq && W->q[0].to == 1)
		pop(0, false); /* the copies already delivered */
	size_t m = check_fragments(0, IKE_AUTH, true);
	/* Response fragments: reversed, the first one twice. */
	for (size_t k = m; k-- > 0;) {
		struct pkt p = W->q[k];
		engine_receive(W->s[0].e, &p.dst, &p.from, p.buf, p.len);
		if (k == 0)
			engine_receive(W->s[0].e, &p.dst, &p.from, p.buf, p.len);
	}
	while (W->nq)
		pop(0, false);
	assert_tunnel();
	assert_int_equal(W->s[1].e->stats.frag_reassembled, 1);
	assert_int_equal(W->s[0].e->stats.frag_reassembled, 1);
	world_free();
}

/*
 * An authentic fragment from a (request of the initiator, message ID 1):
 * sealed with its keys, numbers as given (frag_num may exceed total: the
 * numbers are patched after building).
 */
static size_t craft(uint8_t *buf, size_t cap, uint16_t num, uint16_t total, uint8_t first,
		    const uint8_t *inner, size_t inner_len)
{
	struct ikesa *sa = sa_of(0);
	struct ike_hdr h = {.spi_i = sa->spi_i, .spi_r = sa->spi_r, .exchange = IKE_AUTH,
			    .flags = IKE_FLAG_INITIATOR, .msg_id = 1};
	struct ike_builder b;
	message_build_init(&b, buf, cap, &h);
	bool patch = num > total;
	uint8_t *body = message_build_skf(&b, patch ? PL_NONE : first, patch ? 1 : num,
					  patch ? 1 : total, sk_sealed_len(sa->c_out, inner_len));
	assert_non_null(body);
	size_t len = 0;
	assert_int_equal(message_build_finish(&b, &len), 0);
	if (patch) {
		buf[IKE_HDR_LEN + 4] = (uint8_t)(num >> 8);
		buf[IKE_HDR_LEN + 5] = (uint8_t)num;
		buf[IKE_HDR_LEN + 6] = (uint8_t)(total >> 8);
		buf[IKE_HDR_LEN + 7] = (uint8_t)total;
	}
	assert_int_equal(sk_seal(sa->c_out, buf, (size_t)(body - buf), inner, inner_len,
				 rng_system()),
			 0);
	return len;
}

static void to_b(const uint8_t *buf, size_t len)
{
	struct sockaddr_storage from, dst;
	mkaddr(&from, "192.0.2.1", 500);
	mkaddr(&dst, "192.0.2.2", 500);
	engine_receive(W->s[1].e, &dst, &from, buf, len);
}

static void test_bad_fragments(void **st)
{
	(void)st;
	frag_world("fragment_size = 150\n", "fragment_size = 150\n");
	init_exchange(true);
	size_t n = check_fragments(1, IKE_AUTH, false);
	struct engine *b = W->s[1].e;
	uint8_t buf[2048], junk[1041];
	memset(junk, 0x5a, sizeof(junk));
	uint64_t dropped = b->stats.frag_dropped, malformed = b->stats.rx_malformed;

	/* A forged fragment (ciphertext changed): fails its ICV, never stored. */
	struct pkt p = W->q[1];
	memcpy(buf, p.buf, p.len);
	buf[p.len - 1] ^= 1;
	to_b(buf, p.len);
	assert_int_equal(b->stats.frag_dropped, ++dropped);
	/* Total Fragments changed on the wire (it is in the AAD): ICV fails too. */
	memcpy(buf, p.buf, p.len);
	buf[IKE_HDR_LEN + 7] ^= 0x10;
	to_b(buf, p.len);
	assert_int_equal(b->stats.frag_dropped, ++dropped);
	/* Fragment Number above Total Fragments: the parser refuses it. */
	size_t l = craft(buf, sizeof(buf), 5, 3, PL_NONE, junk, 40);
	to_b(buf, l);
	assert_int_equal(b->stats.rx_malformed, ++malformed);
	/* Authentic, but more fragments than we keep. */
	l = craft(buf, sizeof(buf), 2, IKE_FRAG_MAX + 1, PL_NONE, junk, 40);
	to_b(buf, l);
	assert_int_equal(b->stats.frag_dropped, ++dropped);
	/* Authentic, oversized: abandoned with the last, past IKE_FRAG_REASM_MAX octets. */
	for (uint16_t i = 2; i <= IKE_FRAG_MAX; i++) {
		l = craft(buf, sizeof(buf), i, IKE_FRAG_MAX, PL_NONE, junk, sizeof(junk));
		to_b(buf, l);
	}
	assert_true(b->stats.frag_dropped > dropped);
	assert_int_equal(W->nq, n); /* nothing answered */
	dropped = b->stats.frag_dropped;

	/* The real fragment 1, then an authentic 2 of a smaller total: dropped. */
	pop(0, true);
	l = craft(buf, sizeof(buf), 2, (uint16_t)(n - 1), PL_NONE, junk, 40);
	to_b(buf, l);
	assert_int_equal(b->stats.frag_dropped, ++dropped);
	/* The real ones complete the message: no harm done. */
	deliver_to(1);
	check_fragments(0, IKE_AUTH, true);
	deliver_all();
	assert_tunnel();
	/* After IKE_AUTH: a fragment for an answered request other than 1 is ignored. */
	l = craft(buf, sizeof(buf), 2, 3, PL_NONE, junk, 40);
	to_b(buf, l);
	assert_int_equal(W->nq, 0);
	assert_null(sa_of(1)->tm.frag);
	world_free();
}

static void test_unknown_sa_and_not_negotiated(void **st)
{
	(void)st;
	frag_world("fragment_size = 150\n", "fragmentation = no\n");
	init_exchange(false);
	struct engine *b = W->s[1].e;
	uint8_t buf[512], junk[64] = {0};
	/* Authentic SKF although fragmentation was not negotiated: dropped. */
	uint64_t dropped = b->stats.frag_dropped;
	size_t l = craft(buf, sizeof(buf), 1, 2, PL_NOTIFY, junk, sizeof(junk));
	to_b(buf, l);
	assert_int_equal(b->stats.frag_dropped, dropped + 1);
	/* A fragment naming an IKE SA b does not have: dropped, no SA made. */
	buf[8] ^= 0xff; /* responder SPI */
	to_b(buf, l);
	assert_int_equal(engine_ike_sa_count(b), 1);
	/* The real exchange still works (unfragmented). */
	drop(IKE_AUTH, false);
	advance(4000);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	world_free();
}

static void test_timeout(void **st)
{
	(void)st;
	frag_world("fragment_size = 150\n", "fragment_size = 150\n");
	init_exchange(true);
	deliver_to(1);
	deliver_to(0);
	assert_tunnel();
	/* CREATE_CHILD_SA { HDR, SKF(1/n) }, ... --> : an IKE SA rekey is fragmented too. */
	char err[128];
	assert_int_equal(engine_rekey(W->s[0].e, "b", true, err, sizeof(err)), 0);
	size_t n = check_fragments(1, CREATE_CHILD_SA, false);
	/* Only fragment 1 arrives; everything else, retransmissions too, is lost. */
	pop(0, true);
	while (W->nq)
		pop(0, false);
	uint64_t dropped = W->s[1].e->stats.frag_dropped;
	advance(IKE_FRAG_TIMEOUT_MS - 1);
	assert_int_equal(W->s[1].e->stats.frag_dropped, dropped);
	while (W->nq)
		pop(0, false);
	advance(1);
	while (W->nq)
		pop(0, false);
	/* The partial message is dropped after IKE_FRAG_TIMEOUT_MS. */
	assert_int_equal(W->s[1].e->stats.frag_dropped, dropped + 1);
	/* The next retransmission starts afresh and completes (other exchanges, DPD, go on). */
	for (int i = 0; i < 60; i++) {
		while (W->nq && (qhdr(0).exchange != CREATE_CHILD_SA || W->q[0].to != 1))
			pop(0, true);
		if (W->nq)
			break;
		advance(1000);
	}
	assert_int_equal(check_fragments(1, CREATE_CHILD_SA, false), n);
	deliver_to(1);
	assert_int_equal(W->s[1].e->stats.frag_reassembled, 2);
	deliver_all();
	world_free();
}

/* The keys: fragmentation = yes|no, fragment_size 0 or IKE_FRAG_SIZE_MIN..65535. */
static void test_fragment_config_keys(void **st)
{
	(void)st;
	static const char base[] = "[daemon]\n%s\n[conn x]\nremote_addr = 192.0.2.2\n"
				   "auth = psk\npsk = \"k\"\nlocal_ts = 10.1.0.0/24\n"
				   "remote_ts = 10.2.0.0/24\n%s\n";
	static const struct {
		const char *daemon, *conn;
		bool ok;
		unsigned dsize, csize;
		bool frag;
	} cases[] = {
		{"", "", true, 0, 0, true},
		{"fragment_size = 1000", "", true, 1000, 0, true},
		{"fragment_size = 1000", "fragment_size = 300\nfragmentation = no", true, 1000, 300,
		 false},
		{"", "fragmentation = yes\nfragment_size = 0", true, 0, 0, true},
		{"", "fragment_size = 65535", true, 0, 65535, true},
		{"fragment_size = 127", "", false, 0, 0, false},
		{"", "fragment_size = 65536", false, 0, 0, false},
		{"", "fragment_size = -1", false, 0, 0, false},
		{"", "fragmentation = maybe", false, 0, 0, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], err[256] = "";
		snprintf(text, sizeof(text), base, cases[i].daemon, cases[i].conn);
		struct xiked_config *c = NULL;
		int rc = config_parse(text, strlen(text), "t.conf", &c, err, sizeof(err));
		if (!cases[i].ok) {
			assert_int_equal(rc, -1);
			assert_null(c);
			assert_non_null(strstr(err, "fragment"));
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(c->d.fragment_size, cases[i].dsize);
		assert_int_equal(c->conns[0].fragment_size, cases[i].csize);
		assert_int_equal(c->conns[0].fragmentation, cases[i].frag);
		config_free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fragmented_auth),
		cmocka_unit_test(test_default_size_not_fragmented),
		cmocka_unit_test(test_fragment_not_negotiated),
		cmocka_unit_test(test_lost_fragment),
		cmocka_unit_test(test_lost_response_fragment),
		cmocka_unit_test(test_reordered_and_duplicated),
		cmocka_unit_test(test_bad_fragments),
		cmocka_unit_test(test_unknown_sa_and_not_negotiated),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_fragment_config_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
