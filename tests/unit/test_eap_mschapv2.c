/* EAP-MSCHAPv2 packets (daemon/eap_mschapv2.c): parsing, building, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "daemon/eap_mschapv2.h"

static void test_eap_mschapv2_packets(void **st)
{
	(void)st;
	uint8_t chal[16], resp[49], buf[256];
	memset(chal, 0x5a, sizeof(chal));
	memset(resp, 0xa5, sizeof(resp));
	char why[160];
	struct eap_mschapv2 m = {.op = MSCHAPV2_OP_CHALLENGE, .id = 7, .value = {chal, 16},
				 .text = {(const uint8_t *)"gw", 2}}, got;
	size_t n = eap_mschapv2_build(&m, true, buf, sizeof(buf));
	assert_int_equal(n, 4 + 1 + 16 + 2);
	assert_int_equal(buf[2] << 8 | buf[3], n); /* MS-Length: the whole Type-Data */
	struct ike_bytes td = {buf, n};
	assert_int_equal(eap_mschapv2_parse(&td, true, &got, why, sizeof(why)), 0);
	assert_int_equal(got.id, 7);
	assert_int_equal(got.value.len, 16);
	assert_memory_equal(got.text.ptr, "gw", 2);
	/* A Challenge is not a response. */
	assert_int_equal(eap_mschapv2_parse(&td, false, &got, why, sizeof(why)), -1);
	/* The Response: Value-Size 49. */
	m = (struct eap_mschapv2){.op = MSCHAPV2_OP_RESPONSE, .id = 7, .value = {resp, 49},
				  .text = {(const uint8_t *)"alice", 5}};
	n = eap_mschapv2_build(&m, false, buf, sizeof(buf));
	td = (struct ike_bytes){buf, n};
	assert_int_equal(eap_mschapv2_parse(&td, false, &got, why, sizeof(why)), 0);
	assert_int_equal(got.value.len, 49);
	assert_memory_equal(got.text.ptr, "alice", 5);
	buf[4] = 48; /* Value-Size */
	assert_int_equal(eap_mschapv2_parse(&td, false, &got, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "Value-Size 48"));
	buf[4] = 49;
	buf[3]++; /* MS-Length */
	assert_int_equal(eap_mschapv2_parse(&td, false, &got, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "MS-Length"));
	/* The peer's one-octet Success acknowledgement; two octets are refused. */
	buf[0] = MSCHAPV2_OP_SUCCESS;
	td = (struct ike_bytes){buf, 1};
	assert_int_equal(eap_mschapv2_parse(&td, false, &got, why, sizeof(why)), 0);
	assert_int_equal(got.op, MSCHAPV2_OP_SUCCESS);
	td.len = 2;
	assert_int_equal(eap_mschapv2_parse(&td, false, &got, why, sizeof(why)), -1);
	/* The authenticator's Success carries "S=<auth response> M=<message>". */
	static const char msg[] = "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=welcome";
	m = (struct eap_mschapv2){.op = MSCHAPV2_OP_SUCCESS, .id = 7,
				  .text = {(const uint8_t *)msg, sizeof(msg) - 1}};
	n = eap_mschapv2_build(&m, true, buf, sizeof(buf));
	td = (struct ike_bytes){buf, n};
	assert_int_equal(eap_mschapv2_parse(&td, true, &got, why, sizeof(why)), 0);
	assert_int_equal(got.text.len, sizeof(msg) - 1);
	assert_int_equal(got.value.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eap_mschapv2_packets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
