/*
 * IKE_AUTH authentication (RFC 7296 2.15): what each side proves and how,
 * behind one small interface for task_ike_auth.c.
 *
 *   auth.c         per-SA state (struct sa_auth), the signed octets, the
 *                  IKE_SA_INIT hooks (the peer's SIGNATURE_HASH_ALGORITHMS
 *                  and CERTREQ), and the dispatch below
 *   auth_psk.c     AUTH_SHARED_KEY_MIC (RFC 7296 2.15)
 *   auth_pubkey.c  signatures: RFC 7427 Digital Signature (method 14) and
 *                  the classic RSA (1, RFC 7296 3.8) and ECDSA (9-11, RFC
 *                  4754) methods
 *   ike_cert.c     CERT and CERTREQ payloads (RFC 7296 3.6, 3.7; RFC 7670
 *                  raw public keys), and the peer's public key from its
 *                  certificate chain or the configuration
 *
 * Each side uses its own method (conn local_auth / remote_auth): a PSK one
 * way and a certificate the other works. Every failure leaves a reason in
 * a why buffer for the one log line task_ike_auth writes.
 */
#ifndef XIKED_AUTH_H
#define XIKED_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/pubkey.h"
#include "crypto/sigalg.h"
#include "daemon/config.h"
#include "daemon/message.h"

struct ikesa;
struct pubkey;

/* Room for a failure reason. */
#define AUTH_WHY_MAX 512
/* CA key hashes from the peer's CERTREQ payloads we keep (RFC 7296 3.7). */
#define AUTH_CERTREQ_MAX 32

/*
 * Per IKE SA, owned by it (sa->auth), made on first use: for SAs with
 * signature authentication on either side, or a peer that sent CERTREQ.
 */
struct sa_auth {
	/*
	 * The peer's CERTREQ: SHA-1 hashes of CA public keys it trusts (owned,
	 * AUTH_CERTREQ_MAX of room, freed once the SA is established);
	 * certreq_raw: it takes raw keys (RFC 7670).
	 */
	uint8_t (*certreq)[20];
	size_t n_certreq;
	bool certreq_seen, certreq_raw;
	/* Results, for status: the AUTH method and signature scheme of each side. */
	uint8_t local_method, remote_method;       /* enum ike_auth_method, 0 until known */
	enum sig_scheme local_scheme, remote_scheme;
	bool remote_raw_key;                       /* the peer proved a pinned raw key */
	char *remote_subject, *remote_issuer;      /* the peer's end-entity certificate, or NULL */
};

/* The SA's state, made if needed (NULL on allocation failure). */
struct sa_auth *sa_auth_get(struct ikesa *sa);
/* Drops what only IKE_AUTH needed (the CERTREQ list): the SA is established. NULL-safe. */
void sa_auth_established(struct sa_auth *a);
/* A copy of the results (not the CERTREQ list) for a rekeyed IKE SA. NULL-safe. */
struct sa_auth *sa_auth_dup(const struct sa_auth *a);
void sa_auth_free(struct sa_auth *a); /* NULL-safe */

struct json_writer;
/*
 * Status members of one side of sa (inside its "local"/"remote" object):
 * "auth" (psk, pubkey), and for pubkey "auth_method" (IANA name),
 * "signature" (sigalg_name), "cert_subject", "cert_issuer" (certificates)
 * or "raw_key": true.
 */
void auth_status(const struct ikesa *sa, bool local, struct json_writer *w);

/* ---- IKE_SA_INIT (task_ike_init.c) ---- */

/*
 * Notes what the peer's IKE_SA_INIT message (request at the responder,
 * response at the initiator) says for authentication: the hash algorithms
 * of its SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 4, into
 * sa->peer_sig_hashes) and its CERTREQ payloads.
 */
void auth_note_init(struct ikesa *sa, const struct ike_msg *m);

/* Responder: CERTREQ in the IKE_SA_INIT response when sa->conn checks the peer's certificates. */
void auth_build_init_certreq(struct ikesa *sa, struct ike_builder *b);

/* ---- IKE_AUTH (task_ike_auth.c) ---- */

/* Notes the peer's CERTREQ payloads of an IKE_AUTH request. */
void auth_note_certreq(struct ikesa *sa, const struct ike_msg *m);

/*
 * Our CERT payloads (when we authenticate with a key: certificate and the
 * intermediates the peer needs, or our raw public key) and, for the
 * initiator (with_certreq), CERTREQ when we check the peer's certificate.
 * RFC 7296 3.5/1.2 order: after our ID payload, before IDr and AUTH.
 */
void auth_build_certs(struct ikesa *sa, struct ike_builder *b, bool with_certreq);

/* The contents of our AUTH payload, made before any payload is built. */
struct auth_out {
	uint8_t method; /* enum ike_auth_method */
	size_t len;
	uint8_t data[1 + SIGALG_DER_MAX + PUBKEY_SIG_MAX];
};

/*
 * Our AUTH over our ID payload body id_body[0..idlen) (type, reserved,
 * data) into *out. 0, or -1 with why (no common signature hash, signing
 * failed...).
 */
int auth_make(struct ikesa *sa, const uint8_t *id_body, size_t idlen, struct auth_out *out,
	      char *why, size_t whylen);
/* Appends the AUTH payload and wipes *out. */
void auth_build(struct ike_builder *b, struct auth_out *out);

/*
 * Checks the peer's AUTH (authp) over its ID payload (idp) with the method
 * sa->conn expects of it (remote_auth), taking the key from m's CERT
 * payloads or the configuration. 0, or -1 with why.
 */
int auth_verify(struct ikesa *sa, const struct ike_msg *m, const struct ike_payload *idp,
		const struct ike_payload *authp, char *why, size_t whylen);

/* Whether an AUTH method is of the kind (psk or signature) a side configured with auth uses. */
bool auth_method_fits(uint8_t method, enum config_auth auth);

/* ---- the parts (auth_psk.c, auth_pubkey.c, ike_cert.c) ---- */

/*
 * RFC 7296 2.15 signed octets of one side (of_initiator) over its ID body:
 * a new buffer (caller frees) in *out. 0 or -1.
 */
int auth_octets(struct ikesa *sa, bool of_initiator, const uint8_t *id_body, size_t idlen,
		uint8_t **out, size_t *len);

/* Shared key MIC of one side into mac (prf_out_len octets). 0 or -1. */
int auth_psk_mic(struct ikesa *sa, bool of_initiator, const uint8_t *id_body, size_t idlen,
		 uint8_t *mac);

/* Signs octets with conn->key as the peer can check it, into *out. 0 or -1 with why. */
int auth_pubkey_sign(struct ikesa *sa, const uint8_t *octets, size_t len, struct auth_out *out,
		     char *why, size_t whylen);

/* Checks a signature AUTH payload with the peer's key pk. 0 or -1 with why. */
int auth_pubkey_verify(struct ikesa *sa, const struct pubkey *pk, const struct ike_auth *a,
		       const uint8_t *octets, size_t len, char *why, size_t whylen);

/*
 * The key the peer must have signed with: its end-entity certificate
 * validated up to a cacert with idp's identity in it, or the pinned
 * remote_pubkey. A new key in *out (caller frees). 0, or -1 with why.
 */
int ike_cert_peer_key(struct ikesa *sa, const struct ike_msg *m, const struct ike_id *id,
		      struct pubkey **out, char *why, size_t whylen);

/* CERT and CERTREQ payloads (auth_build_certs does both). */
void ike_cert_build_certs(struct ikesa *sa, struct ike_builder *b);
void ike_cert_build_certreq(struct ikesa *sa, struct ike_builder *b);

#endif
