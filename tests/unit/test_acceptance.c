/*
 * Acceptance table tests: every exchange, request and response, good and
 * bad. Messages are written in RFC 7296 notation ("SA KE Nonce",
 * "SK{IDi AUTH SA TSi TSr}"), built with the codec's builder, parsed back
 * (outer chain, then the SK body as the plaintext inner chain) and checked.
 *
 * Tokens: SA KE Nonce IDi IDr CERT CERTREQ AUTH D V TSi TSr CP EAP,
 * N(<notify type>), U<type> (unknown payload), C<type> (unknown, critical),
 * SK{ ... } (payloads inside SK), SKF (a lone fragment).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/acceptance.h"
#include "daemon/message.h"
#include "daemon/names.h"
#include "daemon/payload.h"

static struct ike_msg M;
static uint8_t msgbuf[8192], inner[4096];

static const uint8_t filler[64] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void add(struct ike_builder *b, const char *tok)
{
	static const struct ike_transform t = { TRANS_ENCR, ENCR_AES_GCM_16, 256, 0 };
	static const struct ike_proposal p = { 1, PROTO_IKE, { NULL, 0 }, 1, &t };
	static const struct ike_ts ts = { TS_IPV4_ADDR_RANGE, 0, 0, 65535, { 10, 1, 0, 1 },
					  { 10, 1, 0, 1 } };
	static const uint8_t ip4[4] = { 0 };
	static const struct ike_cp_attr cpa = { CFG_INTERNAL_IP4_ADDRESS, { ip4, 0 } };
	unsigned n;

	if (!strcmp(tok, "SA"))
		payload_build_sa(b, &(struct ike_sa){ 1, &p });
	else if (!strcmp(tok, "KE"))
		payload_build_ke(b, &(struct ike_ke){ DH_ECP_256, { filler, 64 } });
	else if (!strcmp(tok, "Nonce"))
		payload_build_nonce(b, &(struct ike_nonce){ { filler, 32 } });
	else if (!strcmp(tok, "IDi") || !strcmp(tok, "IDr"))
		payload_build_id(b, tok[2] == 'i' ? PL_IDI : PL_IDR,
				 &(struct ike_id){ ID_FQDN, { (const uint8_t *)"a.example", 9 } });
	else if (!strcmp(tok, "CERT") || !strcmp(tok, "CERTREQ"))
		payload_build_cert(b, tok[4] ? PL_CERTREQ : PL_CERT,
				   &(struct ike_cert){ CERT_X509_SIGNATURE, { filler, 20 } });
	else if (!strcmp(tok, "AUTH"))
		payload_build_auth(b, &(struct ike_auth){ AUTH_SHARED_KEY_MIC, { filler, 32 } });
	else if (!strcmp(tok, "D"))
		payload_build_delete(b, &(struct ike_delete){ PROTO_ESP, 4, 1, { filler, 4 } });
	else if (!strcmp(tok, "V"))
		payload_build_vendor(b, &(struct ike_vendor){ { filler, 16 } });
	else if (!strcmp(tok, "TSi") || !strcmp(tok, "TSr"))
		payload_build_ts(b, tok[2] == 'i' ? PL_TSI : PL_TSR,
				 &(struct ike_ts_list){ 1, &ts });
	else if (!strcmp(tok, "CP"))
		payload_build_cp(b, &(struct ike_cp){ CFG_REQUEST, 1, &cpa });
	else if (!strcmp(tok, "EAP"))
		payload_build_eap(b, &(struct ike_eap){ EAP_CODE_REQUEST, 1, 1, { NULL, 0 } });
	else if (sscanf(tok, "N(%u)", &n) == 1)
		payload_build_notify_simple(b, PROTO_NONE, (uint16_t)n, NULL, 0, NULL, 0);
	else if (sscanf(tok, "U%u", &n) == 1)
		payload_build_raw(b, (uint8_t)n, false, filler, 3);
	else if (sscanf(tok, "C%u", &n) == 1)
		payload_build_raw(b, (uint8_t)n, true, filler, 3);
	else
		fail_msg("bad token %s", tok);
}

/*
 * Build, parse (and decrypt, i.e. parse the SK body as plaintext unless
 * decrypt is false) a message of the given shape.
 */
static void make(uint8_t exchange, bool response, const char *spec, bool decrypt)
{
	struct ike_hdr h = { .spi_i = 1, .spi_r = 2, .exchange = exchange,
			     .flags = response ? IKE_FLAG_RESPONSE : IKE_FLAG_INITIATOR };
	struct ike_builder ob, ib;
	char copy[512], *save = NULL;
	bool in = false;

	message_build_init(&ob, msgbuf, sizeof(msgbuf), &h);
	snprintf(copy, sizeof(copy), "%s", spec);
	for (char *tok = strtok_r(copy, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
		if (!strncmp(tok, "SK{", 3)) {
			in = true;
			message_build_inner_init(&ib, inner, sizeof(inner));
			tok += 3;
		}
		if (!strcmp(tok, "SKF")) {
			assert_non_null(message_build_skf(&ob, PL_NONE, 2, 2, 40));
			continue;
		}
		bool close = false;
		size_t l = strlen(tok);
		if (l && tok[l - 1] == '}') {
			tok[l - 1] = '\0';
			close = true;
		}
		if (*tok)
			add(in ? &ib : &ob, tok);
		if (close) {
			size_t ilen;
			assert_int_equal(message_build_finish(&ib, &ilen), 0);
			uint8_t *body = message_build_sk(&ob, ib.first, ilen);
			assert_non_null(body);
			memcpy(body, inner, ilen);
			in = false;
		}
	}
	assert_false(in);
	size_t len;
	assert_int_equal(message_build_finish(&ob, &len), 0);

	struct payload_err err;
	enum payload_status st = message_parse(&M, msgbuf, len, &err);
	if (st != PAYLOAD_OK)
		fail_msg("%s: %s", spec, err.why);
	const struct ike_payload *sk = message_sk(&M);
	if (decrypt && sk && sk->type == PL_SK) {
		st = message_parse_inner(&M, sk->u.sk.first_inner, msgbuf + sk->u.sk.body_off,
					 sk->u.sk.body_len, &err);
		if (st != PAYLOAD_OK)
			fail_msg("%s: inner: %s", spec, err.why);
	}
}

struct tcase {
	uint8_t exchange;
	bool response;
	const char *spec;
	enum acceptance_status want;
	uint8_t payload; /* offending payload, checked when want != OK */
};

static void run(const struct tcase *c, size_t n)
{
	struct names_buf nb;
	for (size_t i = 0; i < n; i++) {
		struct acceptance_result res;
		make(c[i].exchange, c[i].response, c[i].spec, true);
		enum acceptance_status got = acceptance_check(&M, &res);
		if (got != c[i].want ||
		    (got != ACCEPT_OK && c[i].payload != PL_NONE && res.payload != c[i].payload))
			fail_msg("%s %s \"%s\": want %s (%s), got %s: %s",
				 names_exchange(c[i].exchange, &nb),
				 c[i].response ? "response" : "request", c[i].spec,
				 acceptance_status_name(c[i].want), names_payload(c[i].payload, &nb),
				 acceptance_status_name(got), got == ACCEPT_OK ? "" : res.why);
		assert_int_equal(res.status, got);
		if (got != ACCEPT_OK)
			assert_true(res.why[0] != '\0');
	}
}

#define RUN(tab) run(tab, sizeof(tab) / sizeof(tab[0]))
#define REQ false
#define RESP true

static void test_ike_sa_init(void **state)
{
	(void)state;
	static const struct tcase t[] = {
		/* RFC 7296 1.2: HDR, SAi1, KEi, Ni --> */
		{ IKE_SA_INIT, REQ, "SA KE Nonce", ACCEPT_OK, 0 },
		{ IKE_SA_INIT, REQ, "SA KE Nonce N(16388) N(16389) N(16430) N(16431) V V", ACCEPT_OK, 0 },
		/* RFC 7296 2.6: the retried request carries the cookie first */
		{ IKE_SA_INIT, REQ, "N(16390) SA KE Nonce", ACCEPT_OK, 0 },
		{ IKE_SA_INIT, REQ, "SA KE Nonce U200", ACCEPT_OK, 0 },
		{ IKE_SA_INIT, REQ, "SA Nonce", ACCEPT_MISSING, PL_KE },
		{ IKE_SA_INIT, REQ, "KE Nonce", ACCEPT_MISSING, PL_SA },
		{ IKE_SA_INIT, REQ, "SA KE", ACCEPT_MISSING, PL_NONCE },
		{ IKE_SA_INIT, REQ, "SA SA KE Nonce", ACCEPT_TOO_MANY, PL_SA },
		{ IKE_SA_INIT, REQ, "SA KE KE Nonce", ACCEPT_TOO_MANY, PL_KE },
		{ IKE_SA_INIT, REQ, "SA KE Nonce IDi", ACCEPT_NOT_ALLOWED, PL_IDI },
		{ IKE_SA_INIT, REQ, "SA KE Nonce CERTREQ", ACCEPT_NOT_ALLOWED, PL_CERTREQ },
		{ IKE_SA_INIT, REQ, "SA KE Nonce SK{}", ACCEPT_SK_NOT_ALLOWED, PL_SK },
		{ IKE_SA_INIT, REQ, "SA KE Nonce C200", ACCEPT_UNSUPPORTED_CRITICAL, 200 },
		/* even an error notify does not waive a request's payloads */
		{ IKE_SA_INIT, REQ, "N(14)", ACCEPT_MISSING, PL_SA },
		/* RFC 7296 1.2: <-- HDR, SAr1, KEr, Nr, [CERTREQ] */
		{ IKE_SA_INIT, RESP, "SA KE Nonce", ACCEPT_OK, 0 },
		{ IKE_SA_INIT, RESP, "SA KE Nonce CERTREQ CERTREQ N(16388) N(16389) N(16404)", ACCEPT_OK, 0 },
		{ IKE_SA_INIT, RESP, "SA Nonce", ACCEPT_MISSING, PL_KE },
		{ IKE_SA_INIT, RESP, "SA KE Nonce AUTH", ACCEPT_NOT_ALLOWED, PL_AUTH },
		/* error responses waive the required payloads (2.6, 1.2, RFC 5685) */
		{ IKE_SA_INIT, RESP, "N(16390)", ACCEPT_OK, 0 },
		{ IKE_SA_INIT, RESP, "N(17)", ACCEPT_OK, 0 },
		{ IKE_SA_INIT, RESP, "N(14)", ACCEPT_OK, 0 },
		{ IKE_SA_INIT, RESP, "N(16407)", ACCEPT_OK, 0 },
		{ IKE_SA_INIT, RESP, "N(16388)", ACCEPT_MISSING, PL_SA },
		/* ... but not the maximums */
		{ IKE_SA_INIT, RESP, "N(14) SA SA", ACCEPT_TOO_MANY, PL_SA },
	};
	RUN(t);
}

static void test_ike_auth(void **state)
{
	(void)state;
	static const struct tcase t[] = {
		/* RFC 7296 1.2: HDR, SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, SAi2, TSi, TSr} */
		{ IKE_AUTH, REQ, "SK{IDi AUTH SA TSi TSr}", ACCEPT_OK, 0 },
		{ IKE_AUTH, REQ, "SK{IDi CERT CERT CERTREQ IDr AUTH N(16384) CP SA TSi TSr N(16396) V}",
		  ACCEPT_OK, 0 },
		/* RFC 6023 childless */
		{ IKE_AUTH, REQ, "SK{IDi AUTH}", ACCEPT_OK, 0 },
		/* RFC 7296 2.16 EAP: first request without AUTH, then EAP rounds, then AUTH */
		{ IKE_AUTH, REQ, "SK{IDi SA TSi TSr}", ACCEPT_OK, 0 },
		{ IKE_AUTH, REQ, "SK{EAP}", ACCEPT_OK, 0 },
		{ IKE_AUTH, REQ, "SK{AUTH}", ACCEPT_OK, 0 },
		{ IKE_AUTH, REQ, "SK{SA TSi TSr}", ACCEPT_MISSING, PL_IDI },
		{ IKE_AUTH, REQ, "SK{}", ACCEPT_MISSING, PL_IDI },
		{ IKE_AUTH, REQ, "SK{AUTH SA TSi TSr}", ACCEPT_NOT_ALLOWED, PL_SA },
		{ IKE_AUTH, REQ, "SK{EAP AUTH}", ACCEPT_NOT_ALLOWED, PL_AUTH },
		{ IKE_AUTH, REQ, "SK{IDi IDi AUTH}", ACCEPT_TOO_MANY, PL_IDI },
		{ IKE_AUTH, REQ, "SK{IDi AUTH AUTH}", ACCEPT_TOO_MANY, PL_AUTH },
		{ IKE_AUTH, REQ, "SK{IDi AUTH KE}", ACCEPT_NOT_ALLOWED, PL_KE },
		{ IKE_AUTH, REQ, "SK{IDi AUTH SA TSi}", ACCEPT_INCOMPLETE_GROUP, PL_TSR },
		{ IKE_AUTH, REQ, "SK{IDi AUTH TSi TSr}", ACCEPT_INCOMPLETE_GROUP, PL_SA },
		{ IKE_AUTH, REQ, "IDi SK{AUTH}", ACCEPT_OUTSIDE_SK, PL_IDI },
		{ IKE_AUTH, REQ, "N(16384) SK{IDi AUTH}", ACCEPT_OUTSIDE_SK, PL_NOTIFY },
		{ IKE_AUTH, REQ, "", ACCEPT_NO_SK, PL_SK },
		{ IKE_AUTH, REQ, "SK{IDi AUTH C200}", ACCEPT_UNSUPPORTED_CRITICAL, 200 },
		{ IKE_AUTH, REQ, "SK{IDi AUTH U200}", ACCEPT_OK, 0 },
		/* unauthenticated junk outside SK: ignored unless critical */
		{ IKE_AUTH, REQ, "U200 SK{IDi AUTH}", ACCEPT_OK, 0 },
		{ IKE_AUTH, REQ, "C200 SK{IDi AUTH}", ACCEPT_OUTSIDE_SK, 200 },
		/* RFC 7296 1.2: <-- HDR, SK {IDr, [CERT,] AUTH, SAr2, TSi, TSr} */
		{ IKE_AUTH, RESP, "SK{IDr AUTH SA TSi TSr}", ACCEPT_OK, 0 },
		{ IKE_AUTH, RESP, "SK{IDr CERT AUTH CP SA TSi TSr N(16396) N(16397)}", ACCEPT_OK, 0 },
		{ IKE_AUTH, RESP, "SK{IDr AUTH}", ACCEPT_OK, 0 },
		/* Child SA failed, IKE SA up (RFC 7296 1.2 end) */
		{ IKE_AUTH, RESP, "SK{IDr AUTH N(38)}", ACCEPT_OK, 0 },
		{ IKE_AUTH, RESP, "SK{N(24)}", ACCEPT_OK, 0 },
		/* EAP (2.16) and RFC 4739 continuations */
		{ IKE_AUTH, RESP, "SK{IDr CERT AUTH EAP}", ACCEPT_OK, 0 },
		{ IKE_AUTH, RESP, "SK{EAP}", ACCEPT_OK, 0 },
		{ IKE_AUTH, RESP, "SK{AUTH SA TSi TSr}", ACCEPT_OK, 0 },
		{ IKE_AUTH, RESP, "SK{SA TSi TSr}", ACCEPT_OK, 0 },
		{ IKE_AUTH, RESP, "SK{IDr SA TSi TSr}", ACCEPT_MISSING, PL_AUTH },
		{ IKE_AUTH, RESP, "SK{IDr AUTH IDi}", ACCEPT_NOT_ALLOWED, PL_IDI },
		{ IKE_AUTH, RESP, "SK{IDr AUTH CERTREQ}", ACCEPT_NOT_ALLOWED, PL_CERTREQ },
		{ IKE_AUTH, RESP, "SK{IDr IDr AUTH}", ACCEPT_TOO_MANY, PL_IDR },
		{ IKE_AUTH, RESP, "SK{IDr AUTH SA TSr}", ACCEPT_INCOMPLETE_GROUP, PL_TSI },
		{ IKE_AUTH, RESP, "SK{EAP EAP}", ACCEPT_TOO_MANY, PL_EAP },
		{ IKE_AUTH, RESP, "AUTH SK{IDr}", ACCEPT_OUTSIDE_SK, PL_AUTH },
		{ IKE_AUTH, RESP, "SK{IDr AUTH C250}", ACCEPT_UNSUPPORTED_CRITICAL, 250 },
	};
	RUN(t);
}

static void test_create_child_sa(void **state)
{
	(void)state;
	static const struct tcase t[] = {
		/* RFC 7296 1.3.1: HDR, SK {SA, Ni, [KEi], TSi, TSr} */
		{ CREATE_CHILD_SA, REQ, "SK{SA Nonce TSi TSr}", ACCEPT_OK, 0 },
		{ CREATE_CHILD_SA, REQ, "SK{N(16393) SA Nonce KE TSi TSr}", ACCEPT_OK, 0 },
		/* 1.3.2: IKE SA rekey has no TS */
		{ CREATE_CHILD_SA, REQ, "SK{SA Nonce KE}", ACCEPT_OK, 0 },
		{ CREATE_CHILD_SA, REQ, "SK{SA TSi TSr}", ACCEPT_MISSING, PL_NONCE },
		{ CREATE_CHILD_SA, REQ, "SK{Nonce TSi TSr}", ACCEPT_MISSING, PL_SA },
		{ CREATE_CHILD_SA, REQ, "SK{SA Nonce TSi}", ACCEPT_INCOMPLETE_GROUP, PL_TSR },
		{ CREATE_CHILD_SA, REQ, "SK{SA Nonce KE KE}", ACCEPT_TOO_MANY, PL_KE },
		{ CREATE_CHILD_SA, REQ, "SK{SA Nonce IDi}", ACCEPT_NOT_ALLOWED, PL_IDI },
		{ CREATE_CHILD_SA, REQ, "SA SK{Nonce}", ACCEPT_OUTSIDE_SK, PL_SA },
		{ CREATE_CHILD_SA, REQ, "SK{N(14)}", ACCEPT_MISSING, PL_SA },
		/* <-- HDR, SK {SA, Nr, [KEr], TSi, TSr} */
		{ CREATE_CHILD_SA, RESP, "SK{SA Nonce TSi TSr}", ACCEPT_OK, 0 },
		{ CREATE_CHILD_SA, RESP, "SK{SA Nonce KE TSi TSr N(16386)}", ACCEPT_OK, 0 },
		{ CREATE_CHILD_SA, RESP, "SK{SA Nonce KE}", ACCEPT_OK, 0 },
		{ CREATE_CHILD_SA, RESP, "SK{N(14)}", ACCEPT_OK, 0 },
		{ CREATE_CHILD_SA, RESP, "SK{N(17)}", ACCEPT_OK, 0 },
		{ CREATE_CHILD_SA, RESP, "SK{N(43)}", ACCEPT_OK, 0 },
		{ CREATE_CHILD_SA, RESP, "SK{Nonce TSi TSr}", ACCEPT_MISSING, PL_SA },
		{ CREATE_CHILD_SA, RESP, "SK{SA Nonce D}", ACCEPT_NOT_ALLOWED, PL_DELETE },
		{ CREATE_CHILD_SA, RESP, "SK{SA Nonce Nonce}", ACCEPT_TOO_MANY, PL_NONCE },
	};
	RUN(t);
}

static void test_informational(void **state)
{
	(void)state;
	static const struct tcase t[] = {
		/* RFC 7296 1.4: HDR, SK {[N,] [D,] [CP,] ...}; empty = liveness check */
		{ INFORMATIONAL, REQ, "SK{}", ACCEPT_OK, 0 },
		{ INFORMATIONAL, REQ, "SK{D}", ACCEPT_OK, 0 },
		{ INFORMATIONAL, REQ, "SK{D D D}", ACCEPT_OK, 0 },
		/* RFC 4555 3.5 MOBIKE address update */
		{ INFORMATIONAL, REQ, "SK{N(16400) N(16388) N(16389) N(16401)}", ACCEPT_OK, 0 },
		{ INFORMATIONAL, REQ, "SK{CP}", ACCEPT_OK, 0 },
		{ INFORMATIONAL, REQ, "SK{CP CP}", ACCEPT_TOO_MANY, PL_CP },
		{ INFORMATIONAL, REQ, "SK{SA}", ACCEPT_NOT_ALLOWED, PL_SA },
		{ INFORMATIONAL, REQ, "SK{D AUTH}", ACCEPT_NOT_ALLOWED, PL_AUTH },
		{ INFORMATIONAL, REQ, "D SK{}", ACCEPT_OUTSIDE_SK, PL_DELETE },
		{ INFORMATIONAL, REQ, "", ACCEPT_NO_SK, PL_SK },
		{ INFORMATIONAL, REQ, "SK{C200}", ACCEPT_UNSUPPORTED_CRITICAL, 200 },
		{ INFORMATIONAL, RESP, "SK{}", ACCEPT_OK, 0 },
		{ INFORMATIONAL, RESP, "SK{D}", ACCEPT_OK, 0 },
		{ INFORMATIONAL, RESP, "SK{N(16388) N(16389) N(16401)}", ACCEPT_OK, 0 },
		{ INFORMATIONAL, RESP, "SK{N(7)}", ACCEPT_OK, 0 },
		{ INFORMATIONAL, RESP, "SK{KE}", ACCEPT_NOT_ALLOWED, PL_KE },
		{ INFORMATIONAL, RESP, "N(7) SK{}", ACCEPT_OUTSIDE_SK, PL_NOTIFY },
	};
	RUN(t);
}

static void test_other_exchanges(void **state)
{
	(void)state;
	static const struct tcase t[] = {
		/* RFC 9242 IKE_INTERMEDIATE, RFC 9370 additional KE in it */
		{ IKE_INTERMEDIATE, REQ, "SK{}", ACCEPT_OK, 0 },
		{ IKE_INTERMEDIATE, REQ, "SK{KE}", ACCEPT_OK, 0 },
		{ IKE_INTERMEDIATE, RESP, "SK{KE N(16438)}", ACCEPT_OK, 0 },
		{ IKE_INTERMEDIATE, REQ, "SK{Nonce}", ACCEPT_NOT_ALLOWED, PL_NONCE },
		{ IKE_INTERMEDIATE, RESP, "KE SK{}", ACCEPT_OUTSIDE_SK, PL_KE },
		/* RFC 5723 4.3.1 IKE_SESSION_RESUME: in the clear */
		{ IKE_SESSION_RESUME, REQ, "Nonce N(16413)", ACCEPT_OK, 0 },
		{ IKE_SESSION_RESUME, REQ, "Nonce", ACCEPT_MISSING, PL_NOTIFY },
		{ IKE_SESSION_RESUME, REQ, "Nonce N(16413) SK{}", ACCEPT_SK_NOT_ALLOWED, PL_SK },
		{ IKE_SESSION_RESUME, RESP, "Nonce N(16388)", ACCEPT_OK, 0 },
		/* RFC 5723 4.3.2: <-- HDR, N(TICKET_NACK) (a status type, waived explicitly) */
		{ IKE_SESSION_RESUME, RESP, "N(16412)", ACCEPT_OK, 0 },
		{ IKE_SESSION_RESUME, RESP, "N(16388)", ACCEPT_MISSING, PL_NONCE },
		{ 99, REQ, "SK{}", ACCEPT_UNKNOWN_EXCHANGE, PL_NONE },
		{ 33, RESP, "SA", ACCEPT_UNKNOWN_EXCHANGE, PL_NONE },
	};
	RUN(t);
}

/* Reasons, result fields, and the pre-decryption check. */
static void test_reasons_and_outer(void **state)
{
	(void)state;
	struct acceptance_result res;

	make(IKE_AUTH, REQ, "SK{SA TSi TSr}", true);
	assert_int_equal(acceptance_check(&M, &res), ACCEPT_MISSING);
	assert_string_equal(res.why, "IKE_AUTH request: missing IDi (got 0, needs 1)");
	assert_string_equal(res.row, "IKE_AUTH request");
	assert_int_equal(res.payload, PL_IDI);
	assert_int_equal(res.got, 0);
	assert_int_equal(res.min, 1);

	make(IKE_SA_INIT, REQ, "SA SA SA KE Nonce", true);
	assert_int_equal(acceptance_check(&M, &res), ACCEPT_TOO_MANY);
	assert_string_equal(res.why, "IKE_SA_INIT request: too many SA (got 3, max 1)");
	assert_int_equal(res.got, 3);
	assert_int_equal(res.max, 1);

	make(IKE_AUTH, RESP, "SK{EAP IDi}", true);
	assert_int_equal(acceptance_check(&M, &res), ACCEPT_NOT_ALLOWED);
	assert_string_equal(res.why, "IKE_AUTH response (EAP round): IDi not allowed");

	make(INFORMATIONAL, REQ, "SK{D C201}", true);
	assert_int_equal(acceptance_check(&M, &res), ACCEPT_UNSUPPORTED_CRITICAL);
	assert_int_equal(res.payload, 201);
	assert_non_null(strstr(res.why, "unsupported critical payload type 201"));

	make(IKE_AUTH, REQ, "SK{IDi AUTH SA TSr}", true);
	assert_int_equal(acceptance_check(&M, &res), ACCEPT_INCOMPLETE_GROUP);
	assert_non_null(strstr(res.why, "TSi missing"));

	/* before decryption: outer check passes, full check says not decrypted */
	make(IKE_AUTH, REQ, "SK{IDi AUTH}", false);
	assert_int_equal(acceptance_check_outer(&M, &res), ACCEPT_OK);
	assert_int_equal(acceptance_check(&M, &res), ACCEPT_NOT_DECRYPTED);
	make(IKE_AUTH, REQ, "IDi SK{AUTH}", false);
	assert_int_equal(acceptance_check_outer(&M, &res), ACCEPT_OUTSIDE_SK);
	assert_string_equal(res.why, "IKE_AUTH request: IDi outside SK, must be inside");
	make(IKE_AUTH, REQ, "V", false);
	assert_int_equal(acceptance_check_outer(&M, &res), ACCEPT_NO_SK);
	make(IKE_AUTH, REQ, "U200 SK{IDi}", false);
	assert_int_equal(acceptance_check_outer(&M, &res), ACCEPT_OK);
	/* a lone RFC 7383 fragment passes the outer check */
	make(IKE_AUTH, REQ, "SKF", false);
	assert_int_equal(acceptance_check_outer(&M, &res), ACCEPT_OK);
	assert_int_equal(message_sk(&M)->type, PL_SKF);
	/* a clear exchange gets the full check from the outer entry point */
	make(IKE_SA_INIT, REQ, "SA KE", false);
	assert_int_equal(acceptance_check_outer(&M, &res), ACCEPT_MISSING);
	assert_int_equal(res.payload, PL_NONCE);
	make(IKE_SA_INIT, REQ, "SA KE Nonce SKF", false);
	assert_int_equal(acceptance_check_outer(&M, &res), ACCEPT_SK_NOT_ALLOWED);
	make(99, REQ, "SK{}", false);
	assert_int_equal(acceptance_check_outer(&M, &res), ACCEPT_UNKNOWN_EXCHANGE);
	/* res may be NULL */
	make(IKE_SA_INIT, RESP, "SA KE Nonce", true);
	assert_int_equal(acceptance_check(&M, NULL), ACCEPT_OK);

	assert_true(acceptance_exchange_encrypted(IKE_AUTH));
	assert_true(acceptance_exchange_encrypted(INFORMATIONAL));
	assert_false(acceptance_exchange_encrypted(IKE_SA_INIT));
	assert_string_equal(acceptance_status_name(ACCEPT_OUTSIDE_SK), "OUTSIDE_SK");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ike_sa_init),
		cmocka_unit_test(test_ike_auth),
		cmocka_unit_test(test_create_child_sa),
		cmocka_unit_test(test_informational),
		cmocka_unit_test(test_other_exchanges),
		cmocka_unit_test(test_reasons_and_outer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
