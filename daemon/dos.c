/* Per-source limits, stateless cookies, authentication back-off, reassembly budget (see dos.h). */
#include "daemon/dos.h"

#include <arpa/inet.h>
#include <gcrypt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/fnv.h"
#include "crypto/secret.h"
#include "daemon/endpoint.h"
#include "daemon/engine_ctx.h"
#include "daemon/log.h"
#include "daemon/message.h"
#include "daemon/spi_table.h"

/* What one source (IPv4 address, IPv6 /64) holds now; freed when it holds nothing. */
struct dos_src {
	uint32_t half_open, ike_sas;
	size_t frag;
};

/* Failed authentications of one source or one claimed identity. */
struct dos_fail {
	uint64_t key;
	bool is_id;
	uint32_t fails;          /* since the record was last quiet for a while */
	uint64_t last_ms;        /* the last failure */
	uint64_t until_ms;       /* backing off until then */
	uint64_t last_log_ms;    /* sources: the last failure line logged */
	uint32_t suppressed;     /* failure lines not logged since */
	bool pending;            /* on the summary list */
	char what[INET6_ADDRSTRLEN + 4]; /* sources: "192.0.2.1", "2001:db8::/64" */
	struct dos_fail *lru_prev, *lru_next;   /* least recently failed first */
	struct dos_fail *pend_prev, *pend_next; /* suppressed lines to summarize */
};

struct dos {
	struct engine *e;
	uint8_t secret[2][DOS_SECRET_LEN]; /* [version & 1] */
	uint8_t version;                   /* of the current secret */
	uint64_t rotated_ms;
	struct spi_table *src;             /* dos_source() -> struct dos_src */
	struct spi_table *fail_src, *fail_id; /* -> struct dos_fail */
	struct dos_fail *lru_first, *lru_last;
	struct dos_fail *pend_first;
	size_t n_fail;
	struct timer summary_timer;
	bool summary_armed;
	size_t half_open;
	size_t frag_bytes;
	size_t released;                   /* octets freed since the last malloc_trim */
	struct timer trim_timer;
	bool trim_armed;
	struct dos_stats stats;
	uint64_t last_log_ms;
};

static const struct daemon_cfg *dcfg(const struct dos *d)
{
	return &d->e->cfg->cfg->d;
}

static void new_secret(struct dos *d)
{
	d->version++;
	rng_fill(d->e->env.rng, d->secret[d->version & 1], DOS_SECRET_LEN);
	d->rotated_ms = engine_now(d->e);
}

static void flush_summaries(struct loop *loop, struct timer *t, void *ctx);
static void on_trim(struct loop *loop, struct timer *t, void *ctx);

struct dos *dos_new(struct engine *e)
{
	struct dos *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->e = e;
	d->src = spi_table_new();
	d->fail_src = spi_table_new();
	d->fail_id = spi_table_new();
	if (!d->src || !d->fail_src || !d->fail_id) {
		dos_free(d);
		return NULL;
	}
	timer_init(&d->summary_timer, flush_summaries, d);
	timer_init(&d->trim_timer, on_trim, d);
	new_secret(d);
	new_secret(d); /* both slots random */
	return d;
}

static void free_val(uint64_t key, void *val, void *ctx)
{
	(void)key;
	(void)ctx;
	free(val);
}

void dos_free(struct dos *d)
{
	if (!d)
		return;
	if (d->summary_armed)
		timer_cancel(d->e->env.loop, &d->summary_timer);
	if (d->trim_armed)
		timer_cancel(d->e->env.loop, &d->trim_timer);
	if (d->src) {
		spi_table_each(d->src, free_val, NULL);
		spi_table_free(d->src);
	}
	for (struct dos_fail *f = d->lru_first, *n; f; f = n) {
		n = f->lru_next;
		free(f);
	}
	spi_table_free(d->fail_src);
	spi_table_free(d->fail_id);
	crypto_wipe(d, sizeof(*d));
	free(d);
}

/* ---- sources ---- */

/* The address bytes of ss (not the port: a NAT may give each attempt a new port). */
static const uint8_t *addr_bytes(const struct sockaddr_storage *ss, size_t *len)
{
	if (ss->ss_family == AF_INET6) {
		*len = 16;
		return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
	}
	*len = 4;
	return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
}

uint64_t dos_source(const struct sockaddr_storage *ss)
{
	size_t n;
	const uint8_t *a = addr_bytes(ss, &n);
	/* IPv6: the /64 (RFC 4291 2.5.1: the interface identifier is the host's to pick). */
	return fnv64(FNV64_OFFSET ^ ss->ss_family, a, n == 16 ? 8 : n);
}

/* "192.0.2.1" or "2001:db8:0:1::/64". */
static void source_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET6) {
		struct in6_addr a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		memset(a.s6_addr + 8, 0, 8);
		char t[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &a, t, sizeof(t));
		snprintf(buf, len, "%s/64", t);
		return;
	}
	if (!inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static struct dos_src *src_get(struct dos *d, uint64_t k, bool create)
{
	struct dos_src *s = spi_table_get(d->src, k);
	if (!s && create) {
		s = calloc(1, sizeof(*s));
		if (s && spi_table_add(d->src, k, s) != 0) {
			free(s);
			s = NULL;
		}
	}
	return s;
}

static void src_put(struct dos *d, uint64_t k, struct dos_src *s)
{
	if (s && !s->half_open && !s->ike_sas && !s->frag) {
		spi_table_del(d->src, k);
		free(s);
	}
}

void dos_half_open_add(struct dos *d, const struct sockaddr_storage *remote)
{
	struct dos_src *s = src_get(d, dos_source(remote), true);
	if (s)
		s->half_open++;
	if (++d->half_open > d->stats.half_open_peak)
		d->stats.half_open_peak = d->half_open;
}

void dos_half_open_del(struct dos *d, const struct sockaddr_storage *remote)
{
	uint64_t k = dos_source(remote);
	struct dos_src *s = src_get(d, k, false);
	if (s && s->half_open)
		s->half_open--;
	src_put(d, k, s);
	if (d->half_open)
		d->half_open--;
}

void dos_ike_sa_add(struct dos *d, const struct sockaddr_storage *remote)
{
	struct dos_src *s = src_get(d, dos_source(remote), true);
	if (s)
		s->ike_sas++;
}

void dos_ike_sa_del(struct dos *d, const struct sockaddr_storage *remote)
{
	uint64_t k = dos_source(remote);
	struct dos_src *s = src_get(d, k, false);
	if (s && s->ike_sas)
		s->ike_sas--;
	src_put(d, k, s);
}

size_t dos_half_open(const struct dos *d)
{
	return d->half_open;
}

const struct dos_stats *dos_stats(const struct dos *d)
{
	return &d->stats;
}

/* ---- cookies (RFC 7296 2.6) ---- */

/* Cookie = version | SHA-256(Ni | IPi | SPIi | secret[version]) (RFC 7296 2.6). */
static void make_cookie(const struct dos *d, uint8_t version, const struct ike_bytes *ni,
			const struct sockaddr_storage *remote, uint64_t spi_i, uint8_t *out)
{
	gcry_md_hd_t h;
	size_t alen;
	const uint8_t *a = addr_bytes(remote, &alen);
	uint8_t spi[8];
	for (int i = 0; i < 8; i++)
		spi[i] = (uint8_t)(spi_i >> (56 - 8 * i));
	out[0] = version;
	if (gcry_md_open(&h, GCRY_MD_SHA256, 0) != 0) {
		memset(out + 1, 0, DOS_COOKIE_LEN - 1); /* never matches a real cookie's hash */
		return;
	}
	gcry_md_write(h, ni->ptr, ni->len);
	gcry_md_write(h, a, alen);
	gcry_md_write(h, spi, sizeof(spi));
	gcry_md_write(h, d->secret[version & 1], DOS_SECRET_LEN);
	memcpy(out + 1, gcry_md_read(h, GCRY_MD_SHA256), DOS_COOKIE_LEN - 1);
	gcry_md_close(h);
}

static void log_pressure(struct dos *d, const char *what)
{
	uint64_t now = engine_now(d->e);
	if (d->last_log_ms && now - d->last_log_ms < DOS_LOG_INTERVAL_MS)
		return;
	d->last_log_ms = now;
	const struct dos_stats *s = &d->stats;
	log_msg(LOG_IKE, LOG_LVL_WARN, "%zu half-open IKE SAs: %s (cookies sent %llu, dropped "
		"%llu, oldest half-open replaced %llu)", d->half_open, what,
		(unsigned long long)s->cookies_sent,
		(unsigned long long)(s->dropped_per_ip_cap + s->dropped_ike_per_ip +
				     s->dropped_auth_backoff),
		(unsigned long long)s->half_open_evicted);
}

static struct dos_fail *fail_get(struct dos *d, bool is_id, uint64_t k)
{
	return spi_table_get(is_id ? d->fail_id : d->fail_src, k);
}

static bool backing_off(const struct dos_fail *f, uint64_t now)
{
	return f && now < f->until_ms;
}

enum dos_verdict dos_check_init(struct dos *d, const struct ike_msg *m,
				const struct sockaddr_storage *remote, uint8_t *cookie)
{
	const struct daemon_cfg *cfg = dcfg(d);
	uint64_t now = engine_now(d->e);
	uint64_t k = dos_source(remote);
	if (now - d->rotated_ms >= DOS_SECRET_LIFETIME_MS)
		new_secret(d);
	if (backing_off(fail_get(d, false, k), now)) {
		d->stats.dropped_auth_backoff++;
		return DOS_DROP;
	}
	const struct dos_src *s = src_get(d, k, false);
	if (s && s->half_open >= cfg->half_open_per_ip) {
		d->stats.dropped_per_ip_cap++;
		log_pressure(d, "a source over half_open_per_ip, dropping its IKE_SA_INIT");
		return DOS_DROP;
	}
	if (s && s->ike_sas >= cfg->ike_sa_per_ip) {
		d->stats.dropped_ike_per_ip++;
		log_pressure(d, "a source over ike_sa_per_ip, dropping its IKE_SA_INIT");
		return DOS_DROP;
	}
	bool full = d->half_open >= cfg->half_open_max;
	if (!full && d->half_open < cfg->cookie_threshold)
		return DOS_ACCEPT;
	const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
	if (!np)
		return DOS_DROP;
	const struct ike_notify *n = message_find_notify(m, N_COOKIE);
	if (n && n->data.len == DOS_COOKIE_LEN &&
	    (n->data.ptr[0] == d->version || (uint8_t)(n->data.ptr[0] + 1) == d->version)) {
		uint8_t want[DOS_COOKIE_LEN];
		make_cookie(d, n->data.ptr[0], &np->u.nonce.data, remote, m->hdr.spi_i, want);
		if (sodium_memcmp(want, n->data.ptr, DOS_COOKIE_LEN) == 0) {
			d->stats.cookies_accepted++;
			if (!full)
				return DOS_ACCEPT;
			/* RFC 7296 2.6: the initiator proved its address; the oldest half-open SA goes. */
			d->stats.dropped_total_cap++;
			d->stats.half_open_evicted++;
			log_pressure(d, "half_open_max reached: the oldest half-open SA makes room "
				     "for an initiator that echoed its cookie");
			return DOS_ACCEPT_EVICT;
		}
	}
	if (n)
		d->stats.cookies_rejected++;
	make_cookie(d, d->version, &np->u.nonce.data, remote, m->hdr.spi_i, cookie);
	d->stats.cookies_sent++;
	log_pressure(d, "asking for cookies");
	return DOS_SEND_COOKIE;
}

/* ---- authentication failures ---- */

static void lru_unlink(struct dos *d, struct dos_fail *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		d->lru_first = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		d->lru_last = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_append(struct dos *d, struct dos_fail *f)
{
	f->lru_prev = d->lru_last;
	f->lru_next = NULL;
	if (d->lru_last)
		d->lru_last->lru_next = f;
	else
		d->lru_first = f;
	d->lru_last = f;
}

static void pend_unlink(struct dos *d, struct dos_fail *f)
{
	if (!f->pending)
		return;
	if (f->pend_prev)
		f->pend_prev->pend_next = f->pend_next;
	else
		d->pend_first = f->pend_next;
	if (f->pend_next)
		f->pend_next->pend_prev = f->pend_prev;
	f->pend_prev = f->pend_next = NULL;
	f->pending = false;
}

static void log_summary(struct dos *d, struct dos_fail *f)
{
	if (f->suppressed)
		log_msg(LOG_IKE, LOG_LVL_WARN, "%u more authentication failures from %s suppressed",
			f->suppressed, f->what);
	d->stats.auth_logs_suppressed += f->suppressed;
	f->suppressed = 0;
	pend_unlink(d, f);
}

static void fail_forget(struct dos *d, struct dos_fail *f)
{
	log_summary(d, f);
	lru_unlink(d, f);
	spi_table_del(f->is_id ? d->fail_id : d->fail_src, f->key);
	d->n_fail--;
	free(f);
}

static struct dos_fail *fail_record(struct dos *d, bool is_id, uint64_t k)
{
	struct dos_fail *f = fail_get(d, is_id, k);
	if (f) {
		lru_unlink(d, f);
		lru_append(d, f);
		return f;
	}
	if (d->n_fail >= DOS_FAIL_MAX && d->lru_first)
		fail_forget(d, d->lru_first);
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = k;
	f->is_id = is_id;
	if (spi_table_add(is_id ? d->fail_id : d->fail_src, k, f) != 0) {
		free(f);
		return NULL;
	}
	d->n_fail++;
	lru_append(d, f);
	return f;
}

/* One more failure: after auth_fail_limit of them, back off 1 s, 2 s, 4 s... */
static void fail_count(const struct daemon_cfg *cfg, struct dos_fail *f, uint64_t now)
{
	uint64_t max_ms = (uint64_t)cfg->auth_backoff_max_s * 1000;
	/* A record quiet for twice the longest back-off starts over. */
	uint64_t quiet = 2 * (max_ms > 60000 ? max_ms : 60000);
	if (f->fails && now - f->last_ms > quiet)
		f->fails = 0;
	f->fails++;
	f->last_ms = now;
	if (!max_ms || f->fails <= cfg->auth_fail_limit)
		return;
	uint32_t shift = f->fails - cfg->auth_fail_limit - 1;
	uint64_t wait = shift >= 20 ? max_ms : 1000ULL << shift;
	f->until_ms = now + (wait < max_ms ? wait : max_ms);
}

static void flush_summaries(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct dos *d = ctx;
	d->summary_armed = false;
	while (d->pend_first)
		log_summary(d, d->pend_first);
}

static uint64_t id_key(uint8_t type, const uint8_t *data, size_t len)
{
	/* A basis of its own (the offset's halves swapped): identities and sources differ. */
	return fnv64(fnv64(0x84222325cbf29ce4ULL, &type, 1), data, len);
}

bool dos_auth_failed(struct dos *d, const struct sockaddr_storage *remote, uint8_t type,
		     const uint8_t *data, size_t len)
{
	const struct daemon_cfg *cfg = dcfg(d);
	uint64_t now = engine_now(d->e);
	d->stats.auth_failures++;
	struct dos_fail *f = fail_record(d, false, dos_source(remote));
	if (!f)
		return true;
	if (!f->what[0])
		source_text(remote, f->what, sizeof(f->what));
	fail_count(cfg, f, now);
	/* An identity that is backing off is not verified, and its back-off is not extended. */
	if (len && !backing_off(fail_get(d, true, id_key(type, data, len)), now)) {
		struct dos_fail *g = fail_record(d, true, id_key(type, data, len));
		if (g)
			fail_count(cfg, g, now);
	}
	if (!f->last_log_ms || now - f->last_log_ms >= DOS_LOG_INTERVAL_MS) {
		log_summary(d, f);
		f->last_log_ms = now;
		return true;
	}
	f->suppressed++;
	if (!f->pending) {
		f->pending = true;
		f->pend_prev = NULL;
		f->pend_next = d->pend_first;
		if (d->pend_first)
			d->pend_first->pend_prev = f;
		d->pend_first = f;
	}
	if (!d->summary_armed) {
		d->summary_armed = true;
		timer_arm_in(d->e->env.loop, &d->summary_timer, DOS_LOG_INTERVAL_MS);
	}
	return false;
}

bool dos_auth_blocked_id(struct dos *d, uint8_t type, const uint8_t *data, size_t len)
{
	if (backing_off(fail_get(d, true, id_key(type, data, len)), engine_now(d->e))) {
		d->stats.auth_id_backoff++;
		return true;
	}
	return false;
}

void dos_auth_ok(struct dos *d, uint8_t type, const uint8_t *data, size_t len)
{
	struct dos_fail *f = fail_get(d, true, id_key(type, data, len));
	if (f)
		fail_forget(d, f);
}

bool dos_quiet(struct dos *d, const struct sockaddr_storage *remote)
{
	const struct dos_fail *f = fail_get(d, false, dos_source(remote));
	return f && engine_now(d->e) - f->last_ms < DOS_LOG_INTERVAL_MS;
}

/* ---- reassembly memory ---- */

bool dos_frag_over_global(const struct dos *d, size_t n)
{
	return d->frag_bytes + n > dcfg(d)->frag_mem_max;
}

bool dos_frag_reserve(struct dos *d, uint64_t src, size_t n)
{
	const struct daemon_cfg *cfg = dcfg(d);
	struct dos_src *s = src_get(d, src, true);
	if (!s || s->frag + n > cfg->frag_mem_per_ip || d->frag_bytes + n > cfg->frag_mem_max) {
		d->stats.frag_over_budget++;
		src_put(d, src, s);
		return false;
	}
	s->frag += n;
	d->frag_bytes += n;
	if (d->frag_bytes > d->stats.frag_bytes_peak)
		d->stats.frag_bytes_peak = d->frag_bytes;
	return true;
}

void dos_frag_release(struct dos *d, uint64_t src, size_t n)
{
	struct dos_src *s = src_get(d, src, false);
	if (s) {
		s->frag = s->frag > n ? s->frag - n : 0;
		src_put(d, src, s);
	}
	d->frag_bytes = d->frag_bytes > n ? d->frag_bytes - n : 0;
	dos_released(d, n);
}

size_t dos_frag_bytes(const struct dos *d)
{
	return d->frag_bytes;
}

/* ---- giving memory back ---- */

static void on_trim(struct loop *loop, struct timer *t, void *ctx)
{
	(void)loop;
	(void)t;
	struct dos *d = ctx;
	d->trim_armed = false;
	d->released = 0;
	d->stats.trims++;
	/* glibc keeps freed small chunks in its heap; this returns their pages. */
	malloc_trim(0);
}

void dos_released(struct dos *d, size_t n)
{
	d->released += n;
	if (d->released >= DOS_TRIM_BYTES && !d->trim_armed) {
		d->trim_armed = true;
		timer_arm_in(d->e->env.loop, &d->trim_timer, 1000);
	}
}
