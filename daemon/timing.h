/*
 * Every timing constant of xiked's IKE and Child SA timers and its
 * configuration defaults, with units, in one place: daemon/timers.h's top
 * comment says which rule uses each (design.md rules 8 and 15). Constants
 * only; no code and no includes, so the configuration (infrastructure) and
 * the engine may both include it.
 */
#ifndef XIKED_TIMING_H
#define XIKED_TIMING_H

/* ---- configuration defaults (doc/xiked.conf.5) ---- */

/* Retransmission (RFC 7296 2.1, 2.4): retransmit_timeout * retransmit_base^n, then after
 * retransmit_tries the peer is dead. strongSwan's defaults: 4 s, 1.8, 5 (about 165 s). */
#define CONFIG_RETRANSMIT_TIMEOUT_MS_DEFAULT 4000u
#define CONFIG_RETRANSMIT_BASE_TENTHS_DEFAULT 18u
#define CONFIG_RETRANSMIT_TRIES_DEFAULT 5u
/* half_open_timeout: a responder's IKE SA not established by then is dropped, seconds. */
#define CONFIG_HALF_OPEN_TIMEOUT_DEFAULT 30u
/* auth_backoff_max: the longest a failing source or identity backs off (dos.c), seconds. */
#define CONFIG_AUTH_BACKOFF_MAX_DEFAULT 60u
/* Child SA lifetime, rekey margin (and rand_margin), IKE SA lifetime, seconds (2.8). */
#define CONFIG_LIFETIME_DEFAULT 3600u
#define CONFIG_REKEY_MARGIN_DEFAULT 540u
#define CONFIG_IKE_LIFETIME_DEFAULT 14400u
/* NAT keepalive interval (RFC 3948 2.3) and DPD idle time (2.4), seconds. */
#define CONFIG_KEEPALIVE_DEFAULT 20u
#define CONFIG_DPD_DEFAULT 30u

/* ---- fixed timings, milliseconds ---- */

/* Our IKE rekey met TEMPORARY_FAILURE (2.25): retried after this plus up to as much again. */
#define REKEY_RETRY_MS 5000
/* Milliseconds a peer may keep answering TEMPORARY_FAILURE to our IKE rekey. */
#define IKE_REKEY_GIVE_UP_MS (5 * 60 * 1000)
/* A Child SA create or rekey met TEMPORARY_FAILURE: wait this long (plus up to as much again
 * at random) before retrying (2.25) ... */
#define CHILD_RETRY_MS 5000
/* ... but sooner when the SA's hard lifetime is near: half the time left, at least this. */
#define CHILD_RETRY_MIN_MS 200
/* The longest an IKE SA the peer's IKE rekey replaced waits for the peer's Delete (2.8). */
#define IKE_REPLACED_WAIT_MS 30000
/* The longest a reauthentication's responder sends on the old Child SA (task_reauth.h). */
#define REAUTH_OUT_WAIT_MS 10000
/* How long an ACQUIRE-started negotiation keeps further ACQUIREs away (trap.h). */
#define TRAP_PENDING_MS 30000
/* RFC 4555: address, link and route events are handled this long after the first of a
 * burst (mobike.h). */
#define MOBIKE_DEBOUNCE_MS 200
/* RFC 7383 2.6: a partial fragmented message is dropped this long after its first fragment
 * arrived (the sender retransmits all fragments meanwhile). */
#define IKE_FRAG_TIMEOUT_MS 30000
/* RFC 7296 2.6: the cookie secret rotates this often (the previous one stays valid). */
#define DOS_SECRET_LIFETIME_MS (120 * 1000)
/* Log "under attack" and authentication failure lines at most this often (per source). */
#define DOS_LOG_INTERVAL_MS 5000

#endif
