/* X.509 certificates and path validation (see x509.h). */
#include "crypto/x509.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ksba.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/der.h"
#include "crypto/dn.h"
#include "crypto/pem.h"
#include "daemon/ikev2.h"

/* Longest subject or issuer text we keep, characters. */
#define X509_NAME_TEXT_MAX 512

struct x509 {
	ksba_cert_t ksba;
	uint8_t *der;
	size_t len;
	struct der tbs;            /* the whole TBSCertificate TLV: the signed octets */
	struct der sig_alg;        /* outer signatureAlgorithm TLV */
	struct der sig;            /* signatureValue bits */
	struct der issuer, subject; /* whole Name TLVs */
	struct der san;            /* GeneralNames contents, empty if none */
	struct pubkey *key;
	time_t not_before, not_after;
	bool ca;
	int pathlen;               /* -1: no constraint */
	bool has_ku;
	unsigned ku;               /* KSBA_KEYUSAGE_* */
	char crit_oid[64];         /* an unknown critical extension, "" if none */
	char *subject_text, *issuer_text;
};

const char *x509_status_text(enum x509_status st)
{
	switch (st) {
	case X509_OK:
		return "valid";
	case X509_UNKNOWN_CA:
		return "unknown CA";
	case X509_EXPIRED:
		return "expired";
	case X509_NOT_YET_VALID:
		return "not yet valid";
	case X509_BAD_SIGNATURE:
		return "bad signature";
	case X509_NOT_CA:
		return "issuer is not a CA";
	case X509_PATH_LEN:
		return "path length constraint exceeded";
	case X509_BAD_USAGE:
		return "key usage does not allow signatures";
	case X509_UNSUPPORTED_ALG:
		return "unsupported signature algorithm";
	case X509_CRITICAL_EXT:
		return "unknown critical extension";
	case X509_CHAIN_TOO_LONG:
		return "chain too long";
	}
	return "?";
}

void x509_free(struct x509 *c)
{
	if (!c)
		return;
	ksba_cert_release(c->ksba);
	pubkey_free(c->key);
	free(c->der);
	free(c->subject_text);
	free(c->issuer_text);
	free(c);
}

/* ksba's "YYYYMMDDTHHMMSS" (UTC) as time_t; -1 if malformed. */
static time_t iso_time(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 15 || s[8] != 'T')
		return (time_t)-1;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)s[i]))
			return (time_t)-1;
	char b[5];

	memcpy(b, s, 4);
	b[4] = 0;
	tm.tm_year = atoi(b) - 1900;
	memcpy(b, s + 4, 2);
	b[2] = 0;
	tm.tm_mon = atoi(b) - 1;
	memcpy(b, s + 6, 2);
	tm.tm_mday = atoi(b);
	memcpy(b, s + 9, 2);
	tm.tm_hour = atoi(b);
	memcpy(b, s + 11, 2);
	tm.tm_min = atoi(b);
	memcpy(b, s + 13, 2);
	tm.tm_sec = atoi(b);
	return timegm(&tm);
}

/* RFC 5280 4.1.2.4 Name: SEQUENCE OF non-empty SET OF SEQUENCE { OID, value }. */
static bool name_ok(struct der whole)
{
	struct der name;

	if (der_expect(&whole, DER_SEQUENCE, &name) < 0 || whole.left)
		return false;
	while (name.left) {
		struct der rdn;

		if (der_expect(&name, DER_SET, &rdn) < 0 || rdn.left == 0)
			return false;
		while (rdn.left) {
			struct der atv, oid;

			uint8_t tag;

			/* Values are strings (DirectoryString, IA5String, PrintableString...). */
			if (der_expect(&rdn, DER_SEQUENCE, &atv) < 0 || der_expect(&atv, DER_OID, &oid) < 0 ||
			    oid.left == 0 || der_next(&atv, &tag, NULL, NULL) < 0 || atv.left)
				return false;
			switch (tag) {
			case DER_UTF8_STRING:
			case 0x12: /* NumericString */
			case DER_PRINTABLE_STRING:
			case DER_T61_STRING:
			case DER_IA5_STRING:
			case 0x1a: /* VisibleString */
			case DER_UNIVERSAL_STRING:
			case DER_BMP_STRING:
				break;
			default:
				return false;
			}
		}
	}
	return true;
}

/* RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ. */
static bool time_ok(struct der *d)
{
	struct der v;
	uint8_t tag;

	if (der_next(d, &tag, &v, NULL) < 0)
		return false;
	size_t want = tag == DER_UTC_TIME ? 13 : tag == DER_GENERALIZED_TIME ? 15 : 0;

	if (!want || v.left != want || v.p[want - 1] != 'Z')
		return false;
	for (size_t i = 0; i + 1 < want; i++)
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
	return true;
}

/* RFC 5280 4.1: Extensions ::= SEQUENCE OF SEQUENCE { OID, critical BOOLEAN DEFAULT FALSE, OCTET STRING } */
static bool extensions_ok(struct der outer)
{
	struct der exts;

	if (der_expect(&outer, DER_SEQUENCE, &exts) < 0 || outer.left || exts.left == 0)
		return false;
	while (exts.left) {
		struct der ext, oid, v;

		if (der_expect(&exts, DER_SEQUENCE, &ext) < 0 || der_expect(&ext, DER_OID, &oid) < 0 ||
		    oid.left == 0)
			return false;
		if (der_peek(&ext, DER_BOOLEAN) &&
		    (der_expect(&ext, DER_BOOLEAN, &v) < 0 || v.left != 1))
			return false;
		if (der_expect(&ext, DER_OCTET_STRING, &v) < 0 || ext.left)
			return false;
	}
	return true;
}

/* X.690 8.19.2: subidentifiers in minimal form, the last octet ending the last one. */
static bool oid_ok(struct der v)
{
	bool start = true;

	if (v.left == 0 || (v.p[v.left - 1] & 0x80))
		return false;
	for (size_t i = 0; i < v.left; i++) {
		if (start && v.p[i] == 0x80)
			return false;
		start = !(v.p[i] & 0x80);
	}
	return true;
}

/*
 * X.690 8.1.1: every constructed TLV holds exactly a sequence of TLVs (to
 * depth 24); no end-of-contents octets (DER has no indefinite lengths);
 * well-formed BOOLEAN, INTEGER, NULL and OBJECT IDENTIFIER values.
 */
static bool nesting_ok(struct der d, unsigned depth)
{
	while (d.left) {
		struct der v;
		uint8_t tag;

		if (der_next(&d, &tag, &v, NULL) < 0 || tag == 0)
			return false;
		if ((tag == DER_BOOLEAN && v.left != 1) || (tag == DER_INTEGER && v.left == 0) ||
		    (tag == DER_NULL && v.left != 0) || (tag == DER_OID && !oid_ok(v)))
			return false;
		if ((tag & 0x20) && (depth == 24 || !nesting_ok(v, depth + 1)))
			return false;
	}
	return true;
}

/*
 * Our own walk of the whole TBSCertificate structure (RFC 5280 4.1): it
 * refuses what is not exactly one well-formed certificate before libksba
 * sees it (libksba leaks memory on some decoding errors).
 */
static int walk(struct x509 *c, char *err, size_t errlen)
{
	struct der d = der_init(c->der, c->len), cert, tbs, f, inner_alg, spki, alg;

	if (!nesting_ok(d, 0) || der_expect(&d, DER_SEQUENCE, &cert) < 0 || d.left)
		goto bad;
	if (der_next(&cert, NULL, &tbs, &c->tbs) < 0 || c->tbs.p[0] != DER_SEQUENCE)
		goto bad;
	if (der_next(&cert, NULL, &alg, &c->sig_alg) < 0 || c->sig_alg.p[0] != DER_SEQUENCE ||
	    der_expect(&alg, DER_OID, &f) < 0 || der_bits(&cert, &c->sig) < 0 || cert.left)
		goto bad;
	if (der_peek(&tbs, DER_CTX0 + 0)) {
		struct der ver;

		if (der_expect(&tbs, DER_CTX0 + 0, &ver) < 0 || der_expect(&ver, DER_INTEGER, &f) < 0 ||
		    f.left != 1 || f.p[0] > 2 || ver.left)
			goto bad;
	}
	if (der_expect(&tbs, DER_INTEGER, &f) < 0 || f.left == 0 ||
	    der_next(&tbs, NULL, NULL, &inner_alg) < 0 ||
	    der_next(&tbs, NULL, NULL, &c->issuer) < 0 || !name_ok(c->issuer) ||
	    der_expect(&tbs, DER_SEQUENCE, &f) < 0 || !time_ok(&f) || !time_ok(&f) || f.left ||
	    der_next(&tbs, NULL, NULL, &c->subject) < 0 || !name_ok(c->subject) ||
	    der_next(&tbs, NULL, NULL, &spki) < 0)
		goto bad;
	/* issuerUniqueID [1], subjectUniqueID [2] (RFC 5280 4.1.2.8), then extensions [3]. */
	for (uint8_t n = 1; n <= 2; n++)
		if ((der_peek(&tbs, DER_CTX_PRIM0 + n) || der_peek(&tbs, DER_CTX0 + n)) &&
		    der_next(&tbs, NULL, NULL, NULL) < 0)
			goto bad;
	if (der_peek(&tbs, DER_CTX0 + 3) &&
	    (der_expect(&tbs, DER_CTX0 + 3, &f) < 0 || !extensions_ok(f)))
		goto bad;
	if (tbs.left)
		goto bad;
	/* RFC 5280 4.1.1.2: the signed copy of the algorithm must equal the outer one. */
	if (inner_alg.left != c->sig_alg.left || memcmp(inner_alg.p, c->sig_alg.p, inner_alg.left)) {
		snprintf(err, errlen, "certificate's two signature algorithms differ");
		return -1;
	}
	c->key = pubkey_from_spki(spki.p, spki.left, err, errlen);
	return c->key ? 0 : -1;
bad:
	snprintf(err, errlen, "malformed certificate");
	return -1;
}

/* The extension data ksba points at: extnValue's contents (unwrapped if given whole). */
static struct der ext_value(const struct x509 *c, size_t off, size_t len)
{
	struct der v = der_init(c->der + off, len), inner;

	if (off > c->len || len > c->len - off)
		return der_init(NULL, 0);
	if (der_peek(&v, DER_OCTET_STRING)) {
		struct der w = v;

		if (der_expect(&w, DER_OCTET_STRING, &inner) == 0 && w.left == 0)
			return inner;
	}
	return v;
}

static int extensions(struct x509 *c, char *err, size_t errlen)
{
	static const char *const known[] = {
		"2.5.29.14", /* subjectKeyIdentifier */
		"2.5.29.15", /* keyUsage */
		"2.5.29.17", /* subjectAltName */
		"2.5.29.19", /* basicConstraints */
		"2.5.29.35", /* authorityKeyIdentifier */
		"2.5.29.37", /* extKeyUsage: not restricted for IKE (RFC 4945 5.1.3.12) */
	};
	const char *oid;
	int crit, ca = 0, pathlen = -1;
	size_t off, len;
	gpg_error_t ge;

	for (int i = 0; (ge = ksba_cert_get_extension(c->ksba, i, &oid, &crit, &off, &len)) == 0;
	     i++) {
		bool is_known = false;

		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			is_known |= strcmp(oid, known[k]) == 0;
		if (crit && !is_known && !c->crit_oid[0])
			snprintf(c->crit_oid, sizeof(c->crit_oid), "%s", oid);
		if (strcmp(oid, "2.5.29.17") == 0) {
			struct der v = ext_value(c, off, len), names;

			if (der_expect(&v, DER_SEQUENCE, &names) < 0 || v.left) {
				snprintf(err, errlen, "malformed subjectAltName");
				return -1;
			}
			c->san = names;
		}
	}
	if (gpg_err_code(ge) != GPG_ERR_EOF) {
		snprintf(err, errlen, "malformed extensions (%s)", gpg_strerror(ge));
		return -1;
	}
	ge = ksba_cert_is_ca(c->ksba, &ca, &pathlen);
	if (ge) {
		snprintf(err, errlen, "malformed basicConstraints (%s)", gpg_strerror(ge));
		return -1;
	}
	c->ca = ca != 0;
	c->pathlen = c->ca ? pathlen : -1;
	ge = ksba_cert_get_key_usage(c->ksba, &c->ku);
	if (ge == 0)
		c->has_ku = true;
	else if (gpg_err_code(ge) != GPG_ERR_NO_DATA) {
		snprintf(err, errlen, "malformed keyUsage (%s)", gpg_strerror(ge));
		return -1;
	}
	return 0;
}

struct x509 *x509_parse(const uint8_t *der, size_t len, char *err, size_t errlen)
{
	struct x509 *c = calloc(1, sizeof(*c));
	char ebuf[160], *e = err ? err : ebuf;
	size_t el = err ? errlen : sizeof(ebuf);
	ksba_isotime_t t;
	gpg_error_t ge;

	if (!c || !(c->der = malloc(len ? len : 1))) {
		snprintf(e, el, "out of memory");
		goto fail;
	}
	memcpy(c->der, der, len);
	c->len = len;
	/* Our walk first: it refuses what is not exactly one DER certificate before libksba sees it. */
	if (walk(c, e, el) < 0)
		goto fail;
	if ((ge = ksba_cert_new(&c->ksba)) != 0 ||
	    (ge = ksba_cert_init_from_mem(c->ksba, c->der, c->len)) != 0) {
		snprintf(e, el, "not an X.509 certificate (%s)", gpg_strerror(ge));
		goto fail;
	}
	/* ksba accepts trailing octets after the certificate; we do not. */
	size_t ilen = 0;

	if (!ksba_cert_get_image(c->ksba, &ilen) || ilen != len) {
		snprintf(e, el, "octets after the certificate");
		goto fail;
	}
	if (extensions(c, e, el) < 0)
		goto fail;
	if (ksba_cert_get_validity(c->ksba, 0, t) != 0 || (c->not_before = iso_time(t)) == -1 ||
	    ksba_cert_get_validity(c->ksba, 1, t) != 0 || (c->not_after = iso_time(t)) == -1) {
		snprintf(e, el, "malformed validity period");
		goto fail;
	}
	c->subject_text = malloc(X509_NAME_TEXT_MAX);
	c->issuer_text = malloc(X509_NAME_TEXT_MAX);
	if (!c->subject_text || !c->issuer_text) {
		snprintf(e, el, "out of memory");
		goto fail;
	}
	if (dn_to_text(c->subject.p, c->subject.left, c->subject_text, X509_NAME_TEXT_MAX) < 0 ||
	    dn_to_text(c->issuer.p, c->issuer.left, c->issuer_text, X509_NAME_TEXT_MAX) < 0) {
		snprintf(e, el, "malformed subject or issuer name");
		goto fail;
	}
	return c;
fail:
	x509_free(c);
	return NULL;
}

int x509_load(const uint8_t *text, size_t len, struct x509 **out, size_t cap, size_t *n,
	      char *err, size_t errlen)
{
	struct pem_block b;
	size_t pos = 0;
	int r;

	*n = 0;
	if (!pem_is_pem(text, len)) {
		if (cap == 0 || !(out[0] = x509_parse(text, len, err, errlen)))
			return -1;
		*n = 1;
		return 0;
	}
	while ((r = pem_next((const char *)text, len, &pos, &b)) > 0) {
		if (strcmp(b.label, "CERTIFICATE") != 0 && strcmp(b.label, "X509 CERTIFICATE") != 0) {
			pem_block_clear(&b);
			continue;
		}
		if (*n == cap) {
			snprintf(err, errlen, "more than %zu certificates", cap);
			pem_block_clear(&b);
			goto fail;
		}
		char e[160];

		out[*n] = x509_parse(b.der, b.len, e, sizeof(e));
		pem_block_clear(&b);
		if (!out[*n]) {
			snprintf(err, errlen, "certificate %zu: %s", *n + 1, e);
			goto fail;
		}
		(*n)++;
	}
	if (r < 0) {
		snprintf(err, errlen, "malformed PEM");
		goto fail;
	}
	if (*n == 0) {
		snprintf(err, errlen, "no CERTIFICATE block");
		return -1;
	}
	return 0;
fail:
	while (*n)
		x509_free(out[--*n]);
	return -1;
}

const uint8_t *x509_der(const struct x509 *c, size_t *len)
{
	*len = c->len;
	return c->der;
}

const struct pubkey *x509_pubkey(const struct x509 *c)
{
	return c->key;
}

const uint8_t *x509_subject_der(const struct x509 *c, size_t *len)
{
	*len = c->subject.left;
	return c->subject.p;
}

const uint8_t *x509_issuer_der(const struct x509 *c, size_t *len)
{
	*len = c->issuer.left;
	return c->issuer.p;
}

const char *x509_subject_text(const struct x509 *c)
{
	return c->subject_text;
}

const char *x509_issuer_text(const struct x509 *c)
{
	return c->issuer_text;
}

time_t x509_not_before(const struct x509 *c)
{
	return c->not_before;
}

time_t x509_not_after(const struct x509 *c)
{
	return c->not_after;
}

bool x509_is_ca(const struct x509 *c)
{
	return c->ca;
}

bool x509_self_issued(const struct x509 *c)
{
	return dn_equal(c->subject.p, c->subject.left, c->issuer.p, c->issuer.left);
}

bool x509_equal(const struct x509 *a, const struct x509 *b)
{
	return a->len == b->len && memcmp(a->der, b->der, a->len) == 0;
}

/* ---- names ---- */

/* RFC 5280 4.2.1.6 GeneralName tags we use. */
enum {
	GN_RFC822 = DER_CTX_PRIM0 + 1,
	GN_DNS = DER_CTX_PRIM0 + 2,
	GN_IP = DER_CTX_PRIM0 + 7,
};

static bool text_eq_nocase(struct der v, const uint8_t *s, size_t len)
{
	if (v.left != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (tolower(v.p[i]) != tolower(s[i]))
			return false;
	return true;
}

bool x509_matches_id(const struct x509 *c, uint8_t id_type, const uint8_t *id, size_t len)
{
	uint8_t want;

	switch (id_type) {
	case ID_DER_ASN1_DN:
		return dn_equal(c->subject.p, c->subject.left, id, len);
	case ID_FQDN:
		want = GN_DNS;
		break;
	case ID_RFC822_ADDR:
		want = GN_RFC822;
		break;
	case ID_IPV4_ADDR:
	case ID_IPV6_ADDR:
		want = GN_IP;
		break;
	default:
		return false;
	}
	struct der names = c->san, v;
	uint8_t tag;

	while (names.left && der_next(&names, &tag, &v, NULL) == 0) {
		if (tag != want)
			continue;
		if (want == GN_IP ? v.left == len && memcmp(v.p, id, len) == 0
				  : text_eq_nocase(v, id, len))
			return true;
	}
	return false;
}

void x509_san_text(const struct x509 *c, char *buf, size_t len)
{
	struct der names = c->san, v;
	uint8_t tag;
	size_t pos = 0;

	if (len == 0)
		return;
	buf[0] = 0;
	while (names.left && der_next(&names, &tag, &v, NULL) == 0) {
		char item[300] = "";

		if (tag == GN_DNS || tag == GN_RFC822) {
			size_t n = v.left < 255 ? v.left : 255;

			snprintf(item, sizeof(item), "%s:%.*s", tag == GN_DNS ? "DNS" : "email", (int)n,
				 (const char *)v.p);
			for (char *p = item; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = '?';
		} else if (tag == GN_IP && (v.left == 4 || v.left == 16)) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(v.left == 4 ? AF_INET : AF_INET6, v.p, a, sizeof(a));
			snprintf(item, sizeof(item), "IP:%s", a);
		} else {
			continue;
		}
		int n = snprintf(buf + pos, len - pos, "%s%s", pos ? ", " : "", item);

		if (n < 0 || (size_t)n >= len - pos)
			return;
		pos += (size_t)n;
	}
}

/* ---- validation ---- */

enum x509_status x509_check_signature(const struct x509 *c, const struct x509 *issuer)
{
	struct sig_alg alg;

	if (sigalg_parse(c->sig_alg.p, c->sig_alg.left, &alg) != 0 ||
	    alg.scheme == SIG_RSA_PKCS1_SHA1)
		return X509_UNSUPPORTED_ALG;
	int rc = pubkey_verify(issuer->key, &alg, SIG_FMT_DER, c->tbs.p, c->tbs.left, c->sig.p,
			       c->sig.left);

	if (rc == -EINVAL)
		return X509_UNSUPPORTED_ALG; /* algorithm does not fit the issuer's key */
	return rc == 0 ? X509_OK : X509_BAD_SIGNATURE;
}

static void date_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* Validity and critical extensions of one certificate on the path. */
static enum x509_status check_cert(const struct x509 *c, const char *role, time_t now, char *why,
				   size_t whylen)
{
	char d[40];

	if (now < c->not_before) {
		date_text(c->not_before, d, sizeof(d));
		snprintf(why, whylen, "%s '%s' is not valid before %s", role, c->subject_text, d);
		return X509_NOT_YET_VALID;
	}
	if (now > c->not_after) {
		date_text(c->not_after, d, sizeof(d));
		snprintf(why, whylen, "%s '%s' expired on %s", role, c->subject_text, d);
		return X509_EXPIRED;
	}
	if (c->crit_oid[0]) {
		snprintf(why, whylen, "%s '%s' has an unknown critical extension %s", role,
			 c->subject_text, c->crit_oid);
		return X509_CRITICAL_EXT;
	}
	return X509_OK;
}

/* RFC 5280 6.1.4 (k), (l), (n): may issuer sign certificate number `below` CAs down the path? */
static enum x509_status check_issuer(const struct x509 *ca, size_t intermediates_below,
				     char *why, size_t whylen)
{
	if (!ca->ca) {
		snprintf(why, whylen, "issuer '%s' is not a CA (no basicConstraints cA)",
			 ca->subject_text);
		return X509_NOT_CA;
	}
	if (ca->has_ku && !(ca->ku & KSBA_KEYUSAGE_KEY_CERT_SIGN)) {
		snprintf(why, whylen, "issuer '%s' may not sign certificates (keyUsage)",
			 ca->subject_text);
		return X509_NOT_CA;
	}
	if (ca->pathlen >= 0 && intermediates_below > (size_t)ca->pathlen) {
		snprintf(why, whylen, "issuer '%s' allows %d intermediate CAs below it, the path has "
			 "%zu", ca->subject_text, ca->pathlen, intermediates_below);
		return X509_PATH_LEN;
	}
	return X509_OK;
}

static bool issued_by(const struct x509 *c, const struct x509 *issuer)
{
	return dn_equal(c->issuer.p, c->issuer.left, issuer->subject.p, issuer->subject.left);
}

enum x509_status x509_verify(const struct x509 *ee, struct x509 *const *pool, size_t npool,
			     struct x509 *const *anchors, size_t nanchors, time_t now,
			     const struct x509 **chain, size_t *n, char *why, size_t whylen)
{
	const struct x509 *path[X509_CHAIN_MAX];
	size_t depth = 0;
	enum x509_status st;
	char tmp[2];

	if (!why || !whylen) {
		why = tmp;
		whylen = sizeof(tmp);
	}
	why[0] = 0;
	path[depth++] = ee;
	if ((st = check_cert(ee, "certificate", now, why, whylen)) != X509_OK)
		return st;
	/* RFC 5280 4.2.1.3: a keyUsage without digitalSignature forbids signing. */
	if (ee->has_ku &&
	    !(ee->ku & (KSBA_KEYUSAGE_DIGITAL_SIGNATURE | KSBA_KEYUSAGE_NON_REPUDIATION))) {
		snprintf(why, whylen, "certificate '%s' may not sign (keyUsage)", ee->subject_text);
		return X509_BAD_USAGE;
	}
	for (;;) {
		const struct x509 *cur = path[depth - 1], *next = NULL;
		bool anchor = false, name_found = false;
		enum x509_status sig_st = X509_OK;

		/* A configured certificate is trusted as it is. */
		for (size_t i = 0; i < nanchors; i++) {
			if (x509_equal(anchors[i], cur)) {
				anchor = true;
				break;
			}
		}
		if (anchor)
			break;
		for (size_t i = 0; i < nanchors + npool && !next; i++) {
			const struct x509 *cand = i < nanchors ? anchors[i] : pool[i - nanchors];
			bool used = false;

			for (size_t j = 0; j < depth; j++)
				used |= x509_equal(path[j], cand);
			if (used || !issued_by(cur, cand))
				continue;
			name_found = true;
			enum x509_status s = x509_check_signature(cur, cand);

			if (s == X509_OK)
				next = cand;
			else if (sig_st == X509_OK)
				sig_st = s;
		}
		if (!next) {
			if (name_found) {
				snprintf(why, whylen, "certificate '%s': %s by issuer '%s'",
					 cur->subject_text,
					 sig_st == X509_UNSUPPORTED_ALG ? "signature algorithm not "
					 "accepted" : "signature does not verify", cur->issuer_text);
				return sig_st;
			}
			snprintf(why, whylen, "no trusted CA certificate '%s' (issuer of '%s')",
				 cur->issuer_text, cur->subject_text);
			return X509_UNKNOWN_CA;
		}
		if (depth == X509_CHAIN_MAX) {
			snprintf(why, whylen, "more than %d certificates in the chain of '%s'",
				 X509_CHAIN_MAX, ee->subject_text);
			return X509_CHAIN_TOO_LONG;
		}
		if ((st = check_cert(next, "issuer", now, why, whylen)) != X509_OK ||
		    (st = check_issuer(next, depth - 1, why, whylen)) != X509_OK)
			return st;
		path[depth++] = next;
	}
	if (chain && n) {
		for (size_t i = 0; i < depth; i++)
			chain[i] = path[i];
		*n = depth;
	}
	return X509_OK;
}
