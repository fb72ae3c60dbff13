/*
 * Signature authentication between two engines in one process (the test
 * world of engine_world.h): certificates (ECDSA, RSA-PSS, RSA PKCS#1,
 * Ed25519, P-384 under an intermediate CA), distinguished-name identities,
 * raw public keys (RFC 7670), asymmetric PSK/certificate, the classic
 * RFC 4754/RFC 7296 methods, CERTREQ honoured, and the negative cases:
 * each ends with no SA on either side and one log line naming the reason.
 * Certificates and keys are tests/fixtures/pki (its make.sh).
 *
 *   IKE_SA_INIT { HDR, SAi1, KEi, Ni, N(NATD), N(SIG_HASH) }            -->
 *            <-- { HDR, SAr1, KEr, Nr, N(NATD), N(SIG_HASH), CERTREQ }
 *   IKE_AUTH { HDR, SK { IDi, CERT, CERTREQ, IDr, AUTH, SAi2, TSi, TSr } } -->
 *            <-- { HDR, SK { IDr, CERT, AUTH, SAr2, TSi, TSr } }
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/pubkey.h"
#include "crypto/rng.h"
#include "crypto/sigalg.h"
#include "crypto/x509.h"
#include "daemon/auth.h"
#include "daemon/json.h"
#include "daemon/log.h"
#include "daemon/names.h"
#include "engine_world.h"

static char pki[512];

/* ---- captured log ---- */

static char logbuf[1 << 16];
static size_t loglen;

static void sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx;
	(void)g;
	if (getenv("XIKED_TEST_LOG"))
		fprintf(stderr, "log: %s\n", msg);
	if (l > LOG_LVL_INFO)
		return;
	int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s\n", msg);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
}

/* The captured log holds a line with every one of the substrings (NULL-terminated list). */
static void assert_log(const char *first, ...)
{
	char *line = logbuf;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		bool all = strstr(line, first) != NULL;
		va_list ap;
		va_start(ap, first);
		for (const char *s = va_arg(ap, const char *); s && all; s = va_arg(ap, const char *))
			all = strstr(line, s) != NULL;
		va_end(ap);
		if (nl)
			*nl = '\n';
		if (all)
			return;
		line = nl ? nl + 1 : NULL;
	}
	fail_msg("no log line with '%s' ...; log:\n%s", first, logbuf);
}

static void log_reset(void)
{
	loglen = 0;
	logbuf[0] = 0;
}

/* ---- configurations ---- */

/*
 * Side a (initiator, conn "b") and side b (responder, conn "a"); auth_a and
 * auth_b are the authentication lines, with %P for the fixture directory.
 */
#define CONF \
	"[daemon]\nlog = info\n[conn %s]\nlocal_addr = %s\nremote_addr = %s\n%s" \
	"ike = aes256gcm16-prfsha256-x25519\nesp = aes256gcm16\nlocal_ts = %s\nremote_ts = %s\n"

static void expand(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (; *in && n + 600 < cap; in++) {
		if (in[0] == '%' && in[1] == 'P') {
			n += (size_t)snprintf(out + n, cap - n, "%s", pki);
			in++;
		} else {
			out[n++] = *in;
		}
	}
	out[n] = 0;
}

static void world_auth(const char *auth_a, const char *auth_b)
{
	char ea[4096], eb[4096], a[8192], b[8192];
	expand(auth_a, ea, sizeof(ea));
	expand(auth_b, eb, sizeof(eb));
	snprintf(a, sizeof(a), CONF, "b", "192.0.2.1", "192.0.2.2", ea, "10.1.0.0/24", "10.2.0.0/24");
	snprintf(b, sizeof(b), CONF, "a", "192.0.2.2", "%any", eb, "10.2.0.0/24", "10.1.0.0/24");
	log_reset();
	world_new_text(a, b, 7);
	/* The world keeps errors only; the reasons we check are logged at info/warn. */
	log_set_level(getenv("XIKED_TEST_LOG") ? LOG_LVL_DEBUG : LOG_LVL_INFO);
}

#define A_ECDSA "auth = pubkey\ncert = %P/a-ecdsa.crt\nkey = %P/a-ecdsa.key\ncacert = %P/root.crt\n" \
		"local_id = a.example\nremote_id = b.example\n"
#define B_ECDSA "auth = pubkey\ncert = %P/b-ecdsa.crt\nkey = %P/b-ecdsa.key\ncacert = %P/root.crt\n" \
		"local_id = b.example\nremote_id = a.example\n"

/*
 * Delivers one message, or all the RFC 7383 fragments it was sent in (IKE_AUTH
 * with certificates is larger than the fragment size); their total length.
 */
static size_t steps(int to, uint8_t exchange, bool response)
{
	size_t total = 0;
	assert_true(W->nq > 0);
	do {
		total += W->q[0].len;
		step(to, exchange, response);
	} while (W->nq && W->q[0].to == to && qhdr(0).exchange == exchange &&
		 ike_hdr_is_response(&(struct ike_hdr){.flags = qhdr(0).flags}) == response);
	return total;
}

/* IKE_SA_INIT and IKE_AUTH stepped; the IKE_AUTH response's length (all fragments) in *resp_len. */
static void run_auth(size_t *resp_len)
{
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	steps(1, IKE_AUTH, false);
	size_t n = steps(0, IKE_AUTH, true);
	if (resp_len)
		*resp_len = n;
}

/* Both sides up; each side's signature scheme and the peer certificate subject as seen by a. */
static void expect_up(enum sig_scheme a_signs, enum sig_scheme b_signs, const char *b_subject)
{
	assert_int_equal(W->nq, 0);
	assert_tunnel();
	struct sa_auth *a = sa_of(0)->auth, *b = sa_of(1)->auth;
	if (a_signs != SIG_NONE) {
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(a->local_scheme, a_signs);
		assert_int_equal(b->remote_scheme, a_signs);
	}
	if (b_signs != SIG_NONE) {
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(b->local_scheme, b_signs);
		assert_int_equal(a->remote_scheme, b_signs);
	}
	if (b_subject) {
		assert_non_null(a->remote_subject);
		assert_string_equal(a->remote_subject, b_subject);
	}
}

/* Neither side keeps an SA, both counted a failure where expected, a's and b's logs say why. */
static void expect_failed(void)
{
	while (W->nq)
		pop(0, true);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	assert_nothing_left();
}

/* ---- good cases ---- */

static void test_ecdsa(void **st)
{
	(void)st;
	world_auth(A_ECDSA, B_ECDSA);
	run_auth(NULL);
	expect_up(SIG_ECDSA_SHA256, SIG_ECDSA_SHA256, "C=CH, O=xiked test, CN=b.example");
	assert_int_equal(sa_of(0)->auth->remote_method, AUTH_DIGITAL_SIGNATURE);
	assert_log("peer 'b.example' authenticated with ecdsa-sha256 signature, certificate "
		   "'C=CH, O=xiked test, CN=b.example' issued by 'C=CH, O=xiked test, CN=xiked Root CA'",
		   NULL);
	/* xikectl status --json: each side's method and the certificates. */
	struct json_writer w;
	json_writer_init(&w);
	json_obj_begin(&w);
	engine_status(W->s[0].e, &w);
	json_obj_end(&w);
	const char *j = json_writer_str(&w);
	assert_non_null(strstr(j, "\"local\":{\"addr\":\"192.0.2.1\",\"port\":4500,\"id\":\"a.example\","
				  "\"auth\":\"pubkey\",\"auth_method\":\"DIGITAL_SIGNATURE\","
				  "\"signature\":\"ecdsa-sha256\","
				  "\"cert_subject\":\"C=CH, O=xiked test, CN=a.example\","
				  "\"cert_issuer\":\"C=CH, O=xiked test, CN=xiked Root CA\"}"));
	assert_non_null(strstr(j, "\"remote\":{\"addr\":\"192.0.2.2\",\"port\":4500,\"id\":\"b.example\","
				  "\"auth\":\"pubkey\",\"auth_method\":\"DIGITAL_SIGNATURE\","
				  "\"signature\":\"ecdsa-sha256\","
				  "\"cert_subject\":\"C=CH, O=xiked test, CN=b.example\","));
	json_writer_free(&w);
	world_free();
}

static void test_rsa_pss_and_pkcs1(void **st)
{
	(void)st;
	world_auth("auth = pubkey\ncert = %P/a-rsa.crt\nkey = %P/a-rsa.key\ncacert = %P/root.crt\n"
		   "remote_id = b@example\n",
		   "auth = pubkey\ncert = %P/b-rsa.crt\nkey = %P/b-rsa.key\nrsa_padding = pkcs1\n"
		   "cacert = %P/root.crt\nlocal_id = b@example\n"
		   "remote_id = C=CH, O=xiked test, CN=a.example\n");
	run_auth(NULL);
	expect_up(SIG_RSA_PSS_SHA256, SIG_RSA_PKCS1_SHA256, "C=CH, O=xiked test, CN=b.example");
	/* a sent its subject DN as IDi (no local_id); b its e-mail subjectAltName. */
	assert_int_equal(sa_of(1)->peer_id_type, ID_DER_ASN1_DN);
	assert_int_equal(sa_of(0)->peer_id_type, ID_RFC822_ADDR);
	world_free();
}

static void test_ed25519(void **st)
{
	(void)st;
	world_auth("auth = pubkey\ncert = %P/a-ed25519.crt\nkey = %P/a-ed25519.key\n"
		   "cacert = %P/root.crt\nlocal_id = a.example\nremote_id = *.example\n",
		   "auth = pubkey\ncert = %P/b-ed25519.crt\nkey = %P/b-ed25519.key\n"
		   "cacert = %P/root.crt\nlocal_id = b.example\nremote_id = a.example\n");
	run_auth(NULL);
	expect_up(SIG_ED25519, SIG_ED25519, "C=CH, O=xiked test, CN=b.example");
	world_free();
}

/* P-384 under the intermediate (sent by its owner), P-521 with RSA's SHA-512 root signature. */
static void test_intermediate_ca(void **st)
{
	(void)st;
	/* c-p384's chain file is made here from the fixtures: c-p384 + int. */
	char path[1200];
	snprintf(path, sizeof(path), "cat %s/c-p384.crt %s/int.crt > /tmp/xiked-c-chain.pem", pki,
		 pki);
	assert_int_equal(system(path), 0);
	world_auth("auth = pubkey\ncert = /tmp/xiked-c-chain.pem\nkey = %P/c-p384.key\n"
		   "cacert = %P/root.crt\nlocal_id = 192.0.2.3\nremote_id = d.example\n",
		   "auth = pubkey\ncert = %P/d-p521.crt\nkey = %P/d-p521.key\n"
		   "cacert = %P/root.crt\nlocal_id = d.example\nremote_id = 192.0.2.3\n");
	size_t with_int;
	run_auth(&with_int);
	expect_up(SIG_ECDSA_SHA384, SIG_ECDSA_SHA512, "C=CH, O=xiked test, CN=d.example");
	world_free();
	unlink("/tmp/xiked-c-chain.pem");
}

/*
 * CERTREQ honoured (RFC 7296 3.7): b's chain is b-int + int; when a trusts
 * the intermediate itself (its CERTREQ names it), b sends b-int alone.
 */
static void test_certreq_chain(void **st)
{
	(void)st;
	size_t full, shorter;
	world_auth(A_ECDSA,
		   "auth = pubkey\ncert = %P/b-int-chain.pem\nkey = %P/b-ecdsa.key\n"
		   "cacert = %P/root.crt\nlocal_id = b.example\nremote_id = a.example\n");
	run_auth(&full);
	expect_up(SIG_ECDSA_SHA256, SIG_ECDSA_SHA256, "C=CH, O=xiked test, CN=b.example");
	world_free();
	world_auth("auth = pubkey\ncert = %P/a-ecdsa.crt\nkey = %P/a-ecdsa.key\ncacert = %P/int.crt\n"
		   "local_id = a.example\nremote_id = b.example\n",
		   "auth = pubkey\ncert = %P/b-int-chain.pem\nkey = %P/b-ecdsa.key\n"
		   "cacert = %P/root.crt\nlocal_id = b.example\nremote_id = a.example\n");
	run_auth(&shorter);
	expect_up(SIG_ECDSA_SHA256, SIG_ECDSA_SHA256, "C=CH, O=xiked test, CN=b.example");
	world_free();
	/* The difference is the intermediate's DER (and its CERT header). */
	size_t len = 0;
	char p[700];
	snprintf(p, sizeof(p), "%s/int.crt", pki);
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	uint8_t buf[8192];
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct x509 *ic = NULL;
	size_t n = 0;
	char err[128];
	assert_int_equal(x509_load(buf, len, &ic, 1, &n, err, sizeof(err)), 0);
	size_t der_len;
	x509_der(ic, &der_len);
	x509_free(ic);
	/* CERT header 5 octets, SK padding and a fragment's own headers at most. */
	assert_true(full > shorter + der_len);
	assert_true(full < shorter + der_len + 5 + 32 + 80);
}

static void test_raw_keys(void **st)
{
	(void)st;
	world_auth("auth = pubkey\nkey = %P/a-ecdsa.key\nremote_pubkey = %P/b-ed25519.pub\n"
		   "local_id = a.example\nremote_id = b.example\n",
		   "auth = pubkey\nkey = %P/b-ed25519.key\nremote_pubkey = %P/a-ecdsa.pub\n"
		   "local_id = b.example\nremote_id = a.example\n");
	run_auth(NULL);
	expect_up(SIG_ECDSA_SHA256, SIG_ED25519, NULL);
	assert_true(sa_of(0)->auth->remote_raw_key);
	assert_true(sa_of(1)->auth->remote_raw_key);
	assert_null(sa_of(0)->auth->remote_subject);
	assert_log("authenticated with ed25519 signature, pinned public key", NULL);
	world_free();
}

static void test_asymmetric(void **st)
{
	(void)st;
	/* a proves itself with the PSK, b with its certificate. */
	world_auth("local_auth = psk\nremote_auth = pubkey\npsk = \"secret\"\ncacert = %P/root.crt\n"
		   "local_id = a.example\nremote_id = b.example\n",
		   "local_auth = pubkey\nremote_auth = psk\npsk = \"secret\"\ncert = %P/b-rsa.crt\n"
		   "key = %P/b-rsa.key\nlocal_id = b.example\nremote_id = a.example\n");
	run_auth(NULL);
	expect_up(SIG_NONE, SIG_RSA_PSS_SHA256, "C=CH, O=xiked test, CN=b.example");
	assert_int_equal(sa_of(1)->auth->remote_method, AUTH_SHARED_KEY_MIC);
	assert_log("peer 'a.example' authenticated with a pre-shared key", NULL);
	world_free();
	/* And the other way round: a certificate from a, the PSK from b. */
	world_auth("local_auth = pubkey\nremote_auth = psk\npsk = \"secret\"\ncert = %P/a-ed25519.crt\n"
		   "key = %P/a-ed25519.key\nlocal_id = a.example\nremote_id = b.example\n",
		   "local_auth = psk\nremote_auth = pubkey\npsk = \"secret\"\ncacert = %P/root.crt\n"
		   "local_id = b.example\nremote_id = a.example\n");
	run_auth(NULL);
	expect_up(SIG_ED25519, SIG_NONE, NULL);
	world_free();
}

/*
 * Without SIGNATURE_HASH_ALGORITHMS from the peer (RFC 7427 4), b signs
 * with the classic methods: ECDSA (RFC 4754: 9, 10, 11) and RSA (1).
 * (b forgets a's notify after IKE_SA_INIT; a signs the normal way.)
 */
static void classic(const char *b_cert, const char *b_key, uint8_t method, enum sig_scheme s)
{
	char b[1024];
	snprintf(b, sizeof(b), "auth = pubkey\ncert = %%P/%s\nkey = %%P/%s\ncacert = %%P/root.crt\n"
		 "remote_id = a.example\n", b_cert, b_key);
	world_auth("auth = pubkey\ncert = %P/a-ecdsa.crt\nkey = %P/a-ecdsa.key\n"
		   "cacert = %P/root.crt\ncacert = %P/int.crt\nlocal_id = a.example\n"
		   "remote_id = %any\n", b);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	sa_of(1)->ext &= ~(uint32_t)EXT_SIG_HASH;
	sa_of(1)->peer_sig_hashes = 0;
	step(0, IKE_SA_INIT, true);
	steps(1, IKE_AUTH, false);
	steps(0, IKE_AUTH, true);
	expect_up(SIG_ECDSA_SHA256, s, NULL);
	assert_int_equal(sa_of(0)->auth->remote_method, method);
	world_free();
}

static void test_classic_methods(void **st)
{
	(void)st;
	classic("b-ecdsa.crt", "b-ecdsa.key", AUTH_ECDSA_256, SIG_ECDSA_SHA256);
	classic("c-p384.crt", "c-p384.key", AUTH_ECDSA_384, SIG_ECDSA_SHA384);
	classic("d-p521.crt", "d-p521.key", AUTH_ECDSA_521, SIG_ECDSA_SHA512);
	classic("b-rsa.crt", "b-rsa.key", AUTH_RSA_SIG, SIG_RSA_PKCS1_SHA1);
}

/* ---- negative cases ---- */

/* a initiates, b refuses a: b answers AUTHENTICATION_FAILED; both log. */
static void refused_by_b(const char *auth_a, const char *auth_b, const char *b_reason)
{
	world_auth(auth_a, auth_b);
	run_auth(NULL);
	expect_failed();
	assert_log(b_reason, "AUTHENTICATION_FAILED", NULL);
	assert_log("IKE_AUTH failed: peer answered AUTHENTICATION_FAILED", NULL);
	assert_int_equal(W->s[1].e->stats.ike_failed, 1);
	assert_int_equal(W->s[0].e->stats.ike_failed, 1);
	world_free();
}

#define A_WITH(cert) "auth = pubkey\ncert = %P/" cert "\nkey = %P/a-ecdsa.key\ncacert = %P/root.crt\n" \
		     "local_id = a.example\nremote_id = b.example\n"

static void test_bad_certificates(void **st)
{
	(void)st;
	refused_by_b(A_ECDSA, "auth = pubkey\ncert = %P/b-ecdsa.crt\nkey = %P/b-ecdsa.key\n"
		     "cacert = %P/other.crt\nlocal_id = b.example\nremote_id = a.example\n",
		     "peer 'a.example' not authenticated: unknown CA: no trusted CA certificate "
		     "'C=CH, O=xiked test, CN=xiked Root CA' (issuer of 'C=CH, O=xiked test, "
		     "CN=a.example')");
	refused_by_b(A_WITH("a-wrongca.crt"), B_ECDSA, "unknown CA");
	refused_by_b(A_WITH("a-expired.crt"), B_ECDSA, "not authenticated: expired: certificate 'C=CH, O=xiked test, "
		     "CN=a.example' expired on 2011-01-01");
	refused_by_b(A_WITH("a-notyet.crt"), B_ECDSA, "not yet valid");
	refused_by_b(A_WITH("a-badsig.crt"), B_ECDSA, "bad signature");
	refused_by_b(A_WITH("a-nosign.crt"), B_ECDSA, "may not sign (keyUsage)");
	refused_by_b(A_WITH("a-crit.crt"), B_ECDSA, "unknown critical extension");
	/* Intermediate missing: a sends a-int alone, b trusts only the root. */
	refused_by_b(A_WITH("a-int.crt"), B_ECDSA, "no trusted CA certificate 'C=CH, O=xiked test, "
		     "CN=xiked Intermediate CA'");
	/* The identity b expects is not a's. */
	refused_by_b(A_ECDSA, "auth = pubkey\ncert = %P/b-ecdsa.crt\nkey = %P/b-ecdsa.key\n"
		     "cacert = %P/root.crt\nlocal_id = b.example\nremote_id = c.example\n",
		     "no connection for peer identity 'a.example'");
}

static void test_id_not_in_cert(void **st)
{
	(void)st;
	world_auth(A_ECDSA, "auth = pubkey\ncert = %P/b-ecdsa.crt\nkey = %P/b-ecdsa.key\n"
		   "cacert = %P/root.crt\nlocal_id = b.example\nremote_id = %any\n");
	/* The configuration refuses such a local_id: change it behind its back. */
	struct conn_cfg *c = (struct conn_cfg *)&W->s[0].e->cfg->cfg->conns[0];
	memcpy(c->local_id.data, "evil.example", 12);
	c->local_id.len = 12;
	run_auth(NULL);
	expect_failed();
	assert_log("peer 'evil.example' not authenticated: its identity 'evil.example' is not in its "
		   "certificate (subject 'C=CH, O=xiked test, CN=a.example', subjectAltName "
		   "'DNS:a.example')", NULL);
	world_free();
}

static void test_bad_auth_signature(void **st)
{
	(void)st;
	world_auth(A_ECDSA, B_ECDSA);
	/* a signs with a key that is not its certificate's (swapped behind the config's back). */
	struct conn_cfg *c = (struct conn_cfg *)&W->s[0].e->cfg->cfg->conns[0];
	char p[700], err[160];
	snprintf(p, sizeof(p), "%s/imposter.key", pki);
	FILE *f = fopen(p, "rb");
	uint8_t buf[4096];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct privkey *k = privkey_load(buf, len, err, sizeof(err));
	assert_non_null(k);
	privkey_free(c->key);
	c->key = k;
	run_auth(NULL);
	expect_failed();
	assert_log("not authenticated: its ecdsa-sha256 signature (ECDSA P-256 key) does not verify",
		   NULL);
	world_free();
}

static void test_wrong_method(void **st)
{
	(void)st;
	/* b expects a PSK from a, a signs. */
	refused_by_b(A_ECDSA, "local_auth = pubkey\nremote_auth = psk\npsk = \"k\"\n"
		     "cert = %P/b-ecdsa.crt\nkey = %P/b-ecdsa.key\nlocal_id = b.example\n"
		     "remote_id = a.example\n",
		     "the peer authenticates with DIGITAL_SIGNATURE, we expect a pre-shared key "
		     "(remote_auth = psk)");
	/* b expects a signature, a uses the PSK. */
	refused_by_b("local_auth = psk\nremote_auth = pubkey\npsk = \"k\"\ncacert = %P/root.crt\n"
		     "local_id = a.example\nremote_id = b.example\n", B_ECDSA,
		     "we expect a signature (remote_auth = pubkey)");
	/* Pinned raw key, a shows another. */
	refused_by_b("auth = pubkey\nkey = %P/a-ecdsa.key\nremote_pubkey = %P/b-ed25519.pub\n"
		     "local_id = a.example\nremote_id = b.example\n",
		     "auth = pubkey\nkey = %P/b-ed25519.key\nremote_pubkey = %P/a-ed25519.pub\n"
		     "local_id = b.example\nremote_id = a.example\n",
		     "its raw public key is not the configured remote_pubkey");
	/* b checks certificates, a shows a raw key. */
	refused_by_b("auth = pubkey\nkey = %P/a-ecdsa.key\nremote_pubkey = %P/b-ed25519.pub\n"
		     "local_id = a.example\nremote_id = b.example\n", B_ECDSA,
		     "it sent a raw public key, and we expect a certificate");
}

/* b's certificate is refused by a: a tells b in an INFORMATIONAL (RFC 7296 2.21.2). */
static void test_refused_by_initiator(void **st)
{
	(void)st;
	world_auth("auth = pubkey\ncert = %P/a-ecdsa.crt\nkey = %P/a-ecdsa.key\n"
		   "cacert = %P/other.crt\nlocal_id = a.example\nremote_id = b.example\n", B_ECDSA);
	run_auth(NULL);
	/* b is up until a's INFORMATIONAL { N(AUTHENTICATION_FAILED) } arrives. */
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(W->nq, 1);
	assert_int_equal(sa_of(1)->state, IKESA_ESTABLISHED);
	step(1, INFORMATIONAL, false);
	expect_failed();
	assert_log("peer 'b.example' not authenticated: unknown CA", "AUTHENTICATION_FAILED", NULL);
	assert_log("peer reports AUTHENTICATION_FAILED", NULL);
	world_free();
}

/* b cannot sign as a can verify: Ed25519 needs RFC 7427 (a's notify forgotten by b). */
static void test_no_common_hash(void **st)
{
	(void)st;
	world_auth(A_ECDSA, "auth = pubkey\ncert = %P/b-ed25519.crt\nkey = %P/b-ed25519.key\n"
		   "cacert = %P/root.crt\nlocal_id = b.example\nremote_id = a.example\n");
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	sa_of(1)->ext &= ~(uint32_t)EXT_SIG_HASH;
	sa_of(1)->peer_sig_hashes = 0;
	step(0, IKE_SA_INIT, true);
	steps(1, IKE_AUTH, false);
	expect_failed();
	assert_log("cannot authenticate to peer 'a.example': our Ed25519 key needs RFC 7427 signature "
		   "authentication", "AUTHENTICATION_FAILED", NULL);
	assert_log("IKE_AUTH failed: peer answered AUTHENTICATION_FAILED", NULL);
	world_free();
	/* With RFC 7427 but SHA-1 only on offer, an RSA key has nothing to sign with. */
	world_auth(A_ECDSA, "auth = pubkey\ncert = %P/b-rsa.crt\nkey = %P/b-rsa.key\n"
		   "cacert = %P/root.crt\nlocal_id = b.example\nremote_id = a.example\n");
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	sa_of(1)->peer_sig_hashes = 1u << HASH_SHA1;
	step(0, IKE_SA_INIT, true);
	steps(1, IKE_AUTH, false);
	expect_failed();
	assert_log("the peer accepts no hash our RSA key can sign with (it announced: SHA1)", NULL);
	world_free();
}

/* A SHA-1 RFC 7427 signature is refused as an unsupported hash, and other malformed AUTH data. */
static void test_unsupported_hash(void **st)
{
	(void)st;
	char p[700], err[160], why[AUTH_WHY_MAX];
	snprintf(p, sizeof(p), "%s/b-rsa.key", pki);
	FILE *f = fopen(p, "rb");
	uint8_t buf[4096], sig[PUBKEY_SIG_MAX];
	size_t len = fread(buf, 1, sizeof(buf), f), siglen;
	fclose(f);
	struct privkey *k = privkey_load(buf, len, err, sizeof(err));
	assert_non_null(k);
	static const uint8_t octets[] = "signed octets";
	assert_int_equal(privkey_sign(k, SIG_RSA_PKCS1_SHA1, SIG_FMT_DER, octets, sizeof(octets),
				      sig, sizeof(sig), &siglen), 0);
	size_t alen;
	const uint8_t *alg = sigalg_der(SIG_RSA_PKCS1_SHA1, &alen);
	struct ikesa sa;
	memset(&sa, 0, sizeof(sa));
	struct ike_auth a = {.method = AUTH_DIGITAL_SIGNATURE, .sig_alg = {alg, alen},
			     .sig = {sig, siglen}};
	assert_int_equal(auth_pubkey_verify(&sa, privkey_public(k), &a, octets, sizeof(octets), why,
					    sizeof(why)), -1);
	assert_string_equal(why, "unsupported hash SHA1 in its rsa-pkcs1-sha1 signature");
	/* The same signature as classic method 1 (RFC 7296 3.8) is fine. */
	struct ike_auth c = {.method = AUTH_RSA_SIG, .data = {sig, siglen}};
	assert_int_equal(auth_pubkey_verify(&sa, privkey_public(k), &c, octets, sizeof(octets), why,
					    sizeof(why)), 0);
	/* An ECDSA algorithm for an RSA key; an unknown algorithm; a method for another key. */
	alg = sigalg_der(SIG_ECDSA_SHA256, &alen);
	a.sig_alg = (struct ike_bytes){alg, alen};
	assert_int_equal(auth_pubkey_verify(&sa, privkey_public(k), &a, octets, sizeof(octets), why,
					    sizeof(why)), -1);
	assert_string_equal(why, "its ecdsa-sha256 signature does not fit its RSA key");
	static const uint8_t md5rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
					 0x01, 0x01, 0x04, 0x05, 0x00};
	a.sig_alg = (struct ike_bytes){md5rsa, sizeof(md5rsa)};
	assert_int_equal(auth_pubkey_verify(&sa, privkey_public(k), &a, octets, sizeof(octets), why,
					    sizeof(why)), -1);
	assert_string_equal(why, "unsupported signature algorithm in its AUTH payload");
	c.method = AUTH_ECDSA_256;
	assert_int_equal(auth_pubkey_verify(&sa, privkey_public(k), &c, octets, sizeof(octets), why,
					    sizeof(why)), -1);
	assert_string_equal(why, "AUTH method ECDSA_256 does not fit the peer's RSA key");
	sa_auth_free(sa.auth);
	privkey_free(k);
}

static int setup(void **state)
{
	(void)state;
	const char *f = getenv("XIKED_FIXTURES");
	snprintf(pki, sizeof(pki), "%s/pki", f ? f : "tests/fixtures");
	log_set_sink(sink, NULL);
	log_set_level(LOG_LVL_INFO);
	return 0;
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ecdsa),
		cmocka_unit_test(test_rsa_pss_and_pkcs1),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_intermediate_ca),
		cmocka_unit_test(test_certreq_chain),
		cmocka_unit_test(test_raw_keys),
		cmocka_unit_test(test_asymmetric),
		cmocka_unit_test(test_classic_methods),
		cmocka_unit_test(test_bad_certificates),
		cmocka_unit_test(test_id_not_in_cert),
		cmocka_unit_test(test_bad_auth_signature),
		cmocka_unit_test(test_wrong_method),
		cmocka_unit_test(test_refused_by_initiator),
		cmocka_unit_test(test_no_common_hash),
		cmocka_unit_test(test_unsupported_hash),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
