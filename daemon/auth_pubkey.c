/*
 * Signature authentication (RFC 7296 2.15: AUTH is a signature over the
 * signed octets).
 *
 * Which method we sign with:
 *  - the peer sent SIGNATURE_HASH_ALGORITHMS (RFC 7427 4): Digital
 *    Signature (method 14), AUTH data = length | AlgorithmIdentifier |
 *    signature (RFC 7427 3); RSA keys with RSASSA-PSS (rsa_padding = pkcs1:
 *    PKCS#1 v1.5), ECDSA with the curve's own hash when the peer has it,
 *    Ed25519 with the Identity hash (RFC 8420), each hash one the peer
 *    announced;
 *  - otherwise the classic methods: RSA Digital Signature (1; PKCS#1 v1.5
 *    with SHA-1, RFC 7296 3.8) and ECDSA with SHA-256 on P-256 (9), SHA-384
 *    on P-384 (10), SHA-512 on P-521 (11) as r | s (RFC 4754). Ed25519 has
 *    no classic method.
 * What we accept: the same methods; with method 14 only the hashes we
 * announce ourselves (task_ike_init.c: SHA2-256/384/512 and Identity).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/pubkey.h"
#include "crypto/sigalg.h"
#include "daemon/auth.h"
#include "daemon/ikesa.h"
#include "daemon/names.h"

/* The hashes task_ike_init.c announces in SIGNATURE_HASH_ALGORITHMS. */
#define OUR_HASHES ((1u << HASH_SHA2_256) | (1u << HASH_SHA2_384) | (1u << HASH_SHA2_512) | \
		    (1u << HASH_IDENTITY))

static bool peer_has(const struct ikesa *sa, uint8_t hash)
{
	return (sa->peer_sig_hashes & (1u << hash)) != 0;
}

static const char *hash_name(uint8_t h)
{
	switch (h) {
	case HASH_SHA1:
		return "SHA1";
	case HASH_SHA2_256:
		return "SHA2_256";
	case HASH_SHA2_384:
		return "SHA2_384";
	case HASH_SHA2_512:
		return "SHA2_512";
	case HASH_IDENTITY:
		return "Identity";
	default:
		return "unknown";
	}
}

/* "SHA2_256 SHA2_384" of a hash bit set, for messages. */
static void hashes_text(uint8_t set, char *buf, size_t len)
{
	size_t pos = 0;

	buf[0] = 0;
	for (uint8_t h = 1; h < 8; h++) {
		if (!(set & (1u << h)))
			continue;
		int n = snprintf(buf + pos, len - pos, "%s%s", pos ? " " : "", hash_name(h));

		if (n < 0 || (size_t)n >= len - pos)
			return;
		pos += (size_t)n;
	}
	if (!pos)
		snprintf(buf, len, "none");
}

/* The hash of ECDSA on a curve (RFC 4754 and the usual pairing). */
static enum sig_scheme ecdsa_curve_scheme(enum key_type t)
{
	return t == KEY_ECDSA_P384 ? SIG_ECDSA_SHA384
	       : t == KEY_ECDSA_P521 ? SIG_ECDSA_SHA512
				     : SIG_ECDSA_SHA256;
}

/* Picks method and scheme for our key; 0 or -1 with why. */
static int choose(struct ikesa *sa, enum key_type t, uint8_t *method, enum sig_scheme *scheme,
		  char *why, size_t whylen)
{
	char peer[64];

	if (!(sa->ext & EXT_SIG_HASH)) {
		switch (t) {
		case KEY_RSA:
			*method = AUTH_RSA_SIG;
			*scheme = SIG_RSA_PKCS1_SHA1;
			return 0;
		case KEY_ECDSA_P256:
			*method = AUTH_ECDSA_256;
			break;
		case KEY_ECDSA_P384:
			*method = AUTH_ECDSA_384;
			break;
		case KEY_ECDSA_P521:
			*method = AUTH_ECDSA_521;
			break;
		default:
			snprintf(why, whylen, "our %s key needs RFC 7427 signature authentication, and "
				 "the peer did not announce SIGNATURE_HASH_ALGORITHMS", key_type_name(t));
			return -1;
		}
		*scheme = ecdsa_curve_scheme(t);
		return 0;
	}
	*method = AUTH_DIGITAL_SIGNATURE;
	if (t == KEY_ED25519) {
		/* RFC 8420 2: EdDSA signs the octets themselves, announced as Identity. */
		if (peer_has(sa, HASH_IDENTITY)) {
			*scheme = SIG_ED25519;
			return 0;
		}
	} else if (t == KEY_RSA) {
		static const enum sig_scheme pss[] = {SIG_RSA_PSS_SHA256, SIG_RSA_PSS_SHA384,
						      SIG_RSA_PSS_SHA512};
		static const enum sig_scheme pkcs1[] = {SIG_RSA_PKCS1_SHA256, SIG_RSA_PKCS1_SHA384,
							SIG_RSA_PKCS1_SHA512};
		const enum sig_scheme *l = sa->conn->rsa_pkcs1 ? pkcs1 : pss;

		for (size_t i = 0; i < 3; i++) {
			if (peer_has(sa, sigalg_ike_hash(l[i]))) {
				*scheme = l[i];
				return 0;
			}
		}
	} else {
		static const enum sig_scheme any[] = {SIG_ECDSA_SHA256, SIG_ECDSA_SHA384,
						      SIG_ECDSA_SHA512};
		enum sig_scheme own = ecdsa_curve_scheme(t);

		if (peer_has(sa, sigalg_ike_hash(own))) {
			*scheme = own;
			return 0;
		}
		/* RFC 7427 allows any hash with any curve. */
		for (size_t i = 0; i < 3; i++) {
			if (peer_has(sa, sigalg_ike_hash(any[i]))) {
				*scheme = any[i];
				return 0;
			}
		}
	}
	hashes_text(sa->peer_sig_hashes, peer, sizeof(peer));
	snprintf(why, whylen, "the peer accepts no hash our %s key can sign with (it announced: %s)",
		 key_type_name(t), peer);
	return -1;
}

int auth_pubkey_sign(struct ikesa *sa, const uint8_t *octets, size_t len, struct auth_out *out,
		     char *why, size_t whylen)
{
	const struct pubkey *pub = privkey_public(sa->conn->key);
	uint8_t method;
	enum sig_scheme scheme;
	size_t off = 0, siglen;
	struct sa_auth *st = sa_auth_get(sa);

	if (!st) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (choose(sa, pubkey_type(pub), &method, &scheme, why, whylen) != 0)
		return -1;
	if (method == AUTH_DIGITAL_SIGNATURE) {
		/* RFC 7427 3: ASN.1 Length (1 octet) | AlgorithmIdentifier | Signature Value */
		size_t alen;
		const uint8_t *alg = sigalg_der(scheme, &alen);

		out->data[0] = (uint8_t)alen;
		memcpy(out->data + 1, alg, alen);
		off = 1 + alen;
	}
	int rc = privkey_sign(sa->conn->key, scheme,
			      method == AUTH_DIGITAL_SIGNATURE ? SIG_FMT_DER : SIG_FMT_RAW, octets, len,
			      out->data + off, sizeof(out->data) - off, &siglen);

	if (rc != 0) {
		snprintf(why, whylen, "signing with our %s key (%s) failed (%d)",
			 key_type_name(pubkey_type(pub)), sigalg_name(scheme), rc);
		return -1;
	}
	out->method = method;
	out->len = off + siglen;
	st->local_method = method;
	st->local_scheme = scheme;
	return 0;
}

/* The scheme of a classic method (1, 9-11) for the peer's key, or SIG_NONE with why. */
static enum sig_scheme classic(uint8_t method, enum key_type t, char *why, size_t whylen)
{
	struct names_buf nb;
	enum sig_scheme s = SIG_NONE;

	switch (method) {
	case AUTH_RSA_SIG:
		s = t == KEY_RSA ? SIG_RSA_PKCS1_SHA1 : SIG_NONE;
		break;
	case AUTH_ECDSA_256:
		s = t == KEY_ECDSA_P256 ? SIG_ECDSA_SHA256 : SIG_NONE;
		break;
	case AUTH_ECDSA_384:
		s = t == KEY_ECDSA_P384 ? SIG_ECDSA_SHA384 : SIG_NONE;
		break;
	case AUTH_ECDSA_521:
		s = t == KEY_ECDSA_P521 ? SIG_ECDSA_SHA512 : SIG_NONE;
		break;
	default:
		snprintf(why, whylen, "unsupported AUTH method %s", names_auth_method(method, &nb));
		return SIG_NONE;
	}
	if (s == SIG_NONE)
		snprintf(why, whylen, "AUTH method %s does not fit the peer's %s key",
			 names_auth_method(method, &nb), key_type_name(t));
	return s;
}

int auth_pubkey_verify(struct ikesa *sa, const struct pubkey *pk, const struct ike_auth *a,
		       const uint8_t *octets, size_t len, char *why, size_t whylen)
{
	enum key_type t = pubkey_type(pk);
	struct sig_alg alg = {0};
	const uint8_t *sig = a->data.ptr;
	size_t siglen = a->data.len;
	enum sig_format fmt = SIG_FMT_RAW;
	struct sa_auth *st = sa_auth_get(sa);

	if (!st) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (a->method == AUTH_DIGITAL_SIGNATURE) {
		int rc = sigalg_parse(a->sig_alg.ptr, a->sig_alg.len, &alg);

		if (rc != 0) {
			snprintf(why, whylen, "%s signature algorithm in its AUTH payload",
				 rc == -ENOTSUP ? "unsupported" : "malformed");
			return -1;
		}
		uint8_t h = sigalg_ike_hash(alg.scheme);

		/* RFC 7427 4: only what we announced. */
		if (!(OUR_HASHES & (1u << h))) {
			snprintf(why, whylen, "unsupported hash %s in its %s signature", hash_name(h),
				 sigalg_name(alg.scheme));
			return -1;
		}
		if (!sigalg_fits_key(alg.scheme, t)) {
			snprintf(why, whylen, "its %s signature does not fit its %s key",
				 sigalg_name(alg.scheme), key_type_name(t));
			return -1;
		}
		sig = a->sig.ptr;
		siglen = a->sig.len;
		fmt = SIG_FMT_DER;
	} else {
		alg.scheme = classic(a->method, t, why, whylen);
		if (alg.scheme == SIG_NONE)
			return -1;
	}
	int rc = pubkey_verify(pk, &alg, fmt, octets, len, sig, siglen);

	if (rc != 0) {
		snprintf(why, whylen, "its %s signature (%s key) does not verify",
			 sigalg_name(alg.scheme), key_type_name(t));
		return -1;
	}
	st->remote_method = a->method;
	st->remote_scheme = alg.scheme;
	return 0;
}
