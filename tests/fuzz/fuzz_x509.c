/*
 * libFuzzer target for what xiked parses of certificates and keys: a
 * peer's CERT payload (X.509 DER, or a raw SubjectPublicKeyInfo), the
 * AlgorithmIdentifier of an RFC 7427 AUTH payload, distinguished names
 * (ID_DER_ASN1_DN identities), and key/certificate files (PEM or DER).
 * Input: any octets, handed to each parser in turn.
 *
 * Checks, each a crash (abort) when violated:
 *  - a parsed certificate's texts are terminated, its DER is the input,
 *    validating it against itself as the only anchor ends in a defined
 *    status, and its subject as an ID_DER_ASN1_DN matches it;
 *  - a parsed public key's SPKI parses again to an equal key;
 *  - sigalg_parse results are in range and, re-encoded, parse the same;
 *  - dn_to_text output is terminated and printable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/dn.h"
#include "crypto/pubkey.h"
#include "crypto/rng.h"
#include "crypto/sigalg.h"
#include "crypto/x509.h"
#include "daemon/ikev2.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz_x509: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (crypto_init() != 0)
		die("crypto_init failed");
	return 0;
}

static void check_text(const char *s, size_t cap)
{
	if (!memchr(s, 0, cap))
		die("unterminated text");
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			die("control character in text");
}

static void check_cert(struct x509 *c, const uint8_t *data, size_t size)
{
	size_t len, sl;
	const uint8_t *der = x509_der(c, &len);
	if (len != size || memcmp(der, data, size) != 0)
		die("certificate DER is not the input");
	check_text(x509_subject_text(c), strlen(x509_subject_text(c)) + 1);
	check_text(x509_issuer_text(c), strlen(x509_issuer_text(c)) + 1);
	char san[256], why[256];
	x509_san_text(c, san, sizeof(san));
	check_text(san, sizeof(san));
	struct x509 *anchors[1] = {c};
	const struct x509 *chain[X509_CHAIN_MAX];
	size_t n = 0;
	enum x509_status st = x509_verify(c, NULL, 0, anchors, 1, time(NULL), chain, &n, why,
					  sizeof(why));
	if (st > X509_CHAIN_TOO_LONG || (st == X509_OK && n != 1))
		die("self-anchored validation out of range");
	const uint8_t *subj = x509_subject_der(c, &sl);
	if (!x509_matches_id(c, ID_DER_ASN1_DN, subj, sl))
		die("a certificate does not match its own subject");
	x509_matches_id(c, ID_FQDN, data, size < 64 ? size : 64);
	x509_matches_id(c, ID_IPV4_ADDR, data, size < 4 ? size : 4);
}

static void check_pubkey(struct pubkey *pk)
{
	size_t len;
	const uint8_t *spki = pubkey_spki(pk, &len);
	struct pubkey *again = pubkey_from_spki(spki, len, NULL, 0);
	if (!again || !pubkey_equal(pk, again))
		die("SPKI does not parse back to the same key");
	pubkey_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200];
	struct x509 *c = x509_parse(data, size, err, sizeof(err));
	if (c) {
		check_cert(c, data, size);
		x509_free(c);
	}
	struct x509 *many[4];
	size_t n = 0;
	if (x509_load(data, size, many, 4, &n, err, sizeof(err)) == 0)
		while (n)
			x509_free(many[--n]);
	struct pubkey *pk = pubkey_from_spki(data, size, err, sizeof(err));
	if (pk) {
		check_pubkey(pk);
		pubkey_free(pk);
	}
	pk = pubkey_load(data, size, err, sizeof(err));
	if (pk) {
		check_pubkey(pk);
		pubkey_free(pk);
	}
	struct privkey *k = privkey_load(data, size, err, sizeof(err));
	if (k) {
		check_pubkey((struct pubkey *)privkey_public(k));
		privkey_free(k);
	}
	struct sig_alg alg;
	if (sigalg_parse(data, size, &alg) == 0) {
		if (alg.scheme <= SIG_NONE || alg.scheme >= SIG_SCHEME_COUNT)
			die("scheme out of range");
		size_t len;
		const uint8_t *der = sigalg_der(alg.scheme, &len);
		struct sig_alg again;
		if (!der || sigalg_parse(der, len, &again) != 0 || again.scheme != alg.scheme)
			die("our own AlgorithmIdentifier does not parse back");
	}
	char text[512];
	if (dn_to_text(data, size, text, sizeof(text)) == 0) {
		check_text(text, sizeof(text));
		if (!dn_equal(data, size, data, size))
			die("a DN does not equal itself");
	}
	return 0;
}
