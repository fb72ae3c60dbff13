/* IKE_AUTH authentication: per-SA state, signed octets, dispatch (see auth.h). */
#include "daemon/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keymat.h"
#include "crypto/prf.h"
#include "crypto/pubkey.h"
#include "crypto/secret.h"
#include "crypto/x509.h"
#include "daemon/ikesa.h"
#include "daemon/json.h"
#include "daemon/log.h"
#include "daemon/names.h"

struct sa_auth *sa_auth_get(struct ikesa *sa)
{
	if (!sa->auth)
		sa->auth = calloc(1, sizeof(*sa->auth));
	return sa->auth;
}

struct sa_auth *sa_auth_dup(const struct sa_auth *a)
{
	if (!a)
		return NULL;
	struct sa_auth *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->local_method = a->local_method;
	n->remote_method = a->remote_method;
	n->local_scheme = a->local_scheme;
	n->remote_scheme = a->remote_scheme;
	n->remote_raw_key = a->remote_raw_key;
	n->remote_subject = a->remote_subject ? strdup(a->remote_subject) : NULL;
	n->remote_issuer = a->remote_issuer ? strdup(a->remote_issuer) : NULL;
	return n;
}

void sa_auth_established(struct sa_auth *a)
{
	if (!a)
		return;
	free(a->certreq);
	a->certreq = NULL;
	a->n_certreq = 0;
}

void sa_auth_free(struct sa_auth *a)
{
	if (!a)
		return;
	free(a->certreq);
	free(a->remote_subject);
	free(a->remote_issuer);
	free(a);
}

void auth_note_init(struct ikesa *sa, const struct ike_msg *m)
{
	const struct ike_notify *n = message_find_notify(m, N_SIGNATURE_HASH_ALGORITHMS);

	/* RFC 7427 4: a list of 2-octet hash algorithm numbers. */
	if (n) {
		sa->peer_sig_hashes = 0;
		for (size_t i = 0; i + 1 < n->data.len; i += 2) {
			uint16_t h = (uint16_t)(n->data.ptr[i] << 8 | n->data.ptr[i + 1]);

			if (h > 0 && h < 8)
				sa->peer_sig_hashes |= (uint8_t)(1u << h);
		}
	}
	if (message_find(m, PL_CERTREQ, NULL))
		auth_note_certreq(sa, m);
}

void auth_build_init_certreq(struct ikesa *sa, struct ike_builder *b)
{
	/* RFC 7296 1.2: <-- HDR, SAr1, KEr, Nr, [CERTREQ] */
	ike_cert_build_certreq(sa, b);
}

void auth_build_certs(struct ikesa *sa, struct ike_builder *b, bool with_certreq)
{
	ike_cert_build_certs(sa, b);
	if (with_certreq)
		ike_cert_build_certreq(sa, b);
}

int auth_octets(struct ikesa *sa, bool of_initiator, const uint8_t *id_body, size_t idlen,
		uint8_t **out, size_t *len)
{
	const uint8_t *msg = of_initiator ? sa->init_req : sa->init_resp;
	size_t msglen = of_initiator ? sa->init_req_len : sa->init_resp_len;
	const uint8_t *nonce = of_initiator ? sa->nr : sa->ni;
	size_t nlen = of_initiator ? sa->nr_len : sa->ni_len;
	const struct secret *skp = of_initiator ? sa->keys.sk_pi : sa->keys.sk_pr;
	size_t cap;

	*out = NULL;
	if (!msg || !nonce || !skp)
		return -1;
	cap = keymat_auth_octets_len(sa->suite.prf, msglen, nlen);
	if (cap == 0 || !(*out = malloc(cap)))
		return -1;
	if (keymat_auth_octets(sa->suite.prf, msg, msglen, nonce, nlen, skp, id_body, idlen, *out,
			       cap, len) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

bool auth_method_fits(uint8_t method, enum config_auth auth)
{
	switch (method) {
	case AUTH_SHARED_KEY_MIC:
		return auth == CONFIG_AUTH_PSK;
	case AUTH_RSA_SIG:
	case AUTH_ECDSA_256:
	case AUTH_ECDSA_384:
	case AUTH_ECDSA_521:
	case AUTH_DIGITAL_SIGNATURE:
		return auth == CONFIG_AUTH_PUBKEY;
	default:
		return false;
	}
}

int auth_make(struct ikesa *sa, const uint8_t *id_body, size_t idlen, struct auth_out *out,
	      char *why, size_t whylen)
{
	const struct conn_cfg *c = sa->conn;

	if (c->local_auth == CONFIG_AUTH_PSK) {
		if (auth_psk_mic(sa, sa->initiator, id_body, idlen, out->data) != 0) {
			snprintf(why, whylen, "cannot compute the shared key MIC");
			return -1;
		}
		out->method = AUTH_SHARED_KEY_MIC;
		out->len = prf_out_len(sa->suite.prf);
		if (c->remote_auth == CONFIG_AUTH_PUBKEY) {
			/* Asymmetric: status shows our side too. */
			struct sa_auth *st = sa_auth_get(sa);

			if (st)
				st->local_method = AUTH_SHARED_KEY_MIC;
		}
		return 0;
	}
	uint8_t *octets;
	size_t len;

	if (auth_octets(sa, sa->initiator, id_body, idlen, &octets, &len) != 0) {
		snprintf(why, whylen, "cannot build the signed octets");
		return -1;
	}
	int rc = auth_pubkey_sign(sa, octets, len, out, why, whylen);

	free(octets);
	return rc;
}

void auth_build(struct ike_builder *b, struct auth_out *out)
{
	struct ike_auth a = {.method = out->method, .data = {out->data, out->len}};

	payload_build_auth(b, &a);
	crypto_wipe(out, sizeof(*out));
}

int auth_verify(struct ikesa *sa, const struct ike_msg *m, const struct ike_payload *idp,
		const struct ike_payload *authp, char *why, size_t whylen)
{
	const struct conn_cfg *c = sa->conn;
	const struct ike_auth *a = &authp->u.auth;
	struct names_buf nb;

	if (!auth_method_fits(a->method, c->remote_auth)) {
		snprintf(why, whylen, "the peer authenticates with %s, we expect %s (remote_auth = %s)",
			 names_auth_method(a->method, &nb),
			 c->remote_auth == CONFIG_AUTH_PSK ? "a pre-shared key" : "a signature",
			 config_auth_name(c->remote_auth));
		return -1;
	}
	if (a->method == AUTH_SHARED_KEY_MIC) {
		uint8_t mac[PRF_OUT_MAX];
		size_t mlen = prf_out_len(sa->suite.prf);

		if (auth_psk_mic(sa, !sa->initiator, idp->body.ptr, idp->body.len, mac) != 0) {
			snprintf(why, whylen, "cannot compute the shared key MIC");
			return -1;
		}
		bool ok = a->data.len == mlen && sodium_memcmp(mac, a->data.ptr, mlen) == 0;

		crypto_wipe(mac, sizeof(mac));
		if (!ok) {
			snprintf(why, whylen, "its AUTH payload does not verify (wrong pre-shared key?)");
			return -1;
		}
		if (c->local_auth == CONFIG_AUTH_PUBKEY) {
			struct sa_auth *st = sa_auth_get(sa);

			if (st)
				st->remote_method = AUTH_SHARED_KEY_MIC;
		}
		return 0;
	}
	struct pubkey *pk = NULL;
	uint8_t *octets = NULL;
	size_t len;
	int rc = -1;

	if (ike_cert_peer_key(sa, m, &idp->u.id, &pk, why, whylen) != 0)
		goto out;
	if (auth_octets(sa, !sa->initiator, idp->body.ptr, idp->body.len, &octets, &len) != 0) {
		snprintf(why, whylen, "cannot build the signed octets");
		goto out;
	}
	rc = auth_pubkey_verify(sa, pk, a, octets, len, why, whylen);
out:
	free(octets);
	pubkey_free(pk);
	return rc;
}

void auth_status(const struct ikesa *sa, bool local, struct json_writer *w)
{
	const struct conn_cfg *c = sa->conn;
	enum config_auth a = local ? c->local_auth : c->remote_auth;
	const struct sa_auth *st = sa->auth;
	uint8_t method = st ? (local ? st->local_method : st->remote_method) : 0;
	struct names_buf nb;

	json_kv_str(w, "auth", config_auth_name(a));
	if (a != CONFIG_AUTH_PUBKEY)
		return;
	if (method) {
		json_kv_str(w, "auth_method", names_auth_method(method, &nb));
		json_kv_str(w, "signature",
			    sigalg_name(local ? st->local_scheme : st->remote_scheme));
	}
	if (local && c->n_certs) {
		json_kv_str(w, "cert_subject", x509_subject_text(c->certs[0]));
		json_kv_str(w, "cert_issuer", x509_issuer_text(c->certs[0]));
	} else if (local) {
		json_kv_bool(w, "raw_key", true);
	} else if (st && st->remote_subject) {
		json_kv_str(w, "cert_subject", st->remote_subject);
		json_kv_str(w, "cert_issuer", st->remote_issuer ? st->remote_issuer : "");
	} else if (st && st->remote_raw_key) {
		json_kv_bool(w, "raw_key", true);
	}
}
