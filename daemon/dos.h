/*
 * Denial-of-service protection of the responder (RFC 7296 2.6):
 *
 *  - sources: every limit below counts per source, an IPv4 address or an
 *    IPv6 /64 (one host or site gets a /64, so counting IPv6 addresses one
 *    by one would give an attacker 2^64 "sources");
 *  - half-open IKE SAs (IKE_SA_INIT answered, IKE_AUTH not yet done) are
 *    counted in total and per source (half_open_max, half_open_per_ip), and
 *    all IKE SAs a source opened, half-open or established (ike_sa_per_ip).
 *    Over a per-source cap an IKE_SA_INIT is dropped unanswered. A full
 *    half-open table does not lock new initiators out: each must echo a
 *    cookie, and one that does takes the place of the oldest half-open SA
 *    (an honest peer finishes IKE_AUTH in a round trip; an attacker's SAs
 *    sit until they expire);
 *  - above cookie_threshold half-open SAs, an IKE_SA_INIT must carry a
 *    valid COOKIE, else it is answered statelessly with one and costs no
 *    DH computation and no memory:
 *        Cookie = <VersionIDofSecret> | SHA-256(Ni | IPi | SPIi | <secret>)
 *    The secret rotates every DOS_SECRET_LIFETIME_MS; cookies made with the
 *    previous secret stay valid until the next rotation;
 *  - failed authentication (IKE_AUTH answered AUTHENTICATION_FAILED) is
 *    counted per source and per claimed identity. After auth_fail_limit
 *    failures each further one doubles a back-off (1 s, 2 s, ... up to
 *    auth_backoff_max). While a source backs off, its IKE_SA_INITs are
 *    dropped before any state or DH work: a cookie would not slow a client
 *    that answers cookies, and this source has already shown its address
 *    is real. While an identity backs off, its IKE_AUTH is answered
 *    AUTHENTICATION_FAILED without verifying AUTH. Failure log lines are
 *    limited to one per source every DOS_LOG_INTERVAL_MS, then "N more
 *    authentication failures from X suppressed". The failure records are
 *    bounded (DOS_FAIL_MAX, least recently failed forgotten first);
 *  - fragment reassembly memory (RFC 7383) is reserved here against a
 *    global budget (frag_mem_max) and a per-source one (frag_mem_per_ip).
 *
 * Everything is O(1) per datagram (hash tables, lists); released memory is
 * handed back to the system (malloc_trim) once a large amount was freed.
 */
#ifndef XIKED_DOS_H
#define XIKED_DOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/timing.h"

struct engine;
struct ikesa;
struct ike_msg;

#define DOS_SECRET_LEN 32
#define DOS_COOKIE_LEN 33 /* version octet + SHA-256 */
/* DOS_SECRET_LIFETIME_MS and DOS_LOG_INTERVAL_MS: daemon/timing.h. */
/* Failure records kept (sources + identities); the least recently failed go first. */
#define DOS_FAIL_MAX 65536
/* malloc_trim once this much was released (at most once a second). */
#define DOS_TRIM_BYTES (4u << 20)

struct dos_stats {
	uint64_t cookies_sent, cookies_accepted, cookies_rejected;
	uint64_t dropped_total_cap, dropped_per_ip_cap, dropped_ike_per_ip;
	uint64_t half_open_peak, half_open_evicted;
	uint64_t auth_failures, dropped_auth_backoff, auth_id_backoff, auth_logs_suppressed;
	uint64_t frag_bytes_peak, frag_over_budget;
	uint64_t trims;
};

struct dos;

struct dos *dos_new(struct engine *e);
void dos_free(struct dos *d); /* wipes the secrets; NULL-safe */

/* The source an address counts as: its IPv4 address or its IPv6 /64 (as a hash key). */
uint64_t dos_source(const struct sockaddr_storage *ss);

enum dos_verdict {
	DOS_ACCEPT,       /* create the half-open SA */
	DOS_ACCEPT_EVICT, /* proven by a cookie with the table full: make room first */
	DOS_SEND_COOKIE,  /* answer with *cookie (no state) */
	DOS_DROP,         /* over a per-source cap or backing off: no answer */
};

/*
 * Judge a parsed IKE_SA_INIT request (borrowed) from remote. On
 * DOS_SEND_COOKIE, cookie[0..DOS_COOKIE_LEN) is the value to send. On
 * DOS_ACCEPT_EVICT the caller destroys its oldest half-open SA before
 * creating the new one.
 */
enum dos_verdict dos_check_init(struct dos *d, const struct ike_msg *m,
				const struct sockaddr_storage *remote, uint8_t *cookie);
/* A half-open SA from remote was created / is no longer half-open. */
void dos_half_open_add(struct dos *d, const struct sockaddr_storage *remote);
void dos_half_open_del(struct dos *d, const struct sockaddr_storage *remote);
/* An IKE SA opened by source remote was created / destroyed (ike_sa_per_ip). */
void dos_ike_sa_add(struct dos *d, const struct sockaddr_storage *remote);
void dos_ike_sa_del(struct dos *d, const struct sockaddr_storage *remote);
size_t dos_half_open(const struct dos *d);
const struct dos_stats *dos_stats(const struct dos *d);

/*
 * Authentication failures. dos_auth_failed records one from remote for
 * the claimed identity (type, data[0..len), may be empty) and returns
 * whether to log it (false: counted in a later summary line).
 * dos_auth_blocked_id: the identity backs off (answer without verifying).
 * dos_auth_ok forgets an identity's failures once it authenticated.
 * dos_quiet: remote failed recently, so routine lines about it (a new
 * IKE_SA_INIT) go to debug.
 */
bool dos_auth_failed(struct dos *d, const struct sockaddr_storage *remote, uint8_t type,
		     const uint8_t *data, size_t len);
bool dos_auth_blocked_id(struct dos *d, uint8_t type, const uint8_t *data, size_t len);
void dos_auth_ok(struct dos *d, uint8_t type, const uint8_t *data, size_t len);
bool dos_quiet(struct dos *d, const struct sockaddr_storage *remote);

/*
 * Reassembly memory (fragment.c): reserve n octets for source src (a
 * dos_source key); false when over frag_mem_per_ip or, after the caller
 * could not free enough, frag_mem_max. dos_frag_over_global says whether
 * n more octets would exceed frag_mem_max (the caller evicts the oldest
 * reassembly then). Release what was reserved.
 */
bool dos_frag_reserve(struct dos *d, uint64_t src, size_t n);
bool dos_frag_over_global(const struct dos *d, size_t n);
void dos_frag_release(struct dos *d, uint64_t src, size_t n);
size_t dos_frag_bytes(const struct dos *d);

/* n octets were freed: hands memory back to the system after DOS_TRIM_BYTES. */
void dos_released(struct dos *d, size_t n);

#endif
