/*
 * Codec tests: cursors, parse(build(x)) == x for every payload type,
 * malformed input, building (chaining, SK/SKF, errors), IANA names, and
 * every IKE message of the strongSwan fixtures (tests/fuzz/corpus, made by
 * tests/fuzz/extract_corpus.py and decrypt_corpus.py).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/acceptance.h"
#include "daemon/cursor.h"
#include "daemon/message.h"
#include "daemon/names.h"
#include "daemon/payload.h"

static struct ike_msg M; /* 12 KiB: keep it off the test stack */

static bool bytes_eq(struct ike_bytes a, struct ike_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

#define BYTES(s) ((struct ike_bytes){ (const uint8_t *)(s), sizeof(s) - 1 })

/* Parse an inner chain holding exactly one payload of `type`. */
static const struct ike_payload *parse_one(const uint8_t *buf, size_t len, uint8_t first,
					   uint8_t type)
{
	struct payload_err err;
	message_reset(&M);
	enum payload_status st = message_parse_inner(&M, first, buf, len, &err);
	if (st != PAYLOAD_OK)
		fail_msg("parse failed: %s: %s", payload_status_name(st), err.why);
	assert_int_equal(M.n_payloads, 1);
	assert_int_equal(M.payloads[0].type, type);
	assert_true(M.payloads[0].known);
	assert_true(M.payloads[0].in_sk);
	assert_int_equal(M.payloads[0].off, 0);
	assert_int_equal(M.payloads[0].body.len + IKE_GENERIC_HDR_LEN, len);
	return &M.payloads[0];
}

/* Expect an inner chain to fail with status st and a reason containing `why`. */
static void parse_bad(const uint8_t *buf, size_t len, uint8_t first, enum payload_status st,
		      const char *why)
{
	struct payload_err err;
	message_reset(&M);
	enum payload_status got = message_parse_inner(&M, first, buf, len, &err);
	if (got != st || !strstr(err.why, why))
		fail_msg("expected %s containing \"%s\", got %s: \"%s\"", payload_status_name(st),
			 why, payload_status_name(got), got == PAYLOAD_OK ? "" : err.why);
}

static size_t finish(struct ike_builder *b)
{
	size_t len = 0;
	assert_int_equal(message_build_finish(b, &len), 0);
	return len;
}

/* ---- cursors ---- */

static void test_rd(void **state)
{
	(void)state;
	const uint8_t d[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	struct rd r = rd_init(d, sizeof(d)), sub;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;

	assert_true(rd_u8(&r, &u8));
	assert_int_equal(u8, 1);
	assert_true(rd_u16(&r, &u16));
	assert_int_equal(u16, 0x0203);
	assert_true(rd_u32(&r, &u32));
	assert_int_equal(u32, 0x04050607);
	assert_int_equal(rd_left(&r), 4);
	/* too long: fails and leaves cursor and output untouched */
	u64 = 42;
	assert_false(rd_u64(&r, &u64));
	assert_int_equal(u64, 42);
	assert_int_equal(rd_left(&r), 4);
	assert_false(rd_sub(&r, 5, &sub));
	assert_true(rd_sub(&r, 2, &sub));
	assert_int_equal(rd_left(&sub), 2);
	assert_false(rd_skip(&sub, 3));
	assert_true(rd_bytes(&sub, 2, &p));
	assert_int_equal(p[0], 8);
	assert_int_equal(rd_left(&sub), 0);
	assert_false(rd_u8(&sub, &u8));
	uint8_t two[2];
	assert_true(rd_copy(&r, two, 2));
	assert_int_equal(two[1], 11);
	assert_int_equal(rd_left(&r), 0);
	assert_true(rd_bytes(&r, 0, &p)); /* zero-length borrow is fine */

	struct rd e = rd_init(d, 8);
	assert_true(rd_u64(&e, &u64));
	assert_true(u64 == 0x0102030405060708ULL);
	struct rd n = rd_init(NULL, 5);
	assert_int_equal(rd_left(&n), 0);
}

static void test_wr(void **state)
{
	(void)state;
	uint8_t buf[8];
	struct wr w = wr_init(buf, sizeof(buf));
	wr_u8(&w, 0xaa);
	size_t mark = wr_mark(&w);
	wr_u16(&w, 0);
	wr_u32(&w, 0x01020304);
	wr_patch_u16(&w, mark, 0xbeef);
	assert_false(w.err);
	assert_int_equal(w.len, 7);
	assert_memory_equal(buf, ((uint8_t[]){ 0xaa, 0xbe, 0xef, 1, 2, 3, 4 }), 7);
	wr_u16(&w, 1); /* one octet left: overflow */
	assert_true(w.err);
	assert_int_equal(w.len, 7);
	wr_u8(&w, 1); /* sticky even though it would fit */
	assert_int_equal(w.len, 7);

	struct wr w2 = wr_init(buf, sizeof(buf));
	wr_zeros(&w2, 2);
	wr_patch_u16(&w2, 1, 5); /* patch beyond written data */
	assert_true(w2.err);
	struct wr w3 = wr_init(buf, sizeof(buf));
	wr_u64(&w3, 0x1122334455667788ULL);
	assert_false(w3.err);
	assert_int_equal(buf[0], 0x11);
	assert_int_equal(buf[7], 0x88);
	wr_bytes(&w3, NULL, 0);
	assert_false(w3.err);
}

/* ---- round trips, one payload type each ---- */

static void test_rt_sa(void **state)
{
	(void)state;
	const struct ike_transform ike_t[] = {
		{ TRANS_ENCR, ENCR_AES_GCM_16, 256, 0 },
		{ TRANS_ENCR, ENCR_AES_CBC, 128, 0 },
		{ TRANS_PRF, PRF_HMAC_SHA2_256, 0, 0 },
		{ TRANS_DH, DH_CURVE25519, 0, 0 },
		{ TRANS_DH, DH_ECP_256, 0, 0 },
	};
	const struct ike_transform esp_t[] = {
		{ TRANS_ENCR, ENCR_CHACHA20_POLY1305, 0, 0 },
		{ TRANS_ESN, ESN_NO, 0, 0 },
	};
	const uint8_t ike_spi[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const uint8_t esp_spi[4] = { 0xc0, 0xff, 0xee, 0x01 };
	const struct ike_proposal props[] = {
		{ 1, PROTO_IKE, { ike_spi, 8 }, 5, ike_t },
		{ 2, PROTO_ESP, { esp_spi, 4 }, 2, esp_t },
		{ 3, PROTO_IKE, { NULL, 0 }, 1, ike_t },
	};
	const struct ike_sa sa = { 3, props };
	uint8_t buf[512];
	struct ike_builder b;

	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_sa(&b, &sa);
	size_t len = finish(&b);
	assert_int_equal(b.first, PL_SA);
	const struct ike_sa *got = &parse_one(buf, len, b.first, PL_SA)->u.sa;
	assert_int_equal(got->n_proposals, 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct ike_proposal *a = &props[i], *g = &got->proposals[i];
		assert_int_equal(g->num, a->num);
		assert_int_equal(g->protocol, a->protocol);
		assert_true(bytes_eq(g->spi, a->spi));
		assert_int_equal(g->n_transforms, a->n_transforms);
		for (unsigned j = 0; j < a->n_transforms; j++) {
			assert_int_equal(g->transforms[j].type, a->transforms[j].type);
			assert_int_equal(g->transforms[j].id, a->transforms[j].id);
			assert_int_equal(g->transforms[j].key_len, a->transforms[j].key_len);
			assert_int_equal(g->transforms[j].unknown_attrs, 0);
		}
	}
	assert_int_equal(M.pool.n_proposals, 3);
	assert_int_equal(M.pool.n_transforms, 8);
	/* wire details: Last Substruc 2 then 0; Key Length as TV attribute 14 */
	assert_int_equal(buf[4], IKE_LAST_SUBSTRUC_PROPOSAL);
	const uint8_t tv[] = { 0x80, 0x0e, 0x01, 0x00 };
	assert_non_null(memmem(buf, len, tv, 4));
}

static void test_rt_ke(void **state)
{
	(void)state;
	const uint8_t pub[32] = { 9, 8, 7 };
	const struct ike_ke ke = { DH_CURVE25519, { pub, sizeof(pub) } };
	uint8_t buf[128];
	struct ike_builder b;
	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_ke(&b, &ke);
	size_t len = finish(&b);
	assert_int_equal(len, 4 + 4 + 32);
	const struct ike_ke *g = &parse_one(buf, len, b.first, PL_KE)->u.ke;
	assert_int_equal(g->group, DH_CURVE25519);
	assert_true(bytes_eq(g->data, ke.data));
	assert_ptr_equal(g->data.ptr, buf + 8); /* borrowed, not copied */
}

static void test_rt_id(void **state)
{
	(void)state;
	const uint8_t v4[4] = { 192, 0, 2, 1 };
	const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	const struct {
		uint8_t pl;
		struct ike_id id;
	} cases[] = {
		{ PL_IDI, { ID_FQDN, BYTES("a.example") } },
		{ PL_IDR, { ID_IPV4_ADDR, { v4, 4 } } },
		{ PL_IDI, { ID_IPV6_ADDR, { v6, 16 } } },
		{ PL_IDR, { ID_RFC822_ADDR, BYTES("user@a.example") } },
		{ PL_IDI, { ID_DER_ASN1_DN, BYTES("\x30\x0b\x31\x09") } },
		{ PL_IDI, { ID_DER_ASN1_GN, BYTES("\x82\x01x") } },
		{ PL_IDR, { ID_KEY_ID, BYTES("\x01\x02\x03") } },
		{ PL_IDR, { ID_FC_NAME, BYTES("fc") } },
		{ PL_IDI, { ID_NULL, { NULL, 0 } } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[128];
		struct ike_builder b;
		message_build_inner_init(&b, buf, sizeof(buf));
		payload_build_id(&b, cases[i].pl, &cases[i].id);
		size_t len = finish(&b);
		const struct ike_payload *p = parse_one(buf, len, b.first, cases[i].pl);
		assert_int_equal(p->u.id.type, cases[i].id.type);
		assert_true(bytes_eq(p->u.id.data, cases[i].id.data));
		/* the body (AUTH's RestOfIDPayload, RFC 7296 2.15) is type + 3 zero + data */
		assert_int_equal(p->body.len, 4 + cases[i].id.data.len);
	}
}

static void test_rt_cert_certreq(void **state)
{
	(void)state;
	const struct ike_cert c = { CERT_X509_SIGNATURE, BYTES("\x30\x82\x01\x00 fake DER") };
	const struct ike_cert r = { CERT_X509_SIGNATURE, BYTES("0123456789abcdefghij") };
	uint8_t buf[128];
	struct ike_builder b;
	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_cert(&b, PL_CERT, &c);
	size_t len = finish(&b);
	const struct ike_cert *g = &parse_one(buf, len, b.first, PL_CERT)->u.cert;
	assert_int_equal(g->encoding, c.encoding);
	assert_true(bytes_eq(g->data, c.data));

	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_cert(&b, PL_CERTREQ, &r);
	len = finish(&b);
	g = &parse_one(buf, len, b.first, PL_CERTREQ)->u.cert;
	assert_int_equal(g->encoding, r.encoding);
	assert_true(bytes_eq(g->data, r.data));
}

static void test_rt_auth(void **state)
{
	(void)state;
	const struct ike_auth psk = { AUTH_SHARED_KEY_MIC, BYTES("0123456789abcdef0123456789abcdef") };
	uint8_t buf[256];
	struct ike_builder b;
	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_auth(&b, &psk);
	size_t len = finish(&b);
	const struct ike_auth *g = &parse_one(buf, len, b.first, PL_AUTH)->u.auth;
	assert_int_equal(g->method, AUTH_SHARED_KEY_MIC);
	assert_true(bytes_eq(g->data, psk.data));
	assert_int_equal(g->sig_alg.len, 0);

	/* RFC 7427 3: length octet, AlgorithmIdentifier, signature */
	const uint8_t algid[] = { 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
				  0xf7, 0x0d, 0x01, 0x01, 0x0b };
	uint8_t data[1 + sizeof(algid) + 64];
	data[0] = sizeof(algid);
	memcpy(data + 1, algid, sizeof(algid));
	memset(data + 1 + sizeof(algid), 0x5a, 64);
	const struct ike_auth ds = { AUTH_DIGITAL_SIGNATURE, { data, sizeof(data) } };
	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_auth(&b, &ds);
	len = finish(&b);
	g = &parse_one(buf, len, b.first, PL_AUTH)->u.auth;
	assert_int_equal(g->method, AUTH_DIGITAL_SIGNATURE);
	assert_true(bytes_eq(g->data, ds.data));
	assert_int_equal(g->sig_alg.len, sizeof(algid));
	assert_memory_equal(g->sig_alg.ptr, algid, sizeof(algid));
	assert_int_equal(g->sig.len, 64);
	assert_int_equal(g->sig.ptr[0], 0x5a);
}

static void test_rt_nonce(void **state)
{
	(void)state;
	uint8_t n[IKE_NONCE_MAX];
	for (size_t i = 0; i < sizeof(n); i++)
		n[i] = (uint8_t)i;
	const size_t lens[] = { IKE_NONCE_MIN, 32, IKE_NONCE_MAX };
	for (size_t i = 0; i < 3; i++) {
		uint8_t buf[300];
		struct ike_builder b;
		struct ike_nonce x = { { n, lens[i] } };
		message_build_inner_init(&b, buf, sizeof(buf));
		payload_build_nonce(&b, &x);
		size_t len = finish(&b);
		assert_true(bytes_eq(parse_one(buf, len, b.first, PL_NONCE)->u.nonce.data, x.data));
	}
}

static void test_rt_notify(void **state)
{
	(void)state;
	const uint8_t spi[4] = { 0xde, 0xad, 0xbe, 0xef };
	const uint8_t hash[20] = { 1, 2, 3 };
	const struct ike_notify cases[] = {
		{ PROTO_NONE, N_NAT_DETECTION_SOURCE_IP, { NULL, 0 }, { hash, 20 } },
		{ PROTO_ESP, N_REKEY_SA, { spi, 4 }, { NULL, 0 } },
		{ PROTO_ESP, N_CHILD_SA_NOT_FOUND, { spi, 4 }, BYTES("x") },
		{ PROTO_NONE, N_INVALID_KE_PAYLOAD, { NULL, 0 }, BYTES("\x00\x13") },
		{ PROTO_NONE, 40000, { NULL, 0 }, BYTES("private use") },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[128];
		struct ike_builder b;
		message_build_inner_init(&b, buf, sizeof(buf));
		payload_build_notify(&b, &cases[i]);
		size_t len = finish(&b);
		const struct ike_notify *g = &parse_one(buf, len, b.first, PL_NOTIFY)->u.notify;
		assert_int_equal(g->protocol, cases[i].protocol);
		assert_int_equal(g->type, cases[i].type);
		assert_true(bytes_eq(g->spi, cases[i].spi));
		assert_true(bytes_eq(g->data, cases[i].data));
	}
	/* the shorthand writes the same octets */
	uint8_t a[64], c[64];
	struct ike_builder b1, b2;
	message_build_inner_init(&b1, a, sizeof(a));
	payload_build_notify(&b1, &cases[1]);
	message_build_inner_init(&b2, c, sizeof(c));
	payload_build_notify_simple(&b2, PROTO_ESP, N_REKEY_SA, spi, 4, NULL, 0);
	size_t l1 = finish(&b1), l2 = finish(&b2);
	assert_int_equal(l1, l2);
	assert_memory_equal(a, c, l1);
}

static void test_rt_delete(void **state)
{
	(void)state;
	const uint8_t spis[12] = { 0xc1, 0, 0, 1, 0xc2, 0, 0, 2, 0xc3, 0, 0, 3 };
	const struct ike_delete cases[] = {
		{ PROTO_ESP, 4, 3, { spis, 12 } },
		{ PROTO_AH, 4, 1, { spis, 4 } },
		{ PROTO_IKE, 0, 0, { NULL, 0 } },
	};
	for (size_t i = 0; i < 3; i++) {
		uint8_t buf[64];
		struct ike_builder b;
		message_build_inner_init(&b, buf, sizeof(buf));
		payload_build_delete(&b, &cases[i]);
		size_t len = finish(&b);
		const struct ike_delete *g = &parse_one(buf, len, b.first, PL_DELETE)->u.del;
		assert_int_equal(g->protocol, cases[i].protocol);
		assert_int_equal(g->spi_len, cases[i].spi_len);
		assert_int_equal(g->n_spis, cases[i].n_spis);
		assert_true(bytes_eq(g->spis, cases[i].spis));
	}
	const struct ike_delete d = cases[0];
	assert_int_equal(payload_delete_spi32(&d, 0), 0xc1000001);
	assert_int_equal(payload_delete_spi32(&d, 2), 0xc3000003);
	assert_int_equal(payload_delete_spi32(&d, 3), 0);
}

static void test_rt_vendor(void **state)
{
	(void)state;
	const struct ike_vendor v = { BYTES("\x88\x2f\xe5\x6d\x6f\xd2\x0d\xbc") };
	uint8_t buf[64];
	struct ike_builder b;
	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_vendor(&b, &v);
	size_t len = finish(&b);
	assert_true(bytes_eq(parse_one(buf, len, b.first, PL_VENDOR)->u.vendor.data, v.data));
}

static void test_rt_ts(void **state)
{
	(void)state;
	struct ike_ts ts[3] = {
		{ TS_IPV4_ADDR_RANGE, 0, 0, 65535, { 10, 1, 0, 1 }, { 10, 1, 0, 1 } },
		{ TS_IPV4_ADDR_RANGE, 6, 443, 443, { 192, 0, 2, 0 }, { 192, 0, 2, 255 } },
		{ TS_IPV6_ADDR_RANGE, 17, IKE_TS_PORT_OPAQUE_START, IKE_TS_PORT_OPAQUE_END,
		  { 0x20, 0x01, 0x0d, 0xb8 },
		  { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0xff } },
	};
	const struct ike_ts_list l = { 3, ts };
	uint8_t buf[256];
	struct ike_builder b;
	const uint8_t types[] = { PL_TSI, PL_TSR };
	for (int k = 0; k < 2; k++) {
		message_build_inner_init(&b, buf, sizeof(buf));
		payload_build_ts(&b, types[k], &l);
		size_t len = finish(&b);
		assert_int_equal(len, 4 + 4 + 16 + 16 + 40);
		const struct ike_ts_list *g = &parse_one(buf, len, b.first, types[k])->u.ts;
		assert_int_equal(g->n, 3);
		/* host struct is fully defined (unused address octets zero): memcmp is exact */
		assert_memory_equal(g->ts, ts, sizeof(ts));
	}
}

static void test_rt_cp(void **state)
{
	(void)state;
	const uint8_t ip4[4] = { 10, 3, 0, 1 }, sub4[8] = { 10, 0, 0, 0, 255, 0, 0, 0 };
	uint8_t ip6[17] = { 0xfd, [16] = 64 }, dns6[16] = { 0xfd, [15] = 53 };
	const uint8_t supp[4] = { 0, 1, 0, 3 };
	const struct ike_cp_attr attrs[] = {
		{ CFG_INTERNAL_IP4_ADDRESS, { ip4, 4 } },
		{ CFG_INTERNAL_IP4_NETMASK, { NULL, 0 } },
		{ CFG_INTERNAL_IP4_DNS, { ip4, 4 } },
		{ CFG_INTERNAL_IP4_NBNS, { NULL, 0 } },
		{ CFG_INTERNAL_IP4_DHCP, { ip4, 4 } },
		{ CFG_APPLICATION_VERSION, BYTES("xiked 0.1") },
		{ CFG_INTERNAL_IP6_ADDRESS, { ip6, 17 } },
		{ CFG_INTERNAL_IP6_DNS, { dns6, 16 } },
		{ CFG_INTERNAL_IP6_DHCP, { NULL, 0 } },
		{ CFG_INTERNAL_IP4_SUBNET, { sub4, 8 } },
		{ CFG_SUPPORTED_ATTRIBUTES, { supp, 4 } },
		{ CFG_INTERNAL_IP6_SUBNET, { ip6, 17 } },
		{ CFG_P_CSCF_IP4_ADDRESS, { ip4, 4 } },
		{ CFG_P_CSCF_IP6_ADDRESS, { dns6, 16 } },
		{ CFG_INTERNAL_DNS_DOMAIN, BYTES("corp.example") },
		{ 28675, BYTES("vendor private") },
	};
	const size_t n = sizeof(attrs) / sizeof(attrs[0]);
	const struct ike_cp cp = { CFG_REPLY, (uint16_t)n, attrs };
	uint8_t buf[512];
	struct ike_builder b;
	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_cp(&b, &cp);
	size_t len = finish(&b);
	const struct ike_cp *g = &parse_one(buf, len, b.first, PL_CP)->u.cp;
	assert_int_equal(g->type, CFG_REPLY);
	assert_int_equal(g->n_attrs, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(g->attrs[i].type, attrs[i].type);
		assert_true(bytes_eq(g->attrs[i].value, attrs[i].value));
	}
}

static void test_rt_eap(void **state)
{
	(void)state;
	const struct ike_eap cases[] = {
		{ EAP_CODE_REQUEST, 7, 1, BYTES("") },           /* Identity request */
		{ EAP_CODE_RESPONSE, 7, 1, BYTES("alice") },     /* Identity response */
		{ EAP_CODE_REQUEST, 8, 26, BYTES("\x01\x08\x00\x10 challenge") },
		{ EAP_CODE_SUCCESS, 9, 0, { NULL, 0 } },
		{ EAP_CODE_FAILURE, 9, 0, { NULL, 0 } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[64];
		struct ike_builder b;
		message_build_inner_init(&b, buf, sizeof(buf));
		payload_build_eap(&b, &cases[i]);
		size_t len = finish(&b);
		const struct ike_eap *g = &parse_one(buf, len, b.first, PL_EAP)->u.eap;
		assert_int_equal(g->code, cases[i].code);
		assert_int_equal(g->id, cases[i].id);
		assert_int_equal(g->type, cases[i].type);
		assert_true(bytes_eq(g->data, cases[i].data));
	}
}

static const struct ike_hdr test_hdr = {
	.spi_i = 0x0102030405060708ULL,
	.spi_r = 0x1112131415161718ULL,
	.exchange = IKE_AUTH,
	.flags = IKE_FLAG_INITIATOR,
	.msg_id = 1,
};

static void test_rt_sk(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct ike_builder b;
	struct payload_err err;

	message_build_init(&b, buf, sizeof(buf), &test_hdr);
	uint8_t *body = message_build_sk(&b, PL_IDI, 80);
	assert_non_null(body);
	assert_ptr_equal(body, buf + IKE_HDR_LEN + 4);
	memset(body, 0xee, 80); /* the engine's sealed octets */
	size_t len = finish(&b);
	assert_int_equal(len, IKE_HDR_LEN + 4 + 80);
	/* no payload may follow SK */
	payload_build_vendor(&b, &(struct ike_vendor){ BYTES("x") });
	assert_int_equal(message_build_finish(&b, NULL), -EINVAL);

	assert_int_equal(message_parse(&M, buf, len, &err), PAYLOAD_OK);
	assert_int_equal(M.hdr.spi_i, test_hdr.spi_i);
	assert_int_equal(M.hdr.spi_r, test_hdr.spi_r);
	assert_int_equal(M.hdr.exchange, IKE_AUTH);
	assert_int_equal(M.hdr.flags, IKE_FLAG_INITIATOR);
	assert_int_equal(M.hdr.msg_id, 1);
	assert_int_equal(M.hdr.length, len);
	assert_int_equal(M.hdr.major, 2);
	assert_int_equal(M.hdr.minor, 0);
	assert_int_equal(M.hdr.next_payload, PL_SK);
	assert_int_equal(M.n_payloads, 1);
	const struct ike_payload *sk = message_sk(&M);
	assert_non_null(sk);
	assert_int_equal(M.sk_index, 0);
	assert_int_equal(sk->u.sk.first_inner, PL_IDI);
	assert_int_equal(sk->u.sk.hdr_off, IKE_HDR_LEN);
	assert_int_equal(sk->u.sk.body_off, IKE_HDR_LEN + 4);
	assert_int_equal(sk->u.sk.body_len, 80);
}

static void test_rt_skf(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct ike_builder b;
	struct payload_err err;
	struct ike_hdr h = test_hdr;

	message_build_init(&b, buf, sizeof(buf), &h);
	uint8_t *body = message_build_skf(&b, PL_NONE, 2, 3, 40);
	assert_ptr_equal(body, buf + IKE_HDR_LEN + 8);
	size_t len = finish(&b);
	assert_int_equal(message_parse(&M, buf, len, &err), PAYLOAD_OK);
	const struct ike_skf *f = &message_sk(&M)->u.skf;
	assert_int_equal(message_sk(&M)->type, PL_SKF);
	assert_int_equal(f->frag_num, 2);
	assert_int_equal(f->total, 3);
	assert_int_equal(f->first_inner, PL_NONE);
	assert_int_equal(f->hdr_off, IKE_HDR_LEN);
	assert_int_equal(f->body_off, IKE_HDR_LEN + 8);
	assert_int_equal(f->body_len, 40);

	message_build_init(&b, buf, sizeof(buf), &h);
	assert_non_null(message_build_skf(&b, PL_SA, 1, 1, 16));
	len = finish(&b);
	assert_int_equal(message_parse(&M, buf, len, &err), PAYLOAD_OK);
	assert_int_equal(message_sk(&M)->u.skf.first_inner, PL_SA);

	/* RFC 7383 2.5: numbering rules are enforced when building */
	message_build_init(&b, buf, sizeof(buf), &h);
	assert_null(message_build_skf(&b, PL_NONE, 0, 3, 16));
	message_build_init(&b, buf, sizeof(buf), &h);
	assert_null(message_build_skf(&b, PL_NONE, 4, 3, 16));
	message_build_init(&b, buf, sizeof(buf), &h);
	assert_null(message_build_skf(&b, PL_SA, 2, 3, 16));
	assert_int_equal(message_build_finish(&b, NULL), -EINVAL);
}

/* A whole message: chaining, lengths, lookups, and the engine's SK flow. */
static void test_build_chain(void **state)
{
	(void)state;
	uint8_t inner[512], out[1024];
	struct ike_builder b;
	struct payload_err err;
	const struct ike_transform t[] = { { TRANS_ENCR, ENCR_AES_GCM_16, 256, 0 },
					   { TRANS_ESN, ESN_NO, 0, 0 } };
	const uint8_t spi[4] = { 1, 2, 3, 4 };
	const struct ike_proposal p = { 1, PROTO_ESP, { spi, 4 }, 2, t };
	struct ike_ts ts = { TS_IPV4_ADDR_RANGE, 0, 0, 65535, { 10, 1, 0, 1 }, { 10, 1, 0, 1 } };

	/* IKE_AUTH { IDi, AUTH, SA, TSi, TSr, N(INITIAL_CONTACT) } in an inner chain */
	message_build_inner_init(&b, inner, sizeof(inner));
	payload_build_id(&b, PL_IDI, &(struct ike_id){ ID_FQDN, BYTES("a.example") });
	payload_build_auth(&b, &(struct ike_auth){ AUTH_SHARED_KEY_MIC, BYTES("mac-mac-mac") });
	payload_build_notify_simple(&b, PROTO_NONE, N_INITIAL_CONTACT, NULL, 0, NULL, 0);
	payload_build_sa(&b, &(struct ike_sa){ 1, &p });
	payload_build_ts(&b, PL_TSI, &(struct ike_ts_list){ 1, &ts });
	payload_build_ts(&b, PL_TSR, &(struct ike_ts_list){ 1, &ts });
	size_t ilen = finish(&b);
	assert_int_equal(b.first, PL_IDI);
	/* the Next Payload of each generic header names the following one */
	assert_int_equal(inner[0], PL_AUTH);

	/* "encrypt": here the sealed body is the plaintext itself */
	struct ike_builder ob;
	message_build_init(&ob, out, sizeof(out), &test_hdr);
	uint8_t *body = message_build_sk(&ob, b.first, ilen);
	assert_non_null(body);
	memcpy(body, inner, ilen);
	size_t len = finish(&ob);
	assert_int_equal(len, IKE_HDR_LEN + 4 + ilen);
	assert_int_equal(out[16], PL_SK);

	assert_int_equal(message_parse(&M, out, len, &err), PAYLOAD_OK);
	struct acceptance_result res;
	assert_int_equal(acceptance_check_outer(&M, &res), ACCEPT_OK);
	assert_int_equal(acceptance_check(&M, &res), ACCEPT_NOT_DECRYPTED);
	const struct ike_sk *sk = &message_sk(&M)->u.sk;
	assert_int_equal(message_parse_inner(&M, sk->first_inner, out + sk->body_off, sk->body_len,
					     &err),
			 PAYLOAD_OK);
	assert_int_equal(M.n_payloads, 7);
	assert_true(M.decrypted);
	assert_int_equal(acceptance_check(&M, &res), ACCEPT_OK);
	assert_int_equal(message_count(&M, PL_TSI), 1);
	assert_int_equal(message_count(&M, PL_SK), 1);
	const struct ike_payload *id = message_find(&M, PL_IDI, NULL);
	assert_non_null(id);
	assert_true(id->in_sk);
	assert_null(message_find(&M, PL_IDI, id));
	assert_non_null(message_find_notify(&M, N_INITIAL_CONTACT));
	assert_null(message_find_notify(&M, N_COOKIE));
	assert_null(message_find_error_notify(&M));
	/* a second inner parse is refused */
	assert_int_equal(message_parse_inner(&M, PL_NONE, NULL, 0, &err), PAYLOAD_BAD_CHAIN);
}

static void test_build_errors(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct ike_builder b;
	size_t len = 0;

	/* too small for the header */
	message_build_init(&b, buf, 20, &test_hdr);
	assert_int_equal(message_build_finish(&b, &len), -ENOSPC);
	/* too small for a payload */
	message_build_init(&b, buf, sizeof(buf), &test_hdr);
	uint8_t nonce[64] = { 0 };
	payload_build_nonce(&b, &(struct ike_nonce){ { nonce, 64 } });
	assert_int_equal(message_build_finish(&b, &len), -ENOSPC);
	/* SK body does not fit */
	message_build_init(&b, buf, sizeof(buf), &test_hdr);
	assert_null(message_build_sk(&b, PL_IDI, 64));
	assert_int_equal(message_build_finish(&b, &len), -ENOSPC);
	/* a count that does not fit its field */
	uint8_t big[300] = { 0 };
	uint8_t bbuf[400];
	message_build_inner_init(&b, bbuf, sizeof(bbuf));
	payload_build_notify(&b, &(struct ike_notify){ 0, N_COOKIE, { big, 256 }, { NULL, 0 } });
	assert_int_equal(message_build_finish(&b, &len), -EINVAL);
	/* Delete whose SPI array disagrees with its count */
	message_build_inner_init(&b, bbuf, sizeof(bbuf));
	payload_build_delete(&b, &(struct ike_delete){ PROTO_ESP, 4, 2, { big, 4 } });
	assert_int_equal(message_build_finish(&b, &len), -EINVAL);
	/* TS of a type the builder cannot encode */
	struct ike_ts fc = { .type = 9 };
	message_build_inner_init(&b, bbuf, sizeof(bbuf));
	payload_build_ts(&b, PL_TSI, &(struct ike_ts_list){ 1, &fc });
	assert_int_equal(message_build_finish(&b, &len), -EINVAL);
	/* empty inner chain is fine (liveness check) */
	message_build_inner_init(&b, bbuf, sizeof(bbuf));
	assert_int_equal(message_build_finish(&b, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(b.first, PL_NONE);
}

/* ---- malformed input ---- */

static size_t mkmsg(uint8_t *buf, uint8_t next, const uint8_t *payloads, size_t plen)
{
	struct wr w = wr_init(buf, 2048);
	wr_u64(&w, 1);
	wr_u64(&w, 0);
	wr_u8(&w, next);
	wr_u8(&w, 0x20);
	wr_u8(&w, IKE_SA_INIT);
	wr_u8(&w, IKE_FLAG_INITIATOR);
	wr_u32(&w, 0);
	wr_u32(&w, (uint32_t)(IKE_HDR_LEN + plen));
	wr_bytes(&w, payloads, plen);
	assert_false(w.err);
	return w.len;
}

static void expect(const uint8_t *buf, size_t len, enum payload_status st, const char *why)
{
	struct payload_err err;
	enum payload_status got = message_parse(&M, buf, len, &err);
	if (got != st || !strstr(err.why, why))
		fail_msg("expected %s containing \"%s\", got %s: \"%s\"", payload_status_name(st),
			 why, payload_status_name(got), got == PAYLOAD_OK ? "" : err.why);
}

static void test_bad_header(void **state)
{
	(void)state;
	uint8_t buf[2048];
	struct ike_hdr h;
	struct payload_err err;
	size_t len = mkmsg(buf, PL_NONE, NULL, 0);

	assert_int_equal(message_parse(&M, buf, len, &err), PAYLOAD_OK);
	assert_int_equal(M.n_payloads, 0);
	expect(buf, 27, PAYLOAD_TRUNCATED, "datagram 27 octets, needs >= 28");
	expect(buf, 0, PAYLOAD_TRUNCATED, "needs >= 28");
	/* Length lies: bigger than the datagram, smaller than a header */
	buf[27] = 29;
	expect(buf, 28, PAYLOAD_TRUNCATED, "Length 29, datagram has only 28");
	buf[27] = 27;
	expect(buf, 28, PAYLOAD_BAD_LENGTH, "Length 27, needs >= 28");
	buf[24] = 0x01; /* 16 MiB */
	buf[27] = 28;
	expect(buf, 0x01000100, PAYLOAD_BAD_LENGTH, "limit 65535");
	buf[24] = 0;
	/* a longer datagram is fine: octets after Length are not the message */
	assert_int_equal(message_parse(&M, buf, 40, &err), PAYLOAD_OK);
	assert_int_equal(M.hdr.length, 28);
	/* major version: reported distinctly, header still filled in */
	buf[17] = 0x10;
	buf[20] = 0xab;
	buf[27] = 5; /* and a bad length: not checked for another version */
	assert_int_equal(message_parse_header(buf, len, &h, &err), PAYLOAD_BAD_MAJOR);
	assert_int_equal(h.major, 1);
	assert_int_equal(h.spi_i, 1);
	assert_int_equal(h.exchange, IKE_SA_INIT);
	assert_true(h.msg_id == 0xab000000u);
	assert_non_null(strstr(err.why, "major version 1, needs 2"));
	buf[17] = 0x31;
	assert_int_equal(message_parse_header(buf, len, &h, &err), PAYLOAD_BAD_MAJOR);
	assert_int_equal(h.major, 3);
	assert_int_equal(h.minor, 1);
	/* minor version is ignored (RFC 7296 2.5) */
	buf[17] = 0x2f;
	buf[27] = 28;
	assert_int_equal(message_parse_header(buf, len, &h, &err), PAYLOAD_OK);
	assert_int_equal(h.minor, 15);
}

static void test_bad_chain(void **state)
{
	(void)state;
	uint8_t buf[2048];
	size_t len = 0;

	/* zero-length payload */
	const uint8_t zero[] = { 0, 0, 0, 0 };
	len = mkmsg(buf, PL_VENDOR, zero, 4);
	buf[IKE_HDR_LEN + 3] = 0;
	expect(buf, len, PAYLOAD_BAD_LENGTH, "Payload Length 0, needs >= 4");
	/* length runs past the message */
	const uint8_t over[] = { 0, 0, 0, 9, 'a', 'b', 'c', 'd' };
	len = mkmsg(buf, PL_VENDOR, over, sizeof(over));
	expect(buf, len, PAYLOAD_BAD_LENGTH, "Payload Length 9 overruns the message (8 octets left)");
	/* generic header truncated */
	const uint8_t trunc[] = { 0, 0, 0, 4, 0, 0 };
	len = mkmsg(buf, PL_VENDOR, trunc, sizeof(trunc));
	buf[IKE_HDR_LEN] = PL_VENDOR;
	expect(buf, len, PAYLOAD_TRUNCATED, "generic header truncated (2 octets left, needs 4)");
	/* trailing octets after the chain ended */
	const uint8_t trail[] = { 0, 0, 0, 4, 0xff, 0xff };
	len = mkmsg(buf, PL_VENDOR, trail, sizeof(trail));
	expect(buf, len, PAYLOAD_BAD_CHAIN, "2 octets after the last payload");
	/* too many payloads */
	uint8_t many[4 * (IKE_PAYLOADS_MAX + 1)];
	for (int i = 0; i <= IKE_PAYLOADS_MAX; i++) {
		many[4 * i] = i == IKE_PAYLOADS_MAX ? PL_NONE : PL_VENDOR;
		many[4 * i + 1] = 0;
		many[4 * i + 2] = 0;
		many[4 * i + 3] = 4;
	}
	many[4 * (IKE_PAYLOADS_MAX - 1)] = PL_NONE; /* exactly 64 */
	len = mkmsg(buf, PL_VENDOR, many, 4 * IKE_PAYLOADS_MAX);
	many[4 * (IKE_PAYLOADS_MAX - 1)] = PL_VENDOR; /* 65 */
	struct payload_err err;
	assert_int_equal(message_parse(&M, buf, len, &err), PAYLOAD_OK);
	assert_int_equal(M.n_payloads, IKE_PAYLOADS_MAX);
	len = mkmsg(buf, PL_VENDOR, many, sizeof(many));
	expect(buf, len, PAYLOAD_TOO_MANY, "more than 64 payloads");
	/* error offset points at the offending payload's generic header */
	len = mkmsg(buf, PL_VENDOR, over, sizeof(over));
	assert_int_equal(message_parse(&M, buf, len, &err), PAYLOAD_BAD_LENGTH);
	assert_int_equal(err.offset, IKE_HDR_LEN);
	assert_int_equal(err.payload, PL_VENDOR);
}

static void test_unknown_payloads(void **state)
{
	(void)state;
	uint8_t buf[2048];
	struct payload_err err;
	/* V -> unknown 200 (not critical) -> unknown 201 (critical) -> V */
	const uint8_t pl[] = {
		200, 0, 0, 4,
		201, 0, 0, 6, 'x', 'y',
		PL_VENDOR, IKE_PAYLOAD_CRITICAL, 0, 5, 'z',
		PL_NONE, 0, 0, 4,
	};
	size_t len = mkmsg(buf, PL_VENDOR, pl, sizeof(pl));
	assert_int_equal(message_parse(&M, buf, len, &err), PAYLOAD_OK);
	assert_int_equal(M.n_payloads, 4);
	assert_int_equal(M.n_unknown, 2);
	assert_int_equal(M.unknown_critical, 201);
	assert_false(M.payloads[1].known);
	assert_false(M.payloads[1].critical);
	assert_true(M.payloads[2].critical);
	assert_int_equal(M.payloads[2].body.len, 1);
	assert_int_equal(M.payloads[3].type, PL_VENDOR);
	struct acceptance_result res;
	assert_int_equal(acceptance_check(&M, &res), ACCEPT_UNSUPPORTED_CRITICAL);
	assert_int_equal(res.payload, 201);
	/* rebuilding an unknown payload keeps its body and critical bit */
	uint8_t out[128];
	struct ike_builder b;
	message_build_inner_init(&b, out, sizeof(out));
	payload_build(&b, &M.payloads[2]);
	size_t olen = finish(&b);
	assert_int_equal(olen, 5);
	assert_int_equal(out[1], IKE_PAYLOAD_CRITICAL);
	assert_int_equal(out[4], 'z');
}

static void test_sk_last(void **state)
{
	(void)state;
	uint8_t buf[2048];
	struct payload_err err;
	/* V, SK(next=IDi, 8 octets of body), then 6 octets the chain never reaches */
	const uint8_t pl[] = {
		PL_SK, 0, 0, 4,
		PL_IDI, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8,
		PL_VENDOR, 0, 0, 6, 0, 0,
	};
	size_t len = mkmsg(buf, PL_VENDOR, pl, sizeof(pl));
	assert_int_equal(message_parse(&M, buf, len, &err), PAYLOAD_OK);
	assert_int_equal(M.n_payloads, 2);
	assert_int_equal(M.sk_index, 1);
	const struct ike_sk *sk = &message_sk(&M)->u.sk;
	assert_int_equal(sk->first_inner, PL_IDI);
	assert_int_equal(sk->hdr_off, IKE_HDR_LEN + 4);
	assert_int_equal(sk->body_off, IKE_HDR_LEN + 8);
	assert_int_equal(sk->body_len, 8);

	/* SK inside SK is an error */
	const uint8_t nested[] = { PL_NONE, 0, 0, 4 };
	parse_bad(nested, sizeof(nested), PL_SK, PAYLOAD_BAD_CHAIN, "SK at offset 0 inside");
	parse_bad(nested, sizeof(nested), PL_SKF, PAYLOAD_BAD_CHAIN, "SKF at offset 0 inside");
	/* SKF numbering */
	const uint8_t f0[] = { PL_NONE, 0, 0, 8, 0, 0, 0, 2 };
	parse_bad(f0, sizeof(f0), PL_VENDOR, PAYLOAD_OK, ""); /* as V it is fine */
	size_t l2 = mkmsg(buf, PL_SKF, f0, sizeof(f0));
	expect(buf, l2, PAYLOAD_BAD_VALUE, "Fragment Number 0 of Total Fragments 2");
	const uint8_t f3[] = { PL_NONE, 0, 0, 8, 0, 3, 0, 2 };
	l2 = mkmsg(buf, PL_SKF, f3, sizeof(f3));
	expect(buf, l2, PAYLOAD_BAD_VALUE, "Fragment Number 3 of Total Fragments 2");
	const uint8_t fshort[] = { PL_NONE, 0, 0, 6, 0, 1 };
	l2 = mkmsg(buf, PL_SKF, fshort, sizeof(fshort));
	expect(buf, l2, PAYLOAD_TRUNCATED, "SKF: body 2 octets, needs >= 4");
}

/* Inner-chain byte strings for the body-level checks. */
#define GH(next, len) (next), 0, (uint8_t)((len) >> 8), (uint8_t)(len)

static void test_bad_sa(void **state)
{
	(void)state;
	/* proposal length 44 but the SA body has 40 */
	const uint8_t overrun[] = {
		GH(0, 40), 0, 0, 0, 44, 1, PROTO_IKE, 0, 1,
		0, 0, 0, 8, TRANS_ENCR, 0, 0, ENCR_AES_CBC,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	parse_bad(overrun, sizeof(overrun), PL_SA, PAYLOAD_BAD_LENGTH,
		  "proposal 1 length 44 overruns SA body (36 octets left)");
	/* proposal length covers more than its transforms: mismatch */
	const uint8_t mismatch[] = {
		GH(0, 24), 0, 0, 0, 20, 1, PROTO_IKE, 0, 1,
		0, 0, 0, 8, TRANS_ENCR, 0, 0, ENCR_AES_CBC, 0, 0, 0, 0,
	};
	parse_bad(mismatch, sizeof(mismatch), PL_SA, PAYLOAD_BAD_LENGTH,
		  "4 octets after the transform marked last");
	/* transform length past its proposal */
	const uint8_t t_over[] = {
		GH(0, 20), 0, 0, 0, 16, 1, PROTO_IKE, 0, 1,
		0, 0, 0, 12, TRANS_ENCR, 0, 0, ENCR_AES_CBC,
	};
	parse_bad(t_over, sizeof(t_over), PL_SA, PAYLOAD_BAD_LENGTH,
		  "transform 1: length 12 overruns proposal (8 octets left)");
	/* transform attribute past its transform */
	const uint8_t a_over[] = {
		GH(0, 24), 0, 0, 0, 20, 1, PROTO_IKE, 0, 1,
		0, 0, 0, 12, TRANS_ENCR, 0, 0, ENCR_AES_CBC, 0x00, 0x0e, 0x00, 0x09,
	};
	parse_bad(a_over, sizeof(a_over), PL_SA, PAYLOAD_BAD_LENGTH,
		  "attribute 14 length 9 overruns transform (0 octets left)");
	/* Num Transforms says 2, one present */
	const uint8_t count[] = {
		GH(0, 20), 0, 0, 0, 16, 1, PROTO_IKE, 0, 2,
		0, 0, 0, 8, TRANS_ENCR, 0, 0, ENCR_AES_CBC,
	};
	parse_bad(count, sizeof(count), PL_SA, PAYLOAD_BAD_LENGTH,
		  "Num Transforms 2, found 1");
	/* ESP proposal with a 3-octet SPI */
	const uint8_t spi[] = {
		GH(0, 23), 0, 0, 0, 19, 1, PROTO_ESP, 3, 1, 1, 2, 3,
		0, 0, 0, 8, TRANS_ENCR, 0, 0, ENCR_AES_CBC,
	};
	parse_bad(spi, sizeof(spi), PL_SA, PAYLOAD_BAD_VALUE, "protocol 3 with SPI size 3, needs 4");
	/* Last Substruc says more proposals follow, none do */
	const uint8_t last[] = {
		GH(0, 20), 2, 0, 0, 16, 1, PROTO_IKE, 0, 1,
		0, 0, 0, 8, TRANS_ENCR, 0, 0, ENCR_AES_CBC,
	};
	parse_bad(last, sizeof(last), PL_SA, PAYLOAD_BAD_VALUE,
		  "last proposal (1) has Last Substruc 2, needs 0");
	const uint8_t after_last[] = {
		GH(0, 28), 0, 0, 0, 16, 1, PROTO_IKE, 0, 1,
		0, 0, 0, 8, TRANS_ENCR, 0, 0, ENCR_AES_CBC, 0, 0, 0, 8, 2, 1, 0, 0,
	};
	parse_bad(after_last, sizeof(after_last), PL_SA, PAYLOAD_BAD_LENGTH,
		  "8 octets after proposal 1 marked last");
	/* proposal length below its header size */
	const uint8_t small[] = { GH(0, 12), 0, 0, 0, 4, 1, PROTO_IKE, 0, 0 };
	parse_bad(small, sizeof(small), PL_SA, PAYLOAD_BAD_LENGTH, "proposal 1 length 4, needs >= 8");
	const uint8_t empty[] = { GH(0, 4) };
	parse_bad(empty, sizeof(empty), PL_SA, PAYLOAD_BAD_LENGTH, "SA: empty body");
	/* unknown attributes are counted, not fatal (RFC 7296 3.3.6) */
	const uint8_t unk[] = {
		GH(0, 32), 0, 0, 0, 28, 1, PROTO_IKE, 0, 1,
		0, 0, 0, 20, TRANS_ENCR, 0, 0, ENCR_AES_CBC,
		0x80, 0x0e, 0x00, 0x80, 0x80, 0x63, 0x00, 0x01, 0x00, 0x0e, 0x00, 0x00,
	};
	struct payload_err err;
	message_reset(&M);
	assert_int_equal(message_parse_inner(&M, PL_SA, unk, sizeof(unk), &err), PAYLOAD_OK);
	const struct ike_transform *t = &M.payloads[0].u.sa.proposals[0].transforms[0];
	assert_int_equal(t->key_len, 128);
	assert_int_equal(t->unknown_attrs, 2);
}

static void test_sa_limits(void **state)
{
	(void)state;
	uint8_t buf[8192];
	struct ike_builder b;
	struct ike_transform t[IKE_TRANSFORMS_MAX + 1];
	struct ike_proposal p[IKE_PROPOSALS_MAX + 1];
	for (int i = 0; i <= IKE_TRANSFORMS_MAX; i++)
		t[i] = (struct ike_transform){ TRANS_DH, (uint16_t)i, 0, 0 };
	for (int i = 0; i <= IKE_PROPOSALS_MAX; i++)
		p[i] = (struct ike_proposal){ (uint8_t)(i + 1), PROTO_IKE, { NULL, 0 }, 1, t };

	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_sa(&b, &(struct ike_sa){ IKE_PROPOSALS_MAX + 1, p });
	size_t len = finish(&b);
	parse_bad(buf, len, PL_SA, PAYLOAD_TOO_MANY, "more than 32 proposals");

	p[0].n_transforms = IKE_TRANSFORMS_MAX + 1;
	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_sa(&b, &(struct ike_sa){ 1, p });
	len = finish(&b);
	parse_bad(buf, len, PL_SA, PAYLOAD_TOO_MANY, "65 transforms, limit 64");

	/* the per-message pool: 5 SA payloads of 64 transforms > 256 */
	p[0].n_transforms = IKE_TRANSFORMS_MAX;
	message_build_inner_init(&b, buf, sizeof(buf));
	for (int i = 0; i < 5; i++)
		payload_build_sa(&b, &(struct ike_sa){ 1, p });
	len = finish(&b);
	parse_bad(buf, len, PL_SA, PAYLOAD_TOO_MANY, "more than 256 transforms in the message");
}

static void test_bad_ts(void **state)
{
	(void)state;
	const uint8_t port[] = {
		GH(0, 24), 1, 0, 0, 0,
		TS_IPV4_ADDR_RANGE, 6, 0, 16, 0x01, 0xbb, 0x00, 0x50, 10, 0, 0, 1, 10, 0, 0, 2,
	};
	parse_bad(port, sizeof(port), PL_TSI, PAYLOAD_BAD_VALUE, "start port 443 > end port 80");
	const uint8_t addr[] = {
		GH(0, 24), 1, 0, 0, 0,
		TS_IPV4_ADDR_RANGE, 0, 0, 16, 0, 0, 0xff, 0xff, 10, 0, 0, 2, 10, 0, 0, 1,
	};
	parse_bad(addr, sizeof(addr), PL_TSR, PAYLOAD_BAD_VALUE, "start address > end address");
	const uint8_t slen[] = {
		GH(0, 24), 1, 0, 0, 0,
		TS_IPV6_ADDR_RANGE, 0, 0, 16, 0, 0, 0xff, 0xff, 10, 0, 0, 2, 10, 0, 0, 1,
	};
	parse_bad(slen, sizeof(slen), PL_TSI, PAYLOAD_BAD_LENGTH, "type 8 length 16, needs 40");
	const uint8_t n0[] = { GH(0, 8), 0, 0, 0, 0 };
	parse_bad(n0, sizeof(n0), PL_TSI, PAYLOAD_BAD_VALUE, "Number of TSs 0");
	const uint8_t n2[] = {
		GH(0, 24), 2, 0, 0, 0,
		TS_IPV4_ADDR_RANGE, 0, 0, 16, 0, 0, 0xff, 0xff, 10, 0, 0, 1, 10, 0, 0, 1,
	};
	parse_bad(n2, sizeof(n2), PL_TSI, PAYLOAD_TRUNCATED, "selector 2 of 2 truncated");
	const uint8_t extra[] = {
		GH(0, 26), 1, 0, 0, 0,
		TS_IPV4_ADDR_RANGE, 0, 0, 16, 0, 0, 0xff, 0xff, 10, 0, 0, 1, 10, 0, 0, 1, 0, 0,
	};
	parse_bad(extra, sizeof(extra), PL_TSI, PAYLOAD_BAD_LENGTH, "2 octets after 1 selectors");
	const uint8_t over[] = {
		GH(0, 24), 1, 0, 0, 0,
		TS_IPV4_ADDR_RANGE, 0, 0, 20, 0, 0, 0xff, 0xff, 10, 0, 0, 1, 10, 0, 0, 1,
	};
	parse_bad(over, sizeof(over), PL_TSI, PAYLOAD_BAD_LENGTH, "selector 1 length 20, needs 4..16");
	/* unknown TS type: kept by type (RFC 9478 security label, type 10) */
	const uint8_t label[] = { GH(0, 14), 1, 0, 0, 0, 10, 0, 0, 6, 'l', 'b' };
	message_reset(&M);
	struct payload_err err;
	assert_int_equal(message_parse_inner(&M, PL_TSI, label, sizeof(label), &err), PAYLOAD_OK);
	assert_int_equal(M.payloads[0].u.ts.ts[0].type, 10);
	/* too many */
	uint8_t many[8 + 16 * (IKE_TS_MAX + 1)];
	memset(many, 0, sizeof(many));
	many[1] = 0;
	many[2] = (uint8_t)(sizeof(many) >> 8);
	many[3] = (uint8_t)sizeof(many);
	many[4] = IKE_TS_MAX + 1;
	for (int i = 0; i <= IKE_TS_MAX; i++)
		memcpy(many + 8 + 16 * i, port + 8, 16);
	parse_bad(many, sizeof(many), PL_TSI, PAYLOAD_TOO_MANY, "33 selectors, limit 32");
}

static void test_bad_simple(void **state)
{
	(void)state;
	uint8_t n15[4 + 15] = { GH(0, 19) };
	parse_bad(n15, sizeof(n15), PL_NONCE, PAYLOAD_BAD_LENGTH, "Nonce: data length 15, needs 16..256");
	uint8_t n257[4 + 257] = { GH(0, 261) };
	parse_bad(n257, sizeof(n257), PL_NONCE, PAYLOAD_BAD_LENGTH, "data length 257");
	const uint8_t ke[] = { GH(0, 6), 0, 19 };
	parse_bad(ke, sizeof(ke), PL_KE, PAYLOAD_TRUNCATED, "KE: body 2 octets, needs >= 4");
	const uint8_t id4[] = { GH(0, 11), ID_IPV4_ADDR, 0, 0, 0, 1, 2, 3 };
	parse_bad(id4, sizeof(id4), PL_IDI, PAYLOAD_BAD_LENGTH, "ID: type 1 data 3 octets, needs 4");
	const uint8_t id6[] = { GH(0, 12), ID_IPV6_ADDR, 0, 0, 0, 1, 2, 3, 4 };
	parse_bad(id6, sizeof(id6), PL_IDR, PAYLOAD_BAD_LENGTH, "needs 16");
	const uint8_t n_spi[] = { GH(0, 10), PROTO_ESP, 4, 0x40, 0x09, 1, 2 };
	parse_bad(n_spi, sizeof(n_spi), PL_NOTIFY, PAYLOAD_BAD_LENGTH,
		  "N(16393): SPI size 4 overruns body (2 octets left)");
	const uint8_t d_cnt[] = { GH(0, 16), PROTO_ESP, 4, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8 };
	parse_bad(d_cnt, sizeof(d_cnt), PL_DELETE, PAYLOAD_BAD_LENGTH,
		  "D: 3 SPIs of 4 octets need 12 octets, got 8");
	const uint8_t d_ike[] = { GH(0, 8), PROTO_IKE, 8, 0, 0 };
	parse_bad(d_ike, sizeof(d_ike), PL_DELETE, PAYLOAD_BAD_VALUE, "D: IKE with SPI size 8");
	const uint8_t d_many[] = { GH(0, 8), PROTO_ESP, 4, 0, 65 };
	parse_bad(d_many, sizeof(d_many), PL_DELETE, PAYLOAD_TOO_MANY, "65 SPIs, limit 64");
	const uint8_t cp[] = { GH(0, 13), CFG_REQUEST, 0, 0, 0, 0, 1, 0, 1, 9 };
	parse_bad(cp, sizeof(cp), PL_CP, PAYLOAD_BAD_LENGTH, "CP: attribute 1 length 1, needs 0 or 4");
	const uint8_t cp6[] = { GH(0, 12), CFG_REQUEST, 0, 0, 0, 0, 8, 0, 16 };
	parse_bad(cp6, sizeof(cp6), PL_CP, PAYLOAD_BAD_LENGTH, "attribute 8 length 16 overruns");
	const uint8_t cps[] = { GH(0, 15), CFG_REPLY, 0, 0, 0, 0, 14, 0, 3, 0, 1, 2 };
	parse_bad(cps, sizeof(cps), PL_CP, PAYLOAD_BAD_LENGTH, "needs a multiple of 2");
	const uint8_t eap[] = { GH(0, 9), EAP_CODE_REQUEST, 1, 0, 9, 1 };
	parse_bad(eap, sizeof(eap), PL_EAP, PAYLOAD_BAD_LENGTH, "EAP: Length 9, payload body has 5");
	const uint8_t eap4[] = { GH(0, 8), EAP_CODE_REQUEST, 1, 0, 4 };
	parse_bad(eap4, sizeof(eap4), PL_EAP, PAYLOAD_TRUNCATED, "needs >= 5 (Type)");
	const uint8_t eaps[] = { GH(0, 9), EAP_CODE_SUCCESS, 1, 0, 5, 1 };
	parse_bad(eaps, sizeof(eaps), PL_EAP, PAYLOAD_BAD_LENGTH, "code 3 with Length 5, needs 4");
	const uint8_t sig[] = { GH(0, 10), AUTH_DIGITAL_SIGNATURE, 0, 0, 0, 5, 0x30 };
	parse_bad(sig, sizeof(sig), PL_AUTH, PAYLOAD_BAD_LENGTH,
		  "RFC 7427 AlgorithmIdentifier length 5, needs 1..1");
	const uint8_t auth[] = { GH(0, 6), AUTH_SHARED_KEY_MIC, 0 };
	parse_bad(auth, sizeof(auth), PL_AUTH, PAYLOAD_TRUNCATED, "AUTH: body 2 octets, needs >= 4");
	const uint8_t cert[] = { GH(0, 4) };
	parse_bad(cert, sizeof(cert), PL_CERT, PAYLOAD_TRUNCATED, "CERT: empty body");
	/* the failing payload's type is reported */
	struct payload_err err;
	message_reset(&M);
	assert_int_equal(message_parse_inner(&M, PL_IDR, id6, sizeof(id6), &err),
			 PAYLOAD_BAD_LENGTH);
	assert_int_equal(err.payload, PL_IDR);
}

static void test_cp_limits(void **state)
{
	(void)state;
	struct ike_cp_attr a[IKE_CP_ATTRS_MAX + 1];
	for (int i = 0; i <= IKE_CP_ATTRS_MAX; i++)
		a[i] = (struct ike_cp_attr){ CFG_INTERNAL_IP4_DNS, { NULL, 0 } };
	uint8_t buf[512];
	struct ike_builder b;
	message_build_inner_init(&b, buf, sizeof(buf));
	payload_build_cp(&b, &(struct ike_cp){ CFG_REQUEST, IKE_CP_ATTRS_MAX + 1, a });
	size_t len = finish(&b);
	parse_bad(buf, len, PL_CP, PAYLOAD_TOO_MANY, "more than 32 attributes");
}

/* ---- names ---- */

static void test_names(void **state)
{
	(void)state;
	struct names_buf nb;
	assert_string_equal(names_exchange(IKE_SA_INIT, &nb), "IKE_SA_INIT");
	assert_string_equal(names_exchange(IKE_INTERMEDIATE, &nb), "IKE_INTERMEDIATE");
	assert_string_equal(names_exchange(99, &nb), "UNKNOWN_EXCHANGE(99)");
	assert_string_equal(names_payload(PL_IDI, &nb), "IDi");
	assert_string_equal(names_payload(PL_NONCE, &nb), "Nonce");
	assert_string_equal(names_payload(PL_NOTIFY, &nb), "N");
	assert_string_equal(names_payload(PL_SKF, &nb), "SKF");
	assert_string_equal(names_payload(200, &nb), "UNKNOWN_PAYLOAD(200)");
	assert_string_equal(names_notify(N_NAT_DETECTION_SOURCE_IP, &nb), "NAT_DETECTION_SOURCE_IP");
	assert_string_equal(names_notify(N_USE_ASSIGNED_HoA, &nb), "USE_ASSIGNED_HoA");
	assert_string_equal(names_notify(N_IKEV2_FRAGMENTATION_SUPPORTED, &nb),
			    "IKEV2_FRAGMENTATION_SUPPORTED");
	assert_string_equal(names_notify(N_REDIRECT, &nb), "REDIRECT");
	assert_string_equal(names_notify(N_UPDATE_SA_ADDRESSES, &nb), "UPDATE_SA_ADDRESSES");
	assert_string_equal(names_notify(N_CHILDLESS_IKEV2_SUPPORTED, &nb),
			    "CHILDLESS_IKEV2_SUPPORTED");
	assert_string_equal(names_notify(12345, &nb), "UNKNOWN_NOTIFY(12345)");
	assert_string_equal(names_transform(TRANS_ENCR, ENCR_AES_GCM_16, &nb), "ENCR_AES_GCM_16");
	assert_string_equal(names_transform(TRANS_PRF, PRF_HMAC_SHA2_256, &nb), "PRF_HMAC_SHA2_256");
	assert_string_equal(names_transform(TRANS_INTEG, AUTH_HMAC_SHA2_256_128, &nb),
			    "AUTH_HMAC_SHA2_256_128");
	assert_string_equal(names_transform(TRANS_DH, DH_MODP_2048, &nb), "MODP_2048");
	assert_string_equal(names_transform(TRANS_DH, DH_ECP_256, &nb), "ECP_256");
	assert_string_equal(names_transform(TRANS_DH, DH_CURVE25519, &nb), "Curve25519");
	assert_string_equal(names_transform(TRANS_ESN, ESN_YES, &nb), "ESN");
	assert_string_equal(names_transform(13, 1, &nb), "UNKNOWN_TRANSFORM(1)");
	/* RFC 9370: ADDKE1-7 are types 6-12 with type 4's IDs; ML-KEM 35-37. */
	assert_string_equal(names_transform_type(6, &nb), "ADDKE1");
	assert_string_equal(names_transform_type(12, &nb), "ADDKE7");
	assert_string_equal(names_transform_type(13, &nb), "UNKNOWN_TRANSFORM_TYPE(13)");
	assert_string_equal(names_transform(TRANS_ADDKE1, DH_MLKEM768, &nb), "ML-KEM-768");
	assert_string_equal(names_transform(TRANS_ADDKE7, 0, &nb), "NONE");
	assert_string_equal(names_dh(DH_MLKEM512, &nb), "ML-KEM-512");
	assert_string_equal(names_dh(DH_MLKEM1024, &nb), "ML-KEM-1024");
	assert_string_equal(names_dh(1000, &nb), "UNKNOWN_KE(1000)");
	assert_string_equal(names_transform_type(TRANS_DH, &nb), "KE");
	assert_string_equal(names_id_type(ID_FQDN, &nb), "ID_FQDN");
	assert_string_equal(names_id_type(ID_NULL, &nb), "ID_NULL");
	assert_string_equal(names_auth_method(AUTH_SHARED_KEY_MIC, &nb), "SHARED_KEY_MIC");
	assert_string_equal(names_auth_method(AUTH_NULL, &nb), "NULL");
	assert_string_equal(names_cert_encoding(CERT_X509_SIGNATURE, &nb), "X509_SIGNATURE");
	assert_string_equal(names_ts_type(TS_IPV6_ADDR_RANGE, &nb), "TS_IPV6_ADDR_RANGE");
	assert_string_equal(names_cfg_type(CFG_REQUEST, &nb), "CFG_REQUEST");
	assert_string_equal(names_cfg_attr(CFG_INTERNAL_IP4_ADDRESS, &nb), "INTERNAL_IP4_ADDRESS");
	assert_string_equal(names_cfg_attr(CFG_INTERNAL_IP6_SUBNET, &nb), "INTERNAL_IP6_SUBNET");
	assert_string_equal(names_protocol(PROTO_ESP, &nb), "ESP");
	assert_string_equal(names_hash_alg(HASH_SHA2_256, &nb), "SHA2_256");
	assert_string_equal(names_eap_code(EAP_CODE_SUCCESS, &nb), "Success");
	/* known names never touch the buffer; unknown ones fill it */
	memset(nb.s, 'q', sizeof(nb.s));
	names_notify(N_COOKIE, &nb);
	assert_int_equal(nb.s[0], 'q');
	assert_ptr_equal(names_notify(65535, &nb), nb.s);
	assert_string_equal(nb.s, "UNKNOWN_NOTIFY(65535)");
	/* every notify in ikev2.h has a name (ranges of the enum) */
	for (unsigned t = N_UNSUPPORTED_CRITICAL_PAYLOAD; t <= N_USE_AGGFRAG; t++) {
		const char *s = names_notify((uint16_t)t, &nb);
		bool defined = (t >= N_INITIAL_CONTACT) || t == 1 || t == 4 || t == 5 || t == 7 ||
			       t == 9 || t == 11 || t == 14 || t == 17 || t == 24 ||
			       (t >= 34 && t <= 47);
		if (t > 47 && t < N_INITIAL_CONTACT)
			defined = false;
		assert_int_equal(strncmp(s, "UNKNOWN_", 8) != 0, defined);
	}
	assert_string_equal(payload_status_name(PAYLOAD_BAD_MAJOR), "BAD_MAJOR");
}

/* ---- the strongSwan fixtures ---- */

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = malloc(IKE_MSG_MAX + 1);
	*len = fread(buf, 1, IKE_MSG_MAX + 1, f);
	fclose(f);
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Rebuild the payloads [from, n) and compare with the original octets. */
static void rebuild_same(const struct ike_msg *m, bool inner, const uint8_t *orig, size_t olen,
			 const char *name)
{
	uint8_t *out = malloc(IKE_MSG_MAX);
	struct ike_builder b;
	size_t len = 0;
	if (inner)
		message_build_inner_init(&b, out, IKE_MSG_MAX);
	else
		message_build_init(&b, out, IKE_MSG_MAX, &m->hdr);
	for (unsigned i = 0; i < m->n_payloads; i++)
		if (m->payloads[i].in_sk == inner)
			payload_build(&b, &m->payloads[i]);
	assert_int_equal(message_build_finish(&b, &len), 0);
	if (len != olen || memcmp(out, orig, len) != 0)
		fail_msg("%s: rebuilt %s differs (%zu vs %zu octets)", name,
			 inner ? "inner chain" : "message", len, olen);
	free(out);
}

static void test_fixtures(void **state)
{
	(void)state;
	const char *dir = getenv("XIKED_CORPUS");
	if (!dir)
		fail_msg("XIKED_CORPUS is not set (tests/unit/meson.build sets it)");
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s", dir);
	unsigned n_msg = 0, n_plain = 0, n_frag = 0, n_rebuilt = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!ends_with(e->d_name, ".bin"))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		size_t len = 0;
		uint8_t *buf = slurp(path, &len);
		assert_non_null(buf);
		struct payload_err err;
		struct acceptance_result res;
		enum payload_status st = message_parse(&M, buf, len, &err);
		if (st != PAYLOAD_OK)
			fail_msg("%s: %s: %s", e->d_name, payload_status_name(st), err.why);
		assert_int_equal(M.hdr.length, len);
		const struct ike_payload *sk = message_sk(&M);
		if (ends_with(e->d_name, "-plain.bin")) {
			/* decrypt_corpus.py: the SK body is the bare inner chain */
			assert_non_null(sk);
			st = message_parse_inner(&M, sk->u.sk.first_inner, buf + sk->u.sk.body_off,
						 sk->u.sk.body_len, &err);
			if (st != PAYLOAD_OK)
				fail_msg("%s: inner: %s: %s", e->d_name, payload_status_name(st),
					 err.why);
			if (acceptance_check(&M, &res) != ACCEPT_OK)
				fail_msg("%s: %s", e->d_name, res.why);
			rebuild_same(&M, true, buf + sk->u.sk.body_off, sk->u.sk.body_len,
				     e->d_name);
			n_plain++;
			n_rebuilt++;
		} else if (sk) {
			if (acceptance_check_outer(&M, &res) != ACCEPT_OK)
				fail_msg("%s: %s", e->d_name, res.why);
			/* the SK payload runs exactly to the end of the message */
			uint32_t end = sk->type == PL_SK ? sk->u.sk.body_off + sk->u.sk.body_len
							 : sk->u.skf.body_off + sk->u.skf.body_len;
			assert_int_equal(end, len);
			n_frag += sk->type == PL_SKF;
			n_msg++;
		} else {
			if (acceptance_check(&M, &res) != ACCEPT_OK)
				fail_msg("%s: %s", e->d_name, res.why);
			rebuild_same(&M, false, buf, len, e->d_name);
			n_msg++;
			n_rebuilt++;
		}
		free(buf);
	}
	closedir(d);
	print_message("fixtures: %u messages (%u SKF), %u decrypted inner chains, %u rebuilt "
		      "byte-identical\n",
		      n_msg, n_frag, n_plain, n_rebuilt);
	assert_true(n_msg >= 68);
	assert_true(n_plain >= 50);
	assert_true(n_frag >= 20);
}

/* Spot checks of known content (tests/fixtures/strongswan/README.md). */
static const struct ike_msg *load(const char *name, uint8_t **keep)
{
	char path[4096];
	size_t len = 0;
	struct payload_err err;
	snprintf(path, sizeof(path), "%s/%s", getenv("XIKED_CORPUS"), name);
	*keep = slurp(path, &len);
	if (!*keep)
		fail_msg("missing %s", path);
	assert_int_equal(message_parse(&M, *keep, len, &err), PAYLOAD_OK);
	const struct ike_payload *sk = message_sk(&M);
	if (sk && ends_with(name, "-plain.bin"))
		assert_int_equal(message_parse_inner(&M, sk->u.sk.first_inner,
						     *keep + sk->u.sk.body_off, sk->u.sk.body_len,
						     &err),
				 PAYLOAD_OK);
	return &M;
}

static void test_fixture_content(void **state)
{
	(void)state;
	uint8_t *buf;
	if (!getenv("XIKED_CORPUS"))
		fail_msg("XIKED_CORPUS is not set");

	const struct ike_msg *m = load("x25519-aesgcm-01-IKE_SA_INIT-ireq.bin", &buf);
	assert_int_equal(m->hdr.exchange, IKE_SA_INIT);
	assert_true(ike_hdr_is_initiator(&m->hdr));
	assert_false(ike_hdr_is_response(&m->hdr));
	assert_int_equal(m->hdr.spi_r, 0);
	const struct ike_sa *sa = &message_find(m, PL_SA, NULL)->u.sa;
	bool gcm = false, prf = false, x25519 = false;
	for (unsigned i = 0; i < sa->n_proposals; i++)
		for (unsigned j = 0; j < sa->proposals[i].n_transforms; j++) {
			const struct ike_transform *t = &sa->proposals[i].transforms[j];
			gcm |= t->type == TRANS_ENCR && t->id == ENCR_AES_GCM_16 && t->key_len == 256;
			prf |= t->type == TRANS_PRF && t->id == PRF_HMAC_SHA2_256;
			x25519 |= t->type == TRANS_DH && t->id == DH_CURVE25519;
		}
	assert_true(gcm && prf && x25519);
	const struct ike_ke *ke = &message_find(m, PL_KE, NULL)->u.ke;
	assert_int_equal(ke->group, DH_CURVE25519);
	assert_int_equal(ke->data.len, 32);
	assert_non_null(message_find_notify(m, N_NAT_DETECTION_SOURCE_IP));
	assert_int_equal(message_find_notify(m, N_NAT_DETECTION_SOURCE_IP)->data.len, 20);
	free(buf);

	m = load("x25519-aesgcm-03-IKE_AUTH-ireq-plain.bin", &buf);
	const struct ike_id *idi = &message_find(m, PL_IDI, NULL)->u.id;
	assert_int_equal(idi->type, ID_FQDN);
	assert_true(bytes_eq(idi->data, BYTES("a.example")));
	assert_int_equal(message_find(m, PL_AUTH, NULL)->u.auth.method, AUTH_SHARED_KEY_MIC);
	const struct ike_ts_list *tsi = &message_find(m, PL_TSI, NULL)->u.ts;
	const struct ike_ts_list *tsr = &message_find(m, PL_TSR, NULL)->u.ts;
	assert_int_equal(tsi->ts[0].type, TS_IPV4_ADDR_RANGE);
	assert_memory_equal(tsi->ts[0].start, ((uint8_t[]){ 10, 1, 0, 1 }), 4);
	assert_memory_equal(tsi->ts[0].end, ((uint8_t[]){ 10, 1, 0, 1 }), 4);
	assert_memory_equal(tsr->ts[0].start, ((uint8_t[]){ 10, 2, 0, 1 }), 4);
	const struct ike_proposal *esp = &message_find(m, PL_SA, NULL)->u.sa.proposals[0];
	assert_int_equal(esp->protocol, PROTO_ESP);
	assert_int_equal(esp->spi.len, 4);
	free(buf);

	/* RFC 7383: the NAT capture's IKE_AUTH request is fragmented */
	m = load("natfrag-ecp256-03-IKE_AUTH-ireq.bin", &buf);
	const struct ike_payload *skf = message_sk(m);
	assert_int_equal(skf->type, PL_SKF);
	assert_int_equal(skf->u.skf.frag_num, 1);
	assert_true(skf->u.skf.total >= 2);
	assert_int_equal(skf->u.skf.first_inner, PL_IDI);
	free(buf);

	/* the final INFORMATIONAL deletes the IKE SA */
	m = load("ecp256-aescbc-05-INFORMATIONAL-ireq-plain.bin", &buf);
	const struct ike_delete *del = &message_find(m, PL_DELETE, NULL)->u.del;
	assert_int_equal(del->protocol, PROTO_IKE);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rd),
		cmocka_unit_test(test_wr),
		cmocka_unit_test(test_rt_sa),
		cmocka_unit_test(test_rt_ke),
		cmocka_unit_test(test_rt_id),
		cmocka_unit_test(test_rt_cert_certreq),
		cmocka_unit_test(test_rt_auth),
		cmocka_unit_test(test_rt_nonce),
		cmocka_unit_test(test_rt_notify),
		cmocka_unit_test(test_rt_delete),
		cmocka_unit_test(test_rt_vendor),
		cmocka_unit_test(test_rt_ts),
		cmocka_unit_test(test_rt_cp),
		cmocka_unit_test(test_rt_eap),
		cmocka_unit_test(test_rt_sk),
		cmocka_unit_test(test_rt_skf),
		cmocka_unit_test(test_build_chain),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_bad_chain),
		cmocka_unit_test(test_unknown_payloads),
		cmocka_unit_test(test_sk_last),
		cmocka_unit_test(test_bad_sa),
		cmocka_unit_test(test_sa_limits),
		cmocka_unit_test(test_bad_ts),
		cmocka_unit_test(test_bad_simple),
		cmocka_unit_test(test_cp_limits),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixture_content),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
