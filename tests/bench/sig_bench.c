/*
 * sig_bench: time per signature and per verification for every scheme
 * xiked signs with (crypto/pubkey), per certificate chain validation
 * (crypto/x509, one and two links), and per certificate parse, on the
 * test PKI (tests/fixtures/pki).
 *   build/tests/bench/sig_bench [PKI_DIR] [SECONDS_PER_ITEM]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/pubkey.h"
#include "crypto/rng.h"
#include "crypto/sigalg.h"
#include "crypto/x509.h"

static const char *dir = "tests/fixtures/pki";
static double secs = 0.5;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *name, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "sig_bench: cannot read %s\n", path);
		exit(1);
	}
	uint8_t *b = malloc(1 << 16);
	*len = fread(b, 1, 1 << 16, f);
	fclose(f);
	return b;
}

static struct x509 *cert(const char *name)
{
	size_t len, n;
	uint8_t *b = slurp(name, &len);
	struct x509 *c[1];
	char err[200];
	if (x509_load(b, len, c, 1, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "sig_bench: %s: %s\n", name, err);
		exit(1);
	}
	free(b);
	return c[0];
}

/* Runs fn until secs have passed; microseconds per call. */
#define TIME(expr)                                                  \
	({                                                          \
		double t0_ = now(), t1_;                            \
		unsigned long n = 0;                                \
		do {                                                \
			for (int i_ = 0; i_ < 8; i_++, n++)        \
				if (!(expr)) {                      \
					fprintf(stderr, "failed: %s\n", #expr); \
					exit(1);                    \
				}                                   \
		} while ((t1_ = now()) - t0_ < secs);               \
		(t1_ - t0_) * 1e6 / (double)n;                     \
	})

int main(int argc, char **argv)
{
	if (argc > 1)
		dir = argv[1];
	if (argc > 2)
		secs = atof(argv[2]);
	if (crypto_init() != 0)
		return 1;
	static const struct {
		const char *key;
		enum sig_scheme s;
	} cases[] = {
		{"a-rsa.key", SIG_RSA_PSS_SHA256},   {"a-rsa.key", SIG_RSA_PKCS1_SHA256},
		{"b-ecdsa.key", SIG_ECDSA_SHA256},   {"c-p384.key", SIG_ECDSA_SHA384},
		{"d-p521.key", SIG_ECDSA_SHA512},    {"a-ed25519.key", SIG_ED25519},
	};
	uint8_t data[600], sig[PUBKEY_SIG_MAX];
	rng_fill(rng_system(), data, sizeof(data));
	printf("%-28s %12s %12s\n", "scheme (600-octet message)", "sign us", "verify us");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len, siglen = 0;
		uint8_t *b = slurp(cases[i].key, &len);
		char err[200];
		struct privkey *k = privkey_load(b, len, err, sizeof(err));
		free(b);
		if (!k) {
			fprintf(stderr, "sig_bench: %s: %s\n", cases[i].key, err);
			return 1;
		}
		struct sig_alg alg = {cases[i].s, (uint16_t)sigalg_hash_len(cases[i].s)};
		double s = TIME(privkey_sign(k, cases[i].s, SIG_FMT_DER, data, sizeof(data), sig,
					     sizeof(sig), &siglen) == 0);
		double v = TIME(pubkey_verify(privkey_public(k), &alg, SIG_FMT_DER, data,
					      sizeof(data), sig, siglen) == 0);
		char name[64];
		snprintf(name, sizeof(name), "%s %s", key_type_name(pubkey_type(privkey_public(k))),
			 sigalg_name(cases[i].s));
		printf("%-28s %12.1f %12.1f\n", name, s, v);
		privkey_free(k);
	}
	struct x509 *root = cert("root.crt"), *inter = cert("int.crt");
	struct x509 *ee = cert("b-ecdsa.crt"), *ee_pss = cert("a-rsa.crt"), *ee2 = cert("c-p384.crt");
	struct x509 *anchors[1] = {root}, *pool[1] = {inter};
	time_t t = time(NULL);
	printf("%-44s %12s\n", "chain validation", "us");
	printf("%-44s %12.1f\n", "ECDSA end entity <- RSA root (sha256WithRSA)",
	       TIME(x509_verify(ee, NULL, 0, anchors, 1, t, NULL, NULL, NULL, 0) == X509_OK));
	printf("%-44s %12.1f\n", "RSA end entity <- RSA root (RSA-PSS)",
	       TIME(x509_verify(ee_pss, NULL, 0, anchors, 1, t, NULL, NULL, NULL, 0) == X509_OK));
	printf("%-44s %12.1f\n", "P-384 <- P-256 intermediate <- RSA root",
	       TIME(x509_verify(ee2, pool, 1, anchors, 1, t, NULL, NULL, NULL, 0) == X509_OK));
	size_t len;
	const uint8_t *der = x509_der(ee, &len);
	printf("%-44s %12.1f\n", "parse a certificate (libksba + own walk)", TIME(({
		       struct x509 *c = x509_parse(der, len, NULL, 0);
		       x509_free(c);
		       c != NULL;
	       })));
	x509_free(root);
	x509_free(inter);
	x509_free(ee);
	x509_free(ee_pss);
	x509_free(ee2);
	return 0;
}
