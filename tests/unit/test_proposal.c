/*
 * Proposal negotiation (daemon/proposal.c) with RFC 9370's additional key
 * exchanges: until IKE_INTERMEDIATE exists, a peer's proposal carrying
 * ADDKE transforms is never chosen (the responder then answers
 * NO_PROPOSAL_CHOSEN), its other proposals still are, and the log note
 * says why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/ikev2.h"
#include "daemon/payload.h"
#include "daemon/proposal.h"
#include "daemon/proposal_config.h"

static const uint8_t spi8[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* strongSwan's x25519-ke1_mlkem768 offer, and the same with ke1_none (optional). */
static const struct ike_transform pq[] = {
	{ .type = TRANS_ENCR, .id = ENCR_AES_GCM_16, .key_len = 256 },
	{ .type = TRANS_PRF, .id = PRF_HMAC_SHA2_256 },
	{ .type = TRANS_DH, .id = DH_CURVE25519 },
	{ .type = TRANS_ADDKE1, .id = DH_MLKEM768 },
};
static const struct ike_transform pq_optional[] = {
	{ .type = TRANS_ENCR, .id = ENCR_AES_GCM_16, .key_len = 256 },
	{ .type = TRANS_PRF, .id = PRF_HMAC_SHA2_256 },
	{ .type = TRANS_DH, .id = DH_CURVE25519 },
	{ .type = TRANS_ADDKE1, .id = DH_MLKEM768 },
	{ .type = TRANS_ADDKE1, .id = 0 },
};
static const struct ike_transform classic[] = {
	{ .type = TRANS_ENCR, .id = ENCR_AES_GCM_16, .key_len = 256 },
	{ .type = TRANS_PRF, .id = PRF_HMAC_SHA2_256 },
	{ .type = TRANS_DH, .id = DH_CURVE25519 },
};

#define PROP(n, xf) \
	{ .num = (n), .protocol = PROTO_IKE, .spi = { spi8, 8 }, \
	  .n_transforms = sizeof(xf) / sizeof((xf)[0]), .transforms = (xf) }

static void test_proposal_addke_not_chosen(void **state)
{
	struct proposal_cfg_list ours;
	struct proposal_sel sel;
	char err[256];
	const struct ike_proposal only_pq[] = { PROP(1, pq), PROP(2, pq_optional) };
	const struct ike_proposal pq_then_classic[] = { PROP(1, pq), PROP(2, classic) };
	const struct ike_sa a = { .n_proposals = 2, .proposals = only_pq };
	const struct ike_sa b = { .n_proposals = 2, .proposals = pq_then_classic };
	const struct ike_sa c = { .n_proposals = 1, .proposals = &pq_then_classic[1] };

	(void)state;
	assert_int_equal(proposal_cfg_parse("aes256gcm16-prfsha256-x25519", PROTO_IKE, &ours, err,
					    sizeof(err)), 0);
	/* Only proposals with ADDKE: none chosen, the note says why. */
	assert_false(proposal_select(&ours, &a, PROTO_IKE, DH_CURVE25519, true, &sel));
	assert_non_null(strstr(proposal_addke_note(&a, PROTO_IKE), "RFC 9370"));
	assert_string_equal(proposal_addke_note(&a, PROTO_ESP), "");
	/* A classic proposal next to it: that one (RFC 9370 2.2.1's fallback). */
	assert_true(proposal_select(&ours, &b, PROTO_IKE, DH_CURVE25519, true, &sel));
	assert_int_equal(sel.num, 2);
	assert_int_equal(sel.dh, DH_CURVE25519);
	/* An initiator's check refuses an answer that chose an additional exchange. */
	assert_false(proposal_check_answer(&ours, &(struct ike_sa){ 1, &only_pq[0] }, PROTO_IKE,
					   true, &sel));
	assert_true(proposal_check_answer(&ours, &c, PROTO_IKE, true, &sel));
	assert_string_equal(proposal_addke_note(&c, PROTO_IKE), "");
	proposal_cfg_list_free(&ours);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proposal_addke_not_chosen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
