/*
 * Certificates in IKE_AUTH, as strongSwan's ike_cert_pre/ike_cert_post:
 *
 *   CERTREQ (RFC 7296 3.7): "X.509 Certificate - Signature" (4) with the
 *     concatenated SHA-1 hashes of the SubjectPublicKeyInfo of every CA we
 *     trust for the peer (cacert =); "Raw Public Key" (15, RFC 7670) with
 *     no data when we pinned its key (remote_pubkey =). The responder sends
 *     it in its IKE_SA_INIT response, the initiator in its IKE_AUTH request.
 *   CERT (RFC 7296 3.6): our end-entity certificate, then the intermediate
 *     CA certificates of our cert = file up to (not including) the first
 *     CA the peer's CERTREQ names, or up to the root; with no certificate,
 *     our raw public key (15, the SubjectPublicKeyInfo).
 *   The peer's key: its first X.509 CERT is the end entity, the others
 *     candidates for the path (crypto/x509.h), which must end at one of
 *     our cacerts, and its IKE identity must be in the certificate; or the
 *     pinned remote_pubkey.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/dn.h"
#include "crypto/pubkey.h"
#include "crypto/x509.h"
#include "daemon/auth.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/text.h"
#include "daemon/names.h"

/* Certificates of the peer we look at per message. */
#define PEER_CERTS_MAX 8

void auth_note_certreq(struct ikesa *sa, const struct ike_msg *m)
{
	struct sa_auth *st = NULL;

	for (const struct ike_payload *p = message_find(m, PL_CERTREQ, NULL); p;
	     p = message_find(m, PL_CERTREQ, p)) {
		const struct ike_cert *c = &p->u.cert;

		if (!st && !(st = sa_auth_get(sa)))
			return;
		st->certreq_seen = true;
		if (c->encoding == CERT_RAW_PUBLIC_KEY) {
			st->certreq_raw = true;
			continue;
		}
		if (c->encoding != CERT_X509_SIGNATURE)
			continue;
		/* RFC 7296 3.7: 20-octet SHA-1 hashes; a length not a multiple of 20 is malformed. */
		if (c->data.len % 20) {
			log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: CERTREQ of %zu octets ignored (not a "
				"list of SHA-1 hashes)", ikesa_tag(sa), c->data.len);
			continue;
		}
		if (!st->certreq && c->data.len &&
		    !(st->certreq = malloc(AUTH_CERTREQ_MAX * sizeof(*st->certreq))))
			return;
		for (size_t i = 0; i < c->data.len && st->n_certreq < AUTH_CERTREQ_MAX; i += 20)
			memcpy(st->certreq[st->n_certreq++], c->data.ptr + i, 20);
	}
}

void ike_cert_build_certreq(struct ikesa *sa, struct ike_builder *b)
{
	const struct conn_cfg *c = sa->conn;

	if (c->remote_auth != CONFIG_AUTH_PUBKEY)
		return;
	if (c->n_cacerts) {
		uint8_t hashes[CONFIG_CACERTS_MAX * 20];
		size_t n = 0;

		for (size_t i = 0; i < c->n_cacerts && i < CONFIG_CACERTS_MAX; i++) {
			pubkey_spki_sha1(x509_pubkey(c->cacerts[i]), hashes + n);
			n += 20;
		}
		payload_build_cert(b, PL_CERTREQ, &(struct ike_cert){.encoding = CERT_X509_SIGNATURE,
								       .data = {hashes, n}});
	}
	if (c->remote_pubkey) {
		/* RFC 7670 3: raw public keys are welcome; the CA field stays empty. */
		payload_build_cert(b, PL_CERTREQ, &(struct ike_cert){.encoding = CERT_RAW_PUBLIC_KEY,
								       .data = {NULL, 0}});
	}
}

static bool peer_trusts(const struct sa_auth *st, const struct x509 *ca)
{
	uint8_t h[20];

	if (!st)
		return false;
	pubkey_spki_sha1(x509_pubkey(ca), h);
	for (size_t i = 0; i < st->n_certreq; i++)
		if (memcmp(st->certreq[i], h, 20) == 0)
			return true;
	return false;
}

static void add_x509(struct ike_builder *b, const struct x509 *x)
{
	size_t len;
	const uint8_t *der = x509_der(x, &len);

	payload_build_cert(b, PL_CERT, &(struct ike_cert){.encoding = CERT_X509_SIGNATURE,
							  .data = {der, len}});
}

void ike_cert_build_certs(struct ikesa *sa, struct ike_builder *b)
{
	const struct conn_cfg *c = sa->conn;

	if (c->local_auth != CONFIG_AUTH_PUBKEY)
		return;
	if (!c->n_certs) {
		size_t len;
		const uint8_t *spki = pubkey_spki(privkey_public(c->key), &len);

		payload_build_cert(b, PL_CERT, &(struct ike_cert){.encoding = CERT_RAW_PUBLIC_KEY,
								  .data = {spki, len}});
		return;
	}
	add_x509(b, c->certs[0]);
	/* Up our chain through the file's other certificates (RFC 7296 3.6: the peer may need them). */
	const struct x509 *cur = c->certs[0];

	for (size_t depth = 1; depth < X509_CHAIN_MAX; depth++) {
		const struct x509 *issuer = NULL;
		size_t il, sl;
		const uint8_t *idn = x509_issuer_der(cur, &il);

		for (size_t i = 1; i < c->n_certs && !issuer; i++) {
			const uint8_t *sdn = x509_subject_der(c->certs[i], &sl);

			if (c->certs[i] != cur && dn_equal(idn, il, sdn, sl) &&
			    x509_check_signature(cur, c->certs[i]) == X509_OK)
				issuer = c->certs[i];
		}
		/* Stop at a CA the peer asked for (it has it) or at a root (useless to send). */
		if (!issuer || peer_trusts(sa->auth, issuer) || x509_self_issued(issuer))
			return;
		add_x509(b, issuer);
		cur = issuer;
	}
}

static void copy_name(char **dst, const char *src)
{
	free(*dst);
	*dst = strdup(src);
}

/* The peer's CERT payloads: X.509 certificates into certs[], a raw key into *raw. */
static int collect(struct ikesa *sa, const struct ike_msg *m, struct x509 **certs, size_t *n,
		   struct pubkey **raw, char *why, size_t whylen)
{
	struct names_buf nb;
	char err[200];

	*n = 0;
	*raw = NULL;
	for (const struct ike_payload *p = message_find(m, PL_CERT, NULL); p;
	     p = message_find(m, PL_CERT, p)) {
		const struct ike_cert *c = &p->u.cert;

		if (c->encoding == CERT_X509_SIGNATURE) {
			if (*n == PEER_CERTS_MAX) {
				log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: more than %d certificates from "
					"the peer: the rest is ignored", ikesa_tag(sa), PEER_CERTS_MAX);
				continue;
			}
			certs[*n] = x509_parse(c->data.ptr, c->data.len, err, sizeof(err));
			if (!certs[*n]) {
				snprintf(why, whylen, "its certificate %zu is malformed: %s", *n + 1, err);
				return -1;
			}
			(*n)++;
		} else if (c->encoding == CERT_RAW_PUBLIC_KEY && !*raw) {
			*raw = pubkey_from_spki(c->data.ptr, c->data.len, err, sizeof(err));
			if (!*raw) {
				snprintf(why, whylen, "its raw public key is malformed: %s", err);
				return -1;
			}
		} else {
			log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: CERT with encoding %s ignored",
				ikesa_tag(sa), names_cert_encoding(c->encoding, &nb));
		}
	}
	return 0;
}

/* Text of an ID for messages. */
static void id_text(const struct ike_id *id, char *buf, size_t len)
{
	struct config_id c = {.type = id->type};
	size_t n = id->data.len < sizeof(c.data) ? id->data.len : sizeof(c.data);

	memcpy(c.data, id->data.ptr, n);
	c.len = (uint16_t)n;
	char raw[CONFIG_ID_MAX * 4 + 64];
	config_id_format(&c, raw, sizeof(raw));
	text_escape(raw, strlen(raw), buf, len); /* the peer chose it: valid UTF-8 kept, controls escaped */
}

int ike_cert_peer_key(struct ikesa *sa, const struct ike_msg *m, const struct ike_id *id,
		      struct pubkey **out, char *why, size_t whylen)
{
	const struct conn_cfg *c = sa->conn;
	struct x509 *certs[PEER_CERTS_MAX];
	struct pubkey *raw = NULL;
	size_t n = 0;
	int rc = -1;
	struct sa_auth *st = sa_auth_get(sa);

	*out = NULL;
	if (!st) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (collect(sa, m, certs, &n, &raw, why, whylen) != 0)
		goto out;
	if (c->remote_pubkey) {
		/* RFC 7670: the key itself is what the configuration trusts. */
		bool cert_has_it = n && pubkey_equal(x509_pubkey(certs[0]), c->remote_pubkey);

		if (raw && !pubkey_equal(raw, c->remote_pubkey)) {
			snprintf(why, whylen, "its raw public key is not the configured remote_pubkey");
			goto out;
		}
		if (raw || cert_has_it || !n || !c->n_cacerts) {
			if (n && !cert_has_it && !raw) {
				snprintf(why, whylen, "its certificate '%s' does not hold the "
					 "configured remote_pubkey", x509_subject_text(certs[0]));
				goto out;
			}
			*out = pubkey_dup(c->remote_pubkey);
			st->remote_raw_key = true;
			rc = *out ? 0 : -1;
			if (rc)
				snprintf(why, whylen, "out of memory");
			goto out;
		}
		/* A certificate with another key, and CAs to check it against: the chain decides. */
	}
	if (!n) {
		snprintf(why, whylen, raw ? "it sent a raw public key, and we expect a certificate"
					  : "it sent no certificate");
		goto out;
	}
	const struct x509 *chain[X509_CHAIN_MAX];
	size_t clen = 0;
	char reason[AUTH_WHY_MAX - 64];
	enum x509_status xs = x509_verify(certs[0], certs + 1, n - 1, c->cacerts, c->n_cacerts,
					  time(NULL), chain, &clen, reason, sizeof(reason));

	if (xs != X509_OK) {
		snprintf(why, whylen, "%s: %s", x509_status_text(xs), reason);
		goto out;
	}
	if (!x509_matches_id(certs[0], id->type, id->data.ptr, id->data.len)) {
		char idt[300], san[256];

		id_text(id, idt, sizeof(idt));
		x509_san_text(certs[0], san, sizeof(san));
		snprintf(why, whylen, "its identity '%s' is not in its certificate (subject '%s', "
			 "subjectAltName '%s')", idt, x509_subject_text(certs[0]), san);
		goto out;
	}
	*out = pubkey_dup(x509_pubkey(certs[0]));
	if (!*out) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	copy_name(&st->remote_subject, x509_subject_text(certs[0]));
	copy_name(&st->remote_issuer, x509_issuer_text(certs[0]));
	log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: peer certificate '%s' valid, %zu certificates up to "
		"'%s'", ikesa_tag(sa), x509_subject_text(certs[0]), clen,
		x509_subject_text(chain[clen - 1]));
	rc = 0;
out:
	while (n)
		x509_free(certs[--n]);
	pubkey_free(raw);
	return rc;
}
