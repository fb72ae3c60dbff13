/*
 * Names of IKEv2 protocol values, for logs and the control socket.
 *
 * Spelling follows the IANA "IKEv2 Parameters" registry where it gives an
 * identifier (IKE_SA_INIT, NAT_DETECTION_SOURCE_IP, ENCR_AES_GCM_16,
 * PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128, MODP_2048, ECP_256,
 * Curve25519, ID_FQDN, TS_IPV4_ADDR_RANGE, CFG_REQUEST,
 * INTERNAL_IP4_ADDRESS) and the payload notation of RFC 7296 (SA, KE, IDi,
 * N, SK...). Where IANA only has prose (auth methods, cert encodings, ESN)
 * the short identifier of ikev2.h's enum without its prefix is used
 * (SHARED_KEY_MIC, X509_SIGNATURE, ESN).
 *
 * Unknown values: the result is written into the caller's struct names_buf
 * as a stable "UNKNOWN_<KIND>(<decimal>)", e.g. "UNKNOWN_NOTIFY(12345)",
 * and that buffer is returned. Known values return a static string (the
 * buffer is untouched). The result is therefore valid as long as both the
 * program and the buffer are; a compound literal fits a log call:
 *     log_msg(..., "%s", names_notify(t, &(struct names_buf){0}));
 * Never returns NULL. Thread-safe (no static per-call storage).
 */
#ifndef XIKED_NAMES_H
#define XIKED_NAMES_H

#include <stdint.h>

struct names_buf {
	char s[48];
};

const char *names_exchange(uint8_t exchange, struct names_buf *b);
const char *names_payload(uint8_t type, struct names_buf *b);
const char *names_notify(uint16_t type, struct names_buf *b);
const char *names_protocol(uint8_t protocol, struct names_buf *b);
/* ENCR, PRF, INTEG, KE, ESN */
const char *names_transform_type(uint8_t type, struct names_buf *b);
/* A transform ID named according to its transform type (dispatches below). */
const char *names_transform(uint8_t type, uint16_t id, struct names_buf *b);
const char *names_encr(uint16_t id, struct names_buf *b);
const char *names_prf(uint16_t id, struct names_buf *b);
const char *names_integ(uint16_t id, struct names_buf *b);
const char *names_dh(uint16_t group, struct names_buf *b);
const char *names_esn(uint16_t id, struct names_buf *b);
const char *names_id_type(uint8_t type, struct names_buf *b);
const char *names_auth_method(uint8_t method, struct names_buf *b);
const char *names_cert_encoding(uint8_t encoding, struct names_buf *b);
const char *names_hash_alg(uint16_t alg, struct names_buf *b);
const char *names_ts_type(uint8_t type, struct names_buf *b);
const char *names_cfg_type(uint8_t type, struct names_buf *b);
const char *names_cfg_attr(uint16_t type, struct names_buf *b);
const char *names_eap_code(uint8_t code, struct names_buf *b);

#endif
