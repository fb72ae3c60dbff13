/*
 * The table of exchanges (daemon/exchange.c): each row names acceptance
 * rows that exist, each step makes the task it names for the row's
 * exchange, and a request finds the row and the tasks the responder ran
 * before the table (IKE_AUTH with and without a Child SA, an IKE rekey
 * and a Child SA in CREATE_CHILD_SA, INFORMATIONAL with and without RFC
 * 4555 notifies); the initiator's IKE_AUTH of a reauthentication carries
 * no INITIAL_CONTACT.
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
#include "daemon/config.h"
#include "daemon/exchange.h"
#include "daemon/message.h"
#include "daemon/payload.h"
#include "daemon/task.h"

static struct ike_msg M;
static uint8_t msgbuf[4096], inner[2048];

/* A request of exchange whose SK holds an SA for proto (0: none) and notify (0: none). */
static const struct ike_msg *request(uint8_t exchange, uint8_t proto, uint16_t notify)
{
	static const struct ike_transform t = { TRANS_ENCR, ENCR_AES_GCM_16, 256, 0 };
	static const uint8_t filler[32] = { 1 };
	struct ike_proposal p = { 1, proto, { filler, proto == PROTO_IKE ? 8 : 4 }, 1, &t };
	struct ike_hdr h = { .spi_i = 1, .spi_r = 2, .exchange = exchange,
			     .flags = IKE_FLAG_INITIATOR, .msg_id = 1 };
	struct ike_builder ob, ib;
	message_build_init(&ob, msgbuf, sizeof(msgbuf), &h);
	message_build_inner_init(&ib, inner, sizeof(inner));
	if (notify)
		payload_build_notify_simple(&ib, PROTO_NONE, notify, NULL, 0, NULL, 0);
	if (proto) {
		payload_build_sa(&ib, &(struct ike_sa){ 1, &p });
		payload_build_nonce(&ib, &(struct ike_nonce){ { filler, 32 } });
	}
	size_t ilen, len;
	assert_int_equal(message_build_finish(&ib, &ilen), 0);
	uint8_t *body = message_build_sk(&ob, ib.first, ilen);
	assert_non_null(body);
	memcpy(body, inner, ilen);
	assert_int_equal(message_build_finish(&ob, &len), 0);
	struct payload_err err;
	assert_int_equal(message_parse(&M, msgbuf, len, &err), PAYLOAD_OK);
	const struct ike_payload *sk = message_sk(&M);
	assert_non_null(sk);
	assert_int_equal(message_parse_inner(&M, sk->u.sk.first_inner, msgbuf + sk->u.sk.body_off,
					     sk->u.sk.body_len, &err),
			 PAYLOAD_OK);
	return &M;
}

/* The names of a task list, space-separated; frees the list. */
static const char *names(struct task *t)
{
	static char buf[256];
	buf[0] = '\0';
	while (t) {
		struct task *n = t->next;
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? " " : "",
			 t->ops->name);
		t->ops->free(t);
		t = n;
	}
	return buf;
}

static const char *responder(const struct ike_msg *m)
{
	const struct exchange_row *row = exchange_row_for(m);
	if (!row)
		return "(no row)";
	return names(exchange_tasks(row, &(struct exchange_args){ .request = m }));
}

static void test_exchange_rows_consistent(void **state)
{
	(void)state;
	struct child_cfg cfg = { .name = "c" };
	size_t n;
	const struct exchange_row *rows = exchange_rows(&n);
	assert_true(n >= 5);
	for (size_t i = 0; i < n; i++) {
		const struct exchange_row *r = &rows[i];
		assert_ptr_equal(exchange_row(r->kind), r);
		if (!acceptance_has_row(r->exchange, false, r->accept_request) ||
		    !acceptance_has_row(r->exchange, true, r->accept_response))
			fail_msg("%s: acceptance rows '%s', '%s' not in acceptance.c", r->name,
				 r->accept_request, r->accept_response);
		assert_non_null(r->steps[0].make);
		/* Every step makes the task it names, for the row's exchange (initiator side). */
		for (const struct exchange_step *s = r->steps;
		     s < r->steps + EXCHANGE_STEPS_MAX && s->make; s++) {
			struct task *t = s->make(&(struct exchange_args){ .child = &cfg });
			assert_non_null(t);
			if (strcmp(t->ops->name, s->task) != 0)
				fail_msg("%s: step '%s' makes '%s'", r->name, s->task, t->ops->name);
			if (s->roles & EXCH_I)
				assert_int_equal(t->ops->exchange, r->exchange);
			t->ops->free(t);
		}
	}
}

static void test_exchange_responder_tasks(void **state)
{
	(void)state;
	assert_string_equal(responder(request(IKE_AUTH, PROTO_ESP, 0)),
			    "IKE_AUTH initial_contact mobike_auth CHILD_CREATE");
	/* RFC 6023: childless IKE_AUTH. */
	assert_string_equal(responder(request(IKE_AUTH, 0, 0)),
			    "IKE_AUTH initial_contact mobike_auth");
	assert_string_equal(responder(request(CREATE_CHILD_SA, PROTO_IKE, 0)), "IKE_REKEY");
	assert_string_equal(responder(request(CREATE_CHILD_SA, PROTO_ESP, 0)), "CHILD_CREATE");
	assert_string_equal(responder(request(INFORMATIONAL, 0, 0)), "INFORMATIONAL_R");
	assert_string_equal(responder(request(INFORMATIONAL, 0, N_UPDATE_SA_ADDRESSES)),
			    "INFORMATIONAL_R mobike_r");
	assert_string_equal(responder(request(IKE_INTERMEDIATE, 0, 0)), "(no row)");
}

static void test_exchange_initiator_tasks(void **state)
{
	(void)state;
	struct child_cfg cfg = { .name = "c" };
	const struct exchange_row *auth = exchange_row(EXCH_IKE_AUTH);
	assert_string_equal(names(exchange_tasks(auth, &(struct exchange_args){ .child = &cfg })),
			    "IKE_AUTH initial_contact mobike_auth config CHILD_CREATE");
	assert_string_equal(names(exchange_tasks(auth, &(struct exchange_args){ 0 })),
			    "IKE_AUTH initial_contact mobike_auth config");
	/* RFC 7296 2.4: a reauthentication's IKE_AUTH sends no INITIAL_CONTACT. */
	assert_string_equal(names(exchange_tasks(auth, &(struct exchange_args){ .child = &cfg,
										 .reauth = true })),
			    "IKE_AUTH mobike_auth config CHILD_CREATE");
	assert_string_equal(names(exchange_tasks(exchange_row(EXCH_CHILD_SA),
						 &(struct exchange_args){ .child = &cfg })),
			    "CHILD_CREATE");
	/* Our INFORMATIONAL requests are single tasks queued by their owners. */
	assert_null(exchange_tasks(exchange_row(EXCH_INFORMATIONAL), &(struct exchange_args){ 0 }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange_rows_consistent),
		cmocka_unit_test(test_exchange_responder_tasks),
		cmocka_unit_test(test_exchange_initiator_tasks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
