/* IKE fragmentation, RFC 7383 (see fragment.h). */
#include "daemon/fragment.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"
#include "crypto/sk.h"
#include "daemon/dos.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/names.h"
#include "daemon/timing.h"

/* One stored fragment: its decrypted inner octets. */
struct frag_piece {
	uint8_t *p;      /* owned, alloc octets (wiped on free), NULL = not received */
	size_t len;      /* inner payload octets */
	size_t alloc;
};

/* One message being reassembled. */
struct frag_slot {
	bool active;
	uint32_t msg_id;
	uint8_t exchange;
	uint8_t first_inner; /* fragment 1's Next Payload */
	uint16_t total;      /* Total Fragments */
	uint16_t have;
	size_t bytes;        /* inner octets stored */
	uint64_t started_ms;
	struct frag_piece piece[IKE_FRAG_MAX];
};

/* Slot 0: the peer's request; slot 1: the response to our request. */
struct frag_reasm {
	struct frag_slot slot[2];
	struct timer timer;  /* drops partial messages after IKE_FRAG_TIMEOUT_MS */
	struct ikesa *sa;
	/*
	 * Memory accounting (dos.h): the source the octets are reserved for
	 * (the peer's address when the first fragment came), and the engine's
	 * list of reassemblies, oldest first: the one dropped when the global
	 * budget is full (an honest peer's fragments arrive together and
	 * complete at once; an attacker's partial messages are the old ones).
	 */
	uint64_t src;
	struct frag_reasm *prev, *next;
};

/* ---- negotiation (RFC 7383 2.3) ---- */

static bool conn_allows(const struct ikesa *sa)
{
	return !sa->conn || sa->conn->fragmentation;
}

void frag_build_init_notify(struct ikesa *sa, struct ike_builder *b, bool response)
{
	if (response ? !(sa->ext & EXT_FRAGMENTATION) : !conn_allows(sa))
		return;
	payload_build_notify_simple(b, PROTO_NONE, N_IKEV2_FRAGMENTATION_SUPPORTED, NULL, 0,
				    NULL, 0);
}

void frag_note_init(struct ikesa *sa, const struct ike_msg *m)
{
	/* The initiator only gets it back if it sent it; the responder only if allowed. */
	if (conn_allows(sa) && message_find_notify(m, N_IKEV2_FRAGMENTATION_SUPPORTED))
		sa->ext |= EXT_FRAGMENTATION;
	else
		sa->ext &= ~(uint32_t)EXT_FRAGMENTATION;
}

/* ---- sending ---- */

static uint16_t ss_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

size_t frag_size(const struct ikesa *sa)
{
	size_t s = sa->conn ? sa->conn->fragment_size : 0;
	if (!s && sa->cfgref)
		s = sa->cfgref->cfg->d.fragment_size;
	if (!s)
		s = sa->remote.ss_family == AF_INET6 ? IKE_FRAG_SIZE_V6 : IKE_FRAG_SIZE_V4;
	return s;
}

/* IP + UDP header octets, and the non-ESP marker on the NAT-T port (RFC 3948 2.2). */
static size_t datagram_overhead(const struct ikesa *sa)
{
	size_t o = (sa->remote.ss_family == AF_INET6 ? 40 : 20) + 8;
	uint16_t natt = sa->e->env.natt_port;
	if ((natt && ss_port(&sa->local) == natt) || ss_port(&sa->remote) == IKE_NATT_PORT)
		o += IKE_NON_ESP_MARKER_LEN;
	return o;
}

int frag_seal(struct ikesa *sa, const struct ike_hdr *h, uint8_t first_inner,
	      const uint8_t *inner, size_t inner_len, uint8_t *out, size_t cap, size_t *out_len)
{
	struct engine *e = sa->e;
	if (!(sa->ext & EXT_FRAGMENTATION) || h->exchange == IKE_SA_INIT || !sa->c_out)
		return 0;
	size_t limit = frag_size(sa), over = datagram_overhead(sa);
	size_t whole = IKE_HDR_LEN + IKE_GENERIC_HDR_LEN + sk_sealed_len(sa->c_out, inner_len);
	if (whole + over <= limit)
		return 0;
	/* Largest inner chunk whose fragment fits the limit (padding makes this a search). */
	size_t fixed = over + IKE_HDR_LEN + IKE_SKF_HDR_LEN;
	size_t chunk = 0;
	if (limit > fixed + sk_iv_len(sa->c_out) + sk_icv_len(sa->c_out) + 1) {
		chunk = limit - fixed - sk_iv_len(sa->c_out) - sk_icv_len(sa->c_out);
		while (chunk > 0 && fixed + sk_sealed_len(sa->c_out, chunk) > limit)
			chunk--;
	}
	size_t n = chunk ? (inner_len + chunk - 1) / chunk : 0;
	if (n < 2 || n > IKE_FRAG_MAX) {
		log_msg(LOG_ENC, LOG_LVL_ERROR, "%s: %zu octets do not fit %u fragments of %zu "
			"(fragment_size %zu)", ikesa_tag(sa), inner_len, IKE_FRAG_MAX, chunk, limit);
		return -EMSGSIZE;
	}
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		size_t off = i * chunk;
		size_t clen = inner_len - off < chunk ? inner_len - off : chunk;
		struct ike_builder b;
		message_build_init(&b, out + used, cap - used, h);
		/* RFC 7383 2.5: only fragment 1 names the first inner payload. */
		uint8_t *body = message_build_skf(&b, i == 0 ? first_inner : PL_NONE,
						  (uint16_t)(i + 1), (uint16_t)n,
						  sk_sealed_len(sa->c_out, clen));
		size_t len = 0;
		if (!body || message_build_finish(&b, &len) != 0) {
			log_msg(LOG_ENC, LOG_LVL_ERROR, "%s: no room for fragment %zu of %zu",
				ikesa_tag(sa), i + 1, n);
			return -ENOSPC;
		}
		int rc = sk_seal(sa->c_out, out + used, (size_t)(body - (out + used)), inner + off,
				 clen, e->env.rng);
		if (rc != 0) {
			log_msg(LOG_ENC, LOG_LVL_ERROR, "%s: SKF protection failed (%d)", ikesa_tag(sa),
				rc);
			return rc;
		}
		used += len;
	}
	log_msg(LOG_ENC, LOG_LVL_DEBUG, "%s: %s message %u (%zu octets inside) split into %zu "
		"fragments of at most %zu octets", ikesa_tag(sa),
		names_exchange(h->exchange, &(struct names_buf){0}), h->msg_id, inner_len, n, limit);
	*out_len = used;
	return 1;
}

/* Length of the IKE message at buf (its header Length), or len if it is not sane. */
static size_t next_len(const uint8_t *buf, size_t len)
{
	if (len < IKE_HDR_LEN)
		return len;
	size_t l = (size_t)buf[24] << 24 | (size_t)buf[25] << 16 | (size_t)buf[26] << 8 | buf[27];
	return l < IKE_HDR_LEN || l > len ? len : l;
}

void frag_send(struct ikesa *sa, const uint8_t *buf, size_t len)
{
	struct engine *e = sa->e;
	size_t first = next_len(buf, len);
	bool fragments = first < len;
	while (len > 0) {
		size_t l = next_len(buf, len);
		if (engine_send(e, sa, buf, l) != 0)
			log_msg(LOG_NET, LOG_LVL_DEBUG, "%s: send failed", ikesa_tag(sa));
		if (fragments)
			e->stats.frag_tx++;
		buf += l;
		len -= l;
	}
}

/* ---- receiving ---- */

static void slot_clear(struct frag_reasm *r, struct frag_slot *s)
{
	size_t freed = 0;
	for (size_t i = 0; i < IKE_FRAG_MAX; i++) {
		if (s->piece[i].p) {
			crypto_wipe(s->piece[i].p, s->piece[i].alloc);
			free(s->piece[i].p);
			freed += s->piece[i].alloc;
		}
	}
	memset(s, 0, sizeof(*s));
	if (freed)
		dos_frag_release(r->sa->e->dos, r->src, freed);
}

static void rearm(struct frag_reasm *r)
{
	struct loop *loop = r->sa->e->env.loop;
	uint64_t first = 0;
	for (int i = 0; i < 2; i++)
		if (r->slot[i].active && (!first || r->slot[i].started_ms < first))
			first = r->slot[i].started_ms;
	if (!first) {
		timer_cancel(loop, &r->timer);
		return;
	}
	uint64_t now = loop_now(loop), due = first + IKE_FRAG_TIMEOUT_MS;
	timer_arm_in(loop, &r->timer, due > now ? due - now : 0);
}

static void on_timeout(struct loop *loop, struct timer *t, void *ctx)
{
	(void)t;
	struct frag_reasm *r = ctx;
	uint64_t now = loop_now(loop);
	for (int i = 0; i < 2; i++) {
		struct frag_slot *s = &r->slot[i];
		if (s->active && now >= s->started_ms + IKE_FRAG_TIMEOUT_MS) {
			log_msg(LOG_ENC, LOG_LVL_INFO, "%s: %s %u: %u of %u fragments after %u ms: "
				"dropped", ikesa_tag(r->sa), i ? "response" : "request", s->msg_id,
				s->have, s->total, IKE_FRAG_TIMEOUT_MS);
			r->sa->e->stats.frag_dropped += s->have;
			slot_clear(r, s);
		}
	}
	rearm(r);
}

void frag_clear(struct ikesa *sa)
{
	struct frag_reasm *r = sa->tm.frag;
	if (!r)
		return;
	struct engine *e = sa->e;
	timer_cancel(e->env.loop, &r->timer);
	slot_clear(r, &r->slot[0]);
	slot_clear(r, &r->slot[1]);
	if (r->prev)
		r->prev->next = r->next;
	else
		e->frag_first = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		e->frag_last = r->prev;
	uint64_t src = r->src;
	crypto_wipe(r, sizeof(*r));
	free(r);
	sa->tm.frag = NULL;
	dos_frag_release(e->dos, src, sizeof(*r));
}

/*
 * Reserves n octets for r's source, first dropping the oldest other
 * reassemblies while the global budget (frag_mem_max) is short.
 */
static bool reserve(struct engine *e, struct frag_reasm *r, size_t n)
{
	while (dos_frag_over_global(e->dos, n) && e->frag_first && e->frag_first != r) {
		struct frag_reasm *old = e->frag_first;
		log_msg(LOG_ENC, LOG_LVL_DEBUG, "%s: partial message dropped: reassembly memory "
			"(frag_mem_max) is full", ikesa_tag(old->sa));
		e->stats.frag_evicted++;
		e->stats.frag_dropped += old->slot[0].have + old->slot[1].have;
		frag_clear(old->sa);
	}
	return dos_frag_reserve(e->dos, r->src, n);
}

static int drop(struct ikesa *sa, const struct ike_msg *m, const char *why, unsigned got,
		unsigned want)
{
	sa->e->stats.frag_dropped++;
	log_msg(LOG_ENC, LOG_LVL_WARN, "%s: fragment of %s %s %u dropped: %s (got %u, expected %u)",
		ikesa_tag(sa), names_exchange(m->hdr.exchange, &(struct names_buf){0}),
		ike_hdr_is_response(&m->hdr) ? "response" : "request", m->hdr.msg_id, why, got,
		want);
	return -EBADMSG;
}

/* Verifies and decrypts one fragment into a new piece. 0 or -EBADMSG/-ENOMEM. */
static int open_piece(struct ikesa *sa, const struct ike_msg *m, const uint8_t *raw,
		      const struct ike_skf *f, struct frag_piece *out)
{
	uint8_t *p = malloc(f->body_len ? f->body_len : 1);
	if (!p)
		return -ENOMEM;
	size_t plen = 0;
	int rc = sk_open(sa->c_in, raw, f->body_off, f->body_len, p, &plen);
	if (rc != 0) {
		/* RFC 7383 2.6, RFC 7296 2.21.2: unauthenticated fragments are silently dropped. */
		crypto_wipe(p, f->body_len);
		free(p);
		sa->e->stats.rx_dropped++;
		drop(sa, m, "integrity check failed", f->frag_num, f->total);
		return -EBADMSG;
	}
	*out = (struct frag_piece){.p = p, .len = plen, .alloc = f->body_len};
	return 0;
}

int frag_open(struct ikesa *sa, struct ike_msg *m, const uint8_t *raw)
{
	struct engine *e = sa->e;
	const struct ike_payload *skp = message_sk(m);
	const struct ike_skf *f = &skp->u.skf;
	bool response = ike_hdr_is_response(&m->hdr);
	if (!(sa->ext & EXT_FRAGMENTATION))
		return drop(sa, m, "fragmentation not negotiated", 0, 0);
	if (!sa->c_in)
		return drop(sa, m, "no keys yet", 0, 0);
	if (f->total > IKE_FRAG_MAX)
		return drop(sa, m, "too many fragments", f->total, IKE_FRAG_MAX);
	if (f->frag_num == 0 || f->frag_num > f->total) /* the parser refuses these already */
		return drop(sa, m, "Fragment Number above Total Fragments", f->frag_num, f->total);
	e->stats.frag_rx++;
	if (!response && sa->tm.resp_valid && m->hdr.msg_id == sa->tm.resp_id) {
		/* RFC 7383 2.6.1: only an authentic fragment 1 makes the response go again. */
		if (f->frag_num != 1)
			return -EINPROGRESS;
		struct frag_piece pc;
		int rc = open_piece(sa, m, raw, f, &pc);
		if (rc != 0)
			return rc;
		crypto_wipe(pc.p, pc.alloc);
		free(pc.p);
		return 0;
	}
	if (!sa->tm.frag) {
		struct frag_reasm *n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		n->sa = sa;
		n->src = dos_source(&sa->remote);
		timer_init(&n->timer, on_timeout, n);
		if (!reserve(e, n, sizeof(*n))) {
			free(n);
			return drop(sa, m, "over the reassembly memory budget", f->frag_num, f->total);
		}
		n->prev = e->frag_last;
		if (e->frag_last)
			e->frag_last->next = n;
		else
			e->frag_first = n;
		e->frag_last = n;
		sa->tm.frag = n;
	}
	struct frag_reasm *r = sa->tm.frag;
	struct frag_slot *s = &r->slot[response ? 1 : 0];
	if (s->active && (s->msg_id != m->hdr.msg_id || s->exchange != m->hdr.exchange)) {
		/* The task manager let this message ID through: the old one is history. */
		e->stats.frag_dropped += s->have;
		slot_clear(r, s);
	}
	if (s->active && f->total < s->total)
		return drop(sa, m, "Total Fragments below the others'", f->total, s->total);
	if (s->active && s->piece[f->frag_num - 1].p)
		return -EINPROGRESS; /* duplicate: the first copy stays (RFC 7383 2.6) */
	struct frag_piece pc;
	int rc = open_piece(sa, m, raw, f, &pc);
	if (rc != 0)
		return rc;
	if (s->active && f->total > s->total) {
		/*
		 * RFC 7383 2.6: the sender fragmented its retransmission smaller
		 * (PMTU): start over with this set.
		 */
		log_msg(LOG_ENC, LOG_LVL_INFO, "%s: message %u now in %u fragments (was %u): "
			"reassembly restarted", ikesa_tag(sa), m->hdr.msg_id, f->total, s->total);
		e->stats.frag_dropped += s->have;
		slot_clear(r, s);
	}
	if (s->bytes + pc.len > IKE_FRAG_REASM_MAX) {
		crypto_wipe(pc.p, pc.alloc);
		free(pc.p);
		e->stats.frag_dropped += s->have;
		unsigned had = (unsigned)s->bytes;
		slot_clear(r, s);
		rearm(r);
		return drop(sa, m, "message too large, reassembly abandoned",
			    had + (unsigned)pc.len, IKE_FRAG_REASM_MAX);
	}
	if (!reserve(e, r, pc.alloc)) {
		/* Over frag_mem_per_ip, or frag_mem_max with nothing older to drop. */
		crypto_wipe(pc.p, pc.alloc);
		free(pc.p);
		if (!r->slot[0].active && !r->slot[1].active)
			frag_clear(sa);
		return drop(sa, m, "over the reassembly memory budget", f->frag_num, f->total);
	}
	if (!s->active) {
		s->active = true;
		s->msg_id = m->hdr.msg_id;
		s->exchange = m->hdr.exchange;
		s->total = f->total;
		s->started_ms = loop_now(e->env.loop);
	}
	if (f->frag_num == 1)
		s->first_inner = f->first_inner;
	s->piece[f->frag_num - 1] = pc;
	s->have++;
	s->bytes += pc.len;
	log_msg(LOG_ENC, LOG_LVL_DEBUG, "%s: fragment %u of %u of message %u (%zu octets)",
		ikesa_tag(sa), f->frag_num, f->total, m->hdr.msg_id, pc.len);
	if (s->have < s->total) {
		rearm(r);
		return -EINPROGRESS;
	}
	/* Complete: concatenate in order into the receive scratch, parse as the inner chain. */
	size_t len = 0;
	for (size_t i = 0; i < s->total; i++) {
		memcpy(e->rxbuf + len, s->piece[i].p, s->piece[i].len);
		len += s->piece[i].len;
	}
	uint8_t first = s->first_inner;
	uint16_t total = s->total;
	slot_clear(r, s);
	if (!r->slot[0].active && !r->slot[1].active)
		frag_clear(sa); /* nothing pending: an idle IKE SA keeps no reassembly state */
	else
		rearm(r);
	e->stats.frag_reassembled++;
	struct payload_err perr;
	if (message_parse_inner(m, first, e->rxbuf, len, &perr) != PAYLOAD_OK) {
		e->stats.rx_malformed++;
		log_msg(LOG_ENC, LOG_LVL_WARN, "%s: malformed payloads inside %u fragments: %s",
			ikesa_tag(sa), total, perr.why);
		return -EPROTO;
	}
	log_msg(LOG_ENC, LOG_LVL_DEBUG, "%s: message %u reassembled from %u fragments (%zu octets)",
		ikesa_tag(sa), m->hdr.msg_id, total, len);
	return 0;
}
