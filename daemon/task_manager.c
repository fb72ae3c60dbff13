/* Message IDs, retransmission, response cache, task dispatch (see task_manager.h). */
#include "daemon/task_manager.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sk.h"
#include "daemon/acceptance.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_teardown.h"
#include "daemon/exchange.h"
#include "daemon/fragment.h"
#include "daemon/ikesa.h"
#include "daemon/endpoint.h"
#include "daemon/log.h"
#include "daemon/message_str.h"
#include "daemon/metrics.h"
#include "daemon/mobike.h"
#include "daemon/names.h"
#include "daemon/natt.h"
#include "daemon/sa_event.h"
#include "daemon/task.h"
#include "daemon/timers.h"

#define TM_BUF_MAX IKE_MSG_MAX

static void free_tasks(struct task *t)
{
	while (t) {
		struct task *n = t->next;
		t->ops->free(t);
		t = n;
	}
}

void tm_clear(struct ikesa *sa)
{
	struct tm_state *tm = &sa->tm;
	timer_cancel(sa->e->env.loop, &tm->retransmit_timer);
	free_tasks(tm->queue);
	free_tasks(tm->active_i);
	tm->queue = tm->active_i = NULL;
	free(tm->req);
	free(tm->resp);
	tm->req = tm->resp = NULL;
	tm->req_pending = tm->resp_valid = false;
	frag_clear(sa);
}

void tm_drop_queued(struct ikesa *sa)
{
	free_tasks(sa->tm.queue);
	sa->tm.queue = NULL;
}

int tm_busy(const struct ikesa *sa)
{
	return sa->tm.req_pending || sa->tm.queue != NULL;
}

/*
 * Build a message of `exchange` into e->txbuf: IKE_SA_INIT in the clear,
 * anything else with the payloads inside SK. `build` adds the payloads.
 * Returns the length or 0 on failure (logged).
 */
typedef enum task_status (*build_fn)(struct task *t, struct ikesa *sa, struct ike_builder *b);

/*
 * At debug, the payload list of what was just built (message_str.h) into
 * sum[0..MESSAGE_STR_MAX), from the clear message or the plaintext chain
 * before it is sealed; sum is left empty otherwise.
 */
static void summarize(const struct ike_hdr *h, const uint8_t *clear, size_t clear_len,
		      uint8_t first_inner, const uint8_t *plain, size_t plain_len, char *sum)
{
	struct payload_err perr;
	struct ike_msg *m;

	sum[0] = '\0';
	if (!log_enabled(LOG_ENC, LOG_LVL_DEBUG) || !(m = malloc(sizeof(*m))))
		return;
	if (clear) {
		if (message_parse(m, clear, clear_len, &perr) == PAYLOAD_OK)
			message_str(m, sum, MESSAGE_STR_MAX);
	} else {
		message_reset(m);
		m->hdr = *h;
		if (message_parse_inner(m, first_inner, plain, plain_len, &perr) == PAYLOAD_OK)
			message_str(m, sum, MESSAGE_STR_MAX);
	}
	free(m);
}

/* Datagrams in buf[0..len): one message, or RFC 7383 fragments back to back (fragment.h). */
static unsigned count_datagrams(const uint8_t *buf, size_t len)
{
	unsigned n = 0;
	size_t off = 0;

	while (off + IKE_HDR_LEN <= len) {
		uint32_t l = (uint32_t)buf[off + 24] << 24 | (uint32_t)buf[off + 25] << 16 |
			     (uint32_t)buf[off + 26] << 8 | buf[off + 27];
		if (l < IKE_HDR_LEN)
			break;
		off += l;
		n++;
	}
	return n;
}

/*
 * The debug line of a message going out (sum from summarize); req: the
 * request it answers (its datagram's addresses), or NULL.
 */
static void log_sending(const struct ikesa *sa, const struct ike_msg *req, const char *sum,
			const uint8_t *buf, size_t len)
{
	const struct sockaddr_storage *rx_local = req ? req->rx_local : NULL;
	const struct sockaddr_storage *rx_remote = req ? req->rx_remote : NULL;
	const struct sockaddr_storage *l = &sa->local, *r = &sa->remote;
	char ls[64], rs[64], frags[32] = "";
	unsigned n;

	if (!sum[0] || !log_enabled(LOG_ENC, LOG_LVL_DEBUG))
		return;
	/* A response goes where its request came from (send_back). */
	if (len > IKE_HDR_LEN && (buf[19] & IKE_FLAG_RESPONSE) && rx_remote &&
	    rx_remote->ss_family) {
		r = rx_remote;
		if (rx_local && rx_local->ss_family)
			l = rx_local;
	}
	n = count_datagrams(buf, len);
	if (n > 1)
		snprintf(frags, sizeof(frags), " in %u fragments", n);
	log_msg(LOG_ENC, LOG_LVL_DEBUG, "%s: sending %s%s from %s to %s (%zu octets)",
		ikesa_tag(sa), sum, frags, endpoint_str(l, ls, sizeof(ls)),
		endpoint_str(r, rs, sizeof(rs)), len);
}

static size_t build_message(struct ikesa *sa, uint8_t exchange, bool response, uint32_t msg_id,
			    struct task *tasks, size_t n_tasks_max, bool use_build_r,
			    enum task_status *worst, enum task_status *best, char *sum)
{
	struct engine *e = sa->e;
	struct ike_hdr h = {
		.spi_i = sa->spi_i,
		.spi_r = sa->spi_r,
		.exchange = exchange,
		.flags = (uint8_t)((sa->initiator ? IKE_FLAG_INITIATOR : 0) |
				   (response ? IKE_FLAG_RESPONSE : 0)),
		.msg_id = msg_id,
	};
	struct ike_builder b;
	bool clear = exchange == IKE_SA_INIT;
	uint8_t *plain = e->rxbuf + TM_BUF_MAX; /* second half of the scratch */
	*worst = TASK_DONE;
	*best = TASK_DESTROY;
	if (clear)
		message_build_init(&b, e->txbuf, TM_BUF_MAX, &h);
	else
		message_build_inner_init(&b, plain, TM_BUF_MAX);
	size_t i = 0;
	for (struct task *t = tasks; t && i < n_tasks_max; t = t->next, i++) {
		build_fn fn = use_build_r ? t->ops->build_r : t->ops->build_i;
		if (!fn)
			continue;
		enum task_status st = fn(t, sa, &b);
		if (st > *worst)
			*worst = st;
		if (st < *best)
			*best = st;
	}
	size_t len = 0;
	if (message_build_finish(&b, &len) != 0) {
		log_msg(LOG_ENC, LOG_LVL_ERROR, "%s: building %s failed", ikesa_tag(sa),
			names_exchange(exchange, &(struct names_buf){0}));
		return 0;
	}
	summarize(&h, clear ? e->txbuf : NULL, len, b.first, plain, len, sum);
	if (clear)
		return len;
	if (!sa->c_out) {
		log_msg(LOG_ENC, LOG_LVL_ERROR, "%s: no keys to protect %s", ikesa_tag(sa),
			names_exchange(exchange, &(struct names_buf){0}));
		return 0;
	}
	/* RFC 7296 3.14: header | SK header | IV | encrypted(inner | pad) | ICV */
	size_t inner_len = len;
	size_t total = 0;
	/* RFC 7383: too large for one datagram, as SKF fragments back to back in txbuf. */
	int fr = frag_seal(sa, &h, b.first, plain, inner_len, e->txbuf, TM_BUF_MAX, &total);
	if (fr != 0) {
		crypto_wipe(plain, inner_len);
		return fr > 0 ? total : 0;
	}
	struct ike_builder ob;
	message_build_init(&ob, e->txbuf, TM_BUF_MAX, &h);
	uint8_t *body = message_build_sk(&ob, b.first, sk_sealed_len(sa->c_out, inner_len));
	if (!body || message_build_finish(&ob, &total) != 0) {
		log_msg(LOG_ENC, LOG_LVL_ERROR, "%s: message too large (%zu octets inside SK)",
			ikesa_tag(sa), inner_len);
		return 0;
	}
	int rc = sk_seal(sa->c_out, e->txbuf, (size_t)(body - e->txbuf), plain, inner_len,
			 e->env.rng);
	crypto_wipe(plain, inner_len);
	if (rc != 0) {
		log_msg(LOG_ENC, LOG_LVL_ERROR, "%s: SK protection failed (%d)", ikesa_tag(sa), rc);
		return 0;
	}
	return total;
}

/* buf may hold several datagrams: the fragments of one message (fragment.h). */
static void send_to(struct ikesa *sa, const uint8_t *buf, size_t len)
{
	sa->last_tx_ms = engine_now(sa->e); /* NAT keepalives wait for idle times (timers.h) */
	frag_send(sa, buf, len);
}

/*
 * A response goes back to where its request came from (RFC 7296 2.11),
 * also when the IKE SA's addresses stay: under MOBIKE only
 * UPDATE_SA_ADDRESSES moves them (RFC 4555 3.5), and a peer probing a new
 * path must hear back on it.
 */
static void send_back(struct ikesa *sa, const struct sockaddr_storage *rx_local,
		      const struct sockaddr_storage *rx_remote, const uint8_t *buf, size_t len)
{
	if (!rx_remote || !rx_remote->ss_family) {
		send_to(sa, buf, len);
		return;
	}
	struct sockaddr_storage l = sa->local, r = sa->remote;
	sa->remote = *rx_remote;
	if (rx_local && rx_local->ss_family)
		sa->local = *rx_local;
	send_to(sa, buf, len);
	sa->local = l;
	sa->remote = r;
}

static void on_retransmit(struct loop *loop, struct timer *t, void *ctx);

static uint64_t retransmit_delay(const struct engine *e, unsigned n)
{
	double d = e->timing.retransmit_timeout_ms * pow(e->timing.retransmit_base, n);
	return (uint64_t)d;
}

void tm_initiate(struct ikesa *sa)
{
	struct tm_state *tm = &sa->tm;
	struct engine *e = sa->e;
	/* Not while a response is being processed: its tasks may queue more. */
	if (tm->req_pending || tm->active_i || !tm->queue || sa->state == IKESA_DESTROYING)
		return;
	/* An exchange carries the first queued task and the following ones of the same exchange. */
	uint8_t exchange = tm->queue->ops->exchange;
	struct task **tail = &tm->active_i;
	while (tm->queue && tm->queue->ops->exchange == exchange) {
		struct task *t = tm->queue;
		tm->queue = t->next;
		t->next = NULL;
		*tail = t;
		tail = &t->next;
		/* One Delete per exchange keeps the bookkeeping simple; one SA
		 * payload per CREATE_CHILD_SA (RFC 7296 1.3): one task each. */
		if (exchange == INFORMATIONAL || exchange == CREATE_CHILD_SA)
			break;
	}
	tm->req_id = exchange == IKE_SA_INIT ? 0 : tm->next_out_id;
	enum task_status worst, best;
	char sum[MESSAGE_STR_MAX];
	size_t len = build_message(sa, exchange, false, tm->req_id, tm->active_i, SIZE_MAX, false,
				   &worst, &best, sum);
	if (worst != TASK_DESTROY && best == TASK_FAILED) {
		/* Nothing left to ask (e.g. the Child SA to rekey is gone): next exchange. */
		free_tasks(tm->active_i);
		tm->active_i = NULL;
		tm_initiate(sa);
		return;
	}
	if (len == 0 || worst == TASK_DESTROY) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: cannot initiate %s", ikesa_tag(sa),
			names_exchange(exchange, &(struct names_buf){0}));
		free_tasks(tm->active_i);
		tm->active_i = NULL;
		engine_destroy_sa(e, sa);
		return;
	}
	free(tm->req);
	tm->req = malloc(len);
	if (!tm->req) {
		engine_destroy_sa(e, sa);
		return;
	}
	memcpy(tm->req, e->txbuf, len);
	tm->req_len = len;
	tm->req_pending = true;
	tm->retransmits = 0;
	if (exchange == IKE_SA_INIT) {
		/* RFC 7296 2.15: the initiator signs its IKE_SA_INIT request as sent. */
		free(sa->init_req);
		sa->init_req = malloc(len);
		if (sa->init_req) {
			memcpy(sa->init_req, tm->req, len);
			sa->init_req_len = len;
		}
	}
	log_sending(sa, NULL, sum, tm->req, len);
	send_to(sa, tm->req, len);
	timer_cancel(e->env.loop, &tm->retransmit_timer); /* never re-init an armed timer */
	timer_init(&tm->retransmit_timer, on_retransmit, sa);
	timer_arm_in(e->env.loop, &tm->retransmit_timer, retransmit_delay(e, 0));
}

int tm_queue(struct ikesa *sa, struct task *t)
{
	if (!t) {
		/* A constructor's allocation failed: the caller's operation does not happen. */
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: out of memory: a task could not be queued",
			ikesa_tag(sa));
		return -ENOMEM;
	}
	struct task **pp = &sa->tm.queue;
	while (*pp)
		pp = &(*pp)->next;
	*pp = t;
	tm_initiate(sa);
	return 0;
}

static void on_retransmit(struct loop *loop, struct timer *t, void *ctx)
{
	(void)t;
	struct ikesa *sa = ctx;
	struct tm_state *tm = &sa->tm;
	struct engine *e = sa->e;
	struct metrics_conn *mc;
	if (!tm->req_pending)
		return;
	if (tm->retransmits >= e->timing.retransmit_tries) {
		log_msg(LOG_IKE, LOG_LVL_WARN,
			"%s: no response to request %u after %u retransmits: peer unreachable, "
			"deleting the IKE SA",
			ikesa_tag(sa), tm->req_id, tm->retransmits);
		if (sa->state == IKESA_ESTABLISHED) {
			sa_event(sa, EV_DPD_DEAD, "dead-peer: no response after %u retransmits",
				 tm->retransmits);
			ikesa_set_reason(sa, "dead-peer: no response after %u retransmits",
					 tm->retransmits);
		} else {
			ikesa_set_reason(sa, "timeout: no response after %u retransmits",
					 tm->retransmits);
		}
		timers_on_peer_dead(sa); /* destroys sa; dpd_action */
		return;
	}
	tm->retransmits++;
	e->stats.retransmits++;
	if ((mc = metrics_conn(e->metrics, sa->conn->name)))
		mc->retransmits++;
	/* RFC 4555 3.5: a MOBIKE initiator tries another path after the second retransmit. */
	if (tm->retransmits == MOBIKE_PATH_RETRANSMITS)
		mobike_path_failed(sa); /* may queue an update; the request goes on the new path */
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: retransmit %u of request %u", ikesa_tag(sa),
		tm->retransmits, tm->req_id);
	send_to(sa, tm->req, tm->req_len);
	timer_arm_in(loop, &tm->retransmit_timer, retransmit_delay(e, tm->retransmits));
}

/* Decrypts (if needed) and parses; 0 on success, <0 when the message is to be dropped. */
static int parse_and_open(struct ikesa *sa, struct ike_msg *m, const uint8_t *raw, size_t len)
{
	struct engine *e = sa->e;
	struct payload_err perr;
	struct acceptance_result ar;
	if (message_parse(m, raw, len, &perr) != PAYLOAD_OK) {
		e->stats.rx_malformed++;
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: malformed message dropped: %s", ikesa_tag(sa),
			perr.why);
		return -EBADMSG;
	}
	if (acceptance_check_outer(m, &ar) != ACCEPT_OK &&
	    ar.status != ACCEPT_UNSUPPORTED_CRITICAL) {
		e->stats.rx_malformed++;
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: message dropped: %s", ikesa_tag(sa), ar.why);
		return -EBADMSG;
	}
	if (!acceptance_exchange_encrypted(m->hdr.exchange))
		return 0;
	const struct ike_payload *skp = message_sk(m);
	if (skp && skp->type == PL_SKF)
		return frag_open(sa, m, raw); /* RFC 7383: -EINPROGRESS until complete */
	if (!skp) {
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: no SK payload: dropped", ikesa_tag(sa));
		return -EBADMSG;
	}
	if (!sa->c_in) {
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: encrypted message before keys: dropped",
			ikesa_tag(sa));
		return -EBADMSG;
	}
	size_t plen = 0;
	int rc = sk_open(sa->c_in, raw, skp->u.sk.body_off, skp->u.sk.body_len, e->rxbuf, &plen);
	if (rc != 0) {
		/* RFC 7296 2.21.2: a message whose integrity check fails is silently dropped. */
		e->stats.rx_dropped++;
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: %s message %u failed its integrity check: dropped",
			ikesa_tag(sa), names_exchange(m->hdr.exchange, &(struct names_buf){0}),
			m->hdr.msg_id);
		return -EBADMSG;
	}
	if (message_parse_inner(m, skp->u.sk.first_inner, e->rxbuf, plen, &perr) != PAYLOAD_OK) {
		e->stats.rx_malformed++;
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: malformed payloads inside SK: %s", ikesa_tag(sa),
			perr.why);
		return -EPROTO; /* authenticated but malformed: INVALID_SYNTAX (RFC 7296 2.21.2) */
	}
	return 0;
}

static void process_response(struct ikesa *sa, struct ike_msg *m)
{
	struct tm_state *tm = &sa->tm;
	struct engine *e = sa->e;
	struct acceptance_result ar;
	if (acceptance_check(m, &ar) != ACCEPT_OK) {
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: invalid response: %s", ikesa_tag(sa), ar.why);
		if (m->hdr.exchange != IKE_SA_INIT && m->hdr.exchange != IKE_AUTH)
			return; /* wait for a retransmit... or give up by timer */
		engine_destroy_sa(e, sa);
		return;
	}
	timer_cancel(e->env.loop, &tm->retransmit_timer);
	tm->req_pending = false;
	/* IKE_SA_INIT is message 0 however often it is retried (RFC 7296 2.2). */
	tm->next_out_id = m->hdr.exchange == IKE_SA_INIT ? 1 : tm->next_out_id + 1;
	enum task_status worst = TASK_DONE;
	for (struct task *t = tm->active_i; t; t = t->next) {
		enum task_status st = t->ops->process_i ? t->ops->process_i(t, sa, m) : TASK_DONE;
		if (st > worst)
			worst = st;
		if (st == TASK_DESTROY)
			break;
	}
	if (worst == TASK_DESTROY || sa->state == IKESA_DESTROYING) {
		engine_destroy_sa(e, sa);
		return;
	}
	if (worst == TASK_NEED_MORE) {
		/* Same exchange again (INVALID_KE_PAYLOAD, COOKIE): keep the tasks and resend. */
		struct task *again = tm->active_i;
		tm->active_i = NULL;
		struct task **tail = &again;
		while (*tail)
			tail = &(*tail)->next;
		*tail = tm->queue;
		tm->queue = again;
	} else {
		free_tasks(tm->active_i);
		tm->active_i = NULL;
	}
	tm_initiate(sa);
}

/* The response to req, cached and sent where req came from. */
static void cache_and_send(struct ikesa *sa, const struct ike_msg *req, size_t len)
{
	uint32_t msg_id = req->hdr.msg_id;
	struct tm_state *tm = &sa->tm;
	free(tm->resp);
	tm->resp = malloc(len);
	tm->resp_valid = tm->resp != NULL;
	if (tm->resp) {
		memcpy(tm->resp, sa->e->txbuf, len);
		tm->resp_len = len;
		tm->resp_id = msg_id;
	}
	send_back(sa, req->rx_local, req->rx_remote, sa->e->txbuf, len);
}

/* Respond with a single error notify (inside SK for protected exchanges). */
static void respond_error(struct ikesa *sa, const struct ike_msg *m, uint16_t notify,
			  const void *data, size_t data_len);

static void process_request(struct ikesa *sa, struct ike_msg *m)
{
	struct tm_state *tm = &sa->tm;
	struct engine *e = sa->e;
	struct acceptance_result ar;
	enum acceptance_status as = acceptance_check(m, &ar);
	if (as == ACCEPT_UNSUPPORTED_CRITICAL) {
		/* RFC 7296 2.5: reject with UNSUPPORTED_CRITICAL_PAYLOAD naming the type. */
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: %s", ikesa_tag(sa), ar.why);
		uint8_t type = ar.payload;
		respond_error(sa, m, N_UNSUPPORTED_CRITICAL_PAYLOAD, &type, 1);
		return;
	}
	if (as != ACCEPT_OK) {
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: invalid request: %s", ikesa_tag(sa), ar.why);
		if (m->hdr.exchange == IKE_SA_INIT) {
			/* Unauthenticated garbage: no answer, no state (RFC 7296 2.21.1). */
			engine_destroy_sa(e, sa);
			return;
		}
		respond_error(sa, m, N_INVALID_SYNTAX, NULL, 0);
		if (m->hdr.exchange == IKE_AUTH)
			engine_destroy_sa(e, sa);
		return;
	}
	/* The tasks of the request's row in the table of exchanges (exchange.c). */
	const struct exchange_row *row = exchange_row_for(m);
	struct task *tasks = row ? exchange_tasks(row, &(struct exchange_args){.request = m}) : NULL;
	if (!tasks) {
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: %s requests are not supported%s", ikesa_tag(sa),
			names_exchange(m->hdr.exchange, &(struct names_buf){0}),
			row ? " (out of memory)" : "");
		respond_error(sa, m, N_INVALID_SYNTAX, NULL, 0);
		return;
	}
	enum task_status worst = TASK_DONE;
	size_t ran = 0;
	for (struct task *t = tasks; t; t = t->next) {
		enum task_status st = t->ops->process_r ? t->ops->process_r(t, sa, m) : TASK_DONE;
		ran++;
		if (st > worst)
			worst = st;
		if (st == TASK_DESTROY)
			break;
	}
	enum task_status bworst, bbest;
	char sum[MESSAGE_STR_MAX];
	size_t len = build_message(sa, m->hdr.exchange, true, m->hdr.msg_id, tasks, ran, true,
				   &bworst, &bbest, sum);
	free_tasks(tasks);
	if (bworst > worst)
		worst = bworst;
	if (len > 0) {
		if (m->hdr.exchange == IKE_SA_INIT) {
			free(sa->init_resp);
			sa->init_resp = malloc(len);
			if (sa->init_resp) {
				memcpy(sa->init_resp, e->txbuf, len);
				sa->init_resp_len = len;
			}
		}
		log_sending(sa, m, sum, e->txbuf, len);
		cache_and_send(sa, m, len);
		tm->next_in_id = m->hdr.msg_id + 1;
	}
	if (worst == TASK_DESTROY || len == 0 || sa->state == IKESA_DESTROYING)
		engine_destroy_sa(e, sa);
	else
		tm_initiate(sa); /* anything queued while we were busy */
}

struct error_task {
	struct task t;
	uint16_t notify;
	const void *data;
	size_t len;
};

static enum task_status error_build(struct task *t, struct ikesa *sa, struct ike_builder *b)
{
	(void)sa;
	struct error_task *et = (struct error_task *)t;
	payload_build_notify_simple(b, PROTO_NONE, et->notify, NULL, 0, et->data, et->len);
	return TASK_DONE;
}

static const struct task_ops error_ops = {.name = "error", .build_i = error_build,
					  .build_r = error_build};

static void respond_error(struct ikesa *sa, const struct ike_msg *m, uint16_t notify,
			  const void *data, size_t data_len)
{
	struct error_task et = {.t = {.ops = &error_ops}, .notify = notify, .data = data,
				.len = data_len};
	enum task_status w, wb;
	char sum[MESSAGE_STR_MAX];
	size_t len = build_message(sa, m->hdr.exchange, true, m->hdr.msg_id, &et.t, 1, true, &w,
				   &wb, sum);
	if (len == 0)
		return;
	log_sending(sa, m, sum, sa->e->txbuf, len);
	cache_and_send(sa, m, len);
	sa->tm.next_in_id = m->hdr.msg_id + 1;
}

void tm_send_notify_once(struct ikesa *sa, uint16_t notify)
{
	struct error_task et = {.t = {.ops = &error_ops}, .notify = notify};
	enum task_status w, wb;
	/* Only between exchanges: next_out_id is free (process_response advanced it). */
	if (sa->tm.req_pending)
		return;
	char sum[MESSAGE_STR_MAX];
	size_t len = build_message(sa, INFORMATIONAL, false, sa->tm.next_out_id, &et.t, 1, false,
				   &w, &wb, sum);
	if (len == 0)
		return;
	log_sending(sa, NULL, sum, sa->e->txbuf, len);
	log_msg(LOG_ENC, LOG_LVL_DEBUG, "%s: not waiting for the answer to INFORMATIONAL "
		"request %u", ikesa_tag(sa), sa->tm.next_out_id);
	sa->tm.next_out_id++;
	send_to(sa, sa->e->txbuf, len);
}

void tm_receive(struct ikesa *sa, const struct ike_hdr *h, const uint8_t *raw, size_t len,
		const struct sockaddr_storage *local, const struct sockaddr_storage *remote)
{
	struct tm_state *tm = &sa->tm;
	struct engine *e = sa->e;
	if (ike_hdr_is_response(h)) {
		if (!tm->req_pending || h->msg_id != tm->req_id) {
			log_msg(LOG_ENC, LOG_LVL_DEBUG, "%s: unexpected response %u dropped",
				ikesa_tag(sa), h->msg_id);
			e->stats.rx_dropped++;
			return;
		}
	} else {
		if (tm->resp_valid && h->msg_id == tm->resp_id) {
			/*
			 * Anyone can copy a header: a protected retransmission must pass
			 * its integrity check before it is answered and may move the SA
			 * to its address (RFC 7296 2.11, 2.23). -EPROTO is authentic
			 * but malformed inside: answered as the original was.
			 */
			if (acceptance_exchange_encrypted(h->exchange)) {
				struct ike_msg *m = malloc(sizeof(*m));
				int rc = m ? parse_and_open(sa, m, raw, len) : -ENOMEM;
				crypto_wipe(e->rxbuf, TM_BUF_MAX);
				free(m);
				if (rc != 0 && rc != -EPROTO)
					return;
			}
			/* RFC 7296 2.1: a retransmitted request gets the same response, uncomputed. */
			log_msg(LOG_ENC, LOG_LVL_INFO, "%s: retransmitted request %u: resending response",
				ikesa_tag(sa), h->msg_id);
			natt_follow(sa, local, remote);
			sa->last_rx_ms = engine_now(e);
			send_back(sa, local, remote, tm->resp, tm->resp_len);
			return;
		}
		if (h->msg_id != tm->next_in_id) {
			log_msg(LOG_ENC, LOG_LVL_DEBUG, "%s: request %u outside the window (expect %u): "
				"dropped", ikesa_tag(sa), h->msg_id, tm->next_in_id);
			e->stats.rx_dropped++;
			return;
		}
	}
	struct ike_msg *m = malloc(sizeof(*m));
	if (!m)
		return;
	m->rx_local = m->rx_remote = NULL;
	int rc = parse_and_open(sa, m, raw, len);
	if ((rc == 0 || rc == -EINPROGRESS) && log_enabled(LOG_ENC, LOG_LVL_DEBUG)) {
		char sum[MESSAGE_STR_MAX], ls[64], rs[64];
		log_msg(LOG_ENC, LOG_LVL_DEBUG, "%s: received %s from %s to %s (%zu octets)",
			ikesa_tag(sa), message_str(m, sum, sizeof(sum)),
			endpoint_str(remote, rs, sizeof(rs)), endpoint_str(local, ls, sizeof(ls)), len);
	}
	if (rc == -EPROTO && !ike_hdr_is_response(h)) {
		respond_error(sa, m, N_INVALID_SYNTAX, NULL, 0);
		free(m);
		return;
	}
	if (rc != 0) {
		free(m);
		return;
	}
	/*
	 * Authenticated (or IKE_SA_INIT): follow the peer's address and port
	 * (RFC 7296 2.11), unless the message is a MOBIKE UPDATE_SA_ADDRESSES,
	 * whose task moves the SA with its own checks (RFC 4555 3.5).
	 */
	if (!mobike_moves_itself(sa, m))
		natt_follow(sa, local, remote);
	sa->last_rx_ms = engine_now(e); /* DPD: the peer is alive (timers.h) */
	m->rx_local = local;
	m->rx_remote = remote;
	if (ike_hdr_is_response(h))
		process_response(sa, m);
	else
		process_request(sa, m);
	crypto_wipe(e->rxbuf, TM_BUF_MAX);
	free(m);
}

void tm_send_stateless_notify(struct engine *e, const struct ike_hdr *h, uint8_t exchange,
			      uint16_t notify, const void *data, size_t data_len,
			      const struct sockaddr_storage *local,
			      const struct sockaddr_storage *remote)
{
	struct ike_hdr r = {
		.spi_i = h->spi_i,
		.spi_r = h->spi_r,
		.exchange = exchange,
		.flags = IKE_FLAG_RESPONSE,
		.msg_id = h->msg_id,
	};
	struct ike_builder b;
	message_build_init(&b, e->txbuf, TM_BUF_MAX, &r);
	payload_build_notify_simple(&b, PROTO_NONE, notify, NULL, 0, data, data_len);
	size_t len;
	if (message_build_finish(&b, &len) != 0)
		return;
	if (log_enabled(LOG_ENC, LOG_LVL_DEBUG)) {
		char sum[MESSAGE_STR_MAX], ls[64], rs[64];
		summarize(&r, e->txbuf, len, PL_NONE, NULL, 0, sum);
		log_msg(LOG_ENC, LOG_LVL_DEBUG, "sending %s from %s to %s (%zu octets, no state)", sum,
			endpoint_str(local, ls, sizeof(ls)), endpoint_str(remote, rs, sizeof(rs)), len);
	}
	e->stats.tx++;
	e->env.send(e->env.send_ctx, local, remote, e->txbuf, len);
}
