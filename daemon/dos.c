/* Half-open limits and stateless cookies (see dos.h). */
#include "daemon/dos.h"

#include <arpa/inet.h>
#include <gcrypt.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"
#include "daemon/engine.h"
#include "daemon/log.h"
#include "daemon/message.h"
#include "daemon/spi_table.h"

/* Log "under attack" lines at most this often. */
#define DOS_LOG_INTERVAL_MS 5000

struct dos {
	struct engine *e;
	uint8_t secret[2][DOS_SECRET_LEN]; /* [version & 1] */
	uint8_t version;                   /* of the current secret */
	uint64_t rotated_ms;
	struct spi_table *per_ip;          /* hash(address) -> half-open count */
	size_t half_open;
	struct dos_stats stats;
	uint64_t last_log_ms;
};

static void new_secret(struct dos *d)
{
	d->version++;
	rng_fill(d->e->env.rng, d->secret[d->version & 1], DOS_SECRET_LEN);
	d->rotated_ms = engine_now(d->e);
}

struct dos *dos_new(struct engine *e)
{
	struct dos *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->e = e;
	d->per_ip = spi_table_new();
	if (!d->per_ip) {
		free(d);
		return NULL;
	}
	new_secret(d);
	new_secret(d); /* both slots random */
	return d;
}

void dos_free(struct dos *d)
{
	if (!d)
		return;
	spi_table_free(d->per_ip);
	crypto_wipe(d, sizeof(*d));
	free(d);
}

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

static uint64_t addr_key(const struct sockaddr_storage *ss)
{
	size_t n;
	const uint8_t *a = addr_bytes(ss, &n);
	uint64_t h = 0xcbf29ce484222325ULL ^ ss->ss_family;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a[i]) * 0x100000001b3ULL;
	return h;
}

static uintptr_t per_ip(struct dos *d, uint64_t k)
{
	return (uintptr_t)spi_table_get(d->per_ip, k);
}

static void set_per_ip(struct dos *d, uint64_t k, uintptr_t n)
{
	spi_table_del(d->per_ip, k);
	if (n)
		spi_table_add(d->per_ip, k, (void *)n);
}

void dos_half_open_add(struct dos *d, const struct sockaddr_storage *remote)
{
	uint64_t k = addr_key(remote);
	set_per_ip(d, k, per_ip(d, k) + 1);
	if (++d->half_open > d->stats.half_open_peak)
		d->stats.half_open_peak = d->half_open;
}

void dos_half_open_del(struct dos *d, const struct sockaddr_storage *remote)
{
	uint64_t k = addr_key(remote);
	uintptr_t n = per_ip(d, k);
	set_per_ip(d, k, n ? n - 1 : 0);
	if (d->half_open)
		d->half_open--;
}

size_t dos_half_open(const struct dos *d)
{
	return d->half_open;
}

const struct dos_stats *dos_stats(const struct dos *d)
{
	return &d->stats;
}

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
	if (now - d->last_log_ms < DOS_LOG_INTERVAL_MS)
		return;
	d->last_log_ms = now;
	log_msg(LOG_IKE, LOG_LVL_WARN, "%zu half-open IKE SAs: %s (cookies sent %llu, dropped "
		"%llu)", d->half_open, what, (unsigned long long)d->stats.cookies_sent,
		(unsigned long long)(d->stats.dropped_total_cap + d->stats.dropped_per_ip_cap));
}

enum dos_verdict dos_check_init(struct dos *d, const struct ike_msg *m,
				const struct sockaddr_storage *remote, uint8_t *cookie)
{
	const struct daemon_cfg *cfg = &d->e->cfg->cfg->d;
	uint64_t now = engine_now(d->e);
	if (now - d->rotated_ms >= DOS_SECRET_LIFETIME_MS)
		new_secret(d);
	if (d->half_open >= cfg->half_open_max) {
		d->stats.dropped_total_cap++;
		log_pressure(d, "over half_open_max, dropping new IKE_SA_INIT");
		return DOS_DROP;
	}
	if (per_ip(d, addr_key(remote)) >= cfg->half_open_per_ip) {
		d->stats.dropped_per_ip_cap++;
		log_pressure(d, "a source over half_open_per_ip, dropping its IKE_SA_INIT");
		return DOS_DROP;
	}
	if (d->half_open < cfg->cookie_threshold)
		return DOS_ACCEPT;
	const struct ike_payload *np = message_find(m, PL_NONCE, NULL);
	if (!np)
		return DOS_DROP;
	const struct ike_notify *n = message_find_notify(m, N_COOKIE);
	if (n && n->data.len == DOS_COOKIE_LEN &&
	    (n->data.ptr[0] == d->version || (uint8_t)(n->data.ptr[0] + 1) == d->version)) {
		uint8_t want[DOS_COOKIE_LEN];
		make_cookie(d, n->data.ptr[0], &np->u.nonce.data, remote, m->hdr.spi_i, want);
		bool ok = sodium_memcmp(want, n->data.ptr, DOS_COOKIE_LEN) == 0;
		if (ok) {
			d->stats.cookies_accepted++;
			return DOS_ACCEPT;
		}
	}
	if (n)
		d->stats.cookies_rejected++;
	make_cookie(d, d->version, &np->u.nonce.data, remote, m->hdr.spi_i, cookie);
	d->stats.cookies_sent++;
	log_pressure(d, "asking for cookies");
	return DOS_SEND_COOKIE;
}
