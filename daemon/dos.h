/*
 * Denial-of-service protection of the responder (RFC 7296 2.6):
 *
 *  - half-open IKE SAs (IKE_SA_INIT answered, IKE_AUTH not yet done) are
 *    counted in total and per source address, and capped (half_open_max,
 *    half_open_per_ip): above a cap an IKE_SA_INIT is dropped unanswered;
 *  - above cookie_threshold half-open SAs, an IKE_SA_INIT must carry a
 *    valid COOKIE, else it is answered statelessly with one and costs no
 *    DH computation and no memory:
 *        Cookie = <VersionIDofSecret> | SHA-256(Ni | IPi | SPIi | <secret>)
 *    The secret rotates every DOS_SECRET_LIFETIME_MS; cookies made with the
 *    previous secret stay valid until the next rotation.
 *
 * All counters are O(1) per datagram (a hash table by address).
 */
#ifndef XIKED_DOS_H
#define XIKED_DOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct engine;
struct ikesa;
struct ike_msg;

#define DOS_SECRET_LEN 32
#define DOS_COOKIE_LEN 33 /* version octet + SHA-256 */
#define DOS_SECRET_LIFETIME_MS (120 * 1000)

struct dos_stats {
	uint64_t cookies_sent, cookies_accepted, cookies_rejected;
	uint64_t dropped_total_cap, dropped_per_ip_cap;
	uint64_t half_open_peak;
};

struct dos;

struct dos *dos_new(struct engine *e);
void dos_free(struct dos *d); /* wipes the secrets; NULL-safe */

enum dos_verdict {
	DOS_ACCEPT,       /* create the half-open SA */
	DOS_SEND_COOKIE,  /* answer with *cookie (no state) */
	DOS_DROP,         /* over a cap: no answer */
};

/*
 * Judge a parsed IKE_SA_INIT request (borrowed) from remote. On
 * DOS_SEND_COOKIE, cookie[0..DOS_COOKIE_LEN) is the value to send.
 */
enum dos_verdict dos_check_init(struct dos *d, const struct ike_msg *m,
				const struct sockaddr_storage *remote, uint8_t *cookie);
/* A half-open SA from remote was created / is no longer half-open. */
void dos_half_open_add(struct dos *d, const struct sockaddr_storage *remote);
void dos_half_open_del(struct dos *d, const struct sockaddr_storage *remote);
size_t dos_half_open(const struct dos *d);
const struct dos_stats *dos_stats(const struct dos *d);

#endif
